//! Head-ends that fault, against a running gateway: a request a head-end refuses as written
//! (a SOAP client Fault) fails its deliveries with the head-end's words and is not sent
//! again; a server Fault is the head-end's own trouble and the batch is retried until it is
//! taken; a message the style cannot carry fails with the reason instead of holding up the
//! queue; and through all of it the API keeps serving, and `/healthz` and `/metrics` show it.

#![allow(clippy::unwrap_used)]

#[path = "../../connect/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::*;
use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::message::{addresses, plan};
use hanrig_gateway::routing::{HeadEndStyle, Routing, Tdsp};
use hanrig_gateway_api::pki::LabCa;
use hanrig_gateway_api::tls::{pinned_server_config, server_config};
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::{Connector, Pace, tls_client};
use hanrig_gateway_server::{Callbacks, Gateway, Link};
use hanrig_gateway_store::{DeliveryRecord, NewMessage, Store};
use hanrig_headend::cim::{
    Header, NOUN_CONTROLS, Reply, ReplyResult, RequestMessage, ResponseMessage,
};
use hanrig_headend::limits;
use hanrig_headend::xml::fault;

/// How a scripted CIM head-end answers: a client Fault always, or a server Fault the first
/// `n` times and then OK.
#[derive(Clone, Copy)]
enum Script {
    ClientFault,
    ServerFaults(u32),
}

const REFUSAL: &str = "EndDeviceControlType 0.15.43.300 is not enabled for this utility";

/// A scripted head-end on a free port; its URL and how many requests it has had.
async fn scripted(script: Script) -> (String, Arc<AtomicU32>) {
    use axum::http::StatusCode;
    let count = Arc::new(AtomicU32::new(0));
    let seen = count.clone();
    let answer = move |body: String| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            let id = RequestMessage::from_xml(&body)
                .ok()
                .and_then(|r| r.header.correlation_id)
                .unwrap_or_default();
            match script {
                Script::ClientFault => (StatusCode::INTERNAL_SERVER_ERROR, fault(true, REFUSAL)),
                Script::ServerFaults(k) if n <= k => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    fault(false, "database busy"),
                ),
                Script::ServerFaults(_) => (
                    StatusCode::OK,
                    ResponseMessage {
                        header: Header::new("reply", NOUN_CONTROLS, T0, &format!("{id}-r"), &id),
                        reply: Reply {
                            result: ReplyResult::Ok,
                            errors: Vec::new(),
                        },
                        readings: Vec::new(),
                    }
                    .to_xml(),
                ),
            }
        }
    };
    let (l, url) = listener().await;
    let app = axum::Router::new().route("/", axum::routing::post(answer));
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, count)
}

/// Accepts a message carrying `frame` of `cluster` to `esiids`, as the API stores one.
async fn accept(store: &Store, esiids: &[String], cluster: u16, frame: &[u8]) -> i64 {
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
                command: frame,
            },
            &deliveries,
            T0 as i64,
        )
        .await
        .unwrap()
}

async fn settled(
    store: &Store,
    message: i64,
    done: impl Fn(&DeliveryRecord) -> bool,
) -> Vec<DeliveryRecord> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let all = store.deliveries(message).await.unwrap();
        if all.iter().all(&done) {
            return all;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {all:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulting_head_ends_fail_or_retry_their_batches_and_the_api_keeps_serving() {
    let central: Vec<String> = (0..3u64).map(|i| format!("1003278{i:015}")).collect();
    let north: Vec<String> = (0..3u64).map(|i| format!("1020404{i:015}")).collect();
    let both: Vec<String> = central.iter().chain(&north).cloned().collect();
    let (store, event) = store_with_message("server-faults", &both, lce()).await;
    // A DRLC Write Attributes: a general command, no CIM control type carries it.
    let uncarried = accept(
        &store,
        &north,
        0x0701,
        &[0x00, 0x07, 0x02, 0x00, 0x00, 0x20, 0x01],
    )
    .await;

    let lab = LabCa::create().unwrap();
    let server = lab.issue_server(&["localhost", "127.0.0.1"]).unwrap();
    let headend_ca = LabCa::create().unwrap();
    let (central_url, central_requests) = scripted(Script::ClientFault).await;
    let (north_url, north_requests) = scripted(Script::ServerFaults(2)).await;
    let mut links = Vec::new();
    for (tdsp, url) in [
        (Tdsp::AepTexasCentral, &central_url),
        (Tdsp::AepTexasNorth, &north_url),
    ] {
        let callbacks = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let reply = format!(
            "https://localhost:{}/",
            callbacks.local_addr().unwrap().port()
        );
        links.push(Link {
            tdsp,
            connector: Connector::Cim(CimClient::new(url, &reply)),
            callbacks: Some(Callbacks {
                listener: callbacks,
                tls: pinned_server_config(
                    headend_ca.cert_pem(),
                    &[],
                    &server.cert_pem,
                    &server.key_pem,
                )
                .unwrap(),
            }),
            pace: Pace {
                idle: Duration::from_millis(20),
                backoff: Duration::from_millis(20),
                ..Pace::of(limits::of(HeadEndStyle::Cim))
            },
        });
    }
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api_url = format!("https://localhost:{}", api.local_addr().unwrap().port());
    tokio::spawn(
        Gateway {
            store: store.clone(),
            routing: Routing::texas(),
            api,
            api_tls: server_config(lab.cert_pem(), &server.cert_pem, &server.key_pem).unwrap(),
            clock: hanrig_gateway_server::now,
            links,
            limits: Default::default(),
            usage_drop: None,
            portal: None,
        }
        .serve(std::future::pending()),
    );

    // Central's client Fault fails its three deliveries with the head-end's words, once.
    // North's two server Faults are retried until the head-end takes the batch.
    let all = settled(&store, event, |d| {
        matches!(d.status, DeliveryStatus::Failed | DeliveryStatus::Sent)
    })
    .await;
    for d in &all {
        if d.tdsp == Tdsp::AepTexasCentral {
            assert_eq!(d.status, DeliveryStatus::Failed, "{d:?}");
            assert_eq!(
                d.detail,
                format!("refused by the head-end (SOAP Fault): {REFUSAL}"),
                "{d:?}"
            );
        } else {
            assert_eq!(d.status, DeliveryStatus::Sent, "{d:?}");
        }
    }
    assert_eq!(
        central_requests.load(Ordering::SeqCst),
        1,
        "a refused request is not sent again"
    );
    assert!(
        north_requests.load(Ordering::SeqCst) >= 3,
        "retried past both server Faults"
    );

    // The message the style cannot carry fails saying why; it held nothing up.
    for d in settled(&store, uncarried, |d| d.status == DeliveryStatus::Failed).await {
        assert!(
            d.detail
                .starts_with("the head-end's style cannot carry it:"),
            "{d:?}"
        );
    }

    // The API serves throughout: a caller with a certificate and no password is asked for one.
    let client = lab.issue_client("Demo Energy Services").unwrap();
    let http = tls_client(
        lab.cert_pem(),
        Some((&client.cert_pem, &client.key_pem)),
        Duration::from_secs(10),
    )
    .unwrap();
    let status = http
        .get(format!("{api_url}/v1/agreements"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 401);

    // Operators see it: both connectors running (neither stopped), the failures counted.
    let health: serde_json::Value = http
        .get(format!("{api_url}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(
        health["connectors"]["aep-texas-central"]["running"], true,
        "{health}"
    );
    assert_eq!(
        health["connectors"]["aep-texas-north"]["restarts"], 0,
        "{health}"
    );
    let metrics = http
        .get(format!("{api_url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "hanrig_connector_up{tdsp=\"aep-texas-central\"} 1",
        "hanrig_connector_restarts_total{tdsp=\"aep-texas-north\"} 0",
        "hanrig_deliveries{tdsp=\"aep-texas-central\",status=\"failed\"} 3",
        "hanrig_deliveries{tdsp=\"aep-texas-north\",status=\"failed\"} 3",
        "hanrig_deliveries{tdsp=\"aep-texas-north\",status=\"sent\"} 3",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in\n{metrics}"
        );
    }
}
