//! What the SOAP chain tests share: a store holding one message, as the API accepts it, and
//! the load-control event they send.

#![allow(clippy::unwrap_used, dead_code)]

use std::time::{Duration, Instant};

use hanrig_gateway::message::{LoadControlMessage, addresses, cluster_of, plan};
use hanrig_gateway::routing::Routing;
use hanrig_gateway_store::{NewMessage, Store, Summary};
use hanrig_sep::ZclFrame;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{Clock, Latency};

pub const T0: u64 = 1_782_914_400;

/// The mesh takes 1–5 s and loses nothing.
pub const MESH: Latency = Latency {
    min_us: 1_000_000,
    max_us: 5_000_000,
    loss: 0.0,
};

/// The head-ends' clock: from `T0`, 200× fast.
pub fn clock() -> Clock {
    Clock {
        start: SimTime::from_unix_seconds(T0),
        since: Instant::now(),
        speed: 200.0,
    }
}

/// Thermostats behind each ESIID.
pub fn fleet(esiids: &[String]) -> Vec<(String, DeviceKind)> {
    esiids
        .iter()
        .map(|e| (e.clone(), DeviceKind::Thermostat))
        .collect()
}

/// A 30-minute load-control event for HVAC, starting now.
pub fn lce() -> hanrig_sep::Command {
    LoadControlMessage {
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
    }
    .command(501)
    .unwrap()
}

/// A fresh store holding `command` to `esiids`, planned and accepted as the API does it;
/// returns it and the message.
pub async fn store_with_message(
    name: &str,
    esiids: &[String],
    command: hanrig_sep::Command,
) -> (Store, i64) {
    let dir = std::env::temp_dir().join(format!("hanrig-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("gw.db"));
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gw.db").display()
    ))
    .await
    .unwrap();
    let id = add_message(&store, esiids, command).await;
    (store, id)
}

/// Stores `command` to `esiids` in `store`, planned and accepted as the API does it.
pub async fn add_message(store: &Store, esiids: &[String], command: hanrig_sep::Command) -> i64 {
    let cluster = cluster_of(&command).unwrap();
    let mut frame = [0u8; 127];
    let len = ZclFrame::new(cluster, command, 1)
        .unwrap()
        .emit(&mut frame)
        .unwrap();
    let deliveries = plan(&addresses(esiids, &[]).unwrap(), &Routing::texas(), |_| {
        None
    })
    .unwrap();
    store
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
        .unwrap()
}

/// Waits until `done` holds for message `id`'s summary; fails the test with the summary if
/// it has not after 30 s of wall time (a guard against hanging, not a measurement).
pub async fn until(store: &Store, id: i64, done: impl Fn(&Summary) -> bool) -> Summary {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = store.summary(id).await.unwrap();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {s:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A listener on a free loopback port, and its URL.
/// Serves a connector's callback routes on `listener` over plain HTTP: these tests are of the
/// protocols; the authenticated listeners are hanrig-gateway-server's (tested there).
pub async fn serve_plain(
    listener: tokio::net::TcpListener,
    routes: axum::Router,
) -> std::io::Result<()> {
    axum::serve(listener, routes).await
}

/// A plain HTTP client for a simulated head-end's callbacks.
pub fn push() -> reqwest::Client {
    hanrig_gateway_connect::http_client(std::time::Duration::from_secs(30))
}

pub async fn listener() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", l.local_addr().unwrap());
    (l, url)
}
