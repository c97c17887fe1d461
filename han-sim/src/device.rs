//! Simulated in-home devices: they join by install code and run the device logic of
//! `hanrig-device` — the same code a real device runs — against the simulated ESI.

use hanrig_device::drlc::{DrlcClient, DrlcConfig, LoadAction, Output as DrlcOutput};
use hanrig_device::load::Relay;
use hanrig_device::messaging::{MessagingClient, MessagingOutput};
use hanrig_device::metering::{MeteringDisplay, MeteringOutput};
use hanrig_device::price::{PriceClient, PriceOutput};
use hanrig_sep::aps::{
    ApsCommand, ApsHeader, FrameType as ApsFrameType, PROFILE_SMART_ENERGY, PROFILE_ZDP,
};
use hanrig_sep::clusters::drlc::EventStatus;
use hanrig_sep::clusters::metering::{Formatting, Quantity, Reading};
use hanrig_sep::clusters::{basic, drlc, key_establishment, messaging, metering, price, time};
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::mac::{self, Address};
use hanrig_sep::wire::Records;
use hanrig_sep::zcl::general::{
    AttrValue, DataType, DefaultResponse, ReadAttributeStatus, ReadAttributes,
    ReadAttributesResponse, Status, WriteAttributesResponse,
};
use hanrig_sep::zdo::{NodeDescriptor, SimpleDescriptor, ZdoNode, logical_type};
use hanrig_sep::{Command, Eui64, UtcTime, ZclFrame};
use serde_json::json;

use hanrig_cbke::exchange::{Failure, Flaw, Identity, Initiator, Outcome, Step};
use hanrig_device::Rng;

use crate::clock::SimTime;
use crate::esi::Clusters;
use crate::household::{Circuit, Control, NORMAL_COOLING, NORMAL_HEATING};
use crate::log::Log;
use crate::stack::{Drop, Stack};

/// The kinds of device the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// In-home display: Price, Messaging and Metering clients.
    InHomeDisplay,
    /// Programmable communicating thermostat: DRLC and Price clients, set points.
    Thermostat,
    /// Load-control device: DRLC client and a relay.
    LoadControl,
}

impl DeviceKind {
    /// By name: `in-home-display`, `thermostat` or `load-control`.
    pub fn from_name(name: &str) -> Option<DeviceKind> {
        Some(match name {
            "in-home-display" => DeviceKind::InHomeDisplay,
            "thermostat" => DeviceKind::Thermostat,
            "load-control" => DeviceKind::LoadControl,
            _ => return None,
        })
    }

    /// The Smart Energy device ID of this kind (SE 1.x device table: In-Premise Display
    /// 0x0502, Programmable Communicating Thermostat 0x0503, Load Control Device 0x0504).
    pub fn device_id(self) -> u16 {
        match self {
            DeviceKind::InHomeDisplay => 0x0502,
            DeviceKind::Thermostat => 0x0503,
            DeviceKind::LoadControl => 0x0504,
        }
    }

    /// The endpoint this kind answers on (1) as its ZDO server describes it: the SE profile,
    /// its device ID, Basic as a server, and Time and its SE clusters as a client.
    pub fn simple_descriptor(self) -> SimpleDescriptor {
        let c = self.clusters();
        let mut descriptor = SimpleDescriptor {
            endpoint: 1,
            profile: PROFILE_SMART_ENERGY,
            device_id: self.device_id(),
            device_version: 0,
            input: Default::default(),
            output: Default::default(),
        };
        let _ = descriptor.input.push(basic::CLUSTER_ID);
        for (cluster, has) in [
            (time::CLUSTER_ID, true),
            (price::CLUSTER_ID, c.price),
            (drlc::CLUSTER_ID, c.drlc),
            (metering::CLUSTER_ID, self == DeviceKind::InHomeDisplay),
            (messaging::CLUSTER_ID, c.messaging),
        ] {
            if has {
                let _ = descriptor.output.push(cluster);
            }
        }
        descriptor
    }

    /// The client clusters this kind implements.
    pub fn clusters(self) -> Clusters {
        match self {
            DeviceKind::InHomeDisplay => Clusters {
                price: true,
                drlc: false,
                messaging: true,
            },
            DeviceKind::Thermostat => Clusters {
                price: true,
                drlc: true,
                messaging: false,
            },
            DeviceKind::LoadControl => Clusters {
                price: false,
                drlc: true,
                messaging: false,
            },
        }
    }
}

pub use hanrig_scenario::mutant::Mutant;

/// The Key Establishment flaw a device mutant plays.
fn cbke_flaw(mutant: Mutant) -> Option<Flaw> {
    Some(match mutant {
        Mutant::DeviceCbkeAcceptsAnyIssuer => Flaw::AcceptsAnyIssuer,
        Mutant::DeviceCbkeSkipsConfirmCheck => Flaw::SkipsConfirmCheck,
        Mutant::DeviceCbkeWrongKdfCounter => Flaw::WrongKdfCounter,
        Mutant::DeviceCbkeNoTimeout => Flaw::NoTimeout,
        _ => return None,
    })
}

pub use hanrig_sep::install_code::ZIGBEE_ALLIANCE_09;

/// Where a device is in joining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinState {
    /// Not started.
    Idle,
    /// Association Request sent.
    Associating,
    /// Associated; waiting for the network key.
    AwaitingKey,
    /// Holds the network key.
    Joined,
    /// The ESI refused the association with this status.
    Refused(u8),
}

/// A pin in the simulation: remembers its level.
#[derive(Debug, Default)]
pub struct SimPin {
    /// Whether the pin is high (load on).
    pub high: bool,
}

impl embedded_hal::digital::ErrorType for SimPin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for SimPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.high = false;
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.high = true;
        Ok(())
    }
}

pub use hanrig_scenario::panel::Panel;

/// A price as a display shows it: the price with its trailing digits, and its tier.
pub fn price_text(price: u32, trailing_digit_and_tier: u8) -> String {
    let digits = u32::from(trailing_digit_and_tier >> 4);
    let tier = trailing_digit_and_tier & 0x0F;
    let scale = 10u64.pow(digits);
    let whole = u64::from(price) / scale;
    if digits == 0 {
        format!("{whole} tier {tier}")
    } else {
        let frac = u64::from(price) % scale;
        format!(
            "{whole}.{frac:0width$} tier {tier}",
            width = digits as usize
        )
    }
}

/// A simulated device.
#[derive(Debug)]
pub struct SimDevice {
    /// Name in the scenario.
    pub name: String,
    /// Kind.
    pub kind: DeviceKind,
    /// Radio channel.
    pub channel: u8,
    /// Join progress.
    pub state: JoinState,
    stack: Stack,
    link_key: Key,
    network_key: Option<Key>,
    // Boxed: a device holds only the clients of its kind.
    drlc: Option<Box<DrlcClient>>,
    messaging: Option<Box<MessagingClient>>,
    price: Option<Box<PriceClient>>,
    metering: Option<Box<MeteringDisplay>>,
    relay: Option<Relay<SimPin>>,
    /// Thermostat set points (cooling, heating), 0.01 °C.
    pub set_points: (i16, i16),
    mutant: Option<Mutant>,
    /// The message text on the display.
    screen: Option<String>,
    /// Whether the outputs being drained come from the device's own timers (a message expiring)
    /// rather than from a command.
    expiring: bool,
    /// Whether the outputs being drained follow the user's opt-out.
    opting_out: bool,
    /// For [`Mutant::AcceptsReservedCriticality`]: events taken at a reserved level, with it.
    reserved_levels: Vec<(u32, u8)>,
    /// Seconds the ESI's clock is ahead of the device's own: set from the Time cluster, as every
    /// SE device takes its time from the meter's ESI.
    clock_offset_s: i64,
    /// Key Establishment with the trust centre, for a device with a certificate.
    cbke: Option<Box<DeviceCbke>>,
    /// The home's loads it switches, when its meter measures them ([`SimDevice::wire`]).
    circuit: Option<Circuit>,
}

/// A device's side of Key Establishment.
#[derive(Debug)]
struct DeviceCbke {
    initiator: Initiator,
    rng: Rng,
    kind: crate::cbke::DeviceCbke,
    /// The trust centre, learnt from the Transport Key's sender.
    trust_centre: Option<Eui64>,
    /// Attempts made since joining.
    attempts: u8,
    /// When to try again after a failure.
    retry_at: Option<SimTime>,
    /// Whether the link key is the derived one.
    established: bool,
}

/// Attempts a device makes before it gives up on Key Establishment until it next joins.
const CBKE_ATTEMPTS: u8 = 3;
/// Seconds a device waits before trying again after a timeout (a Terminate names its own wait).
const CBKE_RETRY_S: u64 = 10;

impl SimDevice {
    /// A device of `kind` with its install code, on the ESI's `(PAN, channel)`.
    pub fn new(
        name: &str,
        kind: DeviceKind,
        eui: Eui64,
        code: &InstallCode,
        (pan, channel): (u16, u8),
        drlc_config: DrlcConfig,
        seed: u64,
    ) -> Self {
        let clusters = kind.clusters();
        SimDevice {
            name: name.to_string(),
            kind,
            channel,
            state: JoinState::Idle,
            stack: Stack::new(eui, pan),
            link_key: code.link_key(),
            network_key: None,
            drlc: clusters
                .drlc
                .then(|| Box::new(DrlcClient::new(drlc_config, seed ^ eui.0))),
            messaging: clusters.messaging.then(|| Box::new(MessagingClient::new())),
            price: clusters.price.then(|| Box::new(PriceClient::new())),
            metering: (kind == DeviceKind::InHomeDisplay).then(|| Box::new(MeteringDisplay::new())),
            relay: (kind == DeviceKind::LoadControl)
                .then(|| Relay::new(SimPin::default()).ok())
                .flatten(),
            set_points: (NORMAL_COOLING, NORMAL_HEATING),
            mutant: None,
            screen: None,
            expiring: false,
            opting_out: false,
            reserved_levels: Vec::new(),
            clock_offset_s: 0,
            cbke: None,
            circuit: None,
        }
    }

    /// Wires the device to its home's loads (a thermostat to the HVAC, a load-control device's
    /// relay to the water heater), which the meter on the same `circuit` measures.
    pub fn wire(&mut self, circuit: Circuit) {
        self.circuit = Some(circuit);
    }

    /// Tells the circuit how the device leaves the home's loads from `now` on.
    fn switch(&self, now: SimTime, action: Option<&LoadAction>) {
        let Some(circuit) = &self.circuit else {
            return;
        };
        let mut control = Control {
            water_heater_on: self.load_on().unwrap_or(true),
            ..Control::NORMAL
        };
        if self.kind == DeviceKind::Thermostat {
            (control.cooling_set_point, control.heating_set_point) = self.set_points;
            if let Some(a) = action {
                control.duty_cycle = (a.duty_cycle != 0xFF).then_some(a.duty_cycle);
                control.load_adjustment = (a.average_load_adjustment_percentage != i8::MIN)
                    .then_some(a.average_load_adjustment_percentage);
            }
        }
        circuit.switch(now, control);
    }

    /// Give the device a CBKE identity: after joining it runs Key Establishment with the trust
    /// centre, and asks for prices, messages and readings only once that succeeds. `kind`
    /// says whether it behaves (a bad certificate is in `identity` already; `BrokenConfirm`
    /// corrupts the MACU it sends).
    pub fn with_cbke(&mut self, identity: Identity, kind: crate::cbke::DeviceCbke, seed: u64) {
        let mut initiator = Initiator::new(identity, crate::cbke::config());
        initiator.set_flaw(self.mutant.and_then(cbke_flaw));
        self.cbke = Some(Box::new(DeviceCbke {
            initiator,
            rng: Rng::new(seed ^ self.stack.eui.0 ^ 0xCB4E),
            kind,
            trust_centre: None,
            attempts: 0,
            retry_at: None,
            established: false,
        }));
    }

    /// The link key Key Establishment gave the device, if it has one (for the capture's key
    /// file: the rig's devices know theirs as the rig's ESI knows its own).
    pub fn cbke_key(&self) -> Option<Key> {
        self.cbke
            .as_ref()
            .filter(|c| c.established)
            .map(|_| self.link_key)
    }

    /// Starts (again) Key Establishment with the trust centre.
    fn start_cbke(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        let Some(c) = self.cbke.as_mut() else {
            return Vec::new();
        };
        let Some(tc) = c.trust_centre else {
            return Vec::new();
        };
        c.attempts += 1;
        c.retry_at = None;
        let step = c.initiator.start(tc, crate::cbke::ms(now));
        log.push(
            now,
            &self.name,
            "cbke_started",
            json!({"attempt": c.attempts}),
        );
        self.cbke_step(now, step, log)
    }

    /// Sends what an exchange step says and acts on its outcome.
    fn cbke_step(&mut self, now: SimTime, step: Step, log: &mut Log) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let (Some((_, mut command)), Some(network_key)) = (step.send, self.network_key) {
            if let Some(cb) = &self.cbke {
                crate::cbke::break_request(cb.kind, &mut command);
            }
            out.extend(self.stack.command(
                0x0000,
                &network_key,
                &self.link_key,
                key_establishment::CLUSTER_ID,
                command,
            ));
        }
        match step.outcome {
            Some(Outcome::Established {
                link_key: Some(link_key),
                ..
            }) => {
                self.link_key = link_key;
                if let Some(c) = self.cbke.as_mut() {
                    c.established = true;
                }
                log.push(now, &self.name, "cbke_established", json!({}));
                out.extend(self.start_se(now, log));
            }
            Some(Outcome::Failed { failure, .. }) => {
                let wait_s = match failure {
                    Failure::Terminated { .. }
                        if self.mutant == Some(Mutant::CbkeIgnoresWaitTime) =>
                    {
                        CBKE_RETRY_S
                    }
                    Failure::Terminated { wait_time, .. } => u64::from(wait_time),
                    Failure::Refused(_) | Failure::Timeout(_) => CBKE_RETRY_S,
                };
                let mut retry = None;
                if let Some(c) = self.cbke.as_mut()
                    && c.attempts < CBKE_ATTEMPTS
                {
                    let at = now.plus(wait_s.max(1) * SimTime::SECOND);
                    c.retry_at = Some(at);
                    retry = Some(at);
                }
                log.push(now, &self.name, "cbke_failed", json!({"reason": format!("{failure:?}"), "retry_at_s": retry.map(|t| t.0 / SimTime::SECOND)}));
            }
            // Software ECC always hands out the key.
            Some(Outcome::Established { link_key: None, .. }) | None => {}
        }
        out
    }

    /// The device's clock at `now`: the medium's time moved by what the ESI's Time cluster said.
    fn clock(&self, now: SimTime) -> UtcTime {
        now.shifted_s(self.clock_offset_s).utc()
    }

    /// Turns the device into a mutant.
    pub fn set_mutant(&mut self, mutant: Mutant) {
        self.mutant = Some(mutant);
        if let Some(c) = self.cbke.as_mut() {
            c.initiator.set_flaw(cbke_flaw(mutant));
        }
        if let Some(drlc) = &mut self.drlc {
            let mut config = *drlc.config();
            match mutant {
                Mutant::RandomisationOutsideWindow => {
                    config.start_randomization_minutes =
                        config.start_randomization_minutes.saturating_mul(8).max(60);
                }
                Mutant::IgnoresDeviceClass => {
                    config.device_class = hanrig_sep::clusters::drlc::DeviceClass(0xFFFF)
                }
                Mutant::IgnoresStartRandomisation => config.start_randomization_minutes = 0,
                Mutant::IgnoresEndRandomisation => config.duration_randomization_minutes = 0,
                _ => {}
            }
            drlc.set_config(config);
        }
    }

    /// Sends a ZCL command to the meter (rig devices in meter tests).
    pub fn send_zcl(
        &mut self,
        now: SimTime,
        cluster: u16,
        command: Command,
        log: &mut Log,
    ) -> Vec<Vec<u8>> {
        log.push(
            now,
            &self.name,
            "zcl_sent",
            json!({"cluster": cluster, "command": command.name()}),
        );
        let (Some(network_key), JoinState::Joined) = (self.network_key, self.state) else {
            return Vec::new();
        };
        self.stack
            .command(0x0000, &network_key, &self.link_key, cluster, command)
            .into_iter()
            .collect()
    }

    /// Answers a ZDO request from `source` (the interview an application such as zigpy does):
    /// the device's node descriptor, its endpoint and that endpoint's simple descriptor.
    fn answer_zdo(
        &mut self,
        now: SimTime,
        source: u16,
        cluster: u16,
        request: &[u8],
        log: &mut Log,
    ) -> Vec<Vec<u8>> {
        let (Some(network_key), Some(nwk)) = (self.network_key, self.stack.short) else {
            return Vec::new();
        };
        let endpoints = [self.kind.simple_descriptor()];
        let node = ZdoNode {
            nwk,
            ieee: self.stack.eui,
            node: NodeDescriptor {
                logical_type: logical_type::END_DEVICE,
                // Allocate address, receiver on when idle: as it associated.
                mac_capabilities: 0x88,
                manufacturer_code: 0x0000,
                max_buffer_size: 82,
                max_incoming_transfer: 82,
                server_mask: 0x0000,
                max_outgoing_transfer: 82,
                descriptor_capabilities: 0,
            },
            endpoints: &endpoints,
        };
        let mut out = [0u8; 96];
        let Ok(Some((response, len))) = node.answer(cluster, request, &mut out) else {
            return Vec::new();
        };
        log.push(
            now,
            &self.name,
            "zdo_answered",
            json!({"request": cluster, "response": response, "to": source}),
        );
        let aps = ApsHeader::data(0, response, PROFILE_ZDP, 0, 0);
        self.stack
            .data_frame(source, Some(&network_key), aps, None, &out[..len])
            .into_iter()
            .collect()
    }

    /// The EUI64.
    pub fn eui(&self) -> Eui64 {
        self.stack.eui
    }

    /// The PAN ID it joins.
    pub fn pan(&self) -> u16 {
        self.stack.pan
    }

    /// Whether the relay's load is on (load-control devices).
    pub fn load_on(&self) -> Option<bool> {
        self.relay.as_ref().map(|r| r.shedding_for().is_none())
    }

    /// What the device shows the world at `now` (see [`Panel`]).
    pub fn panel(&self, now: SimTime) -> Panel {
        // What a defective display does to a correctly scaled reading.
        let shown = |m: &MeteringDisplay, r: Reading| -> String {
            let r = match self.mutant {
                // The raw summation shown with the divisor left out.
                Some(Mutant::WrongSummationFormatting) if r.quantity == Quantity::Summation => {
                    Reading {
                        scaled: r.scaled * 1000,
                        ..r
                    }
                }
                Some(Mutant::IgnoresMultiplier) => Reading {
                    scaled: r.scaled / i128::from(m.multiplier().unwrap_or(1).max(1)),
                    ..r
                },
                Some(Mutant::DropsDemandSign) if r.quantity == Quantity::Demand => Reading {
                    scaled: r.scaled.abs(),
                    ..r
                },
                Some(Mutant::IgnoresZeroSuppression) => Reading {
                    formatting: Formatting(r.formatting.0 & 0x7F),
                    ..r
                },
                _ => r,
            };
            r.to_string()
        };
        let summation = self
            .metering
            .as_deref()
            .and_then(|m| m.summation().map(|r| shown(m, r)));
        let price = self.price.as_deref().and_then(|c| {
            let shown = if self.mutant == Some(Mutant::ScheduledPriceShownEarly) {
                c.prices()
                    .map(|(p, _, _)| p)
                    .max_by_key(|p| p.issuer_event_id)
            } else {
                c.current(self.clock(now))
            };
            shown.map(|p| {
                let mut digits_and_tier = p.price_trailing_digit_and_price_tier;
                if self.mutant == Some(Mutant::PriceIgnoresTrailingDigits) {
                    digits_and_tier = 0x20 | (digits_and_tier & 0x0F);
                }
                price_text(p.price, digits_and_tier)
            })
        });
        Panel {
            load_energised: self.load_on(),
            message: self.screen.clone(),
            price,
            summation,
            demand: self
                .metering
                .as_deref()
                .and_then(|m| m.demand().map(|r| shown(m, r))),
            set_points: (self.kind == DeviceKind::Thermostat).then_some(self.set_points),
        }
    }

    /// The metering display, for in-home displays.
    pub fn metering(&self) -> Option<&MeteringDisplay> {
        self.metering.as_deref()
    }

    /// Tunes the radio to a network found by an active scan (a device not yet joined looks
    /// on every channel for a PAN that permits joining).
    pub fn tune(&mut self, (pan, channel): (u16, u8)) {
        if self.state != JoinState::Joined {
            self.stack.pan = pan;
            self.channel = channel;
        }
    }

    /// Starts joining: an Association Request to the ESI (short address 0x0000).
    pub fn start_join(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        self.state = JoinState::Associating;
        log.push(now, &self.name, "association_request", json!({}));
        // Capability: allocate address (0x80); receiver on when idle (0x08).
        let pan = self.stack.pan;
        vec![self.stack.mac_command(
            Address::Short(0x0000),
            pan,
            Some(crate::stack::BROADCAST_PAN),
            &[mac::command::ASSOCIATION_REQUEST, 0x88],
        )]
    }

    /// Handles a frame heard on the channel; returns frames to send.
    pub fn receive(&mut self, now: SimTime, bytes: &[u8], log: &mut Log) -> Vec<Vec<u8>> {
        let network_keys: Vec<Key> = self.network_key.into_iter().collect();
        let mut link_keys = vec![self.link_key];
        if self.mutant == Some(Mutant::AcceptsWrongInstallCode) {
            link_keys.push(ZIGBEE_ALLIANCE_09);
        }
        let rx = match self.stack.receive(bytes, &network_keys, &link_keys) {
            Ok(rx) => rx,
            Err(Drop::Undecryptable(layer)) if self.state == JoinState::AwaitingKey => {
                log.push(now, &self.name, "transport_key_rejected", json!({"layer": layer, "reason": "MIC mismatch: the trust centre secured the key under another install code"}));
                // The device gives up on this join and tries again when joining is next
                // permitted (as a real one does once its key wait runs out).
                self.state = JoinState::Idle;
                self.stack.short = None;
                return Vec::new();
            }
            Err(_) => return Vec::new(),
        };
        if rx.opened.mac.frame_type == mac::FrameType::Command {
            // Only the response to our own pending request counts: a duplicated or replayed
            // Association Response must not knock a joined device back.
            if let (&[mac::command::ASSOCIATION_RESPONSE, lo, hi, status], JoinState::Associating) =
                (&rx.payload[..], self.state)
            {
                if status == 0 {
                    self.stack.short = Some(u16::from_le_bytes([lo, hi]));
                    self.state = JoinState::AwaitingKey;
                    log.push(
                        now,
                        &self.name,
                        "associated",
                        json!({"short": self.stack.short}),
                    );
                } else {
                    self.state = JoinState::Refused(status);
                    log.push(
                        now,
                        &self.name,
                        "association_refused",
                        json!({"status": status}),
                    );
                }
            }
            return Vec::new();
        }
        if rx
            .opened
            .aps
            .as_ref()
            .is_some_and(|a| a.frame_type == ApsFrameType::Command)
        {
            if let Ok(ApsCommand::TransportNetworkKey { key, .. }) = ApsCommand::parse(&rx.payload)
                && self.state == JoinState::AwaitingKey
            {
                self.network_key = Some(key);
                self.state = JoinState::Joined;
                if let Some(c) = self.cbke.as_mut() {
                    c.trust_centre = rx.source_eui();
                    c.attempts = 0;
                    c.established = false;
                }
                log.push(
                    now,
                    &self.name,
                    "joined",
                    json!({"short": self.stack.short}),
                );
                return self.on_joined(now, log);
            }
            return Vec::new();
        }
        if let Some(aps) = rx.opened.aps.as_ref()
            && aps.profile == Some(PROFILE_ZDP)
            && aps.dst_endpoint == Some(0)
            && let (Some(nwk), Some(cluster)) = (rx.opened.nwk.as_ref(), aps.cluster)
        {
            return self.answer_zdo(now, nwk.src, cluster, &rx.payload, log);
        }
        let Some(zcl) = rx.zcl() else {
            return Vec::new();
        };
        log.push(
            now,
            &self.name,
            "zcl_received",
            json!({"frame": serde_json::to_value(&zcl).unwrap_or_default()}),
        );
        if zcl.cluster == key_establishment::CLUSTER_ID {
            let (Some(c), Some(from)) = (self.cbke.as_mut(), rx.source_eui()) else {
                return Vec::new();
            };
            if c.kind == crate::cbke::DeviceCbke::Stalls {
                return Vec::new();
            }
            let rng = &mut c.rng;
            let step = c.initiator.handle(
                from,
                &zcl.command,
                crate::cbke::ms(now),
                &mut |buf: &mut [u8]| crate::cbke::fill(rng, buf),
            );
            return self.cbke_step(now, step, log);
        }
        let t = self.clock(now);
        match &zcl.command {
            Command::PublishPrice(p) => {
                if let Some(c) = &mut self.price {
                    c.handle_publish(t, p);
                }
            }
            Command::DisplayMessage(m) => {
                if let Some(c) = &mut self.messaging {
                    c.handle_display(t, m);
                    if self.mutant == Some(Mutant::ScheduledMessageShownEarly) {
                        self.screen = Some(m.message.as_str().unwrap_or("").to_string());
                    }
                }
            }
            Command::CancelMessage(m) => {
                if let Some(c) = &mut self.messaging {
                    c.handle_cancel(t, m);
                }
                if self.mutant == Some(Mutant::CancelClearsAnyMessage) {
                    self.screen = None;
                }
            }
            Command::LoadControlEvent(e) => {
                if let Some(c) = &mut self.drlc {
                    let mut e = e.clone();
                    let in_group = c.config().utility_enrollment_group;
                    match self.mutant {
                        Some(Mutant::GroupZeroIgnored)
                            if e.utility_enrollment_group == 0 && in_group != 0 =>
                        {
                            return self.pump(now, log);
                        }
                        Some(Mutant::IgnoresEnrollmentGroup) => e.utility_enrollment_group = 0,
                        Some(Mutant::RandomisesUnasked) => {
                            e.event_control = drlc::EventControl(e.event_control.0 | 0x01);
                        }
                        Some(Mutant::RejectsLongestEvent) if e.duration_in_minutes == 1440 => {
                            e.duration_in_minutes = 1441;
                        }
                        Some(Mutant::AcceptsReservedCriticality)
                            if e.criticality_level.is_reserved() =>
                        {
                            self.reserved_levels
                                .push((e.issuer_event_id, u8::from(e.criticality_level)));
                            e.criticality_level = drlc::CriticalityLevel::Green;
                        }
                        _ => {}
                    }
                    c.handle_event(t, &e);
                }
            }
            Command::CancelLoadControlEvent(_) | Command::CancelAllLoadControlEvents(_)
                if self.mutant == Some(Mutant::IgnoresCancel) => {}
            Command::CancelLoadControlEvent(e) => {
                if let Some(c) = &mut self.drlc {
                    c.handle_cancel(t, e);
                }
            }
            Command::CancelAllLoadControlEvents(e) => {
                if let Some(c) = &mut self.drlc {
                    c.handle_cancel_all(t, e);
                }
            }
            Command::ReadAttributesResponse(r) if zcl.cluster == metering::CLUSTER_ID => {
                if let Some(m) = &mut self.metering {
                    m.handle_read_attributes_response(r);
                    let summation = m.summation().map(|r| r.to_string());
                    let demand = m.demand().map(|r| r.to_string());
                    log.push(
                        now,
                        &self.name,
                        "metering_display",
                        json!({"summation": summation, "demand": demand}),
                    );
                }
            }
            Command::DefaultResponse(d) => {
                log.push(now, &self.name, "default_response", json!({"cluster": zcl.cluster, "command_id": d.command_id, "status": u8::from(d.status)}));
            }
            Command::ReadAttributesResponse(r) if zcl.cluster == time::CLUSTER_ID => {
                // The device sets its clock from the meter's (SE devices take the ESI's time).
                if let Some(t) = r
                    .records
                    .iter()
                    .find(|rec| rec.attribute == time::attribute::TIME)
                    .and_then(|rec| rec.value)
                    .and_then(|v| v.as_u64())
                {
                    self.clock_offset_s = t as i64 - i64::from(now.utc().0);
                    log.push(
                        now,
                        &self.name,
                        "clock_set",
                        json!({"utc": t, "offset_s": self.clock_offset_s}),
                    );
                }
            }
            Command::WriteAttributes(write)
                if zcl.cluster == drlc::CLUSTER_ID
                    && zcl.header.direction == hanrig_sep::Direction::ServerToClient =>
            {
                // The ESI writes the DRLC client's attributes (utility enrollment group,
                // randomisation, device class); the device answers Write Attributes Response.
                let Some(c) = &mut self.drlc else {
                    return self.pump(now, log);
                };
                let mut config = *c.config();
                let answer = config.write(write);
                c.set_config(config);
                log.push(
                    now,
                    &self.name,
                    "drlc_attributes",
                    json!({"utility_enrollment_group": config.utility_enrollment_group,
                           "device_class": config.device_class.0,
                           "start_randomization_minutes": config.start_randomization_minutes,
                           "duration_randomization_minutes": config.duration_randomization_minutes}),
                );
                let mut out = self.pump(now, log);
                if let (Some(network_key), Some(mut frame)) = (
                    self.network_key,
                    ZclFrame::new(
                        zcl.cluster,
                        Command::WriteAttributesResponse(WriteAttributesResponse(answer)),
                        zcl.header.tsn,
                    ),
                ) {
                    // From the client side, where the attributes live, to the ESI's server.
                    frame.header.direction = hanrig_sep::Direction::ClientToServer;
                    out.extend(
                        self.stack
                            .zcl_frame(0x0000, &network_key, &self.link_key, &frame),
                    );
                }
                return out;
            }
            Command::ReadAttributes(read) if zcl.cluster == basic::CLUSTER_ID => {
                let records: Vec<ReadAttributeStatus> = read
                    .attributes
                    .iter()
                    .map(|id| self.basic_attribute(id))
                    .collect();
                let mut out = self.pump(now, log);
                if let (Ok(records), Some(network_key), Some(mut frame)) = (
                    Records::from_items(records.iter()),
                    self.network_key,
                    ZclFrame::new(
                        zcl.cluster,
                        Command::DefaultResponse(DefaultResponse {
                            command_id: 0,
                            status: Status::Success,
                        }),
                        zcl.header.tsn,
                    ),
                ) {
                    frame.command =
                        Command::ReadAttributesResponse(ReadAttributesResponse { records });
                    frame.header.command_id =
                        hanrig_sep::zcl::general::command_id::READ_ATTRIBUTES_RESPONSE;
                    frame.header.direction = hanrig_sep::Direction::ServerToClient;
                    out.extend(
                        self.stack
                            .zcl_frame(0x0000, &network_key, &self.link_key, &frame),
                    );
                }
                return out;
            }
            _ => {}
        }
        self.pump(now, log)
    }

    /// The device's Basic cluster (server).
    fn basic_attribute(&self, id: u16) -> ReadAttributeStatus {
        let model: &[u8] = match self.kind {
            DeviceKind::InHomeDisplay => b"sim-ihd",
            DeviceKind::Thermostat => b"sim-pct",
            DeviceKind::LoadControl => b"sim-lcd",
        };
        let value = match id {
            basic::attribute::ZCL_VERSION => Some(AttrValue::unsigned(DataType::Uint8, 1)),
            basic::attribute::MANUFACTURER_NAME => {
                AttrValue::bytes(DataType::CharString, b"hanrig").ok()
            }
            basic::attribute::MODEL_IDENTIFIER => {
                AttrValue::bytes(DataType::CharString, model).ok()
            }
            basic::attribute::POWER_SOURCE => Some(AttrValue::unsigned(DataType::Enum8, 1)),
            _ => None,
        };
        ReadAttributeStatus::answer(id, value)
    }

    fn on_joined(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        // Every SE device takes its time from the ESI's Time cluster.
        if let Some(network_key) = self.network_key {
            let read = ReadAttributes {
                attributes: Records::from_items(
                    [time::attribute::TIME, time::attribute::TIME_STATUS].iter(),
                )
                .unwrap_or_default(),
            };
            out.extend(self.stack.command(
                0x0000,
                &network_key,
                &self.link_key,
                time::CLUSTER_ID,
                Command::ReadAttributes(read),
            ));
        }
        if self.cbke.is_some() {
            // The SE clusters wait for the link key Key Establishment gives.
            out.extend(self.start_cbke(now, log));
        } else {
            out.extend(self.start_se(now, log));
        }
        out
    }

    /// Asks the ESI for what a device shows from the start: the current price, the last
    /// message, the meter's readings.
    fn start_se(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        if let Some(p) = &mut self.price {
            p.request_current_price(true);
        }
        if let Some(m) = &mut self.messaging {
            m.request_last_message();
        }
        if let Some(m) = &mut self.metering {
            m.request();
        }
        self.pump(now, log)
    }

    /// When the device next needs [`SimDevice::handle_timeout`].
    pub fn next_timeout(&self) -> Option<SimTime> {
        [
            self.drlc.as_deref().and_then(DrlcClient::poll_timeout),
            self.messaging
                .as_deref()
                .and_then(MessagingClient::poll_timeout),
            self.price.as_deref().and_then(PriceClient::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
        .map(|t| SimTime::from_utc(t).shifted_s(-self.clock_offset_s))
        .into_iter()
        .chain(self.cbke.as_ref().and_then(|c| {
            let deadline = c.initiator.deadline_ms().map(crate::cbke::from_ms);
            deadline.into_iter().chain(c.retry_at).min()
        }))
        .min()
    }

    /// Runs the device's timers up to `now`.
    pub fn handle_timeout(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some(c) = self.cbke.as_mut() {
            let step = c.initiator.poll(crate::cbke::ms(now));
            out.extend(self.cbke_step(now, step, log));
            if self
                .cbke
                .as_ref()
                .and_then(|c| c.retry_at)
                .is_some_and(|at| at <= now)
            {
                out.extend(self.start_cbke(now, log));
            }
        }
        out.extend(self.handle_client_timeouts(now, log));
        out
    }

    fn handle_client_timeouts(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        let t = self.clock(now);
        if let Some(c) = &mut self.drlc {
            c.handle_timeout(t);
        }
        if let Some(c) = &mut self.messaging {
            c.handle_timeout(t);
        }
        if let Some(c) = &mut self.price {
            c.handle_timeout(t);
        }
        self.expiring = true;
        let out = self.pump(now, log);
        self.expiring = false;
        out
    }

    /// The user confirms a message on the display.
    pub fn confirm_message(
        &mut self,
        now: SimTime,
        message_id: u32,
        log: &mut Log,
    ) -> Vec<Vec<u8>> {
        log.push(
            now,
            &self.name,
            "user_confirm",
            json!({"message_id": message_id}),
        );
        let t = self.clock(now);
        if let Some(c) = &mut self.messaging {
            c.confirm(t, message_id);
        }
        self.pump(now, log)
    }

    /// The user opts out of (or back in to) a load control event.
    pub fn opt(
        &mut self,
        now: SimTime,
        issuer_event_id: u32,
        out: bool,
        log: &mut Log,
    ) -> Vec<Vec<u8>> {
        log.push(
            now,
            &self.name,
            if out { "user_opt_out" } else { "user_opt_in" },
            json!({"issuer_event_id": issuer_event_id}),
        );
        let t = self.clock(now);
        if let Some(c) = &mut self.drlc {
            if out {
                c.opt_out(t, issuer_event_id);
            } else {
                c.opt_in(t, issuer_event_id);
            }
        }
        self.opting_out = out;
        let frames = self.pump(now, log);
        self.opting_out = false;
        frames
    }

    /// The display reads the meter again.
    pub fn read_metering(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        if let Some(m) = &mut self.metering {
            m.request();
        }
        self.pump(now, log)
    }

    /// Drains every client's outputs: commands become frames to the ESI, load actions drive the
    /// relay or set points, and what the user would see goes to the screen and the log.
    fn pump(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        let clock = self.clock(now);
        let mut commands: Vec<(u16, Command)> = Vec::new();
        if let Some(c) = &mut self.drlc {
            let mut outputs = Vec::new();
            while let Some(o) = c.poll_output() {
                outputs.push(o);
            }
            // Events cancelled in this batch (for the relay that stays off after a cancel).
            let cancelled: Vec<u32> = outputs
                .iter()
                .filter_map(|o| match o {
                    DrlcOutput::Report(r) if r.event_status == EventStatus::Cancelled => {
                        Some(r.issuer_event_id)
                    }
                    _ => None,
                })
                .collect();
            for o in outputs {
                match o {
                    DrlcOutput::Report(r) => {
                        let mut reports = vec![r];
                        match (self.mutant, reports[0].event_status) {
                            (Some(Mutant::WrongEventStatus), EventStatus::Cancelled) => {
                                reports[0].event_status = EventStatus::Completed
                            }
                            (Some(Mutant::ReportsCompletionEarly), EventStatus::Started) => {
                                let mut early = reports[0].clone();
                                early.event_status = EventStatus::Completed;
                                reports.push(early);
                            }
                            (Some(Mutant::ReportsCompletionEarly), EventStatus::Completed) => {
                                reports.clear()
                            }
                            _ => {}
                        }
                        for mut r in reports {
                            // The log says what the device meant; the air gets what it sends.
                            log.push(now, &self.name, "event_status", json!({"issuer_event_id": r.issuer_event_id, "event_status": u8::from(r.event_status), "event_status_name": r.event_status.name()}));
                            match self.mutant {
                                Some(Mutant::OptInSentAsOptOut)
                                    if r.event_status == EventStatus::UserOptedIn =>
                                {
                                    r.event_status = EventStatus::UserOptedOut
                                }
                                Some(Mutant::EventStatusTimeUnixEpoch) => {
                                    r.event_status_time.0 = r
                                        .event_status_time
                                        .0
                                        .wrapping_add(UtcTime::UNIX_OFFSET as u32)
                                }
                                Some(Mutant::CriticalityNotEchoed) => {
                                    r.criticality_level_applied = drlc::CriticalityLevel::from(0)
                                }
                                Some(Mutant::SetPointZeroWhenUnused) => {
                                    for p in [
                                        &mut r.cooling_temperature_set_point_applied,
                                        &mut r.heating_temperature_set_point_applied,
                                    ] {
                                        if *p == 0x8000 {
                                            *p = 0;
                                        }
                                    }
                                }
                                Some(Mutant::EventControlNotEchoed) => {
                                    r.event_control = drlc::EventControl(0)
                                }
                                Some(Mutant::AcceptsReservedCriticality) => {
                                    if let Some((_, level)) = self
                                        .reserved_levels
                                        .iter()
                                        .find(|(id, _)| *id == r.issuer_event_id)
                                    {
                                        r.criticality_level_applied =
                                            drlc::CriticalityLevel::from(*level);
                                    }
                                }
                                _ => {}
                            }
                            commands.push((drlc::CLUSTER_ID, Command::ReportEventStatus(r)));
                        }
                    }
                    DrlcOutput::Apply(action) => {
                        if let Some(relay) = &mut self.relay {
                            let _ = relay.apply(&DrlcOutput::Apply(action));
                        }
                        if self.kind == DeviceKind::Thermostat {
                            self.set_points = (
                                action.cooling_set_point(NORMAL_COOLING),
                                action.heating_set_point(NORMAL_HEATING),
                            );
                        }
                        self.switch(now, Some(&action));
                        log.push(now, &self.name, "load_control_applied", json!({"issuer_event_id": action.issuer_event_id, "load_on": self.relay.as_ref().map(|r| r.shedding_for().is_none()), "set_points": [self.set_points.0, self.set_points.1]}));
                    }
                    DrlcOutput::Restore { issuer_event_id } => {
                        let stuck = match self.mutant {
                            Some(Mutant::RelayNotRestoredOnCancel) => {
                                cancelled.contains(&issuer_event_id)
                            }
                            Some(Mutant::RelayIgnoresOptOut) => self.opting_out,
                            _ => false,
                        };
                        if let (Some(relay), false) = (&mut self.relay, stuck) {
                            let _ = relay.apply(&DrlcOutput::Restore { issuer_event_id });
                        }
                        self.set_points = (NORMAL_COOLING, NORMAL_HEATING);
                        self.switch(now, None);
                        log.push(now, &self.name, "load_control_restored", json!({"issuer_event_id": issuer_event_id, "load_on": self.relay.as_ref().map(|r| r.shedding_for().is_none())}));
                    }
                }
            }
        }
        if let Some(c) = &mut self.messaging {
            while let Some(o) = c.poll_output() {
                match o {
                    MessagingOutput::Show(m) => {
                        self.screen = Some(m.message.as_str().unwrap_or("").to_string());
                        log.push(now, &self.name, "message_shown", json!({"message_id": m.message_id, "text": m.message.as_str(), "confirmation_required": m.message_control.confirmation_required()}));
                    }
                    MessagingOutput::Clear { message_id } => {
                        if !(self.expiring && self.mutant == Some(Mutant::MessageOutlivesDuration))
                        {
                            self.screen = None;
                        }
                        log.push(
                            now,
                            &self.name,
                            "message_cleared",
                            json!({"message_id": message_id}),
                        )
                    }
                    MessagingOutput::Send(Command::MessageConfirmation(_))
                        if self.mutant == Some(Mutant::NoMessageConfirmation) => {}
                    MessagingOutput::Send(Command::MessageConfirmation(mut m))
                        if self.mutant == Some(Mutant::ConfirmationTimeUnixEpoch) =>
                    {
                        m.confirmation_time.0 = m
                            .confirmation_time
                            .0
                            .wrapping_add(UtcTime::UNIX_OFFSET as u32);
                        commands.push((messaging::CLUSTER_ID, Command::MessageConfirmation(m)));
                    }
                    MessagingOutput::Send(cmd) => commands.push((messaging::CLUSTER_ID, cmd)),
                }
            }
        }
        if let Some(c) = &mut self.price {
            while let Some(o) = c.poll_output() {
                match o {
                    PriceOutput::Send(Command::PriceAcknowledgement(mut a))
                        if self.mutant == Some(Mutant::PriceAckWrongEvent) =>
                    {
                        a.issuer_event_id = a.provider_id;
                        commands.push((price::CLUSTER_ID, Command::PriceAcknowledgement(a)));
                    }
                    PriceOutput::Send(cmd) => commands.push((price::CLUSTER_ID, cmd)),
                    PriceOutput::PriceChanged { issuer_event_id } => {
                        let current = c.current(clock).map(|p| p.price);
                        log.push(
                            now,
                            &self.name,
                            "price_changed",
                            json!({"issuer_event_id": issuer_event_id, "price": current}),
                        );
                    }
                }
            }
        }
        if let Some(m) = &mut self.metering {
            while let Some(MeteringOutput::Send(cmd)) = m.poll_output() {
                commands.push((metering::CLUSTER_ID, cmd));
            }
        }
        let (Some(network_key), true) = (self.network_key, self.state == JoinState::Joined) else {
            return Vec::new();
        };
        let short_reports = self.mutant == Some(Mutant::ReportWithoutSignature);
        commands
            .into_iter()
            .filter_map(|(cluster, cmd)| {
                let report = matches!(cmd, Command::ReportEventStatus(_));
                let tsn = self.stack.next_tsn();
                let frame = ZclFrame::new(cluster, cmd, tsn)?;
                let mut zcl = [0u8; 127];
                let mut len = frame.emit(&mut zcl).ok()?;
                if report && short_reports {
                    // The defect: the Signature field (42 bytes, all 0xFF unsigned) left off.
                    len = len.saturating_sub(42);
                }
                self.stack
                    .zcl_bytes(0x0000, &network_key, &self.link_key, cluster, &zcl[..len])
            })
            .collect()
    }
}
