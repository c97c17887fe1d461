//! Green Button feeds validate against the ESPI and Atom schemas (xmllint), over DST days,
//! estimated values and both channels.

use std::path::Path;

use hanrig_usage::day::Day;
use hanrig_usage::espi::{Meter, feed};
use hanrig_usage::{Channel, Interval, Quality};

fn days(from: &str, n: i32) -> Vec<Interval> {
    let first = Day::parse_iso(from).expect("date");
    let mut out = Vec::new();
    for d in 0..n {
        let day = first.plus_days(d);
        for (k, start) in day.interval_starts().enumerate() {
            for channel in Channel::ALL {
                out.push(Interval {
                    start,
                    channel,
                    wh: 100 + k as i64,
                    quality: if k == 5 {
                        Quality::Estimated
                    } else {
                        Quality::Actual
                    },
                });
            }
        }
    }
    out
}

#[test]
fn a_feed_over_both_dst_days_validates_against_the_green_button_schemas() {
    let mut intervals = days("2026-03-07", 3);
    intervals.extend(days("2026-10-31", 3));
    let xml = feed(
        &Meter {
            esiid: "10443720000000001",
            title: "1 Main St & Co <Austin>",
        },
        &intervals,
        1_780_000_000,
    );
    assert_eq!(xml.matches("<IntervalBlock ").count(), 12);
    assert_eq!(xml.matches("<IntervalReading>").count(), intervals.len());
    assert!(
        xml.contains("<duration>82800</duration>"),
        "a 23-hour spring day"
    );
    assert!(
        xml.contains("<duration>90000</duration>"),
        "a 25-hour fall day"
    );
    assert!(xml.contains("1 Main St &amp; Co &lt;Austin&gt;"));
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let file = std::env::temp_dir().join(format!("hanrig-espi-{}.xml", std::process::id()));
    std::fs::write(&file, &xml).expect("write");
    let out = std::process::Command::new("xmllint")
        .env("XML_CATALOG_FILES", schemas.join("catalog.xml"))
        .args(["--nonet", "--noout", "--schema"])
        .arg(schemas.join("greenbutton.xsd"))
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    let Ok(out) = out else {
        if std::env::var_os("HANRIG_REQUIRE_XMLLINT").is_some() {
            panic!(
                "xmllint is required (HANRIG_REQUIRE_XMLLINT is set): apt-get install libxml2-utils"
            );
        }
        println!("SKIPPED: xmllint is not installed (Debian: apt-get install libxml2-utils)");
        return;
    };
    assert!(
        out.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
