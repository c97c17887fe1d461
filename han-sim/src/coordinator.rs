//! The radio side of a co-processor. As coordinator and trust centre it admits devices whose
//! link key the host loaded (install-code keys) while joining is permitted, hands them the
//! network key in an APS Transport Key, and passes every data frame to the host — the host
//! (through EZSP or MT) runs the application. Made a joiner ([`Coordinator::joiner`]), it
//! joins an existing network as a device instead (associates, takes the network key under its
//! install-code link key) and then carries its host's frames the same way. Used by the
//! simulated co-processors.

use std::collections::VecDeque;

use hanrig_sep::Eui64;
use hanrig_sep::aps::ApsHeader;
use hanrig_sep::install_code::Key;
use hanrig_sep::mac;
use hanrig_sep::security::KeyId;
use serde_json::json;

use crate::clock::SimTime;
use crate::log::Log;
use crate::stack::{Member, Stack};

/// What the coordinator tells its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    /// A device was admitted and sent the network key.
    Joined {
        /// Its EUI64.
        eui: Eui64,
        /// Its short address.
        short: u16,
    },
    /// A data frame arrived.
    Incoming {
        /// Sender's short address.
        source: u16,
        /// Sender's EUI64.
        source_eui: Eui64,
        /// Profile.
        profile: u16,
        /// Cluster.
        cluster: u16,
        /// Source endpoint.
        source_endpoint: u8,
        /// Destination endpoint.
        destination_endpoint: u8,
        /// APS counter.
        counter: u8,
        /// Whether it was APS-secured.
        aps_secured: bool,
        /// The payload (a ZCL frame).
        payload: Vec<u8>,
    },
    /// A joiner is in the network (it has the network key).
    NetworkUp,
    /// A joiner was refused (the MAC association status).
    JoinFailed(u8),
}

/// A data frame for the host, when it is one (NWK and APS data with endpoints).
fn incoming(rx: &crate::stack::Received, source_eui: Eui64) -> Option<HostEvent> {
    let (nwk, aps) = (rx.opened.nwk.as_ref()?, rx.opened.aps.as_ref()?);
    Some(HostEvent::Incoming {
        source: nwk.src,
        source_eui,
        profile: aps.profile?,
        cluster: aps.cluster?,
        source_endpoint: aps.src_endpoint?,
        destination_endpoint: aps.dst_endpoint?,
        counter: aps.counter,
        aps_secured: aps.security.is_some(),
        payload: rx.payload.clone(),
    })
}

/// The coordinator node.
#[derive(Debug)]
pub struct Coordinator {
    /// Name in logs.
    pub name: String,
    /// Radio channel.
    pub channel: u8,
    stack: Stack,
    network_key: Key,
    transient_keys: Vec<(Eui64, Key)>,
    permit_until: Option<SimTime>,
    members: Vec<Member>,
    next_short: u16,
    /// At most this many devices (the host's EZSP_CONFIG_MAX_END_DEVICE_CHILDREN); `None`:
    /// no limit.
    pub max_children: Option<usize>,
    /// The link key for devices the host loaded no key for: the global trust-centre link key
    /// a Home Automation trust centre uses (setInitialSecurityState with TC_GLOBAL_LINK_KEY);
    /// `None` for a Smart Energy trust centre, which admits install-code devices only.
    pub global_link_key: Option<Key>,
    /// Events for the host, in order.
    pub events: VecDeque<HostEvent>,
    /// As a joiner: its link key, and the network key once it has it.
    joiner: Option<(Key, Option<Key>)>,
}

impl Coordinator {
    /// A coordinator of PAN `pan` on `channel` with `network_key`.
    pub fn new(name: &str, eui: Eui64, pan: u16, channel: u8, network_key: Key) -> Self {
        let mut stack = Stack::new(eui, pan);
        stack.short = Some(0x0000);
        Coordinator {
            name: name.to_string(),
            channel,
            stack,
            network_key,
            transient_keys: Vec::new(),
            permit_until: None,
            members: Vec::new(),
            next_short: 0x2000,
            max_children: None,
            global_link_key: None,
            events: VecDeque::new(),
            joiner: None,
        }
    }

    /// A co-processor joining the network of PAN `pan` on `channel` as a device, with the
    /// link key from its install code; returns it and its Association Request to the
    /// coordinator (0x0000).
    pub fn joiner(
        name: &str,
        eui: Eui64,
        (pan, channel): (u16, u8),
        link_key: Key,
    ) -> (Self, Vec<u8>) {
        let mut node = Coordinator::new(name, eui, pan, channel, [0; 16]);
        node.stack.short = None;
        node.joiner = Some((link_key, None));
        // Capability: allocate address (0x80); receiver on when idle (0x08).
        let request = node.stack.mac_command(
            mac::Address::Short(0x0000),
            pan,
            Some(crate::stack::BROADCAST_PAN),
            &[mac::command::ASSOCIATION_REQUEST, 0x88],
        );
        (node, request)
    }

    /// A joiner's reception: the Association Response, the Transport Key, then data.
    fn receive_as_joiner(
        &mut self,
        now: SimTime,
        bytes: &[u8],
        log: &mut Log,
        (link_key, network_key): (Key, Option<Key>),
    ) {
        let network_keys: Vec<Key> = network_key.into_iter().collect();
        let rx = match self.stack.receive(bytes, &network_keys, &[link_key]) {
            Ok(rx) => rx,
            // A Transport Key secured under another key: the trust centre does not hold our
            // install code, and the key never comes (a real stack gives up after its key wait).
            Err(crate::stack::Drop::Undecryptable(_))
                if self.stack.short.is_some() && network_key.is_none() =>
            {
                log.push(now, &self.name, "transport_key_rejected", json!({}));
                self.joiner = Some((link_key, None));
                self.stack.short = None;
                self.events.push_back(HostEvent::JoinFailed(0));
                return;
            }
            Err(_) => return,
        };
        if rx.opened.mac.frame_type == mac::FrameType::Command {
            if let &[mac::command::ASSOCIATION_RESPONSE, lo, hi, status] = &rx.payload[..]
                && self.stack.short.is_none()
            {
                if status == 0 {
                    self.stack.short = Some(u16::from_le_bytes([lo, hi]));
                } else {
                    log.push(
                        now,
                        &self.name,
                        "association_refused",
                        json!({"status": status}),
                    );
                    self.events.push_back(HostEvent::JoinFailed(status));
                }
            }
            return;
        }
        let Some(aps) = rx.opened.aps.as_ref() else {
            return;
        };
        if aps.frame_type == hanrig_sep::aps::FrameType::Command {
            if let Ok(hanrig_sep::aps::ApsCommand::TransportNetworkKey { key, .. }) =
                hanrig_sep::aps::ApsCommand::parse(&rx.payload)
                && network_key.is_none()
            {
                self.joiner = Some((link_key, Some(key)));
                self.network_key = key;
                log.push(
                    now,
                    &self.name,
                    "joined",
                    json!({"short": self.stack.short}),
                );
                self.events.push_back(HostEvent::NetworkUp);
            }
            return;
        }
        let source_eui = rx.source_eui().unwrap_or_default();
        self.events.extend(incoming(&rx, source_eui));
    }

    /// The PAN ID.
    pub fn pan(&self) -> u16 {
        self.stack.pan
    }

    /// The network key.
    pub fn network_key(&self) -> Key {
        self.network_key
    }

    /// The devices admitted, in the order they joined (the child table).
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Puts a device in the child table as if it had joined (a network restored from a
    /// backup): it is a member with that short address and link key.
    pub fn restore_member(&mut self, member: Member) {
        self.members
            .retain(|m| m.eui != member.eui && m.short != member.short);
        self.members.push(member);
    }

    /// The outgoing NWK and APS frame counters.
    pub fn frame_counters(&self) -> (u32, u32) {
        self.stack.frame_counters()
    }

    /// Sets the outgoing frame counters.
    pub fn set_frame_counters(&mut self, counters: (u32, u32)) {
        self.stack.set_frame_counters(counters);
    }

    /// Replaces a member's link key (the one Key Establishment derived); whether `eui` is a
    /// member.
    pub fn set_link_key(&mut self, eui: Eui64, key: Key) -> bool {
        let member = self.members.iter_mut().find(|m| m.eui == eui);
        member.map(|m| m.link_key = key).is_some()
    }

    /// Loads the link key a joining device will use (from its install code).
    pub fn add_transient_key(&mut self, eui: Eui64, key: Key) {
        self.transient_keys.retain(|(e, _)| *e != eui);
        self.transient_keys.push((eui, key));
    }

    /// Forgets every transient key loaded.
    pub fn clear_transient_keys(&mut self) {
        self.transient_keys.clear();
    }

    /// Forgets what a rebooting co-processor keeps in RAM: the transient keys, the join
    /// window and the device limit (its members and trust-centre link key stay, in tokens).
    pub fn forget_volatile(&mut self) {
        self.transient_keys.clear();
        self.permit_until = None;
        self.max_children = None;
        self.events.clear();
    }

    /// Permits joining until `until` (`None`: closed).
    pub fn permit_joining(&mut self, until: Option<SimTime>) {
        self.permit_until = until;
    }

    /// Handles a frame heard on the channel; returns frames to send.
    pub fn receive(&mut self, now: SimTime, bytes: &[u8], log: &mut Log) -> Vec<Vec<u8>> {
        if let Some(keys) = self.joiner {
            self.receive_as_joiner(now, bytes, log, keys);
            return Vec::new();
        }
        let link_keys: Vec<Key> = self.members.iter().map(|m| m.link_key).collect();
        let Ok(rx) = self.stack.receive(bytes, &[self.network_key], &link_keys) else {
            return Vec::new();
        };
        if let Some(eui) = rx.association_request() {
            return self.associate(now, eui, log);
        }
        if rx.opened.mac.frame_type == mac::FrameType::Command {
            return Vec::new();
        }
        let Some(nwk) = rx.opened.nwk.as_ref() else {
            return Vec::new();
        };
        let Some(member) = self.members.iter().find(|m| m.short == nwk.src) else {
            return Vec::new();
        };
        let source_eui = member.eui;
        self.events.extend(incoming(&rx, source_eui));
        Vec::new()
    }

    fn associate(&mut self, now: SimTime, eui: Eui64, log: &mut Log) -> Vec<Vec<u8>> {
        let permitted = self.permit_until.is_some_and(|t| now <= t);
        let key = self
            .transient_keys
            .iter()
            .find(|(e, _)| *e == eui)
            .map(|(_, k)| *k)
            .or(self.global_link_key);
        // A device joining again under a key the host loaded since is admitted under that key.
        if permitted
            && let (Some(k), Some(m)) = (
                self.transient_keys
                    .iter()
                    .find(|(e, _)| *e == eui)
                    .map(|(_, k)| *k),
                self.members.iter_mut().find(|m| m.eui == eui),
            )
        {
            m.link_key = k;
        }
        let existing = self.members.iter().find(|m| m.eui == eui).map(|m| m.short);
        let full = self
            .max_children
            .is_some_and(|limit| self.members.len() >= limit);
        let (short, status) = match (existing, permitted, key) {
            (Some(short), _, _) => (short, 0),
            // PAN at capacity.
            (None, true, Some(_)) if full => (0xFFFF, 0x01),
            (None, true, Some(link_key)) => {
                let short = self.next_short;
                self.next_short = self.next_short.wrapping_add(0x0111);
                self.members.push(Member {
                    eui,
                    short,
                    link_key,
                });
                (short, 0)
            }
            // PAN access denied.
            _ => (0xFFFF, 0x02),
        };
        log.push(
            now,
            &self.name,
            if status == 0 {
                "admitted"
            } else {
                "join_refused"
            },
            json!({"device": eui.to_string(), "permitted": permitted, "status": status}),
        );
        let link_key = self
            .members
            .iter()
            .find(|m| m.eui == eui)
            .map(|m| m.link_key);
        let out = self.stack.association_reply(
            eui,
            short,
            status,
            link_key.map(|k| (self.network_key, k)),
        );
        if out.len() == 2 {
            self.events.push_back(HostEvent::Joined { eui, short });
        }
        out
    }

    /// Sends an APS data frame to `destination` (NWK-secured; APS-secured with the device's
    /// link key when `aps_encryption`): the frame and its APS counter. `None` when the
    /// destination is not a member.
    #[allow(clippy::too_many_arguments)]
    pub fn send_unicast(
        &mut self,
        destination: u16,
        profile: u16,
        cluster: u16,
        source_endpoint: u8,
        destination_endpoint: u8,
        aps_encryption: bool,
        payload: &[u8],
    ) -> Option<(Vec<u8>, u8)> {
        // A joiner talks to its trust centre (0x0000) under its own link key; a coordinator
        // to its members under theirs.
        let link_key = match self.joiner {
            Some((key, Some(_))) if destination == 0x0000 => key,
            Some(_) => return None,
            None => {
                self.members
                    .iter()
                    .find(|m| m.short == destination)?
                    .link_key
            }
        };
        let aps = ApsHeader::data(destination_endpoint, cluster, profile, source_endpoint, 0);
        let key = aps_encryption.then_some((KeyId::Data, &link_key));
        let frame =
            self.stack
                .data_frame(destination, Some(&self.network_key), aps, key, payload)?;
        Some((frame, self.stack.aps_counter))
    }
}
