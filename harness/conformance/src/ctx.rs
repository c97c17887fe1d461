//! What a case runs with: the rig's simulated network, the DUT (healthy or a mutant), and
//! helpers to state expectations as expected-versus-observed.

use std::cell::RefCell;
use std::sync::Arc;

use hanrig_scenario::mutant::Mutant;
use hanrig_scenario::scenario::{
    Action, DeviceSpec, DeviceStep, MeterSpec, Scenario, Step, UserEventStep, UserMessageStep,
};
use hanrig_sep::Eui64;

use super::air::{Air, Heard, Parties};
use super::instrument::{Instrument, Instruments, Probe, Reading, Sample};
use super::model::Window;
use super::rig::{Capture, Rig};

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

/// One case's run on a rig: what the rig heard and read, and what the case judged by.
#[derive(Debug)]
pub struct Ctx {
    /// The rig.
    pub rig: Arc<dyn Rig>,
    /// The mutant playing the DUT, if any.
    pub mutant: Option<Mutant>,
    /// The last run's capture, for the report — not for verdicts, which come from
    /// [`Ctx::air`] and [`Ctx::samples`].
    pub(crate) capture: Option<Capture>,
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
pub fn parties(scenario: &Scenario) -> Result<Parties, CaseError> {
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

impl Ctx {
    /// A case's context on `rig`, with `mutant` playing its DUT.
    pub fn new(rig: Arc<dyn Rig>, mutant: Option<Mutant>) -> Ctx {
        let profile = rig.profile();
        Ctx {
            tolerance_s: profile.tolerance_s,
            instruments: profile.instruments,
            rig,
            mutant,
            capture: None,
            air: Air::default(),
            samples: Vec::new(),
            judged: RefCell::default(),
            windows: RefCell::default(),
            end_us: 0,
        }
    }

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

    /// Runs a case's network, built in code (the node called `dut` is the device under test), on
    /// the rig: what it heard lands in [`Ctx::air`], the probes' readings in [`Ctx::samples`],
    /// the capture (for the report) in the context.
    pub fn run_scenario(&mut self, parsed: &Scenario) -> Result<(), CaseError> {
        self.instruments_present(parsed)?;
        let observed = self.rig.run(parsed, self.mutant, &mut self.samples)?;
        self.air = observed.air;
        self.end_us = observed.end_us;
        self.capture = observed.capture;
        Ok(())
    }
}

/// Seconds from the start of a time in µs since 1970.
pub fn secs(t_us: u64) -> f64 {
    t_us.saturating_sub(start_us()) as f64 / 1e6
}

/// µs since 1970 of [`START`].
pub fn start_us() -> u64 {
    hanrig_scenario::scenario::parse_time(START)
        .map(|t| t.0)
        .unwrap_or(0)
}
