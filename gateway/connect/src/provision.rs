//! Device provisioning through each TDSP's head-end (SMT §5.6): a device the API stored as
//! pending goes to its meter's head-end as one request of the style — a `Provision` job, a
//! CIM pairing window open control (`0.10.73.298` with the device's EUI64 and install code),
//! a MultiSpeak `InitiateHANRegistration` — whose ID is the device's [`device_request_id`]
//! (the same row re-sent after a crash is the same request at the head-end); the head-end's
//! answer ends it provisioned, or failed with the head-end's reason. The store keeps the
//! history: requested → sent → provisioned or failed (or requested → failed when the
//! head-end refuses the request outright).

use hanrig_gateway::device::DeviceState;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{DeviceRecord, Store, StoreError};
use hanrig_headend::cim::{self, EndDeviceControl, Header, NOUN_CONTROLS, ReplyResult};
use hanrig_headend::jobs::{JobKind, JobRequest, TargetState};
use hanrig_headend::multispeak::{
    self, Call, ExpTime, HanRegistration, MsgHeader, Request, SecurityToken, TimeUnits,
};
use hanrig_sep::Eui64;

use crate::cim::CimClient;
use crate::multispeak::MultiSpeakClient;
use crate::{ConnectError, JobsClient, faulted_words};

/// How long the meter's pairing window stays open for a device: 24 hours. The facts
/// (`headend-facts.md` §3, §5) give Landis+Gyr's join window range, 1–30 days, and 24 h as
/// the simulators' default — an assumption there, not a published default; no better-grounded
/// figure was found.
pub const PAIRING_WINDOW_SECONDS: u64 = 24 * 3600;

/// The request ID of `device`'s provisioning, signed with the installation's `secret`: its
/// row and TDSP and 96 bits of HMAC-SHA256 over those, its EUI64 and its meter
/// (`d42-oncor-{tag}`), so a device re-sent after a crash carries the same ID and the
/// head-end answers the first request again, while no one without the secret can make one.
/// [`device_of`] reads the row back.
pub fn device_request_id(secret: &[u8], device: &DeviceRecord) -> String {
    let body = format!("d{}-{}", device.id, device.tdsp);
    let tag = device_tag(secret, &body, device);
    format!("{body}-{tag}")
}

fn device_tag(secret: &[u8], body: &str, device: &DeviceRecord) -> String {
    crate::tag(
        secret,
        &[
            body.as_bytes(),
            device.eui64.to_string().as_bytes(),
            device.esiid.to_string().as_bytes(),
        ],
    )
}

/// The device row in a request ID shaped as [`device_request_id`] makes them (`None` for
/// any other ID, such as a delivery batch's); whether it is signed is for
/// [`record_pairing`] to check.
pub fn device_of(request_id: &str) -> Option<i64> {
    crate::row_of(request_id, 'd')
}

/// The job that provisions `device`: a `Provision` job on its meter, idempotency key its
/// [`device_request_id`], the pairing window closing `window_seconds` after `now`.
pub fn provision_job(
    secret: &[u8],
    device: &DeviceRecord,
    window_seconds: u64,
    now: i64,
) -> JobRequest {
    JobRequest {
        idempotency_key: device_request_id(secret, device),
        kind: JobKind::Provision {
            eui64: device.eui64.to_string(),
            install_code: device.install_code.clone(),
        },
        targets: vec![device.esiid.to_string()],
        expires_at: u64::try_from(now).unwrap_or(0) + window_seconds,
        callback: None,
    }
}

/// The CIM request that provisions `device`: one pairing window open control on its meter
/// for its EUI64 and install code, from `now` for `window_seconds`, results to
/// `reply_address`; CorrelationID and MessageID its [`device_request_id`].
pub fn pairing_request(
    secret: &[u8],
    device: &DeviceRecord,
    reply_address: &str,
    window_seconds: u64,
    now: i64,
) -> cim::RequestMessage {
    let id = device_request_id(secret, device);
    let now = u64::try_from(now).unwrap_or(0);
    cim::RequestMessage {
        header: Header::new("create", NOUN_CONTROLS, now, &id, &id).replying_to(reply_address),
        controls: vec![EndDeviceControl::pairing(
            device.esiid.as_str(),
            &device.eui64.to_string(),
            &device.install_code,
            now,
            now + window_seconds,
        )],
    }
}

/// The MultiSpeak `InitiateHANRegistration` that provisions `device`: its meter as
/// `HANInterfaceID`, its EUI64 as `HANDeviceID`, the install code as a `hex` `InstallCode`
/// token, `timeOut` the window in whole minutes (rounded up, at least one) and expTime the
/// same; transactionID and MessageID its [`device_request_id`].
pub fn registration_request(
    secret: &[u8],
    device: &DeviceRecord,
    client: &MultiSpeakClient,
    window_seconds: u64,
    now: i64,
) -> Request {
    let id = device_request_id(secret, device);
    let minutes = window_seconds.div_ceil(60).max(1);
    Request {
        header: MsgHeader {
            message_id: id.clone(),
            time_stamp: u64::try_from(now).unwrap_or(0),
            ..client.header().clone()
        },
        call: Call::InitiateHANRegistration {
            han_interface_id: device.esiid.to_string(),
            han_device_id: device.eui64.to_string(),
            token: SecurityToken {
                encoding: "hex".into(),
                token_type: "InstallCode".into(),
                value: device.install_code.clone(),
            },
            time_out: u32::try_from(minutes).unwrap_or(u32::MAX),
        },
        se_frame: None,
        response_url: client.response_url().to_string(),
        transaction_id: id,
        exp_time: ExpTime {
            value: minutes,
            units: TimeUnits::Minutes,
        },
    }
}

/// A device the head-end refused outright: failed at once with its words (never sent).
async fn refused(
    store: &Store,
    device: &DeviceRecord,
    why: String,
    now: i64,
) -> Result<(), ConnectError> {
    store
        .set_device_state(device.id, &DeviceState::Failed { reason: why }, now)
        .await?;
    Ok(())
}

/// Sends each of `tdsp`'s unsent pending devices as a `Provision` job and records it sent
/// with the head-end's job ID; a device whose job the head-end refuses (4xx) is recorded
/// failed with the head-end's words. Returns how many were sent.
pub async fn provision_jobs(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    window_seconds: u64,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for device in store.unsent_devices(tdsp).await? {
        match client
            .submit(&provision_job(
                store.installation_secret(),
                &device,
                window_seconds,
                now,
            ))
            .await
        {
            Ok(job) => {
                store.mark_device_sent(device.id, &job, now).await?;
                sent += 1;
            }
            Err(ConnectError::Refused { error, .. }) => {
                refused(store, &device, crate::job_refused_words(&error), now).await?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

/// Polls the job of each of `tdsp`'s sent, still pending devices and records the final
/// answers: acknowledged (registered) → provisioned; failed or expired → failed with the
/// head-end's words. Returns how many devices moved.
pub async fn collect_provisioning(
    store: &Store,
    tdsp: Tdsp,
    client: &JobsClient,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut moved = 0;
    for device in store.sent_devices(tdsp).await? {
        let job = client.job(&device.job).await?;
        let meter = device.esiid.as_str();
        let Some(result) = job.results.iter().find(|r| r.target == meter) else {
            return Err(ConnectError::Transport {
                url: format!("job {}", device.job),
                reason: format!("the job has no result for meter {meter}"),
            });
        };
        let outcome = match result.state {
            TargetState::Acknowledged => DeviceState::Provisioned,
            TargetState::Failed | TargetState::Expired => DeviceState::Failed {
                reason: result.detail.clone(),
            },
            TargetState::Queued | TargetState::Sent | TargetState::Delivered => continue,
        };
        if store.finish_provisioning(device.id, &outcome, now).await? {
            moved += 1;
        }
    }
    Ok(moved)
}

/// Sends each of `tdsp`'s unsent pending devices as a CIM pairing request
/// ([`pairing_request`]) and records it sent with the CorrelationID; a reply that refuses it
/// (FAILED, or an Error) records it failed with the head-end's words. Returns how many were
/// sent.
pub async fn provision_cim(
    store: &Store,
    tdsp: Tdsp,
    client: &CimClient,
    window_seconds: u64,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for device in store.unsent_devices(tdsp).await? {
        let request = pairing_request(
            store.installation_secret(),
            &device,
            client.reply_address(),
            window_seconds,
            now,
        );
        let reply = match client.create(&request).await {
            Err(ConnectError::Fault { reason, .. }) => {
                refused(store, &device, faulted_words(&reason), now).await?;
                continue;
            }
            other => other?,
        };
        if reply.reply.result == ReplyResult::Ok && reply.reply.errors.is_empty() {
            store
                .mark_device_sent(
                    device.id,
                    &device_request_id(store.installation_secret(), &device),
                    now,
                )
                .await?;
            sent += 1;
            continue;
        }
        refused(store, &device, crate::cim_refused_words(&reply.reply), now).await?;
    }
    Ok(sent)
}

/// Sends each of `tdsp`'s unsent pending devices as an `InitiateHANRegistration`
/// ([`registration_request`]) and records it sent with the transactionID; `errorObject`s in
/// the response record it failed with the head-end's words. Returns how many were sent.
pub async fn provision_multispeak(
    store: &Store,
    tdsp: Tdsp,
    client: &MultiSpeakClient,
    window_seconds: u64,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for device in store.unsent_devices(tdsp).await? {
        let request = registration_request(
            store.installation_secret(),
            &device,
            client,
            window_seconds,
            now,
        );
        let response = match client.initiate(&request).await {
            Err(ConnectError::Fault { reason, .. }) => {
                refused(store, &device, faulted_words(&reason), now).await?;
                continue;
            }
            other => other?,
        };
        if response.errors.is_empty() {
            store
                .mark_device_sent(device.id, &request.transaction_id, now)
                .await?;
            sent += 1;
            continue;
        }
        refused(
            store,
            &device,
            crate::multispeak_refused_words(&response.errors),
            now,
        )
        .await?;
    }
    Ok(sent)
}

/// What became of a head-end's pairing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingRecorded {
    /// Recorded (or a repeat of what was: nothing to change).
    Recorded,
    /// The request is not yet recorded as sent: the head-end is to post again later.
    NotYetSent,
    /// The result names a device or request the gateway did not send; why.
    Unknown(String),
}

/// Records the head-end's result for provisioning request `request_id` about device
/// `device_name` (its EUI64 as sent): `outcome` `Some` ends the device provisioned or failed
/// (a repeat changes nothing), `None` (still joining, say) only checks it is ours.
pub async fn record_pairing(
    store: &Store,
    tdsp: Tdsp,
    request_id: &str,
    device_name: &str,
    outcome: Option<DeviceState>,
    at: i64,
) -> Result<PairingRecorded, ConnectError> {
    let Some(id) = device_of(request_id) else {
        return Ok(PairingRecorded::Unknown(format!(
            "{request_id} is not a provisioning request of this gateway"
        )));
    };
    // An unknown row, a forged or foreign ID and another TDSP's device all get one answer.
    let not_ours = || {
        Ok(PairingRecorded::Unknown(format!(
            "{request_id} is not a provisioning request of this gateway"
        )))
    };
    let device = match store.device(id).await {
        Ok(d) => d,
        Err(StoreError::NotFound(_)) => return not_ours(),
        Err(e) => return Err(e.into()),
    };
    if device.tdsp != tdsp
        || !crate::same(
            request_id,
            &device_request_id(store.installation_secret(), &device),
        )
    {
        return not_ours();
    }
    if device.job.is_empty() && device.state == DeviceState::Pending {
        return Ok(PairingRecorded::NotYetSent);
    }
    if device.job != request_id {
        return Ok(PairingRecorded::Unknown(format!(
            "device {id} was not sent as {request_id}"
        )));
    }
    if device_name.parse::<Eui64>().ok() != Some(device.eui64) {
        return Ok(PairingRecorded::Unknown(format!(
            "{request_id} pairs {}, not {device_name}",
            device.eui64
        )));
    }
    if let Some(outcome) = outcome {
        store.finish_provisioning(device.id, &outcome, at).await?;
    }
    Ok(PairingRecorded::Recorded)
}

/// The outcome a CIM result event means for a pairing: registered (and any other code
/// [`crate::states::cim_event`] reads as delivered or acknowledged) → provisioned; a failure code
/// → failed with the head-end's reason and the code; anything else says nothing.
pub fn cim_outcome(event_type: &str, reason: &str) -> Option<DeviceState> {
    use hanrig_gateway::delivery::DeliveryStatus as S;
    match crate::states::cim_event(event_type)? {
        S::Delivered | S::DeviceAcknowledged => Some(DeviceState::Provisioned),
        S::Failed => Some(DeviceState::Failed {
            reason: if reason.is_empty() {
                format!("pairing failed ({event_type})")
            } else {
                format!("{reason} ({event_type})")
            },
        }),
        S::Queued | S::Sent => None,
    }
}

/// The outcome a `HANRegistration` means ([`multispeak::registration_status`]):
/// provisioned, failed with the head-end's `comments` (or its status when it gave none), or
/// nothing yet.
pub fn registration_outcome(r: &HanRegistration) -> Option<DeviceState> {
    Some(
        if multispeak::registration_status(&r.registration_status)? {
            DeviceState::Provisioned
        } else {
            DeviceState::Failed {
                reason: match &r.comments {
                    Some(c) if !c.is_empty() => c.clone(),
                    _ => format!("HANRegistrationNotification: {}", r.registration_status),
                },
            }
        },
    )
}
