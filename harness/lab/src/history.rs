//! The demo meters' history, written as the TDSPs' daily interval files: each meter's home
//! ([`hanrig_sim::household`]) as its meter measured it, day by day, with no load control — its
//! intervals, its daily register reads (ending at the register the live meter starts from) and
//! the monthly billing reads of its meter-read cycle.

use hanrig_gateway::routing::Tdsp;
use hanrig_sim::household::{BillingCycle, Home};
use hanrig_usage::day::Day;
use hanrig_usage::lse::{write_billing, write_daily, write_meter};
use hanrig_usage::{DailyRead, Quality};

/// The DUNS number a lab TDSP signs its files with: the lab's own (`00000000N`), not the TDSP's.
pub fn lab_duns(tdsp: Tdsp) -> String {
    let n = Tdsp::ALL.iter().position(|t| *t == tdsp).unwrap_or(0) + 1;
    format!("{n:09}")
}

/// One file of `days` days up to and including `last` for the meters `esiids`: per meter, a
/// block per channel and month-sized chunk, then its daily register reads and the billing
/// reads of the periods that end by the day after `last`.
pub fn file(esiids: &[String], last: Day, days: u32) -> String {
    let mut text = String::new();
    let first = last.plus_days(1 - days as i32);
    for esiid in esiids {
        let home = Home::of(esiid);
        let mut from = first;
        while from <= last {
            let to = from.plus_days(30).min(last);
            let mut intervals = Vec::new();
            let mut d = from;
            while d <= to {
                intervals.extend(home.day(d));
                d = d.next();
            }
            write_meter(&mut text, esiid, from.start(), to.end(), &intervals);
            from = to.next();
        }
        let mut cycle = BillingCycle::new(home.read_day());
        let registers = home.registers_before(first, last.next());
        for pair in registers.windows(2) {
            let [(day, start), (_, end)] = pair else {
                continue;
            };
            let read = DailyRead {
                day: *day,
                start_wh: *start as i64,
                end_wh: *end as i64,
                quality: Quality::Actual,
            };
            write_daily(&mut text, esiid, &read);
            if let Some(billed) = cycle.daily(&read) {
                write_billing(&mut text, esiid, &billed);
            }
        }
    }
    text
}
