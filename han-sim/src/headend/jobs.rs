//! The job-style front ([`hanrig_headend::jobs`]): `POST /jobs`, `GET /jobs/{id}`.

use std::collections::{BTreeMap, HashMap};

use hanrig_headend::jobs::{
    Job, JobAccepted, JobError, JobKind, JobRequest, Reading, TargetResult,
};
use hanrig_headend::xml::unhex;
use hanrig_sep::Eui64;
use hanrig_sep::install_code::InstallCode;

use super::{BatchId, Clock, Han, Latency};
use crate::clock::SimTime;
use crate::device::DeviceKind;

/// The simulated job-style head-end and the HAN behind it.
#[derive(Debug)]
pub struct JobsHeadEnd {
    pub(super) han: Han,
    /// Each job's batches: one for a delivery, one per target meter for a pairing.
    jobs: BTreeMap<String, Vec<BatchId>>,
    by_key: HashMap<String, String>,
}

impl JobsHeadEnd {
    /// A head-end for `meters` (ESIID and the kind of its one device), each on a PAN of its
    /// own, devices joined by install code before `start`.
    pub fn new(
        meters: &[(String, DeviceKind)],
        latency: Latency,
        seed: u64,
        start: SimTime,
    ) -> Self {
        JobsHeadEnd {
            han: Han::new(meters, latency, seed, start),
            jobs: BTreeMap::new(),
            by_key: HashMap::new(),
        }
    }

    /// `POST /jobs`: accepts a delivery job, a provisioning job (targets: meters' ESIIDs;
    /// the pairing window closes at `expires_at`; see [`Han::pair`]) or a read job (targets:
    /// meters' ESIIDs, see [`Han::read`]) — a second submit with
    /// the same idempotency key answers the first job and starts nothing — or refuses it
    /// naming every bad target, or what is wrong with the request.
    pub fn submit(&mut self, request: &JobRequest, now: SimTime) -> Result<JobAccepted, JobError> {
        if let Some(id) = self.by_key.get(&request.idempotency_key) {
            return Ok(JobAccepted { job_id: id.clone() });
        }
        let refuse = |error: String| JobError {
            error,
            targets: Vec::new(),
        };
        if request.targets.is_empty() {
            return Err(refuse("no targets".into()));
        }
        let batches = match &request.kind {
            JobKind::Deliver { cluster, zcl } => {
                let bytes = unhex(zcl).ok_or_else(|| refuse(format!("zcl {zcl:?} is not hex")))?;
                self.all_known(&request.targets, false)?;
                vec![
                    self.han
                        .send(
                            *cluster,
                            &bytes,
                            &request.targets,
                            SimTime::from_unix_seconds(request.expires_at),
                            now,
                        )
                        .map_err(refuse)?,
                ]
            }
            JobKind::Provision {
                eui64,
                install_code,
            } => {
                let device: Eui64 = eui64
                    .parse()
                    .map_err(|_| refuse(format!("eui64 {eui64:?} is not an EUI64")))?;
                let bytes = unhex(install_code)
                    .ok_or_else(|| refuse(format!("install_code {install_code:?} is not hex")))?;
                let code = InstallCode::from_bytes(&bytes)
                    .map_err(|e| refuse(format!("install_code {install_code:?}: {e}")))?;
                self.all_known(&request.targets, true)?;
                let window_end = SimTime::from_unix_seconds(request.expires_at);
                let mut batches = Vec::with_capacity(request.targets.len());
                for meter in &request.targets {
                    batches.push(
                        self.han
                            .pair(meter, device, &code, window_end, now)
                            .map_err(refuse)?,
                    );
                }
                batches
            }
            JobKind::Read => {
                self.all_known(&request.targets, true)?;
                let expires_at = SimTime::from_unix_seconds(request.expires_at);
                let mut batches = Vec::with_capacity(request.targets.len());
                for meter in &request.targets {
                    batches.push(self.han.read(meter, expires_at, now).map_err(refuse)?);
                }
                batches
            }
        };
        let job_id = format!("job-{}", self.jobs.len() + 1);
        self.jobs.insert(job_id.clone(), batches);
        self.by_key
            .insert(request.idempotency_key.clone(), job_id.clone());
        Ok(JobAccepted { job_id })
    }

    /// Refuses `targets` naming each one that is not a meter of this head-end (`meters`) or
    /// neither a meter nor a device.
    fn all_known(&self, targets: &[String], meters: bool) -> Result<(), JobError> {
        let unknown: Vec<(String, String)> = targets
            .iter()
            .filter(|t| {
                !if meters {
                    self.han.is_meter(t)
                } else {
                    self.han.knows(t)
                }
            })
            .map(|t| (t.clone(), "no such meter at this head-end".into()))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(JobError {
            error: format!("{} unknown targets", unknown.len()),
            targets: unknown,
        })
    }

    /// `GET /jobs/{id}` at `now` (the HAN runs up to then).
    pub fn job(&mut self, job_id: &str, now: SimTime) -> Option<Job> {
        let batches = self.jobs.get(job_id)?.clone();
        let progress: Vec<super::Progress> = self
            .han
            .progress(&batches, now)
            .into_iter()
            .flatten()
            .collect();
        let done = progress.iter().all(super::Progress::is_final);
        Some(Job {
            job_id: job_id.to_string(),
            done,
            results: progress
                .into_iter()
                .map(|p| TargetResult {
                    target: p.target,
                    state: p.state,
                    detail: p.detail,
                    reading: p.reading.map(|(wh, at)| Reading {
                        register_wh: wh,
                        read_at: at.0 / SimTime::SECOND,
                    }),
                })
                .collect(),
        })
    }
}

impl JobsHeadEnd {
    /// How many frames of `cluster` and `command_id` the device of `target` (an ESIID or
    /// device EUI64) has received by `now`: what "delivered exactly once" is checked against.
    pub fn received(&mut self, target: &str, cluster: u16, command_id: u8, now: SimTime) -> usize {
        self.han.received(target, cluster, command_id, now)
    }
}

/// Serves `headend` over HTTP on `listener` until the task is dropped: `POST /jobs` (202 and
/// a [`JobAccepted`], or 400 and a [`JobError`]) and `GET /jobs/{id}` (a [`Job`], or 404).
pub async fn serve_jobs(
    listener: tokio::net::TcpListener,
    headend: JobsHeadEnd,
    clock: Clock,
) -> std::io::Result<()> {
    serve_jobs_shared(
        listener,
        std::sync::Arc::new(std::sync::Mutex::new(headend)),
        clock,
    )
    .await
}

/// [`serve_jobs`] with a head-end the caller keeps a handle on, to look at its HAN while it
/// serves (see [`JobsHeadEnd::received`]).
pub async fn serve_jobs_shared(
    listener: tokio::net::TcpListener,
    headend: std::sync::Arc<std::sync::Mutex<JobsHeadEnd>>,
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
        .with_state((headend, clock));
    axum::serve(listener, app).await
}
