//! `hanrig capture synth` and `hanrig capture decode`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn hanrig(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hanrig-capture-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn synth(dir: &Path) -> (PathBuf, PathBuf) {
    let (pcap, keys) = (dir.join("synth.pcapng"), dir.join("keys"));
    let o = hanrig(&[
        "capture",
        "synth",
        "--out",
        pcap.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (pcap, keys)
}

fn decode_json(pcap: &Path, keys: Option<&Path>) -> Vec<serde_json::Value> {
    let mut args = vec!["capture", "decode", pcap.to_str().unwrap(), "--json"];
    if let Some(k) = keys {
        args.extend(["--keys", k.to_str().unwrap()]);
    }
    let o = hanrig(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn synth_capture_decrypts_with_its_key_file_down_to_every_command() {
    let dir = temp_dir("decrypts");
    let (pcap, keys) = synth(&dir);
    let key_text = std::fs::read_to_string(&keys).unwrap();
    assert_eq!(
        key_text,
        "\"01030507090B0D0F00020406080A0C0D\",\"Normal\",\"hanrig synth network key\"\n\
         \"66B6900981E1EE3CA4206B6B861C02BB\",\"Normal\",\"install code 83FED3407A939723A5C639B26916D505C3B5 link key\"\n"
    );
    let frames = decode_json(&pcap, Some(&keys));
    assert_eq!(frames.len(), 1 + hanrig_sep::COMMANDS.len());

    let transport = &frames[0];
    assert_eq!(transport["aps_command"]["name"], "transport_key");
    assert_eq!(
        transport["aps_command"]["key"],
        "01030507090b0d0f00020406080a0c0d"
    );
    assert_eq!(transport["aps"]["security"]["key_id"], 2);
    assert_eq!(
        transport["aps"]["protection"]["decrypted_with"],
        "install code 83FED3407A939723A5C639B26916D505C3B5 link key"
    );
    assert_eq!(transport["nwk"]["protection"], "none");

    let mut names = Vec::new();
    for f in &frames[1..] {
        assert_eq!(f["fcs_ok"], true);
        assert_eq!(
            f["nwk"]["protection"]["decrypted_with"], "hanrig synth network key",
            "{f}"
        );
        let cluster = u16::try_from(f["aps"]["cluster"].as_u64().unwrap()).unwrap();
        if hanrig_sep::clusters::aps_secured(cluster) {
            assert_eq!(f["aps"]["security"]["key_id"], 0, "{f}");
            assert!(
                f["aps"]["protection"]["decrypted_with"]
                    .as_str()
                    .unwrap()
                    .starts_with("install code"),
                "{f}"
            );
        } else {
            assert_eq!(f["aps"]["protection"], "none", "{f}");
        }
        names.push(f["zcl"]["command"]["name"].as_str().unwrap().to_string());
    }
    for (name, _) in hanrig_sep::COMMANDS {
        assert!(names.iter().any(|n| n == name), "no frame of {name}");
    }
    // NWK frame counters rise per sender.
    let counters: Vec<u64> = frames[1..]
        .iter()
        .filter(|f| f["nwk"]["src"] == 0)
        .map(|f| f["nwk"]["security"]["frame_counter"].as_u64().unwrap())
        .collect();
    assert!(counters.windows(2).all(|w| w[0] < w[1]), "{counters:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn synth_is_deterministic() {
    let (a, b) = (temp_dir("det-a"), temp_dir("det-b"));
    let (pa, ka) = synth(&a);
    let (pb, kb) = synth(&b);
    assert_eq!(std::fs::read(pa).unwrap(), std::fs::read(pb).unwrap());
    assert_eq!(std::fs::read(ka).unwrap(), std::fs::read(kb).unwrap());
    std::fs::remove_dir_all(a).unwrap();
    std::fs::remove_dir_all(b).unwrap();
}

#[test]
fn without_keys_frames_stay_encrypted_and_say_so() {
    let dir = temp_dir("nokeys");
    let (pcap, _) = synth(&dir);
    let frames = decode_json(&pcap, None);
    assert!(
        frames[1..]
            .iter()
            .all(|f| f["nwk"]["protection"]["failed"].is_string() && f["zcl"].is_null())
    );
    let o = hanrig(&["capture", "decode", pcap.to_str().unwrap()]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .contains("[ENCRYPTED: MIC mismatch"),
        "{text}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_network_key_is_learnt_from_transport_key_with_only_the_install_code_key() {
    let dir = temp_dir("learn");
    let (pcap, _) = synth(&dir);
    let only_link = dir.join("link-only");
    std::fs::write(
        &only_link,
        "\"66B6900981E1EE3CA4206B6B861C02BB\",\"Normal\",\"ic\"\n",
    )
    .unwrap();
    let frames = decode_json(&pcap, Some(&only_link));
    assert_eq!(
        frames[1]["nwk"]["protection"]["decrypted_with"],
        "network key 0 (from Transport Key in frame 0)"
    );
    assert!(frames.iter().skip(1).all(|f| !f["zcl"].is_null()));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_inputs_are_named() {
    let dir = temp_dir("bad");
    let junk = dir.join("junk.pcapng");
    std::fs::write(&junk, b"not a capture").unwrap();
    let o = hanrig(&["capture", "decode", junk.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("neither a pcapng nor a pcap file"));

    let (pcap, _) = synth(&dir);
    let keys = dir.join("bad-keys");
    std::fs::write(&keys, "\"0103\",\"Normal\",\"short\"\n").unwrap();
    let o = hanrig(&[
        "capture",
        "decode",
        pcap.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("line 1: a key is 32 hex digits"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = hanrig(&[
        "capture",
        "synth",
        "--out",
        "/nonexistent/dir/x.pcapng",
        "--keys",
        "/tmp/k",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("creating /nonexistent/dir/x.pcapng"));
    std::fs::remove_dir_all(dir).unwrap();
}
