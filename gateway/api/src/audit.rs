//! The audit log (SMT seed Table 11: activity is logged and reviewable): every API call —
//! who (the client certificate's company and the user name given), what (method and path)
//! and the answer's status — is recorded, refusals by the credential layer included; each
//! call that reaches a TDSP's territory (a message's deliveries, a device's meter) is tagged
//! with it.
//!
//! `GET /v1/audit` (the statistics permission): the regulator reads every call, a TDSP
//! company its own and those that touched its territory.

use axum::extract::{Request, State};

use axum::Extension;
use axum::middleware::Next;
use axum::response::Response;
use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_store::{AuditEntry, Store};
use serde::{Deserialize, Serialize};

use crate::{Api, ApiError, Caller, ErrorBody, Query, caller};

/// The TDSPs' territories a call touched: a handler puts it in its response's extensions.
#[derive(Debug, Clone, Default)]
pub struct Touched(pub Vec<Tdsp>);

/// Records `entry`; an audit log that cannot be written is reported on standard error, and
/// the call's answer (already made) stands.
pub(crate) async fn record(store: &Store, entry: AuditEntry) {
    if let Err(e) = store.record_call(&entry).await {
        eprintln!(
            "audit: could not record {} {} by {:?}/{:?} ({}): {e}",
            entry.method, entry.path, entry.company, entry.user, entry.status
        );
    }
}

/// Middleware: records the call, with the [`Caller`] the credential layer established.
pub async fn audit(State(api): State<Api>, request: Request, next: Next) -> Response {
    let who = request.extensions().get::<Caller>().cloned();
    let (method, path) = (
        request.method().to_string(),
        request.uri().path().to_string(),
    );
    let response = next.run(request).await;
    let tdsps = response
        .extensions()
        .get::<Touched>()
        .map(|t| {
            let mut t = t.0.clone();
            t.sort_by_key(|t| t.name());
            t.dedup();
            t
        })
        .unwrap_or_default();
    let (company, user) = who.map(|c| (c.company, c.user)).unwrap_or_default();
    record(
        &api.store,
        AuditEntry {
            at: (api.clock)(),
            company,
            user,
            method,
            path,
            status: response.status().as_u16(),
            tdsps,
        },
    )
    .await;
    response
}

/// One call.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditLine {
    /// When, Unix seconds.
    pub at: i64,
    /// The company whose client certificate made it (empty: a certificate the gateway does
    /// not know).
    pub company: String,
    /// The user name it gave (empty: none).
    pub user: String,
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The answer's status code.
    pub status: u16,
    /// The TDSPs whose territory it touched.
    pub tdsps: Vec<String>,
}

/// The audit log: every API call for the regulator; for a TDSP, its own calls and those that
/// touched its territory.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "reports",
    params(crate::PeriodPage),
    responses(
        (status = 200, body = Vec<AuditLine>, description = "Oldest first, a page at a time",
         headers(("Link" = String, description = "<…?offset=N>; rel=\"next\" when there is a next page (RFC 8288)"))),
        (status = 403, body = ErrorBody, description = "The user lacks the statistics permission (TDSPs and the regulator hold it)"),
        (status = 422, body = ErrorBody, description = "offset or limit out of range"),
    )
)]
pub async fn calls(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    uri: axum::http::Uri,
    Query(q): Query<crate::PeriodPage>,
) -> Result<axum::response::Response, ApiError> {
    let caller = caller(c, Permission::Statistics)?;
    let (from, until) = q.period();
    let (offset, limit) = crate::page(q.offset, q.limit)?;
    let scope = match caller.kind {
        CompanyKind::Regulatory => None,
        // A TDSP company without a territory sees its own calls only.
        _ => Some((caller.company.as_str(), caller.territory)),
    };
    let entries = api
        .store
        .audit(from, until, scope, offset, limit + 1)
        .await?;
    let lines: Vec<AuditLine> = entries
        .into_iter()
        .map(|e| AuditLine {
            at: e.at,
            company: e.company,
            user: e.user,
            method: e.method,
            path: e.path,
            status: e.status,
            tdsps: e.tdsps.iter().map(|t| t.name().to_string()).collect(),
        })
        .collect();
    Ok(crate::paged(&uri, offset, limit, lines))
}
