//! Who is calling: the client certificate names the company, HTTP Basic credentials the user,
//! and the user must belong to that company. The result is the request's [`Caller`].
//!
//! Passwords are kept as Argon2id PHC strings. Checking one costs tens of milliseconds by
//! design, so a successful check is remembered (by a SHA-256 of user, password and stored
//! hash, in memory only) and the same credentials are not re-hashed on every request.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hanrig_gateway_store::{Store, StoreError};

use crate::tls::PeerCertificate;
use crate::{ApiError, Caller};

/// The PHC string of `password`, with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing the password: {e}"))
}

fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The credential layer's state.
#[derive(Debug, Clone)]
pub struct Authenticator {
    store: Store,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl Authenticator {
    /// Credentials checked against `store`.
    pub fn new(store: Store) -> Authenticator {
        Authenticator {
            store,
            verified: Arc::default(),
        }
    }

    fn unauthorized(message: impl Into<String>) -> Response {
        let mut response = ApiError(StatusCode::UNAUTHORIZED, message.into()).into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"hanrig\""),
        );
        response
    }

    async fn password_ok(&self, user: &str, password: &str, phc: &str) -> bool {
        let key: [u8; 32] = {
            let mut context = ring::digest::Context::new(&ring::digest::SHA256);
            for part in [user, password, phc] {
                context.update(&(part.len() as u64).to_be_bytes());
                context.update(part.as_bytes());
            }
            let mut key = [0u8; 32];
            key.copy_from_slice(context.finish().as_ref());
            key
        };
        if self.verified.lock().is_ok_and(|v| v.contains(&key)) {
            return true;
        }
        let (password, phc) = (password.to_string(), phc.to_string());
        let ok = tokio::task::spawn_blocking(move || verify(&password, &phc))
            .await
            .unwrap_or(false);
        if ok && let Ok(mut v) = self.verified.lock() {
            v.insert(key);
        }
        ok
    }

    /// Establishes the [`Caller`] or answers `401`/`403`.
    async fn caller(
        &self,
        peer: Option<PeerCertificate>,
        credentials: Option<(String, String)>,
    ) -> Result<Caller, Response> {
        let Some(PeerCertificate(fingerprint)) = peer else {
            return Err(Self::unauthorized("no client certificate"));
        };
        let company = match self.store.certificate_company(&fingerprint).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err(Self::unauthorized(format!(
                    "client certificate {fingerprint} was not issued to any company here, or was revoked"
                )));
            }
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        let (user, password) = credentials.ok_or_else(|| {
            Self::unauthorized("HTTP Basic credentials (user name and password) are required")
        })?;
        let record = match self.store.user(&user).await {
            Ok(u) => u,
            Err(StoreError::NotFound(_)) => {
                return Err(Self::unauthorized("unknown user or wrong password"));
            }
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        if !self
            .password_ok(&user, &password, &record.password_hash)
            .await
        {
            return Err(Self::unauthorized("unknown user or wrong password"));
        }
        if record.company.id != company.id {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                format!(
                    "user {user:?} belongs to {:?}, not to {:?} whose client certificate this is",
                    record.company.name, company.name
                ),
            )
            .into_response());
        }
        Ok(Caller {
            company: company.name,
            kind: company.kind,
            user,
            permissions: record.permissions,
        })
    }
}

/// User name and password from an `Authorization: Basic` header.
fn basic(request: &Request) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Middleware: puts the [`Caller`] in the request's extensions, or answers `401`/`403`.
pub async fn authenticate(
    State(auth): State<Authenticator>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request.extensions().get::<PeerCertificate>().cloned();
    let credentials = basic(&request);
    match auth.caller(peer, credentials).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(response) => response,
    }
}
