//! A company reads a meter's usage — a third party under an Energy Data Agreement, the meter's
//! TDSP and its REP of record as theirs (SMT overview §7 Usage API, Table 5):
//! - 15-minute intervals as the official 15-minute read's JSON (`energyData` of `DT`, `RevTS`,
//!   `RT`, `RD` per day and channel: `RevTS` the sending time of the latest file that changed
//!   one of the day's values, in Texas time; `RD` in Smart Meter Texas' 100-slot layout), as
//!   CSV, or as a Green Button ESPI feed;
//! - daily register reads as the official daily read's `registeredReads` (`readDate`,
//!   `revisionDate`, `startReading`, `endReading`, `energyDataKwh`, values as strings);
//! - monthly billing reads as the official monthly billing read's `billingData` (`startDate`,
//!   `endDate`, `revisionDate`, `actualkWh`). The demand and kVA fields of that answer are left
//!   out: the repository keeps no demand, and a residential bill has none;
//! - on-demand reads: asked for (`POST …/odr`) within SMT's limits per meter and per TDSP
//!   (`5031`, `5032`), carried by the meter's TDSP head-end, and followed (`GET …/odr/{id}`)
//!   from `PENDING` to `COMPLETED` with the register, or `FAILED`.
//!
//! Who reads a meter (SMT overview §7: "meters associated with their company"; BR-028.024): a
//! TDSP company the meters of its territory, a REP the meters it is REP of record for, and any
//! company a meter under its Energy Data Agreement in force. Without one of these — never
//! invited, not yet accepted, terminated, past its term, or a one-time agreement already used —
//! a read is refused; a one-time agreement ends with the read it allows.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway::agreement::{EndReason, Term};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway_store::AgreementRecord;
use hanrig_usage::day::{Day, us_local};
use hanrig_usage::odr::ReadLimits;
use hanrig_usage::smt::rd;
use hanrig_usage::{Channel, Format, Kwh, espi, export_span, render};
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

/// Which days.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReadsQuery {
    /// The first local (Texas) day, `YYYY-MM-DD`.
    pub from: String,
    /// The last local day, `YYYY-MM-DD` (at most 13 months after `from`).
    pub to: String,
}

/// The days `from..=to` of a query: both dates, in order, at most 13 months apart.
fn span(from: &str, to: &str) -> Result<(Day, Day), ApiError> {
    let day = |key: &str, text: &str| Day::parse_iso(text).map_err(|e| bad(format!("{key}: {e}")));
    let (from, to) = (day("from", from)?, day("to", to)?);
    export_span(from, to).map_err(bad)?;
    Ok((from, to))
}

/// A read allowed: the meter, its days, the time, and the agreement that allows it (`None`
/// when the meter is the caller's company's).
struct Allowed {
    esiid: Esiid,
    from: Day,
    to: Day,
    now: i64,
    agreement: Option<AgreementRecord>,
}

/// Checks a read of `esiid` for the days `from..=to` by the caller: the usage permission, the
/// meter, the days, and the caller's right to the meter ([`access`]).
async fn allowed(
    api: &Api,
    c: Option<Extension<Caller>>,
    esiid: &str,
    from: &str,
    to: &str,
) -> Result<Allowed, ApiError> {
    let caller = caller(c, Permission::Usage)?;
    let esiid: Esiid = esiid.parse().map_err(|e| bad(format!("esiid: {e}")))?;
    let (from, to) = span(from, to)?;
    let now = (api.clock)();
    let agreement = access(api, &caller, &esiid, now).await?;
    Ok(Allowed {
        esiid,
        from,
        to,
        now,
        agreement,
    })
}

/// Why the caller may read `esiid`: `None` for its TDSP (its territory) or its REP of record,
/// or the caller's company's Energy Data Agreement in force on it; otherwise the refusal.
async fn access(
    api: &Api,
    caller: &Caller,
    esiid: &Esiid,
    now: i64,
) -> Result<Option<AgreementRecord>, ApiError> {
    if let Some(meter) = api.store.usage_meter(esiid).await? {
        let associated = match caller.kind {
            CompanyKind::Tdsp => caller.territory == Some(meter.tdsp),
            CompanyKind::Rep => !meter.rep.is_empty() && meter.rep == caller.company,
            CompanyKind::ThirdParty | CompanyKind::Regulatory => false,
        };
        if associated {
            return Ok(None);
        }
    }
    api.store
        .energy_data_agreement(&caller.company, esiid, now)
        .await?
        .ok_or_else(|| {
            ApiError(
                StatusCode::FORBIDDEN,
                format!(
                    "{esiid}: not a meter of {}'s, and no Energy Data Agreement of it in force on this meter (invite the customer: POST /v1/agreements, kind energy-data)",
                    caller.company
                ),
            )
        })
        .map(Some)
}

/// Ends a one-time agreement with the read it allowed.
async fn used(api: &Api, agreement: &Option<AgreementRecord>, now: i64) -> Result<(), ApiError> {
    if let Some(agreement) = agreement
        && agreement.term == Some(Term::OneTime)
    {
        api.store
            .step_agreement(agreement.id, now, |s, now| s.end(now, EndReason::Used))
            .await?;
    }
    Ok(())
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
            (serde_json::Value = "application/json", example = json!({"esiid": "10443720001234567", "energyData": [{"DT": "03/08/2026", "RevTS": "03/09/2026 01:30:00", "RT": "C", "RD": "0.412-A,0.398-A"}]})),
            (String = "text/csv"),
            (String = "application/atom+xml"),
         )),
        (status = 403, body = ErrorBody, description = "The meter is not the caller's company's (its TDSP's territory, its REP of record) and no Energy Data Agreement of it is in force on the meter, or the user lacks the usage permission"),
        (status = 422, body = ErrorBody, description = "A bad ESIID, day, span or format, named precisely"),
    )
)]
pub async fn intervals(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(esiid): Path<String>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let format = match q.format.as_deref() {
        None | Some("json") => None,
        Some(f) => Some(
            f.parse::<Format>()
                .map_err(|e| bad(format!("format: {e}, or json")))?,
        ),
    };
    let Allowed {
        esiid,
        from,
        to,
        now,
        agreement,
    } = allowed(&api, c, &esiid, &q.from, &q.to).await?;
    let (start, end) = (from.start(), to.end());
    let intervals = api.store.intervals(&esiid, start, end).await?;
    let response = match format {
        None => {
            let revisions = api.store.interval_revisions(&esiid, start, end).await?;
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
                        // The day's revision: the latest file that changed one of its values.
                        let revised = revisions
                            .iter()
                            .filter(|(c, start, _)| {
                                *c == channel && *start >= d.start() && *start < d.end()
                            })
                            .map(|(_, _, at)| *at)
                            .max()
                            .unwrap_or_default();
                        energy.push(json!({"DT": d.us(), "RevTS": us_local(revised), "RT": channel.letter(), "RD": rd(d, &of)}));
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
    used(&api, &agreement, now).await?;
    Ok(response)
}

/// A meter's daily register reads, under the caller's company's Energy Data Agreement.
#[utoipa::path(
    get,
    path = "/v1/usage/{esiid}/daily",
    tag = "usage",
    params(("esiid" = String, Path, description = "The meter"), ReadsQuery),
    responses(
        (status = 200, description = "Per local day: the consumption register (kWh) at the midnight that starts it and at the one that ends it, and their difference; `revisionDate` in Texas time",
         body = serde_json::Value,
         example = json!({"esiid": "10443720001234567", "registeredReads": [{"readDate": "03/08/2026", "revisionDate": "03/09/2026 01:30:00", "startReading": "31415.926", "endReading": "31441.003", "energyDataKwh": "25.077"}]})),
        (status = 403, body = ErrorBody, description = "The meter is not the caller's company's (its TDSP's territory, its REP of record) and no Energy Data Agreement of it is in force on the meter, or the user lacks the usage permission"),
        (status = 422, body = ErrorBody, description = "A bad ESIID, day or span, named precisely"),
    )
)]
pub async fn daily(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(esiid): Path<String>,
    Query(q): Query<ReadsQuery>,
) -> Result<Response, ApiError> {
    let Allowed {
        esiid,
        from,
        to,
        now,
        agreement,
    } = allowed(&api, c, &esiid, &q.from, &q.to).await?;
    let reads: Vec<_> = api
        .store
        .daily_reads(&esiid, from, to)
        .await?
        .into_iter()
        .map(|(r, revised)| {
            json!({
                "readDate": r.day.us(),
                "revisionDate": us_local(revised),
                "startReading": Kwh(r.start_wh).to_string(),
                "endReading": Kwh(r.end_wh).to_string(),
                "energyDataKwh": Kwh(r.wh()).to_string(),
            })
        })
        .collect();
    used(&api, &agreement, now).await?;
    Ok(Json(json!({"esiid": esiid.as_str(), "registeredReads": reads})).into_response())
}

/// A meter's monthly billing reads, under the caller's company's Energy Data Agreement.
#[utoipa::path(
    get,
    path = "/v1/usage/{esiid}/monthly",
    tag = "usage",
    params(("esiid" = String, Path, description = "The meter"), ReadsQuery),
    responses(
        (status = 200, description = "The billing periods that overlap the days asked for: from one meter read date to the next, the energy delivered (kWh); `revisionDate` in Texas time",
         body = serde_json::Value,
         example = json!({"esiid": "10443720001234567", "billingData": [{"startDate": "02/14/2026", "endDate": "03/14/2026", "revisionDate": "03/15/2026 01:30:00", "actualkWh": "812.345"}]})),
        (status = 403, body = ErrorBody, description = "The meter is not the caller's company's (its TDSP's territory, its REP of record) and no Energy Data Agreement of it is in force on the meter, or the user lacks the usage permission"),
        (status = 422, body = ErrorBody, description = "A bad ESIID, day or span, named precisely"),
    )
)]
pub async fn monthly(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(esiid): Path<String>,
    Query(q): Query<ReadsQuery>,
) -> Result<Response, ApiError> {
    let Allowed {
        esiid,
        from,
        to,
        now,
        agreement,
    } = allowed(&api, c, &esiid, &q.from, &q.to).await?;
    let reads: Vec<_> = api
        .store
        .billing_reads(&esiid, from, to)
        .await?
        .into_iter()
        .map(|(r, revised)| {
            json!({
                "startDate": r.start.us(),
                "endDate": r.end.us(),
                "revisionDate": us_local(revised),
                "actualkWh": Kwh(r.wh).to_string(),
            })
        })
        .collect();
    used(&api, &agreement, now).await?;
    Ok(Json(json!({"esiid": esiid.as_str(), "billingData": reads})).into_response())
}

/// Who asked for an on-demand read through the API: `company:user` (a resident's user name
/// holds no `:`, so the two never meet).
fn requester(caller: &Caller) -> String {
    format!("{}:{}", caller.company, caller.user)
}

/// An on-demand read as the API shows it.
fn odr_view(read: &hanrig_gateway_store::ReadRecord) -> serde_json::Value {
    use hanrig_usage::odr::ReadState;
    let mut view = json!({
        "id": read.id,
        "esiid": read.esiid.as_str(),
        "odrstatus": read.state.odr_status(),
        "requestedDate": us_local(read.requested_at),
    });
    match &read.state {
        ReadState::Pending => {}
        ReadState::Completed {
            register_wh,
            read_at,
        } => {
            view["odrread"] =
                json!(Kwh(i64::try_from(*register_wh).unwrap_or(i64::MAX)).to_string());
            view["odrdate"] = json!(us_local(*read_at));
        }
        ReadState::Failed { reason } => view["reason"] = json!(reason),
    }
    view
}

/// Asks for an on-demand read of a meter the caller may read.
#[utoipa::path(
    post,
    path = "/v1/usage/{esiid}/odr",
    tag = "usage",
    params(("esiid" = String, Path, description = "The meter")),
    responses(
        (status = 202, description = "Asked for: the meter's TDSP head-end reads it; follow it at `GET /v1/usage/{esiid}/odr/{id}`",
         body = serde_json::Value,
         example = json!({"id": 17, "esiid": "10443720001234567", "odrstatus": "PENDING", "requestedDate": "07/01/2026 09:15:00"})),
        (status = 403, body = ErrorBody, description = "The caller may not read the meter (see the daily read), or the user lacks the usage permission"),
        (status = 404, body = ErrorBody, description = "No such meter on record"),
        (status = 422, body = ErrorBody, description = "A bad ESIID"),
        (status = 429, body = ErrorBody, description = "SMT's limits: `5031` this meter's reads for the last 60 minutes, `5032` its reads for today or its TDSP's"),
    )
)]
pub async fn request_odr(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path(esiid): Path<String>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::Usage)?;
    let esiid: Esiid = esiid.parse().map_err(|e| bad(format!("esiid: {e}")))?;
    let now = (api.clock)();
    let agreement = access(&api, &caller, &esiid, now).await?;
    let asked = api
        .store
        .request_read(&esiid, &requester(&caller), &ReadLimits::SMT, now)
        .await?;
    match asked {
        Ok(read) => {
            used(&api, &agreement, now).await?;
            Ok((StatusCode::ACCEPTED, Json(odr_view(&read))).into_response())
        }
        Err(refused) => Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            format!("{}: {refused}", refused.status_code()),
        )),
    }
}

/// An on-demand read the caller's company asked for.
#[utoipa::path(
    get,
    path = "/v1/usage/{esiid}/odr/{id}",
    tag = "usage",
    params(("esiid" = String, Path, description = "The meter"), ("id" = i64, Path, description = "The read")),
    responses(
        (status = 200, description = "`PENDING`; `COMPLETED` with the register (`odrread`, kWh) and when the meter read it (`odrdate`, Texas time); or `FAILED` with the reason",
         body = serde_json::Value,
         example = json!({"id": 17, "esiid": "10443720001234567", "odrstatus": "COMPLETED", "requestedDate": "07/01/2026 09:15:00", "odrread": "31441.003", "odrdate": "07/01/2026 09:16:17"})),
        (status = 404, body = ErrorBody, description = "No read of this meter with that ID asked for by the caller's company"),
        (status = 422, body = ErrorBody, description = "A bad ESIID"),
    )
)]
pub async fn odr_status(
    State(api): State<Api>,
    c: Option<Extension<Caller>>,
    Path((esiid, id)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let caller = caller(c, Permission::Usage)?;
    let esiid: Esiid = esiid.parse().map_err(|e| bad(format!("esiid: {e}")))?;
    let not_found = || {
        ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "no on-demand read {id} of {esiid} asked for by {}",
                caller.company
            ),
        )
    };
    let read = match api.store.read(id).await {
        Ok(read) => read,
        Err(hanrig_gateway_store::StoreError::NotFound(_)) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    let company = read.requested_by.rsplit_once(':').map(|(c, _)| c);
    if read.esiid != esiid || company != Some(caller.company.as_str()) {
        return Err(not_found());
    }
    Ok(Json(odr_view(&read)).into_response())
}
