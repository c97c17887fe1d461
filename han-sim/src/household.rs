//! The homes behind the simulated meters: what each one draws, quarter hour by quarter hour,
//! and how its in-home device's load control changes that. One definition serves the lab's
//! 13 months of history and the live meters of the simulated head-ends, so a live interval
//! with no load control equals what the history would have said for it, to the watt-hour.
//!
//! A home is known by its meter's ESIID, which seeds it. Per quarter hour (Wh, local Texas
//! time):
//! - **base**: 90–180 Wh (a level per home), a stable wobble of 0–59 Wh per quarter hour, and
//!   100 Wh more in the evening (17:00–22:00);
//! - **HVAC**: cooling in the afternoons from April to October (350 Wh 13:00–20:00 from May to
//!   September, 150 Wh 14:00–18:00 in April and October), heating on winter mornings and
//!   evenings (250 Wh 05:00–09:00 and 18:00–23:00 from December to February, 120 Wh
//!   06:00–08:00 in November and March) — so every day has hours with HVAC load;
//! - **water heater**: 80 Wh 06:00–08:00 and 17:00–22:00;
//! - **rooftop solar** for one home in five: up to 400 Wh at 13:00, bell-shaped 09:00–17:00;
//!   what it makes beyond the load goes back to the grid (the generation channel).
//!
//! A thermostat controls the HVAC and a load-control device's relay the water heater
//! ([`Control`]); a display controls nothing. A thermostat saves 30 % of the HVAC's energy per
//! °C its set point moves away from normal (cooling up, heating down; the usual rule of thumb
//! for a short setback), and a duty cycle or average load adjustment caps or scales what is
//! left. The device and the meter share a [`Circuit`]: the device switches, the meter measures.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use hanrig_usage::day::{Day, local};
use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};

use crate::clock::SimTime;

/// A thermostat's normal cooling set point, 0.01 °C.
pub const NORMAL_COOLING: i16 = 2400;
/// A thermostat's normal heating set point, 0.01 °C.
pub const NORMAL_HEATING: i16 = 2000;

/// A home, seeded by its meter's ESIID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Home {
    seed: u64,
}

/// The HVAC's load in a quarter hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hvac {
    /// Neither cooling nor heating.
    Off,
    /// Cooling, Wh.
    Cooling(i64),
    /// Heating, Wh.
    Heating(i64),
}

/// What a home would draw in one quarter hour with no load control, Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    /// Everything no device controls.
    pub base: i64,
    /// Heating or cooling (a thermostat's).
    pub hvac: Hvac,
    /// The water heater (a load-control device's relay).
    pub water_heater: i64,
    /// What the roof makes.
    pub solar: i64,
}

impl Home {
    /// The home of the meter `esiid`.
    pub fn of(esiid: &str) -> Home {
        // FNV-1a: stable across runs and machines.
        let seed = esiid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Home { seed }
    }

    /// Whether it has rooftop solar.
    pub fn solar(self) -> bool {
        self.seed % 5 == 4
    }

    /// Its meter's register (summation delivered, Wh) at the start of the day the lab starts
    /// on: 20,000–50,000 kWh, as an old meter's would be.
    pub fn register_origin(self) -> u64 {
        20_000_000 + (self.seed >> 8) % 30_000_000
    }

    /// The day of the month its TDSP reads its meter for billing: 1–28 (a meter-read cycle
    /// seeded by the ESIID; every month has that day).
    pub fn read_day(self) -> i8 {
        1 + ((self.seed >> 40) % 28) as i8
    }

    /// Its meter's register (Wh) at the start of each day from `first` up to and including
    /// `origin`, the day it says [`Home::register_origin`], with no load control before: each
    /// day's register is the next one's less that day's consumption ([`Home::day`]), so daily
    /// reads and intervals agree to the watt-hour.
    pub fn registers_before(self, first: Day, origin: Day) -> Vec<(Day, u64)> {
        let mut days = Vec::new();
        let mut d = first;
        while d < origin {
            days.push(d);
            d = d.next();
        }
        let mut register = self.register_origin();
        let mut out = vec![(origin, register)];
        for d in days.into_iter().rev() {
            let consumed: i64 = d
                .interval_starts()
                .map(|start| self.quarter(start).metered(&Control::NORMAL).0.max(0))
                .sum();
            register = register.saturating_sub(consumed as u64);
            out.push((d, register));
        }
        out.reverse();
        out
    }

    /// What its meter's register says (Wh) at `t` (Unix seconds) after measuring the home with
    /// no load control since the start of `day`, when it said [`Home::register_origin`].
    pub fn register_at(self, day: Day, t: i64) -> u64 {
        let mut uwh: u128 = 0;
        let mut start = day.start();
        while start < t {
            let (delivered, _) = self.quarter(start).metered(&Control::NORMAL);
            let us = ((t - start).min(900) as u128) * 1_000_000;
            uwh += delivered.max(0) as u128 * us / 900;
            start += 900;
        }
        self.register_origin() + (uwh / 1_000_000) as u64
    }

    /// What it draws in the quarter hour starting at `start` (Unix seconds).
    pub fn quarter(self, start: i64) -> Quarter {
        let l = local(start);
        let (hour, month) = (l.hour() as i64, l.month());
        // A stable pseudo-random wobble per home and quarter hour (xorshift of both).
        let mut x = (start as u64) ^ self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let wobble = (x % 60) as i64;
        let evening = (17..22).contains(&hour);
        let base = 90 + (self.seed % 7) as i64 * 15 + wobble + if evening { 100 } else { 0 };
        let hvac = match month {
            5..=9 if (13..20).contains(&hour) => Hvac::Cooling(350),
            4 | 10 if (14..18).contains(&hour) => Hvac::Cooling(150),
            12 | 1 | 2 if (5..9).contains(&hour) || (18..23).contains(&hour) => Hvac::Heating(250),
            11 | 3 if (6..8).contains(&hour) => Hvac::Heating(120),
            _ => Hvac::Off,
        };
        let water_heater = if (6..8).contains(&hour) || evening {
            80
        } else {
            0
        };
        let solar = if self.solar() && (9..17).contains(&hour) {
            400 - (hour - 13).abs() * 90
        } else {
            0
        };
        Quarter {
            base,
            hvac,
            water_heater,
            solar,
        }
    }

    /// Its intervals on `day` with no load control: consumption, and for a solar home the
    /// surplus it sent back.
    pub fn day(self, day: Day) -> Vec<Interval> {
        let mut out = Vec::new();
        for start in day.interval_starts() {
            let (consumed, sent_back) = self.quarter(start).metered(&Control::NORMAL);
            out.push(Interval {
                start,
                channel: Channel::Consumption,
                wh: consumed,
                quality: Quality::Actual,
            });
            if self.solar() {
                out.push(Interval {
                    start,
                    channel: Channel::Generation,
                    wh: sent_back,
                    quality: Quality::Actual,
                });
            }
        }
        out
    }
}

/// A meter's billing cycle, as its TDSP keeps it: each daily register read that ends on a read
/// date (the midnight that starts the meter's read day) closes the period since the read date
/// before, with the energy between the two registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingCycle {
    read_day: i8,
    /// The last read date and the register then, Wh.
    last: Option<(Day, i64)>,
}

impl BillingCycle {
    /// A cycle read on `read_day` of each month, starting at the next read date.
    pub fn new(read_day: i8) -> BillingCycle {
        BillingCycle {
            read_day,
            last: None,
        }
    }

    /// A cycle whose current period started on `day` with the register at `wh`.
    pub fn since(read_day: i8, day: Day, wh: i64) -> BillingCycle {
        BillingCycle {
            read_day,
            last: Some((day, wh)),
        }
    }

    /// Whether the period's start is known.
    pub fn started(&self) -> bool {
        self.last.is_some()
    }

    /// Whether `day` is a read date.
    pub fn is_read_date(&self, day: Day) -> bool {
        day.date().day() == self.read_day
    }

    /// The billing read `read` completes, if the day after it is a read date (and the
    /// period's start is known); that read date then starts the next period.
    pub fn daily(&mut self, read: &DailyRead) -> Option<BillingRead> {
        let end = read.day.next();
        if !self.is_read_date(end) {
            return None;
        }
        let billed = self.last.map(|(start, wh)| BillingRead {
            start,
            end,
            wh: read.end_wh - wh,
            quality: read.quality,
        });
        self.last = Some((end, read.end_wh));
        billed
    }
}

/// The state of a home's controllable loads, as its in-home device leaves them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// The thermostat's cooling set point, 0.01 °C.
    pub cooling_set_point: i16,
    /// Its heating set point, 0.01 °C.
    pub heating_set_point: i16,
    /// A duty cycle it runs the HVAC at, percent.
    pub duty_cycle: Option<u8>,
    /// An average load adjustment it applies to the HVAC, percent.
    pub load_adjustment: Option<i8>,
    /// Whether the water heater's relay is closed.
    pub water_heater_on: bool,
}

impl Control {
    /// No load control.
    pub const NORMAL: Control = Control {
        cooling_set_point: NORMAL_COOLING,
        heating_set_point: NORMAL_HEATING,
        duty_cycle: None,
        load_adjustment: None,
        water_heater_on: true,
    };

    /// The share of its normal energy the HVAC draws in `hvac`, per mille.
    pub fn hvac_permille(&self, hvac: Hvac) -> i64 {
        let setback = match hvac {
            Hvac::Off => return 0,
            Hvac::Cooling(_) => i64::from(self.cooling_set_point) - i64::from(NORMAL_COOLING),
            Hvac::Heating(_) => i64::from(NORMAL_HEATING) - i64::from(self.heating_set_point),
        };
        // 30 % per °C = 3 ‰ per 0.01 °C; a set point moved the other way costs as much more.
        let mut share = (1000 - 3 * setback).clamp(0, 2000);
        if let Some(d) = self.duty_cycle {
            share = share.min(i64::from(d.min(100)) * 10);
        }
        if let Some(a) = self.load_adjustment {
            share = share * (100 + i64::from(a)).clamp(0, 200) / 100;
        }
        share
    }
}

impl Quarter {
    /// What the meter counts over the whole quarter hour under `control`, Wh: energy delivered
    /// to the home and energy it sent back.
    pub fn metered(&self, control: &Control) -> (i64, i64) {
        let hvac = match self.hvac {
            Hvac::Off => 0,
            Hvac::Cooling(wh) | Hvac::Heating(wh) => wh * control.hvac_permille(self.hvac) / 1000,
        };
        let water = if control.water_heater_on {
            self.water_heater
        } else {
            0
        };
        let load = self.base + hvac + water;
        ((load - self.solar).max(0), (self.solar - load).max(0))
    }
}

/// The wiring between a home's in-home device and its meter: each switching the device makes,
/// and when, in order, until the meter has measured up to it.
#[derive(Debug, Clone, Default)]
pub struct Circuit(Arc<Mutex<VecDeque<(SimTime, Control)>>>);

impl Circuit {
    /// The device leaves the loads as `control` from `at` on.
    pub fn switch(&self, at: SimTime, control: Control) {
        self.lock().push_back((at, control));
    }

    /// The first switching not yet measured.
    pub(crate) fn next(&self) -> Option<(SimTime, Control)> {
        self.lock().front().copied()
    }

    /// The meter has measured up to the first switching.
    pub(crate) fn pop(&self) {
        self.lock().pop_front();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(SimTime, Control)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_of_the_year_has_hvac_hours_and_one_home_in_five_has_solar() {
        let home = Home::of("10443720000000001");
        let mut day = Day::parse_iso("2026-01-01").unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..365 {
            assert!(
                day.interval_starts()
                    .any(|s| home.quarter(s).hvac != Hvac::Off),
                "{day:?}"
            );
            day = day.next();
        }
        let solar = (0..1000)
            .filter(|n| Home::of(&format!("1044372{n:010}")).solar())
            .count();
        assert!((150..250).contains(&solar), "{solar}");
    }

    #[test]
    fn a_setback_saves_thirty_percent_per_degree_and_a_duty_cycle_caps_it() {
        let cool = Hvac::Cooling(350);
        let heat = Hvac::Heating(250);
        assert_eq!(Control::NORMAL.hvac_permille(cool), 1000);
        assert_eq!(Control::NORMAL.hvac_permille(Hvac::Off), 0);
        let up2 = Control {
            cooling_set_point: NORMAL_COOLING + 200,
            ..Control::NORMAL
        };
        assert_eq!(up2.hvac_permille(cool), 400);
        // Moving the cooling set point does nothing to heating.
        assert_eq!(up2.hvac_permille(heat), 1000);
        let down1 = Control {
            heating_set_point: NORMAL_HEATING - 100,
            duty_cycle: Some(50),
            ..Control::NORMAL
        };
        assert_eq!(down1.hvac_permille(heat), 500);
        let off = Control {
            heating_set_point: NORMAL_HEATING - 500,
            ..Control::NORMAL
        };
        assert_eq!(off.hvac_permille(heat), 0);
        let shed = Control {
            load_adjustment: Some(-40),
            ..Control::NORMAL
        };
        assert_eq!(shed.hvac_permille(heat), 600);
        let q = Quarter {
            base: 100,
            hvac: heat,
            water_heater: 80,
            solar: 0,
        };
        assert_eq!(q.metered(&Control::NORMAL), (430, 0));
        assert_eq!(
            q.metered(&Control {
                water_heater_on: false,
                ..down1
            }),
            (225, 0)
        );
        let sunny = Quarter { solar: 500, ..q };
        assert_eq!(sunny.metered(&Control::NORMAL), (0, 70));
    }
}
