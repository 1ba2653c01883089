//! One incident in full: title, state, escalation (policy, level, a live countdown to the
//! next level or why there is none), labels, links, who was paged through which channel
//! with what outcome, alerts, and the whole timeline with notes (live: new entries are
//! appended).

use crate::domain::{Actor, Delivery, IncidentStatus, TimelineKind};
use crate::protocol::{IncidentDetail, IncidentView, TimelineView};
use crate::tui::state::{DetailView, State};
use crate::tui::text::{age, clock, sanitize, time_left};
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
    let height = super::body_rows(state);
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
    lines.push(watching(state, detail.id));
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
    escalation(state, loaded, &mut lines);
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
    pages(state, loaded, &mut lines);
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
        lines.extend(timeline_entry(state, entry));
    }
    lines
}

/// Who else has this incident open now, from the engine's presence; this console is
/// "you" (it is looking, whether or not the engine has said so yet).
fn watching(state: &State, id: crate::domain::IncidentId) -> Line<'static> {
    let mut names = vec!["you".to_string()];
    let own = &state.endpoint.user;
    if let Some(viewers) = state.presence.get(&id) {
        names.extend(
            viewers
                .iter()
                .filter(|viewer| *viewer != own)
                .map(|viewer| sanitize(viewer).into_owned()),
        );
    }
    Line::from(vec![
        field(" watching", state),
        Span::styled(names.join(", "), state.theme.style(Role::Watching)),
    ])
}

/// Width of the time and author columns before a message's text.
const AUTHOR_WIDTH: usize = 20;

/// One timeline entry as the channel shows it: people's messages as `author › text` with
/// every line kept, a `/command` as a command to the bot, the bot's answers by `klaxon`,
/// finding tags marked, and the system's entries as one line. Everything is sanitized
/// line by line, so no message can drive the terminal.
fn timeline_entry(state: &State, entry: &TimelineView) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let muted = theme.style(Role::Muted);
    let time = Span::styled(format!(" {} ", clock(entry.at, state.now)), muted);
    let author = |name: String, role: Role| {
        Span::styled(format!("{name:<AUTHOR_WIDTH$} "), theme.style(role))
    };
    let actor = match &entry.actor {
        Actor::User(name) => sanitize(name).into_owned(),
        other => sanitize(&other.to_string()).into_owned(),
    };
    let (who, marker, text, style) = match &entry.kind {
        TimelineKind::Note { text } => {
            let command = is_bot_command(text);
            let (marker, role) = if command {
                ("» ", Role::Command)
            } else {
                ("› ", Role::Note)
            };
            (
                author(actor, Role::Label),
                marker,
                text.as_str(),
                theme.style(role),
            )
        }
        TimelineKind::BotReply { text, .. } => (
            author("klaxon".to_string(), Role::Bot),
            "› ",
            text.as_str(),
            theme
                .style(Role::Bot)
                .remove_modifier(ratatui::style::Modifier::BOLD),
        ),
        _ => {
            return vec![Line::from(vec![
                time,
                author(actor, Role::Label),
                Span::raw(sanitize(&entry.description).into_owned()),
            ])]
        }
    };
    let indent = " ".repeat(1 + 9 + AUTHOR_WIDTH + 1 + marker.chars().count());
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut spans = if index == 0 {
            vec![time.clone(), who.clone(), Span::styled(marker, muted)]
        } else {
            // Continuation lines line up under the first, so a message reads as one.
            vec![Span::raw(indent.clone())]
        };
        spans.extend(with_findings(state, &line.replace('\t', "    "), style));
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::from(vec![time, who, Span::styled(marker, muted)]));
    }
    lines
}

/// A message the bot answers: `/status`, not `//status` (an escaped slash).
fn is_bot_command(text: &str) -> bool {
    let trimmed = text.trim_start();
    trimmed.starts_with('/') && !trimmed.starts_with("//")
}

/// One line of a message with its finding tags (`#cause`…, as the domain reads them) in
/// the finding style, which themes make bold and reverse rather than only a colour.
fn with_findings(state: &State, line: &str, style: ratatui::style::Style) -> Vec<Span<'static>> {
    let tags = crate::domain::findings::finding_tags(line);
    let mut spans = Vec::new();
    let mut rest = line;
    let lower = line.to_lowercase();
    let mut offset = 0;
    if !tags.is_empty() && lower.len() == line.len() {
        while let Some(found) = lower[offset..].find('#') {
            let start = offset + found;
            let tag = tags.iter().find(|tag| {
                let end = start + tag.hashtag().len();
                lower[start..].starts_with(tag.hashtag())
                    && !lower[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                    && !lower[end..]
                        .starts_with(|c: char| c.is_alphanumeric() || c == '_' || c == '-')
            });
            let Some(tag) = tag else {
                offset = start + 1;
                continue;
            };
            let end = start + tag.hashtag().len();
            let consumed = line.len() - rest.len();
            spans.push(Span::styled(
                sanitize(&line[consumed..start]).into_owned(),
                style,
            ));
            spans.push(Span::styled(
                line[start..end].to_string(),
                state.theme.style(Role::Finding),
            ));
            rest = &line[end..];
            offset = end;
        }
    }
    spans.push(Span::styled(sanitize(rest).into_owned(), style));
    spans
}

/// The escalation rows: which policy and why, the level reached, and what happens next,
/// counting down live (the console's one-second tick redraws it).
fn escalation(state: &State, loaded: &IncidentDetail, lines: &mut Vec<Line<'static>>) {
    let theme = &state.theme;
    let incident = &loaded.incident;
    let escalation = &incident.escalation;
    let now = state.now;
    let last = |wanted: fn(&TimelineKind) -> bool| {
        loaded
            .timeline
            .iter()
            .rev()
            .find(|entry| wanted(&entry.kind))
    };
    let mut policy = match &escalation.policy {
        Some(policy) => vec![Span::raw(sanitize(policy).into_owned())],
        None => vec![Span::raw("no escalation policy")],
    };
    // Urgency says how hard the policy's pages wake people: without a policy, nothing.
    if let Some(urgency) = escalation.urgency.filter(|_| escalation.policy.is_some()) {
        policy.push(Span::raw(format!(", urgency {}", urgency.as_str())));
    }
    if let Some(route) = &escalation.route {
        policy.push(Span::raw(format!(", route {}", sanitize(route))));
    }
    policy.insert(0, field(" escalation", state));
    lines.push(Line::from(policy));
    if escalation.policy.is_some() {
        let level = match (escalation.level, levels(&loaded.timeline)) {
            (0, _) => "none paged yet".to_string(),
            (level, Some(of)) => format!("{level} of {of}"),
            (level, None) => level.to_string(),
        };
        let repeat = match escalation.repeat {
            0 => String::new(),
            repeat => format!(", repeat {repeat}"),
        };
        lines.push(Line::from(vec![
            field(" level", state),
            Span::raw(format!("{level}{repeat}")),
        ]));
    }
    let stopped = |why: String| vec![Span::raw(format!("stopped: {why}"))];
    let next: Vec<Span<'static>> = if incident.status == IncidentStatus::Resolved {
        stopped("resolved".to_string())
    } else if let Some(silence) = &escalation.silenced_by {
        // The silence's own description (its matchers and comment) says why.
        let described = last(|kind| matches!(kind, TimelineKind::Silenced { .. }))
            .and_then(|entry| match &entry.kind {
                TimelineKind::Silenced {
                    silence: id,
                    summary,
                } if id == silence => Some(summary.clone()),
                _ => None,
            })
            .unwrap_or_else(|| format!("silence {silence}"));
        vec![Span::styled(
            format!(
                "silenced by {}: nobody is paged while it lasts",
                sanitize(&described)
            ),
            theme.style(Role::Silenced),
        )]
    } else if escalation.policy.is_none() {
        match last(|kind| matches!(kind, TimelineKind::NotPaged { .. })) {
            Some(TimelineView {
                kind: TimelineKind::NotPaged { reason },
                ..
            }) => vec![Span::raw(format!("not paged: {}", sanitize(reason)))],
            _ => vec![Span::raw("nobody is paged")],
        }
    } else if let Some(until) = incident
        .snoozed_until
        .filter(|until| *until > now && incident.status == IncidentStatus::Acknowledged)
    {
        stopped(format!(
            "snoozed until {}, when it starts again",
            clock(until, now)
        ))
    } else if incident.status == IncidentStatus::Acknowledged {
        let by = incident
            .acknowledged_by
            .as_deref()
            .map_or(String::new(), |by| format!(" by {}", sanitize(by)));
        stopped(format!("acknowledged{by}"))
    } else {
        match escalation.next_at {
            Some(at) if at > now => vec![
                Span::raw("next level in "),
                Span::styled(time_left(at, now), theme.style(Role::Countdown)),
                Span::raw(format!(" (at {})", clock(at, now))),
            ],
            Some(_) => vec![Span::raw("next level due now")],
            None if escalation.level > 0 => {
                vec![Span::raw("policy exhausted: no further level")]
            }
            None => stopped("no level is due".to_string()),
        }
    };
    let mut row = vec![field(" paging", state)];
    row.extend(next);
    lines.push(Line::from(row));
}

/// How many levels the policy has, when the timeline shows it: once the policy ran out, or
/// started over, the highest level paged was its last. (The incident itself does not say.)
fn levels(timeline: &[TimelineView]) -> Option<u32> {
    let mut highest = 0;
    let mut complete = false;
    for entry in timeline {
        match &entry.kind {
            TimelineKind::Escalated { level, repeat, .. } => {
                highest = highest.max(*level);
                complete |= *repeat > 0;
            }
            TimelineKind::EscalationExhausted => complete = true,
            _ => {}
        }
    }
    (complete && highest > 0).then_some(highest)
}

/// Who was paged at each step, and each notification's outcome under the step that paged
/// that person. The outcome is spelled out (delivered, failed, gave up); colour only repeats
/// it.
fn pages(state: &State, loaded: &IncidentDetail, lines: &mut Vec<Line<'static>>) {
    let theme = &state.theme;
    let muted = theme.style(Role::Muted);
    let mut steps: Vec<(&TimelineView, Vec<&TimelineView>)> = Vec::new();
    let mut unplaced: Vec<&TimelineView> = Vec::new();
    for entry in &loaded.timeline {
        match &entry.kind {
            TimelineKind::Escalated { .. } => steps.push((entry, Vec::new())),
            TimelineKind::Notified { user, .. } => {
                let step = steps.iter_mut().rev().find(|(step, _)| {
                    matches!(&step.kind, TimelineKind::Escalated { users, .. } if users.contains(user))
                });
                match step {
                    Some((_, notified)) => notified.push(entry),
                    None => unplaced.push(entry),
                }
            }
            _ => {}
        }
    }
    if steps.is_empty() && unplaced.is_empty() {
        return;
    }
    lines.push(Line::raw(""));
    let sent = steps
        .iter()
        .map(|(_, notified)| notified.len())
        .sum::<usize>()
        + unplaced.len();
    let count = |number: usize, what: &str| match number {
        1 => format!("1 {what}"),
        _ => format!("{number} {what}s"),
    };
    lines.push(Line::styled(
        format!(
            " Pages ({}, {})",
            count(steps.len(), "step"),
            count(sent, "notification")
        ),
        theme.style(Role::Header),
    ));
    let notification = |entry: &TimelineView| {
        let role = match &entry.kind {
            TimelineKind::Notified {
                outcome: Delivery::Delivered { .. },
                ..
            } => Role::Delivered,
            TimelineKind::Notified {
                outcome: Delivery::Failed { .. },
                ..
            } => Role::DeliveryFailed,
            _ => Role::GaveUp,
        };
        Line::from(vec![
            Span::styled(format!(" {}   ", clock(entry.at, state.now)), muted),
            Span::styled(sanitize(&entry.description).into_owned(), theme.style(role)),
        ])
    };
    for (step, notified) in &steps {
        lines.push(Line::from(vec![
            Span::styled(format!(" {} ", clock(step.at, state.now)), muted),
            Span::raw(sanitize(&step.description).into_owned()),
        ]));
        lines.extend(notified.iter().map(|entry| notification(entry)));
    }
    lines.extend(unplaced.into_iter().map(notification));
}
