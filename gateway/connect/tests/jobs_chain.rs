//! The job-style chain on loopback: repository → dispatcher → HTTP → simulated head-end →
//! simulated meters and thermostats → results polled back into the repository.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use hanrig_gateway::message::{LoadControlMessage, addresses, cluster_of, plan};
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_connect::{JobsClient, collect, dispatch};
use hanrig_gateway_store::{NewMessage, Store};
use hanrig_headend::limits::{self, Limits};
use hanrig_sep::ZclFrame;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{Clock, JobsHeadEnd, Latency, serve_jobs};

const T0: u64 = 1_782_914_400;

#[tokio::test]
async fn a_load_control_event_reaches_every_thermostat_and_every_report_comes_back() {
    // 250 CenterPoint meters, each with a thermostat; the mesh takes 1–5 s, run 200× fast.
    let esiids: Vec<String> = (0..250u64).map(|i| format!("1008901{i:015}")).collect();
    let fleet: Vec<(String, DeviceKind)> = esiids
        .iter()
        .map(|e| (e.clone(), DeviceKind::Thermostat))
        .collect();
    let start = SimTime::from_unix_seconds(T0);
    let latency = Latency {
        min_us: 1_000_000,
        max_us: 5_000_000,
        loss: 0.0,
    };
    let headend = JobsHeadEnd::new(&fleet, latency, 3, start);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let clock = Clock {
        start,
        since: Instant::now(),
        speed: 200.0,
    };
    tokio::spawn(serve_jobs(listener, headend, clock));

    let dir = std::env::temp_dir().join(format!("hanrig-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("gw.db"));
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gw.db").display()
    ))
    .await
    .unwrap();

    // The message, planned and accepted as the API will do it.
    let event = LoadControlMessage {
        device_class: 0x0001,
        enrollment_group: 0,
        start: None,
        duration_minutes: 30,
        criticality: 2,
        cooling_offset: Some(20),
        heating_offset: None,
        cooling_set_point: None,
        heating_set_point: None,
        load_adjustment: None,
        duty_cycle: None,
        randomize_start: false,
        randomize_end: false,
    };
    let command = event.command(501).unwrap();
    let cluster = cluster_of(&command).unwrap();
    let mut frame = [0u8; 127];
    let len = ZclFrame::new(cluster, command, 1)
        .unwrap()
        .emit(&mut frame)
        .unwrap();
    let targets = addresses(&esiids, &[]).unwrap();
    let deliveries = plan(&targets, &Routing::texas(), |_| None).unwrap();
    assert!(deliveries.iter().all(|(_, t)| *t == Tdsp::Centerpoint));
    let id = store
        .accept_message(
            &NewMessage {
                company: "demo-rep",
                kind: "load-control",
                request: "{}",
                cluster,
                command: &frame[..len],
            },
            &deliveries,
            T0 as i64,
        )
        .await
        .unwrap();

    // Batches of 100: three jobs.
    let client = JobsClient::new(&url);
    let small = Limits {
        batch: 100,
        ..limits::of(Tdsp::Centerpoint.style())
    };
    let sent = dispatch(
        &store,
        Tdsp::Centerpoint,
        &client,
        &small,
        10_000,
        T0 as i64,
    )
    .await
    .unwrap();
    assert_eq!(sent, 250);
    let jobs = store.open_jobs(Tdsp::Centerpoint).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert_eq!(
        dispatch(
            &store,
            Tdsp::Centerpoint,
            &client,
            &small,
            10_000,
            T0 as i64
        )
        .await
        .unwrap(),
        0,
        "nothing queued is left to send"
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        collect(&store, Tdsp::Centerpoint, &client, T0 as i64 + 10)
            .await
            .unwrap();
        let s = store.summary(id).await.unwrap();
        if s.device_acknowledged == 250 || Instant::now() > deadline {
            assert_eq!((s.device_acknowledged, s.failed), (250, 0), "{s:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rows = store.deliveries(id).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.detail.starts_with("Report Event Status: ")),
        "{:?}",
        rows[0]
    );
    assert!(store.open_jobs(Tdsp::Centerpoint).await.unwrap().is_empty());
}
