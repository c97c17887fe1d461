//! The IEC 61968-9 CIM connector (AEP Texas): each batch of a message's queued deliveries
//! goes as one `create EndDeviceControls` RequestMessage (asynchronous, results to the
//! gateway's ReplyAddress) whose CorrelationID is the batch's [`request_id`]; the head-end's
//! `created EndDeviceEvents` come back to [`serve_callbacks`] and are recorded.

use std::time::Duration;

use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{DeliveryRecord, MessageRecord, Store};
use hanrig_headend::cim::{
    self, EndDevice, EndDeviceControl, EventMessage, Header, NOUN_CONTROLS, NOUN_EVENTS,
    ReadRequest, Reply, ReplyError, ReplyResult, RequestMessage, ResponseMessage,
};
use hanrig_headend::limits::Limits;

use crate::ConnectError;
use crate::soap::{Callback, HeadEndResult, SoapEndpoint, record, request_id, retrying};

/// A client of one CIM head-end.
#[derive(Debug, Clone)]
pub struct CimClient {
    endpoint: SoapEndpoint,
    reply_address: String,
}

impl CimClient {
    /// The same client, calling the head-end with `http` (an HTTPS head-end:
    /// [`crate::tls_client`]).
    pub fn with_http(mut self, http: reqwest::Client) -> CimClient {
        self.endpoint.http = http;
        self
    }

    /// The same client, its requests spaced by `throttle`.
    pub fn with_throttle(mut self, throttle: crate::Throttle) -> CimClient {
        self.endpoint.throttle = throttle;
        self
    }

    /// A client of the head-end at `endpoint` (`http://127.0.0.1:8082/`), asking for results
    /// at `reply_address` (where [`serve_callbacks`] listens).
    pub fn new(endpoint: &str, reply_address: &str) -> CimClient {
        CimClient {
            endpoint: SoapEndpoint::new(endpoint),
            reply_address: reply_address.to_string(),
        }
    }

    /// Where this client asks for results.
    pub fn reply_address(&self) -> &str {
        &self.reply_address
    }

    /// Sends `request`; the head-end's reply. A reply whose CorrelationID is not the
    /// request's is a transport error (the answer is not to this request).
    pub async fn create(&self, request: &RequestMessage) -> Result<ResponseMessage, ConnectError> {
        let answer = self
            .endpoint
            .post("create EndDeviceControls", request.to_xml())
            .await?;
        let reply = ResponseMessage::from_xml(&answer).map_err(|e| self.endpoint.transport(e))?;
        if reply.header.correlation_id != request.header.correlation_id {
            return Err(self.endpoint.transport(format!(
                "the reply's CorrelationID {:?} is not the request's {:?}",
                reply.header.correlation_id, request.header.correlation_id
            )));
        }
        Ok(reply)
    }

    /// Sends `request` (`get MeterReadings`); the head-end's reply, checked as
    /// [`CimClient::create`] checks it.
    pub async fn get(&self, request: &ReadRequest) -> Result<ResponseMessage, ConnectError> {
        let answer = self
            .endpoint
            .post("get MeterReadings", request.to_xml())
            .await?;
        let reply = ResponseMessage::from_xml(&answer).map_err(|e| self.endpoint.transport(e))?;
        if reply.header.correlation_id != request.header.correlation_id {
            return Err(self.endpoint.transport(format!(
                "the reply's CorrelationID {:?} is not the request's {:?}",
                reply.header.correlation_id, request.header.correlation_id
            )));
        }
        Ok(reply)
    }
}

/// The RequestMessage that carries `batch` (deliveries of `message` through `tdsp`): one
/// control with the message's SE frame to every address, released now, ending after the
/// style's expiry; CorrelationID and MessageID are the batch's [`request_id`].
pub fn cim_request(
    secret: &[u8],
    message: &MessageRecord,
    tdsp: Tdsp,
    batch: &[DeliveryRecord],
    limits: &Limits,
    reply_address: &str,
    now: i64,
) -> Result<RequestMessage, ConnectError> {
    let id = request_id(secret, message, tdsp, batch);
    let now = u64::try_from(now).unwrap_or(0);
    let control = EndDeviceControl::deliver(
        message.cluster,
        &message.command,
        now,
        now + limits.expiry_seconds,
        batch.iter().map(|d| EndDevice::named(&d.address)).collect(),
    )
    .map_err(|e| ConnectError::Unsupported(format!("message {}: {e}", message.id)))?;
    Ok(RequestMessage {
        header: Header::new("create", NOUN_CONTROLS, now, &id, &id).replying_to(reply_address),
        controls: vec![control],
    })
}

/// Sends `tdsp`'s queued deliveries (up to `limit`) as requests of at most `limits.batch`
/// addresses, one message per request, and records each: every delivery of an accepted
/// request is marked sent with the CorrelationID as its job; those the reply refuses (an
/// Error naming the address, or a FAILED reply naming none) are recorded failed with the
/// head-end's reason. Returns how many were marked sent.
pub async fn dispatch(
    store: &Store,
    tdsp: Tdsp,
    client: &CimClient,
    limits: &Limits,
    limit: i64,
    now: i64,
) -> Result<usize, ConnectError> {
    let mut sent = 0;
    for (message, deliveries) in crate::queued_by_message(store, tdsp, limit).await? {
        for batch in deliveries.chunks(limits.batch.max(1)) {
            let secret = store.installation_secret();
            let request = match cim_request(
                secret,
                &message,
                tdsp,
                batch,
                limits,
                &client.reply_address,
                now,
            ) {
                Err(ConnectError::Unsupported(why)) => {
                    crate::fail(store, &crate::uncarried(batch, &why), now).await?;
                    continue;
                }
                other => other?,
            };
            let reply = match client.create(&request).await {
                Err(ConnectError::Fault { reason, .. }) => {
                    crate::fail(store, &crate::faulted(batch, &reason), now).await?;
                    continue;
                }
                other => other?,
            };
            let id = request_id(secret, &message, tdsp, batch);
            let ids: Vec<i64> = batch.iter().map(|d| d.id).collect();
            sent += store.mark_sent(&ids, &id, now).await?;
            crate::fail(store, &refusals(&reply.reply, batch), now).await?;
        }
    }
    Ok(sent)
}

/// The deliveries of `batch` a reply refuses, with why.
fn refusals(reply: &Reply, batch: &[DeliveryRecord]) -> Vec<(i64, String)> {
    let words = |e: &ReplyError| format!("refused by the head-end: {} ({})", e.reason, e.code);
    let mut out: Vec<(i64, String)> = reply
        .errors
        .iter()
        .filter_map(|e| {
            let id = e.id.as_deref()?;
            let d = batch.iter().find(|d| d.address == id)?;
            Some((d.id, words(e)))
        })
        .collect();
    if reply.result == ReplyResult::Failed && out.is_empty() {
        let why = reply
            .errors
            .iter()
            .map(words)
            .collect::<Vec<_>>()
            .join("; ");
        out = batch
            .iter()
            .map(|d| (d.id, format!("FAILED: {why}")))
            .collect();
    }
    out
}

/// [`dispatch`], tried again after `backoff` (doubling, at most `attempts` times) while the
/// head-end cannot be reached; any other error stops at once.
pub async fn dispatch_retrying(
    store: &Store,
    tdsp: Tdsp,
    client: &CimClient,
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

/// Records an EventMessage's EndDeviceEvents: those of a pairing request (a CorrelationID
/// made by [`crate::provision::device_request_id`]) end its device provisioned or failed;
/// any other is kept as a report of the delivery its
/// CorrelationID and end device name, at the event's time; an event type that says nothing
/// about delivery ([`crate::states::cim_event`]) moves nothing. Returns the reply to give the
/// head-end: OK, or PARTIAL with an Error per end device that matches no delivery; `None`
/// (nothing recorded) while the request's deliveries are not yet marked sent.
pub async fn record_events(
    store: &Store,
    tdsp: Tdsp,
    events: &EventMessage,
) -> Result<Option<ResponseMessage>, ConnectError> {
    let correlation = events.header.correlation_id.clone().unwrap_or_default();
    if crate::provision::device_of(&correlation).is_some() {
        return record_pairing_events(store, tdsp, events, &correlation).await;
    }
    let mut errors = Vec::new();
    let mut by_time: std::collections::BTreeMap<u64, Vec<HeadEndResult>> = Default::default();
    for e in &events.events {
        let report = if e.reason.is_empty() {
            e.event_type.clone()
        } else {
            format!("{} ({})", e.reason, e.event_type)
        };
        by_time.entry(e.created).or_default().push(HeadEndResult {
            address: e.end_device.clone(),
            status: crate::states::cim_event(&e.event_type),
            report,
        });
    }
    for (at, results) in by_time {
        let Some(unknown) = record(
            store,
            tdsp,
            &correlation,
            &results,
            i64::try_from(at).unwrap_or(0),
        )
        .await?
        else {
            return Ok(None);
        };
        for unknown in unknown {
            errors.push(ReplyError {
                code: cim::ERROR_NO_SUCH_DEVICE.into(),
                level: cim::ErrorLevel::Warning,
                reason: format!("no delivery of {correlation} to this end device"),
                id: Some(unknown),
            });
        }
    }
    Ok(Some(ack(
        NOUN_EVENTS,
        events.header.timestamp.unwrap_or(0),
        &correlation,
        errors,
    )))
}

/// The gateway's reply to a result posted about request `correlation` (OK, or PARTIAL with
/// `errors` naming what matched nothing), noun `noun`, at `now`.
pub(crate) fn ack(
    noun: &str,
    now: u64,
    correlation: &str,
    errors: Vec<ReplyError>,
) -> ResponseMessage {
    ResponseMessage {
        header: Header::new(
            "reply",
            noun,
            now,
            &format!("{correlation}-ack"),
            correlation,
        ),
        reply: Reply {
            result: ReplyResult::of(true, !errors.is_empty()),
            errors,
        },
        readings: Vec::new(),
    }
}

/// Records the EndDeviceEvents of a pairing request ([`crate::provision`]): each ends its
/// device provisioned or failed with the head-end's reason ([`crate::provision::cim_outcome`]);
/// `None` while the request is not yet marked sent; an Error per event naming no device of
/// the request.
async fn record_pairing_events(
    store: &Store,
    tdsp: Tdsp,
    events: &EventMessage,
    correlation: &str,
) -> Result<Option<ResponseMessage>, ConnectError> {
    use crate::provision::{PairingRecorded, cim_outcome, record_pairing};
    let mut errors = Vec::new();
    for e in &events.events {
        let outcome = cim_outcome(&e.event_type, &e.reason);
        match record_pairing(
            store,
            tdsp,
            correlation,
            &e.end_device,
            outcome,
            i64::try_from(e.created).unwrap_or(0),
        )
        .await?
        {
            PairingRecorded::Recorded => {}
            PairingRecorded::NotYetSent => return Ok(None),
            PairingRecorded::Unknown(why) => errors.push(ReplyError {
                code: cim::ERROR_NO_SUCH_DEVICE.into(),
                level: cim::ErrorLevel::Warning,
                reason: why,
                id: Some(e.end_device.clone()),
            }),
        }
    }
    Ok(Some(ack(
        NOUN_EVENTS,
        events.header.timestamp.unwrap_or(0),
        correlation,
        errors,
    )))
}

/// Serves the ReplyAddress on `listener` until the task is dropped: `POST /` with a
/// `created EndDeviceEvents` EventMessage is recorded ([`record_events`]), as is a read's
/// `reply MeterReadings` ([`crate::read::record_cim_readings`]), and answered 200 with a
/// ResponseMessage; a document it cannot read gets 500 and a SOAP Fault naming what is
/// wrong; results of a request not yet marked sent, and a repository failure, get 503 (the
/// head-end posts again later).
pub fn callbacks(store: Store, tdsp: Tdsp) -> axum::Router {
    crate::soap::callbacks(store, tdsp, |store, tdsp, body| async move {
        let message = match EventMessage::from_xml(&body) {
            Ok(m) => m,
            // A read's readings come as `reply MeterReadings`.
            Err(e) => match ResponseMessage::from_xml(&body) {
                Ok(r) if r.header.verb == "reply" && r.header.noun == cim::NOUN_READINGS => {
                    return match crate::read::record_cim_readings(&store, tdsp, &r).await {
                        Ok(Some(reply)) => Callback::Recorded(reply.to_xml()),
                        Ok(None) => {
                            Callback::NotYetSent(r.header.correlation_id.unwrap_or_default())
                        }
                        Err(e) => Callback::Failed(e.to_string()),
                    };
                }
                _ => return Callback::Unreadable(e.to_string()),
            },
        };
        match record_events(&store, tdsp, &message).await {
            Ok(Some(reply)) => Callback::Recorded(reply.to_xml()),
            Ok(None) => Callback::NotYetSent(message.header.correlation_id.unwrap_or_default()),
            Err(e) => Callback::Failed(e.to_string()),
        }
    })
}
