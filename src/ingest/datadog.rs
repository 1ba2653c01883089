//! Datadog webhooks (Integrations → Webhooks): the default payload (`id`, `title`, `body`,
//! `event_type`, `date`, `last_updated`, `org`) and the usual custom ones, which add fields
//! such as `alert_transition`, `alert_cycle_key`, `aggreg_key`, `alert_id`, `alert_priority`,
//! `alert_type`, `link` and `hostname` from Datadog's `$VARIABLES`. The transition comes from
//! `alert_transition`, else from the title's `[Triggered]` prefix; Triggered, Re-Triggered,
//! Warn, No Data and Renotify fire, Recovered resolves. Dedup on an explicit `dedup_key`, the
//! alert cycle, the aggregation key, else the title without its transition; never on the
//! per-event `id`. A known `$VARIABLE` left unrendered is a 422. Unknown fields are ignored:
//! the payload is whatever the user templated. Pure.

use super::fields::{
    self, join, refuse, string_or_number, LABEL_LIMITS, SUMMARY_CHARS, UNPROCESSABLE,
};
use super::{json, IngestError, Parsed};
use crate::domain::{AlertEvent, AlertStatus, Link, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Datadog's template variables (its webhooks documentation), for spotting unrendered ones.
const VARIABLES: &[&str] = &[
    "AGGREG_KEY",
    "ALERT_CYCLE_KEY",
    "ALERT_ID",
    "ALERT_METRIC",
    "ALERT_PRIORITY",
    "ALERT_QUERY",
    "ALERT_SCOPE",
    "ALERT_STATUS",
    "ALERT_TITLE",
    "ALERT_TRANSITION",
    "ALERT_TYPE",
    "DATE",
    "EMAIL",
    "EVENT_MSG",
    "EVENT_TITLE",
    "EVENT_TYPE",
    "HOSTNAME",
    "ID",
    "LAST_UPDATED",
    "LINK",
    "LOGS_SAMPLE",
    "METRIC_NAMESPACE",
    "ORG_ID",
    "ORG_NAME",
    "PRIORITY",
    "SNAPSHOT",
    "TAGS",
    "TEXT_ONLY_MSG",
    "USER",
    "USERNAME",
];
/// Families of variables (`$SECURITY_RULE_NAME`, `$INCIDENT_TITLE`, `$SYNTHETICS_TEST_NAME`…).
const VARIABLE_PREFIXES: &[&str] = &["SECURITY_", "INCIDENT_", "SYNTHETICS_", "CASE_"];

/// What a transition means, by Datadog's spelling (compared without case).
const TRANSITIONS: [(&str, Transition); 6] = [
    ("triggered", Transition::Fire),
    ("re-triggered", Transition::Fire),
    ("renotify", Transition::Fire),
    ("warn", Transition::Warn),
    ("no data", Transition::Warn),
    ("recovered", Transition::Resolve),
];
const TRANSITION_NAMES: &str =
    "\"Triggered\", \"Re-Triggered\", \"Warn\", \"No Data\", \"Renotify\" or \"Recovered\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    Fire,
    /// Fires, as a warning unless a priority says otherwise.
    Warn,
    Resolve,
}

/// Parses one webhook call.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, IngestError> {
    let object = json::parse_object(body)?;
    if let Some((path, variable)) = find_variable(&Value::Object(object.clone()), "", 0) {
        return Err(refuse(
            UNPROCESSABLE,
            "unrendered_variable",
            &path,
            format!(
                "${variable} was not replaced: the payload is Datadog's template, not an alert \
                 (check the variable's spelling, or send a real monitor notification)"
            ),
        ));
    }

    let text = |name: &str| -> Result<Option<String>, IngestError> {
        Ok(string_or_number(&object, "", name)?.filter(|text| !text.trim().is_empty()))
    };
    let raw_title = text("alert_title")?
        .or(text("title")?)
        .or(text("event_title")?);
    let prefix = raw_title.as_deref().map(read_title).unwrap_or_default();

    let transition = match text("alert_transition")? {
        Some(given) => lookup_transition(&given)
            .ok_or_else(|| fields::unknown_value("alert_transition", &given, TRANSITION_NAMES))?,
        None => {
            match prefix.transition {
                Some(transition) => transition,
                None => return Err(fields::missing(
                    "alert_transition",
                    "the alert's transition: add \"alert_transition\": \"$ALERT_TRANSITION\" to \
                     the webhook payload (the title has no [Triggered] or [Recovered] prefix \
                     either)",
                )),
            }
        }
    };

    let severity = match text("alert_priority")?.or(prefix.priority.clone()) {
        Some(priority) => match priority.trim().to_ascii_uppercase().as_str() {
            "P1" => Severity::Critical,
            "P2" => Severity::Error,
            "P3" => Severity::Warning,
            "P4" | "P5" => Severity::Info,
            _ => {
                return Err(fields::unknown_value(
                    "alert_priority",
                    &priority,
                    "P1, P2, P3, P4 or P5",
                ))
            }
        },
        None if transition == Transition::Warn => Severity::Warning,
        None => match text("alert_type")? {
            None => Severity::Error,
            Some(kind) => match kind.to_ascii_lowercase().as_str() {
                "error" => Severity::Error,
                "warning" => Severity::Warning,
                "info" | "success" => Severity::Info,
                _ => {
                    return Err(fields::unknown_value(
                        "alert_type",
                        &kind,
                        "\"error\", \"warning\", \"info\" or \"success\"",
                    ))
                }
            },
        },
    };

    let title = match (&prefix.rest, &raw_title) {
        (Some(rest), _) => match &prefix.scope {
            Some(scope) => format!("{rest} on {scope}"),
            None => rest.clone(),
        },
        (None, Some(title)) => title.clone(),
        (None, None) => text("alert_id")?
            .map(|id| format!("Datadog monitor {id}"))
            .unwrap_or_else(|| String::from("Datadog alert")),
    };

    let explicit = text("dedup_key")?.or(text("deduplication_key")?);
    let dedup_key = if let Some(key) = explicit {
        fields::check_length(&key, "dedup_key", fields::DEDUP_KEY_CHARS)?;
        key
    } else if let Some(cycle) = text("alert_cycle_key")? {
        format!("datadog-cycle:{cycle}")
    } else if let Some(aggregation) = text("aggreg_key")?.or(text("aggregation_key")?) {
        format!("datadog-aggregation:{aggregation}")
    } else {
        // The title without its transition names the monitor and scope, the same on every
        // notification of one alert; the per-event `id` never is.
        format!(
            "datadog-title:{}",
            fields::short_hash(&[&text("alert_id")?.unwrap_or_default(), &title])
        )
    };
    let dedup_key = fields::truncate(&dedup_key, fields::DEDUP_KEY_CHARS);

    let mut labels = BTreeMap::new();
    for (field, label) in [
        ("hostname", "host"),
        ("alert_id", "monitor_id"),
        ("alert_metric", "metric"),
        ("alert_scope", "scope"),
        ("event_type", "event_type"),
        ("tags", "tags"),
        ("alert_transition", "transition"),
    ] {
        if let Some(value) = text(field)? {
            labels.insert(
                label.to_string(),
                fields::truncate(&value, LABEL_LIMITS.value_chars),
            );
        }
    }
    if let Some(priority) = text("alert_priority")?.or(prefix.priority) {
        labels.insert(String::from("priority"), priority);
    }

    let mut links = Vec::new();
    for (field, name) in [("link", "Datadog"), ("snapshot", "Snapshot")] {
        if let Some(href) = text(field)? {
            let href = href.trim();
            if (href.starts_with("https://") || href.starts_with("http://"))
                && href.len() <= fields::LINK_HREF_CHARS
            {
                fields::push_link(
                    &mut links,
                    Link {
                        href: href.to_string(),
                        text: Some(name.to_string()),
                    },
                );
            }
        }
    }

    let source_time = match fields::epoch_millis_or_time(
        fields::get(&object, "last_updated"),
        "last_updated",
        now,
        Duration::days(1),
    )? {
        Some(time) => Some(time),
        None => fields::epoch_millis_or_time(
            fields::get(&object, "date"),
            "date",
            now,
            Duration::days(1),
        )?,
    };

    let details: Map<String, Value> = object.clone();
    Ok(Parsed {
        events: vec![AlertEvent {
            fingerprint: Some(dedup_key.clone()),
            dedup_key,
            status: match transition {
                Transition::Resolve => AlertStatus::Resolved,
                _ => AlertStatus::Firing,
            },
            title: fields::truncate(&title, SUMMARY_CHARS),
            severity,
            service: None,
            labels,
            links,
            details: Value::Object(details),
            source_time,
        }],
    })
}

fn lookup_transition(text: &str) -> Option<Transition> {
    let lower = text.trim().to_ascii_lowercase();
    TRANSITIONS
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, transition)| *transition)
}

/// What a Datadog title says in its bracketed prefixes: `[P1] [Triggered on {host:a}] CPU`.
#[derive(Debug, Default, PartialEq)]
struct TitlePrefix {
    transition: Option<Transition>,
    priority: Option<String>,
    scope: Option<String>,
    /// The title after the prefixes, when there were any.
    rest: Option<String>,
}

fn read_title(title: &str) -> TitlePrefix {
    let mut prefix = TitlePrefix::default();
    let mut rest = title.trim_start();
    let mut seen = false;
    while let Some(inner_end) = rest.strip_prefix('[').and_then(|after| after.find(']')) {
        let inner = &rest[1..=inner_end];
        let upper = inner.trim().to_ascii_uppercase();
        if upper.len() == 2
            && upper.starts_with('P')
            && upper[1..].chars().all(|c| c.is_ascii_digit())
        {
            prefix.priority = Some(upper);
        } else {
            let (word, scope) = match inner.find(" on ") {
                Some(at) => (&inner[..at], Some(inner[at + 4..].trim())),
                None => (inner, None),
            };
            match lookup_transition(word) {
                Some(transition) => {
                    prefix.transition = Some(transition);
                    prefix.scope = scope
                        .map(|scope| scope.trim_start_matches('{').trim_end_matches('}'))
                        .filter(|scope| !scope.is_empty())
                        .map(str::to_string);
                }
                None => break,
            }
        }
        seen = true;
        rest = rest[inner_end + 2..].trim_start();
    }
    if seen && !rest.is_empty() {
        prefix.rest = Some(rest.to_string());
    }
    prefix
}

/// The first string (depth-first, in key order) that still contains a known `$VARIABLE`.
fn find_variable(value: &Value, path: &str, depth: usize) -> Option<(String, String)> {
    if depth > 8 {
        return None;
    }
    match value {
        Value::String(text) => unrendered(text).map(|variable| (path.to_string(), variable)),
        Value::Object(object) => object
            .iter()
            .find_map(|(name, inner)| find_variable(inner, &join(path, name), depth + 1)),
        Value::Array(items) => items.iter().enumerate().find_map(|(position, inner)| {
            find_variable(inner, &fields::index(path, position), depth + 1)
        }),
        _ => None,
    }
}

fn unrendered(text: &str) -> Option<String> {
    let mut remaining = text;
    while let Some(at) = remaining.find('$') {
        let after = &remaining[at + 1..];
        let name: String = after
            .chars()
            .take_while(|character| {
                character.is_ascii_uppercase() || character.is_ascii_digit() || *character == '_'
            })
            .collect();
        let known = VARIABLES.contains(&name.as_str())
            || VARIABLE_PREFIXES
                .iter()
                .any(|prefix| name.starts_with(prefix) && name.len() > prefix.len());
        // The whole value being one `$UPPER_CASE` word is a variable even if unknown to us.
        let whole = text.trim() == format!("${name}") && name.len() >= 2;
        if known || whole {
            return Some(name);
        }
        remaining = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Datadog's default webhook payload, rendered as Datadog sends it for a monitor.
    const DEFAULT_PAYLOAD: &str = include_str!("../../tests/fixtures/datadog/default-payload.json");
    /// A custom payload with the variables most integrations ask for.
    const CUSTOM_PAYLOAD: &str = include_str!("../../tests/fixtures/datadog/custom-payload.json");
    /// Datadog's default payload template, unrendered.
    const TEMPLATE: &str = include_str!("../../tests/fixtures/datadog/default-template.json");

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn event(body: &str) -> AlertEvent {
        parse(body.as_bytes(), now()).unwrap().events.remove(0)
    }

    fn refusal(body: &str) -> IngestError {
        let error = parse(body.as_bytes(), now()).unwrap_err();
        assert!((400..500).contains(&error.status), "{error:?}");
        error
    }

    fn edited(base: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut payload: Value = serde_json::from_str(base).unwrap();
        edit(&mut payload);
        payload.to_string()
    }

    #[test]
    fn the_default_payload_reads_its_title() {
        let event = event(DEFAULT_PAYLOAD);
        assert_eq!(event.status, AlertStatus::Firing);
        assert_eq!(event.title, "CPU load is high on host:web-1");
        assert_eq!(event.severity, Severity::Error);
        assert!(event.dedup_key.starts_with("datadog-title:"));
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2024-05-01T11:58:20+00:00"
        );

        // The recovery of the same alert lands on the same key, whatever its event id.
        let recovered = self::event(&edited(DEFAULT_PAYLOAD, |payload| {
            payload["title"] = json!("[Recovered on {host:web-1}] CPU load is high");
            payload["id"] = json!("7412358471953028099");
        }));
        assert_eq!(recovered.status, AlertStatus::Resolved);
        assert_eq!(recovered.dedup_key, event.dedup_key);
    }

    #[test]
    fn custom_payloads_dedup_on_the_alert_cycle() {
        let event = event(CUSTOM_PAYLOAD);
        assert_eq!(event.dedup_key, "datadog-cycle:7021543820138475302");
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(
            event.title,
            "Checkout error rate above 5% on env:prod,service:checkout"
        );
        assert_eq!(event.labels["host"], "checkout-7f9c");
        assert_eq!(
            event.links[0].href,
            "https://app.datadoghq.com/event/event?id=7412358471953028098"
        );
        let other_event = self::event(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["id"] = json!("1");
            payload["alert_transition"] = json!("Recovered");
        }));
        assert_eq!(other_event.dedup_key, event.dedup_key);
        assert_eq!(other_event.status, AlertStatus::Resolved);
        let by_aggregation = self::event(&edited(CUSTOM_PAYLOAD, |payload| {
            payload.as_object_mut().unwrap().remove("alert_cycle_key");
        }));
        assert_eq!(
            by_aggregation.dedup_key,
            "datadog-aggregation:9bd4ac313a4d1e8fae2482df7b77628"
        );
    }

    #[test]
    fn transitions_fire_or_resolve_and_others_are_refused() {
        for (transition, status, severity) in [
            ("Triggered", AlertStatus::Firing, Severity::Critical),
            ("Re-Triggered", AlertStatus::Firing, Severity::Critical),
            ("Renotify", AlertStatus::Firing, Severity::Critical),
            ("Warn", AlertStatus::Firing, Severity::Critical),
            ("No Data", AlertStatus::Firing, Severity::Critical),
            ("Recovered", AlertStatus::Resolved, Severity::Critical),
        ] {
            let event = event(&edited(CUSTOM_PAYLOAD, |payload| {
                payload["alert_transition"] = json!(transition)
            }));
            assert_eq!(
                (event.status, event.severity),
                (status, severity),
                "{transition}"
            );
        }
        // Without a priority, a warning is a warning.
        let event = event(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["alert_transition"] = json!("Warn");
            payload["alert_title"] = json!("[Warn on {env:prod}] Checkout error rate above 5%");
            payload.as_object_mut().unwrap().remove("alert_priority");
        }));
        assert_eq!(event.severity, Severity::Warning);
        let error = refusal(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["alert_transition"] = json!("Muted")
        }));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("unknown_value", Some("alert_transition"))
        );
        let error = refusal(&edited(DEFAULT_PAYLOAD, |payload| {
            payload["title"] = json!("CPU load is high")
        }));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("missing_field", Some("alert_transition"))
        );
        let error = refusal(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["alert_priority"] = json!("P9")
        }));
        assert_eq!(error.field.as_deref(), Some("alert_priority"));
    }

    #[test]
    fn unrendered_variables_are_422() {
        let error = refusal(TEMPLATE);
        assert_eq!((error.status, error.code), (422, "unrendered_variable"));
        let error = refusal(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["dedup_key"] = json!("$AGGREG_KEY-$ALERT_CYCLE_KEY")
        }));
        assert_eq!(error.field.as_deref(), Some("dedup_key"));
        assert!(error.message.contains("$AGGREG_KEY"));
        let error = refusal(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["alert_transition"] = json!("$ALERT_TRANSITON")
        }));
        assert_eq!(error.field.as_deref(), Some("alert_transition"));
        // Dollars in prose are not variables.
        let event = event(&edited(CUSTOM_PAYLOAD, |payload| {
            payload["body"] = json!("costs rose by $5 and $HOME is unset")
        }));
        assert_eq!(event.status, AlertStatus::Firing);
    }

    #[test]
    fn titles_lose_their_prefixes() {
        let prefix = read_title("[P2] [Triggered on {host:a,env:b}] Disk full");
        assert_eq!(prefix.priority.as_deref(), Some("P2"));
        assert_eq!(prefix.transition, Some(Transition::Fire));
        assert_eq!(prefix.scope.as_deref(), Some("host:a,env:b"));
        assert_eq!(prefix.rest.as_deref(), Some("Disk full"));
        assert_eq!(read_title("Disk full"), TitlePrefix::default());
        assert_eq!(read_title("[Unknown] x").transition, None);
        assert_eq!(read_title("[").rest, None);
    }
}
