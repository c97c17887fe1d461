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
