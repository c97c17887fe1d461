//! The conformance harness on the simulated rig: the healthy devices and meter pass every
//! case, every mutant fails at least one, and the reports list every case.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use hanrig_conformance::cases::CASES;
use hanrig_conformance::model::{Suite, Verdict};
use hanrig_conformance::runner::{run_case, run_cases, select};
use hanrig_rig::OpenRig;
use hanrig_scenario::mutant::Mutant;

/// A rig opened from its file, as `hanrig run` opens it.
type Rig = Arc<dyn hanrig_conformance::rig::Rig>;

fn open(path: &Path) -> Result<Rig, String> {
    Ok(Arc::new(OpenRig::open(path)?))
}

fn sim_rig() -> Rig {
    open(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rigs/sim.toml"
    )))
    .unwrap()
}

/// `rigs/<file>` with `edit` applied, written where `OpenRig::open` reads it (under a name of this
/// test process's own, `tag`).
fn rig_file(file: &str, tag: &str, edit: impl FnOnce(String) -> String) -> Rig {
    open(&rig_path(file, tag, edit)).unwrap()
}

/// Where [`rig_file`] writes `rigs/<file>` with `edit` applied.
fn rig_path(file: &str, tag: &str, edit: impl FnOnce(String) -> String) -> std::path::PathBuf {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../rigs/");
    let text = edit(std::fs::read_to_string(format!("{root}{file}")).unwrap());
    let dir = std::env::temp_dir().join(format!("hanrig-rig-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// The sim-serial rig at EZSP `version`: the rig's ESI on this host, through the host driver
/// and tokio-serial, to the simulated co-processor on a pseudo-terminal.
fn sim_serial_rig(version: u8) -> Rig {
    let rig = OpenRig::open(&rig_path(
        "sim-serial.toml",
        &format!("ezsp-{version}"),
        |t| t.replace("ezsp_version = 13", &format!("ezsp_version = {version}")),
    ))
    .unwrap();
    assert_eq!(rig.radio().map(|r| r.ezsp_version), Some(version));
    Arc::new(rig)
}

/// The black-box rig: each case's DUT is a `hanrig sim dut` process of its own.
fn blackbox_rig() -> Rig {
    rig_file("sim-blackbox.toml", "blackbox", |t| {
        t.replace(
            "[dut]\n",
            &format!("[dut]\nprogram = {:?}\n", env!("CARGO_BIN_EXE_hanrig")),
        )
    })
}

#[test]
fn on_the_black_box_rig_the_healthy_devices_pass_and_every_mutant_fails_as_in_process() {
    let (blackbox, sim) = (blackbox_rig(), sim_rig());
    let failed = failing(&blackbox, None);
    assert!(failed.is_empty(), "{failed:#?}");
    for (mutant, name, _) in Mutant::ALL.into_iter().filter(|(m, _, _)| !m.is_meter()) {
        let there = failing(&blackbox, Some(mutant));
        assert!(
            !there.is_empty(),
            "mutant {name} passed every case on the black-box rig"
        );
        assert_eq!(there, failing(&sim, Some(mutant)), "mutant {name}");
    }
}

#[test]
fn on_the_black_box_rig_a_meter_in_its_own_process_passes_and_every_meter_mutant_fails_as_in_process()
 {
    let (blackbox, sim) = (blackbox_rig(), sim_rig());
    let failing_meter = |rig: &Rig, mutant| failing_in(rig, "meter", mutant);
    let failed = failing_meter(&blackbox, None);
    assert!(failed.is_empty(), "{failed:#?}");
    for (mutant, name, _) in Mutant::ALL.into_iter().filter(|(m, _, _)| m.is_meter()) {
        let there = failing_meter(&blackbox, Some(mutant));
        assert!(
            !there.is_empty(),
            "meter mutant {name} passed every case on the black-box rig"
        );
        assert_eq!(
            there,
            failing_meter(&sim, Some(mutant)),
            "meter mutant {name}"
        );
    }
}

#[test]
fn a_black_box_dut_that_cannot_start_is_a_rig_failure_naming_the_program() {
    let rig = rig_file("sim-blackbox.toml", "blackbox-bad", |t| {
        t.replace("[dut]\n", "[dut]\nprogram = \"/nonexistent/hanrig\"\n")
    });
    let case = select(None, &["DEV-DRLC-001".into()]).unwrap()[0];
    let r = run_case(&rig, case, None, None);
    assert_eq!(r.verdict, Verdict::RigError);
    assert!(r.message.contains("/nonexistent/hanrig"), "{}", r.message);
}

/// The cases of `suite` that `mutant` does not pass on `rig`, with verdict and message.
fn failing_in(rig: &Rig, suite: &str, mutant: Option<Mutant>) -> Vec<String> {
    run_cases(
        rig,
        &select(Some(suite), &[]).unwrap(),
        mutant,
        None,
        4,
        |_| {},
    )
    .into_iter()
    .filter(|r| r.verdict != Verdict::Pass)
    .map(|r| format!("{} {} {}", r.id, r.verdict.name(), r.message))
    .collect()
}

/// [`failing_in`] over the device suite.
fn failing(rig: &Rig, mutant: Option<Mutant>) -> Vec<String> {
    failing_in(rig, "device", mutant)
}

#[test]
fn through_the_host_driver_the_healthy_devices_pass_every_device_case_at_ezsp_13_and_14() {
    for version in [13, 14] {
        let rig = sim_serial_rig(version);
        let failed = failing(&rig, None);
        assert!(failed.is_empty(), "EZSP v{version}: {failed:#?}");
    }
}

#[test]
fn through_the_host_driver_every_mutant_fails_the_same_cases_as_in_process() {
    let (serial, sim) = (sim_serial_rig(13), sim_rig());
    for (mutant, name, _) in Mutant::ALL.into_iter().filter(|(m, _, _)| !m.is_meter()) {
        let over_serial = failing(&serial, Some(mutant));
        assert!(!over_serial.is_empty(), "mutant {name} passed every case");
        assert_eq!(over_serial, failing(&sim, Some(mutant)), "mutant {name}");
    }
}

#[test]
fn a_sim_serial_rig_is_checked_when_opened() {
    let dir = std::env::temp_dir().join(format!("hanrig-badrig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../rigs/sim-serial.toml"
    ))
    .unwrap();
    for (from, to, says) in [
        (
            "port = \"pty\"",
            "port = \"/dev/ttyUSB0\"",
            "port = \"pty\"",
        ),
        (
            "\"load-control\"]",
            "\"load-control\", \"meter\"]",
            "not a meter",
        ),
        ("ezsp_version = 13", "ezsp_version = 8", "EZSP 13 or later"),
    ] {
        let path = dir.join("rig.toml");
        std::fs::write(&path, base.replace(from, to)).unwrap();
        let e = open(&path).unwrap_err();
        assert!(e.contains(says), "{e}");
    }
}

#[test]
fn there_are_at_least_60_cases_with_unique_ids_and_every_field() {
    assert!(CASES.len() >= 60, "{}", CASES.len());
    let mut ids: Vec<&str> = CASES.iter().map(|c| c.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), CASES.len(), "duplicate IDs");
    for c in CASES.iter() {
        assert!(
            !c.title.is_empty()
                && !c.clause.is_empty()
                && !c.preconditions.is_empty()
                && !c.steps.is_empty()
                && !c.expected.is_empty(),
            "{}",
            c.id
        );
    }
    assert!(
        CASES.iter().any(|c| c.suite == Suite::Meter)
            && CASES.iter().any(|c| c.suite == Suite::Device)
            && CASES.iter().any(|c| c.suite == Suite::E2e)
    );
}

#[test]
fn the_healthy_simulated_devices_and_meter_pass_every_case_run_eight_at_once() {
    let rig = sim_rig();
    let all = select(None, &[]).unwrap();
    let mut finished = Vec::new();
    let results = run_cases(&rig, &all, None, None, 8, |r| finished.push(r.id.clone()));
    // Every case ran once, and the results come back in the catalogue's order.
    assert_eq!(
        results.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        CASES.iter().map(|c| c.id.to_string()).collect::<Vec<_>>()
    );
    finished.sort();
    let mut catalogue: Vec<String> = CASES.iter().map(|c| c.id.to_string()).collect();
    catalogue.sort();
    assert_eq!(finished, catalogue);
    let failed: Vec<String> = results
        .into_iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| {
            format!(
                "{}: {} (expected {:?}, observed {:?})",
                r.id, r.message, r.expected_observation, r.observed
            )
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn every_mutant_fails_at_least_one_device_case() {
    let rig = sim_rig();
    let device_cases = select(Some("device"), &[]).unwrap();
    for (mutant, name, _) in Mutant::ALL.into_iter().filter(|(m, _, _)| !m.is_meter()) {
        let caught: Vec<String> = device_cases
            .iter()
            .map(|c| run_case(&rig, c, Some(mutant), None))
            .filter(|r| r.verdict == Verdict::Fail)
            .map(|r| r.id)
            .collect();
        assert!(!caught.is_empty(), "mutant {name} passed every device case");
    }
}

#[test]
fn a_failure_says_what_was_expected_and_what_was_observed() {
    let rig = sim_rig();
    let case = select(None, &["DEV-DRLC-006".into()]).unwrap()[0];
    let result = run_case(&rig, case, Some(Mutant::WrongEventStatus), None);
    assert_eq!(result.verdict, Verdict::Fail);
    assert_eq!(
        result.expected_observation.as_deref(),
        Some("CommandReceived in [60, 61] s, Started in [60, 61] s, Cancelled in [660, 661] s")
    );
    assert_eq!(
        result.observed.as_deref(),
        Some("CommandReceived (0x01) at 60 s, Started (0x02) at 60 s, Completed (0x03) at 660 s")
    );
    assert!(result.frames.iter().any(|f| {
        f.zcl
            .as_ref()
            .is_some_and(|z| z["command"]["name"] == "report_event_status")
    }));
}

fn hanrig(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn run_exits_0_when_all_pass_1_when_the_dut_fails_2_when_the_rig_fails() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let sim = format!("{root}/rigs/sim.toml");
    let ok = hanrig(&["run", "--rig", &sim, "--suite", "meter"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let text = String::from_utf8(ok.stdout).unwrap();
    assert!(
        text.contains("28 passed, 0 failed") || text.contains(" passed, 0 failed"),
        "{text}"
    );

    let bad = hanrig(&[
        "run",
        "--rig",
        &sim,
        "--case",
        "DEV-MSG-002",
        "--mutant",
        "no-message-confirmation",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("FAIL DEV-MSG-002"));

    let o = hanrig(&["run", "--rig", &format!("{root}/rigs/example-lab.toml")]);
    assert_eq!(o.status.code(), Some(2));
    // Off the bench every missing device is named: the radio and the DUT's lines.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("missing hardware")
            && stderr.contains("ezsp co-processor: /dev/ttyUSB0 does not exist")
            && stderr.contains("GPIO"),
        "{stderr}"
    );
    let serial = format!("{root}/rigs/sim-serial.toml");
    let o = hanrig(&["run", "--rig", &serial, "--suite", "device"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = hanrig(&["run", "--rig", &sim, "--mutant", "gremlin"]);
    assert_eq!(o.status.code(), Some(2));
    let o = hanrig(&["run", "--rig", &sim, "--case", "NOPE-1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn run_writes_junit_json_html_and_a_capture_per_case() {
    let dir = std::env::temp_dir().join(format!("hanrig-run-{}", std::process::id()));
    let sim = concat!(env!("CARGO_MANIFEST_DIR"), "/../rigs/sim.toml");
    let o = hanrig(&["run", "--rig", sim, "--report-dir", dir.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let junit = std::fs::read_to_string(dir.join("report.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&junit);
    let mut testcases = 0;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == b"testcase" =>
            {
                testcases += 1
            }
            _ => {}
        }
    }
    assert_eq!(testcases, CASES.len());
    for c in CASES.iter() {
        assert!(junit.contains(c.id), "{}", c.id);
        // The e2e cases talk to the gateway over HTTP: no radio capture of their own.
        if c.suite == Suite::E2e {
            continue;
        }
        assert!(
            dir.join("captures")
                .join(format!("{}.pcapng", c.id))
                .exists(),
            "{}",
            c.id
        );
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["cases"].as_array().unwrap().len(), CASES.len());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("DEV-DRLC-004") && html.contains("MET-TC-004"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs one case with `mutant` on the in-process rig.
fn one(id: &str, mutant: Mutant) -> hanrig_conformance::model::CaseResult {
    let case = select(None, &[id.into()]).unwrap()[0];
    run_case(&sim_rig(), case, Some(mutant), None)
}

#[test]
fn a_report_without_its_signature_is_decoded_as_far_as_it_goes_and_the_deviation_named() {
    let r = one("DEV-DRLC-001", Mutant::ReportWithoutSignature);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.message.contains("Report Event Status") && r.message.contains("deviates from SE 1.0"),
        "{}",
        r.message
    );
    assert!(r.message.contains("signature"), "{}", r.message);
    // 18 bytes of fields after the 3-byte ZCL header, and no signature.
    assert!(
        r.observed.as_deref().unwrap().starts_with("21 bytes: "),
        "{:?}",
        r.observed
    );
}

#[test]
fn a_time_in_the_wrong_epoch_is_caught_from_the_bytes_on_the_air() {
    let r = one("DEV-DRLC-001", Mutant::EventStatusTimeUnixEpoch);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.message.contains("Event Status Time"), "{}", r.message);
    assert!(r.message.contains("2000-01-01"), "{}", r.message);
    let r = one("DEV-MSG-002", Mutant::ConfirmationTimeUnixEpoch);
    assert!(r.message.contains("Confirmation Time"), "{}", r.message);
}

#[test]
fn an_echo_field_that_differs_from_the_event_names_the_field_and_both_values() {
    let r = one("DEV-DRLC-025", Mutant::CriticalityNotEchoed);
    assert!(
        r.message
            .contains("Criticality Level Applied does not echo"),
        "{}",
        r.message
    );
    assert_eq!(r.expected_observation.as_deref(), Some("0x0007"));
    assert_eq!(r.observed.as_deref(), Some("0x0000"));
    let r = one("DEV-DRLC-001", Mutant::SetPointZeroWhenUnused);
    assert!(
        r.message.contains("Cooling Temperature Set Point Applied"),
        "{}",
        r.message
    );
    assert_eq!(r.expected_observation.as_deref(), Some("0x8000"));
}

#[test]
fn instrument_verdicts_name_the_instrument_and_what_it_saw() {
    let r = one("DEV-DRLC-028", Mutant::RelayNotRestoredOnCancel);
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        r.message.starts_with("relay-sense line at 661.0 s"),
        "{}",
        r.message
    );
    assert_eq!(
        r.observed.as_deref(),
        Some("relay-sense line: de-energised")
    );
    // The report says where the verdict came from: the relay line and the frames on the air.
    assert!(r.evidence.iter().any(|e| e.source == "relay-sense line"
        && e.at_s == 661.0
        && e.what.ends_with("no: de-energised")));
    assert!(
        r.evidence
            .iter()
            .any(|e| e.source == "air" && e.what.contains("under the network key"))
    );
    assert!(r.timeline.marks.iter().any(|m| m.holds == Some(false)));
    let healthy = run_case(
        &sim_rig(),
        select(None, &["DEV-DRLC-006".into()]).unwrap()[0],
        None,
        None,
    );
    assert!(
        healthy
            .timeline
            .windows
            .iter()
            .any(|w| w.label == "Cancelled of event 6" && (w.from_s, w.to_s) == (660.0, 661.0))
    );
    assert!(
        healthy
            .timeline
            .marks
            .iter()
            .any(|m| m.judged && m.label == "report_event_status")
    );
    let r = one("DEV-MET-002", Mutant::WrongSummationFormatting);
    assert!(r.message.starts_with("operator at 31.0 s"), "{}", r.message);
    assert_eq!(
        r.expected_observation.as_deref(),
        Some("does the display show the summation 00123.456 kWh?")
    );
}

#[test]
fn there_are_at_least_25_device_mutants_and_8_meter_mutants() {
    let meters = Mutant::ALL.iter().filter(|(m, _, _)| m.is_meter()).count();
    assert!(
        Mutant::ALL.len() - meters >= 25,
        "{}",
        Mutant::ALL.len() - meters
    );
    assert!(meters >= 8, "{meters}");
}

#[test]
fn every_meter_mutant_fails_at_least_one_meter_case_and_no_device_case_sees_it() {
    let rig = sim_rig();
    let meter_cases = select(Some("meter"), &[]).unwrap();
    let device_cases = select(Some("device"), &[]).unwrap();
    for (mutant, name, _) in Mutant::ALL.into_iter().filter(|(m, _, _)| m.is_meter()) {
        let caught: Vec<String> = meter_cases
            .iter()
            .map(|c| run_case(&rig, c, Some(mutant), None))
            .filter(|r| r.verdict == Verdict::Fail)
            .map(|r| r.id)
            .collect();
        assert!(
            !caught.is_empty(),
            "meter mutant {name} passed every meter case"
        );
        // A broken meter replaces meter DUTs only: the device suite's rig meter stays healthy.
        let case = device_cases[0];
        assert_eq!(
            run_case(&rig, case, Some(mutant), None).verdict,
            Verdict::Pass,
            "{name}"
        );
    }
}

#[test]
fn list_shows_cases_and_mutants() {
    let o = hanrig(&["list", "--suite", "meter"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("MET-TC-001") && !text.contains("DEV-JOIN-001"));
    let o = hanrig(&["list", "--mutants"]);
    let text = String::from_utf8(o.stdout).unwrap();
    for (_, name, _) in Mutant::ALL {
        assert!(text.contains(name), "{name}");
    }
}

#[test]
fn a_case_needing_an_instrument_the_rig_lacks_is_skipped_with_the_reason_never_passed() {
    let rig = rig_file("sim.toml", "instruments", |t| {
        t + "\n[instruments]\nrelay_sense = \"none\"\noperator = \"none\"\n"
    });
    let run = |id: &str| run_case(&rig, select(None, &[id.into()]).unwrap()[0], None, None);
    let relay = run("DEV-DRLC-021");
    assert_eq!(relay.verdict, Verdict::Skipped);
    assert!(
        relay.message.contains("relay-sense line")
            && relay.message.contains("[instruments] relay_sense"),
        "{}",
        relay.message
    );
    let display = run("DEV-MSG-001");
    assert_eq!(display.verdict, Verdict::Skipped);
    assert!(
        display.message.contains("[instruments] operator"),
        "{}",
        display.message
    );
    // A person's action at the DUT needs the operator too.
    let opt_out = run("DEV-DRLC-017");
    assert_eq!(opt_out.verdict, Verdict::Skipped);
    assert!(opt_out.message.contains("buttons"), "{}", opt_out.message);
    // Cases judged from the air alone still run.
    assert_eq!(run("DEV-DRLC-001").verdict, Verdict::Pass);
}

#[test]
fn the_conformance_harness_cannot_reach_the_simulator() {
    // Structural: the cases, the runner and the reports see a rig's air and instruments through
    // `hanrig_conformance::rig::Rig`; the rigs (`hanrig-rig`) are the only bridge to the
    // simulator, and the harness does not depend on them or on it. The lab the e2e suite starts
    // runs the simulator but exports none of it.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(root.join("conformance/Cargo.toml")).unwrap())
            .unwrap();
    let dependencies = manifest["dependencies"].as_table().unwrap();
    assert!(dependencies.contains_key("hanrig-scenario"));
    for forbidden in ["hanrig-sim", "hanrig-rig", "hanrig-device"] {
        assert!(
            !dependencies.contains_key(forbidden),
            "hanrig-conformance depends on {forbidden}"
        );
    }
    let lab = std::fs::read_to_string(root.join("lab/src/lib.rs")).unwrap();
    assert!(!lab.contains("pub use hanrig_sim"));
}
