//! `hanrig sim`.

use std::fmt::Write as _;
use std::path::Path;

use hanrig_sim::scenario::Scenario;

/// Runs a scenario file and writes its outputs into `out`.
pub fn run(scenario: &Path, out: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(scenario)
        .map_err(|e| format!("reading {}: {e}", scenario.display()))?;
    let scenario_def =
        Scenario::parse(&text).map_err(|e| format!("{}: {e}", scenario.display()))?;
    let started = std::time::Instant::now();
    let run = scenario_def
        .run()
        .map_err(|e| format!("{}: {e}", scenario.display()))?;
    let elapsed = started.elapsed();
    run.write(out).map_err(|e| e.to_string())?;
    let mut summary = format!(
        "scenario {}: {} frames, {} events in {:.1} ms of wall time\n",
        scenario_def.name,
        run.capture.len(),
        run.log.events.len(),
        elapsed.as_secs_f64() * 1e3
    );
    for device in &scenario_def.devices {
        let joined = run.log.find(Some(&device.name), "joined").next().is_some();
        let _ = writeln!(
            summary,
            "  {:<16} {}",
            device.name,
            if joined { "joined" } else { "NOT joined" }
        );
    }
    let _ = writeln!(
        summary,
        "wrote {0}/capture.pcapng, {0}/keys, {0}/events.jsonl",
        out.display()
    );
    Ok(summary)
}

/// `hanrig sim radio`: serves a simulated co-processor until interrupted.
pub fn radio(
    protocol: &str,
    ezsp_version: u8,
    tcp: Option<&str>,
    pty: bool,
    baud: Option<u32>,
    devices: &[String],
) -> Result<String, String> {
    use hanrig_sim::ncp::{EzspNcp, Network};
    use hanrig_sim::znp::ZnpNcp;
    if protocol == "ezsp" && (!(13..=19).contains(&ezsp_version) || ezsp_version == 15) {
        return Err(format!(
            "EZSP version {ezsp_version}: the simulator speaks 13, 14 and 16–19 layouts of the commands it answers"
        ));
    }
    let network = Network {
        extended_pan_id: 0x000D_6F00_0ABC_DEF0,
        pan_id: 0x1A62,
        channel: 15,
        tx_power: 8,
    };
    let area = (network.pan_id, network.channel);
    // Checked once here; each host connection gets fresh devices.
    for d in devices {
        parse_device(d, area)?;
    }
    let specs = devices.to_vec();
    let fresh = move || -> Vec<_> {
        specs
            .iter()
            .filter_map(|d| parse_device(d, area).ok())
            .collect()
    };
    // A formed network's key is random, as the stacks make it; printed for captures.
    let mut network_key = [0u8; 16];
    std::io::Read::read_exact(
        &mut std::fs::File::open("/dev/urandom").map_err(|e| format!("/dev/urandom: {e}"))?,
        &mut network_key,
    )
    .map_err(|e| format!("/dev/urandom: {e}"))?;
    if !devices.is_empty() {
        let hex: String = network_key.iter().map(|b| format!("{b:02x}")).collect();
        println!("network key {hex}");
    }
    match protocol {
        "ezsp" => {
            let eui = hanrig_sep::Eui64(0x000D_6F00_0ABC_DEF0);
            let with_devices = !devices.is_empty();
            let make = move || {
                let ncp = EzspNcp::new(ezsp_version, eui, network);
                if with_devices {
                    ncp.with_devices(network_key, fresh())
                } else {
                    ncp
                }
            };
            serve(make, &format!("EZSP v{ezsp_version}"), tcp, pty, baud)
        }
        "znp" => {
            let eui = hanrig_sep::Eui64(0x0012_4B00_1CAA_AC5C);
            let make = move || ZnpNcp::new(eui, network, network_key).with_devices(fresh());
            serve(make, "Z-Stack 3.30 ZNP", tcp, pty, baud)
        }
        other => Err(format!("protocol {other:?} is not ezsp or znp")),
    }
}

/// Serves co-processors made by `make` on a pseudo-terminal or a TCP address until the process
/// ends, printing where.
fn serve<C: hanrig_sim::serve::Coprocessor>(
    mut make: impl FnMut() -> C,
    what: &str,
    tcp: Option<&str>,
    pty: bool,
    baud: Option<u32>,
) -> Result<String, String> {
    use hanrig_sim::serve::{serve_pty, serve_tcp};
    if baud.is_some() && !pty {
        return Err("--baud paces a pseudo-terminal: give it with --pty".into());
    }
    if pty {
        if tcp.is_some() {
            return Err("give --pty or --tcp, not both".into());
        }
        serve_pty(make(), baud, |path| {
            println!("simulated {what} co-processor on {}", path.display());
            let _ = std::io::Write::flush(&mut std::io::stdout());
        })
        .map_err(|e| format!("serving on a pseudo-terminal: {e}"))?;
        return Ok(String::new());
    }
    let address = tcp.ok_or("give --tcp ADDRESS:PORT or --pty")?;
    serve_tcp(address, make, |bound| {
        println!("simulated {what} co-processor on socket://{bound}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    })
    .map_err(|e| format!("serving on {address}: {e}"))?;
    Ok(String::new())
}

/// `KIND,EUI64,INSTALL-CODE` → a simulated device on `(pan, channel)`.
fn parse_device(spec: &str, network: (u16, u8)) -> Result<hanrig_sim::device::SimDevice, String> {
    use hanrig_device::drlc::DrlcConfig;
    use hanrig_sep::clusters::drlc::DeviceClass;
    use hanrig_sim::device::{DeviceKind, SimDevice};
    let bad = |why: String| format!("--device {spec:?}: {why} (expected KIND,EUI64,INSTALL-CODE)");
    let [kind, eui, code] = spec.split(',').collect::<Vec<_>>()[..] else {
        return Err(bad("three comma-separated fields".into()));
    };
    let kind = DeviceKind::from_name(kind).ok_or_else(|| {
        bad(format!(
            "kind {kind:?} is not in-home-display, thermostat or load-control"
        ))
    })?;
    let eui: hanrig_sep::Eui64 = eui.parse().map_err(|e| bad(format!("{e}")))?;
    let code: hanrig_sep::install_code::InstallCode =
        code.parse().map_err(|e| bad(format!("{e}")))?;
    let class = match kind {
        DeviceKind::Thermostat => DeviceClass::HVAC,
        DeviceKind::LoadControl => DeviceClass::WATER_HEATER | DeviceClass::POOL_PUMP,
        DeviceKind::InHomeDisplay => 0,
    };
    let drlc = DrlcConfig {
        device_class: DeviceClass(class),
        utility_enrollment_group: 0,
        start_randomization_minutes: 0,
        duration_randomization_minutes: 0,
    };
    Ok(SimDevice::new(
        &eui.to_string(),
        kind,
        eui,
        &code,
        network,
        drlc,
        eui.0,
    ))
}
