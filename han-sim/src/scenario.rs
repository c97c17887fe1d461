//! Running scenarios: a [`Scenario`] (the language of `hanrig-scenario`) built into a
//! simulation ([`Simulate::build`]) and run, with its capture, key file and event log.

use std::path::Path;

use hanrig_device::Rng;
use hanrig_device::drlc::DrlcConfig;
use hanrig_sep::capture::{KeyFile, PcapngWriter};
use hanrig_sep::clusters::drlc::{
    CancelAllLoadControlEvents, CancelControl, CancelLoadControlEvent, CriticalityLevel,
    DeviceClass, EventControl, LoadControlEvent,
};
use hanrig_sep::clusters::messaging::{CancelMessage, DisplayMessage, MessageControl};
use hanrig_sep::clusters::metering::UnitOfMeasure;
use hanrig_sep::clusters::price::PublishPrice;
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::wire::{CharString, OctetString};
use hanrig_sep::{Eui64, UtcTime};

use crate::clock::SimTime;
use crate::coordinator::Coordinator;
use crate::device::{DeviceKind, SimDevice};
use crate::esi::{Esi, EsiApp, MeterModel, Outgoing, Register, Utility};
use crate::log::Log;
use crate::remote::UserAction;
use crate::sim::{Act, Happening, MediumConfig, Node, Simulation};
use hanrig_sep::Command;

/// Why a scenario could not be loaded or run.
pub use hanrig_scenario::scenario::*;

fn invalid<T>(message: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError::Invalid(message.into()))
}

/// A meter's CBKE fault, read.
fn cbke_fault(m: &MeterSpec) -> Result<Option<crate::cbke::EsiFault>, ScenarioError> {
    match m.cbke_fault.as_deref() {
        None => Ok(None),
        Some(_) if !m.cbke => invalid(format!("meter {:?}: cbke_fault needs cbke = true", m.name)),
        Some(name) => crate::cbke::EsiFault::from_name(name)
            .map(Some)
            .ok_or_else(|| {
                ScenarioError::Invalid(format!(
                    "meter {:?}: cbke_fault {name:?} is not one of {}",
                    m.name,
                    crate::cbke::EsiFault::NAMES
                ))
            }),
    }
}

/// How a meter's register presents values.
fn register(m: &MeterSpec) -> Register {
    Register {
        unit: m.unit_of_measure,
        multiplier: m.multiplier,
        divisor: m.divisor,
        summation_formatting: m.summation_formatting,
        demand_formatting: m.demand_formatting,
    }
}

fn key_from_hex(text: &str) -> Result<Key, ScenarioError> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    if digits.len() != 32 {
        return invalid(format!("network key {text:?}: 32 hex digits"));
    }
    let mut key = [0u8; 16];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
            .map_err(|_| ScenarioError::Invalid(format!("network key {text:?}: not hex")))?;
    }
    Ok(key)
}

fn eui(text: &str, what: &str) -> Result<Eui64, ScenarioError> {
    text.parse().map_err(|_| {
        ScenarioError::Invalid(format!(
            "{what}: {text:?} is not an EUI64 (16 hex digits, e.g. 00:0d:6f:00:0a:bc:de:f0)"
        ))
    })
}

fn code(text: &str, what: &str) -> Result<InstallCode, ScenarioError> {
    text.parse()
        .map_err(|e| ScenarioError::Invalid(format!("{what}: install code refused: {e}")))
}

/// A scenario built and ready to run.
pub struct Built {
    /// The simulation, at its start.
    pub simulation: Simulation,
    /// The keys that decrypt its capture.
    pub keys: KeyFile,
    /// When the scenario ends.
    pub end: SimTime,
    meter_steps: Vec<(SimTime, usize, UtilityStep)>,
}

/// A timeline step of a meter's utility: acts on its application, returns what it sends.
pub type MeterStep = Box<dyn FnOnce(&mut EsiApp, SimTime, &mut Log) -> Vec<Outgoing> + Send>;

/// A timeline step of a meter's utility as the command it sends the meter at the step's time
/// (start times follow the time it is sent): the same for a simulated meter, a meter a host
/// plays, and a meter under test in its own process.
pub type UtilityStep = Box<dyn FnOnce(SimTime) -> Utility + Send>;

/// A utility step as a step of the meter's application.
fn meter_step(f: UtilityStep) -> MeterStep {
    Box::new(move |app, now, log| app.utility(now, f(now), log))
}

/// A timeline step: the utility acting through a meter, or something done to a device.
enum Stimulus {
    Meter(usize, UtilityStep),
    Device(Act),
}

/// Runs a meter step on the simulated meter at `index`.
fn on_esi(index: usize, f: UtilityStep) -> Act {
    Box::new(move |now, nodes, log| match &mut nodes[index] {
        Node::Esi(e) => {
            let out = e.app.utility(now, f(now), log);
            vec![(index, e.transmit(out))]
        }
        // A meter under test in its own process takes the utility's command over its channel.
        Node::Remote(r) => vec![(index, r.utility(now, f(now)))],
        Node::Device(_) | Node::Coordinator(_) => Vec::new(),
    })
}

/// The host's part of a scenario whose meter a host plays over a radio co-processor
/// ([`Scenario::build_remote`]).
pub struct Remote {
    /// The meter's application, for the host to run.
    pub app: EsiApp,
    /// The install-code link keys the meter was provisioned with.
    pub link_keys: Vec<(Eui64, Key)>,
    /// Whether the meter admits unprovisioned devices under the global link key.
    pub global_key_fallback: bool,
    /// The meter's device limit.
    pub device_limit: usize,
    /// The meter's EUI64.
    pub eui: Eui64,
    /// Its PAN ID.
    pub pan: u16,
    /// Its channel.
    pub channel: u8,
    /// Its network key.
    pub network_key: Key,
    /// The meter's timeline, for the host.
    pub steps: Vec<(SimTime, MeterStep)>,
    /// Keys that decrypt the capture.
    pub keys: KeyFile,
    /// Start of virtual time.
    pub start: SimTime,
    /// End of the scenario.
    pub end: SimTime,
    /// Key Establishment, when the meter requires it.
    pub cbke: Option<RemoteCbke>,
}

/// A host-played meter's Key Establishment.
#[derive(Debug)]
pub struct RemoteCbke {
    /// The meter's certificate and key, for its radio's tokens.
    pub identity: hanrig_cbke::exchange::Identity,
    /// The faults the meter plays, if any.
    pub faults: Option<crate::cbke::EsiFaults>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("app", &self.app)
            .field("steps", &self.steps.len())
            .field("end", &self.end)
            .finish()
    }
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("simulation", &self.simulation)
            .field("end", &self.end)
            .finish()
    }
}

impl Built {
    /// Runs to the scenario's end.
    pub fn run(mut self) -> Result<RunOutput, ScenarioError> {
        for (at, index, f) in std::mem::take(&mut self.meter_steps) {
            self.simulation
                .schedule(at, Happening::Act(on_esi(index, f)));
        }
        self.simulation.run_until(self.end);
        let sim = self.simulation;
        for node in &sim.nodes {
            match node {
                Node::Esi(esi) => {
                    for (device, key) in esi.cbke_keys() {
                        self.keys
                            .add(*key, &format!("{device} CBKE link key with {}", esi.name));
                    }
                }
                // A meter in a process of its own keeps its keys; the rig's devices know theirs.
                Node::Device(d) => {
                    if let Some(key) = d.cbke_key() {
                        self.keys.add(key, &format!("{} CBKE link key", d.eui()));
                    }
                }
                Node::Coordinator(_) | Node::Remote(_) => {}
            }
        }
        Ok(RunOutput {
            log: sim.log.clone(),
            capture: sim.capture.clone(),
            keys: self.keys,
            simulation: sim,
        })
    }

    /// The device called `name`.
    pub fn device_mut(&mut self, name: &str) -> Option<&mut SimDevice> {
        let index = self.simulation.node_index(name)?;
        match &mut self.simulation.nodes[index] {
            Node::Device(d) => Some(d),
            Node::Esi(_) | Node::Coordinator(_) | Node::Remote(_) => None,
        }
    }

    /// The meter called `name`.
    pub fn meter_mut(&mut self, name: &str) -> Option<&mut Esi> {
        let index = self.simulation.node_index(name)?;
        match &mut self.simulation.nodes[index] {
            Node::Esi(e) => Some(e),
            Node::Device(_) | Node::Coordinator(_) | Node::Remote(_) => None,
        }
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct RunOutput {
    /// The event log.
    pub log: Log,
    /// Every frame on air.
    pub capture: Vec<(SimTime, u8, Vec<u8>)>,
    /// The keys that decrypt the capture.
    pub keys: KeyFile,
    /// The finished simulation, for inspection.
    pub simulation: Simulation,
}

/// Running a [`Scenario`] on the simulated HAN.
pub trait Simulate {
    /// Builds and runs the scenario.
    fn run(&self) -> Result<RunOutput, ScenarioError>;
    /// Builds the scenario's simulation without running it (so that a node can be changed
    /// first, e.g. into a mutant).
    fn build(&self) -> Result<Built, ScenarioError>;
    /// Builds the scenario for a rig whose host plays the meter `meter` over a radio
    /// co-processor: the simulation, with the co-processor's [`Coordinator`] in the meter's
    /// place (at the index returned), for the co-processor; the meter's application, its
    /// install-code keys and its timeline for the host.
    fn build_remote(&self, meter: &str) -> Result<(Simulation, usize, Remote), ScenarioError>;
}

impl Simulate for Scenario {
    fn run(&self) -> Result<RunOutput, ScenarioError> {
        self.build()?.run()
    }

    fn build(&self) -> Result<Built, ScenarioError> {
        let start = parse_time(&self.start)?;
        let end = start.plus(parse_duration(&self.duration)?);
        let mut rng = Rng::new(self.seed);
        let mut keys = KeyFile::default();
        let mut nodes = Vec::new();
        let ca = crate::cbke::TestCa::new(self.seed);
        for m in &self.meters {
            if self.meters.iter().filter(|o| o.name == m.name).count() > 1 {
                return invalid(format!("two meters are called {:?}", m.name));
            }
            if !(11..=26).contains(&m.channel) {
                return invalid(format!(
                    "meter {:?}: channel {} is not a 2.4 GHz channel (11–26)",
                    m.name, m.channel
                ));
            }
            let network_key = match &m.network_key {
                Some(k) => key_from_hex(k)?,
                None => {
                    let mut k = [0u8; 16];
                    k[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
                    k[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
                    k
                }
            };
            keys.add(network_key, &format!("{} network key", m.name));
            let meter = MeterModel::new(m.load_w.clone(), m.summation_wh, start);
            let mut esi = Esi::new(
                &m.name,
                eui(&m.eui64, &m.name)?,
                m.pan,
                m.channel,
                network_key,
                m.device_limit,
                meter,
            );
            esi.global_key_fallback = m.global_key_fallback;
            esi.app.register = register(m);
            let fault = cbke_fault(m)?;
            if m.cbke {
                let identity = ca.identity(esi.eui());
                esi.require_cbke(identity, self.seed);
                if let Some(fault) = fault {
                    esi.set_cbke_faults(crate::cbke::EsiFaults::new(fault, &ca, esi.eui()));
                }
            }
            nodes.push(Node::Esi(Box::new(esi)));
        }
        for d in &self.devices {
            if self.devices.iter().filter(|o| o.name == d.name).count() > 1
                || self.meters.iter().any(|m| m.name == d.name)
            {
                return invalid(format!("two nodes are called {:?}", d.name));
            }
            let Some(kind) = DeviceKind::from_name(&d.kind) else {
                return invalid(format!(
                    "device {:?}: kind {:?} is not in-home-display, thermostat or load-control",
                    d.name, d.kind
                ));
            };
            let Some(Node::Esi(esi)) = nodes
                .iter_mut()
                .find(|n| matches!(n, Node::Esi(e) if e.name == d.meter))
            else {
                return invalid(format!(
                    "device {:?}: no meter called {:?}",
                    d.name, d.meter
                ));
            };
            let eui64 = eui(&d.eui64, &d.name)?;
            let own = code(&d.install_code, &d.name)?;
            keys.add(own.link_key(), &format!("{} install code link key", d.name));
            match d.provisioned_install_code.as_deref() {
                Some("none") => {}
                Some(other) => {
                    let provisioned = code(other, &d.name)?;
                    keys.add(
                        provisioned.link_key(),
                        &format!("{} install code given to {}", d.name, d.meter),
                    );
                    esi.provision(eui64, &provisioned, kind.clusters());
                }
                None => esi.provision(eui64, &own, kind.clusters()),
            }
            let class = d.device_class.unwrap_or(match kind {
                DeviceKind::Thermostat => DeviceClass::HVAC,
                DeviceKind::LoadControl => DeviceClass::WATER_HEATER | DeviceClass::POOL_PUMP,
                DeviceKind::InHomeDisplay => 0,
            });
            let drlc = DrlcConfig {
                device_class: DeviceClass(class),
                utility_enrollment_group: d.utility_enrollment_group,
                start_randomization_minutes: d.start_randomization_minutes,
                duration_randomization_minutes: d.duration_randomization_minutes,
            };
            let (pan, channel) = (esi.pan(), esi.channel);
            let meter_cbke = self.meters.iter().any(|m| m.name == d.meter && m.cbke);
            let cbke = match d.cbke.as_deref() {
                None if meter_cbke => crate::cbke::DeviceCbke::Good,
                None => crate::cbke::DeviceCbke::None,
                Some(name) => crate::cbke::DeviceCbke::from_name(name).ok_or_else(|| {
                    ScenarioError::Invalid(format!(
                        "device {:?}: cbke {name:?} is not one of {}",
                        d.name,
                        crate::cbke::DeviceCbke::NAMES
                    ))
                })?,
            };
            let mut device =
                SimDevice::new(&d.name, kind, eui64, &own, (pan, channel), drlc, self.seed);
            if let Some(identity) = ca.device_identity(eui64, cbke) {
                device.with_cbke(identity, cbke, self.seed);
            }
            nodes.push(Node::Device(Box::new(device)));
        }
        let medium = MediumConfig {
            latency_us: self.medium.latency_ms * 1000,
            loss: self.medium.loss,
            duplication: self.medium.duplication,
        };
        if !(0.0..=1.0).contains(&medium.loss) || !(0.0..=1.0).contains(&medium.duplication) {
            return invalid("medium: loss and duplication are probabilities from 0 to 1");
        }
        let mut sim = Simulation::new(nodes, medium, self.seed, start);
        for d in &self.devices {
            let index = sim.node_index(&d.name).unwrap_or(0);
            let at = start.plus(parse_duration(&d.join_at)?);
            sim.schedule(
                at,
                Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[index] {
                    Node::Device(dev) => vec![(index, dev.start_join(now, log))],
                    Node::Remote(dev) => vec![(index, dev.start_join(now))],
                    Node::Esi(_) | Node::Coordinator(_) => Vec::new(),
                })),
            );
        }
        let mut meter_steps = Vec::new();
        for step in &self.timeline {
            let at = start.plus(parse_duration(&step.at)?);
            match stimulus(self, &sim, &step.action)? {
                Stimulus::Device(act) => sim.schedule(at, Happening::Act(act)),
                Stimulus::Meter(index, f) => meter_steps.push((at, index, f)),
            }
        }
        Ok(Built {
            simulation: sim,
            keys,
            end,
            meter_steps,
        })
    }

    fn build_remote(&self, meter: &str) -> Result<(Simulation, usize, Remote), ScenarioError> {
        let built = self.build()?;
        let Built {
            mut simulation,
            keys,
            end,
            meter_steps,
        } = built;
        let Some(index) = simulation
            .node_index(meter)
            .filter(|&i| matches!(simulation.nodes[i], Node::Esi(_)))
        else {
            return invalid(format!("no meter called {meter:?}"));
        };
        let spec = self
            .meters
            .iter()
            .find(|m| m.name == meter)
            .ok_or_else(|| ScenarioError::Invalid(format!("no meter called {meter:?}")))?;
        let network_key = match &simulation.nodes[index] {
            Node::Esi(e) => e.network_key(),
            _ => return invalid(format!("{meter:?} is not a meter")),
        };
        let eui64 = eui(&spec.eui64, meter)?;
        let coordinator = Coordinator::new(meter, eui64, spec.pan, spec.channel, network_key);
        simulation.replace_node(index, Node::Coordinator(Box::new(coordinator)));
        let mut steps = Vec::new();
        for (at, i, f) in meter_steps {
            if i == index {
                steps.push((at, meter_step(f)));
            } else {
                // Another meter's steps stay in the simulation.
                simulation.schedule(at, Happening::Act(on_esi(i, f)));
            }
        }
        let start = parse_time(&self.start)?;
        let mut app = EsiApp::new(
            meter,
            MeterModel::new(spec.load_w.clone(), spec.summation_wh, start),
        );
        app.register = register(spec);
        let mut link_keys = Vec::new();
        for d in self.devices.iter().filter(|d| d.meter == meter) {
            let device = eui(&d.eui64, &d.name)?;
            let kind = DeviceKind::from_name(&d.kind)
                .ok_or_else(|| ScenarioError::Invalid(format!("device {:?}: bad kind", d.name)))?;
            let provisioned = match d.provisioned_install_code.as_deref() {
                Some("none") => None,
                Some(other) => Some(code(other, &d.name)?),
                None => Some(code(&d.install_code, &d.name)?),
            };
            if let Some(code) = provisioned {
                link_keys.push((device, code.link_key()));
                app.provision(device, kind.clusters());
            }
        }
        // The meter's certificate goes into its radio's tokens; the host runs the exchange.
        let cbke = if spec.cbke {
            let ca = crate::cbke::TestCa::new(self.seed);
            let faults = cbke_fault(spec)?.map(|f| crate::cbke::EsiFaults::new(f, &ca, eui64));
            Some(RemoteCbke {
                identity: ca.identity(eui64),
                faults,
            })
        } else {
            None
        };
        let remote = Remote {
            app,
            link_keys,
            global_key_fallback: spec.global_key_fallback,
            device_limit: spec.device_limit,
            eui: eui64,
            pan: spec.pan,
            channel: spec.channel,
            network_key,
            steps,
            keys,
            start,
            end,
            cbke,
        };
        Ok((simulation, index, remote))
    }
}

/// What a timeline step does to the simulation.
fn stimulus(
    scenario: &Scenario,
    sim: &Simulation,
    action: &Action,
) -> Result<Stimulus, ScenarioError> {
    let meter = |name: &str| -> Result<usize, ScenarioError> {
        match sim
            .node_index(name)
            .filter(|&i| matches!(sim.nodes[i], Node::Esi(_)))
        {
            Some(i) => Ok(i),
            None => invalid(format!("timeline: no meter called {name:?}")),
        }
    };
    let device = |name: &str| -> Result<usize, ScenarioError> {
        match sim
            .node_index(name)
            .filter(|&i| matches!(sim.nodes[i], Node::Device(_)))
        {
            Some(i) => Ok(i),
            None => invalid(format!("timeline: no device called {name:?}")),
        }
    };
    fn on_esi(index: usize, f: impl FnOnce(SimTime) -> Utility + Send + 'static) -> Stimulus {
        Stimulus::Meter(index, Box::new(f))
    }
    fn on_device(
        index: usize,
        f: impl FnOnce(&mut SimDevice, SimTime, &mut Log) -> Vec<Vec<u8>> + Send + 'static,
    ) -> Stimulus {
        Stimulus::Device(Box::new(move |now, nodes, log| match &mut nodes[index] {
            Node::Device(d) => vec![(index, f(d, now, log))],
            Node::Esi(_) | Node::Coordinator(_) | Node::Remote(_) => Vec::new(),
        }))
    }
    /// A person's action at a device, wherever the device runs.
    fn on_user(index: usize, action: UserAction) -> Stimulus {
        Stimulus::Device(Box::new(move |now, nodes, log| match &mut nodes[index] {
            Node::Device(d) => vec![(index, d.user(now, action, log))],
            Node::Remote(r) => vec![(index, r.user(now, action))],
            Node::Esi(_) | Node::Coordinator(_) => Vec::new(),
        }))
    }
    Ok(match action {
        Action::PublishPrice(p) => {
            let rate_label = OctetString::new(p.rate_label.as_bytes()).map_err(|_| {
                ScenarioError::Invalid(format!("rate label {:?} is over 12 bytes", p.rate_label))
            })?;
            if p.tier > 15 || p.trailing_digits > 15 {
                return invalid("publish_price: tier and trailing_digits are 0–15");
            }
            let price = PublishPrice {
                provider_id: p.provider_id,
                rate_label,
                issuer_event_id: p.issuer_event_id,
                current_time: UtcTime(0),
                unit_of_measure: UnitOfMeasure::KilowattHours,
                currency: p.currency,
                price_trailing_digit_and_price_tier: p.trailing_digits << 4 | p.tier,
                // As many tiers as the tier named (at least one), registered in that tier.
                number_of_price_tiers_and_register_tier: p.tier.max(1) << 4 | p.tier,
                start_time: UtcTime::NOW,
                duration_in_minutes: p.duration_minutes.unwrap_or(0xFFFF),
                price: p.price,
                price_ratio: Some(0xFF),
                generation_price: Some(0xFFFF_FFFF),
                generation_price_ratio: Some(0xFF),
                alternate_cost_delivered: Some(0xFFFF_FFFF),
                alternate_cost_unit: Some(0x01),
                alternate_cost_trailing_digit: Some(0x00),
                number_of_block_thresholds: Some(0),
                price_control: Some(u8::from(p.acknowledge)),
                number_of_generation_tiers: None,
                generation_tier: None,
                extended_number_of_price_tiers: None,
                extended_price_tier: None,
                extended_register_tier: None,
            };
            let start_in = p.start_in.as_deref().map(parse_duration).transpose()?;
            on_esi(meter(&p.meter)?, move |now| {
                let mut price = price;
                if let Some(offset) = start_in {
                    price.start_time = now.plus(offset).utc();
                }
                Utility::Publish(Command::PublishPrice(price))
            })
        }
        Action::DisplayMessage(m) => {
            let message = CharString::new(m.text.as_bytes()).map_err(|_| {
                ScenarioError::Invalid(format!("message {} is too long", m.message_id))
            })?;
            if m.importance > 3 {
                return invalid("display_message: importance is 0–3");
            }
            let control = MessageControl(
                if m.confirm {
                    MessageControl::CONFIRMATION_REQUIRED
                } else {
                    0
                } | m.importance << 2,
            );
            let msg = DisplayMessage {
                message_id: m.message_id,
                message_control: control,
                start_time: UtcTime::NOW,
                duration_in_minutes: m.duration_minutes.unwrap_or(0xFFFF),
                message,
                extended_message_control: None,
            };
            let start_in = m.start_in.as_deref().map(parse_duration).transpose()?;
            on_esi(meter(&m.meter)?, move |now| {
                let mut msg = msg;
                if let Some(offset) = start_in {
                    msg.start_time = now.plus(offset).utc();
                }
                Utility::Publish(Command::DisplayMessage(msg))
            })
        }
        Action::CancelMessage(c) => {
            let cancel = CancelMessage {
                message_id: c.message_id,
                message_control: MessageControl(0),
            };
            on_esi(meter(&c.meter)?, move |_| {
                Utility::Publish(Command::CancelMessage(cancel))
            })
        }
        Action::LoadControlEvent(s) => {
            if s.duration_minutes > 1440 {
                // Still sent: the devices must reject it. Scenarios test rejections too.
            }
            let start_in = s.start_in.as_deref().map(parse_duration).transpose()?;
            let start_at = s
                .start_at
                .as_deref()
                .map(parse_duration)
                .transpose()?
                .map(|offset| parse_time(&scenario.start).map(|t| t.plus(offset)))
                .transpose()?;
            let template = LoadControlEvent {
                issuer_event_id: s.issuer_event_id,
                device_class: DeviceClass(s.device_class),
                utility_enrollment_group: s.utility_enrollment_group,
                start_time: UtcTime::NOW,
                duration_in_minutes: s.duration_minutes,
                criticality_level: CriticalityLevel::from(s.criticality),
                cooling_temperature_offset: s.cooling_offset.unwrap_or(0xFF),
                heating_temperature_offset: s.heating_offset.unwrap_or(0xFF),
                cooling_temperature_set_point: s.cooling_set_point.unwrap_or(i16::MIN),
                heating_temperature_set_point: s.heating_set_point.unwrap_or(i16::MIN),
                average_load_adjustment_percentage: s.load_adjustment.unwrap_or(i8::MIN),
                duty_cycle: s.duty_cycle.unwrap_or(0xFF),
                event_control: EventControl(
                    u8::from(s.randomize_start) | u8::from(s.randomize_end) << 1,
                ),
            };
            on_esi(meter(&s.meter)?, move |now| {
                let mut event = template;
                if let Some(offset) = start_in {
                    event.start_time = now.plus(offset).utc();
                }
                if let Some(at) = start_at {
                    event.start_time = at.utc();
                }
                Utility::Publish(Command::LoadControlEvent(event))
            })
        }
        Action::CancelLoadControlEvent(c) => {
            let effective_in = c.effective_in.as_deref().map(parse_duration).transpose()?;
            let template = CancelLoadControlEvent {
                issuer_event_id: c.issuer_event_id,
                device_class: DeviceClass(c.device_class),
                utility_enrollment_group: c.utility_enrollment_group,
                cancel_control: CancelControl(u8::from(c.randomize_end)),
                effective_time: UtcTime::NOW,
            };
            on_esi(meter(&c.meter)?, move |now| {
                let mut cancel = template;
                if let Some(offset) = effective_in {
                    cancel.effective_time = now.plus(offset).utc();
                }
                Utility::Publish(Command::CancelLoadControlEvent(cancel))
            })
        }
        Action::CancelAllLoadControlEvents(c) => {
            let cancel = CancelAllLoadControlEvents {
                cancel_control: CancelControl(u8::from(c.randomize_end)),
            };
            on_esi(meter(&c.meter)?, move |_| {
                Utility::Publish(Command::CancelAllLoadControlEvents(cancel))
            })
        }
        Action::ConfirmMessage(u) => on_user(
            device(&u.device)?,
            UserAction::ConfirmMessage {
                message_id: u.message_id,
            },
        ),
        Action::OptOut(u) => on_user(
            device(&u.device)?,
            UserAction::OptOut {
                issuer_event_id: u.issuer_event_id,
            },
        ),
        Action::OptIn(u) => on_user(
            device(&u.device)?,
            UserAction::OptIn {
                issuer_event_id: u.issuer_event_id,
            },
        ),
        Action::ReadMetering(u) => on_user(device(&u.device)?, UserAction::ReadMetering),
        Action::SendZcl(z) => {
            let json = serde_json::to_value(&z.command)
                .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
            let command: hanrig_sep::Command = serde_json::from_value(json)
                .map_err(|e| ScenarioError::Invalid(format!("send_zcl: {e}")))?;
            let cluster = z.cluster;
            on_device(device(&z.device)?, move |d, now, log| {
                d.send_zcl(now, cluster, command, log)
            })
        }
        Action::SendZclToDevice(z) => {
            let json = serde_json::to_value(&z.command)
                .map_err(|e| ScenarioError::Invalid(e.to_string()))?;
            let command: hanrig_sep::Command = serde_json::from_value(json)
                .map_err(|e| ScenarioError::Invalid(format!("send_zcl_to_device: {e}")))?;
            let (cluster, meter_index) = (z.cluster, meter(&z.meter)?);
            let target = match &sim.nodes[device(&z.device)?] {
                Node::Device(d) => d.eui(),
                Node::Remote(r) => r.eui,
                Node::Esi(_) | Node::Coordinator(_) => {
                    return invalid("send_zcl_to_device: not a device");
                }
            };
            on_esi(meter_index, move |_| Utility::Send {
                device: target,
                cluster,
                command,
            })
        }
    })
}

impl RunOutput {
    /// Writes `capture.pcapng`, `keys` and `events.jsonl` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), ScenarioError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| ScenarioError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let pcap = dir.join("capture.pcapng");
        let file = std::fs::File::create(&pcap).map_err(io(&pcap))?;
        let mut writer =
            PcapngWriter::new(std::io::BufWriter::new(file), "hanrig sim").map_err(io(&pcap))?;
        for (t, _, frame) in &self.capture {
            writer.write_frame(t.0, frame).map_err(io(&pcap))?;
        }
        writer.finish().map_err(io(&pcap))?;
        let keys = dir.join("keys");
        std::fs::write(&keys, self.keys.to_text()).map_err(io(&keys))?;
        let events = dir.join("events.jsonl");
        std::fs::write(&events, self.log.to_json_lines()).map_err(io(&events))?;
        Ok(())
    }
}
