//! The interval-file reader: DST days, per-row errors that keep the good rows, refused headers,
//! bounded lines, register reads between blocks, and the writer's files read back.

use hanrig_usage::day::Day;
use hanrig_usage::lse::{
    Block, Reader, Record, RowError, parse_file_name, write_billing, write_block, write_daily,
};
use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};

const ESIID: &str = "10443720000000001";

fn records(text: &str) -> Vec<Result<Record, Vec<RowError>>> {
    Reader::new(text.as_bytes()).collect()
}

/// The file's blocks (a file of intervals only).
fn read(text: &str) -> Vec<Result<Block, Vec<RowError>>> {
    records(text)
        .into_iter()
        .map(|r| match r {
            Ok(Record::Intervals(b)) => Ok(b),
            Ok(other) => panic!("not a block: {other:?}"),
            Err(e) => Err(e),
        })
        .collect()
}

fn day_file(date: &str, rows: usize) -> String {
    let day = Day::parse_iso(date).expect("date");
    let next = day.next();
    let compact = |d: Day| d.date().strftime("%Y%m%d000000").to_string();
    let mut text = format!(
        "00000001,{ESIID},4,{},{},Y,N\r\n00000002,900,KWH\r\n",
        compact(day),
        compact(next)
    );
    for n in 0..rows {
        text.push_str(&format!("00000003,0.{:03},A\r\n", n + 1));
    }
    text
}

#[test]
fn a_day_has_92_96_or_100_rows_and_each_lands_on_its_own_utc_interval() {
    for (date, n) in [("2026-03-08", 92), ("2026-06-01", 96), ("2026-11-01", 100)] {
        let blocks = read(&day_file(date, n));
        let [Ok(block)] = blocks.as_slice() else {
            panic!("{date}: {blocks:?}")
        };
        assert!(block.errors.is_empty(), "{date}: {:?}", block.errors);
        let day = Day::parse_iso(date).expect("date");
        let starts: Vec<i64> = block.intervals.iter().map(|i| i.start).collect();
        assert_eq!(starts, day.interval_starts().collect::<Vec<_>>(), "{date}");
        assert_eq!(block.intervals[0].wh, 1);
        assert_eq!(block.channel, Channel::Consumption);
    }
}

#[test]
fn a_bad_row_is_named_by_line_and_field_and_the_others_are_kept() {
    let mut text = day_file("2026-06-01", 96);
    text = text.replacen("00000003,0.005,A", "00000003,0.0055,A", 1);
    text = text.replacen("00000003,0.007,A", "00000003,0.007,X", 1);
    text = text.replacen("00000003,0.009,A", "00000003,,", 1);
    let blocks = read(&text);
    let [Ok(block)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    let errors: Vec<String> = block.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    // Header rows are lines 1–2, so interval n is on line n + 2.
    assert!(errors[0].starts_with("line 7, value:"), "{errors:?}");
    assert!(errors[1].starts_with("line 9, status:"), "{errors:?}");
    // 96 rows, two refused and one blank: 93 intervals, each still in its own place.
    assert_eq!(block.intervals.len(), 93);
    let day = Day::parse_iso("2026-06-01").expect("date");
    let tenth = block.intervals.iter().find(|i| i.wh == 10).expect("row 10");
    assert_eq!(tenth.start, day.start() + 9 * 900);
}

#[test]
fn a_refused_header_skips_its_block_and_the_next_block_is_read() {
    let bad = day_file("2026-06-01", 96).replacen(",4,", ",7,", 1);
    let good = day_file("2026-06-02", 96);
    let blocks = read(&format!("{bad}{good}"));
    assert_eq!(blocks.len(), 2);
    let Err(errors) = &blocks[0] else {
        panic!("{:?}", blocks[0])
    };
    assert_eq!(errors[0].line, 1);
    assert_eq!(errors[0].field, "channel");
    assert!(errors[0].message.contains("97 rows skipped"), "{errors:?}");
    let Ok(block) = &blocks[1] else {
        panic!("{:?}", blocks[1])
    };
    assert_eq!(block.line, 99);
    assert_eq!(block.intervals.len(), 96);
}

#[test]
fn headers_are_checked_field_by_field() {
    let cases = [
        ("00000001,123,4,20260601000000,20260602000000,Y,N", "ESI ID"),
        (
            "00000001,10443720000000001,4,20260601000000,20260602000000,N,N",
            "DST participation",
        ),
        (
            "00000001,10443720000000001,4,20260601000000,20260602000000,Y,Y",
            "invalid record flag",
        ),
        (
            "00000001,10443720000000001,4,20260601000700,20260602000000,Y,N",
            "start time",
        ),
        (
            "00000001,10443720000000001,4,20260308023000,20260309000000,Y,N",
            "start time",
        ),
        (
            "00000001,10443720000000001,4,20261101013000,20261102000000,Y,N",
            "start time",
        ),
        (
            "00000001,10443720000000001,4,20260601000000,20260801000000,Y,N",
            "stop time",
        ),
        (
            "00000001,10443720000000001,4,20260601000000,20260602000000,Y",
            "row",
        ),
    ];
    for (header, field) in cases {
        let blocks = read(&format!("{header}\n00000002,900,KWH\n"));
        let [Err(errors)] = blocks.as_slice() else {
            panic!("{header}: {blocks:?}")
        };
        assert_eq!(errors[0].field, field, "{header}: {errors:?}");
    }
    // Another interval length or unit: the block's rows cannot be read as 15-minute kWh.
    for (two, field) in [
        ("00000002,300,KWH", "interval length"),
        ("00000002,900,MWH", "unit"),
    ] {
        let text = day_file("2026-06-01", 96).replace("00000002,900,KWH", two);
        let blocks = read(&text);
        let [Err(errors)] = blocks.as_slice() else {
            panic!("{two}: {blocks:?}")
        };
        assert_eq!((errors[0].line, errors[0].field), (2, field), "{errors:?}");
        assert!(errors[0].message.contains("96 rows skipped"), "{errors:?}");
    }
    // A stop written as the last second of the day is the next midnight.
    let blocks = read(&day_file("2026-06-01", 96).replace("20260602000000", "20260601235959"));
    let [Ok(block)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    assert!(block.errors.is_empty(), "{:?}", block.errors);
}

#[test]
fn too_few_or_too_many_rows_are_reported() {
    let blocks = read(&day_file("2026-06-01", 90));
    let [Ok(block)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    assert_eq!(block.intervals.len(), 90);
    assert!(
        block.errors[0].message.contains("the last 6 are missing"),
        "{:?}",
        block.errors
    );
    let blocks = read(&day_file("2026-06-01", 97));
    let [Ok(block)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    assert_eq!(block.intervals.len(), 96);
    assert_eq!(block.errors.len(), 1);
    assert_eq!(block.errors[0].line, 99);
    assert!(block.errors[0].message.contains("past its stop time"));
}

#[test]
fn lines_are_bounded_and_rows_outside_blocks_refused() {
    let long = format!("00000003,{},A\n", "1".repeat(100_000));
    let text = format!("00000003,1,A\n{}{long}", day_file("2026-06-01", 96));
    let blocks = read(&text);
    assert_eq!(blocks.len(), 2, "{blocks:?}");
    let Err(outside) = &blocks[0] else {
        panic!("{:?}", blocks[0])
    };
    assert_eq!(outside[0].line, 1);
    assert_eq!(outside[0].field, "sort code");
    let Ok(block) = &blocks[1] else {
        panic!("{:?}", blocks[1])
    };
    assert_eq!(block.intervals.len(), 96);
    assert_eq!(block.errors.len(), 1, "{:?}", block.errors);
    assert!(block.errors[0].message.contains("longer than 512 bytes"));
    assert_eq!(block.errors[0].line, 100);
}

#[test]
fn what_the_writer_writes_reads_back() {
    let day = Day::parse_iso("2026-11-01").expect("date");
    let intervals: Vec<Interval> = day
        .interval_starts()
        .enumerate()
        .filter(|(n, _)| n % 7 != 3)
        .map(|(n, start)| Interval {
            start,
            channel: Channel::Generation,
            wh: (n as i64) * 37,
            quality: if n % 5 == 0 {
                Quality::Estimated
            } else {
                Quality::Actual
            },
        })
        .collect();
    let mut text = String::new();
    write_block(
        &mut text,
        ESIID,
        Channel::Generation,
        day.start(),
        day.end(),
        &intervals,
    );
    let blocks = read(&text);
    let [Ok(block)] = blocks.as_slice() else {
        panic!("{blocks:?}")
    };
    assert!(block.errors.is_empty(), "{:?}", block.errors);
    assert_eq!(block.intervals, intervals);
}

#[test]
fn file_names_follow_the_retail_market_guide() {
    let name = parse_file_name("007924772IntervalData20260602013000001.lse").expect("name");
    assert_eq!(name.duns, "007924772");
    assert_eq!(name.sent, 1_780_381_800); // 2026-06-02 01:30 CDT = 06:30Z
    assert!(parse_file_name("0079247720000IntervalData20260602013000001.lse.pgp").is_ok());
    for bad in [
        "IntervalData20260602013000001.lse",
        "007924772IntervalData2026060201300001.lse",
        "007924772IntervalData20260602013000001.csv",
        "007924772IntervalData20260602013000001.lse.csv",
        "007924772Usage20260602013000001.lse",
    ] {
        assert!(parse_file_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn register_reads_sit_between_blocks_and_read_back() {
    let day = Day::parse_iso("2026-11-01").expect("date");
    let daily = DailyRead {
        day,
        start_wh: 31_415_926,
        end_wh: 31_441_003,
        quality: Quality::Actual,
    };
    let billing = BillingRead {
        start: Day::parse_iso("2026-10-14").expect("date"),
        end: Day::parse_iso("2026-11-13").expect("date"),
        wh: 812_345,
        quality: Quality::Estimated,
    };
    let mut text = day_file("2026-11-01", 100);
    write_daily(&mut text, ESIID, &daily);
    write_billing(&mut text, ESIID, &billing);
    text.push_str(&day_file("2026-11-02", 96));
    assert!(text.contains("00000010,10443720000000001,20261101,31415.926,31441.003,A\n"));
    assert!(text.contains("00000020,10443720000000001,20261014,20261113,812.345,E\n"));
    let got = records(&text);
    assert_eq!(got.len(), 4, "{got:?}");
    let Ok(Record::Intervals(first)) = &got[0] else {
        panic!("{:?}", got[0])
    };
    // The read ends the block before it without an error.
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.intervals.len(), 100);
    let Ok(Record::Daily(d)) = &got[1] else {
        panic!("{:?}", got[1])
    };
    assert_eq!((d.line, d.esiid.as_str(), d.read), (103, ESIID, daily));
    assert_eq!(d.read.wh(), 25_077);
    let Ok(Record::Billing(b)) = &got[2] else {
        panic!("{:?}", got[2])
    };
    assert_eq!((b.line, b.read), (104, billing));
    assert!(matches!(&got[3], Ok(Record::Intervals(b)) if b.line == 105 && b.errors.is_empty()));
}

#[test]
fn a_bad_register_read_is_named_by_line_and_field_and_the_rest_is_kept() {
    let cases = [
        (
            "00000010,10443720000000001,20261101,10.000,9.999,A",
            "end reading",
        ),
        (
            "00000010,10443720000000001,20261131,10.000,11.000,A",
            "read date",
        ),
        (
            "00000010,10443720000000001,20261101,10.0001,11.000,A",
            "start reading",
        ),
        (
            "00000010,10443720000000001,20261101,10.000,11.000,X",
            "status",
        ),
        ("00000010,1044372,20261101,10.000,11.000,A", "ESI ID"),
        ("00000010,10443720000000001,20261101,10.000,A", "row"),
        (
            "00000020,10443720000000001,20261101,20261101,1.000,A",
            "end date",
        ),
        (
            "00000020,10443720000000001,20261101,20270115,1.000,A",
            "end date",
        ),
        (
            "00000020,10443720000000001,20261101,20261201,-1.000,A",
            "kWh",
        ),
    ];
    for (row, field) in cases {
        let text = format!("{row}\n{}", day_file("2026-06-01", 96));
        let got = records(&text);
        assert_eq!(got.len(), 2, "{row}: {got:?}");
        let Err(errors) = &got[0] else {
            panic!("{row}: {:?}", got[0])
        };
        assert_eq!(
            (errors[0].line, errors[0].field),
            (1, field),
            "{row}: {errors:?}"
        );
        assert!(
            matches!(&got[1], Ok(Record::Intervals(b)) if b.intervals.len() == 96),
            "{row}"
        );
    }
}
