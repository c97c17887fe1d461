//! What the rig hears on the air: every frame between the rig and the DUT, opened with the keys
//! the rig holds as the network's trust centre (the network key and the DUT's install-code link
//! key) and decoded with `hanrig-sep`. Verdicts come from here and from instruments
//! ([`super::instrument`]), never from a DUT's own state.
//!
//! A frame that deviates from the spec is kept: its bytes, and the decoder's error naming the
//! field and offset where it went wrong, so that a case reports the deviation instead of
//! "nothing received".

use hanrig_sep::aps::{ApsCommand, FrameType as ApsFrameType};
use hanrig_sep::frame::{Keys, Protection, open};
use hanrig_sep::install_code::Key;
use hanrig_sep::mac::{self, Address};
use hanrig_sep::zcl::header::{Frame, Header};
use hanrig_sep::{Direction, Eui64, ZclFrame};

/// Who sent or received a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// One of the rig's nodes (its ESI, or one of its devices), by EUI64.
    Rig(Eui64),
    /// The device or meter under test.
    Dut,
    /// Anything else on the channel.
    Other,
}

/// A ZCL frame heard on the air.
#[derive(Debug, Clone)]
pub struct Zcl {
    /// Cluster (from the APS header).
    pub cluster: u16,
    /// Whether the APS layer was secured (and opened with the DUT's link key).
    pub aps_secured: bool,
    /// The link key that opened the APS layer, when it was secured.
    pub aps_key: Option<Key>,
    /// The ZCL header, when at least the header could be read.
    pub header: Option<Header>,
    /// The ZCL bytes.
    pub bytes: Vec<u8>,
    /// The decoded frame, or what is wrong with it.
    pub frame: Result<ZclFrame, String>,
}

impl Zcl {
    /// Decodes the ZCL `bytes` of `cluster`, as far as they go.
    pub fn decode(cluster: u16, aps_secured: bool, bytes: Vec<u8>) -> Zcl {
        Zcl {
            cluster,
            aps_secured,
            aps_key: None,
            header: Frame::new_checked(&bytes[..])
                .ok()
                .map(|f| Header::parse(&f)),
            frame: ZclFrame::parse(cluster, &bytes).map_err(|e| e.to_string()),
            bytes,
        }
    }
}

/// What a frame was.
#[derive(Debug, Clone)]
pub enum What {
    /// MAC Association Request.
    AssociationRequest,
    /// MAC Association Response.
    AssociationResponse {
        /// The short address given.
        short: u16,
        /// The status (0 = success).
        status: u8,
    },
    /// APS Transport Key carrying the network key.
    TransportKey,
    /// A ZCL frame.
    Zcl(Box<Zcl>),
    /// Any other frame.
    Other,
}

/// One frame on the air.
#[derive(Debug, Clone)]
pub struct Heard {
    /// When it was sent, µs since 1970.
    pub t_us: u64,
    /// Sender.
    pub from: Party,
    /// Receiver.
    pub to: Party,
    /// Whether its NWK layer opened with the network key (the sender holds it).
    pub network_secured: bool,
    /// What it was.
    pub what: What,
}

impl Heard {
    /// The ZCL frame it carried.
    pub fn zcl(&self) -> Option<&Zcl> {
        match &self.what {
            What::Zcl(z) => Some(z),
            _ => None,
        }
    }
}

/// Who is who on the air: the EUI64s the rig was configured with.
#[derive(Debug, Clone)]
pub struct Parties {
    /// EUI64s of the rig's nodes (its ESI or its devices).
    pub rig: Vec<Eui64>,
    /// The DUT's EUI64.
    pub dut: Eui64,
    /// The install-code link key the rig was given for a DUT device.
    pub dut_install_key: Option<Key>,
    /// The network's coordinator (short address 0x0000): the meter, the rig's or the DUT.
    pub coordinator: Eui64,
}

/// Everything the rig heard, in time order.
#[derive(Debug, Clone, Default)]
pub struct Air {
    /// The frames.
    pub frames: Vec<Heard>,
    /// The DUT's EUI64, as the rig was configured with it.
    pub dut: Eui64,
    /// The install-code link key the rig was given for a DUT device.
    pub dut_install_key: Option<Key>,
}

impl Air {
    /// Opens and decodes `capture` (µs since 1970 and the MAC frame with FCS) with `keys` and
    /// the global default link key ZigBeeAlliance09; network keys sent in Transport Key frames
    /// that these open are learnt on the way, as the capture decoder does.
    pub fn from_capture<'a>(
        capture: impl IntoIterator<Item = (u64, &'a [u8])>,
        keys: &[Key],
        parties: &Parties,
    ) -> Air {
        let mut keys = keys.to_vec();
        // The global default link key is public; a trust centre that falls back to it (the
        // case a device must refuse) secures its Transport Key with it.
        keys.push(hanrig_sep::install_code::ZIGBEE_ALLIANCE_09);
        let party_of_eui = |e: Eui64| {
            if e == parties.dut {
                Party::Dut
            } else if parties.rig.contains(&e) {
                Party::Rig(e)
            } else {
                Party::Other
            }
        };
        let mut shorts: Vec<(u16, Party)> = vec![(0x0000, party_of_eui(parties.coordinator))];
        let mut frames = Vec::new();
        for (t_us, bytes) in capture {
            let mut buf = bytes.to_vec();
            let Ok(opened) = open(
                &mut buf,
                &Keys {
                    network: &keys,
                    link: &keys,
                },
            ) else {
                continue;
            };
            let payload = buf[opened.payload.clone()].to_vec();
            let party_of_mac = |a: Address, shorts: &[(u16, Party)]| match a {
                Address::Extended(e) => party_of_eui(e),
                Address::Short(s) => shorts
                    .iter()
                    .find(|(x, _)| *x == s)
                    .map_or(Party::Other, |(_, p)| *p),
                Address::None => Party::Other,
            };
            if opened.mac.frame_type == mac::FrameType::Command {
                let (from, to) = (
                    party_of_mac(opened.mac.src, &shorts),
                    party_of_mac(opened.mac.dst, &shorts),
                );
                let what = match payload[..] {
                    [mac::command::ASSOCIATION_REQUEST, ..] => What::AssociationRequest,
                    [mac::command::ASSOCIATION_RESPONSE, lo, hi, status] => {
                        let short = u16::from_le_bytes([lo, hi]);
                        if status == 0
                            && let Address::Extended(e) = opened.mac.dst
                        {
                            shorts.retain(|(s, _)| *s != short);
                            shorts.push((short, party_of_eui(e)));
                        }
                        What::AssociationResponse { short, status }
                    }
                    _ => What::Other,
                };
                frames.push(Heard {
                    t_us,
                    from,
                    to,
                    network_secured: false,
                    what,
                });
                continue;
            }
            let Some(nwk) = &opened.nwk else {
                continue;
            };
            let party = |s: u16, ieee: Option<Eui64>| {
                ieee.map(party_of_eui).unwrap_or_else(|| {
                    shorts
                        .iter()
                        .find(|(x, _)| *x == s)
                        .map_or(Party::Other, |(_, p)| *p)
                })
            };
            let (from, to) = (party(nwk.src, nwk.src_ieee), party(nwk.dst, nwk.dst_ieee));
            let network_secured = matches!(opened.nwk_protection, Protection::Decrypted { .. });
            let what = match &opened.aps {
                Some(_) if matches!(opened.aps_protection, Protection::Failed(_)) => What::Other,
                Some(aps) if aps.frame_type == ApsFrameType::Command => {
                    match ApsCommand::parse(&payload) {
                        Ok(ApsCommand::TransportNetworkKey { key, .. }) => {
                            if !keys.contains(&key) {
                                keys.push(key);
                            }
                            What::TransportKey
                        }
                        _ => What::Other,
                    }
                }
                Some(aps) if aps.frame_type == ApsFrameType::Data => {
                    let key = match opened.aps_protection {
                        Protection::Decrypted { key } => keys.get(key).copied(),
                        _ => None,
                    };
                    let mut zcl =
                        Zcl::decode(aps.cluster.unwrap_or_default(), key.is_some(), payload);
                    zcl.aps_key = key;
                    What::Zcl(Box::new(zcl))
                }
                _ => What::Other,
            };
            frames.push(Heard {
                t_us,
                from,
                to,
                network_secured,
                what,
            });
        }
        Air {
            frames,
            dut: parties.dut,
            dut_install_key: parties.dut_install_key,
        }
    }

    /// ZCL frames the DUT sent to the rig.
    pub fn from_dut(&self) -> impl Iterator<Item = (&Heard, &Zcl)> {
        self.frames
            .iter()
            .filter(|h| h.from == Party::Dut && matches!(h.to, Party::Rig(_)))
            .filter_map(|h| h.zcl().map(|z| (h, z)))
    }

    /// ZCL frames the rig sent to the DUT.
    pub fn to_dut(&self) -> impl Iterator<Item = (&Heard, &Zcl)> {
        self.frames
            .iter()
            .filter(|h| matches!(h.from, Party::Rig(_)) && h.to == Party::Dut)
            .filter_map(|h| h.zcl().map(|z| (h, z)))
    }

    /// ZCL frames the DUT sent to the rig's node `rig`.
    pub fn dut_to(&self, rig: Eui64) -> impl Iterator<Item = (&Heard, &Zcl)> {
        self.frames
            .iter()
            .filter(move |h| h.from == Party::Dut && h.to == Party::Rig(rig))
            .filter_map(|h| h.zcl().map(|z| (h, z)))
    }

    /// Whether the rig's node `rig` sent anything secured with the network key: it joined.
    pub fn rig_holds_network_key(&self, rig: Eui64) -> bool {
        self.first_network_frame(Party::Rig(rig)).is_some()
    }

    /// Association Responses the DUT sent the rig's node `rig`, as (time, status).
    pub fn association_responses_to(&self, rig: Eui64) -> Vec<(u64, u8)> {
        self.frames
            .iter()
            .filter(|h| h.from == Party::Dut && h.to == Party::Rig(rig))
            .filter_map(|h| match h.what {
                What::AssociationResponse { status, .. } => Some((h.t_us, status)),
                _ => None,
            })
            .collect()
    }

    /// Whether the DUT sent the rig's node `rig` a Transport Key.
    pub fn transport_key_to(&self, rig: Eui64) -> bool {
        self.frames.iter().any(|h| {
            h.from == Party::Dut && h.to == Party::Rig(rig) && matches!(h.what, What::TransportKey)
        })
    }

    /// Frames from the DUT carrying cluster-specific command `command_id` of `cluster` in
    /// `direction` — decoded or not.
    pub fn dut_commands(
        &self,
        cluster: u16,
        direction: Direction,
        command_id: u8,
    ) -> impl Iterator<Item = (&Heard, &Zcl)> {
        self.from_dut().filter(move |(_, z)| {
            z.cluster == cluster
                && z.header.is_some_and(|h| {
                    h.direction == direction
                        && h.command_id == command_id
                        && h.frame_type == hanrig_sep::zcl::header::FrameType::ClusterSpecific
                })
        })
    }

    /// Whether the DUT sent anything secured with the network key: it joined and holds the key.
    pub fn dut_holds_network_key(&self) -> bool {
        self.first_network_frame(Party::Dut).is_some()
    }

    /// The first frame `party` sent secured with the network key.
    pub fn first_network_frame(&self, party: Party) -> Option<&Heard> {
        self.frames
            .iter()
            .find(|h| h.from == party && h.network_secured)
    }

    /// Association Responses the rig sent the DUT, as (time, status).
    pub fn association_responses_to_dut(&self) -> Vec<(u64, u8)> {
        self.frames
            .iter()
            .filter(|h| matches!(h.from, Party::Rig(_)) && h.to == Party::Dut)
            .filter_map(|h| match h.what {
                What::AssociationResponse { status, .. } => Some((h.t_us, status)),
                _ => None,
            })
            .collect()
    }

    /// Whether the rig sent the DUT a Transport Key.
    pub fn transport_key_to_dut(&self) -> bool {
        self.frames.iter().any(|h| {
            matches!(h.from, Party::Rig(_))
                && h.to == Party::Dut
                && matches!(h.what, What::TransportKey)
        })
    }
}
