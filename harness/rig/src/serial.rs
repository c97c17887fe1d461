//! Cases on a rig whose radio is a co-processor behind the host driver. The rig's ESI
//! application ([`EsiApp`]) runs here, on the host; it forms the network through EZSP, loads
//! the DUT's install-code key, permits joining, and reaches the DUT with sendUnicast and
//! incomingMessageHandler, exactly as on a lab rig. On the `sim-serial` rig the co-processor is
//! hanrig's simulated one, served on a pseudo-terminal by a thread of this process and opened
//! through tokio-serial like any serial device; its medium carries the case's simulated DUT,
//! and the case's virtual time moves over the link (the simulator's customFrame clock), so
//! hours of a case take milliseconds.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hanrig_cbke::exchange::Identity;
use hanrig_sep::aps::PROFILE_SMART_ENERGY;
use hanrig_sep::clusters::key_establishment;
use hanrig_sep::{Eui64, ZclFrame};
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::Mutant;
use hanrig_sim::esi::{EsiApp, Outgoing};
use hanrig_sim::log::Log;
use hanrig_sim::ncp::{EzspNcp, Network};
use hanrig_sim::remote::RemoteDut;
use hanrig_sim::scenario::{MeterStep, Remote, RunOutput, Scenario, Simulate};
use hanrig_sim::serve::serve_pty_until;
use hanrig_sim::sim::Node;
use serde_json::json;

use crate::host_cbke::HostCbke;
use crate::sim::{Looks, schedule_looks};
use hanrig_conformance::ctx::CaseError;
use hanrig_conformance::instrument::Sample;
use hanrig_radio_host::Radio;
use hanrig_radio_host::ezsp::{
    ApsMessage, CONFIG_MAX_END_DEVICE_CHILDREN, Event, EzspHost, FormParams, ZIGBEE_ALLIANCE_09,
};
use hanrig_radio_host::port::FlowControl;

/// The rig's meter in every device case.
pub const RIG_METER: &str = "rig-esi";

/// How the co-processor of a serial rig is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialRadio {
    /// EZSP protocol version the simulated co-processor speaks.
    pub ezsp_version: u8,
    /// Baud rate of the serial port.
    pub baud: u32,
    /// A black-box rig: the `hanrig` program whose `sim dut` plays the DUT in a process of
    /// its own, reached only over the co-processor's air and the instrument channel.
    pub dut_program: Option<std::path::PathBuf>,
}

/// Starts the DUT of `scenario` (its node `dut`) as `program sim dut …`, configured as the
/// scenario says — kind, identity, install code, the rig's network, DRLC attributes, mutant —
/// and connects to it.
fn spawn_dut(
    program: &std::path::Path,
    scenario: &Scenario,
    mutant: Option<Mutant>,
) -> Result<RemoteDut, CaseError> {
    let spec = scenario
        .devices
        .iter()
        .find(|d| d.name == "dut")
        .ok_or_else(|| rig("a black-box rig's DUT is a device: the case has no device dut"))?;
    let meter = scenario
        .meters
        .iter()
        .find(|m| m.name == spec.meter)
        .ok_or_else(|| {
            rig(format!(
                "the DUT's meter {:?} is not in the case",
                spec.meter
            ))
        })?;
    let mut command = std::process::Command::new(program);
    command
        .args(["sim", "dut", "--kind", &spec.kind, "--eui64", &spec.eui64])
        .args(["--install-code", &spec.install_code])
        .args([
            "--pan",
            &meter.pan.to_string(),
            "--channel",
            &meter.channel.to_string(),
        ])
        .args([
            "--enrollment-group",
            &spec.utility_enrollment_group.to_string(),
        ])
        .args([
            "--start-randomization-minutes",
            &spec.start_randomization_minutes.to_string(),
            "--duration-randomization-minutes",
            &spec.duration_randomization_minutes.to_string(),
            "--seed",
            &scenario.seed.to_string(),
        ]);
    if let Some(class) = spec.device_class {
        command.args(["--device-class", &class.to_string()]);
    }
    if meter.cbke && spec.cbke.as_deref() != Some("none") {
        let eui: Eui64 = spec
            .eui64
            .parse()
            .map_err(|_| rig(format!("the DUT's EUI64 {:?}", spec.eui64)))?;
        let identity = hanrig_sim::cbke::TestCa::new(scenario.seed).identity(eui);
        cbke_args(&mut command, &identity);
    }
    if let Some(m) = mutant {
        command.args(["--mutant", m.name()]);
    }
    start(program, command)
}

/// Starts the DUT meter of `scenario` (its meter `dut`) as `program sim dut --kind meter …`,
/// configured as the scenario says — identity, network, device limit, load and register, the
/// devices it is provisioned with — and connects to it.
pub fn spawn_meter_dut(
    program: &std::path::Path,
    scenario: &Scenario,
    mutant: Option<Mutant>,
) -> Result<RemoteDut, CaseError> {
    let meter = scenario
        .meters
        .iter()
        .find(|m| m.name == "dut")
        .ok_or_else(|| rig("the case has no meter dut"))?;
    let load: Vec<String> = meter.load_w.iter().map(i32::to_string).collect();
    let mut command = std::process::Command::new(program);
    command
        .args(["sim", "dut", "--kind", "meter", "--eui64", &meter.eui64])
        .args([
            "--pan",
            &meter.pan.to_string(),
            "--channel",
            &meter.channel.to_string(),
        ])
        .args(["--device-limit", &meter.device_limit.to_string()])
        .args(["--load-w", &load.join(",")])
        .args(["--summation-wh", &meter.summation_wh.to_string()])
        .args([
            "--start",
            &scenario.start,
            "--seed",
            &scenario.seed.to_string(),
        ]);
    // Its CBKE certificate, as the installer loads a real meter's from the test CA.
    if meter.cbke {
        let eui: Eui64 = meter
            .eui64
            .parse()
            .map_err(|_| rig(format!("the DUT meter's EUI64 {:?}", meter.eui64)))?;
        cbke_args(
            &mut command,
            &hanrig_sim::cbke::TestCa::new(scenario.seed).identity(eui),
        );
    }
    // The install codes the meter's installer loaded: a device's own, another one, or none.
    for d in scenario.devices.iter().filter(|d| d.meter == "dut") {
        let code = match d.provisioned_install_code.as_deref() {
            Some("none") => continue,
            Some(other) => other,
            None => &d.install_code,
        };
        command.args(["--provision", &format!("{},{},{code}", d.kind, d.eui64)]);
    }
    if let Some(m) = mutant {
        command.args(["--mutant", m.name()]);
    }
    start(program, command)
}

/// The DUT's CBKE certificate, private key and CA, as `hanrig sim dut` takes them: what a
/// manufacturer loads into a device under test.
fn cbke_args(command: &mut std::process::Command, identity: &Identity) {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    command
        .args(["--cbke-certificate", &hex(&identity.certificate().0)])
        .args([
            "--cbke-private-key",
            &hex(&identity.private_key().to_bytes()),
        ])
        .args(["--cbke-ca", &hex(&identity.ca().to_compressed())]);
}

/// Starts a DUT process and connects to the address it prints.
fn start(
    program: &std::path::Path,
    mut command: std::process::Command,
) -> Result<RemoteDut, CaseError> {
    use std::io::BufRead as _;
    command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit());
    let mut child = command.spawn().map_err(|e| {
        rig(format!(
            "starting the DUT process {}: {e}",
            program.display()
        ))
    })?;
    let mut address = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = std::io::BufReader::new(out).read_line(&mut address);
    }
    let address = address.trim().to_string();
    if address.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        return Err(rig(format!(
            "the DUT process {} did not say where it listens",
            program.display()
        )));
    }
    RemoteDut::connect(&address, Some(child))
        .map_err(|e| rig(format!("connecting to the DUT process at {address}: {e}")))
}

fn rig(e: impl std::fmt::Display) -> CaseError {
    CaseError::Rig(e.to_string())
}

/// Runs `scenario` with its meter [`RIG_METER`] played by this host through the host driver
/// and a simulated co-processor on a pseudo-terminal; `mutant` replaces the DUT (`dut`).
pub fn run(
    scenario: &Scenario,
    mutant: Option<Mutant>,
    radio: &SerialRadio,
    samples: &[Sample],
) -> Result<(RunOutput, Looks), CaseError> {
    let (mut simulation, coordinator, mut remote) = scenario
        .build_remote(RIG_METER)
        .map_err(|e| rig(format!("case scenario: {e}")))?;
    let dut_index = simulation.node_index("dut");
    if let (Some(program), Some(index)) = (&radio.dut_program, dut_index) {
        // The black box: the DUT leaves this process; only its radio and its instrument
        // channel stay on the medium.
        let dut = spawn_dut(program, scenario, mutant)?;
        simulation.replace_node(index, Node::Remote(Box::new(dut)));
    }
    // The probes look at the DUT where it lives: on the co-processor's medium.
    let looks = schedule_looks(&mut simulation, samples);
    if let Some(mutant) = mutant
        && let Some(Node::Device(dut)) = dut_index.map(|i| &mut simulation.nodes[i])
    {
        dut.set_mutant(mutant);
    }
    let ncp = EzspNcp::new(
        radio.ezsp_version,
        remote.eui,
        Network {
            extended_pan_id: 0,
            pan_id: 0xFFFF,
            channel: 11,
            tx_power: 8,
        },
    )
    .with_simulation(simulation, coordinator);
    // The meter's certificate is in its radio's tokens, as a commissioned SE radio's is.
    let ncp = match &remote.cbke {
        Some(c) => ncp.with_cbke(c.identity.clone()),
        None => ncp,
    };

    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let server = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            serve_pty_until(
                ncp,
                None,
                |path| {
                    let _ = ready_tx.send(path.to_path_buf());
                },
                &stop,
            )
        })
    };
    let path = ready_rx.recv().map_err(|_| {
        rig("the simulated co-processor could not open a pseudo-terminal".to_string())
    })?;
    let host_log = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(rig)
        .and_then(|rt| rt.block_on(drive(&path.display().to_string(), radio.baud, &mut remote)));
    stop.store(true, Ordering::Relaxed);
    let ncp = server
        .join()
        .map_err(|_| rig("the simulated co-processor panicked"))?
        .map_err(|e| {
            rig(format!(
                "the simulated co-processor on {}: {e}",
                path.display()
            ))
        })?;
    let host_log = host_log?;
    let simulation = ncp
        .into_simulation()
        .ok_or_else(|| rig("the simulated co-processor lost its medium"))?;
    if let Some(Node::Remote(dut)) = dut_index.map(|i| &simulation.nodes[i])
        && let Some(e) = &dut.error
    {
        return Err(rig(e.clone()));
    }
    let mut log = simulation.log.clone();
    log.events.extend(host_log.events);
    log.events
        .sort_by_key(|e| e["t_us"].as_u64().unwrap_or_default());
    Ok((
        RunOutput {
            log,
            capture: simulation.capture.clone(),
            keys: remote.keys.clone(),
            simulation,
        },
        looks,
    ))
}

/// The host's side: form, provision, permit joining, then run the meter's timeline and answer
/// the DUT, moving the co-processor's virtual time from one thing to do to the next.
async fn drive(port: &str, baud: u32, remote: &mut Remote) -> Result<Log, CaseError> {
    let mut host = EzspHost::open(port, baud, FlowControl::None)
        .await
        .map_err(rig)?;
    host.start().await.map_err(rig)?;
    host.set_configuration_value(
        CONFIG_MAX_END_DEVICE_CHILDREN,
        u16::try_from(remote.device_limit).unwrap_or(u16::MAX),
    )
    .await
    .map_err(rig)?;
    host.form_network(&FormParams {
        extended_pan_id: remote.eui.0,
        pan_id: remote.pan,
        channel: remote.channel,
        tx_power: 8,
        network_key: remote.network_key,
        global_link_key: remote.global_key_fallback.then_some(ZIGBEE_ALLIANCE_09),
    })
    .await
    .map_err(rig)?;
    for (eui, key) in &remote.link_keys {
        host.import_transient_key(*eui, key).await.map_err(rig)?;
    }
    let mut cbke = match remote.cbke.take() {
        Some(c) => Some(HostCbke::new(&mut host, c.faults).await?),
        None => None,
    };
    host.permit_joining(0xFF).await.map_err(rig)?;
    let mut now = host
        .advance_virtual_clock(None)
        .await
        .map_err(rig)?
        .ok_or_else(|| {
            rig(format!(
                "{port}: the co-processor keeps real time; a sim-serial rig needs hanrig's simulated co-processor"
            ))
        })?;

    let mut steps: VecDeque<(SimTime, MeterStep)> = std::mem::take(&mut remote.steps).into();
    steps.make_contiguous().sort_by_key(|(at, _)| *at);
    let app = &mut remote.app;
    let mut log = Log::default();
    let mut shorts: HashMap<Eui64, u16> = HashMap::new();
    loop {
        let t = SimTime(now);
        while let Some(event) = host.queued_event().map_err(rig)? {
            let out = match event {
                Event::Joined { short, eui } => {
                    shorts.insert(eui, short);
                    // With Key Establishment, the application serves a device once it is done.
                    if cbke.is_none() {
                        app.admit(eui);
                    }
                    Vec::new()
                }
                Event::Incoming(message) => {
                    let from = shorts
                        .iter()
                        .find(|(_, s)| **s == message.node)
                        .map(|(e, _)| *e);
                    match (&mut cbke, from) {
                        (Some(c), Some(eui))
                            if message.cluster == key_establishment::CLUSTER_ID =>
                        {
                            c.receive(&mut host, app, t, eui, &message.payload, &mut log)
                                .await?
                        }
                        (Some(c), Some(eui))
                            if c.refuses(app, t, eui, message.cluster, &mut log) =>
                        {
                            Vec::new()
                        }
                        _ => incoming(app, t, &shorts, &message, &mut log),
                    }
                }
            };
            send(&mut host, &shorts, out, t, &mut log).await?;
        }
        if let Some(c) = &mut cbke {
            let out = c.poll(&mut host, app, t, &mut log).await?;
            send(&mut host, &shorts, out, t, &mut log).await?;
        }
        while steps.front().is_some_and(|(at, _)| at.0 <= now) {
            if let Some((_, step)) = steps.pop_front() {
                let out = step(app, t, &mut log);
                send(&mut host, &shorts, out, t, &mut log).await?;
            }
        }
        if now >= remote.end.0 {
            break;
        }
        let mut target = steps
            .front()
            .map_or(remote.end, |(at, _)| (*at).min(remote.end));
        if let Some(deadline) = cbke.as_ref().and_then(HostCbke::deadline_ms) {
            target = target.min(hanrig_sim::cbke::from_ms(deadline).max(SimTime(now + 1)));
        }
        now = host
            .advance_virtual_clock(Some(target.0))
            .await
            .map_err(rig)?
            .ok_or_else(|| rig(format!("{port}: the virtual clock stopped answering")))?;
    }
    // The rig knows the keys it established (read back from its radio).
    for (device, key) in cbke.iter().flat_map(HostCbke::established) {
        if let Some(key) = key {
            remote
                .keys
                .add(*key, &format!("{device} CBKE link key with {RIG_METER}"));
        }
    }
    Ok(log)
}

/// A message from the network, for the ESI application when it is a Smart Energy ZCL frame
/// from a device that joined.
fn incoming(
    app: &mut EsiApp,
    now: SimTime,
    shorts: &HashMap<Eui64, u16>,
    message: &ApsMessage,
    log: &mut Log,
) -> Vec<Outgoing> {
    let Some((&eui, _)) = shorts.iter().find(|(_, s)| **s == message.node) else {
        return Vec::new();
    };
    if message.profile != PROFILE_SMART_ENERGY {
        return Vec::new();
    }
    match ZclFrame::parse(message.cluster, &message.payload) {
        Ok(frame) => app.receive(now, eui, &frame, log),
        Err(e) => {
            log.push(
                now,
                &app.name,
                "zcl_malformed",
                json!({"device": eui.to_string(), "cluster": message.cluster, "error": format!("{e:?}")}),
            );
            Vec::new()
        }
    }
}

/// A frame of the rig's ESI (endpoint 1, Smart Energy) to `node`, APS-secured for the SE
/// application clusters.
pub fn esi_message(node: u16, cluster: u16, payload: Vec<u8>) -> ApsMessage {
    ApsMessage {
        node,
        profile: PROFILE_SMART_ENERGY,
        cluster,
        source_endpoint: 1,
        destination_endpoint: 1,
        aps_encryption: hanrig_sep::clusters::aps_secured(cluster),
        payload,
    }
}

/// Sends the application's frames with sendUnicast (APS-secured for the SE clusters).
async fn send(
    host: &mut EzspHost,
    shorts: &HashMap<Eui64, u16>,
    out: Vec<Outgoing>,
    now: SimTime,
    log: &mut Log,
) -> Result<(), CaseError> {
    for o in out {
        let Some(&node) = shorts.get(&o.device) else {
            continue;
        };
        let mut buf = [0u8; 127];
        let len = match o.frame.emit(&mut buf) {
            Ok(len) => len,
            Err(e) => {
                log.push(
                    now,
                    RIG_METER,
                    "zcl_unsendable",
                    json!({"device": o.device.to_string(), "error": format!("{e:?}")}),
                );
                continue;
            }
        };
        host.send_unicast(&esi_message(node, o.frame.cluster, buf[..len].to_vec()))
            .await
            .map_err(rig)?;
    }
    Ok(())
}
