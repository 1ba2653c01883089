//! One incident in full: title, state, labels, links, alerts, escalation as far as the
//! engine knows it, and the whole timeline with notes (live: new entries are appended).

use crate::domain::{Actor, TimelineKind};
use crate::protocol::IncidentView;
use crate::tui::state::{DetailView, State};
use crate::tui::text::{age, clock, sanitize};
use crate::tui::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

pub fn render(state: &State, detail: &DetailView, area: Rect, buffer: &mut Buffer) {
    let lines = lines(state, detail);
    let scroll = detail.scroll.min(last_scroll(state, detail));
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(u16::MAX as usize) as u16, 0))
        .render(area, buffer);
}

/// The furthest the detail can scroll at the state's screen size (rows after wrapping less
/// the rows shown).
pub fn last_scroll(state: &State, detail: &DetailView) -> usize {
    let width = (state.width as usize).max(1);
    let height = state
        .height
        .saturating_sub(1 + crate::tui::state::QUEUE_BOTTOM) as usize;
    let rows: usize = lines(state, detail)
        .iter()
        .map(|line| line.width().div_ceil(width).max(1))
        .sum();
    rows.saturating_sub(height)
}

fn field(name: &str, state: &State) -> Span<'static> {
    Span::styled(format!("{name:<12}"), state.theme.style(Role::Label))
}

pub fn lines(state: &State, detail: &DetailView) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let muted = theme.style(Role::Muted);
    let mut lines = Vec::new();
    let Some(loaded) = &detail.detail else {
        // Until the engine answers, what the queue knows; then everything.
        let text = match (&detail.error, state.incident(detail.id)) {
            (Some(error), _) => format!(" #{}: {}", detail.id, sanitize(error)),
            (None, Some(summary)) => format!(
                " {} #{} {} · {}: loading alerts and timeline…",
                summary.severity.label(),
                detail.id,
                sanitize(&summary.title),
                summary.status.as_str()
            ),
            (None, None) => format!(" #{}: loading…", detail.id),
        };
        lines.push(Line::styled(text, muted));
        return lines;
    };
    let incident: &IncidentView = &loaded.incident;
    let now = state.now;
    let when = |at| format!("{} ({} ago)", clock(at, now), age(at, now));
    lines.push(Line::from(vec![
        Span::styled(
            format!(" {} ", incident.severity.label()),
            theme.severity(incident.severity),
        ),
        Span::styled(format!("#{} ", incident.id), theme.style(Role::Title)),
        Span::styled(
            sanitize(&incident.title).into_owned(),
            theme.style(Role::Title),
        ),
    ]));
    lines.push(Line::raw(""));
    let mut status = vec![
        field(" status", state),
        Span::styled(
            incident.status.as_str().to_string(),
            theme.status(incident.status),
        ),
    ];
    if let Some(until) = incident
        .snoozed_until
        .filter(|until| *until > now && incident.status.is_open())
    {
        status.push(Span::styled(
            format!(", snoozed until {}", clock(until, now)),
            theme.style(Role::Snoozed),
        ));
    }
    lines.push(Line::from(status));
    let optional = |value: &Option<String>| {
        value
            .as_deref()
            .map_or("-".to_string(), |value| sanitize(value).into_owned())
    };
    let rows: Vec<(&str, String)> = vec![
        (" severity", incident.severity.as_str().to_string()),
        (" service", optional(&incident.service)),
        (" assignee", optional(&incident.assignee)),
        (" alerts", incident.alert_count.to_string()),
        (" opened", when(incident.created_at)),
        (
            " source",
            format!(
                "integration {}, dedup key {}",
                sanitize(&incident.integration),
                sanitize(&incident.dedup_key)
            ),
        ),
    ];
    for (name, value) in rows {
        lines.push(Line::from(vec![field(name, state), Span::raw(value)]));
    }
    if let (Some(at), by) = (incident.acknowledged_at, &incident.acknowledged_by) {
        lines.push(Line::from(vec![
            field(" acked", state),
            Span::raw(format!("{} by {}", when(at), optional(by))),
        ]));
    }
    if let (Some(at), by) = (incident.resolved_at, &incident.resolved_by) {
        lines.push(Line::from(vec![
            field(" resolved", state),
            Span::raw(format!("{} by {}", when(at), optional(by))),
        ]));
    }
    let escalation = match &incident.escalation.policy {
        None => "no escalation policy".to_string(),
        Some(policy) => {
            let next = incident
                .escalation
                .next_at
                .map_or("no further level".to_string(), |at| {
                    format!("next level at {}", clock(at, now))
                });
            format!(
                "{}, level {}, {next}",
                sanitize(policy),
                incident.escalation.level
            )
        }
    };
    lines.push(Line::from(vec![
        field(" escalation", state),
        Span::raw(escalation),
    ]));
    if !incident.labels.is_empty() {
        let labels: Vec<String> = incident
            .labels
            .iter()
            .map(|(name, value)| format!("{}={}", sanitize(name), sanitize(value)))
            .collect();
        lines.push(Line::from(vec![
            field(" labels", state),
            Span::raw(labels.join("  ")),
        ]));
    }
    for (index, link) in incident.links.iter().enumerate() {
        let name = if index == 0 { " links" } else { "" };
        let text = match &link.text {
            Some(text) => format!("{} <{}>", sanitize(text), sanitize(&link.href)),
            None => sanitize(&link.href).into_owned(),
        };
        lines.push(Line::from(vec![field(name, state), Span::raw(text)]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" Alerts ({})", loaded.alerts.len()),
        theme.style(Role::Header),
    ));
    for alert in &loaded.alerts {
        let status = format!("{:?}", alert.status).to_lowercase();
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", clock(alert.received_at, now)), muted),
            Span::styled(
                format!("{:<4} ", alert.severity.label()),
                theme.severity(alert.severity),
            ),
            Span::raw(format!("{status:<12} ")),
            Span::raw(sanitize(&alert.title).into_owned()),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" Timeline ({})", loaded.timeline.len()),
        theme.style(Role::Header),
    ));
    for entry in &loaded.timeline {
        let actor = match &entry.actor {
            Actor::User(name) => sanitize(name).into_owned(),
            other => sanitize(&other.to_string()).into_owned(),
        };
        let (text, style) = match &entry.kind {
            TimelineKind::Note { text } => {
                (format!("note: {}", sanitize(text)), theme.style(Role::Note))
            }
            _ => (
                sanitize(&entry.description).into_owned(),
                ratatui::style::Style::default(),
            ),
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", clock(entry.at, now)), muted),
            Span::styled(
                format!("{:<20} ", crate::tui::text::sanitize(&actor)),
                theme.style(Role::Label),
            ),
            Span::styled(text, style),
        ]));
    }
    lines
}
