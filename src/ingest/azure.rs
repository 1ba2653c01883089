//! Azure Monitor alerts in the common alert schema (`schemaId` =
//! `azureMonitorCommonAlertSchema`), as an action group's webhook sends them when "Enable the
//! common alert schema" is on. One incident per `essentials.alertId`; `monitorCondition`
//! Fired/Resolved; Sev0..Sev4 mapped to the four severities; the free-form `alertContext` and
//! `customProperties` are kept as details whatever their types. Any other `schemaId` is a
//! 422 naming it. Unknown fields are ignored (the schema is Microsoft's and grows). Pure.

use super::fields::{
    self, join, optional_string, quote, refuse, required_string, wrong_type, TimeSyntax,
    LABEL_LIMITS, SERVICE_CHARS, SUMMARY_CHARS, UNPROCESSABLE,
};
use super::{json, IngestError, Parsed};
use crate::domain::{AlertEvent, AlertStatus, Link, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const COMMON_SCHEMA: &str = "azureMonitorCommonAlertSchema";
/// Azure alert ids are resource paths; activity log ones can be long, not unbounded.
pub const ALERT_ID_CHARS: usize = 1024;

/// Parses one common-schema alert.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, IngestError> {
    let object = json::parse_object(body)?;
    match fields::get(&object, "schemaId") {
        Some(Value::String(schema)) if schema == COMMON_SCHEMA => {}
        Some(Value::String(schema)) => {
            return Err(refuse(
                UNPROCESSABLE,
                "unsupported_schema",
                "schemaId",
                format!(
                    "schema {} is not the common alert schema: in the action group, edit the \
                     webhook action and turn on \"Enable the common alert schema\" \
                     (schemaId \"{COMMON_SCHEMA}\")",
                    quote(schema)
                ),
            ))
        }
        Some(other) => return Err(wrong_type("schemaId", "a string", other)),
        None => {
            return Err(refuse(
                UNPROCESSABLE,
                "unsupported_schema",
                "schemaId",
                format!(
                    "no schemaId: klaxon reads Azure Monitor's common alert schema; in the \
                     action group, turn on \"Enable the common alert schema\" for this webhook \
                     (schemaId \"{COMMON_SCHEMA}\")"
                ),
            ))
        }
    }
    let data = object_field(&object, "", "data")?;
    let essentials = object_field(data, "data", "essentials")?;
    let path = "data.essentials";

    let alert_id = required_string(essentials, path, "alertId")?;
    fields::check_length(alert_id, &join(path, "alertId"), ALERT_ID_CHARS)?;
    let condition_field = join(path, "monitorCondition");
    let status = match required_string(essentials, path, "monitorCondition")? {
        "Fired" => AlertStatus::Firing,
        "Resolved" => AlertStatus::Resolved,
        other => {
            return Err(fields::unknown_value(
                &condition_field,
                other,
                "\"Fired\" or \"Resolved\"",
            ))
        }
    };
    let severity_field = join(path, "severity");
    let severity = match optional_string(essentials, path, "severity")? {
        None => Severity::Error,
        Some(text) => severity(text).ok_or_else(|| {
            fields::unknown_value(
                &severity_field,
                text,
                "\"Sev0\", \"Sev1\", \"Sev2\", \"Sev3\" or \"Sev4\"",
            )
        })?,
    };

    let time = |name: &str| -> Result<Option<DateTime<Utc>>, IngestError> {
        optional_string(essentials, path, name)?
            .filter(|text| !text.trim().is_empty())
            .map(|text| {
                fields::timestamp(
                    text,
                    &join(path, name),
                    TimeSyntax::Lenient,
                    now,
                    Duration::days(1),
                )
            })
            .transpose()
    };
    let fired = time("firedDateTime")?;
    let resolved = time("resolvedDateTime")?;

    let rule =
        optional_string(essentials, path, "alertRule")?.filter(|text| !text.trim().is_empty());
    let description =
        optional_string(essentials, path, "description")?.filter(|text| !text.trim().is_empty());
    let monitoring_service = optional_string(essentials, path, "monitoringService")?;
    let signal_type = optional_string(essentials, path, "signalType")?;
    let items = string_list(essentials, path, "configurationItems")?;
    let targets = string_list(essentials, path, "alertTargetIDs")?;

    let mut title = rule
        .or(description)
        .or(monitoring_service.filter(|text| !text.trim().is_empty()))
        .unwrap_or("Azure Monitor alert")
        .to_string();
    if !items.is_empty() && rule.is_some() {
        let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
        title.push_str(&format!(" on {}", shown.join(", ")));
        if items.len() > 3 {
            title.push_str(&format!(" and {} more", items.len() - 3));
        }
    }

    let mut labels = BTreeMap::new();
    let mut label = |name: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|value| !value.is_empty()) {
            labels.insert(
                name.to_string(),
                fields::truncate(value, LABEL_LIMITS.value_chars),
            );
        }
    };
    label("alertRule", rule);
    label("monitoringService", monitoring_service);
    label("signalType", signal_type);
    label("severity", optional_string(essentials, path, "severity")?);
    label("target", targets.first().map(String::as_str));
    let custom = fields::get(data, "customProperties");
    let service = match custom {
        Some(Value::Object(custom)) => match custom.get("service") {
            Some(Value::String(service)) if !service.trim().is_empty() => {
                Some(fields::truncate(service, SERVICE_CHARS))
            }
            _ => None,
        },
        _ => None,
    };

    let mut links = Vec::new();
    if let Some(Value::Object(context)) = fields::get(data, "alertContext") {
        for name in ["LinkToFilteredSearchResultsUI", "LinkToSearchResults"] {
            if let Some(Value::String(href)) = context.get(name) {
                push_web_link(&mut links, href, "Search results");
            }
        }
    }

    let mut details = Map::new();
    details.insert(
        String::from("essentials"),
        Value::Object(essentials.clone()),
    );
    for name in ["alertContext", "customProperties"] {
        if let Some(value) = fields::get(data, name) {
            details.insert(name.to_string(), value.clone());
        }
    }

    Ok(Parsed {
        events: vec![AlertEvent {
            dedup_key: alert_id.to_string(),
            fingerprint: Some(alert_id.to_string()),
            status,
            title: fields::truncate(&title, SUMMARY_CHARS),
            severity,
            service,
            labels,
            links,
            details: Value::Object(details),
            source_time: match status {
                AlertStatus::Resolved => resolved.or(fired),
                _ => fired,
            },
        }],
    })
}

/// Azure's five severities onto klaxon's four: Sev0 critical, Sev1 error, Sev2 warning,
/// Sev3 (informational) and Sev4 (verbose) info.
pub fn severity(text: &str) -> Option<Severity> {
    Some(match text {
        "Sev0" => Severity::Critical,
        "Sev1" => Severity::Error,
        "Sev2" => Severity::Warning,
        "Sev3" | "Sev4" => Severity::Info,
        _ => return None,
    })
}

fn object_field<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a Map<String, Value>, IngestError> {
    match fields::get(object, name) {
        Some(Value::Object(inner)) => Ok(inner),
        Some(other) => Err(wrong_type(&join(parent, name), "an object", other)),
        None => Err(fields::missing(&join(parent, name), "an object")),
    }
}

/// An array of strings; absent or null is empty.
fn string_list(
    object: &Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Vec<String>, IngestError> {
    let path = join(parent, name);
    match fields::get(object, name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(position, item)| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(wrong_type(
                    &fields::index(&path, position),
                    "a string",
                    other,
                )),
            })
            .collect(),
        Some(other) => Err(wrong_type(&path, "an array of strings", other)),
    }
}

fn push_web_link(links: &mut Vec<Link>, href: &str, text: &str) {
    let href = href.trim();
    if (href.starts_with("https://") || href.starts_with("http://"))
        && href.len() <= fields::LINK_HREF_CHARS
    {
        fields::push_link(
            links,
            Link {
                href: href.to_string(),
                text: Some(text.to_string()),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Microsoft's published samples (alerts-payload-samples.md), whole and unedited.
    const SAMPLE: &str = include_str!("../../tests/fixtures/azure/sample-alert-payload.json");
    const TEST_ACTIVITY_LOG: &str =
        include_str!("../../tests/fixtures/azure/test-action-activity-log.json");
    const TEST_AVAILABILITY: &str =
        include_str!("../../tests/fixtures/azure/test-action-availability.json");
    const TEST_BUDGET: &str = include_str!("../../tests/fixtures/azure/test-action-budget.json");

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-04-16T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn event(body: &str) -> AlertEvent {
        let mut events = parse(body.as_bytes(), now()).unwrap().events;
        assert_eq!(events.len(), 1);
        events.remove(0)
    }

    fn refusal(body: &str) -> IngestError {
        let error = parse(body.as_bytes(), now()).unwrap_err();
        assert!((400..500).contains(&error.status), "{error:?}");
        error
    }

    #[test]
    fn the_published_sample_resolves_its_alert() {
        let event = event(SAMPLE);
        assert_eq!(
            event.dedup_key,
            "/subscriptions/<subscription ID>/providers/Microsoft.AlertsManagement/alerts/aaaa0a0a-bb1b-cc2c-dd3d-eeeeee4e4e4e"
        );
        assert_eq!(event.fingerprint.as_deref(), Some(event.dedup_key.as_str()));
        assert_eq!(event.status, AlertStatus::Resolved);
        assert_eq!(event.severity, Severity::Info);
        assert_eq!(event.title, "WCUS-R2-Gen2 on wcus-r2-gen2");
        assert_eq!(event.labels["monitoringService"], "Platform");
        assert_eq!(event.labels["signalType"], "Metric");
        // Seven-digit fractions are read to the hundred nanoseconds.
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2019-03-22T14:03:16.224631300+00:00"
        );
        assert_eq!(
            event.details["alertContext"]["condition"]["allOf"][0]["metricValue"],
            json!(7.727)
        );
    }

    #[test]
    fn test_actions_fire() {
        let event = event(TEST_ACTIVITY_LOG);
        assert_eq!(event.status, AlertStatus::Firing);
        assert_eq!(event.severity, Severity::Info);
        assert_eq!(event.title, "test-activityLogAlertRule on test-VM");
        assert_eq!(
            event.details["alertContext"]["properties"]["eventCategory"],
            "Administrative"
        );

        let event = self::event(TEST_AVAILABILITY);
        assert_eq!(event.details["customProperties"]["customKey1"], "value1");
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2025-04-15T17:42:34.824+00:00"
        );

        // Budget alerts have no rule and no severity: the description titles them.
        let event = self::event(TEST_BUDGET);
        assert_eq!(event.severity, Severity::Error);
        assert!(
            event.title.starts_with("Delivery Confirmation"),
            "{}",
            event.title
        );
        assert_eq!(event.details["alertContext"]["AlertData"]["Unit"], "USD");
    }

    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut payload: Value = serde_json::from_str(SAMPLE).unwrap();
        edit(&mut payload);
        payload.to_string()
    }

    #[test]
    fn severities_map_and_unknown_ones_are_refused() {
        for (text, expected) in [
            ("Sev0", Severity::Critical),
            ("Sev1", Severity::Error),
            ("Sev2", Severity::Warning),
            ("Sev3", Severity::Info),
            ("Sev4", Severity::Info),
        ] {
            let body = edited(|payload| payload["data"]["essentials"]["severity"] = json!(text));
            assert_eq!(event(&body).severity, expected);
        }
        let error = refusal(&edited(|payload| {
            payload["data"]["essentials"]["severity"] = json!("Sev5")
        }));
        assert_eq!(error.code, "unknown_value");
        assert_eq!(error.field.as_deref(), Some("data.essentials.severity"));
    }

    #[test]
    fn conditions_and_schemas_are_checked() {
        let error = refusal(&edited(|payload| {
            payload["data"]["essentials"]["monitorCondition"] = json!("Active")
        }));
        assert_eq!(
            error.field.as_deref(),
            Some("data.essentials.monitorCondition")
        );
        assert!(error.message.contains("\"Fired\" or \"Resolved\""));

        let error = refusal(&edited(|payload| {
            payload["schemaId"] = json!("Microsoft.Insights/activityLogs")
        }));
        assert_eq!((error.status, error.code), (422, "unsupported_schema"));
        assert!(error.message.contains("Enable the common alert schema"));
        let error = refusal(&edited(|payload| {
            payload.as_object_mut().unwrap().remove("schemaId");
        }));
        assert_eq!(
            (error.status, error.field.as_deref()),
            (422, Some("schemaId"))
        );

        let error = refusal(&edited(|payload| {
            payload["data"]["essentials"]
                .as_object_mut()
                .unwrap()
                .remove("alertId");
        }));
        assert_eq!(error.field.as_deref(), Some("data.essentials.alertId"));
        let error = refusal(&edited(|payload| payload["data"]["essentials"] = json!([])));
        assert_eq!(error.field.as_deref(), Some("data.essentials"));
    }

    #[test]
    fn zoneless_times_are_utc_and_bad_ones_are_named() {
        let body = edited(|payload| {
            payload["data"]["essentials"]["firedDateTime"] = json!("2021-11-16T15:17:21.9232467");
            payload["data"]["essentials"]["monitorCondition"] = json!("Fired");
        });
        assert_eq!(
            event(&body).source_time.unwrap().to_rfc3339(),
            "2021-11-16T15:17:21.923246700+00:00"
        );
        let error = refusal(&edited(|payload| {
            payload["data"]["essentials"]["firedDateTime"] = json!("3/22/2019 1:36:31 PM")
        }));
        assert_eq!(error.code, "bad_timestamp");
        assert_eq!(
            error.field.as_deref(),
            Some("data.essentials.firedDateTime")
        );
    }

    #[test]
    fn free_form_context_keeps_any_types_and_service_comes_from_custom_properties() {
        let body = edited(|payload| {
            payload["data"]["alertContext"] = json!({"n": 1, "list": [true, null, {"x": "y"}]});
            payload["data"]["customProperties"] = json!({"service": "payments", "count": 3});
        });
        let event = event(&body);
        assert_eq!(event.details["alertContext"]["list"][2]["x"], "y");
        assert_eq!(event.service.as_deref(), Some("payments"));
    }
}
