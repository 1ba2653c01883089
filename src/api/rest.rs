//! REST for people and scripts: list and read incidents, act on them, list integrations.

use super::error::ApiError;
use super::limits::{read_body, require_json};
use super::AppState;
use crate::config::Role;
use crate::domain::{Action, IncidentId, IncidentStatus, Severity};
use crate::protocol::IntegrationView;
use crate::store::ListFilter;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};
use std::sync::Arc;

const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 10_000;

pub(super) fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |byte: u8| (byte as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escaped = (byte == b'%' && index + 2 < bytes.len())
            .then(|| Some(hex(bytes[index + 1])? * 16 + hex(bytes[index + 2])?))
            .flatten();
        match (byte, escaped) {
            (_, Some(value)) => {
                out.push(value as u8);
                index += 2;
            }
            (b'+', None) => out.push(b' '),
            (other, None) => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_id(text: &str) -> Result<IncidentId, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request(
            "invalid_id",
            format!("{text:?} is not an incident id: expected a positive whole number"),
        )
        .with_field("id")
    })
}

pub async fn list_incidents(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    state
        .users
        .authenticate(&headers, &uri)?
        .require(Role::Viewer)?;
    let mut filter = ListFilter::default();
    let mut limit = DEFAULT_LIMIT;
    let mut before = None;
    for (name, value) in query_pairs(&uri) {
        match name.as_str() {
            "status" => {
                for status in value.split(',').filter(|s| !s.is_empty()) {
                    let status: IncidentStatus = status.parse().map_err(|message: String| {
                        ApiError::bad_request("unknown_value", message).with_field("status")
                    })?;
                    if !filter.statuses.contains(&status) {
                        filter.statuses.push(status);
                    }
                }
            }
            "open" => {
                filter.statuses = vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged]
            }
            "service" => filter.service = Some(value),
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "invalid_value",
                            format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                        )
                        .with_field("limit")
                    })?
            }
            "before" => before = Some(parse_id(&value).map_err(|e| e.with_field("before"))?),
            "token" => {}
            other => return Err(unknown_parameter(other, "status, service, limit or before")),
        }
    }
    let incidents = state.engine.list(filter, before, limit).await?;
    Ok(Json(incidents).into_response())
}

pub async fn incident_detail(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    state
        .users
        .authenticate(&headers, &uri)?
        .require(Role::Viewer)?;
    let id = parse_id(&id)?;
    Ok(Json(state.engine.detail(id).await?).into_response())
}

/// Reads an optional JSON object body (an empty body is an empty object).
pub(super) async fn object_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = read_body(headers, body, state.max_body_bytes).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    require_json(headers)?;
    Ok(crate::ingest::json::parse_object(&bytes)?)
}

pub(super) fn string_field(body: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match body.get(name) {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(_) => Err(
            ApiError::bad_request("wrong_type", format!("{name} must be a string"))
                .with_field(name),
        ),
        None => Err(
            ApiError::bad_request("missing_field", format!("{name} is required")).with_field(name),
        ),
    }
}

pub(super) fn refuse_unknown(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|key| !allowed.contains(&key.as_str())) {
        None => Ok(()),
        Some(key) => Err(ApiError::bad_request(
            "unknown_field",
            if allowed.is_empty() {
                format!("unknown field {key:?}: this action takes no fields")
            } else {
                format!("unknown field {key:?}: expected {}", allowed.join(" or "))
            },
        )
        .with_field(key)),
    }
}

fn snooze_until(
    body: &Map<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    refuse_unknown(body, &["until", "duration"])?;
    if body.contains_key("until") {
        let text = string_field(body, "until")?;
        return chrono::DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&chrono::Utc))
            .map_err(|error| {
                ApiError::bad_request(
                    "bad_timestamp",
                    format!("until: {error}: expected RFC 3339"),
                )
                .with_field("until")
            });
    }
    let text = string_field(body, "duration").map_err(|_| {
        ApiError::bad_request(
            "missing_field",
            "give either `duration` (like \"30m\") or `until` (RFC 3339)",
        )
        .with_field("duration")
    })?;
    let duration = humantime::parse_duration(&text).map_err(|error| {
        ApiError::bad_request("invalid_value", format!("duration {text:?}: {error}"))
            .with_field("duration")
    })?;
    if duration.is_zero() || duration > std::time::Duration::from_secs(366 * 86_400) {
        return Err(ApiError::bad_request(
            "invalid_value",
            "duration must be more than zero and at most a year",
        )
        .with_field("duration"));
    }
    Ok(now + chrono::Duration::from_std(duration).expect("bounded above"))
}

/// `GET /v1/incidents/{id}/postmortem`: the Markdown draft; `?format=json` gives the facts
/// (times, MTTA, MTTR, participants, findings) instead.
pub async fn postmortem(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    state
        .users
        .authenticate(&headers, &uri)?
        .require(Role::Viewer)?;
    let id = parse_id(&id)?;
    let mut json = false;
    for (name, value) in query_pairs(&uri) {
        match (name.as_str(), value.as_str()) {
            ("format", "json") => json = true,
            ("format", "markdown") => json = false,
            ("format", other) => {
                return Err(ApiError::bad_request(
                    "unknown_value",
                    format!("unknown format {other:?}: expected markdown or json"),
                )
                .with_field("format"))
            }
            ("token", _) => {}
            (other, _) => return Err(unknown_parameter(other, "format")),
        }
    }
    let (draft, facts) = state.engine.postmortem(id).await?;
    if json {
        return Ok(Json(facts).into_response());
    }
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/markdown; charset=utf-8",
        )],
        draft,
    )
        .into_response())
}

pub async fn incident_action(
    State(state): State<Arc<AppState>>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = state.users.authenticate(&headers, &uri)?;
    caller.require(Role::Responder)?;
    let id = parse_id(&id)?;
    let body = object_body(&state, &headers, body).await?;
    let action = match action.as_str() {
        "acknowledge" => {
            refuse_unknown(&body, &[])?;
            Action::Acknowledge
        }
        "resolve" => {
            refuse_unknown(&body, &[])?;
            Action::Resolve
        }
        "snooze" => Action::Snooze {
            until: snooze_until(&body, state.engine.now())?,
        },
        "reassign" => {
            refuse_unknown(&body, &["to"])?;
            Action::Reassign {
                to: string_field(&body, "to")?,
            }
        }
        "severity" => {
            refuse_unknown(&body, &["severity"])?;
            let text = string_field(&body, "severity")?;
            let severity: Severity = text.parse().map_err(|message: String| {
                ApiError::bad_request("unknown_value", message).with_field("severity")
            })?;
            Action::SetSeverity { severity }
        }
        "notes" => {
            refuse_unknown(&body, &["text"])?;
            Action::Note {
                text: string_field(&body, "text")?,
            }
        }
        "escalate" => {
            refuse_unknown(&body, &[])?;
            Action::Escalate
        }
        other => {
            return Err(ApiError::not_found(format!(
                "unknown action {other:?}: expected acknowledge, resolve, snooze, reassign, severity, notes or escalate"
            )))
        }
    };
    let created = matches!(action, Action::Note { .. });
    let incident = state.engine.act(id, action, &caller.name).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(incident)).into_response())
}

pub async fn list_integrations(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let caller = state.users.authenticate(&headers, &uri)?;
    let admin = caller.role == Role::Admin;
    let mut views: Vec<IntegrationView> = state
        .integrations()
        .map(|integration| {
            let config = &integration.config;
            let url = match config.source {
                crate::ingest::Source::Pagerduty => format!("{}/v2/enqueue", state.base_url),
                _ => format!("{}/v1/integrations/{}", state.base_url, config.key),
            };
            IntegrationView {
                name: config.name.clone(),
                source: config.source.as_str().to_string(),
                service: config.service.clone(),
                key: admin.then(|| config.key.clone()),
                url: admin.then_some(url),
            }
        })
        .collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(views).into_response())
}

/// `GET /v1/search?q=TEXT&limit=N&offset=N`: incidents and messages, best first.
pub async fn search(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    state
        .users
        .authenticate(&headers, &uri)?
        .require(Role::Viewer)?;
    let mut text = None;
    let mut limit = 20;
    let mut offset = 0;
    for (name, value) in query_pairs(&uri) {
        match name.as_str() {
            "q" => text = Some(value),
            "limit" => limit = bounded(&value, "limit", 1, 500)?,
            "offset" => offset = bounded(&value, "offset", 0, 10_000)?,
            "token" => {}
            other => return Err(unknown_parameter(other, "q, limit or offset")),
        }
    }
    let text = text.filter(|text| !text.trim().is_empty()).ok_or_else(|| {
        ApiError::bad_request("missing_field", "q is required: what to look for").with_field("q")
    })?;
    let hits = state
        .engine
        .search(&text, limit, offset)
        .await
        .map_err(|error| ApiError::from(error).with_field("q"))?;
    Ok(Json(hits).into_response())
}

/// `GET /v1/incidents/{id}/similar?limit=N`: past resolved incidents like this one.
pub async fn similar(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    state
        .users
        .authenticate(&headers, &uri)?
        .require(Role::Viewer)?;
    let id = parse_id(&id)?;
    let mut limit = 5;
    for (name, value) in query_pairs(&uri) {
        match name.as_str() {
            "limit" => limit = bounded(&value, "limit", 1, 50)?,
            "token" => {}
            other => return Err(unknown_parameter(other, "limit")),
        }
    }
    Ok(Json(state.engine.similar(id, limit).await?).into_response())
}

/// A query parameter the endpoint does not take, and the ones it does.
pub(super) fn unknown_parameter(name: &str, expected: &str) -> ApiError {
    ApiError::bad_request(
        "unknown_parameter",
        format!("unknown query parameter {name:?}: expected {expected}"),
    )
    .with_field(name)
}

fn bounded(value: &str, name: &str, low: usize, high: usize) -> Result<usize, ApiError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|number| (low..=high).contains(number))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_value",
                format!("{name} must be a whole number from {low} to {high}"),
            )
            .with_field(name)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_values() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
