//! # hanrig-gateway-connect: head-end connectors
//!
//! One connector per head-end style: [`cim`] (IEC 61968-9 EndDeviceControls, results as
//! EndDeviceEvents to a callback listener), [`multispeak`] (MultiSpeak 4.1 `Initiate*`,
//! notifications to a callback listener), and the job style here; [`run`] drives any of
//! them for one TDSP until shut down, [`provision`] carries pending devices and [`read`]
//! on-demand meter reads through the same head-ends.
//!
//! The job-style connector ([`JobsClient`]: `POST /jobs`, `GET /jobs/{id}`) and the
//! dispatcher that drives it from the repository: [`dispatch`] sends each message's queued
//! deliveries for a TDSP as jobs of at most the style's batch size, with an idempotency key
//! per batch (a re-sent batch after a crash is the same job at the head-end), and marks them
//! sent; [`collect`] polls the open jobs and records every result, statuses only forward.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeMap;

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{DeliveryRecord, MessageRecord, Store, StoreError};
use hanrig_headend::jobs::{Job, JobAccepted, JobError, JobKind, JobRequest};
use hanrig_headend::limits::Limits;

pub mod cim;
pub mod multispeak;
pub mod provision;
pub mod read;
pub mod run;
mod soap;
pub mod states;

pub use run::{Connector, Pace, run, unix_now};
pub use soap::{message_of, request_id};

/// What went wrong talking to a head-end.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The head-end could not be reached or answered garbage.
    #[error("head-end {url}: {reason}")]
    Transport {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
    /// The head-end refused the request.
    #[error("head-end {url} refused the job: {}", .error.error)]
    Refused {
        /// Where.
        url: String,
        /// Its answer.
        error: JobError,
    },
    /// The head-end refused the request as written (a SOAP client Fault): the dispatchers
    /// fail the request's deliveries or device with its words and go on.
    #[error("head-end {url} faulted the request: {reason}")]
    Fault {
        /// Where.
        url: String,
        /// Its `faultstring`.
        reason: String,
    },
    /// A message this style cannot carry (an SE command with no request of the style); the
    /// dispatchers fail its deliveries saying so and go on.
    #[error("cannot send: {0}")]
    Unsupported(String),
    /// The repository.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Spaces the requests sent to one head-end at least `1 / per_second` apart: each style's
/// `requests_per_second` limit. Clones share the schedule.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    gap: std::time::Duration,
    next: std::sync::Arc<std::sync::Mutex<Option<tokio::time::Instant>>>,
}

impl Throttle {
    /// At most `n` requests a second; `0` means no limit.
    pub fn per_second(n: u32) -> Throttle {
        Throttle {
            gap: if n == 0 {
                std::time::Duration::ZERO
            } else {
                std::time::Duration::from_secs(1) / n
            },
            next: Default::default(),
        }
    }

    /// Waits for the next free slot.
    pub async fn wait(&self) {
        if self.gap.is_zero() {
            return;
        }
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.gap);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// How long any call to a head-end may take, connecting to the last byte of the answer: a
/// head-end that hangs costs its TDSP this much per attempt, then a transport error.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// An HTTP client whose every call ends within `timeout`, for plain `http://` peers: it
/// trusts no CA, so an `https://` URL fails its handshake (an HTTPS peer is reached only with
/// its CA pinned, [`tls_client`]).
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    let config = rustls_config(rustls::RootCertStore::empty(), None);
    let builder = reqwest::Client::builder().timeout(timeout);
    match config {
        Ok(config) => builder.tls_backend_preconfigured(config),
        Err(_) => builder,
    }
    .build()
    .unwrap_or_default()
}

/// An HTTPS client whose every call ends within `timeout`, that trusts only the CA
/// certificates of `ca_pem` (the peer's PKI, pinned) and, given `identity` (a certificate
/// chain and its key, PEM), presents it when the server asks: how a head-end posts to the
/// gateway's authenticated callback listeners, and how the gateway reaches an HTTPS head-end.
pub fn tls_client(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
    timeout: std::time::Duration,
) -> Result<reqwest::Client, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("CA certificate: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("CA certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("CA certificate: none in the PEM".into());
    }
    reqwest::Client::builder()
        .tls_backend_preconfigured(rustls_config(roots, identity)?)
        .timeout(timeout)
        .build()
        .map_err(|e| format!("HTTPS client: {e}"))
}

/// A rustls client configuration (ring) trusting `roots`, presenting `identity` if given.
fn rustls_config(
    roots: rustls::RootCertStore,
    identity: Option<(&str, &str)>,
) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let builder = rustls::ClientConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS versions: {e}"))?
    .with_root_certificates(roots);
    let Some((cert_pem, key_pem)) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("client certificate: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| format!("client key: {e}"))?;
    builder
        .with_client_auth_cert(chain, key)
        .map_err(|e| format!("client certificate and key: {e}"))
}

/// A call to `url` that failed: a timeout named as one (the head-end hangs), anything else as
/// reqwest words it.
pub(crate) fn call_failed(
    url: &str,
    timeout: std::time::Duration,
    e: reqwest::Error,
) -> ConnectError {
    let reason = if e.is_timeout() {
        format!(
            "no answer within {:.1} s (the head-end hangs)",
            timeout.as_secs_f64()
        )
    } else {
        e.to_string()
    };
    ConnectError::Transport {
        url: url.to_string(),
        reason,
    }
}

/// A client of one job-style head-end.
#[derive(Debug, Clone)]
pub struct JobsClient {
    base: String,
    http: reqwest::Client,
    timeout: std::time::Duration,
    throttle: Throttle,
}

impl JobsClient {
    /// A client of the head-end at `base` (`http://127.0.0.1:8081`).
    pub fn new(base: &str) -> JobsClient {
        JobsClient {
            base: base.trim_end_matches('/').to_string(),
            http: http_client(REQUEST_TIMEOUT),
            timeout: REQUEST_TIMEOUT,
            throttle: Throttle::default(),
        }
    }

    /// The same client, each call ending within `timeout` instead of [`REQUEST_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> JobsClient {
        self.http = http_client(timeout);
        self.timeout = timeout;
        self
    }

    /// The same client, calling the head-end with `http` (an HTTPS head-end:
    /// [`tls_client`]; its calls should end within the client's timeout).
    pub fn with_http(mut self, http: reqwest::Client) -> JobsClient {
        self.http = http;
        self
    }

    /// The same client, its submits spaced by `throttle` (polls are paced by the caller).
    pub fn with_throttle(mut self, throttle: Throttle) -> JobsClient {
        self.throttle = throttle;
        self
    }

    fn transport(&self, e: impl std::fmt::Display) -> ConnectError {
        ConnectError::Transport {
            url: self.base.clone(),
            reason: e.to_string(),
        }
    }

    /// Submits a job; returns its ID.
    pub async fn submit(&self, request: &JobRequest) -> Result<String, ConnectError> {
        self.throttle.wait().await;
        let response = self
            .http
            .post(format!("{}/jobs", self.base))
            .json(request)
            .send()
            .await
            .map_err(|e| call_failed(&self.base, self.timeout, e))?;
        let status = response.status();
        let body = read_bounded(response)
            .await
            .map_err(|e| self.transport(e))?;
        if status.is_success() {
            let accepted: JobAccepted =
                serde_json::from_slice(&body).map_err(|e| self.transport(e))?;
            return Ok(accepted.job_id);
        }
        match serde_json::from_slice::<JobError>(&body) {
            Ok(error) if status.is_client_error() => Err(ConnectError::Refused {
                url: self.base.clone(),
                error,
            }),
            _ => Err(self.transport(format!("HTTP {status}"))),
        }
    }

    /// A job's results.
    pub async fn job(&self, id: &str) -> Result<Job, ConnectError> {
        let response = self
            .http
            .get(format!("{}/jobs/{id}", self.base))
            .send()
            .await
            .map_err(|e| call_failed(&self.base, self.timeout, e))?;
        if !response.status().is_success() {
            return Err(self.transport(format!("HTTP {} for job {id}", response.status())));
        }
        let body = read_bounded(response)
            .await
            .map_err(|e| self.transport(e))?;
        serde_json::from_slice(&body).map_err(|e| self.transport(e))
    }
}

/// The largest answer read from a head-end, bytes: the XML reader's document limit, for the
/// job style's JSON too.
pub const MAX_RESPONSE_BYTES: usize = hanrig_headend::xml::MAX_DOCUMENT_BYTES;

/// A head-end's answer body, refused once it passes [`MAX_RESPONSE_BYTES`] (by its declared
/// length before reading, or as it arrives), so a head-end cannot make the gateway buffer
/// without bound.
pub(crate) async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let over =
        |n: u64| format!("the answer is {n} bytes or more, over the limit of {MAX_RESPONSE_BYTES}");
    if let Some(n) = response
        .content_length()
        .filter(|&n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(over(n));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(over((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The tag that signs a request ID: the first 96 bits of HMAC-SHA256 under the installation's
/// `secret` over `parts` (each length-prefixed, so no two lists run together alike), hex.
pub(crate) fn tag(secret: &[u8], parts: &[&[u8]]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let mut context = ring::hmac::Context::with_key(&key);
    for part in parts {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part);
    }
    hex(&context.sign().as_ref()[..12])
}

/// The row of a request ID shaped `{kind}{row}-{tdsp}-{tag}` (a device's or a read's), `None`
/// for any other; whether it is signed is for the caller to check.
pub(crate) fn row_of(request_id: &str, kind: char) -> Option<i64> {
    let (row, rest) = request_id.strip_prefix(kind)?.split_once('-')?;
    let (tdsp, _tag) = rest.rsplit_once('-')?;
    tdsp.parse::<Tdsp>().ok()?;
    row.parse().ok()
}

/// Whether two tags are equal, in time that does not depend on where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The job that carries `batch` (deliveries of `message` through `tdsp`). Its idempotency key
/// names the batch by its first and last rows, so the same rows re-sent after a crash are the
/// same job at the head-end.
pub fn job_request(
    secret: &[u8],
    message: &MessageRecord,
    tdsp: Tdsp,
    batch: &[DeliveryRecord],
    limits: &Limits,
    now: i64,
) -> JobRequest {
    JobRequest {
        idempotency_key: request_id(secret, message, tdsp, batch),
        kind: JobKind::Deliver {
            cluster: message.cluster,
            zcl: hex(&message.command),
        },
        targets: batch.iter().map(|d| d.address.clone()).collect(),
        expires_at: u64::try_from(now).unwrap_or(0) + limits.expiry_seconds,
        callback: None,
    }
}

/// [`dispatch`], tried again after `backoff` (doubling, at most `attempts` times) while the
/// head-end cannot be reached; a refusal or a repository error stops at once.
pub async fn dispatch_retrying(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    limits: &Limits,
    now: i64,
    attempts: u32,
    backoff: std::time::Duration,
) -> Result<usize, ConnectError> {
    soap::retrying(attempts, backoff, || {
        dispatch(store, tdsp, client, limits, i64::MAX, now)
    })
    .await
}

/// Sends `tdsp`'s queued deliveries (up to `limit` of them) as jobs of at most
/// `limits.batch` targets, one message per job; returns how many were sent. A job the
/// head-end refuses fails the targets it names, with its reason (the others stay queued and
/// go in the next round's job), or every target when it names none: one bad address does not
/// hold up the TDSP's queue.
pub async fn dispatch(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    limits: &Limits,
    limit: i64,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for (message, deliveries) in queued_by_message(store, tdsp, limit).await? {
        for batch in deliveries.chunks(limits.batch.max(1)) {
            let request = job_request(
                store.installation_secret(),
                &message,
                tdsp,
                batch,
                limits,
                now,
            );
            let job = match client.submit(&request).await {
                Ok(job) => job,
                Err(ConnectError::Refused { error, .. }) => {
                    fail(store, &refused(batch, &error), now).await?;
                    continue;
                }
                Err(other) => return Err(other),
            };
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            sent += store.mark_sent(&ids, &job, now).await?;
        }
    }
    Ok(sent)
}

/// Records each of `refused` (a delivery and the head-end's words) as failed.
pub(crate) async fn fail(
    store: &Store,
    refused: &[(i64, String)],
    now: i64,
) -> Result<usize, ConnectError> {
    let reports: Vec<(i64, DeliveryStatus, &str)> = refused
        .iter()
        .map(|(id, why)| (*id, DeliveryStatus::Failed, why.as_str()))
        .collect();
    Ok(store.report_batch(&reports, now).await?)
}

/// What a request for one device or read records when the head-end refuses its job, naming
/// each target it gave a reason for.
pub(crate) fn job_refused_words(error: &JobError) -> String {
    let mut why = format!("refused by the head-end: {}", error.error);
    for (target, reason) in &error.targets {
        why.push_str(&format!("; {target}: {reason}"));
    }
    why
}

/// What a request for one device or read records when a CIM head-end's reply refuses it: the
/// result and each Error's reason and code.
pub(crate) fn cim_refused_words(reply: &hanrig_headend::cim::Reply) -> String {
    let why: Vec<String> = reply
        .errors
        .iter()
        .map(|e| format!("{} ({})", e.reason, e.code))
        .collect();
    format!(
        "refused by the head-end: {:?}: {}",
        reply.result,
        why.join("; ")
    )
}

/// What a request for one device or read records when a MultiSpeak head-end answers
/// `errorObject`s: each object and its words.
pub(crate) fn multispeak_refused_words(
    errors: &[hanrig_headend::multispeak::ErrorObject],
) -> String {
    let why: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.object_id, e.error_string))
        .collect();
    format!("refused by the head-end: {}", why.join("; "))
}

/// What a delivery or device refused by a SOAP client Fault records.
pub(crate) fn faulted_words(reason: &str) -> String {
    format!("refused by the head-end (SOAP Fault): {reason}")
}

/// Every delivery of `batch`, failed by a SOAP client Fault saying `reason`.
pub(crate) fn faulted(batch: &[DeliveryRecord], reason: &str) -> Vec<(i64, String)> {
    batch
        .iter()
        .map(|d| (d.id, faulted_words(reason)))
        .collect()
}

/// Every delivery of `batch`, failed because the head-end's style cannot carry its message
/// (`why`): a message no request of the style can carry must not hold up the TDSP's queue.
pub(crate) fn uncarried(batch: &[DeliveryRecord], why: &str) -> Vec<(i64, String)> {
    batch
        .iter()
        .map(|d| (d.id, format!("the head-end's style cannot carry it: {why}")))
        .collect()
}

/// The deliveries of `batch` a refused job fails, with why.
fn refused(batch: &[DeliveryRecord], error: &JobError) -> Vec<(i64, String)> {
    if error.targets.is_empty() {
        return batch
            .iter()
            .map(|d| (d.id, format!("refused by the head-end: {}", error.error)))
            .collect();
    }
    batch
        .iter()
        .filter_map(|d| {
            let (_, why) = error.targets.iter().find(|(t, _)| *t == d.address)?;
            Some((d.id, format!("refused by the head-end: {why}")))
        })
        .collect()
}

/// `tdsp`'s queued deliveries (up to `limit`), grouped by message, oldest first.
pub(crate) async fn queued_by_message(
    store: &Store,
    tdsp: Tdsp,
    limit: i64,
) -> Result<Vec<(MessageRecord, Vec<DeliveryRecord>)>, ConnectError> {
    let mut by_message: BTreeMap<i64, Vec<DeliveryRecord>> = BTreeMap::new();
    for d in store.queued(tdsp, limit).await? {
        by_message.entry(d.message_id).or_default().push(d);
    }
    let mut out = Vec::with_capacity(by_message.len());
    for (id, deliveries) in by_message {
        out.push((store.message(id).await?, deliveries));
    }
    Ok(out)
}

/// Polls `tdsp`'s open jobs and records every target's result; returns how many deliveries
/// moved.
pub async fn collect(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut moved = 0;
    for (job_id, deliveries) in store.open_jobs(tdsp).await? {
        let job = client.job(&job_id).await?;
        let by_target: BTreeMap<&str, &DeliveryRecord> =
            deliveries.iter().map(|d| (d.address.as_str(), d)).collect();
        // Only what changed: polling again must not repeat the same report.
        let reports: Vec<(i64, _, &str)> = job
            .results
            .iter()
            .filter_map(|r| {
                let d = by_target.get(r.target.as_str())?;
                let status = states::job_target(r.state);
                (status != d.status).then_some((d.id, status, r.detail.as_str()))
            })
            .collect();
        moved += store.report_batch(&reports, now).await?;
    }
    Ok(moved)
}
