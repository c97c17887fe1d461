//! # hanrig-gateway-api: the gateway's HTTP API
//!
//! The third-party API (SMT overview §7, "HAN APIs"; Table 6):
//!
//! - [`messages`]: a message — price, text, load control, or a cancel of an earlier one — to up
//!   to 10,000 ESIIDs and devices is checked against the caller's agreements, planned per
//!   TDSP, encoded once as its SE 1.0 command and stored with one delivery row per address
//!   **before** the API answers `202`; its summary and every address's status; the history
//!   and the message-log report;
//! - [`agreements`]: In-Home Device and In-Home Device Services agreements by invitation;
//! - [`devices`]: add (provisioned through the TDSP's head-end), read, list, remove;
//! - [`reports`]: statistics for TDSPs and the regulator;
//! - [`audit`]: every call recorded, read by the regulator and by TDSPs within their
//!   territory;
//! - [`idempotency`]: `Idempotency-Key` on the POSTs that create a message;
//! - `GET /openapi.json`: the OpenAPI 3.1 document, built with the routes;
//! - [`health`]: `GET /healthz` and `GET /metrics` for operators;
//! - [`smt`]: apart from the above, on its own listener, the Smart Meter Texas-compatible
//!   portal API for residential customers (their meters and 15-minute data).
//!
//! Bad input gets a `4xx` naming the field and what is wrong, and nothing is stored.
//!
//! Who calls: [`tls::serve_tls`] serves the API over mutual TLS, and the credential layer
//! ([`auth`]) maps the client certificate onto a company and the HTTP Basic credentials onto
//! one of its users, putting a [`Caller`] in the request's extensions; a request without one
//! is `401`, one whose user lacks the permission (Table 6) is `403`, and a company reads only
//! its own messages. [`pki`] is the lab CA that issues the certificates; [`client`] calls the
//! API the same way a third party does.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agreements;
pub mod audit;
pub mod auth;
pub mod client;
pub mod devices;
pub mod health;
pub mod idempotency;
pub mod limits;
pub mod messages;
pub mod openapi;
pub mod pki;
pub mod reports;
pub mod smt;
pub mod tls;
pub mod usage;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway::routing::Routing;
use hanrig_gateway_store::{Store, StoreError};
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
    /// For a TDSP company, the TDSP whose territory it sees (SMT BR-028.024); `None` for the
    /// other kinds — and a TDSP company without one sees no meter.
    pub territory: Option<hanrig_gateway::routing::Tdsp>,
}

/// The API's shared state.
#[derive(Debug, Clone)]
pub struct Api {
    pub(crate) store: Store,
    pub(crate) routing: Arc<Routing>,
    pub(crate) clock: fn() -> i64,
    pub(crate) health: health::Health,
    pub(crate) limiter: limits::Limiter,
}

impl Api {
    /// An API over `store` routing by `routing`, reading the time from `clock` (Unix seconds).
    pub fn new(store: Store, routing: Routing, clock: fn() -> i64) -> Api {
        Api {
            store,
            routing: Arc::new(routing),
            clock,
            health: health::Health::default(),
            limiter: limits::Limiter::new(limits::RateLimit::default()),
        }
    }

    /// The same API, limiting each company to `limit` ([`limits`]).
    pub fn with_rate_limit(mut self, limit: limits::RateLimit) -> Api {
        self.limiter = limits::Limiter::new(limit);
        self
    }

    /// The same API, reporting the connectors' states of `health` at `/healthz` and
    /// `/metrics`.
    pub fn with_health(mut self, health: health::Health) -> Api {
        self.health = health;
        self
    }

    /// `GET /healthz` and `GET /metrics` ([`health`]): no user needed.
    fn operations(&self) -> Router {
        Router::new()
            .route("/healthz", axum::routing::get(health::healthz))
            .route("/metrics", axum::routing::get(health::metrics))
            .with_state(self.clone())
    }

    /// The next SE message / issuer event ID: never below the current Unix time, always above
    /// the last one given — kept in the repository, so across restarts too — so that a newer
    /// message has a larger ID as SE 1.0 requires.
    pub(crate) async fn next_id(&self) -> Result<u32, ApiError> {
        Ok(self.store.next_issuer_id((self.clock)()).await?)
    }

    /// The router behind the credential layer: what [`tls::serve_tls`] serves. The OpenAPI
    /// document, `/healthz` and `/metrics` need only the TLS client certificate, no user.
    pub fn secured(self) -> Router {
        let auth = auth::Authenticator::new(self.store.clone(), self.clock);
        let operations = self.operations();
        let limiter = self.limiter.clone();
        let api = self.clone();
        let (router, doc) = self.parts();
        with_document(
            router
                .layer(axum::middleware::from_fn_with_state(limiter, limits::limit))
                .layer(axum::middleware::from_fn_with_state(api, audit::audit))
                .layer(axum::middleware::from_fn_with_state(
                    auth,
                    auth::authenticate,
                ))
                .merge(operations),
            doc,
        )
    }

    /// The routes and the OpenAPI document that describes them, built together so that the
    /// one cannot name an operation the other lacks, and finished by [`openapi::finish`].
    fn parts(self) -> (Router, serde_json::Value) {
        use utoipa::OpenApi;
        use utoipa_axum::{router::OpenApiRouter, routes};
        let routing = self.routing.clone();
        let (router, doc) = OpenApiRouter::with_openapi(Doc::openapi())
            .routes(routes!(messages::text))
            .routes(routes!(messages::cancel_text))
            .routes(routes!(messages::price))
            .routes(routes!(messages::load_control))
            .routes(routes!(messages::cancel_load_control))
            .routes(routes!(messages::cancel_all))
            .routes(routes!(messages::message))
            .routes(routes!(messages::enrollment_group))
            .routes(routes!(messages::history))
            .routes(routes!(messages::message_log))
            .routes(routes!(reports::statistics))
            .routes(routes!(audit::calls))
            .routes(routes!(agreements::invite, agreements::agreements))
            .routes(routes!(agreements::agreement))
            .routes(routes!(agreements::resend))
            .routes(routes!(agreements::terminate))
            .routes(routes!(devices::add, devices::devices))
            .routes(routes!(devices::device))
            .routes(routes!(devices::remove))
            .routes(routes!(usage::intervals))
            .routes(routes!(usage::daily))
            .routes(routes!(usage::monthly))
            .routes(routes!(usage::request_odr))
            .routes(routes!(usage::odr_status))
            .with_state(self)
            .split_for_parts();
        (router, openapi::finish(doc, &routing))
    }

    /// The router: every route needs a [`Caller`] extension (see [`Api::secured`]), except
    /// `GET /openapi.json` (the API's OpenAPI 3.1 document), `/healthz` and `/metrics`.
    pub fn router(self) -> Router {
        let operations = self.operations();
        let limiter = self.limiter.clone();
        let api = self.clone();
        let (router, doc) = self.parts();
        let router = router
            .layer(axum::middleware::from_fn_with_state(limiter, limits::limit))
            .layer(axum::middleware::from_fn_with_state(api, audit::audit));
        with_document(router.merge(operations), doc)
    }

    /// The API's OpenAPI 3.1 document.
    pub fn openapi(self) -> serde_json::Value {
        self.parts().1
    }
}

/// `router` and `GET /openapi.json` serving `doc`.
///
/// Unknown paths are answered like every other refusal, pointing at the document.
fn with_document(router: Router, doc: serde_json::Value) -> Router {
    let doc = Arc::new(doc);
    router
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let doc = doc.clone();
                async move { Json(doc.as_ref().clone()) }
            }),
        )
        .fallback(
            |method: axum::http::Method, uri: axum::http::Uri| async move {
                ApiError(
                    StatusCode::NOT_FOUND,
                    format!(
                        "no endpoint {method} {}: /openapi.json lists them",
                        uri.path()
                    ),
                )
            },
        )
}

/// The document's frame: what every operation shares.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "hanrig HAN gateway API",
        description = "Third parties' HAN API (SMT overview §7): price, text and load-control messages to up to 10,000 ESIIDs and in-home devices per request, their status per address. Every connection presents a client certificate issued to the company (mutual TLS); every request carries the HTTP Basic credentials of one of the company's users. Each company may make 20 requests a second, in bursts of 40; a request over that is answered 429 with Retry-After (seconds).",
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "messages", description = "HAN messages: price, text, load control, their cancels and their status"),
        (name = "agreements", description = "Energy Data, In-Home Device and In-Home Device Services agreements, by invitation"),
        (name = "devices", description = "In-home devices: add (provisioned through the TDSP's head-end), read, remove"),
        (name = "reports", description = "Counts for TDSPs and the regulator"),
        (name = "usage", description = "Meters' 15-minute usage, daily register reads and monthly billing reads, under Energy Data Agreements"),
    )
)]
struct Doc;

/// Adds the two security schemes every operation requires together.
struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{
            Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_certificate",
            SecurityScheme::MutualTls {
                description: Some("A client certificate the gateway issued to the company".into()),
                extensions: None,
            },
        );
        components.add_security_scheme(
            "user",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        doc.security = Some(vec![
            SecurityRequirement::new("client_certificate", Vec::<String>::new())
                .add("user", Vec::<String>::new()),
        ]);
    }
}

/// A refusal: what is wrong, precisely.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong.
    pub error: String,
}

/// A JSON request body; one that is not JSON (or not sent as `application/json`) is a `4xx`
/// with the same `{"error": …}` shape as every other refusal.
#[derive(Debug)]
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<serde_json::Value>::from_request(request, state).await {
            Ok(Json(mut value)) => {
                integral(&mut value);
                Ok(JsonBody(value))
            }
            Err(rejection) => Err(ApiError(
                rejection.status(),
                format!("request body: {}", rejection.body_text()),
            )),
        }
    }
}

/// Path parameters (axum's `Path`); one that does not parse is a `400` with the same
/// `{"error": …}` shape as every other refusal.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for Path<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(t)) => Ok(Path(t)),
            Err(rejection) => Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("path: {}", rejection.body_text()),
            )),
        }
    }
}

/// Query parameters (axum's `Query`); a query that does not parse is a `400` with the same
/// `{"error": …}` shape as every other refusal.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
    for Query<T>
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(t)) => Ok(Query(t)),
            Err(rejection) => Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("query: {}", rejection.body_text()),
            )),
        }
    }
}

/// Numbers written with a fraction of zero (`60.0`) become the integers they are, as JSON
/// Schema counts them, so that an integer field takes them.
pub(crate) fn integral(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0) {
                // Within ±2^63 the conversion is exact for every float with no fraction.
                if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                    *value = Value::from(f as u64);
                } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral),
        Value::Object(fields) => fields.values_mut().for_each(integral),
        _ => {}
    }
}

/// The most items a page of a list holds, and how many it holds unless `limit` says fewer.
pub const PAGE: i64 = 1000;

/// A period and a page of a list: from `from` to before `until` (Unix seconds), `limit`
/// items after `offset`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodPage {
    /// From (Unix seconds, inclusive); the beginning when absent.
    pub from: Option<i64>,
    /// Until (Unix seconds, exclusive); the end when absent.
    pub until: Option<i64>,
    /// Items to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Items in the page (default and most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

impl PeriodPage {
    /// The period's bounds ([`period`]).
    pub(crate) fn period(&self) -> (i64, i64) {
        period(self.from, self.until)
    }
}

/// A period's bounds, the beginning and the end when absent; a `from` not before `until` is
/// an empty period.
pub(crate) fn period(from: Option<i64>, until: Option<i64>) -> (i64, i64) {
    (from.unwrap_or(0), until.unwrap_or(i64::MAX))
}

/// A list's `offset` and `limit` (default [`PAGE`]), checked.
pub(crate) fn page(offset: Option<i64>, limit: Option<i64>) -> Result<(i64, i64), ApiError> {
    let (offset, limit) = (offset.unwrap_or(0), limit.unwrap_or(PAGE));
    if offset < 0 || !(1..=PAGE).contains(&limit) {
        return Err(bad(format!(
            "offset must be at least 0 and limit from 1 to {PAGE} (offset {offset}, limit {limit})"
        )));
    }
    Ok((offset, limit))
}

/// `items` (fetched `limit + 1` at `offset`) as a JSON list of at most `limit`, with a
/// `Link: <…>; rel="next"` header (RFC 8288) naming the next page when there is one.
pub(crate) fn paged<T: Serialize>(
    uri: &axum::http::Uri,
    offset: i64,
    limit: i64,
    mut items: Vec<T>,
) -> Response {
    let more = items.len() as i64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let mut response = Json(items).into_response();
    if more {
        let mut query: Vec<String> = uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("offset="))
            .map(String::from)
            .collect();
        query.push(format!("offset={}", offset + limit));
        let link = format!("<{}?{}>; rel=\"next\"", uri.path(), query.join("&"));
        if let Ok(value) = axum::http::HeaderValue::from_str(&link) {
            response
                .headers_mut()
                .insert(axum::http::header::LINK, value);
        }
    }
    response
}

/// A `4xx`/`5xx` answer: `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

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

pub(crate) fn bad(message: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::UNPROCESSABLE_ENTITY, message.to_string())
}

/// The caller, if it holds `permission`: `401` without a caller, `403` without the permission.
pub(crate) fn caller(
    c: Option<Extension<Caller>>,
    permission: Permission,
) -> Result<Caller, ApiError> {
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
