//! What every simulated node has below the application: addresses, sequence numbers, outgoing
//! frame counters, incoming frame-counter checks, and the building and opening of frames.

use std::collections::HashMap;

use hanrig_sep::aps::{ApsCommand, ApsHeader, PROFILE_SMART_ENERGY, key_type};
use hanrig_sep::frame::{self, Keys, Opened, Protection};
use hanrig_sep::install_code::Key;
use hanrig_sep::mac::{Address, FrameType, MacHeader};
use hanrig_sep::nwk::NwkHeader;
use hanrig_sep::security::{AuxHeader, KeyId};
use hanrig_sep::{Command, Eui64, ZclFrame};

/// Broadcast PAN ID.
pub const BROADCAST_PAN: u16 = 0xFFFF;

/// A node's network identity and counters.
#[derive(Debug, Clone)]
pub struct Stack {
    /// EUI64.
    pub eui: Eui64,
    /// Short address once it has one.
    pub short: Option<u16>,
    /// PAN ID.
    pub pan: u16,
    mac_seq: u8,
    nwk_seq: u8,
    pub(crate) aps_counter: u8,
    tsn: u8,
    nwk_frame_counter: u32,
    aps_frame_counter: u32,
    /// Last accepted NWK and APS frame counters per sender.
    incoming: HashMap<(Eui64, bool), u32>,
}

/// A frame received and opened.
#[derive(Debug)]
pub struct Received {
    /// The opened layers.
    pub opened: Opened,
    /// The innermost payload (decrypted).
    pub payload: Vec<u8>,
}

/// A device a trust centre admitted, with the link key it joined with.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its EUI64.
    pub eui: Eui64,
    /// Its short address.
    pub short: u16,
    /// Its link key (from its install code).
    pub link_key: Key,
}

impl Received {
    /// The EUI64 of a device asking to associate (a MAC Association Request), if this is one.
    pub fn association_request(&self) -> Option<Eui64> {
        let is_request = self.opened.mac.frame_type == FrameType::Command
            && self.payload.first() == Some(&hanrig_sep::mac::command::ASSOCIATION_REQUEST);
        is_request.then(|| self.source_eui()).flatten()
    }

    /// The ZCL frame, for SE-profile data frames.
    pub fn zcl(&self) -> Option<ZclFrame> {
        let aps = self.opened.aps.as_ref()?;
        if aps.profile != Some(PROFILE_SMART_ENERGY) {
            return None;
        }
        ZclFrame::parse(aps.cluster?, &self.payload).ok()
    }

    /// The sender's EUI64, from the NWK header.
    pub fn source_eui(&self) -> Option<Eui64> {
        match self.opened.mac.src {
            Address::Extended(e) => Some(e),
            _ => self.opened.nwk.as_ref().and_then(|n| n.src_ieee),
        }
    }
}

/// Why a received frame was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drop {
    /// Not for this node, or not parseable.
    NotForUs,
    /// NWK or APS security could not be removed.
    Undecryptable(&'static str),
    /// A frame counter not above the last one from that sender (a duplicate or replay).
    Replay,
}

impl Stack {
    /// The outgoing NWK and APS frame counters.
    pub fn frame_counters(&self) -> (u32, u32) {
        (self.nwk_frame_counter, self.aps_frame_counter)
    }

    /// Sets the outgoing NWK and APS frame counters (a network restored from a backup goes on
    /// counting from where it was).
    pub fn set_frame_counters(&mut self, (nwk, aps): (u32, u32)) {
        self.nwk_frame_counter = nwk;
        self.aps_frame_counter = aps;
    }

    /// A node with no short address yet.
    pub fn new(eui: Eui64, pan: u16) -> Self {
        Stack {
            eui,
            short: None,
            pan,
            mac_seq: 0,
            nwk_seq: 0,
            aps_counter: 0,
            tsn: 0,
            nwk_frame_counter: 0,
            aps_frame_counter: 0,
            incoming: HashMap::new(),
        }
    }

    fn next_mac_seq(&mut self) -> u8 {
        self.mac_seq = self.mac_seq.wrapping_add(1);
        self.mac_seq
    }

    /// The next ZCL transaction sequence number.
    pub fn next_tsn(&mut self) -> u8 {
        self.tsn = self.tsn.wrapping_add(1);
        self.tsn
    }

    /// A trust centre's answer to `eui`'s Association Request: the Association Response with
    /// `short` and `status` and, on success (`keys` = network key, device's link key), the
    /// network key in an APS Transport Key secured with the link key's key-transport key.
    pub fn association_reply(
        &mut self,
        eui: Eui64,
        short: u16,
        status: u8,
        keys: Option<(Key, Key)>,
    ) -> Vec<Vec<u8>> {
        let [lo, hi] = short.to_le_bytes();
        let pan = self.pan;
        let mut out = vec![self.mac_command(
            Address::Extended(eui),
            pan,
            None,
            &[
                hanrig_sep::mac::command::ASSOCIATION_RESPONSE,
                lo,
                hi,
                status,
            ],
        )];
        if let (0, Some((network_key, link_key))) = (status, keys) {
            let transport = ApsCommand::TransportNetworkKey {
                key_type: key_type::NETWORK,
                key: network_key,
                sequence: 0,
                destination: eui,
                source: self.eui,
            };
            let mut payload = [0u8; 64];
            let len = transport.emit(&mut payload).unwrap_or(0);
            out.extend(self.data_frame(
                short,
                None,
                ApsHeader::command(0, None),
                Some((KeyId::KeyTransport, &link_key)),
                &payload[..len],
            ));
        }
        out
    }

    /// A MAC command frame (association) between extended addresses.
    pub fn mac_command(
        &mut self,
        dst: Address,
        dst_pan: u16,
        src_pan: Option<u16>,
        payload: &[u8],
    ) -> Vec<u8> {
        let header = MacHeader {
            frame_type: FrameType::Command,
            security_enabled: false,
            frame_pending: false,
            ack_request: false,
            pan_id_compression: src_pan.is_none(),
            reserved: 0,
            frame_version: 0,
            sequence: self.next_mac_seq(),
            dst_pan: Some(dst_pan),
            dst,
            src_pan,
            src: Address::Extended(self.eui),
        };
        let mut buf = [0u8; 127];
        let len = header.emit(payload, &mut buf).unwrap_or(0);
        buf[..len].to_vec()
    }

    /// A data frame to `dst` carrying `payload` in an APS frame described by `aps`, NWK-secured
    /// under `network_key` if given and APS-secured under `aps_key` (with its key id) if given.
    pub fn data_frame(
        &mut self,
        dst: u16,
        network_key: Option<&Key>,
        mut aps: ApsHeader,
        aps_key: Option<(KeyId, &Key)>,
        payload: &[u8],
    ) -> Option<Vec<u8>> {
        let src = self.short?;
        let mac = MacHeader {
            ack_request: false,
            ..MacHeader::data(
                self.next_mac_seq(),
                self.pan,
                Address::Short(dst),
                Address::Short(src),
            )
        };
        self.nwk_seq = self.nwk_seq.wrapping_add(1);
        let mut nwk = NwkHeader::data(dst, src, self.nwk_seq, Some(self.eui));
        if network_key.is_some() {
            self.nwk_frame_counter += 1;
            nwk.security = Some(AuxHeader::new(
                KeyId::Network,
                self.nwk_frame_counter,
                self.eui,
                0,
            ));
        }
        self.aps_counter = self.aps_counter.wrapping_add(1);
        aps.counter = self.aps_counter;
        let mut derived = None;
        if let Some((key_id, link_key)) = aps_key {
            self.aps_frame_counter += 1;
            let aux = AuxHeader::new(key_id, self.aps_frame_counter, self.eui, 0);
            // Link-key data frames rely on the NWK source EUI64 for the nonce (no extended
            // nonce), which keeps 60-byte ZCL payloads inside one frame.
            aps.security = Some(if key_id == KeyId::Data {
                AuxHeader {
                    source: None,
                    ..aux
                }
            } else {
                aux
            });
            derived = Some(key_id.key_from_link_key(link_key));
        }
        let mut buf = [0u8; 127];
        let len = frame::seal(
            &mac,
            &nwk,
            network_key,
            &aps,
            derived.as_ref(),
            payload,
            &mut buf,
        )
        .ok()?;
        Some(buf[..len].to_vec())
    }

    /// A ZCL frame on `cluster` to `dst` (endpoint 1 to endpoint 1), NWK-secured and, for the
    /// SE application clusters, APS-secured with `link_key`.
    pub fn zcl_frame(
        &mut self,
        dst: u16,
        network_key: &Key,
        link_key: &Key,
        frame: &ZclFrame,
    ) -> Option<Vec<u8>> {
        let mut zcl = [0u8; 127];
        let len = frame.emit(&mut zcl).ok()?;
        self.zcl_bytes(dst, network_key, link_key, frame.cluster, &zcl[..len])
    }

    /// An encoded ZCL frame on `cluster` to `dst`, secured as [`Stack::zcl_frame`] does.
    pub fn zcl_bytes(
        &mut self,
        dst: u16,
        network_key: &Key,
        link_key: &Key,
        cluster: u16,
        zcl: &[u8],
    ) -> Option<Vec<u8>> {
        let aps = ApsHeader::data(1, cluster, PROFILE_SMART_ENERGY, 1, 0);
        let aps_key = hanrig_sep::clusters::aps_secured(cluster).then_some((KeyId::Data, link_key));
        self.data_frame(dst, Some(network_key), aps, aps_key, zcl)
    }

    /// A ZCL frame carrying `command` (header from the command's table entry).
    pub fn command(
        &mut self,
        dst: u16,
        network_key: &Key,
        link_key: &Key,
        cluster: u16,
        command: Command,
    ) -> Option<Vec<u8>> {
        let tsn = self.next_tsn();
        let frame = ZclFrame::new(cluster, command, tsn)?;
        self.zcl_frame(dst, network_key, link_key, &frame)
    }

    /// Whether a frame's MAC destination is this node.
    pub fn addressed_to_us(&self, mac: &MacHeader) -> bool {
        let pan_ok = matches!(mac.dst_pan, Some(p) if p == self.pan || p == BROADCAST_PAN);
        pan_ok
            && match mac.dst {
                Address::Short(s) => s == 0xFFFF || Some(s) == self.short,
                Address::Extended(e) => e == self.eui,
                Address::None => false,
            }
    }

    /// Opens a frame addressed to this node with the candidate keys, and checks frame counters.
    pub fn receive(
        &mut self,
        bytes: &[u8],
        network_keys: &[Key],
        link_keys: &[Key],
    ) -> Result<Received, Drop> {
        let mut buf = bytes.to_vec();
        let opened = frame::open(
            &mut buf,
            &Keys {
                network: network_keys,
                link: link_keys,
            },
        )
        .map_err(|_| Drop::NotForUs)?;
        if !opened.fcs_ok || !self.addressed_to_us(&opened.mac) {
            return Err(Drop::NotForUs);
        }
        if let Protection::Failed(_) = opened.nwk_protection {
            return Err(Drop::Undecryptable("NWK"));
        }
        if let Protection::Failed(_) = opened.aps_protection {
            return Err(Drop::Undecryptable("APS"));
        }
        let sender = opened.nwk.as_ref().and_then(|n| n.src_ieee);
        for (aux, is_aps) in [
            (opened.nwk.as_ref().and_then(|n| n.security), false),
            (opened.aps.as_ref().and_then(|a| a.security), true),
        ] {
            if let (Some(aux), Some(sender)) = (aux, aux.and_then(|a| a.source).or(sender)) {
                let last = self.incoming.entry((sender, is_aps)).or_insert(0);
                if aux.frame_counter <= *last && *last != 0 {
                    return Err(Drop::Replay);
                }
                *last = aux.frame_counter;
            }
        }
        let payload = buf[opened.payload.clone()].to_vec();
        Ok(Received { opened, payload })
    }
}
