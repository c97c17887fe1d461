//! An HTTPS head-end, configured in the head-ends file: the gateway trusts only the CA that
//! signs the head-end's server certificate (`server_ca`) and presents its own client
//! certificate (`client_cert`, `client_key`) when the head-end asks. The head-end here is the
//! simulated job-style one behind a TLS front that requires a client certificate.

#![allow(clippy::unwrap_used)]

#[path = "../../connect/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hanrig_gateway::routing::Tdsp;
use hanrig_gateway_api::pki::LabCa;
use hanrig_gateway_connect::{Pace, run};
use hanrig_gateway_server::headends::{Identity, links};
use hanrig_gateway_store::Store;
use hanrig_headend::limits;
use hanrig_sim::clock::SimTime;
use hanrig_sim::headend::{JobsHeadEnd, serve_jobs};

/// The simulated job-style head-end for `meters` behind TLS on a free port: its server
/// certificate from `headend_ca`, clients required to present one `clients_ca` signed.
/// Returns the HTTPS URL.
async fn https_headend(meters: &[String], headend_ca: &LabCa, clients_ca: &LabCa) -> String {
    let (plain, plain_url) = listener().await;
    let start = SimTime::from_unix_seconds(T0);
    tokio::spawn(serve_jobs(
        plain,
        JobsHeadEnd::new(&fleet(meters), MESH, 5, start),
        clock(),
    ));
    let backend = plain_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let server = headend_ca.issue_server(&["localhost"]).unwrap();
    let config = hanrig_gateway_api::tls::server_config(
        clients_ca.cert_pem(),
        &server.cert_pem,
        &server.key_pem,
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&config));
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = front.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = front.accept().await else {
                continue;
            };
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut inner) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut inner).await;
            });
        }
    });
    format!("https://localhost:{port}")
}

struct Files(std::path::PathBuf);

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the connector of the head-ends file `text` (written in `dir`, one TDSP) on `store`;
/// aborting the handle stops it.
async fn run_file(dir: &Files, text: &str, store: &Store) -> tokio::task::JoinHandle<()> {
    let path = dir.0.join("headends.toml");
    std::fs::write(&path, text).unwrap();
    let identity = LabCa::create()
        .unwrap()
        .issue_server(&["localhost"])
        .unwrap();
    let pace = |tdsp: Tdsp| Pace {
        idle: Duration::from_millis(20),
        backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        ..Pace::of(limits::of(tdsp.style()))
    };
    let mut found = links(
        &path,
        Identity {
            cert_pem: &identity.cert_pem,
            key_pem: &identity.key_pem,
        },
        pace,
    )
    .await
    .unwrap();
    let link = found.remove(0);
    let store = store.clone();
    tokio::spawn(async move {
        let _ = run(
            store,
            link.tdsp,
            link.connector,
            link.pace,
            || T0 as i64,
            std::future::pending(),
        )
        .await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_head_end_is_reached_with_its_ca_and_the_gateways_certificate_only() {
    let meters: Vec<String> = (0..5u64).map(|i| format!("1008901{i:015}")).collect();
    let (headend_ca, gateway_ca, stranger) = (
        LabCa::create().unwrap(),
        LabCa::create().unwrap(),
        LabCa::create().unwrap(),
    );
    let url = https_headend(&meters, &headend_ca, &gateway_ca).await;
    let dir = Files(std::env::temp_dir().join(format!("hanrig-https-he-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let gateway = gateway_ca.issue_client("hanrig gateway").unwrap();
    for (name, text) in [
        ("headend-ca.pem", headend_ca.cert_pem()),
        ("stranger-ca.pem", stranger.cert_pem()),
        ("gateway.pem", gateway.cert_pem.as_str()),
        ("gateway.key", gateway.key_pem.as_str()),
    ] {
        std::fs::write(dir.0.join(name), text).unwrap();
    }

    // A server certificate the configured CA did not sign, or no client certificate: the
    // connector cannot get through, and the deliveries stay queued.
    for (name, text) in [
        (
            "wrong-ca",
            format!(
                "[centerpoint]\nurl = \"{url}\"\nserver_ca = \"stranger-ca.pem\"\nclient_cert = \"gateway.pem\"\nclient_key = \"gateway.key\"\n"
            ),
        ),
        (
            "no-client-certificate",
            format!("[centerpoint]\nurl = \"{url}\"\nserver_ca = \"headend-ca.pem\"\n"),
        ),
    ] {
        let (store, id) = store_with_message(&format!("https-{name}"), &meters, lce()).await;
        let runner = run_file(&dir, &text, &store).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        runner.abort();
        let s = store.summary(id).await.unwrap();
        assert_eq!((s.queued, s.sent), (5, 0), "{name}: {s:?}");
    }

    // With the head-end's CA and the gateway's certificate: every device answers.
    let (store, id) = store_with_message("https-right", &meters, lce()).await;
    let text = format!(
        "[centerpoint]\nurl = \"{url}\"\nserver_ca = \"headend-ca.pem\"\nclient_cert = \"gateway.pem\"\nclient_key = \"gateway.key\"\n"
    );
    let runner = run_file(&dir, &text, &store).await;
    let s = until(&store, id, |s| s.device_acknowledged == 5).await;
    assert_eq!(s.failed, 0, "{s:?}");
    runner.abort();
}
