//! How the CLI and the TUI reach an engine. `http` is the REST client of the CLI verbs;
//! [`Client`] is the one interface of the TUI, over an in-process engine (`embedded`) or a
//! remote one over `/v1/stream` (`remote`). The TUI never knows which of the two it has.

pub mod embedded;
pub mod http;
pub mod remote;

use crate::domain::matcher::Matcher;
use crate::domain::{Action, IncidentId};
use crate::protocol::{
    IncidentDetail, IncidentView, IntegrationView, OnCallView, SilenceView, TimelineView,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

pub use embedded::EmbeddedClient;
pub use remote::{RemoteClient, RemoteOptions};

/// What a client tells the TUI, in order. A `Snapshot` replaces everything known before it
/// (so a resync after a reconnect or a lag never duplicates anything); incident updates
/// follow it.
// Unboxed: each update is moved once through a channel; boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    Snapshot(Vec<IncidentView>),
    Incident {
        incident: IncidentView,
        timeline: Vec<TimelineView>,
        opened: bool,
    },
    Link(Link),
    /// Who is looking at an incident now (empty: nobody).
    Presence {
        incident: IncidentId,
        viewers: Vec<String>,
    },
}

/// The state of the link to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Trying to connect (attempt 1 is the first).
    Connecting {
        attempt: u32,
    },
    Connected,
    /// Down; the next attempt is at `retry_at`.
    Retrying {
        retry_at: DateTime<Utc>,
        attempt: u32,
        reason: String,
    },
    /// Down for good (the engine stopped, or refused the token): no more attempts.
    Stopped {
        reason: String,
    },
}

impl Link {
    pub fn is_up(&self) -> bool {
        matches!(self, Link::Connected)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Nothing was sent: the link is down.
    #[error("not connected to the engine; nothing was sent ({0})")]
    Disconnected(String),
    /// The link dropped after the command was sent and before its answer: it may or may not
    /// have been applied.
    #[error(
        "the link dropped before the engine answered; check the timeline, it may have been applied"
    )]
    Lost,
    /// The engine answered no.
    #[error("{message}")]
    Refused { code: String, message: String },
    #[error("{0}")]
    Failed(String),
}

/// Where the client is connected and as whom, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://127.0.0.1:9800`
    pub address: String,
    /// The user the client acts as (timeline entries name them).
    pub user: String,
    /// True for an in-process engine.
    pub embedded: bool,
}

/// The TUI's client. An enum rather than a trait object: its methods are async.
#[derive(Clone)]
pub enum Client {
    Embedded(EmbeddedClient),
    Remote(RemoteClient),
}

impl Client {
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Client::Embedded(client) => client.endpoint(),
            Client::Remote(client) => client.endpoint(),
        }
    }

    pub async fn act(&self, id: IncidentId, action: Action) -> Result<IncidentView, ClientError> {
        match self {
            Client::Embedded(client) => client.act(id, action).await,
            Client::Remote(client) => client.act(id, action).await,
        }
    }

    /// Pages the next level of the incident's escalation policy now. Refused (conflict) when
    /// it has no policy, is silenced, resolved, or its policy has no further level.
    pub async fn escalate(&self, id: IncidentId) -> Result<IncidentView, ClientError> {
        self.act(id, Action::Escalate).await
    }

    pub async fn detail(&self, id: IncidentId) -> Result<IncidentDetail, ClientError> {
        match self {
            Client::Embedded(client) => client.detail(id).await,
            Client::Remote(client) => client.detail(id).await,
        }
    }

    /// Who is on call now and next, per schedule, with the overrides not yet ended.
    pub async fn oncall(&self) -> Result<Vec<OnCallView>, ClientError> {
        match self {
            Client::Embedded(client) => client.oncall().await,
            Client::Remote(client) => client.oncall().await,
        }
    }

    /// The silences the engine keeps: active, pending and expired.
    pub async fn silences(&self) -> Result<Vec<SilenceView>, ClientError> {
        match self {
            Client::Embedded(client) => client.silences().await,
            Client::Remote(client) => client.silences().await,
        }
    }

    /// Silences what all `matchers` match, from now for `duration`.
    pub async fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        duration: Duration,
        comment: String,
    ) -> Result<SilenceView, ClientError> {
        match self {
            Client::Embedded(client) => client.add_silence(matchers, duration, comment).await,
            Client::Remote(client) => client.add_silence(matchers, duration, comment).await,
        }
    }

    /// Ends a silence now; what it held starts escalating.
    pub async fn expire_silence(&self, id: &str) -> Result<SilenceView, ClientError> {
        match self {
            Client::Embedded(client) => client.expire_silence(id).await,
            Client::Remote(client) => client.expire_silence(id).await,
        }
    }

    /// Says which incident this console looks at now (`None`: none), for everyone's
    /// presence. Nothing to wait for: the engine answers with presence updates.
    pub async fn viewing(&self, incident: Option<IncidentId>) -> Result<(), ClientError> {
        match self {
            Client::Embedded(client) => client.viewing(incident).await,
            Client::Remote(client) => client.viewing(incident),
        }
    }

    /// The incident's blameless postmortem draft, in Markdown.
    pub async fn postmortem(&self, id: IncidentId) -> Result<String, ClientError> {
        match self {
            Client::Embedded(client) => client.postmortem(id).await,
            Client::Remote(client) => client.postmortem(id).await,
        }
    }

    /// Where alerts are sent (URLs and keys only for admins).
    pub async fn integrations(&self) -> Result<Vec<IntegrationView>, ClientError> {
        match self {
            Client::Embedded(client) => Ok(client.integrations()),
            Client::Remote(client) => client.integrations().await,
        }
    }
}

impl From<http::ClientError> for ClientError {
    fn from(error: http::ClientError) -> Self {
        match error {
            http::ClientError::Refused { code, message, .. } => {
                ClientError::Refused { code, message }
            }
            http::ClientError::Unreachable { reason, .. } => ClientError::Disconnected(reason),
            other => ClientError::Failed(other.to_string()),
        }
    }
}
