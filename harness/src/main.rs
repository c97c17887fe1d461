//! `hanrig`: the command-line tool of the hanrig test rig and gateway.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use hanrig::{capture, cbke, sim, zcl};

/// hanrig — ZigBee Smart Energy 1.0 test rig and gateway.
#[derive(Debug, Parser)]
#[command(name = "hanrig", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Debug, Subcommand)]
enum Top {
    /// Decode and encode ZCL frames of the Smart Energy clusters.
    #[command(subcommand)]
    Zcl(ZclCommand),
    /// Read and write captures (pcapng, IEEE 802.15.4 with FCS) and their key files.
    #[command(subcommand)]
    Capture(CaptureCommand),
    /// Run a simulated HAN scenario on virtual time (writes capture.pcapng, keys and
    /// events.jsonl into the output directory), or serve a simulated radio co-processor.
    #[command(args_conflicts_with_subcommands = true)]
    Sim {
        /// Serve a simulated radio instead of running a scenario.
        #[command(subcommand)]
        radio: Option<SimRadio>,
        /// The scenario file (TOML; examples in han-sim/scenarios).
        #[arg(long, required = false)]
        scenario: Option<PathBuf>,
        /// Directory for the outputs.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Talk to a radio co-processor (a stick on a serial port, or `socket://host:port`).
    #[command(subcommand)]
    Radio(RadioCommand),
    /// List the conformance cases (or the simulated mutants).
    List {
        /// Only this suite: device, meter or e2e.
        #[arg(long)]
        suite: Option<String>,
        /// List the deliberately broken simulated devices instead.
        #[arg(long)]
        mutants: bool,
    },
    /// Run conformance cases on a rig. Exit code 0: all passed; 1: the DUT failed a case;
    /// 2: the rig itself failed.
    Run {
        /// The rig file (rigs/sim.toml runs everything simulated).
        #[arg(long)]
        rig: PathBuf,
        /// Only this suite: device, meter or e2e.
        #[arg(long)]
        suite: Option<String>,
        /// Only these cases (repeatable).
        #[arg(long = "case")]
        cases: Vec<String>,
        /// Write JUnit XML, JSON, HTML and per-case captures here.
        #[arg(long)]
        report_dir: Option<PathBuf>,
        /// Play this mutant as the device under test (simulated rigs).
        #[arg(long)]
        mutant: Option<String>,
    },
    /// Drive a lab rig's hardware DUT: its power, reset and join-button lines on Raspberry Pi
    /// GPIO (`--features gpio`), or flash it with a debug probe (`--features flash`).
    ///
    /// `hanrig lab up --dir D` instead brings the whole gateway system up on this machine:
    /// the API, a connector and simulated head-end per TDSP, and a simulated HAN.
    #[command(args_conflicts_with_subcommands = true)]
    Lab {
        /// Bring the simulated system up.
        #[command(subcommand)]
        up: Option<LabUp>,
        /// The lab rig file (rigs/example-lab.toml shows one).
        #[arg(long)]
        rig: Option<PathBuf>,
        /// What to do.
        action: Option<hanrig::lab::LabAction>,
    },
    /// The HAN gateway: administer its companies, users and certificates, or serve its API.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// Certificate-Based Key Establishment (suite 1): compute an exchange from fixed keys,
    /// reconstruct a certificate's key, run a test certificate authority.
    #[command(subcommand)]
    Cbke(CbkeCommand),
    /// Check an install code and derive the link key it gives.
    InstallCode {
        /// The code: hex digits (6, 8, 12 or 16 bytes plus the 2-byte CRC), optionally
        /// separated by spaces, '-' or ':'.
        code: String,
    },
}

#[derive(Debug, Subcommand)]
enum CbkeCommand {
    /// Compute a whole exchange from `{ "ca_public", "initiator": { "certificate",
    /// "private_key", "ephemeral_private_key" }, "responder": { … } }` (hex) and print both
    /// public keys, both ephemeral public keys, z, mac_key, key_data, macu and macv.
    Vector {
        /// The JSON file ('-' for standard input).
        file: String,
    },
    /// Print the public key an implicit certificate reconstructs to under a CA key.
    PublicKey {
        /// The CA's public key (22 bytes, compressed, hex).
        #[arg(long)]
        ca: String,
        /// The certificate (48 bytes, hex).
        #[arg(long)]
        certificate: String,
    },
    /// Create a test CA: a new key and issuer ID in a JSON file (mode 0600, never overwritten).
    CaInit {
        /// The file to create.
        #[arg(long)]
        out: PathBuf,
        /// Issuer ID: 8 ASCII characters or 16 hex digits.
        #[arg(long, default_value = "HANRIGCA")]
        issuer: String,
    },
    /// Issue a certificate and private key to a device; prints JSON.
    CertIssue {
        /// The CA file from `ca-init`.
        #[arg(long)]
        ca: PathBuf,
        /// The device's EUI64, as 00:12:4b:00:00:00:00:01.
        #[arg(long)]
        eui64: String,
        /// Profile attribute data (10 bytes, hex); the Certicom test profile by default.
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum LabUp {
    /// The gateway's API, one connector and simulated head-end per TDSP, a simulated HAN of
    /// N meters with an in-home device each, a demo third party with agreements; writes
    /// ca.pem, client.pem, client.key and lab.json into the directory and runs until
    /// interrupted.
    Up(hanrig::lab_up::LabOptions),
}

#[derive(Debug, Subcommand)]
enum GatewayCommand {
    /// Companies, users, the lab CA and client certificates.
    Admin {
        /// The repository: sqlite://FILE?mode=rwc or postgres://USER@HOST/DB.
        #[arg(long, default_value = hanrig::gateway::DEFAULT_DATABASE)]
        database_url: String,
        #[command(subcommand)]
        command: hanrig::gateway::Admin,
    },
    /// Serve the API over mutual TLS until interrupted.
    Serve(hanrig::gateway::Serve),
    /// Print the API's OpenAPI 3.1 document (what `GET /openapi.json` serves).
    Openapi,
}

/// Where the co-processor is.
#[derive(Debug, clap::Args)]
struct PortArgs {
    /// `/dev/ttyUSB0`, or `socket://127.0.0.1:9999` for a simulated or networked radio.
    #[arg(long)]
    port: String,
    /// Baud rate of a serial port.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Flow control: none, hardware or software.
    #[arg(long, default_value = "none")]
    flow_control: String,
    /// The co-processor's protocol: ezsp (Silicon Labs EmberZNet) or znp (TI Z-Stack 3).
    #[arg(long, default_value = "ezsp")]
    protocol: String,
}

#[derive(Debug, Subcommand)]
enum RadioCommand {
    /// Reset the co-processor, negotiate its protocol and print what it is and the network it
    /// holds.
    Info {
        #[command(flatten)]
        port: PortArgs,
    },
    /// Time command round trips (EZSP getEui64, MT SYS_GET_EXTADDR): a link health check, and
    /// the figure BENCHMARKS.md compares with bellows.
    Ping {
        #[command(flatten)]
        port: PortArgs,
        /// How many round trips.
        #[arg(long, default_value_t = 100)]
        count: u32,
    },
    /// Play the ESI's trust centre: load install-code keys, permit joining, and print each
    /// device admitted and each message heard until all have joined and `--listen` passes.
    Admit {
        #[command(flatten)]
        port: PortArgs,
        /// A device to admit, as EUI64,INSTALL-CODE. Repeatable.
        #[arg(long = "device", value_name = "EUI64,CODE", required = true)]
        devices: Vec<String>,
        /// How long joining stays open, seconds (1–254).
        #[arg(long, default_value_t = 60)]
        seconds: u8,
        /// After the last join, keep printing messages for this many seconds.
        #[arg(long, default_value_t = 2.0)]
        listen: f64,
    },
}

#[derive(Debug, Subcommand)]
enum SimRadio {
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
    Dut(Box<sim::DutArgs>),
}

#[derive(Debug, Subcommand)]
enum CaptureCommand {
    /// Decode every frame of a capture down to the SE command fields, decrypting NWK and APS
    /// security with the keys of a Wireshark `zigbee_pc_keys` file (network keys sent in
    /// Transport Key frames are learnt on the way).
    Decode {
        /// The capture (pcapng or pcap, link type 195).
        file: PathBuf,
        /// Key file: `"KEY","Normal","label"` lines, as `hanrig` writes and Wireshark reads.
        #[arg(long)]
        keys: Option<PathBuf>,
        /// One JSON object per frame instead of one line of text.
        #[arg(long)]
        json: bool,
    },
    /// Write a capture with one secured frame of every SE command, preceded by the APS
    /// Transport-Key frame that hands the network key to the device under the key derived
    /// from its install code; and the key file that decrypts it all.
    Synth {
        /// Capture file to write.
        #[arg(long)]
        out: PathBuf,
        /// Key file to write.
        #[arg(long)]
        keys: PathBuf,
        /// The device's install code.
        #[arg(long, default_value = "83FED3407A939723A5C639B26916D505C3B5")]
        install_code: String,
    },
}

#[derive(Debug, Subcommand)]
enum ZclCommand {
    /// Decode a ZCL frame (header and payload, as carried in an APS data frame).
    Decode {
        /// Cluster the frame was sent on: a number (0x0701, 1793) or a name (price, drlc,
        /// metering, messaging, key-establishment, basic, time).
        #[arg(long, value_parser = zcl::parse_cluster)]
        cluster: u16,
        /// Print the JSON form instead of the readable decode.
        #[arg(long)]
        json: bool,
        /// The frame in hex; spaces and ':' are allowed, and several arguments are joined.
        #[arg(required = true, num_args = 1..)]
        hex: Vec<String>,
    },
    /// Encode the JSON form of a frame (as printed by `decode --json`) and print it as hex.
    Encode {
        /// File holding the JSON; standard input when absent or '-'.
        file: Option<String>,
    },
    /// List every command the codec knows, with its cluster, direction and ID.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Top::Run {
        rig,
        suite,
        cases,
        report_dir,
        mutant,
    } = &cli.command
    {
        return hanrig::conformance::cli::run(
            rig,
            suite.as_deref(),
            cases,
            report_dir.as_deref(),
            mutant.as_deref(),
        );
    }
    match run(cli.command) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// A file's text, or standard input's for none or `-`.
fn read_input(file: Option<&str>) -> Result<String, String> {
    match file {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("reading standard input: {e}"))?;
            Ok(text)
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}")),
    }
}

fn run(command: Top) -> Result<String, String> {
    match command {
        Top::Zcl(ZclCommand::Decode { cluster, json, hex }) => zcl::decode(cluster, &hex, json),
        Top::Zcl(ZclCommand::Encode { file }) => zcl::encode(&read_input(file.as_deref())?),
        Top::Zcl(ZclCommand::List) => Ok(zcl::list()),
        Top::Gateway(GatewayCommand::Admin {
            database_url,
            command,
        }) => hanrig::gateway::admin(&database_url, command),
        Top::Gateway(GatewayCommand::Serve(options)) => hanrig::gateway::serve(&options),
        Top::Gateway(GatewayCommand::Openapi) => hanrig::gateway::openapi(),
        Top::InstallCode { code } => zcl::install_code(&code),
        Top::Cbke(CbkeCommand::Vector { file }) => cbke::vector(&read_input(Some(&file))?),
        Top::Cbke(CbkeCommand::PublicKey { ca, certificate }) => {
            cbke::reconstruct(&ca, &certificate)
        }
        Top::Cbke(CbkeCommand::CaInit { out, issuer }) => cbke::ca_init(&out, &issuer),
        Top::Cbke(CbkeCommand::CertIssue { ca, eui64, profile }) => {
            cbke::cert_issue(&ca, &eui64, profile.as_deref())
        }
        Top::Lab {
            up: Some(LabUp::Up(options)),
            ..
        } => hanrig::lab_up::up(&options),
        Top::Lab {
            rig: Some(rig),
            action: Some(action),
            ..
        } => hanrig::lab::operate(&rig, action),
        Top::Lab { .. } => {
            Err("hanrig lab needs `up --dir DIR`, or --rig FILE and an action".into())
        }
        Top::Sim {
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
        } => sim::radio(
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
        Top::Sim {
            radio: Some(SimRadio::Dut(args)),
            ..
        } => sim::dut(&args),
        Top::Sim {
            radio: None,
            scenario: Some(scenario),
            out: Some(out),
        } => sim::run(&scenario, &out),
        Top::Sim { .. } => Err("hanrig sim needs --scenario FILE --out DIR, or `radio`".into()),
        Top::Radio(RadioCommand::Info { port }) => radio_info(&port),
        Top::Radio(RadioCommand::Ping { port, count }) => radio_ping(&port, count),
        Top::Radio(RadioCommand::Admit {
            port,
            devices,
            seconds,
            listen,
        }) => radio_admit(&port, &devices, seconds, listen),
        Top::List { suite, mutants } => hanrig::conformance::cli::list(suite.as_deref(), mutants),
        Top::Run { .. } => unreachable!("handled in main"),
        Top::Capture(CaptureCommand::Decode { file, keys, json }) => {
            capture::decode(&file, keys.as_deref(), json)
        }
        Top::Capture(CaptureCommand::Synth {
            out,
            keys,
            install_code,
        }) => {
            let code = install_code
                .parse()
                .map_err(|e| format!("install code refused: {e}"))?;
            capture::synth(&out, &keys, &code)
        }
    }
}

/// Opens the co-processor at `port`, speaking `--protocol`.
async fn open_radio(port: &PortArgs) -> Result<hanrig::radio::AnyRadio, String> {
    use hanrig::radio::port::FlowControl;
    let flow = match port.flow_control.as_str() {
        "none" => FlowControl::None,
        "hardware" => FlowControl::Hardware,
        "software" => FlowControl::Software,
        other => {
            return Err(format!(
                "flow control {other:?} is not none, hardware or software"
            ));
        }
    };
    hanrig::radio::AnyRadio::open(&port.protocol, &port.port, port.baud, flow)
        .await
        .map_err(|e| e.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn radio_admit(
    port: &PortArgs,
    devices: &[String],
    seconds: u8,
    listen: f64,
) -> Result<String, String> {
    use hanrig::radio::Event;
    use hanrig::radio::Radio;
    use hanrig_sep::Eui64;
    use hanrig_sep::install_code::InstallCode;
    use std::time::{Duration, Instant};
    if !(1..=254).contains(&seconds) {
        return Err(format!("--seconds {seconds}: joining opens for 1–254 s"));
    }
    if !(0.0..=3600.0).contains(&listen) {
        return Err(format!("--listen {listen}: 0–3600 s"));
    }
    let mut wanted = Vec::new();
    for spec in devices {
        let bad = |why: String| format!("--device {spec:?}: {why} (expected EUI64,INSTALL-CODE)");
        let (eui, code) = spec
            .split_once(',')
            .ok_or_else(|| bad("two comma-separated fields".into()))?;
        let eui: Eui64 = eui.parse().map_err(|e| bad(format!("{e}")))?;
        let code: InstallCode = code.parse().map_err(|e| bad(format!("{e}")))?;
        wanted.push((eui, code.link_key()));
    }
    runtime()?.block_on(async {
        let e = |e: hanrig::radio::RadioError| e.to_string();
        let mut radio = open_radio(port).await?;
        println!("{}", radio.start().await.map_err(e)?);
        if !radio.network_init().await.map_err(e)? {
            return Err(format!(
                "{}: the co-processor holds no network to admit devices to",
                port.port
            ));
        }
        for (eui, key) in &wanted {
            radio.add_link_key(*eui, key).await.map_err(e)?;
        }
        radio.permit_joining(seconds).await.map_err(e)?;
        println!("joining open for {seconds} s");
        let closes = Instant::now() + Duration::from_secs(u64::from(seconds));
        let mut joined: Vec<Eui64> = Vec::new();
        let mut quiet_from: Option<Instant> = None;
        loop {
            let deadline = match quiet_from {
                Some(t) => t + Duration::from_secs_f64(listen),
                None => closes,
            };
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            match radio.next_event(left).await {
                Ok(Event::Joined { short, eui }) => {
                    println!("joined {eui} as 0x{short:04x}");
                    joined.push(eui);
                    if wanted.iter().all(|(w, _)| joined.contains(w)) {
                        quiet_from = Some(Instant::now());
                    }
                }
                Ok(Event::Incoming(m)) => {
                    let what = hanrig_sep::ZclFrame::parse(m.cluster, &m.payload)
                        .map(|f| f.command.name().to_string())
                        .unwrap_or_else(|err| format!("undecodable ZCL: {err}"));
                    println!(
                        "0x{:04x} → cluster 0x{:04x}{}: {what}",
                        m.node,
                        m.cluster,
                        if m.aps_encryption {
                            " (APS-secured)"
                        } else {
                            ""
                        }
                    );
                }
                Err(hanrig::radio::RadioError::Timeout { .. }) => break,
                Err(err) => return Err(err.to_string()),
            }
        }
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(w, _)| !joined.contains(w))
            .map(|(w, _)| w.to_string())
            .collect();
        if missing.is_empty() {
            Ok(format!("all {} admitted\n", wanted.len()))
        } else {
            Err(format!(
                "not admitted while joining was open: {}",
                missing.join(", ")
            ))
        }
    })
}

fn radio_ping(port: &PortArgs, count: u32) -> Result<String, String> {
    use hanrig::radio::Radio;
    use std::time::Instant;
    if count == 0 {
        return Err("--count must be at least 1".into());
    }
    runtime()?.block_on(async {
        let mut radio = open_radio(port).await?;
        println!("{}", radio.start().await.map_err(|e| e.to_string())?);
        let mut times = Vec::with_capacity(count as usize);
        let started = Instant::now();
        for _ in 0..count {
            let t = Instant::now();
            radio.eui64().await.map_err(|e| e.to_string())?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let total = started.elapsed().as_secs_f64();
        times.sort_by(f64::total_cmp);
        Ok(format!(
            "{count} {} round trips: min {:.3} ms, median {:.3} ms, max {:.3} ms, {:.0} per second\n",
            if port.protocol == "znp" {
                "SYS_GET_EXTADDR"
            } else {
                "getEui64"
            },
            times[0],
            times[times.len() / 2],
            times[times.len() - 1],
            f64::from(count) / total
        ))
    })
}

fn radio_info(port: &PortArgs) -> Result<String, String> {
    use hanrig::radio::Radio;
    runtime()?.block_on(async {
        let mut radio = open_radio(port).await?;
        let what = radio.start().await.map_err(|e| e.to_string())?;
        let eui = radio.eui64().await.map_err(|e| e.to_string())?;
        let up = radio.network_init().await.map_err(|e| e.to_string())?;
        let mut out = format!("{what}\nEUI64 {eui}\n");
        if up {
            let n = radio.network_info().await.map_err(|e| e.to_string())?;
            out += &format!(
                "network up: node type {}, PAN 0x{:04x}, extended PAN {}, channel {}\n",
                n.node_type,
                n.pan_id,
                hanrig_sep::Eui64(n.extended_pan_id),
                n.channel
            );
        } else {
            out += "no network\n";
        }
        // What Key Establishment on this radio can use: the CBKE library and a certificate.
        if let hanrig::radio::AnyRadio::Ezsp(host) = &mut radio {
            let library = host.cbke_library().await.map_err(|e| e.to_string())?;
            out += &match (library, library.then_some(host.cbke_certificate().await)) {
                (true, Some(Ok(cert))) => {
                    let cert = hanrig_cbke::Certificate(cert);
                    format!(
                        "CBKE: library present; certificate for {}, issuer {}\n",
                        hanrig_cbke::exchange::subject_eui64(&cert),
                        String::from_utf8_lossy(&cert.issuer())
                    )
                }
                (true, _) => "CBKE: library present, no certificate in its tokens\n".into(),
                (false, _) => {
                    "CBKE: no library (Key Establishment cannot run on this radio)\n".into()
                }
            };
        }
        Ok(out)
    })
}
