//! The CIM chain on loopback (AEP Texas): repository → CIM connector → SOAP → simulated
//! head-end → simulated meters and thermostats → EndDeviceEvents posted back to the
//! connector's reply address → repository.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_connect::cim::{self, CimClient, cim_request, dispatch, dispatch_retrying};
use hanrig_headend::cim::event;
use hanrig_headend::limits::{self, Limits};
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{CimHeadEnd, serve_cim};

const TDSP: Tdsp = Tdsp::AepTexasCentral;

fn esiids(n: u64) -> Vec<String> {
    (0..n).map(|i| format!("1003278{i:015}")).collect()
}

/// A CIM head-end for `meters` on a free port, and a client whose reply address is a
/// callback listener recording into `store`.
async fn chain(store: &hanrig_gateway_store::Store, meters: &[String]) -> CimClient {
    let (callbacks, reply_address) = listener().await;
    tokio::spawn(serve_plain(callbacks, cim::callbacks(store.clone(), TDSP)));
    let (l, endpoint) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_cim(
        l,
        CimHeadEnd::new(&fleet(meters), MESH, 5, start),
        clock(),
        push(),
    ));
    CimClient::new(&endpoint, &reply_address)
}

#[tokio::test]
async fn a_load_control_event_reaches_every_aep_thermostat_and_every_report_comes_back_as_end_device_events()
 {
    let meters = esiids(250);
    let (store, id) = store_with_message("cim-chain", &meters, lce()).await;
    let client = chain(&store, &meters).await;
    // Batches of 100: three requests.
    let small = Limits {
        batch: 100,
        ..limits::of(TDSP.style())
    };
    let sent = dispatch(&store, TDSP, &client, &small, 10_000, T0 as i64)
        .await
        .unwrap();
    assert_eq!(sent, 250);
    // Each batch's deliveries carry its CorrelationID as their job.
    let jobs: std::collections::BTreeSet<String> = store
        .deliveries(id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| {
            // Signed: 96 bits of tag after the batch's rows.
            let (body, tag) = d.job.rsplit_once('-').unwrap();
            assert!(
                tag.len() == 24 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}",
                d.job
            );
            body.to_string()
        })
        .collect();
    let expected: std::collections::BTreeSet<String> = [(1, 100), (101, 200), (201, 250)]
        .iter()
        .map(|(first, last)| format!("m{id}-aep-texas-central-{first}-{last}"))
        .collect();
    assert_eq!(jobs, expected);
    assert_eq!(
        dispatch(&store, TDSP, &client, &small, 10_000, T0 as i64)
            .await
            .unwrap(),
        0,
        "nothing queued is left to send"
    );

    let s = until(&store, id, |s| s.device_acknowledged + s.failed == 250).await;
    assert_eq!((s.device_acknowledged, s.failed), (250, 0), "{s:?}");
    for row in store.deliveries(id).await.unwrap() {
        assert!(
            row.detail.starts_with("Report Event Status: ")
                && row.detail.ends_with(&format!("({})", event::LCE_STARTED)),
            "{row:?}"
        );
    }
    assert!(store.open_jobs(TDSP).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_gateway_that_crashed_after_sending_sends_the_same_correlation_id_and_nothing_is_delivered_twice()
 {
    let meters = esiids(20);
    let (store, id) = store_with_message("cim-crash", &meters, lce()).await;
    let client = chain(&store, &meters).await;
    let limits = limits::of(TDSP.style());
    // Before the crash: the request reached the head-end, but the gateway died before
    // recording it, so the deliveries are still queued.
    let queued = store.queued(TDSP, 100).await.unwrap();
    let message = store.message(id).await.unwrap();
    let request = cim_request(
        store.installation_secret(),
        &message,
        TDSP,
        &queued,
        &limits,
        client.reply_address(),
        T0 as i64,
    )
    .unwrap();
    let first = client.create(&request).await.unwrap();
    // After the restart: the dispatcher sends the same rows again, with the same ID.
    let sent = dispatch(&store, TDSP, &client, &limits, 100, T0 as i64)
        .await
        .unwrap();
    assert_eq!(sent, 20);
    let jobs = store.open_jobs(TDSP).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(Some(&jobs[0].0), request.header.correlation_id.as_ref());
    let again = client.create(&request).await.unwrap();
    assert_eq!(again, first, "the head-end answers the first reply again");

    until(&store, id, |s| s.device_acknowledged == 20).await;
    for row in store.deliveries(id).await.unwrap() {
        let started = store
            .delivery_events(row.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|(_, _, r)| r.contains(event::LCE_STARTED))
            .count();
        assert_eq!(started, 1, "one delivery, one start: {row:?}");
    }
}

#[tokio::test]
async fn unknown_meters_are_refused_by_name_and_the_rest_go_ahead() {
    let meters = esiids(5);
    let mut addressed = meters.clone();
    addressed.push("1003278999999999999999".into());
    let (store, id) = store_with_message("cim-partial", &addressed, lce()).await;
    let client = chain(&store, &meters).await;
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
    assert_eq!(sent, 6);
    let rows = store.deliveries(id).await.unwrap();
    let unknown = rows
        .iter()
        .find(|r| r.address == "1003278999999999999999")
        .unwrap();
    assert_eq!(unknown.status, DeliveryStatus::Failed);
    assert!(unknown.detail.contains("(2.4)"), "{unknown:?}");
    let s = until(&store, id, |s| s.device_acknowledged == 5).await;
    assert_eq!(s.failed, 1);
}

#[tokio::test]
async fn a_cim_head_end_that_is_down_is_retried_until_it_recovers() {
    let meters = esiids(10);
    let (store, id) = store_with_message("cim-down", &meters, lce()).await;
    let (callbacks, reply_address) = listener().await;
    tokio::spawn(serve_plain(callbacks, cim::callbacks(store.clone(), TDSP)));
    // A port with nothing behind it yet.
    let address = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let client = CimClient::new(&format!("http://{address}/"), &reply_address);
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
    // The head-end comes back 150 ms later.
    let fleet = fleet(&meters);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let l = tokio::net::TcpListener::bind(address).await.unwrap();
        let start = SimTime::from_unix_seconds(T0);
        serve_cim(l, CimHeadEnd::new(&fleet, MESH, 5, start), clock(), push()).await
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

/// The simulated displays show the text; a Message Confirmation needs a person to press a
/// button, which nobody does here, so each delivery ends displayed (delivered).
#[tokio::test]
async fn a_text_reaches_every_aep_display_and_each_reports_it_displayed() {
    use hanrig_gateway::message::TextMessage;
    use hanrig_sim::device::DeviceKind;
    let meters = esiids(20);
    let text = TextMessage {
        text: "Conserve 4-6 pm today".into(),
        confirmation_required: true,
        importance: 2,
        start: None,
        duration_minutes: Some(60),
    };
    let (store, id) = store_with_message("cim-text", &meters, text.command(12).unwrap()).await;
    let (callbacks, reply_address) = listener().await;
    tokio::spawn(serve_plain(callbacks, cim::callbacks(store.clone(), TDSP)));
    let (l, endpoint) = listener().await;
    let displays: Vec<(String, DeviceKind)> = meters
        .iter()
        .map(|m| (m.clone(), DeviceKind::InHomeDisplay))
        .collect();
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_cim(
        l,
        CimHeadEnd::new(&displays, MESH, 5, start),
        clock(),
        push(),
    ));
    let client = CimClient::new(&endpoint, &reply_address);
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
    assert_eq!(sent, 20);
    until(&store, id, |s| s.delivered == 20).await;
    for row in store.deliveries(id).await.unwrap() {
        assert_eq!(
            row.detail,
            format!("delivered to the device ({})", event::TEXT_DISPLAYED)
        );
    }
}

/// An EventMessage saying each of `addresses` acknowledged request `correlation`.
fn acknowledged(correlation: &str, addresses: &[String]) -> hanrig_headend::cim::EventMessage {
    use hanrig_headend::cim::{EndDeviceEvent, EventMessage, Header, NOUN_EVENTS};
    EventMessage {
        header: Header::new("created", NOUN_EVENTS, T0 + 60, "ev", correlation),
        events: addresses
            .iter()
            .map(|a| EndDeviceEvent {
                mrid: format!("ev-{a}"),
                created: T0 + 60,
                event_type: event::LCE_STARTED.into(),
                end_device: a.clone(),
                reason: String::new(),
            })
            .collect(),
    }
}

/// Before a batch is marked sent, only its signed request ID gets "post again later": a
/// guessed ID (the unsigned shape), a forged tag, or the right ID at another TDSP's listener
/// gets the answer any unknown ID gets, so no one can learn which batches exist; and another
/// installation signs the same batch differently.
#[tokio::test]
async fn results_for_a_batch_not_yet_sent_are_heard_only_under_its_signed_id() {
    use hanrig_gateway_connect::cim::record_events;
    use hanrig_gateway_connect::request_id;
    use hanrig_headend::cim::ReplyResult;
    let meters = esiids(3);
    let (store, id) = store_with_message("cim-signed", &meters, lce()).await;
    let queued = store.queued(TDSP, 100).await.unwrap();
    let message = store.message(id).await.unwrap();
    let signed = request_id(store.installation_secret(), &message, TDSP, &queued);
    assert!(
        record_events(&store, TDSP, &acknowledged(&signed, &meters))
            .await
            .unwrap()
            .is_none(),
        "the signed ID of a batch not yet marked sent is told to post again"
    );
    let (body, _) = signed.rsplit_once('-').unwrap();
    for (tdsp, guess) in [
        (TDSP, body.to_string()),
        (TDSP, format!("{body}-{}", "0".repeat(24))),
        (Tdsp::AepTexasNorth, signed.clone()),
        (
            TDSP,
            format!("m{}-aep-texas-central-1-3-{}", id + 1, "0".repeat(24)),
        ),
    ] {
        let reply = record_events(&store, tdsp, &acknowledged(&guess, &meters))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{guess} at {tdsp}: told to post again: it exists"));
        assert_eq!(reply.reply.result, ReplyResult::Partial, "{guess}");
        assert_eq!(reply.reply.errors.len(), 3, "{guess}");
    }
    assert_eq!(store.summary(id).await.unwrap().queued, 3, "nothing moved");
    let (other, _) = store_with_message("cim-signed-other", &meters, lce()).await;
    let other_message = other.message(id).await.unwrap();
    assert_eq!(other_message.command, message.command);
    assert_ne!(
        request_id(other.installation_secret(), &other_message, TDSP, &queued),
        signed,
        "another installation signs the same batch alike"
    );
}
