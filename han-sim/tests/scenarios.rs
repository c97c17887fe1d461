//! Every example scenario runs, and does what its description says.

#![allow(clippy::unwrap_used)]

use hanrig_sep::aps::FrameType as ApsFrameType;
use hanrig_sep::frame::{Keys, Protection, open};
use hanrig_sep::install_code::Key;
use hanrig_sim::scenario::{RunOutput, Scenario, Simulate};
use serde_json::Value;

fn run(name: &str) -> RunOutput {
    let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    Scenario::parse(&text)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .run()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn statuses(run: &RunOutput, node: &str, event_id: u64) -> Vec<(String, u64)> {
    run.log
        .find(Some(node), "event_status")
        .filter(|e| e["issuer_event_id"] == event_id)
        .map(|e| {
            (
                e["event_status_name"].as_str().unwrap().to_string(),
                e["t_us"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn names(list: &[(String, u64)]) -> Vec<&str> {
    list.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn every_example_scenario_parses_and_runs() {
    let dir = format!("{}/scenarios", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let run = Scenario::parse(&std::fs::read_to_string(&path).unwrap())
                .unwrap()
                .run()
                .unwrap();
            assert!(!run.capture.is_empty(), "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 6, "{count} scenarios");
}

#[test]
fn devices_join_by_install_code_and_a_wrong_code_stays_out() {
    let run = run("join");
    for device in ["ihd", "thermostat"] {
        assert_eq!(run.log.find(Some(device), "joined").count(), 1, "{device}");
    }
    assert_eq!(run.log.find(Some("intruder"), "joined").count(), 0);
    assert_eq!(run.log.find(Some("intruder"), "associated").count(), 1);
    assert_eq!(
        run.log
            .find(Some("intruder"), "transport_key_rejected")
            .count(),
        1
    );

    // No frame of the intruder reaches an SE cluster: with every key of the scenario, the
    // only frames from its EUI64 are MAC commands (association).
    let keys: Vec<Key> = run.keys.keys.iter().map(|(k, _)| *k).collect();
    let intruder: hanrig_sep::Eui64 = "00:12:4b:00:01:02:03:06".parse().unwrap();
    let mut from_intruder = 0;
    for (_, _, frame) in &run.capture {
        let mut bytes = frame.clone();
        let opened = open(
            &mut bytes,
            &Keys {
                network: &keys,
                link: &keys,
            },
        )
        .unwrap();
        let src = opened.nwk.as_ref().and_then(|n| n.src_ieee);
        let mac_src = opened.mac.src;
        if src == Some(intruder) || mac_src == hanrig_sep::mac::Address::Extended(intruder) {
            from_intruder += 1;
            assert!(
                opened
                    .aps
                    .as_ref()
                    .is_none_or(|a| a.frame_type != ApsFrameType::Data),
                "intruder sent data"
            );
        }
    }
    assert_eq!(from_intruder, 1, "only its Association Request");
    // The joined display asked for the price, the last message and the meter.
    assert!(run.log.find(Some("ihd"), "metering_display").count() >= 1);
}

#[test]
fn the_meter_refuses_devices_beyond_its_limit() {
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/join.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let text = text.replace("channel = 15\n", "channel = 15\ndevice_limit = 1\n");
    let run = Scenario::parse(&text).unwrap().run().unwrap();
    assert_eq!(run.log.find(Some("ihd"), "joined").count(), 1);
    assert_eq!(
        run.log
            .find(Some("thermostat"), "association_refused")
            .next()
            .unwrap()["status"],
        1
    );
    let refused: Vec<&Value> = run.log.find(Some("esi"), "join_refused").collect();
    assert!(
        refused[0]["reason"]
            .as_str()
            .unwrap()
            .contains("device limit of 1"),
        "{refused:?}"
    );
}

#[test]
fn a_published_price_is_shown_and_acknowledged() {
    let run = run("price");
    let acks: Vec<&Value> = run.log.find(Some("esi"), "price_acknowledgement").collect();
    assert_eq!(acks.len(), 2, "display and thermostat acknowledge");
    assert!(acks.iter().all(|a| a["issuer_event_id"] == 1001));
    for device in ["ihd", "thermostat"] {
        assert!(
            run.log
                .find(Some(device), "price_changed")
                .any(|e| e["price"] == 1250),
            "{device}"
        );
    }
}

#[test]
fn a_message_requiring_confirmation_is_confirmed() {
    let run = run("message");
    let shown = run
        .log
        .find(Some("ihd"), "message_shown")
        .find(|e| e["message_id"] == 42)
        .unwrap();
    assert_eq!(shown["confirmation_required"], true);
    assert_eq!(shown["text"], "Peak pricing 2-6 pm today");
    let confirmations: Vec<&Value> = run.log.find(Some("esi"), "message_confirmation").collect();
    assert_eq!(confirmations.len(), 1);
    assert_eq!(confirmations[0]["message_id"], 42);
    // Shown for 10 minutes from 14:01, then cleared.
    let cleared = run.log.find(Some("ihd"), "message_cleared").next().unwrap();
    assert_eq!(cleared["time"], "2026-07-01T14:11:00Z");
}

#[test]
fn a_randomised_load_control_event_runs_to_completion_inside_its_windows() {
    let run = run("load-control");
    let sent = 5 * 60 + 10 * 60; // step at 5m, start 10m later
    for device in ["thermostat", "water-heater"] {
        let s = statuses(&run, device, 2001);
        assert_eq!(
            names(&s),
            ["CommandReceived", "Started", "Completed"],
            "{device}"
        );
        let t0 = run.log.events[0]["t_us"].as_u64().unwrap(); // the first join, at the scenario start
        let start_offset = (s[1].1 - t0) / 1_000_000;
        let end_offset = (s[2].1 - t0) / 1_000_000;
        assert!(
            (sent..=sent + 30 * 60).contains(&start_offset),
            "{device} started at +{start_offset}s"
        );
        assert!(
            (sent + 3600..=sent + 3600 + 15 * 60).contains(&end_offset),
            "{device} ended at +{end_offset}s"
        );
        // The meter heard every report.
        let at_meter: Vec<&Value> = run
            .log
            .find(Some("esi"), "report_event_status")
            .filter(|e| e["issuer_event_id"] == 2001)
            .collect();
        assert_eq!(at_meter.len(), 6);
    }
    let applied = run
        .log
        .find(Some("water-heater"), "load_control_applied")
        .next()
        .unwrap();
    assert_eq!(applied["load_on"], false);
    let restored = run
        .log
        .find(Some("water-heater"), "load_control_restored")
        .next()
        .unwrap();
    assert_eq!(restored["load_on"], true);
    let applied = run
        .log
        .find(Some("thermostat"), "load_control_applied")
        .next()
        .unwrap();
    assert_eq!(
        applied["set_points"][0], 2600,
        "cooling 24.00 °C + 2.0 °C offset"
    );
}

#[test]
fn an_overlapping_event_supersedes_the_scheduled_one() {
    let run = run("superseded");
    assert_eq!(
        names(&statuses(&run, "thermostat", 3001)),
        ["CommandReceived", "Superseded"]
    );
    assert_eq!(
        names(&statuses(&run, "thermostat", 3002)),
        ["CommandReceived", "Started", "Completed"]
    );
    let applied = run
        .log
        .find(Some("thermostat"), "load_control_applied")
        .next()
        .unwrap();
    assert_eq!(applied["set_points"][0], 2700);
}

#[test]
fn a_running_event_is_cancelled_at_its_effective_time() {
    let run = run("cancelled");
    let s = statuses(&run, "pool-pump", 4001);
    assert_eq!(names(&s), ["CommandReceived", "Started", "Cancelled"]);
    let cancelled_at = run
        .log
        .find(Some("pool-pump"), "event_status")
        .find(|e| e["event_status_name"] == "Cancelled")
        .unwrap();
    assert_eq!(cancelled_at["time"], "2026-07-01T14:36:00Z");
    let restored = run
        .log
        .find(Some("pool-pump"), "load_control_restored")
        .next()
        .unwrap();
    assert_eq!(restored["time"], "2026-07-01T14:36:00Z");
}

#[test]
fn the_same_scenario_and_seed_give_identical_captures() {
    for name in ["join", "load-control"] {
        let (a, b) = (run(name), run(name));
        assert_eq!(a.capture, b.capture, "{name}");
        assert_eq!(a.log.to_json_lines(), b.log.to_json_lines(), "{name}");
    }
}

#[test]
fn a_two_hour_event_runs_in_well_under_a_second_of_wall_time_and_many_frames() {
    // Not a timing assertion: virtual time must run the whole three hours, frames included.
    let run = run("load-control");
    let last = run.capture.last().unwrap().0;
    let first = run.capture.first().unwrap().0;
    assert!(
        last.0 - first.0 > 3600 * 1_000_000,
        "the run covered over an hour of virtual time"
    );
}

#[test]
fn bad_scenarios_are_named() {
    let base = std::fs::read_to_string(format!(
        "{}/scenarios/join.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    for (from, to, expect) in [
        (
            "kind = \"thermostat\"",
            "kind = \"toaster\"",
            "kind \"toaster\"",
        ),
        (
            "install_code = \"11223344556677884AF7\"",
            "install_code = \"11223344556677884AF8\"",
            "CRC mismatch",
        ),
        (
            "meter = \"esi\"\njoin_at = \"2s\"",
            "meter = \"gas\"\njoin_at = \"2s\"",
            "no meter called \"gas\"",
        ),
        (
            "duration = \"2m\"",
            "duration = \"2 minutes\"",
            "bad duration",
        ),
        ("channel = 15", "channel = 9", "channel 9"),
        (
            "pan = 0x1a62",
            "pan = 0x1a62\ncolour = \"red\"",
            "unknown field",
        ),
    ] {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        let err = Scenario::parse(&text)
            .and_then(|s| s.run())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{to}: {err}");
    }
}

fn with_medium(name: &str, medium: &str) -> RunOutput {
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let text = text.replacen(
        "\n[[meter]]",
        &format!("\n[medium]\n{medium}\n\n[[meter]]"),
        1,
    );
    Scenario::parse(&text).unwrap().run().unwrap()
}

#[test]
fn duplicated_frames_are_dropped_by_the_frame_counter_check() {
    // Every frame arrives twice; the receivers' NWK/APS frame-counter checks drop the copies,
    // so the meter records each report once.
    let run = with_medium("load-control", "duplication = 1.0");
    for device in ["thermostat", "water-heater"] {
        assert_eq!(
            names(&statuses(&run, device, 2001)),
            ["CommandReceived", "Started", "Completed"],
            "{device}"
        );
    }
    let at_meter = run.log.find(Some("esi"), "report_event_status").count();
    assert_eq!(at_meter, 6, "each of 2 devices × 3 reports, once");
}

#[test]
fn lossy_runs_are_deterministic_for_a_seed_and_lose_frames() {
    let a = with_medium("price", "loss = 0.3");
    let b = with_medium("price", "loss = 0.3");
    assert_eq!(a.capture, b.capture);
    assert_eq!(a.log.to_json_lines(), b.log.to_json_lines());
    let clean = run("price");
    // With 30 % loss per receiver, not every exchange completes as on a clean medium.
    let acks = |r: &RunOutput| r.log.find(Some("esi"), "price_acknowledgement").count();
    let joined = |r: &RunOutput| r.log.find(None, "joined").count();
    assert!(
        acks(&a) + joined(&a) < acks(&clean) + joined(&clean),
        "loss changed nothing"
    );
}

#[test]
fn devices_run_cbke_and_se_traffic_uses_the_derived_keys_while_a_foreign_certificate_stays_out() {
    let run = run("cbke");
    for device in ["ihd", "thermostat"] {
        assert_eq!(
            run.log.find(Some(device), "cbke_established").count(),
            1,
            "{device}"
        );
        assert_eq!(
            run.log.find(Some(device), "price_changed").count(),
            1,
            "{device}"
        );
    }
    assert_eq!(run.log.find(Some("esi"), "cbke_established").count(), 2);
    // The thermostat acts on the event the ESI sent under its derived key.
    let statuses = statuses(&run, "thermostat", 2001);
    assert_eq!(
        names(&statuses),
        ["CommandReceived", "Started", "Completed"]
    );

    // The water heater: UNKNOWN_ISSUER three times, then it gives up; no SE traffic reaches it.
    let failed: Vec<_> = run.log.find(Some("water-heater"), "cbke_failed").collect();
    assert_eq!(failed.len(), 3);
    assert!(
        failed
            .iter()
            .all(|e| e["reason"].as_str().unwrap().contains("UnknownIssuer"))
    );
    assert_eq!(
        run.log
            .find(Some("water-heater"), "zcl_received")
            .filter(|e| e["frame"]["cluster"] != 0x0800)
            .count(),
        0
    );
    assert_eq!(
        run.log.find(Some("water-heater"), "event_status").count(),
        0
    );

    // The key file holds the two derived keys, and with it every APS-secured frame opens; the
    // SE frames after CBKE open only under the derived keys, not the install-code keys.
    let cbke_keys: Vec<Key> = run
        .keys
        .keys
        .iter()
        .filter(|(_, l)| l.contains("CBKE"))
        .map(|(k, _)| *k)
        .collect();
    assert_eq!(cbke_keys.len(), 2);
    let network: Vec<Key> = run
        .keys
        .keys
        .iter()
        .filter(|(_, l)| l.contains("network"))
        .map(|(k, _)| *k)
        .collect();
    let all: Vec<Key> = run.keys.keys.iter().map(|(k, _)| *k).collect();
    let install: Vec<Key> = run
        .keys
        .keys
        .iter()
        .filter(|(_, l)| l.contains("install code"))
        .map(|(k, _)| *k)
        .collect();
    let mut under_cbke = 0;
    for (_, _, frame) in &run.capture {
        let mut buf = frame.clone();
        let opened = open(
            &mut buf,
            &Keys {
                network: &network,
                link: &all,
            },
        )
        .unwrap();
        if opened
            .aps
            .as_ref()
            .is_some_and(|a| a.security.is_some() && a.frame_type == ApsFrameType::Data)
        {
            assert!(
                matches!(opened.aps_protection, Protection::Decrypted { .. }),
                "{opened:?}"
            );
            let mut again = frame.clone();
            let with_install = open(
                &mut again,
                &Keys {
                    network: &network,
                    link: &install,
                },
            )
            .unwrap();
            if !matches!(with_install.aps_protection, Protection::Decrypted { .. }) {
                under_cbke += 1;
            }
        }
    }
    assert!(under_cbke >= 8, "{under_cbke} frames under CBKE keys");
}

#[test]
fn an_impostor_ca_and_a_broken_confirm_fail_key_confirmation_and_a_device_without_cbke_is_refused_se()
 {
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/cbke.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(r#"cbke = "foreign-issuer""#, r#"cbke = "impostor-ca""#)
    .replace(
        "join_at = \"2s\"\n",
        "join_at = \"2s\"\ncbke = \"broken-confirm\"\n",
    )
    .replace(
        "meter = \"esi\"\n\n[[device]]\nname = \"thermostat\"",
        "meter = \"esi\"\ncbke = \"none\"\n\n[[device]]\nname = \"thermostat\"",
    );
    let run = Scenario::parse(&text).unwrap().run().unwrap();
    for device in ["00:12:4b:00:01:02:03:05", "00:12:4b:00:01:02:03:07"] {
        let failed: Vec<_> = run
            .log
            .find(Some("esi"), "cbke_failed")
            .filter(|e| e["device"] == device)
            .collect();
        assert_eq!(failed.len(), 3, "{device}");
        assert!(
            failed
                .iter()
                .all(|e| e["reason"] == "Refused(BadKeyConfirm)"),
            "{failed:?}"
        );
    }
    // The display has no certificate: its Get Current Price is refused until it would have one.
    assert!(
        run.log
            .find(Some("esi"), "refused_before_cbke")
            .any(|e| e["device"] == "00:12:4b:00:01:02:03:04")
    );
    for device in ["ihd", "thermostat", "water-heater"] {
        assert_eq!(
            run.log.find(Some(device), "price_changed").count(),
            0,
            "{device}"
        );
    }
    assert!(run.keys.keys.iter().all(|(_, l)| !l.contains("CBKE")));
}

#[test]
fn a_scenario_names_an_unknown_cbke_kind() {
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/cbke.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(r#"cbke = "foreign-issuer""#, r#"cbke = "forged""#);
    let err = Scenario::parse(&text)
        .unwrap()
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("water-heater") && err.contains("forged") && err.contains("foreign-issuer"),
        "{err}"
    );
}

#[test]
fn a_meter_cbke_fault_is_named_and_needs_cbke() {
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/cbke.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let unknown = text.replace("cbke = true\n", "cbke = true\ncbke_fault = \"sleepy\"\n");
    let err = Scenario::parse(&unknown)
        .unwrap()
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("sleepy") && err.contains("wrong-confirm") && err.contains("busy"),
        "{err}"
    );
    let without = text.replace("cbke = true\n", "cbke_fault = \"busy\"\n");
    let err = Scenario::parse(&without)
        .unwrap()
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs cbke = true"), "{err}");
}

#[test]
fn a_busy_esi_refuses_the_first_attempt_and_the_devices_wait_before_trying_again() {
    let text = std::fs::read_to_string(format!(
        "{}/scenarios/cbke.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace("cbke = true\n", "cbke = true\ncbke_fault = \"busy\"\n");
    let run = Scenario::parse(&text)
        .unwrap()
        .build()
        .unwrap()
        .run()
        .unwrap();
    let failed: Vec<_> = run.log.find(Some("esi"), "cbke_established").collect();
    assert_eq!(
        failed.len(),
        2,
        "both good devices get a key on their second attempt"
    );
    // The first refusal asks for hanrig_sim::cbke::BUSY_WAIT_S; the device that was refused
    // started again no sooner.
    let refused = run
        .log
        .events
        .iter()
        .find(|e| {
            e["event"] == "cbke_failed"
                && e["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("NoResources"))
        })
        .expect("a refusal");
    let who = refused["node"].as_str().unwrap().to_string();
    let t0 = refused["t_us"].as_u64().unwrap();
    let again = run
        .log
        .find(Some(&who), "cbke_started")
        .map(|e| e["t_us"].as_u64().unwrap())
        .find(|t| *t > t0)
        .expect("a second attempt");
    assert!(
        again - t0 >= u64::from(hanrig_sim::cbke::BUSY_WAIT_S) * 1_000_000,
        "{who} tried again after {} µs",
        again - t0
    );
}
