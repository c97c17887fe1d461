//! `hanrig sim`.

#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn sim_writes_capture_keys_and_events_and_summarises() {
    let out = std::env::temp_dir().join(format!("hanrig-sim-{}", std::process::id()));
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../han-sim/scenarios/join.toml"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args([
            "sim",
            "--scenario",
            scenario,
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("ihd              joined"), "{text}");
    assert!(text.contains("intruder         NOT joined"), "{text}");
    for file in ["capture.pcapng", "keys", "events.jsonl"] {
        assert!(out.join(file).metadata().unwrap().len() > 0, "{file}");
    }
    // The capture decodes with its key file: every NWK-secured frame decrypted.
    let d = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args([
            "capture",
            "decode",
            out.join("capture.pcapng").to_str().unwrap(),
            "--keys",
            out.join("keys").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let decoded = String::from_utf8(d.stdout).unwrap();
    assert!(!decoded.contains("ENCRYPTED"), "{decoded}");
    assert!(
        decoded.contains("report") || decoded.contains("get_current_price"),
        "{decoded}"
    );
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn sim_names_a_bad_scenario() {
    let dir = std::env::temp_dir().join(format!("hanrig-sim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "name = \"x\"\nstart = \"yesterday\"\nduration = \"1m\"\n[[meter]]\nname = \"m\"\neui64 = \"00:00:00:00:00:00:00:01\"\npan = 1\n").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args([
            "sim",
            "--scenario",
            file.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad start time \"yesterday\""),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// `hanrig sim radio --device …` with `hanrig radio admit`: the trust-centre workflow of a meter
/// lab, end to end through two processes and the EZSP driver.
#[test]
fn radio_admit_lets_in_exactly_the_devices_whose_install_codes_it_was_given() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    const IC: &str = "83FED3407A939723A5C639B26916D505C3B5";
    let hanrig = env!("CARGO_BIN_EXE_hanrig");
    let mut sim = Command::new(hanrig)
        .args(["sim", "radio", "--protocol", "ezsp", "--tcp", "127.0.0.1:0"])
        .args([
            "--device",
            &format!("in-home-display,0022a30000000001,{IC}"),
        ])
        .args(["--device", &format!("thermostat,0022a30000000002,{IC}")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let key = lines.next().unwrap().unwrap();
    assert!(
        key.starts_with("network key ") && key.len() == 12 + 32,
        "{key}"
    );
    let served = lines.next().unwrap().unwrap();
    let port = served.rsplit(' ').next().unwrap().to_string();
    assert!(port.starts_with("socket://"), "{served}");

    let admit = |devices: &[&str], seconds: &str| {
        let mut c = Command::new(hanrig);
        c.args(["radio", "admit", "--port", &port, "--seconds", seconds]);
        c.args(["--listen", "0.5"]);
        for d in devices {
            c.args(["--device", d]);
        }
        c.output().unwrap()
    };
    // Only the IHD's code: the thermostat stays out.
    let o = admit(&[&format!("0022a30000000001,{IC}")], "60");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("joined 00:22:a3:00:00:00:00:01 as 0x"),
        "{text}"
    );
    assert!(!text.contains(":02 as"), "{text}");
    assert!(text.contains("(APS-secured): get_current_price"), "{text}");
    assert!(text.contains("all 1 admitted"), "{text}");

    // A device that is not in range: joining closes without it, exit 1, named.
    let o = admit(&[&format!("0022a30000000009,{IC}")], "1");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not admitted while joining was open: 00:22:a3:00:00:00:00:09"),
        "{err}"
    );

    // A mistyped install code is refused before anything is sent.
    let o = admit(&[&format!("0022a30000000002,{}6", &IC[..35])], "60");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("CRC mismatch"));

    // The link check: round trips timed (no figure asserted), a zero count refused.
    let ping = |count: &str| {
        Command::new(hanrig)
            .args(["radio", "ping", "--port", &port, "--count", count])
            .output()
            .unwrap()
    };
    let o = ping("5");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("5 getEui64 round trips: min "), "{text}");
    let o = ping("0");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--count must be at least 1"));
    let _ = sim.kill();
    let _ = sim.wait();
}
