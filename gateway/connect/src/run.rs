//! One loop per TDSP: [`run`] drives that TDSP's [`Connector`] forever — sends what is
//! queued, collects results (polling the job style; the SOAP styles' results arrive at the
//! routes of [`Connector::callbacks`], served alongside), and backs off while the head-end is
//! down — until shut down. hanrig-gateway-server starts one per configured TDSP, each with
//! the connector of [`Tdsp::style`](hanrig_gateway::routing::Tdsp::style).

use std::future::Future;
use std::time::Duration;

use hanrig_gateway::routing::{HeadEndStyle, Tdsp};
use hanrig_gateway_store::Store;
use hanrig_headend::limits::Limits;

use crate::cim::CimClient;
use crate::multispeak::MultiSpeakClient;
use crate::{ConnectError, JobsClient, provision, read};

/// A TDSP's connector, of its head-end's style.
#[derive(Debug, Clone)]
pub enum Connector {
    /// The job style: submit, poll.
    Jobs(JobsClient),
    /// CIM: requests to the head-end, EndDeviceEvents to [`Connector::callbacks`] (at the
    /// client's reply address).
    Cim(CimClient),
    /// MultiSpeak: requests to the head-end, notifications to [`Connector::callbacks`] (at
    /// the client's responseURL).
    MultiSpeak(MultiSpeakClient),
}

impl Connector {
    /// The style it speaks.
    pub fn style(&self) -> HeadEndStyle {
        match self {
            Connector::Jobs(_) => HeadEndStyle::Jobs,
            Connector::Cim(..) => HeadEndStyle::Cim,
            Connector::MultiSpeak(..) => HeadEndStyle::MultiSpeak,
        }
    }

    /// The same connector, calling its head-end with `http` (an HTTPS head-end:
    /// [`crate::tls_client`], trusting only the head-end's CA and presenting the gateway's
    /// client certificate if it asks for one).
    pub fn with_http(self, http: reqwest::Client) -> Connector {
        match self {
            Connector::Jobs(c) => Connector::Jobs(c.with_http(http)),
            Connector::Cim(c) => Connector::Cim(c.with_http(http)),
            Connector::MultiSpeak(c) => Connector::MultiSpeak(c.with_http(http)),
        }
    }

    /// The routes where `tdsp`'s head-end posts its results (`None` for the job style, which
    /// is polled): to be served only to that head-end, authenticated.
    pub fn callbacks(&self, store: Store, tdsp: Tdsp) -> Option<axum::Router> {
        match self {
            Connector::Jobs(_) => None,
            Connector::Cim(_) => Some(crate::cim::callbacks(store, tdsp)),
            Connector::MultiSpeak(_) => Some(crate::multispeak::callbacks(store, tdsp)),
        }
    }
}

/// How [`run`] paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The style's limits (batch size, poll interval).
    pub limits: Limits,
    /// Deliveries taken from the queue per round.
    pub per_round: i64,
    /// Pause between rounds when all is well, cut short when new work is stored through this
    /// process's repository ([`Store::work`]).
    pub idle: Duration,
    /// First pause after the head-end could not be reached (doubling from there).
    pub backoff: Duration,
    /// Longest pause while it stays unreachable.
    pub max_backoff: Duration,
    /// How long a device's pairing window stays open, seconds
    /// ([`crate::provision::PAIRING_WINDOW_SECONDS`] unless a test shortens it).
    pub pairing_seconds: u64,
    /// How long after the head-end accepted a delivery it may stay without further word
    /// before it fails as expired, seconds ([`ANSWER_WINDOW_SECONDS`] unless configured).
    pub answer_seconds: i64,
}

/// How long a head-end has to report on a delivery it accepted: 24 hours. Past it the
/// delivery fails, saying it expired, so that a caller is not left with `sent` forever.
pub const ANSWER_WINDOW_SECONDS: i64 = 24 * 3600;

impl Pace {
    /// The pace for `limits`: 10 batches a round, rounds every second (or the style's poll
    /// interval if longer), backoff from 1 s to 5 minutes.
    pub fn of(limits: Limits) -> Pace {
        Pace {
            limits,
            per_round: i64::try_from(limits.batch.saturating_mul(10)).unwrap_or(i64::MAX),
            idle: Duration::from_secs(limits.poll_seconds.max(1)),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            pairing_seconds: crate::provision::PAIRING_WINDOW_SECONDS,
            answer_seconds: ANSWER_WINDOW_SECONDS,
        }
    }
}

/// Unix seconds now, from the system clock.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs `tdsp`'s `connector` against `store` until `shutdown` completes (then `Ok`), sending at
/// most `pace.limits.requests_per_second` requests a second: each
/// round sends up to `pace.per_round` queued deliveries, every pending device not yet sent
/// ([`crate::provision`], pairing window `pace.pairing_seconds`) and every on-demand read not
/// yet sent ([`crate::read`]; one unanswered past its expiry fails) and, for the job style,
/// polls the open jobs and the sent devices' and reads' jobs. Rounds follow each other
/// `pace.idle` apart, or at once when new work is stored through this process's repository ([`Store::work`]).
/// Addresses a head-end refuses fail with its reason and the rest go on. While the
/// head-end cannot be reached it waits `pace.backoff`, doubling up to `pace.max_backoff`, and
/// tries again (a SOAP server Fault counts as down). A delivery the head-end accepted and
/// then says nothing of for `pace.answer_seconds` fails as expired, down or not. A request the head-end refuses as
/// written (a SOAP client Fault) or a message the style cannot carry fails its deliveries
/// with the words and the rest go on. Anything else — the repository failing — stops it with
/// that error (its deliveries stay queued, nothing is lost), for the caller to report and
/// restart (hanrig-gateway-server supervises it).
/// `now` gives the time recorded with what is sent.
pub async fn run(
    store: Store,
    tdsp: Tdsp,
    connector: Connector,
    pace: Pace,
    now: impl Fn() -> i64,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ConnectError> {
    // The style's request rate (polls are paced by `pace.idle`).
    let throttle = crate::Throttle::per_second(pace.limits.requests_per_second);
    let client = match connector {
        Connector::Jobs(c) => Client::Jobs(c.with_throttle(throttle)),
        Connector::Cim(c) => Client::Cim(c.with_throttle(throttle)),
        Connector::MultiSpeak(c) => Client::MultiSpeak(c.with_throttle(throttle)),
    };
    tokio::select! {
        () = shutdown => Ok(()),
        r = rounds(&store, tdsp, &client, pace, now) => r,
    }
}

enum Client {
    Jobs(JobsClient),
    Cim(CimClient),
    MultiSpeak(MultiSpeakClient),
}

async fn rounds(
    store: &Store,
    tdsp: Tdsp,
    client: &Client,
    pace: Pace,
    now: impl Fn() -> i64,
) -> Result<(), ConnectError> {
    let mut backoff = pace.backoff;
    let mut work = store.work();
    loop {
        // What is committed from here on wakes the next round early.
        work.borrow_and_update();
        let t = now();
        store
            .expire_unanswered(tdsp, t.saturating_sub(pace.answer_seconds), t)
            .await?;
        let read_expiry = i64::try_from(crate::read::READ_EXPIRY_SECONDS + 60).unwrap_or(i64::MAX);
        store
            .expire_reads(tdsp, t.saturating_sub(read_expiry), t)
            .await?;
        let round = async {
            match client {
                Client::Jobs(c) => {
                    crate::dispatch(store, tdsp, c, &pace.limits, pace.per_round, t).await?;
                    provision::provision_jobs(store, tdsp, c, pace.pairing_seconds, t).await?;
                    read::read_jobs(store, tdsp, c, t).await?;
                    crate::collect(store, tdsp, c, t).await?;
                    provision::collect_provisioning(store, tdsp, c, t).await?;
                    read::collect_reads(store, tdsp, c, t).await
                }
                Client::Cim(c) => {
                    crate::cim::dispatch(store, tdsp, c, &pace.limits, pace.per_round, t).await?;
                    provision::provision_cim(store, tdsp, c, pace.pairing_seconds, t).await?;
                    read::read_cim(store, tdsp, c, t).await
                }
                Client::MultiSpeak(c) => {
                    crate::multispeak::dispatch(store, tdsp, c, &pace.limits, pace.per_round, t)
                        .await?;
                    provision::provision_multispeak(store, tdsp, c, pace.pairing_seconds, t)
                        .await?;
                    read::read_multispeak(store, tdsp, c, t).await
                }
            }
        };
        match round.await {
            Ok(_) => {
                backoff = pace.backoff;
                // The next round at the pace's interval, or as soon as new work is stored.
                tokio::select! {
                    () = tokio::time::sleep(pace.idle) => {}
                    _ = work.changed() => {}
                }
            }
            Err(ConnectError::Transport { .. }) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(pace.max_backoff);
            }
            Err(other) => return Err(other),
        }
    }
}
