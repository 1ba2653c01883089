//! The remote client: a websocket to an engine's `/v1/stream` that reconnects by itself with
//! capped exponential backoff, resyncs from the fresh snapshot every connection starts with,
//! and answers every command exactly once (applied, refused, or "not sent" / "lost" when the
//! link is down). Depends on protocol and the REST client.

use super::http::RestClient;
use super::{ClientError, Endpoint, Link, Update};
use crate::domain::matcher::Matcher;
use crate::domain::{Action, IncidentId};
use crate::protocol::{
    IncidentDetail, IncidentView, IntegrationView, OnCallView, ServerMessage, SilenceView,
    StreamCommand, ViewingCommand,
};
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

const UPDATE_BUFFER: usize = 1024;

#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// First retry delay; doubles per failed attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// How long a command may wait for its reply before it is reported lost.
    pub reply_timeout: Duration,
    /// Pings keep idle links alive; a link silent for three intervals is taken as dead.
    pub ping_interval: Duration,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            reply_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(15),
        }
    }
}

type Pending = HashMap<u64, oneshot::Sender<Result<IncidentView, ClientError>>>;

#[derive(Clone)]
pub struct RemoteClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: String,
    user: String,
    rest: RestClient,
    token: Option<String>,
    options: RemoteOptions,
    /// Set while connected: where commands go.
    outgoing: Mutex<Option<mpsc::UnboundedSender<String>>>,
    pending: Mutex<Pending>,
    next_request: AtomicU64,
    /// The incident this console looks at, said again on every new connection (the engine
    /// forgets a connection's presence when it drops).
    viewing: Mutex<Option<IncidentId>>,
}

/// `http://host:port` from what a person may type: `host:port`, `http(s)://…`, `ws(s)://…`.
pub fn normalise_base(url: &str) -> Result<String, String> {
    let text = url.trim();
    let (scheme, rest) = text.split_once("://").unwrap_or(("http", text));
    let scheme = match scheme {
        "http" | "ws" => "http",
        "https" | "wss" => "https",
        _ => {
            return Err(format!(
                "{text}: expected an http://, https://, ws:// or wss:// URL"
            ))
        }
    };
    let rest = rest.trim_end_matches('/');
    let host = rest.strip_suffix("/v1/stream").unwrap_or(rest);
    if host.is_empty() {
        return Err(format!("{text}: no host"));
    }
    Ok(format!("{scheme}://{host}"))
}

impl RemoteClient {
    /// Starts connecting in the background; must run inside a tokio runtime. `user` is who
    /// the token belongs to, for display; the engine decides who acts.
    pub fn start(
        url: &str,
        token: Option<String>,
        user: String,
        options: RemoteOptions,
    ) -> Result<(RemoteClient, mpsc::Receiver<Update>), String> {
        let base = normalise_base(url)?;
        let (sender, receiver) = mpsc::channel(UPDATE_BUFFER);
        let client = RemoteClient {
            inner: Arc::new(Inner {
                rest: RestClient::new(&base, token.clone()),
                base,
                user,
                token,
                options,
                outgoing: Mutex::new(None),
                pending: Mutex::new(HashMap::new()),
                next_request: AtomicU64::new(1),
                viewing: Mutex::new(None),
            }),
        };
        tokio::spawn(connect_forever(client.inner.clone(), sender));
        Ok((client, receiver))
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            address: self.inner.base.clone(),
            user: self.inner.user.clone(),
            embedded: false,
        }
    }

    pub async fn act(&self, id: IncidentId, action: Action) -> Result<IncidentView, ClientError> {
        let request_id = self.inner.next_request.fetch_add(1, Ordering::Relaxed);
        let text = serde_json::to_string(&StreamCommand {
            request_id,
            incident: id,
            action,
        })
        .expect("commands serialise");
        let (reply, answer) = oneshot::channel();
        // Registered before sending so that a fast reply always finds it.
        self.inner.pending.lock().unwrap().insert(request_id, reply);
        let sent = match self.inner.outgoing.lock().unwrap().as_ref() {
            Some(outgoing) => outgoing.send(text).is_ok(),
            None => false,
        };
        if !sent {
            self.inner.pending.lock().unwrap().remove(&request_id);
            return Err(ClientError::Disconnected(format!(
                "no link to {}",
                self.inner.base
            )));
        }
        match tokio::time::timeout(self.inner.options.reply_timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClientError::Lost),
            Err(_) => {
                self.inner.pending.lock().unwrap().remove(&request_id);
                Err(ClientError::Lost)
            }
        }
    }

    /// Over the stream, without waiting for the reply (presence updates follow). While the
    /// link is down it is only remembered, and said once the link is back.
    pub fn viewing(&self, incident: Option<IncidentId>) -> Result<(), ClientError> {
        *self.inner.viewing.lock().unwrap() = incident;
        if let Some(outgoing) = self.inner.outgoing.lock().unwrap().as_ref() {
            let _ = outgoing.send(self.inner.viewing_command(incident));
        }
        Ok(())
    }

    /// `GET /v1/incidents/{id}/postmortem`: reading, so it needs no live stream.
    pub async fn postmortem(&self, id: IncidentId) -> Result<String, ClientError> {
        Ok(self.inner.rest.postmortem(id).await?)
    }

    /// Over the stream like every other action, so that it too is refused while the link is
    /// down rather than sent behind the console's back.
    pub async fn escalate(&self, id: IncidentId) -> Result<IncidentView, ClientError> {
        self.act(id, Action::Escalate).await
    }

    pub async fn oncall(&self) -> Result<Vec<OnCallView>, ClientError> {
        Ok(self.inner.rest.oncall().await?)
    }

    pub async fn silences(&self) -> Result<Vec<SilenceView>, ClientError> {
        Ok(self.inner.rest.silences().await?)
    }

    /// The duration goes to the engine as is, so the silence starts by the engine's clock.
    pub async fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        duration: Duration,
        comment: String,
    ) -> Result<SilenceView, ClientError> {
        self.require_link()?;
        let matchers: Vec<String> = matchers.iter().map(|matcher| matcher.to_string()).collect();
        let body = serde_json::json!({
            "matchers": matchers,
            "duration": humantime::format_duration(duration).to_string(),
            "comment": comment,
        });
        Ok(self.inner.rest.add_silence(&body).await?)
    }

    pub async fn expire_silence(&self, id: &str) -> Result<SilenceView, ClientError> {
        self.require_link()?;
        Ok(self.inner.rest.expire_silence(id).await?)
    }

    /// Changes go over REST, but only while the stream is up: with the link down the console
    /// says it is disconnected, and a change made anyway could not be seen to land.
    fn require_link(&self) -> Result<(), ClientError> {
        if self.inner.outgoing.lock().unwrap().is_none() {
            return Err(ClientError::Disconnected(format!(
                "no link to {}",
                self.inner.base
            )));
        }
        Ok(())
    }

    pub async fn detail(&self, id: IncidentId) -> Result<IncidentDetail, ClientError> {
        Ok(self.inner.rest.detail(id).await?)
    }

    /// `GET /v1/integrations` (the REST client of the CLI has no such call).
    pub async fn integrations(&self) -> Result<Vec<IntegrationView>, ClientError> {
        let url = format!("{}/v1/integrations", self.inner.base);
        let mut request = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(10));
        if let Some(token) = &self.inner.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::Disconnected(error.to_string()))?;
        if !response.status().is_success() {
            return Err(ClientError::Refused {
                code: format!("http_{}", response.status().as_u16()),
                message: format!("{url}: HTTP {}", response.status()),
            });
        }
        response
            .json()
            .await
            .map_err(|error| ClientError::Failed(error.to_string()))
    }
}

impl Inner {
    fn stream_request(
        &self,
    ) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, String> {
        let url = match self.base.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}/v1/stream"),
            None => format!("ws://{}/v1/stream", &self.base["http://".len()..]),
        };
        let mut request = url
            .into_client_request()
            .map_err(|error| format!("{}: {error}", self.base))?;
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}")
                .parse()
                .map_err(|_| "the token holds characters a header cannot".to_string())?;
            request.headers_mut().insert("authorization", value);
        }
        Ok(request)
    }

    fn viewing_command(&self, incident: Option<IncidentId>) -> String {
        let request_id = self.next_request.fetch_add(1, Ordering::Relaxed);
        serde_json::to_string(&ViewingCommand {
            request_id,
            viewing: incident,
        })
        .expect("commands serialise")
    }

    fn fail_pending(&self) {
        for (_, reply) in self.pending.lock().unwrap().drain() {
            let _ = reply.send(Err(ClientError::Lost));
        }
    }

    fn answer(
        &self,
        request_id: u64,
        ok: bool,
        incident: Option<IncidentView>,
        error: Option<crate::protocol::ErrorDetail>,
    ) {
        let Some(reply) = self.pending.lock().unwrap().remove(&request_id) else {
            return;
        };
        let result = match (ok, incident, error) {
            (true, Some(incident), _) => Ok(incident),
            (_, _, Some(error)) => Err(ClientError::Refused {
                code: error.code,
                message: error.message,
            }),
            _ => Err(ClientError::Failed(
                "the engine sent an empty reply".to_string(),
            )),
        };
        let _ = reply.send(result);
    }
}

/// Why a connection ended, and whether trying again can help.
enum Ended {
    Retry(String),
    Stop(String),
    /// The TUI is gone.
    Closed,
}

async fn connect_forever(inner: Arc<Inner>, updates: mpsc::Sender<Update>) {
    let mut attempt: u32 = 1;
    loop {
        if updates
            .send(Update::Link(Link::Connecting { attempt }))
            .await
            .is_err()
        {
            return;
        }
        let ended = run_connection(&inner, &updates, &mut attempt).await;
        *inner.outgoing.lock().unwrap() = None;
        inner.fail_pending();
        let reason = match ended {
            Ended::Retry(reason) => reason,
            Ended::Stop(reason) => {
                let _ = updates.send(Update::Link(Link::Stopped { reason })).await;
                return;
            }
            Ended::Closed => return,
        };
        tracing::info!(%reason, attempt, "stream link down");
        let exponent = attempt.saturating_sub(1).min(16);
        let delay = inner
            .options
            .initial_backoff
            .saturating_mul(1 << exponent)
            .min(inner.options.max_backoff);
        let retry_at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        let link = Link::Retrying {
            retry_at,
            attempt,
            reason,
        };
        if updates.send(Update::Link(link)).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = updates.closed() => return,
        }
        attempt = attempt.saturating_add(1);
    }
}

async fn run_connection(inner: &Inner, updates: &mpsc::Sender<Update>, attempt: &mut u32) -> Ended {
    let request = match inner.stream_request() {
        Ok(request) => request,
        Err(reason) => return Ended::Stop(reason),
    };
    // A snapshot of 100,000 incidents is one message of tens of MB: no size caps.
    let config = WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    let connected = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async_with_config(request, Some(config), true),
    )
    .await;
    let mut socket = match connected {
        Err(_) => return Ended::Retry("connecting timed out".to_string()),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(response))) => {
            let status = response.status();
            let reason = format!("the engine refused the stream: HTTP {status}");
            return if status == 401 || status == 403 {
                Ended::Stop(format!("{reason} (check --token)"))
            } else {
                Ended::Retry(reason)
            };
        }
        Ok(Err(error)) => return Ended::Retry(root_cause(&error)),
        Ok(Ok((socket, _))) => socket,
    };
    let (outgoing, mut commands) = mpsc::unbounded_channel::<String>();
    let mut ping = tokio::time::interval(inner.options.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut silent_ticks = 0u32;
    let mut synced = false;
    loop {
        tokio::select! {
            message = socket.next() => {
                silent_ticks = 0;
                let text = match message {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None => {
                        return Ended::Retry("the engine closed the link".to_string())
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => return Ended::Retry(root_cause(&error)),
                };
                let message: ServerMessage = match serde_json::from_str(text.as_str()) {
                    Ok(message) => message,
                    Err(error) => {
                        tracing::warn!(%error, "unreadable stream message; skipped");
                        continue;
                    }
                };
                let update = match message {
                    ServerMessage::Snapshot { incidents, presence, .. } => {
                        let first = !synced;
                        if updates.send(Update::Snapshot(incidents)).await.is_err() {
                            return Ended::Closed;
                        }
                        for (incident, viewers) in presence {
                            if updates.send(Update::Presence { incident, viewers }).await.is_err() {
                                return Ended::Closed;
                            }
                        }
                        if first {
                            // Commands are accepted only once the state they act on is shown.
                            synced = true;
                            *attempt = 1;
                            *inner.outgoing.lock().unwrap() = Some(outgoing.clone());
                            let viewing = *inner.viewing.lock().unwrap();
                            if viewing.is_some() {
                                let _ = outgoing.send(inner.viewing_command(viewing));
                            }
                            if updates.send(Update::Link(Link::Connected)).await.is_err() {
                                return Ended::Closed;
                            }
                        }
                        continue;
                    }
                    ServerMessage::Presence { incident, viewers } => Update::Presence { incident, viewers },
                    ServerMessage::IncidentOpened { incident, timeline, .. } => Update::Incident { incident, timeline, opened: true },
                    ServerMessage::IncidentChanged { incident, timeline, .. } => Update::Incident { incident, timeline, opened: false },
                    ServerMessage::Lagged { missed } => {
                        tracing::info!(missed, "fell behind the stream; a fresh snapshot follows");
                        continue;
                    }
                    ServerMessage::Reply { request_id, ok, incident, error } => {
                        inner.answer(request_id, ok, incident, error);
                        continue;
                    }
                };
                if updates.send(update).await.is_err() {
                    return Ended::Closed;
                }
            }
            Some(command) = commands.recv() => {
                if let Err(error) = socket.send(Message::Text(command.into())).await {
                    return Ended::Retry(root_cause(&error));
                }
            }
            _ = ping.tick() => {
                silent_ticks += 1;
                if silent_ticks >= 3 {
                    return Ended::Retry("no answer from the engine for too long".to_string());
                }
                if let Err(error) = socket.send(Message::Ping(Vec::new().into())).await {
                    return Ended::Retry(root_cause(&error));
                }
            }
            _ = updates.closed() => return Ended::Closed,
        }
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::normalise_base;

    #[test]
    fn accepts_what_people_type() {
        assert_eq!(
            normalise_base("127.0.0.1:9800").unwrap(),
            "http://127.0.0.1:9800"
        );
        assert_eq!(normalise_base("ws://h:1/v1/stream").unwrap(), "http://h:1");
        assert_eq!(normalise_base("wss://h/").unwrap(), "https://h");
        assert_eq!(normalise_base("https://h:9").unwrap(), "https://h:9");
        assert!(normalise_base("ftp://h").is_err());
        assert!(normalise_base("http://").is_err());
    }
}
