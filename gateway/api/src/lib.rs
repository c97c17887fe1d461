//! # hanrig-gateway-api: the gateway's HTTP API
//!
//! The HAN-message half of the third-party API (SMT overview §7, "HAN APIs"): a message —
//! price, text, load control, or a cancel of an earlier one — to up to 10,000 ESIIDs and
//! devices is checked, planned per TDSP, encoded once as its SE 1.0 command and stored with one
//! delivery row per address **before** the API answers `202`; `GET /v1/messages/{id}` gives
//! its summary and the status of every address. Bad input gets a `4xx` naming the field and
//! what is wrong, and nothing is stored.
//!
//! Who calls: [`tls::serve_tls`] serves the API over mutual TLS, and the credential layer
//! ([`auth`]) maps the client certificate onto a company and the HTTP Basic credentials onto
//! one of its users, putting a [`Caller`] in the request's extensions; a request without one
//! is `401`, one whose user lacks the permission (Table 6) is `403`, and a company reads only
//! its own messages. [`pki`] is the lab CA that issues the certificates; [`client`] calls the
//! API the same way a third party does.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod pki;
pub mod tls;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway::message::{
    Address, LoadControlMessage, PriceMessage, TextMessage, addresses, cluster_of, plan,
};
use hanrig_gateway::routing::Routing;
use hanrig_gateway_store::{NewMessage, Store, StoreError};
use hanrig_sep::{Command, Eui64, ZclFrame};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Who is calling: set by the TLS and credential layer in front of the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The company (from its client certificate).
    pub company: String,
    /// What kind of company it is.
    pub kind: CompanyKind,
    /// The user (from HTTP Basic credentials).
    pub user: String,
    /// What the user may do.
    pub permissions: BTreeSet<Permission>,
}

/// The API's shared state.
#[derive(Debug, Clone)]
pub struct Api {
    store: Store,
    routing: Arc<Routing>,
    clock: fn() -> i64,
    issuer: Arc<AtomicU32>,
}

impl Api {
    /// An API over `store` routing by `routing`, reading the time from `clock` (Unix seconds).
    pub fn new(store: Store, routing: Routing, clock: fn() -> i64) -> Api {
        Api {
            store,
            routing: Arc::new(routing),
            clock,
            issuer: Arc::new(AtomicU32::new(0)),
        }
    }

    /// The next SE message / issuer event ID: never below the current Unix time, always above
    /// the last one given, so that a newer message has a larger ID as SE 1.0 requires.
    fn next_id(&self) -> u32 {
        let now = u32::try_from((self.clock)()).unwrap_or(u32::MAX);
        let mut last = self.issuer.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self
                .issuer
                .compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// The router behind the credential layer: what [`tls::serve_tls`] serves.
    pub fn secured(self) -> Router {
        let auth = auth::Authenticator::new(self.store.clone());
        self.router().layer(axum::middleware::from_fn_with_state(
            auth,
            auth::authenticate,
        ))
    }

    /// The router: every route needs a [`Caller`] extension (see [`Api::secured`]).
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/messages/text", post(text))
            .route("/v1/messages/text/{id}/cancel", post(cancel_text))
            .route("/v1/messages/price", post(price))
            .route("/v1/messages/load-control", post(load_control))
            .route(
                "/v1/messages/load-control/{id}/cancel",
                post(cancel_load_control),
            )
            .route("/v1/messages/load-control/cancel-all", post(cancel_all))
            .route("/v1/messages/{id}", get(message))
            .with_state(self)
    }
}

/// A `4xx`/`5xx` answer: `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(what) => {
                ApiError(StatusCode::NOT_FOUND, format!("{what} not found"))
            }
            other => ApiError(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

fn bad(message: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, message.to_string())
}

/// The caller, if it holds `permission`: `401` without a caller, `403` without the permission.
fn caller(c: Option<Extension<Caller>>, permission: Permission) -> Result<Caller, ApiError> {
    let caller = c.map(|Extension(c)| c).ok_or_else(|| {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "no caller: a client certificate and user credentials are required".into(),
        )
    })?;
    if !caller.permissions.contains(&permission) {
        let why = if caller.kind.allows(permission) {
            "ask an administrator of the company to grant it"
        } else {
            "SMT Table 6 does not give it to this kind of company"
        };
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "user {:?} of {} {:?} lacks the {permission} permission: {why}",
                caller.user, caller.kind, caller.company
            ),
        ));
    }
    Ok(caller)
}

/// Where a message goes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Addressing {
    /// ESIIDs: every device on each meter.
    #[serde(default)]
    pub esiids: Vec<String>,
    /// Devices by EUI64.
    #[serde(default)]
    pub devices: Vec<String>,
}

/// A message request: addresses and the message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request<M> {
    #[serde(flatten)]
    to: Addressing,
    message: M,
}

/// `202 Accepted`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Accepted {
    /// The message, for `GET /v1/messages/{id}`.
    pub id: i64,
    /// The SE message ID or issuer event ID devices see.
    pub se_id: u32,
    /// Addresses accepted (after de-duplication).
    pub addresses: usize,
}

impl Api {
    /// Plans, encodes and stores a message; the common path of every send.
    async fn accept(
        &self,
        caller: &Caller,
        kind: &str,
        request: serde_json::Value,
        to: &[Address],
        command: Command,
        se_id: u32,
    ) -> Result<Response, ApiError> {
        let devices: Vec<Eui64> = to
            .iter()
            .filter_map(|a| match a {
                Address::Device(d) => Some(*d),
                Address::Esiid(_) => None,
            })
            .collect();
        let meters = self.store.meters_of(&devices).await?;
        let deliveries = plan(to, &self.routing, |d| meters.get(&d).cloned()).map_err(bad)?;
        let cluster = cluster_of(&command).ok_or_else(|| bad("not a HAN command"))?;
        let mut frame = [0u8; 127];
        let len = ZclFrame::new(cluster, command, 0)
            .ok_or_else(|| bad("not a HAN command"))?
            .emit(&mut frame)
            .map_err(|e| bad(format!("the message does not fit one frame: {e:?}")))?;
        let body = json!({ "se_id": se_id, "request": request }).to_string();
        let id = self
            .store
            .accept_message(
                &NewMessage {
                    company: &caller.company,
                    kind,
                    request: &body,
                    cluster,
                    command: &frame[..len],
                },
                &deliveries,
                (self.clock)(),
            )
            .await?;
        Ok((
            StatusCode::ACCEPTED,
            Json(Accepted {
                id,
                se_id,
                addresses: deliveries.len(),
            }),
        )
            .into_response())
    }

    /// The message `id`, if the caller's company sent it: its kind, SE ID and addresses.
    async fn own(&self, caller: &Caller, id: i64) -> Result<(String, u32, Vec<Address>), ApiError> {
        let m = self.store.message(id).await?;
        if m.company != caller.company {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!("message {id} not found"),
            ));
        }
        let body: serde_json::Value = serde_json::from_str(&m.request)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
        let se_id = body["se_id"].as_u64().unwrap_or(0) as u32;
        let mut to = Vec::new();
        for d in self.store.deliveries(id).await? {
            to.push(match d.address.parse::<Eui64>() {
                Ok(eui) if d.address.contains(':') => Address::Device(eui),
                _ => Address::Esiid(
                    d.address
                        .parse()
                        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}")))?,
                ),
            });
        }
        Ok((m.kind, se_id, to))
    }
}

fn parse<M: for<'de> Deserialize<'de>>(body: &serde_json::Value) -> Result<Request<M>, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| bad(format!("request body: {e}")))
}

async fn text(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: Request<TextMessage> = parse(&body)?;
    let to = addresses(&r.to.esiids, &r.to.devices).map_err(bad)?;
    let id = api.next_id();
    let command = r.message.command(id).map_err(bad)?;
    api.accept(&caller, "text", body, &to, command, id).await
}

async fn price(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: Request<PriceMessage> = parse(&body)?;
    let to = addresses(&r.to.esiids, &r.to.devices).map_err(bad)?;
    let id = api.next_id();
    let command = r.message.command(id).map_err(bad)?;
    api.accept(&caller, "price", body, &to, command, id).await
}

async fn load_control(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let r: Request<LoadControlMessage> = parse(&body)?;
    let to = addresses(&r.to.esiids, &r.to.devices).map_err(bad)?;
    let id = api.next_id();
    let command = r.message.command(id).map_err(bad)?;
    api.accept(&caller, "load-control", body, &to, command, id)
        .await
}

async fn cancel_text(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let (kind, se_id, to) = api.own(&caller, id).await?;
    if kind != "text" {
        return Err(bad(format!("message {id} is a {kind} message, not text")));
    }
    let body = json!({ "cancel": id });
    api.accept(
        &caller,
        "text-cancel",
        body,
        &to,
        TextMessage::cancel(se_id),
        se_id,
    )
    .await
}

/// `POST /v1/messages/load-control/{id}/cancel` body.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelEvent {
    /// When the cancel takes effect (Unix seconds); now when absent.
    #[serde(default)]
    effective: Option<u64>,
    /// End with the event's randomisation.
    #[serde(default)]
    randomize_end: bool,
}

async fn cancel_load_control(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
    body: Option<Json<serde_json::Value>>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    let options: CancelEvent = match &body {
        Some(Json(v)) => {
            serde_json::from_value(v.clone()).map_err(|e| bad(format!("request body: {e}")))?
        }
        None => CancelEvent::default(),
    };
    let (kind, se_id, to) = api.own(&caller, id).await?;
    if kind != "load-control" {
        return Err(bad(format!(
            "message {id} is a {kind} message, not load control"
        )));
    }
    let original: serde_json::Value =
        serde_json::from_str(&api.store.message(id).await?.request)
            .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let event: Request<LoadControlMessage> = parse(&original["request"])?;
    let command = event
        .message
        .cancel(se_id, options.effective, options.randomize_end)
        .map_err(bad)?;
    let record = json!({ "cancel": id, "effective": options.effective, "randomize_end": options.randomize_end });
    api.accept(&caller, "load-control-cancel", record, &to, command, se_id)
        .await
}

async fn cancel_all(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Json(body): Json<serde_json::Value>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::SendMessages)?;
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct All {
        #[serde(flatten)]
        to: Addressing,
        #[serde(default)]
        randomize_end: bool,
    }
    let r: All =
        serde_json::from_value(body.clone()).map_err(|e| bad(format!("request body: {e}")))?;
    let to = addresses(&r.to.esiids, &r.to.devices).map_err(bad)?;
    let id = api.next_id();
    api.accept(
        &caller,
        "load-control-cancel-all",
        body,
        &to,
        LoadControlMessage::cancel_all(r.randomize_end),
        id,
    )
    .await
}

async fn message(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::ViewMessages)?;
    let m = api.store.message(id).await?;
    if m.company != caller.company {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("message {id} not found"),
        ));
    }
    let s = api.store.summary(id).await?;
    let addresses: Vec<serde_json::Value> = api
        .store
        .deliveries(id)
        .await?
        .into_iter()
        .map(|d| {
            json!({
                "address": d.address,
                "tdsp": d.tdsp.name(),
                "status": d.status.name(),
                "detail": d.detail,
            })
        })
        .collect();
    Ok(Json(json!({
        "id": id,
        "kind": m.kind,
        "created_at": m.created_at,
        "summary": {
            "total": s.total,
            "queued": s.queued,
            "sent": s.sent,
            "delivered": s.delivered,
            "device-acknowledged": s.device_acknowledged,
            "failed": s.failed,
        },
        "addresses": addresses,
    }))
    .into_response())
}
