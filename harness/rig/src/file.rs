//! Rig files (`rigs/*.toml`) and the rigs they open.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hanrig_conformance::ctx::CaseError;
use hanrig_conformance::instrument::{Instruments, Sample};
use hanrig_conformance::model::DutKind;
use hanrig_conformance::rig::{Observed, Profile, Rig};
use hanrig_scenario::mutant::Mutant;
use hanrig_scenario::scenario::Scenario;
use serde::Deserialize;

use crate::bench::{FlashSection, GpioSection};
use crate::lab::LabRig;
use crate::serial::SerialRadio;

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

/// A rig file opened for running: the conformance harness's [`Rig`].
#[derive(Debug)]
pub struct OpenRig {
    /// The file.
    pub file: RigFile,
    profile: Profile,
    backend: Backend,
}

/// Where a rig's cases run.
#[derive(Debug)]
enum Backend {
    /// Everything in this process, on one simulated medium.
    InProcess,
    /// The rig's ESI on this host, through the host driver to a simulated co-processor; with a
    /// DUT program, the black box.
    Serial(SerialRadio),
    /// A real co-processor and the DUT on the bench.
    Lab(Arc<LabRig>),
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

impl OpenRig {
    /// Reads and opens a rig file. A rig that cannot be opened here (no such hardware, or a
    /// driver this build lacks) is an error that names what is missing: the rig's failure,
    /// not the DUT's.
    pub fn open(path: &Path) -> Result<OpenRig, String> {
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
                lab = Some(Arc::new(
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
        let tolerance_s =
            file.rig
                .tolerance_s
                .unwrap_or(if file.rig.kind == "lab" { 2 } else { 0 });
        let profile = Profile {
            name: file.rig.name.clone(),
            file: path.display().to_string(),
            dut: if file.dut.description.is_empty() {
                file.dut.kinds.join(", ")
            } else {
                file.dut.description.clone()
            },
            radio: if file.radio.kind.is_empty() {
                "simulated medium (in-process, virtual time)".into()
            } else {
                format!("{} {}", file.radio.kind, file.radio.port)
            },
            kinds,
            instruments,
            tolerance_s,
            real_dut: lab.is_some(),
        };
        let backend = match (lab, radio) {
            (Some(lab), _) => Backend::Lab(lab),
            (None, Some(radio)) => Backend::Serial(radio),
            (None, None) => Backend::InProcess,
        };
        Ok(OpenRig {
            file,
            profile,
            backend,
        })
    }

    /// The simulated co-processor of a `sim-serial` or `sim-blackbox` rig.
    pub fn radio(&self) -> Option<&SerialRadio> {
        match &self.backend {
            Backend::Serial(radio) => Some(radio),
            _ => None,
        }
    }
}

impl Rig for OpenRig {
    fn profile(&self) -> &Profile {
        &self.profile
    }

    fn run(
        &self,
        scenario: &Scenario,
        mutant: Option<Mutant>,
        samples: &mut [Sample],
    ) -> Result<Observed, CaseError> {
        match &self.backend {
            Backend::Lab(lab) => {
                let run = lab.run(scenario, samples)?;
                Ok(Observed {
                    air: run.air,
                    end_us: run.end_us,
                    capture: None,
                })
            }
            Backend::Serial(radio) => crate::sim::run(scenario, mutant, Some(radio), samples),
            Backend::InProcess => crate::sim::run(scenario, mutant, None, samples),
        }
    }
}

/// Opens a lab rig: its DUT's identity, its co-processor's port, and the bench — the GPIO
/// lines and the operator its rig file asks for. Every missing piece of hardware is named, so
/// that one look at the bench fixes them all; a rig that cannot open is the rig's failure, not
/// the DUT's.
fn open_lab(file: &RigFile) -> Result<LabRig, String> {
    use crate::lab::{Bench, JoinBy, terminal_operator};
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
