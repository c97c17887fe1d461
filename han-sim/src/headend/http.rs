//! The HTTP shell of the SOAP head-ends: requests `POST`ed to `/` go to the sans-IO front on
//! the [`Clock`]'s time; a pusher in the same task steps the front every few milliseconds and
//! posts what it has to send (EndDeviceEvents, notifications) to the requester's callback,
//! retrying a failed post with doubling backoff (20 ms to 1 s of wall time) until the
//! message's expiry on the clock (facts §5: callback retries with backoff until expTime).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{CimHeadEnd, Clock, MultiSpeakHeadEnd};
use crate::clock::SimTime;

/// A callback post the head-end has to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Where (the ReplyAddress or responseURL).
    pub url: String,
    /// The `SOAPAction` header.
    pub soap_action: String,
    /// The SOAP document.
    pub body: String,
    /// After this (on the simulation's clock) the head-end gives up on it.
    pub expires_at: SimTime,
}

/// A sans-IO SOAP head-end front.
pub(crate) trait SoapFront: Send + 'static {
    /// A request's body at `now`: the HTTP status and the answer's body.
    fn handle(&mut self, body: &str, now: SimTime) -> (u16, String);
    /// What to post at `now`.
    fn poll(&mut self, now: SimTime) -> Vec<Outgoing>;
}

/// Serves `headend` on `listener` (`POST /` with a `create EndDeviceControls`
/// RequestMessage; 200 and a ResponseMessage, or 500 and a SOAP Fault for a document it
/// cannot read) and posts EndDeviceEvents to each request's ReplyAddress with `callbacks`
/// (an HTTP client holding the head-end's TLS identity where the gateway requires one), until
/// the task is dropped.
pub async fn serve_cim(
    listener: tokio::net::TcpListener,
    headend: CimHeadEnd,
    clock: Clock,
    callbacks: reqwest::Client,
) -> std::io::Result<()> {
    serve_soap(listener, Arc::new(Mutex::new(headend)), clock, callbacks).await
}

/// [`serve_cim`] with a head-end the caller keeps a handle on (to collect its meters'
/// intervals while it serves, see [`super::Front`]).
pub async fn serve_cim_shared(
    listener: tokio::net::TcpListener,
    headend: Arc<Mutex<CimHeadEnd>>,
    clock: Clock,
    callbacks: reqwest::Client,
) -> std::io::Result<()> {
    serve_soap(listener, headend, clock, callbacks).await
}

/// Serves `headend` on `listener` (`POST /` with a MultiSpeak request; 200 and its
/// `…Response`, or 500 and a SOAP Fault) and posts notifications to each request's
/// responseURL with `callbacks`, until the task is dropped.
pub async fn serve_multispeak(
    listener: tokio::net::TcpListener,
    headend: MultiSpeakHeadEnd,
    clock: Clock,
    callbacks: reqwest::Client,
) -> std::io::Result<()> {
    serve_soap(listener, Arc::new(Mutex::new(headend)), clock, callbacks).await
}

/// [`serve_multispeak`] with a head-end the caller keeps a handle on.
pub async fn serve_multispeak_shared(
    listener: tokio::net::TcpListener,
    headend: Arc<Mutex<MultiSpeakHeadEnd>>,
    clock: Clock,
    callbacks: reqwest::Client,
) -> std::io::Result<()> {
    serve_soap(listener, headend, clock, callbacks).await
}

async fn serve_soap<F: SoapFront>(
    listener: tokio::net::TcpListener,
    front: Arc<Mutex<F>>,
    clock: Clock,
    callbacks: reqwest::Client,
) -> std::io::Result<()> {
    use axum::extract::State;
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;

    type Shared<F> = (Arc<Mutex<F>>, Clock);
    async fn handle<F: SoapFront>(
        State((front, clock)): State<Shared<F>>,
        body: String,
    ) -> Response {
        let (status, answer) = match front.lock() {
            Ok(mut f) => f.handle(&body, clock.now()),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        };
        (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            answer,
        )
            .into_response()
    }
    let app = axum::Router::new()
        .route("/", post(handle::<F>))
        .with_state((front.clone(), clock));
    tokio::select! {
        served = axum::serve(listener, app) => served,
        () = push(front, clock, callbacks) => Ok(()),
    }
}

/// Steps the front and posts its callbacks with `http`, forever; each post ends within 30 s.
async fn push<F: SoapFront>(front: Arc<Mutex<F>>, clock: Clock, http: reqwest::Client) {
    struct Pending {
        out: Outgoing,
        backoff: Duration,
        next: tokio::time::Instant,
    }
    let mut queue: Vec<Pending> = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let now = clock.now();
        let fresh = match front.lock() {
            Ok(mut f) => f.poll(now),
            Err(_) => return,
        };
        let started = tokio::time::Instant::now();
        queue.extend(fresh.into_iter().map(|out| Pending {
            out,
            backoff: Duration::from_millis(20),
            next: started,
        }));
        let mut kept = Vec::with_capacity(queue.len());
        for mut p in queue.drain(..) {
            if clock.now() > p.out.expires_at {
                continue;
            }
            if p.next > tokio::time::Instant::now() {
                kept.push(p);
                continue;
            }
            let sent = http
                .post(&p.out.url)
                .timeout(Duration::from_secs(30))
                .header("Content-Type", "text/xml; charset=utf-8")
                .header("SOAPAction", format!("\"{}\"", p.out.soap_action))
                .body(p.out.body.clone())
                .send()
                .await;
            if !sent.is_ok_and(|r| r.status().is_success()) {
                p.next = tokio::time::Instant::now() + p.backoff;
                p.backoff = (p.backoff * 2).min(Duration::from_secs(1));
                kept.push(p);
            }
        }
        queue = kept;
    }
}
