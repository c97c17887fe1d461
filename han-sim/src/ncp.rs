//! A simulated EmberZNet co-processor speaking EZSP over ASH (protocol v13, or v14 and later
//! with their `sl_status` codes and reordered fields), as a host such as bellows — and zigpy
//! and Home Assistant's ZHA on top of it — finds a meter's or a gateway's radio. Sans-IO: feed
//! it bytes from the host, take bytes to send back; [`crate::serve`] puts it on a TCP port or
//! a pseudo-terminal.
//!
//! Every command's parameters are read and written with the layouts of
//! [`hanrig_radio::ezsp::command`], the same the host driver uses; an unknown frame ID gets
//! `invalidCommand` as real firmware sends it.
//!
//! Like the real part it keeps **tokens** across reboots (an ASH reset): the network formed
//! (parameters, network key and sequence, trust-centre link key and security bitmask), the
//! frame counters, the link-key table, the write-once custom EUI64 — and loses what lives in
//! RAM: configuration, values, endpoints, transient keys, the join window. A new co-processor
//! is commissioned as the coordinator of a formed network ([`EzspNcp::new`]) or has none
//! ([`EzspNcp::unformed`]), in which case a host such as zigpy forms one. tokenFactoryReset
//! erases the network, as zigpy does before it restores a backup.
//!
//! With [`EzspNcp::with_devices`] its radio is a [`Coordinator`] on a simulated medium shared
//! with simulated in-home devices, run in step with the host's clock: the host loads
//! install-code keys (importTransientKey), permits joining (the devices then try to join),
//! hears trustCenterJoinHandler, childJoinHandler and incomingMessageHandler callbacks and
//! sends with sendUnicast. setInitialSecurityState and formNetwork start the coordinator
//! afresh on the host's PAN, channel and network key (with TC_GLOBAL_LINK_KEY it also admits
//! devices under the global link key — ZigBeeAlliance09 when the trust centre hashes its link
//! keys — as a Home Automation trust centre does), and EZSP_CONFIG_MAX_END_DEVICE_CHILDREN is
//! its device limit.
//!
//! With [`EzspNcp::with_simulation`] the medium is a scenario's, on virtual time that the host
//! moves with the simulator's own customFrame ([`clock`]): the conformance runner's
//! `sim-serial` rig. Each sendUnicast is followed by its messageSentHandler. Not simulated:
//! binding, address and route tables, and broadcasts on the medium (the simulated devices are
//! end devices, which act on none); a broadcast Mgmt_Permit_Joining_req opens the
//! coordinator's own joining, as EmberZNet's does.

use std::collections::{HashMap, VecDeque};

use hanrig_cbke::engine::{Engine, Software, subject_eui64};
use hanrig_cbke::exchange::Identity;
use hanrig_cbke::{Certificate, Party, PrivateKey, PublicKey};
use hanrig_radio::ezsp::command::{self as cmd, Callback, Command, emit, parse};
pub use hanrig_radio::ezsp::frame_id;
use hanrig_radio::ezsp::status;
use hanrig_radio::ezsp::wire::{
    ApsFrame, ApsKeyMetadata, CertificateData, ChildData, CurrentSecurityState, Lv,
    MulticastTableEntry, NetworkKeyInfo, NetworkParameters, PublicKeyData, SecurityContext,
    SlStatus, Status, Wire, WireError,
};
use hanrig_radio::ezsp::{
    APS_OPTION_ENCRYPTION, CONFIG_MAX_END_DEVICE_CHILDREN, FC_ASYNC_CALLBACK, FC_HI_V8,
    FC_RESPONSE, Format, HAVE_NETWORK_KEY, HAVE_PRECONFIGURED_KEY, Header, REQUIRE_ENCRYPTED_KEY,
    TC_GLOBAL_LINK_KEY,
};
use hanrig_radio::session::{Role, Session, State};
use hanrig_sep::Eui64;
use hanrig_sep::aps::PROFILE_ZDP;
use hanrig_sep::install_code::Key;
use hanrig_sep::zdo::{NodeDescriptor, SimpleDescriptor, ZdoNode, logical_type};

use crate::air::Air;
use crate::clock::SimTime;
use crate::coordinator::{Coordinator, HostEvent};
use crate::device::{JoinState, SimDevice, ZIGBEE_ALLIANCE_09};
use crate::serve::Coprocessor;
use crate::sim::{Node, Simulation};
use crate::stack::Member;

/// EzspValueId VERSION_INFO, NWK_FRAME_COUNTER and APS_FRAME_COUNTER.
const VALUE_VERSION_INFO: u8 = 0x11;
const VALUE_NWK_FRAME_COUNTER: u8 = 0x23;
const VALUE_APS_FRAME_COUNTER: u8 = 0x24;
/// EzspMfgTokenId: manufacturer string, board name, custom EUI64.
const MFG_STRING: u8 = 0x01;
const MFG_BOARD_NAME: u8 = 0x02;
const MFG_CUSTOM_EUI_64: u8 = 0x0C;
/// EzspConfigId KEY_TABLE_SIZE and MULTICAST_TABLE_SIZE.
const CONFIG_KEY_TABLE_SIZE: u8 = 0x1E;
const CONFIG_MULTICAST_TABLE_SIZE: u8 = 0x06;
/// EmberInitialSecurityBitmask TRUST_CENTER_USES_HASHED_LINK_KEY (0x84 includes
/// TC_GLOBAL_LINK_KEY).
const TRUST_CENTER_USES_HASHED_LINK_KEY: u16 = 0x0084;
/// EmberCurrentSecurityBitmask HAVE_TRUST_CENTER_LINK_KEY and GLOBAL_LINK_KEY.
const HAVE_TRUST_CENTER_LINK_KEY: u16 = 0x0010;
const GLOBAL_LINK_KEY: u16 = 0x0004;
/// sl_zb_sec_man_key_type_t NETWORK and TC_LINK.
const KEY_TYPE_NETWORK: u8 = 1;
const KEY_TYPE_TC_LINK: u8 = 2;
/// EmberNodeType COORDINATOR and SLEEPY_END_DEVICE; EmberNetworkStatus JOINED_NETWORK.
const NODE_COORDINATOR: u8 = 1;
const NODE_SLEEPY_END_DEVICE: u8 = 4;
const JOINED_NETWORK: u8 = 2;
/// EmberKeyStructBitmask: outgoing and incoming frame counters and a partner EUI64.
const KEY_HAS_COUNTERS_AND_PARTNER: u16 = 0x0002 | 0x0004 | 0x0008;
/// EmberZNet's manufacturer code until the host sets one (Silicon Labs' Ember, 0x1002).
const EMBER_MANUFACTURER_CODE: u16 = 0x1002;
/// What an energy scan reads on every channel of the simulated medium, dBm.
const NOISE_FLOOR_DBM: i8 = -100;

/// Configuration values an EmberZNet NCP reports before the host sets them (EmberZNet's
/// defaults for an NCP build; bellows reads some of these before it writes its own).
const CONFIG_DEFAULTS: &[(u8, u16)] = &[
    (0x01, 75),  // PACKET_BUFFER_COUNT
    (0x02, 16),  // NEIGHBOR_TABLE_SIZE
    (0x03, 10),  // APS_UNICAST_MESSAGE_COUNT
    (0x05, 8),   // ADDRESS_TABLE_SIZE
    (0x06, 8),   // MULTICAST_TABLE_SIZE
    (0x07, 16),  // ROUTE_TABLE_SIZE
    (0x0C, 2),   // STACK_PROFILE
    (0x0D, 5),   // SECURITY_LEVEL
    (0x11, 6),   // MAX_END_DEVICE_CHILDREN
    (0x1A, 7),   // SOURCE_ROUTE_TABLE_SIZE
    (0x1E, 4),   // KEY_TABLE_SIZE
    (0x36, 300), // TRANSIENT_KEY_TIMEOUT_S
];

/// The network the co-processor is commissioned with.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    /// Extended PAN ID, as printed (most significant byte first).
    pub extended_pan_id: u64,
    /// PAN ID.
    pub pan_id: u16,
    /// Channel.
    pub channel: u8,
    /// Transmit power, dBm.
    pub tx_power: i8,
}

/// The simulated co-processor.
#[derive(Debug)]
pub struct EzspNcp {
    version: u8,
    session: Session,
    /// The EUI64 the chip came with.
    factory_eui: Eui64,
    tokens: Tokens,
    config: HashMap<u8, u16>,
    values: HashMap<u8, Vec<u8>>,
    to_host: VecDeque<Vec<u8>>,
    network_up: bool,
    resets_seen: u32,
    handled: HashMap<u16, u64>,
    now_us: u64,
    air: Option<Air>,
    /// What setInitialSecurityState set (RAM), for the next formNetwork or joinNetwork.
    security: Option<Security>,
    /// Frame counters setValue set before a network is formed (RAM).
    pending_counters: Option<(u32, u32)>,
    /// The multicast table, by index (RAM).
    multicast: HashMap<u8, MulticastTableEntry>,
    /// The endpoints addEndpoint described (RAM), which its ZDO server reports.
    endpoints: Vec<SimpleDescriptor>,
    /// The manufacturer code of its node descriptor (setManufacturerCode; RAM).
    manufacturer_code: u16,
    /// The EUI64s set to the extended timeout (RAM).
    extended_timeout: std::collections::HashSet<u64>,
    /// The APS counter of frames it answers itself (ZDO requests to its own address).
    loopback_counter: u8,
    /// The CBKE library, when the firmware has it.
    cbke: Option<NcpCbke>,
}

impl NcpCbke {
    /// Takes CBKE data into the tokens. The chip's random numbers are drawn from a generator
    /// seeded by its EUI64 and its certificate: reproducible runs, and two chips never draw the
    /// same ephemeral keys.
    fn install(&mut self, identity: Identity) {
        let cert = identity.certificate().0;
        let mut salt = [0u8; 8];
        salt.copy_from_slice(&cert[1..9]);
        self.rng = hanrig_device::Rng::new(self.rng.next_u64() ^ u64::from_le_bytes(salt));
        self.engine = Some(Software::new(identity));
    }
}

/// The CBKE and ECC libraries: the certificate, private key and CA key in manufacturing tokens
/// (setPreinstalledCbkeData, or given at commissioning), and the exchange in progress.
#[derive(Debug)]
struct NcpCbke {
    engine: Option<Software>,
    /// The partner of the last calculateSmacs, whose link key clearTemporaryData… stores.
    partner: Option<Eui64>,
    rng: hanrig_device::Rng,
}

/// What a co-processor keeps in its tokens, across reboots.
#[derive(Debug, Clone)]
struct Tokens {
    /// The network formed, with the security it was formed under.
    network: Option<(Network, Security)>,
    /// MFG_CUSTOM_EUI_64: written once, then the EUI64 the chip uses.
    custom_eui: Option<Eui64>,
    /// The link-key table (importLinkKey), by index.
    key_table: Vec<Option<(Eui64, Key)>>,
}

/// A security state: as setInitialSecurityState set it, and as the network formed keeps it.
#[derive(Debug, Clone, Copy)]
struct Security {
    bitmask: u16,
    preconfigured_key: Key,
    network_key: Key,
    key_sequence: u8,
}

impl Security {
    /// The key devices the host loaded no key for join under: with TC_GLOBAL_LINK_KEY the
    /// preconfigured key, or ZigBeeAlliance09 when the trust centre hashes its link keys (the
    /// preconfigured key is then the root it hashes from).
    fn global_link_key(&self) -> Option<Key> {
        if self.bitmask & HAVE_PRECONFIGURED_KEY == 0 || self.bitmask & TC_GLOBAL_LINK_KEY == 0 {
            None
        } else if self.bitmask & TRUST_CENTER_USES_HASHED_LINK_KEY
            == TRUST_CENTER_USES_HASHED_LINK_KEY
        {
            Some(ZIGBEE_ALLIANCE_09)
        } else {
            Some(self.preconfigured_key)
        }
    }
}

/// The simulator's own customFrame extension, which moves virtual time: a conformance rig
/// runs hours of a case in milliseconds through the same driver and serial link a lab rig
/// uses. Real firmware refuses these frames (stock customFrame), so a host learns whether the
/// radio is simulated by asking.
///
/// Request: [`clock::MAGIC`], an operation byte, and its argument. Reply (in customFrame's LV
/// reply): the virtual time reached (u64 LE, µs since 1970) and the number of callbacks that
/// follow the response (u16 LE).
pub mod clock {
    /// The first bytes of every clock request.
    pub const MAGIC: &[u8; 6] = b"hanrig";
    /// Tell the time.
    pub const NOW: u8 = 0x00;
    /// Run the medium until the time given (u64 LE, µs since 1970) or until the coordinator
    /// has something for the host, whichever is first.
    pub const ADVANCE: u8 = 0x01;
}

/// A key drawn from the EUI64 and PAN, where a real stack would draw a random one.
fn drawn_key(eui: Eui64, pan: u16, salt: u8) -> Key {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&eui.to_le_bytes());
    k[8..10].copy_from_slice(&pan.to_le_bytes());
    k[15] = salt;
    k
}

impl EzspNcp {
    /// A co-processor speaking EZSP `version` (13, or 14 and later) with `eui`, coordinator of
    /// `network` (a Smart Energy trust centre: no global link key).
    pub fn new(version: u8, eui: Eui64, network: Network) -> Self {
        let security = Security {
            bitmask: HAVE_PRECONFIGURED_KEY | HAVE_NETWORK_KEY | REQUIRE_ENCRYPTED_KEY,
            preconfigured_key: drawn_key(eui, network.pan_id, 1),
            network_key: drawn_key(eui, network.pan_id, 0),
            key_sequence: 0,
        };
        let mut ncp = EzspNcp::unformed(version, eui);
        ncp.tokens.network = Some((network, security));
        ncp
    }

    /// A co-processor with no network stored: networkInit answers NOT_JOINED until a host
    /// forms one.
    pub fn unformed(version: u8, eui: Eui64) -> Self {
        EzspNcp {
            version,
            session: Session::new(Role::Ncp),
            factory_eui: eui,
            tokens: Tokens {
                network: None,
                custom_eui: None,
                key_table: Vec::new(),
            },
            config: HashMap::new(),
            values: HashMap::new(),
            to_host: VecDeque::new(),
            network_up: false,
            resets_seen: 0,
            handled: HashMap::new(),
            now_us: 0,
            air: None,
            security: None,
            pending_counters: None,
            multicast: HashMap::new(),
            endpoints: Vec::new(),
            manufacturer_code: EMBER_MANUFACTURER_CODE,
            loopback_counter: 0,
            extended_timeout: Default::default(),
            cbke: Some(NcpCbke {
                engine: None,
                partner: None,
                rng: hanrig_device::Rng::new(eui.0 ^ 0xCB4E),
            }),
        }
    }

    /// Installs CBKE data in the co-processor's tokens (as setPreinstalledCbkeData does): it can
    /// then take part in Key Establishment with its chip doing the ECC.
    pub fn with_cbke(mut self, identity: Identity) -> Self {
        if let Some(c) = &mut self.cbke {
            c.install(identity);
        }
        self
    }

    /// A firmware image built without the CBKE library (as stock community images are):
    /// getLibraryStatus says so and the CBKE frames answer LIBRARY_NOT_PRESENT.
    pub fn without_cbke_library(mut self) -> Self {
        self.cbke = None;
        self
    }

    /// Puts the co-processor's radio on a simulated medium with `devices` (on the network's
    /// PAN and channel), under `network_key`. The devices try to join whenever the host
    /// permits joining.
    pub fn with_devices(mut self, network_key: Key, devices: Vec<SimDevice>) -> Self {
        let (pan, channel) = match &mut self.tokens.network {
            Some((network, security)) => {
                security.network_key = network_key;
                (network.pan_id, network.channel)
            }
            None => (0xFFFF, 11),
        };
        self.air = Some(Air::with_devices(
            "ncp",
            self.eui(),
            (pan, channel),
            network_key,
            devices,
        ));
        self
    }

    /// Puts the co-processor's radio on `sim`, as its node `coordinator` (a
    /// [`Coordinator`], e.g. from [`crate::scenario::Simulate::build_remote`]), on virtual time
    /// that moves only when the host asks ([`clock`]). The network is not up until the host
    /// forms it; the devices join when their scenario says.
    pub fn with_simulation(mut self, sim: Simulation, coordinator: usize) -> Self {
        self.network_up = false;
        self.tokens.network = None;
        self.air = Some(Air::scenario(sim, coordinator));
        self
    }

    /// How many frames with EZSP frame ID `id` the co-processor has handled.
    pub fn handled(&self, id: u16) -> u64 {
        self.handled.get(&id).copied().unwrap_or(0)
    }

    /// The simulation behind the radio (its log and capture), when there is one.
    pub fn simulation(&self) -> Option<&Simulation> {
        self.air.as_ref().map(|a| &a.sim)
    }

    /// Takes the simulation out (at the end of a run).
    pub fn into_simulation(self) -> Option<Simulation> {
        self.air.map(|a| a.sim)
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

    /// Takes the frames queued for the host (callbacks the medium produced), which the ASH
    /// link otherwise carries once a host is connected.
    pub fn take_queued(&mut self) -> Vec<Vec<u8>> {
        self.to_host.drain(..).collect()
    }

    /// The EUI64 in use: the custom one once written, else the factory one.
    fn eui(&self) -> Eui64 {
        self.tokens.custom_eui.unwrap_or(self.factory_eui)
    }

    fn coordinator(&mut self) -> Option<&mut Coordinator> {
        self.air.as_mut().and_then(Air::coordinator)
    }

    /// Runs the medium up to the host's `now_us` and turns what the coordinator heard into
    /// callbacks.
    fn advance(&mut self, now_us: u64) {
        self.now_us = self.now_us.max(now_us);
        let Some(air) = &mut self.air else { return };
        air.follow(self.now_us);
        let callbacks = self.take_callbacks();
        self.to_host.extend(callbacks);
    }

    /// What the coordinator heard, as callback frames for the host.
    fn take_callbacks(&mut self) -> Vec<Vec<u8>> {
        let Some(air) = self.air.as_mut() else {
            return Vec::new();
        };
        let events = air.take_events();
        if events.contains(&HostEvent::NetworkUp) {
            self.network_up = true;
        }
        let mut frames = Vec::new();
        for event in &events {
            self.event_callbacks(event, &mut frames);
        }
        frames
    }

    /// Bytes from the host.
    pub fn handle_bytes(&mut self, now_us: u64, bytes: &[u8]) {
        self.advance(now_us);
        self.session.handle_bytes(now_us, bytes);
        if self.session.stats.resets != self.resets_seen {
            self.resets_seen = self.session.stats.resets;
            self.reboot();
        }
        while let Some(frame) = self.session.poll_received() {
            let replies = self.handle_ezsp(&frame);
            self.to_host.extend(replies);
        }
    }

    /// Bytes to send to the host, if any.
    pub fn poll_transmit(&mut self, now_us: u64, out: &mut [u8]) -> Option<usize> {
        if self.session.state() == State::Connected {
            while let Some(frame) = self.to_host.front() {
                if self.session.send(frame).is_err() {
                    break;
                }
                self.to_host.pop_front();
            }
        } else {
            self.to_host.clear();
        }
        self.session.poll_transmit(now_us, out)
    }

    /// An ASH RST reboots a co-processor: what lives in RAM is gone — configuration, values,
    /// the security state set, transient keys, the open join window, queued callbacks — while
    /// the tokens stay: the network formed is down until the host calls networkInit.
    fn reboot(&mut self) {
        self.config.clear();
        self.values.clear();
        self.to_host.clear();
        self.security = None;
        self.pending_counters = None;
        self.multicast.clear();
        self.endpoints.clear();
        self.manufacturer_code = EMBER_MANUFACTURER_CODE;
        self.network_up = false;
        if let Some(c) = self.coordinator() {
            c.forget_volatile();
        }
    }

    /// When [`EzspNcp::handle_timeout`] is next due (µs, the caller's clock), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.session.poll_timeout()
    }

    /// Runs the link's timers.
    pub fn handle_timeout(&mut self, now_us: u64) {
        self.advance(now_us);
        if self.session.poll_timeout().is_some_and(|t| t <= now_us) {
            self.session.handle_timeout(now_us);
        }
    }

    /// One EZSP frame from the host: the response, then any callbacks.
    pub fn handle_ezsp(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        // The first `version` comes in the legacy form (`seq FC 00 desired`); after it, v8+
        // framing.
        let legacy = frame.len() == 4 && frame[2] == 0x00;
        let format = if legacy {
            Format::Legacy
        } else {
            Format::Extended
        };
        let Ok((header, params)) = Header::parse(format, frame) else {
            return Vec::new();
        };
        *self.handled.entry(header.frame_id).or_default() += 1;
        let mut callbacks = Vec::new();
        let reply = match self.answer(header.frame_id, header.sequence, params, &mut callbacks) {
            Some(Ok(body)) => body,
            Some(Err(_)) => {
                // Parameters that do not fit the command's layout.
                callbacks.clear();
                return vec![self.invalid_command(format, header.sequence, status::TRUNCATED)];
            }
            None => {
                return vec![self.invalid_command(
                    format,
                    header.sequence,
                    status::INVALID_FRAME_ID,
                )];
            }
        };
        let mut out = vec![frame_with(
            format,
            header.sequence,
            FC_RESPONSE,
            header.frame_id,
            &reply,
        )];
        out.extend(callbacks);
        out
    }

    fn invalid_command(&self, format: Format, sequence: u8, (ember, sl): (u8, u32)) -> Vec<u8> {
        let body = self.write(&Status::of(self.version, ember, sl));
        frame_with(
            format,
            sequence,
            FC_RESPONSE,
            frame_id::INVALID_COMMAND,
            &body,
        )
    }

    /// `value` in this co-processor's version's layout.
    fn write<T: Wire>(&self, value: &T) -> Vec<u8> {
        let mut buf = [0u8; 512];
        // Every reply the co-processor makes fits its layout (tags and statuses are made for
        // this version), so writing cannot fail; an empty body would show if it did.
        let n = emit(self.version, value, &mut buf).unwrap_or(0);
        buf[..n].to_vec()
    }

    /// A callback frame following command `sequence` (0 when asynchronous).
    fn callback<C: Callback>(&self, sequence: u8, callback: &C) -> Vec<u8> {
        frame_with(
            Format::Extended,
            sequence,
            FC_ASYNC_CALLBACK,
            C::ID,
            &self.write(callback),
        )
    }

    fn status(&self, ok: bool, (ember, sl): (u8, u32)) -> Status {
        Status::ok_or(self.version, ok, ember, sl)
    }

    /// The CBKE engine: `None` without the library, `Some(None)` with no certificate yet.
    fn cbke_engine(&self) -> Option<Option<&Software>> {
        self.cbke.as_ref().map(|c| c.engine.as_ref())
    }

    /// A CBKE frame's status: LIBRARY_NOT_PRESENT without the library (`None`), else success
    /// or INVALID_CALL (no certificate, nothing to do).
    fn cbke_status(&self, done: Option<bool>) -> Status {
        match done {
            None => self.status(false, status::LIBRARY_NOT_PRESENT),
            Some(ok) => self.status(ok, status::INVALID_CALL),
        }
    }

    /// Keeps `key` as the link key with `partner`: the key table's entry for it (or a free
    /// one), and the key the radio secures APS frames to and from it with.
    fn store_link_key(&mut self, partner: Eui64, key: Key) {
        let table = &mut self.tokens.key_table;
        match table
            .iter_mut()
            .find(|e| e.is_some_and(|(eui, _)| eui == partner))
        {
            Some(entry) => *entry = Some((partner, key)),
            None => match table.iter_mut().find(|e| e.is_none()) {
                Some(free) => *free = Some((partner, key)),
                None => table.push(Some((partner, key))),
            },
        }
        if let Some(c) = self.coordinator() {
            c.set_link_key(partner, key);
        }
    }

    fn stack_status(&self, sequence: u8, (ember, sl): (u8, u32)) -> Vec<u8> {
        self.callback(
            sequence,
            &cmd::StackStatusHandler {
                status: Status::of(self.version, ember, sl),
            },
        )
    }

    /// Reads the request as `C`, answers with `f`, writes the reply.
    fn on<C: Command>(
        &mut self,
        params: &[u8],
        f: impl FnOnce(&mut Self, C) -> C::Reply,
    ) -> Result<Vec<u8>, WireError> {
        let request = parse::<C>(self.version, params)?;
        let reply = f(self, request);
        Ok(self.write(&reply))
    }

    /// The reply to frame `id`, with callbacks to follow it; `None` for a frame ID the
    /// co-processor does not know.
    fn answer(
        &mut self,
        id: u16,
        seq: u8,
        params: &[u8],
        callbacks: &mut Vec<Vec<u8>>,
    ) -> Option<Result<Vec<u8>, WireError>> {
        let ok = Status::OK;
        Some(match id {
            cmd::Version::ID => self.on(params, |n, _: cmd::Version| cmd::VersionReply {
                // protocolVersion, stackType 2 (mesh), stackVersion 7.4.5.0 (v13) / 8.0.0.0.
                protocol: n.version,
                stack_type: 2,
                stack_version: if n.version >= 14 { 0x8000 } else { 0x7450 },
            }),
            cmd::Nop::ID => self.on(params, |_, _: cmd::Nop| cmd::NopReply {}),
            cmd::Echo::ID => self.on(params, |_, r: cmd::Echo| cmd::EchoReply { echo: r.data }),
            cmd::GetConfigurationValue::ID => {
                self.on(params, |n, r: cmd::GetConfigurationValue| {
                    let default = CONFIG_DEFAULTS.iter().find(|(id, _)| *id == r.config_id);
                    let value = n.config.get(&r.config_id).copied();
                    cmd::GetConfigurationValueReply {
                        status: ok,
                        value: value.or(default.map(|d| d.1)).unwrap_or(0),
                    }
                })
            }
            cmd::SetConfigurationValue::ID => {
                self.on(params, |n, r: cmd::SetConfigurationValue| {
                    n.config.insert(r.config_id, r.value);
                    if r.config_id == CONFIG_MAX_END_DEVICE_CHILDREN
                        && let Some(c) = n.coordinator()
                    {
                        c.max_children = Some(usize::from(r.value));
                    }
                    cmd::SetConfigurationValueReply { status: ok }
                })
            }
            cmd::GetValue::ID => self.on(params, |n, r: cmd::GetValue| {
                let value = match r.value_id {
                    // build, major, minor, patch, special, type (GA)
                    VALUE_VERSION_INFO if n.version >= 14 => Some(vec![0, 0, 8, 0, 0, 0, 0xAA]),
                    VALUE_VERSION_INFO => Some(vec![0, 0, 7, 4, 5, 0, 0xAA]),
                    id => n.values.get(&id).cloned(),
                };
                match value {
                    Some(v) => cmd::GetValueReply {
                        status: ok,
                        value: Lv::from_slice(&v).unwrap_or_default(),
                    },
                    None => cmd::GetValueReply {
                        status: n.status(false, status::INVALID_VALUE),
                        value: Lv::new(),
                    },
                }
            }),
            cmd::SetValue::ID => self.on(params, |n, r: cmd::SetValue| {
                let counter = matches!(
                    r.value_id,
                    VALUE_NWK_FRAME_COUNTER | VALUE_APS_FRAME_COUNTER
                );
                // Frame counters can be set only before a network is up (EmberZNet).
                if counter && n.network_up {
                    return cmd::SetValueReply {
                        status: n.status(false, status::INVALID_CALL),
                    };
                }
                if counter && let Ok(c) = <[u8; 4]>::try_from(&r.value[..]) {
                    let c = u32::from_le_bytes(c);
                    let pending = n.pending_counters.get_or_insert((0, 0));
                    if r.value_id == VALUE_NWK_FRAME_COUNTER {
                        pending.0 = c;
                    } else {
                        pending.1 = c;
                    }
                }
                n.values.insert(r.value_id, r.value.to_vec());
                cmd::SetValueReply { status: ok }
            }),
            cmd::SetPolicy::ID => self.on(params, |_, _: cmd::SetPolicy| cmd::SetPolicyReply {
                status: ok,
            }),
            cmd::AddEndpoint::ID => self.on(params, |n, r: cmd::AddEndpoint| {
                let fits = r.clusters.input.len() <= 16 && r.clusters.output.len() <= 16;
                if fits {
                    n.endpoints.retain(|e| e.endpoint != r.endpoint);
                    n.endpoints.push(SimpleDescriptor {
                        endpoint: r.endpoint,
                        profile: r.profile,
                        device_id: r.device_id,
                        device_version: r.device_version,
                        input: r.clusters.input.iter().copied().collect(),
                        output: r.clusters.output.iter().copied().collect(),
                    });
                }
                cmd::AddEndpointReply {
                    status: n.status(fits, status::INVALID_CALL),
                }
            }),
            // Which devices get the extended (end-device poll) timeout: kept, though on the
            // simulated medium every frame to a member is delivered at once.
            cmd::GetExtendedTimeout::ID => self.on(params, |n, r: cmd::GetExtendedTimeout| {
                let extended = n.extended_timeout.contains(&r.remote_eui64);
                cmd::GetExtendedTimeoutReply {
                    extended_timeout: extended,
                    status: n.status(extended, status::NOT_FOUND),
                }
            }),
            cmd::SetExtendedTimeout::ID => self.on(params, |n, r: cmd::SetExtendedTimeout| {
                if r.extended_timeout {
                    n.extended_timeout.insert(r.remote_eui64);
                } else {
                    n.extended_timeout.remove(&r.remote_eui64);
                }
                cmd::SetExtendedTimeoutReply { status: ok }
            }),
            cmd::SetConcentrator::ID => self.on(params, |_, _: cmd::SetConcentrator| {
                cmd::SetConcentratorReply { status: ok }
            }),
            cmd::SetSourceRouteDiscoveryMode::ID => {
                self.on(params, |_, _: cmd::SetSourceRouteDiscoveryMode| {
                    cmd::SetSourceRouteDiscoveryModeReply { remaining_time: 0 }
                })
            }
            cmd::SetManufacturerCode::ID => self.on(params, |n, r: cmd::SetManufacturerCode| {
                n.manufacturer_code = r.code;
                cmd::SetManufacturerCodeReply { status: ok }
            }),
            cmd::SetRadioPower::ID => self.on(params, |n, r: cmd::SetRadioPower| {
                if let Some((network, _)) = &mut n.tokens.network {
                    network.tx_power = r.power;
                }
                cmd::SetRadioPowerReply { status: ok }
            }),
            cmd::GetMulticastTableEntry::ID => {
                self.on(params, |n, r: cmd::GetMulticastTableEntry| {
                    let size = usize::from(n.config_value(CONFIG_MULTICAST_TABLE_SIZE));
                    let index = usize::from(r.index);
                    cmd::GetMulticastTableEntryReply {
                        status: n.status(index < size, status::INVALID_CALL),
                        entry: n
                            .multicast
                            .get(&r.index)
                            .cloned()
                            .unwrap_or(MulticastTableEntry {
                                network_index: Some(0),
                                ..MulticastTableEntry::default()
                            }),
                    }
                })
            }
            cmd::SetMulticastTableEntry::ID => {
                self.on(params, |n, r: cmd::SetMulticastTableEntry| {
                    let size = usize::from(n.config_value(CONFIG_MULTICAST_TABLE_SIZE));
                    let fits = usize::from(r.index) < size;
                    if fits {
                        n.multicast.insert(r.index, r.entry);
                    }
                    cmd::SetMulticastTableEntryReply {
                        status: n.status(fits, status::INVALID_CALL),
                    }
                })
            }
            cmd::ReadCounters::ID => self.on(params, |_, _: cmd::ReadCounters| {
                cmd::ReadCountersReply { values: counters() }
            }),
            cmd::ReadAndClearCounters::ID => self.on(params, |_, _: cmd::ReadAndClearCounters| {
                cmd::ReadAndClearCountersReply { values: counters() }
            }),
            cmd::CustomFrame::ID => {
                self.on(params, |n, r: cmd::CustomFrame| match n.clock(&r.payload) {
                    Some((reply, more)) => {
                        callbacks.extend(more);
                        cmd::CustomFrameReply {
                            status: ok,
                            reply: Lv::from_slice(&reply).unwrap_or_default(),
                        }
                    }
                    // No XNCP extensions: refuse, as stock firmware does.
                    None => cmd::CustomFrameReply {
                        status: n.status(false, status::NOT_SUPPORTED),
                        reply: Lv::new(),
                    },
                })
            }
            cmd::SetInitialSecurityState::ID => {
                self.on(params, |n, r: cmd::SetInitialSecurityState| {
                    n.security = Some(Security {
                        bitmask: r.state.bitmask,
                        preconfigured_key: r.state.preconfigured_key,
                        network_key: r.state.network_key,
                        key_sequence: r.state.network_key_sequence,
                    });
                    cmd::SetInitialSecurityStateReply { status: ok }
                })
            }
            cmd::GetCurrentSecurityState::ID => {
                self.on(params, |n, _: cmd::GetCurrentSecurityState| {
                    match n.tokens.network.filter(|_| n.network_up) {
                        Some((_, s)) => {
                            let mut bitmask = HAVE_TRUST_CENTER_LINK_KEY;
                            if s.global_link_key().is_some() {
                                bitmask |= GLOBAL_LINK_KEY;
                            }
                            if s.bitmask & TRUST_CENTER_USES_HASHED_LINK_KEY
                                == TRUST_CENTER_USES_HASHED_LINK_KEY
                            {
                                bitmask |= TRUST_CENTER_USES_HASHED_LINK_KEY;
                            }
                            cmd::GetCurrentSecurityStateReply {
                                status: ok,
                                state: CurrentSecurityState {
                                    bitmask,
                                    trust_center_eui64: n.eui().0,
                                },
                            }
                        }
                        None => cmd::GetCurrentSecurityStateReply {
                            status: n.status(false, status::NOT_JOINED),
                            state: CurrentSecurityState::default(),
                        },
                    }
                })
            }
            cmd::ExportKey::ID => self.on(params, |n, r: cmd::ExportKey| {
                let key = n
                    .tokens
                    .network
                    .and_then(|(_, s)| match r.context.core_key_type {
                        KEY_TYPE_NETWORK => Some(n.network_key().unwrap_or(s.network_key)),
                        KEY_TYPE_TC_LINK => Some(s.preconfigured_key),
                        _ => None,
                    });
                cmd::ExportKeyReply {
                    status: if key.is_some() {
                        SlStatus::OK
                    } else {
                        SlStatus(status::SL_NOT_FOUND)
                    },
                    key: key.unwrap_or_default(),
                    context: r.context,
                }
            }),
            cmd::GetNetworkKeyInfo::ID => self.on(params, |n, _: cmd::GetNetworkKeyInfo| {
                let network = n.tokens.network;
                let frame_counter = n.frame_counters().0;
                cmd::GetNetworkKeyInfoReply {
                    status: SlStatus::OK,
                    info: NetworkKeyInfo {
                        network_key_set: network.is_some(),
                        alternate_network_key_set: false,
                        network_key_sequence: network.map_or(0, |(_, s)| s.key_sequence),
                        alternate_network_key_sequence: 0,
                        network_key_frame_counter: frame_counter,
                    },
                }
            }),
            cmd::GetMfgToken::ID => self.on(params, |n, r: cmd::GetMfgToken| {
                let data: Vec<u8> = match r.token {
                    MFG_STRING => b"hanrig".to_vec(),
                    MFG_BOARD_NAME => b"hanrig-sim-ncp".to_vec(),
                    MFG_CUSTOM_EUI_64 => n
                        .tokens
                        .custom_eui
                        .map_or(vec![0xFF; 8], |e| e.to_le_bytes().to_vec()),
                    _ => vec![0xFF; 8],
                };
                cmd::GetMfgTokenReply {
                    data: Lv::from_slice(&data).unwrap_or_default(),
                }
            }),
            cmd::SetMfgToken::ID => self.on(params, |n, r: cmd::SetMfgToken| {
                // The custom EUI64 lives in write-once user data: once written, it stays.
                let ok = r.token == MFG_CUSTOM_EUI_64
                    && n.tokens.custom_eui.is_none()
                    && r.data.len() == 8;
                if ok {
                    let eui = u64::from_le_bytes(r.data[..8].try_into().unwrap_or_default());
                    n.tokens.custom_eui = Some(Eui64(eui));
                }
                cmd::SetMfgTokenReply {
                    status: n.status(ok, status::INVALID_CALL),
                }
            }),
            // No NV3 token is readable: hosts fall back to the manufacturing token.
            cmd::GetTokenData::ID => {
                self.on(params, |n, _: cmd::GetTokenData| cmd::GetTokenDataReply {
                    status: n.status(false, (0x70, status::SL_NOT_FOUND)),
                    value: None,
                })
            }
            cmd::SetTokenData::ID => {
                self.on(params, |n, _: cmd::SetTokenData| cmd::SetTokenDataReply {
                    status: n.status(false, (0x70, status::SL_NOT_FOUND)),
                })
            }
            cmd::TokenFactoryReset::ID => self.on(params, |n, _: cmd::TokenFactoryReset| {
                n.tokens.network = None;
                n.tokens.key_table.clear();
                cmd::TokenFactoryResetReply {}
            }),
            cmd::ClearKeyTable::ID => self.on(params, |n, _: cmd::ClearKeyTable| {
                n.tokens.key_table.clear();
                cmd::ClearKeyTableReply { status: ok }
            }),
            cmd::ImportLinkKey::ID => self.on(params, |n, r: cmd::ImportLinkKey| {
                let size = usize::from(n.config_value(CONFIG_KEY_TABLE_SIZE));
                let index = usize::from(r.index);
                if index >= size {
                    return cmd::ImportLinkKeyReply {
                        status: SlStatus(status::SL_INVALID_PARAMETER),
                    };
                }
                n.tokens
                    .key_table
                    .resize(size.max(n.tokens.key_table.len()), None);
                n.tokens.key_table[index] = Some((Eui64(r.address), r.key));
                cmd::ImportLinkKeyReply {
                    status: SlStatus::OK,
                }
            }),
            cmd::ExportLinkKeyByIndex::ID => self.on(params, |n, r: cmd::ExportLinkKeyByIndex| {
                let entry = n
                    .tokens
                    .key_table
                    .get(usize::from(r.index))
                    .copied()
                    .flatten();
                let (eui, key) = entry.unwrap_or_default();
                cmd::ExportLinkKeyByIndexReply {
                    status: if entry.is_some() {
                        SlStatus::OK
                    } else {
                        SlStatus(status::SL_NOT_FOUND)
                    },
                    eui64: eui.0,
                    context: SecurityContext {
                        core_key_type: 3, // APP_LINK
                        key_index: r.index,
                        eui64: eui.0,
                        ..SecurityContext::default()
                    },
                    key,
                    metadata: ApsKeyMetadata {
                        bitmask: if entry.is_some() {
                            KEY_HAS_COUNTERS_AND_PARTNER
                        } else {
                            0
                        },
                        ..ApsKeyMetadata::default()
                    },
                }
            }),
            cmd::FindKeyTableEntry::ID => self.on(params, |n, r: cmd::FindKeyTableEntry| {
                let index = n
                    .tokens
                    .key_table
                    .iter()
                    .position(|e| r.link_key && e.is_some_and(|(eui, _)| eui.0 == r.address));
                cmd::FindKeyTableEntryReply {
                    // 0xFF: no entry.
                    index: index.and_then(|i| u8::try_from(i).ok()).unwrap_or(0xFF),
                }
            }),
            cmd::EraseKeyTableEntry::ID => self.on(params, |n, r: cmd::EraseKeyTableEntry| {
                let entry = n.tokens.key_table.get_mut(usize::from(r.index));
                let erased = entry.is_some();
                if let Some(e) = entry {
                    *e = None;
                }
                cmd::EraseKeyTableEntryReply {
                    status: n.status(erased, status::INVALID_CALL),
                }
            }),
            cmd::GpSinkTableClearAll::ID => self.on(params, |_, _: cmd::GpSinkTableClearAll| {
                cmd::GpSinkTableClearAllReply {}
            }),
            cmd::LeaveNetwork::ID => self.on(params, |n, _: cmd::LeaveNetwork| {
                // The network goes down and is forgotten: stackStatusHandler(NETWORK_DOWN).
                let up = n.network_up;
                if up {
                    n.network_up = false;
                    n.tokens.network = None;
                    callbacks.push(n.stack_status(seq, status::NETWORK_DOWN));
                }
                cmd::LeaveNetworkReply {
                    status: n.status(up, status::NOT_JOINED),
                }
            }),
            cmd::JoinNetwork::ID => self.on(params, |n, r: cmd::JoinNetwork| {
                let ok = n.join_network(&r.parameters);
                cmd::JoinNetworkReply {
                    status: n.status(ok, status::INVALID_CALL),
                }
            }),
            cmd::FormNetwork::ID => self.on(params, |n, r: cmd::FormNetwork| {
                let ok = n.form_network(&r.parameters);
                if ok {
                    callbacks.push(n.stack_status(seq, status::NETWORK_UP));
                }
                cmd::FormNetworkReply {
                    status: n.status(ok, status::INVALID_CALL),
                }
            }),
            cmd::NetworkInit::ID => self.on(params, |n, _: cmd::NetworkInit| {
                // Nothing stored yet: the host must form a network.
                let stored = n.tokens.network.is_some();
                if stored {
                    n.network_up = true;
                    callbacks.push(n.stack_status(seq, status::NETWORK_UP));
                }
                cmd::NetworkInitReply {
                    status: n.status(stored, status::NOT_JOINED),
                }
            }),
            cmd::NetworkState::ID => {
                self.on(params, |n, _: cmd::NetworkState| cmd::NetworkStateReply {
                    state: if n.network_up { JOINED_NETWORK } else { 0 },
                })
            }
            cmd::PermitJoining::ID => self.on(params, |n, r: cmd::PermitJoining| {
                let ok = n.air.as_mut().is_some_and(|a| a.permit_joining(r.duration));
                cmd::PermitJoiningReply {
                    status: n.status(ok, status::NOT_SUPPORTED),
                }
            }),
            cmd::GetLibraryStatus::ID => self.on(params, |n, r: cmd::GetLibraryStatus| {
                cmd::GetLibraryStatusReply {
                    status: match r.library_id {
                        cmd::LIBRARY_CBKE | cmd::LIBRARY_ECC if n.cbke.is_none() => 0x00,
                        cmd::LIBRARY_CBKE | cmd::LIBRARY_ECC => cmd::LIBRARY_PRESENT,
                        // The other CBKE variants (283k1, DSA): stubs.
                        0x07 | 0x09 | 0x0D..=0x0F | 0x13 => 0x00,
                        // ZigBee PRO with router capability, security with trust-centre
                        // support; the rest present.
                        0x00 | 0x03 => cmd::LIBRARY_PRESENT | 0x01,
                        id if id < 0x15 => cmd::LIBRARY_PRESENT,
                        _ => 0xFF,
                    },
                }
            }),
            cmd::GetCertificate::ID => self.on(params, |n, _: cmd::GetCertificate| {
                let cert = n.cbke_engine().map(|e| e.map(|e| e.certificate().0));
                cmd::GetCertificateReply {
                    status: n.cbke_status(cert.map(|c| c.is_some())),
                    local_cert: CertificateData(cert.flatten().unwrap_or([0; 48])),
                }
            }),
            cmd::SetPreinstalledCbkeData::ID => {
                self.on(params, |n, r: cmd::SetPreinstalledCbkeData| {
                    let identity = (|| {
                        let ca = PublicKey::from_compressed(&r.ca_public.0).ok()?;
                        let key = PrivateKey::from_bytes(&r.my_key.0).ok()?;
                        Identity::new(Certificate(r.my_cert.0), key, ca).ok()
                    })();
                    // Written once: tokens that hold data stay as they are.
                    let written = match (&mut n.cbke, identity) {
                        (Some(c), Some(identity)) if c.engine.is_none() => {
                            c.install(identity);
                            Some(true)
                        }
                        (Some(_), _) => Some(false),
                        (None, _) => None,
                    };
                    cmd::SetPreinstalledCbkeDataReply {
                        status: n.cbke_status(written),
                    }
                })
            }
            cmd::GenerateCbkeKeys::ID => self.on(params, |n, _: cmd::GenerateCbkeKeys| {
                let made = n.cbke.as_mut().map(|c| {
                    let rng = &mut c.rng;
                    c.engine.as_mut().and_then(|e| {
                        e.generate_keys(&mut |buf: &mut [u8]| crate::cbke::fill(rng, buf))
                            .ok()
                    })
                });
                if let Some(Some(point)) = made {
                    let handler = cmd::GenerateCbkeKeysHandler {
                        status: Status::OK,
                        ephemeral_public_key: PublicKeyData(point),
                    };
                    callbacks.push(n.callback(seq, &handler));
                }
                cmd::GenerateCbkeKeysReply {
                    status: n.cbke_status(made.map(|m| m.is_some())),
                }
            }),
            cmd::CalculateSmacs::ID => self.on(params, |n, r: cmd::CalculateSmacs| {
                let partner = Certificate(r.partner_certificate.0);
                let we = if r.am_initiator {
                    Party::Initiator
                } else {
                    Party::Responder
                };
                let started = n.cbke.as_mut().map(|c| {
                    let smacs = c.engine.as_mut().map(|e| {
                        e.calculate_smacs(we, &partner, &r.partner_ephemeral_public_key.0)
                    });
                    c.partner = Some(subject_eui64(&partner));
                    smacs
                });
                let status = n.cbke_status(started.as_ref().map(Option::is_some));
                if let Some(Some(smacs)) = started {
                    // The computation starts; its result comes in the handler.
                    let (ember, sl) = status::INVALID_CALL;
                    let handler = match smacs {
                        Ok(m) => cmd::CalculateSmacsHandler {
                            status: Status::OK,
                            initiator_smac: m.initiator,
                            responder_smac: m.responder,
                        },
                        Err(_) => cmd::CalculateSmacsHandler {
                            status: Status::of(n.version, ember, sl),
                            ..cmd::CalculateSmacsHandler::default()
                        },
                    };
                    callbacks.push(n.callback(seq, &handler));
                }
                cmd::CalculateSmacsReply { status }
            }),
            cmd::ClearTemporaryDataMaybeStoreLinkKey::ID => {
                self.on(params, |n, r: cmd::ClearTemporaryDataMaybeStoreLinkKey| {
                    let stored = n.cbke.as_mut().map(|c| {
                        let key = c.engine.as_mut().and_then(|e| e.finish(r.store_link_key));
                        c.partner.take().zip(key)
                    });
                    if let Some(Some((partner, key))) = stored {
                        n.store_link_key(partner, key);
                    }
                    cmd::ClearTemporaryDataMaybeStoreLinkKeyReply {
                        status: n.cbke_status(stored.map(|_| true)),
                    }
                })
            }
            cmd::ImportTransientKey::ID => self.on(params, |n, r: cmd::ImportTransientKey| {
                let ok = n
                    .air
                    .as_mut()
                    .is_some_and(|a| a.add_transient_key(Eui64(r.eui64), r.key));
                cmd::ImportTransientKeyReply {
                    status: if ok {
                        SlStatus::OK
                    } else {
                        SlStatus(status::SL_INVALID_PARAMETER)
                    },
                }
            }),
            cmd::ClearTransientLinkKeys::ID => {
                self.on(params, |n, _: cmd::ClearTransientLinkKeys| {
                    if let Some(c) = n.coordinator() {
                        c.clear_transient_keys();
                    }
                    cmd::ClearTransientLinkKeysReply {}
                })
            }
            cmd::SendUnicast::ID => self.on(params, |n, r: cmd::SendUnicast| {
                let mut answers = Vec::new();
                let sequence = n.send_unicast(&r, &mut answers);
                if sequence.is_some() {
                    // No MAC acknowledgements on the simulated medium: a frame sent to a
                    // member is delivered.
                    let sent = cmd::MessageSentHandler {
                        status: Status::OK,
                        message_type: r.message_type,
                        destination: r.destination,
                        aps_frame: r.aps_frame.clone(),
                        tag: r.tag,
                        message: r.message.clone(),
                    };
                    callbacks.push(n.callback(seq, &sent));
                }
                callbacks.extend(answers);
                cmd::SendUnicastReply {
                    status: n.status(sequence.is_some(), status::DELIVERY_FAILED),
                    sequence: sequence.unwrap_or(0),
                }
            }),
            cmd::SendBroadcast::ID => self.on(params, |n, r: cmd::SendBroadcast| {
                let up = n.network_up;
                if up {
                    n.loop_back_broadcast(&r.aps_frame, &r.message);
                    let sent = cmd::MessageSentHandler {
                        status: Status::OK,
                        message_type: 0x06, // OUTGOING_BROADCAST
                        destination: r.destination,
                        aps_frame: r.aps_frame.clone(),
                        tag: r.tag,
                        message: r.message.clone(),
                    };
                    callbacks.push(n.callback(seq, &sent));
                }
                cmd::SendBroadcastReply {
                    status: n.status(up, status::NOT_JOINED),
                    sequence: r.aps_frame.sequence,
                }
            }),
            cmd::StartScan::ID => self.on(params, |n, r: cmd::StartScan| {
                // An energy scan of each channel in the mask: the simulated medium carries no
                // interference, so each reads the noise floor. Active scans are not simulated.
                let energy = r.scan_type == 0;
                if energy {
                    for channel in (11..=26u8).filter(|c| r.channel_mask & (1 << c) != 0) {
                        let result = cmd::EnergyScanResultHandler {
                            channel,
                            max_rssi: NOISE_FLOOR_DBM,
                        };
                        callbacks.push(n.callback(seq, &result));
                    }
                    let done = cmd::ScanCompleteHandler {
                        channel: 0,
                        status: Status::OK,
                    };
                    callbacks.push(n.callback(seq, &done));
                }
                cmd::StartScanReply {
                    status: n.status(energy, status::NOT_SUPPORTED),
                }
            }),
            cmd::GetEui64::ID => self.on(params, |n, _: cmd::GetEui64| cmd::GetEui64Reply {
                eui64: n.eui().0,
            }),
            cmd::GetNodeId::ID => self.on(params, |_, _: cmd::GetNodeId| cmd::GetNodeIdReply {
                node_id: 0x0000,
            }),
            cmd::GetNetworkParameters::ID => self.on(params, |n, _: cmd::GetNetworkParameters| {
                match n.tokens.network {
                    Some((network, _)) => cmd::GetNetworkParametersReply {
                        status: ok,
                        node_type: NODE_COORDINATOR,
                        parameters: NetworkParameters {
                            extended_pan_id: network.extended_pan_id,
                            pan_id: network.pan_id,
                            radio_tx_power: network.tx_power as u8,
                            radio_channel: network.channel,
                            join_method: 0, // MAC association
                            nwk_manager_id: 0x0000,
                            nwk_update_id: 0,
                            channels: 1u32 << network.channel,
                        },
                    },
                    None => cmd::GetNetworkParametersReply {
                        status: n.status(false, status::NOT_JOINED),
                        node_type: 0,
                        parameters: NetworkParameters::default(),
                    },
                }
            }),
            cmd::GetChildData::ID => self.on(params, |n, r: cmd::GetChildData| {
                let member = n
                    .coordinator()
                    .and_then(|c| c.members().get(usize::from(r.index)).cloned());
                match member {
                    Some(m) => cmd::GetChildDataReply {
                        status: ok,
                        child: ChildData {
                            eui64: m.eui.0,
                            node_type: NODE_SLEEPY_END_DEVICE,
                            id: m.short,
                            ..ChildData::default()
                        },
                    },
                    None => cmd::GetChildDataReply {
                        status: n.status(false, status::NOT_JOINED),
                        child: ChildData::default(),
                    },
                }
            }),
            cmd::SetChildData::ID => self.on(params, |n, r: cmd::SetChildData| {
                let eui = Eui64(r.child.eui64);
                // A restored child keeps the link key the key table holds for it, else the
                // trust centre's.
                let link_key = n
                    .tokens
                    .key_table
                    .iter()
                    .flatten()
                    .find(|(e, _)| *e == eui)
                    .map(|(_, k)| *k)
                    .or_else(|| {
                        n.tokens
                            .network
                            .map(|(_, s)| s.global_link_key().unwrap_or(s.preconfigured_key))
                    });
                let restored = match (n.coordinator(), link_key) {
                    (Some(c), Some(link_key)) => {
                        c.restore_member(Member {
                            eui,
                            short: r.child.id,
                            link_key,
                        });
                        true
                    }
                    _ => false,
                };
                cmd::SetChildDataReply {
                    status: n.status(restored, status::INVALID_CALL),
                }
            }),
            // The address table is not simulated: every entry is unused.
            cmd::GetAddressTableInfo::ID if self.version >= 14 => {
                self.on(params, |n, _: cmd::GetAddressTableInfo| {
                    cmd::GetAddressTableInfoReply {
                        status: n.status(false, status::NOT_SUPPORTED),
                        node_id: 0xFFFF,
                        eui64: 0,
                    }
                })
            }
            cmd::GetAddressTableRemoteEui64::ID => {
                self.on(params, |_, _: cmd::GetAddressTableRemoteEui64| {
                    cmd::GetAddressTableRemoteEui64Reply { eui64: 0 }
                })
            }
            cmd::GetAddressTableRemoteNodeId::ID if self.version < 14 => {
                self.on(params, |_, _: cmd::GetAddressTableRemoteNodeId| {
                    cmd::GetAddressTableRemoteNodeIdReply { node_id: 0xFFFF }
                })
            }
            cmd::LookupEui64ByNodeId::ID => self.on(params, |n, r: cmd::LookupEui64ByNodeId| {
                let own = n.eui();
                let eui = if r.node_id == 0x0000 {
                    Some(own)
                } else {
                    n.coordinator().and_then(|c| {
                        c.members()
                            .iter()
                            .find(|m| m.short == r.node_id)
                            .map(|m| m.eui)
                    })
                };
                cmd::LookupEui64ByNodeIdReply {
                    status: n.status(eui.is_some(), status::DELIVERY_FAILED),
                    eui64: eui.map_or(0, |e| e.0),
                }
            }),
            cmd::LookupNodeIdByEui64::ID => self.on(params, |n, r: cmd::LookupNodeIdByEui64| {
                let own = n.eui();
                let short = if Eui64(r.eui64) == own {
                    Some(0x0000)
                } else {
                    n.coordinator().and_then(|c| {
                        c.members()
                            .iter()
                            .find(|m| m.eui.0 == r.eui64)
                            .map(|m| m.short)
                    })
                };
                cmd::LookupNodeIdByEui64Reply {
                    status: n.status(short.is_some(), status::DELIVERY_FAILED),
                    node_id: short.unwrap_or(0xFFFF),
                }
            }),
            _ => return None,
        })
    }
}

/// EmberCounterType's counters (bellows reads them as the watchdog): the simulated medium
/// loses nothing, so every counter reads zero.
fn counters() -> hanrig_radio::ezsp::wire::Words {
    let mut v = hanrig_radio::ezsp::wire::Words::new();
    for _ in 0..41 {
        let _ = v.push(0);
    }
    v
}

/// A frame: header in `format`, then `body`.
fn frame_with(format: Format, sequence: u8, control: u8, id: u16, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 5];
    let header = Header {
        sequence,
        control,
        control_hi: FC_HI_V8,
        frame_id: id,
    };
    let len = header.emit(format, &mut out).unwrap_or(0);
    out.truncate(len);
    out.extend_from_slice(body);
    out
}

impl EzspNcp {
    fn config_value(&self, id: u8) -> u16 {
        self.config
            .get(&id)
            .copied()
            .or_else(|| CONFIG_DEFAULTS.iter().find(|(c, _)| *c == id).map(|d| d.1))
            .unwrap_or(0)
    }

    /// The network key the coordinator on the medium uses, when there is a medium.
    fn network_key(&mut self) -> Option<Key> {
        self.coordinator().map(|c| c.network_key())
    }

    /// The coordinator's outgoing NWK and APS frame counters.
    fn frame_counters(&mut self) -> (u32, u32) {
        self.coordinator().map_or((0, 0), |c| c.frame_counters())
    }

    /// The callbacks for one thing the coordinator heard.
    fn event_callbacks(&self, event: &HostEvent, out: &mut Vec<Vec<u8>>) {
        match event {
            HostEvent::NetworkUp => out.push(self.stack_status(0, status::NETWORK_UP)),
            HostEvent::JoinFailed(_) => out.push(self.stack_status(0, status::JOIN_FAILED)),
            HostEvent::Joined { eui, short } => {
                // A child joined (childJoinHandler), then the trust centre's report:
                // EmberDeviceUpdate STANDARD_SECURITY_UNSECURED_JOIN, EmberJoinDecision
                // USE_PRECONFIGURED_KEY, parent the coordinator.
                out.push(self.callback(
                    0,
                    &cmd::ChildJoinHandler {
                        index: 0,
                        joining: true,
                        child_id: *short,
                        child_eui64: eui.0,
                        child_type: NODE_SLEEPY_END_DEVICE,
                    },
                ));
                out.push(self.callback(
                    0,
                    &cmd::TrustCenterJoinHandler {
                        new_node_id: *short,
                        new_node_eui64: eui.0,
                        status: 0x01,
                        policy_decision: 0x00,
                        parent: 0x0000,
                    },
                ));
            }
            HostEvent::Incoming {
                source,
                source_eui,
                profile,
                cluster,
                source_endpoint,
                destination_endpoint,
                counter,
                aps_secured,
                payload,
            } => {
                let incoming = cmd::IncomingMessageHandler {
                    message_type: 0x00, // INCOMING_UNICAST
                    aps_frame: ApsFrame {
                        profile: *profile,
                        cluster: *cluster,
                        source_endpoint: *source_endpoint,
                        destination_endpoint: *destination_endpoint,
                        options: if *aps_secured {
                            APS_OPTION_ENCRYPTION
                        } else {
                            0
                        },
                        group: 0,
                        sequence: *counter,
                    },
                    lqi: 0xFF,
                    rssi: -40,
                    sender: *source,
                    sender_eui64: source_eui.0,
                    binding_index: 0xFF,
                    address_index: 0xFF,
                    timestamp: 0,
                    message: Lv::from_slice(payload).unwrap_or_default(),
                };
                out.push(self.callback(0, &incoming));
            }
        }
    }

    /// The [`clock`] extension: the reply and the callbacks that follow it, or `None` for
    /// anything else (and for every request when time follows the wall clock).
    fn clock(&mut self, payload: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
        let rest = payload.strip_prefix(clock::MAGIC.as_slice())?;
        let air = self.air.as_mut().filter(|a| a.virtual_clock)?;
        let coordinator = air.coordinator;
        match rest {
            [clock::NOW] => {}
            [clock::ADVANCE, target @ ..] => {
                let target = SimTime(u64::from_le_bytes(target.try_into().ok()?));
                if target > air.sim.now() {
                    air.sim.run_until_or(target, |nodes| {
                        matches!(&nodes[coordinator], Node::Coordinator(c) if !c.events.is_empty())
                    });
                }
            }
            _ => return None,
        }
        let now = air.sim.now();
        let callbacks = self.take_callbacks();
        let mut reply = now.0.to_le_bytes().to_vec();
        reply.extend_from_slice(&(callbacks.len() as u16).to_le_bytes());
        Some((reply, callbacks))
    }

    /// joinNetwork: the co-processor's radio joins the network on that PAN and channel as a
    /// device, with the preconfigured key of the security state set before (its install-code
    /// link key); stackStatusHandler follows when it has the network key, or when it is
    /// refused. `false` without a preconfigured key or a medium.
    fn join_network(&mut self, params: &NetworkParameters) -> bool {
        let Some(security) = self
            .security
            .filter(|s| s.bitmask & HAVE_PRECONFIGURED_KEY != 0)
        else {
            return false;
        };
        if !(11..=26).contains(&params.radio_channel) {
            return false;
        }
        let eui = self.eui();
        let Some(air) = self.air.as_mut() else {
            return false;
        };
        let (joiner, request) = Coordinator::joiner(
            "ncp",
            eui,
            (params.pan_id, params.radio_channel),
            security.preconfigured_key,
        );
        let index = air.coordinator;
        air.sim
            .replace_node(index, Node::Coordinator(Box::new(joiner)));
        air.sim.send_from(index, vec![request]);
        self.network_up = false;
        true
    }

    /// formNetwork: the coordinator starts the network on the PAN and channel given, under
    /// the security state set before, with the frame counters set before; the network goes
    /// into the tokens. `false` without a security state, a medium or a good channel.
    fn form_network(&mut self, params: &NetworkParameters) -> bool {
        let Some(security) = self.security else {
            return false;
        };
        let network = Network {
            extended_pan_id: params.extended_pan_id,
            pan_id: params.pan_id,
            tx_power: params.radio_tx_power as i8,
            channel: params.radio_channel,
        };
        if !(11..=26).contains(&network.channel) {
            return false;
        }
        let max_children = self
            .config
            .get(&CONFIG_MAX_END_DEVICE_CHILDREN)
            .map(|&v| usize::from(v));
        let eui = self.eui();
        let counters = self.pending_counters.take().unwrap_or((0, 0));
        let Some(air) = self.air.as_mut() else {
            return false;
        };
        let name = match &air.sim.nodes[air.coordinator] {
            Node::Coordinator(c) => c.name.clone(),
            _ => "ncp".into(),
        };
        let network_key = if security.bitmask & HAVE_NETWORK_KEY != 0 {
            security.network_key
        } else {
            drawn_key(eui, network.pan_id, 0)
        };
        let mut coordinator =
            Coordinator::new(&name, eui, network.pan_id, network.channel, network_key);
        coordinator.max_children = max_children;
        coordinator.global_link_key = security.global_link_key();
        coordinator.set_frame_counters(counters);
        air.sim
            .replace_node(air.coordinator, Node::Coordinator(Box::new(coordinator)));
        self.tokens.network = Some((
            network,
            Security {
                network_key,
                ..security
            },
        ));
        self.network_up = true;
        true
    }

    /// The co-processor's own ZDO server: the answer to a request the host sent to 0x0000, as
    /// an incomingMessageHandler callback; the APS counter of the request.
    fn answer_own_zdo(
        &mut self,
        cluster: u16,
        request: &[u8],
        callbacks: &mut Vec<Vec<u8>>,
    ) -> Option<u8> {
        if !self.network_up {
            return None;
        }
        let node = ZdoNode {
            nwk: 0x0000,
            ieee: self.eui(),
            node: NodeDescriptor {
                logical_type: logical_type::COORDINATOR,
                // Alternate PAN coordinator, full-function, mains powered, receiver on when
                // idle, allocate address.
                mac_capabilities: 0x8F,
                manufacturer_code: self.manufacturer_code,
                max_buffer_size: 82,
                max_incoming_transfer: 128,
                // Primary trust centre; stack compliance revision 22.
                server_mask: 0x2C01,
                max_outgoing_transfer: 128,
                descriptor_capabilities: 0,
            },
            endpoints: &self.endpoints,
        };
        let mut out = [0u8; 128];
        self.loopback_counter = self.loopback_counter.wrapping_add(1);
        let counter = self.loopback_counter;
        if let Ok(Some((response, len))) = node.answer(cluster, request, &mut out) {
            let incoming = cmd::IncomingMessageHandler {
                message_type: 0x00, // INCOMING_UNICAST
                aps_frame: ApsFrame {
                    profile: PROFILE_ZDP,
                    cluster: response,
                    source_endpoint: 0,
                    destination_endpoint: 0,
                    options: 0,
                    group: 0,
                    sequence: counter,
                },
                lqi: 0xFF,
                rssi: 0,
                sender: 0x0000,
                sender_eui64: self.eui().0,
                binding_index: 0xFF,
                address_index: 0xFF,
                timestamp: 0,
                message: Lv::from_slice(&out[..len]).unwrap_or_default(),
            };
            callbacks.push(self.callback(0, &incoming));
        }
        Some(counter)
    }

    /// A broadcast the coordinator hears itself: a Mgmt_Permit_Joining_req (ZDO, `seq,
    /// duration, TC significance`) opens or closes its own joining.
    fn loop_back_broadcast(&mut self, aps: &ApsFrame, message: &[u8]) {
        if aps.profile == PROFILE_ZDP
            && aps.cluster == hanrig_sep::zdo::cluster::MGMT_PERMIT_JOINING_REQ
            && let (Some(&duration), Some(air)) = (message.get(1), self.air.as_mut())
        {
            air.permit_joining(duration);
        }
    }

    /// sendUnicast (direct): the APS counter used, `None` when the destination is not a
    /// member. A ZDO request to the co-processor's own address is answered by its own ZDO
    /// server, as EmberZNet's is: the answer comes back in an incomingMessageHandler.
    fn send_unicast(&mut self, r: &cmd::SendUnicast, callbacks: &mut Vec<Vec<u8>>) -> Option<u8> {
        let aps = &r.aps_frame;
        if r.destination == 0x0000 && aps.profile == PROFILE_ZDP && aps.destination_endpoint == 0 {
            return self.answer_own_zdo(aps.cluster, &r.message, callbacks);
        }
        self.air.as_mut()?.send_unicast(
            r.destination,
            aps.profile,
            aps.cluster,
            aps.source_endpoint,
            aps.destination_endpoint,
            aps.options & APS_OPTION_ENCRYPTION != 0,
            &r.message,
        )
    }
}

impl Coprocessor for EzspNcp {
    fn handle_bytes(&mut self, now_us: u64, bytes: &[u8]) {
        EzspNcp::handle_bytes(self, now_us, bytes);
    }
    fn poll_transmit(&mut self, now_us: u64, out: &mut [u8]) -> Option<usize> {
        EzspNcp::poll_transmit(self, now_us, out)
    }
    fn handle_timeout(&mut self, now_us: u64) {
        EzspNcp::handle_timeout(self, now_us);
    }
}
