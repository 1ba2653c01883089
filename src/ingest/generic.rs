//! The generic format, klaxon's own: one alert per body, `{"summary", "severity", "status",
//! "dedup_key", "service", "labels", "links", "details", "timestamp"}`. Strict, because senders
//! write it by hand: unknown fields are refused so that a typo never passes silently. Pure.

use super::fields::{
    self, check_length, optional_string, refuse_unknown_fields, required_string, string_map,
    unknown_value, wrong_type, TimeSyntax, DEDUP_KEY_CHARS, LABEL_LIMITS, SERVICE_CHARS,
    SUMMARY_CHARS,
};
use super::{json, IngestError, Parsed};
use crate::domain::{AlertEvent, AlertStatus, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// The fields the format defines, in the order the error message lists them.
pub const FIELDS: [&str; 9] = [
    "summary",
    "severity",
    "status",
    "dedup_key",
    "service",
    "labels",
    "links",
    "details",
    "timestamp",
];

/// Parses one generic alert. Defaults: severity `error`, status `firing`, `dedup_key` derived
/// from service and summary (so repeats of the same alert join one incident).
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, IngestError> {
    let object = json::parse_object(body)?;
    refuse_unknown_fields(&object, "", &FIELDS)?;

    let summary = required_string(&object, "", "summary")?;
    check_length(summary, "summary", SUMMARY_CHARS)?;

    let severity = match optional_string(&object, "", "severity")? {
        None => Severity::Error,
        Some(name) => name.parse::<Severity>().map_err(|_| {
            unknown_value(
                "severity",
                name,
                "one of \"critical\", \"error\", \"warning\", \"info\"",
            )
        })?,
    };

    let status = match optional_string(&object, "", "status")? {
        None | Some("firing") => AlertStatus::Firing,
        Some("resolved") => AlertStatus::Resolved,
        Some(other) => return Err(unknown_value("status", other, "\"firing\" or \"resolved\"")),
    };

    // An empty service means none: templates render a missing variable as "".
    let service = optional_string(&object, "", "service")?.filter(|service| !service.is_empty());
    if let Some(service) = service {
        check_length(service, "service", SERVICE_CHARS)?;
    }

    let dedup_key = match optional_string(&object, "", "dedup_key")? {
        Some(key) if key.trim().is_empty() => return Err(fields::empty("dedup_key")),
        Some(key) => {
            check_length(key, "dedup_key", DEDUP_KEY_CHARS)?;
            key.to_string()
        }
        None => derived_dedup_key(service, summary),
    };

    let labels = string_map(fields::get(&object, "labels"), "labels", LABEL_LIMITS)?;
    let links = fields::links(fields::get(&object, "links"), "links", true, true)?;
    let details = object.get("details").cloned().unwrap_or(Value::Null);

    let source_time = match fields::get(&object, "timestamp") {
        None => None,
        Some(Value::String(text)) => Some(fields::timestamp(
            text,
            "timestamp",
            TimeSyntax::Rfc3339,
            now,
            Duration::days(1),
        )?),
        Some(other) => return Err(wrong_type("timestamp", "an RFC 3339 string", other)),
    };

    Ok(Parsed {
        events: vec![AlertEvent {
            dedup_key,
            fingerprint: None,
            status,
            title: summary.to_string(),
            severity,
            service: service.map(str::to_string),
            labels,
            links,
            details,
            source_time,
        }],
    })
}

/// The default incident key: the first 32 hex characters of the SHA-256 of
/// `service + "\n" + summary` (service empty when none), so the same alert text from the same
/// service deduplicates, and a sender can compute the key to resolve later:
/// `printf '%s\n%s' "$service" "$summary" | sha256sum | cut -c1-32`.
pub fn derived_dedup_key(service: Option<&str>, summary: &str) -> String {
    let mut key = fields::sha256_hex(format!("{}\n{summary}", service.unwrap_or("")).as_bytes());
    key.truncate(32);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Link;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn event(body: &str) -> AlertEvent {
        let mut parsed = parse(body.as_bytes(), now()).unwrap();
        assert_eq!(parsed.events.len(), 1);
        parsed.events.remove(0)
    }

    fn refusal(body: &str) -> IngestError {
        let error = parse(body.as_bytes(), now()).unwrap_err();
        assert_eq!(error.status, 400, "{error:?}");
        error
    }

    #[test]
    fn a_bare_summary_gets_the_documented_defaults() {
        let event = event(r#"{"summary": "disk full on db-1"}"#);
        assert_eq!(event.title, "disk full on db-1");
        assert_eq!(event.severity, Severity::Error);
        assert_eq!(event.status, AlertStatus::Firing);
        assert_eq!(event.service, None);
        assert_eq!(event.fingerprint, None);
        assert_eq!(
            event.dedup_key,
            derived_dedup_key(None, "disk full on db-1")
        );
        assert_eq!(event.dedup_key.len(), 32);
        assert!(event.labels.is_empty() && event.links.is_empty());
        assert_eq!(event.details, Value::Null);
        assert_eq!(event.source_time, None);
    }

    #[test]
    fn derived_keys_follow_the_documented_formula() {
        // printf 'api\ndown' | sha256sum | cut -c1-32
        assert_eq!(
            derived_dedup_key(Some("api"), "down"),
            "1d042dfe6ee5b274b0e3c553c4e40cd4"
        );
        assert_eq!(
            derived_dedup_key(None, "down"),
            "1616b9c4f5d20e5ab46380fc9f7a8152"
        );
    }

    #[test]
    fn derived_keys_depend_on_service_and_summary() {
        let a = event(r#"{"summary": "down", "service": "api"}"#).dedup_key;
        let b = event(r#"{"summary": "down", "service": "web"}"#).dedup_key;
        let c = event(r#"{"summary": "down", "service": "api", "severity": "info"}"#).dedup_key;
        assert_ne!(a, b);
        assert_eq!(a, c);
        // An empty service is no service.
        assert_eq!(
            event(r#"{"summary": "down", "service": ""}"#).dedup_key,
            event(r#"{"summary": "down"}"#).dedup_key
        );
    }

    #[test]
    fn every_field_is_read() {
        let event = event(
            r#"{
                "summary": "checkout latency high",
                "severity": "warning",
                "status": "resolved",
                "dedup_key": "checkout-latency",
                "service": "payments",
                "labels": {"region": "eu-west-1", "team": "payments"},
                "links": ["https://grafana.example/d/1", {"href": "https://runbooks.example/latency", "text": "Runbook"}],
                "details": {"p99_ms": 2300, "hosts": ["a", "b"]},
                "timestamp": "2024-05-01T11:58:00.5Z"
            }"#,
        );
        assert_eq!(event.severity, Severity::Warning);
        assert_eq!(event.status, AlertStatus::Resolved);
        assert_eq!(event.dedup_key, "checkout-latency");
        assert_eq!(event.service.as_deref(), Some("payments"));
        assert_eq!(event.labels["region"], "eu-west-1");
        assert_eq!(
            event.links,
            vec![
                Link {
                    href: "https://grafana.example/d/1".into(),
                    text: None
                },
                Link {
                    href: "https://runbooks.example/latency".into(),
                    text: Some("Runbook".into())
                },
            ]
        );
        assert_eq!(event.details, json!({"p99_ms": 2300, "hosts": ["a", "b"]}));
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2024-05-01T11:58:00.500+00:00"
        );
    }

    #[test]
    fn nulls_read_as_absent() {
        let event = event(
            r#"{"summary": "x", "severity": null, "service": null, "labels": null, "links": null, "timestamp": null}"#,
        );
        assert_eq!(event.severity, Severity::Error);
        assert_eq!(event.service, None);
    }

    #[test]
    fn summary_is_required_non_empty_and_bounded() {
        let error = refusal(r#"{"severity": "critical"}"#);
        assert_eq!(error.code, "missing_field");
        assert_eq!(error.field.as_deref(), Some("summary"));
        assert_eq!(
            error.message,
            "summary: required field is missing: expected a string"
        );
        assert_eq!(refusal(r#"{"summary": "  "}"#).code, "empty_value");
        let error = refusal(r#"{"summary": 42}"#);
        assert_eq!(error.code, "wrong_type");
        assert_eq!(error.message, "summary: expected a string, got a number");
        let long = format!(r#"{{"summary": "{}"}}"#, "é".repeat(1025));
        let error = refusal(&long);
        assert_eq!(error.code, "too_long");
        assert_eq!(
            error.message,
            "summary: too long: 1025 characters, at most 1024 allowed"
        );
        assert!(parse(
            format!(r#"{{"summary": "{}"}}"#, "é".repeat(1024)).as_bytes(),
            now()
        )
        .is_ok());
    }

    #[test]
    fn severity_is_strict() {
        for name in ["critical", "error", "warning", "info"] {
            let body = format!(r#"{{"summary": "x", "severity": "{name}"}}"#);
            assert_eq!(event(&body).severity.as_str(), name);
        }
        for name in ["warn", "Critical", "P1", ""] {
            let error = refusal(&format!(r#"{{"summary": "x", "severity": "{name}"}}"#));
            assert_eq!(error.code, "unknown_value", "{name}");
            assert_eq!(error.field.as_deref(), Some("severity"));
        }
        let error = refusal(r#"{"summary": "x", "severity": "urgent"}"#);
        assert_eq!(
            error.message,
            "severity: unknown value \"urgent\": expected one of \"critical\", \"error\", \"warning\", \"info\""
        );
        assert_eq!(
            refusal(r#"{"summary": "x", "severity": 1}"#).code,
            "wrong_type"
        );
    }

    #[test]
    fn status_is_firing_or_resolved() {
        let error = refusal(r#"{"summary": "x", "status": "burning"}"#);
        assert_eq!(error.code, "unknown_value");
        assert_eq!(
            error.message,
            "status: unknown value \"burning\": expected \"firing\" or \"resolved\""
        );
        assert_eq!(
            refusal(r#"{"summary": "x", "status": "acknowledged"}"#).code,
            "unknown_value"
        );
    }

    #[test]
    fn unknown_fields_are_refused_by_name() {
        let error = refusal(r#"{"summary": "x", "sevrity": "critical"}"#);
        assert_eq!(error.code, "unknown_field");
        assert_eq!(error.field.as_deref(), Some("sevrity"));
        assert!(
            error
                .message
                .starts_with("sevrity: unknown field (did you mean \"severity\"?)"),
            "{}",
            error.message
        );
    }

    #[test]
    fn labels_must_be_bounded_strings() {
        let error = refusal(r#"{"summary": "x", "labels": {"team": "db", "replicas": 3}}"#);
        assert_eq!(error.code, "wrong_type");
        assert_eq!(error.field.as_deref(), Some("labels.replicas"));
        assert_eq!(
            refusal(r#"{"summary": "x", "labels": ["a"]}"#).code,
            "wrong_type"
        );

        let many: serde_json::Map<String, Value> =
            (0..129).map(|n| (format!("l{n}"), json!("v"))).collect();
        let body = json!({"summary": "x", "labels": many}).to_string();
        let error = refusal(&body);
        assert_eq!(error.code, "too_many");
        assert_eq!(error.field.as_deref(), Some("labels"));

        let body = json!({"summary": "x", "labels": {"k".repeat(257): "v"}}).to_string();
        assert_eq!(refusal(&body).code, "too_long");
        let body = json!({"summary": "x", "labels": {"k": "v".repeat(4097)}}).to_string();
        let error = refusal(&body);
        assert_eq!(error.code, "too_long");
        assert_eq!(error.field.as_deref(), Some("labels.k"));
        let body = json!({"summary": "x", "labels": {"": "v"}}).to_string();
        assert_eq!(refusal(&body).code, "empty_value");
    }

    #[test]
    fn links_are_strings_or_href_objects() {
        let error = refusal(r#"{"summary": "x", "links": [{"text": "no href"}]}"#);
        assert_eq!(error.code, "missing_field");
        assert_eq!(error.field.as_deref(), Some("links[0].href"));
        let error = refusal(r#"{"summary": "x", "links": ["https://a", 7]}"#);
        assert_eq!(error.code, "wrong_type");
        assert_eq!(error.field.as_deref(), Some("links[1]"));
        let error = refusal(r#"{"summary": "x", "links": [{"href": "https://a", "url": "b"}]}"#);
        assert_eq!(error.code, "unknown_field");
        assert_eq!(error.field.as_deref(), Some("links[0].url"));
        assert_eq!(
            refusal(r#"{"summary": "x", "links": "https://a"}"#).code,
            "wrong_type"
        );
        // The same href twice is one link.
        let event = event(r#"{"summary": "x", "links": ["https://a", {"href": "https://a"}]}"#);
        assert_eq!(event.links.len(), 1);
    }

    #[test]
    fn dedup_key_and_service_are_checked() {
        assert_eq!(
            refusal(r#"{"summary": "x", "dedup_key": ""}"#).code,
            "empty_value"
        );
        let body = json!({"summary": "x", "dedup_key": "k".repeat(256)}).to_string();
        assert_eq!(refusal(&body).code, "too_long");
        assert_eq!(
            refusal(r#"{"summary": "x", "service": 3}"#).code,
            "wrong_type"
        );
    }

    #[test]
    fn timestamps_are_rfc3339_and_sane() {
        for (timestamp, code) in [
            ("\"yesterday\"", "bad_timestamp"),
            ("\"2024-05-01T08:42:58.315+0000\"", "bad_timestamp"),
            ("\"1960-01-01T00:00:00Z\"", "bad_timestamp"),
            ("\"2024-05-03T00:00:00Z\"", "bad_timestamp"),
            ("1714564800", "wrong_type"),
        ] {
            let error = refusal(&format!(r#"{{"summary": "x", "timestamp": {timestamp}}}"#));
            assert_eq!(error.code, code, "{timestamp}");
            assert_eq!(error.field.as_deref(), Some("timestamp"));
        }
    }

    #[test]
    fn json_problems_surface_unchanged() {
        assert_eq!(refusal("[1]").code, "not_an_object");
        assert_eq!(
            refusal(r#"{"summary": "a", "summary": "b"}"#).code,
            "duplicate_key"
        );
        assert_eq!(refusal("").code, "empty_body");
    }
}
