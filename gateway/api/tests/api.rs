//! The HAN-message API, request by request (tower's `oneshot`, no socket): accepted messages
//! are stored with a delivery per address before the 202; bad input is a 4xx naming the field.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hanrig_gateway::access::CompanyKind;
use hanrig_gateway::agreement::{AgreementKind, MessageTypes};
use hanrig_gateway::device::{DeviceRequest, DeviceType};
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_api::{Api, Caller};
use hanrig_gateway_store::{Invitation, Store};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

const ONCOR: &str = "10443720001234567";
const CENTERPOINT: &str = "1008901000140000000000";
const AEP: &str = "10032780001234567";

fn now() -> i64 {
    1_782_914_400
}

async fn api(name: &str) -> (Router, Store) {
    let dir = std::env::temp_dir().join(format!("hanrig-api-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("gw.db"));
    let store = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        dir.join("gw.db").display()
    ))
    .await
    .unwrap();
    for company in ["demo-rep", "other"] {
        store
            .add_company(company, CompanyKind::ThirdParty, now())
            .await
            .unwrap();
    }
    // demo-rep may send every message type to a device on each test meter, and to the
    // devices the tests add.
    for (esiid, device) in [
        (ONCOR, "00:0d:6f:00:00:00:00:01"),
        (CENTERPOINT, "00:12:4b:00:01:02:03:04"),
        (AEP, "00:0d:6f:00:00:00:00:03"),
    ] {
        agree(&store, "demo-rep", esiid, device).await;
    }
    (
        Api::new(store.clone(), Routing::texas(), now).router(),
        store,
    )
}

/// An In-Home Device Services Agreement for every message type, accepted by the customer.
async fn agree(store: &Store, company: &str, esiid: &str, device: &str) -> i64 {
    let esiid: Esiid = esiid.parse().unwrap();
    let a = store
        .invite(
            &Invitation {
                company,
                kind: AgreementKind::InHomeDeviceServices,
                esiid: &esiid,
                device: Some(device.parse().unwrap()),
                message_types: MessageTypes {
                    text: true,
                    price: true,
                    load_control: true,
                },
                term: None,
                customer_email: "customer@example.com",
                token: &format!("token-{company}-{esiid}-{device}"),
            },
            now(),
        )
        .await
        .unwrap();
    store
        .step_agreement(a.id, now(), |s, now| s.accept(now))
        .await
        .unwrap()
        .id
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    company: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    call_as(app, method, uri, company.map(caller), body).await
}

async fn call_as(
    app: &Router,
    method: &str,
    uri: &str,
    who: Option<Caller>,
    body: Value,
) -> (StatusCode, Value) {
    let (status, _, body) = send(app, method, uri, who, &[], body).await;
    (status, body)
}

/// `method uri` with `headers` and a JSON `body`, as `who`: the status, the answer's headers
/// and its body (JSON, or null).
async fn send(
    app: &Router,
    method: &str,
    uri: &str,
    who: Option<Caller>,
    headers: &[(&str, &str)],
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut request = builder.body(Body::from(body.to_string())).unwrap();
    if let Some(who) = who {
        request.extensions_mut().insert(who);
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// An administrator of `company`: "puct" stands for the regulator, any other company is a
/// third party.
fn caller(company: &str) -> Caller {
    let kind = if company == "puct" {
        CompanyKind::Regulatory
    } else {
        CompanyKind::ThirdParty
    };
    Caller {
        company: company.into(),
        kind,
        user: "ops-desk".into(),
        permissions: kind.permissions(),
        territory: None,
    }
}

fn text(esiids: &[&str], message: &str) -> Value {
    json!({ "esiids": esiids, "message": { "text": message, "confirmation_required": true } })
}

#[tokio::test]
async fn a_text_message_is_accepted_with_a_delivery_per_address_and_its_status_is_readable() {
    let (app, _) = api("text").await;
    let (status, body) = call(
        &app,
        "POST",
        "/v1/messages/text",
        None,
        text(&[ONCOR], "hi"),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    let (status, body) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("demo-rep"),
        text(&[ONCOR, CENTERPOINT, AEP, ONCOR], "Peak pricing 2-6 pm"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["addresses"], 3, "duplicates counted once");
    let id = body["id"].as_i64().unwrap();
    let first_se = body["se_id"].as_u64().unwrap();
    assert!(first_se >= now() as u64);

    let (status, body) = call(
        &app,
        "GET",
        &format!("/v1/messages/{id}"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["summary"]["total"], 3);
    assert_eq!(body["summary"]["queued"], 3);
    let tdsps: Vec<&str> = body["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["tdsp"].as_str().unwrap())
        .collect();
    assert_eq!(tdsps, ["aep-texas-central", "centerpoint", "oncor"]);
    // Another company does not see it.
    let (status, _) = call(
        &app,
        "GET",
        &format!("/v1/messages/{id}"),
        Some("other"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Its cancel goes to the same addresses, with the same SE message ID.
    let (status, body) = call(
        &app,
        "POST",
        &format!("/v1/messages/text/{id}/cancel"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        (body["addresses"].as_u64(), body["se_id"].as_u64()),
        (Some(3), Some(first_se))
    );
    // The history: the message and its cancel; the log report: a CSV line per address.
    let (status, history) = call(&app, "GET", "/v1/messages", Some("demo-rep"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["text", "text-cancel"]);
    assert_eq!(history[0]["summary"]["total"], 3);
    let (_, none) = call(&app, "GET", "/v1/messages", Some("other"), Value::Null).await;
    assert_eq!(none, json!([]));
    let (status, wrong) = call(
        &app,
        "GET",
        "/v1/messages?from=10&until=10",
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, &wrong),
        (StatusCode::OK, &json!([])),
        "an empty period"
    );
    let request = Request::builder()
        .uri(format!("/v1/reports/message-log?from={}", now()))
        .extension(caller("demo-rep"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 3 + 3, "{csv}");
    assert!(lines[0].starts_with("message_id,kind,created_at,address,tdsp,status"));
    assert!(
        lines[1].starts_with(&format!("{id},text,{},1003278", now())),
        "{csv}"
    );

    // Statistics are the regulator's (and TDSPs'), not a third party's.
    let (status, _) = call(
        &app,
        "GET",
        "/v1/reports/statistics",
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, stats) = call(
        &app,
        "GET",
        "/v1/reports/statistics",
        Some("puct"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["tdsps"]["oncor"]["messages"], 2, "{stats}");
    assert_eq!(
        stats["tdsps"]["oncor"]["deliveries"]["queued"], 2,
        "{stats}"
    );
    assert_eq!(stats["tdsps"]["centerpoint"]["messages"], 2, "{stats}");

    // The next message gets a larger ID.
    let (_, body) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("demo-rep"),
        text(&[ONCOR], "again"),
    )
    .await;
    assert!(body["se_id"].as_u64().unwrap() > first_se);
}

#[tokio::test]
async fn bad_input_is_a_4xx_that_names_what_is_wrong_and_nothing_is_stored() {
    let (app, store) = api("bad").await;
    let long = "x".repeat(81);
    let many: Vec<String> = (0..10_001u64).map(|i| format!("1044372{i:010}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for (body, says) in [
        (text(&[ONCOR], &long), "text: 81 characters"),
        (
            text(&many, "hi"),
            "esiids: 10001 addresses: at most 10000 ESIIDs",
        ),
        (
            text(&[ONCOR, "1044"], "hi"),
            "esiids[1]: ESIID \"1044\": 4 characters",
        ),
        (
            text(&["10999990001234567"], "hi"),
            "no TDSP serves ESIID 10999990001234567",
        ),
        (text(&[], "hi"), "no address"),
        (
            json!({ "esiids": [ONCOR], "message": { "text": "hi" }, "priority": 1 }),
            "unknown field `priority`",
        ),
    ] {
        let (status, answer) =
            call(&app, "POST", "/v1/messages/text", Some("demo-rep"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(says), "{error:?} should say {says:?}");
    }
    // A device the caller has no agreement for is refused as such, whether or not it is
    // provisioned anywhere.
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("demo-rep"),
        json!({ "devices": ["00:12:4b:00:00:00:00:09"], "message": { "text": "hi" } }),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("00:12:4b:00:00:00:00:09"),
        "{answer}"
    );
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/messages/load-control",
        Some("demo-rep"),
        json!({ "esiids": [ONCOR], "message": { "device_class": 1, "duration_minutes": 1441, "criticality": 1 } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("duration_minutes"),
        "{answer}"
    );
    // A body that is not JSON, or not said to be: the same JSON refusal, naming the problem.
    for (content_type, body, code) in [
        (
            "application/json",
            "{\"esiids\": [",
            StatusCode::BAD_REQUEST,
        ),
        ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let mut request = Request::builder()
            .method("POST")
            .uri("/v1/messages/text")
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap();
        request.extensions_mut().insert(caller("demo-rep"));
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), code);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            answer["error"]
                .as_str()
                .unwrap()
                .starts_with("request body: "),
            "{answer}"
        );
    }
    // Nothing was stored: the first message ID is still free.
    assert!(store.message(1).await.is_err());
}

#[tokio::test]
async fn load_control_cancels_and_device_addresses_go_through_their_meter() {
    let (app, store) = api("lce").await;
    let device = "00:12:4b:00:01:02:03:04";
    let request = DeviceRequest::new(
        CENTERPOINT,
        device,
        "83FED3407A939723A5C639B26916D505C3B5",
        DeviceType::Thermostat,
        "hall",
    )
    .unwrap();
    store
        .add_device(&request, "thermostat", Tdsp::Centerpoint, now())
        .await
        .unwrap();
    let event = json!({
        "esiids": [ONCOR],
        "devices": [device],
        "message": { "device_class": 1, "duration_minutes": 60, "criticality": 2, "randomize_start": true }
    });
    let (status, body) = call(
        &app,
        "POST",
        "/v1/messages/load-control",
        Some("demo-rep"),
        event,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["id"].as_i64().unwrap();
    let (_, status_body) = call(
        &app,
        "GET",
        &format!("/v1/messages/{id}"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    let routed: Vec<(&str, &str)> = status_body["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["address"].as_str().unwrap(), a["tdsp"].as_str().unwrap()))
        .collect();
    assert_eq!(routed, [(ONCOR, "oncor"), (device, "centerpoint")]);

    let (status, body) = call(
        &app,
        "POST",
        &format!("/v1/messages/load-control/{id}/cancel"),
        Some("demo-rep"),
        json!({ "effective": 1_782_918_000u64, "randomize_end": true }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let cancel = store.message(body["id"].as_i64().unwrap()).await.unwrap();
    assert_eq!(cancel.kind, "load-control-cancel");
    // The stored frame is Cancel Load Control Event (0x01) for the event's issuer ID.
    let frame = hanrig_sep::ZclFrame::parse(cancel.cluster, &cancel.command).unwrap();
    let hanrig_sep::Command::CancelLoadControlEvent(c) = frame.command else {
        panic!("{frame:?}")
    };
    assert_eq!(
        u64::from(c.issuer_event_id),
        body["se_id"].as_u64().unwrap()
    );
    assert_eq!(c.effective_time.to_unix(), 1_782_918_000);

    // A text cancel of a load-control message is refused.
    let (status, body) = call(
        &app,
        "POST",
        &format!("/v1/messages/text/{id}/cancel"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"].as_str().unwrap().contains("no text message"),
        "{body}"
    );
    let (status, body) = call(
        &app,
        "POST",
        "/v1/messages/load-control/cancel-all",
        Some("demo-rep"),
        json!({ "esiids": [ONCOR, AEP] }),
    )
    .await;
    assert_eq!(
        (status, body["addresses"].as_u64()),
        (StatusCode::ACCEPTED, Some(2))
    );
}

/// Every operation the OpenAPI document names is served, every request body has an example,
/// and every example is accepted as the document says (cancels refer to the messages the
/// examples created).
#[tokio::test]
async fn the_openapi_document_is_served_and_its_examples_are_accepted() {
    let (app, store) = api("openapi").await;
    let request = DeviceRequest::new(
        ONCOR,
        "00:0d:6f:00:00:00:00:01",
        "83FED3407A939723A5C639B26916D505C3B5",
        DeviceType::InHomeDisplay,
        "kitchen",
    )
    .unwrap();
    store
        .add_device(&request, "in-home-display", Tdsp::Oncor, now())
        .await
        .unwrap();

    // The examples add a device on the Oncor meter: demo-rep may.
    let ihd = store
        .invite(
            &Invitation {
                company: "demo-rep",
                kind: AgreementKind::InHomeDevice,
                esiid: &ONCOR.parse().unwrap(),
                device: None,
                message_types: MessageTypes::default(),
                term: None,
                customer_email: "customer@example.com",
                token: "ihd",
            },
            now(),
        )
        .await
        .unwrap();
    store
        .step_agreement(ihd.id, now(), |s, now| s.accept(now))
        .await
        .unwrap();
    // And read its usage.
    let eda = store
        .invite(
            &Invitation {
                company: "demo-rep",
                kind: AgreementKind::EnergyData,
                esiid: &ONCOR.parse().unwrap(),
                device: None,
                message_types: MessageTypes::default(),
                term: Some(hanrig_gateway::agreement::Term::Months(12)),
                customer_email: "customer@example.com",
                token: "eda",
            },
            now(),
        )
        .await
        .unwrap();
    store
        .step_agreement(eda.id, now(), |s, now| s.accept(now))
        .await
        .unwrap();
    // The meter is on record, so that an on-demand read can be asked for.
    store
        .put_meter(&hanrig_gateway_store::MeterRecord {
            esiid: ONCOR.parse().unwrap(),
            tdsp: Tdsp::Oncor,
            meter_number: "123456789LG".into(),
            address: "1 Main St".into(),
            city: "Dallas".into(),
            zip: "75201".into(),
            rep: String::new(),
            updated_at: now(),
        })
        .await
        .unwrap();

    let (status, answer) = call(&app, "GET", "/v1/nothing", None, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        answer["error"].as_str().unwrap().contains("/openapi.json"),
        "{answer}"
    );

    // Served without a caller.
    let (status, doc) = call(&app, "GET", "/openapi.json", None, Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    assert_eq!(
        doc["components"]["securitySchemes"]["client_certificate"]["type"],
        "mutualTLS"
    );

    let mut operations: Vec<(String, String, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    assert!(operations.len() >= 7, "{operations:?}");
    // Messages first, then what refers to them.
    operations.sort_by_key(|(method, path, _)| (path.contains('{'), method == "GET", path.clone()));
    let mut sent: std::collections::HashMap<String, i64> = Default::default();
    for (method, path, op) in operations {
        let body = &op["requestBody"]["content"]["application/json"];
        if !op["requestBody"].is_null() {
            assert!(!body["example"].is_null(), "{method} {path} has no example");
        }
        let id_of = |prefix: &str| sent.get(prefix).map(i64::to_string).unwrap_or_default();
        let mut uri = path
            .replace(
                "{id}",
                &if path.starts_with("/v1/agreements") {
                    id_of("/v1/agreements")
                } else if path.contains("/odr/") {
                    id_of("/v1/usage/{esiid}/odr")
                } else if path.contains("load-control") {
                    id_of("/v1/messages/load-control")
                } else {
                    id_of("/v1/messages/text")
                },
            )
            .replace("{esiid}", ONCOR)
            .replace("{eui64}", "00:0d:6f:00:00:00:00:02");
        let required: Vec<&str> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for (i, name) in required.iter().enumerate() {
            let value = match *name {
                "esiid" => ONCOR,
                "from" | "to" => "2026-06-30",
                _ => panic!("{method} {path}: a query parameter the test cannot fill"),
            };
            uri += &format!("{}{name}={value}", if i == 0 { '?' } else { '&' });
        }
        let documented: u16 = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.parse().ok())
            .find(|&code: &u16| (200..300).contains(&code))
            .unwrap();
        // Reports are the regulator's; everything else the third party's.
        let who = if op["tags"][0] == "reports" {
            "puct"
        } else {
            "demo-rep"
        };
        let (status, answer) = call(&app, &method, &uri, Some(who), body["example"].clone()).await;
        assert_eq!(status.as_u16(), documented, "{method} {uri}: {answer}");
        if let Some(id) = answer["id"].as_i64() {
            sent.entry(path.clone()).or_insert(id);
        }
    }
}

#[tokio::test]
async fn agreements_govern_devices_and_messages() {
    let (app, store) = api("agreements").await;
    const TNMP: &str = "10400510000000001";
    let post = |uri: &'static str, body: Value| {
        let app = app.clone();
        async move { call(&app, "POST", uri, Some("demo-rep"), body).await }
    };

    // No agreement on the TNMP meter: refused, naming it, and nothing stored.
    let (status, answer) = post("/v1/messages/text", text(&[ONCOR, TNMP], "hi")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("1 of the addresses: 10400510000000001"),
        "{error}"
    );
    assert!(store.message(1).await.is_err());

    // An In-Home Device Agreement by invitation; devices wait for the customer's acceptance.
    let (status, ihd) = post(
        "/v1/agreements",
        json!({"kind": "in-home-device", "esiid": TNMP, "customer_email": "pat@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ihd}");
    assert_eq!(ihd["state"], "invited");
    assert_eq!(
        ihd["expires_at"].as_u64(),
        Some(now() as u64 + 30 * 24 * 3600)
    );
    assert!(
        ihd.get("token").is_none(),
        "the customer's secret stays with the customer"
    );
    let thermostat = json!({
        "esiid": TNMP, "eui64": "00:0d:6f:00:00:00:00:42",
        "install_code": "83FED3407A939723A5C639B26916D505C3B5",
        "device_type": "thermostat", "description": "hall"
    });
    let (status, answer) = post("/v1/devices", thermostat.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let id = ihd["id"].as_i64().unwrap();
    let token = store.agreement(id).await.unwrap().token;
    let accepted = store.agreement_by_token(&token).await.unwrap();
    store
        .step_agreement(accepted.id, now(), |s, now| s.accept(now))
        .await
        .unwrap();

    let mut bad_crc = thermostat.clone();
    bad_crc["install_code"] = json!("83FED3407A939723A5C639B26916D505C3B6");
    let (status, answer) = post("/v1/devices", bad_crc).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("install code"),
        "{answer}"
    );
    let (status, device) = post("/v1/devices", thermostat.clone()).await;
    assert_eq!(
        (status, device["state"].as_str()),
        (StatusCode::ACCEPTED, Some("pending")),
        "{device}"
    );
    let (status, answer) = post("/v1/devices", thermostat.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let (_, read) = call(
        &app,
        "GET",
        "/v1/devices/00:0d:6f:00:00:00:00:42",
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    let events: Vec<&str> = read["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["requested", "refused"], "{read}");
    let (status, _) = call(
        &app,
        "GET",
        "/v1/devices/00:0d:6f:00:00:00:00:42",
        Some("other"),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A services agreement for text only: text goes, load control does not.
    let (status, services) = post(
        "/v1/agreements",
        json!({"kind": "in-home-device-services", "esiid": TNMP, "device": "00:0d:6f:00:00:00:00:42",
               "customer_email": "pat@example.com", "message_types": {"text": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{services}");
    let sid = services["id"].as_i64().unwrap();
    store
        .step_agreement(sid, now(), |s, now| s.accept(now))
        .await
        .unwrap();
    let (status, answer) = post("/v1/messages/text", text(&[TNMP], "hi")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let lce = json!({"esiids": [TNMP], "message": {"device_class": 1, "duration_minutes": 30, "criticality": 2}});
    let (status, answer) = post("/v1/messages/load-control", lce).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("load-control messages"),
        "{answer}"
    );

    // Removing the device ends both agreements; its messages stop.
    let (status, removed) = call(
        &app,
        "POST",
        "/v1/devices/00:0d:6f:00:00:00:00:42/remove",
        Some("demo-rep"),
        json!({"reason": "device-replaced"}),
    )
    .await;
    assert_eq!(
        (status, removed["reason"].as_str()),
        (StatusCode::OK, Some("device-replaced")),
        "{removed}"
    );
    for agreement in [id, sid] {
        let (_, a) = call(
            &app,
            "GET",
            &format!("/v1/agreements/{agreement}"),
            Some("demo-rep"),
            Value::Null,
        )
        .await;
        assert_eq!(
            (a["state"].as_str(), a["end_reason"].as_str()),
            (Some("ended"), Some("device-removed")),
            "{a}"
        );
    }
    let (status, _) = post("/v1/messages/text", text(&[TNMP], "hi")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/devices/00:0d:6f:00:00:00:00:42/remove",
        Some("demo-rep"),
        json!({"reason": "lost"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");

    // Five agreements of a kind per meter; one reminder; another company sees none of it.
    let invite =
        json!({"kind": "in-home-device", "esiid": AEP, "customer_email": "lee@example.com"});
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (status, a) = post("/v1/agreements", invite.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{a}");
        ids.push(a["id"].as_i64().unwrap());
    }
    let (status, answer) = post("/v1/agreements", invite.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("5 agreements"),
        "{answer}"
    );
    let resend = format!("/v1/agreements/{}/resend", ids[0]);
    let (status, a) = call(&app, "POST", &resend, Some("demo-rep"), Value::Null).await;
    assert_eq!(
        (status, a["resent"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{a}"
    );
    let (status, _) = call(&app, "POST", &resend, Some("demo-rep"), Value::Null).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&app, "POST", &resend, Some("other"), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, a) = call(
        &app,
        "POST",
        &format!("/v1/agreements/{}/terminate", ids[1]),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, a["end_reason"].as_str()),
        (StatusCode::OK, Some("terminated")),
        "{a}"
    );
    let (status, _) = post("/v1/agreements", invite.clone()).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a terminated agreement frees its place"
    );

    // An invitation nobody answers expires after 30 days.
    let old = store
        .invite(
            &Invitation {
                company: "demo-rep",
                kind: AgreementKind::InHomeDevice,
                esiid: &CENTERPOINT.parse().unwrap(),
                device: None,
                message_types: MessageTypes::default(),
                term: None,
                customer_email: "kim@example.com",
                token: "old",
            },
            now() - 31 * 24 * 3600,
        )
        .await
        .unwrap();
    let (_, a) = call(
        &app,
        "GET",
        &format!("/v1/agreements/{}", old.id),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(a["state"], "expired", "{a}");

    for (body, says) in [
        (
            json!({"kind": "in-home-device-services", "esiid": AEP, "customer_email": "a@b.co"}),
            "device",
        ),
        (
            json!({"kind": "in-home-device-services", "esiid": AEP, "device": "00:0d:6f:00:00:00:00:03", "customer_email": "a@b.co", "message_types": {}}),
            "message_types",
        ),
        (
            json!({"kind": "in-home-device", "esiid": AEP, "customer_email": "nobody"}),
            "customer_email",
        ),
        (
            json!({"kind": "in-home-device", "esiid": "10999990001234567", "customer_email": "a@b.co"}),
            "no TDSP",
        ),
        (
            json!({"kind": "whole-home", "esiid": AEP, "customer_email": "a@b.co"}),
            "unknown variant",
        ),
    ] {
        let (status, answer) = post("/v1/agreements", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{answer} should say {says}"
        );
    }
}

#[tokio::test]
async fn an_enrollment_group_goes_as_write_attributes_through_job_style_head_ends_only() {
    let (app, store) = api("group").await;
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/enrollment-groups",
        Some("demo-rep"),
        json!({"esiids": [ONCOR, CENTERPOINT, AEP], "group": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.starts_with("2 of the addresses") && error.contains(ONCOR) && error.contains(AEP),
        "{error}"
    );
    assert!(store.message(1).await.is_err(), "nothing stored");

    let (status, answer) = call(
        &app,
        "POST",
        "/v1/enrollment-groups",
        Some("demo-rep"),
        json!({"esiids": [CENTERPOINT], "group": 5}),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let m = store.message(answer["id"].as_i64().unwrap()).await.unwrap();
    // General Write Attributes, server → client, on DRLC: UtilityEnrollmentGroup (0x0000),
    // uint8 (0x20), 5.
    assert_eq!(
        (m.kind.as_str(), m.cluster, m.command.as_slice()),
        (
            "enrollment-group",
            0x0701,
            &[0x08, 0x00, 0x02, 0x00, 0x00, 0x20, 0x05][..]
        )
    );
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/enrollment-groups",
        Some("demo-rep"),
        json!({"esiids": [CENTERPOINT], "group": 256}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
}

/// SMT Table 5: a services agreement per device. A message to a meter reaches only the
/// devices on it whose agreement allows the message's type: with a device on the meter
/// lacking one, it goes to the consenting devices by EUI64 and names the skipped ones; with
/// every device consenting it goes to the meter; with none, it is refused.
#[tokio::test]
async fn a_message_to_a_meter_reaches_only_its_consenting_devices_and_names_the_others() {
    let (app, store) = api("consent").await;
    let add = |esiid: &'static str, eui: &'static str| {
        let store = store.clone();
        async move {
            let request = DeviceRequest::new(
                esiid,
                eui,
                "83FED3407A939723A5C639B26916D505C3B5",
                DeviceType::Thermostat,
                "hall",
            )
            .unwrap();
            store
                .add_device_for("demo-rep", &request, "thermostat", Tdsp::Oncor, now())
                .await
                .unwrap();
        }
    };
    // ONCOR: the consenting device and a neighbour's thermostat without an agreement.
    add(ONCOR, "00:0d:6f:00:00:00:00:01").await;
    add(ONCOR, "00:0d:6f:00:00:00:00:99").await;
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("demo-rep"),
        text(&[ONCOR, AEP], "Conserve 4-6 pm"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(
        answer["skipped_devices"],
        json!(["00:0d:6f:00:00:00:00:99"])
    );
    assert_eq!(answer["addresses"], 2);
    let id = answer["id"].as_i64().unwrap();
    let mut to: Vec<String> = store
        .deliveries(id)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.address)
        .collect();
    to.sort();
    // AEP has no device the gateway knows besides consenting ones: the meter itself.
    assert_eq!(
        to,
        vec!["00:0d:6f:00:00:00:00:01".to_string(), AEP.to_string()]
    );

    // A company whose only consenting device on ONCOR is not on the HAN: refused.
    agree(&store, "other", ONCOR, "00:0d:6f:00:00:00:00:55").await;
    let (status, answer) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("other"),
        text(&[ONCOR], "hello"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("no device on the addressed meters"),
        "{answer}"
    );
}

/// A move-out is a market event: a third party cannot report one (its word would end every
/// company's agreements on the meter), the meter's TDSP can; and a third party's removal of
/// a device ends only its own company's agreements on it.
#[tokio::test]
async fn only_the_tdsp_reports_a_move_out_and_a_third_partys_removal_ends_only_its_own_agreements()
{
    let (app, store) = api("move-out").await;
    let esiid: Esiid = ONCOR.parse().unwrap();
    let device = "00:0d:6f:00:00:00:00:01";
    let request = DeviceRequest::new(
        ONCOR,
        device,
        "83FED3407A939723A5C639B26916D505C3B5",
        DeviceType::Thermostat,
        "hall",
    )
    .unwrap();
    store
        .add_device_for("demo-rep", &request, "thermostat", Tdsp::Oncor, now())
        .await
        .unwrap();
    // demo-rep may manage devices on the meter; "other" holds its own services agreement
    // for the same device.
    let ihd = store
        .invite(
            &Invitation {
                company: "demo-rep",
                kind: AgreementKind::InHomeDevice,
                esiid: &esiid,
                device: None,
                message_types: MessageTypes::default(),
                term: None,
                customer_email: "customer@example.com",
                token: "token-ihd",
            },
            now(),
        )
        .await
        .unwrap();
    store
        .step_agreement(ihd.id, now(), |s, now| s.accept(now))
        .await
        .unwrap();
    agree(&store, "other", ONCOR, device).await;
    let in_force = |company: &'static str| {
        let store = store.clone();
        let esiid = esiid.clone();
        async move {
            store
                .agreements(company, Some(&esiid))
                .await
                .unwrap()
                .iter()
                .filter(|a| a.state.in_force(now() as u64))
                .count()
        }
    };
    let uri = format!("/v1/devices/{device}/remove");
    let (status, answer) = call(
        &app,
        "POST",
        &uri,
        Some("demo-rep"),
        json!({"reason": "move-out"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("market event"),
        "{answer}"
    );
    assert_eq!(
        (in_force("demo-rep").await, in_force("other").await),
        (2, 1),
        "nothing ended"
    );

    let (status, answer) = call(
        &app,
        "POST",
        &uri,
        Some("demo-rep"),
        json!({"reason": "customer-request"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(in_force("demo-rep").await, 0, "its own agreements end");
    assert_eq!(
        in_force("other").await,
        1,
        "another company's agreement is not the third party's to end"
    );

    // The TDSP reports the customer's move-out: every agreement on the meter ends.
    let oncor = Caller {
        company: "Oncor".into(),
        kind: CompanyKind::Tdsp,
        user: "ops-desk".into(),
        permissions: CompanyKind::Tdsp.permissions(),
        territory: Some(Tdsp::Oncor),
    };
    let second = "00:0d:6f:00:00:00:00:02";
    let request = DeviceRequest::new(
        ONCOR,
        second,
        "83FED3407A939723A5C639B26916D505C3B5",
        DeviceType::Thermostat,
        "den",
    )
    .unwrap();
    store
        .add_device_for("demo-rep", &request, "thermostat", Tdsp::Oncor, now())
        .await
        .unwrap();
    let (status, answer) = call_as(
        &app,
        "POST",
        &format!("/v1/devices/{second}/remove"),
        Some(oncor),
        json!({"reason": "move-out"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        in_force("other").await,
        0,
        "a move-out ends every company's agreements"
    );
}

/// SMT BR-028.024: a TDSP company sees and manages devices only in its territory, and its
/// statistics are its own; the regulator sees every TDSP's.
#[tokio::test]
async fn a_tdsp_sees_only_its_territory() {
    let (app, store) = api("territory").await;
    for (esiid, eui, tdsp) in [
        (ONCOR, "00:0d:6f:00:00:00:00:01", Tdsp::Oncor),
        (CENTERPOINT, "00:12:4b:00:01:02:03:04", Tdsp::Centerpoint),
    ] {
        let request = DeviceRequest::new(
            esiid,
            eui,
            "83FED3407A939723A5C639B26916D505C3B5",
            DeviceType::Thermostat,
            "hall",
        )
        .unwrap();
        store
            .add_device_for("demo-rep", &request, "thermostat", tdsp, now())
            .await
            .unwrap();
    }
    let tdsp = |territory: Option<Tdsp>| Caller {
        company: "Oncor".into(),
        kind: CompanyKind::Tdsp,
        user: "ops-desk".into(),
        permissions: CompanyKind::Tdsp.permissions(),
        territory,
    };
    let oncor = || Some(tdsp(Some(Tdsp::Oncor)));
    let get = |uri: String, who: Option<Caller>| {
        let app = app.clone();
        async move { call_as(&app, "GET", &uri, who, Value::Null).await }
    };
    let (status, mine) = get("/v1/devices/00:0d:6f:00:00:00:00:01".into(), oncor()).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let (status, theirs) = get("/v1/devices/00:12:4b:00:01:02:03:04".into(), oncor()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{theirs}");
    let (status, listed) = get(format!("/v1/devices?esiid={CENTERPOINT}"), oncor()).await;
    assert_eq!((status, listed), (StatusCode::OK, json!([])));
    // A TDSP company bound to no territory sees nothing.
    let (status, _) = get(
        "/v1/devices/00:0d:6f:00:00:00:00:01".into(),
        Some(tdsp(None)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Adding a device on another TDSP's meter is refused.
    let (status, answer) = call_as(
        &app,
        "POST",
        "/v1/devices",
        oncor(),
        json!({
        "esiid": CENTERPOINT, "eui64": "00:12:4b:00:01:02:03:05",
        "install_code": "83FED3407A939723A5C639B26916D505C3B5",
        "device_type": "thermostat", "description": "den"}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("territory"),
        "{answer}"
    );
    // Statistics: its own TDSP's only; the regulator's cover both.
    let (status, stats) = get("/v1/reports/statistics".into(), oncor()).await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    let names: Vec<&String> = stats["tdsps"].as_object().unwrap().keys().collect();
    assert_eq!(names, vec!["oncor"], "{stats}");
    let (_, all) = call(
        &app,
        "GET",
        "/v1/reports/statistics",
        Some("puct"),
        Value::Null,
    )
    .await;
    assert!(
        all["tdsps"].get("centerpoint").is_some() && all["tdsps"].get("oncor").is_some(),
        "{all}"
    );
}

/// Each company has its own rate: a burst over it is answered 429 with Retry-After and costs
/// the others nothing (the refill is a unit test of the limiter, on a paused clock).
#[tokio::test]
async fn a_company_over_its_rate_gets_429_with_retry_after_and_others_are_not_slowed() {
    use hanrig_gateway_api::limits::RateLimit;
    let (_, store) = api("rate").await;
    let app = Api::new(store, Routing::texas(), now)
        .with_rate_limit(RateLimit {
            per_second: 0.01,
            burst: 3.0,
        })
        .router();
    let status = |company: &'static str| {
        let app = app.clone();
        async move {
            let request = Request::builder()
                .uri("/v1/agreements")
                .extension(caller(company))
                .body(Body::empty())
                .unwrap();
            let response = app.oneshot(request).await.unwrap();
            let retry = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (response.status(), retry)
        }
    };
    for _ in 0..3 {
        assert_eq!(status("demo-rep").await, (StatusCode::OK, None));
    }
    let (over, retry) = status("demo-rep").await;
    assert_eq!(over, StatusCode::TOO_MANY_REQUESTS);
    // One request a hundred seconds: the next is free in about 100 s.
    let retry: u64 = retry.unwrap().parse().unwrap();
    assert!((90..=100).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        status("other").await.0,
        StatusCode::OK,
        "another company is not slowed"
    );
}

/// A POST of `body` to `uri` with an `Idempotency-Key`, as `who`: the status, the replay
/// header and the body.
async fn call_once(
    app: &Router,
    uri: &str,
    key: &str,
    who: &str,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let headers = [("idempotency-key", key)];
    let (status, answer, body) = send(app, "POST", uri, Some(caller(who)), &headers, body).await;
    let replayed = answer
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_string());
    (status, replayed, body)
}

/// A client retrying a POST after a timeout, with the same Idempotency-Key, gets the first
/// answer and creates no second message; the same key with another request is refused; a
/// malformed key is a 400; another company's key is its own.
#[tokio::test]
async fn a_retried_post_with_its_idempotency_key_creates_one_message() {
    let (app, store) = api("idempotency").await;
    let event = json!({ "esiids": [AEP], "message": { "device_class": 1, "duration_minutes": 60, "criticality": 3 } });
    let uri = "/v1/messages/load-control";
    let (status, replayed, first) =
        call_once(&app, uri, "\"retry-7f3a\"", "demo-rep", event.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(replayed, None);
    let (status, replayed, again) =
        call_once(&app, uri, "\"retry-7f3a\"", "demo-rep", event.clone()).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first, "the first answer, again");
    // The bare form of the key is the same key.
    let (status, _, bare) = call_once(&app, uri, "retry-7f3a", "demo-rep", event.clone()).await;
    assert_eq!((status, &bare), (StatusCode::ACCEPTED, &first));
    let history = store.messages_of("demo-rep", 0, i64::MAX).await.unwrap();
    assert_eq!(history.len(), 1, "one load-control event, not three");
    assert_eq!(store.deliveries(history[0].id).await.unwrap().len(), 1);

    // The same key for a different event, or a different operation, is refused.
    let mut other = event.clone();
    other["message"]["criticality"] = json!(5);
    let (status, _, body) = call_once(&app, uri, "retry-7f3a", "demo-rep", other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("different request"),
        "{body}"
    );
    let (status, _, body) = call_once(
        &app,
        "/v1/messages/text",
        "retry-7f3a",
        "demo-rep",
        text(&[AEP], "hello"),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A cancel is a POST that creates a message too.
    let cancel = format!("/v1/messages/load-control/{}/cancel", first["id"]);
    let (status, _, c1) = call_once(&app, &cancel, "cancel-1", "demo-rep", json!({})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{c1}");
    let (status, replayed, c2) = call_once(&app, &cancel, "cancel-1", "demo-rep", json!({})).await;
    assert_eq!(
        (status, replayed.as_deref(), &c2),
        (StatusCode::ACCEPTED, Some("true"), &c1)
    );
    assert_eq!(
        store
            .messages_of("demo-rep", 0, i64::MAX)
            .await
            .unwrap()
            .len(),
        2
    );

    // Malformed keys: nothing stored.
    for key in ["", "\"\"", "two words", &"k".repeat(256)] {
        let (status, _, body) = call_once(&app, uri, key, "demo-rep", event.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{key:?}: {body}");
    }
    assert_eq!(
        store
            .messages_of("demo-rep", 0, i64::MAX)
            .await
            .unwrap()
            .len(),
        2
    );

    // Another company's key of the same name is unrelated to demo-rep's.
    agree(&store, "other", AEP, "00:0d:6f:00:00:00:00:03").await;
    let (status, replayed, theirs) = call_once(&app, uri, "retry-7f3a", "other", event).await;
    assert_eq!((status, replayed), (StatusCode::ACCEPTED, None), "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
}

/// Every call is in the audit log with who made it and the answer: the regulator reads them
/// all; a TDSP its own and those that touched its territory; a third party none.
#[tokio::test]
async fn every_call_is_audited_and_read_within_each_readers_scope() {
    let (app, _) = api("audit").await;
    let (status, _) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("demo-rep"),
        text(&[ONCOR], "one"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = call(
        &app,
        "POST",
        "/v1/messages/text",
        Some("demo-rep"),
        text(&[AEP], "two"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = call(&app, "GET", "/v1/messages/999", Some("other"), Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, "GET", "/v1/messages/1", None, Value::Null).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, page) = call(&app, "GET", "/v1/audit", Some("puct"), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let calls: Vec<(String, String, String, u64, Value)> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["company"].as_str().unwrap().to_string(),
                c["method"].as_str().unwrap().to_string(),
                c["path"].as_str().unwrap().to_string(),
                c["status"].as_u64().unwrap(),
                c["tdsps"].clone(),
            )
        })
        .collect();
    assert_eq!(
        calls,
        vec![
            (
                "demo-rep".into(),
                "POST".into(),
                "/v1/messages/text".into(),
                202,
                json!(["oncor"])
            ),
            (
                "demo-rep".into(),
                "POST".into(),
                "/v1/messages/text".into(),
                202,
                json!(["aep-texas-central"])
            ),
            (
                "other".into(),
                "GET".into(),
                "/v1/messages/999".into(),
                404,
                json!([])
            ),
            (
                "".into(),
                "GET".into(),
                "/v1/messages/1".into(),
                401,
                json!([])
            ),
        ]
    );
    assert_eq!(page[0]["user"], "ops-desk");

    let oncor = Caller {
        company: "Oncor Electric Delivery".into(),
        kind: CompanyKind::Tdsp,
        user: "tdsp-ops".into(),
        permissions: CompanyKind::Tdsp.permissions(),
        territory: Some(Tdsp::Oncor),
    };
    let (status, page) = call_as(&app, "GET", "/v1/audit", Some(oncor), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let seen: Vec<(&str, &str)> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["company"].as_str().unwrap(), c["path"].as_str().unwrap()))
        .collect();
    // Only the text to the Oncor meter: not the AEP one, not the regulator's reads (and this
    // read is recorded after its answer).
    assert_eq!(seen, vec![("demo-rep", "/v1/messages/text")], "{page}");
    let (status, _) = call(&app, "GET", "/v1/audit", Some("demo-rep"), Value::Null).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a third party reads no audit log"
    );
    let (status, _) = call(&app, "GET", "/v1/audit?limit=0", Some("puct"), Value::Null).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// JSON Schema counts `60.0` as the integer 60: so does the API.
#[tokio::test]
async fn a_number_with_a_zero_fraction_is_the_integer_it_is() {
    let (app, _) = api("integral").await;
    let event = json!({ "esiids": [AEP], "message": { "device_class": 1.0, "duration_minutes": 60.0, "criticality": 3 } });
    let (status, body) = call(
        &app,
        "POST",
        "/v1/messages/load-control",
        Some("demo-rep"),
        event,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let half = json!({ "esiids": [AEP], "message": { "device_class": 1, "duration_minutes": 60.5, "criticality": 3 } });
    let (status, body) = call(
        &app,
        "POST",
        "/v1/messages/load-control",
        Some("demo-rep"),
        half,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}

/// Every kind of company (SMT Table 6), as an administrator and as a user holding a single
/// permission or none, against every operation of the OpenAPI document: refused with 403
/// naming the permission exactly when the user lacks the one the operation needs.
#[tokio::test]
async fn every_role_against_every_endpoint_is_allowed_or_refused_by_its_permission() {
    use hanrig_gateway::access::Permission;
    let (app, _) = api("matrix").await;
    let needs = |method: &str, path: &str| -> Permission {
        match (method, path) {
            (_, p) if p.starts_with("/v1/agreements") => Permission::Agreements,
            ("post", p) if p.starts_with("/v1/devices") => Permission::Devices,
            ("get", p) if p.starts_with("/v1/devices") => Permission::ViewDevices,
            ("post", p) if p.starts_with("/v1/messages") || p == "/v1/enrollment-groups" => {
                Permission::SendMessages
            }
            ("get", p) if p.starts_with("/v1/messages") || p == "/v1/reports/message-log" => {
                Permission::ViewMessages
            }
            ("get", "/v1/reports/statistics" | "/v1/audit") => Permission::Statistics,
            (_, p) if p.starts_with("/v1/usage") => Permission::Usage,
            other => panic!("the matrix has no row for {other:?}: add it"),
        }
    };
    let (_, doc) = call(&app, "GET", "/openapi.json", None, Value::Null).await;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let mut uri = path
                .replace("{id}", "1")
                .replace("{esiid}", ONCOR)
                .replace("{eui64}", "00:0d:6f:00:00:00:00:01");
            // Required query parameters (a request without them is a 400 before anything).
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "query" && p["required"] == true {
                    let value = match p["name"].as_str() {
                        Some("esiid") => ONCOR,
                        Some("from" | "to") => "2026-07-01",
                        _ => panic!("{path}: a value for {}", p["name"]),
                    };
                    let join = if uri.contains('?') { '&' } else { '?' };
                    uri += &format!("{join}{}={value}", p["name"].as_str().unwrap_or_default());
                }
            }
            let body = op["requestBody"]["content"]["application/json"]["example"].clone();
            operations.push((method.clone(), uri, body, needs(method, path)));
        }
    }
    assert_eq!(operations.len(), 26, "every operation of the document");
    let kinds = [
        CompanyKind::ThirdParty,
        CompanyKind::Rep,
        CompanyKind::Tdsp,
        CompanyKind::Regulatory,
    ];
    let mut checked = 0;
    for kind in kinds {
        let mut holdings = vec![kind.permissions(), Default::default()];
        holdings.extend(
            kind.permissions()
                .into_iter()
                .map(|p| std::iter::once(p).collect()),
        );
        for permissions in holdings {
            // A company per caller: each stays under the rate limit (21 calls, bursts of 40).
            let who = Caller {
                company: format!("matrix-{checked}"),
                kind,
                user: "matrix".into(),
                permissions: permissions.clone(),
                territory: (kind == CompanyKind::Tdsp).then_some(Tdsp::Oncor),
            };
            for (method, uri, body, need) in &operations {
                let (status, answer) = call_as(
                    &app,
                    &method.to_uppercase(),
                    uri,
                    Some(who.clone()),
                    body.clone(),
                )
                .await;
                let refused = status == StatusCode::FORBIDDEN
                    && answer["error"]
                        .as_str()
                        .unwrap_or_default()
                        .contains(&format!("lacks the {need} permission"));
                assert_eq!(
                    refused,
                    !permissions.contains(need),
                    "{kind} holding {permissions:?}: {method} {uri} → {status} {answer}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 400, "{checked}");
}

/// A GET as `who`: the status, the `Link` header and the body.
async fn get_paged(app: &Router, uri: &str, who: &str) -> (StatusCode, Option<String>, Value) {
    let (status, headers, body) = send(app, "GET", uri, Some(caller(who)), &[], Value::Null).await;
    let link = headers.get("link").map(|v| v.to_str().unwrap().to_string());
    (status, link, body)
}

/// Lists come a page at a time: `limit` items after `offset`, and a `Link: rel="next"` while
/// there are more, keeping the other query parameters; following the links reads every item
/// once.
#[tokio::test]
async fn lists_come_a_page_at_a_time_with_a_link_to_the_next() {
    let (app, _) = api("pages").await;
    for n in 0..3 {
        let (status, _) = call(
            &app,
            "POST",
            "/v1/messages/text",
            Some("demo-rep"),
            text(&[ONCOR], &format!("m{n}")),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    for (first, total) in [
        ("/v1/agreements?limit=2", 3),
        ("/v1/messages?from=0&limit=2", 3),
    ] {
        let (mut uri, mut seen, mut pages) = (first.to_string(), Vec::new(), 0);
        loop {
            let (status, link, body) = get_paged(&app, &uri, "demo-rep").await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            seen.extend(body.as_array().unwrap().iter().map(|i| i["id"].clone()));
            pages += 1;
            let Some(link) = link else { break };
            let next = link
                .strip_prefix('<')
                .and_then(|l| l.strip_suffix(">; rel=\"next\""))
                .unwrap();
            assert!(next.contains("limit=2"), "{next}");
            uri = next.to_string();
        }
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(
            (seen.len(), unique.len(), pages),
            (total, total, 2),
            "{first}"
        );
    }
    let (status, _, _) = get_paged(&app, "/v1/agreements?limit=1001", "demo-rep").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _, _) = get_paged(&app, "/v1/agreements?offset=-1", "demo-rep").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `uri` as demo-rep's ops desk on an API whose clock reads `clock`: the status, the
/// content type and the body as text.
async fn read_usage(
    store: &Store,
    clock: fn() -> i64,
    uri: &str,
    who: &str,
) -> (StatusCode, String, String) {
    let app = Api::new(store.clone(), Routing::texas(), clock).router();
    let mut request = Request::builder().uri(uri).body(Body::empty()).unwrap();
    request.extensions_mut().insert(caller(who));
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8_lossy(&bytes).into_owned())
}

/// An Energy Data Agreement (Table 5) lets its third party read the meter's usage from the
/// customer's acceptance to the end of its term, or once; nobody else, and not before, after,
/// or once it is terminated.
#[tokio::test]
async fn energy_data_agreements_govern_who_reads_a_meters_usage_and_for_how_long() {
    use hanrig_usage::day::{Day, plus_months};
    use hanrig_usage::{BillingRead, Channel, DailyRead, Interval, Quality};
    let (app, store) = api("energy-data").await;
    let day = Day::parse_iso("2026-06-30").unwrap();
    for esiid in [ONCOR, AEP] {
        let tdsp = if esiid == ONCOR {
            Tdsp::Oncor
        } else {
            Tdsp::AepTexasCentral
        };
        let intervals: Vec<Interval> = day
            .interval_starts()
            .enumerate()
            .map(|(n, start)| Interval {
                start,
                channel: Channel::Consumption,
                wh: 100 + n as i64,
                quality: Quality::Actual,
            })
            .collect();
        store
            .store_intervals(tdsp, &esiid.parse().unwrap(), &intervals, now(), now())
            .await
            .unwrap();
    }
    let oncor: hanrig_gateway::esiid::Esiid = ONCOR.parse().unwrap();
    let daily = DailyRead {
        day,
        start_wh: 31_415_926,
        end_wh: 31_441_003,
        quality: Quality::Actual,
    };
    store
        .store_daily_reads(Tdsp::Oncor, &oncor, &[daily], 1_782_887_400, now())
        .await
        .unwrap();
    let billing = BillingRead {
        start: Day::parse_iso("2026-06-14").unwrap(),
        end: Day::parse_iso("2026-07-14").unwrap(),
        wh: 812_345,
        quality: Quality::Estimated,
    };
    store
        .store_billing_reads(Tdsp::Oncor, &oncor, &[billing], 1_782_887_400, now())
        .await
        .unwrap();
    let usage = |esiid: &str, format: &str| {
        format!("/v1/usage/{esiid}/intervals?from=2026-06-30&to=2026-06-30{format}")
    };
    let reads =
        |esiid: &str, what: &str| format!("/v1/usage/{esiid}/{what}?from=2026-06-30&to=2026-06-30");
    let invite = |esiid: &str, extra: Value| {
        let mut body =
            json!({"kind": "energy-data", "esiid": esiid, "customer_email": "kim@example.com"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };

    // Bad terms are refused, naming the field.
    for (extra, words) in [
        (json!({}), "term_months: 0 for one-time access"),
        (json!({"term_months": 13}), "1 to 12 months, not 13"),
        (
            json!({"term_months": 3, "device": "00:0d:6f:00:00:00:00:01"}),
            "neither device nor message_types",
        ),
    ] {
        let (status, body) = call(
            &app,
            "POST",
            "/v1/agreements",
            Some("demo-rep"),
            invite(ONCOR, extra),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body["error"].as_str().unwrap().contains(words), "{body}");
    }
    let ihd = json!({"kind": "in-home-device", "esiid": ONCOR, "customer_email": "kim@example.com", "term_months": 3});
    let (status, body) = call(&app, "POST", "/v1/agreements", Some("demo-rep"), ihd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Invited for three months: no access until the customer accepts.
    let (status, invited) = call(
        &app,
        "POST",
        "/v1/agreements",
        Some("demo-rep"),
        invite(ONCOR, json!({"term_months": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(
        (invited["kind"].as_str(), invited["term_months"].as_u64()),
        (Some("energy-data"), Some(3))
    );
    let id = invited["id"].as_i64().unwrap();
    let (status, _, body) = read_usage(&store, now, &usage(ONCOR, ""), "demo-rep").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("not a meter of demo-rep's, and no Energy Data Agreement of it in force"),
        "{body}"
    );
    store
        .step_agreement(id, now(), |s, now| s.accept(now))
        .await
        .unwrap();
    let (_, view) = call(
        &app,
        "GET",
        &format!("/v1/agreements/{id}"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(view["state"], "accepted");
    assert_eq!(view["ends_at"].as_i64(), Some(plus_months(now(), 3)));

    // In force: the day as SMT's 15-minute read, as CSV and as Green Button.
    let (status, kind, body) = read_usage(&store, now, &usage(ONCOR, ""), "demo-rep").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["esiid"], ONCOR);
    assert_eq!(read["energyData"][0]["DT"], "06/30/2026");
    assert_eq!(read["energyData"][0]["RT"], "C");
    // The day's revision is the sending time of the file that wrote it, in Texas time; a
    // later file that corrects one interval moves it.
    assert_eq!(read["energyData"][0]["RevTS"], "07/01/2026 09:00:00");
    let corrected = Interval {
        start: day.start(),
        channel: Channel::Consumption,
        wh: 101,
        quality: Quality::Actual,
    };
    store
        .store_intervals(Tdsp::Oncor, &oncor, &[corrected], now() + 3600, now())
        .await
        .unwrap();
    let (_, _, body) = read_usage(&store, now, &usage(ONCOR, ""), "demo-rep").await;
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["energyData"][0]["RevTS"], "07/01/2026 10:00:00");
    let rd: Vec<&str> = read["energyData"][0]["RD"]
        .as_str()
        .unwrap()
        .split(',')
        .collect();
    // A day of 96 quarter hours leaves the fall-back day's repeated slots 8–11 blank.
    assert_eq!(
        (rd.len(), rd[0], rd[8], rd[12], rd[99]),
        (100, "0.101-A", "", "0.108-A", "0.195-A")
    );
    let (status, kind, csv) =
        read_usage(&store, now, &usage(ONCOR, "&format=csv"), "demo-rep").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/csv"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 97, "{csv}");
    let (status, kind, feed) =
        read_usage(&store, now, &usage(ONCOR, "&format=espi"), "demo-rep").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "application/atom+xml")
    );
    assert_eq!(feed.matches("<IntervalReading>").count(), 96);
    // The day's register reads, and the billing period it lies in, as the official API writes
    // them (values as strings, kWh with three decimals, revisions in Texas time).
    let (status, _, body) = read_usage(&store, now, &reads(ONCOR, "daily"), "demo-rep").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"esiid": ONCOR, "registeredReads": [{"readDate": "06/30/2026", "revisionDate": "07/01/2026 01:30:00", "startReading": "31415.926", "endReading": "31441.003", "energyDataKwh": "25.077"}]})
    );
    let (status, _, body) = read_usage(&store, now, &reads(ONCOR, "monthly"), "demo-rep").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        json!({"esiid": ONCOR, "billingData": [{"startDate": "06/14/2026", "endDate": "07/14/2026", "revisionDate": "07/01/2026 01:30:00", "actualkWh": "812.345"}]})
    );

    // Bad days, spans and formats are refused, naming them.
    for (uri, words) in [
        (
            format!("/v1/usage/{ONCOR}/intervals?from=2026-06-31&to=2026-07-01"),
            "from:",
        ),
        (
            format!("/v1/usage/{ONCOR}/intervals?from=2025-01-01&to=2026-06-30"),
            "at most 13 months",
        ),
        (usage(ONCOR, "&format=pdf"), "format:"),
        (
            format!("/v1/usage/{ONCOR}/daily?from=2026-07-01&to=2026-06-30"),
            "ends (2026-06-30) before it starts",
        ),
        (
            "/v1/usage/12345/intervals?from=2026-06-30&to=2026-06-30".to_string(),
            "esiid:",
        ),
    ] {
        let (status, _, body) = read_usage(&store, now, &uri, "demo-rep").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {body}");
        assert!(body.contains(words), "{uri}: {body}");
    }
    // Reads come as JSON only: a format is a parameter they do not take.
    let uri = format!("/v1/usage/{ONCOR}/monthly?from=2026-06-30&to=2026-06-30&format=csv");
    let (status, _, body) = read_usage(&store, now, &uri, "demo-rep").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown field `format`"), "{body}");
    // Another third party, or another meter, is not covered.
    for uri in [
        usage(ONCOR, ""),
        reads(ONCOR, "daily"),
        reads(ONCOR, "monthly"),
    ] {
        let (status, _, _) = read_usage(&store, now, &uri, "other").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }
    let (status, _, _) = read_usage(&store, now, &usage(AEP, ""), "demo-rep").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Past its three months, it has ended.
    fn later() -> i64 {
        now() + 100 * 24 * 3600
    }
    let (status, _, body) = read_usage(&store, later, &usage(ONCOR, ""), "demo-rep").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let after = Api::new(store.clone(), Routing::texas(), later).router();
    let (_, view) = call(
        &after,
        "GET",
        &format!("/v1/agreements/{id}"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (view["state"].as_str(), view["end_reason"].as_str()),
        (Some("ended"), Some("term-ended"))
    );

    // Terminated, it ends at once.
    let (status, ended) = call(
        &app,
        "POST",
        &format!("/v1/agreements/{id}/terminate"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, ended["end_reason"].as_str()),
        (StatusCode::OK, Some("terminated")),
        "{ended}"
    );
    let (status, _, _) = read_usage(&store, now, &usage(ONCOR, ""), "demo-rep").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // One-time access: one read, then it has ended. Energy Data Agreements have no limit per meter.
    for _ in 0..6 {
        let (status, body) = call(
            &app,
            "POST",
            "/v1/agreements",
            Some("demo-rep"),
            invite(AEP, json!({"term_months": 0})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, list) = call(
        &app,
        "GET",
        &format!("/v1/agreements?esiid={AEP}"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    let once = list
        .as_array()
        .unwrap()
        .iter()
        .rfind(|a| a["kind"] == "energy-data")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    store
        .step_agreement(once, now(), |s, now| s.accept(now))
        .await
        .unwrap();
    let (status, _, _) = read_usage(&store, now, &reads(AEP, "daily"), "demo-rep").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = read_usage(&store, now, &usage(AEP, ""), "demo-rep").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, view) = call(
        &app,
        "GET",
        &format!("/v1/agreements/{once}"),
        Some("demo-rep"),
        Value::Null,
    )
    .await;
    assert_eq!(view["end_reason"], "used");
}

/// A TDSP company reads its territory's meters and a REP the meters it is REP of record for,
/// without an agreement; neither reads another's. Each may ask for an on-demand read within
/// SMT's limits and follow it; nobody else sees that read.
#[tokio::test]
async fn a_meters_tdsp_and_rep_read_it_and_ask_for_on_demand_reads_within_smts_limits() {
    use hanrig_gateway_store::MeterRecord;
    use hanrig_usage::odr::ReadState;
    let (_, store) = api("scope").await;
    for (esiid, tdsp) in [(ONCOR, Tdsp::Oncor), (AEP, Tdsp::AepTexasCentral)] {
        store
            .put_meter(&MeterRecord {
                esiid: esiid.parse().unwrap(),
                tdsp,
                meter_number: "123456789LG".into(),
                address: "1 Main St".into(),
                city: "Dallas".into(),
                zip: "75201".into(),
                rep: if esiid == ONCOR { "bright-rep" } else { "" }.into(),
                updated_at: now(),
            })
            .await
            .unwrap();
    }
    let who = |company: &str, kind: CompanyKind, territory: Option<Tdsp>| Caller {
        company: company.into(),
        kind,
        user: "ops-desk".into(),
        permissions: kind.permissions(),
        territory,
    };
    let oncor = who("oncor", CompanyKind::Tdsp, Some(Tdsp::Oncor));
    let rep = who("bright-rep", CompanyKind::Rep, None);
    let other_rep = who("dim-rep", CompanyKind::Rep, None);
    let puct = who("puct", CompanyKind::Regulatory, None);
    let app = Api::new(store.clone(), Routing::texas(), now).router();
    let daily = |esiid: &str| format!("/v1/usage/{esiid}/daily?from=2026-06-30&to=2026-06-30");
    for (caller, esiid, expected) in [
        (&oncor, ONCOR, StatusCode::OK),
        (&oncor, AEP, StatusCode::FORBIDDEN),
        (&rep, ONCOR, StatusCode::OK),
        (&rep, AEP, StatusCode::FORBIDDEN),
        (&other_rep, ONCOR, StatusCode::FORBIDDEN),
        (&puct, ONCOR, StatusCode::FORBIDDEN),
    ] {
        let (status, body) = call_as(
            &app,
            "GET",
            &daily(esiid),
            Some(caller.clone()),
            Value::Null,
        )
        .await;
        assert_eq!(status, expected, "{} {esiid}: {body}", caller.company);
    }

    // The REP asks for a read: pending, then the head-end's answer, seen by the REP only.
    let odr = format!("/v1/usage/{ONCOR}/odr");
    let (status, asked) = call_as(&app, "POST", &odr, Some(rep.clone()), Value::Null).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{asked}");
    assert_eq!(asked["odrstatus"], "PENDING");
    let id = asked["id"].as_i64().unwrap();
    let status_uri = format!("{odr}/{id}");
    store
        .finish_read(
            id,
            &ReadState::Completed {
                register_wh: 31_441_003,
                read_at: now() + 77,
            },
            now() + 80,
        )
        .await
        .unwrap();
    let (status, read) = call_as(&app, "GET", &status_uri, Some(rep.clone()), Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(
        (
            read["odrstatus"].as_str(),
            read["odrread"].as_str(),
            read["odrdate"].as_str()
        ),
        (
            Some("COMPLETED"),
            Some("31441.003"),
            Some("07/01/2026 09:01:17")
        )
    );
    for (caller, uri) in [
        (&oncor, status_uri.clone()),
        (&rep, format!("/v1/usage/{AEP}/odr/{id}")),
        (&rep, format!("{odr}/999999")),
    ] {
        let (status, body) = call_as(&app, "GET", &uri, Some(caller.clone()), Value::Null).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{} {uri}: {body}",
            caller.company
        );
    }
    // Another REP may not ask; the TDSP may, up to two an hour for the meter: then 5031.
    let (status, _) = call_as(&app, "POST", &odr, Some(other_rep.clone()), Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call_as(&app, "POST", &odr, Some(oncor.clone()), Value::Null).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = call_as(&app, "POST", &odr, Some(oncor.clone()), Value::Null).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"].as_str().unwrap().starts_with("5031:"),
        "{body}"
    );
    // A meter not on record is no company's.
    let (status, body) = call_as(
        &app,
        "POST",
        &format!("/v1/usage/{CENTERPOINT}/odr"),
        Some(who("cnp", CompanyKind::Tdsp, Some(Tdsp::Centerpoint))),
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
