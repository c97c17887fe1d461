//! A simulated EmberZNet co-processor speaking EZSP over ASH (protocol v13, or v14 with its
//! 32-bit `sl_status` codes), commissioned as the coordinator of a formed network: what a host
//! such as bellows finds when it connects to a meter's radio. Sans-IO: feed it bytes from the
//! host, take bytes to send back; [`crate::serve`] puts it on a TCP port or a pseudo-terminal.
//!
//! Answers follow the layouts of bellows' command tables; an unknown frame ID gets
//! `invalidCommand` (0x0058) as real firmware sends it.
//!
//! With [`EzspNcp::with_devices`] its radio is a [`Coordinator`] on a simulated medium shared
//! with simulated in-home devices, run in step with the host's clock: the host loads
//! install-code keys (importTransientKey), permits joining (the devices then try to join),
//! hears trustCenterJoinHandler and incomingMessageHandler callbacks and sends with
//! sendUnicast. setInitialSecurityState and formNetwork start the coordinator afresh on the
//! host's PAN, channel and network key (with TC_GLOBAL_LINK_KEY it also admits devices under
//! the global link key, as a Home Automation trust centre does), and
//! EZSP_CONFIG_MAX_END_DEVICE_CHILDREN is its device limit.
//!
//! With [`EzspNcp::with_simulation`] the medium is a scenario's, on virtual time that the host
//! moves with the simulator's own customFrame ([`clock`]): the conformance runner's
//! `sim-serial` rig. Each sendUnicast is followed by its messageSentHandler. Not simulated:
//! binding and address tables.

use std::collections::{HashMap, VecDeque};

pub use hanrig_radio::ezsp::frame_id;
use hanrig_radio::ezsp::{
    APS_OPTION_ENCRYPTION, CONFIG_MAX_END_DEVICE_CHILDREN, Format, HAVE_NETWORK_KEY,
    HAVE_PRECONFIGURED_KEY, Header, TC_GLOBAL_LINK_KEY,
};
use hanrig_radio::session::{Role, Session, State};
use hanrig_sep::Eui64;
use hanrig_sep::install_code::Key;

use crate::air::Air;
use crate::clock::SimTime;
use crate::coordinator::{Coordinator, HostEvent};
use crate::device::{JoinState, SimDevice};
use crate::serve::Coprocessor;
use crate::sim::{Node, Simulation};

/// EmberStatus NOT_JOINED / sl_status NOT_JOINED.
const EMBER_NOT_JOINED: u8 = 0x93;
const SL_NOT_JOINED: u32 = 0x0C03;

/// EmberStatus / sl_status for a destination that is not in the network.
const EMBER_INVALID_DESTINATION: u8 = 0x66;
const SL_INVALID_PARAMETER: u32 = 0x0021;

/// EzspValueId VERSION_INFO.
const VALUE_VERSION_INFO: u8 = 0x11;
/// EzspStatus ERROR_INVALID_ID / EzspStatus ERROR_INVALID_FRAME_ID.
const EZSP_ERROR_INVALID_VALUE: u8 = 0x36;
const EZSP_ERROR_INVALID_FRAME_ID: u8 = 0x31;
/// EmberStatus INVALID_CALL; sl_status NOT_SUPPORTED.
const EMBER_INVALID_CALL: u8 = 0x70;
const SL_NOT_SUPPORTED: u32 = 0x000F;

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
    eui: Eui64,
    network: Network,
    config: HashMap<u8, u16>,
    values: HashMap<u8, Vec<u8>>,
    to_host: VecDeque<Vec<u8>>,
    network_up: bool,
    /// A network is stored (in a real co-processor's tokens): networkInit brings it up.
    formed: bool,
    resets_seen: u32,
    handled: HashMap<u16, u64>,
    now_us: u64,
    air: Option<Air>,
    security: Option<Security>,
}

/// What setInitialSecurityState set.
#[derive(Debug, Clone, Copy)]
struct Security {
    preconfigured_key: Option<Key>,
    network_key: Option<Key>,
    global_link_key: Option<Key>,
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

impl EzspNcp {
    /// A co-processor speaking EZSP `version` (13 or 14+) with `eui`, coordinator of `network`.
    pub fn new(version: u8, eui: Eui64, network: Network) -> Self {
        EzspNcp {
            version,
            session: Session::new(Role::Ncp),
            eui,
            network,
            config: HashMap::new(),
            values: HashMap::new(),
            to_host: VecDeque::new(),
            network_up: false,
            formed: true,
            resets_seen: 0,
            handled: HashMap::new(),
            now_us: 0,
            air: None,
            security: None,
        }
    }

    /// Puts the co-processor's radio on a simulated medium with `devices` (on the network's
    /// PAN and channel), under `network_key`. The devices try to join whenever the host
    /// permits joining.
    pub fn with_devices(mut self, network_key: Key, devices: Vec<SimDevice>) -> Self {
        self.air = Some(Air::with_devices(
            "ncp",
            self.eui,
            (self.network.pan_id, self.network.channel),
            network_key,
            devices,
        ));
        self
    }

    /// Puts the co-processor's radio on `sim`, as its node `coordinator` (a
    /// [`Coordinator`], e.g. from [`crate::scenario::Scenario::build_remote`]), on virtual time
    /// that moves only when the host asks ([`clock`]). The network is not up until the host
    /// forms it; the devices join when their scenario says.
    pub fn with_simulation(mut self, sim: Simulation, coordinator: usize) -> Self {
        self.network_up = false;
        self.formed = false;
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
        let version = self.version;
        let Some(air) = self.air.as_mut() else {
            return Vec::new();
        };
        let events = air.take_events();
        if events.contains(&HostEvent::NetworkUp) {
            self.network_up = true;
        }
        events
            .iter()
            .map(|event| {
                let (id, body) = callback(version, event);
                Self::callback_frame(0, id, &body)
            })
            .collect()
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
    /// transient keys, the open join window, queued callbacks — while the network it formed
    /// stays in its tokens, down until the host calls networkInit.
    fn reboot(&mut self) {
        self.config.clear();
        self.values.clear();
        self.to_host.clear();
        self.network_up = false;
        if let Some(c) = self.air.as_mut().and_then(Air::coordinator) {
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

    fn status(&self, ok: bool, ember_error: u8, sl_error: u32) -> Vec<u8> {
        if self.version >= 14 {
            (if ok { 0u32 } else { sl_error }).to_le_bytes().to_vec()
        } else {
            vec![if ok { 0 } else { ember_error }]
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
        let reply = |id: u16, control: u8, body: &[u8]| {
            let mut out = vec![0u8; 5];
            let h = Header {
                sequence: header.sequence,
                control,
                control_hi: hanrig_radio::ezsp::FC_HI_V8,
                frame_id: id,
            };
            let len = h.emit(format, &mut out).unwrap_or(0);
            out.truncate(len);
            out.extend_from_slice(body);
            out
        };
        let response = |body: &[u8]| reply(header.frame_id, hanrig_radio::ezsp::FC_RESPONSE, body);
        let mut callbacks = Vec::new();
        let body: Vec<u8> = match header.frame_id {
            frame_id::VERSION => {
                // protocolVersion, stackType 2 (mesh), stackVersion 7.4.5.0 (v13) / 8.0.0.0 (v14)
                let stack: u16 = if self.version >= 14 { 0x8000 } else { 0x7450 };
                let mut b = vec![self.version, 2];
                b.extend_from_slice(&stack.to_le_bytes());
                b
            }
            frame_id::NOP => Vec::new(),
            frame_id::ECHO => {
                // LV data, echoed as LV.
                let len = usize::from(params.first().copied().unwrap_or(0));
                let data = params.get(1..1 + len).unwrap_or_default();
                let mut b = vec![data.len() as u8];
                b.extend_from_slice(data);
                b
            }
            frame_id::GET_CONFIGURATION_VALUE => {
                let id = params.first().copied().unwrap_or(0);
                let mut b = self.status(true, 0, 0);
                b.extend_from_slice(&self.config.get(&id).copied().unwrap_or(0).to_le_bytes());
                b
            }
            frame_id::SET_CONFIGURATION_VALUE => {
                if let [id, lo, hi, ..] = params {
                    let value = u16::from_le_bytes([*lo, *hi]);
                    self.config.insert(*id, value);
                    if *id == CONFIG_MAX_END_DEVICE_CHILDREN
                        && let Some(c) = self.air.as_mut().and_then(Air::coordinator)
                    {
                        c.max_children = Some(usize::from(value));
                    }
                }
                self.status(true, 0, 0)
            }
            frame_id::GET_VALUE => {
                let id = params.first().copied().unwrap_or(0);
                let value = if id == VALUE_VERSION_INFO {
                    // build, major, minor, patch, special, type (GA)
                    let (major, minor, patch) = if self.version >= 14 {
                        (8, 0, 0)
                    } else {
                        (7, 4, 5)
                    };
                    Some(vec![0x00, 0x00, major, minor, patch, 0, 0xAA])
                } else {
                    self.values.get(&id).cloned()
                };
                match value {
                    Some(v) => {
                        let mut b = self.status(true, 0, 0);
                        b.push(v.len() as u8);
                        b.extend(v);
                        b
                    }
                    None => {
                        let mut b = self.status(false, EZSP_ERROR_INVALID_VALUE, SL_NOT_SUPPORTED);
                        b.push(0);
                        b
                    }
                }
            }
            frame_id::SET_VALUE => {
                if let [id, len, rest @ ..] = params {
                    let n = usize::from(*len).min(rest.len());
                    self.values.insert(*id, rest[..n].to_vec());
                }
                self.status(true, 0, 0)
            }
            frame_id::SET_POLICY | frame_id::ADD_ENDPOINT => self.status(true, 0, 0),
            frame_id::CUSTOM_FRAME => match self.clock(params) {
                Some((reply, more)) => {
                    callbacks = more;
                    let mut b = self.status(true, 0, 0);
                    b.push(reply.len() as u8);
                    b.extend(reply);
                    b
                }
                None => {
                    // No XNCP extensions: refuse, as stock firmware does.
                    let mut b = self.status(false, EMBER_INVALID_CALL, SL_NOT_SUPPORTED);
                    b.push(0);
                    b
                }
            },
            frame_id::SET_INITIAL_SECURITY_STATE => {
                let ok = self.set_initial_security_state(params);
                self.status(ok, EMBER_INVALID_CALL, SL_INVALID_PARAMETER)
            }
            frame_id::LEAVE_NETWORK => {
                // The network goes down: stackStatusHandler(NETWORK_DOWN), nothing kept.
                let ok = self.network_up;
                if ok {
                    self.network_up = false;
                    self.formed = false;
                    let down = if self.version >= 14 {
                        0x16u32.to_le_bytes().to_vec()
                    } else {
                        vec![0x91]
                    };
                    callbacks.push(Self::callback_frame(
                        header.sequence,
                        frame_id::STACK_STATUS_HANDLER,
                        &down,
                    ));
                }
                self.status(ok, EMBER_INVALID_CALL, SL_NOT_JOINED)
            }
            frame_id::JOIN_NETWORK => {
                let ok = self.join_network(params);
                self.status(ok, EMBER_INVALID_CALL, SL_INVALID_PARAMETER)
            }
            frame_id::FORM_NETWORK => match self.form_network(header.sequence, params) {
                Some(up) => {
                    callbacks.push(up);
                    self.status(true, 0, 0)
                }
                None => self.status(false, EMBER_INVALID_CALL, SL_INVALID_PARAMETER),
            },
            frame_id::NETWORK_INIT => {
                if !self.formed {
                    // Nothing stored yet: the host must form a network.
                    self.status(false, EMBER_NOT_JOINED, SL_NOT_JOINED)
                } else {
                    self.network_up = true;
                    callbacks.push(self.network_up_callback(header.sequence));
                    self.status(true, 0, 0)
                }
            }
            frame_id::PERMIT_JOINING => {
                let seconds = params.first().copied().unwrap_or(0);
                let ok = self.air.as_mut().is_some_and(|a| a.permit_joining(seconds));
                self.status(ok, EMBER_INVALID_CALL, SL_NOT_SUPPORTED)
            }
            frame_id::IMPORT_TRANSIENT_KEY => {
                let ok = match (params.get(..8), params.get(8..24)) {
                    (Some(eui), Some(key)) => {
                        let eui = Eui64(u64::from_le_bytes(eui.try_into().unwrap_or_default()));
                        let key: Key = key.try_into().unwrap_or_default();
                        self.air
                            .as_mut()
                            .is_some_and(|a| a.add_transient_key(eui, key))
                    }
                    _ => false,
                };
                // sl_status in both v13 and v14.
                (if ok { 0 } else { SL_INVALID_PARAMETER })
                    .to_le_bytes()
                    .to_vec()
            }
            frame_id::SEND_UNICAST => match self.send_unicast(params) {
                Some(aps_sequence) => {
                    callbacks.push(Self::callback_frame(
                        header.sequence,
                        frame_id::MESSAGE_SENT_HANDLER,
                        &self.message_sent(params),
                    ));
                    let mut b = self.status(true, 0, 0);
                    b.push(aps_sequence);
                    b
                }
                None => {
                    let mut b = self.status(false, EMBER_INVALID_DESTINATION, SL_INVALID_PARAMETER);
                    b.push(0);
                    b
                }
            },
            frame_id::NETWORK_STATE => vec![if self.network_up { 2 } else { 0 }],
            frame_id::GET_EUI64 => self.eui.to_le_bytes().to_vec(),
            frame_id::GET_NODE_ID => 0x0000u16.to_le_bytes().to_vec(),
            frame_id::GET_NETWORK_PARAMETERS => {
                let mut b = self.status(true, 0, 0);
                b.push(1); // coordinator
                b.extend_from_slice(&self.network.extended_pan_id.to_le_bytes());
                b.extend_from_slice(&self.network.pan_id.to_le_bytes());
                b.push(self.network.tx_power as u8);
                b.push(self.network.channel);
                b.push(0); // join method: MAC association
                b.extend_from_slice(&0u16.to_le_bytes()); // network manager
                b.push(0); // update id
                b.extend_from_slice(&(1u32 << self.network.channel).to_le_bytes());
                b
            }
            frame_id::GET_CURRENT_SECURITY_STATE => {
                let mut b = self.status(true, 0, 0);
                // HAVE_PRECONFIGURED_KEY | HAVE_NETWORK_KEY | TRUST_CENTER_USES_HASHED_LINK_KEY-free
                b.extend_from_slice(&0x0340u16.to_le_bytes());
                b.extend_from_slice(&self.eui.to_le_bytes());
                b
            }
            frame_id::GET_MFG_TOKEN => {
                let token: &[u8] = match params.first() {
                    Some(1) => b"hanrig",
                    Some(2) => b"hanrig-sim-ncp",
                    _ => &[0xFF; 8],
                };
                let mut b = vec![token.len() as u8];
                b.extend_from_slice(token);
                b
            }
            _ => {
                // Unknown frame ID: invalidCommand, as EmberZNet answers.
                let status = if self.version >= 14 {
                    SL_NOT_SUPPORTED.to_le_bytes().to_vec()
                } else {
                    vec![EZSP_ERROR_INVALID_FRAME_ID]
                };
                return vec![reply(
                    frame_id::INVALID_COMMAND,
                    hanrig_radio::ezsp::FC_RESPONSE,
                    &status,
                )];
            }
        };
        let mut out = vec![response(&body)];
        out.extend(callbacks);
        out
    }
}

impl EzspNcp {
    /// A callback frame; `sequence` is that of the command it follows (0 when asynchronous).
    fn callback_frame(sequence: u8, id: u16, body: &[u8]) -> Vec<u8> {
        let mut frame = vec![0u8; 5];
        let header = Header {
            sequence,
            control: hanrig_radio::ezsp::FC_ASYNC_CALLBACK,
            control_hi: hanrig_radio::ezsp::FC_HI_V8,
            frame_id: id,
        };
        let len = header.emit(Format::Extended, &mut frame).unwrap_or(0);
        frame.truncate(len);
        frame.extend_from_slice(body);
        frame
    }

    /// stackStatusHandler(NETWORK_UP), following command `sequence`.
    fn network_up_callback(&self, sequence: u8) -> Vec<u8> {
        let up = if self.version >= 14 {
            0x15u32.to_le_bytes().to_vec()
        } else {
            vec![0x90]
        };
        Self::callback_frame(sequence, frame_id::STACK_STATUS_HANDLER, &up)
    }

    /// The [`clock`] extension: the reply and the callbacks that follow it, or `None` for
    /// anything else (and for every request when time follows the wall clock).
    fn clock(&mut self, params: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
        let len = usize::from(*params.first()?);
        let payload = params.get(1..1 + len)?;
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

    /// joinNetwork (node type, EmberNetworkParameters): the co-processor's radio joins the
    /// network on that PAN and channel as a device, with the preconfigured key of the security
    /// state set before (its install-code link key); stackStatusHandler follows when it has the
    /// network key, or when it is refused. `false` without a preconfigured key or a medium.
    fn join_network(&mut self, p: &[u8]) -> bool {
        let Some(link_key) = self.security.and_then(|s| s.preconfigured_key) else {
            return false;
        };
        let (Some(params), Some(air)) = (p.get(1..21), self.air.as_mut()) else {
            return false;
        };
        let pan = u16::from_le_bytes([params[8], params[9]]);
        let channel = params[11];
        if !(11..=26).contains(&channel) {
            return false;
        }
        let (joiner, request) = Coordinator::joiner("ncp", self.eui, (pan, channel), link_key);
        let index = air.coordinator;
        air.sim
            .replace_node(index, Node::Coordinator(Box::new(joiner)));
        air.sim.send_from(index, vec![request]);
        self.network.pan_id = pan;
        self.network.channel = channel;
        self.network.extended_pan_id =
            u64::from_le_bytes(params[0..8].try_into().unwrap_or_default());
        self.network_up = false;
        true
    }

    /// setInitialSecurityState: the network key a formed network uses and, with
    /// TC_GLOBAL_LINK_KEY, the global link key for devices the host loads no key for.
    fn set_initial_security_state(&mut self, p: &[u8]) -> bool {
        let (Some(bitmask), Some(preconfigured), Some(network)) =
            (p.get(0..2), p.get(2..18), p.get(18..34))
        else {
            return false;
        };
        let bitmask = u16::from_le_bytes([bitmask[0], bitmask[1]]);
        let key = |k: &[u8]| -> Key { k.try_into().unwrap_or_default() };
        self.security = Some(Security {
            preconfigured_key: (bitmask & HAVE_PRECONFIGURED_KEY != 0).then(|| key(preconfigured)),
            network_key: (bitmask & HAVE_NETWORK_KEY != 0).then(|| key(network)),
            global_link_key: (bitmask & (TC_GLOBAL_LINK_KEY | HAVE_PRECONFIGURED_KEY)
                == TC_GLOBAL_LINK_KEY | HAVE_PRECONFIGURED_KEY)
                .then(|| key(preconfigured)),
        });
        true
    }

    /// formNetwork (EmberNetworkParameters): the coordinator starts the network on the PAN
    /// and channel given, under the security state set before; returns stackStatusHandler's
    /// NETWORK_UP. `None` without a security state or on a bad channel.
    fn form_network(&mut self, sequence: u8, p: &[u8]) -> Option<Vec<u8>> {
        let security = self.security?;
        let params = p.get(..20)?;
        let network = Network {
            extended_pan_id: u64::from_le_bytes(params[0..8].try_into().ok()?),
            pan_id: u16::from_le_bytes([params[8], params[9]]),
            tx_power: params[10] as i8,
            channel: params[11],
        };
        if !(11..=26).contains(&network.channel) {
            return None;
        }
        let max_children = self
            .config
            .get(&CONFIG_MAX_END_DEVICE_CHILDREN)
            .map(|&v| usize::from(v));
        let eui = self.eui;
        let air = self.air.as_mut()?;
        let name = match &air.sim.nodes[air.coordinator] {
            Node::Coordinator(c) => c.name.clone(),
            _ => "ncp".into(),
        };
        let network_key = security.network_key.unwrap_or_else(|| {
            // No key given: one drawn from the EUI64 and PAN (a real stack draws a random one).
            let mut k = [0u8; 16];
            k[..8].copy_from_slice(&eui.to_le_bytes());
            k[8..10].copy_from_slice(&network.pan_id.to_le_bytes());
            k
        });
        let mut coordinator =
            Coordinator::new(&name, eui, network.pan_id, network.channel, network_key);
        coordinator.max_children = max_children;
        coordinator.global_link_key = security.global_link_key;
        air.sim
            .replace_node(air.coordinator, Node::Coordinator(Box::new(coordinator)));
        self.network = network;
        self.network_up = true;
        self.formed = true;
        Some(self.network_up_callback(sequence))
    }
    /// messageSentHandler for a sendUnicast the coordinator put on the air (there are no MAC
    /// acknowledgements on the simulated medium, so a frame sent to a member is delivered):
    /// v13 `type, destination, APS frame, tag u8, status, LV message`; v14 `status u32, type,
    /// destination, APS frame, tag u16, LV message`.
    fn message_sent(&self, p: &[u8]) -> Vec<u8> {
        let tag_len = if self.version >= 14 { 2 } else { 1 };
        let head = p.get(..3 + 11 + tag_len).unwrap_or_default();
        let message = p.get(3 + 11 + tag_len..).unwrap_or_default();
        let mut b = Vec::new();
        if self.version >= 14 {
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(head);
        } else {
            b.extend_from_slice(head);
            b.push(0);
        }
        b.extend_from_slice(message);
        b
    }

    /// sendUnicast (direct): type, destination, EmberApsFrame, tag (u8; u16 in v14), LV
    /// message. Returns the APS sequence used.
    fn send_unicast(&mut self, p: &[u8]) -> Option<u8> {
        let tag_len = if self.version >= 14 { 2 } else { 1 };
        let aps = p.get(3..3 + 11)?;
        let msg_at = 3 + 11 + tag_len;
        let len = usize::from(*p.get(msg_at)?);
        let message = p.get(msg_at + 1..msg_at + 1 + len)?;
        let destination = u16::from_le_bytes([p[1], p[2]]);
        let (profile, cluster) = (
            u16::from_le_bytes([aps[0], aps[1]]),
            u16::from_le_bytes([aps[2], aps[3]]),
        );
        let options = u16::from_le_bytes([aps[6], aps[7]]);
        self.air.as_mut()?.send_unicast(
            destination,
            profile,
            cluster,
            aps[4],
            aps[5],
            options & APS_OPTION_ENCRYPTION != 0,
            message,
        )
    }
}

/// The callback frame ID and parameters for what the coordinator heard.
fn callback(version: u8, event: &HostEvent) -> (u16, Vec<u8>) {
    let mut b = Vec::new();
    match event {
        // stackStatusHandler: NETWORK_UP (v13 0x90, v14 sl_status 0x0015) or, for a refused
        // join, JOIN_FAILED (v13 0x94; v14 SL_STATUS_NETWORK_DOWN 0x0016).
        HostEvent::NetworkUp | HostEvent::JoinFailed(_) => {
            let up = matches!(event, HostEvent::NetworkUp);
            if version >= 14 {
                b.extend_from_slice(&(if up { 0x15u32 } else { 0x16 }).to_le_bytes());
            } else {
                b.push(if up { 0x90 } else { 0x94 });
            }
            (frame_id::STACK_STATUS_HANDLER, b)
        }
        HostEvent::Joined { eui, short } => {
            b.extend_from_slice(&short.to_le_bytes());
            b.extend_from_slice(&eui.to_le_bytes());
            // EmberDeviceUpdate STANDARD_SECURITY_UNSECURED_JOIN; EmberJoinDecision
            // USE_PRECONFIGURED_KEY; parent: the coordinator.
            b.extend_from_slice(&[0x01, 0x00, 0x00, 0x00]);
            (frame_id::TRUST_CENTER_JOIN_HANDLER, b)
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
            b.push(0x00); // INCOMING_UNICAST
            b.extend_from_slice(&profile.to_le_bytes());
            b.extend_from_slice(&cluster.to_le_bytes());
            b.extend_from_slice(&[*source_endpoint, *destination_endpoint]);
            let options = if *aps_secured {
                APS_OPTION_ENCRYPTION
            } else {
                0
            };
            b.extend_from_slice(&options.to_le_bytes());
            b.extend_from_slice(&0u16.to_le_bytes()); // group
            b.push(*counter);
            let (lqi, rssi) = (0xFFu8, -40i8);
            if version >= 14 {
                b.extend_from_slice(&source.to_le_bytes());
                b.extend_from_slice(&source_eui.to_le_bytes());
                b.extend_from_slice(&[0xFF, 0xFF, lqi, rssi as u8]);
                b.extend_from_slice(&0u32.to_le_bytes()); // timestamp
            } else {
                b.extend_from_slice(&[lqi, rssi as u8]);
                b.extend_from_slice(&source.to_le_bytes());
                b.extend_from_slice(&[0xFF, 0xFF]);
            }
            b.push(payload.len() as u8);
            b.extend_from_slice(payload);
            (frame_id::INCOMING_MESSAGE_HANDLER, b)
        }
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
