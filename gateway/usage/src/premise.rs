//! Premise data: what a TDSP says of its meters — the meter's number, the service address and
//! the REP of record — as hanrig accepts it, a CSV file.
//!
//! ERCOT's public TDSP ESI ID Extract carries the address and the meter's characteristics, and
//! the REP of record comes from market transactions; neither layout was at hand, so this format
//! is **this project's assumption**, in their spirit:
//! - a header row, exactly `ESIID,METER_NUMBER,ADDRESS,CITY,ZIP,REP`;
//! - one row per meter, comma-separated with RFC 4180 quoting (an address may hold a comma);
//! - `ESIID`: 17 or 22 digits starting `10`; `METER_NUMBER`: 1 to 32 letters and digits;
//!   `ADDRESS`: 1 to [`MAX_ADDRESS`] characters; `CITY`: 1 to [`MAX_CITY`]; `ZIP`: 5 digits or
//!   `5-4`; `REP`: the REP of record's company name in this gateway (its users then read the
//!   meter's usage), at most [`MAX_REP`] characters, or blank when the meter has none.
//!
//! A bad row is reported with its line and field and skipped; the others are kept.

use std::io::Read;

use hanrig_gateway::esiid::Esiid;

use crate::lse::RowError;

/// The header row's fields.
pub const HEADER: [&str; 6] = ["ESIID", "METER_NUMBER", "ADDRESS", "CITY", "ZIP", "REP"];
/// The longest address, characters.
pub const MAX_ADDRESS: usize = 100;
/// The longest city, characters.
pub const MAX_CITY: usize = 50;
/// The longest REP name, characters.
pub const MAX_REP: usize = 100;
/// The longest row read, bytes.
pub const MAX_ROW: usize = 1024;

/// One meter's premise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Premise {
    /// Its line, from 1.
    pub line: usize,
    /// The meter.
    pub esiid: Esiid,
    /// The meter's number.
    pub meter_number: String,
    /// The service address.
    pub address: String,
    /// Its city.
    pub city: String,
    /// Its ZIP code.
    pub zip: String,
    /// The REP of record ('' for none).
    pub rep: String,
}

/// Bytes without a line end after which reading stops: a row is at most [`MAX_ROW`], and a
/// quoted field may hold a line end, so this leaves room without reading a runaway line whole.
const MAX_RUN: usize = 64 * MAX_ROW;

/// `input`, failing once [`MAX_RUN`] bytes go by without a line end.
struct Bounded<R> {
    input: R,
    run: usize,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        for &b in &buf[..n] {
            self.run = if b == b'\n' { 0 } else { self.run + 1 };
            if self.run > MAX_RUN {
                return Err(std::io::Error::other(format!(
                    "a line runs past {MAX_RUN} bytes: not a premise file"
                )));
            }
        }
        Ok(n)
    }
}

/// Reads a premise file: each good row, and each bad one's error. A file whose header is not
/// [`HEADER`] is refused as a whole (one error on line 1); a line that runs on past 64 KiB
/// ends the reading with an error.
pub fn read<R: Read>(input: R) -> Vec<Result<Premise, RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Bounded { input, run: 0 });
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first = true;
    loop {
        let line = reader.position().line() as usize;
        let err = |field: &'static str, message: String| RowError {
            line,
            field,
            message,
        };
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // An unreadable row (not UTF-8, bad quoting): reported, and the file read on.
                out.push(Err(err("row", e.to_string())));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        }
        let line = record.position().map_or(line, |p| p.line() as usize);
        if first {
            first = false;
            let header: Vec<&str> = record.iter().map(str::trim).collect();
            if header != HEADER {
                out.push(Err(RowError {
                    line,
                    field: "header",
                    message: format!(
                        "the header is {}, not {header:?}: nothing read",
                        HEADER.join(",")
                    ),
                }));
                break;
            }
            continue;
        }
        out.push(row(&record, line));
    }
    out
}

fn row(record: &csv::StringRecord, line: usize) -> Result<Premise, RowError> {
    let err = |field: &'static str, message: String| RowError {
        line,
        field,
        message,
    };
    if record.as_slice().len() > MAX_ROW {
        return Err(err("row", format!("longer than {MAX_ROW} bytes")));
    }
    if record.len() != HEADER.len() {
        return Err(err(
            "row",
            format!("{} fields, not {}", record.len(), HEADER.len()),
        ));
    }
    let f = |n: usize| record.get(n).unwrap_or_default().trim();
    let esiid: Esiid = f(0).parse().map_err(|e| err("ESIID", format!("{e}")))?;
    let text = |n: usize, field: &'static str, max: usize, blank_ok: bool| {
        let v = f(n);
        if v.is_empty() && !blank_ok {
            return Err(err(field, "blank".into()));
        }
        if v.chars().count() > max {
            return Err(err(field, format!("more than {max} characters")));
        }
        if v.chars().any(char::is_control) {
            return Err(err(field, "holds a control character".into()));
        }
        Ok(v.to_string())
    };
    let meter_number = text(1, "METER_NUMBER", 32, false)?;
    if !meter_number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(err(
            "METER_NUMBER",
            format!("{meter_number:?}: letters and digits only"),
        ));
    }
    let zip = f(4);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let zip_ok = match zip.split_once('-') {
        None => digits(zip, 5),
        Some((a, b)) => digits(a, 5) && digits(b, 4),
    };
    if !zip_ok {
        return Err(err("ZIP", format!("{zip:?}: 5 digits, or 5-4")));
    }
    Ok(Premise {
        line,
        esiid,
        meter_number,
        address: text(2, "ADDRESS", MAX_ADDRESS, false)?,
        city: text(3, "CITY", MAX_CITY, false)?,
        zip: zip.to_string(),
        rep: text(5, "REP", MAX_REP, true)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_are_read_and_each_bad_one_named_by_line_and_field() {
        let text = "ESIID,METER_NUMBER,ADDRESS,CITY,ZIP,REP\n\
                    10443720000000001,123456789LG,\"1 Main St, Apt 2\",Dallas,75201,bright-rep\n\
                    10443720000000002,9876,2 Elm St,Dallas,75201-1234,\n\
                    1044372,1,3 Oak St,Dallas,75201,\n\
                    10443720000000004,12-34,4 Oak St,Dallas,75201,\n\
                    10443720000000005,1234,5 Oak St,Dallas,7520,\n\
                    10443720000000006,1234,,Dallas,75201,\n\
                    10443720000000007,1234,7 Oak St,Dallas\n";
        let rows = read(text.as_bytes());
        assert_eq!(rows.len(), 7, "{rows:?}");
        let Ok(first) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!(
            (first.line, first.address.as_str(), first.rep.as_str()),
            (2, "1 Main St, Apt 2", "bright-rep")
        );
        assert!(matches!(&rows[1], Ok(p) if p.rep.is_empty() && p.zip == "75201-1234"));
        let errors: Vec<(usize, &str)> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.line, e.field))
            .collect();
        assert_eq!(
            errors,
            [
                (4, "ESIID"),
                (5, "METER_NUMBER"),
                (6, "ZIP"),
                (7, "ADDRESS"),
                (8, "row")
            ]
        );
    }

    #[test]
    fn a_runaway_line_ends_the_reading() {
        let mut text = String::from("ESIID,METER_NUMBER,ADDRESS,CITY,ZIP,REP\n");
        text.push_str("10443720000000001,1,1 Main St,Dallas,75201,\n");
        text.push_str(&"x".repeat(100_000));
        let rows = read(text.as_bytes());
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(
            matches!(&rows[1], Err(e) if e.message.contains("runs past")),
            "{rows:?}"
        );
    }

    #[test]
    fn another_header_refuses_the_file() {
        let rows = read("ESIID,METER,ADDRESS\n10443720000000001,1,x\n".as_bytes());
        assert_eq!(rows.len(), 1);
        assert!(matches!(&rows[0], Err(e) if e.line == 1 && e.field == "header"));
    }
}
