//! # hanrig-usage: the usage data plane's domain
//!
//! Smart Meter Texas is first a repository of every advanced meter's 15-minute data (seed
//! §5.3–5.5). This crate holds what that data is and how it is written, with no I/O:
//! - [`day`]: Texas local days of 92, 96 or 100 intervals, and Smart Meter Texas' 100-slot day;
//! - [`lse`]: the TDSPs' daily interval files (an LSE-style CSV; the format is documented there,
//!   with the parts this project had to assume marked as such), read row by row with an error
//!   per bad row that names its line and field;
//! - [`espi`]: Green Button (NAESB REQ.21 ESPI) Atom feeds;
//! - [`table`]: CSV exports;
//! - [`smt`]: the shapes Smart Meter Texas' portal API answers with (the `RD` day string);
//! - [`odr`]: on-demand reads — their states and their limits per meter and per TDSP;
//! - [`premise`]: the TDSPs' premise data (meter number, address, REP of record), a CSV.
//!
//! Energy is counted in whole watt-hours (SMT and the files give kWh with three decimals; ESPI's
//! uom 72 is Wh), times as UTC Unix seconds of an interval's start.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod day;
pub mod espi;
pub mod lse;
pub mod odr;
pub mod premise;
pub mod smt;
pub mod table;

use std::fmt;

/// Which register an interval counts: energy delivered to the premise, or surplus generation
/// it sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Consumption: SMT's `RT` `C`, the LSE channel 4 (load), ESPI flow direction 1 (forward).
    Consumption,
    /// Surplus generation: `RT` `G`, LSE channel 1, ESPI flow direction 19 (reverse).
    Generation,
}

impl Channel {
    /// Both, consumption first.
    pub const ALL: [Channel; 2] = [Channel::Consumption, Channel::Generation];

    /// SMT's letter (`C`, `G`), also the stored form.
    pub fn letter(self) -> &'static str {
        match self {
            Channel::Consumption => "C",
            Channel::Generation => "G",
        }
    }

    /// From SMT's letter.
    pub fn from_letter(letter: &str) -> Option<Channel> {
        match letter {
            "C" => Some(Channel::Consumption),
            "G" => Some(Channel::Generation),
            _ => None,
        }
    }

    /// A word for people.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Consumption => "consumption",
            Channel::Generation => "generation",
        }
    }
}

/// Whether a value was measured or estimated (SMT's `A` and `E`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// Read from the meter (validated).
    Actual,
    /// Estimated by the TDSP; a later file replaces it.
    Estimated,
}

impl Quality {
    /// `A` or `E`, also the stored form.
    pub fn letter(self) -> &'static str {
        match self {
            Quality::Actual => "A",
            Quality::Estimated => "E",
        }
    }

    /// From `A` or `E`.
    pub fn from_letter(letter: &str) -> Option<Quality> {
        match letter {
            "A" => Some(Quality::Actual),
            "E" => Some(Quality::Estimated),
            _ => None,
        }
    }
}

/// One interval's energy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Its start, UTC Unix seconds (a multiple of 900).
    pub start: i64,
    /// Its register.
    pub channel: Channel,
    /// The energy, watt-hours.
    pub wh: i64,
    /// Measured or estimated.
    pub quality: Quality,
}

/// A daily register read: a meter's consumption register at the local midnight that starts a
/// day and at the one that ends it, Wh. The day's energy is their difference; it may differ by
/// a few Wh from the sum of the day's intervals, which are rounded one by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyRead {
    /// The day.
    pub day: day::Day,
    /// The register at its start, Wh.
    pub start_wh: i64,
    /// The register at its end, Wh (never less than at its start).
    pub end_wh: i64,
    /// Measured or estimated.
    pub quality: Quality,
}

impl DailyRead {
    /// The day's energy, Wh.
    pub fn wh(&self) -> i64 {
        self.end_wh - self.start_wh
    }
}

/// A monthly billing read: the energy delivered between two meter read dates — from the
/// register read at the midnight that starts `start` to the one that starts `end` — as the
/// TDSP bills it, Wh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingRead {
    /// The period's first meter read date.
    pub start: day::Day,
    /// Its last: the next period's first.
    pub end: day::Day,
    /// The energy, Wh.
    pub wh: i64,
    /// Measured or estimated.
    pub quality: Quality,
}

/// The longest billing period accepted, days: two monthly cycles (a missed read is billed
/// with the next one).
pub const MAX_BILLING_DAYS: i32 = 62;

/// Watt-hours written as kWh with three decimals (`0.155`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kwh(pub i64);

impl fmt::Display for Kwh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:03}", a / 1000, a % 1000)
    }
}

/// What is wrong with a kWh value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KwhError {
    /// Not a decimal number.
    #[error("{0:?} is not a number of kWh")]
    Form(String),
    /// Finer than a watt-hour.
    #[error("{0:?} has more than three decimals (finer than a watt-hour)")]
    Precision(String),
    /// Negative: each direction has its own channel.
    #[error("{0:?} is negative (generation has its own channel)")]
    Negative(String),
    /// Beyond what one meter could measure.
    #[error("{0:?} is more than {MAX_KWH} kWh")]
    Large(String),
}

/// The largest interval value accepted, kWh: 15 minutes at 4 MW, far beyond any AMS meter.
pub const MAX_KWH: i64 = 1_000_000;

impl std::str::FromStr for Kwh {
    type Err = KwhError;

    /// Parses `12`, `0.155`, `.5`; at most three decimals, not negative.
    fn from_str(text: &str) -> Result<Kwh, KwhError> {
        let form = || KwhError::Form(text.into());
        if text.starts_with('-') {
            return Err(KwhError::Negative(text.into()));
        }
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(form());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 3 {
            return Err(KwhError::Precision(text.into()));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 7 {
            return Err(KwhError::Large(text.into()));
        }
        let w: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| form())?
        };
        if w > MAX_KWH {
            return Err(KwhError::Large(text.into()));
        }
        let f: i64 = format!("{frac:0<3}").parse().map_err(|_| form())?;
        Ok(Kwh(w * 1000 + f))
    }
}

/// The longest export: 13 months of 15-minute data (seed §5.3: customers see 13 months).
pub const MAX_EXPORT_MONTHS: i8 = 13;

/// An export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Green Button ESPI XML.
    Espi,
    /// CSV, one row per interval.
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "espi" | "xml" => Ok(Format::Espi),
            "csv" => Ok(Format::Csv),
            other => Err(format!("export format {other:?}: espi or csv")),
        }
    }
}

impl Format {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Espi => "application/atom+xml",
            Format::Csv => "text/csv",
        }
    }
}

/// The local days `from..=to` checked as an export's span: in order, and at most
/// [`MAX_EXPORT_MONTHS`] months; the span's UTC bounds.
pub fn export_span(from: day::Day, to: day::Day) -> Result<(i64, i64), String> {
    use jiff::ToSpan;
    if to < from {
        return Err(format!("the export ends ({to}) before it starts ({from})"));
    }
    let limit = from
        .date()
        .checked_add(MAX_EXPORT_MONTHS.months())
        .map_err(|e| e.to_string())?;
    if to.date() >= limit {
        return Err(format!(
            "an export spans at most {MAX_EXPORT_MONTHS} months ({from} to {to} is longer)"
        ));
    }
    Ok((from.start(), to.end()))
}

/// `esiid`'s intervals as an export in `format`, generated at `now`.
pub fn render(format: Format, meter: &espi::Meter<'_>, intervals: &[Interval], now: i64) -> String {
    match format {
        Format::Espi => espi::feed(meter, intervals, now),
        Format::Csv => {
            let mut out = csv::Writer::from_writer(Vec::new());
            let mut sorted = intervals.to_vec();
            sorted.sort_by_key(|i| (i.start, i.channel));
            let written = out
                .write_record(table::HEADER)
                .and_then(|()| table::write(&mut out, meter.esiid, &sorted));
            match (written, out.into_inner()) {
                (Ok(()), Ok(bytes)) => String::from_utf8(bytes).unwrap_or_default(),
                // Writing to memory cannot fail.
                _ => String::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kwh_parses_three_decimals_at_most() {
        assert_eq!("0.155".parse(), Ok(Kwh(155)));
        assert_eq!("12".parse(), Ok(Kwh(12_000)));
        assert_eq!(".5".parse(), Ok(Kwh(500)));
        assert_eq!("1.2500".parse(), Ok(Kwh(1250)));
        assert!(matches!(
            "0.1555".parse::<Kwh>(),
            Err(KwhError::Precision(_))
        ));
        assert!(matches!("-1".parse::<Kwh>(), Err(KwhError::Negative(_))));
        assert!(matches!("1e3".parse::<Kwh>(), Err(KwhError::Form(_))));
        assert!(matches!(".".parse::<Kwh>(), Err(KwhError::Form(_))));
        assert!(matches!("".parse::<Kwh>(), Err(KwhError::Form(_))));
        assert!(matches!("99999999".parse::<Kwh>(), Err(KwhError::Large(_))));
        assert_eq!(Kwh(155).to_string(), "0.155");
        assert_eq!(Kwh(9_751_212).to_string(), "9751.212");
    }

    proptest! {
        #[test]
        fn kwh_round_trips(wh in 0i64..=MAX_KWH * 1000) {
            prop_assert_eq!(Kwh(wh).to_string().parse::<Kwh>(), Ok(Kwh(wh)));
        }
    }
}
