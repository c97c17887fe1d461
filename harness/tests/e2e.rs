//! End to end, for every TDSP: the third party's API call → the gateway → the TDSP's connector
//! (MultiSpeak for Oncor, the job API for CenterPoint and TNMP, CIM for AEP Texas) → its
//! simulated head-end → the meter's ESI → the in-home device → the device's answer back up
//! the same chain into the message's per-address status. The lab is brought up the way
//! `hanrig lab up` does, and the client uses only what it writes (ca.pem, client.pem,
//! client.key, lab.json).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use hanrig_gateway_api::client::ApiClient;
use hanrig_lab::{LabOptions, start};
use serde_json::{Value, json};

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// Polls message `id` until no address is queued or sent (a guard stops a hung chain).
async fn settled(client: &ApiClient, id: i64) -> Value {
    for _ in 0..600 {
        let (status, m) = client.get(&format!("/v1/messages/{id}")).await.unwrap();
        assert_eq!(status, 200, "{m}");
        if m["summary"]["queued"] == 0 && m["summary"]["sent"] == 0 {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("message {id} never settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tdsps_chain_carries_messages_to_devices_and_their_answers_back() {
    let dir = std::env::temp_dir().join(format!("hanrig-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = LabOptions {
        dir: dir.clone(),
        meters: 15,
        speed: 400.0,
        listen: "127.0.0.1:0".into(),
        lossless: true,
        history_days: 0,
    };
    let lab = start(&options).await.unwrap();
    let again = start(&options).await.unwrap_err();
    assert!(again.contains("holds a lab already"), "{again}");

    let info: Value = serde_json::from_str(&read(&dir, "lab.json")).unwrap();
    let client = ApiClient::new(
        info["api_url"].as_str().unwrap(),
        &read(&dir, "ca.pem"),
        &read(&dir, "client.pem"),
        &read(&dir, "client.key"),
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .unwrap();
    let devices: BTreeMap<String, (String, String)> = info["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["esiid"].as_str().unwrap().to_string(),
                (
                    d["tdsp"].as_str().unwrap().to_string(),
                    d["device_type"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let tdsps: std::collections::BTreeSet<&str> =
        devices.values().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tdsps.len(), 5, "every TDSP has meters: {tdsps:?}");

    // A load-control event to every meter.
    let (status, accepted) = client
        .post(
            "/v1/messages/load-control",
            &json!({"esiids": info["esiids"], "message": {"device_class": 65535, "duration_minutes": 1, "criticality": 2}}),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{accepted}");
    let lce = settled(&client, accepted["id"].as_i64().unwrap()).await;
    let mut acknowledged_by_style = BTreeMap::new();
    for a in lce["addresses"].as_array().unwrap() {
        let esiid = a["address"].as_str().unwrap();
        let (tdsp, device_type) = &devices[esiid];
        assert_eq!(a["tdsp"], tdsp.as_str());
        // Thermostats and load-control devices run the event and report it; displays only
        // receive it.
        let expected = if device_type == "in-home-display" {
            "delivered"
        } else {
            "device-acknowledged"
        };
        assert_eq!(
            a["status"], expected,
            "{esiid} ({tdsp}, {device_type}): {a}"
        );
        if expected == "device-acknowledged" {
            acknowledged_by_style.insert(tdsp.clone(), a["detail"].as_str().unwrap().to_string());
        }
    }
    // Each head-end style's own vocabulary came back.
    assert!(
        acknowledged_by_style["oncor"].starts_with("DemandResponseEventNotification"),
        "{acknowledged_by_style:?}"
    );
    assert!(
        acknowledged_by_style["aep-texas-central"].contains("(0.15.43.28"),
        "{acknowledged_by_style:?}"
    );
    assert!(
        acknowledged_by_style["aep-texas-north"].contains("(0.15.43.28"),
        "{acknowledged_by_style:?}"
    );
    assert!(
        acknowledged_by_style["centerpoint"].starts_with("Report Event Status"),
        "{acknowledged_by_style:?}"
    );
    assert!(
        acknowledged_by_style["tnmp"].starts_with("Report Event Status"),
        "{acknowledged_by_style:?}"
    );

    // A text to every display, by device address: each one shows it.
    let displays: Vec<Value> = info["devices"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["device_type"] == "in-home-display")
        .map(|d| d["eui64"].clone())
        .collect();
    let (status, accepted) = client
        .post(
            "/v1/messages/text",
            &json!({"devices": displays, "message": {"text": "Peak pricing 2-6pm"}}),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{accepted}");
    let text = settled(&client, accepted["id"].as_i64().unwrap()).await;
    assert_eq!(text["summary"]["total"], displays.len());
    assert_eq!(text["summary"]["delivered"], displays.len(), "{text}");

    lab.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
