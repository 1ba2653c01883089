//! PagerDuty Events API v2 compatibility (`POST /v2/enqueue`), so that anything able to page
//! PagerDuty can page klaxon: the event shapes in, PagerDuty's own response shapes out. Pure.
//!
//! Choices, documented for users:
//! - `routing_key` names a klaxon integration of source `pagerduty` (any length, not just 32).
//! - A `trigger` without `dedup_key` gets the hex SHA-256 of the raw body, so a retried
//!   request (an exact replay) lands on the same incident instead of opening a second one.
//! - `service` is left unset: in PagerDuty the routing key decides the service, so here the
//!   integration's configured service applies. `payload.group` is "a logical grouping of
//!   components of a service", not the service itself; it and `source`, `component` and
//!   `class` become labels.
//! - `acknowledge` and `resolve` carry only the `dedup_key` (PagerDuty ignores their payload);
//!   their events have an empty title and `info` severity, which the engine must not copy
//!   onto the incident.
//! - `payload.timestamp` may be RFC 3339 or ISO 8601 with a `+hhmm` offset, the form
//!   PagerDuty's own example uses.
//! - Unknown fields are ignored, as PagerDuty does; `images` are accepted and ignored.

use super::fields::{
    self, check_length, join, optional_string, required_described, required_string, unknown_value,
    wrong_type, TimeSyntax, DEDUP_KEY_CHARS, LABEL_LIMITS, LINK_HREF_CHARS, LINK_TEXT_CHARS,
    SUMMARY_CHARS,
};
use super::{json, IngestError};
use crate::domain::{AlertEvent, AlertStatus, Link, Severity};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The HTTP status PagerDuty answers an accepted event with.
pub const ACCEPTED: u16 = 202;

/// One accepted `/v2/enqueue` request.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueue {
    /// The integration key the event is addressed to.
    pub routing_key: String,
    /// The key to answer with (explicit, or derived for a trigger without one).
    pub dedup_key: String,
    pub events: Vec<AlertEvent>,
}

/// Why an event was refused, in PagerDuty's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status_text}: {}", errors.join("; "))]
pub struct PagerDutyError {
    /// The HTTP status to answer with (always 400 today, as PagerDuty does).
    pub status: u16,
    /// PagerDuty's short `status`: "invalid event", or "Unrecognized object" when the body is
    /// not a JSON object at all.
    pub status_text: &'static str,
    /// PagerDuty's `message` for that status.
    pub message: &'static str,
    /// Every problem found, each starting with the path of the field at fault.
    pub errors: Vec<String>,
    /// The klaxon error code of the first problem (`missing_field`, `invalid_json`, …), for logs.
    pub code: &'static str,
}

/// The body of every `/v2/enqueue` answer, success or failure, in PagerDuty's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagerDutyResponse {
    pub status: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl PagerDutyResponse {
    /// `{"status":"success","message":"Event processed","dedup_key":"…"}`, sent with 202.
    pub fn success(dedup_key: &str) -> Self {
        PagerDutyResponse {
            status: String::from("success"),
            message: String::from("Event processed"),
            dedup_key: Some(dedup_key.to_string()),
            errors: Vec::new(),
        }
    }
}

impl PagerDutyError {
    /// The body to answer with, e.g. `{"status":"invalid event","message":"Event object is
    /// invalid","errors":["payload.summary: …"]}`.
    pub fn response(&self) -> PagerDutyResponse {
        PagerDutyResponse {
            status: self.status_text.to_string(),
            message: self.message.to_string(),
            dedup_key: None,
            errors: self.errors.clone(),
        }
    }

    fn invalid(problems: Vec<IngestError>) -> Self {
        PagerDutyError {
            status: 400,
            status_text: "invalid event",
            message: "Event object is invalid",
            code: problems
                .first()
                .map_or("invalid_event", |problem| problem.code),
            errors: problems
                .into_iter()
                .map(|problem| problem.message)
                .collect(),
        }
    }
}

/// A body that is not a JSON object is "unrecognized" in PagerDuty's terms.
impl From<IngestError> for PagerDutyError {
    fn from(error: IngestError) -> Self {
        PagerDutyError {
            status: 400,
            status_text: "Unrecognized object",
            message: "Event object format is unrecognized",
            code: error.code,
            errors: vec![error.message],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Trigger,
    Acknowledge,
    Resolve,
}

const ACTIONS: &str = "\"trigger\", \"acknowledge\" or \"resolve\"";
const SEVERITIES: &str = "one of \"critical\", \"error\", \"warning\", \"info\"";

/// Collects every problem rather than stopping at the first, as PagerDuty's `errors` list does.
#[derive(Default)]
struct Problems(Vec<IngestError>);

impl Problems {
    fn take<T>(&mut self, result: Result<T, IngestError>) -> Option<T> {
        result.map_err(|problem| self.0.push(problem)).ok()
    }
}

/// Parses one Events API v2 request body.
pub fn parse_enqueue(body: &[u8], now: DateTime<Utc>) -> Result<Enqueue, PagerDutyError> {
    let object = json::parse_object(body)?;
    let mut problems = Problems::default();

    let routing_key = problems.take(required_string(&object, "", "routing_key"));
    let action = problems.take(
        required_described(&object, "", "event_action", ACTIONS).and_then(|action| match action {
            "trigger" => Ok(Action::Trigger),
            "acknowledge" => Ok(Action::Acknowledge),
            "resolve" => Ok(Action::Resolve),
            other => Err(unknown_value("event_action", other, ACTIONS)),
        }),
    );
    let explicit_key = problems.take(explicit_dedup_key(&object, action)).flatten();

    // Only a trigger reads its payload; with an unreadable action, check a payload that is
    // there anyway so the sender learns everything at once.
    let trigger = match action {
        Some(Action::Trigger) => problems.take(read_trigger(&object, now)),
        None if object.contains_key("payload") => {
            problems.take(read_trigger(&object, now));
            None
        }
        _ => None,
    };

    if !problems.0.is_empty() {
        return Err(PagerDutyError::invalid(problems.0));
    }
    let (Some(routing_key), Some(action)) = (routing_key, action) else {
        // Unreachable: a missing value always leaves a problem behind.
        return Err(PagerDutyError::invalid(vec![fields::missing(
            "event_action",
            ACTIONS,
        )]));
    };

    let dedup_key = match explicit_key {
        Some(key) => key.to_string(),
        None => fields::sha256_hex(body),
    };
    let event = match (action, trigger) {
        (Action::Trigger, Some(trigger)) => AlertEvent {
            dedup_key: dedup_key.clone(),
            fingerprint: None,
            status: AlertStatus::Firing,
            title: trigger.summary,
            severity: trigger.severity,
            service: None,
            labels: trigger.labels,
            links: trigger.links,
            details: trigger.details,
            source_time: trigger.timestamp,
        },
        (Action::Acknowledge, _) => AlertEvent {
            status: AlertStatus::Acknowledged,
            ..AlertEvent::resolved(&dedup_key)
        },
        _ => AlertEvent::resolved(&dedup_key),
    };
    Ok(Enqueue {
        routing_key: routing_key.to_string(),
        dedup_key,
        events: vec![event],
    })
}

/// `dedup_key`: optional for a trigger, required to acknowledge or resolve.
fn explicit_dedup_key(
    object: &Map<String, Value>,
    action: Option<Action>,
) -> Result<Option<&str>, IngestError> {
    match optional_string(object, "", "dedup_key")? {
        Some(key) if key.trim().is_empty() => Err(fields::empty("dedup_key")),
        Some(key) => {
            check_length(key, "dedup_key", DEDUP_KEY_CHARS)?;
            Ok(Some(key))
        }
        None if matches!(action, Some(Action::Acknowledge | Action::Resolve)) => {
            Err(fields::missing(
                "dedup_key",
                "the dedup_key of the alert to acknowledge or resolve",
            ))
        }
        None => Ok(None),
    }
}

struct Trigger {
    summary: String,
    severity: Severity,
    labels: BTreeMap<String, String>,
    links: Vec<Link>,
    details: Value,
    timestamp: Option<DateTime<Utc>>,
}

fn read_trigger(object: &Map<String, Value>, now: DateTime<Utc>) -> Result<Trigger, IngestError> {
    let payload = match fields::get(object, "payload") {
        None => {
            return Err(fields::missing(
                "payload",
                "an object with summary, source and severity",
            ))
        }
        Some(Value::Object(payload)) => payload,
        Some(other) => return Err(wrong_type("payload", "an object", other)),
    };

    let summary = required_string(payload, "payload", "summary")?;
    check_length(summary, "payload.summary", SUMMARY_CHARS)?;
    let severity_name = required_described(payload, "payload", "severity", SEVERITIES)?;
    let severity = severity_name
        .parse::<Severity>()
        .map_err(|_| unknown_value("payload.severity", severity_name, SEVERITIES))?;

    let mut labels = BTreeMap::new();
    let source = required_string(payload, "payload", "source")?;
    for (name, value) in [
        ("source", Some(source)),
        (
            "component",
            optional_string(payload, "payload", "component")?,
        ),
        ("group", optional_string(payload, "payload", "group")?),
        ("class", optional_string(payload, "payload", "class")?),
    ] {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            check_length(value, &join("payload", name), LABEL_LIMITS.value_chars)?;
            labels.insert(name.to_string(), value.to_string());
        }
    }

    let timestamp = match fields::get(payload, "timestamp") {
        None => None,
        Some(Value::String(text)) => Some(fields::timestamp(
            text,
            "payload.timestamp",
            TimeSyntax::Iso8601,
            now,
            Duration::days(1),
        )?),
        Some(other) => return Err(wrong_type("payload.timestamp", "an ISO 8601 string", other)),
    };

    let mut links = fields::links(fields::get(object, "links"), "links", false, false)?;
    let client = optional_string(object, "", "client")?.filter(|client| !client.is_empty());
    if let Some(client) = client {
        check_length(client, "client", LINK_TEXT_CHARS)?;
    }
    if let Some(url) = optional_string(object, "", "client_url")?.filter(|url| !url.is_empty()) {
        check_length(url, "client_url", LINK_HREF_CHARS)?;
        fields::push_link(
            &mut links,
            Link {
                href: url.to_string(),
                text: Some(client.unwrap_or("client").to_string()),
            },
        );
    }

    Ok(Trigger {
        summary: summary.to_string(),
        severity,
        labels,
        links,
        details: payload
            .get("custom_details")
            .cloned()
            .unwrap_or(Value::Null),
        timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// PagerDuty's example event, unedited, from the Events API v2 OpenAPI document
    /// (PagerDuty/api-schema, reference/events-v2/openapiv3.json, "Example Event Body").
    const DOCUMENTED_EXAMPLE: &str = r#"{
                    "payload": {
                      "summary": "DISK at 99% on machine prod-datapipe03.example.com",
                      "timestamp": "2015-07-17T08:42:58.315+0000",
                      "severity": "critical",
                      "source": "prod-datapipe03.example.com",
                      "component": "mysql",
                      "group": "prod-datapipe",
                      "class": "disk",
                      "custom_details": {
                        "free space": "1%",
                        "ping time": "1500ms",
                        "load avg": 0.75
                      }
                    },
                    "routing_key": "e93facc04764012d7bfb002500d5d1a6",
                    "dedup_key": "srv01/mysql",
                    "event_action": "trigger",
                    "client": "Sample Monitoring Service",
                    "client_url": "https://monitoring.service.com",
                    "links": [
                      {
                        "href": "http://pagerduty.example.com",
                        "text": "An example link."
                      }
                    ],
                    "images": [
                      {
                        "src": "https://chart.googleapis.com/chart?chs=600x400&chd=t:6,2,9,5,2,5,7,4,8,2,1&cht=lc&chds=a&chxt=y&chm=D,0033FF,0,0,5,1",
                        "href": "https://google.com",
                        "alt": "An example link with an image"
                      }
                    ]
                  }"#;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-07-17T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn accept(body: &str) -> Enqueue {
        parse_enqueue(body.as_bytes(), now()).unwrap()
    }

    fn refuse(body: &str) -> PagerDutyError {
        let error = parse_enqueue(body.as_bytes(), now()).unwrap_err();
        assert_eq!(error.status, 400);
        error
    }

    fn minimal(action: &str) -> Value {
        json!({
            "routing_key": "key",
            "event_action": action,
            "dedup_key": "srv01/mysql",
            "payload": {"summary": "disk full", "source": "db-1", "severity": "warning"},
        })
    }

    #[test]
    fn the_documented_example_triggers() {
        let enqueue = accept(DOCUMENTED_EXAMPLE);
        assert_eq!(enqueue.routing_key, "e93facc04764012d7bfb002500d5d1a6");
        assert_eq!(enqueue.dedup_key, "srv01/mysql");
        assert_eq!(enqueue.events.len(), 1);
        let event = &enqueue.events[0];
        assert_eq!(event.dedup_key, "srv01/mysql");
        assert_eq!(event.fingerprint, None);
        assert_eq!(event.status, AlertStatus::Firing);
        assert_eq!(
            event.title,
            "DISK at 99% on machine prod-datapipe03.example.com"
        );
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(event.service, None);
        assert_eq!(
            event.labels,
            BTreeMap::from([
                ("class".to_string(), "disk".to_string()),
                ("component".to_string(), "mysql".to_string()),
                ("group".to_string(), "prod-datapipe".to_string()),
                (
                    "source".to_string(),
                    "prod-datapipe03.example.com".to_string()
                ),
            ])
        );
        assert_eq!(
            event.links,
            vec![
                Link {
                    href: "http://pagerduty.example.com".into(),
                    text: Some("An example link.".into())
                },
                Link {
                    href: "https://monitoring.service.com".into(),
                    text: Some("Sample Monitoring Service".into())
                },
            ]
        );
        assert_eq!(
            event.details,
            json!({"free space": "1%", "ping time": "1500ms", "load avg": 0.75})
        );
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2015-07-17T08:42:58.315+00:00"
        );
    }

    #[test]
    fn a_trigger_without_dedup_key_is_keyed_by_its_body() {
        let mut body = minimal("trigger");
        body.as_object_mut().unwrap().remove("dedup_key");
        let text = body.to_string();
        let first = accept(&text);
        assert_eq!(first.dedup_key, fields::sha256_hex(text.as_bytes()));
        assert_eq!(first.dedup_key.len(), 64);
        assert_eq!(first.events[0].dedup_key, first.dedup_key);
        // A replay is the same incident; a different body is another.
        assert_eq!(accept(&text).dedup_key, first.dedup_key);
        body["payload"]["summary"] = json!("disk full again");
        assert_ne!(accept(&body.to_string()).dedup_key, first.dedup_key);
    }

    #[test]
    fn acknowledge_and_resolve_need_only_the_key() {
        let enqueue = accept(
            r#"{"routing_key": "key", "event_action": "acknowledge", "dedup_key": "srv01/mysql"}"#,
        );
        assert_eq!(enqueue.dedup_key, "srv01/mysql");
        let event = &enqueue.events[0];
        assert_eq!(event.status, AlertStatus::Acknowledged);
        assert_eq!(event.dedup_key, "srv01/mysql");
        assert_eq!(event.fingerprint, None);

        let enqueue = accept(&minimal("resolve").to_string());
        assert_eq!(enqueue.events[0].status, AlertStatus::Resolved);
        assert_eq!(enqueue.events[0].dedup_key, "srv01/mysql");

        // Their payload is ignored, even a broken one.
        let mut body = minimal("resolve");
        body["payload"] = json!("nonsense");
        assert!(parse_enqueue(body.to_string().as_bytes(), now()).is_ok());

        for action in ["acknowledge", "resolve"] {
            let error = refuse(&format!(
                r#"{{"routing_key": "key", "event_action": "{action}"}}"#
            ));
            assert_eq!(error.code, "missing_field");
            assert_eq!(error.errors.len(), 1);
            assert!(
                error.errors[0].starts_with("dedup_key: required field is missing"),
                "{:?}",
                error.errors
            );
        }
    }

    #[test]
    fn every_problem_is_listed_by_path() {
        let error = refuse(r#"{"event_action": "trigger", "payload": {"severity": "urgent"}}"#);
        assert_eq!(error.status_text, "invalid event");
        assert_eq!(
            error.errors,
            vec![
                "routing_key: required field is missing: expected a string",
                "payload.summary: required field is missing: expected a string",
            ]
        );
        let mut body = minimal("trigger");
        body["payload"]["summary"] = json!("ok");
        body["payload"]["severity"] = json!("warn");
        let error = refuse(&body.to_string());
        assert_eq!(error.code, "unknown_value");
        assert_eq!(
            error.errors,
            vec!["payload.severity: unknown value \"warn\": expected one of \"critical\", \"error\", \"warning\", \"info\""]
        );
    }

    #[test]
    fn the_action_must_be_known() {
        let mut body = minimal("escalate");
        body["payload"]["source"] = json!(7);
        let error = refuse(&body.to_string());
        assert_eq!(
            error.errors,
            vec![
                "event_action: unknown value \"escalate\": expected \"trigger\", \"acknowledge\" or \"resolve\"",
                "payload.source: expected a string, got a number",
            ]
        );
        assert_eq!(
            refuse(r#"{"routing_key": "k"}"#).errors,
            vec!["event_action: required field is missing: expected \"trigger\", \"acknowledge\" or \"resolve\""]
        );
    }

    /// A change to a valid trigger, the code it must cause, and how the error must start.
    type Case = (Box<dyn Fn(&mut Value)>, &'static str, &'static str);

    #[test]
    fn trigger_payloads_are_checked() {
        let cases: Vec<Case> = vec![
            (
                Box::new(|body| {
                    body.as_object_mut().unwrap().remove("payload");
                }),
                "missing_field",
                "payload:",
            ),
            (
                Box::new(|body| body["payload"] = json!([])),
                "wrong_type",
                "payload:",
            ),
            (
                Box::new(|body| body["payload"]["summary"] = json!(" ")),
                "empty_value",
                "payload.summary:",
            ),
            (
                Box::new(|body| body["payload"]["summary"] = json!("x".repeat(1025))),
                "too_long",
                "payload.summary:",
            ),
            (
                Box::new(|body| {
                    body["payload"].as_object_mut().unwrap().remove("source");
                }),
                "missing_field",
                "payload.source:",
            ),
            (
                Box::new(|body| {
                    body["payload"].as_object_mut().unwrap().remove("severity");
                }),
                "missing_field",
                "payload.severity:",
            ),
            (
                Box::new(|body| body["payload"]["timestamp"] = json!("17/07/2015")),
                "bad_timestamp",
                "payload.timestamp:",
            ),
            (
                Box::new(|body| body["payload"]["timestamp"] = json!("2015-07-19T00:00:00Z")),
                "bad_timestamp",
                "payload.timestamp:",
            ),
            (
                Box::new(|body| body["payload"]["timestamp"] = json!(1437122578)),
                "wrong_type",
                "payload.timestamp:",
            ),
            (
                Box::new(|body| body["payload"]["component"] = json!(["a"])),
                "wrong_type",
                "payload.component:",
            ),
            (
                Box::new(|body| body["links"] = json!(["http://a"])),
                "wrong_type",
                "links[0]:",
            ),
            (
                Box::new(|body| body["links"] = json!([{"text": "no href"}])),
                "missing_field",
                "links[0].href:",
            ),
            (
                Box::new(|body| body["client_url"] = json!(5)),
                "wrong_type",
                "client_url:",
            ),
            (
                Box::new(|body| body["dedup_key"] = json!("k".repeat(256))),
                "too_long",
                "dedup_key:",
            ),
            (
                Box::new(|body| body["dedup_key"] = json!("")),
                "empty_value",
                "dedup_key:",
            ),
            (
                Box::new(|body| body["routing_key"] = json!(42)),
                "wrong_type",
                "routing_key:",
            ),
        ];
        for (edit, code, prefix) in cases {
            let mut body = minimal("trigger");
            edit(&mut body);
            let error = refuse(&body.to_string());
            assert_eq!(error.code, code, "{:?}", error.errors);
            assert_eq!(error.errors.len(), 1, "{:?}", error.errors);
            assert!(error.errors[0].starts_with(prefix), "{:?}", error.errors);
        }
    }

    #[test]
    fn extras_are_tolerated() {
        let mut body = minimal("trigger");
        body["images"] = json!("not even an array");
        body["payload"]["custom_details"] = json!("a plain string");
        body["payload"]["timestamp"] = json!("2015-07-17T08:42:58Z");
        body["something_new"] = json!({"x": 1});
        let enqueue = accept(&body.to_string());
        assert_eq!(enqueue.events[0].details, json!("a plain string"));
        assert_eq!(enqueue.events[0].links, vec![]);
    }

    #[test]
    fn responses_have_pagerdutys_shapes() {
        assert_eq!(
            serde_json::to_value(PagerDutyResponse::success("srv01/HTTP")).unwrap(),
            json!({"status": "success", "message": "Event processed", "dedup_key": "srv01/HTTP"})
        );
        let error = refuse(r#"{"routing_key": "key", "event_action": "resolve"}"#);
        assert_eq!(
            serde_json::to_value(error.response()).unwrap(),
            json!({
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": ["dedup_key: required field is missing: expected the dedup_key of the alert to acknowledge or resolve"]
            })
        );
        let error = refuse("{\"routing_key\": ");
        assert_eq!(error.code, "invalid_json");
        let response = serde_json::to_value(error.response()).unwrap();
        assert_eq!(response["status"], "Unrecognized object");
        assert_eq!(response["message"], "Event object format is unrecognized");
        assert_eq!(refuse("[]").code, "not_an_object");
        assert_eq!(
            refuse(r#"{"routing_key": "a", "routing_key": "b"}"#).code,
            "duplicate_key"
        );
    }
}
