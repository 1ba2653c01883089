//! `GET /v1/stream`: a snapshot, then every event as it happens; clients may send the same
//! commands as REST over it. A client that falls behind is told so and resynced from a fresh
//! snapshot; it never slows the engine down.

use super::auth::Caller;
use super::error::ApiError;
use super::AppState;
use crate::config::Role;
use crate::engine::Subscription;
use crate::protocol::{ServerMessage, StreamCommand, ViewingCommand};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Largest command a client may send over the stream.
const MAX_COMMAND_BYTES: usize = 256 * 1024;

pub async fn websocket(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let caller = match state
        .users
        .authenticate(&headers, &uri)
        .and_then(|caller| caller.require(Role::Viewer).map(|()| caller))
    {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_COMMAND_BYTES)
            .on_upgrade(move |socket| run(state, caller, socket)),
        Err(rejection) => {
            ApiError::bad_request("not_a_websocket", rejection.body_text()).into_response()
        }
    }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    let text = serde_json::to_string(message).expect("protocol types always serialise");
    socket.send(Message::Text(text.into())).await.is_ok()
}

async fn run(state: Arc<AppState>, caller: Caller, mut socket: WebSocket) {
    let gauge = state.metrics().stream_clients.clone();
    gauge.inc();
    let connection = state.engine.connection();
    serve_client(&state, &caller, connection, &mut socket).await;
    // Gone: no longer looking at anything.
    let _ = state.engine.viewing(connection, &caller.name, None).await;
    gauge.dec();
}

async fn serve_client(state: &AppState, caller: &Caller, connection: u64, socket: &mut WebSocket) {
    let Ok(Subscription {
        snapshot,
        mut events,
    }) = state.engine.subscribe().await
    else {
        return;
    };
    if !send(socket, &snapshot).await {
        return;
    }
    let mut stopping = state.stopping.clone();
    loop {
        tokio::select! {
            _ = super::until_stopping(&mut stopping) => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            event = events.recv() => match event {
                Ok(event) => {
                    let text = event.json();
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    state.metrics().stream_lagged.inc();
                    let Ok(fresh) = state.engine.subscribe().await else { return };
                    events = fresh.events;
                    if !send(socket, &ServerMessage::Lagged { missed }).await
                        || !send(socket, &fresh.snapshot).await
                    {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = command(state, caller, connection, text.as_bytes()).await;
                    if !send(socket, &reply).await {
                        return;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = refusal(0, ApiError::bad_request("binary_frame", "send commands as text frames"));
                    if !send(socket, &reply).await {
                        return;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            },
        }
    }
}

/// `{"request_id":N,"viewing":42}`: presence, which viewers may share too.
async fn viewing(
    state: &AppState,
    caller: &Caller,
    connection: u64,
    request_id: u64,
    value: serde_json::Value,
) -> ServerMessage {
    let command: ViewingCommand = match serde_path_to_error::deserialize(value) {
        Ok(command) => command,
        Err(error) => {
            let field = error.path().to_string();
            let message = format!("{field}: {}", error.inner());
            return refusal(
                request_id,
                ApiError::bad_request("invalid_command", message).with_field(&field),
            );
        }
    };
    match state
        .engine
        .viewing(connection, &caller.name, command.viewing)
        .await
    {
        Ok(()) => ServerMessage::Reply {
            request_id,
            ok: true,
            incident: None,
            error: None,
        },
        Err(error) => refusal(request_id, ApiError::from(error)),
    }
}

fn refusal(request_id: u64, error: ApiError) -> ServerMessage {
    ServerMessage::Reply {
        request_id,
        ok: false,
        incident: None,
        error: Some(error.detail()),
    }
}

async fn command(state: &AppState, caller: &Caller, connection: u64, text: &[u8]) -> ServerMessage {
    let value = match crate::ingest::json::parse_object(text) {
        Ok(value) => serde_json::Value::Object(value),
        Err(error) => return refusal(0, error.into()),
    };
    let request_id = value
        .get("request_id")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if value.get("viewing").is_some() {
        return viewing(state, caller, connection, request_id, value).await;
    }
    let command: StreamCommand = match serde_path_to_error::deserialize(value) {
        Ok(command) => command,
        Err(error) => {
            let field = error.path().to_string();
            let message = format!("{field}: {}", error.inner());
            return refusal(
                request_id,
                ApiError::bad_request("invalid_command", message).with_field(&field),
            );
        }
    };
    if let Err(error) = caller.require(Role::Responder) {
        return refusal(request_id, error);
    }
    match state
        .engine
        .act(command.incident, command.action, &caller.name)
        .await
    {
        Ok(incident) => ServerMessage::Reply {
            request_id,
            ok: true,
            incident: Some(incident),
            error: None,
        },
        Err(error) => refusal(request_id, ApiError::from(error)),
    }
}
