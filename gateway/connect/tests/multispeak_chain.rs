//! The MultiSpeak chain on loopback (Oncor): repository → MultiSpeak connector → SOAP →
//! simulated head-end → simulated meters and thermostats → notifications posted back to the
//! connector's responseURL → repository.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::multispeak::{
    self, MultiSpeakClient, dispatch, dispatch_retrying, multispeak_request,
};
use hanrig_headend::limits::{self, Limits};
use hanrig_headend::multispeak::MsgHeader;
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{MultiSpeakHeadEnd, serve_multispeak};

const TDSP: Tdsp = Tdsp::Oncor;

fn esiids(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("1044372{i:010}")).collect()
}

fn header() -> MsgHeader {
    MsgHeader {
        user_id: "smt-gateway".into(),
        pwd: "lab".into(),
        ..MsgHeader::new("hanrig", "SMT", "", 0)
    }
}

fn serve(listener: tokio::net::TcpListener, meters: &[String]) {
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_multispeak(
        listener,
        MultiSpeakHeadEnd::new(&fleet(meters), MESH, 5, start),
        clock(),
        push(),
    ));
}

/// A MultiSpeak head-end for `meters` on a free port, and a client whose responseURL is a
/// callback listener recording into `store`.
async fn chain(store: &hanrig_gateway_store::Store, meters: &[String]) -> MultiSpeakClient {
    let (callbacks, response_url) = listener().await;
    tokio::spawn(serve_plain(
        callbacks,
        multispeak::callbacks(store.clone(), TDSP),
    ));
    let (l, endpoint) = listener().await;
    serve(l, meters);
    MultiSpeakClient::new(&endpoint, &response_url, header())
}

#[tokio::test]
async fn a_load_control_event_reaches_every_oncor_thermostat_and_every_report_comes_back_as_notifications()
 {
    let meters = esiids(250);
    let (store, id) = store_with_message("ms-chain", &meters, lce()).await;
    let client = chain(&store, &meters).await;
    let small = Limits {
        batch: 100,
        ..limits::of(TDSP.style())
    };
    let sent = dispatch(&store, TDSP, &client, &small, 10_000, T0 as i64)
        .await
        .unwrap();
    assert_eq!(sent, 250);
    let jobs: std::collections::BTreeSet<String> = store
        .deliveries(id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.job.rsplit_once('-').unwrap().0.to_string())
        .collect();
    let expected: std::collections::BTreeSet<String> = [(1, 100), (101, 200), (201, 250)]
        .iter()
        .map(|(first, last)| format!("m{id}-oncor-{first}-{last}"))
        .collect();
    assert_eq!(jobs, expected);

    let s = until(&store, id, |s| s.device_acknowledged + s.failed == 250).await;
    assert_eq!((s.device_acknowledged, s.failed), (250, 0), "{s:?}");
    for row in store.deliveries(id).await.unwrap() {
        assert!(
            row.detail.starts_with("DemandResponseEventNotification: "),
            "{row:?}"
        );
        let reports: Vec<String> = store
            .delivery_events(row.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.2)
            .collect();
        assert!(
            reports.contains(&"DemandResponseEventNotification: Started".to_string()),
            "{reports:?}"
        );
    }
}

#[tokio::test]
async fn a_gateway_that_crashed_after_sending_sends_the_same_transaction_id_and_nothing_is_delivered_twice()
 {
    let meters = esiids(20);
    let (store, id) = store_with_message("ms-crash", &meters, lce()).await;
    let client = chain(&store, &meters).await;
    let limits = limits::of(TDSP.style());
    let queued = store.queued(TDSP, 100).await.unwrap();
    let message = store.message(id).await.unwrap();
    let request = multispeak_request(
        store.installation_secret(),
        &message,
        TDSP,
        &queued,
        &limits,
        &client,
        T0 as i64,
    )
    .unwrap();
    let first = client.initiate(&request).await.unwrap();
    assert!(first.errors.is_empty(), "{first:?}");
    let sent = dispatch(&store, TDSP, &client, &limits, 100, T0 as i64)
        .await
        .unwrap();
    assert_eq!(sent, 20);
    let jobs = store.open_jobs(TDSP).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].0, request.transaction_id);
    let again = client.initiate(&request).await.unwrap();
    assert_eq!(
        again, first,
        "the head-end answers the first response again"
    );

    until(&store, id, |s| s.device_acknowledged == 20).await;
    for row in store.deliveries(id).await.unwrap() {
        let started = store
            .delivery_events(row.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.2 == "DemandResponseEventNotification: Started")
            .count();
        assert_eq!(started, 1, "one delivery, one start: {row:?}");
    }
}

#[tokio::test]
async fn unknown_oncor_meters_are_refused_by_error_object_and_the_rest_go_ahead() {
    let meters = esiids(5);
    let mut addressed = meters.clone();
    addressed.push("10443729999999999".into());
    let (store, id) = store_with_message("ms-partial", &addressed, lce()).await;
    let client = chain(&store, &meters).await;
    dispatch(
        &store,
        TDSP,
        &client,
        &limits::of(TDSP.style()),
        100,
        T0 as i64,
    )
    .await
    .unwrap();
    let rows = store.deliveries(id).await.unwrap();
    let unknown = rows
        .iter()
        .find(|r| r.address == "10443729999999999")
        .unwrap();
    assert_eq!(unknown.status, DeliveryStatus::Failed);
    assert_eq!(
        unknown.detail,
        "refused by the head-end: no such meter or device at this head-end"
    );
    let s = until(&store, id, |s| s.device_acknowledged == 5).await;
    assert_eq!(s.failed, 1);
}

#[tokio::test]
async fn a_multispeak_head_end_that_is_down_is_retried_until_it_recovers() {
    let meters = esiids(10);
    let (store, id) = store_with_message("ms-down", &meters, lce()).await;
    let (callbacks, response_url) = listener().await;
    tokio::spawn(serve_plain(
        callbacks,
        multispeak::callbacks(store.clone(), TDSP),
    ));
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let client = MultiSpeakClient::new(&format!("http://{address}/"), &response_url, header());
    let limits = limits::of(TDSP.style());
    let e = dispatch(&store, TDSP, &client, &limits, 100, T0 as i64)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("head-end http://{address}/")),
        "{e}"
    );
    assert_eq!(store.summary(id).await.unwrap().queued, 10, "nothing lost");
    let fleet_meters = meters.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let l = tokio::net::TcpListener::bind(address).await.unwrap();
        serve(l, &fleet_meters);
    });
    let sent = dispatch_retrying(
        &store,
        TDSP,
        &client,
        &limits,
        T0 as i64,
        10,
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    assert_eq!(sent, 10);
    until(&store, id, |s| s.device_acknowledged == 10).await;
}

#[tokio::test]
async fn notifications_the_gateway_could_not_take_are_posted_again_until_it_can() {
    let meters = esiids(10);
    let (store, id) = store_with_message("ms-callback-down", &meters, lce()).await;
    // The gateway's callback listener is not up yet.
    let callback_address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let (l, endpoint) = listener().await;
    serve(l, &meters);
    let client = MultiSpeakClient::new(&endpoint, &format!("http://{callback_address}/"), header());
    let sent = dispatch(
        &store,
        TDSP,
        &client,
        &limits::of(TDSP.style()),
        100,
        T0 as i64,
    )
    .await
    .unwrap();
    assert_eq!(sent, 10);
    // The head-end's first posts fail; the listener comes up once the devices have answered
    // (the summary has not moved: nothing got through).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.summary(id).await.unwrap().sent, 10);
    let l = tokio::net::TcpListener::bind(callback_address)
        .await
        .unwrap();
    tokio::spawn(serve_plain(l, multispeak::callbacks(store.clone(), TDSP)));
    let s = until(&store, id, |s| s.device_acknowledged == 10).await;
    assert_eq!(s.failed, 0);
}
