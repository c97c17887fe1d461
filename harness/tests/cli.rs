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

const ANNEX_C5: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../firmware/cbke/tests/vectors/annex_c5.json"
);

#[test]
fn cbke_vector_prints_every_published_annex_c5_value() {
    let o = hanrig(&["cbke", "vector", ANNEX_C5], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let expect = [
        (
            "/initiator/public_key",
            "03025BBA38D0C7B5436B68DF728F093E7A1D6C437E6D",
        ),
        (
            "/initiator/ephemeral_public_key",
            "0300E117C86D0E7CD128B2F34E9076CFF24AF46D7288",
        ),
        (
            "/responder/public_key",
            "030290A1F5C08DAD5F2945E335620C7A98FAC46666A1",
        ),
        (
            "/responder/ephemeral_public_key",
            "0306AB52062201D995B8B8591F3F086A3A2E214D845E",
        ),
        ("/z", "00E0D2C3CCD5C106A89C4F6CC26A5F7EC9DF78A7BE"),
        ("/mac_key", "90F967B22C8357C10C1C04788DE9E848"),
        ("/key_data", "86D58AAA998E2FAEFAF9FEF49606543A"),
        ("/macu", "B82F1F9774740C32F80FCFC3921B6420"),
        ("/macv", "79D5F2AD1C31D4D1EE7CB719AC683C3C"),
    ];
    for (pointer, want) in expect {
        assert_eq!(
            v.pointer(pointer).and_then(|x| x.as_str()),
            Some(want),
            "{pointer}"
        );
    }
}

#[test]
fn cbke_vector_names_the_bad_field_in_one_line() {
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ANNEX_C5).unwrap()).unwrap();
    let cases: [(&str, serde_json::Value, &str); 4] = [
        (
            "/responder/ephemeral_private_key",
            serde_json::Value::Null,
            "responder.ephemeral_private_key: not a string",
        ),
        (
            "/initiator/certificate",
            "0206".into(),
            "initiator.certificate: 2 bytes, must be 48",
        ),
        (
            "/ca_public",
            "04".repeat(22).into(),
            "ca_public: compressed point starts with 0x04",
        ),
        (
            "/initiator/private_key",
            "00B8A900FCADEBABBFA383B540FCE9ED438395EAA7".into(),
            "initiator.private_key: does not belong to initiator.certificate",
        ),
    ];
    for (pointer, value, message) in cases {
        let mut doc = good.clone();
        *doc.pointer_mut(pointer).unwrap() = value;
        let o = hanrig(&["cbke", "vector", "-"], Some(&doc.to_string()));
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(err.contains(message), "{pointer}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn cbke_public_key_reconstructs_the_annex_c5_responder_key() {
    let o = hanrig(
        &[
            "cbke",
            "public-key",
            "--ca",
            "0200FDE8A7F3D1084224962A4E7C54E69AC3F04DA6B8",
            "--certificate",
            "03045FDFC8D85FFB8B3993CB72DDCAA55F00B3E87D6D0000000000000001544553545345434101090006000000000000",
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "030290A1F5C08DAD5F2945E335620C7A98FAC46666A1"
    );
}

#[test]
fn a_test_ca_issues_certificates_that_reconstruct_and_run_an_exchange() {
    let dir = std::env::temp_dir().join(format!("hanrig-cbke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.json");
    let _ = std::fs::remove_file(&ca);
    let ca_arg = ca.to_str().unwrap();
    let o = hanrig(
        &["cbke", "ca-init", "--out", ca_arg, "--issuer", "HANRIGCA"],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&ca).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // Never overwritten.
    let again = hanrig(&["cbke", "ca-init", "--out", ca_arg], None);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("never overwritten"),
        "{}",
        stderr(&again)
    );

    let issue = |eui: &str| {
        let o = hanrig(
            &["cbke", "cert-issue", "--ca", ca_arg, "--eui64", eui],
            None,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).unwrap()
    };
    let esi = issue("00:0d:6f:00:00:00:00:01");
    let ihd = issue("00:0d:6f:00:00:00:00:02");
    let cert = ihd["certificate"].as_str().unwrap();
    // Subject (big-endian) and issuer sit where SE puts them.
    assert_eq!(&cert[44..60], "000D6F0000000002");
    assert_eq!(&cert[60..76], "48414E5249474341");
    let ca_public = ihd["ca_public"].as_str().unwrap();
    let o = hanrig(
        &[
            "cbke",
            "public-key",
            "--ca",
            ca_public,
            "--certificate",
            cert,
        ],
        None,
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // The issued pairs drive a whole exchange through `cbke vector` (which checks each key
    // belongs to its certificate).
    let doc = serde_json::json!({
        "ca_public": ca_public,
        "initiator": { "certificate": cert, "private_key": ihd["private_key"],
                       "ephemeral_private_key": "0013D36DE4B1EA8E22739C381370823F404BFF8862" },
        "responder": { "certificate": esi["certificate"], "private_key": esi["private_key"],
                       "ephemeral_private_key": "03D48C7210DDBCC4FB2E5E7A0AA16A0DB89540820B" },
    });
    let o = hanrig(&["cbke", "vector", "-"], Some(&doc.to_string()));
    assert!(o.status.success(), "{}", stderr(&o));
    let bad_eui = hanrig(
        &["cbke", "cert-issue", "--ca", ca_arg, "--eui64", "12:34"],
        None,
    );
    assert!(stderr(&bad_eui).contains("--eui64"), "{}", stderr(&bad_eui));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn radio_info_says_what_key_establishment_can_use_on_the_radio() {
    use std::io::BufRead;
    for (extra, expected) in [
        (
            &[][..],
            "CBKE: library present, no certificate in its tokens",
        ),
        (&["--no-cbke-library"][..], "CBKE: no library"),
        (
            &["--cbke-seed", "3"][..],
            "CBKE: library present; certificate for 00:0d:6f:00:0a:bc:de:f0, issuer HANRIGCA",
        ),
    ] {
        let mut radio = Command::new(env!("CARGO_BIN_EXE_hanrig"))
            .args(["sim", "radio", "--protocol", "ezsp", "--tcp", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(radio.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines.next().unwrap().unwrap();
            if let Some(at) = line.find("socket://") {
                break line[at..].trim().to_string();
            }
        };
        let o = hanrig(&["radio", "info", "--port", &port], None);
        let _ = radio.kill();
        let _ = radio.wait();
        assert!(o.status.success(), "{o:?}");
        assert!(stdout(&o).contains(expected), "{extra:?}: {}", stdout(&o));
    }
}
