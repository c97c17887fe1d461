//! The head-end definitions: every HAN command has its CIM control code, every result
//! vocabulary maps onto delivery states as the facts file reads it, job documents round-trip.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::message::{LoadControlMessage, PriceMessage, TextMessage, cluster_of};
use hanrig_gateway::routing::{HeadEndStyle, Tdsp};
use hanrig_headend::jobs::{Job, JobKind, JobRequest, TargetResult, TargetState};
use hanrig_headend::{cim, limits, multispeak};
use hanrig_sep::ZclFrame;

#[test]
fn every_han_command_the_gateway_sends_has_a_cim_control_code() {
    let lce = LoadControlMessage {
        device_class: 1,
        enrollment_group: 0,
        start: None,
        duration_minutes: 60,
        criticality: 1,
        cooling_offset: None,
        heating_offset: None,
        cooling_set_point: None,
        heating_set_point: None,
        load_adjustment: None,
        duty_cycle: None,
        randomize_start: false,
        randomize_end: false,
    };
    let price = PriceMessage {
        provider_id: 1,
        rate_label: "peak".into(),
        price: 1,
        trailing_digits: 2,
        tier: 1,
        currency: None,
        start: None,
        duration_minutes: None,
        acknowledge: false,
    };
    let text = TextMessage {
        text: "hi".into(),
        confirmation_required: false,
        importance: 0,
        start: None,
        duration_minutes: None,
    };
    let commands = [
        (text.command(1).unwrap(), cim::TEXT_DISPLAY),
        (TextMessage::cancel(1), cim::TEXT_CANCEL),
        (price.command(1).unwrap(), cim::PRICE_CREATE),
        (lce.command(1).unwrap(), cim::LCE_SCHEDULE),
        (lce.cancel(1, None, false).unwrap(), cim::LCE_CANCEL),
        (LoadControlMessage::cancel_all(false), cim::LCE_CANCEL_ALL),
    ];
    for (command, code) in commands {
        let cluster = cluster_of(&command).unwrap();
        let frame = ZclFrame::new(cluster, command, 1).unwrap();
        assert_eq!(
            cim::control_type(cluster, frame.header.command_id),
            Some(code),
            "{frame:?}"
        );
    }
    assert_eq!(cim::control_type(0x0702, 0x00), None);
}

#[test]
fn multispeak_registration_statuses_say_provisioned_failed_or_pending() {
    assert_eq!(multispeak::registration_status("Registered"), Some(true));
    assert_eq!(multispeak::registration_status("Leaving"), Some(false));
    assert_eq!(multispeak::registration_status("Joining"), None);
}

#[test]
fn job_documents_round_trip_and_refuse_unknown_fields() {
    let request = JobRequest {
        idempotency_key: "msg-42/centerpoint/0".into(),
        kind: JobKind::Deliver {
            cluster: 0x0701,
            zcl: "090100".into(),
        },
        targets: vec!["1008901000140000000000".into()],
        expires_at: 1_782_918_000,
        callback: None,
    };
    let json = serde_json::to_string(&request).unwrap();
    assert!(json.contains("\"type\":\"deliver\""), "{json}");
    assert_eq!(serde_json::from_str::<JobRequest>(&json).unwrap(), request);
    assert!(
        serde_json::from_str::<JobRequest>(&json.replace("\"targets\"", "\"meters\"")).is_err()
    );
    let job: Job = serde_json::from_str(
        r#"{"job_id":"j1","done":false,"results":[{"target":"1008901000140000000000","state":"acknowledged","detail":"Report Event Status: Started"}]}"#,
    )
    .unwrap();
    assert_eq!(
        job.results,
        [TargetResult {
            target: "1008901000140000000000".into(),
            state: TargetState::Acknowledged,
            detail: "Report Event Status: Started".into(),
            reading: None,
        }]
    );
}

#[test]
fn each_tdsp_has_a_style_with_its_limits() {
    for tdsp in Tdsp::ALL {
        let l = limits::of(tdsp.style());
        assert!(l.batch >= 1_000 && l.text_chars == 80, "{tdsp}");
    }
    assert_eq!(limits::of(HeadEndStyle::Jobs).poll_seconds, 5);
    assert_eq!(limits::of(HeadEndStyle::MultiSpeak).expiry_seconds, 600);
}
