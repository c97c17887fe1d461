//! Runs cases on a rig and collects results: the rig file, the case loop, and the capture of
//! every case.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hanrig_sep::capture::{KeyFile, PcapngWriter};
use hanrig_sim::device::Mutant;
use serde::Deserialize;

use super::air::{Party, What};
use super::cases::{CASES, Case};
use super::ctx::secs;
use super::ctx::{CaseError, Ctx};
use super::instrument::{Instruments, Reading};
use super::model::{
    CaseResult, DutKind, Evidence, FrameRecord, Lane, Mark, RunInfo, Suite, Timeline, Verdict,
};
use super::serial::SerialRadio;
use crate::bench::{FlashSection, GpioSection};
use hanrig_capture::{CapturedFrame, decode_frame, summary};

/// A rig file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigFile {
    /// The rig.
    pub rig: RigSection,
    /// The device or meter under test.
    pub dut: DutSection,
    /// The radio.
    #[serde(default)]
    pub radio: RadioSection,
    /// GPIO pins of a lab DUT.
    #[serde(default)]
    pub gpio: Option<GpioSection>,
    /// Flashing of a lab DUT.
    #[serde(default)]
    pub flash: Option<FlashSection>,
    /// The instruments the rig has (simulated rigs: every one, answered by the simulated DUT).
    #[serde(default)]
    pub instruments: Option<InstrumentsSection>,
}

/// `[instruments]`: what the rig observes besides the air.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentsSection {
    /// A line sensing the DUT's load output (`simulated` on simulated rigs; `none` without).
    pub relay_sense: InstrumentKind,
    /// A person at the DUT: looks at its display, presses its buttons (`simulated`, or `none`).
    pub operator: InstrumentKind,
}

/// How a rig has an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstrumentKind {
    /// The simulated DUT answers it.
    Simulated,
    /// A lab rig's relay-sense input (`[gpio] relay_sense`).
    Gpio,
    /// A lab rig's operator at this terminal (answers on standard input).
    Terminal,
    /// The rig has none.
    None,
}

impl RigFile {
    /// Reads a rig file.
    pub fn read(path: &Path) -> Result<RigFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading rig {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("rig {}: {e}", path.display()))
    }
}

/// `[rig]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigSection {
    /// Name in reports.
    pub name: String,
    /// `sim` (everything simulated, in-process, virtual time), `sim-serial` or `lab`.
    pub kind: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// Seconds a DUT may lag a deadline (its clock's tick, its radio's retries); simulated
    /// rigs are exact (0), a lab rig defaults to 2.
    #[serde(default)]
    pub tolerance_s: Option<u64>,
}

/// `[dut]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DutSection {
    /// What the DUT is: kinds of `in-home-display`, `thermostat`, `load-control`, `meter`.
    pub kinds: Vec<String>,
    /// Description for reports.
    #[serde(default)]
    pub description: String,
    /// A black-box rig's `hanrig` program, whose `sim dut` plays the DUT in its own process
    /// (default: this program).
    #[serde(default)]
    pub program: Option<PathBuf>,
    /// A lab DUT's EUI64.
    #[serde(default)]
    pub eui64: Option<String>,
    /// A lab DUT's install code (hex, with its CRC), as printed on its label.
    #[serde(default)]
    pub install_code: Option<String>,
    /// How a lab DUT joins at the start of each case: `permit` (it searches by itself),
    /// `button` (the rig holds `[gpio] join_button`) or `operator`.
    #[serde(default)]
    pub join: Option<String>,
    /// Seconds a lab rig waits for its DUT to join (default 120).
    #[serde(default)]
    pub join_timeout_s: Option<u64>,
}

/// `[radio]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RadioSection {
    /// `simulated`, `ezsp` or `znp`.
    #[serde(default)]
    pub kind: String,
    /// Serial port or `socket://host:port`.
    #[serde(default)]
    pub port: String,
    /// Baud rate.
    #[serde(default)]
    pub baud: u32,
    /// EZSP version of a simulated co-processor (13, or 14 and later); 13 when absent.
    #[serde(default)]
    pub ezsp_version: Option<u8>,
}

/// A rig opened for running.
#[derive(Debug)]
pub struct Rig {
    /// The file.
    pub file: RigFile,
    /// Its path.
    pub path: String,
    kinds: Vec<DutKind>,
    /// The co-processor the rig's meter runs on (`None`: everything in process).
    pub radio: Option<SerialRadio>,
    /// The instruments it has.
    pub instruments: Instruments,
    /// Seconds a DUT may lag a deadline.
    pub tolerance_s: u64,
    /// A lab rig's hardware.
    pub lab: Option<std::sync::Arc<super::lab::LabRig>>,
}

fn kind_of(name: &str) -> Option<DutKind> {
    Some(match name {
        "in-home-display" => DutKind::InHomeDisplay,
        "thermostat" => DutKind::Thermostat,
        "load-control" => DutKind::LoadControl,
        "meter" => DutKind::Meter,
        "gateway" => DutKind::Gateway,
        _ => return None,
    })
}

impl Rig {
    /// Reads and opens a rig file. A rig that cannot be opened here (no such hardware, or a
    /// driver this build lacks) is an error that names what is missing: the rig's failure,
    /// not the DUT's.
    pub fn open(path: &Path) -> Result<Rig, String> {
        let file = RigFile::read(path)?;
        let kinds = file
            .dut
            .kinds
            .iter()
            .map(|k| kind_of(k).ok_or_else(|| format!("rig {}: DUT kind {k:?} is not in-home-display, thermostat, load-control, meter or gateway", path.display())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut lab = None;
        let radio = match file.rig.kind.as_str() {
            "sim" => None,
            "sim-serial" => Some(sim_serial_radio(path, &file, &kinds)?),
            // A black-box meter DUT sits among the rig's simulated devices: its kinds may
            // include the meter.
            "sim-blackbox" => Some(SerialRadio {
                dut_program: Some(dut_program(path, &file)?),
                ..sim_serial_radio(path, &file, &[])?
            }),
            "lab" => {
                lab = Some(std::sync::Arc::new(
                    open_lab(&file).map_err(|e| format!("rig {}: {e}", path.display()))?,
                ));
                None
            }
            other => {
                return Err(format!(
                    "rig {}: kind {other:?} is not sim, sim-serial, sim-blackbox or lab",
                    path.display()
                ));
            }
        };
        let instruments = match (&file.instruments, &lab) {
            (None, None) => Instruments::default(),
            (None, Some(_)) => Instruments {
                relay_sense: false,
                operator: false,
            },
            (Some(i), None) => {
                if [i.relay_sense, i.operator]
                    .iter()
                    .any(|k| matches!(k, InstrumentKind::Gpio | InstrumentKind::Terminal))
                {
                    return Err(format!(
                        "rig {}: a simulated rig's instruments are simulated or none (gpio and terminal are a lab rig's)",
                        path.display()
                    ));
                }
                Instruments {
                    relay_sense: i.relay_sense == InstrumentKind::Simulated,
                    operator: i.operator == InstrumentKind::Simulated,
                }
            }
            (Some(i), Some(_)) => Instruments {
                relay_sense: i.relay_sense == InstrumentKind::Gpio,
                operator: i.operator == InstrumentKind::Terminal,
            },
        };
        Ok(Rig {
            path: path.display().to_string(),
            kinds,
            tolerance_s: file
                .rig
                .tolerance_s
                .unwrap_or(if file.rig.kind == "lab" { 2 } else { 0 }),
            instruments,
            file,
            radio,
            lab,
        })
    }

    /// Whether the rig's DUT can play a case's DUT kind.
    pub fn supports(&self, kind: DutKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// Opens a lab rig: its DUT's identity, its co-processor's port, and the bench — the GPIO
/// lines and the operator its rig file asks for. Every missing piece of hardware is named, so
/// that one look at the bench fixes them all; a rig that cannot open is the rig's failure, not
/// the DUT's.
fn open_lab(file: &RigFile) -> Result<super::lab::LabRig, String> {
    use super::lab::{Bench, JoinBy, LabRig, terminal_operator};
    let dut = &file.dut;
    let eui64 = dut
        .eui64
        .as_deref()
        .ok_or("a lab rig names its DUT: [dut] eui64")?;
    let eui64: hanrig_sep::Eui64 = eui64
        .parse()
        .map_err(|e| format!("[dut] eui64 {eui64:?}: {e:?}"))?;
    let install_code = dut
        .install_code
        .clone()
        .ok_or("a lab rig holds its DUT's install code: [dut] install_code")?;
    install_code
        .parse::<hanrig_sep::install_code::InstallCode>()
        .map_err(|e| format!("[dut] install_code: {e}"))?;
    let join = JoinBy::parse(dut.join.as_deref().unwrap_or("permit"))?;
    if !matches!(file.radio.kind.as_str(), "ezsp" | "znp") {
        return Err(format!(
            "a lab rig's [radio] kind is ezsp or znp, not {:?}",
            file.radio.kind
        ));
    }
    let port = &file.radio.port;
    if port.is_empty() {
        return Err("a lab rig needs [radio] port (the co-processor's serial port)".into());
    }
    let (relay, operator) = match &file.instruments {
        Some(i) => (i.relay_sense, i.operator),
        None => (InstrumentKind::None, InstrumentKind::None),
    };
    if relay == InstrumentKind::Simulated || operator == InstrumentKind::Simulated {
        return Err("a lab rig's DUT is real: its instruments are relay_sense = gpio or none, operator = terminal or none".into());
    }
    if join == JoinBy::Operator && operator != InstrumentKind::Terminal {
        return Err("[dut] join = \"operator\" needs [instruments] operator = \"terminal\"".into());
    }
    let mut missing = Vec::new();
    if !port.starts_with("socket://") && !Path::new(port).exists() {
        missing.push(format!(
            "the {} co-processor: {port} does not exist (is it plugged in?)",
            file.radio.kind
        ));
    }
    let mut bench = Bench {
        press_join: None,
        relay_sense: None,
        operator: (operator == InstrumentKind::Terminal).then(terminal_operator),
    };
    let needs_gpio = join == JoinBy::Button || relay == InstrumentKind::Gpio;
    match (&file.gpio, needs_gpio) {
        (_, false) => {}
        (None, true) => {
            return Err("a lab rig that holds the DUT's join button or senses its relay needs a [gpio] section".into());
        }
        (Some(gpio), true) => {
            gpio.check()?;
            if relay == InstrumentKind::Gpio && gpio.relay_sense.is_none() {
                return Err(
                    "[instruments] relay_sense = \"gpio\" needs [gpio] relay_sense (the input pin)"
                        .into(),
                );
            }
            match crate::bench::bench_lines(
                gpio,
                join == JoinBy::Button,
                relay == InstrumentKind::Gpio,
            ) {
                Ok((press, sense)) => {
                    bench.press_join = press;
                    bench.relay_sense = sense;
                }
                Err(e) => missing.push(format!("the DUT's lines on GPIO: {e}")),
            }
        }
    }
    if !missing.is_empty() {
        return Err(format!("missing hardware — {}", missing.join("; ")));
    }
    Ok(LabRig {
        protocol: file.radio.kind.clone(),
        port: port.clone(),
        baud: if file.radio.baud == 0 {
            115_200
        } else {
            file.radio.baud
        },
        eui64,
        install_code,
        join,
        join_timeout: std::time::Duration::from_secs(dut.join_timeout_s.unwrap_or(120)),
        bench: std::sync::Arc::new(std::sync::Mutex::new(bench)),
    })
}

/// The radio of a `sim-serial` rig: hanrig's simulated EZSP co-processor on a pseudo-terminal.
fn sim_serial_radio(path: &Path, file: &RigFile, kinds: &[DutKind]) -> Result<SerialRadio, String> {
    let at = path.display();
    if file.radio.kind != "ezsp" || file.radio.port != "pty" {
        return Err(format!(
            "rig {at}: a sim-serial rig's radio is kind = \"ezsp\", port = \"pty\" (the simulated co-processor on a pseudo-terminal), not kind = {:?}, port = {:?}",
            file.radio.kind, file.radio.port
        ));
    }
    if kinds.contains(&DutKind::Meter) {
        return Err(format!(
            "rig {at}: on a sim-serial rig the co-processor plays the meter's ESI, so its DUT is an in-home device (in-home-display, thermostat, load-control), not a meter"
        ));
    }
    let ezsp_version = file.radio.ezsp_version.unwrap_or(13);
    if ezsp_version < 13 {
        return Err(format!(
            "rig {at}: the simulated co-processor speaks EZSP 13 or later, not {ezsp_version}"
        ));
    }
    Ok(SerialRadio {
        ezsp_version,
        baud: if file.radio.baud == 0 {
            115_200
        } else {
            file.radio.baud
        },
        dut_program: None,
    })
}

/// The program a black-box rig starts its DUT with: `[dut] program`, or this one.
fn dut_program(path: &Path, file: &RigFile) -> Result<PathBuf, String> {
    if let Some(program) = &file.dut.program {
        return Ok(program.clone());
    }
    let this = std::env::current_exe()
        .map_err(|e| format!("rig {}: finding this program: {e}", path.display()))?;
    if this
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("hanrig"))
    {
        Ok(this)
    } else {
        Err(format!(
            "rig {}: a black-box rig starts its DUT with `hanrig sim dut`; name the hanrig program in [dut] program",
            path.display()
        ))
    }
}

/// Cases selected by suite and IDs (all when none given); unknown IDs are an error.
pub fn select(suite: Option<&str>, ids: &[String]) -> Result<Vec<&'static Case>, String> {
    if let Some(s) = suite
        && !matches!(s, "device" | "meter" | "e2e")
    {
        return Err(format!("suite {s:?} is not device, meter or e2e"));
    }
    for id in ids {
        if !CASES.iter().any(|c| c.id.eq_ignore_ascii_case(id)) {
            return Err(format!("no case {id:?}; `hanrig list` shows them"));
        }
    }
    Ok(CASES
        .iter()
        .filter(|c| suite.is_none_or(|s| c.suite.name() == s))
        .filter(|c| ids.is_empty() || ids.iter().any(|id| c.id.eq_ignore_ascii_case(id)))
        .copied()
        .collect())
}

/// Runs one case.
pub fn run_case(
    rig: &Rig,
    case: &Case,
    mutant: Option<Mutant>,
    report_dir: Option<&Path>,
) -> CaseResult {
    let started = Instant::now();
    let mut result = CaseResult {
        id: case.id.to_string(),
        suite: case.suite,
        title: case.title.to_string(),
        clause: case.clause.to_string(),
        preconditions: case.preconditions.to_string(),
        steps: case.steps.iter().map(|s| s.to_string()).collect(),
        expected: case.expected.to_string(),
        verdict: Verdict::Pass,
        message: String::new(),
        expected_observation: None,
        observed: None,
        wall_ms: 0.0,
        virtual_seconds: 0,
        frames: Vec::new(),
        evidence: Vec::new(),
        timeline: Timeline::default(),
        capture: None,
        keys: None,
    };
    if !rig.supports(case.dut) {
        result.verdict = Verdict::NotApplicable;
        result.message = format!("the rig's DUT is not a {:?}", case.dut);
        return result;
    }
    // A device mutant replaces device DUTs, a meter mutant meter DUTs.
    let mut ctx = Ctx {
        mutant: mutant.filter(|m| match case.suite {
            Suite::Device => !m.is_meter(),
            Suite::Meter => m.is_meter(),
            Suite::E2e => false,
        }),
        radio: rig.radio.clone(),
        instruments: rig.instruments,
        tolerance_s: rig.tolerance_s,
        lab: rig.lab.clone(),
        ..Ctx::default()
    };
    match (case.run)(&mut ctx) {
        Ok(()) => {}
        Err(CaseError::Fail {
            message,
            expected,
            observed,
        }) => {
            result.verdict = Verdict::Fail;
            result.message = message;
            result.expected_observation = Some(expected);
            result.observed = Some(observed);
        }
        Err(CaseError::Rig(message)) => {
            result.verdict = Verdict::RigError;
            result.message = message;
        }
        Err(CaseError::Skip(message)) => {
            result.verdict = Verdict::Skipped;
            result.message = message;
        }
    }
    (result.evidence, result.timeline) = evidence_and_timeline(&ctx);
    if let Some(output) = &ctx.output {
        let mut keys: KeyFile = output.keys.clone();
        result.frames = output
            .capture
            .iter()
            .enumerate()
            .map(|(index, (t, _, bytes))| {
                let v = decode_frame(
                    &CapturedFrame {
                        timestamp_us: t.0,
                        bytes: bytes.clone(),
                    },
                    index,
                    &mut keys,
                );
                let from = match (&v["nwk"]["src"], &v["mac"]["src"]) {
                    (serde_json::Value::Number(n), _) => {
                        format!("0x{:04x}", n.as_u64().unwrap_or(0))
                    }
                    (_, serde_json::Value::String(s)) => s.clone(),
                    (_, other) => other.to_string(),
                };
                FrameRecord {
                    t_us: t.0,
                    time: t.utc().to_string(),
                    from,
                    summary: summary(&v),
                    zcl: v.get("zcl").cloned(),
                }
            })
            .collect();
        let first = output.capture.first().map(|c| c.0.0).unwrap_or(0);
        let last = output.simulation.now().0;
        result.virtual_seconds = last.saturating_sub(first) / 1_000_000;
        if let Some(dir) = report_dir {
            let (pcap, keyfile) = (
                PathBuf::from("captures").join(format!("{}.pcapng", case.id)),
                PathBuf::from("captures").join(format!("{}.keys", case.id)),
            );
            if write_capture(dir, &pcap, &keyfile, output).is_ok() {
                result.capture = Some(pcap);
                result.keys = Some(keyfile);
            }
        }
    }
    result.wall_ms = started.elapsed().as_secs_f64() * 1e3;
    result
}

/// What a case's verdict came from, and the case drawn against time: the frames between rig and
/// DUT (those the verdict looked at marked), the probes with their readings, the windows.
fn evidence_and_timeline(ctx: &Ctx) -> (Vec<Evidence>, Timeline) {
    let judged = ctx.judged.borrow();
    let mut evidence: Vec<Evidence> = Vec::new();
    for (t_us, what) in judged.iter() {
        let item = Evidence {
            source: "air".into(),
            at_s: secs(*t_us),
            what: what.clone(),
        };
        if !evidence
            .iter()
            .any(|e| e.at_s == item.at_s && e.what == item.what)
        {
            evidence.push(item);
        }
    }
    let mut marks: Vec<Mark> = ctx
        .air
        .frames
        .iter()
        .filter_map(|h| {
            let lane = match (h.from, h.to) {
                (Party::Rig(_), Party::Dut) => Lane::ToDut,
                (Party::Dut, Party::Rig(_)) => Lane::FromDut,
                _ => return None,
            };
            let label = match &h.what {
                What::Zcl(z) => match &z.frame {
                    Ok(f) => f.command.name().to_string(),
                    Err(e) => format!("malformed: {e}"),
                },
                What::AssociationRequest => "association request".into(),
                What::AssociationResponse { status, .. } => {
                    format!("association response {status:#04x}")
                }
                What::TransportKey => "transport key".into(),
                What::Other => return None,
            };
            Some(Mark {
                at_s: secs(h.t_us),
                lane,
                judged: judged.iter().any(|(t, _)| *t == h.t_us),
                label,
                holds: None,
            })
        })
        .collect();
    for s in &ctx.samples {
        let at_s = s.at_ms as f64 / 1000.0;
        let (holds, answer) = match &s.reading {
            Some(Reading::Answered { holds, saw }) => (
                Some(*holds),
                format!("{}: {saw}", if *holds { "yes" } else { "no" }),
            ),
            Some(Reading::Unavailable(why)) => (None, format!("unavailable: {why}")),
            None => (None, "not probed".into()),
        };
        evidence.push(Evidence {
            source: s.probe.instrument().name().into(),
            at_s,
            what: format!("{} {answer}", s.probe.question()),
        });
        marks.push(Mark {
            at_s,
            lane: Lane::Instrument,
            label: s.probe.question(),
            judged: true,
            holds,
        });
    }
    evidence.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    let windows = ctx.windows.borrow().clone();
    let end = secs(ctx.end_us);
    let span_s = marks
        .iter()
        .map(|m| m.at_s)
        .chain(windows.iter().map(|w| w.to_s))
        .fold(end, f64::max);
    (
        evidence,
        Timeline {
            span_s,
            marks,
            windows,
        },
    )
}

fn write_capture(
    dir: &Path,
    pcap: &Path,
    keys: &Path,
    output: &hanrig_sim::scenario::RunOutput,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("captures"))?;
    let file = std::fs::File::create(dir.join(pcap))?;
    let mut writer = PcapngWriter::new(std::io::BufWriter::new(file), "hanrig run")?;
    for (t, _, frame) in &output.capture {
        writer.write_frame(t.0, frame)?;
    }
    writer.finish()?;
    std::fs::write(dir.join(keys), output.keys.to_text())
}

/// What a run is, for reports.
pub fn run_info(rig: &Rig, mutant: Option<Mutant>) -> RunInfo {
    RunInfo {
        rig: rig.file.rig.name.clone(),
        rig_file: rig.path.clone(),
        dut: if rig.file.dut.description.is_empty() {
            rig.file.dut.kinds.join(", ")
        } else {
            rig.file.dut.description.clone()
        },
        radio: if rig.file.radio.kind.is_empty() {
            "simulated medium (in-process, virtual time)".into()
        } else {
            format!("{} {}", rig.file.radio.kind, rig.file.radio.port)
        },
        mutant: mutant.map(|m| m.name().to_string()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started: hanrig_sim::clock::SimTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_micros() as u64)
                .unwrap_or(0),
        )
        .utc()
        .to_string(),
    }
}
