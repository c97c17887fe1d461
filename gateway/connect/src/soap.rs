//! What the two SOAP connectors share: posting a document, retrying while the head-end is
//! down, the deterministic request ID of a batch, and finding a batch's deliveries again
//! when its results come back.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{DeliveryRecord, MessageRecord, Store};

use crate::ConnectError;

/// A SOAP 1.1 endpoint.
#[derive(Debug, Clone)]
pub(crate) struct SoapEndpoint {
    pub url: String,
    pub http: reqwest::Client,
    pub throttle: crate::Throttle,
}

impl SoapEndpoint {
    pub fn new(url: &str) -> SoapEndpoint {
        SoapEndpoint {
            url: url.to_string(),
            http: crate::http_client(crate::REQUEST_TIMEOUT),
            throttle: crate::Throttle::default(),
        }
    }

    pub fn transport(&self, e: impl std::fmt::Display) -> ConnectError {
        ConnectError::Transport {
            url: self.url.clone(),
            reason: e.to_string(),
        }
    }

    /// Posts `body`; the answer's body when the head-end answered 2xx, a
    /// [`ConnectError::Fault`] for a SOAP client Fault, a transport error otherwise (a server
    /// Fault among them).
    pub async fn post(&self, action: &str, body: String) -> Result<String, ConnectError> {
        self.throttle.wait().await;
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", format!("\"{action}\""))
            .body(body)
            .send()
            .await
            .map_err(|e| crate::call_failed(&self.url, crate::REQUEST_TIMEOUT, e))?;
        let status = response.status();
        let body = crate::read_bounded(response)
            .await
            .map_err(|e| self.transport(e))?;
        let text =
            String::from_utf8(body).map_err(|_| self.transport("the answer is not UTF-8"))?;
        if status.is_success() {
            return Ok(text);
        }
        // A client fault refuses this request for good; a server fault is the head-end's own
        // trouble, retried like an outage.
        match hanrig_headend::xml::read_fault(&text) {
            Some(f) if f.client => Err(ConnectError::Fault {
                url: self.url.clone(),
                reason: f.reason,
            }),
            Some(f) => Err(self.transport(format!("SOAP server fault: {}", f.reason))),
            None => Err(self.transport(format!("HTTP {status}"))),
        }
    }
}

/// The request ID of `batch` (deliveries of `message` through `tdsp`), signed with the
/// installation's `secret` ([`Store::installation_secret`]): `m{message}-{tdsp}-{first}-{last}-{tag}`,
/// the message, the batch's first and last rows, and 96 bits of HMAC-SHA256 over those and
/// the message's time and frame. The same rows re-sent after a crash carry the same ID (the
/// head-end answers the first request again); no one without the secret can make one, and
/// another installation — or a restored database reusing the row numbers for other
/// messages — makes different ones. [`message_of`] reads the message back.
pub fn request_id(
    secret: &[u8],
    message: &MessageRecord,
    tdsp: Tdsp,
    batch: &[DeliveryRecord],
) -> String {
    let (first, last) = (
        batch.first().map_or(0, |d| d.id),
        batch.last().map_or(0, |d| d.id),
    );
    let body = format!("m{}-{tdsp}-{first}-{last}", message.id);
    let tag = crate::tag(
        secret,
        &[
            body.as_bytes(),
            &message.created_at.to_be_bytes(),
            &message.command,
        ],
    );
    format!("{body}-{tag}")
}

/// The message ID in a request ID made by [`request_id`].
pub fn message_of(request_id: &str) -> Option<i64> {
    request_id
        .strip_prefix('m')?
        .split('-')
        .next()?
        .parse()
        .ok()
}

/// The rows `first..=last` of `request_id` when this installation made it for `message`
/// ([`request_id`] with the same secret); `None` for any other ID.
fn batch_rows(secret: &[u8], request_id: &str, message: &MessageRecord) -> Option<(i64, i64)> {
    let (body, tag) = request_id.rsplit_once('-')?;
    let expected = crate::tag(
        secret,
        &[
            body.as_bytes(),
            &message.created_at.to_be_bytes(),
            &message.command,
        ],
    );
    if !crate::same(tag, &expected) || message_of(body) != Some(message.id) {
        return None;
    }
    let mut rows = body.rsplitn(3, '-');
    let last = rows.next()?.parse().ok()?;
    let first = rows.next()?.parse().ok()?;
    Some((first, last))
}

/// Runs `attempt` until it succeeds or fails other than by transport, at most `attempts`
/// times, sleeping `backoff` (doubling) between tries.
pub(crate) async fn retrying<T, F, Fut>(
    attempts: u32,
    mut backoff: Duration,
    mut attempt: F,
) -> Result<T, ConnectError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ConnectError>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(ConnectError::Transport { .. }) if tries + 1 < attempts => {
                tries += 1;
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            other => return other,
        }
    }
}

/// One result a head-end reported: the address as requested, the delivery status it means
/// (`None`: it says nothing about delivery), and the words to record.
pub(crate) struct HeadEndResult {
    pub address: String,
    pub status: Option<DeliveryStatus>,
    pub report: String,
}

/// Records `results` that `tdsp`'s head-end reported for request `request_id` in one batch:
/// each is kept as a report of its delivery; one saying nothing about delivery is kept at
/// the delivery's current status. Only a delivery of that request through that TDSP moves: a
/// request ID this installation did not sign, or one of another TDSP's, matches nothing.
/// Returns the addresses that match no delivery of the request (the rest are recorded) — the
/// same answer whether the ID is unknown, forged or names other addresses — or `None`,
/// recording nothing, while the request's deliveries are not yet marked sent (the results
/// overtook the gateway's own record of sending, or it crashed before making it): the
/// head-end is to post them again later, when the dispatcher has marked them.
pub(crate) async fn record(
    store: &Store,
    tdsp: Tdsp,
    request_id: &str,
    results: &[HeadEndResult],
    now: i64,
) -> Result<Option<Vec<String>>, ConnectError> {
    let unknown = || Ok(Some(results.iter().map(|r| r.address.clone()).collect()));
    let Some(id) = message_of(request_id) else {
        return unknown();
    };
    let message = match store.message(id).await {
        Ok(m) => m,
        Err(hanrig_gateway_store::StoreError::NotFound(_)) => return unknown(),
        Err(e) => return Err(e.into()),
    };
    let Some((first, last)) = batch_rows(store.installation_secret(), request_id, &message) else {
        return unknown();
    };
    let deliveries = store.deliveries(id).await?;
    let by_address: HashMap<&str, &DeliveryRecord> = deliveries
        .iter()
        .filter(|d| d.tdsp == tdsp && (first..=last).contains(&d.id))
        .filter(|d| d.job == request_id || (d.job.is_empty() && d.status == DeliveryStatus::Queued))
        .map(|d| (d.address.as_str(), d))
        .collect();
    let mut unknown = Vec::new();
    let mut reports = Vec::new();
    for r in results {
        match by_address.get(r.address.as_str()) {
            Some(d) if d.job.is_empty() => return Ok(None),
            Some(d) => reports.push((d.id, r.status.unwrap_or(d.status), r.report.as_str())),
            None => unknown.push(r.address.clone()),
        }
    }
    store.report_batch(&reports, now).await?;
    Ok(Some(unknown))
}

/// What a callback listener made of one posted document.
pub(crate) enum Callback {
    /// Not a document of the style: 500 and a SOAP Fault naming what is wrong.
    Unreadable(String),
    /// Recorded: 200 and this reply.
    Recorded(String),
    /// Results of this request, which is not yet marked sent: 503 (the head-end posts again).
    NotYetSent(String),
    /// The repository failed: 503.
    Failed(String),
}

/// The routes of `tdsp`'s head-end's callbacks: each `POST /` goes to `handle`, whose
/// [`Callback`] decides the answer. Whoever serves them authenticates the head-end first
/// (hanrig-gateway-server: mutual TLS with the head-end's certificate).
pub(crate) fn callbacks<F>(
    store: Store,
    tdsp: Tdsp,
    handle: fn(Store, Tdsp, String) -> F,
) -> axum::Router
where
    F: Future<Output = Callback> + Send + 'static,
{
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let post = axum::routing::post(move |body: String| {
        let store = store.clone();
        async move {
            let xml = [(header::CONTENT_TYPE, "text/xml; charset=utf-8")];
            let fault = hanrig_headend::xml::fault;
            match handle(store, tdsp, body).await {
                Callback::Recorded(reply) => (StatusCode::OK, xml, reply),
                Callback::Unreadable(why) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, xml, fault(true, &why))
                }
                Callback::NotYetSent(request_id) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    xml,
                    fault(
                        false,
                        &format!(
                            "{request_id}: not yet recorded as sent by the gateway; post again later"
                        ),
                    ),
                ),
                Callback::Failed(why) => {
                    (StatusCode::SERVICE_UNAVAILABLE, xml, fault(false, &why))
                }
            }
            .into_response()
        }
    });
    // A body over the XML reader's limit is refused (413) before it is read to the end.
    axum::Router::new()
        .route("/", post)
        .layer(axum::extract::DefaultBodyLimit::max(
            hanrig_headend::xml::MAX_DOCUMENT_BYTES,
        ))
}
