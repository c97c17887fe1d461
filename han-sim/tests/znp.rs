//! The simulated ZNP co-processor against the frames zigpy-znp 1.1.1 exchanged with a Z-Stack
//! 3.30 device (MT vectors checked with zigpy-znp's own serialisers).

#![allow(clippy::unwrap_used)]

use hanrig_radio::mt::nv;
use hanrig_sep::Eui64;
use hanrig_sim::ncp::Network;
use hanrig_sim::serve::Coprocessor;
use hanrig_sim::znp::{ZnpNcp, nib};

const NETWORK: Network = Network {
    extended_pan_id: 0x0011_2233_4455_6677,
    pan_id: 0x1A62,
    channel: 15,
    tx_power: 8,
};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn znp() -> ZnpNcp {
    let key: [u8; 16] = core::array::from_fn(|i| i as u8 + 1);
    ZnpNcp::new(Eui64(0x0012_4B00_1CAA_AC5C), NETWORK, key)
}

/// An MT frame (SOF, length, cmd0, cmd1, data, FCS).
fn frame(cmd0: u8, cmd1: u8, data: &str) -> String {
    let data = unhex(data);
    let mut out = [0u8; 300];
    let header = hanrig_radio::mt::Header::parse(cmd0, cmd1).unwrap();
    let len = hanrig_radio::mt::encode(header, &data, &mut out).unwrap();
    out[..len].iter().map(|b| format!("{b:02X}")).collect()
}

/// Sends `request` and returns every byte the co-processor answers.
fn exchange(n: &mut ZnpNcp, request: &str) -> Vec<u8> {
    n.handle_bytes(0, &unhex(request));
    let mut out = Vec::new();
    let mut buf = [0u8; 300];
    while let Some(len) = n.poll_transmit(0, &mut buf) {
        out.extend_from_slice(&buf[..len]);
    }
    out
}

#[test]
fn connect_probes_are_answered_as_a_cc26x2_answers_them() {
    let mut n = znp();
    assert_eq!(
        exchange(&mut n, "FE 00 21 01 20"),
        unhex("FE 02 61 01 59 06 3D")
    );
    assert_eq!(
        exchange(&mut n, "FE 00 21 02 23"),
        unhex("FE 0E 61 02 02 01 02 07 01 3B 89 34 01 00 FF FF FF FF ED")
    );
    let mut assoc = unhex("FE 24 67 49");
    assoc.extend([0xFF; 36]);
    assoc.push(0x0A);
    assert_eq!(exchange(&mut n, "FE 01 27 49 00 6F"), assoc);
    // TCLK_TABLE is empty: length 0 says Z-Stack 3.30.
    assert_eq!(
        exchange(&mut n, "FE 05 21 32 01 04 00 00 00 13"),
        unhex("FE 04 61 32 00 00 00 00 57")
    );
    // An unknown command: RPC error, invalid command ID.
    assert_eq!(
        exchange(&mut n, "FE 00 21 0B 2A"),
        unhex("FE 03 60 00 02 21 0B 4B")
    );
}

#[test]
fn the_network_is_in_nv_with_z_stack_3_30_layouts() {
    let mut n = znp();
    let want = unhex(
        "000502330f33001e0000000105018f000700020d1e0000000f0000000000000000000000621a0800008000000f0f04000100000001000000007766554433221100010000000000000000000000000000000000000000000000000000000000000000000000000f050001780a0100000000000000",
    );
    assert_eq!(nib(&NETWORK), want);
    assert_eq!(
        exchange(&mut n, "FE 02 21 13 21 00 11"),
        unhex("FE 02 61 13 74 00 04")
    );
    let mut read = unhex("FE 76 61 1C 00 74");
    read.extend(&want);
    read.push(0x77);
    assert_eq!(exchange(&mut n, "FE 04 21 1C 21 00 00 00 18"), read);
    assert_eq!(
        exchange(&mut n, "FE 04 21 1C 3A 00 00 00 03"),
        unhex("FE 13 61 1C 00 11 00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F 10 6F")
    );
    assert_eq!(
        exchange(&mut n, "FE 08 21 33 01 07 00 00 00 00 00 0C 10"),
        unhex("FE 0E 61 33 00 0C C4 09 00 00 77 66 55 44 33 22 11 00 9D")
    );
    assert_eq!(
        exchange(&mut n, "FE 04 21 1C 01 00 00 00 38"),
        unhex("FE 0A 61 1C 00 08 5C AC AA 1C 00 4B 12 00 60")
    );
}

#[test]
fn formation_takes_the_network_the_host_wrote() {
    let mut n = znp();
    // The host writes PANID 0x2B73 and CHANLIST channel 25, clears the network on reset, and
    // starts BDB formation.
    // OSAL_NV_WRITE_EXT: id, offset u16, length u16, value.
    let ok = unhex("FE 01 61 1D 00 7D");
    assert_eq!(
        exchange(&mut n, &frame(0x21, 0x1D, "8300 0000 0200 732B")),
        ok
    );
    assert_eq!(
        exchange(&mut n, &frame(0x21, 0x1D, "8400 0000 0400 00000002")),
        ok
    );
    assert_eq!(
        exchange(&mut n, &frame(0x21, 0x1D, "0300 0000 0100 02")),
        ok
    );
    let reset = exchange(&mut n, "FE 01 41 00 01 41");
    assert_eq!(
        reset,
        unhex("FE 06 41 80 00 02 01 02 07 01 C0"),
        "SYS_RESET_IND"
    );
    assert!(
        n.osal_item(nv::NIB).is_none(),
        "clear-state wiped the network"
    );
    let out = exchange(&mut n, &frame(0x2F, 0x05, "04"));
    // SRSP success, ZDO_STATE_CHANGE_IND(started as coordinator), commissioning notification.
    let mut want = unhex(&frame(0x6F, 0x05, "00"));
    want.extend(unhex(&frame(0x45, 0xC0, "09")));
    want.extend(unhex(&frame(0x4F, 0x80, "00 04 00")));
    assert_eq!(out, want);
    let nib = n.osal_item(nv::NIB).unwrap();
    assert_eq!(
        (nib[24], u16::from_le_bytes([nib[36], nib[37]])),
        (25, 0x2B73)
    );
}
