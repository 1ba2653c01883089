//! The Slack channel: a readable message POSTed to an incoming-webhook URL (the contact's
//! address). Depends on the notify contract and reqwest.

use super::message::{attempt_name, incident_url, one_line, shorten, text_address};
use super::web::{self, exchange, target_url};
use super::{Delivered, Notification, Notifier, NotifySettings, SendFuture};
use crate::domain::escalation::ContactKind;
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::time::Duration;

/// Slack refuses a section over 3,000 characters; a title this long is cut.
const TITLE_LENGTH: usize = 500;
/// More links than this make an unreadable message; the email and REST API have them all.
const LINK_COUNT: usize = 10;

/// Posts [`slack_message`] to the contact's incoming-webhook URL. Same outcomes as a webhook:
/// 2xx delivered; 408, 429, 5xx, connection failures and timeouts temporary; others permanent.
pub struct SlackNotifier {
    client: reqwest::Client,
    timeout: Duration,
    public_url: Option<String>,
}

impl SlackNotifier {
    pub fn new(settings: &NotifySettings) -> Result<SlackNotifier, String> {
        let timeout = settings.timeout_or_default();
        Ok(Self::with_client(web::client(timeout)?, settings))
    }

    pub(crate) fn with_client(client: reqwest::Client, settings: &NotifySettings) -> Self {
        SlackNotifier {
            client,
            timeout: settings.timeout_or_default(),
            public_url: settings.public_url.clone(),
        }
    }
}

impl Notifier for SlackNotifier {
    fn kind(&self) -> ContactKind {
        ContactKind::Slack
    }

    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let who = attempt_name(notification);
            let url = target_url(&who, text_address(notification))?;
            let message = slack_message(notification, self.public_url.as_deref());
            let request = self.client.post(url).json(&message);
            let answer = exchange(&who, request, self.timeout).await?;
            Ok(Delivered {
                detail: Some(answer.status_line()),
            })
        })
    }
}

/// The Slack message: `text` (what notifications and old clients show) and `blocks` in mrkdwn
/// with the severity label, id (linked to the incident with a public URL), title, service,
/// status, who was paged, the links and the acknowledgement command. Text from alerts is
/// escaped (`&`, `<`, `>`), so it cannot forge links or mentions.
pub fn slack_message(notification: &Notification, public_url: Option<&str>) -> Value {
    let incident = &notification.incident;
    let title = escape(&shorten(&one_line(&incident.title), TITLE_LENGTH));
    let label = incident.severity.label();
    let ack = escape(&one_line(&notification.ack_command));
    let url = incident_url(public_url, incident.id);

    let mut fallback = format!("{label} #{} {title}", incident.id);
    if let Some(service) = &incident.service {
        let _ = write!(fallback, " ({})", escape(&one_line(service)));
    }
    let _ = write!(fallback, ": ack with {ack}");

    let id = match &url {
        Some(url) => format!("<{}|#{}>", escape_href(url), incident.id),
        None => format!("#{}", incident.id),
    };
    let mut fields = Vec::new();
    if let Some(service) = &incident.service {
        fields.push(field("Service", &escape(&one_line(service))));
    }
    fields.push(field("Status", incident.status.as_str()));
    fields.push(field("Severity", incident.severity.as_str()));
    fields.push(field(
        "Paged",
        &format!(
            "{} (level {}, {} urgency)",
            escape(&one_line(&notification.user)),
            notification.level,
            notification.urgency.as_str()
        ),
    ));
    let mut blocks = vec![
        json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*{label}* {id} *{title}*")},
        }),
        json!({"type": "section", "fields": fields}),
    ];
    let links: Vec<String> = incident
        .links
        .iter()
        .take(LINK_COUNT)
        .map(|link| {
            let text = link.text.as_deref().unwrap_or(&link.href);
            slack_link(&link.href, text)
        })
        .collect();
    if !links.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": format!("*Links*: {}", links.join(" · "))},
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!("Acknowledge: `{ack}`")}],
    }));
    json!({"text": fallback, "blocks": blocks})
}

fn field(name: &str, value: &str) -> Value {
    json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")})
}

/// `<href|text>` for web and mail links; anything else is shown as text, not made clickable.
fn slack_link(href: &str, text: &str) -> String {
    let href = one_line(href);
    let text = escape(&shorten(&one_line(text), 200));
    let linkable = ["http://", "https://", "mailto:"]
        .iter()
        .any(|scheme| href.to_ascii_lowercase().starts_with(scheme));
    if linkable {
        format!("<{}|{text}>", escape_href(&href))
    } else {
        text
    }
}

/// Slack's three control characters in message text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL inside `<…|…>`: `|` would end it early and `<`, `>` would break the link, so they
/// are percent-encoded; `&` is escaped as everywhere in Slack text.
fn escape_href(href: &str) -> String {
    href.replace('&', "&amp;")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
        assert_eq!(
            slack_link("https://x.example/?a=1&b=<2>|3", "run|book"),
            "<https://x.example/?a=1&amp;b=%3C2%3E%7C3|run|book>"
        );
        assert_eq!(slack_link("javascript:alert(1)", "x"), "x");
    }
}
