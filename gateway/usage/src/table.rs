//! CSV exports: one row per interval, with its local and UTC times, so that a spreadsheet shows
//! the repeated fall-back hour as two distinct rows.

use crate::day::{local, rfc3339};
use crate::{Interval, Kwh};

/// The header row.
pub const HEADER: [&str; 7] = [
    "ESIID",
    "channel",
    "start_utc",
    "start_local",
    "utc_offset",
    "kwh",
    "quality",
];

/// Writes `intervals` of `esiid` as CSV rows (the caller writes [`HEADER`] first).
pub fn write<W: std::io::Write>(
    out: &mut csv::Writer<W>,
    esiid: &str,
    intervals: &[Interval],
) -> csv::Result<()> {
    for i in intervals {
        let l = local(i.start);
        let seconds = crate::day::texas()
            .to_offset(jiff::Timestamp::from_second(i.start).unwrap_or_default())
            .seconds();
        let offset = format!(
            "{}{:02}:{:02}",
            if seconds < 0 { '-' } else { '+' },
            seconds.abs() / 3600,
            seconds.abs() % 3600 / 60
        );
        out.write_record([
            esiid,
            i.channel.name(),
            &rfc3339(i.start),
            &l.strftime("%Y-%m-%d %H:%M").to_string(),
            &offset,
            &Kwh(i.wh).to_string(),
            if i.quality == crate::Quality::Actual {
                "actual"
            } else {
                "estimated"
            },
        ])?;
    }
    Ok(())
}
