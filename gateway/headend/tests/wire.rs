//! The CIM and MultiSpeak documents: each one read back equals what was written, each one is
//! well-formed XML to libxml2 (`xmllint`), and documents missing a part are refused naming it.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::message::{LoadControlMessage, PriceMessage, TextMessage, cluster_of};
use hanrig_headend::cim::{self, *};
use hanrig_headend::multispeak::{self, *};
use hanrig_headend::xml::XmlError;
use hanrig_sep::{Command, ZclFrame};

const T0: u64 = 1_782_914_400;

fn frame(command: Command) -> ZclFrame {
    let cluster = cluster_of(&command).unwrap();
    ZclFrame::new(cluster, command, 3).unwrap()
}

fn encoded(f: &ZclFrame) -> Vec<u8> {
    let mut buf = [0u8; 127];
    let len = f.emit(&mut buf).unwrap();
    buf[..len].to_vec()
}

fn lce() -> LoadControlMessage {
    LoadControlMessage {
        device_class: 0x0005,
        enrollment_group: 2,
        start: Some(T0 + 600),
        duration_minutes: 45,
        criticality: 3,
        cooling_offset: Some(20),
        heating_offset: None,
        cooling_set_point: None,
        heating_set_point: Some(1900),
        load_adjustment: None,
        duty_cycle: Some(50),
        randomize_start: true,
        randomize_end: false,
    }
}

fn text() -> TextMessage {
    TextMessage {
        text: "Peak pricing <today> & tomorrow".into(),
        confirmation_required: true,
        importance: 2,
        start: None,
        duration_minutes: Some(60),
    }
}

fn price() -> PriceMessage {
    PriceMessage {
        provider_id: 7,
        rate_label: "TOU-Peak".into(),
        price: 12_345,
        trailing_digits: 3,
        tier: 2,
        currency: None,
        start: Some(T0),
        duration_minutes: Some(120),
        acknowledge: true,
    }
}

fn se_commands() -> Vec<Command> {
    vec![
        lce().command(501).unwrap(),
        LoadControlMessage::cancel_all(false),
        text().command(9).unwrap(),
        price().command(77).unwrap(),
    ]
}

fn cim_request() -> RequestMessage {
    let f = frame(lce().command(501).unwrap());
    RequestMessage {
        header: Header::new(
            "create",
            NOUN_CONTROLS,
            T0,
            "msg-1",
            "m12-aep-texas-central-100-349",
        )
        .replying_to("http://127.0.0.1:9/cim/events?a=1&b=2"),
        controls: vec![
            EndDeviceControl::deliver(
                f.cluster,
                &encoded(&f),
                T0,
                T0 + 86_400,
                vec![
                    EndDevice::named("10032789000000000000001"),
                    EndDevice::named("00:12:4b:00:00:00:00:07"),
                ],
            )
            .unwrap(),
        ],
    }
}

fn cim_documents() -> Vec<String> {
    let request = cim_request();
    let pairing = RequestMessage {
        header: request.header.clone(),
        controls: vec![EndDeviceControl::pairing(
            "10032789000000000000001",
            "00:12:4b:00:00:00:00:07",
            "83fed3407a939723a5c639b26916d505c3b5",
            T0,
            T0 + 86_400,
        )],
    };
    let response = ResponseMessage {
        header: Header::new(
            "reply",
            NOUN_CONTROLS,
            T0,
            "he-1",
            "m12-aep-texas-central-100-349",
        ),
        reply: Reply {
            result: cim::ReplyResult::Partial,
            errors: vec![ReplyError {
                code: ERROR_NO_SUCH_DEVICE.into(),
                level: ErrorLevel::Warning,
                reason: "no such meter at this head-end".into(),
                id: Some("10032789000000000000001".into()),
            }],
        },
        readings: Vec::new(),
    };
    let events = EventMessage {
        header: Header::new(
            "created",
            NOUN_EVENTS,
            T0 + 60,
            "he-2",
            "m12-aep-texas-central-100-349",
        ),
        events: vec![EndDeviceEvent {
            mrid: "ev-1".into(),
            created: T0 + 42,
            event_type: cim::event::LCE_STARTED.into(),
            end_device: "10032789000000000000001".into(),
            reason: "Report Event Status: Started".into(),
        }],
    };
    let read = ReadRequest {
        header: Header::new(
            "get",
            NOUN_READINGS,
            T0,
            "r7-aep-texas-central-1f",
            "r7-aep-texas-central-1f",
        )
        .replying_to("https://gateway.example/cim/aep"),
        meters: vec!["10032789000000000000001".into()],
    };
    let readings = ResponseMessage {
        header: Header::new(
            "reply",
            NOUN_READINGS,
            T0 + 77,
            "he-3",
            "r7-aep-texas-central-1f",
        ),
        reply: Reply {
            result: cim::ReplyResult::Ok,
            errors: Vec::new(),
        },
        readings: vec![Read {
            meter: "10032789000000000000001".into(),
            register_wh: 9_751_212,
            read_at: T0 + 75,
        }],
    };
    vec![
        request.to_xml(),
        pairing.to_xml(),
        response.to_xml(),
        events.to_xml(),
        read.to_xml(),
        readings.to_xml(),
    ]
}

#[test]
fn cim_meter_reads_read_back_as_written_and_carry_the_kwh_register() {
    let docs = cim_documents();
    let read = ReadRequest::from_xml(&docs[4]).unwrap();
    assert_eq!(read.to_xml(), docs[4]);
    assert_eq!(read.meters, ["10032789000000000000001"]);
    assert_eq!(
        read.header.reply_address.as_deref(),
        Some("https://gateway.example/cim/aep")
    );
    assert!(matches!(CimRequest::from_xml(&docs[4]), Ok(CimRequest::Read(r)) if r == read));
    assert!(matches!(
        CimRequest::from_xml(&docs[0]),
        Ok(CimRequest::Controls(_))
    ));
    assert!(
        docs[4].contains(&format!("<m:mRID>{REGISTER_KWH}</m:mRID>")),
        "{}",
        docs[4]
    );

    let readings = ResponseMessage::from_xml(&docs[5]).unwrap();
    assert_eq!(readings.to_xml(), docs[5]);
    assert_eq!(readings.readings[0].register_wh, 9_751_212);
    assert!(
        docs[5].contains("<r:value>9751.212</r:value>"),
        "{}",
        docs[5]
    );
    assert!(
        docs[5].contains(&format!(r#"<r:ReadingType ref="{REGISTER_KWH}"/>"#)),
        "{}",
        docs[5]
    );

    // Another register (a demand, kW) is not this read's; a value that is no kWh is refused.
    let demand = docs[5].replace(REGISTER_KWH, "0.0.0.6.1.1.8.0.0.0.0.0.0.0.0.3.38.0");
    assert!(
        ResponseMessage::from_xml(&demand)
            .unwrap()
            .readings
            .is_empty()
    );
    let bad = docs[5].replace("9751.212", "-1");
    assert!(matches!(
        ResponseMessage::from_xml(&bad),
        Err(XmlError::Invalid { ref path, .. }) if path.ends_with("Readings/value")
    ));
    let other_type = docs[4].replace(
        &format!("<m:mRID>{REGISTER_KWH}</m:mRID>"),
        "<m:mRID>0.0.0.6.1.1.8.0.0.0.0.0.0.0.0.3.38.0</m:mRID>",
    );
    assert!(
        ReadRequest::from_xml(&other_type)
            .unwrap_err()
            .to_string()
            .contains("is not the register")
    );
    let no_meter = docs[4].replace(
        "<m:EndDevice><m:Names><m:name>10032789000000000000001</m:name></m:Names></m:EndDevice>",
        "",
    );
    assert_eq!(
        ReadRequest::from_xml(&no_meter).unwrap_err().to_string(),
        "Envelope/Body/RequestMessage/Request/GetMeterReadings/EndDevice is missing"
    );
}

#[test]
fn cim_request_response_and_events_read_back_as_written() {
    let request = cim_request();
    let xml = request.to_xml();
    assert_eq!(RequestMessage::from_xml(&xml).unwrap(), request);
    assert!(
        xml.contains(r#"EndDeviceControlType ref="0.15.43.300""#),
        "{xml}"
    );
    assert!(
        xml.contains("<m:start>2026-07-01T14:00:00Z</m:start>"),
        "{xml}"
    );
    let (cluster, zcl) = request.controls[0].zcl().unwrap();
    let f = frame(lce().command(501).unwrap());
    assert_eq!((cluster, zcl), (0x0701, encoded(&f)));
    assert_eq!(
        ZclFrame::parse(cluster, &encoded(&f)).unwrap().command,
        f.command,
        "the carried frame decodes to the command"
    );

    let docs = cim_documents();
    let pairing = RequestMessage::from_xml(&docs[1]).unwrap();
    assert_eq!(pairing.controls[0].control_type, PAIRING_WINDOW_OPEN);
    assert_eq!(
        pairing.controls[0].end_devices[1].install_code.as_deref(),
        Some("83fed3407a939723a5c639b26916d505c3b5")
    );
    assert_eq!(
        RequestMessage::from_xml(&docs[1]).unwrap().to_xml(),
        docs[1]
    );
    let response = ResponseMessage::from_xml(&docs[2]).unwrap();
    assert_eq!(response.to_xml(), docs[2]);
    assert_eq!(response.reply.result, cim::ReplyResult::Partial);
    assert_eq!(response.reply.errors[0].code, "2.4");
    let events = EventMessage::from_xml(&docs[3]).unwrap();
    assert_eq!(events.to_xml(), docs[3]);
    assert_eq!(
        events.header.correlation_id.as_deref(),
        Some("m12-aep-texas-central-100-349")
    );
    assert_eq!(
        events.events[0].event_type.split('.').nth(1),
        Some("15"),
        "load control"
    );
}

#[test]
fn every_se_command_a_cim_head_end_carries_gets_its_control_type() {
    for command in se_commands() {
        let f = frame(command);
        let control = EndDeviceControl::deliver(
            f.cluster,
            &encoded(&f),
            T0,
            T0 + 1,
            vec![EndDevice::named("x")],
        )
        .unwrap();
        assert_eq!(
            Some(control.control_type.as_str()),
            cim::control_type(f.cluster, f.header.command_id)
        );
        assert_eq!(cim::cluster_of(&control.control_type), Some(f.cluster));
    }
    assert_eq!(
        EndDeviceControl::deliver(0x0702, &[0x01, 0x01, 0x00], T0, T0, vec![])
            .unwrap_err()
            .to_string(),
        "no CIM EndDeviceControlType carries SE command 0x00 of cluster 0x0702"
    );
    // A general Write Attributes (0x02) on DRLC is not Cancel All Load Control Events (0x02).
    let write_group = [0x18, 0x01, 0x02, 0x00, 0x00, 0x20, 0x05];
    assert!(EndDeviceControl::deliver(0x0701, &write_group, T0, T0, vec![]).is_err());
}

#[test]
fn cim_documents_missing_a_part_are_refused_naming_it() {
    let xml = cim_request().to_xml();
    let no_verb = xml.replace("<Verb>create</Verb>", "");
    assert_eq!(
        RequestMessage::from_xml(&no_verb).unwrap_err().to_string(),
        "Envelope/Body/RequestMessage/Header/Verb is missing"
    );
    let no_devices = xml
        .replace(
            "<m:EndDevices><m:Names><m:name>10032789000000000000001</m:name></m:Names></m:EndDevices>",
            "",
        )
        .replace(
            "<m:EndDevices><m:Names><m:name>00:12:4b:00:00:00:00:07</m:name></m:Names></m:EndDevices>",
            "",
        );
    assert_eq!(
        RequestMessage::from_xml(&no_devices)
            .unwrap_err()
            .to_string(),
        "Envelope/Body/RequestMessage/Payload/EndDeviceControls/EndDeviceControl/EndDevices is missing"
    );
    let bad_time = xml.replace("2026-07-01T14:00:00Z</m:start>", "yesterday</m:start>");
    assert!(matches!(
        RequestMessage::from_xml(&bad_time),
        Err(XmlError::Invalid { ref path, .. }) if path.ends_with("primaryDeviceTiming/interval/start")
    ));
    let wrong_verb = xml.replace("<Verb>create</Verb>", "<Verb>get</Verb>");
    assert!(
        RequestMessage::from_xml(&wrong_verb)
            .unwrap_err()
            .to_string()
            .contains("expected Verb create, Noun EndDeviceControls, found Verb get"),
    );
    assert!(matches!(
        EventMessage::from_xml(&xml),
        Err(XmlError::Unexpected { .. })
    ));
    assert!(matches!(
        RequestMessage::from_xml("<soap:Envelope"),
        Err(XmlError::Malformed(_))
    ));
}

fn ms_header() -> MsgHeader {
    MsgHeader {
        user_id: "gateway".into(),
        pwd: "s3cret&\"".into(),
        app_name: "hanrig".into(),
        company: "SMT".into(),
        message_id: "m-1".into(),
        time_stamp: T0,
        context: "Testing".into(),
    }
}

fn ms_requests() -> Vec<Request> {
    let devices = vec![
        "10443720000000000000001".to_string(),
        "00:12:4b:00:00:00:00:07".to_string(),
    ];
    let mut out: Vec<Request> = se_commands()
        .into_iter()
        .map(|command| {
            let f = frame(command);
            Request {
                header: ms_header(),
                call: Call::from_se(&f, devices.clone()).unwrap(),
                se_frame: Some(SeFrame {
                    cluster: f.cluster,
                    zcl: encoded(&f),
                }),
                response_url: "http://127.0.0.1:9/ms/notify".into(),
                transaction_id: "m3-oncor-1-250".into(),
                exp_time: ExpTime {
                    value: 10,
                    units: TimeUnits::Minutes,
                },
            }
        })
        .collect();
    let f = frame(hanrig_sep::Command::CancelMessage(
        hanrig_sep::clusters::messaging::CancelMessage {
            message_id: 9,
            message_control: hanrig_sep::clusters::messaging::MessageControl(0),
        },
    ));
    out.push(Request {
        call: Call::from_se(&f, devices.clone()).unwrap(),
        ..out[0].clone()
    });
    out.push(Request {
        call: Call::InitiateHANRegistration {
            han_interface_id: devices[0].clone(),
            han_device_id: devices[1].clone(),
            token: SecurityToken {
                encoding: "hex".into(),
                token_type: "InstallCode".into(),
                value: "83fed3407a939723a5c639b26916d505c3b5".into(),
            },
            time_out: 1440,
        },
        se_frame: None,
        ..out[0].clone()
    });
    out.push(Request {
        call: Call::InitiateMeterReadingsByMeterID {
            meter_ids: vec![devices[0].clone()],
        },
        se_frame: None,
        exp_time: ExpTime {
            value: 1500,
            units: TimeUnits::Milliseconds,
        },
        ..out[0].clone()
    });
    out
}

fn ms_notifications() -> Vec<NotificationMessage> {
    let n = |notification| NotificationMessage {
        header: MsgHeader::new("headend", "Oncor", "he-9", T0 + 30),
        transaction_id: "m3-oncor-1-250".into(),
        notification,
    };
    vec![
        n(Notification::HanRegistration(vec![
            HanRegistration {
                device_id: "00:12:4b:00:00:00:00:07".into(),
                interface_id: "10443720000000000000001".into(),
                registration_status: "Registered".into(),
                comments: None,
            },
            HanRegistration {
                device_id: "00:12:4b:00:00:00:00:08".into(),
                interface_id: "10443720000000000000001".into(),
                registration_status: "Disconnected".into(),
                comments: Some(
                    "no device joined with that install code before the pairing window closed"
                        .into(),
                ),
            },
        ])),
        n(Notification::IhdMessageStatus(vec![IhdMessageStatus {
            device_id: "10443720000000000000001".into(),
            message_id: 9,
            status: "Displayed".into(),
        }])),
        n(Notification::DemandResponseEvent(vec![
            DemandResponseEventStatus {
                event_id: 501,
                device_id: "10443720000000000000001".into(),
                event_status: "Started".into(),
                timestamp: T0 + 61,
            },
            DemandResponseEventStatus {
                event_id: 501,
                device_id: "10443720000000000000002".into(),
                event_status: "Failed".into(),
                timestamp: T0 + 62,
            },
        ])),
        n(Notification::PricingTiersChanged(vec![PricingStatus {
            device_id: "10443720000000000000001".into(),
            status: "Acknowledged".into(),
        }])),
        n(Notification::ReadingChanged(vec![MeterRead {
            meter_id: "10443720000000000000001".into(),
            register_wh: 9_751_212,
            read_at: T0 + 75,
        }])),
    ]
}

#[test]
fn multispeak_meter_reads_wrap_their_ids_and_carry_the_kwh_register() {
    let read = ms_requests().pop().unwrap();
    let xml = read.to_xml();
    assert!(
        xml.contains(r#"<meterIDs><meterID serviceType="Electric">10443720000000000000001</meterID></meterIDs>"#),
        "{xml}"
    );
    assert_eq!(
        Request::from_xml(&xml.replace("<meterIDs>", "").replace("</meterIDs>", ""))
            .unwrap_err()
            .to_string(),
        "Envelope/Body/InitiateMeterReadingsByMeterID/meterIDs is missing"
    );
    let notification = ms_notifications().pop().unwrap();
    let xml = notification.to_xml();
    assert!(
        xml.contains(
            "<readingValue><units>kWh</units><value>9751.212</value><fieldName>posKWh</fieldName>"
        ),
        "{xml}"
    );
    // A demand value beside the register is not this read's; a value that is no kWh is refused.
    let demand = xml.replace(
        "<readingValues>",
        "<readingValues><readingValue><units>kW</units><value>3.2</value><timeStamp>2026-07-01T14:00:00Z</timeStamp></readingValue>",
    );
    let Notification::ReadingChanged(reads) =
        NotificationMessage::from_xml(&demand).unwrap().notification
    else {
        panic!("not a reading")
    };
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].register_wh, 9_751_212);
    assert!(matches!(
        NotificationMessage::from_xml(&xml.replace("9751.212", "9751.2125")),
        Err(XmlError::Invalid { ref path, .. }) if path.ends_with("readingValue/value")
    ));
}

fn ms_response() -> Response {
    Response {
        header: ms_header(),
        operation: "InitiateDemandResponseEvent".into(),
        errors: vec![ErrorObject {
            object_id: "10443720000000000000009".into(),
            error_string: "no such meter".into(),
            noun_type: "HANDevice".into(),
            event_time: Some(T0),
            text: "unknown <device>".into(),
        }],
    }
}

#[test]
fn multispeak_requests_responses_and_notifications_read_back_as_written() {
    for r in ms_requests() {
        let xml = r.to_xml();
        assert_eq!(Request::from_xml(&xml).unwrap(), r, "{xml}");
    }
    for n in ms_notifications() {
        let xml = n.to_xml();
        assert_eq!(NotificationMessage::from_xml(&xml).unwrap(), n, "{xml}");
    }
    let response = ms_response();
    assert_eq!(Response::from_xml(&response.to_xml()).unwrap(), response);
    let accepted = Response {
        errors: vec![],
        ..response
    };
    assert_eq!(Response::from_xml(&accepted.to_xml()).unwrap(), accepted);
}

#[test]
fn multispeak_objects_carry_the_se_commands_fields() {
    let requests = ms_requests();
    let xml = requests[0].to_xml();
    assert!(
        xml.contains("<expTime units=\"Minutes\">10</expTime>"),
        "{xml}"
    );
    assert!(
        xml.contains("MultiSpeakMsgHeader xmlns=\"http://www.multispeak.org/Version_4.1_Release\"")
    );
    let Call::InitiateDemandResponseEvent { event, devices } = &requests[0].call else {
        panic!("{:?}", requests[0].call)
    };
    assert_eq!(devices.len(), 2);
    assert_eq!(
        (
            event.event_id,
            event.device_classes,
            event.utility_enrollment_group,
            event.event_start_time,
            event.event_duration,
            event.criticality
        ),
        (501, 0x0005, 2, Some(T0 + 600), 45, 3)
    );
    assert_eq!(
        (
            event.randomize_event_start,
            event.cooling_temperature_offset,
            event.heating_temperature_set_point,
            event.duty_cycle,
            event.average_load_adjustment
        ),
        (true, Some(20), Some(1900), Some(50), None)
    );
    assert!(matches!(
        requests[1].call,
        Call::CancelDemandResponseEvent { event_id: None, .. }
    ));
    let Call::InitiateInHomeDisplayMessage { message, .. } = &requests[2].call else {
        panic!()
    };
    assert_eq!(
        message.lines,
        vec!["Peak pricing <today> & tomorrow".to_string()]
    );
    assert!(message.confirmation_required);
    assert_eq!((message.priority.as_str(), message.duration), ("High", 60));
    let Call::InitiateHANPricing { pricing, .. } = &requests[3].call else {
        panic!()
    };
    assert_eq!(pricing.tiers[0].price, "12.345");
    assert_eq!(pricing.tiers[0].rate_identifier, "2");
    assert_eq!(pricing.tiers[0].rate_label, "TOU-Peak");
    assert_eq!(requests[6].exp_time.seconds(), 1);
    assert_eq!(requests[0].exp_time.seconds(), 600);
    // The SE answers the head-end relays map onto MultiSpeak's vocabulary.
    use hanrig_sep::clusters::drlc::EventStatus;
    assert_eq!(
        multispeak::event_status_name(EventStatus::UserOptedOut),
        "OptedOut"
    );
}

#[test]
fn multispeak_documents_missing_a_part_are_refused_naming_it() {
    let xml = ms_requests()[0].to_xml();
    let e = Request::from_xml(&xml.replace("<transactionID>m3-oncor-1-250</transactionID>", ""))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Envelope/Body/InitiateDemandResponseEvent/transactionID is missing"
    );
    let e =
        Request::from_xml(&xml.replace(" units=\"Minutes\"", " units=\"Fortnights\"")).unwrap_err();
    assert!(
        e.to_string().contains("expTime/@units: \"Fortnights\""),
        "{e}"
    );
    let no_header = xml.split("<soap:Header>").next().unwrap().to_string()
        + &xml[xml.find("<soap:Body>").unwrap()..];
    assert_eq!(
        Request::from_xml(&no_header).unwrap_err().to_string(),
        "Envelope/Header is missing"
    );
    let other_ns = xml.replace(
        "<InitiateDemandResponseEvent xmlns=\"http://www.multispeak.org/Version_4.1_Release\"",
        "<InitiateDemandResponseEvent xmlns=\"http://www.multispeak.org/Version_3.0\"",
    );
    assert!(matches!(
        Request::from_xml(&other_ns),
        Err(XmlError::Unexpected { .. })
    ));
    let n = ms_notifications()[2].to_xml();
    let e =
        NotificationMessage::from_xml(&n.replace("<eventID>501</eventID>", "<eventID>x</eventID>"))
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("demandResponseEventStatus/eventID: \"x\""),
        "{e}"
    );
}

#[test]
fn every_document_is_well_formed_to_xmllint() {
    let Ok(out) = std::process::Command::new("xmllint")
        .arg("--version")
        .output()
    else {
        // CI sets HANRIG_REQUIRE_XMLLINT so that a missing tool fails instead of skipping.
        assert!(
            std::env::var_os("HANRIG_REQUIRE_XMLLINT").is_none(),
            "xmllint is required (HANRIG_REQUIRE_XMLLINT is set): apt-get install libxml2-utils"
        );
        println!("SKIPPED: xmllint is not installed (Debian: apt-get install libxml2-utils)");
        return;
    };
    assert!(out.status.success());
    let mut docs = cim_documents();
    docs.extend(ms_requests().iter().map(Request::to_xml));
    docs.extend(ms_notifications().iter().map(NotificationMessage::to_xml));
    docs.push(ms_response().to_xml());
    let dir = std::env::temp_dir().join(format!("hanrig-xmllint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, doc) in docs.iter().enumerate() {
        let path = dir.join(format!("doc{i}.xml"));
        std::fs::write(&path, doc).unwrap();
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{doc}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And xmllint does refuse what is not well-formed.
    let path = dir.join("bad.xml");
    std::fs::write(&path, docs[0].replace("</soap:Body>", "")).unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
}
