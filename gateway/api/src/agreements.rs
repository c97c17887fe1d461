//! Agreements (SMT overview Table 5): a third party invites a customer to an Energy Data
//! Agreement (it may read the meter's usage, once or for 1 to 12 months), an In-Home Device
//! Agreement (it may add and remove devices on the meter) or an In-Home Device Services
//! Agreement (it may send the chosen message types to one device). The customer accepts or
//! rejects through the invitation's links — which carry a secret the third party never sees —
//! or lets it expire after 30 days; the third party may resend it once, and may terminate it.

use axum::extract::State;

use axum::http::StatusCode;
use axum::{Extension, Json};
use hanrig_gateway::access::Permission;
use hanrig_gateway::agreement::{
    AgreementError, AgreementKind, AgreementState, EndReason, MessageTypes, Term,
};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway_store::{AgreementRecord, Invitation};
use hanrig_sep::Eui64;
use serde::{Deserialize, Serialize};

use crate::{Api, ApiError, Caller, ErrorBody, Path, Query, bad, caller};

/// `POST /v1/agreements`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreementRequest {
    /// `energy-data`, `in-home-device` or `in-home-device-services`.
    #[schema(value_type = String, example = "in-home-device-services")]
    pub kind: AgreementKind,
    /// The customer's meter.
    pub esiid: String,
    /// The device (EUI64), for a services agreement.
    #[serde(default)]
    pub device: Option<String>,
    /// Where the invitation goes.
    pub customer_email: String,
    /// For a services agreement: which messages it allows (at least one).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub message_types: Option<MessageTypes>,
    /// For an Energy Data Agreement: 0 for one-time access (it ends with the first read), or
    /// 1 to 12 months from its acceptance.
    #[serde(default)]
    #[schema(minimum = 0, maximum = 12)]
    pub term_months: Option<u8>,
}

/// An agreement as the third party sees it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgreementView {
    /// The agreement.
    pub id: i64,
    /// `energy-data`, `in-home-device` or `in-home-device-services`.
    pub kind: String,
    /// The meter.
    pub esiid: String,
    /// The device, for a services agreement.
    pub device: Option<String>,
    /// Message types a services agreement allows: `text`, `price`, `load-control`.
    pub message_types: Vec<String>,
    /// `invited`, `accepted`, `rejected`, `expired` or `ended`.
    pub state: String,
    /// Whether the one reminder has been sent (invitations).
    pub resent: bool,
    /// When an open invitation expires, Unix seconds.
    pub expires_at: Option<u64>,
    /// Why it ended: `terminated`, `device-removed`, `move-out`, `term-ended` (an Energy Data
    /// Agreement's months are over) or `used` (a one-time one was read).
    pub end_reason: Option<String>,
    /// An Energy Data Agreement's term as invited: 0 (one-time) or 1 to 12 months.
    pub term_months: Option<u8>,
    /// When an accepted Energy Data Agreement ends, Unix seconds: its term from the
    /// acceptance, and any extension the customer gave.
    pub ends_at: Option<i64>,
    /// When it was created, Unix seconds.
    pub created_at: i64,
}

impl AgreementView {
    /// The view of `a` at `now`.
    pub fn of(a: &AgreementRecord, now: i64) -> AgreementView {
        let state = a.state_at(now);
        let t = a.message_types;
        AgreementView {
            id: a.id,
            kind: a.kind.name().into(),
            esiid: a.esiid.to_string(),
            device: a.device.map(|d| d.to_string()),
            message_types: [
                (t.text, "text"),
                (t.price, "price"),
                (t.load_control, "load-control"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n.to_string())
            .collect(),
            state: state.name().into(),
            resent: matches!(state, AgreementState::Invited { resent: true, .. }),
            expires_at: match state {
                AgreementState::Invited { sent, .. } => {
                    Some(sent + hanrig_gateway::agreement::INVITATION_SECONDS)
                }
                _ => None,
            },
            end_reason: match state {
                AgreementState::Ended { reason } => Some(reason.name().into()),
                _ => None,
            },
            term_months: a.term.map(Term::months),
            ends_at: a.ends_at,
            created_at: a.created_at,
        }
    }
}

/// A fresh invitation secret: 128 random bits, hex.
fn token() -> Result<String, ApiError> {
    crate::pki::random_hex(16)
        .ok_or_else(|| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "no randomness".into()))
}

fn conflict(e: hanrig_gateway_store::StoreError) -> ApiError {
    match e {
        hanrig_gateway_store::StoreError::Agreement(a) => {
            ApiError(StatusCode::CONFLICT, a.to_string())
        }
        other => other.into(),
    }
}

/// Invite a customer to an agreement.
#[utoipa::path(
    post,
    path = "/v1/agreements",
    tag = "agreements",
    request_body(content = AgreementRequest, example = json!({
        "kind": "in-home-device-services",
        "esiid": "10443720001234567",
        "device": "00:0d:6f:00:00:00:00:01",
        "customer_email": "customer@example.com",
        "message_types": {"text": true, "price": true, "load_control": false}
    })),
    responses(
        (status = 201, body = AgreementView, description = "Invited; the customer has 30 days to answer"),
        (status = 403, body = ErrorBody, description = "The user lacks the agreements permission"),
        (status = 409, body = ErrorBody, description = "The meter has five device agreements of this kind already"),
        (status = 422, body = ErrorBody, description = "Bad input, named precisely"),
    )
)]
pub async fn invite(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<(StatusCode, Json<AgreementView>), ApiError> {
    let caller = caller(c, Permission::Agreements)?;
    let r: AgreementRequest =
        serde_json::from_value(body).map_err(|e| bad(format!("request body: {e}")))?;
    let esiid: Esiid = r.esiid.parse().map_err(|e| bad(format!("esiid: {e}")))?;
    api.routing
        .route(&esiid)
        .map_err(|e| bad(format!("esiid: {e}")))?;
    let email = r.customer_email.as_str();
    if !email_ok(email) {
        return Err(bad(format!(
            "customer_email {email:?}: not an e-mail address"
        )));
    }
    if r.kind != AgreementKind::EnergyData && r.term_months.is_some() {
        return Err(bad(
            "term_months: only an Energy Data Agreement has a term; device agreements last until ended",
        ));
    }
    let mut term = None;
    let (device, types) = match r.kind {
        AgreementKind::EnergyData => {
            if r.device.is_some() || r.message_types.is_some() {
                return Err(bad(
                    "an Energy Data Agreement covers the meter's usage: give neither device nor message_types",
                ));
            }
            let months = r
                .term_months
                .ok_or_else(|| bad("term_months: 0 for one-time access, or 1 to 12 months"))?;
            term = Some(Term::from_months(months).map_err(|e| bad(format!("term_months: {e}")))?);
            (None, MessageTypes::default())
        }
        AgreementKind::InHomeDevice => {
            if r.device.is_some() || r.message_types.is_some() {
                return Err(bad(
                    "an In-Home Device Agreement covers the meter: give neither device nor message_types",
                ));
            }
            (None, MessageTypes::default())
        }
        AgreementKind::InHomeDeviceServices => {
            let device = r.device.as_deref().ok_or_else(|| {
                bad("device: an In-Home Device Services Agreement is for one device")
            })?;
            let eui: Eui64 = device.parse().map_err(|_| {
                bad(format!(
                    "device {device:?}: 16 hex digits, optionally separated by ':' or '-'"
                ))
            })?;
            let types = r
                .message_types
                .unwrap_or_default()
                .check()
                .map_err(|e| bad(format!("message_types: {e}")))?;
            (Some(eui), types)
        }
    };
    let now = (api.clock)();
    let a = api
        .store
        .invite(
            &Invitation {
                company: &caller.company,
                kind: r.kind,
                esiid: &esiid,
                device,
                message_types: types,
                term,
                customer_email: email,
                token: &token()?,
            },
            now,
        )
        .await
        .map_err(conflict)?;
    Ok((StatusCode::CREATED, Json(AgreementView::of(&a, now))))
}

/// An e-mail address as [`crate::openapi::EMAIL`] says: at most 254 characters, no white
/// space or control character, one `@` with something before it and a domain after it with a dot inside.
pub(crate) fn email_ok(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.chars().count() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.is_empty()
        && !domain.contains('@')
        && domain
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

async fn own(api: &Api, caller: &Caller, id: i64) -> Result<AgreementRecord, ApiError> {
    let a = api.store.agreement(id).await?;
    if a.company != caller.company {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("agreement {id} not found"),
        ));
    }
    Ok(a)
}

/// Moves the caller's company's agreement `id` by `f`; a step its state does not allow is
/// `409`.
async fn step(
    api: &Api,
    c: Option<Extension<Caller>>,
    id: i64,
    f: impl FnOnce(AgreementState, u64) -> Result<AgreementState, AgreementError>,
) -> Result<Json<AgreementView>, ApiError> {
    let caller = caller(c, Permission::Agreements)?;
    own(api, &caller, id).await?;
    let now = (api.clock)();
    let a = api
        .store
        .step_agreement(id, now, f)
        .await
        .map_err(conflict)?;
    Ok(Json(AgreementView::of(&a, now)))
}

/// An agreement of the caller's company.
#[utoipa::path(
    get,
    path = "/v1/agreements/{id}",
    tag = "agreements",
    params(("id" = i64, Path, description = "The agreement")),
    responses(
        (status = 200, body = AgreementView),
        (status = 404, body = ErrorBody, description = "No such agreement of the caller's company"),
    )
)]
pub async fn agreement(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
) -> Result<Json<AgreementView>, ApiError> {
    let caller = caller(c, Permission::Agreements)?;
    let a = own(&api, &caller, id).await?;
    Ok(Json(AgreementView::of(&a, (api.clock)())))
}

/// Which agreements to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgreementQuery {
    /// Only this meter's.
    pub esiid: Option<String>,
    /// Agreements to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Agreements in the page (default and most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// The caller's company's agreements.
#[utoipa::path(
    get,
    path = "/v1/agreements",
    tag = "agreements",
    params(AgreementQuery),
    responses(
        (status = 200, body = Vec<AgreementView>, description = "Oldest first, a page at a time",
         headers(("Link" = String, description = "<…?offset=N>; rel=\"next\" when there is a next page (RFC 8288)"))),
        (status = 422, body = ErrorBody, description = "A bad ESIID, or offset or limit out of range"),
    )
)]
pub async fn agreements(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    uri: axum::http::Uri,
    Query(q): Query<AgreementQuery>,
) -> Result<axum::response::Response, ApiError> {
    let caller = caller(c, Permission::Agreements)?;
    let esiid = q
        .esiid
        .map(|e| e.parse::<Esiid>().map_err(|e| bad(format!("esiid: {e}"))))
        .transpose()?;
    let (offset, limit) = crate::page(q.offset, q.limit)?;
    let now = (api.clock)();
    let items: Vec<AgreementView> = api
        .store
        .agreements_page(&caller.company, esiid.as_ref(), offset, limit + 1)
        .await?
        .iter()
        .map(|a| AgreementView::of(a, now))
        .collect();
    Ok(crate::paged(&uri, offset, limit, items))
}

/// Resend an open invitation, once, as a reminder (the 30 days do not restart).
#[utoipa::path(
    post,
    path = "/v1/agreements/{id}/resend",
    tag = "agreements",
    params(("id" = i64, Path, description = "The agreement")),
    responses(
        (status = 200, body = AgreementView),
        (status = 409, body = ErrorBody, description = "Not an open invitation, or resent already"),
    )
)]
pub async fn resend(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
) -> Result<Json<AgreementView>, ApiError> {
    step(&api, c, id, |s, now| s.resend(now)).await
}

/// Terminate an agreement in force, or withdraw an open invitation.
#[utoipa::path(
    post,
    path = "/v1/agreements/{id}/terminate",
    tag = "agreements",
    params(("id" = i64, Path, description = "The agreement")),
    responses(
        (status = 200, body = AgreementView),
        (status = 409, body = ErrorBody, description = "Already rejected, expired or ended"),
    )
)]
pub async fn terminate(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(id): Path<i64>,
) -> Result<Json<AgreementView>, ApiError> {
    step(&api, c, id, |s, now| s.end(now, EndReason::Terminated)).await
}
