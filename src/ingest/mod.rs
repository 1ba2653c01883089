//! Ingest adapters: one file per source format, each turning a request body (and headers)
//! into normalised alert events or a typed error naming the offending field. Pure: depends on
//! the domain types, serde, chrono and sha2; no I/O.
//!
//! Status codes of refusals: 400 when the sender's payload is wrong (syntax, types, missing or
//! unknown fields, values out of range); 422 when the payload is well-formed but klaxon cannot
//! process it (`unsupported_source`, `unsupported_version`).

pub mod alertmanager;
pub mod azure;
pub mod cloudwatch;
pub mod datadog;
pub mod dynatrace;
mod fields;
pub mod generic;
pub mod grafana;
pub mod json;
pub mod pagerduty;
#[cfg(test)]
mod robustness;
pub mod sns;

use crate::domain::AlertEvent;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The source formats an integration can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Generic,
    Alertmanager,
    Grafana,
    Cloudwatch,
    Azure,
    Dynatrace,
    Datadog,
    Pagerduty,
}

impl Source {
    pub const ALL: [Source; 8] = [
        Source::Generic,
        Source::Alertmanager,
        Source::Grafana,
        Source::Cloudwatch,
        Source::Azure,
        Source::Dynatrace,
        Source::Datadog,
        Source::Pagerduty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Generic => "generic",
            Source::Alertmanager => "alertmanager",
            Source::Grafana => "grafana",
            Source::Cloudwatch => "cloudwatch",
            Source::Azure => "azure",
            Source::Dynatrace => "dynatrace",
            Source::Datadog => "datadog",
            Source::Pagerduty => "pagerduty",
        }
    }

    /// Whether klaxon can parse this source yet (the others are accepted in the config schema
    /// so that configs stay valid as adapters are added).
    pub fn is_supported(self) -> bool {
        true
    }
}

/// Per-integration options that change how a source's requests are read (set in the
/// configuration; see `docs/integrations.md`). The defaults are the safe choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Grafana: verify an HMAC-SHA256 signature of every request with this shared secret.
    pub hmac: Option<HmacOptions>,
    /// CloudWatch: verify the signature of every SNS message (default true).
    pub verify_signature: bool,
    /// CloudWatch: SNS topic ARNs accepted (`*` matches one whole ARN segment, or anything
    /// as the last segment). Subscriptions are confirmed only for these; when the list is not
    /// empty, messages from other topics are refused.
    pub allowed_topics: Vec<String>,
    /// CloudWatch: whether an alarm going to INSUFFICIENT_DATA fires (as a warning).
    pub insufficient_data_fires: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hmac: None,
            verify_signature: true,
            allowed_topics: Vec::new(),
            insufficient_data_fires: false,
        }
    }
}

/// How Grafana signs its webhook requests (its contact point's "HMAC Signature" settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacOptions {
    pub secret: String,
    /// The header carrying the hex signature; Grafana's default.
    pub header: String,
    /// When set, Grafana sends a Unix timestamp in this header and signs `timestamp:body`.
    pub timestamp_header: Option<String>,
}

/// Grafana's default signature header.
pub const GRAFANA_SIGNATURE_HEADER: &str = "X-Grafana-Alerting-Signature";

/// Why a payload was refused. `status` is the HTTP status to answer with (400, 415, 422).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct IngestError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// The JSON path of the offending field, such as `alerts[0].status`, where there is one.
    pub field: Option<String>,
}

/// What a source sent, after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub events: Vec<AlertEvent>,
}

/// Parses a body posted to `POST /v1/integrations/{key}` (or a websocket frame) in the
/// integration's source format, with default options. `now` bounds timestamps.
pub fn parse(
    source: Source,
    body: &[u8],
    headers: &http::HeaderMap,
    now: DateTime<Utc>,
) -> Result<Parsed, IngestError> {
    parse_with(source, body, headers, now, &Options::default())
}

/// [`parse`] with the integration's options. `headers` carry Grafana's signature. A
/// CloudWatch SNS message whose signature must be verified is refused here: that needs the
/// signing certificate, which the API fetches (see `cloudwatch::parse_request`).
pub fn parse_with(
    source: Source,
    body: &[u8],
    headers: &http::HeaderMap,
    now: DateTime<Utc>,
    options: &Options,
) -> Result<Parsed, IngestError> {
    match source {
        Source::Generic => generic::parse(body, now),
        Source::Alertmanager => alertmanager::parse(body, now),
        Source::Grafana => grafana::parse(body, headers, now, options.hmac.as_ref()),
        Source::Azure => azure::parse(body, now),
        Source::Dynatrace => dynatrace::parse(body, now),
        Source::Datadog => datadog::parse(body, now),
        Source::Cloudwatch => cloudwatch::parse_unverified(body, now, options),
        Source::Pagerduty => Err(IngestError {
            status: fields::UNPROCESSABLE,
            code: "unsupported_source",
            message: String::from(
                "pagerduty integrations receive PagerDuty Events API v2 events at POST /v2/enqueue, \
                 with the integration key as routing_key",
            ),
            field: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_supported_and_refuses_an_empty_object_cleanly() {
        let now = Utc::now();
        for source in Source::ALL {
            assert!(source.is_supported());
            let error = parse(source, b"{}", &http::HeaderMap::new(), now).unwrap_err();
            assert!((400..500).contains(&error.status), "{source:?}: {error:?}");
            assert!(!error.message.is_empty());
        }
        let error = parse(Source::Pagerduty, b"{}", &http::HeaderMap::new(), now).unwrap_err();
        assert_eq!(error.status, 422);
        assert!(error.message.contains("/v2/enqueue"));
    }

    #[test]
    fn parse_dispatches_by_source() {
        let now = Utc::now();
        let headers = http::HeaderMap::new();
        let parsed = parse(
            Source::Generic,
            br#"{"summary":"disk full"}"#,
            &headers,
            now,
        )
        .unwrap();
        assert_eq!(parsed.events[0].title, "disk full");
        let error = parse(
            Source::Alertmanager,
            br#"{"summary":"disk full"}"#,
            &headers,
            now,
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("groupKey"));
    }
}
