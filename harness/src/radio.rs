//! `hanrig radio …`: talk to a radio co-processor (a stick on a serial port, or
//! `socket://host:port`) through the host drivers.

use clap::Subcommand;

/// Where the co-processor is.
#[derive(Debug, clap::Args)]
pub struct PortArgs {
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
pub enum RadioCommand {
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

/// Opens the co-processor at `port`, speaking `--protocol`.
async fn open_radio(port: &PortArgs) -> Result<hanrig_radio_host::AnyRadio, String> {
    use hanrig_radio_host::port::FlowControl;
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
    hanrig_radio_host::AnyRadio::open(&port.protocol, &port.port, port.baud, flow)
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
    use hanrig_radio_host::Event;
    use hanrig_radio_host::Radio;
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
        let e = |e: hanrig_radio_host::RadioError| e.to_string();
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
                Err(hanrig_radio_host::RadioError::Timeout { .. }) => break,
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
    use hanrig_radio_host::Radio;
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
    use hanrig_radio_host::Radio;
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
        if let hanrig_radio_host::AnyRadio::Ezsp(host) = &mut radio {
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

/// Runs `hanrig radio …`.
pub fn run(command: RadioCommand) -> anyhow::Result<String> {
    match command {
        RadioCommand::Info { port } => radio_info(&port),
        RadioCommand::Ping { port, count } => radio_ping(&port, count),
        RadioCommand::Admit {
            port,
            devices,
            seconds,
            listen,
        } => radio_admit(&port, &devices, seconds, listen),
    }
    .map_err(anyhow::Error::msg)
}
