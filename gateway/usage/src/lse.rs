//! The TDSPs' daily interval files, as hanrig accepts them: an LSE-style CSV.
//!
//! ERCOT's Retail Market Guide §9 Appendix G ("ERCOT Specified File Format for Submission of
//! Interval Data for Advanced Metering Systems") and the "LSE file v.04" note fix the file name
//! and the first header row; the copies this project found stop there. What follows marks each
//! part as **[App. G]** (taken from it) or **[assumed]** (this project's choice, until the full
//! appendix is at hand).
//!
//! **File name [App. G]:** `<DUNS, 9 or 13 digits>IntervalData<sent, ccyymmddhhmmss><counter, 3
//! digits>.lse`, optionally followed by more text that does not contain `csv`. The sending time
//! is the revision time of every value in the file: a later file replaces what an earlier one
//! said. [assumed] The sending time is in local prevailing (Texas) time, like the data.
//!
//! **Rows.** Comma-separated, no quoting, one record per line (CR LF or LF), at most
//! [`MAX_LINE`] bytes; "the correct number of commas must be included". A file holds any number
//! of blocks, one per ESIID and channel:
//! 1. Header row one [App. G]: `00000001,ESIID,CHANNEL,START,STOP,DST,INVALID` — the channel is
//!    `4` (load: consumption) or `1` (generation); START and STOP are `YYYYMMDDHHMMSS`, 24-hour,
//!    in local prevailing time; DST is `Y` ("data must be DST adjusted"); INVALID is `N` (the data
//!    was validated, edited and estimated). [assumed] STOP is the end of the last interval; a STOP
//!    at `…5959` is read as the next second. A START or STOP inside the repeated fall-back hour
//!    or the skipped spring-forward hour is refused as ambiguous.
//! 2. Header row two [assumed]: `00000002,900,KWH` — the interval length in seconds and the unit;
//!    nothing else is accepted.
//! 3. Data rows [assumed]: `00000003,VALUE,STATUS`, one per interval in time order from START,
//!    so a fall-back day has 100 rows and a spring-forward day 92; VALUE is kWh with at most three
//!    decimals, blank when the interval is missing ("missing = blank, not zero"); STATUS is `A`
//!    (actual) or `E` (estimated).
//!
//!
//! Between blocks, a file may also hold a meter's register reads, one row each [assumed: App.
//! G covers interval data only, and SMT's daily and monthly reads come from the same TDSPs]:
//! - daily register read: `00000010,ESIID,YYYYMMDD,START,END,STATUS` — the consumption
//!   register (kWh, at most three decimals) at the local midnight that starts the day and at
//!   the one that ends it; END is not less than START;
//! - monthly billing read: `00000020,ESIID,START,END,KWH,STATUS` — the energy between two
//!   meter read dates (`YYYYMMDD`, from the read at the start of START to the one at the start
//!   of END, so one period's END is the next one's START), at most
//!   [`MAX_BILLING_DAYS`](crate::MAX_BILLING_DAYS) days.
//!
//! A later file's read of the same day, or of the same period's START, replaces an earlier
//! one, as intervals do.
//!
//! A bad row is reported with its line and field and skipped; the block's other rows are kept.
//! A bad header row skips its block's rows (one error names the header's line and how many
//! rows).

use std::io::{BufRead, Read};

use hanrig_gateway::esiid::Esiid;

use crate::day::{Day, INTERVAL_SECONDS, compact_local, parse_compact_local};
use crate::{BillingRead, Channel, DailyRead, Interval, Kwh, MAX_BILLING_DAYS, Quality};

/// The longest line read, bytes (a data row is under 40).
pub const MAX_LINE: usize = 512;
/// The most intervals one block may span: 31 days, each of up to 100.
pub const MAX_BLOCK_INTERVALS: usize = 3_100;

/// What a file's name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileName {
    /// The sending TDSP's DUNS number.
    pub duns: String,
    /// When it was sent: the revision time of its values, Unix seconds.
    pub sent: i64,
}

/// The name of file `counter` (1–999) that TDSP `duns` sends at `sent` (Unix seconds):
/// `<DUNS>IntervalData<ccyymmddhhmmss><nnn>.lse`.
pub fn file_name(duns: &str, sent: i64, counter: u16) -> String {
    format!(
        "{duns}IntervalData{}{:03}.lse",
        compact_local(sent),
        counter % 1000
    )
}

/// Reads a file name of the form `<DUNS>IntervalData<ccyymmddhhmmss><nnn>.lse…`.
pub fn parse_file_name(name: &str) -> Result<FileName, String> {
    let form = || {
        format!(
            "{name:?} is not named <DUNS>IntervalData<ccyymmddhhmmss><nnn>.lse (ERCOT Retail Market Guide §9 App. G)"
        )
    };
    let (duns, rest) = name.split_once("IntervalData").ok_or_else(form)?;
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(duns.len() == 9 || duns.len() == 13) || !digits(duns) {
        return Err(form());
    }
    if rest.len() < 21 || !digits(&rest[..17]) || !rest[17..].starts_with(".lse") {
        return Err(form());
    }
    if rest[21..].to_ascii_lowercase().contains("csv") {
        return Err(format!(
            "{name:?}: an interval file's name must not contain \"csv\""
        ));
    }
    let sent = parse_compact_local(&rest[..14]).map_err(|e| format!("{name:?}: {e}"))?;
    Ok(FileName {
        duns: duns.into(),
        sent,
    })
}

/// A row the reader refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// Its line, from 1.
    pub line: usize,
    /// The field at fault (`row` when it is the row as a whole).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, {}: {}", self.line, self.field, self.message)
    }
}

/// One ESIID's intervals on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The line of its first header row.
    pub line: usize,
    /// The meter.
    pub esiid: Esiid,
    /// Its channel.
    pub channel: Channel,
    /// Its span, Unix seconds: the first interval's start and the last one's end.
    pub start: i64,
    /// The end of its span.
    pub stop: i64,
    /// The intervals its rows gave (missing ones are absent).
    pub intervals: Vec<Interval>,
    /// Its rows that were refused.
    pub errors: Vec<RowError>,
}

/// A read of one meter, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterRead<T> {
    /// Its line, from 1.
    pub line: usize,
    /// The meter.
    pub esiid: Esiid,
    /// The read.
    pub read: T,
}

/// What a file holds: blocks of intervals and register reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// One ESIID's intervals on one channel.
    Intervals(Block),
    /// A daily register read.
    Daily(MeterRead<DailyRead>),
    /// A monthly billing read.
    Billing(MeterRead<BillingRead>),
}

/// Whether `text` starts a record: a block's header row one or a read.
fn starts_record(text: &str) -> bool {
    ["00000001,", "00000010,", "00000020,"]
        .iter()
        .any(|code| text.starts_with(code))
}

/// Reads records from a file, one at a time.
#[derive(Debug)]
pub struct Reader<R> {
    input: R,
    line: usize,
    bytes: u64,
    /// A header row one read while finishing the previous block.
    pending: Option<(usize, String)>,
    done: bool,
}

enum Line {
    Text(String),
    Bad(RowError),
}

impl<R: BufRead> Reader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Reader<R> {
        Reader {
            input,
            line: 0,
            bytes: 0,
            pending: None,
            done: false,
        }
    }

    /// Bytes read so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The next line, without its line ending; None at the end.
    fn next_line(&mut self) -> Option<Line> {
        let mut buf = Vec::new();
        let n = match <&mut R as Read>::take(&mut self.input, MAX_LINE as u64 + 2)
            .read_until(b'\n', &mut buf)
        {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) => {
                self.done = true;
                return Some(Line::Bad(RowError {
                    line: self.line + 1,
                    field: "row",
                    message: format!("reading the file: {e}"),
                }));
            }
        };
        self.line += 1;
        self.bytes += n as u64;
        if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE {
            // Skip the rest of the overlong line.
            loop {
                let mut rest = Vec::new();
                match <&mut R as Read>::take(&mut self.input, 4096).read_until(b'\n', &mut rest) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        self.bytes += n as u64;
                        if rest.last() == Some(&b'\n') {
                            break;
                        }
                    }
                }
            }
            return Some(Line::Bad(
                self.error("row", format!("longer than {MAX_LINE} bytes")),
            ));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.len() > MAX_LINE {
            return Some(Line::Bad(
                self.error("row", format!("longer than {MAX_LINE} bytes")),
            ));
        }
        match String::from_utf8(buf) {
            Ok(s) => Some(Line::Text(s)),
            Err(_) => Some(Line::Bad(self.error("row", "not UTF-8 text".into()))),
        }
    }

    fn error(&self, field: &'static str, message: String) -> RowError {
        RowError {
            line: self.line,
            field,
            message,
        }
    }
}

/// A header row one, read.
struct Header {
    esiid: Esiid,
    channel: Channel,
    start: i64,
    stop: i64,
}

fn header_one(fields: &[&str], line: usize) -> Result<Header, RowError> {
    let err = |field: &'static str, message: String| RowError {
        line,
        field,
        message,
    };
    if fields.len() != 7 {
        return Err(err(
            "row",
            format!(
                "header row one has 7 fields (sort code, ESI ID, channel, start, stop, DST participation, invalid record flag), this one {}",
                fields.len()
            ),
        ));
    }
    let esiid: Esiid = fields[1]
        .parse()
        .map_err(|e| err("ESI ID", format!("{e}")))?;
    let channel = match fields[2] {
        "4" => Channel::Consumption,
        "1" => Channel::Generation,
        other => {
            return Err(err(
                "channel",
                format!("{other:?}: 4 (load) or 1 (generation)"),
            ));
        }
    };
    let time = |field: &'static str, text: &str| {
        parse_compact_local(text).map_err(|e| err(field, e.to_string()))
    };
    let start = time("start time", fields[3])?;
    // A stop written as the last second of its interval (…5959) means the next second.
    let stop = time("stop time", fields[4])? + i64::from(fields[4].ends_with("5959"));
    if fields[5] != "Y" {
        return Err(err(
            "DST participation",
            format!(
                "{:?}: Y (the data is DST adjusted, in local prevailing time)",
                fields[5]
            ),
        ));
    }
    if fields[6] != "N" {
        return Err(err(
            "invalid record flag",
            format!(
                "{:?}: N (validated, edited and estimated data only)",
                fields[6]
            ),
        ));
    }
    if start % INTERVAL_SECONDS != 0 {
        return Err(err("start time", "not at a quarter hour".into()));
    }
    if stop <= start || (stop - start) % INTERVAL_SECONDS != 0 {
        return Err(err(
            "stop time",
            "not a whole number of 15-minute intervals after the start".into(),
        ));
    }
    if ((stop - start) / INTERVAL_SECONDS) as usize > MAX_BLOCK_INTERVALS {
        return Err(err(
            "stop time",
            format!("more than {MAX_BLOCK_INTERVALS} intervals (31 days) in one block"),
        ));
    }
    Ok(Header {
        esiid,
        channel,
        start,
        stop,
    })
}

fn header_two(fields: &[&str]) -> Result<(), (&'static str, String)> {
    if fields.len() != 3 {
        return Err((
            "row",
            format!(
                "header row two is 00000002,900,KWH ({} fields here)",
                fields.len()
            ),
        ));
    }
    if fields[1] != "900" {
        return Err(("interval length", format!("{:?}: 900 (seconds)", fields[1])));
    }
    if fields[2] != "KWH" {
        return Err(("unit", format!("{:?}: KWH", fields[2])));
    }
    Ok(())
}

fn data_row(fields: &[&str]) -> Result<Option<(i64, Quality)>, (&'static str, String)> {
    if fields.len() != 3 {
        return Err((
            "row",
            format!(
                "a data row is 00000003,VALUE,STATUS ({} fields here)",
                fields.len()
            ),
        ));
    }
    if fields[1].is_empty() {
        return Ok(None);
    }
    let Kwh(wh) = fields[1]
        .parse()
        .map_err(|e: crate::KwhError| ("value", e.to_string()))?;
    let quality = Quality::from_letter(fields[2]).ok_or_else(|| {
        (
            "status",
            format!("{:?}: A (actual) or E (estimated)", fields[2]),
        )
    })?;
    Ok(Some((wh, quality)))
}

/// A read row's parts: its fields checked for number, ESIID and status, and each other field
/// read on the row's line.
struct ReadRow<'a> {
    fields: &'a [&'a str],
    line: usize,
    esiid: Esiid,
    quality: Quality,
}

impl<'a> ReadRow<'a> {
    fn new(fields: &'a [&'a str], line: usize, form: &str) -> Result<ReadRow<'a>, RowError> {
        let err = |field: &'static str, message: String| RowError {
            line,
            field,
            message,
        };
        if fields.len() != 6 {
            return Err(err("row", format!("{form} ({} fields here)", fields.len())));
        }
        let esiid: Esiid = fields[1]
            .parse()
            .map_err(|e| err("ESI ID", format!("{e}")))?;
        let quality = Quality::from_letter(fields[5]).ok_or_else(|| {
            err(
                "status",
                format!("{:?}: A (actual) or E (estimated)", fields[5]),
            )
        })?;
        Ok(ReadRow {
            fields,
            line,
            esiid,
            quality,
        })
    }

    fn err(&self, field: &'static str, message: String) -> RowError {
        RowError {
            line: self.line,
            field,
            message,
        }
    }

    /// Field `n` as kWh, in Wh.
    fn kwh(&self, n: usize, field: &'static str) -> Result<i64, RowError> {
        self.fields[n]
            .parse::<Kwh>()
            .map(|k| k.0)
            .map_err(|e| self.err(field, e.to_string()))
    }

    /// Field `n` as a date.
    fn day(&self, n: usize, field: &'static str) -> Result<Day, RowError> {
        Day::parse_compact(self.fields[n]).map_err(|e| self.err(field, e.to_string()))
    }
}

fn daily_row(fields: &[&str], line: usize) -> Result<MeterRead<DailyRead>, RowError> {
    let row = ReadRow::new(
        fields,
        line,
        "a daily register read is 00000010,ESIID,YYYYMMDD,START,END,STATUS",
    )?;
    let day = row.day(2, "read date")?;
    let (start_wh, end_wh) = (row.kwh(3, "start reading")?, row.kwh(4, "end reading")?);
    if end_wh < start_wh {
        return Err(row.err(
            "end reading",
            format!(
                "{} is less than the start reading {}: a register does not run backwards",
                fields[4], fields[3]
            ),
        ));
    }
    Ok(MeterRead {
        line,
        esiid: row.esiid,
        read: DailyRead {
            day,
            start_wh,
            end_wh,
            quality: row.quality,
        },
    })
}

fn billing_row(fields: &[&str], line: usize) -> Result<MeterRead<BillingRead>, RowError> {
    let row = ReadRow::new(
        fields,
        line,
        "a monthly billing read is 00000020,ESIID,START,END,KWH,STATUS",
    )?;
    let (start, end) = (row.day(2, "start date")?, row.day(3, "end date")?);
    if end <= start || end > start.plus_days(MAX_BILLING_DAYS) {
        return Err(row.err(
            "end date",
            format!("{end} must be 1 to {MAX_BILLING_DAYS} days after the start date {start}"),
        ));
    }
    let wh = row.kwh(4, "kWh")?;
    Ok(MeterRead {
        line,
        esiid: row.esiid,
        read: BillingRead {
            start,
            end,
            wh,
            quality: row.quality,
        },
    })
}
impl<R: BufRead> Iterator for Reader<R> {
    /// A block (with its refused rows) or a read; or, for a block whose header was refused,
    /// a refused read or a row outside any block, the refusals.
    type Item = Result<Record, Vec<RowError>>;

    fn next(&mut self) -> Option<Self::Item> {
        // Find the record's first row.
        let (line, text) = match self.pending.take() {
            Some(p) => p,
            None => loop {
                if self.done {
                    return None;
                }
                match self.next_line()? {
                    Line::Bad(e) => return Some(Err(vec![e])),
                    Line::Text(t) if t.trim().is_empty() => continue,
                    Line::Text(t) if starts_record(&t) => break (self.line, t),
                    Line::Text(t) => {
                        let sort = t.split(',').next().unwrap_or_default();
                        return Some(Err(vec![self.error(
                            "sort code",
                            format!("{sort:?} outside a block: a block starts with header row one (00000001); a read is 00000010 or 00000020"),
                        )]));
                    }
                }
            },
        };
        let fields: Vec<&str> = text.split(',').collect();
        match fields[0] {
            "00000010" => {
                return Some(
                    daily_row(&fields, line)
                        .map(Record::Daily)
                        .map_err(|e| vec![e]),
                );
            }
            "00000020" => {
                return Some(
                    billing_row(&fields, line)
                        .map(Record::Billing)
                        .map_err(|e| vec![e]),
                );
            }
            _ => {}
        }
        let mut header = header_one(&fields, line);
        let mut errors = Vec::new();
        let mut intervals = Vec::new();
        let mut rows = 0usize;
        let mut saw_two = false;
        let mut skipped = 0usize;
        loop {
            let next = match self.next_line() {
                None => break,
                Some(Line::Bad(e)) => {
                    // An unreadable line in the data holds its interval's place.
                    errors.push(e);
                    rows += usize::from(saw_two);
                    continue;
                }
                Some(Line::Text(t)) => t,
            };
            if next.trim().is_empty() {
                continue;
            }
            if starts_record(&next) {
                self.pending = Some((self.line, next));
                break;
            }
            if header.is_err() {
                skipped += 1;
                continue;
            }
            let f: Vec<&str> = next.split(',').collect();
            match (f[0], saw_two) {
                ("00000002", false) => {
                    saw_two = true;
                    // Data rows of another interval length or unit cannot be read as 15-minute
                    // kWh: the block is refused as a whole.
                    if let Err((field, message)) = header_two(&f) {
                        header = Err(self.error(field, message));
                    }
                }
                ("00000002", true) => errors
                    .push(self.error("sort code", "a second header row two in one block".into())),
                ("00000003", false) => {
                    errors.push(self.error("sort code", "a data row before header row two".into()));
                }
                ("00000003", true) => {
                    let Ok(h) = &header else { continue };
                    let slot = rows;
                    rows += 1;
                    let start = h.start + slot as i64 * INTERVAL_SECONDS;
                    if start >= h.stop {
                        errors.push(self.error(
                            "row",
                            format!(
                                "interval {} of a block of {}: past its stop time",
                                slot + 1,
                                (h.stop - h.start) / INTERVAL_SECONDS
                            ),
                        ));
                        continue;
                    }
                    match data_row(&f) {
                        Ok(Some((wh, quality))) => intervals.push(Interval {
                            start,
                            channel: h.channel,
                            wh,
                            quality,
                        }),
                        Ok(None) => {}
                        Err((field, message)) => errors.push(self.error(field, message)),
                    }
                }
                (other, _) => errors.push(self.error(
                    "sort code",
                    format!("{other:?}: 00000001, 00000002 or 00000003"),
                )),
            }
        }
        match header {
            Err(mut e) => {
                if skipped > 0 {
                    e.message = format!("{}; the block's {skipped} rows skipped", e.message);
                }
                errors.insert(0, e);
                Some(Err(errors))
            }
            Ok(h) => {
                let expected = ((h.stop - h.start) / INTERVAL_SECONDS) as usize;
                if !saw_two {
                    errors.push(RowError {
                        line,
                        field: "row",
                        message: "the block has no header row two (00000002,900,KWH)".into(),
                    });
                } else if rows < expected {
                    errors.push(RowError {
                        line,
                        field: "row",
                        message: format!(
                            "{expected} intervals from start to stop, {rows} data rows: the last {} are missing",
                            expected - rows
                        ),
                    });
                }
                Some(Ok(Record::Intervals(Block {
                    line,
                    esiid: h.esiid,
                    channel: h.channel,
                    start: h.start,
                    stop: h.stop,
                    intervals,
                    errors,
                })))
            }
        }
    }
}

/// Writes a meter's `intervals` of `start..stop` in this format: a block per channel they hold.
pub fn write_meter(out: &mut String, esiid: &str, start: i64, stop: i64, intervals: &[Interval]) {
    for channel in Channel::ALL {
        let of: Vec<Interval> = intervals
            .iter()
            .filter(|i| i.channel == channel)
            .copied()
            .collect();
        if !of.is_empty() {
            write_block(out, esiid, channel, start, stop, &of);
        }
    }
}

/// Writes one block in this format: header rows and one data row per interval of
/// `start..stop`, blank where `intervals` has none.
pub fn write_block(
    out: &mut String,
    esiid: &str,
    channel: Channel,
    start: i64,
    stop: i64,
    intervals: &[Interval],
) {
    use std::fmt::Write;
    let code = match channel {
        Channel::Consumption => 4,
        Channel::Generation => 1,
    };
    let _ = writeln!(
        out,
        "00000001,{esiid},{code},{},{},Y,N",
        compact_local(start),
        compact_local(stop)
    );
    out.push_str("00000002,900,KWH\n");
    let mut given = intervals.iter().peekable();
    for t in (start..stop).step_by(INTERVAL_SECONDS as usize) {
        while given.next_if(|i| i.start < t).is_some() {}
        match given.next_if(|i| i.start == t) {
            Some(i) => {
                let _ = writeln!(out, "00000003,{},{}", Kwh(i.wh), i.quality.letter());
            }
            None => out.push_str("00000003,,\n"),
        }
    }
}

/// Writes a daily register read in this format.
pub fn write_daily(out: &mut String, esiid: &str, read: &DailyRead) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "00000010,{esiid},{},{},{},{}",
        read.day.compact(),
        Kwh(read.start_wh),
        Kwh(read.end_wh),
        read.quality.letter()
    );
}

/// Writes a monthly billing read in this format.
pub fn write_billing(out: &mut String, esiid: &str, read: &BillingRead) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "00000020,{esiid},{},{},{},{}",
        read.start.compact(),
        read.end.compact(),
        Kwh(read.wh),
        read.quality.letter()
    );
}
