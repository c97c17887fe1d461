//! `hanrig lab up`: the whole system on one machine — the gateway's API over mutual TLS, one
//! connector per TDSP in its head-end's style, a simulated head-end per TDSP (MultiSpeak for
//! Oncor, the job API for CenterPoint and TNMP, CIM for AEP Texas Central and North) with its
//! network's latency, and behind them a simulated HAN of N meters, each with one in-home
//! device. A demo third party has a client certificate, a user and, with each demo customer,
//! an In-Home Device Agreement and an In-Home Device Services Agreement (text, price, load
//! control) in force.
//!
//! Each meter has its premise on record and, with `history_days`, 15-minute history up to
//! yesterday, delivered as its TDSP's interval file into the lab's drop directory
//! (`usage-drop/`), which the gateway ingests. From today's midnight on, each head-end's meters
//! measure their homes ([`hanrig_sim::household`]) as the in-home devices control them — a
//! thermostat's setback or a load-control device's open relay shows — and the head-end delivers
//! what they measured as its TDSP's interval file every 15 minutes of its time. A demo resident signs in to the Smart Meter
//! Texas-compatible portal API (`portal_url`) and sees the first three meters.
//!
//! The directory receives `ca.pem`, `client.pem`, `client.key` and `lab.json` (`api_url`,
//! `username`, `password`, `esiids`, `devices`, `portal_url`, `resident`, `usage_drop`), and
//! the gateway's database.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub mod history;
use std::time::Instant;

use hanrig_gateway::access::CompanyKind;
use hanrig_gateway::agreement::{AgreementKind, MessageTypes};
use hanrig_gateway::device::{DeviceRequest, DeviceState, DeviceType};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::{HeadEndStyle, Routing, Tdsp};
use hanrig_gateway_api::pki::{LabCa, write};
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::multispeak::MultiSpeakClient;
use hanrig_gateway_connect::{Connector, JobsClient, Pace, unix_now};
use hanrig_gateway_server::{Callbacks, Gateway, Link};
use hanrig_gateway_store::{Invitation, Store};
use hanrig_headend::limits;
use hanrig_headend::multispeak::MsgHeader;
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{
    CimHeadEnd, Clock, Front, JobsHeadEnd, Latency, MultiSpeakHeadEnd, device_eui,
    serve_cim_shared, serve_jobs_shared, serve_multispeak_shared,
};
use hanrig_usage::lse::file_name;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The demo third party.
pub const COMPANY: &str = "Demo Energy Services";
/// Its user.
pub const USER: &str = "demo-user";
/// The demo resident's portal user name.
pub const RESIDENT: &str = "demo-resident";
/// The install code every simulated device joins with (han-sim's head-end HAN).
pub const INSTALL_CODE: &str = "83FED3407A939723A5C639B26916D505C3B5";

/// What to bring up.
#[derive(Debug, Clone, clap::Args)]
pub struct LabOptions {
    /// The directory for ca.pem, client.pem, client.key, lab.json and the database (created;
    /// one that holds a lab already is refused).
    #[arg(long)]
    pub dir: PathBuf,
    /// Meters (each with one in-home device), spread over the TDSPs.
    #[arg(long, default_value_t = 20)]
    pub meters: usize,
    /// Simulated seconds per wall second on the head-ends' networks and the HAN (RF mesh
    /// latency is 5–90 s, cellular 30–180 s).
    #[arg(long, default_value_t = 10.0)]
    pub speed: f64,
    /// Where the API listens.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: String,
    /// Networks that lose nothing (the RF mesh otherwise loses 1 %, cellular 2 %).
    #[arg(long)]
    pub lossless: bool,
    /// Days of 15-minute history each meter gets, up to yesterday: written as each TDSP's
    /// interval file into the lab's drop directory, which the gateway ingests (396: 13 months).
    #[arg(long, default_value_t = 396)]
    pub history_days: u32,
}

/// A running lab.
#[derive(Debug)]
pub struct Lab {
    /// The API's URL.
    pub api_url: String,
    /// What `lab.json` holds.
    pub info: serde_json::Value,
    /// The TDSPs' head-end URLs.
    pub headends: Vec<(Tdsp, String)>,
    /// The head-ends' and the HAN's clock (`speed` times as fast as the wall's, from when the
    /// lab started).
    pub clock: Clock,
    store: Store,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Lab {
    /// Answers every open invitation on `esiid` as its customer does through the e-mail's
    /// links (the lab sends no mail); returns how many.
    pub async fn answer_invitations(&self, esiid: &str, accept: bool) -> Result<usize, String> {
        let meter: Esiid = esiid.parse().map_err(e)?;
        let now = unix_now();
        let mut answered = 0;
        for company in self.store.companies().await.map_err(e)? {
            for a in self
                .store
                .agreements(&company.name, Some(&meter))
                .await
                .map_err(e)?
            {
                if !matches!(
                    a.state.at(now as u64),
                    hanrig_gateway::agreement::AgreementState::Invited { .. }
                ) {
                    continue;
                }
                self.store
                    .step_agreement(a.id, now, |s, now| {
                        if accept { s.accept(now) } else { s.reject(now) }
                    })
                    .await
                    .map_err(e)?;
                answered += 1;
            }
        }
        Ok(answered)
    }

    /// Stops every task.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for t in tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

/// The TDSPs in the order meters are dealt to them, with each one's ESIID prefix (from the
/// routing table) and network.
fn territories(routing: &Routing) -> Result<Vec<(Tdsp, String, Latency)>, String> {
    Tdsp::ALL
        .iter()
        .map(|&tdsp| {
            let prefix = routing
                .prefixes()
                .iter()
                .find(|(_, t)| *t == tdsp)
                .map(|(p, _)| p.clone())
                .ok_or_else(|| format!("the routing table has no prefix for {tdsp}"))?;
            // TNMP's meters are cellular (SmartSynch on AT&T); the others RF mesh.
            let latency = if tdsp == Tdsp::Tnmp {
                Latency::CELLULAR
            } else {
                Latency::RF_MESH
            };
            Ok((tdsp, prefix, latency))
        })
        .collect()
}

/// ESIID number `n` under `prefix`: CenterPoint's are 22 digits, the others 17.
fn esiid(tdsp: Tdsp, prefix: &str, n: usize) -> String {
    let width = if tdsp == Tdsp::Centerpoint { 22 } else { 17 } - prefix.len();
    format!("{prefix}{n:0width$}")
}

fn kind_of(i: usize) -> (DeviceKind, DeviceType) {
    match i % 3 {
        0 => (DeviceKind::Thermostat, DeviceType::Thermostat),
        1 => (DeviceKind::InHomeDisplay, DeviceType::InHomeDisplay),
        _ => (DeviceKind::LoadControl, DeviceType::LoadControl),
    }
}

/// A demo premise's city in `tdsp`'s territory.
fn city(tdsp: Tdsp) -> &'static str {
    match tdsp {
        Tdsp::Oncor => "Dallas",
        Tdsp::Centerpoint => "Houston",
        Tdsp::AepTexasCentral => "Corpus Christi",
        Tdsp::AepTexasNorth => "Abilene",
        Tdsp::Tnmp => "Lewisville",
    }
}

fn zip(tdsp: Tdsp) -> &'static str {
    match tdsp {
        Tdsp::Oncor => "75201",
        Tdsp::Centerpoint => "77002",
        Tdsp::AepTexasCentral => "78401",
        Tdsp::AepTexasNorth => "79601",
        Tdsp::Tnmp => "75057",
    }
}

fn random_password() -> Result<String, String> {
    hanrig_gateway_api::pki::random_hex(12)
        .ok_or_else(|| "no randomness for the demo password".into())
}

async fn bind(address: &str) -> Result<(TcpListener, String), String> {
    let l = TcpListener::bind(address)
        .await
        .map_err(|e| format!("listening on {address}: {e}"))?;
    let a = l.local_addr().map_err(|e| e.to_string())?;
    Ok((l, format!("http://{a}/")))
}

/// The simulated head-ends deliver their meters' quarter hours every 15 minutes of their time.
pub const INTERVAL_FILE_EVERY_S: f64 = 900.0;

fn shared<F>(front: F) -> Arc<Mutex<F>> {
    Arc::new(Mutex::new(front))
}

/// Writes `text` as file `name` into `dir`: under another name first and then renamed, so no
/// sweep sees half a file.
fn drop_file(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let part = dir.join(format!("{name}.part"));
    std::fs::write(&part, text).map_err(|err| format!("{}: {err}", part.display()))?;
    std::fs::rename(&part, dir.join(name)).map_err(|err| format!("{}: {err}", dir.display()))
}

/// Starts `tdsp`'s head-end delivering what its meters measured ([`Han::interval_file`]) as
/// `tdsp`'s interval file into its drop directory every [`INTERVAL_FILE_EVERY_S`] of the
/// head-end's time, named with that time.
///
/// [`Han::interval_file`]: hanrig_sim::headend::Han::interval_file
fn deliver_intervals<F: Front>(
    front: Arc<Mutex<F>>,
    clock: Clock,
    tdsp: Tdsp,
    drop_dir: &Path,
) -> JoinHandle<()> {
    let dir = drop_dir.join(tdsp.name());
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs_f64(INTERVAL_FILE_EVERY_S / clock.speed);
        let mut counter = 1;
        loop {
            tokio::time::sleep(every).await;
            let now = clock.now();
            let text = match front.lock() {
                Ok(mut f) => f.han().interval_file(now),
                Err(_) => return,
            };
            let Some(text) = text else { continue };
            counter = counter % 999 + 1;
            let sent = i64::try_from(now.0 / SimTime::SECOND).unwrap_or(0);
            let name = file_name(&history::lab_duns(tdsp), sent, counter);
            if let Err(err) = drop_file(&dir, &name, &text) {
                eprintln!("hanrig lab: {tdsp}'s interval file: {err}");
            }
        }
    })
}

fn e(err: impl std::fmt::Display) -> String {
    err.to_string()
}

/// Brings the lab up (inside a Tokio runtime); it runs until [`Lab::stop`].
pub async fn start(options: &LabOptions) -> Result<Lab, String> {
    let dir = &options.dir;
    if dir.join("lab.json").exists() || dir.join("gateway.db").exists() {
        return Err(format!(
            "{} holds a lab already: use another directory, or delete it",
            dir.display()
        ));
    }
    if options.meters == 0 {
        return Err("--meters: at least 1".into());
    }
    if !(options.speed > 0.0 && options.speed.is_finite()) {
        return Err("--speed: a positive number".into());
    }
    std::fs::create_dir_all(dir).map_err(|err| format!("{}: {err}", dir.display()))?;
    let routing = Routing::texas();
    let now = unix_now();

    // The repository, the demo third party, its user and its certificate.
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gateway.db").display()
    ))
    .await
    .map_err(e)?;
    let ca = LabCa::create().map_err(e)?;
    write(&dir.join("ca.pem"), ca.cert_pem(), false).map_err(e)?;
    let server = ca.issue_server(&["localhost", "127.0.0.1"]).map_err(e)?;
    let client = ca.issue_client(COMPANY).map_err(e)?;
    write(&dir.join("client.pem"), &client.cert_pem, false).map_err(e)?;
    write(&dir.join("client.key"), &client.key_pem, true).map_err(e)?;
    store
        .add_company(COMPANY, CompanyKind::ThirdParty, now)
        .await
        .map_err(e)?;
    store
        .add_certificate(COMPANY, &client.fingerprint, &client.subject, now)
        .await
        .map_err(e)?;
    let password = random_password()?;
    let hash = hanrig_gateway_api::auth::hash_password(&password)?;
    store
        .add_user(COMPANY, USER, &hash, true, &[], now)
        .await
        .map_err(e)?;

    // Meters dealt over the TDSPs; each customer's device provisioned, both agreements in force.
    let lands = territories(&routing)?;
    let mut fleets: Vec<Vec<(String, DeviceKind)>> = vec![Vec::new(); lands.len()];
    let mut devices = Vec::new();
    for i in 0..options.meters {
        let k = i % lands.len();
        let (tdsp, prefix, _) = &lands[k];
        let esiid_text = esiid(*tdsp, prefix, i / lands.len() + 1);
        let (kind, device_type) = kind_of(i);
        let eui = device_eui(&esiid_text);
        let request = DeviceRequest::new(
            &esiid_text,
            &eui.to_string(),
            INSTALL_CODE,
            device_type,
            "demo device",
        )
        .map_err(e)?;
        let type_name = serde_json::to_value(device_type)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let d = store
            .add_device_for(COMPANY, &request, &type_name, *tdsp, now)
            .await
            .map_err(e)?;
        store
            .set_device_state(d.id, &DeviceState::Provisioned, now)
            .await
            .map_err(e)?;
        let meter: Esiid = esiid_text.parse().map_err(e)?;
        for (n, (agreement, device, types)) in [
            (AgreementKind::InHomeDevice, None, MessageTypes::default()),
            (
                AgreementKind::InHomeDeviceServices,
                Some(eui),
                MessageTypes {
                    text: true,
                    price: true,
                    load_control: true,
                },
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let a = store
                .invite(
                    &Invitation {
                        company: COMPANY,
                        kind: agreement,
                        esiid: &meter,
                        device,
                        message_types: types,
                        term: None,
                        customer_email: &format!("customer{i}@example.com"),
                        token: &format!("{}-{n}", random_password()?),
                    },
                    now,
                )
                .await
                .map_err(e)?;
            store
                .step_agreement(a.id, now, |s, now| s.accept(now))
                .await
                .map_err(e)?;
        }
        store
            .put_meter(&hanrig_gateway_store::MeterRecord {
                esiid: meter.clone(),
                tdsp: *tdsp,
                meter_number: format!("{:09}LG", 100_000 + i),
                address: format!("{} Demo Street", 100 + i),
                city: city(*tdsp).into(),
                zip: zip(*tdsp).into(),
                rep: String::new(),
                updated_at: now,
            })
            .await
            .map_err(e)?;
        fleets[k].push((esiid_text.clone(), kind));
        devices.push(serde_json::json!({
            "esiid": esiid_text,
            "eui64": eui.to_string(),
            "tdsp": tdsp.name(),
            "device_type": type_name,
        }));
    }

    let drop_dir = dir.join("usage-drop");
    let usage_drop = hanrig_gateway_server::usage::DropDirectory {
        dir: drop_dir.clone(),
        every: std::time::Duration::from_secs(1),
    };
    usage_drop.prepare()?;

    // A head-end per TDSP, and its link. A calling-back head-end has its own CA and client
    // certificate: its callback listener admits only certificates of that CA.
    let (stop, mut stopped) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut headends = Vec::new();
    let mut links = Vec::new();
    let clock = Clock {
        start: SimTime::from_unix_seconds(u64::try_from(now).unwrap_or(0)),
        since: Instant::now(),
        speed: options.speed,
    };
    for (k, (tdsp, _, latency)) in lands.iter().enumerate() {
        let (tdsp, mut latency, fleet) = (*tdsp, *latency, &fleets[k]);
        if options.lossless {
            latency.loss = 0.0;
        }
        if fleet.is_empty() {
            continue;
        }
        let (listener, url) = bind("127.0.0.1:0").await?;
        let seed = 0x1ab0 + k as u64;
        let calling_back = || async {
            let headend_ca = LabCa::create().map_err(e)?;
            let identity = headend_ca
                .issue_client(&format!("{tdsp} head-end (lab)"))
                .map_err(e)?;
            let push = hanrig_gateway_connect::tls_client(
                ca.cert_pem(),
                Some((&identity.cert_pem, &identity.key_pem)),
                std::time::Duration::from_secs(30),
            )?;
            let tls = hanrig_gateway_api::tls::pinned_server_config(
                headend_ca.cert_pem(),
                &[],
                &server.cert_pem,
                &server.key_pem,
            )
            .map_err(e)?;
            let (listener, _) = bind("127.0.0.1:0").await?;
            let port = listener.local_addr().map_err(e)?.port();
            Ok::<_, String>((
                push,
                Callbacks { listener, tls },
                format!("https://localhost:{port}/"),
            ))
        };
        let (connector, callbacks) = match tdsp.style() {
            HeadEndStyle::Jobs => {
                let headend = shared(JobsHeadEnd::new(fleet, latency, seed, clock.now()));
                tasks.push(deliver_intervals(headend.clone(), clock, tdsp, &drop_dir));
                tasks.push(tokio::spawn(async move {
                    let _ = serve_jobs_shared(listener, headend, clock).await;
                }));
                (
                    Connector::Jobs(JobsClient::new(url.trim_end_matches('/'))),
                    None,
                )
            }
            HeadEndStyle::Cim => {
                let (push, callbacks, reply) = calling_back().await?;
                let headend = shared(CimHeadEnd::new(fleet, latency, seed, clock.now()));
                tasks.push(deliver_intervals(headend.clone(), clock, tdsp, &drop_dir));
                tasks.push(tokio::spawn(async move {
                    let _ = serve_cim_shared(listener, headend, clock, push).await;
                }));
                (
                    Connector::Cim(CimClient::new(&url, &reply)),
                    Some(callbacks),
                )
            }
            HeadEndStyle::MultiSpeak => {
                let (push, callbacks, response) = calling_back().await?;
                let headend = shared(MultiSpeakHeadEnd::new(fleet, latency, seed, clock.now()));
                tasks.push(deliver_intervals(headend.clone(), clock, tdsp, &drop_dir));
                tasks.push(tokio::spawn(async move {
                    let _ = serve_multispeak_shared(listener, headend, clock, push).await;
                }));
                let header = MsgHeader::new("hanrig", "Smart Meter Texas (lab)", "", 0);
                (
                    Connector::MultiSpeak(MultiSpeakClient::new(&url, &response, header)),
                    Some(callbacks),
                )
            }
        };
        headends.push((tdsp, url));
        links.push(Link {
            tdsp,
            connector,
            callbacks,
            pace: Pace {
                idle: std::time::Duration::from_millis(200),
                ..Pace::of(limits::of(tdsp.style()))
            },
        });
    }

    // The demo resident, and the meters' history as each TDSP's file in the drop directory.
    let resident_password = random_password()?;
    let resident_esiids: Vec<Esiid> = devices
        .iter()
        .take(3)
        .filter_map(|d| d["esiid"].as_str()?.parse().ok())
        .collect();
    store
        .add_resident(
            RESIDENT,
            &hanrig_gateway_api::auth::hash_password(&resident_password)?,
            "resident@example.com",
            &resident_esiids,
            now,
        )
        .await
        .map_err(e)?;
    if options.history_days > 0 {
        let yesterday = hanrig_usage::day::Day::containing(now)
            .map_err(e)?
            .previous();
        for (k, (tdsp, _, _)) in lands.iter().enumerate() {
            let esiids: Vec<String> = fleets[k].iter().map(|(esiid, _)| esiid.clone()).collect();
            if esiids.is_empty() {
                continue;
            }
            let text = history::file(&esiids, yesterday, options.history_days);
            let name = file_name(&history::lab_duns(*tdsp), now, 1);
            drop_file(&drop_dir.join(tdsp.name()), &name, &text)?;
        }
    }
    let (portal_listener, _) = bind("127.0.0.1:0").await?;
    let portal_port = portal_listener.local_addr().map_err(e)?.port();
    let portal = hanrig_gateway_server::Portal {
        listener: portal_listener,
        tls: hanrig_gateway_api::tls::public_server_config(&server.cert_pem, &server.key_pem)
            .map_err(e)?,
    };

    // The gateway: the API and every link, composed as `hanrig gateway serve` composes them.
    let (api, _) = bind(&options.listen).await?;
    let port = api.local_addr().map_err(e)?.port();
    let api_url = format!("https://localhost:{port}");
    let api_tls =
        hanrig_gateway_api::tls::server_config(ca.cert_pem(), &server.cert_pem, &server.key_pem)
            .map_err(e)?;
    let gateway = Gateway {
        store: store.clone(),
        routing,
        api,
        api_tls,
        clock: unix_now,
        links,
        limits: Default::default(),
        usage_drop: Some(usage_drop),
        portal: Some(portal),
    };
    tasks.push(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(err) = gateway.serve(shutdown).await {
            eprintln!("hanrig lab: the gateway stopped: {err}");
        }
    }));

    let info = serde_json::json!({
        "api_url": api_url,
        "openapi_url": format!("{api_url}/openapi.json"),
        "username": USER,
        "password": password,
        "company": COMPANY,
        "esiids": devices.iter().map(|d| d["esiid"].clone()).collect::<Vec<_>>(),
        "devices": devices,
        "headends": headends.iter().map(|(t, u)| (t.name().to_string(), serde_json::Value::String(u.clone()))).collect::<serde_json::Map<_, _>>(),
        "speed": options.speed,
        "portal_url": format!("https://127.0.0.1:{portal_port}"),
        "resident": {
            "username": RESIDENT,
            "password": resident_password,
            "esiids": resident_esiids.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        },
        "usage_drop": drop_dir.display().to_string(),
        "history_days": options.history_days,
    });
    write(
        &dir.join("lab.json"),
        &serde_json::to_string_pretty(&info).map_err(e)?,
        true,
    )
    .map_err(e)?;
    Ok(Lab {
        api_url,
        info,
        headends,
        clock,
        store,
        stop,
        tasks: Mutex::new(tasks),
    })
}

/// `hanrig lab up`: starts the lab, prints where everything is, runs until interrupted.
pub fn up(options: &LabOptions) -> Result<String, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(e)?;
    runtime.block_on(async {
        let lab = start(options).await?;
        let dir = options.dir.display();
        println!("hanrig lab: {} meters, each with an in-home device", options.meters);
        println!("  API       {} (mutual TLS)", lab.api_url);
        println!("  OpenAPI   {}/openapi.json", lab.api_url);
        println!(
            "  portal    {} (Smart Meter Texas-compatible API; resident {RESIDENT:?}, password in lab.json)",
            lab.info["portal_url"].as_str().unwrap_or_default()
        );
        for (tdsp, url) in &lab.headends {
            println!("  head-end  {:<18} {:<11} {url}", tdsp.name(), style_name(tdsp.style()));
        }
        println!("  files     {dir}/ca.pem, client.pem, client.key, lab.json (user {USER:?}, its password)");
        println!(
            "  try       curl --cacert {dir}/ca.pem --cert {dir}/client.pem --key {dir}/client.key -u {USER}:PASSWORD {}/v1/agreements",
            lab.api_url
        );
        println!("Ctrl-C stops it.");
        let _ = tokio::signal::ctrl_c().await;
        lab.stop().await;
        Ok("hanrig lab: stopped\n".to_string())
    })
}

fn style_name(style: HeadEndStyle) -> &'static str {
    match style {
        HeadEndStyle::Cim => "CIM",
        HeadEndStyle::MultiSpeak => "MultiSpeak",
        HeadEndStyle::Jobs => "jobs",
    }
}

/// Reads `lab.json` from a lab directory.
pub fn read_info(dir: &Path) -> Result<serde_json::Value, String> {
    let path = dir.join("lab.json");
    let text =
        std::fs::read_to_string(&path).map_err(|err| format!("{}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))
}
