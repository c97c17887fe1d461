//! A simulated TDSP head-end of the job style ([`hanrig_headend::jobs`]), wired to simulated
//! meters and in-home devices: a submitted job's ZCL frame goes, after the TDSP's network
//! latency, from each target meter's ESI to its device over the simulated HAN, and the job's
//! results follow what happens there — sent, delivered (the device received it),
//! acknowledged (the device answered: Report Event Status, Message Confirmation, Price
//! Acknowledgement), failed (the mesh lost it) or expired. Sans-IO: time is an argument; an
//! HTTP shell serves it.

use std::collections::{BTreeMap, HashMap};

use hanrig_device::Rng;
use hanrig_device::drlc::DrlcConfig;
use hanrig_headend::jobs::{
    Job, JobAccepted, JobError, JobKind, JobRequest, TargetResult, TargetState,
};
use hanrig_sep::clusters::drlc::DeviceClass;
use hanrig_sep::install_code::InstallCode;
use hanrig_sep::{Eui64, ZclFrame};

use crate::clock::SimTime;
use crate::device::{DeviceKind, SimDevice};
use crate::esi::{Esi, MeterModel};
use crate::sim::{Happening, MediumConfig, Node, Simulation};

/// How the TDSP's network delays and loses downlink traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    /// Shortest head-end → meter delay, µs.
    pub min_us: u64,
    /// Longest, µs (delays are drawn evenly between the two).
    pub max_us: u64,
    /// Share of targets the network never reaches.
    pub loss: f64,
}

impl Latency {
    /// An RF mesh (Landis+Gyr, Itron): 5–90 s, 1 % lost.
    pub const RF_MESH: Latency = Latency {
        min_us: 5_000_000,
        max_us: 90_000_000,
        loss: 0.01,
    };
    /// Cellular meters: 30–180 s, 2 % lost.
    pub const CELLULAR: Latency = Latency {
        min_us: 30_000_000,
        max_us: 180_000_000,
        loss: 0.02,
    };
}

#[derive(Debug)]
struct Target {
    target: String,
    /// The meter's ESI and its device, when the target is known.
    nodes: Option<(usize, usize)>,
    /// When the ESI sends it (None: lost in the network).
    sends_at: Option<SimTime>,
}

#[derive(Debug)]
struct JobRecord {
    targets: Vec<Target>,
    expires_at: SimTime,
    /// The frame's cluster and command ID, to recognise it and its answers.
    cluster: u16,
    command_id: u8,
}

/// The simulated head-end and the HAN behind it.
#[derive(Debug)]
pub struct JobsHeadEnd {
    sim: Simulation,
    meters: HashMap<String, (usize, usize)>,
    jobs: BTreeMap<String, JobRecord>,
    by_key: HashMap<String, String>,
    latency: Latency,
    rng: Rng,
}

const INSTALL_CODE: [u8; 16] = [
    0x83, 0xFE, 0xD3, 0x40, 0x7A, 0x93, 0x97, 0x23, 0xA5, 0xC6, 0x39, 0xB2, 0x69, 0x16, 0xD5, 0x05,
];

impl JobsHeadEnd {
    /// A head-end for `meters` (ESIID and the kind of its one device), each on a PAN of its
    /// own, devices joined by install code before `start`.
    pub fn new(
        meters: &[(String, DeviceKind)],
        latency: Latency,
        seed: u64,
        start: SimTime,
    ) -> Self {
        let code = InstallCode::from_body(&INSTALL_CODE).ok();
        let mut nodes = Vec::with_capacity(2 * meters.len());
        let mut index = HashMap::new();
        for (i, (esiid, kind)) in meters.iter().enumerate() {
            let pan = (i % 0xFFF0) as u16 + 1;
            let channel = 11 + ((i / 0xFFF0) % 16) as u8;
            let mut esi = Esi::new(
                esiid,
                Eui64(0x000D_6F00_0000_0000 | i as u64),
                pan,
                channel,
                [0x5A; 16],
                5,
                MeterModel::new(vec![1000], 0, start),
            );
            let device_eui = Eui64(0x0012_4B00_0000_0000 | i as u64);
            let Some(code) = &code else { break };
            esi.provision(device_eui, code, kind.clusters());
            let device = SimDevice::new(
                &format!("{esiid}-device"),
                *kind,
                device_eui,
                code,
                (pan, channel),
                DrlcConfig {
                    device_class: DeviceClass(0xFFFF),
                    utility_enrollment_group: 0,
                    start_randomization_minutes: 0,
                    duration_randomization_minutes: 0,
                },
                seed ^ i as u64,
            );
            index.insert(esiid.clone(), (nodes.len(), nodes.len() + 1));
            nodes.push(Node::Esi(Box::new(esi)));
            nodes.push(Node::Device(Box::new(device)));
        }
        let joined_by = SimTime(start.0.saturating_sub(60 * SimTime::SECOND));
        let mut sim = Simulation::new(nodes, MediumConfig::default(), seed, joined_by);
        sim.keep_capture = false;
        sim.log.discard = false;
        for &(_, device) in index.values() {
            sim.schedule(
                joined_by,
                Happening::Act(Box::new(move |now, nodes, log| match &mut nodes[device] {
                    Node::Device(d) => vec![(device, d.start_join(now, log))],
                    _ => Vec::new(),
                })),
            );
        }
        sim.run_until(start);
        JobsHeadEnd {
            sim,
            meters: index,
            jobs: BTreeMap::new(),
            by_key: HashMap::new(),
            latency,
            rng: Rng::new(seed),
        }
    }

    /// `POST /jobs`: accepts a delivery job (a second submit with the same idempotency key
    /// answers the first job), or refuses it naming every bad target.
    pub fn submit(&mut self, request: &JobRequest, now: SimTime) -> Result<JobAccepted, JobError> {
        if let Some(id) = self.by_key.get(&request.idempotency_key) {
            return Ok(JobAccepted { job_id: id.clone() });
        }
        let refuse = |error: String| JobError {
            error,
            targets: Vec::new(),
        };
        let JobKind::Deliver { cluster, zcl } = &request.kind else {
            return Err(refuse("this head-end simulates delivery jobs only".into()));
        };
        let bytes: Vec<u8> = (0..zcl.len())
            .step_by(2)
            .map(|i| {
                zcl.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect::<Option<_>>()
            .ok_or_else(|| refuse(format!("zcl {zcl:?} is not hex")))?;
        let frame = ZclFrame::parse(*cluster, &bytes)
            .map_err(|e| refuse(format!("zcl does not parse: {e:?}")))?;
        if request.targets.is_empty() {
            return Err(refuse("no targets".into()));
        }
        let unknown: Vec<(String, String)> = request
            .targets
            .iter()
            .filter(|t| !self.meters.contains_key(*t))
            .map(|t| (t.clone(), "no such meter at this head-end".into()))
            .collect();
        if !unknown.is_empty() {
            return Err(JobError {
                error: format!("{} unknown targets", unknown.len()),
                targets: unknown,
            });
        }
        self.sim.run_until(now.max(self.sim.now()));
        let job_id = format!("job-{}", self.jobs.len() + 1);
        let mut targets = Vec::with_capacity(request.targets.len());
        for target in &request.targets {
            let nodes = self.meters.get(target).copied();
            let lost = (self.rng.next_u64() as f64 / u64::MAX as f64) < self.latency.loss;
            let span = self.latency.max_us.saturating_sub(self.latency.min_us);
            let delay = self.latency.min_us
                + if span > 0 {
                    self.rng.next_u64() % span
                } else {
                    0
                };
            let sends_at = (!lost).then(|| now.plus(delay));
            if let (Some(at), Some((esi, device))) = (sends_at, nodes) {
                let command = frame.command.clone();
                let cluster = *cluster;
                self.sim.schedule(
                    at,
                    Happening::Act(Box::new(move |now, nodes, log| {
                        let eui = match &nodes[device] {
                            Node::Device(d) => d.eui(),
                            _ => return Vec::new(),
                        };
                        match &mut nodes[esi] {
                            Node::Esi(e) => {
                                let out = e.app.send_zcl(now, eui, cluster, command, log);
                                vec![(esi, e.transmit(out))]
                            }
                            _ => Vec::new(),
                        }
                    })),
                );
            }
            targets.push(Target {
                target: target.clone(),
                nodes,
                sends_at,
            });
        }
        self.jobs.insert(
            job_id.clone(),
            JobRecord {
                targets,
                expires_at: SimTime::from_unix_seconds(request.expires_at),
                cluster: *cluster,
                command_id: frame.header.command_id,
            },
        );
        self.by_key
            .insert(request.idempotency_key.clone(), job_id.clone());
        Ok(JobAccepted { job_id })
    }

    /// `GET /jobs/{id}` at `now` (the HAN runs up to then).
    pub fn job(&mut self, job_id: &str, now: SimTime) -> Option<Job> {
        self.sim.run_until(now.max(self.sim.now()));
        let record = self.jobs.get(job_id)?;
        // One pass over the log: each node's answers (ESIs) and receptions (devices).
        let mut events: HashMap<&str, Vec<&serde_json::Value>> = HashMap::new();
        for e in &self.sim.log.events {
            let relevant = match e["event"].as_str() {
                Some("report_event_status" | "message_confirmation" | "price_acknowledgement") => {
                    true
                }
                Some("zcl_received") => {
                    e["frame"]["cluster"] == record.cluster
                        && e["frame"]["header"]["command_id"] == record.command_id
                }
                _ => false,
            };
            if let (true, Some(node)) = (relevant, e["node"].as_str()) {
                events.entry(node).or_default().push(e);
            }
        }
        let results: Vec<TargetResult> = record
            .targets
            .iter()
            .map(|t| {
                let (state, detail) = match (t.sends_at, t.nodes) {
                    (None, _) => (TargetState::Failed, "no route to meter".to_string()),
                    (Some(at), Some((esi, device))) if at <= now => {
                        let after =
                            |e: &&&serde_json::Value| e["t_us"].as_u64().unwrap_or(0) >= at.0;
                        let of = |index: usize| {
                            events
                                .get(node_name(&self.sim, index).as_str())
                                .map(|v| v.iter().filter(after).copied().collect::<Vec<_>>())
                                .unwrap_or_default()
                        };
                        let answered = of(esi).last().copied();
                        let received = !of(device).is_empty();
                        match (answered, received) {
                            (Some(a), _) => (
                                TargetState::Acknowledged,
                                match a["event"].as_str() {
                                    Some("report_event_status") => format!(
                                        "Report Event Status: {}",
                                        a["event_status_name"].as_str().unwrap_or("?")
                                    ),
                                    Some(other) => other.replace('_', " "),
                                    None => String::new(),
                                },
                            ),
                            (None, true) => {
                                (TargetState::Delivered, "delivered to the device".into())
                            }
                            (None, false) if now > record.expires_at => {
                                (TargetState::Expired, "not delivered before expiry".into())
                            }
                            (None, false) => (TargetState::Sent, "sent to the meter".into()),
                        }
                    }
                    (Some(_), _) if now > record.expires_at => {
                        (TargetState::Expired, "not delivered before expiry".into())
                    }
                    (Some(_), _) => (TargetState::Queued, "on its way to the meter".into()),
                };
                TargetResult {
                    target: t.target.clone(),
                    state,
                    detail,
                }
            })
            .collect();
        let done = results.iter().all(|r| {
            matches!(
                r.state,
                TargetState::Acknowledged | TargetState::Failed | TargetState::Expired
            )
        });
        Some(Job {
            job_id: job_id.to_string(),
            done,
            results,
        })
    }
}

fn node_name(sim: &Simulation, index: usize) -> String {
    match &sim.nodes[index] {
        Node::Esi(e) => e.name.clone(),
        Node::Device(d) => d.name.clone(),
        Node::Coordinator(c) => c.name.clone(),
    }
}

/// Maps wall time onto the simulation's: `start` when served, then `speed` times as fast
/// (tests and demos shrink minutes of mesh latency to milliseconds).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The virtual time at `since`.
    pub start: SimTime,
    /// The wall instant that corresponds to `start`.
    pub since: std::time::Instant,
    /// Virtual seconds per wall second.
    pub speed: f64,
}

impl Clock {
    /// Virtual time now.
    pub fn now(&self) -> SimTime {
        let elapsed = self.since.elapsed().as_secs_f64() * self.speed;
        self.start.plus((elapsed * 1e6) as u64)
    }
}

/// Serves `headend` over HTTP on `listener` until the task is dropped: `POST /jobs` (202 and
/// a [`JobAccepted`], or 400 and a [`JobError`]) and `GET /jobs/{id}` (a [`Job`], or 404).
pub async fn serve_jobs(
    listener: tokio::net::TcpListener,
    headend: JobsHeadEnd,
    clock: Clock,
) -> std::io::Result<()> {
    use axum::Json;
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use std::sync::{Arc, Mutex};

    type Shared = (Arc<Mutex<JobsHeadEnd>>, Clock);
    async fn submit(State((h, clock)): State<Shared>, Json(request): Json<JobRequest>) -> Response {
        let answer = match h.lock() {
            Ok(mut h) => h.submit(&request, clock.now()),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        match answer {
            Ok(accepted) => (StatusCode::ACCEPTED, Json(accepted)).into_response(),
            Err(e) => (StatusCode::BAD_REQUEST, Json(e)).into_response(),
        }
    }
    async fn job(State((h, clock)): State<Shared>, Path(id): Path<String>) -> Response {
        let answer = match h.lock() {
            Ok(mut h) => h.job(&id, clock.now()),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        match answer {
            Some(job) => Json(job).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/jobs", post(submit))
        .route("/jobs/{id}", get(job))
        .with_state((Arc::new(Mutex::new(headend)), clock));
    axum::serve(listener, app).await
}
