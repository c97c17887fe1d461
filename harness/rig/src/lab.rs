//! Cases on a lab rig: a real co-processor (EZSP or ZNP, behind the host drivers) plays the
//! meter's ESI for a device under test that the rig knows only by its EUI64 and install code.
//! Time is the wall clock. The case's moment 0 is placed so that the DUT's join (the trust
//! centre's join callback) falls where the case's network has it join; rig steps due before
//! that are sent at once, in order, with their own times. What the rig observes is what its
//! co-processor hands up — the join, every APS frame the DUT sends the ESI — and what the ESI
//! sent; instruments (a relay-sense GPIO line, an operator at a terminal) answer the probes,
//! and the operator performs a person's actions at the DUT (confirm a message, opt out).
//!
//! Cases whose network holds more than the rig's ESI and the DUT are skipped, saying so: a lab
//! rig has one radio and one DUT.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hanrig_sep::aps::PROFILE_SMART_ENERGY;
use hanrig_sep::clusters::drlc;
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::wire::Records;
use hanrig_sep::zcl::command::Command;
use hanrig_sep::zcl::general::{AttrValue, AttributeRecord, AttributeRecords, DataType};
use hanrig_sep::{Eui64, ZclFrame};
use hanrig_sim::clock::SimTime;
use hanrig_sim::esi::{EsiApp, Outgoing, Utility};
use hanrig_sim::log::Log;
use hanrig_sim::scenario::{
    Action, DeviceSpec, DeviceStep, MeterStep, Scenario, Simulate, UserEventStep, UserMessageStep,
    parse_duration,
};

use crate::bench::{PressJoin, SenseRelay};
use crate::host_cbke::HostCbke;
use crate::serial::{RIG_METER, esi_message};
use hanrig_conformance::air::{Air, Heard, Parties, Party, What, Zcl};
use hanrig_conformance::ctx::{CaseError, start_us};
use hanrig_conformance::instrument::{Instrument, Probe, Reading, Sample};
use hanrig_radio_host::port::FlowControl;
use hanrig_radio_host::{AnyRadio, Event, FormParams, Radio, RadioError};

/// The ESI's endpoint: its server clusters (Basic, Identify, Time, Key Establishment, Price,
/// DRLC, Metering, Messaging), as a meter's ESI registers them.
const ESI_CLUSTERS: [u16; 8] = [
    0x0000, 0x0003, 0x000A, 0x0800, 0x0700, 0x0701, 0x0702, 0x0703,
];
/// How long the loop waits for the co-processor at most before looking at the clock again.
const TICK: Duration = Duration::from_millis(50);

/// How the DUT is brought to join the rig's network at the start of each case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinBy {
    /// It looks for a network by itself once joining is permitted.
    Permit,
    /// The rig holds its join button (`[gpio] join_button`).
    Button,
    /// The operator resets it and puts it into join mode.
    Operator,
}

impl JoinBy {
    /// From a rig file's `[dut] join`.
    pub fn parse(text: &str) -> Result<JoinBy, String> {
        Ok(match text {
            "permit" => JoinBy::Permit,
            "button" => JoinBy::Button,
            "operator" => JoinBy::Operator,
            other => {
                return Err(format!(
                    "[dut] join = {other:?} is not permit, button or operator"
                ));
            }
        })
    }
}

/// An operator: asked `prompt`, a yes-or-no question (`true`) or an instruction to carry out
/// (`false`), answers yes (`Ok(true)`), no, or that they cannot.
pub type Operator = Box<dyn FnMut(&str, bool) -> Result<bool, String> + Send>;

/// What a lab rig's bench can do besides its radio: each is `None` when the rig lacks it.
pub struct Bench {
    /// Holds the DUT's join button.
    pub press_join: Option<PressJoin>,
    /// Reads the relay-sense line: `true` when the DUT's load output is energised.
    pub relay_sense: Option<SenseRelay>,
    /// The operator at the DUT.
    pub operator: Option<Operator>,
}

impl std::fmt::Debug for Bench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bench")
            .field("press_join", &self.press_join.is_some())
            .field("relay_sense", &self.relay_sense.is_some())
            .field("operator", &self.operator.is_some())
            .finish()
    }
}

/// An operator at this process's terminal: questions and instructions on standard error,
/// answers read from standard input (a file of answers when unattended).
pub fn terminal_operator() -> Operator {
    Box::new(|prompt: &str, question: bool| {
        use std::io::BufRead as _;
        let stdin = std::io::stdin();
        loop {
            if question {
                eprint!("operator: {prompt} [y/n] ");
            } else {
                eprint!("operator: {prompt} — press Enter when done ");
            }
            let mut line = String::new();
            let read = stdin
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("the operator's terminal: {e}"))?;
            if read == 0 {
                return Err("the operator's terminal closed (no answer)".into());
            }
            let answer = line.trim().to_ascii_lowercase();
            if !question {
                return Ok(true);
            }
            match answer.as_str() {
                "y" | "yes" => return Ok(true),
                "n" | "no" => return Ok(false),
                _ => eprintln!("operator: answer y or n"),
            }
        }
    })
}

/// A lab rig, opened.
#[derive(Debug)]
pub struct LabRig {
    /// `ezsp` or `znp`.
    pub protocol: String,
    /// The co-processor's serial port (or `socket://host:port`).
    pub port: String,
    /// Its baud rate.
    pub baud: u32,
    /// The DUT's EUI64.
    pub eui64: Eui64,
    /// The DUT's install code (hex, with its CRC).
    pub install_code: String,
    /// How the DUT joins.
    pub join: JoinBy,
    /// How long the rig waits for the DUT to join.
    pub join_timeout: Duration,
    /// Its instruments and hands.
    pub bench: Arc<Mutex<Bench>>,
}

/// What a lab run leaves for the verdict: the air, and where the run ended (µs since 1970 on
/// the case's clock).
#[derive(Debug)]
pub struct LabRun {
    /// What the rig heard and sent.
    pub air: Air,
    /// The end of the run.
    pub end_us: u64,
}

fn rig(e: impl std::fmt::Display) -> CaseError {
    CaseError::Rig(e.to_string())
}

/// A person's action at the DUT, from the case's timeline.
fn operator_action(action: &Action) -> Option<String> {
    Some(match action {
        Action::ConfirmMessage(UserMessageStep { device, message_id }) if device == "dut" => {
            format!("on the DUT, confirm the message shown (message {message_id})")
        }
        Action::OptOut(UserEventStep {
            device,
            issuer_event_id,
        }) if device == "dut" => {
            format!("on the DUT, opt out of the load control event (event {issuer_event_id})")
        }
        Action::OptIn(UserEventStep {
            device,
            issuer_event_id,
        }) if device == "dut" => {
            format!("on the DUT, opt back in to the load control event (event {issuer_event_id})")
        }
        Action::ReadMetering(DeviceStep { device }) if device == "dut" => {
            "on the DUT, refresh the metering display".into()
        }
        _ => return None,
    })
}

/// Something the rig does at a moment of the case (µs on the case's clock).
enum Due {
    Step(MeterStep),
    Probe(usize),
    Act(String),
}

impl LabRig {
    /// Runs `scenario` (its node `dut` played by the lab's DUT, its meter [`RIG_METER`] by the
    /// co-processor); the probes' readings land in `samples`.
    pub fn run(&self, scenario: &Scenario, samples: &mut [Sample]) -> Result<LabRun, CaseError> {
        let extra = scenario.meters.len() + scenario.devices.len();
        if scenario.meters.len() != 1 || scenario.meters[0].name != RIG_METER || extra != 2 {
            return Err(CaseError::Skip(format!(
                "the case's network has {} meter(s) and {} device(s); a lab rig has its ESI and the DUT only",
                scenario.meters.len(),
                scenario.devices.len()
            )));
        }
        let mut scenario = scenario.clone();
        let dut = scenario
            .devices
            .iter_mut()
            .find(|d| d.name == "dut")
            .ok_or_else(|| CaseError::Skip("a lab rig's DUT is an in-home device".into()))?;
        dut.eui64 = self.eui64.to_string();
        dut.install_code = self.install_code.clone();
        let spec = dut.clone();
        let join_at_us = start_us()
            + parse_duration(&spec.join_at).map_err(|e| rig(format!("case scenario: {e}")))?;
        let (_, _, mut remote) = scenario
            .build_remote(RIG_METER)
            .map_err(|e| rig(format!("case scenario: {e}")))?;
        let mut due: Vec<(u64, Due)> = std::mem::take(&mut remote.steps)
            .into_iter()
            .map(|(at, step)| (at.0, Due::Step(step)))
            .collect();
        for (index, sample) in samples.iter().enumerate() {
            due.push((start_us() + sample.at_ms * 1000, Due::Probe(index)));
        }
        for step in &scenario.timeline {
            if let Some(what) = operator_action(&step.action) {
                let at =
                    parse_duration(&step.at).map_err(|e| rig(format!("case scenario: {e}")))?;
                due.push((start_us() + at, Due::Act(what)));
            }
        }
        // Stable: steps keep their order within a moment.
        due.sort_by_key(|(at, _)| *at);
        let parties = Parties {
            rig: vec![remote.eui],
            dut: self.eui64,
            dut_install_key: self
                .install_code
                .parse::<InstallCode>()
                .ok()
                .map(|c| c.link_key()),
            coordinator: remote.eui,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(rig)?;
        runtime.block_on(self.drive(&mut remote, &spec, join_at_us, due, samples, &parties))
    }

    async fn drive(
        &self,
        remote: &mut hanrig_sim::scenario::Remote,
        spec: &DeviceSpec,
        join_at_us: u64,
        due: Vec<(u64, Due)>,
        samples: &mut [Sample],
        parties: &Parties,
    ) -> Result<LabRun, CaseError> {
        let port = &self.port;
        let mut radio = AnyRadio::open(&self.protocol, port, self.baud, FlowControl::None)
            .await
            .map_err(rig)?;
        radio.start().await.map_err(rig)?;
        if remote.global_key_fallback && !matches!(radio, AnyRadio::Ezsp(_)) {
            return Err(CaseError::Skip(
                "a network that falls back to the global link key needs an EZSP radio: the ZNP driver forms install-code (Smart Energy) networks only"
                    .into(),
            ));
        }
        if let AnyRadio::Ezsp(host) = &mut radio {
            host.register_endpoint(1, PROFILE_SMART_ENERGY, 0x0500, &ESI_CLUSTERS)
                .await
                .map_err(rig)?;
        }
        radio
            .form_network(&FormParams {
                extended_pan_id: remote.eui.0,
                pan_id: remote.pan,
                channel: remote.channel,
                tx_power: 8,
                network_key: remote.network_key,
                global_link_key: remote
                    .global_key_fallback
                    .then_some(hanrig_radio_host::ezsp::ZIGBEE_ALLIANCE_09),
            })
            .await
            .map_err(rig)?;
        for (eui, key) in &remote.link_keys {
            radio.add_link_key(*eui, key).await.map_err(rig)?;
        }
        // Key Establishment, when the case's ESI requires it: the chip does the ECC.
        let mut cbke = match (remote.cbke.take(), &mut radio) {
            (Some(c), AnyRadio::Ezsp(host)) => Some(HostCbke::new(host, c.faults).await?),
            (Some(_), _) => {
                return Err(CaseError::Skip(
                    "Key Establishment on a lab rig needs an EZSP radio with the CBKE library"
                        .into(),
                ));
            }
            (None, _) => None,
        };
        radio.permit_joining(0xFF).await.map_err(rig)?;
        let mut air = Air {
            dut: parties.dut,
            dut_install_key: parties.dut_install_key,
            ..Air::default()
        };
        let mut early = Vec::new();
        if let Some(press) = match self.join {
            JoinBy::Permit => None,
            JoinBy::Button => Some(None),
            JoinBy::Operator => Some(Some(
                "reset the DUT to factory settings and put it into join mode".to_string(),
            )),
        } {
            let bench = Arc::clone(&self.bench);
            let task = tokio::task::spawn_blocking(move || {
                let mut bench = bench
                    .lock()
                    .map_err(|_| "the bench is poisoned".to_string())?;
                match press {
                    None => match bench.press_join.as_mut() {
                        Some(press) => press(),
                        None => Err("the rig has no join button line ([gpio] join_button)".into()),
                    },
                    Some(what) => match bench.operator.as_mut() {
                        Some(ask) => ask(&what, false).map(|_| ()),
                        None => {
                            Err("[dut] join = \"operator\" needs [instruments] operator".into())
                        }
                    },
                }
            });
            pump_until(&mut radio, task, &mut early)
                .await?
                .map_err(rig)?;
        }
        // The join: the trust centre admits the DUT (and sends it the network key).
        let deadline = Instant::now() + self.join_timeout;
        let mut short = None;
        while short.is_none() {
            let event = match (!early.is_empty()).then(|| early.remove(0)) {
                Some(e) => e,
                None if Instant::now() >= deadline => break,
                None => match radio.next_event(TICK).await {
                    Ok(e) => e,
                    Err(RadioError::Timeout { .. }) => continue,
                    Err(e) => return Err(rig(e)),
                },
            };
            if let Event::Joined { short: s, eui } = event
                && eui == self.eui64
            {
                short = Some(s);
            }
        }
        let joined_at = Instant::now();
        let clock = move |at: Instant| join_at_us + at.duration_since(joined_at).as_micros() as u64;
        let Some(mut short) = short else {
            // The DUT never came: nothing on the air, as the case will find.
            return Ok(LabRun {
                air,
                end_us: remote.end.0,
            });
        };
        let (esi, dut) = (Party::Rig(remote.eui), Party::Dut);
        for what in [
            What::AssociationResponse { short, status: 0 },
            What::TransportKey,
        ] {
            air.frames.push(Heard {
                t_us: join_at_us,
                from: esi,
                to: dut,
                network_secured: false,
                what,
            });
        }
        let app = &mut remote.app;
        // With Key Establishment, the application serves the DUT once it has its key.
        if cbke.is_none() {
            app.admit(self.eui64);
        }
        let mut log = Log::default();
        let now = SimTime(join_at_us);
        let writes = drlc_attributes(app, now, self.eui64, spec, &mut log);
        send(&mut radio, short, writes, join_at_us, &mut air, parties).await?;
        // What the DUT sent while the join was being taken in.
        for event in std::mem::take(&mut early) {
            self.heard(
                event, &mut short, app, &mut cbke, &mut radio, &clock, &mut air, &mut log, parties,
            )
            .await?;
        }
        let mut due = std::collections::VecDeque::from(due);
        loop {
            let now_us = clock(Instant::now());
            while due.front().is_some_and(|(at, _)| *at <= now_us) {
                let Some((at, what)) = due.pop_front() else {
                    break;
                };
                match what {
                    Due::Step(step) => {
                        // A step due before the join is sent now, with its own time.
                        let out = step(app, SimTime(at), &mut log);
                        send(
                            &mut radio,
                            short,
                            out,
                            clock(Instant::now()),
                            &mut air,
                            parties,
                        )
                        .await?;
                    }
                    Due::Probe(index) => {
                        let probe = samples[index].probe.clone();
                        let bench = Arc::clone(&self.bench);
                        let task = tokio::task::spawn_blocking(move || read(&bench, &probe));
                        let mut events = Vec::new();
                        let reading = pump_until(&mut radio, task, &mut events).await?;
                        samples[index].reading = Some(reading);
                        for event in events {
                            self.heard(
                                event, &mut short, app, &mut cbke, &mut radio, &clock, &mut air,
                                &mut log, parties,
                            )
                            .await?;
                        }
                    }
                    Due::Act(what) => {
                        let bench = Arc::clone(&self.bench);
                        let task = tokio::task::spawn_blocking(move || {
                            let mut bench = bench
                                .lock()
                                .map_err(|_| "the bench is poisoned".to_string())?;
                            match bench.operator.as_mut() {
                                Some(ask) => ask(&what, false).map(|_| ()),
                                None => Err("the case needs an operator at the DUT".to_string()),
                            }
                        });
                        let mut events = Vec::new();
                        pump_until(&mut radio, task, &mut events)
                            .await?
                            .map_err(rig)?;
                        for event in events {
                            self.heard(
                                event, &mut short, app, &mut cbke, &mut radio, &clock, &mut air,
                                &mut log, parties,
                            )
                            .await?;
                        }
                    }
                }
            }
            if let (Some(c), AnyRadio::Ezsp(host)) = (&mut cbke, &mut radio) {
                let out = c.poll(host, app, SimTime(now_us), &mut log).await?;
                send(&mut radio, short, out, now_us, &mut air, parties).await?;
            }
            if now_us >= remote.end.0 {
                break;
            }
            let next = due
                .front()
                .map_or(remote.end.0, |(at, _)| (*at).min(remote.end.0));
            let wait = Duration::from_micros(next.saturating_sub(now_us)).min(TICK);
            match radio.next_event(wait).await {
                Ok(event) => {
                    self.heard(
                        event, &mut short, app, &mut cbke, &mut radio, &clock, &mut air, &mut log,
                        parties,
                    )
                    .await?
                }
                Err(RadioError::Timeout { .. }) => {}
                Err(e) => return Err(rig(e)),
            }
        }
        let _ = radio.permit_joining(0).await;
        Ok(LabRun {
            air,
            end_us: remote.end.0,
        })
    }

    /// One event from the co-processor: a frame from the DUT is heard and answered by the
    /// ESI; a rejoin moves the DUT's short address.
    #[allow(clippy::too_many_arguments)]
    async fn heard(
        &self,
        event: Event,
        short: &mut u16,
        app: &mut EsiApp,
        cbke: &mut Option<HostCbke>,
        radio: &mut AnyRadio,
        clock: &impl Fn(Instant) -> u64,
        air: &mut Air,
        log: &mut Log,
        parties: &Parties,
    ) -> Result<(), CaseError> {
        let t_us = clock(Instant::now());
        match event {
            Event::Joined { short: s, eui } if eui == self.eui64 => *short = s,
            Event::Joined { .. } => {}
            Event::Incoming(message) if message.node == *short => {
                let mut zcl = Zcl::decode(
                    message.cluster,
                    message.aps_encryption,
                    message.payload.clone(),
                );
                // The radio opens the APS layer with the one link key it holds for the DUT:
                // the install-code key, or the key Key Establishment gave it.
                if message.aps_encryption {
                    zcl.aps_key = cbke
                        .as_ref()
                        .and_then(|c| c.established().iter().find(|(e, _)| *e == self.eui64))
                        .and_then(|(_, k)| *k)
                        .or(parties.dut_install_key);
                }
                air.frames.push(Heard {
                    t_us,
                    from: Party::Dut,
                    to: Party::Rig(parties.coordinator),
                    network_secured: true,
                    what: What::Zcl(Box::new(zcl)),
                });
                if message.profile != PROFILE_SMART_ENERGY {
                    return Ok(());
                }
                let now = SimTime(t_us);
                let out = match (cbke, &mut *radio) {
                    (Some(c), AnyRadio::Ezsp(host))
                        if message.cluster
                            == hanrig_sep::clusters::key_establishment::CLUSTER_ID =>
                    {
                        c.receive(host, app, now, self.eui64, &message.payload, log)
                            .await?
                    }
                    (Some(c), _) if c.refuses(app, now, self.eui64, message.cluster, log) => {
                        Vec::new()
                    }
                    _ => match ZclFrame::parse(message.cluster, &message.payload) {
                        Ok(frame) => app.receive(now, self.eui64, &frame, log),
                        Err(_) => Vec::new(),
                    },
                };
                send(radio, *short, out, t_us, air, parties).await?;
            }
            Event::Incoming(_) => {}
        }
        Ok(())
    }
}

/// Reads a probe from the bench.
fn read(bench: &Mutex<Bench>, probe: &Probe) -> Reading {
    let Ok(mut bench) = bench.lock() else {
        return Reading::Unavailable("the bench is poisoned".into());
    };
    match probe.instrument() {
        Instrument::RelaySense => match bench.relay_sense.as_mut().map(|sense| sense()) {
            Some(Ok(energised)) => probe.sensed(energised),
            Some(Err(e)) => Reading::Unavailable(e),
            None => Reading::Unavailable("the rig has no relay-sense line".into()),
        },
        Instrument::Operator => match bench
            .operator
            .as_mut()
            .map(|ask| ask(&probe.question(), true))
        {
            Some(Ok(yes)) => Reading::Answered {
                holds: yes,
                saw: format!("the operator answered {}", if yes { "yes" } else { "no" }),
            },
            Some(Err(e)) => Reading::Unavailable(e),
            None => Reading::Unavailable("the rig has no operator".into()),
        },
    }
}

/// Keeps the co-processor's link going (its callbacks kept in `events`) while a bench action
/// runs on a thread of its own; returns the action's result.
async fn pump_until<T: Send + 'static>(
    radio: &mut AnyRadio,
    mut task: tokio::task::JoinHandle<T>,
    events: &mut Vec<Event>,
) -> Result<T, CaseError> {
    loop {
        tokio::select! {
            done = &mut task => return done.map_err(|e| rig(format!("a bench action failed: {e}"))),
            event = radio.next_event(TICK) => match event {
                Ok(e) => events.push(e),
                Err(RadioError::Timeout { .. }) => {}
                Err(e) => return Err(rig(e)),
            },
        }
    }
}

/// The Write Attributes that give the DUT's DRLC client the case's utility enrollment group,
/// randomisation and device class, when the case asks for other than the defaults.
fn drlc_attributes(
    app: &mut EsiApp,
    now: SimTime,
    device: Eui64,
    spec: &DeviceSpec,
    log: &mut Log,
) -> Vec<Outgoing> {
    let mut records = Vec::new();
    let byte = |attribute, v: u8| AttributeRecord {
        attribute,
        value: AttrValue::unsigned(DataType::Uint8, v.into()),
    };
    if spec.utility_enrollment_group != 0 {
        records.push(byte(
            drlc::attribute::UTILITY_ENROLLMENT_GROUP,
            spec.utility_enrollment_group,
        ));
    }
    if spec.start_randomization_minutes != 0 {
        records.push(byte(
            drlc::attribute::START_RANDOMIZATION_MINUTES,
            spec.start_randomization_minutes,
        ));
    }
    if spec.duration_randomization_minutes != 0 {
        records.push(byte(
            drlc::attribute::DURATION_RANDOMIZATION_MINUTES,
            spec.duration_randomization_minutes,
        ));
    }
    if let Some(class) = spec.device_class {
        records.push(AttributeRecord {
            attribute: drlc::attribute::DEVICE_CLASS_VALUE,
            value: AttrValue::unsigned(DataType::Uint16, class.into()),
        });
    }
    if records.is_empty() {
        return Vec::new();
    }
    let Ok(records) = Records::from_items(records.iter()) else {
        return Vec::new();
    };
    let records = AttributeRecords { records };
    app.utility(
        now,
        Utility::Send {
            device,
            cluster: drlc::CLUSTER_ID,
            command: Command::WriteAttributes(records),
        },
        log,
    )
}

/// Sends the ESI's frames to the DUT (APS-secured for the SE clusters) and records each one
/// the DUT's radio acknowledged. A frame the DUT did not take is not on its side of the air.
async fn send(
    radio: &mut AnyRadio,
    short: u16,
    out: Vec<Outgoing>,
    t_us: u64,
    air: &mut Air,
    parties: &Parties,
) -> Result<(), CaseError> {
    for o in out.into_iter().filter(|o| o.device == parties.dut) {
        let mut buf = [0u8; 127];
        let Ok(len) = o.frame.emit(&mut buf) else {
            continue;
        };
        let message = esi_message(short, o.frame.cluster, buf[..len].to_vec());
        match radio.send_unicast(&message).await {
            Ok(_) => air.frames.push(Heard {
                t_us,
                from: Party::Rig(parties.coordinator),
                to: Party::Dut,
                network_secured: true,
                what: What::Zcl(Box::new(Zcl::decode(
                    message.cluster,
                    message.aps_encryption,
                    message.payload,
                ))),
            }),
            Err(RadioError::Protocol { .. }) => {}
            Err(e) => return Err(rig(e)),
        }
    }
    Ok(())
}
