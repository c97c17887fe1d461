//! A simulated TI Z-Stack 3.30 ZNP co-processor (a CC26x2 build, "aligned" structures)
//! speaking MT, commissioned as the coordinator of a formed network: what zigpy-znp and
//! hanrig's ZNP driver find when they connect to a meter's radio. Sans-IO, like the simulated
//! EZSP co-processor, and served by [`crate::serve`].
//!
//! Z-Stack keeps its network in NV items, and hosts configure it by writing them, so the
//! simulator keeps the items zigpy-znp reads (the NIB, EXTADDR, LOGICAL_TYPE,
//! BDBNODEISONANETWORK, the active network key, the NWK security material table, the TCLK
//! seed, ...) with Z-Stack 3.30's layouts, answers the OSAL and extended NV commands on them,
//! and re-forms the network from PANID, CHANLIST, EXTENDED_PAN_ID and PRECFGKEY when the host
//! starts BDB formation. With devices ([`ZnpNcp::with_devices`]) its radio is a
//! [`crate::coordinator::Coordinator`] on a simulated medium: APP_CNF_BDB_ADD_INSTALLCODE loads
//! a joining device's key, ZDO_MGMT_PERMIT_JOIN_REQ opens joining, AF_DATA_REQUEST sends, and
//! ZDO_TC_DEV_IND and AF_INCOMING_MSG report. With LOGICAL_TYPE an end device, BDB network
//! steering joins an existing network instead, with the install code the host loaded for the
//! co-processor itself. Unknown commands get the RPC error real
//! firmware sends (`60 00 02 cmd0 cmd1`).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};

use hanrig_radio::mt::{
    self, Decoder, Header, Kind, af, app_cnf, ex, nv, subsystem, sys, util, zdo,
};
use hanrig_sep::Eui64;
use hanrig_sep::install_code::{InstallCode, Key};

use crate::air::Air;
use crate::coordinator::HostEvent;
use crate::device::{JoinState, SimDevice};
use crate::ncp::Network;
use crate::serve::Coprocessor;

/// MT status codes.
mod status {
    pub const SUCCESS: u8 = 0x00;
    pub const FAILURE: u8 = 0x01;
    pub const INVALID_PARAMETER: u8 = 0x02;
    pub const NV_ITEM_UNINIT: u8 = 0x09;
    pub const NV_OPER_FAILED: u8 = 0x0A;
}

/// Capabilities in SYS_PING: SYS, AF, ZDO, UTIL, GP and APP_CNF (a Z-Stack 3 CC26x2 build).
pub const CAPABILITIES: u16 = 0x0659;
/// CodeRevision in SYS_VERSION.
pub const CODE_REVISION: u32 = 20_220_219;
/// The network frame counter a formed network starts with.
const FRAME_COUNTER: u32 = 2500;
/// The largest value a single NV read returns.
const READ_CHUNK: usize = 248;

/// A NIB of a formed Z-Stack 3.30 coordinator (aligned, 116 bytes), fields as a real CC2652
/// has them, for channel 15, PAN 0x1A62 and extended PAN ID 00:11:22:33:44:55:66:77.
const NIB_TEMPLATE: &str = "000502330f33001e0000000105018f000700020d1e0000000f0000000000000000000000621a0800008000000f0f04000100000001000000007766554433221100010000000000000000000000000000000000000000000000000000000000000000000000000f050001780a0100000000000000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// The NIB of a coordinator of `network` with its network key loaded.
pub fn nib(network: &Network) -> Vec<u8> {
    let mut n = hex(NIB_TEMPLATE);
    n[24] = network.channel;
    n[36..38].copy_from_slice(&network.pan_id.to_le_bytes());
    n[40..44].copy_from_slice(&(1u32 << network.channel).to_le_bytes());
    n[57..65].copy_from_slice(&network.extended_pan_id.to_le_bytes());
    n[65] = 1; // nwkKeyLoaded
    n
}

type NvKey = (u8, u16, u16);

/// OSAL items live in the extended NV as system 1, item 0 (LEGACY), sub-ID = the OSAL ID.
fn osal(id: u16) -> NvKey {
    (1, 0, id)
}

/// The simulated ZNP co-processor.
#[derive(Debug)]
pub struct ZnpNcp {
    eui: Eui64,
    decoder: Decoder,
    to_host: VecDeque<Vec<u8>>,
    nv: BTreeMap<NvKey, Vec<u8>>,
    endpoints: Vec<(u8, u16)>,
    /// Keys the host loaded with APP_CNF_BDB_ADD_INSTALLCODE, by device.
    install_keys: Vec<(Eui64, Key)>,
    now_us: u64,
    air: Option<Air>,
}

impl ZnpNcp {
    /// A co-processor with `eui`, coordinator of `network` under `network_key`.
    pub fn new(eui: Eui64, network: Network, network_key: Key) -> Self {
        let mut ncp = ZnpNcp {
            eui,
            decoder: Decoder::new(),
            to_host: VecDeque::new(),
            nv: BTreeMap::new(),
            endpoints: Vec::new(),
            install_keys: Vec::new(),
            now_us: 0,
            air: None,
        };
        for (id, value) in [
            (nv::EXTADDR, eui.to_le_bytes().to_vec()),
            (nv::STARTUP_OPTION, vec![0]),
            (nv::LOGICAL_TYPE, vec![0]),
            (nv::HAS_CONFIGURED_ZSTACK3, vec![0x55]),
            (nv::ZIGPY_ZNP_MIGRATION_ID, vec![1]),
            (nv::ZDO_DIRECT_CB, vec![1]),
            (nv::TCLK_SEED, eui.to_le_bytes().repeat(2)),
            (nv::APS_LINK_KEY_TABLE, vec![0; 20]),
            (nv::PANID, network.pan_id.to_le_bytes().to_vec()),
            (
                nv::CHANLIST,
                (1u32 << network.channel).to_le_bytes().to_vec(),
            ),
            (
                nv::EXTENDED_PAN_ID,
                network.extended_pan_id.to_le_bytes().to_vec(),
            ),
            (
                nv::APS_USE_EXT_PANID,
                network.extended_pan_id.to_le_bytes().to_vec(),
            ),
            (nv::PRECFGKEY, network_key.to_vec()),
        ] {
            ncp.nv.insert(osal(id), value);
        }
        ncp.form();
        ncp
    }

    /// Puts the co-processor's radio on a simulated medium with `devices` (on the network's
    /// PAN and channel); they try to join whenever the host permits joining.
    pub fn with_devices(mut self, devices: Vec<SimDevice>) -> Self {
        let network = self.network();
        self.air = Some(Air::with_devices(
            "znp",
            self.eui,
            (network.pan_id, network.channel),
            self.network_key(),
            devices,
        ));
        self
    }

    /// Puts the co-processor's radio on `air` (a medium of one's own making, e.g. with a
    /// simulated meter to join).
    pub fn with_air(mut self, air: Air) -> Self {
        self.air = Some(air);
        self
    }

    /// The simulated devices' join states, by name.
    pub fn devices(&self) -> Vec<(String, JoinState)> {
        self.air.as_ref().map(Air::devices).unwrap_or_default()
    }

    /// The simulation behind the radio (its log and capture), when there is one.
    pub fn simulation(&self) -> Option<&crate::sim::Simulation> {
        self.air.as_ref().map(|a| &a.sim)
    }

    /// An NV item's value (OSAL ID).
    pub fn osal_item(&self, id: u16) -> Option<&[u8]> {
        self.nv.get(&osal(id)).map(Vec::as_slice)
    }

    fn item(&self, id: u16) -> &[u8] {
        self.osal_item(id).unwrap_or_default()
    }

    /// The network the NV items describe (what formation uses).
    fn network(&self) -> Network {
        let u64_of = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or_default());
        let chanlist = u32::from_le_bytes(self.item(nv::CHANLIST).try_into().unwrap_or_default());
        Network {
            extended_pan_id: u64_of(self.item(nv::EXTENDED_PAN_ID)),
            pan_id: u16::from_le_bytes(self.item(nv::PANID).try_into().unwrap_or([0xFF, 0xFF])),
            channel: (11..=26).find(|c| chanlist & (1 << c) != 0).unwrap_or(11),
            tx_power: 8,
        }
    }

    fn network_key(&self) -> Key {
        self.item(nv::PRECFGKEY).try_into().unwrap_or_default()
    }

    /// BDB formation: the NIB, keys and security material from PANID, CHANLIST,
    /// EXTENDED_PAN_ID and PRECFGKEY, and the coordinator (if on a medium) started afresh.
    fn form(&mut self) {
        let network = self.network();
        let key = self.network_key();
        let mut key_info = vec![0u8];
        key_info.extend_from_slice(&key);
        let mut material = FRAME_COUNTER.to_le_bytes().to_vec();
        material.extend_from_slice(&network.extended_pan_id.to_le_bytes());
        for (id, value) in [
            (nv::NIB, nib(&network)),
            (nv::BDBNODEISONANETWORK, vec![1]),
            (nv::NWK_ACTIVE_KEY_INFO, key_info.clone()),
            (nv::NWK_ALTERN_KEY_INFO, key_info),
        ] {
            self.nv.insert(osal(id), value);
        }
        self.nv.insert((1, ex::NWK_SEC_MATERIAL_TABLE, 0), material);
        self.nv
            .insert((1, ex::NWK_SEC_MATERIAL_TABLE, 1), vec![0xFF; 12]);
        if let Some(air) = &mut self.air {
            let coordinator = crate::coordinator::Coordinator::new(
                "znp",
                self.eui,
                network.pan_id,
                network.channel,
                key,
            );
            let index = air.coordinator;
            air.sim
                .replace_node(index, crate::sim::Node::Coordinator(Box::new(coordinator)));
        }
    }

    fn frame(kind: Kind, subsystem: u8, id: u8, data: &[u8]) -> Vec<u8> {
        let mut out = [0u8; mt::MAX_FRAME];
        let len = mt::encode(Header::new(kind, subsystem, id), data, &mut out).unwrap_or(0);
        out[..len].to_vec()
    }

    fn areq(&mut self, subsystem: u8, id: u8, data: &[u8]) {
        self.to_host
            .push_back(Self::frame(Kind::Areq, subsystem, id, data));
    }

    /// Handles one MT frame from the host; returns the frames to send back (the SRSP first).
    pub fn handle_frame(&mut self, header: Header, data: &[u8]) -> Vec<Vec<u8>> {
        let before = self.to_host.len();
        let reply = self.answer(header, data);
        let mut out = Vec::new();
        if header.kind == Kind::Sreq {
            out.push(match reply {
                Some(body) => Self::frame(Kind::Srsp, header.subsystem, header.id, &body),
                None => Self::frame(
                    Kind::Srsp,
                    subsystem::RPC_ERROR,
                    0x00,
                    &[mt::rpc_error::INVALID_COMMAND_ID, header.cmd0(), header.id],
                ),
            });
        }
        out.extend(self.to_host.drain(before..));
        out
    }

    fn answer(&mut self, header: Header, d: &[u8]) -> Option<Vec<u8>> {
        let u16_at = |i: usize| Some(u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]));
        match (header.subsystem, header.id) {
            (subsystem::SYS, sys::RESET_REQ) if header.kind == Kind::Areq => {
                self.reset();
                None
            }
            (subsystem::SYS, sys::PING) => Some(CAPABILITIES.to_le_bytes().to_vec()),
            (subsystem::SYS, sys::VERSION) => {
                let mut b = vec![2, 1, 2, 7, 1];
                b.extend_from_slice(&CODE_REVISION.to_le_bytes());
                b.push(0);
                b.extend_from_slice(&[0xFF; 4]);
                Some(b)
            }
            (subsystem::SYS, sys::GET_EXTADDR) => Some(self.eui.to_le_bytes().to_vec()),
            // OSAL_NV_ITEM_INIT: id, item length, init length, init data.
            (subsystem::SYS, sys::OSAL_NV_ITEM_INIT) => {
                let (id, len) = (u16_at(0)?, usize::from(u16_at(2)?));
                let init = d.get(5..5 + usize::from(*d.get(4)?))?;
                let Entry::Vacant(e) = self.nv.entry(osal(id)) else {
                    return Some(vec![status::SUCCESS]);
                };
                let mut value = init.to_vec();
                value.resize(len, 0xFF);
                e.insert(value);
                Some(vec![status::NV_ITEM_UNINIT])
            }
            // OSAL_NV_READ (u8 offset) and OSAL_NV_READ_EXT (u16 offset).
            (subsystem::SYS, sys::OSAL_NV_READ | sys::OSAL_NV_READ_EXT) => {
                let id = u16_at(0)?;
                let offset = if header.id == sys::OSAL_NV_READ {
                    usize::from(*d.get(2)?)
                } else {
                    usize::from(u16_at(2)?)
                };
                Some(read(
                    self.nv.get(&osal(id)),
                    offset,
                    READ_CHUNK,
                    status::INVALID_PARAMETER,
                ))
            }
            // OSAL_NV_WRITE (u8 offset, u8 length) and OSAL_NV_WRITE_EXT (u16, u16).
            (subsystem::SYS, sys::OSAL_NV_WRITE | sys::OSAL_NV_WRITE_EXT) => {
                let id = u16_at(0)?;
                let (offset, value) = if header.id == sys::OSAL_NV_WRITE {
                    let len = usize::from(*d.get(3)?);
                    (usize::from(*d.get(2)?), d.get(4..4 + len)?)
                } else {
                    let len = usize::from(u16_at(4)?);
                    (usize::from(u16_at(2)?), d.get(6..6 + len)?)
                };
                Some(vec![write(
                    self.nv.get_mut(&osal(id)),
                    offset,
                    value,
                    status::INVALID_PARAMETER,
                )])
            }
            (subsystem::SYS, sys::OSAL_NV_DELETE) => {
                let id = u16_at(0)?;
                Some(vec![match self.nv.remove(&osal(id)) {
                    Some(_) => status::SUCCESS,
                    None => status::INVALID_PARAMETER,
                }])
            }
            (subsystem::SYS, sys::OSAL_NV_LENGTH) => {
                let len = self.nv.get(&osal(u16_at(0)?)).map_or(0, Vec::len);
                Some((len as u16).to_le_bytes().to_vec())
            }
            (subsystem::SYS, sys::SET_TX_POWER) => Some(vec![0]),
            // Extended NV: system, item, sub-ID, ...
            (subsystem::SYS, sys::NV_CREATE..=sys::NV_WRITE) => {
                let key = (*d.first()?, u16_at(1)?, u16_at(3)?);
                Some(match header.id {
                    sys::NV_CREATE => {
                        let len = u32::from_le_bytes(d.get(5..9)?.try_into().ok()?) as usize;
                        match self.nv.entry(key) {
                            Entry::Occupied(_) => vec![status::SUCCESS],
                            Entry::Vacant(e) => {
                                e.insert(vec![0; len]);
                                vec![status::NV_ITEM_UNINIT]
                            }
                        }
                    }
                    sys::NV_DELETE => vec![match self.nv.remove(&key) {
                        Some(_) => status::SUCCESS,
                        None => status::NV_OPER_FAILED,
                    }],
                    sys::NV_LENGTH => (self.nv.get(&key).map_or(0, Vec::len) as u32)
                        .to_le_bytes()
                        .to_vec(),
                    sys::NV_READ => {
                        let offset = usize::from(u16_at(5)?);
                        let len = usize::from(*d.get(7)?);
                        read(
                            self.nv.get(&key),
                            offset,
                            len.min(READ_CHUNK),
                            status::FAILURE,
                        )
                    }
                    _ => {
                        let offset = usize::from(u16_at(5)?);
                        let len = usize::from(*d.get(7)?);
                        vec![write(
                            self.nv.get_mut(&key),
                            offset,
                            d.get(8..8 + len)?,
                            status::FAILURE,
                        )]
                    }
                })
            }
            (subsystem::UTIL, util::GET_DEVICE_INFO) => {
                let mut b = vec![status::SUCCESS];
                b.extend_from_slice(&self.eui.to_le_bytes());
                b.extend_from_slice(&0u16.to_le_bytes());
                b.extend_from_slice(&[0x07, zdo::DEV_ZB_COORD, 0]);
                Some(b)
            }
            (subsystem::UTIL, util::LED_CONTROL) => Some(vec![status::SUCCESS]),
            // AssocFindDevice: an associated_devices_t, 36 bytes in the aligned layout.
            (subsystem::UTIL, util::ASSOC_FIND_DEVICE) => Some(vec![0xFF; 36]),
            (subsystem::AF, af::REGISTER) => {
                let (endpoint, profile) = (*d.first()?, u16_at(1)?);
                self.endpoints.retain(|(e, _)| *e != endpoint);
                self.endpoints.push((endpoint, profile));
                Some(vec![status::SUCCESS])
            }
            (subsystem::AF, af::DATA_REQUEST) => Some(vec![self.data_request(d)?]),
            (subsystem::ZDO, zdo::MGMT_PERMIT_JOIN_REQ) => {
                let duration = *d.get(3)?;
                let ok = self
                    .air
                    .as_mut()
                    .is_some_and(|a| a.permit_joining(duration));
                if ok {
                    // ZDO_MGMT_PERMIT_JOIN_RSP from the coordinator.
                    self.areq(
                        subsystem::ZDO,
                        zdo::MGMT_PERMIT_JOIN_RSP,
                        &[0, 0, status::SUCCESS],
                    );
                }
                Some(vec![if ok { status::SUCCESS } else { status::FAILURE }])
            }
            (subsystem::ZDO, zdo::MSG_CB_REGISTER) => Some(vec![status::SUCCESS]),
            (subsystem::ZDO, zdo::STARTUP_FROM_APP) => {
                self.areq(subsystem::ZDO, zdo::STATE_CHANGE_IND, &[zdo::DEV_ZB_COORD]);
                Some(vec![0]) // restored
            }
            // APP_CNF_BDB_ADD_INSTALLCODE: format (1 code with CRC, 2 derived key), IEEE, data.
            (subsystem::APP_CNF, app_cnf::BDB_ADD_INSTALLCODE) => {
                let eui = Eui64(u64::from_le_bytes(d.get(1..9)?.try_into().ok()?));
                let key = match d.first()? {
                    1 => InstallCode::from_bytes(d.get(9..)?).ok()?.link_key(),
                    2 => d.get(9..25)?.try_into().ok()?,
                    _ => return Some(vec![status::INVALID_PARAMETER]),
                };
                // Its own code is the key it joins with; others', keys for devices joining it.
                self.install_keys.retain(|(e, _)| *e != eui);
                self.install_keys.push((eui, key));
                let ok = eui == self.eui
                    || self
                        .air
                        .as_mut()
                        .is_some_and(|a| a.add_transient_key(eui, key));
                Some(vec![if ok { status::SUCCESS } else { status::FAILURE }])
            }
            // APP_CNF_BDB_START_COMMISSIONING: formation (0x04) forms (or restores) the network.
            (subsystem::APP_CNF, app_cnf::BDB_START_COMMISSIONING) => {
                let mode = *d.first()?;
                if mode & 0x02 != 0 && self.item(nv::LOGICAL_TYPE) != [0] {
                    // Network steering as a device: join; the notification follows the join.
                    let joining = self.steer();
                    if !joining {
                        self.areq(
                            subsystem::APP_CNF,
                            app_cnf::BDB_COMMISSIONING_NOTIFICATION,
                            &[0x02, mode, 0x00],
                        );
                    }
                    return Some(vec![status::SUCCESS]);
                }
                if mode & 0x04 != 0 {
                    if self.item(nv::BDBNODEISONANETWORK) != [1] {
                        self.form();
                    }
                    self.areq(subsystem::ZDO, zdo::STATE_CHANGE_IND, &[zdo::DEV_ZB_COORD]);
                }
                // Commissioning notification: success, the mode, nothing remaining.
                self.areq(
                    subsystem::APP_CNF,
                    app_cnf::BDB_COMMISSIONING_NOTIFICATION,
                    &[0x00, mode, 0x00],
                );
                Some(vec![status::SUCCESS])
            }
            (
                subsystem::APP_CNF,
                app_cnf::BDB_SET_JOINUSESINSTALLCODEKEY | app_cnf::BDB_SET_CHANNEL,
            ) => Some(vec![status::SUCCESS]),
            _ => None,
        }
    }

    /// BDB network steering as a device: the radio joins PANID on CHANLIST's channel with the
    /// install-code key the host loaded for this co-processor. `false` when it cannot start.
    fn steer(&mut self) -> bool {
        let network = self.network();
        let Some(key) = self
            .install_keys
            .iter()
            .find(|(e, _)| *e == self.eui)
            .map(|(_, k)| *k)
        else {
            return false;
        };
        let Some(air) = self.air.as_mut() else {
            return false;
        };
        let (joiner, request) = crate::coordinator::Coordinator::joiner(
            "znp",
            self.eui,
            (network.pan_id, network.channel),
            key,
        );
        let index = air.coordinator;
        air.sim
            .replace_node(index, crate::sim::Node::Coordinator(Box::new(joiner)));
        air.sim.send_from(index, vec![request]);
        true
    }

    /// SYS_RESET_REQ: a reboot. RAM state (registered endpoints, loaded install-code keys, the
    /// join window) is lost, NV stays; STARTUP_OPTION's clear-state bit wipes the network.
    /// The co-processor then says SYS_RESET_IND.
    fn reset(&mut self) {
        self.endpoints.clear();
        if let Some(c) = self.air.as_mut().and_then(Air::coordinator) {
            c.forget_volatile();
        }
        if self
            .item(nv::STARTUP_OPTION)
            .first()
            .is_some_and(|o| o & 0x02 != 0)
        {
            for id in [nv::NIB, nv::BDBNODEISONANETWORK, nv::NWK_ACTIVE_KEY_INFO] {
                self.nv.remove(&osal(id));
            }
            self.nv.insert(osal(nv::STARTUP_OPTION), vec![0]);
        }
        // Reason: power-up; transport 2, product 1, release 2.7.1.
        self.areq(subsystem::SYS, sys::RESET_IND, &[0x00, 2, 1, 2, 7, 1]);
    }

    /// AF_DATA_REQUEST: destination, endpoints, cluster, transaction ID, options, radius,
    /// data; then AF_DATA_CONFIRM. Options bit 0x40 asks for APS security.
    fn data_request(&mut self, d: &[u8]) -> Option<u8> {
        let destination = u16::from_le_bytes([*d.first()?, *d.get(1)?]);
        let (dst_ep, src_ep) = (*d.get(2)?, *d.get(3)?);
        let cluster = u16::from_le_bytes([*d.get(4)?, *d.get(5)?]);
        let (transaction, options) = (*d.get(6)?, *d.get(7)?);
        let len = usize::from(*d.get(9)?);
        let data = d.get(10..10 + len)?;
        let profile = self
            .endpoints
            .iter()
            .find(|(e, _)| *e == src_ep)
            .map(|(_, p)| *p)?;
        let sent = self.air.as_mut()?.send_unicast(
            destination,
            profile,
            cluster,
            src_ep,
            dst_ep,
            options & 0x40 != 0,
            data,
        );
        // ZMacNoACK-like failure for a destination not in the network.
        let confirm = if sent.is_some() {
            status::SUCCESS
        } else {
            0xE9
        };
        self.areq(
            subsystem::AF,
            af::DATA_CONFIRM,
            &[confirm, src_ep, transaction],
        );
        Some(status::SUCCESS)
    }

    /// What the coordinator heard, as ZDO_TC_DEV_IND and AF_INCOMING_MSG.
    fn report(&mut self) {
        let Some(air) = &mut self.air else { return };
        for event in air.take_events() {
            match event {
                HostEvent::NetworkUp => {
                    self.nv.insert(osal(nv::BDBNODEISONANETWORK), vec![1]);
                    self.areq(
                        subsystem::ZDO,
                        zdo::STATE_CHANGE_IND,
                        &[zdo::DEV_END_DEVICE],
                    );
                    self.areq(
                        subsystem::APP_CNF,
                        app_cnf::BDB_COMMISSIONING_NOTIFICATION,
                        &[0x00, 0x02, 0x00],
                    );
                }
                HostEvent::JoinFailed(_) => {
                    // Commissioning notification: network steering found no network to join.
                    self.areq(
                        subsystem::APP_CNF,
                        app_cnf::BDB_COMMISSIONING_NOTIFICATION,
                        &[0x02, 0x02, 0x00],
                    );
                }
                HostEvent::Joined { eui, short } => {
                    let mut b = short.to_le_bytes().to_vec();
                    b.extend_from_slice(&eui.to_le_bytes());
                    b.extend_from_slice(&0u16.to_le_bytes()); // parent: the coordinator
                    self.areq(subsystem::ZDO, zdo::TC_DEV_IND, &b);
                }
                HostEvent::Incoming {
                    source,
                    cluster,
                    source_endpoint,
                    destination_endpoint,
                    counter,
                    aps_secured,
                    payload,
                    ..
                } => {
                    let mut b = 0u16.to_le_bytes().to_vec(); // group
                    b.extend_from_slice(&cluster.to_le_bytes());
                    b.extend_from_slice(&source.to_le_bytes());
                    b.extend_from_slice(&[source_endpoint, destination_endpoint, 0, 0xFF]);
                    b.push(u8::from(aps_secured));
                    b.extend_from_slice(&((self.now_us / 1000) as u32).to_le_bytes());
                    b.push(counter);
                    b.push(payload.len() as u8);
                    b.extend_from_slice(&payload);
                    b.extend_from_slice(&source.to_le_bytes()); // MAC source: one hop
                    b.push(0); // radius
                    self.areq(subsystem::AF, af::INCOMING_MSG, &b);
                }
            }
        }
    }
}

/// An NV read answer: status, length, up to `max` bytes from `offset`.
fn read(item: Option<&Vec<u8>>, offset: usize, max: usize, missing: u8) -> Vec<u8> {
    match item {
        Some(value) => {
            let chunk = value.get(offset..).unwrap_or_default();
            let chunk = &chunk[..chunk.len().min(max)];
            let mut b = vec![status::SUCCESS, chunk.len() as u8];
            b.extend_from_slice(chunk);
            b
        }
        None => vec![missing, 0],
    }
}

/// An NV write into an existing item (growing it if the write runs past its end).
fn write(item: Option<&mut Vec<u8>>, offset: usize, data: &[u8], missing: u8) -> u8 {
    let Some(value) = item else { return missing };
    if value.len() < offset + data.len() {
        value.resize(offset + data.len(), 0xFF);
    }
    value[offset..offset + data.len()].copy_from_slice(data);
    status::SUCCESS
}

impl Coprocessor for ZnpNcp {
    fn handle_bytes(&mut self, now_us: u64, bytes: &[u8]) {
        self.handle_timeout(now_us);
        for &b in bytes {
            if let Some(Ok(frame)) = self.decoder.push(b) {
                let out = self.handle_frame(frame.header, &frame.data);
                self.to_host.extend(out);
            }
        }
    }

    fn poll_transmit(&mut self, _now_us: u64, out: &mut [u8]) -> Option<usize> {
        let frame = self.to_host.pop_front()?;
        let len = frame.len().min(out.len());
        out[..len].copy_from_slice(&frame[..len]);
        Some(len)
    }

    fn handle_timeout(&mut self, now_us: u64) {
        self.now_us = self.now_us.max(now_us);
        if let Some(air) = &mut self.air {
            air.follow(self.now_us);
        }
        self.report();
    }
}
