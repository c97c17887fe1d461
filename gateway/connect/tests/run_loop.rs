//! [`run`]: one loop per TDSP, of any style, sends what is queued and records what comes
//! back until shut down; it waits out a head-end that is down and stops on a refusal.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::multispeak::MultiSpeakClient;
use hanrig_gateway_connect::{ConnectError, Connector, JobsClient, Pace, run};
use hanrig_headend::limits;
use hanrig_headend::multispeak::MsgHeader;
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{
    CimHeadEnd, JobsHeadEnd, MultiSpeakHeadEnd, serve_cim, serve_jobs, serve_multispeak,
};

fn pace(tdsp: Tdsp) -> Pace {
    Pace {
        idle: Duration::from_millis(20),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..Pace::of(limits::of(tdsp.style()))
    }
}

/// Runs `connector` for `tdsp` until message `id` has `n` device answers, then shuts it down
/// and returns what `run` returned.
async fn run_until_acknowledged(
    store: &hanrig_gateway_store::Store,
    tdsp: Tdsp,
    connector: Connector,
    id: i64,
    n: u64,
) -> Result<(), ConnectError> {
    let (stop, runner) = spawn_run(store, tdsp, connector, pace(tdsp));
    let s = until(store, id, |s| s.device_acknowledged + s.failed == n).await;
    assert_eq!((s.device_acknowledged, s.failed), (n, 0), "{s:?}");
    stop.send(()).unwrap();
    runner.await.unwrap()
}

/// Spawns [`run`] for `tdsp`; it stops when the sender is used.
fn spawn_run(
    store: &hanrig_gateway_store::Store,
    tdsp: Tdsp,
    connector: Connector,
    pace: Pace,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), ConnectError>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn(run(
        store.clone(),
        tdsp,
        connector,
        pace,
        || T0 as i64,
        async {
            let _ = stopped.await;
        },
    ));
    (stop, runner)
}

#[tokio::test]
async fn a_job_style_loop_submits_and_polls_until_every_report_is_in() {
    let meters: Vec<String> = (0..30u64).map(|i| format!("1008901{i:015}")).collect();
    let (store, id) = store_with_message("run-jobs", &meters, lce()).await;
    let (l, url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_jobs(
        l,
        JobsHeadEnd::new(&fleet(&meters), MESH, 5, start),
        clock(),
    ));
    let connector = Connector::Jobs(JobsClient::new(url.trim_end_matches('/')));
    run_until_acknowledged(&store, Tdsp::Centerpoint, connector, id, 30)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cim_loop_waits_out_a_head_end_that_is_down_then_records_every_event() {
    let meters: Vec<String> = (0..30u64).map(|i| format!("1003278{i:015}")).collect();
    let (store, id) = store_with_message("run-cim", &meters, lce()).await;
    let (callbacks, reply_address) = listener().await;
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let fleet = fleet(&meters);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let l = tokio::net::TcpListener::bind(address).await.unwrap();
        let start = SimTime::from_unix_seconds(T0);
        serve_cim(l, CimHeadEnd::new(&fleet, MESH, 5, start), clock(), push()).await
    });
    let connector = Connector::Cim(CimClient::new(
        &format!("http://{address}/"),
        &reply_address,
    ));
    let routes = connector
        .callbacks(store.clone(), Tdsp::AepTexasCentral)
        .unwrap();
    tokio::spawn(serve_plain(callbacks, routes));
    run_until_acknowledged(&store, Tdsp::AepTexasCentral, connector, id, 30)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_message_stored_while_the_loop_waits_goes_out_at_once_not_at_the_next_round() {
    // Rounds an hour apart: after the first, only the store's word of new work can start
    // another before the test gives up (`until`, 30 s).
    let meters: Vec<String> = (0..10u64).map(|i| format!("1003278{i:015}")).collect();
    let (store, first) = store_with_message("run-wake", &meters[..5], lce()).await;
    let (callbacks, reply_address) = listener().await;
    let (l, url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_cim(
        l,
        CimHeadEnd::new(&fleet(&meters), MESH, 5, start),
        clock(),
        push(),
    ));
    let connector = Connector::Cim(CimClient::new(&url, &reply_address));
    let routes = connector
        .callbacks(store.clone(), Tdsp::AepTexasCentral)
        .unwrap();
    tokio::spawn(serve_plain(callbacks, routes));
    let (stop, runner) = spawn_run(
        &store,
        Tdsp::AepTexasCentral,
        connector,
        Pace {
            idle: Duration::from_secs(3600),
            ..pace(Tdsp::AepTexasCentral)
        },
    );
    // The first round sends the first message; its answers come back by callback.
    until(&store, first, |s| s.device_acknowledged == 5).await;
    let second = add_message(&store, &meters[5..], lce()).await;
    let s = until(&store, second, |s| s.device_acknowledged == 5).await;
    assert_eq!((s.device_acknowledged, s.failed), (5, 0), "{s:?}");
    stop.send(()).unwrap();
    runner.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_multispeak_loop_records_every_notification_until_shut_down() {
    let meters: Vec<String> = (0..30u64).map(|i| format!("1044372{i:010}")).collect();
    let (store, id) = store_with_message("run-ms", &meters, lce()).await;
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
    run_until_acknowledged(&store, Tdsp::Oncor, connector, id, 30)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_refused_job_fails_the_addresses_the_head_end_names_and_the_rest_still_go() {
    // Three meters the head-end does not know, two it does: one job refused naming three.
    let known: Vec<String> = (0..2u64).map(|i| format!("1008901{i:015}")).collect();
    let mut meters = known.clone();
    meters.extend((7..10u64).map(|i| format!("1008901{i:015}")));
    let (store, id) = store_with_message("run-refused", &meters, lce()).await;
    let (l, url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_jobs(
        l,
        JobsHeadEnd::new(&fleet(&known), MESH, 5, start),
        clock(),
    ));
    let (stop, runner) = spawn_run(
        &store,
        Tdsp::Centerpoint,
        Connector::Jobs(JobsClient::new(url.trim_end_matches('/'))),
        pace(Tdsp::Centerpoint),
    );
    let s = until(&store, id, |s| s.device_acknowledged + s.failed == 5).await;
    assert_eq!((s.device_acknowledged, s.failed), (2, 3), "{s:?}");
    for d in store.deliveries(id).await.unwrap() {
        if !known.contains(&d.address) {
            assert!(d.detail.contains("no such meter at this head-end"), "{d:?}");
        }
    }
    stop.send(()).unwrap();
    runner.await.unwrap().unwrap();
}

/// A head-end that accepts a request and then never reports (its results cannot reach the
/// gateway): once the answer window has passed, every delivery fails as expired, saying so,
/// instead of staying `sent` forever.
#[tokio::test]
async fn deliveries_a_head_end_accepts_and_never_reports_on_expire_with_a_reason() {
    use std::sync::atomic::{AtomicI64, Ordering};
    static NOW: AtomicI64 = AtomicI64::new(T0 as i64);
    let meters: Vec<String> = (0..5u64).map(|i| format!("1003278{i:015}")).collect();
    let (store, id) = store_with_message("run-expire", &meters, lce()).await;
    // Results go to a port where nobody listens.
    let (gone, reply_address) = listener().await;
    drop(gone);
    let (l, url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_cim(
        l,
        CimHeadEnd::new(&fleet(&meters), MESH, 5, start),
        clock(),
        push(),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn(run(
        store.clone(),
        Tdsp::AepTexasCentral,
        Connector::Cim(CimClient::new(&url, &reply_address)),
        Pace {
            answer_seconds: 3600,
            ..pace(Tdsp::AepTexasCentral)
        },
        || NOW.load(Ordering::Relaxed),
        async {
            let _ = stopped.await;
        },
    ));
    let s = until(&store, id, |s| s.sent == 5).await;
    assert_eq!(s.failed, 0, "{s:?}");
    // Within the window nothing expires; past it, everything that was only sent does.
    NOW.store(T0 as i64 + 3599, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(store.summary(id).await.unwrap().sent, 5);
    NOW.store(T0 as i64 + 3601, Ordering::Relaxed);
    let s = until(&store, id, |s| s.failed == 5).await;
    assert_eq!(s.sent, 0, "{s:?}");
    for d in store.deliveries(id).await.unwrap() {
        assert!(
            d.detail
                .starts_with("expired: the head-end accepted it 3601 s before"),
            "{d:?}"
        );
    }
    stop.send(()).unwrap();
    runner.await.unwrap().unwrap();
}
