//! The simulated ESI (the meter's HAN side): forms the network, acts as trust centre — it admits
//! only devices whose install code it was given, up to its device limit — and serves Price,
//! DRLC, Messaging, Metering, Time and Basic.

use hanrig_sep::clusters::drlc::{
    CancelAllLoadControlEvents, CancelLoadControlEvent, LoadControlEvent,
};
use hanrig_sep::clusters::messaging::{CancelMessage, DisplayMessage};
use hanrig_sep::clusters::metering::{
    self, GetProfile, GetProfileResponse, IntervalChannel, ProfileStatus, attribute as mattr,
};
use hanrig_sep::clusters::price::PublishPrice;
use hanrig_sep::clusters::{basic, drlc, key_establishment, messaging, price, time};
use hanrig_sep::install_code::{InstallCode, Key};
use hanrig_sep::mac;
use hanrig_sep::wire::{Records, U24};
use hanrig_sep::zcl::general::{
    AttrValue, DataType, DefaultResponse, ReadAttributeStatus, ReadAttributesResponse, Status,
};
use hanrig_sep::{Command, Direction, Eui64, UtcTime, ZclFrame};
use serde_json::json;

use hanrig_cbke::exchange::{Flaw, Identity, Outcome, Responder, Step};
use hanrig_device::Rng;

use crate::cbke::EsiFaults;
use std::collections::VecDeque;

use hanrig_usage::day::Day;
use hanrig_usage::{Channel, DailyRead, Interval, Quality};

use crate::clock::SimTime;
use crate::device::Mutant;
use crate::household::{Circuit, Control, Home};
use crate::log::Log;
use crate::stack::{Member as Admitted, Stack};

/// Which client clusters a device implements (what the ESI sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clusters {
    /// Price client.
    pub price: bool,
    /// DRLC client.
    pub drlc: bool,
    /// Messaging client.
    pub messaging: bool,
}

/// The meter's consumption model: demand follows an hourly load curve, or the home behind the
/// meter ([`MeterModel::home`]); summation integrates it.
#[derive(Debug, Clone)]
pub struct MeterModel {
    /// Demand in watts for each hour of the day (repeats daily; one value = constant load),
    /// for a meter without a [`Home`].
    pub load_curve_w: Vec<i32>,
    /// Energy delivered since the start, in µWh.
    pub energy_uwh: u128,
    /// Summation delivered at the start, Wh.
    pub initial_wh: u64,
    /// Up to when `energy_uwh` is counted.
    pub since: SimTime,
    premises: Option<Box<Premises>>,
}

/// A meter's home, the circuit its in-home device switches, and the quarter hours measured.
#[derive(Debug, Clone)]
struct Premises {
    home: Home,
    circuit: Circuit,
    control: Control,
    /// The quarter hour being measured: delivered and received energy so far, µWh.
    quarter: (u128, u128),
    /// Delivered energy not yet a whole µWh, Wh·µs.
    carry: u128,
    /// Measured quarter hours not yet collected: the first one's start (Unix seconds) and
    /// each one's delivered and received Wh.
    load_profile: (i64, VecDeque<(u16, u16)>),
    /// The register (Wh) at each local midnight since the last collection, and at the one
    /// before: the daily freeze (Metering attribute 0x0004, DFTSummation, at DailyFreezeTime
    /// 00:00).
    freezes: VecDeque<(Day, u64)>,
}

/// What a collection gives: the quarter hours measured and the days whose start and end the
/// register was frozen at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Consumption, and generation for a solar home, oldest first.
    pub intervals: Vec<Interval>,
    /// Daily register reads, oldest first.
    pub daily: Vec<DailyRead>,
}

/// Quarter hours a meter keeps until they are collected ([`MeterModel::collect`]): two days,
/// like a meter's load-profile memory; older ones are overwritten.
pub const LOAD_PROFILE_QUARTERS: usize = 2 * 100;
/// Daily freezes a meter keeps until they are collected: two days' reads.
pub const DAILY_FREEZES: usize = 3;

const QUARTER_US: u64 = 900 * SimTime::SECOND;

impl MeterModel {
    /// A meter at `initial_wh` at `start`, drawing `load_curve_w`.
    pub fn new(load_curve_w: Vec<i32>, initial_wh: u64, start: SimTime) -> Self {
        MeterModel {
            load_curve_w,
            energy_uwh: 0,
            initial_wh,
            since: start,
            premises: None,
        }
    }

    /// The meter of `home` at `initial_wh` at `start` (the simulation's time being Unix time),
    /// measuring what the home draws as the device on `circuit` controls it, and keeping each
    /// quarter hour's energy (from the first quarter hour that starts at or after `start`)
    /// until it is collected.
    pub fn home(home: Home, circuit: Circuit, initial_wh: u64, start: SimTime) -> Self {
        let unix = (start.0 / SimTime::SECOND) as i64;
        let freezes = Day::containing(unix)
            .ok()
            .filter(|d| d.start() == unix && start.0.is_multiple_of(SimTime::SECOND))
            .map(|d| (d, initial_wh))
            .into_iter()
            .collect();
        MeterModel {
            premises: Some(Box::new(Premises {
                home,
                circuit,
                control: Control::NORMAL,
                quarter: (0, 0),
                carry: 0,
                load_profile: (
                    unix_quarter(SimTime(start.0 + QUARTER_US - 1)),
                    VecDeque::new(),
                ),
                freezes,
            })),
            ..MeterModel::new(Vec::new(), initial_wh, start)
        }
    }

    /// Demand at `t`, watts (for a home: what it draws now, less what its roof makes).
    pub fn demand_at(&self, t: SimTime) -> i32 {
        if let Some(p) = &self.premises {
            let (delivered, received) = p.home.quarter(unix_quarter(t)).metered(&p.control);
            // Wh per quarter hour × 4 = W.
            return ((delivered - received) * 4) as i32;
        }
        let hour = (t.0 / (3600 * SimTime::SECOND)) % 24;
        let curve = &self.load_curve_w;
        curve
            .get(hour as usize % curve.len().max(1))
            .copied()
            .unwrap_or(0)
    }

    /// Summation delivered, Wh, at the last [`MeterModel::advance`].
    pub fn summation_wh(&self) -> u64 {
        self.initial_wh + (self.energy_uwh / 1_000_000) as u64
    }

    /// Integrates demand up to `now`: one hour segment at a time (W × µs / 3600 = µWh), or for
    /// a home one quarter hour or switching of its device at a time.
    pub fn advance(&mut self, now: SimTime) {
        if let Some(mut p) = self.premises.take() {
            self.advance_home(&mut p, now);
            self.premises = Some(p);
            return;
        }
        let hour_us = 3600 * SimTime::SECOND;
        while self.since < now {
            let next = SimTime(((self.since.0 / hour_us) + 1) * hour_us).min(now);
            let watts = u128::from(self.demand_at(self.since).max(0) as u32);
            self.energy_uwh += watts * u128::from(next.0 - self.since.0) / 3600;
            self.since = next;
        }
    }

    fn advance_home(&mut self, p: &mut Premises, now: SimTime) {
        while self.since < now {
            while let Some((_, control)) = p.circuit.next().filter(|(at, _)| *at <= self.since) {
                p.control = control;
                p.circuit.pop();
            }
            let quarter_end = SimTime((self.since.0 / QUARTER_US + 1) * QUARTER_US);
            let mut next = quarter_end.min(now);
            if let Some((at, _)) = p.circuit.next() {
                next = next.min(at);
            }
            let start = unix_quarter(self.since);
            let (delivered, received) = p.home.quarter(start).metered(&p.control);
            // Wh per quarter hour over `dt` µs: Wh × 10⁶ µWh × dt / 900 × 10⁶ µs, the
            // remainder carried so that the register counts a whole quarter hour exactly.
            let dt = u128::from(next.0 - self.since.0);
            let delivered_us = delivered.max(0) as u128 * dt + p.carry;
            p.carry = delivered_us % 900;
            let (d, r) = (delivered_us / 900, received.max(0) as u128 * dt / 900);
            self.energy_uwh += d;
            p.quarter.0 += d;
            p.quarter.1 += r;
            self.since = next;
            if next == quarter_end {
                let wh = |uwh: u128| u16::try_from((uwh + 500_000) / 1_000_000).unwrap_or(u16::MAX);
                let measured = (wh(p.quarter.0), wh(p.quarter.1));
                p.quarter = (0, 0);
                let (first, kept) = &mut p.load_profile;
                // A quarter hour the meter did not measure from its start is not kept.
                if start >= *first {
                    kept.push_back(measured);
                    if kept.len() > LOAD_PROFILE_QUARTERS {
                        kept.pop_front();
                        *first += 900;
                    }
                }
                let end = start + 900;
                if let Ok(day) = Day::containing(end)
                    && day.start() == end
                {
                    p.freezes.push_back((day, self.summation_wh()));
                    if p.freezes.len() > DAILY_FREEZES {
                        p.freezes.pop_front();
                    }
                }
            }
        }
    }

    /// The home's quarter hours measured by `now` and not collected before, oldest first
    /// (consumption, and generation for a solar home), up to the last one whose end `keep`
    /// accepts — the rest wait for the next collection — and a daily register read for each
    /// day whose start and end the register was frozen at and that was not collected before.
    /// Nothing for a meter without a home.
    pub fn collect(&mut self, now: SimTime, keep: impl Fn(i64) -> bool) -> Collected {
        self.advance(now);
        let Some(p) = &mut self.premises else {
            return Collected::default();
        };
        let mut daily = Vec::new();
        while p.freezes.len() >= 2 {
            let Some((day, start)) = p.freezes.pop_front() else {
                break;
            };
            if let Some(&(next, end)) = p.freezes.front()
                && next == day.next()
            {
                daily.push(DailyRead {
                    day,
                    start_wh: start as i64,
                    end_wh: end as i64,
                    quality: Quality::Actual,
                });
            }
        }
        let (first, kept) = &mut p.load_profile;
        let mut n = kept.len();
        while n > 0 && !keep(*first + 900 * n as i64) {
            n -= 1;
        }
        let mut out = Vec::with_capacity(2 * n);
        for (i, (delivered, received)) in kept.drain(..n).enumerate() {
            let start = *first + 900 * i as i64;
            out.push(Interval {
                start,
                channel: Channel::Consumption,
                wh: i64::from(delivered),
                quality: Quality::Actual,
            });
            if p.home.solar() {
                out.push(Interval {
                    start,
                    channel: Channel::Generation,
                    wh: i64::from(received),
                    quality: Quality::Actual,
                });
            }
        }
        *first += 900 * n as i64;
        Collected {
            intervals: out,
            daily,
        }
    }
}

/// The Unix second of the start of the quarter hour holding `t`.
fn unix_quarter(t: SimTime) -> i64 {
    (t.0 / QUARTER_US * 900) as i64
}

/// The simulated ESI: the trust centre and network layer of a meter, running its
/// [`EsiApp`].
#[derive(Debug)]
pub struct Esi {
    /// Name in the scenario.
    pub name: String,
    /// Radio channel.
    pub channel: u8,
    stack: Stack,
    network_key: Key,
    provisioned: Vec<(Eui64, Key)>,
    admitted: Vec<Admitted>,
    device_limit: usize,
    next_short: u16,
    /// The application.
    pub app: EsiApp,
    /// Admit devices it has no install code for, sending their network key under the global
    /// default link key ZigBeeAlliance09 (as a Home Automation trust centre would; an SE
    /// device must refuse it). Off by default: the rig turns it on to test devices.
    pub global_key_fallback: bool,
    /// Key Establishment, when the meter requires it.
    cbke: Option<Box<EsiCbke>>,
}

/// The ESI's side of Key Establishment: the responder, its entropy, and who has a CBKE key.
#[derive(Debug)]
struct EsiCbke {
    responder: Responder,
    rng: Rng,
    /// Devices whose link key is the one Key Establishment derived.
    established: Vec<(Eui64, Key)>,
    /// A deliberate fault of a rig's ESI.
    faults: Option<EsiFaults>,
}

impl Esi {
    /// An ESI forming PAN `pan` on `channel`, with `network_key`, admitting at most
    /// `device_limit` devices.
    pub fn new(
        name: &str,
        eui: Eui64,
        pan: u16,
        channel: u8,
        network_key: Key,
        device_limit: usize,
        meter: MeterModel,
    ) -> Self {
        let mut stack = Stack::new(eui, pan);
        stack.short = Some(0x0000);
        Esi {
            name: name.to_string(),
            channel,
            stack,
            network_key,
            provisioned: Vec::new(),
            admitted: Vec::new(),
            device_limit,
            next_short: 0x1000,
            app: EsiApp::new(name, meter),
            global_key_fallback: false,
            cbke: None,
        }
    }

    /// Require Key Establishment (suite 1) of every device: the ESI answers as responder with
    /// `identity`, serves a device's SE clusters only once the exchange has given it a new link
    /// key, and uses that key from then on.
    pub fn require_cbke(&mut self, identity: Identity, seed: u64) {
        self.cbke = Some(Box::new(EsiCbke {
            responder: Responder::new(identity, crate::cbke::config()),
            rng: Rng::new(seed ^ self.stack.eui.0),
            established: Vec::new(),
            faults: None,
        }));
    }

    /// Break Key Establishment as `faults` says (a rig's ESI testing a device); after
    /// [`Esi::require_cbke`].
    pub fn set_cbke_faults(&mut self, faults: EsiFaults) {
        if let Some(c) = self.cbke.as_mut() {
            c.faults = Some(faults);
        }
    }

    /// The link keys Key Establishment has derived, by device (for the capture's key file).
    pub fn cbke_keys(&self) -> &[(Eui64, Key)] {
        self.cbke.as_ref().map_or(&[], |c| &c.established)
    }

    /// When [`Esi::handle_timeout`] is next due (a Key Establishment wait).
    pub fn next_timeout(&self) -> Option<SimTime> {
        let deadline = self.cbke.as_ref()?.responder.deadline_ms()?;
        Some(crate::cbke::from_ms(deadline))
    }

    /// Runs the ESI's timers up to `now`.
    pub fn handle_timeout(&mut self, now: SimTime, log: &mut Log) -> Vec<Vec<u8>> {
        let Some(cbke) = self.cbke.as_mut() else {
            return Vec::new();
        };
        let step = cbke.responder.poll(crate::cbke::ms(now));
        self.key_establishment_step(now, 0, step, log)
    }

    /// A Key Establishment command from an admitted device.
    fn key_establishment(
        &mut self,
        now: SimTime,
        from: Eui64,
        zcl: &ZclFrame,
        log: &mut Log,
    ) -> Vec<Vec<u8>> {
        let Some(cbke) = self.cbke.as_mut() else {
            // Without CBKE the ESI has no Key Establishment server: ZCL says UNSUP_CLUSTER.
            return Vec::new();
        };
        cbke.responder.set_flaw(match self.app.mutant {
            Some(Mutant::CbkeAcceptsAnyIssuer) => Some(Flaw::AcceptsAnyIssuer),
            Some(Mutant::CbkeSkipsConfirmCheck) => Some(Flaw::SkipsConfirmCheck),
            Some(Mutant::CbkeWrongKdfCounter) => Some(Flaw::WrongKdfCounter),
            Some(Mutant::CbkeNoTimeout) => Some(Flaw::NoTimeout),
            _ => None,
        });
        if let Some(refusal) = cbke.faults.as_mut().and_then(|f| f.intercept(&zcl.command)) {
            let step = Step {
                send: Some((from, refusal)),
                outcome: None,
            };
            return self.key_establishment_step(now, zcl.header.tsn, step, log);
        }
        let rng = &mut cbke.rng;
        let mut step = cbke.responder.handle(
            from,
            &zcl.command,
            crate::cbke::ms(now),
            &mut |buf: &mut [u8]| crate::cbke::fill(rng, buf),
        );
        if let Some(faults) = &cbke.faults {
            step.send = step
                .send
                .and_then(|(to, command)| Some((to, faults.outgoing(command)?)));
        }
        self.key_establishment_step(now, zcl.header.tsn, step, log)
    }

    fn key_establishment_step(
        &mut self,
        now: SimTime,
        tsn: u8,
        step: Step,
        log: &mut Log,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Some((to, command)) = step.send
            && let Some(device) = self.admitted.iter().find(|a| a.eui == to).cloned()
            && let Some(mut frame) = ZclFrame::new(key_establishment::CLUSTER_ID, command, tsn)
        {
            // The ESI is the cluster's server: its Terminate goes server to client too.
            frame.header.direction = Direction::ServerToClient;
            out.extend(self.stack.zcl_frame(
                device.short,
                &self.network_key,
                &device.link_key,
                &frame,
            ));
        }
        match step.outcome {
            Some(Outcome::Established {
                partner,
                link_key: Some(link_key),
            }) => {
                if let Some(a) = self.admitted.iter_mut().find(|a| a.eui == partner) {
                    a.link_key = link_key;
                }
                if let Some(c) = self.cbke.as_mut() {
                    c.established.retain(|(e, _)| *e != partner);
                    c.established.push((partner, link_key));
                }
                // Only now does the application serve it.
                self.app.admit(partner);
                log.push(
                    now,
                    &self.name,
                    "cbke_established",
                    json!({"device": partner.to_string()}),
                );
            }
            Some(Outcome::Failed { partner, failure }) => {
                log.push(
                    now,
                    &self.name,
                    "cbke_failed",
                    json!({"device": partner.to_string(), "reason": format!("{failure:?}")}),
                );
            }
            // Software ECC always hands out the key.
            Some(Outcome::Established { link_key: None, .. }) | None => {}
        }
        out
    }

    fn cbke_done(&self, eui: Eui64) -> bool {
        self.app.mutant == Some(Mutant::ServesBeforeCbke)
            || self
                .cbke
                .as_ref()
                .is_none_or(|c| c.established.iter().any(|(e, _)| *e == eui))
    }

    /// The EUI64.
    pub fn eui(&self) -> Eui64 {
        self.stack.eui
    }

    /// The PAN ID.
    pub fn pan(&self) -> u16 {
        self.stack.pan
    }

    /// The network key.
    pub fn network_key(&self) -> Key {
        self.network_key
    }

    /// Gives the trust centre a device's install code (as a utility provisions a meter).
    pub fn provision(&mut self, eui: Eui64, code: &InstallCode, clusters: Clusters) {
        self.provisioned.retain(|(e, _)| *e != eui);
        self.provisioned.push((eui, code.link_key()));
        self.app.provision(eui, clusters);
    }

    /// Short addresses of the admitted devices.
    pub fn admitted(&self) -> impl Iterator<Item = (Eui64, u16)> + '_ {
        self.admitted.iter().map(|a| (a.eui, a.short))
    }

    /// Handles a frame heard on the channel; returns frames to send.
    pub fn receive(&mut self, now: SimTime, bytes: &[u8], log: &mut Log) -> Vec<Vec<u8>> {
        let link_keys: Vec<Key> = self.admitted.iter().map(|a| a.link_key).collect();
        let Ok(rx) = self.stack.receive(bytes, &[self.network_key], &link_keys) else {
            return Vec::new();
        };
        if let Some(eui) = rx.association_request() {
            return self.associate(now, eui, log);
        }
        if rx.opened.mac.frame_type == mac::FrameType::Command {
            return Vec::new();
        }
        let Some(zcl) = rx.zcl() else {
            return Vec::new();
        };
        let Some(from) = rx.opened.nwk.as_ref().map(|n| n.src) else {
            return Vec::new();
        };
        let Some(device) = self.admitted.iter().find(|a| a.short == from) else {
            return Vec::new();
        };
        let eui = device.eui;
        if zcl.cluster == key_establishment::CLUSTER_ID {
            return self.key_establishment(now, eui, &zcl, log);
        }
        if hanrig_sep::clusters::aps_secured(zcl.cluster) && !self.cbke_done(eui) {
            // SE 1.0: the SE application clusters need the link key Key Establishment gives.
            log.push(
                now,
                &self.name,
                "refused_before_cbke",
                json!({"device": eui.to_string(), "cluster": zcl.cluster}),
            );
            return Vec::new();
        }
        let out = self.app.receive(now, eui, &zcl, log);
        self.transmit(out)
    }

    /// The frames that carry the application's `out`going ZCL frames (to admitted devices; SE
    /// clusters only to those that have done Key Establishment when the meter requires it).
    pub fn transmit(&mut self, out: Vec<Outgoing>) -> Vec<Vec<u8>> {
        let out: Vec<Outgoing> = out
            .into_iter()
            .filter(|o| {
                !hanrig_sep::clusters::aps_secured(o.frame.cluster) || self.cbke_done(o.device)
            })
            .collect();
        out.into_iter()
            .filter_map(|o| {
                let device = self.admitted.iter().find(|a| a.eui == o.device)?.clone();
                self.stack
                    .zcl_frame(device.short, &self.network_key, &device.link_key, &o.frame)
            })
            .collect()
    }

    fn associate(&mut self, now: SimTime, eui: Eui64, log: &mut Log) -> Vec<Vec<u8>> {
        let existing = self.admitted.iter().find(|a| a.eui == eui).map(|a| a.short);
        let provisioned =
            self.provisioned
                .iter()
                .find(|(e, _)| *e == eui)
                .map(|(_, k)| *k)
                .or((self.global_key_fallback
                    || self.app.mutant == Some(Mutant::AdmitsUnprovisioned))
                .then_some(crate::device::ZIGBEE_ALLIANCE_09));
        let (short, status) = match (existing, provisioned) {
            (Some(short), _) => (short, 0x00),
            (None, None) => {
                log.push(now, &self.name, "join_refused", json!({"device": eui.to_string(), "reason": "no install code provisioned for this device (access denied)"}));
                (0xFFFF, 0x02)
            }
            (None, Some(_)) if self.admitted.len() >= self.device_limit => {
                log.push(now, &self.name, "join_refused", json!({"device": eui.to_string(), "reason": format!("device limit of {} reached (PAN at capacity)", self.device_limit)}));
                (0xFFFF, 0x01)
            }
            (None, Some(link_key)) => {
                let short = self.next_short;
                self.next_short = self.next_short.wrapping_add(0x0101);
                self.admitted.push(Admitted {
                    eui,
                    short,
                    link_key,
                });
                if self.cbke.is_none() || self.app.mutant == Some(Mutant::ServesBeforeCbke) {
                    self.app.admit(eui);
                }
                log.push(
                    now,
                    &self.name,
                    "admitted",
                    json!({"device": eui.to_string(), "short": short}),
                );
                (short, 0x00)
            }
        };
        let link_key = self
            .admitted
            .iter()
            .find(|a| a.eui == eui)
            .map(|a| a.link_key);
        let out = self.stack.association_reply(
            eui,
            short,
            status,
            link_key.map(|k| (self.network_key, k)),
        );
        if out.len() == 2 {
            log.push(
                now,
                &self.name,
                "transport_key_sent",
                json!({"device": eui.to_string()}),
            );
        }
        out
    }
}

/// A ZCL frame the ESI's application sends to a device; the network layer under it (the
/// simulated stack, or a co-processor through its host driver) delivers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The device.
    pub device: Eui64,
    /// The frame.
    pub frame: ZclFrame,
}

/// What the utility asks a meter to do, through its head-end: publish a price, a message, an
/// event or a cancel to every device with the client for it, or send one device a ZCL command.
/// Plain data, so that it crosses to a meter in another process as it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Utility {
    /// Publish Price, Display Message, Cancel Message, Load Control Event, or a cancel.
    Publish(Command),
    /// One ZCL command to one device.
    Send {
        /// The device.
        #[serde(with = "eui64_text")]
        device: Eui64,
        /// The cluster.
        cluster: u16,
        /// The command.
        command: Command,
    },
}

/// An EUI64 in JSON as its usual text, `00:12:4b:…`.
mod eui64_text {
    use hanrig_sep::Eui64;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(eui: &Eui64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(eui)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Eui64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("{text:?} is not an EUI64")))
    }
}

/// The ESI's application: the Price, DRLC, Messaging, Metering, Time and Basic servers and the
/// utility's actions, over whatever network carries its frames. The simulated ESI runs it on
/// the simulated stack; a conformance rig runs it on a host over a co-processor.
#[derive(Debug)]
pub struct EsiApp {
    /// Name in logs.
    pub name: String,
    clusters: Vec<(Eui64, Clusters)>,
    members: Vec<Eui64>,
    tsn: u8,
    prices: Vec<Scheduled<PublishPrice>>,
    messages: Vec<Scheduled<DisplayMessage>>,
    events: Vec<Scheduled<LoadControlEvent>>,
    /// The deliberate defect this meter plays, if any (a meter mutant).
    pub mutant: Option<Mutant>,
    /// How its register presents values.
    pub register: Register,
    /// The consumption model.
    pub meter: MeterModel,
}

/// "Until changed" in a duration field.
const UNTIL_CHANGED: u16 = 0xFFFF;
/// How many prices, messages and events the ESI keeps (the oldest goes first).
const TABLE: usize = 16;

/// A price, message or event the ESI sent, with when it starts and ends, so that answers to
/// Get Current Price, Get Scheduled Prices, Get Last Message and Get Scheduled Events say
/// what is in force at the time of asking — as the EmberZNet reference servers do.
#[derive(Debug, Clone)]
struct Scheduled<T> {
    item: T,
    /// UTC seconds (2000 epoch) of its start.
    start: u32,
    /// It was sent with start time 0 ("now"): re-sent as "now" with the minutes left.
    start_now: bool,
    /// Minutes, or [`UNTIL_CHANGED`].
    duration: u16,
    /// Cancelled from this time on.
    cancelled_at: Option<u32>,
}

impl<T: Clone> Scheduled<T> {
    fn new(item: T, now: u32, start_time: UtcTime, duration: u16) -> Self {
        let start_now = start_time == UtcTime::NOW;
        Scheduled {
            item,
            start: if start_now { now } else { start_time.0 },
            start_now,
            duration,
            cancelled_at: None,
        }
    }

    /// When it ends by its own duration (`None`: until changed).
    fn own_end(&self) -> Option<u32> {
        (self.duration != UNTIL_CHANGED)
            .then(|| self.start.saturating_add(60 * u32::from(self.duration)))
    }

    /// Whether it is still in force, or yet to start, at `t`.
    fn pending_at(&self, t: u32, end: Option<u32>) -> bool {
        end.is_none_or(|e| t < e) && self.cancelled_at.is_none_or(|c| t < c)
    }

    /// Start time and duration to send at `now`: a start-now item goes out as "now" with the
    /// minutes it has left, anything else as it was published.
    fn timing_at(&self, now: u32, full_duration: bool) -> (UtcTime, u16) {
        if self.start_now && self.duration != UNTIL_CHANGED && !full_duration {
            let elapsed = (now.saturating_sub(self.start) / 60) as u16;
            (UtcTime::NOW, self.duration.saturating_sub(elapsed))
        } else if self.start_now {
            (UtcTime::NOW, self.duration)
        } else {
            (UtcTime(self.start), self.duration)
        }
    }
}

fn keep<T>(table: &mut Vec<T>, item: T) {
    if table.len() >= TABLE {
        table.remove(0);
    }
    table.push(item);
}

/// How a meter's register presents its values: the Metering attributes 0x0300–0x0304.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Register {
    /// UnitOfMeasure (0x00 kWh, 0x01 m³, …).
    pub unit: u8,
    /// Multiplier.
    pub multiplier: u32,
    /// Divisor.
    pub divisor: u32,
    /// SummationFormatting.
    pub summation_formatting: u8,
    /// DemandFormatting.
    pub demand_formatting: u8,
}

impl Default for Register {
    /// kWh in Wh: multiplier 1, divisor 1000; summation 5.3 digits, demand 2.3.
    fn default() -> Self {
        Register {
            unit: 0x00,
            multiplier: 1,
            divisor: 1000,
            summation_formatting: 0x2B,
            demand_formatting: 0x13,
        }
    }
}

impl EsiApp {
    /// The application of the meter `name`.
    pub fn new(name: &str, meter: MeterModel) -> Self {
        EsiApp {
            name: name.to_string(),
            clusters: Vec::new(),
            members: Vec::new(),
            tsn: 0,
            prices: Vec::new(),
            messages: Vec::new(),
            events: Vec::new(),
            mutant: None,
            register: Register::default(),
            meter,
        }
    }

    /// Records which client clusters a provisioned device implements.
    pub fn provision(&mut self, eui: Eui64, clusters: Clusters) {
        self.clusters.retain(|(e, _)| *e != eui);
        self.clusters.push((eui, clusters));
    }

    /// A device joined: it gets the ESI's messages from now on.
    pub fn admit(&mut self, eui: Eui64) {
        if !self.members.contains(&eui) {
            self.members.push(eui);
        }
    }

    fn clusters_of(&self, eui: Eui64) -> Clusters {
        self.clusters
            .iter()
            .find(|(e, _)| *e == eui)
            .map(|(_, c)| *c)
            .unwrap_or_default()
    }

    fn send(&mut self, device: Eui64, cluster: u16, command: Command) -> Option<Outgoing> {
        self.tsn = self.tsn.wrapping_add(1);
        let mut frame = ZclFrame::new(cluster, command, self.tsn)?;
        // Writing the attributes of a client of a cluster the ESI serves (the DRLC client's
        // utility enrollment group): the frame goes server → client.
        if matches!(frame.command, Command::WriteAttributes(_))
            && matches!(
                cluster,
                price::CLUSTER_ID | drlc::CLUSTER_ID | messaging::CLUSTER_ID
            )
        {
            frame.header.direction = Direction::ServerToClient;
        }
        Some(Outgoing { device, frame })
    }

    fn respond(&mut self, device: Eui64, request: &ZclFrame, command: Command) -> Option<Outgoing> {
        let mut frame = ZclFrame::new(request.cluster, command, request.header.tsn)?;
        if frame.command.key().is_some_and(|k| k.direction.is_none()) {
            frame.header.direction = Direction::ServerToClient;
        }
        Some(Outgoing { device, frame })
    }

    /// Serves a ZCL frame from `device`, which must be a member (see [`EsiApp::admit`]):
    /// the answers to send.
    pub fn receive(
        &mut self,
        now: SimTime,
        device: Eui64,
        request: &ZclFrame,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        if !self.members.contains(&device) {
            return Vec::new();
        }
        let who = device.to_string();
        log.push(
            now,
            &self.name,
            "zcl_received",
            json!({"device": who, "frame": serde_json::to_value(request).unwrap_or_default()}),
        );
        let t = now.utc().0;
        let reply = match &request.command {
            Command::GetCurrentPrice(g)
                if self.mutant == Some(Mutant::IgnoresSleepyRequester)
                    && g.command_options & 0x01 == 0 =>
            {
                None
            }
            Command::GetCurrentPrice(_) => match self.current_price(t) {
                Some(p) => self.respond(device, request, Command::PublishPrice(p)),
                None => self.default_response(device, request, Status::NotFound),
            },
            Command::GetScheduledPrices(g) => {
                // Prices in force or scheduled at the start time asked (0: now), in order of
                // start, at most the number asked (0: all).
                let from = if g.start_time == UtcTime::NOW {
                    t
                } else {
                    g.start_time.0
                };
                let mut answers: Vec<Outgoing> = self
                    .scheduled_prices(t, from, g.number_of_events)
                    .into_iter()
                    .filter_map(|p| self.respond(device, request, Command::PublishPrice(p)))
                    .collect();
                if answers.is_empty() {
                    answers.extend(self.default_response(device, request, Status::NotFound));
                }
                return answers;
            }
            Command::PriceAcknowledgement(ack) => {
                log.push(now, &self.name, "price_acknowledgement", json!({"device": who, "issuer_event_id": ack.issuer_event_id, "price_ack_time": ack.price_ack_time.0}));
                self.default_response(device, request, Status::Success)
            }
            Command::GetLastMessage(_) => match self.last_message(t) {
                Some(m) => self.respond(device, request, Command::DisplayMessage(m)),
                None => self.default_response(device, request, Status::NotFound),
            },
            Command::WriteAttributesResponse(r) => {
                let refused: Vec<serde_json::Value> = r
                    .0
                    .records
                    .iter()
                    .filter(|rec| rec.status != Status::Success)
                    .map(|rec| json!({"attribute": rec.attribute, "status": u8::from(rec.status)}))
                    .collect();
                log.push(
                    now,
                    &self.name,
                    "write_attributes_response",
                    json!({"device": who, "cluster": request.cluster, "refused": refused}),
                );
                None
            }
            Command::MessageConfirmation(c) => {
                log.push(now, &self.name, "message_confirmation", json!({"device": who, "message_id": c.message_id, "confirmation_time": c.confirmation_time.0}));
                self.default_response(device, request, Status::Success)
            }
            Command::ReportEventStatus(r) => {
                log.push(
                    now,
                    &self.name,
                    "report_event_status",
                    json!({"device": who, "issuer_event_id": r.issuer_event_id, "event_status": u8::from(r.event_status),
                           "event_status_name": r.event_status.name(), "event_status_time": r.event_status_time.0}),
                );
                self.default_response(device, request, Status::Success)
            }
            Command::GetScheduledEvents(_)
                if self.mutant == Some(Mutant::IgnoresGetScheduledEvents) =>
            {
                None
            }
            Command::GetScheduledEvents(g) => {
                // Events not yet over or cancelled whose start is at or after the start time
                // asked (0 is no filter: CCB 1297), in order of start and ID, at most the number
                // asked (0: all); none is NOT_FOUND — the EmberZNet reference server.
                let mut answers: Vec<Outgoing> = self
                    .scheduled_events(t, g.start_time.0, g.number_of_events)
                    .into_iter()
                    .filter_map(|e| self.respond(device, request, Command::LoadControlEvent(e)))
                    .collect();
                if answers.is_empty() {
                    answers.extend(self.default_response(device, request, Status::NotFound));
                }
                return answers;
            }
            Command::ReadAttributes(read) => {
                let records: Vec<ReadAttributeStatus> = read
                    .attributes
                    .iter()
                    .map(|id| self.read_attribute(now, request.cluster, id))
                    .collect();
                match Records::from_items(records.iter()) {
                    Ok(records) => self.respond(
                        device,
                        request,
                        Command::ReadAttributesResponse(ReadAttributesResponse { records }),
                    ),
                    Err(_) => self.default_response(device, request, Status::InsufficientSpace),
                }
            }
            Command::GetProfile(gp) => {
                let response = self.profile(now, gp);
                self.respond(device, request, Command::GetProfileResponse(response))
            }
            _ => self.default_response(device, request, Status::UnsupClusterCommand),
        };
        reply.into_iter().collect()
    }

    fn default_response(
        &mut self,
        device: Eui64,
        request: &ZclFrame,
        status: Status,
    ) -> Option<Outgoing> {
        if status == Status::Success
            && (request.header.disable_default_response
                || self.mutant == Some(Mutant::NoDefaultResponse))
        {
            return None;
        }
        let mut frame = ZclFrame::new(
            request.cluster,
            Command::DefaultResponse(DefaultResponse {
                command_id: request.header.command_id,
                status,
            }),
            request.header.tsn,
        )?;
        frame.header.direction = Direction::ServerToClient;
        frame.header.disable_default_response = true;
        Some(Outgoing { device, frame })
    }

    fn read_attribute(&mut self, now: SimTime, cluster: u16, id: u16) -> ReadAttributeStatus {
        let value = match (cluster, id) {
            (metering::CLUSTER_ID, _) => {
                self.meter.advance(now);
                match id {
                    mattr::CURRENT_SUMMATION_DELIVERED => Some(AttrValue::unsigned(
                        DataType::Uint48,
                        self.meter.summation_wh(),
                    )),
                    mattr::INSTANTANEOUS_DEMAND => Some(AttrValue::signed(
                        DataType::Int24,
                        i64::from(self.meter.demand_at(now)),
                    )),
                    mattr::UNIT_OF_MEASURE => Some(AttrValue::unsigned(
                        DataType::Enum8,
                        u64::from(self.register.unit),
                    )),
                    mattr::MULTIPLIER => Some(AttrValue::unsigned(
                        DataType::Uint24,
                        u64::from(self.register.multiplier),
                    )),
                    mattr::DIVISOR => Some(AttrValue::unsigned(
                        DataType::Uint24,
                        if self.mutant == Some(Mutant::DivisorZero) {
                            0
                        } else {
                            u64::from(self.register.divisor)
                        },
                    )),
                    mattr::SUMMATION_FORMATTING => Some(AttrValue::unsigned(
                        DataType::Bitmap8,
                        u64::from(self.register.summation_formatting),
                    )),
                    mattr::DEMAND_FORMATTING => Some(AttrValue::unsigned(
                        DataType::Bitmap8,
                        u64::from(self.register.demand_formatting),
                    )),
                    mattr::STATUS => Some(AttrValue::unsigned(DataType::Bitmap8, 0)),
                    mattr::METERING_DEVICE_TYPE => Some(AttrValue::unsigned(DataType::Bitmap8, 0)),
                    _ => None,
                }
            }
            (time::CLUSTER_ID, time::attribute::TIME) => Some(AttrValue::utc(now.utc())),
            (time::CLUSTER_ID, time::attribute::TIME_STATUS) => {
                Some(AttrValue::unsigned(DataType::Bitmap8, 0x03))
            }
            (basic::CLUSTER_ID, basic::attribute::ZCL_VERSION) => {
                Some(AttrValue::unsigned(DataType::Uint8, 1))
            }
            (basic::CLUSTER_ID, basic::attribute::MANUFACTURER_NAME) => {
                AttrValue::bytes(DataType::CharString, b"hanrig").ok()
            }
            (basic::CLUSTER_ID, basic::attribute::MODEL_IDENTIFIER) => {
                AttrValue::bytes(DataType::CharString, b"sim-esi").ok()
            }
            (basic::CLUSTER_ID, basic::attribute::POWER_SOURCE) => {
                Some(AttrValue::unsigned(DataType::Enum8, 1))
            }
            _ => None,
        };
        ReadAttributeStatus::answer(id, value)
    }

    fn profile(&mut self, now: SimTime, request: &GetProfile) -> GetProfileResponse {
        // Hourly intervals (period code 1) ending at the last full hour before the requested end.
        let hour = 3600 * SimTime::SECOND;
        let end = if request.end_time.0 == 0 {
            now
        } else {
            SimTime::from_utc(request.end_time).min(now)
        };
        let end = SimTime(end.0 / hour * hour);
        let wanted = usize::from(request.number_of_periods).min(24);
        let mut intervals = Vec::new();
        if request.interval_channel == IntervalChannel::ConsumptionDelivered {
            for i in 0..wanted {
                let start = SimTime(end.0.saturating_sub((i as u64 + 1) * hour));
                intervals.push(U24(self.meter.demand_at(start).max(0) as u32 & U24::MAX));
            }
        }
        if self.mutant == Some(Mutant::ProfileOldestFirst) {
            intervals.reverse();
        }
        let status = if request.interval_channel != IntervalChannel::ConsumptionDelivered {
            ProfileStatus::IntervalChannelNotSupported
        } else if wanted < usize::from(request.number_of_periods) {
            ProfileStatus::MorePeriodsRequested
        } else {
            ProfileStatus::Success
        };
        GetProfileResponse {
            end_time: end.utc(),
            status,
            profile_interval_period: 1,
            number_of_periods_delivered: intervals.len() as u8,
            intervals: Records::from_items(intervals.iter()).unwrap_or_default(),
        }
    }

    fn full_duration(&self) -> bool {
        self.mutant == Some(Mutant::FullDurationToLateJoiner)
    }

    /// When the price at `index` ends: by its duration, or — until changed — when a later
    /// price starts.
    fn price_end(&self, index: usize) -> Option<u32> {
        let p = &self.prices[index];
        p.own_end().or_else(|| {
            self.prices
                .iter()
                .filter(|q| q.start > p.start && q.cancelled_at.is_none())
                .map(|q| q.start)
                .min()
        })
    }

    fn with_timing(&self, p: &Scheduled<PublishPrice>, now: u32) -> PublishPrice {
        let mut price = p.item.clone();
        (price.start_time, price.duration_in_minutes) = p.timing_at(now, self.full_duration());
        price.current_time = UtcTime(now);
        price
    }

    /// The price in force at `now` (the newest issuer event ID among those that are), as the
    /// answer to Get Current Price sends it.
    fn current_price(&self, now: u32) -> Option<PublishPrice> {
        if self.mutant == Some(Mutant::StaleCurrentPrice) {
            return self.prices.last().map(|p| self.with_timing(p, now));
        }
        (0..self.prices.len())
            .filter(|&i| {
                self.prices[i].start <= now && self.prices[i].pending_at(now, self.price_end(i))
            })
            .max_by_key(|&i| self.prices[i].item.issuer_event_id)
            .map(|i| self.with_timing(&self.prices[i], now))
    }

    /// Prices in force or scheduled at `from`, in order of start, at most `limit` (0: all).
    fn scheduled_prices(&self, now: u32, from: u32, limit: u8) -> Vec<PublishPrice> {
        let unfiltered = self.mutant == Some(Mutant::ScheduledPricesUnfiltered);
        let mut found: Vec<usize> = (0..self.prices.len())
            .filter(|&i| unfiltered || self.prices[i].pending_at(from.max(now), self.price_end(i)))
            .collect();
        found.sort_by_key(|&i| (self.prices[i].start, self.prices[i].item.issuer_event_id));
        if limit != 0 && !unfiltered {
            found.truncate(usize::from(limit));
        }
        found
            .into_iter()
            .map(|i| self.with_timing(&self.prices[i], now))
            .collect()
    }

    /// The newest message still in force (not expired, not cancelled) at `now`.
    fn last_message(&self, now: u32) -> Option<DisplayMessage> {
        let m = self.messages.last()?;
        if !m.pending_at(now, m.own_end()) && self.mutant != Some(Mutant::LastMessageAfterCancel) {
            return None;
        }
        let mut message = m.item.clone();
        (message.start_time, message.duration_in_minutes) = m.timing_at(now, self.full_duration());
        Some(message)
    }

    /// Events not over or cancelled at `now` that start at or after `from`, by start and ID, at
    /// most `limit` (0: all).
    fn scheduled_events(&self, now: u32, from: u32, limit: u8) -> Vec<LoadControlEvent> {
        let mut found: Vec<&Scheduled<LoadControlEvent>> = self
            .events
            .iter()
            .filter(|e| e.pending_at(now, e.own_end()) && e.start >= from)
            .collect();
        found.sort_by_key(|e| (e.start, e.item.issuer_event_id));
        if limit != 0 {
            found.truncate(usize::from(limit));
        }
        found
            .into_iter()
            .map(|e| {
                let mut event = e.item.clone();
                (event.start_time, event.duration_in_minutes) =
                    e.timing_at(now, self.full_duration());
                event
            })
            .collect()
    }

    fn send_to_each(
        &mut self,
        wants: impl Fn(Clusters) -> bool,
        cluster: u16,
        command: &Command,
    ) -> Vec<Outgoing> {
        let devices: Vec<Eui64> = self
            .members
            .iter()
            .copied()
            .filter(|&eui| wants(self.clusters_of(eui)))
            .collect();
        devices
            .into_iter()
            .filter_map(|d| self.send(d, cluster, command.clone()))
            .collect()
    }

    /// Does what the utility asks (see [`Utility`]); a command that is not the utility's to
    /// publish is logged and ignored.
    pub fn utility(&mut self, now: SimTime, what: Utility, log: &mut Log) -> Vec<Outgoing> {
        match what {
            Utility::Publish(Command::PublishPrice(p)) => self.publish_price(now, p, log),
            Utility::Publish(Command::DisplayMessage(m)) => self.display_message(now, m, log),
            Utility::Publish(Command::CancelMessage(c)) => self.cancel_message(now, c, log),
            Utility::Publish(Command::LoadControlEvent(e)) => self.load_control_event(now, e, log),
            Utility::Publish(Command::CancelLoadControlEvent(c)) => {
                self.cancel_load_control_event(now, c, log)
            }
            Utility::Publish(Command::CancelAllLoadControlEvents(c)) => {
                self.cancel_all(now, c, log)
            }
            Utility::Publish(other) => {
                log.push(
                    now,
                    &self.name,
                    "utility_refused",
                    json!({"command": other.name(), "reason": "not a command the utility publishes"}),
                );
                Vec::new()
            }
            Utility::Send {
                device,
                cluster,
                command,
            } => self.send_zcl(now, device, cluster, command, log),
        }
    }

    /// Sends a ZCL command to one member (nothing if it is not one).
    pub fn send_zcl(
        &mut self,
        now: SimTime,
        device: Eui64,
        cluster: u16,
        command: Command,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        log.push(
            now,
            &self.name,
            "zcl_sent",
            json!({"device": device.to_string(), "cluster": cluster, "command": command.name()}),
        );
        if !self.members.contains(&device) {
            return Vec::new();
        }
        self.send(device, cluster, command).into_iter().collect()
    }

    /// Publishes a price to every member with a Price client; it is also the answer
    /// to Get Current Price from now on.
    pub fn publish_price(
        &mut self,
        now: SimTime,
        mut price: PublishPrice,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        price.current_time = now.utc();
        let t = now.utc().0;
        self.prices
            .retain(|p| p.item.issuer_event_id != price.issuer_event_id);
        keep(
            &mut self.prices,
            Scheduled::new(
                price.clone(),
                t,
                price.start_time,
                price.duration_in_minutes,
            ),
        );
        log.push(
            now,
            &self.name,
            "publish_price",
            json!({"issuer_event_id": price.issuer_event_id, "price": price.price}),
        );
        self.send_to_each(
            |c| c.price,
            price::CLUSTER_ID,
            &Command::PublishPrice(price),
        )
    }

    /// Sends a message to every member with a Messaging client.
    pub fn display_message(
        &mut self,
        now: SimTime,
        message: DisplayMessage,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        let t = now.utc().0;
        self.messages
            .retain(|m| m.item.message_id != message.message_id);
        keep(
            &mut self.messages,
            Scheduled::new(
                message.clone(),
                t,
                message.start_time,
                message.duration_in_minutes,
            ),
        );
        log.push(
            now,
            &self.name,
            "display_message",
            json!({"message_id": message.message_id}),
        );
        self.send_to_each(
            |c| c.messaging,
            messaging::CLUSTER_ID,
            &Command::DisplayMessage(message),
        )
    }

    /// Cancels a message on every device with a Messaging client.
    pub fn cancel_message(
        &mut self,
        now: SimTime,
        cancel: CancelMessage,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        let t = now.utc().0;
        for m in &mut self.messages {
            if m.item.message_id == cancel.message_id {
                m.cancelled_at.get_or_insert(t);
            }
        }
        log.push(
            now,
            &self.name,
            "cancel_message",
            json!({"message_id": cancel.message_id}),
        );
        self.send_to_each(
            |c| c.messaging,
            messaging::CLUSTER_ID,
            &Command::CancelMessage(cancel),
        )
    }

    /// Sends a load control event to every device with a DRLC client.
    pub fn load_control_event(
        &mut self,
        now: SimTime,
        event: LoadControlEvent,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        log.push(
            now,
            &self.name,
            "load_control_event",
            json!({"issuer_event_id": event.issuer_event_id}),
        );
        let t = now.utc().0;
        self.events
            .retain(|e| e.item.issuer_event_id != event.issuer_event_id);
        keep(
            &mut self.events,
            Scheduled::new(
                event.clone(),
                t,
                event.start_time,
                event.duration_in_minutes,
            ),
        );
        let mut event = event;
        if self.mutant == Some(Mutant::DropsEventControl) {
            event.event_control = drlc::EventControl(0);
        }
        self.send_to_each(
            |c| c.drlc,
            drlc::CLUSTER_ID,
            &Command::LoadControlEvent(event),
        )
    }

    /// Cancels a load control event on every device with a DRLC client.
    pub fn cancel_load_control_event(
        &mut self,
        now: SimTime,
        cancel: CancelLoadControlEvent,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        log.push(
            now,
            &self.name,
            "cancel_load_control_event",
            json!({"issuer_event_id": cancel.issuer_event_id}),
        );
        let t = now.utc().0;
        let at = if cancel.effective_time == UtcTime::NOW {
            t
        } else {
            cancel.effective_time.0
        };
        for e in &mut self.events {
            if e.item.issuer_event_id == cancel.issuer_event_id {
                e.cancelled_at.get_or_insert(at);
            }
        }
        self.send_to_each(
            |c| c.drlc,
            drlc::CLUSTER_ID,
            &Command::CancelLoadControlEvent(cancel),
        )
    }

    /// Cancels all load control events on every device with a DRLC client.
    pub fn cancel_all(
        &mut self,
        now: SimTime,
        cancel: CancelAllLoadControlEvents,
        log: &mut Log,
    ) -> Vec<Outgoing> {
        log.push(now, &self.name, "cancel_all_load_control_events", json!({}));
        let t = now.utc().0;
        for e in &mut self.events {
            e.cancelled_at.get_or_insert(t);
        }
        self.send_to_each(
            |c| c.drlc,
            drlc::CLUSTER_ID,
            &Command::CancelAllLoadControlEvents(cancel),
        )
    }
}
