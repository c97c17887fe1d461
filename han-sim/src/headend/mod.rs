//! Simulated TDSP head-ends wired to simulated meters and in-home devices, one front per
//! head-end style ([`hanrig_headend`]) over one shared HAN core, [`Han`]: a request's ZCL
//! frame goes, after the TDSP's network latency, from each target meter's ESI to its device
//! over the simulated HAN, and each target's progress follows what happens there — sent,
//! delivered (the device received it), acknowledged (the device answered: Report Event
//! Status, Message Confirmation, Price Acknowledgement), failed (the mesh lost it) or expired.
//!
//! - [`JobsHeadEnd`]: the job style (submit, poll), served by [`serve_jobs`];
//! - [`CimHeadEnd`]: IEC 61968-9 `create EndDeviceControls` answered with a `ResponseMessage`,
//!   results posted as `created EndDeviceEvents` to the ReplyAddress, served by [`serve_cim`];
//! - [`MultiSpeakHeadEnd`]: MultiSpeak 4.1 `Initiate*` answered with `errorObject`s,
//!   notifications posted to the responseURL, served by [`serve_multispeak`].
//!
//! Sans-IO: time is an argument; HTTP shells serve them on a sped-up [`Clock`].

use std::collections::HashMap;

use hanrig_device::Rng;
use hanrig_device::drlc::DrlcConfig;
use hanrig_headend::jobs::TargetState;
use hanrig_sep::clusters::drlc::{DeviceClass, EventStatus};
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::{Command, Eui64, ZclFrame};
use hanrig_usage::day::{Day, compact_local, parse_compact_local};

use crate::clock::SimTime;
use crate::device::{DeviceKind, SimDevice};
use crate::esi::{Collected, Esi, MeterModel};
use crate::household::{BillingCycle, Circuit, Home};
use crate::sim::{Happening, MediumConfig, Node, Simulation};

mod cim;
mod http;
mod jobs;
mod multispeak;

pub use cim::CimHeadEnd;
pub use http::{Outgoing, serve_cim, serve_cim_shared, serve_multispeak, serve_multispeak_shared};
pub use jobs::{JobsHeadEnd, serve_jobs, serve_jobs_shared};
pub use multispeak::MultiSpeakHeadEnd;

/// A head-end front of any style, over its HAN.
pub trait Front: Send + 'static {
    /// The HAN behind it.
    fn han(&mut self) -> &mut Han;
}

impl Front for JobsHeadEnd {
    fn han(&mut self) -> &mut Han {
        &mut self.han
    }
}

impl Front for CimHeadEnd {
    fn han(&mut self) -> &mut Han {
        &mut self.han
    }
}

impl Front for MultiSpeakHeadEnd {
    fn han(&mut self) -> &mut Han {
        &mut self.han
    }
}

/// How the TDSP's network delays and loses downlink traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Shortest head-end → meter delay, µs.
    pub min_us: u64,
    /// Longest, µs (delays are drawn evenly between the two).
    pub max_us: u64,
    /// Share of targets the network never reaches.
    pub loss: f64,
}

impl Latency {
    /// An RF mesh (Landis+Gyr, Itron): 5–90 s, 1 % lost.
    pub const RF_MESH: Latency = Latency {
        min_us: 5_000_000,
        max_us: 90_000_000,
        loss: 0.01,
    };
    /// Cellular meters: 30–180 s, 2 % lost.
    pub const CELLULAR: Latency = Latency {
        min_us: 30_000_000,
        max_us: 180_000_000,
        loss: 0.02,
    };
}

#[derive(Debug)]
struct Target {
    target: String,
    /// The meter's ESI and its device.
    nodes: (usize, usize),
    /// When the ESI sends it (None: lost in the network).
    sends_at: Option<SimTime>,
    /// For a read ([`Han::read`]): the register, Wh, once the meter has read it.
    register: Option<Register>,
}

/// Where a meter puts its register when a read reaches it.
type Register = std::sync::Arc<std::sync::Mutex<Option<u64>>>;

#[derive(Debug)]
struct Batch {
    targets: Vec<Target>,
    expires_at: SimTime,
    /// The frame's cluster and command ID, to recognise it and its answers.
    cluster: u16,
    command_id: u8,
    /// The device's answer that acknowledges it: its log event and the SE ID it carries
    /// (`None` for Cancel All, which any Report Event Status answers).
    answer: Option<(&'static str, &'static str, Option<u32>)>,
    /// For a pairing ([`Han::pair`]), instead of a frame: whether the device asked for is the
    /// meter's simulated device with the install code it joined with.
    pairing: Option<bool>,
    /// An on-demand read ([`Han::read`]) instead of a frame.
    read: bool,
}

/// The answer that acknowledges `command`: Report Event Status for a load-control event or
/// its cancel (same issuer event ID), Message Confirmation for a text (same message ID),
/// Price Acknowledgement for a price (same issuer event ID), Write Attributes Response for a
/// Write Attributes. Other commands have none.
fn answer_to(command: &Command) -> Option<(&'static str, &'static str, Option<u32>)> {
    Some(match command {
        Command::LoadControlEvent(e) => (
            "report_event_status",
            "issuer_event_id",
            Some(e.issuer_event_id),
        ),
        Command::CancelLoadControlEvent(c) => (
            "report_event_status",
            "issuer_event_id",
            Some(c.issuer_event_id),
        ),
        Command::CancelAllLoadControlEvents(_) => ("report_event_status", "issuer_event_id", None),
        Command::DisplayMessage(m) => ("message_confirmation", "message_id", Some(m.message_id)),
        Command::PublishPrice(p) => (
            "price_acknowledgement",
            "issuer_event_id",
            Some(p.issuer_event_id),
        ),
        // Writing a client's attributes (the utility enrollment group): its response.
        Command::WriteAttributes(_) => ("write_attributes_response", "cluster", None),
        _ => return None,
    })
}

/// A batch of deliveries started on the HAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(usize);

/// Where one target of a batch is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The target as requested (ESIID or device EUI64).
    pub target: String,
    /// Its stage, in the job vocabulary every front maps from.
    pub state: TargetState,
    /// The head-end's or device's words (e.g. `Report Event Status: Started`).
    pub detail: String,
    /// The device's last Report Event Status, if it sent one.
    pub event_status: Option<EventStatus>,
    /// For a read: the meter's register, Wh, and when it read it.
    pub reading: Option<(u64, SimTime)>,
}

impl Progress {
    /// Whether nothing follows.
    pub fn is_final(&self) -> bool {
        matches!(
            self.state,
            TargetState::Acknowledged | TargetState::Failed | TargetState::Expired
        )
    }
}

/// The HAN behind a simulated head-end, shared by every front: meters and their devices,
/// network latency and loss per TDSP, and each batch's progress as the HAN makes it.
#[derive(Debug)]
pub struct Han {
    sim: Simulation,
    /// ESIIDs and device EUI64s (as `Eui64` displays them) → (ESI, device) nodes.
    targets: HashMap<String, (usize, usize)>,
    batches: Vec<Batch>,
    latency: Latency,
    rng: Rng,
    /// The day the meters started measuring, at its midnight.
    first_day: Option<Day>,
    /// Each meter's billing cycle, by ESIID.
    cycles: HashMap<String, BillingCycle>,
}

/// The body (without CRC) of the install code every simulated device joined with.
pub const INSTALL_CODE: [u8; 16] = [
    0x83, 0xFE, 0xD3, 0x40, 0x7A, 0x93, 0x97, 0x23, 0xA5, 0xC6, 0x39, 0xB2, 0x69, 0x16, 0xD5, 0x05,
];

/// The EUI64 of the device on the meter `esiid` of a simulated head-end: TI's OUI and 40 bits
/// of the ESIID's FNV-1a hash, so that the devices of several head-ends (one per TDSP) are
/// told apart as they are in the field.
pub fn device_eui(esiid: &str) -> Eui64 {
    let hash = esiid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    Eui64(0x0012_4B00_0000_0000 | (hash & 0xFF_FFFF_FFFF))
}

impl Han {
    /// A HAN of `meters` (ESIID and the kind of its one device), each on a PAN of its own,
    /// devices joined by install code before `start`. Targets are the ESIIDs and the
    /// devices' EUI64s ([`device_eui`]).
    pub fn new(
        meters: &[(String, DeviceKind)],
        latency: Latency,
        seed: u64,
        start: SimTime,
    ) -> Han {
        let code = InstallCode::from_body(&INSTALL_CODE).ok();
        let mut nodes = Vec::with_capacity(2 * meters.len());
        let mut index = HashMap::new();
        // Each meter has measured its home since the day began (the lab's history ends the day
        // before).
        let unix = i64::try_from(start.0 / SimTime::SECOND).unwrap_or(0);
        let first_day = Day::containing(unix).ok();
        let midnight = first_day
            .map(|d| SimTime::from_unix_seconds(u64::try_from(d.start()).unwrap_or(0)))
            .unwrap_or(start)
            .min(start);
        for (i, (esiid, kind)) in meters.iter().enumerate() {
            let (home, circuit) = (Home::of(esiid), Circuit::default());
            let pan = (i % 0xFFF0) as u16 + 1;
            let channel = 11 + ((i / 0xFFF0) % 16) as u8;
            let mut esi = Esi::new(
                esiid,
                Eui64(0x000D_6F00_0000_0000 | i as u64),
                pan,
                channel,
                [0x5A; 16],
                5,
                MeterModel::home(home, circuit.clone(), home.register_origin(), midnight),
            );
            let eui = device_eui(esiid);
            let Some(code) = &code else { break };
            esi.provision(eui, code, kind.clusters());
            let mut device = SimDevice::new(
                &format!("{esiid}-device"),
                *kind,
                eui,
                code,
                (pan, channel),
                DrlcConfig {
                    device_class: DeviceClass(0xFFFF),
                    utility_enrollment_group: 0,
                    start_randomization_minutes: 0,
                    duration_randomization_minutes: 0,
                },
                seed ^ i as u64,
            );
            device.wire(circuit);
            let pair = (nodes.len(), nodes.len() + 1);
            index.insert(esiid.clone(), pair);
            index.insert(eui.to_string(), pair);
            nodes.push(Node::Esi(Box::new(esi)));
            nodes.push(Node::Device(Box::new(device)));
        }
        let joined_by = SimTime(start.0.saturating_sub(60 * SimTime::SECOND));
        let mut sim = Simulation::new(nodes, MediumConfig::default(), seed, joined_by);
        sim.keep_capture = false;
        sim.log.discard = false;
        let mut devices: Vec<usize> = index.values().map(|&(_, d)| d).collect();
        devices.sort_unstable();
        devices.dedup();
        for device in devices {
            sim.schedule(
                joined_by,
                Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[device] {
                    Node::Device(d) => vec![(device, d.start_join(now, log))],
                    _ => Vec::new(),
                })),
            );
        }
        sim.run_until(start);
        Han {
            sim,
            targets: index,
            batches: Vec::new(),
            latency,
            rng: Rng::new(seed),
            first_day,
            cycles: HashMap::new(),
        }
    }

    /// How many frames of `cluster` and `command_id` the device of `target` has received by
    /// `now` (0 for an unknown target).
    pub fn received(&mut self, target: &str, cluster: u16, command_id: u8, now: SimTime) -> usize {
        self.sim.run_until(now.max(self.sim.now()));
        let Some(&(_, device)) = self.targets.get(target) else {
            return 0;
        };
        let name = node_name(&self.sim, device);
        self.sim
            .log
            .events
            .iter()
            .filter(|e| {
                e["event"] == "zcl_received"
                    && e["node"] == name.as_str()
                    && e["frame"]["cluster"] == cluster
                    && e["frame"]["header"]["command_id"] == command_id
            })
            .count()
    }

    /// Whether `target` (an ESIID or device EUI64) is a meter or device of this head-end.
    pub fn knows(&self, target: &str) -> bool {
        self.targets.contains_key(target)
    }

    /// The HAN's time.
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// Starts delivering ZCL frame `zcl` of `cluster` to every one of `targets` (all known:
    /// see [`Han::knows`]); undelivered targets expire after `expires_at`. Refuses a frame
    /// that does not parse, or an unknown target, saying which.
    pub fn send(
        &mut self,
        cluster: u16,
        zcl: &[u8],
        targets: &[String],
        expires_at: SimTime,
        now: SimTime,
    ) -> Result<BatchId, String> {
        let frame =
            ZclFrame::parse(cluster, zcl).map_err(|e| format!("zcl does not parse: {e:?}"))?;
        if targets.is_empty() {
            return Err("no targets".into());
        }
        if let Some(unknown) = targets.iter().find(|t| !self.knows(t)) {
            return Err(format!(
                "{unknown}: no such meter or device at this head-end"
            ));
        }
        self.sim.run_until(now.max(self.sim.now()));
        let mut list = Vec::with_capacity(targets.len());
        for target in targets {
            let Some(&(esi, device)) = self.targets.get(target) else {
                continue;
            };
            let sends_at = self.draw_latency(now);
            if let Some(at) = sends_at {
                let command = frame.command.clone();
                self.sim.schedule(
                    at,
                    Happening::Act(Box::new(move |now, nodes, log| {
                        let eui = match &nodes[device] {
                            Node::Device(d) => d.eui(),
                            _ => return Vec::new(),
                        };
                        match &mut nodes[esi] {
                            Node::Esi(e) => {
                                let out = e.app.send_zcl(now, eui, cluster, command, log);
                                vec![(esi, e.transmit(out))]
                            }
                            _ => Vec::new(),
                        }
                    })),
                );
            }
            list.push(Target {
                target: target.clone(),
                nodes: (esi, device),
                sends_at,
                register: None,
            });
        }
        self.batches.push(Batch {
            targets: list,
            expires_at,
            cluster,
            command_id: frame.header.command_id,
            answer: answer_to(&frame.command),
            pairing: None,
            read: false,
        });
        Ok(BatchId(self.batches.len() - 1))
    }

    /// Whether `target` is one of this head-end's meters (an ESIID, not a device EUI64).
    pub fn is_meter(&self, target: &str) -> bool {
        // A meter's ESI is named by its ESIID (see `Han::new`).
        self.targets
            .get(target)
            .is_some_and(|&(esi, _)| node_name(&self.sim, esi) == target)
    }

    /// Starts pairing device `eui64` with `install_code` on meter `esiid` (facts §1.4, §2,
    /// §3: the head-end opens the meter's pairing window for that device and install code);
    /// its progress comes from [`Han::progress`] like a delivery's, one target (the ESIID).
    ///
    /// After the network's latency the ESI opens the window. If the meter's simulated device
    /// is `eui64` and `install_code` is the code it joined with ([`INSTALL_CODE`]), it is
    /// registered then (acknowledged, "registered"). Honestly: that device is already in the
    /// field — it joined with that code before the head-end started — and its re-join is not
    /// simulated on the radio; the registration is decided from the trust centre's record of
    /// the device and its code, as a re-join with that code would succeed and any other code
    /// would fail to decrypt. A device no simulated device has, or another code, never joins:
    /// the pairing stays sent until `window_end`, then fails ("no device joined with that
    /// install code before the pairing window closed"). A window that closes before it reaches
    /// the meter fails the same way. Lost in the network (the latency's loss): failed, "no
    /// route to meter". An unknown meter (or a device EUI64 given as the meter) is refused,
    /// saying so, as deliveries are.
    pub fn pair(
        &mut self,
        esiid: &str,
        eui64: Eui64,
        install_code: &InstallCode,
        window_end: SimTime,
        now: SimTime,
    ) -> Result<BatchId, String> {
        if !self.is_meter(esiid) {
            return Err(format!("{esiid}: no such meter at this head-end"));
        }
        let Some(&(esi, device)) = self.targets.get(esiid) else {
            return Err(format!("{esiid}: no such meter at this head-end"));
        };
        self.sim.run_until(now.max(self.sim.now()));
        let sends_at = self.draw_latency(now);
        let joined_with = InstallCode::from_body(&INSTALL_CODE).ok();
        let is_device = matches!(&self.sim.nodes[device], Node::Device(d) if d.eui() == eui64);
        let matches =
            is_device && joined_with.is_some_and(|c| c.as_bytes() == install_code.as_bytes());
        self.batches.push(Batch {
            targets: vec![Target {
                target: esiid.to_string(),
                nodes: (esi, device),
                sends_at,
                register: None,
            }],
            expires_at: window_end,
            cluster: 0,
            command_id: 0,
            answer: None,
            pairing: Some(matches),
            read: false,
        });
        Ok(BatchId(self.batches.len() - 1))
    }

    /// Starts an on-demand read of meter `esiid` (headend-facts §2, §3): after the network's
    /// latency the request reaches the meter, which reads its register (energy delivered,
    /// integrated from its load up to that instant) and answers; its progress comes from
    /// [`Han::progress`], acknowledged "read" with [`Progress::reading`]. Lost in the network:
    /// failed, "no route to meter"; not reached before `expires_at`: expired. An unknown meter
    /// (or a device EUI64) is refused, saying so.
    pub fn read(
        &mut self,
        esiid: &str,
        expires_at: SimTime,
        now: SimTime,
    ) -> Result<BatchId, String> {
        let Some(&(esi, device)) = self.targets.get(esiid).filter(|_| self.is_meter(esiid)) else {
            return Err(format!("{esiid}: no such meter at this head-end"));
        };
        self.sim.run_until(now.max(self.sim.now()));
        let sends_at = self.draw_latency(now);
        let register = Register::default();
        if let Some(at) = sends_at.filter(|at| *at <= expires_at) {
            let cell = register.clone();
            self.sim.schedule(
                at,
                Happening::Act(Box::new(move |now, nodes, _| {
                    if let Node::Esi(e) = &mut nodes[esi] {
                        e.app.meter.advance(now);
                        *cell.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(e.app.meter.summation_wh());
                    }
                    Vec::new()
                })),
            );
        }
        self.batches.push(Batch {
            targets: vec![Target {
                target: esiid.to_string(),
                nodes: (esi, device),
                sends_at,
                register: Some(register),
            }],
            expires_at,
            cluster: 0,
            command_id: 0,
            answer: None,
            pairing: None,
            read: true,
        });
        Ok(BatchId(self.batches.len() - 1))
    }

    /// Every meter's quarter hours and daily register reads measured by `now` and not
    /// collected before, by ESIID, in the order the meters were given (see
    /// [`MeterModel::collect`]). Each meter's run of quarter hours ends at a time that happens
    /// once in Texas, so a file can name it: quarter hours in the repeated fall-back hour wait
    /// until it is over.
    pub fn collect_intervals(&mut self, now: SimTime) -> Vec<(String, Collected)> {
        self.sim.run_until(now.max(self.sim.now()));
        let once = |t: i64| parse_compact_local(&compact_local(t)).is_ok_and(|u| u == t);
        let mut out = Vec::new();
        for node in &mut self.sim.nodes {
            if let Node::Esi(e) = node {
                let collected = e.app.meter.collect(now, once);
                if collected != Collected::default() {
                    out.push((e.name.clone(), collected));
                }
            }
        }
        out
    }

    /// [`Han::collect_intervals`] as the body of a TDSP's interval file ([`hanrig_usage::lse`]):
    /// per meter, a block per channel, its daily register reads, and the monthly billing read
    /// of each period that a daily read closes ([`BillingCycle`], read on [`Home::read_day`]);
    /// `None` when nothing is new.
    pub fn interval_file(&mut self, now: SimTime) -> Option<String> {
        use hanrig_usage::lse::{write_billing, write_daily, write_meter};
        let mut text = String::new();
        for (esiid, collected) in self.collect_intervals(now) {
            let intervals = &collected.intervals;
            if let (Some(first), Some(last)) = (intervals.first(), intervals.last()) {
                write_meter(&mut text, &esiid, first.start, last.start + 900, intervals);
            }
            for read in &collected.daily {
                write_daily(&mut text, &esiid, read);
                let cycle = self.cycle(&esiid);
                if let Some(billed) = cycle.daily(read) {
                    write_billing(&mut text, &esiid, &billed);
                }
            }
        }
        (!text.is_empty()).then_some(text)
    }

    /// `esiid`'s billing cycle. The first time, the period in progress when the meters started
    /// began on the last read date before: its register is what the meter said then, by the
    /// same home model the lab's history is written from ([`Home::registers_before`]).
    fn cycle(&mut self, esiid: &str) -> &mut BillingCycle {
        let first_day = self.first_day;
        self.cycles.entry(esiid.to_string()).or_insert_with(|| {
            let home = Home::of(esiid);
            let Some(first_day) = first_day else {
                return BillingCycle::new(home.read_day());
            };
            let mut read_date = first_day;
            while read_date.date().day() != home.read_day() {
                read_date = read_date.previous();
            }
            let registers = home.registers_before(read_date, first_day);
            let wh = registers.first().map_or(0, |&(_, wh)| wh as i64);
            BillingCycle::since(home.read_day(), read_date, wh)
        })
    }

    /// When a request leaving the head-end at `now` reaches the meter (`None`: lost).
    fn draw_latency(&mut self, now: SimTime) -> Option<SimTime> {
        let lost = (self.rng.next_u64() as f64 / u64::MAX as f64) < self.latency.loss;
        let span = self.latency.max_us.saturating_sub(self.latency.min_us);
        let delay = self.latency.min_us
            + if span > 0 {
                self.rng.next_u64() % span
            } else {
                0
            };
        (!lost).then(|| now.plus(delay))
    }

    /// Each batch's targets' progress at `now` (the HAN runs up to then), in the order of
    /// `batches`; an unknown batch has none.
    pub fn progress(&mut self, batches: &[BatchId], now: SimTime) -> Vec<Vec<Progress>> {
        self.sim.run_until(now.max(self.sim.now()));
        // One pass over the log: each node's answers (ESIs) and receptions (devices).
        let mut events: HashMap<&str, Vec<&serde_json::Value>> = HashMap::new();
        for e in &self.sim.log.events {
            let relevant = matches!(
                e["event"].as_str(),
                Some(
                    "report_event_status"
                        | "message_confirmation"
                        | "price_acknowledgement"
                        | "write_attributes_response"
                        | "zcl_received"
                )
            );
            if let (true, Some(node)) = (relevant, e["node"].as_str()) {
                events.entry(node).or_default().push(e);
            }
        }
        batches
            .iter()
            .map(|id| match self.batches.get(id.0) {
                Some(batch) => batch
                    .targets
                    .iter()
                    .map(|t| target_progress(&self.sim, &events, batch, t, now))
                    .collect(),
                None => Vec::new(),
            })
            .collect()
    }
}

fn target_progress(
    sim: &Simulation,
    events: &HashMap<&str, Vec<&serde_json::Value>>,
    batch: &Batch,
    t: &Target,
    now: SimTime,
) -> Progress {
    let (esi, device) = t.nodes;
    let progress = |state, detail: &str, event_status| Progress {
        target: t.target.clone(),
        state,
        detail: detail.to_string(),
        event_status,
        reading: None,
    };
    let Some(at) = t.sends_at else {
        return progress(TargetState::Failed, "no route to meter", None);
    };
    if let Some(matches) = batch.pairing {
        return match (
            matches,
            at <= now,
            at <= batch.expires_at,
            now > batch.expires_at,
        ) {
            (true, true, true, _) => progress(TargetState::Acknowledged, "registered", None),
            (_, _, _, true) => progress(
                TargetState::Failed,
                "no device joined with that install code before the pairing window closed",
                None,
            ),
            (_, false, _, false) => progress(TargetState::Queued, "on its way to the meter", None),
            (_, true, _, false) => progress(
                TargetState::Sent,
                "pairing window open, waiting for the device to join",
                None,
            ),
        };
    }
    if batch.read {
        let register = t
            .register
            .as_ref()
            .and_then(|r| *r.lock().unwrap_or_else(|p| p.into_inner()));
        return match register {
            Some(wh) if at <= now => Progress {
                reading: Some((wh, at)),
                ..progress(TargetState::Acknowledged, "read", None)
            },
            _ if now > batch.expires_at => progress(
                TargetState::Expired,
                "the meter was not read before expiry",
                None,
            ),
            _ => progress(TargetState::Queued, "on its way to the meter", None),
        };
    }
    if at > now {
        return if now > batch.expires_at {
            progress(TargetState::Expired, "not delivered before expiry", None)
        } else {
            progress(TargetState::Queued, "on its way to the meter", None)
        };
    }
    let of = |index: usize| -> Vec<&serde_json::Value> {
        events
            .get(node_name(sim, index).as_str())
            .map(|v| {
                v.iter()
                    .filter(|e| e["t_us"].as_u64().unwrap_or(0) >= at.0)
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    };
    // Only the device's answer to this command (a thermostat's Report Event Status about an
    // earlier event does not acknowledge a text), and only from this target's device.
    let device_eui = match &sim.nodes[device] {
        Node::Device(d) => d.eui().to_string(),
        _ => String::new(),
    };
    let answered = batch.answer.and_then(|(event, id_field, id)| {
        of(esi).into_iter().rfind(|e| {
            e["event"] == event
                && e["device"]
                    .as_str()
                    .is_none_or(|d| d.eq_ignore_ascii_case(&device_eui))
                && id.is_none_or(|id| e[id_field].as_u64() == Some(u64::from(id)))
        })
    });
    let received = of(device).iter().any(|e| {
        e["event"] == "zcl_received"
            && e["frame"]["cluster"] == batch.cluster
            && e["frame"]["header"]["command_id"] == batch.command_id
    });
    match (answered, received) {
        (Some(a), _) if a["refused"].as_array().is_some_and(|r| !r.is_empty()) => progress(
            TargetState::Failed,
            &format!("the device refused the attributes: {}", a["refused"]),
            None,
        ),
        (Some(a), _) => {
            let status = a["event_status"]
                .as_u64()
                .and_then(|s| u8::try_from(s).ok())
                .map(EventStatus::from);
            let detail = match a["event"].as_str() {
                Some("report_event_status") => format!(
                    "Report Event Status: {}",
                    a["event_status_name"].as_str().unwrap_or("?")
                ),
                Some(other) => other.replace('_', " "),
                None => String::new(),
            };
            progress(TargetState::Acknowledged, &detail, status)
        }
        (None, true) => progress(TargetState::Delivered, "delivered to the device", None),
        (None, false) if now > batch.expires_at => {
            progress(TargetState::Expired, "not delivered before expiry", None)
        }
        (None, false) => progress(TargetState::Sent, "sent to the meter", None),
    }
}

fn node_name(sim: &Simulation, index: usize) -> String {
    match &sim.nodes[index] {
        Node::Esi(e) => e.name.clone(),
        Node::Device(d) => d.name.clone(),
        Node::Coordinator(c) => c.name.clone(),
        Node::Remote(r) => r.name.clone(),
    }
}

/// Maps wall time onto the simulation's: `start` when served, then `speed` times as fast
/// (tests and demos shrink minutes of mesh latency to milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The virtual time at `since`.
    pub start: SimTime,
    /// The wall instant that corresponds to `start`.
    pub since: std::time::Instant,
    /// Virtual seconds per wall second.
    pub speed: f64,
}

impl Clock {
    /// Virtual time now.
    pub fn now(&self) -> SimTime {
        let elapsed = self.since.elapsed().as_secs_f64() * self.speed;
        self.start.plus((elapsed * 1e6) as u64)
    }
}
