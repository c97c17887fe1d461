//! On-demand reads in the repository, on SQLite and PostgreSQL: the limits per meter (an hour,
//! a Texas day) and per TDSP, held under concurrent requests; reads sent, answered once,
//! expired.

#![allow(clippy::unwrap_used)]

mod common;
use common::stores;

use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{MeterRecord, Store, StoreError};
use hanrig_usage::odr::{ReadLimits, ReadRefused, ReadState};

const METER: &str = "10443720001234567";
const OTHER: &str = "10443720001234568";
/// 2026-07-01 09:00 CDT.
const T0: i64 = 1_782_914_400;

fn esiid(s: &str) -> Esiid {
    s.parse().unwrap()
}

async fn with_meters(store: &Store) {
    for e in [METER, OTHER] {
        store
            .put_meter(&MeterRecord {
                esiid: esiid(e),
                tdsp: Tdsp::Oncor,
                meter_number: "123456789LG".into(),
                address: "1 Main St".into(),
                city: "Dallas".into(),
                zip: "75201".into(),
                rep: String::new(),
                updated_at: T0,
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn reads_are_limited_per_meter_by_the_hour_and_the_texas_day_and_per_tdsp() {
    for store in stores().await {
        with_meters(&store).await;
        let limits = ReadLimits::SMT;
        let ask = |at: i64| {
            let store = store.clone();
            async move {
                store
                    .request_read(&esiid(METER), "ann", &limits, at)
                    .await
                    .unwrap()
            }
        };
        let first = ask(T0).await.unwrap();
        assert_eq!(
            (first.state.clone(), first.tdsp),
            (ReadState::Pending, Tdsp::Oncor)
        );
        ask(T0 + 60).await.unwrap();
        assert_eq!(ask(T0 + 120).await.unwrap_err(), ReadRefused::Hour);
        // The last 60 minutes: the first read has left them, the second not yet.
        ask(T0 + 3601).await.unwrap();
        assert_eq!(ask(T0 + 3602).await.unwrap_err(), ReadRefused::Hour);
        // Refused reads are not stored: the rest of the day's 24 go, two an hour.
        for n in 1..=21 {
            ask(T0 + 3661 + 1800 * n).await.unwrap();
        }
        let late = T0 + 3661 + 1800 * 22;
        assert_eq!(ask(late).await.unwrap_err(), ReadRefused::Day);

        // Another meter of the same TDSP is counted apart, until the TDSP's day is full.
        let tight = ReadLimits {
            per_tdsp_day: 25,
            ..limits
        };
        let other = |at: i64| {
            let store = store.clone();
            async move {
                store
                    .request_read(&esiid(OTHER), "bob", &tight, at)
                    .await
                    .unwrap()
            }
        };
        other(late).await.unwrap();
        assert_eq!(other(late + 1).await.unwrap_err(), ReadRefused::TdspDay);
        // 2026-07-02 00:00 CDT is 05:00 UTC: a new Texas day for both.
        ask(1_782_968_400).await.unwrap();
        other(1_782_968_400).await.unwrap();
        assert!(matches!(
            store
                .request_read(&esiid("10443720009999999"), "ann", &limits, T0)
                .await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn concurrent_requests_never_take_more_reads_than_the_limit() {
    for store in stores().await {
        with_meters(&store).await;
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .request_read(&esiid(METER), "ann", &ReadLimits::SMT, T0)
                        .await
                        .unwrap()
                        .is_ok()
                })
            })
            .collect();
        let mut taken = 0;
        for t in tasks {
            taken += usize::from(t.await.unwrap());
        }
        assert_eq!(taken, 2, "{:?}", store.backend());
    }
}

#[tokio::test]
async fn a_read_is_sent_once_answered_once_and_expires_unanswered() {
    for store in stores().await {
        with_meters(&store).await;
        let read = store
            .request_read(&esiid(METER), "ann", &ReadLimits::SMT, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.pending_reads(Tdsp::Oncor, false).await.unwrap(),
            std::slice::from_ref(&read)
        );
        assert!(
            store
                .pending_reads(Tdsp::Centerpoint, false)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .mark_reads_sent(&[read.id], "r1-oncor-x", T0 + 1)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            store
                .mark_reads_sent(&[read.id], "r1-oncor-y", T0 + 2)
                .await
                .unwrap(),
            0
        );
        let sent = store.pending_reads(Tdsp::Oncor, true).await.unwrap();
        assert_eq!(
            (sent[0].request_id.as_str(), sent[0].sent_at),
            ("r1-oncor-x", Some(T0 + 1))
        );

        let done = ReadState::Completed {
            register_wh: 9_751_212,
            read_at: T0 + 70,
        };
        assert!(store.finish_read(read.id, &done, T0 + 77).await.unwrap());
        let failed = ReadState::Failed {
            reason: "late".into(),
        };
        assert!(!store.finish_read(read.id, &failed, T0 + 78).await.unwrap());
        assert_eq!(
            store
                .latest_read(&esiid(METER))
                .await
                .unwrap()
                .unwrap()
                .state,
            done
        );

        // The next read sees this one as the previous completed read; unanswered, it expires.
        let next = store
            .request_read(&esiid(METER), "ann", &ReadLimits::SMT, T0 + 100)
            .await
            .unwrap()
            .unwrap();
        let previous = store
            .previous_completed_read(&esiid(METER), next.id)
            .await
            .unwrap();
        assert_eq!(previous.map(|p| p.id), Some(read.id));
        store
            .mark_reads_sent(&[next.id], "r2-oncor-x", T0 + 101)
            .await
            .unwrap();
        assert_eq!(
            store
                .expire_reads(Tdsp::Oncor, T0 + 101, T0 + 700)
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .expire_reads(Tdsp::Oncor, T0 + 102, T0 + 700)
                .await
                .unwrap(),
            1
        );
        assert!(matches!(
            store.read(next.id).await.unwrap().state,
            ReadState::Failed { ref reason } if reason.contains("expired")
        ));
        assert!(
            store
                .finish_read(next.id, &ReadState::Pending, T0)
                .await
                .is_err()
        );
    }
}
