//! Grafana unified alerting webhook (contact point type "Webhook", payload version 1): the
//! Alertmanager shape plus Grafana's own fields (`values`, which may be null, `silenceURL`,
//! `dashboardURL`, `panelURL`, `imageURL`, `orgId`, `title`, `state`, `message`). One incident
//! per notification group (`groupKey`). When the integration has a secret, the request must
//! carry Grafana's HMAC-SHA256 signature of the raw body (or of `timestamp:body` when a
//! timestamp header is configured); a missing or wrong one is refused with 401. Pure.

use super::alertmanager::{self, Flavor};
use super::fields::{quote, refuse};
use super::{HmacOptions, IngestError, Parsed};
use aws_lc_rs::hmac;
use chrono::{DateTime, Utc};

/// How far a signed timestamp may be from our clock, either way: Grafana sets it when it
/// sends, and retries get a fresh one, so minutes are plenty and replays are cut short.
pub const TIMESTAMP_TOLERANCE_SECONDS: i64 = 5 * 60;

/// Parses one Grafana notification, after checking its signature if a secret is configured.
pub fn parse(
    body: &[u8],
    headers: &http::HeaderMap,
    now: DateTime<Utc>,
    hmac: Option<&HmacOptions>,
) -> Result<Parsed, IngestError> {
    if let Some(options) = hmac {
        verify_signature(body, headers, now, options)?;
    }
    alertmanager::parse_flavor(body, now, Flavor::Grafana)
}

fn unauthorized(field: &str, problem: String) -> IngestError {
    refuse(401, "bad_signature", field, problem)
}

/// Checks Grafana's HMAC signature header against the raw body. Refusals are 401 and name the
/// header; the expected signature is never echoed.
pub fn verify_signature(
    body: &[u8],
    headers: &http::HeaderMap,
    now: DateTime<Utc>,
    options: &HmacOptions,
) -> Result<(), IngestError> {
    let header = options.header.as_str();
    let Some(value) = headers.get(header) else {
        return Err(unauthorized(
            header,
            format!(
                "this integration requires an HMAC signature: set the Grafana contact point's \
                 HMAC secret, with the signature in the {header} header"
            ),
        ));
    };
    let given = value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|text| hex::decode(text).ok())
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| {
            unauthorized(
                header,
                String::from("expected a hex-encoded HMAC-SHA256 signature (64 hex digits)"),
            )
        })?;

    let key = hmac::Key::new(hmac::HMAC_SHA256, options.secret.as_bytes());
    let verified = match &options.timestamp_header {
        None => hmac::verify(&key, body, &given),
        Some(timestamp_header) => {
            let timestamp = headers
                .get(timestamp_header.as_str())
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .ok_or_else(|| {
                    unauthorized(
                        timestamp_header,
                        String::from(
                            "this integration requires a signed timestamp: set the same \
                             timestamp header in the Grafana contact point",
                        ),
                    )
                })?;
            let seconds: i64 = timestamp.parse().map_err(|_| {
                unauthorized(
                    timestamp_header,
                    format!(
                        "expected a Unix timestamp in seconds, got {}",
                        quote(timestamp)
                    ),
                )
            })?;
            if (now.timestamp() - seconds).abs() > TIMESTAMP_TOLERANCE_SECONDS {
                return Err(unauthorized(
                    timestamp_header,
                    format!(
                        "timestamp {seconds} is more than {} minutes from this server's clock \
                         (a replay, or a clock that is wrong)",
                        TIMESTAMP_TOLERANCE_SECONDS / 60
                    ),
                ));
            }
            let mut context = hmac::Context::with_key(&key);
            context.update(timestamp.as_bytes());
            context.update(b":");
            context.update(body);
            let expected = context.sign();
            // Constant time: `hmac::verify` recomputes; here compare the tags directly.
            if subtle::ConstantTimeEq::ct_eq(expected.as_ref(), given.as_slice()).into() {
                Ok(())
            } else {
                Err(aws_lc_rs::error::Unspecified)
            }
        }
    };
    verified.map_err(|_| {
        unauthorized(
            header,
            String::from(
                "the HMAC signature does not match the body: check that the secret is the same \
                 in Grafana and in klaxon",
            ),
        )
    })
}

/// The hex signature Grafana would send for `body` (and `timestamp`), for tests and demos.
pub fn sign(secret: &str, timestamp: Option<&str>, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    if let Some(timestamp) = timestamp {
        context.update(timestamp.as_bytes());
        context.update(b":");
    }
    context.update(body);
    hex::encode(context.sign().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertStatus, Severity};
    use serde_json::json;

    /// Grafana's documented webhook payload, unedited
    /// (docs/sources/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier.md).
    const DOCS_EXAMPLE: &str = include_str!("../../tests/fixtures/grafana/docs-example.json");

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2021-10-12T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn options(timestamp_header: Option<&str>) -> HmacOptions {
        HmacOptions {
            secret: String::from("s3cret-shared-with-grafana"),
            header: String::from(super::super::GRAFANA_SIGNATURE_HEADER),
            timestamp_header: timestamp_header.map(str::to_string),
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        headers
    }

    #[test]
    fn the_documented_example_parses() {
        let events = parse(
            DOCS_EXAMPLE.as_bytes(),
            &http::HeaderMap::new(),
            now(),
            None,
        )
        .unwrap()
        .events;
        assert_eq!(events.len(), 2);
        assert!(events.iter().all(|event| event.dedup_key == "{}:{}"));
        assert_eq!(events[0].status, AlertStatus::Firing);
        assert_eq!(events[0].title, "This alert was triggered for zone us-1");
        assert_eq!(events[1].title, "This alert was triggered for zone eu-1");
        assert_eq!(events[0].severity, Severity::Error);
        assert_eq!(events[0].fingerprint.as_deref(), Some("c6eadffa33fcdf37"));
        assert_eq!(
            events[0].details["values"],
            json!({"B": 44.23943737541908, "C": 1})
        );
        let texts: Vec<_> = events[0]
            .links
            .iter()
            .map(|link| link.text.as_deref().unwrap())
            .collect();
        assert_eq!(texts, ["Runbook", "Source", "Silence", "Grafana"]);
        assert_eq!(
            events[0].source_time,
            Some(
                DateTime::parse_from_rfc3339("2021-10-12T07:51:03.157076Z")
                    .unwrap()
                    .with_timezone(&Utc)
            )
        );
    }

    #[test]
    fn null_values_and_resolved_alerts_are_read() {
        let mut payload: serde_json::Value = serde_json::from_str(DOCS_EXAMPLE).unwrap();
        payload["alerts"][0]["values"] = serde_json::Value::Null;
        payload["alerts"][1]["status"] = json!("resolved");
        payload["alerts"][1]["endsAt"] = json!("2021-10-12T09:58:03.157076+02:00");
        let events = parse(
            payload.to_string().as_bytes(),
            &http::HeaderMap::new(),
            now(),
            None,
        )
        .unwrap()
        .events;
        assert!(events[0].details.get("values").is_none());
        assert_eq!(events[1].status, AlertStatus::Resolved);
    }

    #[test]
    fn alertmanager_payloads_are_not_grafana_ones() {
        let mut payload: serde_json::Value = serde_json::from_str(DOCS_EXAMPLE).unwrap();
        payload["version"] = json!("4");
        let error = parse(
            payload.to_string().as_bytes(),
            &http::HeaderMap::new(),
            now(),
            None,
        )
        .unwrap_err();
        assert_eq!((error.status, error.code), (422, "unsupported_version"));
        assert!(
            error.message.contains("Grafana version \"1\""),
            "{}",
            error.message
        );
        payload["alerts"][0]["status"] = json!("pending");
        payload["version"] = json!("1");
        let error = parse(
            payload.to_string().as_bytes(),
            &http::HeaderMap::new(),
            now(),
            None,
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("alerts[0].status"));
    }

    #[test]
    fn signatures_over_the_body_are_checked() {
        let body = DOCS_EXAMPLE.as_bytes();
        let options = options(None);
        let good = sign(&options.secret, None, body);
        let header = options.header.clone();
        assert!(parse(body, &headers(&[(&header, &good)]), now(), Some(&options)).is_ok());
        // Header names are case-insensitive; upper-case hex is fine.
        assert!(parse(
            body,
            &headers(&[("x-grafana-alerting-signature", &good.to_uppercase())]),
            now(),
            Some(&options)
        )
        .is_ok());

        let wrong = sign("another", None, body);
        let cases = [
            (vec![], "requires an HMAC signature"),
            (vec![(header.as_str(), "zz")], "hex-encoded"),
            (vec![(header.as_str(), wrong.as_str())], "does not match"),
        ];
        for (pairs, fragment) in cases {
            let error = parse(body, &headers(&pairs), now(), Some(&options)).unwrap_err();
            assert_eq!((error.status, error.code), (401, "bad_signature"));
            assert_eq!(error.field.as_deref(), Some(header.as_str()));
            assert!(error.message.contains(fragment), "{}", error.message);
            assert!(!error.message.contains(&options.secret));
        }
        // One changed byte in the body is a mismatch.
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        let error = parse(
            &tampered,
            &headers(&[(&header, &good)]),
            now(),
            Some(&options),
        )
        .unwrap_err();
        assert_eq!(error.status, 401);
    }

    #[test]
    fn timestamped_signatures_must_be_fresh() {
        let body = DOCS_EXAMPLE.as_bytes();
        let options = options(Some("X-Grafana-Alerting-Timestamp"));
        let at = now().timestamp().to_string();
        let good = sign(&options.secret, Some(&at), body);
        let signed = |timestamp: &str, signature: &str| {
            headers(&[
                ("X-Grafana-Alerting-Signature", signature),
                ("X-Grafana-Alerting-Timestamp", timestamp),
            ])
        };
        assert!(parse(body, &signed(&at, &good), now(), Some(&options)).is_ok());
        // The body alone is not what is signed when a timestamp header is configured.
        let untimed = sign(&options.secret, None, body);
        assert_eq!(
            parse(body, &signed(&at, &untimed), now(), Some(&options))
                .unwrap_err()
                .status,
            401
        );
        let old = (now().timestamp() - 3600).to_string();
        let stale = sign(&options.secret, Some(&old), body);
        let error = parse(body, &signed(&old, &stale), now(), Some(&options)).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("X-Grafana-Alerting-Timestamp"));
        assert!(error.message.contains("minutes"), "{}", error.message);
        let error = parse(
            body,
            &headers(&[("X-Grafana-Alerting-Signature", &good)]),
            now(),
            Some(&options),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("X-Grafana-Alerting-Timestamp"));
        let error = parse(body, &signed("soon", &good), now(), Some(&options)).unwrap_err();
        assert!(error.message.contains("Unix timestamp"));
    }
}
