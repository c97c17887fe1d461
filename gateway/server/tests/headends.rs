//! The `--headends` file: a calling-back head-end is configured with the CA (and optionally
//! the pinned certificates) that its callbacks must present, or the file is refused naming
//! the TDSP and the field; the shipped example, with its CA files present, loads.

#![allow(clippy::unwrap_used)]

use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_api::pki::LabCa;
use hanrig_gateway_connect::Pace;
use hanrig_gateway_server::headends::{Identity, links};

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir(name: &str) -> Dir {
    let d = std::env::temp_dir().join(format!("hanrig-headends-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("headends")).unwrap();
    Dir(d)
}

fn pace(tdsp: Tdsp) -> Pace {
    Pace::of(hanrig_headend::limits::of(tdsp.style()))
}

/// Loads `text` as a head-ends file in `dir` with a head-end CA at `headends/aep-ca.pem` and
/// `headends/oncor-ca.pem`.
async fn load(dir: &Dir, text: &str) -> Result<Vec<hanrig_gateway_server::Link>, String> {
    let ca = LabCa::create().unwrap();
    for name in ["aep-ca.pem", "oncor-ca.pem"] {
        std::fs::write(dir.0.join("headends").join(name), ca.cert_pem()).unwrap();
    }
    let server = LabCa::create()
        .unwrap()
        .issue_server(&["localhost"])
        .unwrap();
    let path = dir.0.join("headends.toml");
    std::fs::write(&path, text).unwrap();
    let identity = Identity {
        cert_pem: &server.cert_pem,
        key_pem: &server.key_pem,
    };
    links(&path, identity, pace).await
}

#[tokio::test]
async fn the_example_loads_with_a_callback_listener_for_each_calling_back_tdsp() {
    let d = dir("example");
    // Free ports instead of the example's fixed ones.
    let example: String = include_str!("../../headends.example.toml")
        .lines()
        .map(|l| {
            if l.starts_with("callback_listen") {
                "callback_listen = \"127.0.0.1:0\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let links = load(&d, &example).await.unwrap();
    let with_callbacks: Vec<Tdsp> = links
        .iter()
        .filter(|l| l.callbacks.is_some())
        .map(|l| l.tdsp)
        .collect();
    assert_eq!(links.len(), 5);
    let answer = |tdsp| {
        links
            .iter()
            .find(|l| l.tdsp == tdsp)
            .map(|l| l.pace.answer_seconds)
    };
    assert_eq!(answer(Tdsp::Centerpoint), Some(48 * 3600), "answer_hours");
    assert_eq!(answer(Tdsp::Tnmp), Some(24 * 3600), "the default");
    assert_eq!(
        with_callbacks,
        vec![Tdsp::AepTexasCentral, Tdsp::AepTexasNorth, Tdsp::Oncor]
    );
}

#[tokio::test]
async fn a_head_end_file_that_leaves_callbacks_unauthenticated_or_malformed_is_refused() {
    let d = dir("refused");
    for (text, words) in [
        (
            "[aep-texas-central]\nurl = \"http://127.0.0.1:1/\"\ncallback_listen = \"127.0.0.1:0\"\n",
            "[aep-texas-central]: give headend_ca",
        ),
        (
            "[oncor]\nurl = \"http://127.0.0.1:1/\"\nheadend_ca = \"headends/oncor-ca.pem\"\n",
            "[oncor]: a MultiSpeak-style head-end calls back: give callback_listen",
        ),
        (
            "[oncor]\nurl = \"http://127.0.0.1:1/\"\ncallback_listen = \"127.0.0.1:0\"\nheadend_ca = \"headends/oncor-ca.pem\"\ncallback_url = \"http://gw.example/\"\n",
            "[oncor]: callback_url \"http://gw.example/\": the head-end must post over HTTPS",
        ),
        (
            "[oncor]\nurl = \"http://127.0.0.1:1/\"\ncallback_listen = \"127.0.0.1:0\"\nheadend_ca = \"headends/oncor-ca.pem\"\nheadend_sha256 = [\"abc\"]\n",
            "[oncor]: headend_sha256: \"abc\" is not a SHA-256 fingerprint",
        ),
        (
            "[oncor]\nurl = \"http://127.0.0.1:1/\"\ncallback_listen = \"127.0.0.1:0\"\nheadend_ca = \"headends/missing.pem\"\n",
            "[oncor]: headend_ca ",
        ),
        (
            "[centerpoint]\nurl = \"http://127.0.0.1:1\"\ncallback_listen = \"127.0.0.1:0\"\n",
            "[centerpoint]: a job-style head-end is polled and never calls back",
        ),
        (
            "[texas-new-mexico]\nurl = \"http://127.0.0.1:1\"\n",
            "[texas-new-mexico]: ",
        ),
        (
            "[tnmp]\nurl = \"https://127.0.0.1:1\"\n",
            "[tnmp]: url \"https://127.0.0.1:1\" is https://: give server_ca",
        ),
        (
            "[tnmp]\nurl = \"http://127.0.0.1:1\"\nserver_ca = \"headends/aep-ca.pem\"\n",
            "[tnmp]: url \"http://127.0.0.1:1\" is not https://",
        ),
        (
            "[tnmp]\nurl = \"https://127.0.0.1:1\"\nserver_ca = \"headends/aep-ca.pem\"\nclient_cert = \"headends/aep-ca.pem\"\n",
            "[tnmp]: give client_cert and client_key together",
        ),
        (
            "[tnmp]\nurl = \"https://127.0.0.1:1\"\nserver_ca = \"headends/none.pem\"\n",
            "[tnmp]: server_ca ",
        ),
        (
            "[tnmp]\nurl = \"http://127.0.0.1:1\"\nanswer_hours = 0\n",
            "[tnmp]: answer_hours: at least 1",
        ),
        (
            "[tnmp]\nurl = \"http://127.0.0.1:1\"\ncallback = \"x\"\n",
            "unknown field `callback`",
        ),
    ] {
        let err = load(&d, text).await.unwrap_err();
        assert!(err.contains(words), "{text}\n→ {err}");
    }
}
