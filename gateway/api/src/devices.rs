//! In-home devices: a third party with an In-Home Device Agreement in force on the meter (or
//! the TDSP) adds a device — ESIID, EUI64, install code with its CRC checked, type,
//! description — which then waits, pending, for the TDSP's head-end to provision it
//! (provisioned, or failed with the head-end's reason); removal takes a reason from a fixed
//! list and ends the agreements that concern the device. Every request is in the device's
//! history, refused ones included.

use axum::extract::State;

use axum::http::StatusCode;
use axum::{Extension, Json};
use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway::agreement::{AgreementKind, EndReason};
use hanrig_gateway::device::{DeviceError, DeviceRequest, DeviceState, DeviceType, RemovalReason};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway_store::{DeviceRecord, StoreError};
use hanrig_sep::Eui64;
use serde::{Deserialize, Serialize};

use crate::audit::Touched;
use crate::{Api, ApiError, Caller, ErrorBody, Path, Query, bad, caller};

/// `POST /v1/devices`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    /// The meter.
    pub esiid: String,
    /// The device's EUI64.
    pub eui64: String,
    /// Its install code: 6, 8, 12 or 16 bytes and the 2-byte CRC, hex.
    pub install_code: String,
    /// `in-home-display`, `thermostat`, `load-control`, `smart-appliance` or `range-extender`.
    #[schema(example = "thermostat")]
    pub device_type: DeviceType,
    /// A description, at most 64 characters.
    #[serde(default)]
    pub description: String,
}

/// `POST /v1/devices/{eui64}/remove`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveDevice {
    /// `customer-request`, `device-replaced`, `device-failed`, `move-out` or `service-ended`.
    #[schema(example = "customer-request")]
    pub reason: RemovalReason,
}

/// One line of a device's history.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryLine {
    /// When, Unix seconds.
    pub at: i64,
    /// `requested`, `refused`, `pending`, `provisioned`, `failed` or `removed`.
    pub event: String,
    /// Details: the reason, the device type.
    pub detail: String,
}

/// A device.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceView {
    /// The device's EUI64.
    pub eui64: String,
    /// The meter.
    pub esiid: String,
    /// The TDSP whose head-end provisions it.
    pub tdsp: String,
    /// Its type.
    pub device_type: String,
    /// Its description.
    pub description: String,
    /// `pending`, `provisioned`, `failed` or `removed`.
    pub state: String,
    /// Why it failed or was removed.
    pub reason: Option<String>,
    /// Last change, Unix seconds.
    pub updated_at: i64,
    /// Every request and change, refused requests included (single-device reads only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryLine>,
}

impl DeviceView {
    fn of(d: &DeviceRecord) -> DeviceView {
        let (state, reason) = match &d.state {
            DeviceState::Pending => ("pending", None),
            DeviceState::Provisioned => ("provisioned", None),
            DeviceState::Failed { reason } => ("failed", Some(reason.clone())),
            DeviceState::Removed { reason } => (
                "removed",
                serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from)),
            ),
        };
        DeviceView {
            eui64: d.eui64.to_string(),
            esiid: d.esiid.to_string(),
            tdsp: d.tdsp.name().to_string(),
            device_type: d.device_type.clone(),
            description: d.description.clone(),
            state: state.into(),
            reason,
            updated_at: d.updated_at,
            history: Vec::new(),
        }
    }
}

fn third_party(caller: &Caller) -> bool {
    matches!(caller.kind, CompanyKind::ThirdParty | CompanyKind::Rep)
}

/// Whether `caller` may see `d`: the company that asked for it, or the TDSP whose territory
/// its meter is in (SMT BR-028.024).
fn visible(caller: &Caller, d: &DeviceRecord) -> bool {
    d.company == caller.company
        || (caller.kind == CompanyKind::Tdsp && caller.territory == Some(d.tdsp))
}

/// A third party needs an In-Home Device Agreement in force on the meter; a TDSP, the meter
/// in its territory.
async fn may_manage(api: &Api, caller: &Caller, esiid: &Esiid) -> Result<(), ApiError> {
    if caller.kind == CompanyKind::Tdsp {
        let tdsp = api.routing.route(esiid).ok();
        if tdsp.is_none() || tdsp != caller.territory {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                format!(
                    "ESIID {esiid} is not in {:?}'s territory (SMT BR-028.024)",
                    caller.company
                ),
            ));
        }
    }
    if third_party(caller)
        && !api
            .store
            .may_manage_devices(&caller.company, esiid, (api.clock)())
            .await?
    {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "{:?} holds no In-Home Device Agreement in force on ESIID {esiid}: invite the customer first (POST /v1/agreements)",
                caller.company
            ),
        ));
    }
    Ok(())
}

fn eui(text: &str) -> Result<Eui64, ApiError> {
    text.parse().map_err(|_| {
        bad(format!(
            "EUI64 {text:?}: 16 hex digits, optionally separated by ':' or '-'"
        ))
    })
}

/// Add a device to a meter's HAN; the TDSP's head-end provisions it.
#[utoipa::path(
    post,
    path = "/v1/devices",
    tag = "devices",
    request_body(content = AddDevice, example = json!({
        "esiid": "10443720001234567",
        "eui64": "00:0d:6f:00:00:00:00:02",
        "install_code": "83FED3407A939723A5C639B26916D505C3B5",
        "device_type": "thermostat",
        "description": "hallway thermostat"
    })),
    responses(
        (status = 202, body = DeviceView, description = "Pending: the head-end will provision it"),
        (status = 403, body = ErrorBody, description = "No In-Home Device Agreement in force, a meter outside the TDSP caller's territory, or the user lacks the devices permission"),
        (status = 409, body = ErrorBody, description = "The meter has five devices, or the device is active already (kept in the history)"),
        (status = 422, body = ErrorBody, description = "Bad ESIID, EUI64, install code (CRC) or description"),
    )
)]
pub async fn add(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<(StatusCode, Extension<Touched>, Json<DeviceView>), ApiError> {
    let caller = caller(c, Permission::Devices)?;
    let r: AddDevice =
        serde_json::from_value(body).map_err(|e| bad(format!("request body: {e}")))?;
    let request = DeviceRequest::new(
        &r.esiid,
        &r.eui64,
        &r.install_code,
        r.device_type,
        &r.description,
    )
    .map_err(bad)?;
    let tdsp = api
        .routing
        .route(&request.esiid)
        .map_err(|e| bad(format!("esiid: {e}")))?;
    may_manage(&api, &caller, &request.esiid).await?;
    let device_type = serde_json::to_value(r.device_type)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let d = api
        .store
        .add_device_for(&caller.company, &request, &device_type, tdsp, (api.clock)())
        .await
        .map_err(|e| match e {
            StoreError::Device(e @ (DeviceError::MeterFull { .. } | DeviceError::Duplicate(_))) => {
                ApiError(StatusCode::CONFLICT, e.to_string())
            }
            other => other.into(),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Extension(Touched(vec![tdsp])),
        Json(DeviceView::of(&d)),
    ))
}

/// A device, with its history.
#[utoipa::path(
    get,
    path = "/v1/devices/{eui64}",
    tag = "devices",
    params(("eui64" = String, Path, description = "The device's EUI64")),
    responses(
        (status = 200, body = DeviceView),
        (status = 404, body = ErrorBody, description = "No such device the caller may see"),
    )
)]
pub async fn device(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(eui64): Path<String>,
) -> Result<Json<DeviceView>, ApiError> {
    let caller = caller(c, Permission::ViewDevices)?;
    let eui = eui(&eui64)?;
    let d = api.store.device_by_eui(eui).await?;
    if !visible(&caller, &d) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("device {eui} not found"),
        ));
    }
    let mut view = DeviceView::of(&d);
    view.history = api
        .store
        .device_history_of(eui)
        .await?
        .into_iter()
        .map(|h| HistoryLine {
            at: h.at,
            event: h.event,
            detail: h.detail,
        })
        .collect();
    Ok(Json(view))
}

/// Which devices to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeviceQuery {
    /// The meter.
    pub esiid: String,
}

/// A meter's devices the caller may see, removed ones included.
#[utoipa::path(
    get,
    path = "/v1/devices",
    tag = "devices",
    params(DeviceQuery),
    responses((status = 200, body = Vec<DeviceView>), (status = 422, body = ErrorBody))
)]
pub async fn devices(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<Vec<DeviceView>>, ApiError> {
    let caller = caller(c, Permission::ViewDevices)?;
    let esiid: Esiid = q.esiid.parse().map_err(|e| bad(format!("esiid: {e}")))?;
    Ok(Json(
        api.store
            .devices_of(&esiid)
            .await?
            .iter()
            .filter(|d| visible(&caller, d))
            .map(DeviceView::of)
            .collect(),
    ))
}

/// Remove a device with a reason; the agreements that concern it end.
#[utoipa::path(
    post,
    path = "/v1/devices/{eui64}/remove",
    tag = "devices",
    params(("eui64" = String, Path, description = "The device's EUI64")),
    request_body(content = RemoveDevice, example = json!({"reason": "customer-request"})),
    responses(
        (status = 200, body = DeviceView, description = "Removed"),
        (status = 403, body = ErrorBody, description = "No In-Home Device Agreement in force on its meter, or a third party giving the reason move-out (a market event only the TDSP reports)"),
        (status = 404, body = ErrorBody, description = "No such device the caller may see"),
        (status = 409, body = ErrorBody, description = "Removed already"),
        (status = 422, body = ErrorBody, description = "Not a reason of the list"),
    )
)]
pub async fn remove(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(eui64): Path<String>,
    crate::JsonBody(body): crate::JsonBody,
) -> Result<(Extension<Touched>, Json<DeviceView>), ApiError> {
    let caller = caller(c, Permission::Devices)?;
    let eui = eui(&eui64)?;
    let r: RemoveDevice =
        serde_json::from_value(body).map_err(|e| bad(format!("request body: {e}")))?;
    let d = api.store.device_by_eui(eui).await?;
    if !visible(&caller, &d) {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("device {eui} not found"),
        ));
    }
    if matches!(d.state, DeviceState::Removed { .. }) {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("device {eui} is removed already"),
        ));
    }
    may_manage(&api, &caller, &d.esiid).await?;
    // A move-out is a market event: the meter's TDSP (or the market) reports it, not a third
    // party, whose word would end every company's agreements on the meter.
    if r.reason == RemovalReason::MoveOut && third_party(&caller) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!(
                "move-out is a market event that only the meter's TDSP reports; {:?} may remove the device for another reason",
                caller.company
            ),
        ));
    }
    let now = (api.clock)();
    api.store
        .set_device_state(d.id, &DeviceState::Removed { reason: r.reason }, now)
        .await?;
    // Table 5: removing the device ends its services agreements and the In-Home Device
    // Agreement of the third party that added it — a third party's removal only its own
    // company's; a move-out (the TDSP's) ends every agreement on the meter.
    let reason = if r.reason == RemovalReason::MoveOut {
        EndReason::MoveOut
    } else {
        EndReason::DeviceRemoved
    };
    let device = if r.reason == RemovalReason::MoveOut {
        None
    } else {
        Some(eui)
    };
    let only = third_party(&caller).then_some(caller.company.as_str());
    api.store
        .end_agreements(&d.esiid, device, only, reason, now)
        .await?;
    if !d.company.is_empty() {
        for a in api.store.agreements(&d.company, Some(&d.esiid)).await? {
            if a.kind == AgreementKind::InHomeDevice && a.state.counts(now as u64) {
                api.store
                    .step_agreement(a.id, now, |s, now| s.end(now, reason))
                    .await?;
            }
        }
    }
    Ok((
        Extension(Touched(vec![d.tdsp])),
        Json(DeviceView::of(&api.store.device(d.id).await?)),
    ))
}
