//! The simulated EZSP co-processor, frame by frame (vectors: radio-protocol-facts.md §2).

#![allow(clippy::unwrap_used)]

use hanrig_sep::Eui64;
use hanrig_sim::ncp::{EzspNcp, Network};

fn ncp(version: u8) -> EzspNcp {
    EzspNcp::new(
        version,
        Eui64(0x000D_6F00_0ABC_DEF0),
        Network {
            extended_pan_id: 0x0011_2233_4455_6677,
            pan_id: 0x1A62,
            channel: 15,
            tx_power: 8,
        },
    )
}

/// The install code of the simulated in-home displays here (the facts file's vector).
const IHD_CODE: &str = "83FED3407A939723A5C639B26916D505C3B5";

/// A simulated in-home display with `eui`, on the co-processor's PAN and channel.
fn ihd(eui: Eui64) -> hanrig_sim::device::SimDevice {
    let code: hanrig_sep::install_code::InstallCode = IHD_CODE.parse().unwrap();
    let drlc = hanrig_device::drlc::DrlcConfig {
        device_class: hanrig_sep::clusters::drlc::DeviceClass(0),
        utility_enrollment_group: 0,
        start_randomization_minutes: 0,
        duration_randomization_minutes: 0,
    };
    hanrig_sim::device::SimDevice::new(
        "ihd",
        hanrig_sim::device::DeviceKind::InHomeDisplay,
        eui,
        &code,
        (0x1A62, 15),
        drlc,
        1,
    )
}

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn version_is_negotiated_legacy_first_then_extended() {
    let mut n = ncp(13);
    // bellows: version(4) in the legacy form; the NCP answers legacy with 13, mesh, 7.4.5.0.
    assert_eq!(
        n.handle_ezsp(&unhex("00 00 00 04")),
        vec![unhex("00 80 00 0D 02 50 74")]
    );
    // Then version(13) in the extended form, echoed in the extended form.
    assert_eq!(
        n.handle_ezsp(&unhex("01 00 01 00 00 0D")),
        vec![unhex("01 80 01 00 00 0D 02 50 74")]
    );
}

#[test]
fn network_init_answers_then_reports_network_up() {
    let mut n = ncp(13);
    let out = n.handle_ezsp(&unhex("05 00 01 17 00 00 00"));
    assert_eq!(
        out,
        vec![unhex("05 80 01 17 00 00"), unhex("05 90 01 19 00 90")]
    );
    let mut v14 = ncp(14);
    let out = v14.handle_ezsp(&unhex("05 00 01 17 00 00 00"));
    assert_eq!(
        out,
        vec![
            unhex("05 80 01 17 00 00 00 00 00"),
            unhex("05 90 01 19 00 15 00 00 00")
        ],
        "sl_status: OK, NETWORK_UP 0x15"
    );
}

#[test]
fn network_parameters_and_identity() {
    let mut n = ncp(13);
    assert_eq!(
        n.handle_ezsp(&unhex("06 00 01 26 00")),
        vec![unhex("06 80 01 26 00 F0 DE BC 0A 00 6F 0D 00")]
    );
    let params = n.handle_ezsp(&unhex("07 00 01 28 00"));
    // status, coordinator, ext PAN LE, PAN, power, channel, join method, manager, update id, channel mask.
    assert_eq!(
        params,
        vec![unhex(
            "07 80 01 28 00 00 01 77 66 55 44 33 22 11 00 62 1A 08 0F 00 00 00 00 00 80 00 00"
        )]
    );
}

#[test]
fn unknown_frame_ids_get_invalid_command() {
    let mut n = ncp(13);
    assert_eq!(
        n.handle_ezsp(&unhex("08 00 01 FE 00")),
        vec![unhex("08 80 01 58 00 31")]
    );
}

#[test]
fn configuration_and_values_are_remembered() {
    let mut n = ncp(13);
    assert_eq!(
        n.handle_ezsp(&unhex("09 00 01 53 00 1F 40 00")),
        vec![unhex("09 80 01 53 00 00")]
    );
    assert_eq!(
        n.handle_ezsp(&unhex("0A 00 01 52 00 1F")),
        vec![unhex("0A 80 01 52 00 00 40 00")]
    );
    // A value never set is refused; VERSION_INFO is known.
    assert_eq!(
        n.handle_ezsp(&unhex("0B 00 01 AA 00 3A")),
        vec![unhex("0B 80 01 AA 00 36 00")]
    );
    assert_eq!(
        n.handle_ezsp(&unhex("0C 00 01 AA 00 11")),
        vec![unhex("0C 80 01 AA 00 00 07 00 00 07 04 05 00 AA")]
    );
}

#[test]
fn the_ncp_answers_rst_with_rstack_and_frames_flow_over_ash() {
    use hanrig_radio::session::{Role, Session};
    let mut n = ncp(13);
    let mut host = Session::new(Role::Host);
    let mut buf = [0u8; 300];
    let mut replies = Vec::new();
    for step in 0..50u64 {
        let now = step * 1_000;
        while let Some(len) = host.poll_transmit(now, &mut buf) {
            n.handle_bytes(now, &buf[..len]);
        }
        while let Some(len) = n.poll_transmit(now, &mut buf) {
            host.handle_bytes(now, &buf[..len]);
        }
        if step == 5 {
            host.send(&unhex("00 00 00 04")).unwrap();
        }
        while let Some(f) = host.poll_received() {
            replies.push(f.to_vec());
        }
    }
    assert_eq!(replies, vec![unhex("00 80 00 0D 02 50 74")]);
}

/// The facts-file vectors (bellows serializers) for the trust-centre commands, decoded as
/// bellows sends them; answered in each version's status width.
#[test]
fn trust_centre_commands_parse_bellows_frames() {
    use hanrig_sim::device::JoinState;

    let import = unhex(
        "05 00 01 11 01 f0 de bc 0a 00 6f 0d 00 66 b6 90 09 81 e1 ee 3c a4 20 6b 6b 86 1c 02 bb 00",
    );
    // Without a radio medium there is no trust centre to load keys into.
    assert_eq!(
        ncp(13).handle_ezsp(&import),
        [unhex("05 80 01 11 01 21 00 00 00")]
    );
    // sendUnicast as bellows builds it (to 0x1234, Metering read, tag 1: one byte in v13, two
    // in v14).
    let unicast = |version: u8, destination: &str| {
        let tag = if version >= 14 { "01 00" } else { "01" };
        unhex(&format!(
            "05 00 01 34 00 00 {destination} 09 01 02 07 01 01 40 01 00 00 10 {tag} 07 00 10 00 00 00 00 00"
        ))
    };
    // After the response, messageSentHandler: v13 type, destination, APS frame, tag u8,
    // status, message; v14 status u32 first, then the same with a u16 tag.
    let aps_frame = "09 01 02 07 01 01 40 01 00 00 10";
    let message = "07 00 10 00 00 00 00 00";
    let sent_v13 = format!("05 90 01 3F 00 00 00 20 {aps_frame} 01 00 {message}");
    let sent_v14 = format!("05 90 01 3F 00 00 00 00 00 00 00 20 {aps_frame} 01 00 {message}");
    for (version, ok, sent, refused) in [
        (
            13,
            "05 80 01 34 00 00 02",
            sent_v13.as_str(),
            "05 80 01 34 00 66 00",
        ),
        (
            14,
            "05 80 01 34 00 00 00 00 00 02",
            sent_v14.as_str(),
            "05 80 01 34 00 02 0C 00 00 00",
        ),
    ] {
        // The device carries the EUI64 the vector loads a key for.
        let device = ihd(Eui64(0x000D_6F00_0ABC_DEF0));
        let mut n = ncp(version).with_devices([0x5A; 16], vec![device]);
        assert_eq!(
            n.handle_ezsp(&import),
            [unhex("05 80 01 11 01 00 00 00 00")]
        );
        let permit = n.handle_ezsp(&unhex("06 00 01 22 00 3C")); // 60 s
        assert_eq!(permit[0][..5], unhex("06 80 01 22 00")[..]);
        assert!(
            permit[0][5..].iter().all(|b| *b == 0),
            "v{version}: {permit:02x?}"
        );
        n.handle_timeout(1_000_000);
        assert_eq!(n.devices(), [("ihd".to_string(), JoinState::Joined)]);
        // To the device's address (0x2000): sent with APS counter 2 (1 carried its network
        // key); to 0x1234, not in the network: refused, APS counter 0.
        assert_eq!(
            n.handle_ezsp(&unicast(version, "00 20")),
            [unhex(ok), unhex(sent)],
            "v{version}"
        );
        assert_eq!(
            n.handle_ezsp(&unicast(version, "34 12")),
            [unhex(refused)],
            "v{version}"
        );
    }
}

/// A co-processor on a simulated medium with no devices.
fn ncp_on_air(version: u8) -> EzspNcp {
    ncp(version).with_devices([0x11; 16], Vec::new())
}

#[test]
fn form_network_needs_a_security_state_then_brings_the_network_up_where_asked() {
    let mut n = ncp_on_air(13);
    // bellows' v13 formNetwork vector: PAN 0x1A62, channel 15, ext PAN 00:11:…:77, power 8.
    let form = "05 00 01 1E 00 77 66 55 44 33 22 11 00 62 1A 08 0F 00 00 00 00 00 80 00 00";
    assert_eq!(
        n.handle_ezsp(&unhex(form)),
        vec![unhex("05 80 01 1E 00 70")],
        "INVALID_CALL before setInitialSecurityState"
    );
    // HAVE_NETWORK_KEY | REQUIRE_ENCRYPTED_KEY, preconfigured key, network key, seq, TC EUI64.
    let security = format!(
        "06 00 01 68 00 00 0A {} {} 00 {}",
        "00".repeat(16),
        "AB".repeat(16),
        "00".repeat(8)
    );
    assert_eq!(
        n.handle_ezsp(&unhex(&security)),
        vec![unhex("06 80 01 68 00 00")]
    );
    let form_on_20 = form.replace("0F 00 00 00 00 00 80 00 00", "14 00 00 00 00 00 00 10 00");
    assert_eq!(
        n.handle_ezsp(&unhex(&form_on_20)),
        vec![unhex("05 80 01 1E 00 00"), unhex("05 90 01 19 00 90")]
    );
    let params = n.handle_ezsp(&unhex("07 00 01 28 00"));
    assert_eq!(
        params[0][..18],
        unhex("07 80 01 28 00 00 01 77 66 55 44 33 22 11 00 62 1A 08")[..],
    );
    assert_eq!(params[0][18], 20, "channel 20");
    // A channel outside 11–26 is refused (v14: sl_status INVALID_PARAMETER).
    let mut v14 = ncp_on_air(14);
    v14.handle_ezsp(&unhex(&security));
    assert_eq!(
        v14.handle_ezsp(&unhex(&form.replace("08 0F", "08 0A"))),
        vec![unhex("05 80 01 1E 00 21 00 00 00")]
    );
}

#[test]
fn the_virtual_clock_is_the_simulators_alone() {
    let now = "08 00 01 47 00 07 68 61 6E 72 69 67 00";
    // On wall-clock time (as `hanrig sim radio` serves it, and as real firmware answers):
    // customFrame refused, so bellows and other hosts see no XNCP.
    assert_eq!(
        ncp_on_air(13).handle_ezsp(&unhex(now)),
        vec![unhex("08 80 01 47 00 70 00")]
    );
    // On a scenario's simulation: the time, and no callbacks to follow.
    let scenario = hanrig_sim::scenario::Scenario::parse(
        r#"name = "t"
start = "2026-07-01T14:00:00Z"
duration = "1m"
[[meter]]
name = "m"
eui64 = "00:0d:6f:00:0a:bc:de:f0"
pan = 0x1a62
"#,
    )
    .unwrap();
    let (simulation, coordinator, remote) =
        hanrig_sim::scenario::Simulate::build_remote(&scenario, "m").unwrap();
    let start = remote.start.0;
    let mut n = ncp(13).with_simulation(simulation, coordinator);
    let mut expect = unhex("08 80 01 47 00 00 0A");
    expect.extend(start.to_le_bytes());
    expect.extend([0, 0]);
    assert_eq!(n.handle_ezsp(&unhex(now)), vec![expect]);
    // Advancing 30 s with nothing on the air runs to the target.
    let target = start + 30_000_000;
    let advance = format!(
        "09 00 01 47 00 0F 68 61 6E 72 69 67 01 {}",
        target
            .to_le_bytes()
            .iter()
            .map(|b| format!("{b:02X} "))
            .collect::<String>()
    );
    let out = n.handle_ezsp(&unhex(&advance));
    assert_eq!(out[0][7..15], target.to_le_bytes());
    // networkInit has no stored network to bring up: the host must form one.
    assert_eq!(
        n.handle_ezsp(&unhex("0A 00 01 17 00 00 00")),
        vec![unhex("0A 80 01 17 00 93")]
    );
}

#[test]
fn leave_network_takes_the_network_down() {
    for (version, options, ok, down) in [
        (13, "", "05 80 01 20 00 00", "05 90 01 19 00 91"),
        (
            14,
            " 00",
            "05 80 01 20 00 00 00 00 00",
            "05 90 01 19 00 16 00 00 00",
        ),
    ] {
        let mut n = ncp(version);
        n.handle_ezsp(&unhex("04 00 01 17 00 00 00"));
        assert_eq!(
            n.handle_ezsp(&unhex(&format!("05 00 01 20 00{options}"))),
            vec![unhex(ok), unhex(down)],
            "v{version}"
        );
        assert_eq!(
            n.handle_ezsp(&unhex("06 00 01 18 00")),
            vec![unhex("06 80 01 18 00 00")]
        );
    }
}

/// One typed command through the co-processor: its reply, read with the shared layout.
fn call<C: hanrig_radio::ezsp::command::Command>(
    n: &mut EzspNcp,
    version: u8,
    request: &C,
) -> C::Reply {
    use hanrig_radio::ezsp::command::{emit, parse};
    let mut frame = vec![0x21, 0x00, 0x01];
    frame.extend_from_slice(&C::ID.to_le_bytes());
    let mut buf = [0u8; 300];
    let len = emit(version, request, &mut buf).unwrap();
    frame.extend_from_slice(&buf[..len]);
    let out = n.handle_ezsp(&frame);
    assert_eq!(
        u16::from_le_bytes([out[0][3], out[0][4]]),
        C::ID,
        "{}: {:02x?}",
        C::NAME,
        out[0]
    );
    parse::<C::Reply>(version, &out[0][5..]).unwrap()
}

/// What zigpy relies on: a stick with no network says NOT_JOINED in its version's code; a
/// network formed under a security state exports its keys and survives a reboot (ASH reset)
/// in the tokens; tokenFactoryReset forgets it.
#[test]
fn a_formed_network_lives_in_the_tokens_until_a_factory_reset() {
    use hanrig_radio::ezsp::command::*;
    use hanrig_radio::ezsp::wire::{
        InitialSecurityState, NetworkParameters, SecurityContext, Status,
    };
    for version in [13u8, 14, 18] {
        let mut n = EzspNcp::unformed(version, Eui64(0x000D_6F00_0ABC_DEF0))
            .with_devices([0; 16], Vec::new());
        let not_joined = if version >= 14 { 0x17 } else { 0x93 };
        assert_eq!(
            call(&mut n, version, &NetworkInit { bitmask: 0 }).status,
            Status(not_joined)
        );
        let state = InitialSecurityState {
            bitmask: 0x0084 | 0x0100 | 0x0200,
            preconfigured_key: [0x42; 16],
            network_key: [0x5A; 16],
            network_key_sequence: 3,
            trust_center_eui64: 0,
        };
        assert!(
            call(&mut n, version, &SetInitialSecurityState { state })
                .status
                .is_ok()
        );
        let parameters = NetworkParameters {
            extended_pan_id: 0x1122_3344_5566_7788,
            pan_id: 0x4321,
            radio_tx_power: 8,
            radio_channel: 25,
            ..NetworkParameters::default()
        };
        assert!(
            call(&mut n, version, &FormNetwork { parameters })
                .status
                .is_ok()
        );
        let network_key = ExportKey {
            context: SecurityContext {
                core_key_type: 1,
                ..SecurityContext::default()
            },
        };
        let tc_link_key = ExportKey {
            context: SecurityContext {
                core_key_type: 2,
                ..SecurityContext::default()
            },
        };
        assert_eq!(
            call(&mut n, version, &network_key).key,
            [0x5A; 16],
            "v{version}"
        );
        assert_eq!(
            call(&mut n, version, &tc_link_key).key,
            [0x42; 16],
            "v{version}"
        );
        let info = call(&mut n, version, &GetNetworkKeyInfo {}).info;
        assert!(info.network_key_set && info.network_key_sequence == 3);
        // Hashed trust-centre link keys, and devices may join with the global key.
        assert_eq!(
            call(&mut n, version, &GetCurrentSecurityState {})
                .state
                .bitmask,
            0x0084 | 0x0010
        );

        // A reboot: the network is down, and comes back from the tokens.
        let mut host = hanrig_radio::session::Session::new(hanrig_radio::session::Role::Host);
        let mut buf = [0u8; 64];
        let len = host.poll_transmit(0, &mut buf).unwrap();
        n.handle_bytes(0, &buf[..len]);
        assert_eq!(
            call(&mut n, version, &NetworkState {}).state,
            0,
            "down after a reboot"
        );
        assert!(
            call(&mut n, version, &NetworkInit { bitmask: 0 })
                .status
                .is_ok()
        );
        let reply = call(&mut n, version, &GetNetworkParameters {});
        assert_eq!(
            (reply.parameters.pan_id, reply.parameters.radio_channel),
            (0x4321, 25)
        );

        call(
            &mut n,
            version,
            &TokenFactoryReset {
                exclude_outgoing_fc: false,
                exclude_boot_counter: false,
            },
        );
        assert_eq!(
            call(&mut n, version, &GetNetworkParameters {}).status,
            Status(not_joined),
            "v{version}: forgotten"
        );
    }
}

/// The interview zigpy does, answered over the air by the simulated device: its node
/// descriptor, active endpoints and simple descriptor arrive as incomingMessageHandler
/// callbacks; the co-processor answers the same requests for itself from its endpoints.
#[test]
fn zdo_descriptor_requests_are_answered_by_the_device_and_by_the_coprocessor() {
    use hanrig_radio::ezsp::command::*;
    use hanrig_radio::ezsp::wire::{ApsFrame, Lv, Tag};
    use hanrig_sep::install_code::InstallCode;

    let code: InstallCode = IHD_CODE.parse().unwrap();
    let eui = Eui64(0x000D_6F00_0000_0001);
    let device = ihd(eui);
    let mut n = ncp(14).with_devices([0x5A; 16], vec![device]);
    call(&mut n, 14, &NetworkInit { bitmask: 0 });
    let key = ImportTransientKey {
        eui64: eui.0,
        key: code.link_key(),
        flags: 0,
    };
    assert_eq!(
        call(&mut n, 14, &key).status,
        hanrig_radio::ezsp::wire::SlStatus::OK
    );
    call(&mut n, 14, &PermitJoining { duration: 60 });
    n.handle_timeout(1_000_000);
    let zdo = |cluster: u16, destination: u16, payload: &[u8]| SendUnicast {
        message_type: 0,
        destination,
        aps_frame: ApsFrame {
            cluster,
            sequence: 1,
            ..ApsFrame::default()
        },
        tag: Tag(1),
        message: Lv::from_slice(payload).unwrap(),
    };
    let answers = |frames: Vec<Vec<u8>>| -> Vec<(u16, u16, Vec<u8>)> {
        frames
            .iter()
            .filter(|f| u16::from_le_bytes([f[3], f[4]]) == IncomingMessageHandler::ID)
            .map(|f| {
                let m: IncomingMessageHandler = parse(14, &f[5..]).unwrap();
                (m.sender, m.aps_frame.cluster, m.message.to_vec())
            })
            .collect()
    };
    call(&mut n, 14, &zdo(0x0002, 0x2000, &[7, 0x00, 0x20]));
    call(&mut n, 14, &zdo(0x0005, 0x2000, &[8, 0x00, 0x20]));
    call(&mut n, 14, &zdo(0x0004, 0x2000, &[9, 0x00, 0x20, 1]));
    n.handle_timeout(2_000_000);
    let queued = n.take_queued();
    // The device also reads the ESI's time and so on as it starts: keep the ZDO answers.
    let heard: Vec<_> = answers(queued)
        .into_iter()
        .filter(|h| h.1 & 0x8000 != 0)
        .collect();
    assert_eq!(heard.len(), 3, "{heard:02x?}");
    assert_eq!(
        (heard[0].0, heard[0].1, &heard[0].2[..4]),
        (0x2000, 0x8002, &[7, 0, 0x00, 0x20][..])
    );
    assert_eq!(heard[0].2[4] & 0x07, 2, "an end device");
    assert_eq!(heard[1].2, [8, 0, 0x00, 0x20, 1, 1]);
    // Endpoint 1: SE profile, in-premise display, Basic in; Time, Price, Metering, Messaging out.
    assert_eq!(
        heard[2].2,
        [
            9, 0, 0x00, 0x20, 18, 1, 0x09, 0x01, 0x02, 0x05, 0, 1, 0x00, 0x00, 4, 0x0A, 0x00, 0x00,
            0x07, 0x02, 0x07, 0x03, 0x07
        ]
    );

    // The co-processor's own endpoints, as addEndpoint described them.
    let ep = AddEndpoint {
        endpoint: 1,
        profile: 0x0104,
        device_id: 0x0005,
        device_version: 0,
        clusters: hanrig_radio::ezsp::wire::ClusterLists {
            input: [0x0000u16, 0x0006].into_iter().collect(),
            output: [0x0019u16].into_iter().collect(),
        },
    };
    assert!(call(&mut n, 14, &ep).status.is_ok());
    let out = {
        let mut frame = vec![0x22, 0x00, 0x01];
        frame.extend_from_slice(&SendUnicast::ID.to_le_bytes());
        let mut buf = [0u8; 128];
        let len = emit(14, &zdo(0x0005, 0x0000, &[3, 0x00, 0x00]), &mut buf).unwrap();
        frame.extend_from_slice(&buf[..len]);
        n.handle_ezsp(&frame)
    };
    let own = answers(out);
    assert_eq!(own, [(0x0000, 0x8005, vec![3, 0, 0x00, 0x00, 1, 1])]);
}
