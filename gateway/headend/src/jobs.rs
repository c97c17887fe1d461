//! The job API (OpenWay-like; JSON is this project's choice, the submit/poll/push shape is
//! Itron's): `POST /jobs` with a [`JobRequest`] answers `202` with a [`JobAccepted`];
//! `GET /jobs/{id}` answers a [`Job`] with one [`TargetResult`] per target; with a `callback`
//! URL the head-end also posts the [`Job`] there when results change.
//!
//! An on-demand read is a job too ([`JobKind::Read`], targets the meters' ESIIDs): each
//! target's result carries the meter's register as read ([`Reading`]) once it is
//! acknowledged.

use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum JobKind {
    /// Deliver an SE 1.0 ZCL frame to the devices behind each target meter.
    Deliver {
        /// The cluster.
        cluster: u16,
        /// The ZCL frame, hex.
        zcl: String,
    },
    /// Provision a device on each target meter with its install code.
    Provision {
        /// The device.
        eui64: String,
        /// Its install code (with CRC), hex.
        install_code: String,
    },
    /// Read each target meter's energy register (delivered, Wh) on demand.
    Read,
}

/// `POST /jobs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    /// The same key twice creates one job (the second submit answers the first job's ID).
    pub idempotency_key: String,
    /// What to do.
    pub kind: JobKind,
    /// Target meters (ESIIDs) or devices (EUI64s).
    pub targets: Vec<String>,
    /// After this (Unix seconds) undelivered targets expire.
    pub expires_at: u64,
    /// Where to post results as they change, if anywhere.
    #[serde(default)]
    pub callback: Option<String>,
}

/// `202` to a submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobAccepted {
    /// The job.
    pub job_id: String,
}

/// Where one target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetState {
    /// Waiting at the head-end.
    Queued,
    /// On its way to the meter.
    Sent,
    /// The meter delivered it to the device.
    Delivered,
    /// The device answered.
    Acknowledged,
    /// Not delivered.
    Failed,
    /// Not delivered before `expires_at`.
    Expired,
}

/// One target's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target as submitted.
    pub target: String,
    /// Where it is.
    pub state: TargetState,
    /// The head-end's or device's words (e.g. `Report Event Status: Started`).
    #[serde(default)]
    pub detail: String,
    /// For a [`JobKind::Read`], the register as read, once the meter answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<Reading>,
}

/// A meter's energy register, read on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// Energy delivered to the premise since the meter was installed, Wh.
    pub register_wh: u64,
    /// When the meter read it, Unix seconds.
    pub read_at: u64,
}

/// `GET /jobs/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The job.
    pub job_id: String,
    /// Whether every target has a final state.
    pub done: bool,
    /// One per target.
    pub results: Vec<TargetResult>,
}

/// A refused submit (`4xx`), naming each bad target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// What was wrong with the request.
    pub error: String,
    /// Targets refused, with why.
    #[serde(default)]
    pub targets: Vec<(String, String)>,
}
