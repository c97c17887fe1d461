//! The conformance model: cases, verdicts and results.

use std::path::PathBuf;

use serde::Serialize;

/// A suite: which side the device under test is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suite {
    /// The DUT is an in-home device; the rig plays the meter's ESI.
    Device,
    /// The DUT is a meter; the rig plays in-home devices.
    Meter,
    /// The whole chain: API, gateway, connector, head-end, ESI, device and back.
    E2e,
}

impl Suite {
    /// The suite's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Device => "device",
            Suite::Meter => "meter",
            Suite::E2e => "e2e",
        }
    }
}

/// What a case needs the DUT to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DutKind {
    /// An in-home display (Price, Messaging, Metering clients).
    InHomeDisplay,
    /// A thermostat (DRLC and Price clients).
    Thermostat,
    /// A load-control device (DRLC client, relay).
    LoadControl,
    /// A meter's ESI.
    Meter,
    /// The gateway system (simulated head-ends and HAN behind it).
    Gateway,
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The DUT did what the case requires.
    Pass,
    /// The DUT did not.
    Fail,
    /// The rig's DUT is not of the kind the case needs.
    NotApplicable,
    /// The case needs an instrument the rig does not have (a relay-sense line, an operator):
    /// it was not run, and says nothing about the DUT.
    Skipped,
    /// The rig itself failed (no radio, bad configuration): says nothing about the DUT.
    RigError,
}

impl Verdict {
    /// The verdict's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotApplicable => "not-applicable",
            Verdict::Skipped => "skipped",
            Verdict::RigError => "rig-error",
        }
    }
}

/// One frame seen during a case, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct FrameRecord {
    /// Virtual time, µs since 1970.
    pub t_us: u64,
    /// ISO 8601 time.
    pub time: String,
    /// Sending node.
    pub from: String,
    /// One-line summary (`MAC … | NWK … | APS … | ZCL …`).
    pub summary: String,
    /// The ZCL frame in the JSON form, when the frame carried one.
    pub zcl: Option<serde_json::Value>,
}

/// The outcome of running one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case identifier, e.g. `DEV-DRLC-004`.
    pub id: String,
    /// Suite.
    pub suite: Suite,
    /// Title.
    pub title: String,
    /// The source or spec clause it checks.
    pub clause: String,
    /// Preconditions.
    pub preconditions: String,
    /// Steps.
    pub steps: Vec<String>,
    /// Expected frames and timing windows, as text.
    pub expected: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Why it failed (empty on pass).
    pub message: String,
    /// On failure: the frame or value the case expected.
    pub expected_observation: Option<String>,
    /// On failure: what was observed instead.
    pub observed: Option<String>,
    /// Wall time the case took, milliseconds.
    pub wall_ms: f64,
    /// Virtual time the case covered, seconds.
    pub virtual_seconds: u64,
    /// Every frame on air during the case.
    pub frames: Vec<FrameRecord>,
    /// What the verdict was reached from: each frame the case judged and each instrument
    /// reading, with its time.
    pub evidence: Vec<Evidence>,
    /// The case drawn against time: frames between rig and DUT, probes, the windows judged.
    pub timeline: Timeline,
    /// The case's capture, relative to the report directory.
    pub capture: Option<PathBuf>,
    /// The capture's key file, relative to the report directory.
    pub keys: Option<PathBuf>,
}

/// One thing a verdict was reached from.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// `air` (a frame the rig heard) or the instrument (`relay-sense line`, `operator`).
    pub source: String,
    /// Seconds from the case's start.
    pub at_s: f64,
    /// What it was, and for an instrument what it answered.
    pub what: String,
}

/// Where a mark goes on a case's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Lane {
    /// A frame from the rig to the DUT.
    ToDut,
    /// A frame from the DUT to the rig.
    FromDut,
    /// An instrument probe.
    Instrument,
}

/// A frame or probe on a case's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// Seconds from the case's start.
    pub at_s: f64,
    /// Its lane.
    pub lane: Lane,
    /// The command or question.
    pub label: String,
    /// Whether the verdict looked at it.
    pub judged: bool,
    /// For a probe: whether what it requires held.
    pub holds: Option<bool>,
}

/// A timing window a case judged against (an expected report, a randomisation bound).
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Start, seconds from the case's start.
    pub from_s: f64,
    /// End, seconds (the rig's tolerance included).
    pub to_s: f64,
    /// What was due in it.
    pub label: String,
}

/// A case drawn against time.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Seconds the drawing spans.
    pub span_s: f64,
    /// Frames and probes.
    pub marks: Vec<Mark>,
    /// Windows.
    pub windows: Vec<Window>,
}

/// What was run, on what.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Rig name (from the rig file).
    pub rig: String,
    /// Rig file path.
    pub rig_file: String,
    /// The DUT, as the rig describes it.
    pub dut: String,
    /// The radio (co-processor or simulated medium).
    pub radio: String,
    /// The simulated mutant under test, if any.
    pub mutant: Option<String>,
    /// hanrig version.
    pub version: String,
    /// When the run started (ISO 8601, wall clock).
    pub started: String,
}
