//! The attacks on the head-end callbacks, against a running gateway (hanrig-gateway-server, as
//! `hanrig gateway serve` and `hanrig lab up` compose it): a result posted without the
//! head-end's certificate, with a certificate of the API's CA, or with another TDSP's
//! head-end's certificate — or one the head-end's CA signed that is not the pinned one —
//! never reaches the gateway; the genuine head-end posting a guessed
//! or forged request ID, or another TDSP's request, moves nothing and is answered as an
//! unknown ID is; only the genuine head-end with the genuine ID moves a delivery. And idle
//! connections that never finish a handshake are closed.

#![allow(clippy::unwrap_used)]

#[path = "../../connect/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::*;
use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::routing::{HeadEndStyle, Tdsp};
use hanrig_gateway_api::pki::{Issued, LabCa};
use hanrig_gateway_api::tls::{ListenerLimits, pinned_server_config, server_config};
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::{Connector, Pace, tls_client};
use hanrig_gateway_server::{Callbacks, Gateway, Link};
use hanrig_gateway_store::{DeliveryRecord, Store};
use hanrig_headend::cim::{
    self, EndDeviceEvent, EventMessage, Header, NOUN_EVENTS, ReplyResult, ResponseMessage,
};
use hanrig_headend::limits;
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{CimHeadEnd, serve_cim};

const CENTRAL: Tdsp = Tdsp::AepTexasCentral;
const NORTH: Tdsp = Tdsp::AepTexasNorth;

/// A calling-back TDSP's head-end credentials: its own CA and the client certificate it
/// signed.
struct HeadEndPki {
    ca: LabCa,
    identity: Issued,
}

fn headend_pki(tdsp: Tdsp) -> HeadEndPki {
    let ca = LabCa::create().unwrap();
    let identity = ca.issue_client(&format!("{tdsp} head-end")).unwrap();
    HeadEndPki { ca, identity }
}

/// A running gateway with two CIM TDSPs. Central's simulated head-end cannot call back (its
/// client holds no certificate), so its deliveries stay sent; North's calls back as it
/// should. Returns the store, the message, the lab CA, both head-ends' credentials and the
/// callback URLs.
struct Running {
    store: Store,
    message: i64,
    lab: LabCa,
    central: HeadEndPki,
    north: HeadEndPki,
    central_url: String,
    north_url: String,
}

async fn running(name: &str, limits: ListenerLimits) -> Running {
    let central_meters: Vec<String> = (0..3u64).map(|i| format!("1003278{i:015}")).collect();
    let north_meters: Vec<String> = (0..3u64).map(|i| format!("1020404{i:015}")).collect();
    let all: Vec<String> = central_meters
        .iter()
        .chain(&north_meters)
        .cloned()
        .collect();
    let (store, message) = store_with_message(name, &all, lce()).await;
    let lab = LabCa::create().unwrap();
    let server = lab.issue_server(&["localhost", "127.0.0.1"]).unwrap();
    let (central, north) = (headend_pki(CENTRAL), headend_pki(NORTH));
    let mut links = Vec::new();
    let mut urls = Vec::new();
    for (tdsp, meters, pki, can_call_back) in [
        (CENTRAL, &central_meters, &central, false),
        (NORTH, &north_meters, &north, true),
    ] {
        let push = if can_call_back {
            tls_client(
                lab.cert_pem(),
                Some((&pki.identity.cert_pem, &pki.identity.key_pem)),
                Duration::from_secs(10),
            )
            .unwrap()
        } else {
            push()
        };
        let (l, endpoint) = listener().await;
        let start = SimTime::from_unix_seconds(T0);
        tokio::spawn(serve_cim(
            l,
            CimHeadEnd::new(&fleet(meters), MESH, 5, start),
            clock(),
            push,
        ));
        let callbacks = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}/",
            callbacks.local_addr().unwrap().port()
        );
        // Central admits only its head-end's certificate (pinned); North any its CA signed.
        let pins = if tdsp == CENTRAL {
            vec![pki.identity.fingerprint.clone()]
        } else {
            Vec::new()
        };
        let tls = pinned_server_config(pki.ca.cert_pem(), &pins, &server.cert_pem, &server.key_pem)
            .unwrap();
        links.push(Link {
            tdsp,
            connector: Connector::Cim(CimClient::new(&endpoint, &url)),
            callbacks: Some(Callbacks {
                listener: callbacks,
                tls,
            }),
            pace: Pace {
                idle: Duration::from_millis(50),
                ..Pace::of(limits::of(HeadEndStyle::Cim))
            },
        });
        urls.push(url);
    }
    let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = Gateway {
        store: store.clone(),
        routing: hanrig_gateway::routing::Routing::texas(),
        api,
        api_tls: server_config(lab.cert_pem(), &server.cert_pem, &server.key_pem).unwrap(),
        clock: hanrig_gateway_server::now,
        links,
        limits,
        usage_drop: None,
        portal: None,
    };
    tokio::spawn(gateway.serve(std::future::pending()));
    let north_url = urls.pop().unwrap();
    let central_url = urls.pop().unwrap();
    Running {
        store,
        message,
        lab,
        central,
        north,
        central_url,
        north_url,
    }
}

/// The message's deliveries through `tdsp`, once `done` holds for all of them (30 s guard).
async fn deliveries_when(
    store: &Store,
    message: i64,
    tdsp: Tdsp,
    done: impl Fn(&DeliveryRecord) -> bool,
) -> Vec<DeliveryRecord> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let of: Vec<DeliveryRecord> = store
            .deliveries(message)
            .await
            .unwrap()
            .into_iter()
            .filter(|d| d.tdsp == tdsp)
            .collect();
        if of.iter().all(&done) {
            return of;
        }
        assert!(Instant::now() < deadline, "gave up waiting: {of:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An EventMessage saying each of `devices` acknowledged request `id`.
fn acknowledged(id: &str, devices: &[&DeliveryRecord]) -> String {
    EventMessage {
        header: Header::new("created", NOUN_EVENTS, T0 + 60, "forged-1", id),
        events: devices
            .iter()
            .map(|d| EndDeviceEvent {
                mrid: format!("ev-{}", d.id),
                created: T0 + 60,
                event_type: cim::event::LCE_STARTED.into(),
                end_device: d.address.clone(),
                reason: "owned".into(),
            })
            .collect(),
    }
    .to_xml()
}

/// Posts `body` to `url` as a head-end holding `identity` (none: no certificate); the status
/// and the answer, or the error when the connection is refused.
async fn post(
    lab: &LabCa,
    identity: Option<&Issued>,
    url: &str,
    body: String,
) -> Result<(u16, String), String> {
    let client = tls_client(
        lab.cert_pem(),
        identity.map(|i| (i.cert_pem.as_str(), i.key_pem.as_str())),
        Duration::from_secs(10),
    )
    .unwrap();
    let response = client
        .post(url)
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    Ok((status, response.text().await.map_err(|e| e.to_string())?))
}

/// What a reply says: its result and each error's device.
fn verdict(answer: &(u16, String)) -> (u16, ReplyResult, Vec<String>) {
    let reply = ResponseMessage::from_xml(&answer.1).unwrap();
    let ids = reply
        .reply
        .errors
        .iter()
        .filter_map(|e| e.id.clone())
        .collect();
    (answer.0, reply.reply.result, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_results_move_nothing_and_the_genuine_head_end_moves_its_own() {
    let r = running("server-forged", ListenerLimits::default()).await;
    // The genuine path works over mutual TLS: North's head-end reports every device.
    deliveries_when(&r.store, r.message, NORTH, |d| {
        d.status == DeliveryStatus::DeviceAcknowledged
    })
    .await;
    // Central's deliveries went out and wait for results.
    let sent = deliveries_when(&r.store, r.message, CENTRAL, |d| {
        d.status == DeliveryStatus::Sent
    })
    .await;
    let genuine = sent[0].job.clone();
    let targets: Vec<&DeliveryRecord> = sent.iter().collect();
    let forged = acknowledged(&genuine, &targets);

    // No certificate, the API's CA's certificate, North's head-end's certificate, a
    // certificate Central's CA signed that is not the pinned one: no handshake.
    let third_party = r.lab.issue_client("Demo Energy Services").unwrap();
    let unpinned = r.central.ca.issue_client("a second AEP system").unwrap();
    for (who, identity) in [
        ("no certificate", None),
        ("a certificate of the API's CA", Some(&third_party)),
        ("another TDSP's head-end", Some(&r.north.identity)),
        (
            "a certificate of the head-end's CA that is not pinned",
            Some(&unpinned),
        ),
    ] {
        let answer = post(&r.lab, identity, &r.central_url, forged.clone()).await;
        assert!(answer.is_err(), "{who}: admitted: {answer:?}");
    }

    // The genuine head-end with a guessed or forged ID: nothing moves, and the answer is the
    // one an unknown ID gets.
    let central = Some(&r.central.identity);
    let (body, _) = genuine.rsplit_once('-').unwrap();
    let unknown = post(
        &r.lab,
        central,
        &r.central_url,
        acknowledged(
            "m999-aep-texas-central-1-3-000000000000000000000000",
            &targets,
        ),
    )
    .await
    .unwrap();
    let refused = verdict(&unknown);
    assert_eq!(refused.1, ReplyResult::Partial, "{unknown:?}");
    assert_eq!(refused.2.len(), 3);
    for guess in [
        body.to_string(),
        format!("{body}-000000000000000000000000"),
        format!("{body}-{}", "f".repeat(24)),
    ] {
        let answer = post(
            &r.lab,
            central,
            &r.central_url,
            acknowledged(&guess, &targets),
        )
        .await
        .unwrap();
        assert_eq!(verdict(&answer), refused, "{guess}: {answer:?}");
    }
    // North's head-end posting Central's genuine request to its own listener moves nothing.
    let answer = post(
        &r.lab,
        Some(&r.north.identity),
        &r.north_url,
        forged.clone(),
    )
    .await
    .unwrap();
    assert_eq!(verdict(&answer), refused, "{answer:?}");
    let after = deliveries_when(&r.store, r.message, CENTRAL, |_| true).await;
    assert!(
        after.iter().all(|d| d.status == DeliveryStatus::Sent),
        "a forged result moved a delivery: {after:?}"
    );

    // The genuine head-end with the genuine ID is heard.
    let answer = post(&r.lab, central, &r.central_url, forged).await.unwrap();
    let heard = verdict(&answer);
    assert_eq!((heard.0, heard.1), (200, ReplyResult::Ok), "{answer:?}");
    deliveries_when(&r.store, r.message, CENTRAL, |d| {
        d.status == DeliveryStatus::DeviceAcknowledged
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_a_handshake_are_closed() {
    use tokio::io::AsyncReadExt;
    let limits = ListenerLimits {
        handshake: Duration::from_millis(300),
        ..ListenerLimits::default()
    };
    let r = running("server-idle", limits).await;
    let address = r
        .central_url
        .trim_start_matches("https://localhost:")
        .trim_end_matches('/');
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(
            tokio::net::TcpStream::connect(format!("127.0.0.1:{address}"))
                .await
                .unwrap(),
        );
    }
    // Each is closed by the gateway (read gives end of stream); the guard only keeps a broken
    // listener from hanging the test.
    for mut c in idle {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(Duration::from_secs(20), c.read(&mut byte))
            .await
            .expect("an idle connection was left open")
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
    // The listener still serves the genuine head-end.
    let sent = deliveries_when(&r.store, r.message, CENTRAL, |d| {
        d.status == DeliveryStatus::Sent
    })
    .await;
    let answer = post(
        &r.lab,
        Some(&r.central.identity),
        &r.central_url,
        acknowledged(&sent[0].job, &sent.iter().collect::<Vec<_>>()),
    )
    .await
    .unwrap();
    assert_eq!(answer.0, 200, "{answer:?}");
}
