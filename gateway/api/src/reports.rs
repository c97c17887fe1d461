//! Reports for TDSPs and the regulator (SMT Table 6: in-home device statistics — devices and
//! HAN messages — and agreements rejected): counts only, no customer data.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::{Extension, Json};
use hanrig_gateway::access::{CompanyKind, Permission};
use serde::{Deserialize, Serialize};

use crate::{Api, ApiError, Caller, ErrorBody, caller};

/// One TDSP's counts.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TdspCounts {
    /// Devices by state: pending, provisioned, failed, removed.
    pub devices: BTreeMap<String, u64>,
    /// HAN messages with at least one address through this TDSP.
    pub messages: u64,
    /// Deliveries by status: queued, sent, delivered, device-acknowledged, failed.
    pub deliveries: BTreeMap<String, u64>,
}

/// `GET /v1/reports/statistics`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatisticsView {
    /// By TDSP (`oncor`, `centerpoint`, `aep-texas-central`, `aep-texas-north`, `tnmp`): every
    /// TDSP for the regulator, its own territory only for a TDSP.
    pub tdsps: BTreeMap<String, TdspCounts>,
    /// Agreements customers rejected, by kind (the regulator's; empty for a TDSP).
    pub agreements_rejected: BTreeMap<String, u64>,
}

/// In-home device and HAN message statistics per TDSP, and rejected agreements.
#[utoipa::path(
    get,
    path = "/v1/reports/statistics",
    tag = "reports",
    responses(
        (status = 200, body = StatisticsView),
        (status = 403, body = ErrorBody, description = "The user lacks the statistics permission (TDSPs and the regulator hold it)"),
    )
)]
pub async fn statistics(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
) -> Result<Json<StatisticsView>, ApiError> {
    let who = caller(c, Permission::Statistics)?;
    let s = api.store.statistics().await?;
    // A TDSP sees its own territory's counts only (SMT BR-028.024); the regulator all.
    let tdsp_only = who.kind == CompanyKind::Tdsp;
    let mine = |tdsp: &str| !tdsp_only || who.territory.is_some_and(|t| t.name() == tdsp);
    Ok(Json(StatisticsView {
        tdsps: s
            .tdsps
            .into_iter()
            .filter(|(tdsp, _)| mine(tdsp))
            .map(|(tdsp, t)| {
                (
                    tdsp,
                    TdspCounts {
                        devices: t.devices,
                        messages: t.messages,
                        deliveries: t.deliveries,
                    },
                )
            })
            .collect(),
        agreements_rejected: if tdsp_only {
            BTreeMap::new()
        } else {
            s.agreements_rejected
        },
    }))
}
