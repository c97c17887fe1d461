//! The API over mutual TLS on a real socket: the client certificate names the company, HTTP
//! Basic the user, Table 6 what the user may do; every refusal says why.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use hanrig_gateway::access::{CompanyKind, Permission};
use hanrig_gateway::agreement::{AgreementKind, MessageTypes};
use hanrig_gateway::routing::Routing;
use hanrig_gateway_api::auth::hash_password;
use hanrig_gateway_api::client::ApiClient;
use hanrig_gateway_api::pki::{Issued, LabCa};
use hanrig_gateway_api::{Api, tls};
use hanrig_gateway_store::{Invitation, Store};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every refusal of a user name and password reads the same.
const REFUSED: &str = "unknown user, wrong password or locked user (4 wrong passwords within 5 minutes lock a user until an administrator unlocks it or resets its password)";

const ONCOR: &str = "10443720001234567";

fn now() -> i64 {
    1_782_914_400
}

struct Lab {
    url: String,
    ca: LabCa,
    store: Store,
}

impl Lab {
    async fn start(name: &str) -> Lab {
        Lab::start_with(name, tls::ListenerLimits::default()).await
    }

    async fn start_with(name: &str, limits: tls::ListenerLimits) -> Lab {
        let dir = std::env::temp_dir().join(format!("hanrig-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_file(dir.join("gw.db"));
        let store = Store::open(&format!(
            "sqlite://{}?mode=rwc",
            dir.join("gw.db").display()
        ))
        .await
        .unwrap();
        let ca = LabCa::create().unwrap();
        let server = ca.issue_server(&["localhost", "127.0.0.1"]).unwrap();
        let config = tls::server_config(ca.cert_pem(), &server.cert_pem, &server.key_pem).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "https://localhost:{}",
            listener.local_addr().unwrap().port()
        );
        let app = Api::new(store.clone(), Routing::texas(), now).secured();
        tokio::spawn(tls::serve_tls_with(listener, app, config, limits));
        Lab { url, ca, store }
    }

    /// A company with a recorded client certificate.
    async fn company(&self, name: &str, kind: CompanyKind) -> Issued {
        self.store.add_company(name, kind, now()).await.unwrap();
        let cert = self.ca.issue_client(name).unwrap();
        self.store
            .add_certificate(name, &cert.fingerprint, &cert.subject, now())
            .await
            .unwrap();
        cert
    }

    async fn user(&self, company: &str, user: &str, admin: bool, permissions: &[Permission]) {
        let hash = hash_password(&format!("{user}-secret")).unwrap();
        self.store
            .add_user(company, user, &hash, admin, permissions, now())
            .await
            .unwrap();
    }

    fn client(&self, cert: &Issued, user: &str, password: &str) -> ApiClient {
        ApiClient::new(
            &self.url,
            self.ca.cert_pem(),
            &cert.cert_pem,
            &cert.key_pem,
            user,
            password,
        )
        .unwrap()
    }
}

fn text() -> serde_json::Value {
    json!({"esiids": [ONCOR], "message": {"text": "Peak pricing 2-6pm", "duration_minutes": 60}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_partys_user_sends_and_reads_over_mutual_tls() {
    let lab = Lab::start("send").await;
    let acme = lab.company("Acme Energy", CompanyKind::ThirdParty).await;
    lab.user("Acme Energy", "alice", true, &[]).await;
    let alice = lab.client(&acme, "alice", "alice-secret");
    let esiid = ONCOR.parse().unwrap();
    let a = lab
        .store
        .invite(
            &Invitation {
                company: "Acme Energy",
                kind: AgreementKind::InHomeDeviceServices,
                esiid: &esiid,
                device: Some("00:0d:6f:00:00:00:00:01".parse().unwrap()),
                message_types: MessageTypes {
                    text: true,
                    ..MessageTypes::default()
                },
                term: None,
                customer_email: "pat@example.com",
                token: "secret",
            },
            now(),
        )
        .await
        .unwrap();
    lab.store
        .step_agreement(a.id, now(), |s, now| s.accept(now))
        .await
        .unwrap();

    let (status, accepted) = alice.post("/v1/messages/text", &text()).await.unwrap();
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_i64().unwrap();
    let (status, message) = alice.get(&format!("/v1/messages/{id}")).await.unwrap();
    assert_eq!(status, 200, "{message}");
    assert_eq!(message["addresses"][0]["address"], ONCOR);
    assert_eq!(message["summary"]["queued"], 1);

    // Again with the same credentials (remembered, not re-hashed): still the same answer.
    let (status, _) = alice.get(&format!("/v1/messages/{id}")).await.unwrap();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_roles_and_certificates_are_each_checked_and_named() {
    let lab = Lab::start("refuse").await;
    let acme = lab.company("Acme Energy", CompanyKind::ThirdParty).await;
    let oncor = lab.company("Oncor", CompanyKind::Tdsp).await;
    lab.user("Acme Energy", "alice", true, &[]).await;
    lab.user("Acme Energy", "viewer", false, &[Permission::ViewMessages])
        .await;
    lab.user("Oncor", "tdsp-ops", true, &[]).await;

    let refused = |(status, body): (u16, serde_json::Value)| {
        (status, body["error"].as_str().unwrap_or("").to_string())
    };

    // A wrong password and an unknown user read the same.
    let (status, error) = refused(
        lab.client(&acme, "alice", "wrong")
            .post("/v1/messages/text", &text())
            .await
            .unwrap(),
    );
    assert_eq!((status, error.as_str()), (401, REFUSED));
    let (status, error) = refused(
        lab.client(&acme, "mallory", "x")
            .post("/v1/messages/text", &text())
            .await
            .unwrap(),
    );
    assert_eq!((status, error.as_str()), (401, REFUSED));

    // A user of one company with another company's certificate.
    let (status, error) = refused(
        lab.client(&oncor, "alice", "alice-secret")
            .post("/v1/messages/text", &text())
            .await
            .unwrap(),
    );
    assert_eq!(status, 403);
    assert!(
        error.contains("belongs to \"Acme Energy\"") && error.contains("\"Oncor\""),
        "{error}"
    );

    // Table 6: a TDSP sends no HAN messages; a user without the grant is told to ask.
    let (status, error) = refused(
        lab.client(&oncor, "tdsp-ops", "tdsp-ops-secret")
            .post("/v1/messages/text", &text())
            .await
            .unwrap(),
    );
    assert_eq!(status, 403);
    assert!(
        error.contains("send-messages") && error.contains("Table 6"),
        "{error}"
    );
    let (status, error) = refused(
        lab.client(&acme, "viewer", "viewer-secret")
            .post("/v1/messages/text", &text())
            .await
            .unwrap(),
    );
    assert_eq!(status, 403);
    assert!(error.contains("ask an administrator"), "{error}");
    // ...and nothing was stored for any of them.
    let (status, _) = lab
        .client(&acme, "viewer", "viewer-secret")
        .get("/v1/messages/1")
        .await
        .unwrap();
    assert_eq!(status, 404);

    // Signed by the CA but never recorded, and recorded then revoked: nobody.
    let stray = lab.ca.issue_client("Acme Energy").unwrap();
    let (status, error) = refused(
        lab.client(&stray, "alice", "alice-secret")
            .get("/v1/messages/1")
            .await
            .unwrap(),
    );
    assert_eq!(status, 401);
    assert!(error.contains("not issued to any company here"), "{error}");
    lab.store
        .revoke_certificate(&acme.fingerprint, now())
        .await
        .unwrap();
    let (status, _) = lab
        .client(&acme, "alice", "alice-secret")
        .get("/v1/messages/1")
        .await
        .unwrap();
    assert_eq!(status, 401);

    // No Basic credentials at all.
    let fresh = lab.ca.issue_client("Oncor").unwrap();
    lab.store
        .add_certificate("Oncor", &fresh.fingerprint, "Oncor", now())
        .await
        .unwrap();
    let client = ApiClient::new(
        &lab.url,
        lab.ca.cert_pem(),
        &fresh.cert_pem,
        &fresh.key_pem,
        "",
        "",
    )
    .unwrap();
    let (status, _) = client.get("/v1/messages/1").await.unwrap();
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_a_certificate_of_the_ca_gets_no_http_at_all() {
    let lab = Lab::start("handshake").await;
    // The company exists and its user is real: only the certificate is wrong.
    lab.company("Acme Energy", CompanyKind::ThirdParty).await;
    lab.user("Acme Energy", "alice", true, &[]).await;

    // A certificate from another CA: the handshake fails.
    let other = LabCa::create()
        .unwrap()
        .issue_client("Acme Energy")
        .unwrap();
    let error = lab
        .client(&other, "alice", "alice-secret")
        .get("/v1/messages/1")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("alert"), "{error}");

    // No certificate: the server never answers HTTP.
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(lab.ca.cert_pem().as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    use rustls::pki_types::pem::PemObject;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let port = lab.url.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let answered = match connector
        .connect("localhost".try_into().unwrap(), tcp)
        .await
    {
        Err(_) => String::new(),
        Ok(mut stream) => {
            let _ = stream
                .write_all(b"GET /v1/messages/1 HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .await;
            let mut reply = Vec::new();
            let _ = stream.read_to_end(&mut reply).await;
            String::from_utf8_lossy(&reply).into_owned()
        }
    };
    assert!(
        !answered.starts_with("HTTP/"),
        "answered without a client certificate: {answered}"
    );
}

/// A client TLS connection to the lab presenting `cert`.
async fn connect(
    lab: &Lab,
    cert: &Issued,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(lab.ca.cert_pem().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let chain = rustls::pki_types::CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(cert.key_pem.as_bytes()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .unwrap();
    let port = lab.url.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap()
}

/// Reads one HTTP/1.1 answer with a Content-Length body; `None` at end of stream.
async fn answer<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(head)
}

/// A kept-alive connection serves at most `requests_per_connection` requests — the last
/// answer says `Connection: close` and the connection ends — and one left idle after an
/// answer is closed when the header timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_alive_connections_end_after_their_requests_or_when_idle() {
    let limits = tls::ListenerLimits {
        headers: std::time::Duration::from_millis(500),
        requests_per_connection: 3,
        ..tls::ListenerLimits::default()
    };
    let lab = Lab::start_with("keep-alive", limits).await;
    let cert = lab.company("Acme Energy", CompanyKind::ThirdParty).await;
    let request = b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n";

    let mut stream = connect(&lab, &cert).await;
    for n in 1..=3 {
        stream.write_all(request).await.unwrap();
        let head = answer(&mut stream).await.expect("an answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(
            head.to_ascii_lowercase().contains("connection: close"),
            n == 3,
            "request {n}: {head}"
        );
    }
    let _ = stream.write_all(request).await;
    assert_eq!(answer(&mut stream).await, None, "closed after 3 requests");

    let mut idle = connect(&lab, &cert).await;
    idle.write_all(request).await.unwrap();
    assert!(answer(&mut idle).await.is_some());
    let closed = tokio::time::timeout(std::time::Duration::from_secs(20), answer(&mut idle))
        .await
        .expect("an idle kept-alive connection was left open");
    assert_eq!(closed, None);
}
