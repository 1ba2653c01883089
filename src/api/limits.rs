//! Per-integration rate limiting (a token bucket) and request body limits.

use super::error::ApiError;
use crate::config::RateLimit;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use bytes::Bytes;
use http_body_util::BodyExt;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    limit: RateLimit,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            state: Mutex::new((f64::from(limit.burst), Instant::now())),
        }
    }

    /// Takes one request's token, or says how many seconds until one is free.
    pub fn take(&self, now: Instant) -> Result<(), u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, last) = &mut *state;
        let rate = f64::from(self.limit.per_second.max(1));
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * rate)
            .min(f64::from(self.limit.burst.max(1)));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

pub fn throttled(integration: &str, retry_after: u64) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("integration {integration} is over its rate limit; retry in {retry_after}s"),
    );
    error.retry_after = Some(retry_after);
    error
}

/// Refuses anything but JSON (a missing content type is taken as JSON).
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence == "text/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("content type {essence:?} is not accepted here: send application/json"),
        ))
    }
}

pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is larger than the limit of {limit} bytes"),
    )
}

/// Reads the body, never more than `limit` bytes: a declared length over it is refused
/// before reading, and a stream that runs over is cut off.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => {
            if error.is::<http_body_util::LengthLimitError>() {
                Err(too_large(limit))
            } else {
                Err(ApiError::bad_request(
                    "body_unreadable",
                    format!("the request body could not be read: {error}"),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_the_burst_then_throttles_and_refills() {
        let limiter = RateLimiter::new(RateLimit {
            per_second: 10,
            burst: 3,
        });
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(start).is_ok());
        }
        assert_eq!(limiter.take(start), Err(1));
        assert!(limiter.take(start + Duration::from_millis(150)).is_ok());
    }

    #[test]
    fn content_types() {
        let mut headers = HeaderMap::new();
        assert!(require_json(&headers).is_ok());
        headers.insert(
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert!(require_json(&headers).is_ok());
        headers.insert(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        assert_eq!(
            require_json(&headers).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }
}
