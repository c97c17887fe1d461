//! Texas days. Intervals are stored by their start in UTC (Unix seconds), but meters, files
//! and people count them by the local day in America/Chicago: 96 intervals on most days, 92
//! on the day clocks spring forward (the 02:00 hour never happens) and 100 on the day they fall
//! back (the 01:00 hour happens twice) — seed line 761, ERCOT's interval-data rules.

use std::fmt;
use std::sync::OnceLock;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// The length of an interval, seconds.
pub const INTERVAL_SECONDS: i64 = 900;

/// Slots in Smart Meter Texas' day layout (the `RD` of `intervalsynch`): 96 for the day's
/// quarter hours plus 4 for the 01:00 hour a fall-back day repeats.
pub const SLOTS: usize = 100;

/// America/Chicago, from the time-zone database compiled into the binary (the same rules on
/// every machine, whatever its `/usr/share/zoneinfo`).
pub fn texas() -> &'static TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        TimeZone::get("America/Chicago")
            .expect("the bundled time-zone database holds America/Chicago")
    })
}

/// What is wrong with a day or a local time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not a date or time in the expected form.
    #[error("{text:?} is not a {form}")]
    Form {
        /// The text.
        text: String,
        /// The expected form.
        form: &'static str,
    },
    /// A local time the clocks skip (spring forward).
    #[error("{0} does not exist in Texas: the clocks skip that hour")]
    Skipped(String),
    /// A local time that happens twice (fall back).
    #[error("{0} happens twice in Texas (the clocks fall back): ambiguous")]
    Twice(String),
    /// A time outside the supported years.
    #[error("{0} is out of range")]
    Range(String),
}

/// A local day in Texas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(Date);

impl Day {
    /// The day of `date`.
    pub fn new(date: Date) -> Day {
        Day(date)
    }

    /// The civil date.
    pub fn date(self) -> Date {
        self.0
    }

    /// The local day containing the instant `unix` (seconds).
    pub fn containing(unix: i64) -> Result<Day, TimeError> {
        let t = Timestamp::from_second(unix).map_err(|_| TimeError::Range(unix.to_string()))?;
        Ok(Day(texas().to_datetime(t).date()))
    }

    /// `YYYY-MM-DD`.
    pub fn parse_iso(text: &str) -> Result<Day, TimeError> {
        let form = || TimeError::Form {
            text: text.into(),
            form: "date YYYY-MM-DD",
        };
        if text.len() != 10 {
            return Err(form());
        }
        text.parse::<Date>().map(Day).map_err(|_| form())
    }

    /// `YYYYMMDD`, as the interval files write a read's date.
    pub fn parse_compact(text: &str) -> Result<Day, TimeError> {
        let form = || TimeError::Form {
            text: text.into(),
            form: "date YYYYMMDD",
        };
        if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(form());
        }
        let n = |a: usize, b: usize| text[a..b].parse::<i16>().map_err(|_| form());
        Date::new(n(0, 4)?, n(4, 6)? as i8, n(6, 8)? as i8)
            .map(Day)
            .map_err(|_| form())
    }

    /// `YYYYMMDD`.
    pub fn compact(self) -> String {
        self.0.strftime("%Y%m%d").to_string()
    }

    /// `MM/DD/YYYY`, as Smart Meter Texas' API writes dates.
    pub fn parse_us(text: &str) -> Result<Day, TimeError> {
        let form = || TimeError::Form {
            text: text.into(),
            form: "date MM/DD/YYYY",
        };
        let mut parts = text.split('/');
        let (Some(m), Some(d), Some(y), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(form());
        };
        let num = |s: &str, len: usize| {
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<i16>().ok())
                .flatten()
                .ok_or_else(form)
        };
        let (m, d, y) = (num(m, 2)?, num(d, 2)?, num(y, 4)?);
        Date::new(y, m as i8, d as i8).map(Day).map_err(|_| form())
    }

    /// `MM/DD/YYYY`.
    pub fn us(self) -> String {
        format!(
            "{:02}/{:02}/{:04}",
            self.0.month(),
            self.0.day(),
            self.0.year()
        )
    }

    /// The next day.
    pub fn next(self) -> Day {
        Day(self.0.tomorrow().unwrap_or(self.0))
    }

    /// The day before.
    pub fn previous(self) -> Day {
        Day(self.0.yesterday().unwrap_or(self.0))
    }

    /// This day `n` days later (earlier if negative).
    pub fn plus_days(self, n: i32) -> Day {
        Day(self.0.checked_add(n.days()).unwrap_or(self.0))
    }

    /// Local midnight, Unix seconds. (No Texas transition is at midnight, so it always exists.)
    pub fn start(self) -> i64 {
        local_midnight(self.0)
    }

    /// The next local midnight, Unix seconds.
    pub fn end(self) -> i64 {
        self.next().start()
    }

    /// Intervals in the day: 92, 96 or 100.
    pub fn intervals(self) -> usize {
        ((self.end() - self.start()) / INTERVAL_SECONDS) as usize
    }

    /// The start of each interval, Unix seconds, in order.
    pub fn interval_starts(self) -> impl Iterator<Item = i64> {
        (self.start()..self.end()).step_by(INTERVAL_SECONDS as usize)
    }

    /// The slot of the interval starting at `start` in Smart Meter Texas' 100-slot layout: slots
    /// 0–7 are 00:00–01:45, 8–11 the repeated 01:00 hour (a fall-back day only), 12–99
    /// 02:00–23:45; on a spring-forward day slots 12–15 (the missing 02:00 hour) stay empty.
    /// None for an instant that is not an interval start of this day.
    pub fn slot(self, start: i64) -> Option<usize> {
        if start < self.start() || start >= self.end() || start % INTERVAL_SECONDS != 0 {
            return None;
        }
        let t = Timestamp::from_second(start).ok()?;
        let local = texas().to_datetime(t);
        let quarter = (local.hour() as usize * 60 + local.minute() as usize) / 15;
        if quarter >= 8 {
            return Some(quarter + 4);
        }
        // 00:00–01:45: the second 01:00 hour is the one an hour after the first.
        let first = self.start() + quarter as i64 * INTERVAL_SECONDS;
        Some(if start == first { quarter } else { quarter + 4 })
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn local_midnight(date: Date) -> i64 {
    texas()
        .to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
        .compatible()
        .map(|t| t.as_second())
        .unwrap_or(0)
}

/// The local wall-clock time of the instant `unix`.
pub fn local(unix: i64) -> DateTime {
    Timestamp::from_second(unix)
        .map(|t| texas().to_datetime(t))
        .unwrap_or_default()
}

/// The instant `months` calendar months after `unix`, in Texas time (the 31st of a month
/// with 30 days is its last day).
pub fn plus_months(unix: i64, months: u8) -> i64 {
    local(unix)
        .checked_add(i64::from(months).months())
        .ok()
        .and_then(|dt| texas().to_ambiguous_timestamp(dt).compatible().ok())
        .map(|t| t.as_second())
        .unwrap_or(unix)
}

/// The instant `unix` as local time written `YYYYMMDDHHMMSS` (24-hour, local prevailing time).
pub fn compact_local(unix: i64) -> String {
    local(unix).strftime("%Y%m%d%H%M%S").to_string()
}

/// A local time written `YYYYMMDDHHMMSS` (24-hour, local prevailing time), as Unix seconds.
/// A time the clocks skip or repeat is refused: the caller decides what such a time means.
pub fn parse_compact_local(text: &str) -> Result<i64, TimeError> {
    let form = || TimeError::Form {
        text: text.into(),
        form: "local time YYYYMMDDHHMMSS",
    };
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(form());
    }
    let n = |a: usize, b: usize| text[a..b].parse::<i16>().map_err(|_| form());
    let dt = DateTime::new(
        n(0, 4)?,
        n(4, 6)? as i8,
        n(6, 8)? as i8,
        n(8, 10)? as i8,
        n(10, 12)? as i8,
        n(12, 14)? as i8,
        0,
    )
    .map_err(|_| form())?;
    let ambiguous = texas().to_ambiguous_timestamp(dt);
    match ambiguous.offset() {
        jiff::tz::AmbiguousOffset::Unambiguous { .. } => ambiguous
            .compatible()
            .map(|t| t.as_second())
            .map_err(|_| TimeError::Range(text.into())),
        jiff::tz::AmbiguousOffset::Gap { .. } => Err(TimeError::Skipped(text.into())),
        jiff::tz::AmbiguousOffset::Fold { .. } => Err(TimeError::Twice(text.into())),
    }
}

/// `MM/DD/YYYY HH:MM:SS` in Texas time, as Smart Meter Texas writes a read's date.
pub fn us_local(unix: i64) -> String {
    let l = local(unix);
    format!(
        "{:02}/{:02}/{:04} {:02}:{:02}:{:02}",
        l.month(),
        l.day(),
        l.year(),
        l.hour(),
        l.minute(),
        l.second()
    )
}

/// RFC 3339 in UTC (`2026-03-08T06:00:00Z`).
pub fn rfc3339(unix: i64) -> String {
    Timestamp::from_second(unix)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse_iso(s).expect("date")
    }

    #[test]
    fn dst_days_have_92_and_100_intervals() {
        // America/Chicago 2026: spring forward 03-08 at 08:00Z, fall back 11-01 at 07:00Z.
        assert_eq!(day("2026-03-08").intervals(), 92);
        assert_eq!(day("2026-11-01").intervals(), 100);
        assert_eq!(day("2026-03-07").intervals(), 96);
        assert_eq!(day("2027-03-14").intervals(), 92);
        assert_eq!(day("2027-11-07").intervals(), 100);
        assert_eq!(day("2026-03-08").start(), 1_772_949_600); // 06:00Z
        assert_eq!(day("2026-03-09").start(), 1_773_032_400); // 05:00Z
    }

    #[test]
    fn slots_follow_smart_meter_texas_layout() {
        let fall = day("2026-11-01");
        let slots: Vec<usize> = fall
            .interval_starts()
            .filter_map(|t| fall.slot(t))
            .collect();
        assert_eq!(slots, (0..100).collect::<Vec<_>>());
        let spring = day("2026-03-08");
        let slots: Vec<usize> = spring
            .interval_starts()
            .filter_map(|t| spring.slot(t))
            .collect();
        let expected: Vec<usize> = (0..8).chain(16..100).collect();
        assert_eq!(slots, expected);
        let plain = day("2026-06-01");
        let slots: Vec<usize> = plain
            .interval_starts()
            .filter_map(|t| plain.slot(t))
            .collect();
        let expected: Vec<usize> = (0..8).chain(12..100).collect();
        assert_eq!(slots, expected);
        assert_eq!(plain.slot(plain.start() + 1), None);
        assert_eq!(plain.slot(plain.end()), None);
    }

    #[test]
    fn local_times_that_skip_or_repeat_are_refused() {
        assert!(matches!(
            parse_compact_local("20260308023000"),
            Err(TimeError::Skipped(_))
        ));
        assert!(matches!(
            parse_compact_local("20261101013000"),
            Err(TimeError::Twice(_))
        ));
        assert_eq!(parse_compact_local("20260308000000"), Ok(1_772_949_600));
        assert!(parse_compact_local("2026030800000").is_err());
        assert!(parse_compact_local("20261301000000").is_err());
    }

    #[test]
    fn us_dates_round_trip() {
        let d = Day::parse_us("03/08/2026").expect("date");
        assert_eq!(d, day("2026-03-08"));
        assert_eq!(d.us(), "03/08/2026");
        assert!(Day::parse_us("3/8/2026").is_err());
        assert!(Day::parse_us("02/30/2026").is_err());
        assert_eq!(Day::parse_compact("20260308"), Ok(d));
        assert_eq!(d.compact(), "20260308");
        assert!(Day::parse_compact("20260230").is_err());
        assert!(Day::parse_compact("2026038").is_err());
        assert_eq!(us_local(1_772_949_600 + 3 * 3600), "03/08/2026 04:00:00");
    }
}
