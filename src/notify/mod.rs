//! Outbound channels behind one trait: webhook, Slack, email, SMS and voice through a
//! provider's HTTP API described in config, and exec. The engine's outbox decides what to
//! send and when; a notifier only tries once and says how it went. Depends on domain and
//! protocol.

mod email;
mod exec;
pub mod message;
mod notifiers;
mod slack;
mod template;
mod web;
mod webhook;

pub use email::EmailNotifier;
pub use exec::ExecNotifier;
pub use notifiers::Notifiers;
pub use slack::{slack_message, SlackNotifier};
pub use template::{check_template, TemplateNotifier, PLACEHOLDERS};
pub use webhook::WebhookNotifier;

use crate::domain::escalation::{ContactKind, ContactMethod};
use crate::domain::routing::Urgency;
use crate::protocol::IncidentView;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One message to one person through one contact method.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub incident: IncidentView,
    pub user: String,
    pub contact: ContactMethod,
    pub urgency: Urgency,
    /// The escalation level that paged this person (1-based).
    pub level: u32,
    /// What the person can run to acknowledge, such as `klaxon ack 42`.
    pub ack_command: String,
}

/// A send that went through, with what the far end said (message id, SMTP reply).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: a timeout, a refused connection, a 5xx or 429.
    #[error("{0}")]
    Temporary(String),
    /// Will fail the same way every time: a 4xx, a bad address, no channel configured.
    #[error("{0}")]
    Permanent(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Delivered, SendError>> + Send + 'a>>;

/// One channel. `send` makes one attempt; retries, backoff and throttling are the outbox's.
pub trait Notifier: Send + Sync {
    fn kind(&self) -> ContactKind;
    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a>;
}

/// How the channels reach the world, from the `[notify]` section of the configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotifySettings {
    pub email: Option<EmailSettings>,
    pub sms: Option<HttpTemplate>,
    pub voice: Option<HttpTemplate>,
    /// Timeout of one webhook, Slack or provider request, and of one exec run.
    pub timeout: Option<Duration>,
    /// Attempts before giving up on one notification (default 5).
    pub max_attempts: Option<u32>,
    /// At most this many notifications per contact method per minute; more wait their turn.
    pub per_minute: Option<u32>,
    /// Included in messages so people can open the incident (e.g. the engine's public URL).
    pub public_url: Option<String>,
}

impl NotifySettings {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

    pub fn timeout_or_default(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT)
    }

    pub fn max_attempts_or_default(&self) -> u32 {
        self.max_attempts.unwrap_or(Self::DEFAULT_MAX_ATTEMPTS)
    }
}

impl SendError {
    /// The text, whichever kind.
    pub fn message(&self) -> &str {
        match self {
            SendError::Temporary(text) | SendError::Permanent(text) => text,
        }
    }

    pub fn is_temporary(&self) -> bool {
        matches!(self, SendError::Temporary(_))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP, upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No TLS at all: only for a relay on the same host or network.
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender address, such as `klaxon <klaxon@example.com>`.
    pub from: String,
}

/// A provider's HTTP API as a request template. Placeholders such as `{{to}}`,
/// `{{message}}`, `{{incident.id}}` are filled in per notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTemplate {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: TemplateBody,
    /// HTTP basic authentication (Twilio's account SID and auth token).
    pub basic_auth: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateBody {
    None,
    /// `application/x-www-form-urlencoded` fields.
    Form(Vec<(String, String)>),
    /// A JSON document; placeholders inside strings are JSON-escaped.
    Json(String),
}
