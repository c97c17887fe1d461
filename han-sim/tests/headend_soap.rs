//! The simulated CIM and MultiSpeak head-ends, sans-IO: immediate answers name what they
//! refuse, the same correlation or transaction ID twice starts one delivery, and the results
//! they post follow what happens on each HAN.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::message::{LoadControlMessage, TextMessage, cluster_of};
use hanrig_headend::cim::{
    self, EndDevice, EndDeviceControl, EventMessage, Header, RequestMessage,
};
use hanrig_headend::multispeak::{
    Call, ExpTime, MsgHeader, Notification, NotificationMessage, Request, SeFrame, TimeUnits,
};
use hanrig_sep::ZclFrame;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{CimHeadEnd, Latency, MultiSpeakHeadEnd, Outgoing, device_eui};

const T0: u64 = 1_782_914_400;
const FAST: Latency = Latency {
    min_us: 1_000_000,
    max_us: 5_000_000,
    loss: 0.0,
};

fn meters(prefix: &str, n: u64) -> Vec<(String, DeviceKind)> {
    (0..n)
        .map(|i| {
            let kind = if i % 2 == 0 {
                DeviceKind::Thermostat
            } else {
                DeviceKind::InHomeDisplay
            };
            (format!("{prefix}{i:015}"), kind)
        })
        .collect()
}

fn encoded(command: hanrig_sep::Command) -> (u16, Vec<u8>) {
    let cluster = cluster_of(&command).unwrap();
    let mut buf = [0u8; 127];
    let len = ZclFrame::new(cluster, command, 4)
        .unwrap()
        .emit(&mut buf)
        .unwrap();
    (cluster, buf[..len].to_vec())
}

fn lce(id: u32) -> hanrig_sep::Command {
    LoadControlMessage {
        device_class: 0x0001,
        enrollment_group: 0,
        start: None,
        duration_minutes: 30,
        criticality: 1,
        cooling_offset: Some(20),
        heating_offset: None,
        cooling_set_point: None,
        heating_set_point: None,
        load_adjustment: None,
        duty_cycle: None,
        randomize_start: false,
        randomize_end: false,
    }
    .command(id)
    .unwrap()
}

fn cim_request(correlation: &str, names: &[String]) -> RequestMessage {
    let (cluster, zcl) = encoded(lce(11));
    RequestMessage {
        header: Header::new("create", cim::NOUN_CONTROLS, T0, "gw-1", correlation)
            .replying_to("http://gateway/cim"),
        controls: vec![
            EndDeviceControl::deliver(
                cluster,
                &zcl,
                T0,
                T0 + 3600,
                names.iter().map(|n| EndDevice::named(n)).collect(),
            )
            .unwrap(),
        ],
    }
}

/// Every EndDeviceEvent posted up to `until`, polling each simulated second.
fn cim_events(h: &mut CimHeadEnd, from: SimTime, seconds: u64) -> Vec<(Outgoing, EventMessage)> {
    (1..=seconds)
        .flat_map(|s| h.poll(from.plus(s * SimTime::SECOND)))
        .map(|o| {
            let m = EventMessage::from_xml(&o.body).unwrap();
            (o, m)
        })
        .collect()
}

#[test]
fn cim_head_end_answers_partial_naming_unknown_devices_and_posts_each_devices_events() {
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters("1003278", 10);
    let mut h = CimHeadEnd::new(&fleet, FAST, 3, start);
    // Meter 2's thermostat by its EUI64, the others by ESIID.
    let mut names: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();
    names[2] = device_eui(&fleet[2].0).to_string();
    names.push("10032789999999999999999".into());
    let request = cim_request("corr-1", &names);
    let reply = h.create(&request, start);
    assert_eq!(reply.reply.result, cim::ReplyResult::Partial);
    assert_eq!(reply.header.correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(reply.header.verb, "reply");
    assert_eq!(reply.reply.errors.len(), 1);
    assert_eq!(reply.reply.errors[0].code, "2.4");
    assert_eq!(
        reply.reply.errors[0].id.as_deref(),
        Some("10032789999999999999999")
    );
    // Re-sent after a crash: the same reply, nothing started twice.
    assert_eq!(h.create(&request, start), reply);

    let posted = cim_events(&mut h, start, 20);
    assert!(posted.iter().all(|(o, m)| o.url == "http://gateway/cim"
        && m.header.correlation_id.as_deref() == Some("corr-1")
        && m.header.verb == "created"));
    let events: Vec<_> = posted.iter().flat_map(|(_, m)| m.events.clone()).collect();
    for (i, (esiid, kind)) in fleet.iter().enumerate() {
        let mine: Vec<&str> = events
            .iter()
            .filter(|e| &e.end_device == esiid)
            .map(|e| e.event_type.as_str())
            .collect();
        match kind {
            _ if i == 2 => assert!(mine.is_empty()),
            // Thermostats answer: scheduled (CommandReceived), then started.
            DeviceKind::Thermostat => {
                assert_eq!(mine.last(), Some(&cim::event::LCE_STARTED), "{i}: {mine:?}");
                let unique: std::collections::BTreeSet<_> = mine.iter().collect();
                assert_eq!(unique.len(), mine.len(), "each event once: {mine:?}");
            }
            _ => assert_eq!(mine, vec![cim::event::LCE_SCHEDULED], "{i}"),
        }
    }
    assert!(
        events
            .iter()
            .any(|e| e.end_device == device_eui(&fleet[2].0).to_string()
                && e.event_type == cim::event::LCE_STARTED),
        "a device addressed by EUI64 reports too"
    );
    // The 30-minute event ends: each thermostat's Report Event Status says so.
    let ended: Vec<_> = cim_events(&mut h, start.plus(1800 * SimTime::SECOND), 60)
        .into_iter()
        .flat_map(|(_, m)| m.events)
        .collect();
    assert_eq!(ended.len(), 5, "{ended:?}");
    assert!(
        ended
            .iter()
            .all(|e| e.event_type == cim::event::LCE_STOPPED)
    );
    // Past the control's end nothing more is reported.
    assert!(cim_events(&mut h, start.plus(3700 * SimTime::SECOND), 5).is_empty());
}

#[test]
fn cim_head_end_refuses_synchronous_requests_and_missing_correlation() {
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters("1003278", 2);
    let mut h = CimHeadEnd::new(&fleet, FAST, 3, start);
    let names: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();
    let mut sync = cim_request("c-sync", &names);
    sync.header.async_reply_flag = None;
    let r = h.create(&sync, start);
    assert_eq!(r.reply.result, cim::ReplyResult::Failed);
    assert!(
        r.reply.errors[0]
            .reason
            .starts_with("SYNC_MODE_NOT_SUPPORTED")
    );
    let mut anonymous = cim_request("x", &names);
    anonymous.header.correlation_id = None;
    let r = h.create(&anonymous, start);
    assert_eq!(r.reply.errors[0].reason, "Header/CorrelationID is required");
    assert!(
        cim_events(&mut h, start, 20).is_empty(),
        "nothing was started"
    );
}

fn ms_request(transaction: &str, devices: Vec<String>, command: hanrig_sep::Command) -> Request {
    let (cluster, zcl) = encoded(command);
    let frame = ZclFrame::parse(cluster, &zcl).unwrap();
    Request {
        header: MsgHeader::new("hanrig", "SMT", "gw-1", T0),
        call: Call::from_se(&frame, devices).unwrap(),
        se_frame: Some(SeFrame { cluster, zcl }),
        response_url: "http://gateway/ms".into(),
        transaction_id: transaction.into(),
        exp_time: ExpTime {
            value: 10,
            units: TimeUnits::Minutes,
        },
    }
}

fn ms_notifications(
    h: &mut MultiSpeakHeadEnd,
    from: SimTime,
    seconds: u64,
) -> Vec<NotificationMessage> {
    (1..=seconds)
        .flat_map(|s| h.poll(from.plus(s * SimTime::SECOND)))
        .map(|o| {
            assert_eq!(o.url, "http://gateway/ms");
            NotificationMessage::from_xml(&o.body).unwrap()
        })
        .collect()
}

#[test]
fn multispeak_head_end_names_unknown_devices_and_notifies_each_devices_event_status() {
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters("1044372", 10);
    let mut h = MultiSpeakHeadEnd::new(&fleet, FAST, 9, start);
    let mut devices: Vec<String> = fleet.iter().map(|m| m.0.clone()).collect();
    devices.push("10443729999999999999999".into());
    let request = ms_request("tx-1", devices, lce(21));
    let response = h.initiate(&request, start);
    assert_eq!(response.operation, "InitiateDemandResponseEvent");
    assert_eq!(response.errors.len(), 1);
    assert_eq!(response.errors[0].object_id, "10443729999999999999999");
    assert_eq!(h.initiate(&request, start), response, "same transaction");

    let notes = ms_notifications(&mut h, start, 20);
    let mut last = std::collections::BTreeMap::new();
    for n in &notes {
        assert_eq!(n.transaction_id, "tx-1");
        let Notification::DemandResponseEvent(list) = &n.notification else {
            panic!("{n:?}")
        };
        for s in list {
            assert_eq!(s.event_id, 21);
            last.insert(s.device_id.clone(), s.event_status.clone());
        }
    }
    for (esiid, kind) in &fleet {
        let expected = match kind {
            DeviceKind::Thermostat => "Started",
            _ => "Delivered",
        };
        assert_eq!(
            last.get(esiid).map(String::as_str),
            Some(expected),
            "{esiid}"
        );
    }
}

#[test]
fn multispeak_head_end_reports_texts_displayed_and_refuses_requests_without_a_frame() {
    let start = SimTime::from_unix_seconds(T0);
    let fleet = meters("1044372", 4);
    let mut h = MultiSpeakHeadEnd::new(&fleet, FAST, 9, start);
    let displays: Vec<String> = fleet
        .iter()
        .filter(|m| m.1 == DeviceKind::InHomeDisplay)
        .map(|m| m.0.clone())
        .collect();
    let text = TextMessage {
        text: "Conserve 4-6 pm".into(),
        confirmation_required: false,
        importance: 1,
        start: None,
        duration_minutes: Some(30),
    };
    let mut bare = ms_request("tx-bare", displays.clone(), text.command(5).unwrap());
    bare.se_frame = None;
    let refused = h.initiate(&bare, start);
    assert!(
        refused.errors[0].error_string.contains("seFrame"),
        "{refused:?}"
    );
    let mismatched = Request {
        se_frame: ms_request("x", displays.clone(), lce(1)).se_frame,
        transaction_id: "tx-mismatch".into(),
        ..bare.clone()
    };
    let refused = h.initiate(&mismatched, start);
    assert!(
        refused.errors[0]
            .error_string
            .contains("InitiateDemandResponseEvent"),
        "{refused:?}"
    );

    let ok = h.initiate(
        &ms_request("tx-2", displays.clone(), text.command(5).unwrap()),
        start,
    );
    assert!(ok.errors.is_empty(), "{ok:?}");
    let notes = ms_notifications(&mut h, start, 20);
    let statuses: Vec<(String, u32, String)> = notes
        .iter()
        .flat_map(|n| -> Vec<(String, u32, String)> {
            match &n.notification {
                Notification::IhdMessageStatus(v) => v
                    .iter()
                    .map(|s| (s.device_id.clone(), s.message_id, s.status.clone()))
                    .collect(),
                other => panic!("{other:?}"),
            }
        })
        .collect();
    let mut expected: Vec<(String, u32, String)> = displays
        .iter()
        .map(|d| (d.clone(), 5, "Displayed".to_string()))
        .collect();
    let mut got = statuses.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
}
