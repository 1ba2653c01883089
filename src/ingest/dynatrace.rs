//! Dynatrace problem notifications (Settings → Integration → Problem notifications → Custom
//! integration, with the payload built from Dynatrace's placeholders). One incident per
//! problem (`PID`, else `ProblemID`); `State` OPEN fires, RESOLVED resolves, MERGED (folded
//! into another problem) resolves too. A payload whose values are unrendered placeholders
//! (`"State": "{State}"`) is a 422: something sent the template, not a problem. Unknown fields
//! are ignored: the payload is whatever the user templated. Pure.

use super::fields::{
    self, join, optional_string, quote, refuse, string_or_number, LABEL_LIMITS, SUMMARY_CHARS,
    UNPROCESSABLE,
};
use super::{json, IngestError, Parsed};
use crate::domain::{AlertEvent, AlertStatus, Link, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Problem ids are short ("-3010564312468571234_1582704000000V2"); bounded all the same.
pub const PROBLEM_ID_CHARS: usize = 255;

/// The placeholders whose values are JSON (written without quotes in the template); if the
/// template is sent unrendered the body is not even JSON.
const JSON_PLACEHOLDERS: [&str; 2] = ["{ImpactedEntities}", "{ProblemDetailsJSON}"];

/// Parses one problem notification.
pub fn parse(body: &[u8], now: DateTime<Utc>) -> Result<Parsed, IngestError> {
    let object = match json::parse_object(body) {
        Ok(object) => object,
        Err(error) => {
            let text = String::from_utf8_lossy(body);
            if let Some(placeholder) = JSON_PLACEHOLDERS
                .iter()
                .find(|placeholder| text.contains(*placeholder))
            {
                return Err(refuse(
                    UNPROCESSABLE,
                    "unrendered_placeholder",
                    "",
                    format!(
                        "the payload is Dynatrace's template, not a problem: {placeholder} was \
                         not replaced ({})",
                        error.message
                    ),
                ));
            }
            return Err(error);
        }
    };
    if let Some((path, value)) = find_placeholder(&Value::Object(object.clone()), "", 0) {
        return Err(refuse(
            UNPROCESSABLE,
            "unrendered_placeholder",
            &path,
            format!(
                "{} is an unrendered Dynatrace placeholder: the payload is the template, not a \
                 problem (use \"Send test notification\" in Dynatrace, or send a real problem)",
                quote(&value)
            ),
        ));
    }

    let (id_field, problem_id) = match string_or_number(&object, "", "PID")? {
        Some(id) if !id.trim().is_empty() => ("PID", id),
        _ => match string_or_number(&object, "", "ProblemID")? {
            Some(id) if !id.trim().is_empty() => ("ProblemID", id),
            _ => {
                return Err(fields::missing(
                    "PID",
                    "the problem's id: add \"PID\": \"{PID}\" to the payload template",
                ))
            }
        },
    };
    fields::check_length(&problem_id, id_field, PROBLEM_ID_CHARS)?;

    let state = fields::required_described(
        &object,
        "",
        "State",
        "the problem state: add \"State\": \"{State}\" to the payload template",
    )?;
    let status = match state.to_ascii_uppercase().as_str() {
        "OPEN" => AlertStatus::Firing,
        "RESOLVED" | "MERGED" => AlertStatus::Resolved,
        _ => {
            return Err(fields::unknown_value(
                "State",
                state,
                "\"OPEN\", \"RESOLVED\" or \"MERGED\"",
            ))
        }
    };

    let severity_text = optional_string(&object, "", "ProblemSeverity")?;
    let severity = match severity_text {
        None => Severity::Error,
        Some(text) => severity(text).ok_or_else(|| {
            fields::unknown_value(
                "ProblemSeverity",
                text,
                "AVAILABILITY, ERROR, PERFORMANCE, RESOURCE_CONTENTION, CUSTOM_ALERT, \
                 MONITORING_UNAVAILABLE or INFO",
            )
        })?,
    };

    let display_id = string_or_number(&object, "", "ProblemID")?;
    let problem_title = optional_string(&object, "", "ProblemTitle")?
        .filter(|text| !text.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "Dynatrace problem {}",
                display_id.as_deref().unwrap_or(&problem_id)
            )
        });
    let impact = optional_string(&object, "", "ProblemImpact")?.filter(|text| !text.is_empty());
    let entity = optional_string(&object, "", "ImpactedEntity")?
        .or(optional_string(&object, "", "ImpactedEntityNames")?)
        .filter(|text| !text.trim().is_empty());
    let mut title = problem_title.clone();
    if let Some(entity) = entity {
        title.push_str(&format!(" on {entity}"));
    }
    if let Some(impact) = impact {
        title.push_str(&format!(" ({} impact)", impact.to_ascii_lowercase()));
    }

    let mut labels = BTreeMap::new();
    let mut label = |name: &str, value: Option<&str>| {
        if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
            labels.insert(
                name.to_string(),
                fields::truncate(value, LABEL_LIMITS.value_chars),
            );
        }
    };
    label("impact", impact);
    label("problemSeverity", severity_text);
    label("problemId", display_id.as_deref());
    label("tags", optional_string(&object, "", "Tags")?);
    label("entity", entity);

    let mut links = Vec::new();
    for name in ["ProblemURL", "Problem URL"] {
        if let Some(href) = optional_string(&object, "", name)? {
            let href = href.trim();
            if (href.starts_with("https://") || href.starts_with("http://"))
                && href.len() <= fields::LINK_HREF_CHARS
            {
                fields::push_link(
                    &mut links,
                    Link {
                        href: href.to_string(),
                        text: Some(String::from("Dynatrace")),
                    },
                );
            }
        }
    }

    let started = fields::epoch_millis_or_time(
        fields::get(&object, "ProblemStartTime"),
        "ProblemStartTime",
        now,
        Duration::days(1),
    )?;
    let ended = fields::epoch_millis_or_time(
        fields::get(&object, "ProblemEndTime"),
        "ProblemEndTime",
        now,
        Duration::days(1),
    )?;

    // The HTML rendering is large and adds nothing the JSON and text do not carry.
    let details: Map<String, Value> = object
        .iter()
        .filter(|(name, _)| name.as_str() != "ProblemDetailsHTML")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();

    Ok(Parsed {
        events: vec![AlertEvent {
            dedup_key: problem_id.clone(),
            fingerprint: Some(problem_id),
            status,
            title: fields::truncate(&title, SUMMARY_CHARS),
            severity,
            service: None,
            labels,
            links,
            details: Value::Object(details),
            source_time: match status {
                AlertStatus::Resolved => ended.or(started),
                _ => started,
            },
        }],
    })
}

/// Dynatrace's problem severities (its `{ProblemSeverity}`) onto klaxon's four.
pub fn severity(text: &str) -> Option<Severity> {
    Some(match text.to_ascii_uppercase().as_str() {
        "AVAILABILITY" => Severity::Critical,
        "ERROR" | "CUSTOM_ALERT" => Severity::Error,
        "PERFORMANCE" | "RESOURCE_CONTENTION" | "MONITORING_UNAVAILABLE" => Severity::Warning,
        "INFO" => Severity::Info,
        _ => return None,
    })
}

/// The first string value (depth-first, in key order) that is exactly a `{Placeholder}`.
fn find_placeholder(value: &Value, path: &str, depth: usize) -> Option<(String, String)> {
    if depth > 8 {
        return None;
    }
    match value {
        Value::String(text) => is_placeholder(text).then(|| (path.to_string(), text.clone())),
        Value::Object(object) => object
            .iter()
            .find_map(|(name, inner)| find_placeholder(inner, &join(path, name), depth + 1)),
        Value::Array(items) => items.iter().enumerate().find_map(|(position, inner)| {
            find_placeholder(inner, &fields::index(path, position), depth + 1)
        }),
        _ => None,
    }
}

fn is_placeholder(text: &str) -> bool {
    let text = text.trim();
    text.len() > 2
        && text.len() <= 64
        && text.starts_with('{')
        && text.ends_with('}')
        && text[1..text.len() - 1]
            .chars()
            .all(|character| character.is_ascii_alphanumeric())
        && text[1..].starts_with(|character: char| character.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The rendered example of Dynatrace's "Webhook integration" documentation page.
    const DOCS_EXAMPLE: &str = include_str!("../../tests/fixtures/dynatrace/docs-example.json");
    /// Dynatrace's default custom-integration template, unrendered (not JSON).
    const TEMPLATE: &str = include_str!("../../tests/fixtures/dynatrace/default-template.txt");

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

    #[test]
    fn the_documented_example_opens_a_problem() {
        let event = event(DOCS_EXAMPLE);
        assert_eq!(event.dedup_key, "99999");
        assert_eq!(event.status, AlertStatus::Firing);
        assert_eq!(
            event.title,
            "Dynatrace problem notification test run on MyHost1, MyService1 (infrastructure impact)"
        );
        assert_eq!(event.labels["impact"], "INFRASTRUCTURE");
        assert_eq!(event.severity, Severity::Error);
        assert_eq!(event.links[0].href, "https://example.com");
        assert_eq!(event.details["ImpactedEntities"][0]["name"], "MyHost1");
        assert!(event.details.get("ProblemDetailsHTML").is_none());
    }

    fn edited(edit: impl FnOnce(&mut Value)) -> String {
        let mut payload: Value = serde_json::from_str(DOCS_EXAMPLE).unwrap();
        edit(&mut payload);
        payload.to_string()
    }

    #[test]
    fn states_resolve_and_unknown_ones_are_refused() {
        assert_eq!(
            event(&edited(|payload| payload["State"] = json!("RESOLVED"))).status,
            AlertStatus::Resolved
        );
        assert_eq!(
            event(&edited(|payload| payload["State"] = json!("MERGED"))).status,
            AlertStatus::Resolved
        );
        let error = refusal(&edited(|payload| payload["State"] = json!("CLOSED")));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("unknown_value", Some("State"))
        );
        let error = refusal(&edited(|payload| {
            payload.as_object_mut().unwrap().remove("State");
        }));
        assert_eq!(error.code, "missing_field");
        assert!(error.message.contains("{State}"));
    }

    #[test]
    fn placeholders_left_unrendered_are_422() {
        let error = refusal(TEMPLATE);
        assert_eq!((error.status, error.code), (422, "unrendered_placeholder"));
        assert!(
            error.message.contains("{ImpactedEntities}"),
            "{}",
            error.message
        );

        let error = refusal(&edited(|payload| payload["State"] = json!("{State}")));
        assert_eq!((error.status, error.field.as_deref()), (422, Some("State")));
        let error = refusal(&edited(|payload| {
            payload["ProblemDetailsJSON"] = json!({"ID": "{PID}"})
        }));
        assert_eq!(error.field.as_deref(), Some("ProblemDetailsJSON.ID"));
        // Braces in real text are not placeholders.
        let event = event(&edited(|payload| {
            payload["ProblemTitle"] = json!("{host} is {down}")
        }));
        assert!(event.title.starts_with("{host} is {down}"));
    }

    #[test]
    fn severity_ids_and_times() {
        let event = event(&edited(|payload| {
            payload["ProblemSeverity"] = json!("AVAILABILITY");
            payload["ProblemID"] = json!("P-1234");
            payload["PID"] = json!(-3010564312468571234_i64);
            payload["ProblemStartTime"] = json!(1714557600000_i64);
            payload["ProblemEndTime"] = json!(-1);
        }));
        assert_eq!(event.severity, Severity::Critical);
        assert_eq!(event.dedup_key, "-3010564312468571234");
        assert_eq!(event.labels["problemId"], "P-1234");
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2024-05-01T10:00:00+00:00"
        );
        let error = refusal(&edited(|payload| {
            payload["ProblemSeverity"] = json!("SEVERE")
        }));
        assert_eq!(error.field.as_deref(), Some("ProblemSeverity"));
        let error = refusal(&edited(|payload| {
            payload["ProblemStartTime"] = json!("4102444800000")
        }));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("bad_timestamp", Some("ProblemStartTime"))
        );
        let error = refusal(&edited(|payload| {
            let object = payload.as_object_mut().unwrap();
            object.remove("PID");
            object.remove("ProblemID");
        }));
        assert_eq!(error.field.as_deref(), Some("PID"));
        let error = refusal(&edited(|payload| payload["PID"] = json!(["x"])));
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("wrong_type", Some("PID"))
        );
    }
}
