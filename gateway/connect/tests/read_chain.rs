//! On-demand reads through each head-end style on loopback, on a sped-up clock: each read the
//! portal stores goes to its meter's head-end, and comes back completed with the register the
//! simulated meter integrated to the instant the read reached it; a read of a meter the
//! head-end does not have fails with its words; an answer under a forged request ID is refused.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::multispeak::MultiSpeakClient;
use hanrig_gateway_connect::read::{ReadRecorded, read_request_id, record_read};
use hanrig_gateway_connect::{Connector, JobsClient, Pace, run};
use hanrig_gateway_store::{MeterRecord, ReadRecord, Store};
use hanrig_headend::limits;
use hanrig_headend::multispeak::MsgHeader;
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{
    CimHeadEnd, JobsHeadEnd, MultiSpeakHeadEnd, serve_cim, serve_jobs, serve_multispeak,
};
use hanrig_sim::household::Home;
use hanrig_usage::day::Day;
use hanrig_usage::odr::{ReadLimits, ReadState};

async fn fresh_store(name: &str, tdsp: Tdsp, meters: &[String]) -> Store {
    let dir = std::env::temp_dir().join(format!("hanrig-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("gw.db"));
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gw.db").display()
    ))
    .await
    .unwrap();
    for m in meters {
        store
            .put_meter(&MeterRecord {
                esiid: m.parse().unwrap(),
                tdsp,
                meter_number: "100000LG".into(),
                address: "1 Demo Street".into(),
                city: "Dallas".into(),
                zip: "75201".into(),
                rep: String::new(),
                updated_at: T0 as i64,
            })
            .await
            .unwrap();
    }
    store
}

/// Asks for a read of each of `meters` (the last one the head-end does not have), runs
/// `connector` until none is pending, and checks each one's end.
async fn read_each(store: Store, tdsp: Tdsp, connector: Connector, meters: &[String]) {
    let clock = clock();
    let asked_at = (clock.now().0 / SimTime::SECOND) as i64;
    let mut reads: Vec<ReadRecord> = Vec::new();
    for m in meters {
        reads.push(
            store
                .request_read(&m.parse().unwrap(), "ann", &ReadLimits::SMT, asked_at)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pace = Pace {
        idle: Duration::from_millis(20),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..Pace::of(limits::of(tdsp.style()))
    };
    let runner = tokio::spawn(run(
        store.clone(),
        tdsp,
        connector,
        pace,
        move || (clock.now().0 / SimTime::SECOND) as i64,
        async {
            let _ = stopped.await;
        },
    ));
    // A guard against hanging, not a measurement: reads take 1-5 s of a 200x clock, and the
    // unknown meter's is refused at once.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut open = Vec::new();
        for r in &reads {
            let r = store.read(r.id).await.unwrap();
            if r.state == ReadState::Pending {
                open.push(r);
            }
        }
        if open.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still pending: {open:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    runner.await.unwrap().unwrap();

    let (known, unknown) = reads.split_at(reads.len() - 1);
    for r in known {
        let r = store.read(r.id).await.unwrap();
        let ReadState::Completed {
            register_wh,
            read_at,
        } = r.state
        else {
            panic!("{r:?}")
        };
        // What the meter's home drew since the day began, to the second it was read.
        let home = Home::of(r.esiid.as_str());
        let day = Day::containing(T0 as i64).unwrap();
        assert!(
            (home.register_at(day, read_at)..=home.register_at(day, read_at + 1))
                .contains(&register_wh),
            "{register_wh} Wh at {read_at}"
        );
        assert!(read_at > asked_at, "{r:?}");
        assert!(!r.request_id.is_empty(), "{r:?}");
    }
    let r = store.read(unknown[0].id).await.unwrap();
    assert!(
        matches!(&r.state, ReadState::Failed { reason } if reason.contains("no such meter")),
        "{r:?}"
    );

    // An answer under a forged ID, or about another meter, changes nothing.
    let read = store.read(known[0].id).await.unwrap();
    let signed = read_request_id(store.installation_secret(), &read);
    let mut forged = signed.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    let failed = ReadState::Failed {
        reason: "forged".into(),
    };
    for (id, meter) in [
        (forged.as_str(), read.esiid.as_str()),
        (signed.as_str(), known[1].esiid.as_str()),
    ] {
        assert!(matches!(
            record_read(&store, tdsp, id, meter, &failed, T0 as i64)
                .await
                .unwrap(),
            ReadRecorded::Unknown(_)
        ));
    }
    assert_eq!(store.read(read.id).await.unwrap().state, read.state);
}

fn meters(prefix: &str, digits: usize) -> Vec<String> {
    (0..3u64).map(|i| format!("{prefix}{i:0digits$}")).collect()
}

#[tokio::test]
async fn a_job_style_head_end_reads_each_meter_and_refuses_one_it_does_not_have() {
    let meters = meters("1008901", 15);
    let store = fresh_store("read-jobs", Tdsp::Centerpoint, &meters).await;
    let (l, url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_jobs(
        l,
        JobsHeadEnd::new(&fleet(&meters[..2]), MESH, 5, start),
        clock(),
    ));
    let connector = Connector::Jobs(JobsClient::new(url.trim_end_matches('/')));
    read_each(store, Tdsp::Centerpoint, connector, &meters).await;
}

#[tokio::test]
async fn a_cim_head_end_reads_each_meter_and_refuses_one_it_does_not_have() {
    let meters = meters("1003278", 15);
    let store = fresh_store("read-cim", Tdsp::AepTexasCentral, &meters).await;
    let (callbacks, reply_address) = listener().await;
    let (l, endpoint) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_cim(
        l,
        CimHeadEnd::new(&fleet(&meters[..2]), MESH, 5, start),
        clock(),
        push(),
    ));
    let connector = Connector::Cim(CimClient::new(&endpoint, &reply_address));
    let routes = connector
        .callbacks(store.clone(), Tdsp::AepTexasCentral)
        .unwrap();
    tokio::spawn(serve_plain(callbacks, routes));
    read_each(store, Tdsp::AepTexasCentral, connector, &meters).await;
}

#[tokio::test]
async fn a_multispeak_head_end_reads_each_meter_and_refuses_one_it_does_not_have() {
    let meters = meters("1044372", 10);
    let store = fresh_store("read-ms", Tdsp::Oncor, &meters).await;
    let (callbacks, response_url) = listener().await;
    let (l, endpoint) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_multispeak(
        l,
        MultiSpeakHeadEnd::new(&fleet(&meters[..2]), MESH, 5, start),
        clock(),
        push(),
    ));
    let connector = Connector::MultiSpeak(MultiSpeakClient::new(
        &endpoint,
        &response_url,
        MsgHeader::new("hanrig", "SMT", "", 0),
    ));
    let routes = connector.callbacks(store.clone(), Tdsp::Oncor).unwrap();
    tokio::spawn(serve_plain(callbacks, routes));
    read_each(store, Tdsp::Oncor, connector, &meters).await;
}
