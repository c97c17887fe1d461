//! The demo meters' interval history, written as the TDSPs' daily interval files: each meter's
//! home ([`hanrig_sim::household`]) as its meter measured it, day by day, with no load control.

use hanrig_gateway::routing::Tdsp;
use hanrig_sim::household::Home;
use hanrig_usage::day::Day;
use hanrig_usage::lse::write_meter;

/// The DUNS number a lab TDSP signs its files with: the lab's own (`00000000N`), not the TDSP's.
pub fn lab_duns(tdsp: Tdsp) -> String {
    let n = Tdsp::ALL.iter().position(|t| *t == tdsp).unwrap_or(0) + 1;
    format!("{n:09}")
}

/// One file of `days` days up to and including `last` for the meters `esiids`: a block per
/// meter, channel and month-sized chunk.
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
    }
    text
}
