//! A gateway killed in the middle of a fan-out — after the head-end accepted a job, before the
//! gateway recorded it — and started again on the same database delivers every accepted
//! address exactly once: the deliveries were written before the API's 202, and the re-sent
//! job carries the same idempotency key, so the head-end starts nothing twice.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hanrig_gateway::access::CompanyKind;
use hanrig_gateway::agreement::{AgreementKind, MessageTypes};
use hanrig_gateway::delivery::DeliveryStatus;
use hanrig_gateway::esiid::Esiid;
use hanrig_gateway_api::auth::hash_password;
use hanrig_gateway_api::client::ApiClient;
use hanrig_gateway_api::pki::{LabCa, write};
use hanrig_gateway_store::{Invitation, Store};
use hanrig_sim::clock::SimTime;
use hanrig_sim::device::DeviceKind;
use hanrig_sim::headend::{Clock, JobsHeadEnd, Latency, serve_jobs_shared};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const METERS: usize = 300;

/// A TCP proxy in front of the head-end. While `hold` is set, the answer to a `POST /jobs`
/// is kept from the gateway and reported on `held` instead: the head-end has the job, the
/// gateway never learns it.
async fn proxy(
    listener: TcpListener,
    upstream: String,
    hold: Arc<Mutex<bool>>,
    held: mpsc::UnboundedSender<()>,
) {
    loop {
        let Ok((mut client, _)) = listener.accept().await else {
            return;
        };
        let (upstream, hold, held) = (upstream.clone(), hold.clone(), held.clone());
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            let mut first = vec![0u8; 65536];
            let Ok(n) = client.read(&mut first).await else {
                return;
            };
            if server.write_all(&first[..n]).await.is_err() {
                return;
            }
            if *hold.lock().unwrap() && first.starts_with(b"POST /jobs") {
                // Let the head-end take the whole request and answer, then drop the answer.
                let (mut from_client, _) = client.split();
                let (mut from_server, mut to_server) = server.split();
                let mut answer = [0u8; 1024];
                tokio::select! {
                    _ = tokio::io::copy(&mut from_client, &mut to_server) => {}
                    _ = from_server.read(&mut answer) => {}
                }
                let _ = held.send(());
                std::future::pending::<()>().await;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}

fn serve(db: &str, dir: &std::path::Path) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hanrig"))
        .args([
            "gateway",
            "serve",
            "--database-url",
            db,
            "--listen",
            "127.0.0.1:0",
            "--pace-ms",
            "50",
        ])
        .arg("--tls-dir")
        .arg(dir)
        .arg("--headends")
        .arg(dir.join("headends.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("API on") {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "gateway serve ended"
        );
    }
    // Keep draining its stderr so that it never blocks.
    std::thread::spawn(move || for _ in reader.lines() {});
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    (child, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_mid_fan_out_delivers_every_address_exactly_once_after_restart() {
    let dir = std::env::temp_dir().join(format!("hanrig-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.join("gw.db").display());
    let now = hanrig_gateway_connect::unix_now();

    // The gateway's certificates, the third party, its customers' agreements.
    let ca = LabCa::create().unwrap();
    write(&dir.join("ca.pem"), ca.cert_pem(), false).unwrap();
    let server = ca.issue_server(&["localhost"]).unwrap();
    write(&dir.join("server.pem"), &server.cert_pem, false).unwrap();
    write(&dir.join("server.key"), &server.key_pem, true).unwrap();
    let client_cert = ca.issue_client("Acme Energy").unwrap();
    let store = Store::open(&db).await.unwrap();
    store
        .add_company("Acme Energy", CompanyKind::ThirdParty, now)
        .await
        .unwrap();
    store
        .add_certificate("Acme Energy", &client_cert.fingerprint, "Acme Energy", now)
        .await
        .unwrap();
    store
        .add_user(
            "Acme Energy",
            "alice",
            &hash_password("correct horse").unwrap(),
            true,
            &[],
            now,
        )
        .await
        .unwrap();
    let esiids: Vec<String> = (0..METERS).map(|i| format!("1008901{i:015}")).collect();
    for (i, e) in esiids.iter().enumerate() {
        let esiid: Esiid = e.parse().unwrap();
        let a = store
            .invite(
                &Invitation {
                    company: "Acme Energy",
                    kind: AgreementKind::InHomeDeviceServices,
                    esiid: &esiid,
                    device: Some(hanrig_sim::headend::device_eui(e)),
                    message_types: MessageTypes {
                        load_control: true,
                        ..MessageTypes::default()
                    },
                    term: None,
                    customer_email: "c@example.com",
                    token: &format!("t{i}"),
                },
                now,
            )
            .await
            .unwrap();
        store
            .step_agreement(a.id, now, |s, now| s.accept(now))
            .await
            .unwrap();
    }

    // CenterPoint's simulated head-end, behind the proxy.
    let fleet: Vec<(String, DeviceKind)> = esiids
        .iter()
        .map(|e| (e.clone(), DeviceKind::Thermostat))
        .collect();
    let clock = Clock {
        start: SimTime::from_unix_seconds(now as u64),
        since: Instant::now(),
        speed: 100.0,
    };
    let mesh = Latency {
        min_us: 1_000_000,
        max_us: 20_000_000,
        loss: 0.0,
    };
    let headend = Arc::new(Mutex::new(JobsHeadEnd::new(&fleet, mesh, 3, clock.now())));
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_address = upstream.local_addr().unwrap().to_string();
    tokio::spawn(serve_jobs_shared(upstream, headend.clone(), clock));
    let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
    std::fs::write(
        dir.join("headends.toml"),
        format!(
            "[centerpoint]\nurl = \"http://{}\"\n",
            front.local_addr().unwrap()
        ),
    )
    .unwrap();
    let hold = Arc::new(Mutex::new(true));
    let (held_tx, mut held) = mpsc::unbounded_channel();
    tokio::spawn(proxy(front, upstream_address, hold.clone(), held_tx));

    // The event is accepted; the gateway is killed once the head-end has the job.
    let (mut gateway, port) = serve(&db, &dir);
    let url = format!("https://localhost:{port}");
    let client = |url: &str| {
        ApiClient::new(
            url,
            ca.cert_pem(),
            &client_cert.cert_pem,
            &client_cert.key_pem,
            "alice",
            "correct horse",
        )
        .unwrap()
    };
    let body = serde_json::json!({"esiids": esiids, "message": {"device_class": 1, "duration_minutes": 30, "criticality": 2}});
    let (status, accepted) = client(&url)
        .post("/v1/messages/load-control", &body)
        .await
        .unwrap();
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_i64().unwrap();
    tokio::time::timeout(Duration::from_secs(60), held.recv())
        .await
        .unwrap()
        .unwrap();
    gateway.kill().unwrap();
    gateway.wait().unwrap();
    let deliveries = store.deliveries(id).await.unwrap();
    assert_eq!(deliveries.len(), METERS);
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Queued),
        "killed between the head-end's acceptance and the gateway's record"
    );

    // Started again on the same database: the same job is sent again, and everything arrives.
    *hold.lock().unwrap() = false;
    let (mut gateway, port) = serve(&db, &dir);
    let url = format!("https://localhost:{port}");
    let mut summary = serde_json::Value::Null;
    for _ in 0..600 {
        let (_, m) = client(&url)
            .get(&format!("/v1/messages/{id}"))
            .await
            .unwrap();
        summary = m["summary"].clone();
        if summary["device-acknowledged"] == METERS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gateway.kill().unwrap();
    gateway.wait().unwrap();
    assert_eq!(summary["device-acknowledged"], METERS, "{summary}");
    let mut h = headend.lock().unwrap();
    let at = clock.now();
    let received: Vec<usize> = esiids
        .iter()
        .map(|e| h.received(e, 0x0701, 0x00, at))
        .collect();
    assert!(
        received.iter().all(|&n| n == 1),
        "each thermostat received the event once: {received:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
