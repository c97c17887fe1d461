//! A lab rig run end to end, on the wall clock, against hanrig's simulated EZSP (and ZNP)
//! co-processor served on TCP with a simulated in-home display in radio range — the rig knows the DUT only
//! by the EUI64 and install code in its rig file, and judges it from what its co-processor
//! hands up. A healthy display passes the join cases, a display that takes a network key under
//! the global default link key fails, and cases the rig lacks the instruments or nodes for are
//! skipped with the reason. Each run takes its case's minute of wall time; they run in
//! parallel.

#![allow(clippy::unwrap_used)]

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};

const DUT: &str = "in-home-display,00:12:4b:00:01:02:03:04,83FED3407A939723A5C639B26916D505C3B5";

struct Radio(Child);

impl Drop for Radio {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `hanrig sim radio` speaking `protocol` with the DUT (as `mutant`, if given) and
/// `extra` arguments; returns it and its port.
fn radio_with(protocol: &str, mutant: Option<&str>, extra: &[&str]) -> (Radio, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hanrig"));
    command.args([
        "sim",
        "radio",
        "--protocol",
        protocol,
        "--tcp",
        "127.0.0.1:0",
        "--device",
        DUT,
    ]);
    if let Some(m) = mutant {
        command.args(["--mutant", m]);
    }
    command.args(extra);
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(at) = line.find("socket://") {
            break line[at..].trim().to_string();
        }
    };
    (Radio(child), port)
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hanrig-lab-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rig_file(dir: &std::path::Path, protocol: &str, port: &str, eui64: &str) -> std::path::PathBuf {
    let path = dir.join("lab.toml");
    std::fs::write(
        &path,
        format!(
            r#"[rig]
name = "lab-on-simulated-radio"
kind = "lab"
[dut]
kinds = ["in-home-display"]
eui64 = "{eui64}"
install_code = "83FED3407A939723A5C639B26916D505C3B5"
join = "permit"
join_timeout_s = 30
[radio]
kind = "{protocol}"
port = "{port}"
[instruments]
relay_sense = "none"
operator = "none"
"#
        ),
    )
    .unwrap();
    path
}

/// Runs `cases` on a lab rig over a fresh simulated EZSP radio; returns the exit code and
/// output.
fn run(mutant: Option<&str>, cases: &[&str]) -> (Option<i32>, String) {
    run_on("ezsp", mutant, &[], cases)
}

/// The same, on an EZSP radio started with `extra` arguments.
fn run_with(mutant: Option<&str>, extra: &[&str], cases: &[&str]) -> (Option<i32>, String) {
    run_on("ezsp", mutant, extra, cases)
}

/// The same, on a radio speaking `protocol`.
fn run_on(
    protocol: &str,
    mutant: Option<&str>,
    extra: &[&str],
    cases: &[&str],
) -> (Option<i32>, String) {
    let (_radio, port) = radio_with(protocol, mutant, extra);
    let dir = scratch(&format!(
        "{protocol}-{}-{}",
        mutant.unwrap_or("healthy"),
        cases[0]
    ));
    let rig = rig_file(&dir, protocol, &port, "00:12:4b:00:01:02:03:04");
    let mut command = Command::new(env!("CARGO_BIN_EXE_hanrig"));
    command.args(["run", "--rig"]).arg(&rig);
    for case in cases {
        command.args(["--case", case]);
    }
    let o = command.stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.code(), text)
}

fn verdict<'a>(output: &'a str, case: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(case))
        .unwrap_or_else(|| panic!("no line for {case}:\n{output}"))
}

#[test]
fn a_lab_rig_judges_a_device_it_reaches_only_through_its_co_processor() {
    let joins = std::thread::spawn(|| {
        run(
            None,
            &[
                "DEV-JOIN-001",
                "DEV-JOIN-004",
                "DEV-PRICE-002",
                "MET-TC-001",
            ],
        )
    });
    let refuses = std::thread::spawn(|| run(None, &["DEV-JOIN-003"]));
    let mutant = std::thread::spawn(|| run(Some("accepts-wrong-install-code"), &["DEV-JOIN-003"]));

    let (code, out) = joins.join().unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict(&out, "DEV-JOIN-001").starts_with("pass"), "{out}");
    // Five other devices: a lab rig has one DUT.
    let other = verdict(&out, "DEV-JOIN-004");
    assert!(
        other.starts_with("skip") && other.contains("ESI and the DUT only"),
        "{out}"
    );
    // The display's price needs an operator the rig does not have.
    let probe = verdict(&out, "DEV-PRICE-002");
    assert!(
        probe.starts_with("skip") && probe.contains("operator"),
        "{out}"
    );
    // A meter case is not this rig's: its DUT is an in-home display.
    assert!(verdict(&out, "MET-TC-001").starts_with("n/a"), "{out}");

    let (code, out) = refuses.join().unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict(&out, "DEV-JOIN-003").starts_with("pass"), "{out}");

    let (code, out) = mutant.join().unwrap();
    assert_eq!(code, Some(1), "{out}");
    let caught = verdict(&out, "DEV-JOIN-003");
    assert!(
        caught.starts_with("FAIL") && caught.contains("joined although"),
        "{out}"
    );
}

#[test]
fn a_lab_rig_on_a_znp_radio_judges_the_device_and_skips_what_z_stack_cannot_play() {
    let healthy =
        std::thread::spawn(|| run_on("znp", None, &[], &["DEV-JOIN-001", "DEV-JOIN-003"]));
    let mutant = std::thread::spawn(|| {
        run_on(
            "znp",
            Some("price-ack-wrong-event"),
            &[],
            &["DEV-PRICE-003"],
        )
    });

    let (code, out) = healthy.join().unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(verdict(&out, "DEV-JOIN-001").starts_with("pass"), "{out}");
    // The HA fallback network needs a global link key, which the ZNP driver does not form.
    let fallback = verdict(&out, "DEV-JOIN-003");
    assert!(
        fallback.starts_with("skip") && fallback.contains("EZSP radio"),
        "{out}"
    );

    let (code, out) = mutant.join().unwrap();
    assert_eq!(code, Some(1), "{out}");
    let caught = verdict(&out, "DEV-PRICE-003");
    assert!(
        caught.starts_with("FAIL") && caught.contains("does not name the price"),
        "{out}"
    );
}

#[test]
fn a_lab_rig_without_its_radio_is_a_rig_failure_naming_it() {
    let dir = scratch("absent");
    let rig = rig_file(
        &dir,
        "ezsp",
        "/dev/ttyHANRIG-absent",
        "00:12:4b:00:01:02:03:04",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(["run", "--rig"])
        .arg(&rig)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("missing hardware") && stderr.contains("/dev/ttyHANRIG-absent"),
        "{stderr}"
    );
    // A rig file without the DUT's identity cannot run a case.
    let bad = rig_file(&dir, "ezsp", "socket://127.0.0.1:1", "not-an-eui64");
    let o = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(["run", "--rig"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("[dut] eui64"));
    // A mutant plays only a simulated DUT.
    let rig = rig_file(
        &dir,
        "ezsp",
        "socket://127.0.0.1:1",
        "00:12:4b:00:01:02:03:04",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(["run", "--mutant", "accepts-wrong-install-code", "--rig"])
        .arg(&rig)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("simulated DUT"));
}

#[test]
fn on_a_lab_rig_key_establishment_runs_with_the_radio_doing_the_ecc() {
    // The radio and the DUT hold certificates from one test CA; the rig's ESI answers the DUT's
    // Key Establishment through the chip's CBKE library, in real time.
    let cbke = ["--cbke-seed", "11"];
    let good = std::thread::spawn(move || run_with(None, &cbke, &["DEV-CBKE-001"]));
    let refuses = std::thread::spawn(move || run_with(None, &cbke, &["DEV-CBKE-003"]));
    let mutant = std::thread::spawn(move || {
        run_with(
            Some("device-cbke-skips-confirm-check"),
            &cbke,
            &["DEV-CBKE-003"],
        )
    });
    for (thread, case) in [(good, "DEV-CBKE-001"), (refuses, "DEV-CBKE-003")] {
        let (code, out) = thread.join().unwrap();
        assert_eq!(code, Some(0), "{out}");
        assert!(verdict(&out, case).starts_with("pass"), "{out}");
    }
    let (code, out) = mutant.join().unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(verdict(&out, "DEV-CBKE-003").starts_with("FAIL"), "{out}");
}

#[test]
fn a_lab_rig_whose_radio_lacks_the_cbke_library_says_so() {
    let (code, out) = run_with(None, &["--no-cbke-library"], &["DEV-CBKE-001"]);
    assert_eq!(code, Some(2), "{out}");
    let line = verdict(&out, "DEV-CBKE-001");
    assert!(line.contains("no CBKE library"), "{out}");
}
