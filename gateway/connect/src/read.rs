//! On-demand reads through each TDSP's head-end (headend-facts §1.2, §2, §5): a read the
//! portal stored as pending goes to its meter's head-end as one request of the style — a
//! `Read` job, a CIM `get MeterReadings` (asynchronous, readings to the ReplyAddress), a
//! MultiSpeak `InitiateMeterReadingsByMeterID` (readings as `ReadingChangedNotification` to
//! the responseURL) — whose ID is the read's [`read_request_id`]; the head-end's answer ends it
//! completed with the meter's register, or failed with the head-end's words. A read no
//! head-end answers within [`READ_EXPIRY_SECONDS`] (and a minute's grace) fails as expired: a
//! MultiSpeak head-end says nothing of a read it could not make (facts §2: "the requestor
//! should not expect a response").

use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{ReadRecord, Store, StoreError};
use hanrig_headend::cim::{self, Header, NOUN_READINGS, ReadRequest, ReplyResult, ResponseMessage};
use hanrig_headend::jobs::{JobKind, JobRequest, TargetState};
use hanrig_headend::multispeak::{Call, ExpTime, MeterRead, MsgHeader, Request, TimeUnits};
use hanrig_usage::odr::ReadState;

use crate::cim::CimClient;
use crate::multispeak::MultiSpeakClient;
use crate::{ConnectError, JobsClient, faulted_words};

/// How long a head-end may try to read a meter: 10 minutes, the MultiSpeak sample's `expTime`
/// (facts §2). The one published SMT read took 77 s (facts §3).
pub const READ_EXPIRY_SECONDS: u64 = 600;

/// The request ID of `read`, signed with the installation's `secret`: its row and TDSP and 96
/// bits of HMAC-SHA256 over those, its meter and when it was asked for (`r7-oncor-{tag}`),
/// so a read re-sent after a crash carries the same ID, and no one without the secret can make
/// one. [`read_of`] reads the row back.
pub fn read_request_id(secret: &[u8], read: &ReadRecord) -> String {
    let body = format!("r{}-{}", read.id, read.tdsp);
    let tag = crate::tag(
        secret,
        &[
            body.as_bytes(),
            read.esiid.as_str().as_bytes(),
            &read.requested_at.to_be_bytes(),
        ],
    );
    format!("{body}-{tag}")
}

/// The read row in a request ID shaped as [`read_request_id`] makes them (`None` for any
/// other); whether it is signed is checked when a result is recorded.
pub fn read_of(request_id: &str) -> Option<i64> {
    crate::row_of(request_id, 'r')
}

fn expires_at(now: i64) -> u64 {
    u64::try_from(now).unwrap_or(0) + READ_EXPIRY_SECONDS
}

/// The job that reads `read`'s meter; idempotency key its [`read_request_id`].
pub fn read_job(secret: &[u8], read: &ReadRecord, now: i64) -> JobRequest {
    JobRequest {
        idempotency_key: read_request_id(secret, read),
        kind: JobKind::Read,
        targets: vec![read.esiid.to_string()],
        expires_at: expires_at(now),
        callback: None,
    }
}

/// The CIM `get MeterReadings` that reads `read`'s meter, readings to `reply_address`;
/// CorrelationID and MessageID its [`read_request_id`].
pub fn cim_read_request(
    secret: &[u8],
    read: &ReadRecord,
    reply_address: &str,
    now: i64,
) -> ReadRequest {
    let id = read_request_id(secret, read);
    ReadRequest {
        header: Header::new(
            "get",
            NOUN_READINGS,
            u64::try_from(now).unwrap_or(0),
            &id,
            &id,
        )
        .replying_to(reply_address),
        meters: vec![read.esiid.to_string()],
    }
}

/// The MultiSpeak `InitiateMeterReadingsByMeterID` that reads `read`'s meter; transactionID
/// and MessageID its [`read_request_id`], expTime [`READ_EXPIRY_SECONDS`].
pub fn multispeak_read_request(
    secret: &[u8],
    read: &ReadRecord,
    client: &MultiSpeakClient,
    now: i64,
) -> Request {
    let id = read_request_id(secret, read);
    Request {
        header: MsgHeader {
            message_id: id.clone(),
            time_stamp: u64::try_from(now).unwrap_or(0),
            ..client.header().clone()
        },
        call: Call::InitiateMeterReadingsByMeterID {
            meter_ids: vec![read.esiid.to_string()],
        },
        se_frame: None,
        response_url: client.response_url().to_string(),
        transaction_id: id,
        exp_time: ExpTime {
            value: READ_EXPIRY_SECONDS / 60,
            units: TimeUnits::Minutes,
        },
    }
}

async fn refused(
    store: &Store,
    read: &ReadRecord,
    why: String,
    now: i64,
) -> Result<(), ConnectError> {
    store
        .finish_read(read.id, &ReadState::Failed { reason: why }, now)
        .await?;
    Ok(())
}

/// Sends each of `tdsp`'s unsent reads as a `Read` job and records it sent with the job's ID;
/// a read whose job the head-end refuses fails with its words. Returns how many were sent.
pub async fn read_jobs(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for read in store.pending_reads(tdsp, false).await? {
        match client
            .submit(&read_job(store.installation_secret(), &read, now))
            .await
        {
            Ok(job) => {
                sent += store.mark_reads_sent(&[read.id], &job, now).await? as usize;
            }
            Err(ConnectError::Refused { error, .. }) => {
                refused(store, &read, crate::job_refused_words(&error), now).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Polls the job of each of `tdsp`'s sent reads and records the answers: acknowledged with a
/// reading → completed; failed or expired → failed with the head-end's words. Returns how many
/// reads ended.
pub async fn collect_reads(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut ended = 0;
    for read in store.pending_reads(tdsp, true).await? {
        let job = client.job(&read.request_id).await?;
        let meter = read.esiid.as_str();
        let Some(result) = job.results.iter().find(|r| r.target == meter) else {
            return Err(ConnectError::Transport {
                url: format!("job {}", read.request_id),
                reason: format!("the job has no result for meter {meter}"),
            });
        };
        let outcome = match (result.state, result.reading) {
            (TargetState::Acknowledged, Some(r)) => ReadState::Completed {
                register_wh: r.register_wh,
                read_at: i64::try_from(r.read_at).unwrap_or(i64::MAX),
            },
            (TargetState::Acknowledged, None) => ReadState::Failed {
                reason: "the head-end acknowledged the read without a reading".into(),
            },
            (TargetState::Failed | TargetState::Expired, _) => ReadState::Failed {
                reason: result.detail.clone(),
            },
            (TargetState::Queued | TargetState::Sent | TargetState::Delivered, _) => continue,
        };
        ended += usize::from(store.finish_read(read.id, &outcome, now).await?);
    }
    Ok(ended)
}

/// Sends each of `tdsp`'s unsent reads as a CIM `get MeterReadings` and records it sent; a
/// reply that refuses it (FAILED, or an Error) or a client Fault fails it with the head-end's
/// words. Returns how many were sent.
pub async fn read_cim(
    store: &Store,
    tdsp: Tdsp,
    client: &CimClient,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for read in store.pending_reads(tdsp, false).await? {
        let request = cim_read_request(
            store.installation_secret(),
            &read,
            client.reply_address(),
            now,
        );
        let reply = match client.get(&request).await {
            Err(ConnectError::Fault { reason, .. }) => {
                refused(store, &read, faulted_words(&reason), now).await?;
                continue;
            }
            other => other?,
        };
        if reply.reply.result == ReplyResult::Ok && reply.reply.errors.is_empty() {
            let id = request.header.correlation_id.unwrap_or_default();
            sent += store.mark_reads_sent(&[read.id], &id, now).await? as usize;
            continue;
        }
        refused(store, &read, crate::cim_refused_words(&reply.reply), now).await?;
    }
    Ok(sent)
}

/// Sends each of `tdsp`'s unsent reads as an `InitiateMeterReadingsByMeterID` and records it
/// sent; `errorObject`s or a client Fault fail it with the head-end's words. Returns how many
/// were sent.
pub async fn read_multispeak(
    store: &Store,
    tdsp: Tdsp,
    client: &MultiSpeakClient,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for read in store.pending_reads(tdsp, false).await? {
        let request = multispeak_read_request(store.installation_secret(), &read, client, now);
        let response = match client.initiate(&request).await {
            Err(ConnectError::Fault { reason, .. }) => {
                refused(store, &read, faulted_words(&reason), now).await?;
                continue;
            }
            other => other?,
        };
        if response.errors.is_empty() {
            sent += store
                .mark_reads_sent(&[read.id], &request.transaction_id, now)
                .await? as usize;
            continue;
        }
        refused(
            store,
            &read,
            crate::multispeak_refused_words(&response.errors),
            now,
        )
        .await?;
    }
    Ok(sent)
}

/// What became of a head-end's answer to a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadRecorded {
    /// Recorded (or a repeat of what was: nothing to change).
    Recorded,
    /// The read is not yet recorded as sent: the head-end is to post again later.
    NotYetSent,
    /// The answer names a read or meter the gateway did not ask for; why.
    Unknown(String),
}

/// Records the head-end's answer to read request `request_id` about meter `meter`: `outcome`
/// ends the read completed or failed (a repeat changes nothing). A forged or foreign ID,
/// another TDSP's read and another meter are refused alike.
pub async fn record_read(
    store: &Store,
    tdsp: Tdsp,
    request_id: &str,
    meter: &str,
    outcome: &ReadState,
    at: i64,
) -> Result<ReadRecorded, ConnectError> {
    let not_ours = || {
        Ok(ReadRecorded::Unknown(format!(
            "{request_id} is not a read of this gateway"
        )))
    };
    let Some(id) = read_of(request_id) else {
        return not_ours();
    };
    let read = match store.read(id).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return not_ours(),
        Err(e) => return Err(e.into()),
    };
    if read.tdsp != tdsp
        || !crate::same(
            request_id,
            &read_request_id(store.installation_secret(), &read),
        )
    {
        return not_ours();
    }
    if read.request_id.is_empty() && read.state == ReadState::Pending {
        return Ok(ReadRecorded::NotYetSent);
    }
    if read.esiid.as_str() != meter {
        return Ok(ReadRecorded::Unknown(format!(
            "{request_id} reads {}, not {meter}",
            read.esiid
        )));
    }
    store.finish_read(read.id, outcome, at).await?;
    Ok(ReadRecorded::Recorded)
}

/// The outcomes a CIM `reply MeterReadings` carries: each reading completes its meter's read;
/// each Error naming a meter fails it with the head-end's reason and code.
pub fn cim_outcomes(reply: &ResponseMessage) -> Vec<(String, ReadState)> {
    let mut out: Vec<(String, ReadState)> = reply
        .readings
        .iter()
        .map(|r| {
            (
                r.meter.clone(),
                ReadState::Completed {
                    register_wh: r.register_wh,
                    read_at: i64::try_from(r.read_at).unwrap_or(i64::MAX),
                },
            )
        })
        .collect();
    out.extend(reply.reply.errors.iter().filter_map(|e| {
        Some((
            e.id.clone()?,
            ReadState::Failed {
                reason: format!("{} ({})", e.reason, e.code),
            },
        ))
    }));
    out
}

/// The outcome a MultiSpeak `meterReading` carries: the read completed.
pub fn multispeak_outcome(r: &MeterRead) -> ReadState {
    ReadState::Completed {
        register_wh: r.register_wh,
        read_at: i64::try_from(r.read_at).unwrap_or(i64::MAX),
    }
}

/// Records a CIM `reply MeterReadings` ([`cim_outcomes`], [`record_read`]); the reply to give
/// the head-end: OK, or PARTIAL with an Error per meter that matches no read; `None` while the
/// read is not yet marked sent.
pub async fn record_cim_readings(
    store: &Store,
    tdsp: Tdsp,
    reply: &ResponseMessage,
) -> Result<Option<ResponseMessage>, ConnectError> {
    let correlation = reply.header.correlation_id.clone().unwrap_or_default();
    let at = i64::try_from(reply.header.timestamp.unwrap_or(0)).unwrap_or(0);
    let mut errors = Vec::new();
    for (meter, outcome) in cim_outcomes(reply) {
        match record_read(store, tdsp, &correlation, &meter, &outcome, at).await? {
            ReadRecorded::Recorded => {}
            ReadRecorded::NotYetSent => return Ok(None),
            ReadRecorded::Unknown(why) => errors.push(cim::ReplyError {
                code: cim::ERROR_NO_SUCH_DEVICE.into(),
                level: cim::ErrorLevel::Warning,
                reason: why,
                id: Some(meter),
            }),
        }
    }
    Ok(Some(crate::cim::ack(
        NOUN_READINGS,
        reply.header.timestamp.unwrap_or(0),
        &correlation,
        errors,
    )))
}
