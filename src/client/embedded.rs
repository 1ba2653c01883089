//! The in-process client: the TUI and the engine share one process. Actions go straight to
//! the [`EngineHandle`] as the configured user; events come from its broadcast channel.
//! Depends on engine, config and protocol.

use super::{ClientError, Endpoint, Link, Update};
use crate::config::{Config, Role, UserConfig};
use crate::domain::matcher::Matcher;
use crate::domain::{Action, IncidentId};
use crate::engine::{EngineError, EngineHandle};
use crate::ingest::Source;
use crate::protocol::{
    IncidentDetail, IncidentView, IntegrationView, OnCallView, ServerMessage, SilenceView,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

/// How many updates may wait for the TUI. When it is full the pump waits, the engine's
/// broadcast buffer fills instead, and the pump resyncs from a fresh snapshot: ingest is
/// never slowed down by a slow screen.
const UPDATE_BUFFER: usize = 1024;

#[derive(Clone)]
pub struct EmbeddedClient {
    inner: Arc<Inner>,
}

struct Inner {
    engine: EngineHandle,
    user: UserConfig,
    address: SocketAddr,
    integrations: Vec<IntegrationView>,
    /// This console's number with the engine, for presence.
    connection: u64,
}

impl EmbeddedClient {
    /// Starts pumping the engine's events; must run inside a tokio runtime.
    pub fn start(
        engine: EngineHandle,
        address: SocketAddr,
        user: UserConfig,
        integrations: Vec<IntegrationView>,
    ) -> (EmbeddedClient, mpsc::Receiver<Update>) {
        let (sender, receiver) = mpsc::channel(UPDATE_BUFFER);
        tokio::spawn(pump(engine.clone(), sender));
        let client = EmbeddedClient {
            inner: Arc::new(Inner {
                connection: engine.connection(),
                engine,
                user,
                address,
                integrations,
            }),
        };
        (client, receiver)
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            address: format!("http://{}", self.inner.address),
            user: self.inner.user.name.clone(),
            embedded: true,
        }
    }

    /// The same rule as the API's: viewers look, responders act. `what` completes "cannot…".
    fn require_responder(&self, what: &str) -> Result<(), ClientError> {
        if self.inner.user.role < Role::Responder {
            return Err(ClientError::Refused {
                code: "forbidden".to_string(),
                message: format!("{} is a viewer and cannot {what}", self.inner.user.name),
            });
        }
        Ok(())
    }

    pub async fn act(&self, id: IncidentId, action: Action) -> Result<IncidentView, ClientError> {
        self.require_responder("act on incidents")?;
        self.inner
            .engine
            .act(id, action, &self.inner.user.name)
            .await
            .map_err(engine_error)
    }

    /// Escalate-now is an action like the others; the engine refuses it (conflict) when the
    /// incident has no policy, is silenced or resolved, or its policy is exhausted.
    pub async fn escalate(&self, id: IncidentId) -> Result<IncidentView, ClientError> {
        self.act(id, Action::Escalate).await
    }

    pub async fn oncall(&self) -> Result<Vec<OnCallView>, ClientError> {
        self.inner.engine.oncall().await.map_err(engine_error)
    }

    pub async fn silences(&self) -> Result<Vec<SilenceView>, ClientError> {
        self.inner.engine.silences().await.map_err(engine_error)
    }

    /// From the engine's now (its clock, not ours) for `duration`.
    pub async fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        duration: Duration,
        comment: String,
    ) -> Result<SilenceView, ClientError> {
        self.require_responder("add silences")?;
        let ends_at = chrono::Duration::from_std(duration)
            .ok()
            .and_then(|duration| self.inner.engine.now().checked_add_signed(duration))
            .ok_or_else(|| ClientError::Refused {
                code: "invalid".to_string(),
                message: "the silence is too long".to_string(),
            })?;
        self.inner
            .engine
            .add_silence(matchers, None, ends_at, comment, &self.inner.user.name)
            .await
            .map_err(engine_error)
    }

    pub async fn expire_silence(&self, id: &str) -> Result<SilenceView, ClientError> {
        self.require_responder("expire silences")?;
        self.inner
            .engine
            .expire_silence(id.to_string())
            .await
            .map_err(engine_error)
    }

    pub async fn detail(&self, id: IncidentId) -> Result<IncidentDetail, ClientError> {
        self.inner.engine.detail(id).await.map_err(engine_error)
    }

    /// Presence is shared by viewers too: looking changes nothing.
    pub async fn viewing(&self, incident: Option<IncidentId>) -> Result<(), ClientError> {
        self.inner
            .engine
            .viewing(self.inner.connection, &self.inner.user.name, incident)
            .await
            .map_err(engine_error)
    }

    pub async fn postmortem(&self, id: IncidentId) -> Result<String, ClientError> {
        let (markdown, _facts) = self
            .inner
            .engine
            .postmortem(id)
            .await
            .map_err(engine_error)?;
        Ok(markdown)
    }

    pub fn integrations(&self) -> Vec<IntegrationView> {
        self.inner.integrations.clone()
    }
}

/// Where each configured integration receives alerts on `address` (what `GET
/// /v1/integrations` shows an admin).
pub fn integration_views(config: &Config, address: SocketAddr) -> Vec<IntegrationView> {
    let mut views: Vec<IntegrationView> = config
        .integrations
        .iter()
        .map(|integration| IntegrationView {
            name: integration.name.clone(),
            source: integration.source.as_str().to_string(),
            service: integration.service.clone(),
            key: Some(integration.key.clone()),
            url: Some(match integration.source {
                Source::Pagerduty => format!("http://{address}/v2/enqueue"),
                _ => format!("http://{address}/v1/integrations/{}", integration.key),
            }),
        })
        .collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    views
}

fn engine_error(error: EngineError) -> ClientError {
    let refused = |code: &str, error: &EngineError| ClientError::Refused {
        code: code.to_string(),
        message: error.to_string(),
    };
    match &error {
        EngineError::NotFound(_) | EngineError::Missing(_) => refused("not_found", &error),
        EngineError::Conflict(_) => refused("conflict", &error),
        EngineError::Escalation(refusal) => refused(refusal.code(), &error),
        EngineError::Invalid(_) => refused("invalid", &error),
        EngineError::Unavailable(_) => ClientError::Failed(error.to_string()),
        EngineError::Stopped => ClientError::Disconnected(error.to_string()),
    }
}

/// Forwards a snapshot and then every event; resubscribes (fresh snapshot) after a lag.
async fn pump(engine: EngineHandle, updates: mpsc::Sender<Update>) {
    let stopped = |reason: &str| {
        Update::Link(Link::Stopped {
            reason: reason.to_string(),
        })
    };
    loop {
        let Ok(subscription) = engine.subscribe().await else {
            let _ = updates.send(stopped("the engine has stopped")).await;
            return;
        };
        let mut events = subscription.events;
        if let ServerMessage::Snapshot {
            incidents,
            presence,
            ..
        } = subscription.snapshot
        {
            if updates.send(Update::Snapshot(incidents)).await.is_err() {
                return;
            }
            for (incident, viewers) in presence {
                if updates
                    .send(Update::Presence { incident, viewers })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        if updates.send(Update::Link(Link::Connected)).await.is_err() {
            return;
        }
        loop {
            // Ends with the console: the pump's engine handle must not keep the engine alive.
            let received = tokio::select! {
                received = events.recv() => received,
                _ = updates.closed() => return,
            };
            let update = match received {
                Ok(event) => match &event.message {
                    ServerMessage::IncidentOpened {
                        incident, timeline, ..
                    } => Update::Incident {
                        incident: incident.clone(),
                        timeline: timeline.clone(),
                        opened: true,
                    },
                    ServerMessage::IncidentChanged {
                        incident, timeline, ..
                    } => Update::Incident {
                        incident: incident.clone(),
                        timeline: timeline.clone(),
                        opened: false,
                    },
                    ServerMessage::Presence { incident, viewers } => Update::Presence {
                        incident: *incident,
                        viewers: viewers.clone(),
                    },
                    _ => continue,
                },
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(missed, "the console fell behind; resyncing");
                    break;
                }
                Err(RecvError::Closed) => {
                    let _ = updates.send(stopped("the engine has stopped")).await;
                    return;
                }
            };
            if updates.send(update).await.is_err() {
                return;
            }
        }
    }
}
