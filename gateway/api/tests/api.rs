//! The HAN-message API, request by request (tower's `oneshot`, no socket): accepted messages
//! are stored with a delivery per address before the 202; bad input is a 4xx naming the field.

#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use hanrig_gateway::access::CompanyKind;
use hanrig_gateway::device::{DeviceRequest, DeviceType};
use hanrig_gateway::routing::{Routing, Tdsp};
use hanrig_gateway_api::{Api, Caller};
use hanrig_gateway_store::Store;
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
    (
        Api::new(store.clone(), Routing::texas(), now).router(),
        store,
    )
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    company: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    if let Some(company) = company {
        request.extensions_mut().insert(Caller {
            company: company.into(),
            kind: CompanyKind::ThirdParty,
            user: "ops".into(),
            permissions: CompanyKind::ThirdParty.permissions(),
        });
    }
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
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
        (text(&many, "hi"), "10001 addresses: at most 10000"),
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
        (
            json!({ "devices": ["00:12:4b:00:00:00:00:09"], "message": { "text": "hi" } }),
            "not provisioned on any meter",
        ),
    ] {
        let (status, answer) =
            call(&app, "POST", "/v1/messages/text", Some("demo-rep"), body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains(says), "{error:?} should say {says:?}");
    }
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
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"].as_str().unwrap().contains("not text"),
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
        let uri = if path.contains("{id}") {
            let kind = if path.contains("load-control") {
                "/v1/messages/load-control"
            } else {
                "/v1/messages/text"
            };
            path.replace("{id}", &sent[kind].to_string())
        } else {
            path.clone()
        };
        let documented: u16 = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|k| k.parse().ok())
            .find(|&code: &u16| (200..300).contains(&code))
            .unwrap();
        let (status, answer) = call(
            &app,
            &method,
            &uri,
            Some("demo-rep"),
            body["example"].clone(),
        )
        .await;
        assert_eq!(status.as_u16(), documented, "{method} {uri}: {answer}");
        if let Some(id) = answer["id"].as_i64() {
            sent.entry(path.clone()).or_insert(id);
        }
    }
}
