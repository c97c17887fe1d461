//! Per-company request rates: each company (the caller's, once authenticated) has a bucket
//! of [`RateLimit::burst`] requests that refills at [`RateLimit::per_second`]; a request that
//! finds it empty is answered `429 Too Many Requests` with `Retry-After` (whole seconds until
//! one request is free) and costs nothing more. The default allows 20 requests a second with
//! bursts of 40 — one message reaches up to 10,000 addresses, so a third party needs few.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use crate::{ApiError, Caller};

/// How fast each company may call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests a second, sustained.
    pub per_second: f64,
    /// Requests at once after a pause.
    pub burst: f64,
}

impl Default for RateLimit {
    /// 20 a second, bursts of 40.
    fn default() -> RateLimit {
        RateLimit {
            per_second: 20.0,
            burst: 40.0,
        }
    }
}

/// The companies' buckets (one per company that has called: as many as there are companies).
#[derive(Debug, Clone, Default)]
pub(crate) struct Limiter {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: Arc::default(),
        }
    }

    /// Takes one request from `company`'s bucket, or says how long until one is free.
    fn take(&self, company: &str) -> Result<(), std::time::Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, at) = buckets
            .entry(company.to_string())
            .or_insert((self.limit.burst, now));
        let refill = now.duration_since(*at).as_secs_f64() * self.limit.per_second;
        *tokens = (*tokens + refill).min(self.limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - *tokens) / self.limit.per_second.max(f64::MIN_POSITIVE);
        Err(std::time::Duration::from_secs_f64(wait.min(3600.0)))
    }
}

/// Middleware after the credential layer: a caller's request over its company's rate is `429`.
pub(crate) async fn limit(
    State(limiter): State<Limiter>,
    request: Request,
    next: Next,
) -> Response {
    let Some(company) = request
        .extensions()
        .get::<Caller>()
        .map(|c| c.company.clone())
    else {
        return next.run(request).await;
    };
    match limiter.take(&company) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
            let mut response = ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "{company:?} is over its rate of {} requests a second (bursts of {}): retry in {seconds} s",
                    limiter.limit.per_second, limiter.limit.burst
                ),
            )
            .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The bucket: a burst, then one request per refill interval; companies apart.
    #[tokio::test(start_paused = true)]
    async fn a_bucket_refills_at_its_rate_and_companies_are_apart() {
        let limiter = Limiter::new(RateLimit {
            per_second: 2.0,
            burst: 2.0,
        });
        assert_eq!(limiter.take("a"), Ok(()));
        assert_eq!(limiter.take("a"), Ok(()));
        assert_eq!(limiter.take("a"), Err(Duration::from_millis(500)));
        assert_eq!(limiter.take("b"), Ok(()));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(limiter.take("a"), Ok(()));
        assert!(limiter.take("a").is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        // Refilled to the burst, no more.
        assert_eq!(limiter.take("a"), Ok(()));
        assert_eq!(limiter.take("a"), Ok(()));
        assert!(limiter.take("a").is_err());
    }
}
