//! Ingest endpoints: `POST /v1/integrations/{key}`, its websocket twin, and the PagerDuty
//! Events v2 compatible `POST /v2/enqueue`. A 2xx is sent only after the engine says durable.

use super::error::ApiError;
use super::limits::{read_body, require_json, throttled};
use super::{source_accepts_json, AppState, Integration};
use crate::engine::IngestOutcome;
use crate::ingest::Source;
use crate::protocol::Accepted;
use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;

fn unknown_key() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_integration",
        "no integration has this key",
    )
}

/// Identifies an exact payload on one integration, for recognising redeliveries.
fn payload_digest(integration: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(integration.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn outcome_label(result: &Result<IngestOutcome, ApiError>) -> &'static str {
    match result {
        Ok(outcome) if outcome.replayed => "replayed",
        Ok(_) => "accepted",
        Err(error) if error.status == StatusCode::TOO_MANY_REQUESTS => "throttled",
        Err(error) if error.status.is_server_error() => "unavailable",
        Err(_) => "rejected",
    }
}

fn record(
    state: &AppState,
    integration: &str,
    started: Instant,
    result: &Result<IngestOutcome, ApiError>,
) {
    let label = outcome_label(result);
    state.metrics().count_ingest(integration, label);
    if result.is_ok() {
        state
            .metrics()
            .ingest_seconds
            .observe(started.elapsed().as_secs_f64());
    }
}

async fn apply(
    state: &AppState,
    integration: &Integration,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IngestOutcome, ApiError> {
    let now = state.engine.now();
    let parsed = crate::ingest::parse(integration.config.source, body, headers, now)?;
    let digest = payload_digest(&integration.config.name, body);
    Ok(state
        .engine
        .ingest(integration.info.clone(), parsed.events, Some(digest))
        .await?)
}

fn throttle(integration: &Integration) -> Result<(), ApiError> {
    match &integration.limiter {
        Some(limiter) => limiter
            .take(Instant::now())
            .map_err(|seconds| throttled(&integration.config.name, seconds)),
        None => Ok(()),
    }
}

pub async fn post_alerts(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(integration) = state.integration(&key).cloned() else {
        return unknown_key().into_response();
    };
    if integration.config.source == Source::Pagerduty {
        return ApiError::bad_request(
            "wrong_endpoint",
            "this is a pagerduty integration: send events to /v2/enqueue with this key as routing_key",
        )
        .into_response();
    }
    let result = async {
        throttle(&integration)?;
        if source_accepts_json(integration.config.source) {
            require_json(&headers)?;
        }
        let body = read_body(&headers, body, state.max_body_bytes).await?;
        apply(&state, &integration, &headers, &body).await
    }
    .await;
    record(&state, &integration.config.name, started, &result);
    match result {
        Ok(outcome) => (
            StatusCode::ACCEPTED,
            Json(Accepted {
                status: "accepted".to_string(),
                alerts: outcome.alerts,
                incidents: outcome.incidents,
            }),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn websocket(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(integration) = state.integration(&key).cloned() else {
        return unknown_key().into_response();
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::bad_request("not_a_websocket", rejection.body_text()).into_response()
        }
    };
    upgrade
        .max_message_size(state.max_body_bytes)
        .max_frame_size(state.max_body_bytes)
        .on_upgrade(move |socket| ingest_socket(state, integration, socket))
}

/// One payload per text frame, one JSON reply per frame, in order.
async fn ingest_socket(state: Arc<AppState>, integration: Arc<Integration>, mut socket: WebSocket) {
    let headers = HeaderMap::new();
    let mut stopping = state.stopping.clone();
    loop {
        let message = tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(message)) => message,
                _ => break,
            },
            _ = super::until_stopping(&mut stopping) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        };
        let started = Instant::now();
        let result = match message {
            Message::Text(text) => match throttle(&integration) {
                Ok(()) => apply(&state, &integration, &headers, text.as_bytes()).await,
                Err(error) => Err(error),
            },
            Message::Binary(_) => Err(ApiError::bad_request(
                "binary_frame",
                "send each payload as a text frame",
            )),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        record(&state, &integration.config.name, started, &result);
        let reply = match result {
            Ok(outcome) => serde_json::to_string(&Accepted {
                status: "accepted".to_string(),
                alerts: outcome.alerts,
                incidents: outcome.incidents,
            }),
            Err(error) => serde_json::to_string(&crate::protocol::ErrorBody {
                error: error.detail(),
            }),
        }
        .expect("protocol types always serialise");
        if socket.send(Message::Text(reply.into())).await.is_err() {
            break;
        }
    }
}

fn pagerduty_error(status: StatusCode, message: &str, errors: Vec<String>) -> Response {
    (
        status,
        Json(serde_json::json!({
            "status": "invalid event",
            "message": message,
            "errors": errors,
        })),
    )
        .into_response()
}

/// PagerDuty Events API v2: the integration is found by `routing_key` in the body, and the
/// answers use PagerDuty's own shapes so existing senders understand them.
pub async fn pagerduty_enqueue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    if let Err(error) = require_json(&headers) {
        return pagerduty_error(
            error.status,
            "Unsupported content type",
            vec![error.message],
        );
    }
    let body = match read_body(&headers, body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => {
            return pagerduty_error(error.status, "Request too large", vec![error.message])
        }
    };
    let now = state.engine.now();
    let enqueue = match crate::ingest::pagerduty::parse_enqueue(&body, now) {
        Ok(enqueue) => enqueue,
        Err(error) => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
            return pagerduty_error(status, "Event object is invalid", error.errors);
        }
    };
    let integration = state
        .integration(&enqueue.routing_key)
        .filter(|integration| integration.config.source == Source::Pagerduty)
        .cloned();
    let Some(integration) = integration else {
        return pagerduty_error(
            StatusCode::NOT_FOUND,
            "Invalid routing key",
            vec!["routing_key: no pagerduty integration has this key".to_string()],
        );
    };
    let result = async {
        throttle(&integration)?;
        let digest = payload_digest(&integration.config.name, &body);
        Ok(state
            .engine
            .ingest(integration.info.clone(), enqueue.events, Some(digest))
            .await?)
    }
    .await;
    record(&state, &integration.config.name, started, &result);
    match result {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "status": "success",
                "message": "Event processed",
                "dedup_key": enqueue.dedup_key,
            })),
        )
            .into_response(),
        Err(error) if error.status == StatusCode::TOO_MANY_REQUESTS => {
            let mut response = (
                error.status,
                Json(serde_json::json!({"status": "throttle event", "message": error.message})),
            )
                .into_response();
            if let Some(seconds) = error.retry_after {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            response
        }
        Err(error) => error.into_response(),
    }
}
