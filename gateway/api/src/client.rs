//! A client of the API over mutual TLS with HTTP Basic credentials: what the harness, the
//! tests and the lab use. One connection per request.

use std::sync::Arc;

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use crate::pki::PkiError;
use crate::tls::{certificates, private_key, provider, roots};

/// What went wrong calling the API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `https://HOST:PORT`.
    #[error("API URL {0:?}: use https://HOST:PORT")]
    Url(String),
    /// Certificates or keys.
    #[error(transparent)]
    Pki(#[from] PkiError),
    /// Connecting, the TLS handshake, or HTTP.
    #[error("{0}")]
    Transport(String),
}

/// The API's client.
#[derive(Clone)]
pub struct ApiClient {
    host: String,
    port: u16,
    server: ServerName<'static>,
    tls: tokio_rustls::TlsConnector,
    authorization: String,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// An error and its sources, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text
}

fn transport(e: impl std::fmt::Display) -> ClientError {
    ClientError::Transport(e.to_string())
}

impl ApiClient {
    /// A client of the API at `url` (`https://HOST:PORT`) that trusts `ca_pem`, presents the
    /// certificate `cert_pem` with its key `key_pem`, and logs in as `user` with `password`.
    pub fn new(
        url: &str,
        ca_pem: &str,
        cert_pem: &str,
        key_pem: &str,
        user: &str,
        password: &str,
    ) -> Result<ApiClient, ClientError> {
        let authority = url
            .strip_prefix("https://")
            .map(|a| a.trim_end_matches('/'))
            .ok_or_else(|| ClientError::Url(url.to_string()))?;
        let (host, port) = authority
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.trim_matches(['[', ']']), p.parse::<u16>().ok()?)))
            .ok_or_else(|| ClientError::Url(url.to_string()))?;
        let server = ServerName::try_from(host.to_string())
            .map_err(|_| ClientError::Url(url.to_string()))?;
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(transport)?
            .with_root_certificates(roots(ca_pem)?)
            .with_client_auth_cert(
                certificates(cert_pem, "client certificate")?,
                private_key(key_pem, "client key")?,
            )
            .map_err(|e| PkiError::Pem(format!("client certificate and key: {e}")))?;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Ok(ApiClient {
            host: host.to_string(),
            port,
            server,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            authorization: format!("Basic {credentials}"),
        })
    }

    /// `GET path`: the status and the JSON body.
    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value), ClientError> {
        self.call("GET", path, None).await
    }

    /// `POST path` with a JSON body: the status and the JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), ClientError> {
        self.call("POST", path, Some(body)).await
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), ClientError> {
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| transport(format!("connecting to {}:{}: {e}", self.host, self.port)))?;
        let stream = self
            .tls
            .connect(self.server.clone(), tcp)
            .await
            .map_err(|e| transport(format!("TLS handshake: {e}")))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(transport)?;
        let connection = tokio::spawn(connection);
        let bytes = body.map(|b| b.to_string()).unwrap_or_default();
        let request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, format!("{}:{}", self.host, self.port))
            .header(hyper::header::AUTHORIZATION, &self.authorization)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(transport)?;
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            // With TLS 1.3 the server refuses a client certificate after the handshake: the
            // connection's own error says why (an alert), the request's only that it ended.
            Err(e) => {
                return Err(match connection.await {
                    Ok(Err(why)) => transport(chain(&why)),
                    _ => transport(chain(&e)),
                });
            }
        };
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(transport)?
            .to_bytes();
        let json = serde_json::from_slice(&body)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into()));
        Ok((status, json))
    }
}
