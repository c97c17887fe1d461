//! The `hanrig` binary as a user runs it.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn hanrig(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const LCE: &str = "0909007856341214000000000000010004ffff0080008080ff00";

#[test]
fn decode_prints_a_readable_frame() {
    let o = hanrig(&["zcl", "decode", "--cluster", "drlc", LCE], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("cluster 0x0701 (drlc) · cluster-specific · server→client · tsn 9"),
        "{out}"
    );
    assert!(out.contains("load_control_event"), "{out}");
    assert!(out.contains("issuer_event_id: 305419896"), "{out}");
    assert!(out.contains("criticality_level: Level3"), "{out}");
}

#[test]
fn decode_json_then_encode_reproduces_the_bytes() {
    let o = hanrig(
        &["zcl", "decode", "--cluster", "0x0701", "--json", LCE],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["cluster"], 0x0701);
    assert_eq!(json["command"]["name"], "load_control_event");
    assert_eq!(json["command"]["issuer_event_id"], 0x1234_5678);
    assert_eq!(json["header"]["direction"], 1);

    let o = hanrig(&["zcl", "encode"], Some(&stdout(&o)));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), LCE);
}

#[test]
fn encode_reads_a_file_and_reports_bad_json_in_one_line() {
    let dir = std::env::temp_dir().join(format!("hanrig-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("frame.json");
    std::fs::write(
        &path,
        r#"{"cluster": 1795, "header": {"frame_type": 1, "manufacturer_code": null, "direction": 0,
            "disable_default_response": false, "reserved": 0, "tsn": 5, "command_id": 1},
            "command": {"name": "message_confirmation", "message_id": 7, "confirmation_time": 1}}"#,
    )
    .unwrap();
    let o = hanrig(&["zcl", "encode", path.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "0105010700000001000000");

    let o = hanrig(
        &["zcl", "encode"],
        Some(r#"{"cluster": 1795, "header": {}}"#),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("error: bad JSON frame: missing field"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1);

    // A command under another command's header.
    let o = hanrig(
        &["zcl", "encode"],
        Some(
            r#"{"cluster": 1795, "header": {"frame_type": 1, "manufacturer_code": null, "direction": 1,
            "disable_default_response": false, "reserved": 0, "tsn": 5, "command_id": 1},
            "command": {"name": "message_confirmation", "message_id": 7, "confirmation_time": 1}}"#,
        ),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "error: cannot encode: message_confirmation: the header's direction is not this command's"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn decode_errors_say_what_and_where() {
    let o = hanrig(
        &["zcl", "decode", "--cluster", "drlc", "09090078563412140000"],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o).trim(),
        "error: cannot decode: truncated: start_time at offset 10 needs 4 byte(s), 0 left"
    );

    let o = hanrig(&["zcl", "decode", "--cluster", "drlc", "0909zz"], None);
    assert_eq!(stderr(&o).trim(), "error: not hex: 'z' at character 5");
    let o = hanrig(
        &["zcl", "decode", "--cluster", "drlc", "0x0909", "0x0z"],
        None,
    );
    assert_eq!(
        stderr(&o).trim(),
        "error: not hex: 'z' at character 4 of argument 2"
    );

    let o = hanrig(&["zcl", "decode", "--cluster", "gas", "090900"], None);
    assert_eq!(o.status.code(), Some(2), "clap usage error");
    assert!(
        stderr(&o).contains("\"gas\" is not a cluster"),
        "{}",
        stderr(&o)
    );
}

/// Random frames on the SE clusters: always a clean exit with a decode or a one-line error,
/// never a panic (exit 101) or a signal.
#[test]
fn random_bytes_give_an_error_message_never_a_panic() {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let clusters = [
        "price",
        "drlc",
        "metering",
        "messaging",
        "key-establishment",
        "basic",
        "time",
        "0xfc00",
    ];
    for round in 0..64 {
        let len = (next() % 48) as usize;
        let hex: String = (0..len).map(|_| format!("{:02x}", next() as u8)).collect();
        let cluster = clusters[round % clusters.len()];
        let o = hanrig(
            &[
                "zcl",
                "decode",
                "--cluster",
                cluster,
                "--json",
                &format!("00{hex}"),
            ],
            None,
        );
        match o.status.code() {
            Some(0) => {
                let back = hanrig(&["zcl", "encode"], Some(&stdout(&o)));
                assert_eq!(
                    stdout(&back).trim(),
                    format!("00{hex}"),
                    "cluster {cluster}"
                );
            }
            Some(1) => {
                let err = stderr(&o);
                assert!(
                    err.starts_with("error: cannot decode: ") && err.lines().count() == 1,
                    "{err}"
                );
            }
            other => panic!(
                "cluster {cluster} frame 00{hex}: exit {other:?}: {}",
                stderr(&o)
            ),
        }
    }
}

#[test]
fn install_code_prints_the_crc_and_link_key() {
    let o = hanrig(
        &[
            "install-code",
            "83FE-D340-7A93-9723-A5C6-39B2-6916-D505-C3B5",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("install code        83FED3407A939723A5C639B26916D505C3B5"),
        "{out}"
    );
    assert!(out.contains("crc (CRC-16/X-25)   0xB5C3 ok"), "{out}");
    assert!(
        out.contains("link key            66B6900981E1EE3CA4206B6B861C02BB"),
        "{out}"
    );
}

#[test]
fn bad_install_codes_exit_non_zero_with_one_line() {
    for (code, reason) in [
        (
            "83FED3407A939723A5C639B26916D505C3B6",
            "CRC mismatch: the code's bytes give CRC 0xB5C3",
        ),
        (
            "83FED3407A939723A5C639B2",
            "12 bytes: an install code is 6, 8, 12 or 16 bytes plus a 2-byte CRC",
        ),
        ("83FED3407A9397#3", "bad character '#' at position 14"),
        ("83FED3407A939723A", "17 hex digits"),
    ] {
        let o = hanrig(&["install-code", code], None);
        assert_eq!(o.status.code(), Some(1), "{code}");
        let err = stderr(&o);
        assert!(
            err.starts_with("error: install code refused: ") && err.contains(reason),
            "{code}: {err}"
        );
        assert_eq!(err.lines().count(), 1);
    }
}

#[test]
fn list_names_every_command() {
    let out = stdout(&hanrig(&["zcl", "list"], None));
    for name in [
        "publish_price",
        "load_control_event",
        "report_event_status",
        "display_message",
        "get_profile_response",
        "terminate_key_establishment",
        "default_response",
    ] {
        assert!(out.contains(name), "{name}");
    }
}
