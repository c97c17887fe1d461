//! The `e2e` suite, ZigFest's second stage: the whole chain — the third party's API call, the
//! gateway, the TDSP's connector and head-end, the meter's ESI, the in-home device, and the
//! device's answer back into the message's status — for each TDSP and head-end style. Each
//! case brings up the system the way `hanrig lab up` does (15 meters, three per TDSP route,
//! one of each device kind; lossless networks at 400× speed) and talks to it only through the
//! API over mutual TLS with the files the lab writes.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_api::client::ApiClient;
use serde_json::{Value, json};

use super::ctx::{CaseError, Outcome, check, fail};
use hanrig_lab::{LabOptions, start};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The lab a case talks to: its API client and `lab.json`, and the lab itself (which stands
/// in for the customers' answers to invitations).
struct Lab {
    client: ApiClient,
    info: Value,
    lab: std::sync::Arc<hanrig_lab::Lab>,
}

impl Lab {
    /// The demo devices of `tdsp`: (ESIID, EUI64, device type).
    fn devices(&self, tdsp: Option<Tdsp>) -> Vec<(String, String, String)> {
        self.info["devices"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| tdsp.is_none_or(|t| d["tdsp"] == t.name()))
            .map(|d| {
                let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
                (s("esiid"), s("eui64"), s("device_type"))
            })
            .collect()
    }

    /// Sends `body` to `path`; the message's ID, or the refusal as a failure.
    async fn send(&self, path: &str, body: &Value) -> Result<i64, CaseError> {
        let (status, answer) = self.client.post(path, body).await.map_err(rig)?;
        match (status, answer["id"].as_i64()) {
            (202, Some(id)) => Ok(id),
            _ => Err(fail(
                "the gateway refused a message the lab's agreements allow",
                format!("202 Accepted for POST {path}"),
                format!("{status} {answer}"),
            )),
        }
    }

    /// Message `id` once no address is queued or sent any more (the chain has answered).
    async fn settled(&self, id: i64) -> Result<Value, CaseError> {
        let mut last = Value::Null;
        for _ in 0..600 {
            let (status, m) = self
                .client
                .get(&format!("/v1/messages/{id}"))
                .await
                .map_err(rig)?;
            if status != 200 {
                return Err(rig(format!("GET /v1/messages/{id}: {status} {m}")));
            }
            if m["summary"]["queued"] == 0 && m["summary"]["sent"] == 0 {
                return Ok(m);
            }
            last = m;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(fail(
            "deliveries never settled: the chain did not answer",
            "every address delivered, acknowledged or failed",
            last["summary"].to_string(),
        ))
    }
}

fn rig(e: impl std::fmt::Display) -> CaseError {
    CaseError::Rig(e.to_string())
}

/// Runs `body` against a fresh lab.
fn with_lab<F, Fut>(body: F) -> Outcome
where
    F: FnOnce(Lab) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(rig)?;
    runtime.block_on(async {
        let dir = std::env::temp_dir().join(format!(
            "hanrig-e2e-case-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let options = LabOptions {
            dir: dir.clone(),
            meters: 15,
            speed: 400.0,
            listen: "127.0.0.1:0".into(),
            lossless: true,
            history_days: 0,
        };
        let lab = std::sync::Arc::new(start(&options).await.map_err(rig)?);
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).map_err(rig);
        let info: Value = serde_json::from_str(&read("lab.json")?).map_err(rig)?;
        let client = ApiClient::new(
            info["api_url"].as_str().unwrap_or_default(),
            &read("ca.pem")?,
            &read("client.pem")?,
            &read("client.key")?,
            info["username"].as_str().unwrap_or_default(),
            info["password"].as_str().unwrap_or_default(),
        )
        .map_err(rig)?;
        let outcome = body(Lab {
            client,
            info,
            lab: lab.clone(),
        })
        .await;
        lab.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
        outcome
    })
}

/// The status and detail every address of `m` ended with, by address.
fn statuses(m: &Value) -> Vec<(String, String, String)> {
    m["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
            (s("address"), s("status"), s("detail"))
        })
        .collect()
}

/// A load-control event to `tdsp`'s meters: thermostats and load-control devices run it and
/// report (`device-acknowledged`, in the head-end style's words `vocabulary`), displays only
/// receive it.
fn load_control_through(tdsp: Tdsp, vocabulary: &'static str) -> Outcome {
    with_lab(|lab| async move {
        let devices = lab.devices(Some(tdsp));
        let esiids: Vec<&String> = devices.iter().map(|d| &d.0).collect();
        let id = lab
            .send(
                "/v1/messages/load-control",
                &json!({"esiids": esiids, "message": {"device_class": 65535, "duration_minutes": 1, "criticality": 2}}),
            )
            .await?;
        let m = lab.settled(id).await?;
        for (address, status, detail) in statuses(&m) {
            let kind = devices
                .iter()
                .find(|d| d.0 == address)
                .map(|d| d.2.as_str())
                .unwrap_or_default();
            let want = if kind == "in-home-display" {
                "delivered"
            } else {
                "device-acknowledged"
            };
            check(
                status == want,
                &format!("{address} ({kind}) through {tdsp}"),
                want,
                format!("{status}: {detail}"),
            )?;
            if want == "device-acknowledged" {
                check(
                    detail.contains(vocabulary),
                    &format!("{address}: the head-end's own words"),
                    format!("a report carrying {vocabulary:?}"),
                    detail,
                )?;
            }
        }
        Ok(())
    })
}

/// E2E-LCE-ONCOR.
pub fn lce_oncor(_: &mut super::ctx::Ctx) -> Outcome {
    load_control_through(Tdsp::Oncor, "DemandResponseEventNotification")
}

/// E2E-LCE-CNP.
pub fn lce_centerpoint(_: &mut super::ctx::Ctx) -> Outcome {
    load_control_through(Tdsp::Centerpoint, "Report Event Status")
}

/// E2E-LCE-AEPC.
pub fn lce_aep_central(_: &mut super::ctx::Ctx) -> Outcome {
    load_control_through(Tdsp::AepTexasCentral, "(0.15.43.28")
}

/// E2E-LCE-AEPN.
pub fn lce_aep_north(_: &mut super::ctx::Ctx) -> Outcome {
    load_control_through(Tdsp::AepTexasNorth, "(0.15.43.28")
}

/// E2E-LCE-TNMP.
pub fn lce_tnmp(_: &mut super::ctx::Ctx) -> Outcome {
    load_control_through(Tdsp::Tnmp, "Report Event Status")
}

/// E2E-TEXT-001: a text to every display, addressed by device, through every TDSP.
pub fn text_to_displays(_: &mut super::ctx::Ctx) -> Outcome {
    with_lab(|lab| async move {
        let displays: Vec<String> = lab
            .devices(None)
            .into_iter()
            .filter(|d| d.2 == "in-home-display")
            .map(|d| d.1)
            .collect();
        let id = lab
            .send(
                "/v1/messages/text",
                &json!({"devices": displays, "message": {"text": "Peak pricing 2-6pm today"}}),
            )
            .await?;
        let m = lab.settled(id).await?;
        let got = statuses(&m);
        check(
            got.len() == displays.len() && got.iter().all(|(_, s, _)| s == "delivered"),
            "every display received the text",
            format!("{} addresses delivered", displays.len()),
            format!("{got:?}"),
        )
    })
}

/// E2E-CANCEL-001: a load-control event and its cancel; every thermostat and load-control
/// device reports the cancel with a Report Event Status of its own.
pub fn cancel_event(_: &mut super::ctx::Ctx) -> Outcome {
    with_lab(|lab| async move {
        let runners: Vec<String> = lab
            .devices(None)
            .into_iter()
            .filter(|d| d.2 != "in-home-display")
            .map(|d| d.0)
            .collect();
        let id = lab
            .send(
                "/v1/messages/load-control",
                &json!({"esiids": runners, "message": {"device_class": 65535, "duration_minutes": 600, "criticality": 2}}),
            )
            .await?;
        lab.settled(id).await?;
        let cancel = lab
            .send(
                &format!("/v1/messages/load-control/{id}/cancel"),
                &json!({}),
            )
            .await?;
        let m = lab.settled(cancel).await?;
        let got = statuses(&m);
        check(
            got.len() == runners.len() && got.iter().all(|(_, s, _)| s == "device-acknowledged"),
            "every device that ran the event reported its cancel",
            format!("{} addresses device-acknowledged", runners.len()),
            format!("{got:?}"),
        )
    })
}

/// E2E-AGREE-001: a meter without an agreement is refused by name and nothing is sent.
pub fn no_agreement(_: &mut super::ctx::Ctx) -> Outcome {
    with_lab(|lab| async move {
        let stranger = "10443720009999999";
        let known = lab
            .devices(None)
            .first()
            .map(|d| d.0.clone())
            .unwrap_or_default();
        let body = json!({"esiids": [known, stranger], "message": {"text": "hello"}});
        let (status, answer) = lab
            .client
            .post("/v1/messages/text", &body)
            .await
            .map_err(rig)?;
        let error = answer["error"].as_str().unwrap_or_default().to_string();
        check(
            status == 403 && error.contains(stranger) && !error.contains(&known),
            "the message is refused, naming the meter without an agreement",
            format!("403 naming {stranger} only"),
            format!("{status} {answer}"),
        )?;
        let (_, history) = lab.client.get("/v1/messages").await.map_err(rig)?;
        check(
            history == json!([]),
            "nothing was accepted",
            "an empty message history",
            history.to_string(),
        )
    })
}

/// Waits until device `eui64` leaves `pending`; its final view.
async fn provisioned(lab: &Lab, eui64: &str) -> Result<Value, CaseError> {
    let mut last = Value::Null;
    for _ in 0..600 {
        let (status, d) = lab
            .client
            .get(&format!("/v1/devices/{eui64}"))
            .await
            .map_err(rig)?;
        if status != 200 {
            return Err(rig(format!("GET /v1/devices/{eui64}: {status} {d}")));
        }
        if d["state"] != "pending" {
            return Ok(d);
        }
        last = d;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(fail(
        "the device stayed pending: its head-end never answered the pairing",
        "provisioned",
        last.to_string(),
    ))
}

/// E2E-DEVICE-001: a device replaced on one meter of every TDSP — removed (its agreements
/// end), new agreements by invitation and the customer's acceptance, added again with its
/// install code — is provisioned through each head-end style's pairing and then runs a
/// load-control event.
pub fn device_lifecycle(_: &mut super::ctx::Ctx) -> Outcome {
    with_lab(|lab| async move {
        let mut thermostats = Vec::new();
        for tdsp in Tdsp::ALL {
            if let Some(d) = lab
                .devices(Some(tdsp))
                .into_iter()
                .find(|d| d.2 == "thermostat")
            {
                thermostats.push((tdsp, d.0, d.1));
            }
        }
        for (tdsp, esiid, eui) in &thermostats {
            let (status, removed) = lab
                .client
                .post(
                    &format!("/v1/devices/{eui}/remove"),
                    &json!({"reason": "device-replaced"}),
                )
                .await
                .map_err(rig)?;
            check(
                status == 200,
                &format!("{tdsp}: removal"),
                "200",
                format!("{status} {removed}"),
            )?;
            let (status, refused) = lab.client.post("/v1/devices", &json!({
                "esiid": esiid, "eui64": eui, "install_code": hanrig_lab::INSTALL_CODE, "device_type": "thermostat"
            })).await.map_err(rig)?;
            check(
                status == 403,
                &format!("{tdsp}: the removal ended the In-Home Device Agreement"),
                "403 until the customer accepts a new one",
                format!("{status} {refused}"),
            )?;
            for body in [
                json!({"kind": "in-home-device", "esiid": esiid, "customer_email": "customer@example.com"}),
                json!({"kind": "in-home-device-services", "esiid": esiid, "device": eui,
                       "customer_email": "customer@example.com", "message_types": {"load_control": true}}),
            ] {
                let (status, a) = lab
                    .client
                    .post("/v1/agreements", &body)
                    .await
                    .map_err(rig)?;
                check(
                    status == 201,
                    &format!("{tdsp}: invitation"),
                    "201",
                    format!("{status} {a}"),
                )?;
            }
            lab.lab.answer_invitations(esiid, true).await.map_err(rig)?;
            let (status, added) = lab
                .client
                .post(
                    "/v1/devices",
                    &json!({
                        "esiid": esiid, "eui64": eui, "install_code": hanrig_lab::INSTALL_CODE,
                        "device_type": "thermostat", "description": "replacement"
                    }),
                )
                .await
                .map_err(rig)?;
            check(
                status == 202 && added["state"] == "pending",
                &format!("{tdsp}: the device is accepted, pending provisioning"),
                "202 pending",
                format!("{status} {added}"),
            )?;
        }
        for (tdsp, _, eui) in &thermostats {
            let d = provisioned(&lab, eui).await?;
            let events: Vec<&str> = d["history"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| h["event"].as_str())
                .collect();
            check(
                d["state"] == "provisioned"
                    && events.ends_with(&["requested", "sent", "provisioned"]),
                &format!("{tdsp}: provisioned through its head-end"),
                "provisioned, history … requested, sent, provisioned",
                d.to_string(),
            )?;
        }
        let devices: Vec<&String> = thermostats.iter().map(|t| &t.2).collect();
        let id = lab
            .send(
                "/v1/messages/load-control",
                &json!({"devices": devices, "message": {"device_class": 65535, "duration_minutes": 1, "criticality": 2}}),
            )
            .await?;
        let m = lab.settled(id).await?;
        let got = statuses(&m);
        check(
            got.len() == thermostats.len()
                && got.iter().all(|(_, s, _)| s == "device-acknowledged"),
            "every replaced thermostat runs the next event",
            format!("{} addresses device-acknowledged", thermostats.len()),
            format!("{got:?}"),
        )
    })
}

/// E2E-GROUP-001: through the job-style head-ends (CenterPoint, TNMP), the thermostats and
/// load-control devices are put in enrollment group 5 (Write Attributes, answered); then an
/// event for group 7 is ignored (delivered, no report) and one for group 5 runs (reported).
pub fn enrollment_group(_: &mut super::ctx::Ctx) -> Outcome {
    with_lab(|lab| async move {
        let runners: Vec<String> = [Tdsp::Centerpoint, Tdsp::Tnmp]
            .into_iter()
            .flat_map(|t| lab.devices(Some(t)))
            .filter(|d| d.2 != "in-home-display")
            .map(|d| d.0)
            .collect();
        let id = lab
            .send(
                "/v1/enrollment-groups",
                &json!({"esiids": runners, "group": 5}),
            )
            .await?;
        let got = statuses(&lab.settled(id).await?);
        check(
            got.len() == runners.len() && got.iter().all(|(_, s, _)| s == "device-acknowledged"),
            "every device answered the Write Attributes",
            format!("{} addresses device-acknowledged", runners.len()),
            format!("{got:?}"),
        )?;
        for (group, want) in [(7, "delivered"), (5, "device-acknowledged")] {
            let id = lab
                .send(
                    "/v1/messages/load-control",
                    &json!({"esiids": runners, "message": {"device_class": 65535, "enrollment_group": group,
                            "duration_minutes": 1, "criticality": 2}}),
                )
                .await?;
            let got = statuses(&lab.settled(id).await?);
            check(
                got.len() == runners.len() && got.iter().all(|(_, s, _)| s == want),
                &format!("an event for group {group}"),
                format!("{} addresses {want}", runners.len()),
                format!("{got:?}"),
            )?;
        }
        Ok(())
    })
}
