//! Who is calling: the client certificate names the company, HTTP Basic credentials the user,
//! and the user must belong to that company. The result is the request's [`Caller`].
//!
//! Passwords are kept as Argon2id PHC strings. Checking one costs tens of milliseconds by
//! design, so a successful check is remembered (by a SHA-256 of user, password and stored
//! hash, in memory only) and the same credentials are not re-hashed on every request. At most
//! [`CONCURRENT_HASHES`] checks run at once (the rest wait their turn), so a flood of wrong
//! passwords costs a bounded share of the machine.
//!
//! SMT's rules (seed Table 11): 4 wrong passwords within 5 minutes lock the user (BR-017.010)
//! until an administrator unlocks it or resets its password (`hanrig gateway admin
//! user-unlock`, `password-reset`); 10 wrong passwords within 5 minutes with one client
//! certificate, whatever the user names, lock the certificate for
//! [`CERTIFICATE_LOCK_SECONDS`](hanrig_gateway_store::CERTIFICATE_LOCK_SECONDS) or until an
//! administrator unlocks it (`cert-unlock`). A disabled user (`user-disable`) is refused as a
//! wrong password is. Every refusal of a user name and password — unknown user,
//! wrong password, locked user — is the same answer, and an unknown user's password is
//! checked against a dummy hash, so neither the words nor the time tell which it was.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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

/// [`hash_password`] of a new password for `user`, once it passes SMT's rules
/// ([`hanrig_gateway::access::check_password`]).
pub fn new_password_hash(user: &str, password: &str) -> Result<String, String> {
    hanrig_gateway::access::check_password(user, password).map_err(|e| e.to_string())?;
    hash_password(password)
}

/// How many password checks run at once.
pub const CONCURRENT_HASHES: usize = 4;

/// The one answer to a user name and password that do not sign in.
const REFUSED: &str = "unknown user, wrong password or locked user (4 wrong passwords within 5 minutes lock a user until an administrator unlocks it or resets its password)";

/// The hash an unknown user's password is checked against: made once, of a random password,
/// with the same parameters as every stored one.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::pki::random_hex(16).unwrap_or_else(|| "no randomness".into());
        hash_password(&random).unwrap_or_default()
    })
}

pub(crate) fn verify(password: &str, phc: &str) -> bool {
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
    clock: fn() -> i64,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
    hashing: Arc<tokio::sync::Semaphore>,
    hashes: Arc<AtomicU64>,
}

impl Authenticator {
    /// Credentials checked against `store`; failures timed by `clock` (Unix seconds).
    pub fn new(store: Store, clock: fn() -> i64) -> Authenticator {
        Authenticator {
            store,
            clock,
            verified: Arc::default(),
            hashing: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_HASHES)),
            hashes: Arc::default(),
        }
    }

    /// How many passwords have been hashed to check them.
    pub fn hashes(&self) -> u64 {
        self.hashes.load(Ordering::Relaxed)
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
        let Ok(_turn) = self.hashing.acquire().await else {
            return false;
        };
        self.hashes.fetch_add(1, Ordering::Relaxed);
        let (password, phc) = (password.to_string(), phc.to_string());
        let ok = tokio::task::spawn_blocking(move || verify(&password, &phc))
            .await
            .unwrap_or(false);
        if ok && let Ok(mut v) = self.verified.lock() {
            v.insert(key);
        }
        ok
    }

    /// Establishes the [`Caller`] or answers `401`/`403`, with the company the certificate
    /// names (empty when none) for the audit log.
    async fn caller(
        &self,
        peer: Option<PeerCertificate>,
        credentials: Option<(String, String)>,
    ) -> Result<Caller, (String, Response)> {
        let Some(PeerCertificate(fingerprint)) = peer else {
            return Err((String::new(), Self::unauthorized("no client certificate")));
        };
        let company = match self.store.certificate_company(&fingerprint).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Err((
                    String::new(),
                    Self::unauthorized(format!(
                        "client certificate {fingerprint} was not issued to any company here, or was revoked"
                    )),
                ));
            }
            Err(e) => return Err((String::new(), ApiError::from(e).into_response())),
        };
        let name = company.name.clone();
        self.check(&fingerprint, company, credentials)
            .await
            .map_err(|response| (name, response))
    }

    async fn check(
        &self,
        fingerprint: &str,
        company: hanrig_gateway_store::CompanyRecord,
        credentials: Option<(String, String)>,
    ) -> Result<Caller, Response> {
        let now = (self.clock)();
        let locked = self
            .store
            .certificate_locked_until(fingerprint, now)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        if let Some(until) = locked {
            return Err(Self::unauthorized(format!(
                "client certificate {fingerprint} is locked until {until} (Unix seconds): {} wrong passwords within 5 minutes came with it; an administrator can unlock it sooner (hanrig gateway admin cert-unlock)",
                hanrig_gateway_store::CERTIFICATE_LOCKOUT_FAILURES
            )));
        }
        let (user, password) = credentials.ok_or_else(|| {
            Self::unauthorized("HTTP Basic credentials (user name and password) are required")
        })?;
        let record = match self.store.user(&user).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(ApiError::from(e).into_response()),
        };
        // An unknown user costs the same hash as a known one.
        let phc = record
            .as_ref()
            .map_or_else(|| dummy_hash().to_string(), |r| r.password_hash.clone());
        let right = self.password_ok(&user, &password, &phc).await;
        let record = match record {
            Some(r) if right && r.locked_at.is_none() && r.disabled_at.is_none() => r,
            known => {
                let failed = async {
                    if !right {
                        // Per certificate whatever the name, so that guessing many users'
                        // passwords with one certificate stops too.
                        self.store.certificate_failed(fingerprint, now).await?;
                        if known.is_some() {
                            self.store.login_failed(&user, now).await?;
                        }
                    }
                    Ok::<_, StoreError>(())
                };
                failed
                    .await
                    .map_err(|e| ApiError::from(e).into_response())?;
                return Err(Self::unauthorized(REFUSED));
            }
        };
        self.store
            .login_succeeded(&user)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
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
            territory: company.territory,
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
    let user = credentials
        .as_ref()
        .map(|(u, _)| u.clone())
        .unwrap_or_default();
    match auth.caller(peer, credentials).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err((company, response)) => {
            crate::audit::record(
                &auth.store,
                hanrig_gateway_store::AuditEntry {
                    at: (auth.clock)(),
                    company,
                    user,
                    method: request.method().to_string(),
                    path: request.uri().path().to_string(),
                    status: response.status().as_u16(),
                    tdsps: Vec::new(),
                },
            )
            .await;
            response
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use hanrig_gateway::access::CompanyKind;

    /// A repository with Acme Energy, its certificate `fingerprint` and its administrator
    /// alice (password CorrectHorse42).
    async fn alice(fingerprint: &str) -> Store {
        let store = Store::open("sqlite::memory:").await.unwrap();
        store
            .add_company("Acme Energy", CompanyKind::ThirdParty, 0)
            .await
            .unwrap();
        store
            .add_certificate("Acme Energy", fingerprint, "Acme", 0)
            .await
            .unwrap();
        let hash = hash_password("CorrectHorse42").unwrap();
        store
            .add_user("Acme Energy", "alice", &hash, true, &[], 0)
            .await
            .unwrap();
        store
    }

    /// An unknown user's password is hashed as a known user's is (against the dummy hash), so
    /// the time of the answer does not tell the two apart; and the answer is the same.
    #[tokio::test]
    async fn an_unknown_user_costs_one_hash_as_a_known_user_does() {
        let store = alice("ab").await;
        let auth = Authenticator::new(store, || 0);
        let peer = || Some(PeerCertificate("ab".into()));
        let refusal = |r: Result<Caller, (String, Response)>| r.err().map(|(_, r)| r.status());
        let unknown = auth
            .caller(
                peer(),
                Some(("nobody-here".into(), "CorrectHorse42".into())),
            )
            .await;
        assert_eq!(auth.hashes(), 1, "the unknown user's password was hashed");
        let wrong = auth
            .caller(peer(), Some(("alice".into(), "BatteryStaple7".into())))
            .await;
        assert_eq!(auth.hashes(), 2);
        assert_eq!(refusal(unknown), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(refusal(wrong), Some(StatusCode::UNAUTHORIZED));
        let right = auth
            .caller(peer(), Some(("alice".into(), "CorrectHorse42".into())))
            .await;
        assert!(right.is_ok());
    }

    static NOW: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_000);

    fn now() -> i64 {
        NOW.load(Ordering::Relaxed)
    }

    /// Ten wrong passwords with one certificate — a few for each of many user names, so that
    /// no user locks — lock the certificate: then even a right password is refused, saying
    /// so, until an administrator unlocks it or 15 minutes pass. A disabled user is refused
    /// as a wrong password is, and enabled again signs in.
    #[tokio::test]
    async fn guessing_many_users_with_one_certificate_locks_it_and_a_disabled_user_is_refused() {
        let store = alice("cd").await;
        let auth = Authenticator::new(store.clone(), now);
        let sign_in = |user: &str, password: &str| {
            let auth = auth.clone();
            let (user, password) = (user.to_string(), password.to_string());
            async move {
                auth.caller(Some(PeerCertificate("cd".into())), Some((user, password)))
                    .await
                    .map_err(|(_, r)| r.status())
            }
        };
        for i in 0..hanrig_gateway_store::CERTIFICATE_LOCKOUT_FAILURES {
            let user = format!("guess-{}", i / 3);
            assert_eq!(
                sign_in(&user, "Password1").await.err(),
                Some(StatusCode::UNAUTHORIZED)
            );
        }
        let hashes = auth.hashes();
        assert!(sign_in("alice", "CorrectHorse42").await.is_err(), "locked");
        assert_eq!(auth.hashes(), hashes, "a locked certificate costs no hash");
        NOW.fetch_add(
            hanrig_gateway_store::CERTIFICATE_LOCK_SECONDS,
            Ordering::Relaxed,
        );
        assert!(
            sign_in("alice", "CorrectHorse42").await.is_ok(),
            "lifted by time"
        );
        for _ in 0..hanrig_gateway_store::CERTIFICATE_LOCKOUT_FAILURES {
            let _ = sign_in("mallory", "Password1").await;
        }
        assert!(sign_in("alice", "CorrectHorse42").await.is_err());
        store.unlock_certificate("cd").await.unwrap();
        assert!(sign_in("alice", "CorrectHorse42").await.is_ok(), "unlocked");

        store.set_user_disabled("alice", true, now()).await.unwrap();
        assert_eq!(
            sign_in("alice", "CorrectHorse42").await.err(),
            Some(StatusCode::UNAUTHORIZED)
        );
        store
            .set_user_disabled("alice", false, now())
            .await
            .unwrap();
        assert!(sign_in("alice", "CorrectHorse42").await.is_ok());
    }
}
