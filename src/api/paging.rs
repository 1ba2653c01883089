//! REST for paging: who is on call, overrides, silences, and `explain` (what an alert like
//! this would page, now). Reads need a viewer, changes a responder.

use super::error::ApiError;
use super::rest::{object_body, query_pairs, refuse_unknown, string_field};
use super::AppState;
use crate::config::Role;
use crate::domain::matcher::Matcher;
use crate::domain::{Labels, Severity};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The longest silence or override the API makes: a year.
const LONGEST: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);

pub async fn oncall(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    viewer(&state, &headers, &uri)?;
    Ok(Json(state.engine.oncall().await?).into_response())
}

pub async fn list_overrides(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    viewer(&state, &headers, &uri)?;
    Ok(Json(state.engine.overrides().await?).into_response())
}

/// `{"schedule","user","start"?,"end" | "duration"}`; `start` defaults to now.
pub async fn add_override(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = state.users.authenticate(&headers, &uri)?;
    caller.require(Role::Responder)?;
    let body = object_body(&state, &headers, body).await?;
    refuse_unknown(&body, &["schedule", "user", "start", "end", "duration"])?;
    let schedule = string_field(&body, "schedule")?;
    let user = string_field(&body, "user")?;
    let now = state.engine.now();
    let start = optional_time(&body, "start")?.unwrap_or(now);
    let end = end_of(&body, "end", start)?;
    let view = state
        .engine
        .add_override(schedule, user, start, end, &caller.name)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn remove_override(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let caller = state.users.authenticate(&headers, &uri)?;
    caller.require(Role::Responder)?;
    Ok(Json(state.engine.remove_override(id).await?).into_response())
}

pub async fn list_silences(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    viewer(&state, &headers, &uri)?;
    Ok(Json(state.engine.silences().await?).into_response())
}

/// `{"matchers":["service=batch"],"starts_at"?,"ends_at" | "duration","comment"?}`.
pub async fn add_silence(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Result<Response, ApiError> {
    let caller = state.users.authenticate(&headers, &uri)?;
    caller.require(Role::Responder)?;
    let body = object_body(&state, &headers, body).await?;
    refuse_unknown(
        &body,
        &["matchers", "starts_at", "ends_at", "duration", "comment"],
    )?;
    let matchers = matchers_of(&body)?;
    let now = state.engine.now();
    let starts_at = optional_time(&body, "starts_at")?;
    let ends_at = end_of(&body, "ends_at", starts_at.unwrap_or(now))?;
    let comment = match body.get("comment") {
        None => String::new(),
        Some(_) => string_field(&body, "comment")?,
    };
    let view = state
        .engine
        .add_silence(matchers, starts_at, ends_at, comment, &caller.name)
        .await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Ends a silence now; it stays listed as expired.
pub async fn expire_silence(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let caller = state.users.authenticate(&headers, &uri)?;
    caller.require(Role::Responder)?;
    Ok(Json(state.engine.expire_silence(id).await?).into_response())
}

/// `?label=env=prod&label=team=db&service=S&severity=critical&integration=prometheus`.
pub async fn explain(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    viewer(&state, &headers, &uri)?;
    let mut labels = BTreeMap::new();
    let mut service = None;
    let mut severity = Severity::Error;
    let mut integration = "generic".to_string();
    for (name, value) in query_pairs(&uri) {
        match name.as_str() {
            "label" => {
                let (label, label_value) = value.split_once('=').ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_value",
                        format!("label {value:?} must be NAME=VALUE"),
                    )
                    .with_field("label")
                })?;
                labels.insert(label.trim().to_string(), label_value.trim().to_string());
            }
            "service" => service = Some(value).filter(|s| !s.is_empty()),
            "severity" => {
                severity = Severity::parse_label(&value).ok_or_else(|| {
                    ApiError::bad_request(
                        "unknown_value",
                        format!(
                            "unknown severity {value:?}: expected critical, error, warning or info"
                        ),
                    )
                    .with_field("severity")
                })?
            }
            "integration" => integration = value,
            "token" => {}
            other => {
                return Err(super::rest::unknown_parameter(
                    other,
                    "label, service, severity or integration",
                ))
            }
        }
    }
    let view = state
        .engine
        .explain(Labels::from(&labels), service, severity, integration)
        .await?;
    Ok(Json(view).into_response())
}

fn viewer(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<(), ApiError> {
    state
        .users
        .authenticate(headers, uri)?
        .require(Role::Viewer)?;
    Ok(())
}

fn matchers_of(body: &Map<String, Value>) -> Result<Vec<Matcher>, ApiError> {
    let wrong = || {
        ApiError::bad_request(
            "wrong_type",
            "matchers must be a list of strings such as [\"service=batch\", \"severity=warning\"]",
        )
        .with_field("matchers")
    };
    let items = match body.get("matchers") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(wrong()),
        None => {
            return Err(
                ApiError::bad_request("missing_field", "matchers is required")
                    .with_field("matchers"),
            )
        }
    };
    if items.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_value",
            "a silence needs at least one matcher: an empty one would silence everything",
        )
        .with_field("matchers"));
    }
    items
        .iter()
        .map(|item| {
            let text = item.as_str().ok_or_else(wrong)?;
            text.parse::<Matcher>().map_err(|error| {
                ApiError::bad_request("invalid_matcher", error.to_string()).with_field("matchers")
            })
        })
        .collect()
}

fn optional_time(body: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    if !body.contains_key(name) {
        return Ok(None);
    }
    let text = string_field(body, name)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|error| {
            ApiError::bad_request(
                "invalid_value",
                format!("{name} {text:?} is not an RFC 3339 time: {error}"),
            )
            .with_field(name)
        })
}

/// The end given as a time, or as a `duration` (like `2h`) from `start`.
fn end_of(
    body: &Map<String, Value>,
    name: &str,
    start: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    match (body.contains_key(name), body.contains_key("duration")) {
        (true, true) => Err(ApiError::bad_request(
            "invalid_value",
            format!("give either {name} or duration, not both"),
        )
        .with_field("duration")),
        (true, false) => Ok(optional_time(body, name)?.expect("present")),
        (false, true) => {
            let text = string_field(body, "duration")?;
            let duration = humantime::parse_duration(&text).map_err(|error| {
                ApiError::bad_request("invalid_value", format!("duration {text:?}: {error}"))
                    .with_field("duration")
            })?;
            if duration.is_zero() || duration > LONGEST {
                return Err(ApiError::bad_request(
                    "invalid_value",
                    "duration must be more than zero and at most a year",
                )
                .with_field("duration"));
            }
            Ok(start + chrono::Duration::from_std(duration).expect("bounded above"))
        }
        (false, false) => Err(ApiError::bad_request(
            "missing_field",
            format!("give {name} (RFC 3339) or duration (like \"2h\")"),
        )
        .with_field(name)),
    }
}
