//! Captures: read (pcapng or pcap, IEEE 802.15.4 with FCS), decrypted with a Wireshark key file
//! and decoded down to the SE command fields (Wireshark 4.0 has no SE 1.0 decoder: it offers SE
//! 1.1b to 1.4 only), and synthesised. Behind `hanrig capture decode|synth` and the conformance
//! reports' frame lists.

use std::fmt::Write as _;
use std::path::Path;

use hanrig_sep::aps::{
    ApsCommand, ApsHeader, FrameType as ApsFrameType, PROFILE_SMART_ENERGY, key_type,
};
use hanrig_sep::capture::{KeyFile, PcapngWriter};
use hanrig_sep::frame::{Keys, Opened, Protection, open};
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::mac::Address;
use hanrig_sep::security::{AuxHeader, KeyId};
use hanrig_sep::{Direction, Eui64, ZclFrame};
use hanrig_sim::stack::Stack;
use pcap_parser::{Block, LegacyPcapSlice, PcapBlockOwned, PcapNGSlice};
use serde_json::{Value, json};

/// One frame of a capture: its time (µs since 1970) and bytes (MAC header to FCS).
#[derive(Debug, Clone)]
pub struct CapturedFrame {
    /// Timestamp, microseconds since the Unix epoch.
    pub timestamp_us: u64,
    /// The frame.
    pub bytes: Vec<u8>,
}

/// Reads the 802.15.4 frames of a pcapng or pcap file (link type 195, with FCS).
pub fn read_capture(path: &Path) -> Result<Vec<CapturedFrame>, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let bad = |what: &str| format!("{}: {what}", path.display());
    let mut frames = Vec::new();
    if let Ok(slice) = PcapNGSlice::from_slice(&data) {
        let mut interfaces: Vec<(u16, u8)> = Vec::new();
        for block in slice {
            match block.map_err(|e| bad(&format!("bad pcapng block: {e:?}")))? {
                PcapBlockOwned::NG(Block::SectionHeader(_)) => interfaces.clear(),
                PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                    interfaces.push((idb.linktype.0 as u16, idb.if_tsresol))
                }
                PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                    let (linktype, tsresol) = *interfaces
                        .get(epb.if_id as usize)
                        .ok_or_else(|| bad("packet on an undeclared interface"))?;
                    if linktype != 195 {
                        return Err(bad(&format!(
                            "link type {linktype}: only 195 (IEEE 802.15.4 with FCS) is read"
                        )));
                    }
                    let raw = u64::from(epb.ts_high) << 32 | u64::from(epb.ts_low);
                    let timestamp_us = match tsresol {
                        6 => raw,
                        9 => raw / 1000,
                        r if r & 0x80 == 0 && r < 6 => raw * 10u64.pow(6 - u32::from(r)),
                        _ => raw,
                    };
                    let bytes = epb
                        .data
                        .get(..epb.caplen as usize)
                        .unwrap_or(epb.data)
                        .to_vec();
                    frames.push(CapturedFrame {
                        timestamp_us,
                        bytes,
                    });
                }
                _ => {}
            }
        }
        return Ok(frames);
    }
    let slice =
        LegacyPcapSlice::from_slice(&data).map_err(|_| bad("neither a pcapng nor a pcap file"))?;
    for block in slice {
        match block.map_err(|e| bad(&format!("bad pcap record: {e:?}")))? {
            PcapBlockOwned::LegacyHeader(h) if h.network.0 != 195 => {
                return Err(bad(&format!(
                    "link type {}: only 195 (IEEE 802.15.4 with FCS) is read",
                    h.network.0
                )));
            }
            PcapBlockOwned::Legacy(b) => frames.push(CapturedFrame {
                timestamp_us: u64::from(b.ts_sec) * 1_000_000 + u64::from(b.ts_usec),
                bytes: b.data.to_vec(),
            }),
            _ => {}
        }
    }
    Ok(frames)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn address(a: Address) -> Value {
    match a {
        Address::None => Value::Null,
        Address::Short(s) => json!(s),
        Address::Extended(e) => json!(e.to_string()),
    }
}

fn aux_json(aux: &AuxHeader) -> Value {
    json!({
        "level_on_air": aux.level_on_air,
        "key_id": match aux.key_id { KeyId::Data => 0, KeyId::Network => 1, KeyId::KeyTransport => 2, KeyId::KeyLoad => 3 },
        "frame_counter": aux.frame_counter,
        "source": aux.source.map(|s| s.to_string()),
        "key_sequence": aux.key_sequence,
    })
}

fn protection_json(p: &Protection, labels: &[String]) -> Value {
    match p {
        Protection::None => json!("none"),
        Protection::Decrypted { key } => json!({"decrypted_with": labels.get(*key)}),
        Protection::Failed(e) => json!({"failed": e.to_string()}),
    }
}

fn aps_command_json(cmd: &ApsCommand) -> Value {
    let mut v = match cmd {
        ApsCommand::TransportNetworkKey {
            key_type,
            key,
            sequence,
            destination,
            source,
        } => json!({
            "key_type": key_type, "key": hex(key), "key_sequence": sequence,
            "destination": destination.to_string(), "source": source.to_string()}),
        ApsCommand::TransportTrustCenterKey {
            key_type,
            key,
            destination,
            source,
        } => json!({
            "key_type": key_type, "key": hex(key), "destination": destination.to_string(), "source": source.to_string()}),
        ApsCommand::TransportApplicationKey {
            key_type,
            key,
            partner,
            initiator,
        } => json!({
            "key_type": key_type, "key": hex(key), "partner": partner.to_string(), "initiator": initiator}),
        ApsCommand::UpdateDevice {
            device,
            short_address,
            status,
        } => json!({
            "device": device.to_string(), "short_address": short_address, "status": status}),
        ApsCommand::RemoveDevice { target } => json!({"target": target.to_string()}),
        ApsCommand::RequestKey { key_type, partner } => {
            json!({"key_type": key_type, "partner": partner.map(|p| p.to_string())})
        }
        ApsCommand::SwitchKey { sequence } => json!({"key_sequence": sequence}),
        ApsCommand::Unknown { id, payload } => json!({"id": id, "payload": hex(payload)}),
    };
    v["name"] = json!(cmd.name());
    v
}

/// Decodes one frame with the candidate keys (network keys sent in Transport Key frames are
/// added to `keys`), as `hanrig capture decode --json` prints it.
pub fn decode_frame(frame: &CapturedFrame, index: usize, keys: &mut KeyFile) -> Value {
    let key_list: Vec<Key> = keys.keys.iter().map(|(k, _)| *k).collect();
    let labels: Vec<String> = keys.keys.iter().map(|(_, l)| l.clone()).collect();
    let mut bytes = frame.bytes.clone();
    let mut out =
        json!({"index": index, "timestamp_us": frame.timestamp_us, "length": bytes.len()});
    let opened: Opened = match open(
        &mut bytes,
        &Keys {
            network: &key_list,
            link: &key_list,
        },
    ) {
        Ok(o) => o,
        Err(e) => {
            out["error"] = json!(format!("cannot decode: {e}"));
            return out;
        }
    };
    let m = &opened.mac;
    out["fcs_ok"] = json!(opened.fcs_ok);
    out["mac"] = json!({
        "frame_type": u16::from(m.frame_type), "ack_request": m.ack_request, "pan_id_compression": m.pan_id_compression,
        "frame_version": m.frame_version, "sequence": m.sequence, "dst_pan": m.dst_pan, "dst": address(m.dst),
        "src_pan": m.src_pan, "src": address(m.src)});
    let payload = &bytes[opened.payload.clone()];
    let Some(nwk) = &opened.nwk else {
        out["mac_payload"] = json!(hex(payload));
        return out;
    };
    out["nwk"] = json!({
        "frame_type": nwk.frame_type, "protocol_version": nwk.protocol_version, "discover_route": nwk.discover_route,
        "dst": nwk.dst, "src": nwk.src, "radius": nwk.radius, "sequence": nwk.sequence,
        "dst_ieee": nwk.dst_ieee.map(|e| e.to_string()), "src_ieee": nwk.src_ieee.map(|e| e.to_string()),
        "security": nwk.security.as_ref().map(aux_json),
        "protection": protection_json(&opened.nwk_protection, &labels)});
    let Some(aps) = &opened.aps else {
        out["nwk_payload"] = json!(hex(payload));
        return out;
    };
    out["aps"] = json!({
        "frame_type": aps.frame_type as u8, "delivery_mode": aps.delivery_mode as u8, "ack_request": aps.ack_request,
        "dst_endpoint": aps.dst_endpoint, "group": aps.group, "cluster": aps.cluster, "profile": aps.profile,
        "src_endpoint": aps.src_endpoint, "counter": aps.counter,
        "security": aps.security.as_ref().map(aux_json),
        "protection": protection_json(&opened.aps_protection, &labels)});
    if matches!(opened.aps_protection, Protection::Failed(_)) {
        out["aps_payload"] = json!(hex(payload));
        return out;
    }
    match (aps.frame_type, aps.profile, aps.cluster) {
        (ApsFrameType::Command, _, _) => match ApsCommand::parse(payload) {
            Ok(cmd) => {
                if let ApsCommand::TransportNetworkKey { key, sequence, .. } = &cmd {
                    keys.add(
                        *key,
                        &format!("network key {sequence} (from Transport Key in frame {index})"),
                    );
                }
                out["aps_command"] = aps_command_json(&cmd);
            }
            Err(e) => out["error"] = json!(format!("APS command: {e}")),
        },
        (ApsFrameType::Data, Some(PROFILE_SMART_ENERGY), Some(cluster)) => {
            match ZclFrame::parse(cluster, payload) {
                Ok(zcl) => out["zcl"] = serde_json::to_value(&zcl).unwrap_or(Value::Null),
                Err(e) => {
                    out["error"] = json!(format!("ZCL: {e}"));
                    out["aps_payload"] = json!(hex(payload));
                }
            }
        }
        _ => out["aps_payload"] = json!(hex(payload)),
    }
    out
}

/// `hanrig capture decode`.
pub fn decode(path: &Path, key_path: Option<&Path>, as_json: bool) -> Result<String, String> {
    let mut keys = match key_path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
            KeyFile::parse(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => KeyFile::default(),
    };
    let frames = read_capture(path)?;
    let mut out = String::new();
    for (index, frame) in frames.iter().enumerate() {
        let v = decode_frame(frame, index, &mut keys);
        if as_json {
            let _ = writeln!(out, "{v}");
        } else {
            let _ = writeln!(out, "{}", summary(&v));
        }
    }
    Ok(out)
}

/// One readable line for a frame decoded by [`decode_frame`].
pub fn summary(v: &Value) -> String {
    let mut s = format!(
        "#{:<3} {:>10.6}s",
        v["index"],
        v["timestamp_us"].as_u64().unwrap_or(0) as f64 / 1e6
    );
    if let Some(e) = v["error"].as_str() {
        let _ = write!(s, "  ! {e}");
    }
    if v["fcs_ok"] == json!(false) {
        s.push_str("  ! bad FCS");
    }
    let short = |a: &Value| match a {
        Value::Number(n) => format!("0x{:04x}", n.as_u64().unwrap_or(0)),
        Value::String(t) => t.clone(),
        _ => "-".into(),
    };
    let m = &v["mac"];
    let _ = write!(
        s,
        "  MAC {}→{} seq {}",
        short(&m["src"]),
        short(&m["dst"]),
        m["sequence"]
    );
    let n = &v["nwk"];
    if !n.is_null() {
        let _ = write!(
            s,
            " | NWK {}→{} seq {}",
            short(&n["src"]),
            short(&n["dst"]),
            n["sequence"]
        );
        protection_text(&mut s, &n["protection"]);
    }
    let a = &v["aps"];
    if !a.is_null() {
        match a["cluster"].as_u64() {
            Some(c) => {
                let _ = write!(
                    s,
                    " | APS cluster 0x{c:04x} ep {}→{}",
                    a["src_endpoint"], a["dst_endpoint"]
                );
            }
            None => s.push_str(" | APS"),
        }
        protection_text(&mut s, &a["protection"]);
    }
    if let Some(cmd) = v["aps_command"].as_object() {
        let _ = write!(s, " | {}", Value::Object(cmd.clone()));
    }
    if let Some(cmd) = v["zcl"]["command"].as_object() {
        let _ = write!(
            s,
            " | ZCL tsn {} {}",
            v["zcl"]["header"]["tsn"],
            Value::Object(cmd.clone())
        );
    }
    s
}

fn protection_text(s: &mut String, p: &Value) {
    if let Some(label) = p["decrypted_with"].as_str() {
        let _ = write!(s, " [decrypted: {label}]");
    } else if let Some(e) = p["failed"].as_str() {
        let _ = write!(s, " [ENCRYPTED: {e}]");
    }
}

/// Start of `capture synth`'s timeline: 2026-01-01T00:00:00Z.
const SYNTH_START_US: u64 = 1_767_225_600_000_000;

/// `hanrig capture synth`: a Transport-Key frame carrying the network key under the key derived
/// from `install_code`, then one NWK-secured frame of each ZCL frame of `commands` (`(cluster,
/// bytes)`; Price, DRLC, Metering and Messaging also APS-secured with the install-code link
/// key), from an ESI (coordinator, trust centre) and an in-home display built with the
/// simulator's stack.
pub fn synth(
    out: &Path,
    key_out: &Path,
    install_code: &InstallCode,
    commands: &[(u16, Vec<u8>)],
) -> Result<String, String> {
    let network_key: Key = [
        0x01, 0x03, 0x05, 0x07, 0x09, 0x0B, 0x0D, 0x0F, 0x00, 0x02, 0x04, 0x06, 0x08, 0x0A, 0x0C,
        0x0D,
    ];
    let link_key = install_code.link_key();
    let (pan, esi_short, ihd_short) = (0x1A62, 0x0000, 0x796F);
    let mut esi = Stack::new(Eui64(0x000D_6F00_0ABC_DEF0), pan);
    esi.short = Some(esi_short);
    let mut ihd = Stack::new(Eui64(0x0012_4B00_0102_0304), pan);
    ihd.short = Some(ihd_short);
    let failed = || "building a frame failed".to_string();
    let mut frames = Vec::new();

    let transport = ApsCommand::TransportNetworkKey {
        key_type: key_type::NETWORK,
        key: network_key,
        sequence: 0,
        destination: ihd.eui,
        source: esi.eui,
    };
    let mut payload = [0u8; 64];
    let len = transport.emit(&mut payload).map_err(|e| e.to_string())?;
    let aps = ApsHeader::command(0, None);
    frames.push(
        esi.data_frame(
            ihd_short,
            None,
            aps,
            Some((KeyId::KeyTransport, &link_key)),
            &payload[..len],
        )
        .ok_or_else(failed)?,
    );

    for (cluster, zcl) in commands {
        let frame = ZclFrame::parse(*cluster, zcl).map_err(|e| e.to_string())?;
        let built = if frame.header.direction == Direction::ServerToClient {
            esi.zcl_frame(ihd_short, &network_key, &link_key, &frame)
        } else {
            ihd.zcl_frame(esi_short, &network_key, &link_key, &frame)
        };
        frames.push(built.ok_or_else(failed)?);
    }

    let file =
        std::fs::File::create(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let mut writer = PcapngWriter::new(std::io::BufWriter::new(file), "hanrig capture synth")
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    for (i, frame) in frames.iter().enumerate() {
        writer
            .write_frame(SYNTH_START_US + i as u64 * 100_000, frame)
            .map_err(|e| format!("writing {}: {e}", out.display()))?;
    }
    writer
        .finish()
        .map_err(|e| format!("writing {}: {e}", out.display()))?;

    let mut keys = KeyFile::default();
    keys.add(network_key, "hanrig synth network key");
    keys.add(link_key, &format!("install code {install_code} link key"));
    std::fs::write(key_out, keys.to_text())
        .map_err(|e| format!("writing {}: {e}", key_out.display()))?;
    Ok(format!(
        "wrote {} frames to {} and {} keys to {}\n",
        frames.len(),
        out.display(),
        keys.keys.len(),
        key_out.display()
    ))
}
