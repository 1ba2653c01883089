//! Prometheus Alertmanager webhook payloads (`webhook_config`, payload version 4): one incident
//! per notification group (`groupKey`), one event per alert in the group. Unknown fields are
//! ignored, not refused: the format is Alertmanager's and grows between releases (Grafana and
//! Mimir add their own). Grafana's own webhook (payload version 1) is the same shape with more
//! fields, so `grafana` reuses this reader through [`Flavor`]. Pure.

use super::fields::{
    self, index, join, optional_string, quote, refuse, required_string, string_map, unknown_value,
    wrong_type, TimeSyntax, ANNOTATION_LIMITS, LABEL_LIMITS, SUMMARY_CHARS, UNPROCESSABLE,
};
use super::{json, IngestError, Parsed};
use crate::domain::{AlertEvent, AlertStatus, Link, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Most alerts accepted in one notification (Alertmanager's `max_alerts` defaults to all).
pub const MAX_ALERTS: usize = 10_000;
/// A group key is the route path plus the group labels; long, but not unbounded.
pub const GROUP_KEY_CHARS: usize = 4096;
/// Links derived from someone else's payload are dropped, not refused, beyond this length
/// (a generator URL embeds a whole PromQL query): losing a page over a link would be worse.
const LINK_CHARS: usize = 16_384;

/// Grafana's per-alert URLs that become links, with the text shown for them.
const GRAFANA_LINKS: [(&str, &str); 4] = [
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
    ("imageURL", "Image"),
];

/// The annotations that become links, with the text shown for them, in display order.
const LINK_ANNOTATIONS: [(&str, &str); 3] = [
    ("runbook_url", "Runbook"),
    ("dashboard_url", "Dashboard"),
    ("dashboard", "Dashboard"),
];

/// Which sender's dialect of the notification is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Prometheus Alertmanager, payload version "4".
    Alertmanager,
    /// Grafana unified alerting, payload version "1", with `values`, `silenceURL` and friends.
    Grafana,
}

impl Flavor {
    fn version(self) -> &'static str {
        match self {
            Flavor::Alertmanager => "4",
            Flavor::Grafana => "1",
        }
    }

    fn sender(self) -> &'static str {
        match self {
            Flavor::Alertmanager => "Alertmanager",
            Flavor::Grafana => "Grafana",
        }
    }
}

/// Parses one webhook notification.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, IngestError> {
    parse_flavor(body, now, Flavor::Alertmanager)
}

/// Parses one notification in the given dialect.
pub fn parse_flavor(
    body: &[u8],
    now: DateTime<Utc>,
    flavor: Flavor,
) -> Result<Parsed, IngestError> {
    let object = json::parse_object(body)?;

    let expected_version = flavor.version();
    match fields::get(&object, "version") {
        None => {}
        Some(Value::String(version)) if version == expected_version => {}
        Some(Value::String(version)) => {
            return Err(refuse(
                UNPROCESSABLE,
                "unsupported_version",
                "version",
                format!(
                    "unsupported webhook payload version {}: klaxon reads {} version \"{expected_version}\"",
                    quote(version),
                    flavor.sender()
                ),
            ))
        }
        Some(other) => {
            return Err(wrong_type(
                "version",
                &format!("the string \"{expected_version}\""),
                other,
            ))
        }
    }

    let group_key = required_string(&object, "", "groupKey")?;
    fields::check_length(group_key, "groupKey", GROUP_KEY_CHARS)?;

    if let Some(count) = fields::get(&object, "truncatedAlerts") {
        if count.as_u64().is_none() {
            return Err(wrong_type(
                "truncatedAlerts",
                "a non-negative integer",
                count,
            ));
        }
    }
    if let Some(status) = optional_string(&object, "", "status")? {
        read_status(status, "status")?;
    }

    let group = Group {
        flavor,
        group_key,
        receiver: optional_string(&object, "", "receiver")?.unwrap_or(""),
        external_url: optional_string(&object, "", "externalURL")?,
        group_labels: string_map(
            fields::get(&object, "groupLabels"),
            "groupLabels",
            LABEL_LIMITS,
        )?,
        common_labels: string_map(
            fields::get(&object, "commonLabels"),
            "commonLabels",
            LABEL_LIMITS,
        )?,
        common_annotations: string_map(
            fields::get(&object, "commonAnnotations"),
            "commonAnnotations",
            ANNOTATION_LIMITS,
        )?,
    };

    let alerts = match fields::get(&object, "alerts") {
        None => return Err(fields::missing("alerts", "an array of alerts")),
        Some(Value::Array(alerts)) => alerts,
        Some(other) => return Err(wrong_type("alerts", "an array of alerts", other)),
    };
    if alerts.len() > MAX_ALERTS {
        return Err(fields::too_many(
            "alerts",
            "alerts",
            alerts.len(),
            MAX_ALERTS,
        ));
    }

    let events = alerts
        .iter()
        .enumerate()
        .map(|(position, alert)| parse_alert(alert, &index("alerts", position), &group, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed { events })
}

/// What every alert of the notification shares.
struct Group<'a> {
    flavor: Flavor,
    group_key: &'a str,
    receiver: &'a str,
    external_url: Option<&'a str>,
    group_labels: BTreeMap<String, String>,
    common_labels: BTreeMap<String, String>,
    common_annotations: BTreeMap<String, String>,
}

fn read_status(status: &str, field: &str) -> Result<AlertStatus, IngestError> {
    match status {
        "firing" => Ok(AlertStatus::Firing),
        "resolved" => Ok(AlertStatus::Resolved),
        other => Err(unknown_value(field, other, "\"firing\" or \"resolved\"")),
    }
}

fn parse_alert(
    alert: &Value,
    path: &str,
    group: &Group,
    now: DateTime<Utc>,
) -> Result<AlertEvent, IngestError> {
    let Value::Object(alert) = alert else {
        return Err(wrong_type(path, "an alert object", alert));
    };
    let status = read_status(
        required_string(alert, path, "status")?,
        &join(path, "status"),
    )?;
    let labels_path = join(path, "labels");
    let labels = string_map(fields::get(alert, "labels"), &labels_path, LABEL_LIMITS)?;
    let annotations = string_map(
        fields::get(alert, "annotations"),
        &join(path, "annotations"),
        ANNOTATION_LIMITS,
    )?;

    let starts_text = optional_string(alert, path, "startsAt")?;
    let starts_at = starts_text
        .map(|text| {
            fields::timestamp(
                text,
                &join(path, "startsAt"),
                TimeSyntax::Rfc3339,
                now,
                Duration::days(1),
            )
        })
        .transpose()?;
    // Alertmanager writes Go's zero time for an alert that has not ended.
    let ends_text = optional_string(alert, path, "endsAt")?.filter(|text| {
        !fields::parse_time(text, TimeSyntax::Rfc3339).is_some_and(fields::is_zero_time)
    });
    let ends_at = ends_text
        .map(|text| {
            fields::timestamp(
                text,
                &join(path, "endsAt"),
                TimeSyntax::Rfc3339,
                now,
                Duration::days(365),
            )
        })
        .transpose()?;

    let generator_url = optional_string(alert, path, "generatorURL")?;
    let fingerprint = match optional_string(alert, path, "fingerprint")? {
        Some(fingerprint) if !fingerprint.is_empty() => {
            fields::check_length(fingerprint, &join(path, "fingerprint"), 256)?;
            fingerprint.to_string()
        }
        _ => labels_fingerprint(&labels),
    };

    let severity = severity(&labels, &labels_path, &group.common_labels)?;
    let service = labels
        .get("service")
        .or_else(|| group.common_labels.get("service"))
        .filter(|service| !service.is_empty())
        .map(|service| fields::truncate(service, fields::SERVICE_CHARS));

    let mut links = Vec::new();
    for (name, text) in LINK_ANNOTATIONS {
        let href = annotations
            .get(name)
            .or_else(|| group.common_annotations.get(name));
        push_web_link(&mut links, href.map(String::as_str), text);
    }
    push_web_link(&mut links, generator_url, "Source");
    if group.flavor == Flavor::Grafana {
        for (name, text) in GRAFANA_LINKS {
            push_web_link(&mut links, optional_string(alert, path, name)?, text);
        }
    }
    push_web_link(&mut links, group.external_url, group.flavor.sender());

    let mut details: Map<String, Value> = annotations
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    if let Some(text) = starts_text {
        details
            .entry("startsAt")
            .or_insert_with(|| Value::String(text.to_string()));
    }
    if let Some(text) = ends_text {
        details
            .entry("endsAt")
            .or_insert_with(|| Value::String(text.to_string()));
    }
    if group.flavor == Flavor::Grafana {
        // `values` maps query refIds to numbers and may be null; kept as sent.
        for name in ["values", "valueString"] {
            if let Some(value) = fields::get(alert, name) {
                details.entry(name).or_insert_with(|| value.clone());
            }
        }
    }

    Ok(AlertEvent {
        dedup_key: group.group_key.to_string(),
        fingerprint: Some(fingerprint),
        status,
        title: title(group, &labels, &annotations),
        severity,
        service,
        labels,
        links,
        details: Value::Object(details),
        source_time: match status {
            AlertStatus::Resolved => ends_at,
            _ => starts_at,
        },
    })
}

/// The `severity` label of the alert, else of the group, through the documented synonyms;
/// `error` when there is none. An unknown value is refused rather than guessed.
fn severity(
    labels: &BTreeMap<String, String>,
    labels_path: &str,
    common_labels: &BTreeMap<String, String>,
) -> Result<Severity, IngestError> {
    let (value, field) = match labels.get("severity") {
        Some(value) => (value, join(labels_path, "severity")),
        None => match common_labels.get("severity") {
            Some(value) => (value, String::from("commonLabels.severity")),
            None => return Ok(Severity::Error),
        },
    };
    Severity::parse_label(value).ok_or_else(|| {
        unknown_value(
            &field,
            value,
            "critical, error, warning or info, or one of their documented synonyms \
             (crit, fatal, emergency, page; err, high, major; warn, medium, minor; \
             informational, low, notice, none)",
        )
    })
}

/// The group's summary first, so every alert of an incident tells the same story; then the
/// alert's own summary, then the alert name, then where it came from.
fn title(
    group: &Group,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> String {
    let found = [
        group.common_annotations.get("summary"),
        annotations.get("summary"),
        group.common_labels.get("alertname"),
        group.group_labels.get("alertname"),
        labels.get("alertname"),
    ]
    .into_iter()
    .flatten()
    .find(|text| !text.trim().is_empty());
    match found {
        Some(text) => fields::truncate(text, SUMMARY_CHARS),
        None if group.receiver.is_empty() => format!("alert from {}", group.flavor.sender()),
        None => fields::truncate(&format!("alert from {}", group.receiver), SUMMARY_CHARS),
    }
}

/// Only absolute web links are kept as links (a relative generator URL or a dashboard name is
/// no use to a responder); the raw values stay in `details`.
fn push_web_link(links: &mut Vec<Link>, href: Option<&str>, text: &str) {
    let Some(href) = href.map(str::trim) else {
        return;
    };
    let web = href.starts_with("https://") || href.starts_with("http://");
    if web && href.len() <= LINK_CHARS {
        fields::push_link(
            links,
            Link {
                href: href.to_string(),
                text: Some(text.to_string()),
            },
        );
    }
}

/// An alert's identity when the payload has no `fingerprint`: the SHA-256 of its labels,
/// sorted (a `BTreeMap` serialises in key order), as 32 hex characters.
fn labels_fingerprint(labels: &BTreeMap<String, String>) -> String {
    let canonical = serde_json::to_string(labels).unwrap_or_default();
    fields::short_hash(&[&canonical])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A real Alertmanager (v0.25) notification, unedited, as published with the
    /// `alertmanager-webhook-types` crate (assets/sample-v4-payload.json). Alertmanager's own
    /// documentation gives only a schema template, which is not JSON.
    const PUBLISHED_EXAMPLE: &str = r#"{
  "receiver": "sms",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "ProbeFailure",
        "instance": "https://server.example.org",
        "job": "http_checks",
        "monitor": "master",
        "severity": "critical"
      },
      "annotations": {
        "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
        "summary": "BlackBox Probe Failure: https://server.example.org"
      },
      "startsAt": "2023-02-06T13:08:45.828Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\\u0026g0.tab=1",
      "fingerprint": "1a30ba71cca2921f"
    }
  ],
  "groupLabels": {
    "alertname": "ProbeFailure"
  },
  "commonLabels": {
    "alertname": "ProbeFailure",
    "instance": "https://server.example.org",
    "job": "http_checks",
    "monitor": "master",
    "severity": "critical"
  },
  "commonAnnotations": {
    "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
    "summary": "BlackBox Probe Failure: https://server.example.org"
  },
  "externalURL": "http://prometheus.example.org:9093",
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}",
  "truncatedAlerts": 0
}"#;

    /// A payload from an older Alertmanager (no `fingerprint`, no `truncatedAlerts`), unedited,
    /// as posted in the widely linked "Alertmanager Webhook Payload Example" gist (mobeigi).
    const GIST_EXAMPLE: &str = r#"{
  "receiver": "webhook",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {
        "alertname": "Test",
        "dc": "eu-west-1",
        "instance": "localhost:9090",
        "job": "prometheus24"
      },
      "annotations": {
        "description": "some description"
      },
      "startsAt": "2018-08-03T09:52:26.739266876+02:00",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://example.com:9090/graph?g0.expr=go_memstats_alloc_bytes+%3E+0\u0026g0.tab=1"
    }
  ],
  "groupLabels": {
    "alertname": "Test",
    "job": "prometheus24"
  },
  "commonLabels": {
    "alertname": "Test",
    "dc": "eu-west-1",
    "instance": "localhost:9090",
    "job": "prometheus24"
  },
  "commonAnnotations": {
    "description": "some description"
  },
  "externalURL": "http://example.com:9093",
  "version": "4",
  "groupKey": "{}:{alertname=\"Test\", job=\"prometheus24\"}"
}"#;

    fn now() -> DateTime<Utc> {
        time("2023-02-06T13:15:00Z")
    }

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn events(body: &str) -> Vec<AlertEvent> {
        parse(body.as_bytes(), now()).unwrap().events
    }

    fn refusal(body: &str) -> IngestError {
        let error = parse(body.as_bytes(), now()).unwrap_err();
        assert!((400..500).contains(&error.status), "{error:?}");
        error
    }

    /// A notification of `statuses.len()` alerts; `edit` changes it before sending.
    fn group(statuses: &[&str], edit: impl FnOnce(&mut Value)) -> String {
        let alerts: Vec<Value> = statuses
            .iter()
            .enumerate()
            .map(|(number, status)| {
                json!({
                    "status": status,
                    "labels": {"alertname": "DiskFull", "instance": format!("db-{number}"), "severity": "warning", "service": "storage"},
                    "annotations": {"summary": format!("disk full on db-{number}"), "runbook_url": "https://runbooks.example/disk"},
                    "startsAt": "2023-02-06T13:00:00Z",
                    "endsAt": if *status == "resolved" { "2023-02-06T13:10:00.123Z" } else { "0001-01-01T00:00:00Z" },
                    "generatorURL": format!("http://prometheus:9090/graph?g0.expr=disk{number}"),
                    "fingerprint": format!("f{number}"),
                })
            })
            .collect();
        let mut payload = json!({
            "version": "4",
            "groupKey": "{}:{alertname=\"DiskFull\"}",
            "truncatedAlerts": 0,
            "status": statuses.first().copied().unwrap_or("firing"),
            "receiver": "klaxon",
            "groupLabels": {"alertname": "DiskFull"},
            "commonLabels": {"alertname": "DiskFull", "severity": "warning", "service": "storage"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        });
        edit(&mut payload);
        payload.to_string()
    }

    #[test]
    fn the_published_example_becomes_one_event() {
        let events = events(PUBLISHED_EXAMPLE);
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(
            event.dedup_key,
            "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}"
        );
        assert_eq!(event.fingerprint.as_deref(), Some("1a30ba71cca2921f"));
        assert_eq!(event.status, AlertStatus::Firing);
        assert_eq!(
            event.title,
            "BlackBox Probe Failure: https://server.example.org"
        );
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(event.service, None);
        assert_eq!(event.labels.len(), 5);
        assert_eq!(event.labels["job"], "http_checks");
        assert_eq!(
            event.links,
            vec![
                Link {
                    href: "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\\u0026g0.tab=1".into(),
                    text: Some("Source".into())
                },
                Link {
                    href: "http://prometheus.example.org:9093".into(),
                    text: Some("Alertmanager".into())
                },
            ]
        );
        assert_eq!(
            event.details,
            json!({
                "description": "Instance https://server.example.org has been down for over 5m. Job: http_checks",
                "summary": "BlackBox Probe Failure: https://server.example.org",
                "startsAt": "2023-02-06T13:08:45.828Z"
            })
        );
        assert_eq!(event.source_time, Some(time("2023-02-06T13:08:45.828Z")));
    }

    #[test]
    fn an_alert_without_fingerprint_gets_one_from_its_labels() {
        let events = events(GIST_EXAMPLE);
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(
            event.dedup_key,
            "{}:{alertname=\"Test\", job=\"prometheus24\"}"
        );
        assert_eq!(
            event.fingerprint.as_deref(),
            Some(labels_fingerprint(&event.labels).as_str())
        );
        assert_eq!(event.fingerprint.as_ref().unwrap().len(), 32);
        // No summary anywhere: the alert name.
        assert_eq!(event.title, "Test");
        assert_eq!(event.severity, Severity::Error);
        assert_eq!(
            event.source_time,
            Some(time("2018-08-03T07:52:26.739266876Z"))
        );
        assert_eq!(
            event.links[0].href,
            "http://example.com:9090/graph?g0.expr=go_memstats_alloc_bytes+%3E+0&g0.tab=1"
        );

        // The same labels in another order are the same alert; other labels are another.
        let mut labels = event.labels.clone();
        assert_eq!(
            labels_fingerprint(&labels),
            labels_fingerprint(&labels.clone())
        );
        labels.insert("dc".into(), "us-east-1".into());
        assert_ne!(
            labels_fingerprint(&labels),
            labels_fingerprint(&event.labels)
        );
    }

    #[test]
    fn a_group_of_three_is_three_alerts_of_one_incident() {
        let events = events(&group(&["firing", "firing", "firing"], |_| {}));
        assert_eq!(events.len(), 3);
        assert!(events
            .iter()
            .all(|event| event.dedup_key == "{}:{alertname=\"DiskFull\"}"));
        let mut fingerprints: Vec<_> = events
            .iter()
            .map(|event| event.fingerprint.clone())
            .collect();
        fingerprints.dedup();
        assert_eq!(fingerprints.len(), 3);
        assert_eq!(events[1].title, "disk full on db-1");
        assert!(events
            .iter()
            .all(|event| event.severity == Severity::Warning));
        assert!(events
            .iter()
            .all(|event| event.service.as_deref() == Some("storage")));
        assert_eq!(
            events[2]
                .links
                .iter()
                .map(|link| link.text.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["Runbook", "Source", "Alertmanager"]
        );

        // Without fingerprints, the labels still tell the alerts apart.
        let events = super::parse(
            group(&["firing", "firing", "firing"], |payload| {
                for alert in payload["alerts"].as_array_mut().unwrap() {
                    alert.as_object_mut().unwrap().remove("fingerprint");
                }
            })
            .as_bytes(),
            now(),
        )
        .unwrap()
        .events;
        let mut fingerprints: Vec<_> = events
            .iter()
            .map(|event| event.fingerprint.clone())
            .collect();
        fingerprints.sort();
        fingerprints.dedup();
        assert_eq!(fingerprints.len(), 3);
    }

    #[test]
    fn a_common_summary_titles_every_alert() {
        let events = events(&group(&["firing", "firing"], |payload| {
            payload["commonAnnotations"] = json!({"summary": "disks filling up"});
        }));
        assert!(events.iter().all(|event| event.title == "disks filling up"));
    }

    #[test]
    fn title_falls_back_to_the_receiver() {
        let events = events(&group(&["firing"], |payload| {
            payload["groupLabels"] = json!({});
            payload["commonLabels"] = json!({});
            payload["alerts"][0]["labels"] = json!({"instance": "db-0"});
            payload["alerts"][0]["annotations"] = json!({});
        }));
        assert_eq!(events[0].title, "alert from klaxon");
    }

    #[test]
    fn resolved_groups_resolve_with_their_end_time() {
        let events = events(&group(&["resolved", "resolved"], |_| {}));
        assert_eq!(events.len(), 2);
        for event in &events {
            assert_eq!(event.status, AlertStatus::Resolved);
            assert_eq!(event.source_time, Some(time("2023-02-06T13:10:00.123Z")));
            assert_eq!(event.details["endsAt"], "2023-02-06T13:10:00.123Z");
        }
        // A mixed notification: each alert keeps its own status.
        let events = super::parse(group(&["firing", "resolved"], |_| {}).as_bytes(), now())
            .unwrap()
            .events;
        assert_eq!(events[0].status, AlertStatus::Firing);
        assert_eq!(events[0].source_time, Some(time("2023-02-06T13:00:00Z")));
        assert_eq!(events[1].status, AlertStatus::Resolved);
    }

    #[test]
    fn unknown_statuses_are_refused_by_path() {
        let body = group(&["firing", "firing", "firing", "burning"], |_| {});
        let error = refusal(&body);
        assert_eq!(error.status, 400);
        assert_eq!(error.code, "unknown_value");
        assert_eq!(error.field.as_deref(), Some("alerts[3].status"));
        assert_eq!(
            error.message,
            "alerts[3].status: unknown value \"burning\": expected \"firing\" or \"resolved\""
        );
        let error = refusal(&group(&["firing"], |payload| {
            payload["status"] = json!("done")
        }));
        assert_eq!(error.field.as_deref(), Some("status"));
        let error = refusal(&group(&["firing"], |payload| {
            payload["alerts"][0]
                .as_object_mut()
                .unwrap()
                .remove("status");
        }));
        assert_eq!(error.code, "missing_field");
        assert_eq!(error.field.as_deref(), Some("alerts[0].status"));
    }

    #[test]
    fn severity_labels_map_through_synonyms() {
        for (label, expected) in [
            ("page", Severity::Critical),
            ("critical", Severity::Critical),
            ("high", Severity::Error),
            ("warn", Severity::Warning),
            ("Info", Severity::Info),
        ] {
            let events = events(&group(&["firing"], |payload| {
                payload["alerts"][0]["labels"]["severity"] = json!(label);
            }));
            assert_eq!(events[0].severity, expected, "{label}");
        }
        let error = refusal(&group(&["firing", "firing"], |payload| {
            payload["alerts"][1]["labels"]["severity"] = json!("P1");
        }));
        assert_eq!(error.code, "unknown_value");
        assert_eq!(error.field.as_deref(), Some("alerts[1].labels.severity"));
        assert!(error
            .message
            .starts_with("alerts[1].labels.severity: unknown value \"P1\""));

        // The group's label applies when the alert has none.
        let events = events(&group(&["firing"], |payload| {
            payload["alerts"][0]["labels"]
                .as_object_mut()
                .unwrap()
                .remove("severity");
            payload["commonLabels"]["severity"] = json!("critical");
        }));
        assert_eq!(events[0].severity, Severity::Critical);
        let error = refusal(&group(&["firing"], |payload| {
            payload["alerts"][0]["labels"]
                .as_object_mut()
                .unwrap()
                .remove("severity");
            payload["commonLabels"]["severity"] = json!("sev2");
        }));
        assert_eq!(error.field.as_deref(), Some("commonLabels.severity"));
    }

    #[test]
    fn timestamps_are_checked() {
        let cases = [
            ("startsAt", json!("2023-02-06 13:00"), "cannot read"),
            ("startsAt", json!("1969-07-20T20:17:00Z"), "before 1970"),
            ("startsAt", json!("0001-01-01T00:00:00Z"), "before 1970"),
            ("startsAt", json!("2023-02-08T13:00:00Z"), "in the future"),
            (
                "endsAt",
                json!("2025-02-06T13:00:00Z"),
                "more than 1 year in the future",
            ),
            ("endsAt", json!("later"), "cannot read"),
        ];
        for (name, value, fragment) in cases {
            let error = refusal(&group(&["firing", "firing"], |payload| {
                payload["alerts"][1][name] = value.clone();
            }));
            assert_eq!(error.code, "bad_timestamp", "{name} {value}");
            assert_eq!(
                error.field.as_deref(),
                Some(format!("alerts[1].{name}").as_str())
            );
            assert!(error.message.contains(fragment), "{}", error.message);
        }
        // An end within the year (Prometheus sends "resolve by") is fine; so is no start.
        let events = events(&group(&["firing"], |payload| {
            payload["alerts"][0]["endsAt"] = json!("2023-02-06T13:19:00Z");
            payload["alerts"][0]
                .as_object_mut()
                .unwrap()
                .remove("startsAt");
        }));
        assert_eq!(events[0].source_time, None);
        assert_eq!(
            refusal(&group(&["firing"], |payload| payload["alerts"][0]
                ["startsAt"] = json!(5)))
            .code,
            "wrong_type"
        );
    }

    #[test]
    fn envelope_problems_are_refused() {
        let error = refusal(&group(&["firing"], |payload| {
            payload["version"] = json!("5")
        }));
        assert_eq!((error.status, error.code), (422, "unsupported_version"));
        assert_eq!(error.field.as_deref(), Some("version"));
        assert_eq!(
            refusal(&group(&["firing"], |payload| payload["version"] = json!(4))).code,
            "wrong_type"
        );

        let error = refusal(&group(&["firing"], |payload| {
            payload.as_object_mut().unwrap().remove("groupKey");
        }));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("missing_field", Some("groupKey"))
        );
        assert_eq!(
            refusal(&group(&["firing"], |payload| payload["groupKey"] = json!(""))).code,
            "empty_value"
        );

        let error = refusal(&group(&["firing"], |payload| {
            payload.as_object_mut().unwrap().remove("alerts");
        }));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("missing_field", Some("alerts"))
        );
        assert_eq!(
            refusal(&group(&["firing"], |payload| payload["alerts"] = json!({}))).code,
            "wrong_type"
        );
        assert_eq!(
            refusal(&group(&["firing"], |payload| payload["alerts"][0] = json!("x")))
                .field
                .as_deref(),
            Some("alerts[0]")
        );
        assert_eq!(
            refusal(&group(&["firing"], |payload| payload["truncatedAlerts"] =
                json!(-1)))
            .code,
            "wrong_type"
        );

        let error = refusal(&group(&["firing"], |payload| {
            payload["alerts"][0]["labels"]["replicas"] = json!(3);
        }));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("wrong_type", Some("alerts[0].labels.replicas"))
        );
        let error = refusal(&group(&["firing"], |payload| {
            payload["commonAnnotations"]["n"] = json!(null)
        }));
        assert_eq!(error.field.as_deref(), Some("commonAnnotations.n"));
    }

    #[test]
    fn alert_count_is_bounded() {
        let alert = json!({"status": "firing", "labels": {"alertname": "A"}});
        let alerts = vec![alert; MAX_ALERTS + 1];
        let body = json!({"groupKey": "g", "alerts": alerts}).to_string();
        let error = refusal(&body);
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("too_many", Some("alerts"))
        );
    }

    #[test]
    fn nulls_and_unknown_fields_are_tolerated() {
        // Some Alertmanager builds send null for empty maps; Grafana adds fields of its own.
        let tolerated = events(&group(&["firing"], |payload| {
            payload["commonAnnotations"] = Value::Null;
            payload["orgId"] = json!(1);
            payload["alerts"][0]["silenceURL"] = json!("https://grafana/silence");
            payload["alerts"][0]["annotations"] = Value::Null;
        }));
        assert_eq!(tolerated[0].title, "DiskFull");
        assert!(events(r#"{"groupKey": "g", "alerts": []}"#).is_empty());
    }

    #[test]
    fn only_web_links_are_kept_and_duplicates_merge() {
        let events = events(&group(&["firing"], |payload| {
            payload["alerts"][0]["generatorURL"] = json!("/graph?g0.expr=up");
            payload["alerts"][0]["annotations"]["dashboard"] = json!("node-exporter");
            payload["alerts"][0]["annotations"]["dashboard_url"] =
                json!("https://runbooks.example/disk");
        }));
        assert_eq!(
            events[0]
                .links
                .iter()
                .map(|link| link.href.as_str())
                .collect::<Vec<_>>(),
            ["https://runbooks.example/disk", "http://alertmanager:9093"]
        );
        assert_eq!(events[0].details["dashboard"], "node-exporter");
    }
}
