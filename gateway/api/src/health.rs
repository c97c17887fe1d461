//! Operations: `GET /healthz` and `GET /metrics` (Prometheus text exposition format 0.0.4).
//! They need the TLS client certificate only (no user) and show counts and states, no customer
//! data: whether the repository answers, each TDSP connector's state (running, or waiting to
//! restart after an error, and how often it restarted), queue depths and deliveries and devices
//! by state per TDSP.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::Api;

/// One TDSP connector's state, as its supervisor reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkState {
    /// Running (`false`: waiting to restart after an error).
    pub running: bool,
    /// Restarts since the gateway started.
    pub restarts: u64,
    /// The error it last stopped with.
    pub last_error: Option<String>,
}

/// The connectors' states, shared between their supervisors and the API. Clones share.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<String, LinkState>>>);

impl Health {
    /// Changes `tdsp`'s state with `change`.
    pub fn update(&self, tdsp: &str, change: impl FnOnce(&mut LinkState)) {
        let mut states = self.0.lock().unwrap_or_else(|p| p.into_inner());
        change(states.entry(tdsp.to_string()).or_default());
    }

    /// Every connector's state, by TDSP.
    pub fn states(&self) -> BTreeMap<String, LinkState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[derive(Serialize)]
struct HealthView {
    /// `ok`, `degraded` (a connector waits to restart) or `down` (the repository fails).
    status: &'static str,
    repository: String,
    connectors: BTreeMap<String, LinkState>,
}

/// `GET /healthz`: 200 while the repository answers (status `ok`, or `degraded` while a
/// connector waits to restart), 503 when it does not.
pub(crate) async fn healthz(State(api): State<Api>) -> Response {
    let connectors = api.health.states();
    match api.store.statistics().await {
        Ok(_) => {
            let status = if connectors.values().all(|c| c.running) {
                "ok"
            } else {
                "degraded"
            };
            let view = HealthView {
                status,
                repository: "ok".into(),
                connectors,
            };
            (StatusCode::OK, Json(view)).into_response()
        }
        Err(e) => {
            let view = HealthView {
                status: "down",
                repository: e.to_string(),
                connectors,
            };
            (StatusCode::SERVICE_UNAVAILABLE, Json(view)).into_response()
        }
    }
}

/// `GET /metrics`: the Prometheus text format.
pub(crate) async fn metrics(State(api): State<Api>) -> Response {
    let stats = match api.store.statistics().await {
        Ok(s) => s,
        Err(e) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the repository fails: {e}\n"),
            )
                .into_response();
        }
    };
    let mut out = String::new();
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    let states = api.health.states();
    family(
        &mut out,
        "hanrig_connector_up",
        "gauge",
        "Whether the TDSP's connector runs (1) or waits to restart after an error (0).",
    );
    for (tdsp, s) in &states {
        let _ = writeln!(
            out,
            "hanrig_connector_up{{tdsp=\"{tdsp}\"}} {}",
            u8::from(s.running)
        );
    }
    family(
        &mut out,
        "hanrig_connector_restarts_total",
        "counter",
        "Restarts of the TDSP's connector since the gateway started.",
    );
    for (tdsp, s) in &states {
        let _ = writeln!(
            out,
            "hanrig_connector_restarts_total{{tdsp=\"{tdsp}\"}} {}",
            s.restarts
        );
    }
    family(
        &mut out,
        "hanrig_deliveries",
        "gauge",
        "HAN message deliveries by TDSP and status (queued is the connector's queue depth).",
    );
    for (tdsp, t) in &stats.tdsps {
        for (status, n) in &t.deliveries {
            let _ = writeln!(
                out,
                "hanrig_deliveries{{tdsp=\"{tdsp}\",status=\"{status}\"}} {n}"
            );
        }
    }
    family(
        &mut out,
        "hanrig_devices",
        "gauge",
        "In-home devices by TDSP and state.",
    );
    for (tdsp, t) in &stats.tdsps {
        for (state, n) in &t.devices {
            let _ = writeln!(
                out,
                "hanrig_devices{{tdsp=\"{tdsp}\",state=\"{state}\"}} {n}"
            );
        }
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}
