//! The `--headends` file of `hanrig gateway serve` (like `gateway/headends.example.toml`): one
//! table per TDSP with its head-end's URL and, for the styles that call back (CIM,
//! MultiSpeak), where the gateway listens for the head-end's results and how it knows the
//! head-end:
//!
//! ```toml
//! [aep-texas-central]
//! url = "http://127.0.0.1:8103/"
//! callback_listen = "127.0.0.1:8203"
//! # The URL the head-end is told to post to (default https://{callback_listen}/).
//! callback_url = "https://gateway.example:8203/"
//! # The CA that signs the head-end's client certificate (relative to this file): only a
//! # client presenting a certificate it signed completes a TLS handshake with the listener.
//! headend_ca = "aep-headend-ca.pem"
//! # Optionally, the SHA-256 fingerprints (hex) of the head-end's certificates: then only
//! # those are admitted, whatever else the CA signed.
//! headend_sha256 = ["4f0c…"]
//! # Hours the head-end has to report on a delivery it accepted before the delivery fails as
//! # expired (default 24; any style).
//! answer_hours = 24
//!
//! [oncor]
//! # An HTTPS head-end (any style): trusted only with the CA that signs its server
//! # certificate (server_ca), and, if it asks for one, shown the gateway's client certificate
//! # (client_cert, client_key; paths relative to this file).
//! url = "https://oncor-headend.example:8443/"
//! server_ca = "oncor-headend-ca.pem"
//! client_cert = "gateway-client.pem"
//! client_key = "gateway-client.key"
//! ```
//!
//! The callback listeners present the gateway's own server certificate. A TDSP left out
//! keeps its deliveries queued until it is configured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hanrig_gateway::routing::{HeadEndStyle, Tdsp};
use hanrig_gateway_connect::cim::CimClient;
use hanrig_gateway_connect::multispeak::MultiSpeakClient;
use hanrig_gateway_connect::{Connector, JobsClient, Pace};
use hanrig_headend::multispeak::MsgHeader;

use crate::{Callbacks, Link};

/// One TDSP's table.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    url: String,
    callback_listen: Option<String>,
    callback_url: Option<String>,
    headend_ca: Option<PathBuf>,
    headend_sha256: Option<Vec<String>>,
    answer_hours: Option<u32>,
    server_ca: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
}

/// The gateway's identity on its callback listeners: its server certificate chain and key.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The certificate chain, PEM.
    pub cert_pem: &'a str,
    /// Its key, PEM.
    pub key_pem: &'a str,
}

/// The links of the head-ends file at `path`: each TDSP's connector, paced by
/// `pace(tdsp)`, and for a calling-back style its listener (bound now) admitting only the
/// head-end. Any mistake in the file is an error naming the file, the TDSP and the field.
pub async fn links(
    path: &Path,
    identity: Identity<'_>,
    pace: impl Fn(Tdsp) -> Pace,
) -> Result<Vec<Link>, String> {
    let file = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{file}: {e}"))?;
    let table: BTreeMap<String, Entry> =
        toml::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (name, entry) in table {
        let at = |what: String| format!("{file}: [{name}]: {what}");
        let tdsp: Tdsp = name.parse().map_err(|e| at(format!("{e}")))?;
        let callbacks = match tdsp.style() {
            HeadEndStyle::Jobs => {
                if entry.callback_listen.is_some()
                    || entry.callback_url.is_some()
                    || entry.headend_ca.is_some()
                    || entry.headend_sha256.is_some()
                {
                    return Err(at(
                        "a job-style head-end is polled and never calls back: drop the callback_* and headend_* fields".into(),
                    ));
                }
                None
            }
            style => Some(callbacks(&entry, base, identity, style).await.map_err(at)?),
        };
        let connector = match (tdsp.style(), &callbacks) {
            (HeadEndStyle::Cim, Some((_, url))) => Connector::Cim(CimClient::new(&entry.url, url)),
            (HeadEndStyle::MultiSpeak, Some((_, url))) => {
                let header = MsgHeader::new("hanrig", "Smart Meter Texas", "", 0);
                Connector::MultiSpeak(MultiSpeakClient::new(&entry.url, url, header))
            }
            _ => Connector::Jobs(JobsClient::new(entry.url.trim_end_matches('/'))),
        };
        let connector = match outbound(&entry, base).map_err(at)? {
            Some(http) => connector.with_http(http),
            None => connector,
        };
        let mut pace = pace(tdsp);
        match entry.answer_hours {
            Some(0) => return Err(at("answer_hours: at least 1".into())),
            Some(hours) => pace.answer_seconds = i64::from(hours) * 3600,
            None => {}
        }
        out.push(Link {
            tdsp,
            connector,
            callbacks: callbacks.map(|(c, _)| c),
            pace,
        });
    }
    Ok(out)
}

/// The HTTPS client for an `https://` head-end: trusting only `server_ca`, presenting
/// `client_cert` and `client_key` if given; `None` for an `http://` one (which may name none
/// of them).
fn outbound(entry: &Entry, base: &Path) -> Result<Option<reqwest::Client>, String> {
    let read = |field: &str, path: &PathBuf| {
        let path = base.join(path);
        std::fs::read_to_string(&path).map_err(|e| format!("{field} {}: {e}", path.display()))
    };
    if !entry.url.starts_with("https://") {
        if entry.server_ca.is_some() || entry.client_cert.is_some() || entry.client_key.is_some() {
            return Err(format!(
                "url {:?} is not https://: server_ca, client_cert and client_key are for an HTTPS head-end",
                entry.url
            ));
        }
        return Ok(None);
    }
    let ca = entry.server_ca.as_ref().ok_or_else(|| {
        format!(
            "url {:?} is https://: give server_ca, the CA that signs the head-end's server certificate (only it is trusted)",
            entry.url
        )
    })?;
    let ca = read("server_ca", ca)?;
    let identity = match (&entry.client_cert, &entry.client_key) {
        (Some(cert), Some(key)) => Some((read("client_cert", cert)?, read("client_key", key)?)),
        (None, None) => None,
        _ => return Err("give client_cert and client_key together".into()),
    };
    hanrig_gateway_connect::tls_client(
        &ca,
        identity.as_ref().map(|(c, k)| (c.as_str(), k.as_str())),
        hanrig_gateway_connect::REQUEST_TIMEOUT,
    )
    .map(Some)
}

/// A calling-back entry's listener, bound, and the URL the head-end is to post to.
async fn callbacks(
    entry: &Entry,
    base: &Path,
    identity: Identity<'_>,
    style: HeadEndStyle,
) -> Result<(Callbacks, String), String> {
    let listen = entry
        .callback_listen
        .as_deref()
        .ok_or_else(|| format!("a {style:?}-style head-end calls back: give callback_listen"))?;
    let ca = entry.headend_ca.as_ref().ok_or_else(|| {
        "give headend_ca, the CA that signs the head-end's client certificate: its callbacks are admitted only with one".to_string()
    })?;
    let ca_path = base.join(ca);
    let ca_pem = std::fs::read_to_string(&ca_path)
        .map_err(|e| format!("headend_ca {}: {e}", ca_path.display()))?;
    let pins = entry.headend_sha256.clone().unwrap_or_default();
    if let Some(bad) = pins
        .iter()
        .find(|p| p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(format!(
            "headend_sha256: {bad:?} is not a SHA-256 fingerprint (64 hex digits)"
        ));
    }
    let tls = hanrig_gateway_api::tls::pinned_server_config(
        &ca_pem,
        &pins,
        identity.cert_pem,
        identity.key_pem,
    )
    .map_err(|e| format!("callback TLS: {e}"))?;
    let url = entry
        .callback_url
        .clone()
        .unwrap_or_else(|| format!("https://{listen}/"));
    if !url.starts_with("https://") {
        return Err(format!(
            "callback_url {url:?}: the head-end must post over HTTPS (its callbacks are authenticated by TLS)"
        ));
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("callback_listen {listen}: {e}"))?;
    Ok((Callbacks { listener, tls }, url))
}
