//! Provisioning through each head-end style on loopback, on a sped-up clock: the device the
//! simulated meter has, with the install code it joined with, ends provisioned; one with
//! another (valid) install code, and one no simulated device is, end failed with the
//! head-end's reason once the pairing window closes; each history reads requested → sent →
//! provisioned or failed.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use hanrig_gateway::device::{DeviceRequest, DeviceState, DeviceType};
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::multispeak::MultiSpeakClient;
use hanrig_gateway_connect::{Connector, JobsClient, Pace, run};
use hanrig_gateway_store::{DeviceRecord, Store};
use hanrig_headend::limits;
use hanrig_headend::multispeak::MsgHeader;
use hanrig_sep::Eui64;
use hanrig_sep::install_code::InstallCode;
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{
    CimHeadEnd, INSTALL_CODE, JobsHeadEnd, MultiSpeakHeadEnd, device_eui, serve_cim, serve_jobs,
    serve_multispeak,
};

const NEVER_JOINED: &str =
    "no device joined with that install code before the pairing window closed";

/// Ten minutes of pairing window: 3 s of wall time on the 200× clock.
const WINDOW: u64 = 600;

async fn fresh_store(name: &str) -> Store {
    let dir = std::env::temp_dir().join(format!("hanrig-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("gw.db"));
    Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gw.db").display()
    ))
    .await
    .unwrap()
}

async fn add(
    store: &Store,
    tdsp: Tdsp,
    esiid: &str,
    eui: Eui64,
    code: &InstallCode,
) -> DeviceRecord {
    let request = DeviceRequest::new(
        esiid,
        &format!("{:016x}", eui.0),
        &code.to_string(),
        DeviceType::InHomeDisplay,
        "kitchen display",
    )
    .unwrap();
    store
        .add_device_for("demo-rep", &request, "in-home-display", tdsp, T0 as i64)
        .await
        .unwrap()
}

/// Adds the three devices to `meters[0]` and `meters[1]`, runs `connector` until none is
/// pending, and checks each one's end and history.
async fn provision_three(store: Store, tdsp: Tdsp, connector: Connector, meters: &[String]) {
    let right = InstallCode::from_body(&INSTALL_CODE).unwrap();
    // Another install code with a valid CRC: the device on meters[1] did not join with it.
    let wrong = InstallCode::from_body(&[0x11; 16]).unwrap();
    assert_ne!(right.as_bytes(), wrong.as_bytes());
    let good = add(&store, tdsp, &meters[0], device_eui(&meters[0]), &right).await;
    let bad_code = add(&store, tdsp, &meters[1], device_eui(&meters[1]), &wrong).await;
    let stranger = Eui64(0x0012_4B00_DEAD_BEEF);
    assert!(meters.iter().all(|m| device_eui(m) != stranger));
    let no_device = add(&store, tdsp, &meters[0], stranger, &right).await;

    let clock = clock();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let pace = Pace {
        idle: Duration::from_millis(20),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        pairing_seconds: WINDOW,
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
    // A guard against hanging, not a measurement: the window is 3 s of wall time.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !store.pending_devices(tdsp).await.unwrap().is_empty() {
        assert!(
            Instant::now() < deadline,
            "still pending: {:?}",
            store.pending_devices(tdsp).await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(()).unwrap();
    runner.await.unwrap().unwrap();

    let good = store.device(good.id).await.unwrap();
    assert_eq!(good.state, DeviceState::Provisioned, "{good:?}");
    for d in [bad_code.id, no_device.id] {
        let d = store.device(d).await.unwrap();
        assert!(
            matches!(&d.state, DeviceState::Failed { reason } if reason.contains(NEVER_JOINED)),
            "{d:?}"
        );
    }
    for (d, last) in [
        (&good, "provisioned"),
        (&bad_code, "failed"),
        (&no_device, "failed"),
    ] {
        let history = store.device_history_of(d.eui64).await.unwrap();
        let events: Vec<&str> = history.iter().map(|h| h.event.as_str()).collect();
        assert_eq!(events, ["requested", "sent", last], "{history:?}");
        let job = store.device(d.id).await.unwrap().job;
        assert!(
            history[1].detail.ends_with(&job) && !job.is_empty(),
            "{history:?}"
        );
    }
}

#[tokio::test]
async fn a_job_style_head_end_provisions_the_right_device_and_fails_the_others_when_the_window_closes()
 {
    let meters: Vec<String> = (0..2u64).map(|i| format!("1008901{i:015}")).collect();
    let store = fresh_store("provision-jobs").await;
    let (l, url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_jobs(
        l,
        JobsHeadEnd::new(&fleet(&meters), MESH, 5, start),
        clock(),
    ));
    let connector = Connector::Jobs(JobsClient::new(url.trim_end_matches('/')));
    provision_three(store, Tdsp::Centerpoint, connector, &meters).await;
}

#[tokio::test]
async fn a_cim_head_end_provisions_the_right_device_and_fails_the_others_when_the_window_closes() {
    let meters: Vec<String> = (0..2u64).map(|i| format!("1003278{i:015}")).collect();
    let store = fresh_store("provision-cim").await;
    let (callbacks, reply_address) = listener().await;
    let (l, endpoint) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_cim(
        l,
        CimHeadEnd::new(&fleet(&meters), MESH, 5, start),
        clock(),
        push(),
    ));
    let connector = Connector::Cim(CimClient::new(&endpoint, &reply_address));
    let routes = connector
        .callbacks(store.clone(), Tdsp::AepTexasCentral)
        .unwrap();
    tokio::spawn(serve_plain(callbacks, routes));
    provision_three(store, Tdsp::AepTexasCentral, connector, &meters).await;
}

#[tokio::test]
async fn a_multispeak_head_end_provisions_the_right_device_and_fails_the_others_when_the_window_closes()
 {
    let meters: Vec<String> = (0..2u64).map(|i| format!("1044372{i:010}")).collect();
    let store = fresh_store("provision-ms").await;
    let (callbacks, response_url) = listener().await;
    let (l, endpoint) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_multispeak(
        l,
        MultiSpeakHeadEnd::new(&fleet(&meters), MESH, 5, start),
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
    provision_three(store, Tdsp::Oncor, connector, &meters).await;
}

/// A pairing result is heard only under the device's signed request ID, from its own TDSP's
/// head-end: the unsigned shape (`d{row}-{tdsp}`, what a guesser would try), a forged tag and
/// another TDSP all get the same refusal, and the device stays pending.
#[tokio::test]
async fn a_pairing_result_is_heard_only_under_the_devices_signed_id() {
    use hanrig_gateway_connect::provision::{PairingRecorded, device_request_id, record_pairing};
    let store = fresh_store("provision-signed").await;
    let eui = Eui64(0x0011_2233_4455_6677);
    let code = InstallCode::from_body(&INSTALL_CODE).unwrap();
    let tdsp = Tdsp::AepTexasCentral;
    let device = add(&store, tdsp, "10032780000000001", eui, &code).await;
    let signed = device_request_id(store.installation_secret(), &device);
    assert!(
        store
            .mark_device_sent(device.id, &signed, T0 as i64)
            .await
            .unwrap()
    );
    let name = device.eui64.to_string();
    let provisioned = || Some(DeviceState::Provisioned);
    let (body, _) = signed.rsplit_once('-').unwrap();
    let mut refusals = Vec::new();
    for (at, id) in [
        (tdsp, body.to_string()),
        (tdsp, format!("{body}-{}", "0".repeat(24))),
        (Tdsp::AepTexasNorth, signed.clone()),
    ] {
        match record_pairing(&store, at, &id, &name, provisioned(), T0 as i64)
            .await
            .unwrap()
        {
            PairingRecorded::Unknown(why) => refusals.push(why.replace(&id, "ID")),
            other => panic!("{id} at {at}: {other:?}"),
        }
    }
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "{refusals:?}");
    assert_eq!(
        store.device(device.id).await.unwrap().state,
        DeviceState::Pending
    );
    assert!(matches!(
        record_pairing(&store, tdsp, &signed, &name, provisioned(), T0 as i64)
            .await
            .unwrap(),
        PairingRecorded::Recorded
    ));
    assert_eq!(
        store.device(device.id).await.unwrap().state,
        DeviceState::Provisioned
    );
}
