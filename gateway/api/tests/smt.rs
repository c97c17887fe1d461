//! The Smart Meter Texas-compatible portal API, request by request: sign-in on every path the
//! clients use, JSON on every answer, tokens that slide and outlive the process, the lockout, a
//! `401` storm cut short, a customer's own meters only, and a fall-back day's 100-slot `RD`.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_api::smt::{NO_DATA, Portal, TOKEN_IDLE, UNAUTHORIZED_BURST};
use hanrig_gateway_store::{MeterRecord, Store};
use hanrig_usage::day::Day;
use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const MINE: &str = "10443720000000001";
const THEIRS: &str = "10443720000000002";

/// The first test's clock, which it moves; the second test's stands still.
static NOW: AtomicI64 = AtomicI64::new(1_793_000_000);

fn now() -> i64 {
    NOW.load(Ordering::Relaxed)
}

fn fixed() -> i64 {
    1_793_000_000
}

async fn send(
    app: &Router,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, String, Value) {
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        // The client sends the production portal's origin; it must not be refused for it.
        .header("origin", "https://www.smartmetertexas.com");
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        kind,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn portal(name: &str, clock: fn() -> i64) -> (Store, Router) {
    let dir = std::env::temp_dir().join(format!("hanrig-smt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gw.db").display()
    ))
    .await
    .unwrap();
    for (esiid, number) in [(MINE, "123456789LG"), (THEIRS, "987654321LG")] {
        store
            .put_meter(&MeterRecord {
                esiid: esiid.parse().unwrap(),
                tdsp: Tdsp::Oncor,
                meter_number: number.into(),
                address: "1 Main St".into(),
                city: "Austin".into(),
                zip: "78701".into(),
                rep: String::new(),
                updated_at: 0,
            })
            .await
            .unwrap();
    }
    let hash = hanrig_gateway_api::auth::hash_password("Correct-Horse-9").unwrap();
    store
        .add_resident(
            "resident1",
            &hash,
            "r@example.com",
            &[MINE.parse().unwrap()],
            clock(),
        )
        .await
        .unwrap();
    let fall = Day::parse_iso("2026-11-01").unwrap();
    let intervals: Vec<Interval> = fall
        .interval_starts()
        .enumerate()
        .map(|(k, start)| Interval {
            start,
            channel: Channel::Consumption,
            wh: 100 + k as i64,
            quality: Quality::Actual,
        })
        .collect();
    store
        .store_intervals(Tdsp::Oncor, &MINE.parse().unwrap(), &intervals, 1, 1)
        .await
        .unwrap();
    let app = Portal::new(store.clone(), clock).router();
    (store, app)
}

fn login(user: &str, password: &str) -> String {
    json!({ "username": user, "password": password, "rememberMe": "true" }).to_string()
}

#[tokio::test]
async fn a_resident_signs_in_and_reads_their_meters_and_15_minute_data() {
    let (store, app) = portal("read", now).await;
    // Every path the client versions use.
    let mut token = String::new();
    for path in [
        "/commonapi/user/authenticate",
        "//commonapi/user/authenticate",
        "/api/user/authenticate",
    ] {
        let (status, kind, body) =
            send(&app, path, None, &login("resident1", "Correct-Horse-9")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(kind, "application/json");
        token = body["token"].as_str().unwrap().to_string();
    }
    let (status, _, body) = send(&app, "/api/meter", Some(&token), r#"{"esiid":"*"}"#).await;
    assert_eq!(status, StatusCode::OK);
    let meters = body["data"].as_array().unwrap();
    assert_eq!(meters.len(), 1, "only the resident's own meter: {body}");
    assert_eq!(meters[0]["esiid"], MINE);
    assert_eq!(meters[0]["meterNumber"], "123456789LG");
    assert_eq!(meters[0]["address"], "1 Main St");

    let synch = |date: &str, esiid: &str| {
        json!({"startDate": date, "endDate": date, "reportFormat": "JSON", "ESIID": [esiid],
               "versionDate": null, "readDate": null, "versionNum": null, "dataType": null})
        .to_string()
    };
    let (status, _, body) = send(
        &app,
        "/api/adhoc/intervalsynch",
        Some(&token),
        &synch("11/01/2026", MINE),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let day = &body["data"]["energyData"][0];
    assert_eq!(
        (day["DT"].as_str(), day["RT"].as_str()),
        (Some("11/01/2026"), Some("C"))
    );
    let slots: Vec<&str> = day["RD"].as_str().unwrap().split(',').collect();
    assert_eq!(slots.len(), 100);
    assert!(
        slots.iter().all(|s| s.ends_with("-A")),
        "a fall-back day fills all 100 slots"
    );
    // Slot 4 is the first 01:00, slot 8 the repeated one, slot 12 is 02:00.
    assert_eq!(
        (slots[0], slots[4], slots[8], slots[12]),
        ("0.100-A", "0.104-A", "0.108-A", "0.112-A")
    );
    // A day without data says so the way the client expects.
    let (_, _, body) = send(
        &app,
        "/api/adhoc/intervalsynch",
        Some(&token),
        &synch("11/02/2026", MINE),
    )
    .await;
    assert_eq!(body["data"]["errorMessage"], NO_DATA);
    assert_eq!(body["data"]["energyData"], json!([]));
    // Another customer's meter is refused.
    let (status, _, body) = send(
        &app,
        "/api/adhoc/intervalsynch",
        Some(&token),
        &synch("11/01/2026", THEIRS),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // One row per interval, with SMT's clock text.
    let (status, _, body) = send(
        &app,
        "/api/usage/interval",
        Some(&token),
        &json!({"esiid": MINE, "startDate": "11/01/2026", "endDate": "11/01/2026"}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let rows = body["intervaldata"].as_array().unwrap();
    assert_eq!(rows.len(), 100);
    assert_eq!(rows[0]["starttime"], " 12:00 am");
    assert_eq!(rows[0]["consumption"], 0.1);
    assert_eq!(
        (rows[4]["starttime"].as_str(), rows[8]["starttime"].as_str()),
        (Some(" 1:00 am"), Some(" 1:00 am"))
    );

    // Daily register reads and monthly billing reads of the customer's meter only.
    let mine = MINE.parse().unwrap();
    let day = |s: &str| Day::parse_iso(s).unwrap();
    store
        .store_daily_reads(
            Tdsp::Oncor,
            &mine,
            &[DailyRead {
                day: day("2026-11-01"),
                start_wh: 31_415_926,
                end_wh: 31_441_003,
                quality: Quality::Actual,
            }],
            1,
            1,
        )
        .await
        .unwrap();
    store
        .store_billing_reads(
            Tdsp::Oncor,
            &mine,
            &[BillingRead {
                start: day("2026-10-14"),
                end: day("2026-11-13"),
                wh: 812_345,
                quality: Quality::Estimated,
            }],
            1,
            1,
        )
        .await
        .unwrap();
    let span = |esiid: &str, from: &str, to: &str| {
        json!({"esiid": esiid, "startDate": from, "endDate": to}).to_string()
    };
    let (status, _, body) = send(
        &app,
        "/api/usage/daily",
        Some(&token),
        &span(MINE, "10/30/2026", "11/02/2026"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"dailyData": [{"date": "2026-11-01", "starttime": " 12:00 am", "startreading": 31415.926, "endreading": 31441.003, "reading": 25.077}]})
    );
    let (status, _, body) = send(
        &app,
        "/api/usage/monthly",
        Some(&token),
        &span(MINE, "01/01/2026", "12/31/2026"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"monthlyData": [{"startdate": "2026-10-14", "enddate": "2026-11-13", "reading": 812.345, "est_act": "E"}]})
    );
    for (path, request, expected) in [
        (
            "/api/usage/daily",
            span(THEIRS, "11/01/2026", "11/01/2026"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/usage/monthly",
            span(THEIRS, "11/01/2026", "11/01/2026"),
            StatusCode::FORBIDDEN,
        ),
        (
            "/api/usage/daily",
            span(MINE, "10/01/2026", "12/01/2026"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/usage/monthly",
            span(MINE, "01/01/2025", "12/31/2026"),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/usage/monthly",
            span(MINE, "13/01/2025", "12/31/2026"),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, kind, body) = send(&app, path, Some(&token), &request).await;
        assert_eq!(status, expected, "{path} {request}: {body}");
        assert_eq!(kind, "application/json");
        assert!(body["errormessage"].is_string(), "{body}");
    }

    // The token slides: used within its idle time it lives on; and it outlives the process
    // (a new portal on the same repository).
    NOW.fetch_add(TOKEN_IDLE - 60, Ordering::Relaxed);
    let again = Portal::new(store.clone(), now).router();
    let (status, _, _) = send(&again, "/api/meter", Some(&token), r#"{"esiid":"*"}"#).await;
    assert_eq!(status, StatusCode::OK);
    NOW.fetch_add(TOKEN_IDLE + 1, Ordering::Relaxed);
    let (status, kind, body) = send(&again, "/api/meter", Some(&token), r#"{"esiid":"*"}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(kind, "application/json", "errors are JSON too: {body}");
}

#[tokio::test]
async fn wrong_passwords_lock_and_a_401_storm_is_cut_short() {
    let (_, app) = portal("lock", fixed).await;
    for _ in 0..4 {
        let (status, _, body) = send(
            &app,
            "/commonapi/user/authenticate",
            None,
            &login("resident1", "wrong"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["errormessage"], "ERR-USR-INVALIDPASSWORDERROR");
    }
    // Now even the right password is refused, with the client's rate-limit status.
    let (status, _, body) = send(
        &app,
        "/commonapi/user/authenticate",
        None,
        &login("resident1", "Correct-Horse-9"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // An unknown user gets the same answer as a wrong password.
    let (status, _, body) = send(
        &app,
        "/commonapi/user/authenticate",
        None,
        &login("nobody", "x"),
    )
    .await;
    assert_eq!(
        (status, body["errormessage"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("ERR-USR-INVALIDPASSWORDERROR")
        )
    );
    // Not JSON: a JSON answer saying so.
    let (status, kind, _) = send(&app, "/commonapi/user/authenticate", None, "{not json").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::BAD_REQUEST, "application/json")
    );
    // A stale token retried at once, as the client does: 401s, then 429 ends the loop.
    let mut statuses = Vec::new();
    for _ in 0..UNAUTHORIZED_BURST + 2 {
        let (status, _, _) = send(&app, "/api/meter", Some("stale"), r#"{"esiid":"*"}"#).await;
        statuses.push(status);
    }
    assert!(
        statuses[..UNAUTHORIZED_BURST as usize]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED)
    );
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
    // Bodies are bounded.
    let big = format!("{{\"esiid\": \"{}\"}}", "1".repeat(20_000));
    let (status, kind, _) = send(&app, "/api/meter", Some("stale"), &big).await;
    assert!(
        status.is_client_error() && kind == "application/json",
        "{status} {kind}"
    );
}

/// The on-demand read test's clock, which it moves.
static ODR_NOW: AtomicI64 = AtomicI64::new(1_782_914_400);

fn odr_now() -> i64 {
    ODR_NOW.load(Ordering::Relaxed)
}

#[tokio::test]
async fn on_demand_reads_go_pending_then_completed_each_with_its_own_date_within_smts_limits() {
    use hanrig_usage::odr::ReadState;
    let (store, app) = portal("odr", odr_now).await;
    let (_, _, v) = send(
        &app,
        "/commonapi/user/authenticate",
        None,
        &login("resident1", "Correct-Horse-9"),
    )
    .await;
    let token = v["token"].as_str().unwrap().to_string();
    let t = Some(token.as_str());
    let latest = json!({ "ESIID": MINE }).to_string();
    let ask = json!({ "ESIID": MINE, "MeterNumber": "123456789LG" }).to_string();

    // Nothing read yet: no odrstatus, which the client takes as "no previous read".
    let (status, kind, v) = send(&app, "/api/usage/latestodrread", t, &latest).await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "application/json")
    );
    assert!(
        v["data"]["odrstatus"].is_null() && v["data"]["errorMessage"].is_string(),
        "{v}"
    );

    // Another's meter, or the wrong meter number, is refused.
    let theirs = json!({ "ESIID": THEIRS, "MeterNumber": "987654321LG" }).to_string();
    assert_eq!(
        send(&app, "/api/ondemandread", t, &theirs).await.0,
        StatusCode::FORBIDDEN
    );
    let wrong = json!({ "ESIID": MINE, "MeterNumber": "987654321LG" }).to_string();
    let (status, _, v) = send(&app, "/api/ondemandread", t, &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["errormessage"].as_str().unwrap().contains("MeterNumber"),
        "{v}"
    );
    assert_eq!(
        send(&app, "/api/ondemandread", None, &ask).await.0,
        StatusCode::UNAUTHORIZED
    );

    let (status, _, v) = send(&app, "/api/ondemandread", t, &ask).await;
    assert_eq!(
        (status, v["data"]["statusCode"].as_str()),
        (StatusCode::OK, Some("0")),
        "{v}"
    );
    let (_, _, v) = send(&app, "/api/usage/latestodrread", t, &latest).await;
    assert_eq!(v["data"]["odrstatus"], "PENDING", "{v}");
    assert_eq!(v["data"]["odrread"], "0", "{v}");
    // 2026-07-01 14:00 UTC is 09:00 in Texas (CDT).
    assert_eq!(v["data"]["odrdate"], "07/01/2026 09:00:00", "{v}");

    // The head-end answers (the connector records it): COMPLETED with the register.
    let esiid = MINE.parse().unwrap();
    let first = store.latest_read(&esiid).await.unwrap().unwrap();
    let done = ReadState::Completed {
        register_wh: 9_751_212,
        read_at: odr_now() + 77,
    };
    store
        .finish_read(first.id, &done, odr_now() + 78)
        .await
        .unwrap();
    let (_, _, v) = send(&app, "/api/usage/latestodrread", t, &latest).await;
    assert_eq!(
        v["data"],
        json!({ "odrstatus": "COMPLETED", "odrread": "9751.212", "odrusage": "0.000",
                "odrdate": "07/01/2026 09:01:17", "responseMessage": "SUCCESS" })
    );

    // A second read this hour; a third is over SMT's hourly limit: 5031, and nothing is stored.
    ODR_NOW.fetch_add(600, Ordering::Relaxed);
    assert_eq!(
        send(&app, "/api/ondemandread", t, &ask).await.2["data"]["statusCode"],
        "0"
    );
    let second = store.latest_read(&esiid).await.unwrap().unwrap();
    let (_, _, v) = send(&app, "/api/ondemandread", t, &ask).await;
    assert_eq!(v["data"]["statusCode"], "5031", "{v}");
    assert!(
        v["data"]["statusReason"].as_str().unwrap().contains("hour"),
        "{v}"
    );
    assert_eq!(
        store.latest_read(&esiid).await.unwrap().unwrap().id,
        second.id
    );
    let done = ReadState::Completed {
        register_wh: 9_755_038,
        read_at: odr_now() + 40,
    };
    store
        .finish_read(second.id, &done, odr_now() + 41)
        .await
        .unwrap();
    let (_, _, v) = send(&app, "/api/usage/latestodrread", t, &latest).await;
    assert_eq!(v["data"]["odrread"], "9755.038", "{v}");
    assert_eq!(
        v["data"]["odrusage"], "3.826",
        "the energy since the previous read: {v}"
    );
    assert_eq!(v["data"]["odrdate"], "07/01/2026 09:10:40", "{v}");

    // An hour after the first, one more is allowed (the token kept alive meanwhile); a read
    // the head-end fails says FAILED.
    ODR_NOW.fetch_add(1500, Ordering::Relaxed);
    assert_eq!(
        send(&app, "/api/ondemandread", t, &ask).await.2["data"]["statusCode"],
        "5031"
    );
    ODR_NOW.fetch_add(1500, Ordering::Relaxed);
    assert_eq!(
        send(&app, "/api/ondemandread", t, &ask).await.2["data"]["statusCode"],
        "0"
    );
    let third = store.latest_read(&esiid).await.unwrap().unwrap();
    let failed = ReadState::Failed {
        reason: "no route to meter".into(),
    };
    store
        .finish_read(third.id, &failed, odr_now() + 5)
        .await
        .unwrap();
    let (_, _, v) = send(&app, "/api/usage/latestodrread", t, &latest).await;
    assert_eq!(v["data"]["odrstatus"], "FAILED", "{v}");
    assert_eq!(v["data"]["responseMessage"], "no route to meter", "{v}");
}
