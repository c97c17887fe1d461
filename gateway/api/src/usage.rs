//! A third party reads a meter's 15-minute usage under an Energy Data Agreement (SMT overview
//! §7 Usage API, Table 5): as the official 15-minute read's JSON (`energyData` of `DT`, `RT`,
//! `RD` per day and channel, `RD` in Smart Meter Texas' 100-slot layout), as CSV, or as a Green
//! Button ESPI feed. Without an agreement in force on that meter — never invited, not yet
//! accepted, terminated, past its term, or a one-time agreement already read — it is refused;
//! a one-time agreement ends with the read it allows.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hanrig_gateway::access::Permission;
use hanrig_gateway::agreement::{EndReason, Term};
use hanrig_gateway::esiid::Esiid;
use hanrig_usage::day::Day;
use hanrig_usage::smt::rd;
use hanrig_usage::{Channel, Format, espi, export_span, render};
use serde::Deserialize;
use serde_json::json;

use crate::{Api, ApiError, Caller, ErrorBody, Path, Query, bad, caller};

/// Which days, and how.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// The first local (Texas) day, `YYYY-MM-DD`.
    pub from: String,
    /// The last local day, `YYYY-MM-DD` (at most 13 months after `from`).
    pub to: String,
    /// `json` (default), `csv` or `espi` (Green Button).
    pub format: Option<String>,
}

/// A meter's 15-minute usage, under the caller's company's Energy Data Agreement.
#[utoipa::path(
    get,
    path = "/v1/usage/{esiid}/intervals",
    tag = "usage",
    params(("esiid" = String, Path, description = "The meter"), UsageQuery),
    responses(
        (status = 200, description = "Per local day and channel (`C` consumption, `G` surplus generation), `RD` as 100 slots of `kWh-A|E` (blank: no value); or CSV; or a Green Button ESPI feed",
         content(
            (serde_json::Value = "application/json", example = json!({"esiid": "10443720001234567", "energyData": [{"DT": "03/08/2026", "RT": "C", "RD": "0.412-A,0.398-A"}]})),
            (String = "text/csv"),
            (String = "application/atom+xml"),
         )),
        (status = 403, body = ErrorBody, description = "No Energy Data Agreement of the caller's company is in force on the meter, or the user lacks the usage permission"),
        (status = 422, body = ErrorBody, description = "A bad ESIID, day, span or format, named precisely"),
    )
)]
pub async fn intervals(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(esiid): Path<String>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::Usage)?;
    let esiid: Esiid = esiid.parse().map_err(|e| bad(format!("esiid: {e}")))?;
    let day = |key: &str, text: &str| Day::parse_iso(text).map_err(|e| bad(format!("{key}: {e}")));
    let (from, to) = (day("from", &q.from)?, day("to", &q.to)?);
    let (start, end) = export_span(from, to).map_err(bad)?;
    let format = match q.format.as_deref() {
        None | Some("json") => None,
        Some(f) => Some(
            f.parse::<Format>()
                .map_err(|e| bad(format!("format: {e}, or json")))?,
        ),
    };
    let now = (api.clock)();
    let agreement = api
        .store
        .energy_data_agreement(&caller.company, &esiid, now)
        .await?
        .ok_or_else(|| {
            ApiError(
                StatusCode::FORBIDDEN,
                format!(
                    "{esiid}: no Energy Data Agreement of {} in force on this meter (invite the customer: POST /v1/agreements, kind energy-data)",
                    caller.company
                ),
            )
        })?;
    let intervals = api.store.intervals(&esiid, start, end).await?;
    let response = match format {
        None => {
            let mut energy = Vec::new();
            let mut d = from;
            while d <= to {
                for channel in Channel::ALL {
                    let of: Vec<_> = intervals
                        .iter()
                        .filter(|i| {
                            i.channel == channel && i.start >= d.start() && i.start < d.end()
                        })
                        .copied()
                        .collect();
                    if !of.is_empty() {
                        energy
                            .push(json!({"DT": d.us(), "RT": channel.letter(), "RD": rd(d, &of)}));
                    }
                }
                d = d.next();
            }
            Json(json!({"esiid": esiid.as_str(), "energyData": energy})).into_response()
        }
        Some(format) => {
            let address = api
                .store
                .usage_meter(&esiid)
                .await?
                .map(|m| m.address)
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| format!("ESIID {esiid}"));
            let meter = espi::Meter {
                esiid: esiid.as_str(),
                title: &address,
            };
            (
                [(header::CONTENT_TYPE, format.media_type())],
                render(format, &meter, &intervals, now),
            )
                .into_response()
        }
    };
    if agreement.term == Some(Term::OneTime) {
        api.store
            .step_agreement(agreement.id, now, |s, now| s.end(now, EndReason::Used))
            .await?;
    }
    Ok(response)
}
