//! # hanrig-gateway-server: the gateway service, composed once
//!
//! `hanrig gateway serve` and `hanrig lab up` both describe a [`Gateway`] — its repository,
//! routing table, API listener and TLS, and one [`Link`] per configured TDSP — and
//! [`Gateway::serve`] it: the API over mutual TLS; each TDSP's connector under supervision (a
//! connector that stops with an error is restarted with backoff and never takes the API or
//! the other TDSPs down); each calling-back head-end's results on a listener that only that
//! head-end can reach (mutual TLS with its certificate, [`Callbacks`]). Every TLS listener
//! bounds its clients ([`ListenerLimits`]). [`headends`] reads the `--headends` file into
//! links; [`usage`] ingests the TDSPs' interval files, from a drop directory the service watches.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hanrig_gateway::routing::{HeadEndStyle, Routing, Tdsp};
use hanrig_gateway_api::health::Health;
use hanrig_gateway_api::tls::{ListenerLimits, serve_tls_with};
use hanrig_gateway_connect::{Connector, Pace};
use hanrig_gateway_store::Store;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub mod headends;
pub mod usage;

/// Where a calling-back head-end posts its results: the listener, and the TLS configuration
/// that admits only that head-end ([`hanrig_gateway_api::tls::pinned_server_config`]).
#[derive(Debug)]
pub struct Callbacks {
    /// The bound listener.
    pub listener: TcpListener,
    /// Its TLS: the gateway's certificate, the head-end's required.
    pub tls: Arc<ServerConfig>,
}

/// One TDSP's head-end link.
#[derive(Debug)]
pub struct Link {
    /// The TDSP.
    pub tdsp: Tdsp,
    /// Its connector, of the TDSP's style.
    pub connector: Connector,
    /// For the CIM and MultiSpeak styles (which call back), where results arrive.
    pub callbacks: Option<Callbacks>,
    /// How the connector paces itself.
    pub pace: Pace,
}

/// The gateway service, described.
#[derive(Debug)]
pub struct Gateway {
    /// The repository.
    pub store: Store,
    /// ESIID prefix → TDSP.
    pub routing: Routing,
    /// Where the API listens.
    pub api: TcpListener,
    /// The API's TLS (clients must present a certificate the lab CA signed).
    pub api_tls: Arc<ServerConfig>,
    /// The API's clock, Unix seconds.
    pub clock: fn() -> i64,
    /// One per configured TDSP.
    pub links: Vec<Link>,
    /// What every listener allows its clients.
    pub limits: ListenerLimits,
    /// Where the TDSPs drop their interval files, if anywhere.
    pub usage_drop: Option<usage::DropDirectory>,
    /// Where the Smart Meter Texas-compatible portal API listens, if anywhere
    /// ([`hanrig_gateway_api::smt`]; server TLS, customers sign in with passwords).
    pub portal: Option<Portal>,
}

/// The portal API's listener and its TLS ([`hanrig_gateway_api::tls::public_server_config`]).
#[derive(Debug)]
pub struct Portal {
    /// The bound listener.
    pub listener: TcpListener,
    /// Its TLS: the gateway's certificate, no client certificate asked.
    pub tls: Arc<ServerConfig>,
}

/// How long connectors may take to finish their round when the gateway stops.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// Unix seconds now, from the system clock.
pub fn now() -> i64 {
    hanrig_gateway_connect::unix_now()
}

impl Gateway {
    /// Checks the links: one per TDSP, each of the TDSP's style, callbacks exactly where the
    /// style calls back.
    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for link in &self.links {
            let tdsp = link.tdsp;
            if !seen.insert(tdsp) {
                return Err(format!("{tdsp}: two head-end links"));
            }
            if link.connector.style() != tdsp.style() {
                return Err(format!(
                    "{tdsp}: its head-end speaks the {:?} style, not {:?}",
                    tdsp.style(),
                    link.connector.style()
                ));
            }
            match (tdsp.style(), &link.callbacks) {
                (HeadEndStyle::Jobs, Some(_)) => {
                    return Err(format!(
                        "{tdsp}: a job-style head-end is polled, not called back"
                    ));
                }
                (HeadEndStyle::Cim | HeadEndStyle::MultiSpeak, None) => {
                    return Err(format!(
                        "{tdsp}: a {:?}-style head-end calls back: its link needs a callback listener",
                        tdsp.style()
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Serves until `shutdown` completes (then `Ok`), or until the API's listener fails. A
    /// connector that stops with an error is reported on stderr and restarted after a pause
    /// (its pace's backoff, doubling to its maximum, back to the first after a long healthy
    /// run); its deliveries stay queued meanwhile.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<(), String> {
        self.check()?;
        let Gateway {
            store,
            routing,
            api,
            api_tls,
            clock,
            links,
            limits,
            usage_drop,
            portal,
        } = self;
        let (stop, stopped) = watch::channel(false);
        let health = Health::default();
        let (mut listeners, mut connectors) =
            (tokio::task::JoinSet::new(), tokio::task::JoinSet::new());
        if let Some(Portal { listener, tls }) = portal {
            let app = hanrig_gateway_api::smt::Portal::new(store.clone(), clock).router();
            listeners.spawn(async move {
                let _ = serve_tls_with(listener, app, tls, limits).await;
            });
        }
        if let Some(drop) = usage_drop {
            drop.prepare()?;
            connectors.spawn(drop.watch(store.clone(), routing.clone(), clock, stopped.clone()));
        }
        for link in links {
            let Link {
                tdsp,
                connector,
                callbacks,
                pace,
            } = link;
            if let (Some(Callbacks { listener, tls }), Some(routes)) =
                (callbacks, connector.callbacks(store.clone(), tdsp))
            {
                listeners.spawn(async move {
                    let _ = serve_tls_with(listener, routes, tls, limits).await;
                });
            }
            connectors.spawn(supervise(
                store.clone(),
                tdsp,
                connector,
                pace,
                stopped.clone(),
                health.clone(),
            ));
        }
        let app = hanrig_gateway_api::Api::new(store, routing, clock)
            .with_health(health)
            .secured();
        let outcome = tokio::select! {
            served = serve_tls_with(api, app, api_tls, limits) => {
                served.map_err(|e| format!("the API stopped: {e}"))
            }
            () = shutdown => Ok(()),
        };
        // Connectors finish the round they are in (a few seconds at most), then stop.
        let _ = stop.send(true);
        listeners.abort_all();
        let finished = async { while connectors.join_next().await.is_some() {} };
        if tokio::time::timeout(STOP_GRACE, finished).await.is_err() {
            connectors.abort_all();
        }
        outcome
    }
}

/// Runs `tdsp`'s connector until `stopped`, restarting it after each error:
/// [`restarting`] around [`hanrig_gateway_connect::run`].
async fn supervise(
    store: Store,
    tdsp: Tdsp,
    connector: Connector,
    pace: Pace,
    stopped: watch::Receiver<bool>,
    health: Health,
) {
    restarting(tdsp, pace, stopped, &health, |shutdown| {
        hanrig_gateway_connect::run(
            store.clone(),
            tdsp,
            connector.clone(),
            pace,
            hanrig_gateway_connect::unix_now,
            shutdown,
        )
    })
    .await;
}

/// Runs `start(shutdown)` until it ends well or `stopped` is set; after each error it reports
/// it on stderr and pauses — `pace.backoff` at first, doubling to `pace.max_backoff`, and
/// from the start again after a run that lasted longer than that maximum — then starts it
/// again. Returns how many times it started.
async fn restarting<F, Fut>(
    tdsp: Tdsp,
    pace: Pace,
    mut stopped: watch::Receiver<bool>,
    health: &Health,
    mut start: F,
) -> u32
where
    F: FnMut(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = Result<(), hanrig_gateway_connect::ConnectError>>,
{
    let mut pause = pace.backoff;
    let mut starts = 0;
    loop {
        starts += 1;
        health.update(tdsp.name(), |s| s.running = true);
        let began = tokio::time::Instant::now();
        let mut until = stopped.clone();
        let shutdown = Box::pin(async move {
            let _ = until.wait_for(|s| *s).await;
        });
        let Err(e) = start(shutdown).await else {
            return starts;
        };
        health.update(tdsp.name(), |s| {
            s.running = false;
            s.restarts += 1;
            s.last_error = Some(e.to_string());
        });
        if began.elapsed() > pace.max_backoff {
            pause = pace.backoff;
        }
        eprintln!(
            "hanrig gateway: the {tdsp} connector stopped: {e}; restarting in {:.1} s",
            pause.as_secs_f64()
        );
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stopped.wait_for(|s| *s) => return starts,
        }
        pause = (pause * 2).min(pace.max_backoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hanrig_gateway_connect::ConnectError;

    fn failing(n: u32) -> impl FnMut(u32) -> Result<(), ConnectError> {
        move |run| {
            if run <= n {
                Err(ConnectError::Transport {
                    url: "repository".into(),
                    reason: format!("failure {run}"),
                })
            } else {
                Ok(())
            }
        }
    }

    /// A connector that stops with an error is started again after 1, 2, 4 s … (on a paused
    /// clock: the pauses are the supervisor's, not the machine's).
    #[tokio::test(start_paused = true)]
    async fn a_connector_that_stops_is_restarted_with_doubling_pauses() {
        let pace = Pace::of(hanrig_headend::limits::of(HeadEndStyle::Cim));
        let (_stop, stopped) = watch::channel(false);
        let mut outcome = failing(3);
        let mut run = 0;
        let t0 = tokio::time::Instant::now();
        let health = Health::default();
        let starts = restarting(Tdsp::Oncor, pace, stopped, &health, |_| {
            run += 1;
            std::future::ready(outcome(run))
        })
        .await;
        assert_eq!(starts, 4);
        assert_eq!(t0.elapsed(), Duration::from_secs(1 + 2 + 4));
        let state = &health.states()["oncor"];
        assert_eq!((state.running, state.restarts), (true, 3));
        assert_eq!(
            state.last_error.as_deref(),
            Some("head-end repository: failure 3")
        );
    }

    /// Stopping the gateway ends the pause at once, with no further start.
    #[tokio::test(start_paused = true)]
    async fn a_stop_during_the_pause_ends_the_supervisor() {
        let pace = Pace::of(hanrig_headend::limits::of(HeadEndStyle::Cim));
        let (stop, stopped) = watch::channel(false);
        let mut outcome = failing(u32::MAX);
        let mut run = 0;
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let _ = stop.send(true);
        });
        let health = Health::default();
        let starts = restarting(Tdsp::Oncor, pace, stopped, &health, |_| {
            run += 1;
            std::future::ready(outcome(run))
        })
        .await;
        assert!(
            !health.states()["oncor"].running,
            "stopped while waiting to restart"
        );
        stopper.await.expect("the stopper ran");
        assert_eq!(
            starts, 2,
            "started at 0 s and 1 s, stopped in the 2 s pause"
        );
    }

    /// A gateway whose links contradict the TDSPs' styles is refused before anything is
    /// served, each mistake named.
    #[tokio::test]
    async fn links_that_contradict_the_tdsps_styles_are_refused_naming_the_tdsp() {
        use hanrig_gateway_connect::JobsClient;
        use hanrig_gateway_connect::cim::CimClient;
        let ca = hanrig_gateway_api::pki::LabCa::create().expect("a CA");
        let server = ca.issue_server(&["localhost"]).expect("a certificate");
        let tls = hanrig_gateway_api::tls::server_config(
            ca.cert_pem(),
            &server.cert_pem,
            &server.key_pem,
        )
        .expect("TLS");
        let pace = |style| Pace::of(hanrig_headend::limits::of(style));
        let jobs = |tdsp| Link {
            tdsp,
            connector: Connector::Jobs(JobsClient::new("http://127.0.0.1:1")),
            callbacks: None,
            pace: pace(HeadEndStyle::Jobs),
        };
        let cim = |tdsp, callbacks| Link {
            tdsp,
            connector: Connector::Cim(CimClient::new("http://127.0.0.1:1/", "https://gw/")),
            callbacks,
            pace: pace(HeadEndStyle::Cim),
        };
        let listener = || async {
            Some(Callbacks {
                listener: TcpListener::bind("127.0.0.1:0").await.expect("a port"),
                tls: tls.clone(),
            })
        };
        let cases: Vec<(Vec<Link>, &str)> = vec![
            (
                vec![jobs(Tdsp::Centerpoint), jobs(Tdsp::Centerpoint)],
                "centerpoint: two head-end links",
            ),
            (
                vec![jobs(Tdsp::Oncor)],
                "oncor: its head-end speaks the MultiSpeak style, not Jobs",
            ),
            (
                vec![cim(Tdsp::AepTexasCentral, None)],
                "aep-texas-central: a Cim-style head-end calls back: its link needs a callback listener",
            ),
            (
                vec![Link {
                    callbacks: listener().await,
                    ..jobs(Tdsp::Tnmp)
                }],
                "tnmp: a job-style head-end is polled, not called back",
            ),
        ];
        for (links, says) in cases {
            let gateway = Gateway {
                store: Store::open("sqlite::memory:").await.expect("a store"),
                routing: Routing::texas(),
                api: TcpListener::bind("127.0.0.1:0").await.expect("a port"),
                api_tls: tls.clone(),
                clock: now,
                links,
                limits: ListenerLimits::default(),
                usage_drop: None,
                portal: None,
            };
            assert_eq!(
                gateway.serve(std::future::pending()).await,
                Err(says.into())
            );
        }
        let fine = Gateway {
            store: Store::open("sqlite::memory:").await.expect("a store"),
            routing: Routing::texas(),
            api: TcpListener::bind("127.0.0.1:0").await.expect("a port"),
            api_tls: tls.clone(),
            clock: now,
            links: vec![
                jobs(Tdsp::Centerpoint),
                cim(Tdsp::AepTexasCentral, listener().await),
            ],
            limits: ListenerLimits::default(),
            usage_drop: None,
            portal: None,
        };
        assert_eq!(fine.check(), Ok(()));
    }
}
