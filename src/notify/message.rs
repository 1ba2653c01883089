//! What people read and hear, and what programs receive: the headline, the SMS and spoken
//! texts, the email, and the JSON page document of webhooks and exec programs. Pure
//! functions of a notification; depends on domain and protocol only.

use super::Notification;
use crate::domain::escalation::ContactAddress;
use crate::domain::incident::IncidentId;
use crate::domain::routing::Urgency;
use crate::domain::Severity;
use crate::protocol::IncidentView;
use serde::Serialize;
use std::fmt::Write as _;

/// A single SMS segment in the GSM 7-bit alphabet; longer texts cost several messages.
pub const SMS_LENGTH: usize = 160;

/// `text` on one line: newlines, tabs and other control characters become spaces and runs
/// of spaces collapse, so a hostile title cannot forge extra lines in a message or header.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `CRIT #42 Database down (payments)`: severity label, id, title and service, if any.
pub fn headline(incident: &IncidentView) -> String {
    let mut line = format!(
        "{} #{} {}",
        incident.severity.label(),
        incident.id,
        one_line(&incident.title)
    );
    if let Some(service) = &incident.service {
        let _ = write!(line, " ({})", one_line(service));
    }
    line
}

/// Where people can look the incident up: `{public_url}/v1/incidents/{id}` on the REST API,
/// when a public URL is configured.
pub fn incident_url(public_url: Option<&str>, id: IncidentId) -> Option<String> {
    let base = public_url?.trim().trim_end_matches('/');
    if base.is_empty() {
        return None;
    }
    Some(format!("{base}/v1/incidents/{id}"))
}

/// The SMS text: `klaxon CRIT #42 Database down (payments): ack with klaxon ack 42`. The
/// title is shortened (with `...`, which stays in the GSM alphabet) so the whole text fits
/// one SMS where it can; the acknowledgement command is never cut.
pub fn sms_message(notification: &Notification) -> String {
    let incident = &notification.incident;
    let prefix = format!("klaxon {} #{} ", incident.severity.label(), incident.id);
    let mut suffix = String::new();
    if let Some(service) = &incident.service {
        let _ = write!(suffix, " ({})", one_line(service));
    }
    let _ = write!(suffix, ": ack with {}", one_line(&notification.ack_command));
    let title = one_line(&incident.title);
    let room = SMS_LENGTH.saturating_sub(prefix.chars().count() + suffix.chars().count());
    let title = shorten(&title, room.max(12));
    format!("{prefix}{title}{suffix}")
}

/// The text a voice call speaks: words, digits and sentence punctuation only, so a
/// text-to-speech engine does not read out symbols. For example: `klaxon page. Critical
/// incident 42. Database down. Service payments. To acknowledge, run klaxon ack 42.`
pub fn voice_message(notification: &Notification) -> String {
    let incident = &notification.incident;
    let mut text = format!(
        "klaxon page. {} incident {}. {}.",
        spoken_severity(incident.severity),
        incident.id,
        speakable(&incident.title)
    );
    if let Some(service) = &incident.service {
        let _ = write!(text, " Service {}.", speakable(service));
    }
    let _ = write!(
        text,
        " To acknowledge, run {}.",
        speakable(&notification.ack_command)
    );
    text
}

/// `[klaxon] CRIT #42 Database down (payments)`
pub fn email_subject(incident: &IncidentView) -> String {
    format!("[klaxon] {}", headline(incident))
}

/// The plain-text email: the incident's facts, labels, links, how to acknowledge and, with a
/// public URL, where to look it up.
pub fn email_body(notification: &Notification, public_url: Option<&str>) -> String {
    let incident = &notification.incident;
    let mut body = String::new();
    let _ = writeln!(body, "{}", headline(incident));
    let _ = writeln!(body);
    let _ = writeln!(body, "Title:     {}", one_line(&incident.title));
    let _ = writeln!(
        body,
        "Severity:  {} ({})",
        incident.severity.as_str(),
        incident.severity.label()
    );
    let _ = writeln!(body, "Status:    {}", incident.status.as_str());
    if let Some(service) = &incident.service {
        let _ = writeln!(body, "Service:   {}", one_line(service));
    }
    let _ = writeln!(body, "Incident:  #{}", incident.id);
    let _ = writeln!(body, "Alerts:    {}", incident.alert_count);
    let _ = writeln!(body, "Opened:    {}", incident.created_at.to_rfc3339());
    if let Some(assignee) = &incident.assignee {
        let _ = writeln!(body, "Assignee:  {}", one_line(assignee));
    }
    let _ = writeln!(
        body,
        "Paged:     {} ({} urgency, escalation level {})",
        one_line(&notification.user),
        notification.urgency.as_str(),
        notification.level
    );
    if !incident.labels.is_empty() {
        let _ = writeln!(body);
        let _ = writeln!(body, "Labels:");
        for (name, value) in &incident.labels {
            let _ = writeln!(body, "  {} = {}", one_line(name), one_line(value));
        }
    }
    if !incident.links.is_empty() {
        let _ = writeln!(body);
        let _ = writeln!(body, "Links:");
        for link in &incident.links {
            match &link.text {
                Some(text) => {
                    let _ = writeln!(body, "  {}: {}", one_line(text), one_line(&link.href));
                }
                None => {
                    let _ = writeln!(body, "  {}", one_line(&link.href));
                }
            }
        }
    }
    let _ = writeln!(body);
    let _ = writeln!(body, "Acknowledge: {}", one_line(&notification.ack_command));
    if let Some(url) = incident_url(public_url, incident.id) {
        let _ = writeln!(body, "Look it up:  {url}");
    }
    body
}

/// The JSON document a webhook receives as its body and an exec program on its stdin:
///
/// ```json
/// {
///   "event": "page",
///   "user": "alice",
///   "contact": "ops-hook",
///   "urgency": "high",
///   "level": 1,
///   "ack_command": "klaxon ack 42",
///   "incident_url": "https://klaxon.example.com/v1/incidents/42",
///   "incident": { "id": 42, "title": "Database down", "severity": "critical", ... }
/// }
/// ```
///
/// `event` is always `page` for now (other events may come later, so check it). `user` is the
/// person paged and `contact` the name of their contact method; `urgency` is `high` or `low`;
/// `level` is the escalation level that paged them (1-based); `ack_command` what they can run
/// to acknowledge; `incident_url` the incident on the REST API, or `null` without
/// `public_url`; `incident` is the incident exactly as `GET /v1/incidents/{id}` shows it.
pub fn page_document(notification: &Notification, public_url: Option<&str>) -> Vec<u8> {
    #[derive(Serialize)]
    struct PageDocument<'a> {
        event: &'static str,
        user: &'a str,
        contact: &'a str,
        urgency: Urgency,
        level: u32,
        ack_command: &'a str,
        incident_url: Option<String>,
        incident: &'a IncidentView,
    }
    let document = PageDocument {
        event: "page",
        user: &notification.user,
        contact: &notification.contact.name,
        urgency: notification.urgency,
        level: notification.level,
        ack_command: &notification.ack_command,
        incident_url: incident_url(public_url, notification.incident.id),
        incident: &notification.incident,
    };
    // Only strings, numbers and maps of strings: serialising cannot fail.
    serde_json::to_vec(&document).unwrap_or_default()
}

/// The contact's address when it is text (email, phone number, URL).
pub(crate) fn text_address(notification: &Notification) -> Option<&str> {
    match &notification.contact.address {
        ContactAddress::Text(text) => Some(text.trim()),
        ContactAddress::Command(_) => None,
    }
}

/// `email to alice-mail`: how errors name the attempt.
pub(crate) fn attempt_name(notification: &Notification) -> String {
    format!(
        "{} to {}",
        notification.contact.kind, notification.contact.name
    )
}

/// `text` cut to at most `limit` characters, ending in `...` when cut.
pub(crate) fn shorten(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let kept: String = text.chars().take(limit.saturating_sub(3)).collect();
    format!("{}...", kept.trim_end())
}

fn spoken_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "Critical",
        Severity::Error => "Error",
        Severity::Warning => "Warning",
        Severity::Info => "Information",
    }
}

/// Letters, digits and `. , ? ! '` survive; every other character becomes a space.
fn speakable(text: &str) -> String {
    let kept: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | ',' | '?' | '!' | '\'') {
                c
            } else {
                ' '
            }
        })
        .collect();
    one_line(&kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_keeps_short_text_and_marks_cuts() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdefgh", 6), "abc...");
    }

    #[test]
    fn speakable_drops_symbols() {
        assert_eq!(
            speakable("disk <full> on db-1 & \"now\"\n100%"),
            "disk full on db 1 now 100"
        );
    }

    #[test]
    fn incident_url_ignores_trailing_slash_and_blank() {
        assert_eq!(
            incident_url(Some("https://k.example.com/"), 7).as_deref(),
            Some("https://k.example.com/v1/incidents/7")
        );
        assert_eq!(incident_url(Some("  "), 7), None);
        assert_eq!(incident_url(None, 7), None);
    }
}
