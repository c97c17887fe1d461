//! MAC, NWK and APS framing and ZigBee security.

#![allow(clippy::unwrap_used)]

use hanrig_sep::Eui64;
use hanrig_sep::aps::{
    ApsCommand, ApsHeader, DeliveryMode, FrameType as ApsFrameType, PROFILE_SMART_ENERGY, key_type,
};
use hanrig_sep::frame::{Keys, Protection, open, seal};
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::mac::{Address, FCS, FrameType, MacHeader};
use hanrig_sep::nwk::{NwkHeader, SourceRoute};
use hanrig_sep::security::{AuxHeader, FrameCounters, KeyId, SecurityError};
use proptest::prelude::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn key(s: &str) -> Key {
    unhex(s).try_into().unwrap()
}

/// `vectors/secured_frames.txt`: frames secured by pyca/cryptography's AES-CCM
/// (`gen_secured_frames.py`), a different implementation from ours.
fn secured_vectors() -> Vec<(String, Key, Vec<u8>, Vec<u8>)> {
    include_str!("vectors/secured_frames.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), key(f[1]), unhex(f[2]), unhex(f[3]))
        })
        .collect()
}

const IC_LINK_KEY: &str = "66B6900981E1EE3CA4206B6B861C02BB";

#[test]
fn nwk_frame_secured_by_another_implementation_opens_and_reseals_identically() {
    let (_, network_key, frame, plaintext) = secured_vectors()
        .into_iter()
        .find(|v| v.0 == "nwk")
        .unwrap();
    let mut buf = frame.clone();
    let opened = open(
        &mut buf,
        &Keys {
            network: &[[0xAA; 16], network_key],
            link: &[],
        },
    )
    .unwrap();
    assert!(opened.fcs_ok);
    assert_eq!(opened.nwk_protection, Protection::Decrypted { key: 1 });
    let nwk = opened.nwk.clone().unwrap();
    let aux = nwk.security.unwrap();
    assert_eq!(
        (aux.frame_counter, aux.key_id, aux.level_on_air),
        (0x105, KeyId::Network, 0)
    );
    assert_eq!(aux.source, Some("00:12:4b:00:01:02:03:04".parse().unwrap()));
    let aps = opened.aps.unwrap();
    assert_eq!(
        (aps.cluster, aps.profile, aps.counter),
        (Some(0x0701), Some(PROFILE_SMART_ENERGY), 0x33)
    );
    assert_eq!(&buf[opened.payload.clone()], &plaintext[8..]);

    let mut again = [0u8; 127];
    let len = seal(
        &opened.mac,
        &nwk,
        Some(&network_key),
        &aps,
        None,
        &plaintext[8..],
        &mut again,
    )
    .unwrap();
    assert_eq!(&again[..len], &frame[..]);
}

#[test]
fn transport_key_secured_by_another_implementation_opens_with_the_install_code_key() {
    let (_, kt_key, frame, plaintext) = secured_vectors()
        .into_iter()
        .find(|v| v.0 == "aps")
        .unwrap();
    let link = InstallCode::from_bytes(&unhex("83FED3407A939723A5C639B26916D505C3B5"))
        .unwrap()
        .link_key();
    assert_eq!(link, key(IC_LINK_KEY));
    assert_eq!(KeyId::KeyTransport.key_from_link_key(&link), kt_key);

    let mut buf = frame.clone();
    let opened = open(
        &mut buf,
        &Keys {
            network: &[],
            link: &[link],
        },
    )
    .unwrap();
    assert_eq!(opened.nwk_protection, Protection::None);
    assert_eq!(opened.aps_protection, Protection::Decrypted { key: 0 });
    let payload = &buf[opened.payload.clone()];
    assert_eq!(payload, &plaintext[..]);
    let ApsCommand::TransportNetworkKey {
        key_type,
        key: nwk_key,
        sequence,
        destination,
        source,
    } = ApsCommand::parse(payload).unwrap()
    else {
        panic!()
    };
    assert_eq!(key_type, key_type::NETWORK);
    assert_eq!(nwk_key, key("01030507090B0D0F00020406080A0C0D"));
    assert_eq!(sequence, 0);
    assert_eq!(destination.to_string(), "00:12:4b:00:01:02:03:04");
    assert_eq!(source.to_string(), "00:0d:6f:00:0a:bc:de:f0");

    let mut again = [0u8; 127];
    let (nwk, aps) = (opened.nwk.unwrap(), opened.aps.unwrap());
    let len = seal(
        &opened.mac,
        &nwk,
        None,
        &aps,
        Some(&kt_key),
        payload,
        &mut again,
    )
    .unwrap();
    assert_eq!(&again[..len], &frame[..]);
}

fn sealed_lce() -> (Vec<u8>, Key) {
    let network_key = key("01030507090B0D0F00020406080A0C0D");
    let esi = Eui64(0x000D_6F00_0ABC_DEF0);
    let mac = MacHeader::data(1, 0x1A62, Address::Short(0x796F), Address::Short(0));
    let mut nwk = NwkHeader::data(0x796F, 0, 7, Some(esi));
    nwk.security = Some(AuxHeader::new(KeyId::Network, 42, esi, 0));
    let aps = ApsHeader::data(1, 0x0701, PROFILE_SMART_ENERGY, 1, 3);
    let zcl = unhex("0909007856341214000000000000010004ffff0080008080ff00");
    let mut buf = [0u8; 127];
    let len = seal(&mac, &nwk, Some(&network_key), &aps, None, &zcl, &mut buf).unwrap();
    (buf[..len].to_vec(), network_key)
}

#[test]
fn any_altered_byte_of_a_secured_frame_fails_the_mic() {
    let (frame, network_key) = sealed_lce();
    let keys = Keys {
        network: &[network_key],
        link: &[],
    };
    let mut ok = frame.clone();
    assert_eq!(
        open(&mut ok, &keys).unwrap().nwk_protection,
        Protection::Decrypted { key: 0 }
    );
    // NWK header and aux header (authenticated), ciphertext and MIC: every byte counts. The
    // MAC header (offsets 0..9) is outside ZigBee security.
    for at in 9..frame.len() - 2 {
        let mut bad = frame.clone();
        bad[at] ^= 0x80;
        let fcs_len = bad.len() - 2;
        let fcs = FCS.checksum(&bad[..fcs_len]).to_le_bytes();
        bad[fcs_len..].copy_from_slice(&fcs);
        // A header that no longer parses is refused too (Err); one that parses must fail the MIC.
        if let Ok(o) = open(&mut bad, &keys) {
            assert_eq!(
                o.nwk_protection,
                Protection::Failed(SecurityError::MicMismatch),
                "byte {at}"
            );
        }
    }
}

#[test]
fn the_security_level_on_air_is_ignored_as_zigbee_requires() {
    // The level bits are sent as 0 and replaced by 5 before the MIC is computed, so a sender
    // that puts 5 (or anything) on air is read the same way (Wireshark does the same).
    let (frame, network_key) = sealed_lce();
    let control_at = 9 + 16; // MAC header, NWK header with source EUI64
    assert_eq!(frame[control_at], 0x28);
    let mut level5 = frame.clone();
    level5[control_at] |= 5;
    let fcs = FCS.checksum(&level5[..frame.len() - 2]).to_le_bytes();
    let end = level5.len();
    level5[end - 2..].copy_from_slice(&fcs);
    let opened = open(
        &mut level5,
        &Keys {
            network: &[network_key],
            link: &[],
        },
    )
    .unwrap();
    assert_eq!(opened.nwk_protection, Protection::Decrypted { key: 0 });
    assert_eq!(opened.nwk.unwrap().security.unwrap().level_on_air, 5);
}

#[test]
fn a_wrong_key_leaves_the_frame_intact_for_the_right_one() {
    let (frame, network_key) = sealed_lce();
    let mut buf = frame.clone();
    let opened = open(
        &mut buf,
        &Keys {
            network: &[[0; 16], [1; 16], network_key],
            link: &[],
        },
    )
    .unwrap();
    assert_eq!(opened.nwk_protection, Protection::Decrypted { key: 2 });
    let mut buf = frame.clone();
    let opened = open(
        &mut buf,
        &Keys {
            network: &[[0; 16]],
            link: &[network_key],
        },
    )
    .unwrap();
    assert_eq!(
        opened.nwk_protection,
        Protection::Failed(SecurityError::MicMismatch)
    );
    assert_eq!(buf, frame, "a failed attempt changes nothing");
}

#[test]
fn frame_counters_refuse_replays_and_keep_room_for_new_senders() {
    let (a, b, c) = (Eui64(1), Eui64(2), Eui64(3));
    let mut counters = FrameCounters::<2>::new();
    counters.accept(a, 10).unwrap();
    counters.accept(a, 11).unwrap();
    assert_eq!(
        counters.accept(a, 11),
        Err(SecurityError::Replay {
            received: 11,
            last: 11
        })
    );
    assert_eq!(
        counters.accept(a, 3),
        Err(SecurityError::Replay {
            received: 3,
            last: 11
        })
    );
    counters.accept(b, 500).unwrap();
    counters.accept(c, 0).unwrap(); // full: replaces the sender with the lowest counter (a)
    assert_eq!(
        (counters.last(a), counters.last(b), counters.last(c)),
        (None, Some(500), Some(0))
    );
}

#[test]
fn fcs_is_crc16_kermit_appended_little_endian() {
    assert_eq!(FCS.checksum(b"123456789"), 0x2189);
    let header = MacHeader::data(0x2A, 0x1A62, Address::Short(0), Address::Short(0x796F));
    let mut buf = [0u8; 32];
    let len = header.emit(&[1, 2, 3], &mut buf).unwrap();
    let crc = FCS.checksum(&buf[..len - 2]);
    assert_eq!(buf[len - 2..len], crc.to_le_bytes());
    buf[4] ^= 0x80;
    assert!(
        !MacHeader::parse(&buf[..len]).unwrap().2,
        "a corrupted frame fails its FCS"
    );
}

#[test]
fn mac_addressing_modes_round_trip() {
    let ext = Address::Extended(Eui64(0x0012_4B00_0102_0304));
    let headers = [
        MacHeader::data(1, 0x1A62, Address::Short(0), Address::Short(0x796F)),
        MacHeader::data(2, 0x1A62, Address::BROADCAST, ext),
        MacHeader {
            pan_id_compression: false,
            src_pan: Some(0xBEEF),
            ..MacHeader::data(3, 0x1A62, ext, ext)
        },
        // Beacon request: broadcast destination, no source.
        MacHeader {
            frame_type: FrameType::Command,
            ack_request: false,
            pan_id_compression: false,
            src: Address::None,
            ..MacHeader::data(4, 0xFFFF, Address::BROADCAST, Address::None)
        },
        // Beacon: source only.
        MacHeader {
            frame_type: FrameType::Beacon,
            ack_request: false,
            pan_id_compression: false,
            dst_pan: None,
            dst: Address::None,
            src_pan: Some(0x1A62),
            ..MacHeader::data(5, 0, Address::None, Address::Short(0))
        },
    ];
    for header in headers {
        let mut buf = [0u8; 40];
        let len = header.emit(&[0xC0, 0xFF, 0xEE], &mut buf).unwrap();
        let (parsed, payload, fcs_ok) = MacHeader::parse(&buf[..len]).unwrap();
        assert_eq!(
            (parsed, payload, fcs_ok),
            (header, &[0xC0, 0xFF, 0xEE][..], true)
        );
    }
    let bad = MacHeader {
        src_pan: Some(1),
        ..MacHeader::data(1, 2, Address::Short(0), Address::Short(1))
    };
    assert!(
        bad.emit(&[], &mut [0u8; 40]).is_err(),
        "a source PAN under PAN ID compression is refused"
    );
}

#[test]
fn aps_commands_round_trip() {
    let (a, b) = (Eui64(0x0012_4B00_0102_0304), Eui64(0x000D_6F00_0ABC_DEF0));
    let commands = [
        ApsCommand::TransportNetworkKey {
            key_type: 1,
            key: [7; 16],
            sequence: 3,
            destination: a,
            source: b,
        },
        ApsCommand::TransportTrustCenterKey {
            key_type: 4,
            key: [8; 16],
            destination: a,
            source: b,
        },
        ApsCommand::TransportApplicationKey {
            key_type: 3,
            key: [9; 16],
            partner: a,
            initiator: 7,
        },
        ApsCommand::UpdateDevice {
            device: a,
            short_address: 0x796F,
            status: 1,
        },
        ApsCommand::RemoveDevice { target: a },
        ApsCommand::RequestKey {
            key_type: 4,
            partner: None,
        },
        ApsCommand::RequestKey {
            key_type: 3,
            partner: Some(b),
        },
        ApsCommand::SwitchKey { sequence: 4 },
        ApsCommand::Unknown {
            id: 0x0E,
            payload: heapless::Vec::from_slice(&[1, 2, 3]).unwrap(),
        },
    ];
    for cmd in commands {
        let mut buf = [0u8; 64];
        let len = cmd.emit(&mut buf).unwrap();
        assert_eq!(ApsCommand::parse(&buf[..len]).unwrap(), cmd);
        assert!(
            ApsCommand::parse(&buf[..len - 1]).is_err()
                || matches!(cmd, ApsCommand::Unknown { .. })
        );
    }
}

fn eui() -> impl Strategy<Value = Eui64> {
    any::<u64>().prop_map(Eui64)
}

fn aux(key_id: KeyId) -> impl Strategy<Value = AuxHeader> {
    (any::<u32>(), eui(), any::<bool>(), any::<u8>()).prop_map(move |(counter, src, ext, seq)| {
        AuxHeader {
            source: ext.then_some(src),
            ..AuxHeader::new(key_id, counter, src, seq)
        }
    })
}

fn nwk_header() -> impl Strategy<Value = NwkHeader> {
    (
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            0u8..4,
            0u8..16,
        ),
        (
            prop::option::of(eui()),
            prop::option::of(eui()),
            prop::option::of(any::<u8>()),
        ),
        prop::option::of((any::<u8>(), prop::collection::vec(any::<u16>(), 0..5))),
        (any::<bool>(), 0u8..4, prop::option::of(aux(KeyId::Network))),
    )
        .prop_map(
            |(
                (dst, src, radius, seq, discover, version),
                (dst_ieee, src_ieee, multicast),
                route,
                (edi, reserved, sec),
            )| NwkHeader {
                frame_type: 0,
                protocol_version: version,
                discover_route: discover,
                multicast,
                source_route: route.map(|(relay_index, r)| SourceRoute {
                    relay_index,
                    relays: heapless::Vec::from_slice(&r).unwrap(),
                }),
                end_device_initiator: edi,
                reserved,
                dst,
                src,
                radius,
                sequence: seq,
                dst_ieee,
                src_ieee: src_ieee.or(sec.and_then(|a| a.source.is_none().then_some(Eui64(7)))),
                security: sec,
            },
        )
}

fn aps_header() -> impl Strategy<Value = ApsHeader> {
    let data = (
        any::<u8>(),
        any::<u16>(),
        any::<u16>(),
        any::<u8>(),
        any::<u8>(),
        0u8..3,
        any::<u16>(),
        any::<bool>(),
    )
        .prop_map(
            |(dst_ep, cluster, profile, src_ep, counter, mode, group, ack)| {
                let mut h = ApsHeader::data(dst_ep, cluster, profile, src_ep, counter);
                h.ack_request = ack;
                match mode {
                    1 => h.delivery_mode = DeliveryMode::Broadcast,
                    2 => {
                        h.delivery_mode = DeliveryMode::Group;
                        h.dst_endpoint = None;
                        h.group = Some(group);
                    }
                    _ => {}
                }
                h
            },
        );
    let command = any::<u8>().prop_map(|c| ApsHeader::command(c, None));
    (
        prop_oneof![data, command],
        prop::option::of((any::<u8>(), prop::option::of(any::<u8>()))),
        prop::option::of(aux(KeyId::Data)),
    )
        .prop_map(|(mut h, ext, sec)| {
            h.extended = ext.map(|(c, block)| match block {
                Some(b) => (c | 1, Some(b)),
                None => (c & !3, None),
            });
            if h.frame_type == ApsFrameType::Command {
                h.extended = None;
            }
            h.security = sec;
            h
        })
}

proptest! {
    /// Random headers, keys and payloads: sealing then opening gives back every header and the
    /// payload, through both security layers.
    #[test]
    fn seal_then_open_gives_back_headers_and_payload(
        nwk in nwk_header(),
        aps in aps_header(),
        payload in prop::collection::vec(any::<u8>(), 0..20),
        network_key in any::<[u8; 16]>(),
        link_key in any::<[u8; 16]>(),
        seq in any::<u8>(),
    ) {
        let mut nwk = nwk;
        if aps.security.is_some_and(|a| a.source.is_none()) && nwk.src_ieee.is_none() {
            // Without an extended nonce the APS nonce address is the NWK source EUI64.
            nwk.src_ieee = Some(Eui64(9));
        }
        let mac = MacHeader::data(seq, 0x1A62, Address::Short(nwk.dst), Address::Short(nwk.src));
        let mut buf = [0u8; 256];
        let len = seal(&mac, &nwk, Some(&network_key), &aps, Some(&link_key), &payload, &mut buf).unwrap();
        let opened = open(&mut buf[..len], &Keys { network: &[network_key], link: &[link_key] }).unwrap();
        prop_assert_eq!(opened.mac, mac);
        prop_assert_eq!(opened.nwk.as_ref(), Some(&nwk));
        prop_assert_eq!(opened.aps, Some(aps));
        let want = |secured: bool| if secured { Protection::Decrypted { key: 0 } } else { Protection::None };
        prop_assert_eq!(opened.nwk_protection, want(nwk.security.is_some()));
        prop_assert_eq!(opened.aps_protection, want(aps.security.is_some()));
        prop_assert_eq!(&buf[opened.payload.clone()], &payload[..]);
    }

    /// Random bytes never make `open` panic.
    #[test]
    fn open_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..140), k in any::<[u8; 16]>()) {
        let mut bytes = bytes;
        let _ = open(&mut bytes, &Keys { network: &[k], link: &[k] });
    }
}
