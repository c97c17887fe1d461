//! The drop directory `gateway serve` watches: each TDSP's files ingested and moved to done/
//! (with the refused rows beside them), files that cannot be taken moved to failed/ with the
//! reason, and another TDSP's meters refused by the directory a file was dropped in.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_server::usage::DropDirectory;
use hanrig_gateway_store::Store;
use hanrig_usage::day::Day;

fn day_file(esiid: &str, date: &str, bad_row: Option<usize>) -> String {
    let day = Day::parse_iso(date).unwrap();
    let compact = |d: Day| d.date().strftime("%Y%m%d000000").to_string();
    let mut text = format!(
        "00000001,{esiid},4,{},{},Y,N\n00000002,900,KWH\n",
        compact(day),
        compact(day.next())
    );
    for n in 0..day.intervals() {
        if Some(n) == bad_row {
            text.push_str("00000003,-1,A\n");
        } else {
            text.push_str("00000003,0.250,A\n");
        }
    }
    text
}

#[tokio::test]
async fn dropped_files_are_ingested_and_filed() {
    let dir = std::env::temp_dir().join(format!("hanrig-usage-drop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open("sqlite::memory:").await.unwrap();
    let drop = DropDirectory {
        dir: dir.join("drop"),
        every: Duration::from_secs(1),
    };
    drop.prepare().unwrap();
    let oncor = dir.join("drop/oncor");
    let good = "007924772IntervalData20260602010000001.lse";
    let foreign = "007924772IntervalData20260602010000002.lse";
    std::fs::write(
        oncor.join(good),
        day_file("10443720000000001", "2026-06-01", Some(3)),
    )
    .unwrap();
    std::fs::write(
        oncor.join(foreign),
        day_file("1008901000000000000001", "2026-06-01", None),
    )
    .unwrap();
    std::fs::write(
        oncor.join("readings.lse"),
        day_file("10443720000000001", "2026-06-02", None),
    )
    .unwrap();
    let reports = drop.sweep(&store, &Routing::texas(), 1).await.unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].stored.stored, 95);
    assert_eq!(reports[1].stored.stored, 0);

    let done = oncor.join("done");
    assert!(done.join(good).exists() && !oncor.join(good).exists());
    let errors = std::fs::read_to_string(done.join(format!("{good}.errors.txt"))).unwrap();
    assert!(
        errors.contains("line 6, value:") && errors.contains("negative"),
        "{errors}"
    );
    let errors = std::fs::read_to_string(done.join(format!("{foreign}.errors.txt"))).unwrap();
    assert!(
        errors.contains("line 1, ESI ID:") && errors.contains("centerpoint's meter"),
        "{errors}"
    );
    let reason = std::fs::read_to_string(oncor.join("failed/readings.lse.reason.txt")).unwrap();
    assert!(reason.contains("IntervalData"), "{reason}");

    let d = Day::parse_iso("2026-06-01").unwrap();
    let m = "10443720000000001".parse().unwrap();
    assert_eq!(
        store.intervals(&m, d.start(), d.end()).await.unwrap().len(),
        95
    );
    assert!(
        store
            .usage_meter(&"1008901000000000000001".parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let files = store.usage_files().await.unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f.tdsp == Tdsp::Oncor));
    // Nothing waits any more: a second sweep does nothing.
    assert!(
        drop.sweep(&store, &Routing::texas(), 2)
            .await
            .unwrap()
            .is_empty()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn register_reads_are_stored_per_meter_and_another_tdsps_refused_by_line() {
    let dir = std::env::temp_dir().join(format!("hanrig-usage-reads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open("sqlite::memory:").await.unwrap();
    let drop = DropDirectory {
        dir: dir.join("drop"),
        every: Duration::from_secs(1),
    };
    drop.prepare().unwrap();
    let (a, b, cnp) = (
        "10443720000000001",
        "10443720000000002",
        "1008901000000000000001",
    );
    let mut text = String::new();
    for (line, esiid) in [(1, a), (2, a), (3, cnp), (4, b), (5, b), (6, b)] {
        text.push_str(&format!(
            "00000010,{esiid},202606{line:02},{}.000,{}.000,A\n",
            1000 + line,
            1010 + line
        ));
    }
    text.push_str(&format!("00000020,{a},20260514,20260613,310.500,A\n"));
    text.push_str(&day_file(b, "2026-06-01", None));
    text.push_str(&format!("00000010,{b},20260602,1.000,0.500,A\n"));
    let name = "007924772IntervalData20260603010000001.lse";
    std::fs::write(dir.join("drop/oncor").join(name), text).unwrap();
    let reports = drop.sweep(&store, &Routing::texas(), 1).await.unwrap();
    let [report] = reports.as_slice() else {
        panic!("{reports:?}")
    };
    // a's two daily reads and its billing read; b's three; the CenterPoint meter's read and
    // b's read with a register that ran backwards refused.
    assert_eq!(report.reads.stored, 6, "{report:?}");
    assert_eq!(report.stored.stored, 96);
    let errors: Vec<String> = report.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("line 3, ESI ID:") && errors[0].contains("centerpoint's meter"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("line 106, end reading:"),
        "{errors:?}"
    );
    let june = |d: &str| Day::parse_iso(d).unwrap();
    let reads = store
        .daily_reads(&b.parse().unwrap(), june("2026-06-01"), june("2026-06-30"))
        .await
        .unwrap();
    let days: Vec<String> = reads.iter().map(|(r, _)| r.day.to_string()).collect();
    assert_eq!(days, ["2026-06-04", "2026-06-05", "2026-06-06"]);
    assert_eq!(reads[0].0.wh(), 10_000);
    let billing = store
        .billing_reads(&a.parse().unwrap(), june("2026-06-01"), june("2026-06-01"))
        .await
        .unwrap();
    assert_eq!(billing.len(), 1);
    assert_eq!(billing[0].0.wh, 310_500);
    let _ = std::fs::remove_dir_all(&dir);
}
