//! The usage repository on SQLite and PostgreSQL: idempotent stores, estimates replaced by later
//! files with their history kept, one TDSP's files never writing another's meters, who sees
//! which meter, and retention.

#![allow(clippy::unwrap_used)]

mod common;
use common::stores;

use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{IntervalBlock, MeterRecord, Purged, StoreError, UsageScope};
use hanrig_usage::day::Day;
use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};

const ONCOR: &str = "10443720001234567";
const CNP: &str = "1008901000000000000001";

fn esiid(s: &str) -> Esiid {
    s.parse().unwrap()
}

fn day(date: &str, wh: i64, quality: Quality) -> Vec<Interval> {
    Day::parse_iso(date)
        .unwrap()
        .interval_starts()
        .map(|start| Interval {
            start,
            channel: Channel::Consumption,
            wh,
            quality,
        })
        .collect()
}

#[tokio::test]
async fn a_day_stored_twice_changes_nothing_the_second_time() {
    for store in stores().await {
        let fall = day("2026-11-01", 250, Quality::Actual);
        assert_eq!(fall.len(), 100);
        let first = store
            .store_intervals(Tdsp::Oncor, &esiid(ONCOR), &fall, 1000, 1000)
            .await
            .unwrap();
        assert_eq!((first.stored, first.unchanged), (100, 0));
        let again = store
            .store_intervals(Tdsp::Oncor, &esiid(ONCOR), &fall, 1000, 2000)
            .await
            .unwrap();
        assert_eq!((again.stored, again.unchanged), (0, 100));
        let d = Day::parse_iso("2026-11-01").unwrap();
        let back = store
            .intervals(&esiid(ONCOR), d.start(), d.end())
            .await
            .unwrap();
        assert_eq!(back, fall);
        // A meter first seen in a file belongs to the file's TDSP.
        let m = store.usage_meter(&esiid(ONCOR)).await.unwrap().unwrap();
        assert_eq!(m.tdsp, Tdsp::Oncor);
    }
}

#[tokio::test]
async fn later_files_replace_estimates_and_the_history_keeps_what_they_replaced() {
    for store in stores().await {
        let m = esiid(ONCOR);
        let estimated = day("2026-06-01", 300, Quality::Estimated);
        let start = estimated[0].start;
        store
            .store_intervals(Tdsp::Oncor, &m, &estimated, 100, 100)
            .await
            .unwrap();
        // The actual values, in a later file.
        let actual = day("2026-06-01", 280, Quality::Actual);
        let s = store
            .store_intervals(Tdsp::Oncor, &m, &actual, 200, 200)
            .await
            .unwrap();
        assert_eq!(s.stored, 96);
        // An older file arriving late changes nothing.
        let stale = day("2026-06-01", 999, Quality::Actual);
        let s = store
            .store_intervals(Tdsp::Oncor, &m, &stale, 150, 300)
            .await
            .unwrap();
        assert_eq!((s.stored, s.unchanged), (0, 96));
        // A newer estimate never replaces an actual value.
        let guess = day("2026-06-01", 111, Quality::Estimated);
        let s = store
            .store_intervals(Tdsp::Oncor, &m, &guess, 400, 400)
            .await
            .unwrap();
        assert_eq!((s.stored, s.unchanged), (0, 96));
        // A corrected actual value does.
        let corrected = day("2026-06-01", 281, Quality::Actual);
        let s = store
            .store_intervals(Tdsp::Oncor, &m, &corrected, 500, 500)
            .await
            .unwrap();
        assert_eq!(s.stored, 96);
        let now = store.intervals(&m, start, start + 900).await.unwrap();
        assert_eq!((now[0].wh, now[0].quality), (281, Quality::Actual));
        let history = store
            .interval_history(&m, Channel::Consumption, start)
            .await
            .unwrap();
        let seen: Vec<(i64, Quality, i64, i64)> = history
            .iter()
            .map(|r| (r.wh, r.quality, r.revised_at, r.replaced_by))
            .collect();
        assert_eq!(
            seen,
            vec![
                (300, Quality::Estimated, 100, 200),
                (280, Quality::Actual, 200, 500)
            ]
        );
    }
}

#[tokio::test]
async fn blocks_stored_together_refuse_another_tdsps_meter_and_take_the_later_of_two_values() {
    for store in stores().await {
        let (a, b, cnp) = (esiid(ONCOR), esiid("10443720001234568"), esiid(CNP));
        // The CenterPoint meter is known: a file of Oncor's cannot write it.
        store
            .store_intervals(
                Tdsp::Centerpoint,
                &cnp,
                &day("2026-06-01", 1, Quality::Actual),
                50,
                50,
            )
            .await
            .unwrap();
        let first = day("2026-06-01", 100, Quality::Actual);
        let again = day("2026-06-01", 120, Quality::Actual);
        let other = day("2026-06-02", 7, Quality::Estimated);
        let blocks = [
            IntervalBlock {
                esiid: &a,
                intervals: &first,
            },
            IntervalBlock {
                esiid: &cnp,
                intervals: &first,
            },
            IntervalBlock {
                esiid: &b,
                intervals: &other,
            },
            IntervalBlock {
                esiid: &a,
                intervals: &again[..10],
            },
        ];
        let done = store
            .store_interval_blocks(Tdsp::Oncor, &blocks, 100, 100)
            .await
            .unwrap();
        assert_eq!(done.refused.len(), 1, "{done:?}");
        assert_eq!(done.refused[0].0, 1);
        assert!(done.refused[0].1.contains("centerpoint"), "{done:?}");
        // 96 + 96 + 10 given for Oncor's meters; the ten given twice count once.
        assert_eq!(done.stored.stored + done.stored.unchanged, 96 + 96 + 10);
        assert_eq!(done.stored.stored, 96 + 96);
        let d = Day::parse_iso("2026-06-01").unwrap();
        let got = store.intervals(&a, d.start(), d.end()).await.unwrap();
        let values: Vec<i64> = got.iter().map(|i| i.wh).collect();
        assert_eq!(values[..10], [120; 10]);
        assert_eq!(values[10..], [100; 86]);
        let theirs = store.intervals(&cnp, d.start(), d.end()).await.unwrap();
        assert!(theirs.iter().all(|i| i.wh == 1));
        assert_eq!(
            store.usage_meter(&b).await.unwrap().unwrap().tdsp,
            Tdsp::Oncor
        );
        // Again: nothing changes.
        let done = store
            .store_interval_blocks(Tdsp::Oncor, &blocks, 100, 200)
            .await
            .unwrap();
        assert_eq!(done.stored.stored, 0);
    }
}

#[tokio::test]
async fn daily_and_billing_reads_are_replaced_like_intervals_and_found_by_their_days() {
    for store in stores().await {
        let m = esiid(ONCOR);
        let d = |s: &str| Day::parse_iso(s).unwrap();
        let daily = |date: &str, start_wh: i64, quality| DailyRead {
            day: d(date),
            start_wh,
            end_wh: start_wh + 25_000,
            quality,
        };
        let reads = [
            daily("2026-10-31", 1_000_000, Quality::Actual),
            daily("2026-11-01", 1_025_000, Quality::Estimated),
        ];
        let s = store
            .store_daily_reads(Tdsp::Oncor, &m, &reads, 100, 100)
            .await
            .unwrap();
        assert_eq!((s.stored, s.unchanged), (2, 0));
        let again = store
            .store_daily_reads(Tdsp::Oncor, &m, &reads, 100, 150)
            .await
            .unwrap();
        assert_eq!((again.stored, again.unchanged), (0, 2));
        // The estimate is replaced by a later actual read; an older file changes nothing, and
        // a later estimate never replaces an actual read.
        let actual = [daily("2026-11-01", 1_025_010, Quality::Actual)];
        let s = store
            .store_daily_reads(Tdsp::Oncor, &m, &actual, 200, 200)
            .await
            .unwrap();
        assert_eq!(s.stored, 1);
        for (revision, read) in [
            (150, daily("2026-11-01", 5, Quality::Actual)),
            (300, daily("2026-11-01", 7, Quality::Estimated)),
        ] {
            let s = store
                .store_daily_reads(Tdsp::Oncor, &m, &[read], revision, revision)
                .await
                .unwrap();
            assert_eq!(s.stored, 0, "{read:?}");
        }
        let back = store
            .daily_reads(&m, d("2026-11-01"), d("2026-11-30"))
            .await
            .unwrap();
        assert_eq!(back, vec![(actual[0], 200)]);
        assert_eq!(
            store
                .daily_reads(&m, d("2026-10-01"), d("2026-11-01"))
                .await
                .unwrap()
                .len(),
            2
        );

        let period = |start: &str, end: &str, wh| BillingRead {
            start: d(start),
            end: d(end),
            wh,
            quality: Quality::Actual,
        };
        let billing = [
            period("2026-09-14", "2026-10-14", 700_000),
            period("2026-10-14", "2026-11-13", 650_000),
        ];
        let s = store
            .store_billing_reads(Tdsp::Oncor, &m, &billing, 100, 100)
            .await
            .unwrap();
        assert_eq!(s.stored, 2);
        let fixed = period("2026-10-14", "2026-11-13", 651_000);
        store
            .store_billing_reads(Tdsp::Oncor, &m, &[fixed], 200, 200)
            .await
            .unwrap();
        // Periods overlapping the days asked for: October 14 ends the first period, so asking
        // from then on finds only the second.
        let found = store
            .billing_reads(&m, d("2026-10-14"), d("2026-12-31"))
            .await
            .unwrap();
        assert_eq!(found, vec![(fixed, 200)]);
        let found = store
            .billing_reads(&m, d("2026-10-13"), d("2026-10-13"))
            .await
            .unwrap();
        assert_eq!(found, vec![(billing[0], 100)]);
        // Another TDSP's file cannot write this meter's reads.
        let refused = store
            .store_daily_reads(Tdsp::Centerpoint, &m, &reads, 900, 900)
            .await;
        assert!(matches!(refused, Err(StoreError::Usage(_))), "{refused:?}");
    }
}

#[tokio::test]
async fn a_tdsp_never_writes_nor_sees_another_tdsps_meters() {
    for store in stores().await {
        store
            .store_intervals(
                Tdsp::Oncor,
                &esiid(ONCOR),
                &day("2026-06-01", 1, Quality::Actual),
                1,
                1,
            )
            .await
            .unwrap();
        store
            .store_intervals(
                Tdsp::Centerpoint,
                &esiid(CNP),
                &day("2026-06-01", 2, Quality::Actual),
                1,
                1,
            )
            .await
            .unwrap();
        let err = store
            .store_intervals(
                Tdsp::Centerpoint,
                &esiid(ONCOR),
                &day("2026-06-02", 9, Quality::Actual),
                2,
                2,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Usage(ref m) if m.contains("oncor")),
            "{err}"
        );
        let d = Day::parse_iso("2026-06-02").unwrap();
        assert!(
            store
                .intervals(&esiid(ONCOR), d.start(), d.end())
                .await
                .unwrap()
                .is_empty()
        );

        let seen = |list: Vec<MeterRecord>| -> Vec<String> {
            list.iter().map(|m| m.esiid.to_string()).collect()
        };
        assert_eq!(
            seen(
                store
                    .usage_meters(UsageScope::Tdsp(Tdsp::Oncor))
                    .await
                    .unwrap()
            ),
            [ONCOR]
        );
        assert_eq!(
            seen(
                store
                    .usage_meters(UsageScope::Tdsp(Tdsp::Centerpoint))
                    .await
                    .unwrap()
            ),
            [CNP]
        );
        assert_eq!(
            seen(store.usage_meters(UsageScope::All).await.unwrap()).len(),
            2
        );

        // A REP sees its customers only; no REP of record, no REP sees it.
        let mut m = store.usage_meter(&esiid(ONCOR)).await.unwrap().unwrap();
        m.rep = "Texas Power REP".into();
        m.meter_number = "123456789LG".into();
        store.put_meter(&m).await.unwrap();
        assert_eq!(
            seen(
                store
                    .usage_meters(UsageScope::Rep("Texas Power REP"))
                    .await
                    .unwrap()
            ),
            [ONCOR]
        );
        assert!(
            store
                .usage_meters(UsageScope::Rep("Other REP"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .usage_meters(UsageScope::Rep(""))
                .await
                .unwrap()
                .is_empty()
        );
        let mine = [esiid(CNP)];
        assert_eq!(
            seen(store.usage_meters(UsageScope::Meters(&mine)).await.unwrap()),
            [CNP]
        );
        // A meter's TDSP never changes.
        let mut moved = m.clone();
        moved.tdsp = Tdsp::Tnmp;
        assert!(matches!(
            store.put_meter(&moved).await,
            Err(StoreError::Exists(_))
        ));
    }
}

#[tokio::test]
async fn retention_archives_after_4_years_and_deletes_after_7() {
    for store in stores().await {
        let m = esiid(ONCOR);
        for date in ["2018-06-01", "2021-06-01", "2026-06-01"] {
            store
                .store_intervals(Tdsp::Oncor, &m, &day(date, 5, Quality::Estimated), 1, 1)
                .await
                .unwrap();
        }
        // Revise the oldest day, so it has history to be purged with it.
        store
            .store_intervals(
                Tdsp::Oncor,
                &m,
                &day("2018-06-01", 6, Quality::Actual),
                2,
                2,
            )
            .await
            .unwrap();
        let now = Day::parse_iso("2026-06-02").unwrap().start();
        let purged = store.purge_usage(now).await.unwrap();
        assert_eq!(
            purged,
            Purged {
                archived: 192,
                deleted: 96
            }
        );
        let all = store.intervals(&m, 0, now).await.unwrap();
        assert_eq!(all.len(), 96, "only 2026 stays online");
        let old = Day::parse_iso("2018-06-01").unwrap().start();
        assert!(
            store
                .interval_history(&m, Channel::Consumption, old)
                .await
                .unwrap()
                .is_empty()
        );
        // Purging again finds nothing more to do.
        assert_eq!(store.purge_usage(now).await.unwrap(), Purged::default());
    }
}
