//! `hanrig usage`, as a TDSP's operator and a customer's export use it: interval files ingested
//! with each bad row named and the good ones kept, another TDSP's meter refused, a re-ingest
//! that changes nothing, a corrected file that replaces estimates, and exports over DST days
//! (Green Button checked by xmllint against the ESPI schemas, and CSV).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use hanrig_usage::day::Day;
use hanrig_usage::lse::write_block;
use hanrig_usage::{Channel, Interval, Quality};

const ONCOR: &str = "10443720000000001";
const CNP: &str = "1008901000000000000001";

fn hanrig(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn days(esiid: &str, first: &str, n: i32, quality: Quality, wh: i64) -> String {
    let mut text = String::new();
    let first = Day::parse_iso(first).unwrap();
    for d in 0..n {
        let day = first.plus_days(d);
        let intervals: Vec<Interval> = day
            .interval_starts()
            .enumerate()
            .map(|(k, start)| Interval {
                start,
                channel: Channel::Consumption,
                wh: wh + k as i64,
                quality,
            })
            .collect();
        write_block(
            &mut text,
            esiid,
            Channel::Consumption,
            day.start(),
            day.end(),
            &intervals,
        );
    }
    text
}

#[test]
fn interval_files_are_ingested_row_by_row_and_exported_over_dst_days() {
    let dir = std::env::temp_dir().join(format!("hanrig-usage-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.join("gw.db").display());

    // Oncor's file: its meter over both 2026 DST days (estimated), one bad value, and a block
    // for CenterPoint's meter that Oncor may not write.
    let mut text = days(ONCOR, "2026-03-07", 3, Quality::Estimated, 100);
    text.push_str(&days(ONCOR, "2026-10-31", 3, Quality::Estimated, 100));
    text = text.replacen("00000003,0.105,E", "00000003,0.1055,E", 1);
    text.push_str(&days(CNP, "2026-03-07", 1, Quality::Actual, 1));
    let first = dir.join("007924772IntervalData20261102010000001.lse");
    std::fs::write(&first, &text).unwrap();
    let path = first.to_str().unwrap();
    let (ok, out, err) = hanrig(&[
        "usage",
        "ingest",
        "--tdsp",
        "oncor",
        "--database-url",
        &db,
        path,
    ]);
    assert!(!ok, "refused rows make the exit code 1: {out}{err}");
    // The sixth row of the first block is line 8; CenterPoint's block starts after 6 blocks.
    assert!(
        err.contains("line 8, value:") && err.contains("more than three decimals"),
        "{err}"
    );
    let cnp_line = text.lines().position(|l| l.contains(CNP)).unwrap() + 1;
    assert!(
        err.contains(&format!("line {cnp_line}, ESI ID:")) && err.contains("centerpoint's meter"),
        "{err}"
    );
    let all = 96 + 92 + 96 + 96 + 100 + 96;
    assert!(
        out.contains(&format!("{} intervals stored", all - 1)) && out.contains("2 rows refused"),
        "{out}"
    );
    assert!(err.contains("every other row is stored"), "{err}");

    // The same file again changes nothing.
    let (_, out, _) = hanrig(&[
        "usage",
        "ingest",
        "--tdsp",
        "oncor",
        "--database-url",
        &db,
        path,
    ]);
    assert!(
        out.contains(&format!("0 intervals stored, {} unchanged", all - 1)),
        "{out}"
    );

    // The next day's file has the actual values of the fall-back day: they replace the
    // estimates; a file not named by the convention needs --sent.
    let actual = days(ONCOR, "2026-11-01", 1, Quality::Actual, 500);
    let second = dir.join("corrections.lse");
    std::fs::write(&second, actual).unwrap();
    let second = second.to_str().unwrap();
    let (ok, _, err) = hanrig(&[
        "usage",
        "ingest",
        "--tdsp",
        "oncor",
        "--database-url",
        &db,
        second,
    ]);
    assert!(!ok && err.contains("IntervalData"), "{err}");
    let (ok, out, err) = hanrig(&[
        "usage",
        "ingest",
        "--tdsp",
        "oncor",
        "--sent",
        "20261103010000",
        "--database-url",
        &db,
        second,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("100 intervals stored"), "{out}");

    // Exports: Green Button over the fall-back week, and CSV of the fall-back day.
    let feed = dir.join("feed.xml");
    let (ok, out, err) = hanrig(&[
        "usage",
        "export",
        "--esiid",
        ONCOR,
        "--from",
        "2026-10-31",
        "--to",
        "2026-11-02",
        "--format",
        "espi",
        "--out",
        feed.to_str().unwrap(),
        "--database-url",
        &db,
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("292 intervals"), "{out}");
    let xml = std::fs::read_to_string(&feed).unwrap();
    assert_eq!(xml.matches("<IntervalReading>").count(), 292);
    // The fall-back day's actual values carry no quality; the days around it are estimated.
    assert_eq!(xml.matches("<quality>8</quality>").count(), 96 + 96);
    xmllint(&feed);

    let (ok, csv, err) = hanrig(&[
        "usage",
        "export",
        "--esiid",
        ONCOR,
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-01",
        "--format",
        "csv",
        "--database-url",
        &db,
    ]);
    assert!(ok, "{err}");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 101, "a header and 100 intervals");
    assert_eq!(
        rows[0],
        "ESIID,channel,start_utc,start_local,utc_offset,kwh,quality"
    );
    // The repeated 01:00 hour: two rows at 01:00 local, an hour apart in UTC.
    let one_am: Vec<&&str> = rows
        .iter()
        .filter(|r| r.contains(",2026-11-01 01:00,"))
        .collect();
    assert_eq!(one_am.len(), 2, "{one_am:?}");
    assert!(one_am[0].contains("2026-11-01T06:00:00Z") && one_am[0].contains(",-05:00,"));
    assert!(one_am[1].contains("2026-11-01T07:00:00Z") && one_am[1].contains(",-06:00,"));
    assert!(rows[1].ends_with(",0.500,actual"), "{}", rows[1]);

    // Bounds: 13 months at most, days in order, a known meter.
    let (ok, _, err) = hanrig(&[
        "usage",
        "export",
        "--esiid",
        ONCOR,
        "--from",
        "2025-01-01",
        "--to",
        "2026-02-01",
        "--database-url",
        &db,
    ]);
    assert!(!ok && err.contains("at most 13 months"), "{err}");
    let (ok, _, err) = hanrig(&[
        "usage",
        "export",
        "--esiid",
        ONCOR,
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-01",
        "--database-url",
        &db,
    ]);
    assert!(!ok && err.contains("before it starts"), "{err}");
    let (ok, _, err) = hanrig(&[
        "usage",
        "export",
        "--esiid",
        "10443720000000002",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-01",
        "--database-url",
        &db,
    ]);
    assert!(!ok && err.contains("no meter"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn premise_files_set_each_meters_address_and_rep_and_name_each_bad_row() {
    let dir = std::env::temp_dir().join(format!("hanrig-premises-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.join("p.db").display());
    let file = dir.join("premises.csv");
    std::fs::write(
        &file,
        "ESIID,METER_NUMBER,ADDRESS,CITY,ZIP,REP\n\
         10443720000000001,123456789LG,\"1 Main St, Apt 2\",Dallas,75201,bright-rep\n\
         10443720000000002,9876,2 Elm St,Dallas,7520,\n\
         1008901000000000000001,55,3 Bay St,Houston,77002,\n",
    )
    .unwrap();
    let (ok, out, err) = hanrig(&[
        "usage",
        "premises",
        "--tdsp",
        "oncor",
        "--database-url",
        &db,
        file.to_str().unwrap(),
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("1 meters' premises stored, 2 rows refused"),
        "{out}"
    );
    assert!(err.contains("line 3, ZIP:"), "{err}");
    assert!(
        err.contains("line 4, ESIID:") && err.contains("centerpoint's meter"),
        "{err}"
    );
    let (ok, out, err) = hanrig(&["usage", "meters", "--database-url", &db]);
    assert!(ok, "{err}");
    assert!(
        out.contains(
            "10443720000000001 oncor 123456789LG 1 Main St, Apt 2, Dallas 75201 (REP bright-rep)"
        ),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn xmllint(feed: &Path) {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gateway/usage/schemas");
    let out = Command::new("xmllint")
        .env("XML_CATALOG_FILES", schemas.join("catalog.xml"))
        .args(["--nonet", "--noout", "--schema"])
        .arg(schemas.join("greenbutton.xsd"))
        .arg(feed)
        .output();
    let Ok(out) = out else {
        assert!(
            std::env::var_os("HANRIG_REQUIRE_XMLLINT").is_none(),
            "xmllint is required (HANRIG_REQUIRE_XMLLINT is set)"
        );
        println!("SKIPPED: xmllint is not installed (Debian: apt-get install libxml2-utils)");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
