//! The Smart Meter Texas-compatible portal API: what the `smart-meter-texas` client (PyPI, the
//! library behind Home Assistant's integration) and SMT's own portal JSON speak, for residential
//! customers signed in with a user name and password.
//!
//! - `POST /commonapi/user/authenticate` (also `//commonapi/…`, as client 0.5.5 sends it, and
//!   the older `/api/user/authenticate`; `GET /` answers for clients ≤ 0.5.3): a token, or `400`
//!   for a wrong user name or password (one answer for both), `403` when locked (4 wrong
//!   passwords within 15 minutes);
//! - `POST /api/meter`: the customer's meters;
//! - `POST /api/adhoc/intervalsynch`: 15-minute data per day and channel as the 100-slot `RD`;
//! - `POST /api/usage/interval`: the same data as one row per interval;
//! - `POST /api/usage/daily`: daily register reads, `{"dailyData":[{"date","starttime",
//!   "startreading","endreading","reading"}]}` (the fields the community's client reads;
//!   their values follow `/api/usage/interval`'s rows — an ISO `date`, a ` 12:00 am` start, kWh
//!   as numbers — which is this project's assumption, no sample of the answer being public);
//! - `POST /api/usage/monthly`: monthly billing reads, `{"monthlyData":[{"startdate",
//!   "enddate","reading","est_act"}]}` (field names this project's, in the same style) for the
//!   periods overlapping the dates asked for, at most 13 months of them;
//! - `POST /api/ondemandread`: asks for a read of the meter now, through its TDSP's head-end
//!   ([`hanrig_usage::odr`]): `data.statusCode` `0`, or `5031`/`5032` past the hourly or daily
//!   limit;
//! - `POST /api/usage/latestodrread`: the meter's latest read, `PENDING`, then `COMPLETED`
//!   with the register (`odrread`, kWh), the energy since the previous completed read
//!   (`odrusage`; the community's reading of SMT's field) and when the meter read it (`odrdate`,
//!   Texas time) — each read its own `odrdate`, as client 0.5.6 needs — or `FAILED`.
//!
//! Every answer is JSON, errors included. Tokens are random, kept as hashes in the repository,
//! and slide: each use keeps one alive for [`TOKEN_IDLE`] more (the client assumes at least 15
//! minutes), across restarts. A token that keeps failing is answered `429` after
//! [`UNAUTHORIZED_BURST`] `401`s in a minute: the client retries a `401` at once and forever,
//! and a `429` ends its loop. Bodies are bounded ([`MAX_BODY`]), as are the days (31) and
//! ESIIDs (200) one request may ask for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway_store::{MeterRecord, ResidentRecord, Store, UsageScope};
use hanrig_usage::day::{Day, local};
use hanrig_usage::odr::{ReadLimits, ReadState};
use hanrig_usage::smt::rd;
use hanrig_usage::{Channel, Kwh};
use serde_json::{Value, json};

/// A token's idle lifetime, seconds (the client assumes 15 minutes after its last call).
pub const TOKEN_IDLE: i64 = 30 * 60;
/// `401`s one token may get within a minute before it is answered `429`.
pub const UNAUTHORIZED_BURST: u32 = 20;
/// The largest request body, bytes.
pub const MAX_BODY: usize = 16 * 1024;
/// The most days one usage request may span.
pub const MAX_DAYS: i32 = 31;
/// The most ESIIDs one `intervalsynch` may name (SMT's ad-hoc limit).
pub const MAX_ESIIDS: usize = 200;
/// What SMT says, and the client looks for, when a day has no data yet.
pub const NO_DATA: &str = "No Energy Data received from the respective TDSP";

/// The portal's state.
#[derive(Debug, Clone)]
pub struct Portal {
    store: Store,
    clock: fn() -> i64,
    /// Recent `401`s per presented token hash: (minute, count).
    refusals: Arc<Mutex<HashMap<String, (i64, u32)>>>,
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    answer(status, json!({ "errormessage": message }))
}

/// A refused request: its status and message, answered as JSON.
#[derive(Debug)]
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Refusal {
    Refusal(status, message.into())
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

type Answer = Result<Response, Refusal>;

fn token_hash(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Portal {
    /// The portal over `store`, on `clock` (Unix seconds).
    pub fn new(store: Store, clock: fn() -> i64) -> Portal {
        Portal {
            store,
            clock,
            refusals: Arc::default(),
        }
    }

    /// Its routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(home))
            .route("/commonapi/user/authenticate", post(authenticate))
            .route("//commonapi/user/authenticate", post(authenticate))
            .route("/api/user/authenticate", post(authenticate))
            .route("/api/meter", post(meters))
            .route("/api/adhoc/intervalsynch", post(interval_synch))
            .route("/api/usage/interval", post(usage_interval))
            .route("/api/usage/daily", post(usage_daily))
            .route("/api/usage/monthly", post(usage_monthly))
            .route("/api/ondemandread", post(on_demand_read))
            .route("/api/usage/latestodrread", post(latest_read))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "no such API") })
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(self)
    }

    /// The resident a request's bearer token signs in, or the answer refusing it.
    async fn resident(&self, headers: &HeaderMap) -> Result<ResidentRecord, Refusal> {
        let token = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let hash = token_hash(token);
        let now = (self.clock)();
        let found = if token.is_empty() {
            None
        } else {
            self.store
                .use_resident_token(&hash, now, TOKEN_IDLE)
                .await
                .map_err(internal)?
        };
        let resident = match found {
            Some(user) => self.store.resident(&user).await.ok().flatten(),
            None => None,
        };
        match resident {
            Some(r) => Ok(r),
            None => Err(self.unauthorized(hash, now)),
        }
    }

    fn unauthorized(&self, hash: String, now: i64) -> Refusal {
        let minute = now / 60;
        let mut refusals = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if refusals.len() > 10_000 {
            refusals.retain(|_, (m, _)| *m == minute);
        }
        let entry = refusals.entry(hash).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        if entry.1 > UNAUTHORIZED_BURST {
            refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "ERR-TOO-MANY-REQUESTS: this token was refused too often; sign in again in a minute",
            )
        } else {
            refuse(
                StatusCode::UNAUTHORIZED,
                "ERR-AUTH-TOKEN: sign in for a token (POST /commonapi/user/authenticate)",
            )
        }
    }

    /// `esiid` as one of `resident`'s meters, or the answer refusing it.
    fn own<'a>(resident: &'a ResidentRecord, esiid: &str) -> Result<&'a Esiid, Refusal> {
        resident
            .esiids
            .iter()
            .find(|m| m.as_str() == esiid)
            .ok_or_else(|| {
                refuse(
                    StatusCode::FORBIDDEN,
                    format!("ERR-ESIID-NOTAUTHORIZED: {esiid:?} is not one of your meters"),
                )
            })
    }

    /// `resident`'s intervals of `esiid` over `days`; refused unless it is one of their meters.
    async fn usage(
        &self,
        resident: &ResidentRecord,
        esiid: &str,
        days: &[Day],
    ) -> Result<(Esiid, Vec<hanrig_usage::Interval>), Refusal> {
        let e = Portal::own(resident, esiid)?;
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Err(refuse(StatusCode::BAD_REQUEST, "no days"));
        };
        let intervals = self
            .store
            .intervals(e, first.start(), last.end())
            .await
            .map_err(internal)?;
        Ok((e.clone(), intervals))
    }
}

fn body(parsed: Result<Json<Value>, JsonRejection>) -> Result<Value, Refusal> {
    parsed.map(|Json(v)| v).map_err(|e| {
        refuse(
            StatusCode::BAD_REQUEST,
            format!("the body is not JSON: {e}"),
        )
    })
}

async fn home() -> Response {
    answer(
        StatusCode::OK,
        json!({ "service": "hanrig: Smart Meter Texas-compatible API", "authenticate": "/commonapi/user/authenticate" }),
    )
}

async fn authenticate(
    State(portal): State<Portal>,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let request = body(parsed)?;
    let (Some(user), Some(password)) = (request["username"].as_str(), request["password"].as_str())
    else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "ERR-USR-MISSINGCREDENTIALS: username and password",
        ));
    };
    let now = (portal.clock)();
    let store = &portal.store;
    if store.resident_locked(user, now).await.map_err(internal)? {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "ERR-USR-LOCKED: too many wrong passwords; try again in 15 minutes",
        ));
    }
    let resident = store.resident(user).await.ok().flatten();
    // An unknown user is checked against a hash all the same: the answer takes as long.
    let phc = resident
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| crate::auth::dummy_hash().to_string());
    let password = password.to_string();
    let good = tokio::task::spawn_blocking(move || crate::auth::verify(&password, &phc))
        .await
        .unwrap_or(false);
    match resident {
        Some(r) if good => {
            let Some(token) = crate::pki::random_hex(32) else {
                return Err(refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no randomness for a token",
                ));
            };
            let stored = store
                .add_resident_token(&token_hash(&token), &r.username, now)
                .await;
            let _ = store.resident_signed_in(&r.username).await;
            stored.map_err(internal)?;
            Ok(answer(StatusCode::OK, json!({ "token": token })))
        }
        _ => {
            let _ = store.resident_failed(user, now).await;
            Err(refuse(
                StatusCode::BAD_REQUEST,
                "ERR-USR-INVALIDPASSWORDERROR",
            ))
        }
    }
}

fn meter_json(m: &MeterRecord, email: &str) -> Value {
    let full = [m.address.as_str(), m.city.as_str(), "TX", m.zip.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    json!({
        "customer": "",
        "email": email,
        "description": "",
        "address": m.address,
        "city": m.city,
        "state": "TX",
        "zip": m.zip,
        "esiid": m.esiid.as_str(),
        "meterNumber": m.meter_number,
        "meterMultiplier": 1,
        "fullAddress": full,
        "errmsg": "Success",
        "recordStatus": "ESIID-RECORD-EXISTS",
        "statusIndicator": true,
        "dunsNumber": "",
    })
}

async fn meters(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let wanted = request["esiid"].as_str().unwrap_or("*");
    let list = portal
        .store
        .usage_meters(UsageScope::Meters(&resident.esiids))
        .await
        .map_err(internal)?;
    let data: Vec<Value> = list
        .iter()
        .filter(|m| wanted == "*" || m.esiid.as_str() == wanted)
        .map(|m| meter_json(m, &resident.email))
        .collect();
    Ok(answer(StatusCode::OK, json!({ "data": data })))
}

/// The date a request gives at `key` (`MM/DD/YYYY`).
fn date(request: &Value, key: &str) -> Result<Day, Refusal> {
    request[key]
        .as_str()
        .ok_or_else(|| format!("{key}: a date MM/DD/YYYY"))
        .and_then(|s| Day::parse_us(s).map_err(|e| format!("{key}: {e}")))
        .map_err(|m| refuse(StatusCode::BAD_REQUEST, m))
}

/// The days `start..=end` of a request (`MM/DD/YYYY`), at most [`MAX_DAYS`].
fn days(request: &Value, start: &str, end: &str) -> Result<Vec<Day>, Refusal> {
    let (first, last) = (date(request, start)?, date(request, end)?);
    if last < first {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "the end date is before the start date",
        ));
    }
    let mut out = vec![first];
    while let Some(&d) = out.last()
        && d < last
    {
        if out.len() as i32 >= MAX_DAYS {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("at most {MAX_DAYS} days per request"),
            ));
        }
        out.push(d.next());
    }
    Ok(out)
}

async fn interval_synch(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let days = days(&request, "startDate", "endDate")?;
    let asked: Vec<&str> = match &request["ESIID"] {
        Value::Array(list) => list.iter().filter_map(|v| v.as_str()).collect(),
        Value::String(s) => vec![s.as_str()],
        _ => return Err(refuse(StatusCode::BAD_REQUEST, "ESIID: a list of ESIIDs")),
    };
    if asked.is_empty() || asked.len() > MAX_ESIIDS {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("ESIID: 1 to {MAX_ESIIDS} ESIIDs"),
        ));
    }
    let mut energy = Vec::new();
    for esiid in asked {
        let (e, intervals) = portal.usage(&resident, esiid, &days).await?;
        for day in &days {
            for channel in Channel::ALL {
                let of: Vec<_> = intervals
                    .iter()
                    .filter(|i| {
                        i.channel == channel && i.start >= day.start() && i.start < day.end()
                    })
                    .copied()
                    .collect();
                if of.is_empty() {
                    continue;
                }
                energy.push(json!({
                    "ESIID": e.as_str(),
                    "DT": day.us(),
                    "RT": channel.letter(),
                    "RD": rd(*day, &of),
                }));
            }
        }
    }
    if energy.is_empty() {
        return Ok(answer(
            StatusCode::OK,
            json!({ "data": { "energyData": [], "errorMessage": NO_DATA } }),
        ));
    }
    Ok(answer(
        StatusCode::OK,
        json!({ "data": { "energyData": energy } }),
    ))
}

/// ` 12:15 am`, as SMT's interval rows write a time.
fn clock_text(unix: i64) -> String {
    let l = local(unix);
    let (h, m) = (l.hour(), l.minute());
    let h12 = match h % 12 {
        0 => 12,
        h => h,
    };
    format!(" {h12}:{m:02} {}", if h < 12 { "am" } else { "pm" })
}

async fn usage_interval(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let days = days(&request, "startDate", "endDate")?;
    let esiid = request["esiid"].as_str().unwrap_or_default();
    let (_, intervals) = portal.usage(&resident, esiid, &days).await?;
    let mut starts: Vec<i64> = intervals.iter().map(|i| i.start).collect();
    starts.sort_unstable();
    starts.dedup();
    let rows: Vec<Value> = starts
        .iter()
        .map(|&t| {
            let of = |c: Channel| intervals.iter().find(|i| i.start == t && i.channel == c);
            let kwh = |i: Option<&hanrig_usage::Interval>| kwh_number(i.map_or(0, |i| i.wh));
            let (c, g) = (of(Channel::Consumption), of(Channel::Generation));
            json!({
                "date": local(t).date().to_string(),
                "starttime": clock_text(t),
                "endtime": clock_text(t + 900),
                "consumption": kwh(c),
                "consumption_est_act": c.map(|i| i.quality.letter()),
                "generation": kwh(g),
                "generation_est_act": g.map(|i| i.quality.letter()),
            })
        })
        .collect();
    Ok(answer(StatusCode::OK, json!({ "intervaldata": rows })))
}

/// kWh as a JSON number with three decimals.
fn kwh_number(wh: i64) -> Value {
    json!(Kwh(wh).to_string().parse::<f64>().unwrap_or(0.0))
}

async fn usage_daily(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let days = days(&request, "startDate", "endDate")?;
    let e = Portal::own(&resident, esiid_of(&request)?)?;
    let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
        return Err(refuse(StatusCode::BAD_REQUEST, "no days"));
    };
    let reads = portal
        .store
        .daily_reads(e, first, last)
        .await
        .map_err(internal)?;
    let rows: Vec<Value> = reads
        .iter()
        .map(|(r, _)| {
            json!({
                "date": r.day.to_string(),
                "starttime": clock_text(r.day.start()),
                "startreading": kwh_number(r.start_wh),
                "endreading": kwh_number(r.end_wh),
                "reading": kwh_number(r.wh()),
            })
        })
        .collect();
    Ok(answer(StatusCode::OK, json!({ "dailyData": rows })))
}

async fn usage_monthly(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let (first, last) = (date(&request, "startDate")?, date(&request, "endDate")?);
    hanrig_usage::export_span(first, last).map_err(|m| refuse(StatusCode::BAD_REQUEST, m))?;
    let e = Portal::own(&resident, esiid_of(&request)?)?;
    let reads = portal
        .store
        .billing_reads(e, first, last)
        .await
        .map_err(internal)?;
    let rows: Vec<Value> = reads
        .iter()
        .map(|(r, _)| {
            json!({
                "startdate": r.start.to_string(),
                "enddate": r.end.to_string(),
                "reading": kwh_number(r.wh),
                "est_act": r.quality.letter(),
            })
        })
        .collect();
    Ok(answer(StatusCode::OK, json!({ "monthlyData": rows })))
}

/// The ESIID a request names (`ESIID`, as the client sends it, or `esiid`).
fn esiid_of(request: &Value) -> Result<&str, Refusal> {
    request["ESIID"]
        .as_str()
        .or_else(|| request["esiid"].as_str())
        .ok_or_else(|| refuse(StatusCode::BAD_REQUEST, "ESIID: the meter's ESIID"))
}

/// `MM/DD/YYYY HH:MM:SS` in Texas time, as SMT writes `odrdate`.
fn odr_date(unix: i64) -> String {
    local(unix).strftime("%m/%d/%Y %H:%M:%S").to_string()
}

async fn on_demand_read(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let esiid = Portal::own(&resident, esiid_of(&request)?)?;
    let meter = portal
        .store
        .usage_meter(esiid)
        .await
        .map_err(internal)?
        .ok_or_else(|| refuse(StatusCode::NOT_FOUND, format!("no meter {esiid} on record")))?;
    match request["MeterNumber"].as_str() {
        Some(n) if n == meter.meter_number => {}
        _ => {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                format!("MeterNumber: the number of meter {esiid}'s meter"),
            ));
        }
    }
    let now = (portal.clock)();
    let asked = portal
        .store
        .request_read(esiid, &resident.username, &ReadLimits::SMT, now)
        .await
        .map_err(internal)?;
    let data = match asked {
        Ok(_) => json!({ "statusCode": "0", "statusReason": "On-demand read requested" }),
        Err(refused) => json!({
            "statusCode": refused.status_code(),
            "statusReason": refused.to_string(),
        }),
    };
    Ok(answer(StatusCode::OK, json!({ "data": data })))
}

async fn latest_read(
    State(portal): State<Portal>,
    headers: HeaderMap,
    parsed: Result<Json<Value>, JsonRejection>,
) -> Answer {
    let resident = portal.resident(&headers).await?;
    let request = body(parsed)?;
    let esiid = Portal::own(&resident, esiid_of(&request)?)?;
    let store = &portal.store;
    let Some(read) = store.latest_read(esiid).await.map_err(internal)? else {
        return Ok(answer(
            StatusCode::OK,
            json!({ "data": { "errorMessage": "No on-demand read of this meter yet" } }),
        ));
    };
    let status = read.state.odr_status();
    let data = match &read.state {
        ReadState::Pending => json!({
            "odrstatus": status,
            "odrread": "0",
            "odrusage": "0",
            "odrdate": odr_date(read.requested_at),
            "responseMessage": "SUCCESS",
        }),
        ReadState::Completed {
            register_wh,
            read_at,
        } => {
            let previous = store
                .previous_completed_read(esiid, read.id)
                .await
                .map_err(internal)?;
            let wh = i64::try_from(*register_wh).unwrap_or(i64::MAX);
            let usage = match previous.map(|p| p.state) {
                Some(ReadState::Completed { register_wh, .. }) => {
                    (wh - i64::try_from(register_wh).unwrap_or(0)).max(0)
                }
                _ => 0,
            };
            json!({
                "odrstatus": status,
                "odrread": Kwh(wh).to_string(),
                "odrusage": Kwh(usage).to_string(),
                "odrdate": odr_date(*read_at),
                "responseMessage": "SUCCESS",
            })
        }
        ReadState::Failed { reason } => json!({
            "odrstatus": status,
            "odrread": null,
            "odrusage": null,
            "odrdate": odr_date(read.requested_at),
            "responseMessage": reason,
        }),
    };
    Ok(answer(StatusCode::OK, json!({ "data": data })))
}
