//! The shapes Smart Meter Texas' portal API answers with, as its clients read them
//! (`smart-meter-texas` 0.5.6 `_parse_intervals`; smartmetertx2mongo's real sample).

use crate::day::{Day, SLOTS};
use crate::{Interval, Kwh};

/// One day of one channel as `intervalsynch`'s `RD`: 100 comma-separated `<kWh>-<A|E>` tokens
/// in [`Day::slot`] order — slots 8–11 filled only on a fall-back day, slots 12–15 empty on a
/// spring-forward day, and any interval with no value empty. `intervals` outside the day are
/// ignored.
pub fn rd(day: Day, intervals: &[Interval]) -> String {
    let mut slots: Vec<Option<(i64, &'static str)>> = vec![None; SLOTS];
    for i in intervals {
        if let Some(s) = day.slot(i.start) {
            slots[s] = Some((i.wh, i.quality.letter()));
        }
    }
    slots
        .iter()
        .map(|s| match s {
            Some((wh, q)) => format!("{}-{q}", Kwh(*wh)),
            None => String::new(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, Quality};

    fn full(day: Day) -> Vec<Interval> {
        day.interval_starts()
            .enumerate()
            .map(|(n, start)| Interval {
                start,
                channel: Channel::Consumption,
                wh: n as i64 + 1,
                quality: if n == 0 {
                    Quality::Estimated
                } else {
                    Quality::Actual
                },
            })
            .collect()
    }

    #[test]
    fn a_day_is_always_100_slots() {
        for (date, filled) in [("2026-06-01", 96), ("2026-03-08", 92), ("2026-11-01", 100)] {
            let day = Day::parse_iso(date).expect("date");
            let rd = rd(day, &full(day));
            let tokens: Vec<&str> = rd.split(',').collect();
            assert_eq!(tokens.len(), 100, "{date}");
            assert_eq!(
                tokens.iter().filter(|t| !t.is_empty()).count(),
                filled,
                "{date}"
            );
            assert_eq!(tokens[0], "0.001-E");
        }
        let spring = Day::parse_iso("2026-03-08").expect("date");
        let rd = rd(spring, &full(spring));
        let tokens: Vec<&str> = rd.split(',').collect();
        assert!(tokens[8..16].iter().all(|t| t.is_empty()));
        // 03:00 CDT is the ninth interval of the day, in slot 16.
        assert_eq!(tokens[16], "0.009-A");
    }
}
