//! The job-style chain on loopback: repository → dispatcher → HTTP → simulated head-end →
//! simulated meters and thermostats → results polled back into the repository.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use hanrig_gateway::message::LoadControlMessage;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::{JobsClient, collect, dispatch, dispatch_retrying, job_request};
use hanrig_headend::limits::{self, Limits};
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{JobsHeadEnd, serve_jobs};

#[tokio::test]
async fn a_load_control_event_reaches_every_thermostat_and_every_report_comes_back() {
    // 250 CenterPoint meters, each with a thermostat.
    let esiids: Vec<String> = (0..250u64).map(|i| format!("1008901{i:015}")).collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    serve(listener, &esiids);
    let (store, id) = store_with_message("chain", &esiids, lce()).await;

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

/// CenterPoint's head-end for `esiids`' thermostats, served on `listener`.
fn serve(listener: tokio::net::TcpListener, esiids: &[String]) {
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_jobs(
        listener,
        JobsHeadEnd::new(&fleet(esiids), MESH, 5, start),
        clock(),
    ));
}

#[tokio::test]
async fn a_gateway_that_crashed_after_submitting_sends_the_same_job_again_not_a_second_one() {
    let esiids: Vec<String> = (0..20u64).map(|i| format!("1008901{i:015}")).collect();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = JobsClient::new(&format!("http://{}", listener.local_addr().unwrap()));
    serve(listener, &esiids);
    let (store, id) =
        store_with_message("crash", &esiids, LoadControlMessage::cancel_all(false)).await;
    let limits = limits::of(Tdsp::Centerpoint.style());
    // Before the crash: the batch went to the head-end, but the gateway died before recording
    // it, so the deliveries are still queued.
    let queued = store.queued(Tdsp::Centerpoint, 100).await.unwrap();
    let message = store.message(id).await.unwrap();
    let first = client
        .submit(&job_request(
            store.installation_secret(),
            &message,
            Tdsp::Centerpoint,
            &queued,
            &limits,
            T0 as i64,
        ))
        .await
        .unwrap();
    // After the restart: the dispatcher sends the same rows again.
    let sent = dispatch(&store, Tdsp::Centerpoint, &client, &limits, 100, T0 as i64)
        .await
        .unwrap();
    assert_eq!(sent, 20);
    let jobs = store.open_jobs(Tdsp::Centerpoint).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].0, first,
        "the head-end answered the first job again"
    );
    assert!(client.job("job-2").await.is_err(), "no second job exists");
}

#[tokio::test]
async fn a_head_end_that_is_down_is_retried_until_it_recovers() {
    let esiids: Vec<String> = (0..10u64).map(|i| format!("1008901{i:015}")).collect();
    // A port with nothing behind it yet.
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let client = JobsClient::new(&format!("http://{address}"));
    let (store, id) =
        store_with_message("down", &esiids, LoadControlMessage::cancel_all(false)).await;
    let limits = limits::of(Tdsp::Centerpoint.style());
    let e = dispatch(&store, Tdsp::Centerpoint, &client, &limits, 100, T0 as i64)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("head-end http://{address}")),
        "{e}"
    );
    assert_eq!(store.summary(id).await.unwrap().queued, 10, "nothing lost");
    // The head-end comes back 150 ms later.
    let fleet = esiids.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let listener = tokio::net::TcpListener::bind(address).await.unwrap();
        serve(listener, &fleet);
    });
    let sent = dispatch_retrying(
        &store,
        Tdsp::Centerpoint,
        &client,
        &limits,
        T0 as i64,
        10,
        Duration::from_millis(20),
    )
    .await
    .unwrap();
    assert_eq!(sent, 10);
}
