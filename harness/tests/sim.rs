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
