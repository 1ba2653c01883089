//! Ingest adapters: one file per source format, each turning a request body (and headers)
//! into normalised alert events or a typed error naming the offending field. Pure: depends on
//! the domain types, serde, chrono and sha2; no I/O.
//!
//! Status codes of refusals: 400 when the sender's payload is wrong (syntax, types, missing or
//! unknown fields, values out of range); 422 when the payload is well-formed but klaxon cannot
//! process it (`unsupported_source`, `unsupported_version`).

pub mod alertmanager;
mod fields;
pub mod generic;
pub mod json;
pub mod pagerduty;
#[cfg(test)]
mod robustness;

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
        matches!(
            self,
            Source::Generic | Source::Alertmanager | Source::Pagerduty
        )
    }
}

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
/// integration's source format. `now` bounds timestamps; `headers` are for formats that need
/// them (none of the supported ones yet).
pub fn parse(
    source: Source,
    body: &[u8],
    _headers: &http::HeaderMap,
    now: DateTime<Utc>,
) -> Result<Parsed, IngestError> {
    match source {
        Source::Generic => generic::parse(body, now),
        Source::Alertmanager => alertmanager::parse(body, now),
        Source::Pagerduty => Err(IngestError {
            status: fields::UNPROCESSABLE,
            code: "unsupported_source",
            message: String::from(
                "pagerduty integrations receive PagerDuty Events API v2 events at POST /v2/enqueue, \
                 with the integration key as routing_key",
            ),
            field: None,
        }),
        other => Err(IngestError {
            status: fields::UNPROCESSABLE,
            code: "unsupported_source",
            message: format!(
                "the {} source format is not supported yet: use generic, alertmanager or pagerduty",
                other.as_str()
            ),
            field: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_sources_answer_422() {
        let now = Utc::now();
        for source in Source::ALL {
            if matches!(source, Source::Generic | Source::Alertmanager) {
                assert!(source.is_supported());
                continue;
            }
            let error = parse(source, b"{}", &http::HeaderMap::new(), now).unwrap_err();
            assert_eq!(error.status, 422, "{source:?}");
            assert_eq!(error.code, "unsupported_source");
            assert!(error.message.contains(source.as_str()) || source == Source::Pagerduty);
        }
        assert!(Source::Pagerduty.is_supported());
        assert!(!Source::Grafana.is_supported());
        let error = parse(Source::Pagerduty, b"{}", &http::HeaderMap::new(), now).unwrap_err();
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
