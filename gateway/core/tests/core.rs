//! The gateway's domain rules, each pinned by what it accepts and what it refuses.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::agreement::{AgreementError, AgreementState, EndReason, INVITATION_SECONDS};
use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::device::{DeviceError, DeviceRequest, DeviceState, DeviceType, RemovalReason};
use hanrig_gateway::esiid::{Esiid, EsiidError};
use hanrig_gateway::message::{
    Address, LoadControlMessage, MessageError, PriceMessage, TextMessage, Unroutable, addresses,
    cluster_of, plan,
};
use hanrig_gateway::routing::{HeadEndStyle, Routing, RoutingError, Tdsp};
use hanrig_sep::{Command, ZclFrame};

const ONCOR: &str = "10443720001234567";
const CENTERPOINT: &str = "1008901000140000000000";
const IC: &str = "83FED3407A939723A5C639B26916D505C3B5";

#[test]
fn esiids_are_17_or_22_digits_starting_with_10() {
    assert_eq!(ONCOR.parse::<Esiid>().unwrap().as_str(), ONCOR);
    assert!(CENTERPOINT.parse::<Esiid>().is_ok());
    assert_eq!(
        "1044372".parse::<Esiid>(),
        Err(EsiidError::Length("1044372".into(), 7))
    );
    assert_eq!(
        "1044372000123456X".parse::<Esiid>(),
        Err(EsiidError::NotDigit("1044372000123456X".into(), 17))
    );
    assert_eq!(
        "20443720001234567".parse::<Esiid>(),
        Err(EsiidError::Prefix("20443720001234567".into()))
    );
    // JSON: the same checks.
    assert!(serde_json::from_str::<Esiid>("\"1044372\"").is_err());
    assert_eq!(
        serde_json::to_string(&ONCOR.parse::<Esiid>().unwrap()).unwrap(),
        format!("\"{ONCOR}\"")
    );
}

#[test]
fn the_texas_table_routes_every_tdsp_and_each_speaks_its_style() {
    let routing = Routing::texas();
    let route = |e: &str| routing.route(&e.parse().unwrap());
    assert_eq!(route(ONCOR), Ok(Tdsp::Oncor));
    assert_eq!(route("10176990001234567"), Ok(Tdsp::Oncor));
    assert_eq!(route(CENTERPOINT), Ok(Tdsp::Centerpoint));
    assert_eq!(route("10032780001234567"), Ok(Tdsp::AepTexasCentral));
    assert_eq!(route("10204040001234567"), Ok(Tdsp::AepTexasNorth));
    assert_eq!(route("10400510001234567"), Ok(Tdsp::Tnmp));
    assert_eq!(
        route("10999990001234567"),
        Err(RoutingError::UnknownPrefix("10999990001234567".into()))
    );
    for tdsp in Tdsp::ALL {
        assert!(routing.prefixes().iter().any(|(_, t)| *t == tdsp), "{tdsp}");
    }
    let styles: Vec<HeadEndStyle> = Tdsp::ALL.iter().map(|t| t.style()).collect();
    for style in [
        HeadEndStyle::Cim,
        HeadEndStyle::MultiSpeak,
        HeadEndStyle::Jobs,
    ] {
        assert!(styles.contains(&style), "{style:?}");
    }
}

#[test]
fn the_longest_prefix_wins_and_bad_tables_are_refused() {
    let routing = Routing::from_toml(
        "[[prefix]]\nprefix = \"10\"\ntdsp = \"tnmp\"\n[[prefix]]\nprefix = \"1044372\"\ntdsp = \"oncor\"\n",
    )
    .unwrap();
    assert_eq!(routing.route(&ONCOR.parse().unwrap()), Ok(Tdsp::Oncor));
    assert_eq!(routing.route(&CENTERPOINT.parse().unwrap()), Ok(Tdsp::Tnmp));
    assert_eq!(
        Routing::from_toml("[[prefix]]\nprefix = \"1044\"\ntdsp = \"txu\"\n"),
        Err(RoutingError::UnknownTdsp("txu".into()))
    );
    assert_eq!(
        Routing::new([("20".to_string(), Tdsp::Oncor)]),
        Err(RoutingError::BadPrefix("20".into()))
    );
    assert_eq!(
        Routing::new([
            ("1044".to_string(), Tdsp::Oncor),
            ("1044".to_string(), Tdsp::Tnmp)
        ]),
        Err(RoutingError::Duplicate("1044".into()))
    );
    assert!(matches!(
        Routing::from_toml("[[prefix]]\nprefix = 1044\n"),
        Err(RoutingError::Toml(_))
    ));
}

#[test]
fn a_device_request_checks_its_install_code_crc_and_the_meter_limit() {
    let request = DeviceRequest::new(
        ONCOR,
        "00:12:4b:00:01:02:03:04",
        IC,
        DeviceType::InHomeDisplay,
        "kitchen display",
    )
    .unwrap();
    assert_eq!(request.install_code.link_key()[..2], [0x66, 0xB6]);
    // One digit off: the CRC no longer matches.
    let bad = DeviceRequest::new(
        ONCOR,
        "00:12:4b:00:01:02:03:04",
        "83FED3407A939723A5C639B26916D505C3B6",
        DeviceType::InHomeDisplay,
        "",
    )
    .unwrap_err();
    assert!(
        matches!(&bad, DeviceError::InstallCode(m) if m.to_lowercase().contains("crc")),
        "{bad}"
    );
    assert_eq!(
        DeviceRequest::new(ONCOR, "00:12:4b", IC, DeviceType::Thermostat, "").unwrap_err(),
        DeviceError::Eui64("00:12:4b".into())
    );
    assert_eq!(
        DeviceRequest::new(
            ONCOR,
            "00:12:4b:00:01:02:03:04",
            IC,
            DeviceType::Thermostat,
            &"x".repeat(65)
        )
        .unwrap_err(),
        DeviceError::Description(65)
    );

    let meter: Esiid = ONCOR.parse().unwrap();
    let other: Esiid = CENTERPOINT.parse().unwrap();
    let provisioned = DeviceState::Provisioned;
    let removed = DeviceState::Removed {
        reason: RemovalReason::CustomerRequest,
    };
    let failed = DeviceState::Failed {
        reason: "meter did not answer".into(),
    };
    let eui = |n: u64| hanrig_sep::Eui64(0x0012_4B00_0000_0000 + n);
    // Four active on the meter, plus removed and failed ones and one elsewhere: room for one.
    let mut known: Vec<(&Esiid, hanrig_sep::Eui64, &DeviceState)> =
        (1..=4).map(|n| (&meter, eui(n), &provisioned)).collect();
    known.push((&meter, eui(10), &removed));
    known.push((&meter, eui(11), &failed));
    known.push((&other, eui(12), &provisioned));
    assert_eq!(request.admissible(known.clone()), Ok(()));
    known.push((&meter, eui(5), &DeviceState::Pending));
    assert_eq!(
        request.admissible(known.clone()),
        Err(DeviceError::MeterFull {
            esiid: meter.clone(),
            count: 5
        })
    );
    // The same device active on another meter.
    let active_elsewhere = vec![(&other, request.eui64, &provisioned)];
    assert_eq!(
        request.admissible(active_elsewhere),
        Err(DeviceError::Duplicate(request.eui64))
    );
}

#[test]
fn addresses_are_checked_counted_and_deduplicated() {
    let list = addresses(
        &[ONCOR.into(), ONCOR.into(), CENTERPOINT.into()],
        &["00:12:4b:00:01:02:03:04".into()],
    )
    .unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.contains(&Address::Device(hanrig_sep::Eui64(0x0012_4B00_0102_0304))));
    assert_eq!(addresses(&[], &[]), Err(MessageError::NoAddress));
    let many: Vec<String> = (0..10_001u64).map(|i| format!("1044372{i:010}")).collect();
    assert_eq!(
        addresses(&many, &[]),
        Err(MessageError::TooManyAddresses("esiids", 10_001))
    );
    let devices: Vec<String> = (0..10_000u64).map(|i| format!("{i:016x}")).collect();
    assert_eq!(
        addresses(&many[..10_000], &devices).unwrap().len(),
        20_000,
        "10,000 of each"
    );
    assert_eq!(addresses(&many[..10_000], &[]).unwrap().len(), 10_000);
    assert!(matches!(
        addresses(&[ONCOR.into(), "1044".into()], &[]),
        Err(MessageError::Esiid(1, EsiidError::Length(_, 4)))
    ));
    assert_eq!(
        addresses(&[], &["zz".into()]),
        Err(MessageError::Device(0, "zz".into()))
    );
}

/// The command's ZCL frame, emitted and parsed back.
fn round_trip(command: Command) -> Command {
    let cluster = cluster_of(&command).unwrap();
    let frame = ZclFrame::new(cluster, command, 1).unwrap();
    let mut buf = [0u8; 127];
    let len = frame.emit(&mut buf).unwrap();
    ZclFrame::parse(cluster, &buf[..len]).unwrap().command
}

#[test]
fn a_text_message_becomes_display_message_once_and_over_long_text_is_refused() {
    let text = TextMessage {
        text: "Peak pricing 2-6 pm today".into(),
        confirmation_required: true,
        importance: 2,
        start: Some(1_782_914_400),
        duration_minutes: Some(240),
    };
    let Command::DisplayMessage(m) = round_trip(text.command(42).unwrap()) else {
        panic!()
    };
    assert_eq!(m.message_id, 42);
    assert_eq!(m.message.as_bytes(), b"Peak pricing 2-6 pm today");
    assert_eq!(m.message_control.0, 0x80 | 2 << 2);
    assert_eq!(m.start_time.to_unix(), 1_782_914_400);
    assert_eq!(m.duration_in_minutes, 240);
    let long = TextMessage {
        text: "x".repeat(81),
        ..text.clone()
    };
    assert!(
        matches!(long.command(1), Err(MessageError::Text(m)) if m.starts_with("81 characters"))
    );
    let control = TextMessage {
        text: "bell\u{7}".into(),
        ..text.clone()
    };
    assert!(matches!(control.command(1), Err(MessageError::Text(m)) if m.contains("U+0007")));
    let loud = TextMessage {
        importance: 4,
        ..text
    };
    assert!(matches!(
        loud.command(1),
        Err(MessageError::Field {
            field: "importance",
            ..
        })
    ));
    assert!(
        matches!(round_trip(TextMessage::cancel(42)), Command::CancelMessage(c) if c.message_id == 42)
    );
}

#[test]
fn a_price_becomes_publish_price_with_its_tier_and_digits() {
    let price = PriceMessage {
        provider_id: 7,
        rate_label: "TOU peak".into(),
        price: 1250,
        trailing_digits: 4,
        tier: 2,
        currency: None,
        start: None,
        duration_minutes: Some(60),
        acknowledge: true,
    };
    let Command::PublishPrice(p) = round_trip(price.command(100).unwrap()) else {
        panic!()
    };
    assert_eq!((p.issuer_event_id, p.price, p.currency), (100, 1250, 840));
    assert_eq!(p.price_trailing_digit_and_price_tier, 0x42);
    assert_eq!(p.price_control, Some(1));
    assert!(matches!(
        PriceMessage {
            tier: 0,
            ..price.clone()
        }
        .command(1),
        Err(MessageError::Field { field: "tier", .. })
    ));
    assert!(matches!(
        PriceMessage {
            rate_label: "a very long rate label".into(),
            ..price
        }
        .command(1),
        Err(MessageError::Field {
            field: "rate_label",
            ..
        })
    ));
}

#[test]
fn a_load_control_event_is_checked_and_encoded_with_its_randomisation() {
    let event = LoadControlMessage {
        device_class: 0x0001,
        enrollment_group: 3,
        start: Some(1_782_914_400),
        duration_minutes: 120,
        criticality: 3,
        cooling_offset: Some(20),
        heating_offset: None,
        cooling_set_point: None,
        heating_set_point: None,
        load_adjustment: None,
        duty_cycle: None,
        randomize_start: true,
        randomize_end: false,
    };
    let Command::LoadControlEvent(e) = round_trip(event.command(9).unwrap()) else {
        panic!()
    };
    assert_eq!((e.issuer_event_id, e.duration_in_minutes), (9, 120));
    assert_eq!((e.utility_enrollment_group, e.event_control.0), (3, 0x01));
    assert_eq!(e.cooling_temperature_offset, 20);
    assert_eq!(e.heating_temperature_offset, 0xFF);
    for (bad, name) in [
        (
            LoadControlMessage {
                duration_minutes: 0,
                ..event.clone()
            },
            "duration_minutes",
        ),
        (
            LoadControlMessage {
                duration_minutes: 1441,
                ..event.clone()
            },
            "duration_minutes",
        ),
        (
            LoadControlMessage {
                criticality: 10,
                ..event.clone()
            },
            "criticality",
        ),
        (
            LoadControlMessage {
                device_class: 0,
                ..event.clone()
            },
            "device_class",
        ),
        (
            LoadControlMessage {
                duty_cycle: Some(101),
                ..event.clone()
            },
            "duty_cycle",
        ),
    ] {
        assert!(
            matches!(bad.command(1), Err(MessageError::Field { field, .. }) if field == name),
            "{name}"
        );
    }
    let Command::CancelLoadControlEvent(c) =
        round_trip(event.cancel(9, Some(1_782_918_000), true).unwrap())
    else {
        panic!()
    };
    assert_eq!((c.issuer_event_id, c.cancel_control.0), (9, 1));
    assert_eq!(c.effective_time.to_unix(), 1_782_918_000);
    assert!(matches!(
        round_trip(LoadControlMessage::cancel_all(false)),
        Command::CancelAllLoadControlEvents(_)
    ));
}

#[test]
fn deliveries_only_move_forward_and_final_states_stay() {
    use DeliveryStatus::*;
    assert_eq!(Queued.advance(Sent), Some(Sent));
    assert_eq!(Sent.advance(Delivered), Some(Delivered));
    assert_eq!(
        Delivered.advance(DeviceAcknowledged),
        Some(DeviceAcknowledged)
    );
    assert_eq!(
        Queued.advance(Delivered),
        Some(Delivered),
        "a push may skip a stage"
    );
    assert_eq!(Sent.advance(Failed), Some(Failed));
    assert_eq!(
        Delivered.advance(Sent),
        None,
        "a late report changes nothing"
    );
    assert_eq!(
        Sent.advance(Sent),
        None,
        "a repeated report changes nothing"
    );
    assert_eq!(DeviceAcknowledged.advance(Failed), None);
    assert_eq!(Failed.advance(Delivered), None);
}

#[test]
fn an_invitation_expires_after_30_days_may_be_resent_once_and_counts_against_five() {
    let t0 = 1_780_000_000;
    let invited = AgreementState::invite(t0, []).unwrap();
    let resent = invited.resend(t0 + 86_400).unwrap();
    assert_eq!(
        resent,
        AgreementState::Invited {
            sent: t0,
            resent: true
        }
    );
    assert!(resent.resend(t0 + 2 * 86_400).is_err(), "only one reminder");
    // The reminder does not extend the 30 days.
    let last = t0 + INVITATION_SECONDS - 1;
    assert_eq!(resent.accept(last), Ok(AgreementState::Accepted));
    assert_eq!(resent.at(last + 1), AgreementState::Expired);
    assert_eq!(
        resent.accept(last + 1),
        Err(AgreementError::State {
            action: "accept",
            state: "expired"
        })
    );
    assert_eq!(invited.reject(t0 + 1), Ok(AgreementState::Rejected));

    // Five open or in force: a sixth is refused; expired, rejected and ended ones free a place.
    let accepted = AgreementState::Accepted;
    let five = [accepted, accepted, accepted, invited, invited];
    assert_eq!(
        AgreementState::invite(t0 + 10, five),
        Err(AgreementError::Limit(5))
    );
    assert!(
        AgreementState::invite(t0 + INVITATION_SECONDS, five).is_ok(),
        "two expired"
    );
    let ended = AgreementState::Ended {
        reason: EndReason::MoveOut,
    };
    assert!(AgreementState::invite(t0, [accepted, ended, AgreementState::Rejected]).is_ok());
    assert_eq!(
        accepted.end(t0, EndReason::DeviceRemoved),
        Ok(AgreementState::Ended {
            reason: EndReason::DeviceRemoved
        })
    );
    assert!(ended.end(t0, EndReason::Terminated).is_err());
    assert!(accepted.in_force(t0) && !ended.in_force(t0));
}

#[test]
fn a_message_is_planned_per_tdsp_or_refused_whole_with_every_reason() {
    let routing = Routing::texas();
    let ihd = hanrig_sep::Eui64(0x0012_4B00_0102_0304);
    let stray = hanrig_sep::Eui64(0x0012_4B00_0000_0009);
    let meter_of = |d: hanrig_sep::Eui64| (d == ihd).then(|| CENTERPOINT.parse().unwrap());
    let list = addresses(&[ONCOR.into()], &[ihd.to_string()]).unwrap();
    assert_eq!(
        plan(&list, &routing, meter_of).unwrap(),
        [
            (Address::Esiid(ONCOR.parse().unwrap()), Tdsp::Oncor),
            (Address::Device(ihd), Tdsp::Centerpoint),
        ]
    );
    let list = addresses(
        &[ONCOR.into(), "10999990001234567".into()],
        &[stray.to_string()],
    )
    .unwrap();
    let Err(Unroutable(refused)) = plan(&list, &routing, meter_of) else {
        panic!("routed")
    };
    assert_eq!(refused.len(), 2);
    assert!(
        refused[0]
            .1
            .contains("no TDSP serves ESIID 10999990001234567"),
        "{refused:?}"
    );
    assert_eq!(
        refused[1],
        (stray.to_string(), "not provisioned on any meter".into())
    );
    let message = Unroutable(refused).to_string();
    assert!(
        message.starts_with("2 of the addresses cannot be delivered"),
        "{message}"
    );
}
