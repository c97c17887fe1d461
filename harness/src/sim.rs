//! `hanrig sim`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use hanrig_sim::scenario::{Scenario, Simulate};

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

/// `hanrig sim dut`: a simulated device or meter under test, configured as a lab engineer
/// configures a real one before a case — its kind, identity, install code or the devices it is
/// provisioned with, the network, its DRLC client attributes or its register and load — and,
/// to prove the suites catch it, a deliberate defect.
#[derive(Debug, Clone, clap::Args)]
pub struct DutArgs {
    /// in-home-display, thermostat, load-control, or meter.
    #[arg(long)]
    pub kind: String,
    /// A meter: a device it is provisioned with, as KIND,EUI64,INSTALL-CODE. Repeatable.
    #[arg(long = "provision", value_name = "KIND,EUI64,CODE")]
    pub provision: Vec<String>,
    /// A meter: how many devices it admits.
    #[arg(long, default_value_t = 5)]
    pub device_limit: usize,
    /// A meter: demand in watts, one value per hour of the day, comma-separated.
    #[arg(long, default_value = "1500")]
    pub load_w: String,
    /// A meter: the summation delivered at --start, Wh.
    #[arg(long, default_value_t = 0)]
    pub summation_wh: u64,
    /// A meter: when its register reads --summation-wh (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, default_value = "2026-07-01T14:00:00Z")]
    pub start: String,
    /// Its EUI64, e.g. 00:12:4b:00:01:02:03:04.
    #[arg(long)]
    pub eui64: String,
    /// A device: its install code (hex, with CRC).
    #[arg(long)]
    pub install_code: Option<String>,
    /// The PAN it joins.
    #[arg(long)]
    pub pan: u16,
    /// The channel it joins on.
    #[arg(long)]
    pub channel: u8,
    /// DRLC DeviceClassValue (default by kind).
    #[arg(long)]
    pub device_class: Option<u16>,
    /// DRLC UtilityEnrollmentGroup.
    #[arg(long, default_value_t = 0)]
    pub enrollment_group: u8,
    /// DRLC StartRandomizationMinutes.
    #[arg(long, default_value_t = 0)]
    pub start_randomization_minutes: u8,
    /// DRLC DurationRandomizationMinutes.
    #[arg(long, default_value_t = 0)]
    pub duration_randomization_minutes: u8,
    /// Seed of its random choices (randomised event times).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Play this device mutant (`hanrig list --mutants`).
    #[arg(long)]
    pub mutant: Option<String>,
    /// Listen here (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// Key Establishment (CBKE suite 1) with this certificate (48 bytes, hex; with
    /// --cbke-private-key and --cbke-ca, as `hanrig cbke cert-issue` prints them): a meter
    /// requires it of its devices, a device starts it after joining.
    #[arg(long, requires_all = ["cbke_private_key", "cbke_ca"])]
    pub cbke_certificate: Option<String>,
    /// The CBKE private key (21 bytes, hex).
    #[arg(long)]
    pub cbke_private_key: Option<String>,
    /// The CBKE CA's public key (22 bytes, hex).
    #[arg(long)]
    pub cbke_ca: Option<String>,
}

/// `hanrig sim dut --kind meter`: the meter's ESI, its network key drawn from --seed.
fn meter_dut(args: &DutArgs) -> Result<hanrig_sim::remote::Dut, String> {
    use hanrig_sim::device::{DeviceKind, Mutant};
    use hanrig_sim::esi::{Esi, MeterModel};
    let eui: hanrig_sep::Eui64 = args
        .eui64
        .parse()
        .map_err(|_| format!("--eui64 {:?} is not an EUI64", args.eui64))?;
    let load: Vec<i32> = args
        .load_w
        .split(',')
        .map(|w| {
            w.trim()
                .parse()
                .map_err(|_| format!("--load-w: {w:?} is not a number of watts"))
        })
        .collect::<Result<_, _>>()?;
    let start =
        hanrig_sim::scenario::parse_time(&args.start).map_err(|e| format!("--start: {e}"))?;
    let mut rng = hanrig_device::Rng::new(args.seed);
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    key[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    let mut esi = Esi::new(
        "dut",
        eui,
        args.pan,
        args.channel,
        key,
        args.device_limit,
        MeterModel::new(load, args.summation_wh, start),
    );
    for p in &args.provision {
        let mut parts = p.splitn(3, ',');
        let (Some(kind), Some(device), Some(code)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("--provision {p:?}: KIND,EUI64,INSTALL-CODE"));
        };
        let kind = DeviceKind::from_name(kind)
            .ok_or_else(|| format!("--provision {p:?}: kind {kind:?} is not a device kind"))?;
        let device: hanrig_sep::Eui64 = device
            .parse()
            .map_err(|_| format!("--provision {p:?}: {device:?} is not an EUI64"))?;
        let code: hanrig_sep::install_code::InstallCode = code
            .parse()
            .map_err(|e| format!("--provision {p:?}: install code refused: {e}"))?;
        esi.provision(device, &code, kind.clusters());
    }
    if let Some(identity) = cbke_identity(args)? {
        esi.require_cbke(identity, args.seed);
    }
    if let Some(name) = &args.mutant {
        match Mutant::by_name(name) {
            Some(m) if m.is_meter() => esi.app.mutant = Some(m),
            Some(_) => {
                return Err(format!(
                    "--mutant {name:?} is a device mutant, not a meter's"
                ));
            }
            None => {
                return Err(format!(
                    "no mutant {name:?}; `hanrig list --mutants` shows them"
                ));
            }
        }
    }
    Ok(hanrig_sim::remote::Dut::Meter(Box::new(esi)))
}

/// The CBKE identity --cbke-certificate, --cbke-private-key and --cbke-ca give, if any.
fn cbke_identity(args: &DutArgs) -> Result<Option<hanrig_cbke::exchange::Identity>, String> {
    match (
        &args.cbke_certificate,
        &args.cbke_private_key,
        &args.cbke_ca,
    ) {
        (Some(cert), Some(key), Some(ca)) => crate::cbke::identity(cert, key, ca).map(Some),
        _ => Ok(None),
    }
}

/// `hanrig sim dut`.
pub fn dut(args: &DutArgs) -> Result<String, String> {
    if args.kind == "meter" {
        return serve_dut(args, meter_dut(args)?);
    }
    use hanrig_device::drlc::DrlcConfig;
    use hanrig_sep::clusters::drlc::DeviceClass;
    use hanrig_sim::device::{DeviceKind, Mutant, SimDevice};
    let kind = DeviceKind::from_name(&args.kind).ok_or_else(|| {
        format!(
            "--kind {:?} is not in-home-display, thermostat or load-control",
            args.kind
        )
    })?;
    let eui: hanrig_sep::Eui64 = args
        .eui64
        .parse()
        .map_err(|_| format!("--eui64 {:?} is not an EUI64", args.eui64))?;
    let code: hanrig_sep::install_code::InstallCode = args
        .install_code
        .as_deref()
        .ok_or("a device needs --install-code")?
        .parse()
        .map_err(|e| format!("--install-code refused: {e}"))?;
    let mutant = match &args.mutant {
        Some(name) => match Mutant::by_name(name) {
            Some(m) if !m.is_meter() => Some(m),
            Some(_) => {
                return Err(format!(
                    "--mutant {name:?} is a meter mutant, not a device's"
                ));
            }
            None => {
                return Err(format!(
                    "no mutant {name:?}; `hanrig list --mutants` shows them"
                ));
            }
        },
        None => None,
    };
    let class = args.device_class.unwrap_or(match kind {
        DeviceKind::Thermostat => DeviceClass::HVAC,
        DeviceKind::LoadControl => DeviceClass::WATER_HEATER | DeviceClass::POOL_PUMP,
        DeviceKind::InHomeDisplay => 0,
    });
    let config = DrlcConfig {
        device_class: DeviceClass(class),
        utility_enrollment_group: args.enrollment_group,
        start_randomization_minutes: args.start_randomization_minutes,
        duration_randomization_minutes: args.duration_randomization_minutes,
    };
    let mut device = SimDevice::new(
        "dut",
        kind,
        eui,
        &code,
        (args.pan, args.channel),
        config,
        args.seed,
    );
    if let Some(m) = mutant {
        device.set_mutant(m);
    }
    if let Some(identity) = cbke_identity(args)? {
        device.with_cbke(identity, hanrig_sim::cbke::DeviceCbke::Good, args.seed);
    }
    serve_dut(args, hanrig_sim::remote::Dut::Device(Box::new(device)))
}

/// Serves `dut` on `--listen`, printing the address first.
fn serve_dut(args: &DutArgs, dut: hanrig_sim::remote::Dut) -> Result<String, String> {
    let listener = std::net::TcpListener::bind(&args.listen)
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    // The first line is the address, for the rig that started us.
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{address}");
        let _ = out.flush();
    }
    hanrig_sim::remote::serve_dut(listener, dut).map_err(|e| format!("serving the DUT: {e}"))?;
    Ok(String::new())
}

/// `hanrig sim radio`: serves a simulated co-processor until interrupted.
#[allow(clippy::too_many_arguments)]
pub fn radio(
    protocol: &str,
    ezsp_version: u8,
    tcp: Option<&str>,
    pty: bool,
    baud: Option<u32>,
    devices: &[String],
    mutant: Option<&str>,
    unformed: bool,
    no_cbke_library: bool,
    cbke_seed: Option<u64>,
) -> Result<String, String> {
    if cbke_seed.is_some() && (protocol != "ezsp" || no_cbke_library) {
        return Err(
            "--cbke-seed: the certificates go into an EZSP co-processor's CBKE library".into(),
        );
    }
    let ca = cbke_seed.map(hanrig_sim::cbke::TestCa::new);
    if no_cbke_library && protocol != "ezsp" {
        return Err("--no-cbke-library: CBKE frames are EZSP's".into());
    }
    if unformed && protocol != "ezsp" {
        return Err(
            "--unformed: only the simulated EZSP co-processor starts without a network so far"
                .into(),
        );
    }
    let mutant = match mutant {
        None => None,
        Some(name) => match hanrig_sim::device::Mutant::by_name(name) {
            Some(m) if !m.is_meter() => Some(m),
            _ => {
                return Err(format!(
                    "--mutant {name:?} is not a device mutant (`hanrig list --mutants`)"
                ));
            }
        },
    };
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
    let mut sim_devices = Vec::new();
    for d in devices {
        let mut device = parse_device(d, area)?;
        if let Some(m) = mutant {
            device.set_mutant(m);
        }
        if let (Some(ca), Some(seed)) = (&ca, cbke_seed) {
            let identity = ca.identity(device.eui());
            device.with_cbke(identity, hanrig_sim::cbke::DeviceCbke::Good, seed);
        }
        sim_devices.push(device);
    }
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
            let ncp = if unformed {
                EzspNcp::unformed(ezsp_version, eui)
            } else {
                EzspNcp::new(ezsp_version, eui, network)
            };
            let ncp = ncp.with_devices(network_key, sim_devices);
            let ncp = match &ca {
                _ if no_cbke_library => ncp.without_cbke_library(),
                Some(ca) => ncp.with_cbke(ca.identity(eui)),
                None => ncp,
            };
            serve(ncp, &format!("EZSP v{ezsp_version}"), tcp, pty, baud)
        }
        "znp" => {
            let eui = hanrig_sep::Eui64(0x0012_4B00_1CAA_AC5C);
            let ncp = ZnpNcp::new(eui, network, network_key).with_devices(sim_devices);
            serve(ncp, "Z-Stack 3.30 ZNP", tcp, pty, baud)
        }
        other => Err(format!("protocol {other:?} is not ezsp or znp")),
    }
}

/// Serves the co-processor on a pseudo-terminal or a TCP address, to one host after another,
/// until the process ends, printing where.
fn serve<C: hanrig_sim::serve::Coprocessor>(
    ncp: C,
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
        serve_pty(ncp, baud, |path| {
            println!("simulated {what} co-processor on {}", path.display());
            let _ = std::io::Write::flush(&mut std::io::stdout());
        })
        .map_err(|e| format!("serving on a pseudo-terminal: {e}"))?;
        return Ok(String::new());
    }
    let address = tcp.ok_or("give --tcp ADDRESS:PORT or --pty")?;
    serve_tcp(address, ncp, |bound| {
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

/// `hanrig sim`: a scenario, or a simulated radio or DUT to serve.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    /// Serve a simulated radio instead of running a scenario.
    #[command(subcommand)]
    radio: Option<SimRadio>,
    /// The scenario file (TOML; examples in han-sim/scenarios).
    #[arg(long, required = false)]
    scenario: Option<PathBuf>,
    /// Directory for the outputs.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SimRadio {
    /// A simulated co-processor, commissioned as the coordinator of a formed network (or with
    /// none, --unformed), that real hosts talk to. Known to work, checked in CI: hanrig's own
    /// drivers; bellows 1.2.1 (`bellows info`); zigpy 2.4.0 with bellows 1.2.1, as Home
    /// Assistant's ZHA runs them (start-up forming a network, loading it, energy scan, backup
    /// and restore, a device joining by install code) and zigpy-cli 2.0.0 (`info`, `backup`),
    /// on EZSP v13, v14 and v18; zigpy-znp 1.1.1 reading the network on ZNP.
    Radio {
        /// Protocol: ezsp (ASH/EZSP, Silicon Labs EmberZNet) or znp (MT, TI Z-Stack 3.30).
        #[arg(long)]
        protocol: String,
        /// EZSP protocol version to speak: 13 (EmberZNet 7.4) or 14 (8.0, sl_status codes).
        #[arg(long, default_value_t = 13)]
        ezsp_version: u8,
        /// Serve on this TCP address (e.g. 127.0.0.1:9999; hosts connect to socket://…).
        #[arg(long)]
        tcp: Option<String>,
        /// Serve on a pseudo-terminal.
        #[arg(long)]
        pty: bool,
        /// Pace the pseudo-terminal as a UART at this baud rate (8N1), as a real serial link
        /// would (a pseudo-terminal alone carries bytes at memory speed).
        #[arg(long)]
        baud: Option<u32>,
        /// A simulated device in radio range, as KIND,EUI64,INSTALL-CODE (KIND:
        /// in-home-display, thermostat or load-control); it joins when the host loads its
        /// install-code key and permits joining. Repeatable.
        #[arg(long = "device", value_name = "KIND,EUI64,CODE")]
        devices: Vec<String>,
        /// The simulated devices play this device mutant (`hanrig list --mutants`): a lab
        /// rig's suites must catch it.
        #[arg(long)]
        mutant: Option<String>,
        /// Start with no network stored, as a new stick does: the host forms one (zigpy's
        /// auto-form, or a backup restored). EZSP only.
        #[arg(long)]
        unformed: bool,
        /// Play a firmware image without the CBKE library, as stock community images are
        /// (getLibraryStatus says so; the CBKE frames answer LIBRARY_NOT_PRESENT). EZSP only;
        /// otherwise the library is there and setPreinstalledCbkeData loads a certificate.
        #[arg(long)]
        no_cbke_library: bool,
        /// Commission the co-processor and every --device with certificates from the test CA
        /// drawn from this seed (`hanrig-sim`'s scenario CA, issuer HANRIGCA): the devices run
        /// Key Establishment after joining, the chip answers it through the host. EZSP only.
        #[arg(long)]
        cbke_seed: Option<u64>,
    },
    /// A simulated device under test in this process, reachable only over its radio link and
    /// its instrument channel (a black-box rig's DUT): prints the TCP address it listens on,
    /// serves the first medium that connects, and exits when it hangs up.
    Dut(Box<DutArgs>),
}

/// Runs `hanrig sim …`.
pub fn run_command(args: SimArgs) -> anyhow::Result<String> {
    match args {
        SimArgs {
            radio:
                Some(SimRadio::Radio {
                    protocol,
                    ezsp_version,
                    tcp,
                    pty,
                    baud,
                    devices,
                    mutant,
                    unformed,
                    no_cbke_library,
                    cbke_seed,
                }),
            ..
        } => radio(
            &protocol,
            ezsp_version,
            tcp.as_deref(),
            pty,
            baud,
            &devices,
            mutant.as_deref(),
            unformed,
            no_cbke_library,
            cbke_seed,
        ),
        SimArgs {
            radio: Some(SimRadio::Dut(args)),
            ..
        } => dut(&args),
        SimArgs {
            radio: None,
            scenario: Some(scenario),
            out: Some(out),
        } => run(&scenario, &out),
        SimArgs { .. } => Err("hanrig sim needs --scenario FILE --out DIR, or `radio`".into()),
    }
    .map_err(anyhow::Error::msg)
}
