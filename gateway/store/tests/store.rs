//! The repository on SQLite, and on PostgreSQL when `HANRIG_TEST_POSTGRES_URL` names one
//! (`.ci/run` sets it; elsewhere the PostgreSQL half says it is skipped).

#![allow(clippy::unwrap_used)]

mod common;
use common::stores;

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::device::{DeviceError, DeviceRequest, DeviceState, DeviceType, RemovalReason};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::message::{Address, TextMessage, cluster_of};
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_store::{NewMessage, Store, StoreError};
use hanrig_sep::ZclFrame;

const ONCOR: &str = "10443720001234567";
const IC: &str = "83FED3407A939723A5C639B26916D505C3B5";

fn request(eui: u64) -> DeviceRequest {
    DeviceRequest::new(
        ONCOR,
        &format!("{eui:016x}"),
        IC,
        DeviceType::InHomeDisplay,
        "kitchen display",
    )
    .unwrap()
}

#[tokio::test]
async fn devices_are_added_pending_and_move_through_their_states_with_a_history() {
    for store in stores().await {
        let what = format!("{:?}", store.backend());
        let meter: Esiid = ONCOR.parse().unwrap();
        let d = store
            .add_device(
                &request(0x0012_4B00_0000_0001),
                "in-home-display",
                Tdsp::Oncor,
                100,
            )
            .await
            .unwrap();
        assert_eq!(d.state, DeviceState::Pending, "{what}");
        assert_eq!(d.install_code.len(), 36, "{what}: the code with its CRC");
        store
            .set_device_state(d.id, &DeviceState::Provisioned, 130)
            .await
            .unwrap();
        let second = store
            .add_device(
                &request(0x0012_4B00_0000_0002),
                "in-home-display",
                Tdsp::Oncor,
                140,
            )
            .await
            .unwrap();
        let failed = DeviceState::Failed {
            reason: "the meter did not answer".into(),
        };
        store
            .set_device_state(second.id, &failed, 200)
            .await
            .unwrap();
        let removed = DeviceState::Removed {
            reason: RemovalReason::DeviceReplaced,
        };
        store.set_device_state(d.id, &removed, 300).await.unwrap();
        let devices = store.devices_of(&meter).await.unwrap();
        assert_eq!(
            devices.iter().map(|d| d.state.clone()).collect::<Vec<_>>(),
            [removed, failed],
            "{what}"
        );
        let history: Vec<(i64, String)> = store
            .device_history(&meter)
            .await
            .unwrap()
            .into_iter()
            .map(|h| (h.at, h.event))
            .collect();
        assert_eq!(
            history,
            [
                (100, "requested".to_string()),
                (130, "provisioned".to_string()),
                (140, "requested".to_string()),
                (200, "failed".to_string()),
                (300, "removed".to_string()),
            ],
            "{what}"
        );
    }
}

#[tokio::test]
async fn a_meter_takes_five_devices_and_a_refusal_is_kept_in_the_history() {
    for store in stores().await {
        let what = format!("{:?}", store.backend());
        for n in 1..=5 {
            store
                .add_device(
                    &request(0x0012_4B00_0000_0000 + n),
                    "thermostat",
                    Tdsp::Oncor,
                    10,
                )
                .await
                .unwrap();
        }
        let sixth = store
            .add_device(
                &request(0x0012_4B00_0000_0006),
                "thermostat",
                Tdsp::Oncor,
                20,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                sixth,
                StoreError::Device(DeviceError::MeterFull { count: 5, .. })
            ),
            "{what}: {sixth}"
        );
        let again = store
            .add_device(
                &request(0x0012_4B00_0000_0003),
                "thermostat",
                Tdsp::Oncor,
                30,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(again, StoreError::Device(DeviceError::Duplicate(_))),
            "{what}: {again}"
        );
        let history = store.device_history(&ONCOR.parse().unwrap()).await.unwrap();
        let refused: Vec<&str> = history
            .iter()
            .filter(|h| h.event == "refused")
            .map(|h| h.detail.as_str())
            .collect();
        assert_eq!(refused.len(), 2, "{what}");
        assert!(
            refused[0].contains("already has 5 devices"),
            "{what}: {refused:?}"
        );
        assert_eq!(
            store
                .devices_of(&ONCOR.parse().unwrap())
                .await
                .unwrap()
                .len(),
            5
        );
    }
}

#[tokio::test]
async fn ten_thousand_addresses_are_stored_with_their_message_and_reports_only_move_forward() {
    let routing = Routing::texas();
    let esiids: Vec<Esiid> = (0..10_000u64)
        .map(|i| {
            let prefix = ["1044372", "1008901", "1003278", "1020404", "1040051"][(i % 5) as usize];
            let width = if prefix == "1008901" { 15 } else { 10 };
            format!("{prefix}{i:0width$}").parse().unwrap()
        })
        .collect();
    let deliveries: Vec<(Address, Tdsp)> = esiids
        .iter()
        .map(|e| (Address::Esiid(e.clone()), routing.route(e).unwrap()))
        .collect();
    let text = TextMessage {
        text: "Conservation alert 3-7 pm".into(),
        confirmation_required: true,
        importance: 2,
        start: None,
        duration_minutes: Some(240),
    };
    let command = text.command(1).unwrap();
    let cluster = cluster_of(&command).unwrap();
    let mut frame = [0u8; 127];
    let len = ZclFrame::new(cluster, command, 1)
        .unwrap()
        .emit(&mut frame)
        .unwrap();
    for store in stores().await {
        let what = format!("{:?}", store.backend());
        let id = store
            .accept_message(
                &NewMessage {
                    company: "demo-rep",
                    kind: "text",
                    request: "{\"text\":\"Conservation alert 3-7 pm\"}",
                    cluster,
                    command: &frame[..len],
                },
                &deliveries,
                1_000,
            )
            .await
            .unwrap();
        let summary = store.summary(id).await.unwrap();
        assert_eq!((summary.total, summary.queued), (10_000, 10_000), "{what}");
        let oncor = store.queued(Tdsp::Oncor, 100).await.unwrap();
        assert_eq!(oncor.len(), 100, "{what}");
        assert!(
            oncor
                .iter()
                .all(|d| d.tdsp == Tdsp::Oncor && d.address.starts_with("1044372"))
        );

        let first = oncor[0].id;
        assert!(
            store
                .report(first, DeliveryStatus::Sent, "accepted by head-end", 1_001)
                .await
                .unwrap()
        );
        assert!(
            store
                .report(first, DeliveryStatus::Delivered, "displayed", 1_030)
                .await
                .unwrap()
        );
        assert!(
            !store
                .report(first, DeliveryStatus::Sent, "late duplicate", 1_031)
                .await
                .unwrap(),
            "{what}: a late report does not move the status back"
        );
        assert!(
            store
                .report(
                    first,
                    DeliveryStatus::DeviceAcknowledged,
                    "Message Confirmation",
                    1_090
                )
                .await
                .unwrap()
        );
        let events = store.delivery_events(first).await.unwrap();
        assert_eq!(events.len(), 4, "{what}: every report is kept");
        assert_eq!(events[2].2, "late duplicate");
        let second = oncor[1].id;
        assert!(
            store
                .report(second, DeliveryStatus::Failed, "no route to meter", 1_002)
                .await
                .unwrap()
        );
        let summary = store.summary(id).await.unwrap();
        assert_eq!(
            (summary.queued, summary.device_acknowledged, summary.failed),
            (9_998, 1, 1),
            "{what}"
        );
        let rows = store.deliveries(id).await.unwrap();
        assert_eq!(rows.len(), 10_000);
        assert_eq!(rows[0].detail, "Message Confirmation");
        assert!(matches!(
            store.report(999_999_999, DeliveryStatus::Sent, "", 0).await,
            Err(StoreError::NotFound(_))
        ));
        // The regulator's counts: one message through each TDSP route, 2,000 addresses each.
        let stats = store.statistics().await.unwrap();
        assert_eq!(stats.tdsps.len(), 5, "{what}: {stats:?}");
        let oncor = &stats.tdsps["oncor"];
        assert_eq!(oncor.messages, 1);
        assert_eq!(oncor.deliveries.values().sum::<u64>(), 2_000);
    }
}

#[tokio::test]
async fn a_url_that_names_no_database_is_refused() {
    let e = Store::open("mysql://localhost/x").await.unwrap_err();
    assert!(e.to_string().contains("sqlite://"), "{e}");
}

#[tokio::test]
async fn a_batch_of_reports_is_recorded_in_one_go_and_still_only_moves_forward() {
    let deliveries: Vec<(Address, Tdsp)> = (0..1_200u64)
        .map(|i| {
            (
                Address::Esiid(format!("1044372{i:010}").parse().unwrap()),
                Tdsp::Oncor,
            )
        })
        .collect();
    for store in stores().await {
        let what = format!("{:?}", store.backend());
        let id = store
            .accept_message(
                &NewMessage {
                    company: "demo-rep",
                    kind: "load-control",
                    request: "{}",
                    cluster: 0x0701,
                    command: &[0x09, 0x01, 0x00],
                },
                &deliveries,
                0,
            )
            .await
            .unwrap();
        let rows = store.deliveries(id).await.unwrap();
        // Everyone sent; the first 600 also delivered, then a late "sent" for them (crossing
        // reports across the 500-report chunks).
        let mut reports: Vec<(i64, DeliveryStatus, &str)> = rows
            .iter()
            .map(|r| (r.id, DeliveryStatus::Sent, "accepted"))
            .collect();
        reports.extend(
            rows[..600]
                .iter()
                .map(|r| (r.id, DeliveryStatus::Delivered, "Started")),
        );
        reports.extend(
            rows[..600]
                .iter()
                .map(|r| (r.id, DeliveryStatus::Sent, "late")),
        );
        let moved = store.report_batch(&reports, 5).await.unwrap();
        assert_eq!(moved, 1_200 + 600, "{what}");
        let summary = store.summary(id).await.unwrap();
        assert_eq!((summary.sent, summary.delivered), (600, 600), "{what}");
        let first = &store.deliveries(id).await.unwrap()[0];
        assert_eq!(
            (first.status, first.detail.as_str()),
            (DeliveryStatus::Delivered, "Started")
        );
        assert_eq!(
            store.delivery_events(first.id).await.unwrap().len(),
            3,
            "{what}"
        );

        // An unknown delivery: an error, and nothing of the batch is recorded.
        let bad = [
            (rows[0].id, DeliveryStatus::Failed, "x"),
            (999_999_999, DeliveryStatus::Sent, "y"),
        ];
        assert!(matches!(
            store.report_batch(&bad, 6).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store.delivery_events(rows[0].id).await.unwrap().len(),
            3,
            "{what}"
        );
        assert_eq!(store.summary(id).await.unwrap().failed, 0, "{what}");
    }
}

#[tokio::test]
async fn companies_users_and_certificates_follow_table_6_and_refuse_duplicates() {
    use hanrig_gateway::access::{CompanyKind, Permission};
    for store in stores().await {
        let acme = store
            .add_company("Acme Energy", CompanyKind::ThirdParty, 1)
            .await
            .unwrap();
        store
            .add_company("Oncor", CompanyKind::Tdsp, 1)
            .await
            .unwrap();
        let again = store.add_company("Acme Energy", CompanyKind::Rep, 2).await;
        assert!(matches!(again, Err(StoreError::Exists(_))), "{again:?}");
        assert!(matches!(
            store.add_company(" padded", CompanyKind::Rep, 2).await,
            Err(StoreError::Access(_))
        ));

        // An administrator holds what the kind allows; a user what was asked, if allowed.
        let alice = store
            .add_user("Acme Energy", "alice", "$argon2id$x", true, &[], 3)
            .await
            .unwrap();
        assert!(alice.admin && alice.company == acme);
        assert_eq!(alice.permissions, CompanyKind::ThirdParty.permissions());
        assert!(!alice.permissions.contains(&Permission::Statistics));
        let ops = store
            .add_user("Oncor", "ops-desk", "h", false, &[Permission::Devices], 3)
            .await
            .unwrap();
        assert_eq!(
            ops.permissions.iter().collect::<Vec<_>>(),
            [&Permission::Devices]
        );
        let refused = store
            .add_user(
                "Oncor",
                "ops-desk2",
                "h",
                false,
                &[Permission::SendMessages],
                3,
            )
            .await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.to_string().contains("Table 6")),
            "{refused:?}"
        );
        assert!(matches!(
            store.add_user("Oncor", "alice", "h", false, &[], 3).await,
            Err(StoreError::Exists(_))
        ));
        assert!(matches!(
            store
                .add_user("Oncor", "bad:name", "h", false, &[], 3)
                .await,
            Err(StoreError::Access(_))
        ));
        assert!(matches!(
            store
                .add_user("Initech", "bob-the-user", "h", false, &[], 3)
                .await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.users("Oncor").await.unwrap(), [ops]);
        assert_eq!(store.user("alice").await.unwrap(), alice);

        // A certificate names its company until it is revoked.
        store
            .add_certificate("Acme Energy", "ab12", "Acme Energy", 4)
            .await
            .unwrap();
        assert_eq!(store.certificate_company("ab12").await.unwrap(), Some(acme));
        assert_eq!(store.certificate_company("cd34").await.unwrap(), None);
        store.revoke_certificate("ab12", 5).await.unwrap();
        assert_eq!(store.certificate_company("ab12").await.unwrap(), None);
        assert!(matches!(
            store.revoke_certificate("ab12", 6).await,
            Err(StoreError::NotFound(_))
        ));
    }
}

#[tokio::test]
async fn a_device_is_sent_once_found_by_its_request_and_finished_once_with_a_history() {
    for store in stores().await {
        let what = format!("{:?}", store.backend());
        let add = |eui: u64, at: i64| {
            let store = store.clone();
            async move {
                store
                    .add_device(&request(eui), "in-home-display", Tdsp::Oncor, at)
                    .await
                    .unwrap()
            }
        };
        let good = add(0x0012_4B00_0000_0011, 100).await;
        let bad = add(0x0012_4B00_0000_0012, 101).await;
        let unsent: Vec<i64> = store
            .unsent_devices(Tdsp::Oncor)
            .await
            .unwrap()
            .iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(unsent, [good.id, bad.id], "{what}");
        assert!(
            store
                .unsent_devices(Tdsp::Centerpoint)
                .await
                .unwrap()
                .is_empty(),
            "{what}: another TDSP's devices are not its own"
        );

        // Finishing a device never sent is refused: no answer can be for it.
        let early = store
            .finish_provisioning(good.id, &DeviceState::Provisioned, 105)
            .await;
        assert!(
            matches!(early, Err(StoreError::Provisioning(ref m)) if m.contains("not been sent")),
            "{what}: {early:?}"
        );
        assert!(matches!(
            store.mark_device_sent(good.id, "", 110).await,
            Err(StoreError::Provisioning(_))
        ));

        assert!(
            store
                .mark_device_sent(good.id, "d1-oncor", 110)
                .await
                .unwrap()
        );
        assert!(
            !store
                .mark_device_sent(good.id, "d1-oncor", 111)
                .await
                .unwrap(),
            "{what}: the same request again changes nothing"
        );
        let other = store.mark_device_sent(good.id, "d9-oncor", 112).await;
        assert!(
            matches!(other, Err(StoreError::Provisioning(ref m)) if m.contains("sent already as d1-oncor")),
            "{what}: {other:?}"
        );
        assert!(
            store
                .mark_device_sent(bad.id, "d2-oncor", 113)
                .await
                .unwrap()
        );
        assert!(store.unsent_devices(Tdsp::Oncor).await.unwrap().is_empty());
        assert_eq!(store.sent_devices(Tdsp::Oncor).await.unwrap().len(), 2);

        let found = store
            .device_by_job(Tdsp::Oncor, "d1-oncor")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.id, found.job.as_str()), (good.id, "d1-oncor"));
        assert!(
            store
                .device_by_job(Tdsp::Centerpoint, "d1-oncor")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .device_by_job(Tdsp::Oncor, "nope")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .device_by_job(Tdsp::Oncor, "")
                .await
                .unwrap()
                .is_none()
        );

        let removed = DeviceState::Removed {
            reason: RemovalReason::DeviceReplaced,
        };
        assert!(matches!(
            store.finish_provisioning(good.id, &removed, 120).await,
            Err(StoreError::Provisioning(_))
        ));
        assert!(
            store
                .finish_provisioning(good.id, &DeviceState::Provisioned, 120)
                .await
                .unwrap()
        );
        let failed = DeviceState::Failed {
            reason: "no device joined with that install code before the pairing window closed"
                .into(),
        };
        assert!(
            store
                .finish_provisioning(bad.id, &failed, 130)
                .await
                .unwrap()
        );
        // A second answer (a re-posted callback) moves nothing.
        assert!(
            !store
                .finish_provisioning(bad.id, &DeviceState::Provisioned, 140)
                .await
                .unwrap()
        );
        assert_eq!(
            store.device(good.id).await.unwrap().state,
            DeviceState::Provisioned
        );
        assert_eq!(store.device(bad.id).await.unwrap().state, failed, "{what}");
        assert!(store.sent_devices(Tdsp::Oncor).await.unwrap().is_empty());
        // Sending a device that is no longer pending is refused.
        assert!(matches!(
            store.mark_device_sent(bad.id, "d3-oncor", 150).await,
            Err(StoreError::Provisioning(_))
        ));

        let history = |h: Vec<hanrig_gateway_store::HistoryEntry>| -> Vec<(i64, String, String)> {
            h.into_iter().map(|h| (h.at, h.event, h.detail)).collect()
        };
        assert_eq!(
            history(store.device_history_of(good.eui64).await.unwrap()),
            [
                (100, "requested".into(), "in-home-display".into()),
                (
                    110,
                    "sent".into(),
                    "accepted by the head-end as d1-oncor".into()
                ),
                (120, "provisioned".into(), String::new()),
            ],
            "{what}"
        );
        assert_eq!(
            history(store.device_history_of(bad.eui64).await.unwrap()),
            [
                (101, "requested".into(), "in-home-display".into()),
                (
                    113,
                    "sent".into(),
                    "accepted by the head-end as d2-oncor".into()
                ),
                (
                    130,
                    "failed".into(),
                    "no device joined with that install code before the pairing window closed"
                        .into()
                ),
            ],
            "{what}"
        );
    }
}

/// Each installation has its own secret, made once: reopening the repository keeps it, and
/// two repositories (SQLite or PostgreSQL) never share one.
#[tokio::test]
async fn the_installation_secret_is_made_once_and_differs_between_installations() {
    let (first, second) = (stores().await, stores().await);
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.installation_secret().len(), 32);
        assert_ne!(
            a.installation_secret(),
            b.installation_secret(),
            "{:?}",
            a.backend()
        );
    }
    let file = std::env::temp_dir().join(format!("hanrig-secret-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let made = Store::open(&url)
        .await
        .unwrap()
        .installation_secret()
        .to_vec();
    assert_eq!(
        Store::open(&url).await.unwrap().installation_secret(),
        made.as_slice()
    );
    let _ = std::fs::remove_file(&file);
}

/// SQLite runs with a write-ahead log synced at every commit: the database says so to any
/// connection, and what a store committed is there for the next one to open it.
#[tokio::test]
async fn a_sqlite_repository_keeps_a_write_ahead_log_and_its_commits_survive_a_reopen() {
    let dir = std::env::temp_dir().join(format!("hanrig-wal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("gateway.db");
    for leftover in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{leftover}", file.display()));
    }
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.next_issuer_id(5_000).await.unwrap(), 5_000);
    sqlx::any::install_default_drivers();
    let other = sqlx::AnyPool::connect(&url).await.unwrap();
    let mode: String = sqlx::Row::get(
        &sqlx::query("PRAGMA journal_mode")
            .fetch_one(&other)
            .await
            .unwrap(),
        0,
    );
    assert_eq!(mode, "wal");
    assert!(dir.join("gateway.db-wal").exists());
    other.close().await;
    drop(store);
    let reopened = Store::open(&url).await.unwrap();
    assert_eq!(reopened.next_issuer_id(5_000).await.unwrap(), 5_001);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SE issuer IDs only grow: across a restart, and when the clock steps back.
#[tokio::test]
async fn issuer_ids_only_grow_across_restarts_and_a_clock_that_steps_back() {
    for store in stores().await {
        assert_eq!(store.next_issuer_id(1_000).await.unwrap(), 1_000);
        assert_eq!(store.next_issuer_id(1_000).await.unwrap(), 1_001);
        assert_eq!(
            store.next_issuer_id(900).await.unwrap(),
            1_002,
            "{:?}",
            store.backend()
        );
        assert_eq!(store.next_issuer_id(5_000).await.unwrap(), 5_000);
    }
    let file = std::env::temp_dir().join(format!("hanrig-issuer-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let url = format!("sqlite://{}?mode=rwc", file.display());
    for _ in 0..3 {
        Store::open(&url)
            .await
            .unwrap()
            .next_issuer_id(7)
            .await
            .unwrap();
    }
    assert_eq!(
        Store::open(&url)
            .await
            .unwrap()
            .next_issuer_id(7)
            .await
            .unwrap(),
        10
    );
    let _ = std::fs::remove_file(&file);
}

/// Racing requests with one `Idempotency-Key` store one message: the key is taken in the
/// message's transaction, so the loser (PostgreSQL: waiting on the winner's row) stores
/// nothing and is told what the key was used for. A key older than 24 hours is forgotten.
#[tokio::test]
async fn one_idempotency_key_stores_one_message_even_when_requests_race() {
    use hanrig_gateway_store::{Acceptance, IDEMPOTENCY_SECONDS, Idempotent};
    let esiid: Esiid = ONCOR.parse().unwrap();
    let deliveries = vec![(
        Address::Esiid(esiid.clone()),
        Routing::texas().route(&esiid).unwrap(),
    )];
    let message = NewMessage {
        company: "demo-rep",
        kind: "text",
        request: "{}",
        cluster: 0x0703,
        command: &[0x09, 0x01, 0x00],
    };
    let once = Idempotent {
        key: "k-1",
        fingerprint: "f",
        answer: "{\"se_id\":1}",
    };
    for store in stores().await {
        let what = format!("{:?}", store.backend());
        let racers: Vec<_> = (0..8)
            .map(|_| {
                let (store, deliveries, message) =
                    (store.clone(), deliveries.clone(), message.clone());
                tokio::spawn(async move {
                    store
                        .accept_message_once(&message, &deliveries, &once, 1_000)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut stored = Vec::new();
        let mut remembered = Vec::new();
        for racer in racers {
            match racer.await.unwrap() {
                Acceptance::Stored(id) => stored.push(id),
                Acceptance::Remembered(r) => remembered.push(r),
            }
        }
        assert_eq!(stored.len(), 1, "{what}: one racer stores");
        assert_eq!(remembered.len(), 7, "{what}");
        assert!(
            remembered
                .iter()
                .all(|r| r.message_id == stored[0] && r.answer == once.answer)
        );
        assert_eq!(
            store
                .messages_of("demo-rep", 0, i64::MAX)
                .await
                .unwrap()
                .len(),
            1,
            "{what}"
        );
        // Another company's "k-1" is its own; a day later the key is new again.
        let theirs = NewMessage {
            company: "other",
            ..message.clone()
        };
        assert!(matches!(
            store
                .accept_message_once(&theirs, &deliveries, &once, 1_000)
                .await
                .unwrap(),
            Acceptance::Stored(_)
        ));
        let later = 1_000 + IDEMPOTENCY_SECONDS;
        assert_eq!(
            store.remembered("demo-rep", "k-1", later).await.unwrap(),
            None
        );
        assert!(matches!(
            store.accept_message_once(&message, &deliveries, &once, later).await.unwrap(),
            Acceptance::Stored(id) if id != stored[0]
        ));
    }
}
