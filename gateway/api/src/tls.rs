//! The API over TLS with mutual authentication: the server presents its certificate, every
//! client must present one signed by the lab CA, and each connection's client certificate
//! reaches the request as a [`PeerCertificate`] for the credential layer to map onto a
//! company.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::pki::{PkiError, fingerprint};

/// The SHA-256 fingerprint of the certificate the client presented on this connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate(pub String);

fn pem_error(what: &str) -> impl FnOnce(rustls::pki_types::pem::Error) -> PkiError + '_ {
    move |e| PkiError::Pem(format!("{what}: {e}"))
}

/// Certificates in `pem`, at least one.
pub(crate) fn certificates(
    pem: &str,
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, PkiError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error(what))?;
    if certs.is_empty() {
        return Err(PkiError::Pem(format!("{what}: no certificate")));
    }
    Ok(certs)
}

/// The private key in `pem`.
pub(crate) fn private_key(pem: &str, what: &str) -> Result<PrivateKeyDer<'static>, PkiError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(pem_error(what))
}

/// Trust anchors from `ca_pem`.
pub(crate) fn roots(ca_pem: &str) -> Result<RootCertStore, PkiError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca_pem, "CA certificate")? {
        roots
            .add(cert)
            .map_err(|e| PkiError::Pem(format!("CA certificate: {e}")))?;
    }
    Ok(roots)
}

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server's TLS configuration: its certificate chain and key, and clients required to
/// present a certificate that chains to `ca_pem`.
pub fn server_config(
    ca_pem: &str,
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<ServerConfig>, PkiError> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_pem)?), provider())
            .build()
            .map_err(|e| PkiError::Pem(format!("client verifier: {e}")))?;
    configured(verifier, cert_pem, key_pem)
}

/// The server's TLS configuration for a listener open to any client (the portal API, where
/// customers sign in with passwords): its certificate chain and key, no client certificate.
pub fn public_server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<ServerConfig>, PkiError> {
    configured(WebPkiClientVerifier::no_client_auth(), cert_pem, key_pem)
}

/// The server's TLS configuration for a head-end's callback listener: its certificate
/// chain and key, and clients required to present a certificate that chains to
/// `headend_ca_pem` and, when `pins` is not empty, whose SHA-256 [`fingerprint`] is one of
/// them: only that head-end completes a handshake.
pub fn pinned_server_config(
    headend_ca_pem: &str,
    pins: &[String],
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<ServerConfig>, PkiError> {
    let inner =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(headend_ca_pem)?), provider())
            .build()
            .map_err(|e| PkiError::Pem(format!("head-end verifier: {e}")))?;
    let pins = pins.iter().map(|p| p.to_ascii_lowercase()).collect();
    configured(Arc::new(Pinned { inner, pins }), cert_pem, key_pem)
}

/// A server configuration (HTTP/1.1) presenting `cert_pem` and `key_pem`, clients checked by
/// `verifier`.
fn configured(
    verifier: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<ServerConfig>, PkiError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| PkiError::Pem(format!("TLS versions: {e}")))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certificates(cert_pem, "server certificate")?,
            private_key(key_pem, "server key")?,
        )
        .map_err(|e| PkiError::Pem(format!("server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client verifier that also requires one of `pins` (none: any the CA signed).
#[derive(Debug)]
struct Pinned {
    inner: Arc<dyn rustls::server::danger::ClientCertVerifier>,
    pins: Vec<String>,
}

impl rustls::server::danger::ClientCertVerifier for Pinned {
    fn root_hint_subjects(&self) -> &[rustls::DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::server::danger::ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.pins.is_empty() || self.pins.contains(&fingerprint(end_entity)) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// How a TLS listener bounds what its clients cost ([`serve_tls_with`]).
#[derive(Debug, Clone, Copy)]
pub struct ListenerLimits {
    /// Longest from accepting a connection to the end of its TLS handshake.
    pub handshake: Duration,
    /// Longest a client may take to send a request's headers.
    pub headers: Duration,
    /// Longest a request may take, its body read and its answer made; past it the client
    /// gets 503 and the connection closes.
    pub request: Duration,
    /// Connections served at once; one over is closed as soon as it is accepted.
    pub connections: usize,
    /// Requests served on one kept-alive connection; the last is answered with
    /// `Connection: close` and the connection ends. (An idle kept-alive connection is closed
    /// when `headers` passes without the next request's headers.)
    pub requests_per_connection: usize,
}

impl Default for ListenerLimits {
    /// 10 s to finish the handshake, 10 s for the headers (and idle between requests), 60 s
    /// a request, 512 connections, 1,000 requests a connection.
    fn default() -> ListenerLimits {
        ListenerLimits {
            handshake: Duration::from_secs(10),
            headers: Duration::from_secs(10),
            request: Duration::from_secs(60),
            connections: 512,
            requests_per_connection: 1000,
        }
    }
}

/// [`serve_tls_with`] the [`ListenerLimits::default`].
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    config: Arc<ServerConfig>,
) -> std::io::Result<()> {
    serve_tls_with(listener, app, config, ListenerLimits::default()).await
}

/// Serves `app` on `listener` over TLS until the task is dropped. A client that fails the
/// handshake (no certificate, one the verifier refuses) or does not finish it within
/// `limits.handshake` is dropped, as is one that does not send its headers in time (idle
/// between requests included), a connection over `limits.connections`, and a connection
/// after `limits.requests_per_connection` requests; every request on an accepted connection carries the
/// client's [`PeerCertificate`].
pub async fn serve_tls_with(
    listener: TcpListener,
    app: Router,
    config: Arc<ServerConfig>,
    limits: ListenerLimits,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.connections));
    loop {
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of descriptors and the like: keep serving the connections that exist.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(tcp);
            continue;
        };
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let Ok(Ok(stream)) = tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await
            else {
                return;
            };
            let peer = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| PeerCertificate(fingerprint(c)));
            let served = std::sync::atomic::AtomicUsize::new(0);
            let service =
                hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                    if let Some(peer) = &peer {
                        request.extensions_mut().insert(peer.clone());
                    }
                    let last = served.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
                        >= limits.requests_per_connection;
                    let answer = app.clone().oneshot(request);
                    async move {
                        let mut answered = match tokio::time::timeout(limits.request, answer).await
                        {
                            Ok(answered) => answered,
                            Err(_) => Ok(timed_out()),
                        };
                        if last && let Ok(response) = &mut answered {
                            // hyper ends the connection after an answer that says so.
                            response.headers_mut().insert(
                                axum::http::header::CONNECTION,
                                axum::http::HeaderValue::from_static("close"),
                            );
                        }
                        answered
                    }
                });
            // A connection that ends badly concerns that client only.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.headers)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The answer to a request that ran past its time.
fn timed_out() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        [(axum::http::header::CONNECTION, "close")],
        "the request took too long\n",
    )
        .into_response()
}
