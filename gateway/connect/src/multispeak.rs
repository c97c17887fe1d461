//! The MultiSpeak 4.1 connector (Oncor): each batch of a message's queued deliveries goes as
//! one `Initiate*`/`Cancel*` request (the SE command's MultiSpeak object plus its frame)
//! whose transactionID is the batch's [`request_id`]; the head-end's notifications come back
//! to [`serve_callbacks`] at the responseURL and are recorded.

use std::time::Duration;

use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{DeliveryRecord, MessageRecord, Store};
use hanrig_headend::limits::Limits;
use hanrig_headend::multispeak::{
    self, Call, ErrorObject, ExpTime, MsgHeader, Notification, NotificationMessage, Request,
    Response, SeFrame, TimeUnits,
};
use hanrig_sep::ZclFrame;

use crate::ConnectError;
use crate::soap::{Callback, HeadEndResult, SoapEndpoint, record, request_id, retrying};

/// A client of one MultiSpeak head-end.
#[derive(Debug, Clone)]
pub struct MultiSpeakClient {
    endpoint: SoapEndpoint,
    response_url: String,
    header: MsgHeader,
}

impl MultiSpeakClient {
    /// The same client, calling the head-end with `http` (an HTTPS head-end:
    /// [`crate::tls_client`]).
    pub fn with_http(mut self, http: reqwest::Client) -> MultiSpeakClient {
        self.endpoint.http = http;
        self
    }

    /// The same client, its requests spaced by `throttle`.
    pub fn with_throttle(mut self, throttle: crate::Throttle) -> MultiSpeakClient {
        self.endpoint.throttle = throttle;
        self
    }

    /// A client of the head-end at `endpoint`, asking for notifications at `response_url`
    /// (where [`serve_callbacks`] listens), identifying itself with `header` (UserID, Pwd,
    /// AppName, Company, Context; MessageID and TimeStamp are set per request).
    pub fn new(endpoint: &str, response_url: &str, header: MsgHeader) -> MultiSpeakClient {
        MultiSpeakClient {
            endpoint: SoapEndpoint::new(endpoint),
            response_url: response_url.to_string(),
            header,
        }
    }

    /// Where this client asks for notifications.
    pub fn response_url(&self) -> &str {
        &self.response_url
    }

    /// The header it identifies itself with (MessageID and TimeStamp are set per request).
    pub fn header(&self) -> &MsgHeader {
        &self.header
    }

    /// Sends `request`; the head-end's response (its `errorObject`s; none: accepted).
    pub async fn initiate(&self, request: &Request) -> Result<Response, ConnectError> {
        let action = format!("{}/{}", multispeak::NS, request.call.name());
        let answer = self.endpoint.post(&action, request.to_xml()).await?;
        Response::from_xml(&answer).map_err(|e| self.endpoint.transport(e))
    }
}

/// The request that carries `batch` (deliveries of `message` through `tdsp`): the SE
/// command's MultiSpeak call to every address with its frame, transactionID and MessageID
/// the batch's [`request_id`], expTime the style's expiry (in minutes when whole).
pub fn multispeak_request(
    secret: &[u8],
    message: &MessageRecord,
    tdsp: Tdsp,
    batch: &[DeliveryRecord],
    limits: &Limits,
    client: &MultiSpeakClient,
    now: i64,
) -> Result<Request, ConnectError> {
    let unsupported =
        |why: String| ConnectError::Unsupported(format!("message {}: {why}", message.id));
    let frame = ZclFrame::parse(message.cluster, &message.command)
        .map_err(|e| unsupported(format!("its SE frame does not parse: {e:?}")))?;
    let call = Call::from_se(&frame, batch.iter().map(|d| d.address.clone()).collect())
        .map_err(|e| unsupported(e.to_string()))?;
    let id = request_id(secret, message, tdsp, batch);
    let exp_time = if limits.expiry_seconds.is_multiple_of(60) {
        ExpTime {
            value: limits.expiry_seconds / 60,
            units: TimeUnits::Minutes,
        }
    } else {
        ExpTime {
            value: limits.expiry_seconds,
            units: TimeUnits::Seconds,
        }
    };
    Ok(Request {
        header: MsgHeader {
            message_id: id.clone(),
            time_stamp: u64::try_from(now).unwrap_or(0),
            ..client.header.clone()
        },
        call,
        se_frame: Some(SeFrame {
            cluster: message.cluster,
            zcl: message.command.clone(),
        }),
        response_url: client.response_url.clone(),
        transaction_id: id,
        exp_time,
    })
}

/// Sends `tdsp`'s queued deliveries (up to `limit`) as requests of at most `limits.batch`
/// addresses, one message per request: every delivery is marked sent with the
/// transactionID as its job, then those an `errorObject` names (or all, for an
/// `errorObject` about the whole transaction) are recorded failed with the head-end's words.
/// Returns how many were marked sent.
pub async fn dispatch(
    store: &Store,
    tdsp: Tdsp,
    client: &MultiSpeakClient,
    limits: &Limits,
    limit: i64,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for (message, deliveries) in crate::queued_by_message(store, tdsp, limit).await? {
        for batch in deliveries.chunks(limits.batch.max(1)) {
            let request = match multispeak_request(
                store.installation_secret(),
                &message,
                tdsp,
                batch,
                limits,
                client,
                now,
            ) {
                Err(ConnectError::Unsupported(why)) => {
                    crate::fail(store, &crate::uncarried(batch, &why), now).await?;
                    continue;
                }
                other => other?,
            };
            let response = match client.initiate(&request).await {
                Err(ConnectError::Fault { reason, .. }) => {
                    crate::fail(store, &crate::faulted(batch, &reason), now).await?;
                    continue;
                }
                other => other?,
            };
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            sent += store.mark_sent(&ids, &request.transaction_id, now).await?;
            let refused = refusals(&response.errors, &request.transaction_id, batch);
            crate::fail(store, &refused, now).await?;
        }
    }
    Ok(sent)
}

fn refusals(
    errors: &[ErrorObject],
    transaction: &str,
    batch: &[DeliveryRecord],
) -> Vec<(i64, String)> {
    let words = |e: &ErrorObject| format!("refused by the head-end: {}", e.error_string);
    let mut out = Vec::new();
    for e in errors {
        if e.object_id == transaction {
            out.extend(batch.iter().map(|d| (d.id, words(e))));
        } else if let Some(d) = batch.iter().find(|d| d.address == e.object_id) {
            out.push((d.id, words(e)));
        }
    }
    out
}

/// [`dispatch`], tried again after `backoff` (doubling, at most `attempts` times) while the
/// head-end cannot be reached; any other error stops at once.
pub async fn dispatch_retrying(
    store: &Store,
    tdsp: Tdsp,
    client: &MultiSpeakClient,
    limits: &Limits,
    now: i64,
    attempts: u32,
    backoff: Duration,
) -> Result<usize, ConnectError> {
    retrying(attempts, backoff, || {
        dispatch(store, tdsp, client, limits, i64::MAX, now)
    })
    .await
}

/// Records a notification: a `HANRegistrationNotification` of a provisioning request ends its
/// device provisioned or failed ([`crate::provision`]); any other entry is kept as a report
/// of the delivery its transactionID and device name, at the notification's TimeStamp; a status that says nothing about
/// delivery moves nothing. Returns the `…Response` to give the head-end, with an
/// `errorObject` per device that matches no delivery; `None` (nothing recorded) while the
/// request's deliveries are not yet marked sent.
pub async fn record_notification(
    store: &Store,
    tdsp: Tdsp,
    n: &NotificationMessage,
) -> Result<Option<Response>, ConnectError> {
    if let Notification::HanRegistration(entries) = &n.notification {
        return record_registrations(store, tdsp, n, entries).await;
    }
    if let Notification::ReadingChanged(reads) = &n.notification {
        return record_readings(store, tdsp, n, reads).await;
    }
    let name = n.notification.name();
    let status = |word: &str| match &n.notification {
        Notification::DemandResponseEvent(_) => crate::states::demand_response(word),
        Notification::IhdMessageStatus(_) => crate::states::ihd_message(word),
        Notification::PricingTiersChanged(_) => crate::states::pricing(word),
        Notification::HanRegistration(_) | Notification::ReadingChanged(_) => None,
    };
    let results: Vec<HeadEndResult> = n
        .notification
        .entries()
        .into_iter()
        .map(|(device, word)| HeadEndResult {
            address: device.to_string(),
            status: status(word),
            report: format!("{name}: {word}"),
        })
        .collect();
    let stamp = n.header.time_stamp;
    let Some(unknown) = record(
        store,
        tdsp,
        &n.transaction_id,
        &results,
        i64::try_from(stamp).unwrap_or(0),
    )
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(ack(
        n,
        unknown
            .into_iter()
            .map(|object_id| ErrorObject {
                object_id,
                error_string: format!("no delivery of {} to this device", n.transaction_id),
                noun_type: "HANDevice".into(),
                event_time: Some(stamp),
                text: String::new(),
            })
            .collect(),
    )))
}

/// The gateway's `Response` to notification `n`: its header acknowledged, an `errorObject`
/// for each entry that matched nothing.
fn ack(n: &NotificationMessage, errors: Vec<ErrorObject>) -> Response {
    Response {
        header: MsgHeader {
            message_id: format!("{}-ack", n.header.message_id),
            ..n.header.clone()
        },
        operation: n.notification.name().to_string(),
        errors,
    }
}

/// Records a `ReadingChangedNotification` of a read ([`crate::read`]): each reading completes
/// its meter's read; `None` while the read is not yet marked sent; an `errorObject` per reading
/// that names no read of the gateway.
async fn record_readings(
    store: &Store,
    tdsp: Tdsp,
    n: &NotificationMessage,
    reads: &[multispeak::MeterRead],
) -> Result<Option<Response>, ConnectError> {
    use crate::read::{ReadRecorded, multispeak_outcome, record_read};
    let stamp = n.header.time_stamp;
    let mut errors = Vec::new();
    for r in reads {
        let at = i64::try_from(stamp).unwrap_or(0);
        match record_read(
            store,
            tdsp,
            &n.transaction_id,
            &r.meter_id,
            &multispeak_outcome(r),
            at,
        )
        .await?
        {
            ReadRecorded::Recorded => {}
            ReadRecorded::NotYetSent => return Ok(None),
            ReadRecorded::Unknown(why) => errors.push(ErrorObject {
                object_id: r.meter_id.clone(),
                error_string: why,
                noun_type: "Meter".into(),
                event_time: Some(stamp),
                text: String::new(),
            }),
        }
    }
    Ok(Some(ack(n, errors)))
}

/// Records a `HANRegistrationNotification` of a provisioning request
/// ([`crate::provision`]): each entry ends its device provisioned or failed with the
/// head-end's words ([`crate::provision::registration_outcome`]); `None` while the request
/// is not yet marked sent; an `errorObject` per entry that names no device of the request.
async fn record_registrations(
    store: &Store,
    tdsp: Tdsp,
    n: &NotificationMessage,
    entries: &[multispeak::HanRegistration],
) -> Result<Option<Response>, ConnectError> {
    use crate::provision::{PairingRecorded, record_pairing, registration_outcome};
    let stamp = n.header.time_stamp;
    let mut errors = Vec::new();
    for r in entries {
        let outcome = registration_outcome(r);
        match record_pairing(
            store,
            tdsp,
            &n.transaction_id,
            &r.device_id,
            outcome,
            i64::try_from(stamp).unwrap_or(0),
        )
        .await?
        {
            PairingRecorded::Recorded => {}
            PairingRecorded::NotYetSent => return Ok(None),
            PairingRecorded::Unknown(why) => errors.push(ErrorObject {
                object_id: r.device_id.clone(),
                error_string: why,
                noun_type: "HANDevice".into(),
                event_time: Some(stamp),
                text: String::new(),
            }),
        }
    }
    Ok(Some(ack(n, errors)))
}

/// Serves the responseURL on `listener` until the task is dropped: `POST /` with a
/// notification is recorded ([`record_notification`]) and answered 200 with its `…Response`;
/// a document it cannot read gets 500 and a SOAP Fault naming what is wrong; a notification
/// of a request not yet marked sent, and a repository failure, get 503 (the head-end posts
/// again later).
pub fn callbacks(store: Store, tdsp: Tdsp) -> axum::Router {
    crate::soap::callbacks(store, tdsp, |store, tdsp, body| async move {
        let n = match NotificationMessage::from_xml(&body) {
            Ok(n) => n,
            Err(e) => return Callback::Unreadable(e.to_string()),
        };
        match record_notification(&store, tdsp, &n).await {
            Ok(Some(r)) => Callback::Recorded(r.to_xml()),
            Ok(None) => Callback::NotYetSent(n.transaction_id.clone()),
            Err(e) => Callback::Failed(e.to_string()),
        }
    })
}
