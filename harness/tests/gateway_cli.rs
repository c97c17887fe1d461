//! `hanrig gateway admin` and `hanrig gateway serve`, as an operator runs them: a lab CA, a
//! company, a user whose password comes on standard input, a client certificate; then the
//! served API answers that user over mutual TLS, and refuses what it should.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use hanrig_gateway_api::client::ApiClient;

/// The served gateway, stopped when the test ends — also when an assertion fails, so that it
/// does not outlive the test holding its output open.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hanrig(db: &str, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args(["gateway", "admin", "--database-url", db])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn an_operator_sets_up_a_company_and_its_user_talks_to_the_served_api() {
    let dir = std::env::temp_dir().join(format!("hanrig-gateway-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.join("gw.db").display());
    let (ca, acme) = (dir.join("ca"), dir.join("acme"));
    let ca_dir = ca.to_str().unwrap();

    let (ok, out) = hanrig(&db, &["ca-init", "--dir", ca_dir], "");
    assert!(ok, "{out}");
    let (ok, out) = hanrig(&db, &["ca-init", "--dir", ca_dir], "");
    assert!(!ok && out.contains("holds a CA already"), "{out}");

    let (ok, out) = hanrig(
        &db,
        &["company-add", "Acme Energy", "--kind", "third-party"],
        "",
    );
    assert!(ok, "{out}");
    let (ok, out) = hanrig(
        &db,
        &["company-add", "Acme Energy", "--kind", "third-party"],
        "",
    );
    assert!(!ok && out.contains("exists already"), "{out}");
    let (ok, out) = hanrig(&db, &["company-add", "Nobody", "--kind", "utility"], "");
    assert!(!ok && out.contains("unknown company kind"), "{out}");
    let (ok, out) = hanrig(&db, &["company-add", "Oncor", "--kind", "tdsp"], "");
    assert!(!ok && out.contains("give --tdsp"), "{out}");
    let (ok, out) = hanrig(
        &db,
        &[
            "company-add",
            "Acme Two",
            "--kind",
            "third-party",
            "--tdsp",
            "oncor",
        ],
        "",
    );
    assert!(!ok && out.contains("has no TDSP territory"), "{out}");
    let (ok, out) = hanrig(
        &db,
        &["company-add", "Oncor", "--kind", "tdsp", "--tdsp", "oncor"],
        "",
    );
    assert!(ok && out.contains("(tdsp, oncor)"), "{out}");

    let (ok, out) = hanrig(
        &db,
        &[
            "user-add",
            "--company",
            "Acme Energy",
            "--user",
            "alice",
            "--admin",
        ],
        "CorrectHorse42\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("send-messages"), "{out}");
    let (ok, out) = hanrig(
        &db,
        &[
            "user-add",
            "--company",
            "Oncor",
            "--user",
            "ops-desk",
            "--permission",
            "send-messages",
        ],
        "CorrectHorse42\n",
    );
    assert!(!ok && out.contains("Table 6"), "{out}");
    let (ok, out) = hanrig(
        &db,
        &[
            "user-add",
            "--company",
            "Oncor",
            "--user",
            "ops-desk",
            "--permission",
            "devices",
        ],
        "short\n",
    );
    assert!(
        !ok && out.contains("password: use 6 to 24 characters"),
        "{out}"
    );
    for (user, password, words) in [
        ("ops-desk", "has spaces 1", "letters and digits only"),
        ("ops-desk", "OPS-desk", "letters and digits only"),
        ("opsdesk", "OpsDesk", "cannot be the user name"),
        ("ops", "CorrectHorse42", "user name \"ops\": use 5 to 100"),
        ("ops/desk", "CorrectHorse42", "without slashes"),
    ] {
        let (ok, out) = hanrig(
            &db,
            &[
                "user-add",
                "--company",
                "Oncor",
                "--user",
                user,
                "--permission",
                "devices",
            ],
            &format!("{password}\n"),
        );
        assert!(!ok && out.contains(words), "{user} {password}: {out}");
    }
    let (ok, out) = hanrig(&db, &["users", "--company", "Acme Energy"], "");
    assert!(ok && out.starts_with("alice\tadmin\t"), "{out}");

    let (ok, out) = hanrig(
        &db,
        &[
            "cert-issue",
            "--company",
            "Acme Energy",
            "--ca-dir",
            ca_dir,
            "--out",
            acme.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{out}");
    let (ok, out) = hanrig(
        &db,
        &[
            "cert-issue",
            "--company",
            "Initech",
            "--ca-dir",
            ca_dir,
            "--out",
            acme.to_str().unwrap(),
        ],
        "",
    );
    assert!(
        !ok && out.contains("company \"Initech\" not found"),
        "{out}"
    );

    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_hanrig"))
            .args([
                "gateway",
                "serve",
                "--database-url",
                &db,
                "--listen",
                "127.0.0.1:0",
                "--tls-dir",
                ca_dir,
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .split("https://127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("{line}"));
    let url = format!("https://localhost:{port}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (cert, key, ca_pem) = (
        read(&acme.join("client.pem")),
        read(&acme.join("client.key")),
        read(&ca.join("ca.pem")),
    );
    let alice = ApiClient::new(&url, &ca_pem, &cert, &key, "alice", "CorrectHorse42").unwrap();
    let body = serde_json::json!({"esiids": ["10443720001234567"], "message": {"text": "Hello", "duration_minutes": 5}});
    let (refused_first, _) = runtime
        .block_on(alice.post("/v1/messages/text", &body))
        .unwrap();
    let invite = serde_json::json!({"kind": "in-home-device-services", "esiid": "10443720001234567",
        "device": "00:0d:6f:00:00:00:00:01", "customer_email": "pat@example.com", "message_types": {"text": true}});
    let (invited, agreement) = runtime
        .block_on(alice.post("/v1/agreements", &invite))
        .unwrap();
    let (ok, listed) = hanrig(&db, &["invitations", "--esiid", "10443720001234567"], "");
    assert!(ok, "{listed}");
    let token = listed.split('\t').next().unwrap();
    let (ok, out) = hanrig(&db, &["invitation-answer", token, "maybe"], "");
    assert!(!ok && out.contains("accept or reject"), "{out}");
    let (ok, out) = hanrig(&db, &["invitation-answer", token, "accept"], "");
    assert!(ok && out.contains("accepted"), "{out}");
    // A device agreement has no term to extend; an Energy Data Agreement of 3 months does, by
    // months from its end, but never past 12 months from now.
    let (ok, out) = hanrig(&db, &["agreement-extend", token, "--months", "2"], "");
    assert!(!ok && out.contains("has no term to extend"), "{out}");
    let energy = serde_json::json!({"kind": "energy-data", "esiid": "10443720001234567",
        "customer_email": "pat@example.com", "term_months": 3});
    let (created, _) = runtime
        .block_on(alice.post("/v1/agreements", &energy))
        .unwrap();
    assert_eq!(created, 201);
    let (_, listed) = hanrig(&db, &["invitations", "--esiid", "10443720001234567"], "");
    let energy_token = listed
        .lines()
        .find(|l| l.contains("EnergyData"))
        .and_then(|l| l.split('\t').next())
        .unwrap_or_else(|| panic!("{listed}"))
        .to_string();
    let (ok, out) = hanrig(
        &db,
        &["agreement-extend", &energy_token, "--months", "2"],
        "",
    );
    assert!(!ok && out.contains("not in force"), "{out}");
    let (ok, out) = hanrig(&db, &["invitation-answer", &energy_token, "accept"], "");
    assert!(ok, "{out}");
    let (ok, out) = hanrig(
        &db,
        &["agreement-extend", &energy_token, "--months", "2"],
        "",
    );
    assert!(ok && out.contains("in force until"), "{out}");
    let (ok, out) = hanrig(
        &db,
        &["agreement-extend", &energy_token, "--months", "8"],
        "",
    );
    assert!(!ok && out.contains("more than 12 months from now"), "{out}");
    let (status, answer) = runtime
        .block_on(alice.post("/v1/messages/text", &body))
        .unwrap();
    let wrong = ApiClient::new(&url, &ca_pem, &cert, &key, "alice", "incorrect horse").unwrap();
    let (refused, _) = runtime
        .block_on(wrong.post("/v1/messages/text", &body))
        .unwrap();

    // SMT BR-017.010: three more wrong passwords (four within 5 minutes) lock alice; then the
    // right one is refused too, in the words an unknown user gets.
    let get = |client: &ApiClient| runtime.block_on(client.get("/v1/agreements")).unwrap();
    let failures: Vec<_> = (0..3).map(|_| get(&wrong)).collect();
    let locked = get(&alice);
    let nobody =
        ApiClient::new(&url, &ca_pem, &cert, &key, "nobody-here", "CorrectHorse42").unwrap();
    let unknown = get(&nobody);
    let (ok, users) = hanrig(&db, &["users", "--company", "Acme Energy"], "");
    assert!(
        ok && users.contains("alice\tadmin\t") && users.trim_end().ends_with("\tlocked"),
        "{users}"
    );
    let (ok, out) = hanrig(&db, &["user-unlock", "--user", "alice"], "");
    assert!(ok, "{out}");
    let unlocked = get(&alice);
    // A reset sets a new password (SMT's rules apply) and the old one no longer signs in.
    let (ok, out) = hanrig(&db, &["password-reset", "--user", "alice"], "alice\n");
    assert!(!ok && out.contains("password: use 6 to 24"), "{out}");
    let (ok, out) = hanrig(
        &db,
        &["password-reset", "--user", "alice"],
        "BatteryStaple7\n",
    );
    assert!(ok, "{out}");
    let old = get(&alice);
    let renewed = ApiClient::new(&url, &ca_pem, &cert, &key, "alice", "BatteryStaple7").unwrap();
    let new = get(&renewed);
    // An administrator disables alice (refused as a wrong password is), enables her again,
    // and narrows what she may do.
    let (ok, out) = hanrig(&db, &["user-disable", "--user", "alice"], "");
    assert!(ok, "{out}");
    let disabled = get(&renewed);
    let (ok, users) = hanrig(&db, &["users", "--company", "Acme Energy"], "");
    assert!(ok && users.trim_end().ends_with("\tdisabled"), "{users}");
    let (ok, out) = hanrig(&db, &["user-enable", "--user", "alice"], "");
    assert!(ok, "{out}");
    let enabled = get(&renewed);
    let (ok, out) = hanrig(
        &db,
        &[
            "user-permissions",
            "--user",
            "alice",
            "--permission",
            "view-messages",
        ],
        "",
    );
    assert!(
        ok && out.contains(": view-messages") && !out.contains("administrator"),
        "{out}"
    );
    let (narrowed, _) = runtime
        .block_on(renewed.post("/v1/messages/text", &body))
        .unwrap();
    let (ok, out) = hanrig(
        &db,
        &[
            "user-permissions",
            "--user",
            "alice",
            "--permission",
            "statistics",
        ],
        "",
    );
    assert!(
        !ok && out.contains("statistics"),
        "a third party reads no statistics: {out}"
    );
    let (ok, out) = hanrig(&db, &["cert-unlock", "00ff"], "");
    assert!(!ok && out.contains("not found"), "{out}");
    drop(server);
    assert_eq!(disabled.0, 401, "{:?}", disabled.1);
    assert_eq!(enabled.0, 200, "{:?}", enabled.1);
    assert_eq!(narrowed, 403, "send-messages was taken away");
    for (status, answer) in failures.iter().chain([&locked, &unknown]) {
        assert_eq!(
            (*status, answer),
            (401, &failures[0].1),
            "one answer for every refusal"
        );
    }
    assert_eq!(unlocked.0, 200, "{:?}", unlocked.1);
    assert_eq!(old.0, 401);
    assert_eq!(new.0, 200, "{:?}", new.1);
    assert_eq!(refused_first, 403, "no agreement yet");
    assert_eq!(invited, 201, "{agreement}");
    assert_eq!(status, 202, "{answer}");
    assert_eq!(refused, 401);
}
