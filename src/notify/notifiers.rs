//! The set of channels the engine sends through, one per contact kind, built from the
//! `[notify]` settings.

use super::email::EmailNotifier;
use super::exec::ExecNotifier;
use super::slack::SlackNotifier;
use super::template::TemplateNotifier;
use super::web;
use super::webhook::WebhookNotifier;
use super::{Notifier, NotifySettings};
use crate::domain::escalation::ContactKind;
use std::collections::HashMap;
use std::fmt;

/// One notifier per contact kind. Webhook, Slack and exec are always there; email, SMS and
/// voice only when their settings are.
#[derive(Default)]
pub struct Notifiers {
    channels: HashMap<ContactKind, Box<dyn Notifier>>,
}

impl Notifiers {
    /// Every channel the settings allow, sharing one HTTP client (timeout: `settings.timeout`,
    /// default 10 s; redirects never followed). Fails on settings that cannot work, such as an
    /// unknown template placeholder or an unparseable sender address.
    pub fn new(settings: &NotifySettings) -> Result<Notifiers, String> {
        let client = web::client(settings.timeout_or_default())?;
        let mut notifiers = Notifiers::empty()
            .with(
                ContactKind::Webhook,
                Box::new(WebhookNotifier::with_client(client.clone(), settings)),
            )
            .with(
                ContactKind::Slack,
                Box::new(SlackNotifier::with_client(client.clone(), settings)),
            )
            .with(ContactKind::Exec, Box::new(ExecNotifier::new(settings)));
        if let Some(email) = &settings.email {
            notifiers = notifiers.with(
                ContactKind::Email,
                Box::new(EmailNotifier::new(email, settings)?),
            );
        }
        for (kind, template) in [
            (ContactKind::Sms, &settings.sms),
            (ContactKind::Voice, &settings.voice),
        ] {
            if let Some(template) = template {
                let notifier =
                    TemplateNotifier::with_client(kind, template, client.clone(), settings)
                        .map_err(|error| format!("{kind}: {error}"))?;
                notifiers = notifiers.with(kind, Box::new(notifier));
            }
        }
        Ok(notifiers)
    }

    /// No channels at all; add some with [`Notifiers::with`].
    pub fn empty() -> Notifiers {
        Notifiers::default()
    }

    /// Uses `notifier` for `kind`, replacing what was there (tests put a recording fake here).
    pub fn with(mut self, kind: ContactKind, notifier: Box<dyn Notifier>) -> Notifiers {
        self.channels.insert(kind, notifier);
        self
    }

    /// The notifier for `kind`, or `None` when that channel is not configured.
    pub fn get(&self, kind: ContactKind) -> Option<&dyn Notifier> {
        self.channels.get(&kind).map(|notifier| notifier.as_ref())
    }

    /// The configured kinds, in `ContactKind::ALL` order.
    pub fn kinds(&self) -> Vec<ContactKind> {
        ContactKind::ALL
            .into_iter()
            .filter(|kind| self.channels.contains_key(kind))
            .collect()
    }
}

impl fmt::Debug for Notifiers {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Notifiers")
            .field("kinds", &self.kinds())
            .finish()
    }
}
