//! On `hanrig lab up`, a load-control event a thermostat obeys shows as reduced consumption in
//! its meter's 15-minute intervals — through the Smart Meter Texas-compatible API the
//! `smart-meter-texas` client reads, and in the Green Button export — while every other
//! quarter hour of the day is what the home's profile says.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hanrig_gateway_api::client::ApiClient;
use hanrig_lab::{LabOptions, start};
use hanrig_sim::clock::SimTime;
use hanrig_sim::household::{Control, Home, Hvac, NORMAL_COOLING, NORMAL_HEATING};
use hanrig_usage::Channel;
use hanrig_usage::day::Day;
use serde_json::{Value, json};

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The first quarter hour at least `after` from which the home's HVAC runs for an hour.
fn next_hvac_hour(home: Home, after: i64) -> i64 {
    let mut q = (after / 900 + 1) * 900;
    while !(0..4).all(|n| home.quarter(q + 900 * n).hvac != Hvac::Off) {
        q += 900;
    }
    q
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thermostats_setback_shows_in_its_meters_intervals_in_the_portal_and_green_button() {
    let dir = std::env::temp_dir().join(format!("hanrig-lab-usage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let speed = 1200.0;
    let lab = start(&LabOptions {
        dir: dir.clone(),
        meters: 5,
        speed,
        listen: "127.0.0.1:0".into(),
        lossless: true,
        history_days: 1,
    })
    .await
    .unwrap();
    let info = lab.info.clone();
    // The resident's first meter is a thermostat's.
    let esiid = info["resident"]["esiids"][0].as_str().unwrap().to_string();
    assert_eq!(info["devices"][0]["esiid"], esiid.as_str());
    assert_eq!(info["devices"][0]["device_type"], "thermostat");
    let home = Home::of(&esiid);

    // An hour's event, 2 °C either way, from the next hour the HVAC runs.
    let now = |lab: &hanrig_lab::Lab| (lab.clock.now().0 / SimTime::SECOND) as i64;
    let event = next_hvac_hour(home, now(&lab) + 1800);
    let client = ApiClient::new(
        info["api_url"].as_str().unwrap(),
        &read(&dir, "ca.pem"),
        &read(&dir, "client.pem"),
        &read(&dir, "client.key"),
        info["username"].as_str().unwrap(),
        info["password"].as_str().unwrap(),
    )
    .unwrap();
    let (status, accepted) = client
        .post(
            "/v1/messages/load-control",
            &json!({"esiids": [esiid], "message": {
                "device_class": 1, "start": event, "duration_minutes": 60, "criticality": 3,
                "cooling_offset": 20, "heating_offset": 20}}),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_i64().unwrap();
    let mut status = Value::Null;
    for _ in 0..300 {
        let (_, m) = client.get(&format!("/v1/messages/{id}")).await.unwrap();
        status = m["addresses"][0]["status"].clone();
        if status == "device-acknowledged" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "device-acknowledged");

    // The portal, as the smart-meter-texas client signs in and asks for a day's 15-minute data.
    let portal = info["portal_url"].as_str().unwrap();
    let http =
        hanrig_gateway_connect::tls_client(&read(&dir, "ca.pem"), None, Duration::from_secs(30))
            .unwrap();
    let token: Value = http
        .post(format!("{portal}/commonapi/user/authenticate"))
        .json(&json!({"username": info["resident"]["username"], "password": info["resident"]["password"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let day = Day::containing(event).unwrap();
    let last = event + 3600 + 900;
    // Wait until the head-end has delivered the quarter hour after the event and the gateway
    // has ingested it (at this speed, a quarter hour is under a second).
    let mut slots: Vec<String> = Vec::new();
    for _ in 0..1200 {
        let answer: Value = http
            .post(format!("{portal}/api/adhoc/intervalsynch"))
            .bearer_auth(&token)
            .json(&json!({"ESIID": [esiid], "startDate": day.us(), "endDate": day.us()}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rd = answer["data"]["energyData"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["RT"] == Channel::Consumption.letter())
            .and_then(|e| e["RD"].as_str());
        slots = rd
            .unwrap_or_default()
            .split(',')
            .map(String::from)
            .collect();
        if day
            .slot(last)
            .is_some_and(|s| slots.get(s).is_some_and(|v| !v.is_empty()))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wh = |q: i64| -> i64 {
        let v = &slots[day.slot(q).unwrap()];
        let kwh = v.strip_suffix("-A").unwrap_or_else(|| panic!("{q}: {v:?}"));
        (kwh.parse::<f64>().unwrap() * 1000.0).round() as i64
    };
    let setback = Control {
        cooling_set_point: NORMAL_COOLING + 200,
        heating_set_point: NORMAL_HEATING - 200,
        ..Control::NORMAL
    };
    let mut shown = Vec::new();
    for q in day.interval_starts().filter(|q| *q <= last) {
        if slots.get(day.slot(q).unwrap()).is_none_or(|v| v.is_empty()) {
            // Before the lab's first day; its history ends the day before.
            assert!(q < event - 3600, "{q} is missing: {slots:?}");
            continue;
        }
        let quarter = home.quarter(q);
        let (normal, reduced) = (
            quarter.metered(&Control::NORMAL).0,
            quarter.metered(&setback).0,
        );
        let got = wh(q);
        if q >= event + 900 && q + 900 <= event + 3600 {
            assert_eq!(got, reduced, "{q} in the event");
            assert!(reduced < normal);
            shown.push((q, reduced));
        } else if q + 900 > event && q < event + 3600 + 900 {
            assert!((reduced..=normal).contains(&got), "{q}: {got}");
        } else {
            assert_eq!(got, normal, "{q} outside the event");
        }
    }
    assert_eq!(shown.len(), 3);

    // The history's daily register read ends at the register the live meter started from, and
    // counts the day's intervals to the watt-hour.
    let started = Day::containing((lab.clock.start.0 / SimTime::SECOND) as i64).unwrap();
    let yesterday = started.previous();
    let answer: Value = http
        .post(format!("{portal}/api/usage/daily"))
        .bearer_auth(&token)
        .json(&json!({"esiid": esiid, "startDate": yesterday.us(), "endDate": yesterday.us()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let read = &answer["dailyData"][0];
    let kwh = |v: &Value| (v.as_f64().unwrap() * 1000.0).round() as i64;
    let drawn: i64 = home
        .day(yesterday)
        .iter()
        .filter(|i| i.channel == Channel::Consumption)
        .map(|i| i.wh)
        .sum();
    assert_eq!(
        kwh(&read["endreading"]),
        home.register_origin() as i64,
        "{answer}"
    );
    assert_eq!(kwh(&read["reading"]), drawn, "{answer}");

    // The Green Button export of that day says the same.
    let (ok, out, err) = {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_hanrig"))
            .args([
                "usage",
                "export",
                "--esiid",
                &esiid,
                "--from",
                &day.to_string(),
                "--to",
                &day.to_string(),
                "--format",
                "espi",
                "--database-url",
                &format!("sqlite://{}", dir.join("gateway.db").display()),
            ])
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert!(ok, "{err}");
    for (q, reduced) in shown {
        let reading =
            format!("<start>{q}</start></timePeriod><value>{reduced}</value></IntervalReading>");
        assert!(out.contains(&reading), "{reading} not in the export");
    }
    lab.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
