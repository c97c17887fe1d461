//! `Idempotency-Key` on every POST that creates a message (the IETF HTTPAPI draft
//! "The Idempotency-Key HTTP Header Field"; Stripe's API behaves the same way).
//!
//! A client that times out and sends its POST again with the same key gets the first answer
//! (`202` with the same body, and `Idempotent-Replayed: true`) and no second message: a
//! load-control event retried is still one event. The key is the company's: another company's
//! use of the same key is unrelated. Keys are remembered for
//! [`IDEMPOTENCY_SECONDS`](hanrig_gateway_store::IDEMPOTENCY_SECONDS) (24 hours).
//!
//! - The same key with a different request (method, path or body) is `409 Conflict`, and
//!   nothing is stored. (The draft suggests 422; the request is valid in itself and conflicts
//!   only with what the key already stands for, so hanrig answers as for any other conflict.)
//! - A key that is not 1–255 visible ASCII characters (an RFC 8941 string in quotes, or bare)
//!   is `400`.
//! - A request without the header is not de-duplicated.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::ApiError;

/// The request header.
pub const HEADER: &str = "Idempotency-Key";

/// The answer header that marks a replayed answer.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// The longest key accepted, in characters.
pub const MAX_KEY: usize = 255;

/// A request's `Idempotency-Key`, if it sent one, with what identifies the request apart from
/// its body: its method and path.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub(crate) Option<(String, String)>);

impl IdempotencyKey {
    /// The key, and a SHA-256 (hex) of the method, path and `body` it came with.
    pub(crate) fn with_body(&self, body: &serde_json::Value) -> Option<(&str, String)> {
        let (key, request) = self.0.as_ref()?;
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        let body = body.to_string();
        for part in [request.as_str(), body.as_str()] {
            digest.update(&(part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let fingerprint = digest
            .finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Some((key.as_str(), fingerprint))
    }
}

/// The key in a header's value: an RFC 8941 string (`"…"`) or the bare characters.
pub fn parse_key(value: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(value)
        .map_err(|_| format!("{HEADER} must be visible ASCII characters"))?;
    let key = text
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(text);
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(format!(
            "{HEADER} must be 1 to {MAX_KEY} characters, not {}",
            key.len()
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !c.is_ascii_graphic() || *c == '"' || *c == '\\')
    {
        return Err(format!(
            "{HEADER} must be visible ASCII characters without quotes or backslashes, not {c:?}"
        ));
    }
    Ok(key.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(HEADER).iter();
        let Some(value) = values.next() else {
            return Ok(IdempotencyKey(None));
        };
        if values.next().is_some() {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("one {HEADER} header, not several"),
            ));
        }
        let key = parse_key(value.as_bytes()).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
        Ok(IdempotencyKey(Some((
            key,
            format!("{} {}", parts.method, parts.uri.path()),
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_a_quoted_or_bare_string_of_visible_ascii() {
        assert_eq!(parse_key(b"\"abc-123\"").as_deref(), Ok("abc-123"));
        assert_eq!(parse_key(b"abc-123").as_deref(), Ok("abc-123"));
        assert!(parse_key(b"").is_err());
        assert!(parse_key(b"\"\"").is_err());
        assert!(parse_key(b"has space").is_err());
        assert!(parse_key("caf\u{e9}".as_bytes()).is_err());
        assert!(parse_key(&[b'k'; MAX_KEY + 1]).is_err());
        assert!(parse_key(&[b'k'; MAX_KEY]).is_ok());
    }
}
