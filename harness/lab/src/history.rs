//! The demo meters' interval history: a deterministic load profile per meter — a base load,
//! an evening peak, afternoon air-conditioning in summer, and for every fifth meter rooftop
//! solar that sends surplus back at midday — written as the TDSPs' daily interval files.

use hanrig_gateway::routing::Tdsp;
use hanrig_usage::day::{Day, local};
use hanrig_usage::lse::write_block;
use hanrig_usage::{Channel, Interval, Quality};

/// The DUNS number a lab TDSP signs its files with: the lab's own (`00000000N`), not the TDSP's.
pub fn lab_duns(tdsp: Tdsp) -> String {
    let n = Tdsp::ALL.iter().position(|t| *t == tdsp).unwrap_or(0) + 1;
    format!("{n:09}")
}

/// Meter `m`'s intervals on `day`, consumption and (for solar homes) surplus generation.
pub fn day_of(m: usize, day: Day) -> Vec<Interval> {
    let solar = m % 5 == 4;
    let summer = (5..=9).contains(&day.date().month());
    let mut out = Vec::new();
    for start in day.interval_starts() {
        let l = local(start);
        let hour = l.hour() as i64;
        // A stable pseudo-random wobble per meter and interval (xorshift of both).
        let mut x = (start as u64) ^ (m as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let wobble = (x % 60) as i64;
        let base = 90 + (m as i64 % 7) * 15;
        let evening = if (17..22).contains(&hour) { 180 } else { 0 };
        let cooling = if summer && (13..20).contains(&hour) {
            350
        } else {
            0
        };
        let sun = if solar && (9..17).contains(&hour) {
            // Bell-shaped around 13:00, up to 400 Wh a quarter hour.
            400 - (hour - 13).abs() * 90
        } else {
            0
        };
        let load = base + evening + cooling + wobble;
        out.push(Interval {
            start,
            channel: Channel::Consumption,
            wh: (load - sun).max(0),
            quality: Quality::Actual,
        });
        if solar {
            out.push(Interval {
                start,
                channel: Channel::Generation,
                wh: (sun - load).max(0),
                quality: Quality::Actual,
            });
        }
    }
    out
}

/// One file of `days` days up to and including `last` for `meters` (index, ESIID): a block per
/// meter, channel and month-sized chunk.
pub fn file(meters: &[(usize, String)], last: Day, days: u32) -> String {
    let mut text = String::new();
    let first = last.plus_days(1 - days as i32);
    for (m, esiid) in meters {
        let mut from = first;
        while from <= last {
            let to = from.plus_days(30).min(last);
            let mut intervals = Vec::new();
            let mut d = from;
            while d <= to {
                intervals.extend(day_of(*m, d));
                d = d.next();
            }
            for channel in Channel::ALL {
                let of: Vec<Interval> = intervals
                    .iter()
                    .filter(|i| i.channel == channel)
                    .copied()
                    .collect();
                if !of.is_empty() {
                    write_block(&mut text, esiid, channel, from.start(), to.end(), &of);
                }
            }
            from = to.next();
        }
    }
    text
}
