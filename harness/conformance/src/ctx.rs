//! What a case runs with: the rig's simulated network, the DUT (healthy or a mutant), and
//! helpers to state expectations as expected-versus-observed.

use std::sync::{Arc, Mutex};

use hanrig_sep::Eui64;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::{Mutant, Panel};
use hanrig_sim::scenario::{RunOutput, Scenario};
use hanrig_sim::sim::{Happening, Node, Simulation};

use std::cell::RefCell;

use super::air::{Air, Heard, Parties};
use super::instrument::{Instrument, Instruments, Probe, Reading, Sample};
use super::model::Window;
use super::serial::SerialRadio;
use hanrig_sim::scenario::{
    Action, DeviceSpec, DeviceStep, MeterSpec, Step, UserEventStep, UserMessageStep,
};

/// Why a case did not pass.
#[derive(Debug, Clone)]
pub enum CaseError {
    /// The DUT did not do what the case requires.
    Fail {
        /// What went wrong.
        message: String,
        /// What the case expected.
        expected: String,
        /// What it observed.
        observed: String,
    },
    /// The rig could not run the case.
    Rig(String),
    /// The case needs an instrument the rig does not have.
    Skip(String),
}

/// The outcome of a case.
pub type Outcome = Result<(), CaseError>;

/// A failure.
pub fn fail(
    message: impl Into<String>,
    expected: impl Into<String>,
    observed: impl Into<String>,
) -> CaseError {
    CaseError::Fail {
        message: message.into(),
        expected: expected.into(),
        observed: observed.into(),
    }
}

/// Fails unless `ok`.
pub fn check(
    ok: bool,
    message: &str,
    expected: impl Into<String>,
    observed: impl Into<String>,
) -> Outcome {
    if ok {
        Ok(())
    } else {
        Err(fail(message, expected, observed))
    }
}

/// The simulated network of one case.
#[derive(Debug, Default)]
pub struct Ctx {
    /// The mutant playing the DUT, if any.
    pub mutant: Option<Mutant>,
    /// The co-processor the rig's meter runs on; `None`: the whole network is simulated in
    /// process.
    pub radio: Option<SerialRadio>,
    /// The last run, for the report's frames and capture — not for verdicts, which come from
    /// [`Ctx::air`] and [`Ctx::samples`].
    pub(crate) output: Option<RunOutput>,
    /// What the rig heard on the air during the last run.
    pub air: Air,
    /// The instrument probes of the case, with their readings once it ran.
    pub samples: Vec<Sample>,
    /// Seconds a real DUT may lag a deadline (its clock's tick, its radio's retries): 0 on
    /// simulated rigs, which are exact.
    pub tolerance_s: u64,
    /// The instruments the rig has.
    pub instruments: Instruments,
    /// Frames the case judged, as (time µs since 1970, what), for the report.
    pub judged: RefCell<Vec<(u64, String)>>,
    /// Windows the case judged against, for the report.
    pub windows: RefCell<Vec<Window>>,
    /// A lab rig: the DUT is real, reached through the rig's co-processor and instruments.
    pub lab: Option<Arc<super::lab::LabRig>>,
    /// Where the last run ended, µs since 1970 on the case's clock.
    pub end_us: u64,
}

/// Start of every case's virtual time.
pub const START: &str = "2026-07-01T14:00:00Z";

/// A case's network: `meters` and `devices` on a lossless medium from [`START`] for
/// `duration`, seed 42, nothing on the timeline yet.
pub fn case_network(duration: &str, meters: Vec<MeterSpec>, devices: Vec<DeviceSpec>) -> Scenario {
    Scenario {
        name: "case".into(),
        description: String::new(),
        seed: 42,
        start: START.into(),
        duration: duration.into(),
        medium: Default::default(),
        meters,
        devices,
        timeline: Vec::new(),
    }
}

/// Adds a step to a case's timeline at `at` (`30s`, `1h`…).
pub fn at(scenario: &mut Scenario, at: &str, action: Action) {
    scenario.timeline.push(Step {
        at: at.into(),
        action,
    });
}

/// The DUT's EUI64 and the rig's, from the case's network: the node called `dut` is the DUT,
/// every other node is the rig's. (A lab rig takes the same from its rig file.)
fn parties(scenario: &Scenario) -> Result<Parties, CaseError> {
    let eui = |text: &str| {
        text.parse::<Eui64>()
            .map_err(|e| CaseError::Rig(format!("case scenario: EUI64 {text:?}: {e:?}")))
    };
    let mut rig = Vec::new();
    let mut dut = None;
    let mut dut_install_key = None;
    let mut coordinator = None;
    for m in &scenario.meters {
        let e = eui(&m.eui64)?;
        coordinator.get_or_insert(e);
        if m.name == "dut" {
            dut = Some(e);
        } else {
            rig.push(e);
        }
    }
    for d in &scenario.devices {
        if d.name == "dut" {
            dut = Some(eui(&d.eui64)?);
            dut_install_key = d
                .install_code
                .parse::<hanrig_sep::install_code::InstallCode>()
                .ok()
                .map(|c| c.link_key());
        } else {
            rig.push(eui(&d.eui64)?);
        }
    }
    Ok(Parties {
        rig,
        dut: dut.ok_or_else(|| CaseError::Rig("case scenario: no node called dut".into()))?,
        dut_install_key,
        coordinator: coordinator.ok_or_else(|| CaseError::Rig("case scenario: no meter".into()))?,
    })
}

/// What the DUT showed the world at each probe of a run, by probe index.
pub type Looks = Arc<Mutex<Vec<(usize, Panel)>>>;

/// Schedules a look at the DUT's panel (what an instrument or a person sees of it) at each
/// probe's time; the looks land in the returned list as the run passes them.
pub fn schedule_looks(simulation: &mut Simulation, samples: &[Sample]) -> Looks {
    let looks: Looks = Arc::default();
    let Some(dut) = simulation.node_index("dut") else {
        return looks;
    };
    let start = SimTime(start_us());
    for (index, sample) in samples.iter().enumerate() {
        let looks = Arc::clone(&looks);
        simulation.schedule(
            start.plus(sample.at_ms * 1000),
            Happening::Act(Box::new(move |now, nodes, _log| {
                let panel = match nodes.get_mut(dut) {
                    Some(Node::Device(d)) => Some(d.panel(now)),
                    // A DUT in its own process answers over its instrument channel.
                    Some(Node::Remote(r)) => r.panel(now),
                    _ => None,
                };
                if let (Some(panel), Ok(mut looks)) = (panel, looks.lock()) {
                    looks.push((index, panel));
                }
                Vec::new()
            })),
        );
    }
    looks
}

impl Ctx {
    /// Records that the verdict looks at frame `h` (as `what`), for the report.
    pub fn judge(&self, h: &Heard, what: impl Into<String>) {
        self.judged.borrow_mut().push((h.t_us, what.into()));
    }

    /// Records a window the verdict judges against (seconds from the start).
    pub fn window(&self, from_s: u64, to_s: u64, label: impl Into<String>) {
        self.windows.borrow_mut().push(Window {
            from_s: from_s as f64,
            to_s: to_s as f64,
            label: label.into(),
        });
    }

    /// Probes the DUT through an instrument `at_s` seconds (fractions allowed) after the start;
    /// [`Ctx::probes_hold`] judges the readings once the case ran.
    pub fn probe(&mut self, at_s: f64, probe: Probe) {
        self.samples.push(Sample {
            at_ms: (at_s * 1000.0).round() as u64,
            probe,
            reading: None,
        });
    }

    /// Fails at the first probe whose reading is not what it requires.
    pub fn probes_hold(&self) -> Outcome {
        for s in &self.samples {
            match &s.reading {
                Some(Reading::Answered { holds: true, .. }) => {}
                Some(Reading::Answered { holds: false, saw }) => {
                    return Err(fail(
                        format!("{}: no", s.describe()),
                        s.probe.question(),
                        format!("{}: {saw}", s.probe.instrument().name()),
                    ));
                }
                Some(Reading::Unavailable(why)) => {
                    return Err(CaseError::Rig(format!("{}: {why}", s.describe())));
                }
                None => {
                    return Err(CaseError::Rig(format!(
                        "{}: the run ended before the probe",
                        s.describe()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Refuses — as skipped, naming what is missing — a case that needs an instrument the rig
    /// lacks: a probe's, or an operator's hands for a person's action at the DUT.
    fn instruments_present(&self, scenario: &Scenario) -> Outcome {
        for s in &self.samples {
            if !self.instruments.has(s.probe.instrument()) {
                return Err(CaseError::Skip(format!(
                    "needs the {} ({}), which the rig does not have ([instruments] {})",
                    s.probe.instrument().name(),
                    s.describe(),
                    s.probe.instrument().key()
                )));
            }
        }
        let hands = scenario.timeline.iter().any(|step| {
            matches!(&step.action,
                Action::ConfirmMessage(UserMessageStep { device, .. }) if device == "dut")
                || matches!(&step.action,
                    Action::OptOut(UserEventStep { device, .. })
                    | Action::OptIn(UserEventStep { device, .. }) if device == "dut")
                || matches!(&step.action, Action::ReadMetering(DeviceStep { device }) if device == "dut")
        });
        if hands && !self.instruments.has(Instrument::Operator) {
            return Err(CaseError::Skip(
                "needs an operator at the DUT's buttons, which the rig does not have ([instruments] operator)".into(),
            ));
        }
        Ok(())
    }

    /// Runs a case's network, built in code (the node called `dut` is the device under test); the
    /// run stays in [`Ctx::output`] for the report, what the rig heard in [`Ctx::air`] and the
    /// probes' readings in [`Ctx::samples`].
    pub fn run_scenario(&mut self, parsed: &Scenario) -> Result<(), CaseError> {
        self.instruments_present(parsed)?;
        if let Some(lab) = self.lab.clone() {
            let run = lab.run(parsed, &mut self.samples)?;
            self.air = run.air;
            self.end_us = run.end_us;
            return Ok(());
        }
        let parties = parties(parsed)?;
        let meter_dut = parsed.meters.iter().any(|m| m.name == "dut");
        let (output, looks) = if let Some(radio) = self.radio.as_ref().filter(|_| !meter_dut) {
            super::serial::run(parsed, self.mutant, radio, &self.samples)?
        } else {
            // A meter DUT sits among the rig's devices on the medium: in this process, or — on a
            // black-box rig — in a process of its own, reached over the air and the utility's
            // channel.
            let mut built = parsed
                .build()
                .map_err(|e| CaseError::Rig(format!("case scenario: {e}")))?;
            let program = self.radio.as_ref().and_then(|r| r.dut_program.clone());
            match self.mutant {
                _ if program.is_some() => {
                    if let (Some(p), Some(index)) = (&program, built.simulation.node_index("dut")) {
                        let dut = super::serial::spawn_meter_dut(p, parsed, self.mutant)?;
                        built
                            .simulation
                            .replace_node(index, Node::Remote(Box::new(dut)));
                    }
                }
                Some(m) if m.is_meter() => {
                    if let Some(meter) = built.meter_mut("dut") {
                        meter.app.mutant = Some(m);
                    }
                }
                Some(m) => {
                    if let Some(dut) = built.device_mut("dut") {
                        dut.set_mutant(m);
                    }
                }
                None => {}
            }
            let looks = schedule_looks(&mut built.simulation, &self.samples);
            let output = built
                .run()
                .map_err(|e| CaseError::Rig(format!("case run: {e}")))?;
            if let Some(Node::Remote(dut)) = output
                .simulation
                .node_index("dut")
                .map(|i| &output.simulation.nodes[i])
                && let Some(e) = &dut.error
            {
                return Err(CaseError::Rig(e.clone()));
            }
            (output, looks)
        };
        if let Ok(looks) = looks.lock() {
            for (index, panel) in looks.iter() {
                if let Some(s) = self.samples.get_mut(*index) {
                    s.reading = Some(s.probe.answer(panel));
                }
            }
        }
        // The rig opens frames only with keys it holds itself: a key Key Establishment gave
        // only the DUT (one it derived wrongly) is not the rig's.
        let dut_only = dut_only_keys(&output.simulation);
        let keys: Vec<_> = output
            .keys
            .keys
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| !dut_only.contains(k))
            .collect();
        self.air = Air::from_capture(
            output.capture.iter().map(|(t, _, b)| (t.0, &b[..])),
            &keys,
            &parties,
        );
        self.end_us = output.simulation.now().0;
        self.output = Some(output);
        Ok(())
    }
}

/// The Key Establishment keys the node `dut` holds that no other node holds.
fn dut_only_keys(sim: &hanrig_sim::sim::Simulation) -> Vec<[u8; 16]> {
    let held = |node: &Node| -> Vec<[u8; 16]> {
        match node {
            Node::Esi(esi) => esi.cbke_keys().iter().map(|(_, k)| *k).collect(),
            Node::Device(d) => d.cbke_key().into_iter().collect(),
            // The rig's radio: the link keys of its members.
            Node::Coordinator(c) => c.members().iter().map(|m| m.link_key).collect(),
            Node::Remote(_) => Vec::new(),
        }
    };
    let Some(dut) = sim.node_index("dut") else {
        return Vec::new();
    };
    let rig: Vec<[u8; 16]> = sim
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != dut)
        .flat_map(|(_, n)| held(n))
        .collect();
    held(&sim.nodes[dut])
        .into_iter()
        .filter(|k| !rig.contains(k))
        .collect()
}

/// Seconds from the start of a time in µs since 1970.
pub fn secs(t_us: u64) -> f64 {
    t_us.saturating_sub(start_us()) as f64 / 1e6
}

/// µs since 1970 of [`START`].
pub fn start_us() -> u64 {
    hanrig_sim::scenario::parse_time(START)
        .map(|t| t.0)
        .unwrap_or(0)
}
