//! Postmortem drafts: the figures of an incident (when it started, was detected,
//! acknowledged and resolved, who took part, who was paged, what was found) and a blameless
//! Markdown draft built from them. Pure: time is a parameter; depends on the domain and on
//! the store's `AlertRecord` shape only.

use super::findings::{Finding, FindingTag, Findings};
use super::incident::{
    Actor, Delivery, Incident, IncidentId, IncidentStatus, TimelineEntry, TimelineKind,
};
use super::severity::Severity;
use crate::domain::alert::AlertStatus;
// The one type from outside the domain: a plain record with no storage behaviour.
use super::alert::AlertRecord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::iter::Peekable;
use std::str::Chars;

/// The numbers behind a postmortem, for the draft, analytics and the API alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostmortemFacts {
    pub incident: IncidentId,
    pub status: IncidentStatus,
    /// When these figures were computed: those of an open incident still change.
    pub as_of: DateTime<Utc>,
    /// The first alert: the earliest start a source reported for a firing alert, or the
    /// incident's opening when no source said.
    pub started_at: DateTime<Utc>,
    /// When klaxon opened the incident.
    pub detected_at: DateTime<Utc>,
    /// The first acknowledgement (a snooze of a triggered incident counts: it acknowledges).
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    /// Resolved because the source said so rather than by a person.
    pub resolved_by_source: bool,
    /// Started → detected.
    pub time_to_detect_seconds: i64,
    /// Detected → first acknowledgement (MTTA).
    pub time_to_acknowledge_seconds: Option<i64>,
    /// Detected → resolved (MTTR).
    pub time_to_resolve_seconds: Option<i64>,
    pub severity: Severity,
    pub initial_severity: Severity,
    /// The most urgent severity the incident had at any time.
    pub worst_severity: Severity,
    /// The incident's service first, then any other service its alerts named.
    pub services: Vec<String>,
    pub alert_count: u32,
    /// The escalation policy that paged, if any did.
    pub escalation_policy: Option<String>,
    /// The highest level paged; 0 when nobody was paged.
    pub highest_level: u32,
    /// People who acted or wrote, in the order they first did.
    pub participants: Vec<Participant>,
    /// People escalation paged, in the order they were first paged.
    pub paged: Vec<PagedUser>,
    pub findings: Findings,
}

/// What one person did to an incident, counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub name: String,
    pub acknowledged: u32,
    pub resolved: u32,
    pub notes: u32,
    /// Notes carrying a finding tag (counted in `notes` too).
    pub findings: u32,
    pub reassigned: u32,
    pub severity_changes: u32,
    pub snoozed: u32,
    /// Escalations by hand (escalate-now).
    pub escalated: u32,
}

/// One person escalation paged, and how the notifications to them went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagedUser {
    pub user: String,
    pub first_paged_at: DateTime<Utc>,
    /// The levels that paged them, each once, in order.
    pub levels: Vec<u32>,
    pub delivered: u32,
    /// Attempts that failed and were tried again.
    pub failed_attempts: u32,
    /// Notifications given up after their last attempt.
    pub gave_up: u32,
}

/// Computes the figures of an incident from its record, its timeline (any order) and its
/// alerts. Where the timeline lacks an entry (a partial one), the incident's fields stand in.
pub fn facts(
    incident: &Incident,
    timeline: &[TimelineEntry],
    alerts: &[AlertRecord],
    now: DateTime<Utc>,
) -> PostmortemFacts {
    let entries = in_order(timeline);
    let detected_at = incident.created_at;
    let started_at = alerts
        .iter()
        .filter_map(alert_start)
        .chain(std::iter::once(detected_at))
        .min()
        .unwrap_or(detected_at);

    let first_acknowledgement = entries.iter().find(|entry| {
        matches!(
            entry.kind,
            TimelineKind::Acknowledged | TimelineKind::Snoozed { .. }
        )
    });
    let (acknowledged_at, acknowledged_by) = match first_acknowledgement {
        Some(entry) => (Some(entry.at), Some(entry.actor.to_string())),
        None => (incident.acknowledged_at, incident.acknowledged_by.clone()),
    };

    let resolution = entries
        .iter()
        .rev()
        .find(|entry| matches!(entry.kind, TimelineKind::Resolved { .. }));
    let (resolved_at, resolved_by, resolved_by_source) = if incident.status.is_open() {
        (None, None, false)
    } else {
        match resolution {
            Some(entry) => (
                incident.resolved_at.or(Some(entry.at)),
                Some(entry.actor.to_string()),
                matches!(entry.kind, TimelineKind::Resolved { by_source: true }),
            ),
            None => (
                incident.resolved_at,
                incident.resolved_by.clone(),
                // The incident keeps who resolved it as the actor's display name only.
                incident.resolved_by.as_deref()
                    == Some(&Actor::Integration(incident.integration.clone()).to_string()),
            ),
        }
    };

    let severity_changes: Vec<(Severity, Severity)> = entries
        .iter()
        .filter_map(|entry| match entry.kind {
            TimelineKind::SeverityChanged { from, to } => Some((from, to)),
            _ => None,
        })
        .collect();
    let initial_severity = severity_changes
        .first()
        .map_or(incident.severity, |(from, _)| *from);
    let worst_severity = severity_changes
        .iter()
        .map(|(_, to)| *to)
        .chain([initial_severity, incident.severity])
        .min()
        .unwrap_or(incident.severity);

    let mut services: Vec<String> = incident.service.iter().cloned().collect();
    for alert in alerts {
        if let Some(service) = &alert.event.service {
            if !services.contains(service) {
                services.push(service.clone());
            }
        }
    }

    let mut escalation_policy = None;
    let mut highest_level = 0;
    for entry in &entries {
        if let TimelineKind::Escalated { policy, level, .. } = &entry.kind {
            escalation_policy.get_or_insert_with(|| policy.clone());
            highest_level = highest_level.max(*level);
        }
    }

    let seconds = |from: DateTime<Utc>, to: DateTime<Utc>| (to - from).num_seconds();
    PostmortemFacts {
        incident: incident.id,
        status: incident.status,
        as_of: now,
        started_at,
        detected_at,
        acknowledged_at,
        acknowledged_by,
        resolved_at,
        resolved_by,
        resolved_by_source,
        time_to_detect_seconds: seconds(started_at, detected_at),
        time_to_acknowledge_seconds: acknowledged_at.map(|at| seconds(detected_at, at)),
        time_to_resolve_seconds: resolved_at.map(|at| seconds(detected_at, at)),
        severity: incident.severity,
        initial_severity,
        worst_severity,
        services,
        alert_count: incident.alert_count,
        escalation_policy,
        highest_level,
        participants: participants(&entries),
        paged: paged(&entries),
        findings: Findings::from_timeline(timeline),
    }
}

/// When an alert started, if its latest record still says. A resolution's source time is
/// when the alert ended; Alertmanager and Grafana keep the start in `details.startsAt` even
/// then, other sources' resolutions lose it (the store keeps each alert's latest record).
fn alert_start(alert: &AlertRecord) -> Option<DateTime<Utc>> {
    match alert.event.status {
        AlertStatus::Firing => alert.event.source_time,
        AlertStatus::Acknowledged | AlertStatus::Resolved => alert
            .event
            .details
            .get("startsAt")
            .and_then(|value| value.as_str())
            .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
            .map(|at| at.with_timezone(&Utc)),
    }
}

fn in_order(timeline: &[TimelineEntry]) -> Vec<&TimelineEntry> {
    let mut entries: Vec<&TimelineEntry> = timeline.iter().collect();
    // The sequence number is the order things happened in, whatever the clock said.
    entries.sort_by_key(|entry| entry.seq);
    entries
}

fn participants(entries: &[&TimelineEntry]) -> Vec<Participant> {
    let mut people: Vec<Participant> = Vec::new();
    for entry in entries {
        let Actor::User(name) = &entry.actor else {
            continue;
        };
        let position = match people.iter().position(|person| &person.name == name) {
            Some(position) => position,
            None => {
                people.push(Participant {
                    name: name.clone(),
                    ..Participant::default()
                });
                people.len() - 1
            }
        };
        let person = &mut people[position];
        match &entry.kind {
            TimelineKind::Acknowledged => person.acknowledged += 1,
            TimelineKind::Resolved { .. } => person.resolved += 1,
            TimelineKind::Note { text } => {
                person.notes += 1;
                if !super::findings::finding_tags(text).is_empty() {
                    person.findings += 1;
                }
            }
            TimelineKind::Reassigned { .. } => person.reassigned += 1,
            TimelineKind::SeverityChanged { .. } => person.severity_changes += 1,
            TimelineKind::Snoozed { .. } => person.snoozed += 1,
            TimelineKind::Escalated { .. } => person.escalated += 1,
            // Anything else a person caused is part of one of the above (escalating an
            // acknowledged incident writes "back to triggered" before the escalation).
            _ => {}
        }
    }
    people
}

fn paged(entries: &[&TimelineEntry]) -> Vec<PagedUser> {
    let mut paged: Vec<PagedUser> = Vec::new();
    for entry in entries {
        match &entry.kind {
            TimelineKind::Escalated { level, users, .. } => {
                for user in users {
                    let person = paged_user(&mut paged, user, entry.at);
                    if !person.levels.contains(level) {
                        person.levels.push(*level);
                    }
                }
            }
            TimelineKind::Notified { user, outcome, .. } => {
                let person = paged_user(&mut paged, user, entry.at);
                match outcome {
                    Delivery::Delivered { .. } => person.delivered += 1,
                    Delivery::Failed { .. } => person.failed_attempts += 1,
                    Delivery::GaveUp { .. } => person.gave_up += 1,
                }
            }
            _ => {}
        }
    }
    paged
}

fn paged_user<'a>(
    paged: &'a mut Vec<PagedUser>,
    user: &str,
    at: DateTime<Utc>,
) -> &'a mut PagedUser {
    let position = match paged.iter().position(|person| person.user == user) {
        Some(position) => position,
        None => {
            paged.push(PagedUser {
                user: user.to_string(),
                first_paged_at: at,
                levels: Vec::new(),
                delivered: 0,
                failed_attempts: 0,
                gave_up: 0,
            });
            paged.len() - 1
        }
    };
    &mut paged[position]
}

/// A blameless postmortem draft in Markdown: the facts filled in from the record, and
/// prompts where only people can write. Works for open incidents too (figures as of `now`).
/// Every piece of text that came from users or sources is made inert first: no terminal
/// escape sequences, no control characters, no HTML, and no `|` that could break a table.
pub fn draft(
    incident: &Incident,
    timeline: &[TimelineEntry],
    alerts: &[AlertRecord],
    now: DateTime<Utc>,
) -> String {
    let facts = facts(incident, timeline, alerts, now);
    let entries = in_order(timeline);
    let clock = Clock::new(facts.started_at, &entries);
    let context = Context {
        incident,
        alerts,
        facts: &facts,
        entries: &entries,
        clock: &clock,
    };
    let mut document = Document::default();
    context.title(&mut document);
    context.summary(&mut document);
    context.impact(&mut document);
    context.timeline(&mut document);
    context.findings(&mut document);
    context.contributing_factors(&mut document);
    context.lessons(&mut document);
    context.action_items(&mut document);
    context.participants(&mut document);
    context.alerts(&mut document);
    document.text
}

/// Notes longer than this are quoted up to it, with a pointer to the full text in klaxon:
/// a draft stays readable even when someone pasted a whole log into a note.
const NOTE_QUOTE_CHARS: usize = 2_000;
/// Notes this short and on one line are shown whole in the timeline table.
const NOTE_INLINE_CHARS: usize = 160;
/// Machine text (titles, failure reasons, label values) in table cells is cut here.
const CELL_CHARS: usize = 200;
const LABEL_VALUE_CHARS: usize = 60;
const LABELS_PER_ALERT: usize = 8;

#[derive(Default)]
struct Document {
    text: String,
}

impl Document {
    fn line(&mut self, line: impl AsRef<str>) {
        self.text.push_str(line.as_ref());
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }

    fn heading(&mut self, heading: &str) {
        self.blank();
        self.line(format!("## {heading}"));
        self.blank();
    }
}

/// Times in the timeline: the date only when the incident spans more than one day.
struct Clock {
    start: DateTime<Utc>,
    one_day: bool,
}

impl Clock {
    fn new(start: DateTime<Utc>, entries: &[&TimelineEntry]) -> Clock {
        let one_day = entries
            .iter()
            .all(|entry| entry.at.date_naive() == start.date_naive());
        Clock { start, one_day }
    }

    fn time(&self, at: DateTime<Utc>) -> String {
        if self.one_day {
            at.format("%H:%M:%S").to_string()
        } else {
            at.format("%Y-%m-%d %H:%M:%S").to_string()
        }
    }

    fn offset(&self, at: DateTime<Utc>) -> String {
        offset((at - self.start).num_seconds())
    }

    /// When and how long after the start, for quoting a note: `02:24:00 (+12m)`.
    fn moment(&self, at: DateTime<Utc>) -> String {
        format!("{} ({})", self.time(at), self.offset(at))
    }
}

struct Context<'a> {
    incident: &'a Incident,
    alerts: &'a [AlertRecord],
    facts: &'a PostmortemFacts,
    entries: &'a [&'a TimelineEntry],
    clock: &'a Clock,
}

impl Context<'_> {
    fn title(&self, document: &mut Document) {
        let incident = self.incident;
        document.line(format!(
            "# Postmortem: incident #{} ({}) — {}",
            incident.id,
            incident.severity.label(),
            heading_text(&incident.title)
        ));
        document.blank();
        document.line(format!(
            "> Draft written by klaxon at {} from the incident's record: its timeline, alerts \
             and tagged notes.",
            full_time(self.facts.as_of)
        ));
        document.line(
            "> Blameless: we ask what in our systems and conditions made this possible and \
             what made it hard to handle, not who erred.",
        );
        document.line("> The facts are filled in; replace every TODO with what only people know.");
        if self.incident.status.is_open() {
            document.line(format!(
                "> **The incident is still open** ({}): its figures will change. Draft again \
                 once it is resolved.",
                self.incident.status.as_str()
            ));
        }
    }

    fn summary(&self, document: &mut Document) {
        let facts = self.facts;
        let incident = self.incident;
        document.heading("Summary");
        let mut sentences = Vec::new();

        let source = self
            .entries
            .iter()
            .find(|entry| matches!(entry.kind, TimelineKind::Triggered { .. }))
            .map_or_else(
                || format!("integration {}", incident.integration),
                |entry| entry.actor.to_string(),
            );
        let service = match &incident.service {
            Some(service) => format!(" for {}", inline(service)),
            None => String::new(),
        };
        let started = if facts.started_at < facts.detected_at {
            format!(
                "the first alert started at {} and klaxon opened incident #{} {} later",
                day_time(facts.started_at),
                incident.id,
                human_duration(facts.time_to_detect_seconds)
            )
        } else {
            format!(
                "klaxon opened incident #{} at {}",
                incident.id,
                day_time(facts.detected_at)
            )
        };
        sentences.push(format!(
            "{} reported “{}”{service}, severity {}; {started}.",
            capitalized(&inline(&source)),
            inline(&incident.title),
            facts.initial_severity,
        ));

        let mut alerts = Vec::new();
        if facts.alert_count > 1 {
            alerts.push(format!("{} alerts fired in all", facts.alert_count));
        }
        if facts.severity != facts.initial_severity {
            alerts.push(format!("the severity became {}", facts.severity));
        } else if facts.worst_severity != facts.severity {
            alerts.push(format!(
                "the severity reached {} for a while",
                facts.worst_severity
            ));
        }
        if !alerts.is_empty() {
            sentences.push(format!("{}.", capitalized(&join_words(&alerts))));
        }

        sentences.push(self.paging_sentence());

        let acknowledgement = match (&facts.acknowledged_by, facts.time_to_acknowledge_seconds) {
            (Some(who), Some(seconds)) => format!(
                "It was acknowledged by {} {} after it opened.",
                inline(who),
                human_duration(seconds)
            ),
            _ if incident.status.is_open() => "Nobody has acknowledged it yet.".to_string(),
            _ => "Nobody acknowledged it.".to_string(),
        };
        sentences.push(acknowledgement);

        let resolution = match (&facts.resolved_by, facts.time_to_resolve_seconds) {
            (Some(who), Some(seconds)) if facts.resolved_by_source => format!(
                "It was resolved by the source, {}, {} after it opened.",
                inline(who),
                human_duration(seconds)
            ),
            (Some(who), Some(seconds)) => format!(
                "It was resolved by hand by {} {} after it opened.",
                inline(who),
                human_duration(seconds)
            ),
            (None, Some(seconds)) => format!(
                "It was resolved {} after it opened.",
                human_duration(seconds)
            ),
            _ => format!(
                "It is still open at {}, {} after it opened.",
                day_time(facts.as_of),
                human_duration((facts.as_of - facts.detected_at).num_seconds())
            ),
        };
        sentences.push(resolution);

        document.line(sentences.join(" "));
        document.blank();
        document.line(
            "TODO: In two or three sentences, for someone who was not there: what broke, what \
             users saw, and what brought the service back.",
        );
    }

    /// Who was paged and how it went, or why nobody was.
    fn paging_sentence(&self) -> String {
        let facts = self.facts;
        let mut parts = Vec::new();
        if !facts.paged.is_empty() {
            let people: Vec<String> = facts
                .paged
                .iter()
                .map(|person| {
                    let levels: Vec<String> = person
                        .levels
                        .iter()
                        .map(|level| level.to_string())
                        .collect();
                    match levels.len() {
                        0 => inline(&person.user),
                        1 => format!("{} (level {})", inline(&person.user), levels[0]),
                        _ => format!("{} (levels {})", inline(&person.user), levels.join(", ")),
                    }
                })
                .collect();
            let through = match &facts.escalation_policy {
                Some(policy) => format!(" through policy {}", inline(policy)),
                None => String::new(),
            };
            parts.push(format!("escalation paged {}{through}", join_words(&people)));
            let failed: u32 = facts
                .paged
                .iter()
                .map(|person| person.failed_attempts)
                .sum();
            let gave_up: u32 = facts.paged.iter().map(|person| person.gave_up).sum();
            if failed > 0 {
                parts.push(format!(
                    "{} failed and {} tried again",
                    count(failed, "delivery attempt", "delivery attempts"),
                    if failed == 1 { "was" } else { "were" }
                ));
            }
            if gave_up > 0 {
                parts.push(format!(
                    "it gave up on {}",
                    count(gave_up, "notification", "notifications")
                ));
            }
        }
        for entry in self.entries {
            match &entry.kind {
                TimelineKind::Escalated { level, users, .. } if users.is_empty() => {
                    parts.push(format!("level {level} found nobody on call"));
                }
                TimelineKind::Escalated {
                    level,
                    manual: true,
                    ..
                } => parts.push(format!(
                    "level {level} was paged by hand by {}",
                    inline(&entry.actor.to_string())
                )),
                TimelineKind::EscalationExhausted => {
                    parts.push("the policy ran out of levels".to_string());
                }
                TimelineKind::NotPaged { reason } => {
                    parts.push(format!("nobody was paged: {}", inline(reason)));
                }
                TimelineKind::Silenced { summary, .. } => {
                    parts.push(format!("{} held it, so nobody was paged", inline(summary)));
                }
                _ => {}
            }
        }
        if parts.is_empty() {
            return "The timeline records no paging.".to_string();
        }
        format!("{}.", capitalized(&parts.join("; ")))
    }

    fn impact(&self, document: &mut Document) {
        let facts = self.facts;
        document.heading("Impact");
        let services = if facts.services.is_empty() {
            "none recorded".to_string()
        } else {
            facts
                .services
                .iter()
                .map(|service| inline(service))
                .collect::<Vec<_>>()
                .join(", ")
        };
        document.line(format!("- **Services:** {services}"));

        let changes: Vec<String> = self
            .entries
            .iter()
            .filter_map(|entry| match entry.kind {
                TimelineKind::SeverityChanged { from, to } => Some(format!(
                    "{} from {from} to {to} at {} by {}",
                    // Severities order from the most urgent: a smaller one is a raise.
                    if to < from { "raised" } else { "lowered" },
                    self.clock.time(entry.at),
                    inline(&entry.actor.to_string())
                )),
                _ => None,
            })
            .collect();
        if changes.is_empty() {
            document.line(format!("- **Severity:** {}, unchanged", facts.severity));
        } else {
            document.line(format!(
                "- **Severity:** {} (opened as {}; {})",
                facts.severity,
                facts.initial_severity,
                changes.join(", ")
            ));
        }

        let started_how = if facts.started_at < facts.detected_at {
            "the first alert, as its source reports"
        } else {
            "the source gave no earlier start, so this is when the incident opened"
        };
        document.line(format!(
            "- **Started:** {} ({started_how})",
            full_time(facts.started_at)
        ));
        let delay = if facts.time_to_detect_seconds > 0 {
            format!(
                ", {} after it started",
                human_duration(facts.time_to_detect_seconds)
            )
        } else {
            String::new()
        };
        document.line(format!(
            "- **Detected:** {}, when klaxon opened the incident{delay}",
            full_time(facts.detected_at)
        ));
        let acknowledged = match (
            facts.acknowledged_at,
            &facts.acknowledged_by,
            facts.time_to_acknowledge_seconds,
        ) {
            (Some(at), who, Some(seconds)) => format!(
                "{}{} — time to acknowledge (MTTA) **{}**",
                full_time(at),
                who.as_ref()
                    .map(|who| format!(" by {}", inline(who)))
                    .unwrap_or_default(),
                human_duration(seconds)
            ),
            _ if self.incident.status.is_open() => {
                format!("not yet, at {}", full_time(facts.as_of))
            }
            _ => "never".to_string(),
        };
        document.line(format!("- **Acknowledged:** {acknowledged}"));
        let resolved = match (
            facts.resolved_at,
            &facts.resolved_by,
            facts.time_to_resolve_seconds,
        ) {
            (Some(at), who, Some(seconds)) => format!(
                "{}{}{} — time to resolve (MTTR) **{}**",
                full_time(at),
                who.as_ref()
                    .map(|who| format!(" by {}", inline(who)))
                    .unwrap_or_default(),
                if facts.resolved_by_source {
                    " (the source)"
                } else {
                    ""
                },
                human_duration(seconds)
            ),
            _ => format!(
                "still open at {}, {} after it opened",
                full_time(facts.as_of),
                human_duration((facts.as_of - facts.detected_at).num_seconds())
            ),
        };
        document.line(format!("- **Resolved:** {resolved}"));
        document.line(format!("- **Alerts:** {}", facts.alert_count));

        let tagged = &facts.findings.impact;
        if !tagged.is_empty() {
            document.blank();
            document.line("From the notes tagged `#impact`:");
            document.blank();
            self.finding_list(document, tagged);
        }
        document.blank();
        document.line(
            "TODO: Who and what was affected, and how much (users, requests, orders, data)? \
             Could users tell, what did they see, and for how long?",
        );
    }

    fn timeline(&self, document: &mut Document) {
        document.heading("Timeline");
        if self.entries.is_empty() {
            document.line("The incident's timeline is empty.");
            return;
        }
        let day = if self.clock.one_day {
            format!("Times are UTC on {}", self.clock.start.format("%Y-%m-%d"))
        } else {
            "Times are UTC".to_string()
        };
        document.line(format!(
            "{day}; offsets count from the start ({}). **Detection** is what the monitoring \
             saw, **propagation** who klaxon paged and how, **actions** what people did.",
            self.clock.time(self.clock.start)
        ));
        document.blank();
        document.line("| Time | Offset | Phase | Who | What |");
        document.line("| --- | --- | --- | --- | --- |");
        let mut long_notes = Vec::new();
        for entry in self.entries {
            let what = match &entry.kind {
                TimelineKind::Note { text } => {
                    let clean = plain(text);
                    let clean = clean.trim();
                    if !clean.contains('\n') && clean.chars().count() <= NOTE_INLINE_CHARS {
                        format!("note: {}", cell(clean, NOTE_INLINE_CHARS))
                    } else {
                        long_notes.push(*entry);
                        let first_line = clean.lines().next().unwrap_or_default();
                        let mut preview = truncated(first_line.trim_end(), 80);
                        if !preview.ends_with('…') {
                            preview.push_str(" …");
                        }
                        format!("note: {} (in full below)", cell(&preview, 80))
                    }
                }
                kind => cell(&what_happened(kind, self.clock), CELL_CHARS),
            };
            document.line(format!(
                "| {} | {} | {} | {} | {what} |",
                self.clock.time(entry.at),
                self.clock.offset(entry.at),
                phase(entry).as_str(),
                cell(&entry.actor.to_string(), 60),
            ));
        }
        if !long_notes.is_empty() {
            document.blank();
            document.line("### Notes in full");
            document.blank();
            for entry in long_notes {
                if let TimelineKind::Note { text } = &entry.kind {
                    document.line(format!(
                        "- {} at {}:",
                        inline(&entry.actor.to_string()),
                        self.clock.moment(entry.at)
                    ));
                    for line in quote(text, "  ") {
                        document.line(line);
                    }
                }
            }
        }
    }

    fn findings(&self, document: &mut Document) {
        let findings = &self.facts.findings;
        document.heading("Findings");
        if findings.is_empty() {
            document.line(
                "No note was tagged as a finding. Tag a note with `#cause`, `#impact`, \
                 `#action` or `#lesson` anywhere in its text (in the console with `c`, or \
                 `klaxon note ID \"#cause …\"`) and draft again, or write the findings here.",
            );
            return;
        }
        document.line("Notes tagged during the incident, quoted without their tags.");
        let mut untagged = Vec::new();
        for tag in FindingTag::ALL {
            let tagged = findings.tagged(tag);
            if tagged.is_empty() {
                untagged.push(format!("`{}`", tag.hashtag()));
                continue;
            }
            document.blank();
            document.line(format!("### {} (`{}`)", tag_heading(tag), tag.hashtag()));
            document.blank();
            self.finding_list(document, tagged);
        }
        if !untagged.is_empty() {
            document.blank();
            document.line(format!("Nothing tagged {} yet.", join_words_or(&untagged)));
        }
    }

    fn finding_list(&self, document: &mut Document, findings: &[Finding]) {
        for finding in findings {
            document.line(format!(
                "- {} at {}:",
                inline(&finding.author.to_string()),
                self.clock.moment(finding.at)
            ));
            let lines = quote(&finding.text, "  ");
            if lines.is_empty() {
                document.line("  > (the note holds only its tag)");
            }
            for line in lines {
                document.line(line);
            }
        }
    }

    fn contributing_factors(&self, document: &mut Document) {
        let facts = self.facts;
        document.heading("Contributing factors");
        document.line(
            "Which conditions in our systems and ways of working, together, made this \
             possible or made it worse? Incidents rarely have one root cause; where a person's \
             action mattered, ask what made it look right at the time.",
        );
        document.blank();
        for finding in &facts.findings.cause {
            document.line(format!(
                "- {} (from {}'s `#cause` note at {})",
                inline(&first_line(&finding.text)),
                inline(&finding.author.to_string()),
                self.clock.time(finding.at)
            ));
        }
        document.line(
            "- TODO: What changed shortly before it started (a deploy, configuration, \
             traffic, a dependency, the time of day)?",
        );
        document.line(
            "- TODO: Which safeguards (tests, limits, alerts, rollbacks) did not stop it, and \
             what let it through?",
        );
        let mut times = Vec::new();
        if facts.time_to_detect_seconds > 0 {
            times.push(format!(
                "detected {} after it started",
                human_duration(facts.time_to_detect_seconds)
            ));
        }
        let open = self.incident.status.is_open();
        times.push(match facts.time_to_acknowledge_seconds {
            Some(seconds) => format!("acknowledged {} after it opened", human_duration(seconds)),
            None if open => "not acknowledged yet".to_string(),
            None => "never acknowledged".to_string(),
        });
        times.push(match facts.time_to_resolve_seconds {
            Some(seconds) => format!("resolved {} after it opened", human_duration(seconds)),
            None => format!(
                "still open {} after it opened",
                human_duration((facts.as_of - facts.detected_at).num_seconds())
            ),
        });
        document.line(format!(
            "- TODO: {}. What shaped these times, and what made it harder to notice, diagnose \
             or repair?",
            capitalized(&join_words(&times))
        ));
    }

    fn lessons(&self, document: &mut Document) {
        let facts = self.facts;
        document.heading("Lessons learned");
        for finding in &facts.findings.lesson {
            document.line(format!(
                "- {} (from {}'s `#lesson` note at {})",
                inline(&first_line(&finding.text)),
                inline(&finding.author.to_string()),
                self.clock.time(finding.at)
            ));
        }
        document.line("- TODO: What went well that we should keep doing?");
        document.line("- TODO: What went poorly, or took longer than it should have?");
        document.line("- TODO: Where did we get lucky?");
        // Only what happened before the first acknowledgement says whether people were
        // reachable; a level paged by hand afterwards is a call for help, not a miss.
        let mut level_unanswered = 0;
        let mut nobody_on_call = Vec::new();
        let mut exhausted = false;
        for entry in self.entries {
            match &entry.kind {
                TimelineKind::Acknowledged | TimelineKind::Snoozed { .. } => break,
                TimelineKind::Escalated { level, users, .. } => {
                    level_unanswered = level_unanswered.max(*level);
                    if users.is_empty() {
                        nobody_on_call.push(format!("level {level}"));
                    }
                }
                TimelineKind::EscalationExhausted => exhausted = true,
                _ => {}
            }
        }
        if level_unanswered > 1 {
            document.line(format!(
                "- TODO: Paging reached level {level_unanswered} without an acknowledgement: \
                 did the earlier levels' pages arrive and get noticed, and does the delay \
                 between levels suit this service?"
            ));
        }
        if !nobody_on_call.is_empty() {
            document.line(format!(
                "- TODO: {} had nobody on call: is the schedule complete, and who should \
                 cover the gap?",
                capitalized(&join_words(&nobody_on_call))
            ));
        }
        if exhausted {
            document.line(
                "- TODO: Escalation ran out of levels without an acknowledgement: who else \
                 could have been reached, and how?",
            );
        }
        let failed: u32 = facts
            .paged
            .iter()
            .map(|person| person.failed_attempts + person.gave_up)
            .sum();
        if failed > 0 {
            document.line(
                "- TODO: Some notifications failed (see the timeline): is every contact \
                 method tested, and is there a second way to reach people?",
            );
        }
        if facts.paged.is_empty() {
            document.line(
                "- TODO: Nobody was paged: should this kind of incident page someone, and whom?",
            );
        }
    }

    fn action_items(&self, document: &mut Document) {
        let facts = self.facts;
        document.heading("Action items");
        document.line(
            "Each item should make a contributing factor less likely or its effect smaller: \
             prevent it, detect it sooner, or recover faster. One owner and a date each; \
             improve systems, not vigilance.",
        );
        document.blank();
        document.line("| Action | Kind | Owner | Due | Ticket |");
        document.line("| --- | --- | --- | --- | --- |");
        for finding in &facts.findings.action {
            document.line(format!(
                "| {} (from {}'s note) | TODO: prevent, detect or mitigate | TODO | TODO | |",
                cell(&finding.text, CELL_CHARS),
                cell(&finding.author.to_string(), 60)
            ));
        }
        document.line("| TODO | TODO: prevent, detect or mitigate | TODO | TODO | |");
    }

    fn participants(&self, document: &mut Document) {
        let facts = self.facts;
        document.heading("Participants");
        // In the order they came into the story, paged or acting, as a reader meets them.
        let mut names: Vec<&str> = Vec::new();
        for entry in self.entries {
            let involved: Vec<&str> = match (&entry.actor, &entry.kind) {
                (Actor::User(name), _) => vec![name.as_str()],
                (_, TimelineKind::Escalated { users, .. }) => {
                    users.iter().map(String::as_str).collect()
                }
                (_, TimelineKind::Notified { user, .. }) => vec![user.as_str()],
                _ => Vec::new(),
            };
            for name in involved {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        if names.is_empty() {
            document.line("Nobody was paged and nobody acted on the incident.");
        } else {
            document.line("| Person | Paged | Did |");
            document.line("| --- | --- | --- |");
            for name in names {
                let paged = facts
                    .paged
                    .iter()
                    .find(|person| person.user == name)
                    .map_or_else(|| "not paged".to_string(), |person| self.paging_of(person));
                let did = facts
                    .participants
                    .iter()
                    .find(|person| person.name == name)
                    .map_or_else(|| "—".to_string(), activity);
                document.line(format!(
                    "| {} | {} | {} |",
                    cell(name, 60),
                    cell(&paged, CELL_CHARS * 2),
                    cell(&did, CELL_CHARS)
                ));
            }
        }
        let mut sources: Vec<String> = Vec::new();
        for entry in self.entries {
            if let Actor::Integration(_) = &entry.actor {
                let name = entry.actor.to_string();
                if !sources.contains(&name) {
                    sources.push(name);
                }
            }
        }
        if !sources.is_empty() {
            document.blank();
            let sources: Vec<String> = sources.iter().map(|source| inline(source)).collect();
            document.line(format!("Alerts came from {}.", join_words(&sources)));
        }
    }

    /// How one person was paged: the levels and, per contact method, each outcome in turn.
    fn paging_of(&self, person: &PagedUser) -> String {
        let mut parts = Vec::new();
        if !person.levels.is_empty() {
            let levels: Vec<String> = person
                .levels
                .iter()
                .map(|level| level.to_string())
                .collect();
            parts.push(format!(
                "level {} at {}",
                levels.join(", "),
                self.clock.time(person.first_paged_at)
            ));
        }
        let mut contacts: Vec<(String, Vec<&'static str>)> = Vec::new();
        for entry in self.entries {
            let TimelineKind::Notified {
                user,
                contact,
                channel,
                outcome,
            } = &entry.kind
            else {
                continue;
            };
            if user != &person.user {
                continue;
            }
            let via = if contact == channel.as_str() {
                contact.clone()
            } else {
                format!("{contact} ({channel})")
            };
            let word = match outcome {
                Delivery::Delivered { .. } => "delivered",
                Delivery::Failed { .. } => "failed",
                Delivery::GaveUp { .. } => "gave up",
            };
            match contacts.iter_mut().find(|(name, _)| name == &via) {
                Some((_, outcomes)) => outcomes.push(word),
                None => contacts.push((via, vec![word])),
            }
        }
        for (via, outcomes) in contacts {
            parts.push(format!("{via}: {}", outcomes.join(" → ")));
        }
        parts.join("; ")
    }

    fn alerts(&self, document: &mut Document) {
        document.heading("Alerts");
        let incident = self.incident;
        if self.alerts.is_empty() {
            document.line(format!(
                "No alert payload was stored with this incident ({} counted).",
                count(incident.alert_count, "alert", "alerts")
            ));
        } else {
            let mut alerts: Vec<&AlertRecord> = self.alerts.iter().collect();
            // In the order they started, as far as the records say.
            alerts.sort_by_key(|alert| {
                (
                    alert_start(alert).unwrap_or(alert.received_at),
                    alert.key.clone(),
                )
            });
            // Labels every alert shares are said once: in a group from Alertmanager they are
            // most of them, and repeating them would hide what tells the alerts apart.
            let common: Vec<(&str, &str)> = if alerts.len() > 1 {
                alerts[0]
                    .event
                    .labels
                    .iter()
                    .filter(|(name, value)| {
                        alerts
                            .iter()
                            .all(|alert| alert.event.labels.get(*name) == Some(*value))
                    })
                    .map(|(name, value)| (name.as_str(), value.as_str()))
                    .collect()
            } else {
                Vec::new()
            };
            document.line(format!(
                "{}, each as its source last reported it.",
                capitalized(&count(alerts.len() as u32, "alert", "alerts"))
            ));
            if !common.is_empty() {
                document.blank();
                document.line(format!(
                    "Labels on every alert: {}.",
                    inline(&labels_text(common.iter().copied()))
                ));
            }
            document.blank();
            document.line("| Alert | Status | Severity | Started | Last report | Labels |");
            document.line("| --- | --- | --- | --- | --- | --- |");
            for alert in alerts {
                let event = &alert.event;
                let labels = labels_text(
                    event
                        .labels
                        .iter()
                        .map(|(name, value)| (name.as_str(), value.as_str()))
                        .filter(|label| !common.contains(label)),
                );
                let status = match event.status {
                    AlertStatus::Firing => "firing",
                    AlertStatus::Acknowledged => "acknowledged",
                    AlertStatus::Resolved => "resolved",
                };
                // A resolution's record carries no title of its own with some sources.
                let title = if event.title.trim().is_empty() {
                    alert.key.as_str()
                } else {
                    event.title.as_str()
                };
                let started =
                    alert_start(alert).map_or_else(|| "—".to_string(), |at| self.clock.time(at));
                document.line(format!(
                    "| {} | {status} | {} | {started} | {} | {} |",
                    cell(title, CELL_CHARS),
                    event.severity,
                    self.clock.time(alert.received_at),
                    cell(&labels, CELL_CHARS * 3)
                ));
            }
        }
        if !incident.links.is_empty() {
            document.blank();
            document.line("Links:");
            document.blank();
            for link in &incident.links {
                match &link.text {
                    Some(text) => {
                        document.line(format!("- {}: {}", inline(text), inline(&link.href)))
                    }
                    None => document.line(format!("- {}", inline(&link.href))),
                }
            }
        }
    }
}

/// Which part of the story an entry tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Detection,
    Propagation,
    Actions,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Detection => "detection",
            Phase::Propagation => "propagation",
            Phase::Actions => "actions",
        }
    }
}

fn phase(entry: &TimelineEntry) -> Phase {
    match &entry.kind {
        TimelineKind::Triggered { .. }
        | TimelineKind::AlertFired { .. }
        | TimelineKind::AlertResolved { .. } => Phase::Detection,
        // A source raising the severity is more of what it saw; a person setting it acts.
        TimelineKind::SeverityChanged { .. } => match entry.actor {
            Actor::User(_) => Phase::Actions,
            _ => Phase::Detection,
        },
        TimelineKind::Escalated { .. }
        | TimelineKind::EscalationExhausted
        | TimelineKind::Notified { .. }
        | TimelineKind::NotPaged { .. }
        | TimelineKind::Silenced { .. }
        | TimelineKind::SilenceEnded { .. }
        | TimelineKind::SnoozeEnded
        | TimelineKind::Unacknowledged => Phase::Propagation,
        TimelineKind::Acknowledged
        | TimelineKind::Resolved { .. }
        | TimelineKind::Snoozed { .. }
        | TimelineKind::Reassigned { .. }
        | TimelineKind::BotReply { .. }
        | TimelineKind::Note { .. } => Phase::Actions,
    }
}

/// An entry in words for the timeline table; raw (the caller escapes it).
fn what_happened(kind: &TimelineKind, clock: &Clock) -> String {
    match kind {
        TimelineKind::Triggered { title } => format!("incident opened: {title}"),
        TimelineKind::Resolved { by_source: true } => "resolved by the source".to_string(),
        TimelineKind::Snoozed { until } => format!("snoozed until {}", clock.time(*until)),
        TimelineKind::Notified {
            user,
            contact,
            channel,
            outcome,
        } => {
            let via = if contact == channel.as_str() {
                contact.clone()
            } else {
                format!("{contact} ({channel})")
            };
            match outcome {
                Delivery::Delivered { detail: None } => format!("{via} to {user}: delivered"),
                Delivery::Delivered {
                    detail: Some(detail),
                } => format!("{via} to {user}: delivered ({detail})"),
                Delivery::Failed {
                    reason,
                    attempt,
                    of,
                } => format!("{via} to {user}: attempt {attempt} of {of} failed: {reason}"),
                Delivery::GaveUp { reason, attempts } => {
                    format!("{via} to {user}: gave up after {attempts} attempts: {reason}")
                }
            }
        }
        other => other.describe(),
    }
}

fn activity(person: &Participant) -> String {
    let mut parts = Vec::new();
    let times = |verb: &str, times: u32| match times {
        0 => None,
        1 => Some(verb.to_string()),
        n => Some(format!("{verb} {n} times")),
    };
    parts.extend(times("acknowledged", person.acknowledged));
    parts.extend(times("escalated by hand", person.escalated));
    parts.extend(times("snoozed", person.snoozed));
    parts.extend(times("reassigned", person.reassigned));
    parts.extend(times("changed the severity", person.severity_changes));
    if person.notes > 0 {
        let mut notes = count(person.notes, "note", "notes");
        if person.findings > 0 {
            notes.push_str(&format!(
                " ({} tagged as {})",
                person.findings,
                if person.findings == 1 {
                    "a finding"
                } else {
                    "findings"
                }
            ));
        }
        parts.push(notes);
    }
    parts.extend(times("resolved", person.resolved));
    if parts.is_empty() {
        return "—".to_string();
    }
    parts.join(", ")
}

fn tag_heading(tag: FindingTag) -> &'static str {
    match tag {
        FindingTag::Cause => "Causes",
        FindingTag::Impact => "Impact",
        FindingTag::Action => "Actions",
        FindingTag::Lesson => "Lessons",
    }
}

fn labels_text<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let labels: Vec<(&str, &str)> = labels.collect();
    let mut shown: Vec<String> = labels
        .iter()
        .take(LABELS_PER_ALERT)
        .map(|(name, value)| {
            format!(
                "{}={}",
                truncated(name, LABEL_VALUE_CHARS),
                truncated(value, LABEL_VALUE_CHARS)
            )
        })
        .collect();
    if labels.len() > LABELS_PER_ALERT {
        shown.push(format!("and {} more", labels.len() - LABELS_PER_ALERT));
    }
    shown.join(", ")
}

/// A duration for people: `45 s`, `4 min 30 s`, `14 min`, `2 h 5 min`, `3 d 4 h`. Below
/// ten minutes the seconds still matter; above, they are noise.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 60 {
        return format!("{seconds} s");
    }
    if seconds < 600 {
        let (minutes, seconds) = (seconds / 60, seconds % 60);
        return if seconds == 0 {
            format!("{minutes} min")
        } else {
            format!("{minutes} min {seconds} s")
        };
    }
    let minutes = (seconds + 30) / 60;
    if minutes < 60 {
        return format!("{minutes} min");
    }
    if minutes < 24 * 60 {
        let (hours, minutes) = (minutes / 60, minutes % 60);
        return if minutes == 0 {
            format!("{hours} h")
        } else {
            format!("{hours} h {minutes} min")
        };
    }
    let hours = (seconds + 1_800) / 3_600;
    let (days, hours) = (hours / 24, hours % 24);
    if hours == 0 {
        format!("{days} d")
    } else {
        format!("{days} d {hours} h")
    }
}

/// A compact offset from the start for the timeline: `+0s`, `+45s`, `+3m 20s`, `+14m`,
/// `+2h 5m`, `+1d 3h`. Rounded down, so the column never runs ahead of the clock.
fn offset(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "+" };
    let seconds = seconds.abs();
    let (days, hours, minutes, rest) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    let text = if seconds < 60 {
        format!("{rest}s")
    } else if seconds < 600 && rest > 0 {
        format!("{minutes}m {rest}s")
    } else if seconds < 3_600 {
        format!("{minutes}m")
    } else if seconds < 86_400 {
        if minutes > 0 {
            format!("{hours}h {minutes}m")
        } else {
            format!("{hours}h")
        }
    } else if hours > 0 {
        format!("{days}d {hours}h")
    } else {
        format!("{days}d")
    };
    format!("{sign}{text}")
}

fn full_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn day_time(at: DateTime<Utc>) -> String {
    at.format("%H:%M UTC on %Y-%m-%d").to_string()
}

fn count(number: u32, one: &str, many: &str) -> String {
    if number == 1 {
        format!("1 {one}")
    } else {
        format!("{number} {many}")
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_words(words: &[String]) -> String {
    join_with(words, "and")
}

fn join_words_or(words: &[String]) -> String {
    join_with(words, "or")
}

fn join_with(words: &[String], conjunction: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} {conjunction} {last}", rest.join(", ")),
    }
}

fn capitalized(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_uppercase().chain(characters).collect(),
        None => String::new(),
    }
}

fn first_line(text: &str) -> String {
    let clean = plain(text);
    let line = clean.trim().lines().next().unwrap_or_default().to_string();
    let more = clean.trim().lines().nth(1).is_some();
    let line = truncated(&line, CELL_CHARS);
    if more && !line.ends_with('…') {
        format!("{line} …")
    } else {
        line
    }
}

// User text, made safe. Everything that came from a person or a source passes through
// `plain` (terminal and Unicode controls) and then one of `inline`, `cell`, `quote` or
// `heading_text` (Markdown), never straight into the document.

/// Text without anything a terminal or a bidirectional renderer would act on: escape
/// sequences (CSI, OSC and the other strings) are removed whole, other control characters
/// dropped, tabs become spaces and every line break becomes `\n`.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\n' | '\u{2028}' | '\u{2029}' | '\u{85}' => out.push('\n'),
            '\r' => {
                if characters.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\t' => out.push(' '),
            '\u{1b}' => skip_escape(&mut characters),
            '\u{9b}' => skip_control_sequence(&mut characters),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => {
                skip_control_string(&mut characters)
            }
            character if character.is_control() || is_bidi_control(character) => {}
            character => out.push(character),
        }
    }
    out
}

/// After an ESC: the rest of the sequence, whatever kind it is.
fn skip_escape(characters: &mut Peekable<Chars<'_>>) {
    match characters.peek().copied() {
        Some('[') => {
            characters.next();
            skip_control_sequence(characters);
        }
        Some(']' | 'P' | 'X' | '^' | '_') => {
            characters.next();
            skip_control_string(characters);
        }
        Some('\u{20}'..='\u{2f}') => {
            while characters
                .next_if(|c| ('\u{20}'..='\u{2f}').contains(c))
                .is_some()
            {}
            characters.next_if(|c| ('\u{30}'..='\u{7e}').contains(c));
        }
        Some('\u{30}'..='\u{7e}') => {
            characters.next();
        }
        _ => {}
    }
}

/// A CSI's parameters and intermediates, then its final character.
fn skip_control_sequence(characters: &mut Peekable<Chars<'_>>) {
    while characters
        .next_if(|c| ('\u{20}'..='\u{3f}').contains(c))
        .is_some()
    {}
    characters.next_if(|c| ('\u{40}'..='\u{7e}').contains(c));
}

/// An OSC, DCS, SOS, PM or APC string up to its terminator (BEL or ST). It also stops at a
/// line break, which a terminal would not: one unterminated sequence must not swallow the
/// rest of a note.
fn skip_control_string(characters: &mut Peekable<Chars<'_>>) {
    while let Some(&character) = characters.peek() {
        match character {
            '\u{7}' | '\u{9c}' => {
                characters.next();
                return;
            }
            '\u{1b}' => {
                characters.next();
                characters.next_if_eq(&'\\');
                return;
            }
            '\n' | '\r' => return,
            _ => {
                characters.next();
            }
        }
    }
}

/// Embeddings, overrides and isolates can make text display in another order than it is
/// written (the "Trojan Source" trick); a postmortem must read as it is stored.
fn is_bidi_control(character: char) -> bool {
    matches!(character, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Markdown escaping for one line of user text: `<` cannot start HTML, and `|` cannot end
/// a table cell (when `pipes` is set). A backslash just before either is doubled, or it
/// would escape our escape.
fn escape_markdown(text: &str, pipes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut backslashes = 0;
    for character in text.chars() {
        let special = character == '<' || (pipes && character == '|');
        if special {
            out.push_str(&"\\".repeat(backslashes));
        }
        match character {
            '<' => out.push_str("&lt;"),
            '|' if pipes => out.push_str("\\|"),
            character => out.push(character),
        }
        backslashes = if character == '\\' {
            backslashes + 1
        } else {
            0
        };
    }
    out
}

/// User text within a sentence or list item: one line, inert.
fn inline(text: &str) -> String {
    escape_markdown(&one_line(&plain(text)), false)
}

/// User text in a table cell: one line, at most `limit` characters, no `|` that counts.
fn cell(text: &str, limit: usize) -> String {
    escape_markdown(&truncated(&one_line(&plain(text)), limit), true)
}

/// A title in a heading: one line, and a trailing `#` escaped so that Markdown does not take
/// it for the heading's closing sequence.
fn heading_text(text: &str) -> String {
    let line = escape_markdown(&truncated(&one_line(&plain(text)), CELL_CHARS), false);
    match line.strip_suffix('#') {
        Some(rest) => format!("{rest}\\#"),
        None => line,
    }
}

/// User text as a block quote, one `>` line per line, indented to sit in a list item.
/// Nothing can leave the quote: each line is prefixed, and HTML is escaped.
fn quote(text: &str, indent: &str) -> Vec<String> {
    let clean = plain(text);
    let clean = clean.trim();
    let total = clean.chars().count();
    let shown = if total > NOTE_QUOTE_CHARS {
        let cut: String = clean.chars().take(NOTE_QUOTE_CHARS).collect();
        format!(
            "{cut}…\n\n[{} more characters: the whole note is in the incident's timeline]",
            total - NOTE_QUOTE_CHARS
        )
    } else {
        clean.to_string()
    };
    if shown.is_empty() {
        return Vec::new();
    }
    shown
        .lines()
        .map(|line| {
            let line = line.trim_end();
            if line.is_empty() {
                format!("{indent}>")
            } else {
                format!("{indent}> {}", escape_markdown(line, false))
            }
        })
        .collect()
}

/// Line breaks as spaces, runs of spaces as one, ends trimmed.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncated(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alert::{AlertEvent, Link};
    use crate::domain::escalation::ContactKind;
    use crate::domain::incident::Action;
    use chrono::{Duration, TimeZone};

    const MINUTE: i64 = 60;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 3, 2, 14, 0).unwrap()
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        start() + Duration::seconds(seconds)
    }

    /// An incident built the way the engine builds one, through the domain's own rules,
    /// with every timeline entry and the latest record of every alert kept.
    struct Story {
        incident: Incident,
        timeline: Vec<TimelineEntry>,
        alerts: Vec<AlertRecord>,
    }

    impl Story {
        fn open(integration: &str, event: AlertEvent, seconds: i64) -> Story {
            let change = Incident::open(42, integration, &event, None, at(seconds));
            let mut story = Story {
                incident: change.incident,
                timeline: change.entries,
                alerts: Vec::new(),
            };
            story.keep(event, seconds);
            story
        }

        fn alert(&mut self, event: AlertEvent, seconds: i64) {
            if let Some(change) = self.incident.apply_alert(&event, at(seconds)) {
                self.timeline.extend(change.entries);
            }
            self.keep(event, seconds);
        }

        fn keep(&mut self, event: AlertEvent, seconds: i64) {
            let key = event
                .fingerprint
                .clone()
                .unwrap_or_else(|| format!("#{:06}", self.incident.alert_count));
            self.alerts.retain(|alert| alert.key != key);
            self.alerts.push(AlertRecord {
                incident: self.incident.id,
                key,
                received_at: at(seconds),
                event,
            });
        }

        fn act(&mut self, user: &str, action: Action, seconds: i64) {
            let change = self
                .incident
                .apply_action(&action, user, at(seconds))
                .expect("the action is allowed")
                .expect("the action changes something");
            self.timeline.extend(change.entries);
        }

        fn note(&mut self, user: &str, text: &str, seconds: i64) {
            let text = text.to_string();
            self.act(user, Action::Note { text }, seconds);
        }

        fn record(&mut self, actor: Actor, kind: TimelineKind, seconds: i64) {
            let entry = self.incident.record_entry(at(seconds), actor, kind);
            self.timeline.push(entry);
        }

        fn escalate(&mut self, level: u32, users: &[&str], seconds: i64) {
            self.incident.escalation.policy = Some("payments-oncall".to_string());
            self.incident.escalation.level = level;
            let kind = TimelineKind::Escalated {
                policy: "payments-oncall".to_string(),
                level,
                repeat: 0,
                users: users.iter().map(|user| user.to_string()).collect(),
                manual: false,
            };
            self.record(Actor::System, kind, seconds);
        }

        fn notify(
            &mut self,
            user: &str,
            contact: &str,
            channel: ContactKind,
            outcome: Delivery,
            seconds: i64,
        ) {
            let kind = TimelineKind::Notified {
                user: user.to_string(),
                contact: contact.to_string(),
                channel,
                outcome,
            };
            self.record(Actor::System, kind, seconds);
        }

        fn facts(&self, now: DateTime<Utc>) -> PostmortemFacts {
            facts(&self.incident, &self.timeline, &self.alerts, now)
        }

        fn draft(&self, now: DateTime<Utc>) -> String {
            draft(&self.incident, &self.timeline, &self.alerts, now)
        }
    }

    fn checkout_alert(fingerprint: &str, instance: &str, severity: Severity) -> AlertEvent {
        let mut event = AlertEvent::firing(
            "{}:{alertname=\"CheckoutErrorRate\"}",
            "Checkout API error rate above 5%",
            severity,
        );
        event.fingerprint = Some(fingerprint.to_string());
        event.service = Some("payments".to_string());
        for (name, value) in [
            ("alertname", "CheckoutErrorRate"),
            ("job", "checkout-api"),
            ("team", "payments"),
            ("instance", instance),
        ] {
            event.labels.insert(name.to_string(), value.to_string());
        }
        event.links.push(Link {
            href: "https://runbooks.example.com/payments/checkout-errors".to_string(),
            text: Some("Runbook".to_string()),
        });
        event
    }

    fn delivered() -> Delivery {
        Delivery::Delivered { detail: None }
    }

    /// A realistic night: two alerts, level 1 then level 2, a failed SMS retried, a
    /// rollback, a cause and an action found, a reassignment and a resolve by hand.
    fn resolved_story() -> Story {
        let mut first = checkout_alert("7f3a91c2", "api-1:8080", Severity::Error);
        first.source_time = Some(at(-90));
        let mut story = Story::open("prometheus", first.clone(), 0);
        story.escalate(1, &["alice"], 0);
        story.notify(
            "alice",
            "phone",
            ContactKind::Sms,
            Delivery::Failed {
                reason: "HTTP 503 Service Unavailable".to_string(),
                attempt: 1,
                of: 5,
            },
            2,
        );
        story.notify("alice", "work email", ContactKind::Email, delivered(), 3);
        story.notify("alice", "phone", ContactKind::Sms, delivered(), 12);
        let mut second = checkout_alert("b04c2d18", "api-2:8080", Severity::Critical);
        second.source_time = Some(at(110));
        story.alert(second, 2 * MINUTE);
        story.escalate(2, &["bob"], 5 * MINUTE);
        story.notify(
            "bob",
            "webhook",
            ContactKind::Webhook,
            delivered(),
            5 * MINUTE + 1,
        );
        story.act("bob", Action::Acknowledge, 9 * MINUTE);
        story.note(
            "bob",
            "Error rate climbs from 02:05, right after checkout 4.12 went out. Rolling back.",
            11 * MINUTE,
        );
        story.act(
            "bob",
            Action::Reassign {
                to: "carol".to_string(),
            },
            13 * MINUTE,
        );
        story.note(
            "carol",
            "Rollback done:\n- checkout 4.12 → 4.11 on all pods\n- error rate back under 0.5%\n\n\
             Keeping it open until the retry queue drains.",
            18 * MINUTE,
        );
        story.note(
            "carol",
            "#cause checkout 4.12 opened a database connection per request instead of using \
             the pool; at evening traffic the database hit max_connections.",
            24 * MINUTE,
        );
        story.note(
            "carol",
            "#action load-test each checkout release at evening traffic for 10 minutes before \
             it ships",
            26 * MINUTE,
        );
        // As Alertmanager reports a resolution: the end as source time, the start in details.
        let mut recovered = first;
        recovered.status = AlertStatus::Resolved;
        recovered.source_time = Some(at(31 * MINUTE));
        recovered.details = serde_json::json!({
            "startsAt": at(-90).to_rfc3339(),
            "endsAt": at(31 * MINUTE).to_rfc3339(),
        });
        story.alert(recovered, 31 * MINUTE);
        story.act("carol", Action::Resolve, 36 * MINUTE);
        story
    }

    /// Opened at night, paged to the end of the policy, nobody answered yet.
    fn open_story() -> Story {
        let mut event = AlertEvent::firing("disk-db-2", "Disk 95% full on db-2", Severity::Warning);
        event.labels.insert("host".to_string(), "db-2".to_string());
        let mut story = Story::open("generic", event, 0);
        story.escalate(1, &["alice"], 0);
        story.notify("alice", "webhook", ContactKind::Webhook, delivered(), 1);
        story.escalate(2, &[], 15 * MINUTE);
        story.record(
            Actor::System,
            TimelineKind::EscalationExhausted,
            15 * MINUTE,
        );
        story
    }

    const HOSTILE_NOTE: &str = "\u{1b}]0;pwned title\u{7}ok | not | a | table\r\n\
        \u{1b}[31mred\u{1b}[0m and \u{9b}1;31mC1 red\u{1b}[0m, bell\u{7}, nul\u{0}, \
        back\u{8}space\n\
        <script>alert(1)</script> </details> <!-- open comment\n\
        # not a heading\n---\n\
        a backslash pipe \\| and \u{202e}reversed\u{202c} text\n\
        \u{1b}]8;;https://evil.example\u{1b}\\hyperlink\u{1b}]8;;\u{1b}\\ #cause";

    /// Pipes, control characters, terminal escape sequences, HTML and very long lines in
    /// every place a person or a source can put text.
    fn hostile_story() -> Story {
        let mut event = AlertEvent::firing(
            "hostile",
            "a | b \u{1b}[2J\u{1b}]0;owned\u{7} <img src=x onerror=alert(1)> ###",
            Severity::Critical,
        );
        event.service = Some("svc|with|pipes\nand a line".to_string());
        event
            .labels
            .insert("path".to_string(), "/a|b\\|c".to_string());
        event.labels.insert("long".to_string(), "x".repeat(500));
        event.links.push(Link {
            href: "javascript:alert(1)".to_string(),
            text: Some("click | me\u{1b}[5m".to_string()),
        });
        let mut story = Story::open("webhook|source", event, 0);
        story.escalate(1, &["mallory|ops"], 0);
        story.notify(
            "mallory|ops",
            "hook|1",
            ContactKind::Webhook,
            Delivery::GaveUp {
                reason: "HTTP 500: <html>\n<body>|err|</body>\u{1b}[0m".to_string(),
                attempts: 5,
            },
            50,
        );
        story.note("eve|admin", HOSTILE_NOTE, 2 * MINUTE);
        story.note(
            "eve|admin",
            &format!("#lesson {}", "long ".repeat(1_000)),
            3 * MINUTE,
        );
        story.note("eve|admin", &"A".repeat(3_000), 4 * MINUTE);
        story.act(
            "eve|admin",
            Action::Reassign {
                to: "trent\u{1b}[8m|x".to_string(),
            },
            5 * MINUTE,
        );
        story.act("eve|admin", Action::Resolve, 6 * MINUTE);
        story
    }

    #[test]
    fn draft_of_a_resolved_incident() {
        let story = resolved_story();
        insta::assert_snapshot!("resolved", story.draft(at(2 * 24 * 60 * MINUTE)));
    }

    #[test]
    fn draft_of_an_open_incident_nobody_answered() {
        let story = open_story();
        insta::assert_snapshot!("open", story.draft(at(47 * MINUTE)));
    }

    #[test]
    fn draft_with_hostile_text() {
        let story = hostile_story();
        let text = story.draft(at(60 * MINUTE));
        insta::assert_snapshot!("hostile", text);
    }

    #[test]
    fn hostile_text_cannot_reach_the_terminal_or_the_markup() {
        let text = hostile_story().draft(at(60 * MINUTE));
        for character in text.chars() {
            assert!(
                character == '\n' || !(character.is_control() || is_bidi_control(character)),
                "control character {character:?} survived"
            );
        }
        for forbidden in [
            "pwned title",
            "<script",
            "<img",
            "<!--",
            "</details",
            "\u{9b}",
        ] {
            assert!(!text.contains(forbidden), "{forbidden:?} survived");
        }
        // Every table row has as many cells as its header: no `|` from the text counts.
        let mut columns = None;
        for line in text.lines() {
            if !line.starts_with('|') {
                columns = None;
                continue;
            }
            let cells = unescaped_pipes(line);
            match columns {
                None => columns = Some(cells),
                Some(expected) => assert_eq!(cells, expected, "row {line:?}"),
            }
        }
        // Headings are ours alone: the note's `# not a heading` stays inside its quote.
        let headings: Vec<&str> = text.lines().filter(|line| line.starts_with('#')).collect();
        assert!(
            headings
                .iter()
                .all(|line| line.starts_with("# Postmortem") || line.starts_with("##")),
            "{headings:?}"
        );
    }

    /// Pipes that end a cell the way GitHub reads a table row: a backslash escapes the
    /// character after it, whatever it is.
    fn unescaped_pipes(line: &str) -> usize {
        let mut count = 0;
        let mut characters = line.chars();
        while let Some(character) = characters.next() {
            match character {
                '\\' => {
                    characters.next();
                }
                '|' => count += 1,
                _ => {}
            }
        }
        count
    }

    #[test]
    fn facts_of_the_resolved_incident() {
        let facts = resolved_story().facts(at(2 * 24 * 60 * MINUTE));
        assert_eq!(facts.started_at, at(-90), "the first alert's own start");
        assert_eq!(facts.detected_at, at(0));
        assert_eq!(facts.time_to_detect_seconds, 90);
        assert_eq!(facts.acknowledged_at, Some(at(9 * MINUTE)));
        assert_eq!(facts.acknowledged_by.as_deref(), Some("bob"));
        assert_eq!(facts.time_to_acknowledge_seconds, Some(9 * MINUTE));
        assert_eq!(facts.resolved_at, Some(at(36 * MINUTE)));
        assert_eq!(facts.resolved_by.as_deref(), Some("carol"));
        assert!(!facts.resolved_by_source);
        assert_eq!(facts.time_to_resolve_seconds, Some(36 * MINUTE));
        assert_eq!(
            (facts.initial_severity, facts.severity, facts.worst_severity),
            (Severity::Error, Severity::Critical, Severity::Critical)
        );
        assert_eq!(facts.services, vec!["payments"]);
        assert_eq!(facts.alert_count, 2);
        assert_eq!(facts.escalation_policy.as_deref(), Some("payments-oncall"));
        assert_eq!(facts.highest_level, 2);
        assert_eq!(
            facts.participants,
            vec![
                Participant {
                    name: "bob".to_string(),
                    acknowledged: 1,
                    notes: 1,
                    reassigned: 1,
                    ..Participant::default()
                },
                Participant {
                    name: "carol".to_string(),
                    notes: 3,
                    findings: 2,
                    resolved: 1,
                    ..Participant::default()
                },
            ]
        );
        let paged: Vec<(&str, &[u32], u32, u32, u32)> = facts
            .paged
            .iter()
            .map(|person| {
                (
                    person.user.as_str(),
                    person.levels.as_slice(),
                    person.delivered,
                    person.failed_attempts,
                    person.gave_up,
                )
            })
            .collect();
        assert_eq!(
            paged,
            vec![("alice", &[1][..], 2, 1, 0), ("bob", &[2][..], 1, 0, 0)]
        );
        assert_eq!(facts.findings.cause.len(), 1);
        assert_eq!(facts.findings.action.len(), 1);
        let json = serde_json::to_value(&facts).unwrap();
        assert_eq!(json["time_to_acknowledge_seconds"], 540);
        assert_eq!(json["findings"]["cause"][0]["author"]["name"], "carol");
        let back: PostmortemFacts = serde_json::from_value(json).unwrap();
        assert_eq!(back, facts);
    }

    fn pagerduty_story() -> Story {
        let event = AlertEvent::firing("pd-1", "Queue backlog growing", Severity::Error);
        Story::open("pagerduty", event, 0)
    }

    #[test]
    fn acknowledged_and_resolved_by_the_source() {
        let mut story = pagerduty_story();
        let mut acknowledge = AlertEvent::firing("pd-1", "Queue backlog growing", Severity::Error);
        acknowledge.status = AlertStatus::Acknowledged;
        story.alert(acknowledge, 4 * MINUTE);
        story.alert(AlertEvent::resolved("pd-1"), 10 * MINUTE);
        let facts = story.facts(at(60 * MINUTE));
        assert_eq!(facts.time_to_acknowledge_seconds, Some(4 * MINUTE));
        assert_eq!(
            facts.acknowledged_by.as_deref(),
            Some("integration pagerduty")
        );
        assert_eq!(facts.time_to_resolve_seconds, Some(10 * MINUTE));
        assert!(facts.resolved_by_source);
        assert!(facts.participants.is_empty(), "a source is not a person");
        let text = story.draft(at(60 * MINUTE));
        assert!(text.contains(
            "It was acknowledged by integration pagerduty 4 min after it opened. It was \
             resolved by the source, integration pagerduty, 10 min after it opened."
        ));
    }

    #[test]
    fn never_acknowledged_and_still_open() {
        let story = open_story();
        let facts = story.facts(at(47 * MINUTE));
        assert_eq!(facts.status, IncidentStatus::Triggered);
        assert_eq!(facts.started_at, at(0), "no source time: the opening");
        assert_eq!(facts.time_to_detect_seconds, 0);
        assert_eq!(
            (facts.acknowledged_at, facts.time_to_acknowledge_seconds),
            (None, None)
        );
        assert_eq!(
            (facts.resolved_at, facts.time_to_resolve_seconds),
            (None, None)
        );
        assert_eq!(facts.as_of, at(47 * MINUTE));
        assert!(facts.participants.is_empty());
        assert_eq!(facts.paged.len(), 1, "level 2 found nobody");
    }

    #[test]
    fn resolved_without_acknowledgement() {
        let mut story = pagerduty_story();
        story.act("carol", Action::Resolve, 7 * MINUTE);
        let facts = story.facts(at(60 * MINUTE));
        assert_eq!(facts.time_to_acknowledge_seconds, None);
        assert_eq!(facts.time_to_resolve_seconds, Some(7 * MINUTE));
        assert_eq!(facts.resolved_by.as_deref(), Some("carol"));
        assert!(!facts.resolved_by_source);
        let text = story.draft(at(60 * MINUTE));
        assert!(text.contains(
            "Nobody acknowledged it. It was resolved by hand by carol 7 min after it opened."
        ));
        assert!(text.contains("- **Acknowledged:** never"));
    }

    #[test]
    fn a_snooze_acknowledges_and_the_first_acknowledgement_counts() {
        let mut story = pagerduty_story();
        story.act(
            "dave",
            Action::Snooze {
                until: at(40 * MINUTE),
            },
            3 * MINUTE,
        );
        story.act("erin", Action::Acknowledge, 20 * MINUTE);
        let facts = story.facts(at(60 * MINUTE));
        assert_eq!(facts.time_to_acknowledge_seconds, Some(3 * MINUTE));
        assert_eq!(facts.acknowledged_by.as_deref(), Some("dave"));
    }

    #[test]
    fn start_is_the_earliest_start_a_source_reports_never_after_the_opening() {
        let record = |key: &str, status, source_time: i64, starts_at: Option<i64>| {
            let mut event = AlertEvent::firing("pd-1", "Queue backlog growing", Severity::Error);
            event.status = status;
            event.source_time = Some(at(source_time));
            if let Some(seconds) = starts_at {
                event.details = serde_json::json!({ "startsAt": at(seconds).to_rfc3339() });
            }
            AlertRecord {
                incident: 42,
                key: key.to_string(),
                received_at: at(0),
                event,
            }
        };
        let firing_early = record("a", AlertStatus::Firing, -5 * MINUTE, None);
        // A resolution's source time is when it ended: never a start.
        let ended_long_ago = record("b", AlertStatus::Resolved, -60 * MINUTE, None);
        let ended_with_start = record("c", AlertStatus::Resolved, MINUTE, Some(-10 * MINUTE));
        let firing_late = record("d", AlertStatus::Firing, 30 * MINUTE, None);
        let cases = [
            (vec![], 0),
            (
                vec![firing_early.clone(), ended_long_ago.clone()],
                -5 * MINUTE,
            ),
            (
                vec![firing_early, ended_long_ago, ended_with_start],
                -10 * MINUTE,
            ),
            (vec![firing_late], 0),
        ];
        for (alerts, expected) in cases {
            let story = Story {
                alerts,
                ..pagerduty_story()
            };
            let facts = story.facts(at(MINUTE));
            assert_eq!(facts.started_at, at(expected), "{:?}", story.alerts);
            assert_eq!(facts.time_to_detect_seconds, -expected);
        }
    }

    #[test]
    fn the_incident_stands_in_for_a_missing_timeline() {
        let mut story = pagerduty_story();
        story.act("bob", Action::Acknowledge, 2 * MINUTE);
        story.alert(AlertEvent::resolved("pd-1"), 5 * MINUTE);
        let facts = facts(&story.incident, &[], &story.alerts, at(MINUTE * 60));
        assert_eq!(facts.time_to_acknowledge_seconds, Some(2 * MINUTE));
        assert_eq!(facts.acknowledged_by.as_deref(), Some("bob"));
        assert_eq!(facts.time_to_resolve_seconds, Some(5 * MINUTE));
        assert!(facts.resolved_by_source);
        let text = draft(&story.incident, &[], &[], at(MINUTE * 60));
        assert!(text.contains("The incident's timeline is empty."));
        assert!(text.contains("No alert payload was stored with this incident (1 alert counted)."));
    }

    #[test]
    fn times_carry_the_date_when_the_incident_spans_days() {
        let mut story = pagerduty_story();
        story.act("bob", Action::Resolve, 26 * 60 * MINUTE);
        let text = story.draft(at(27 * 60 * MINUTE));
        assert!(text.contains("| 2026-03-04 04:14:00 | +1d 2h | actions | bob | resolved |"));
        assert!(text.contains("time to resolve (MTTR) **1 d 2 h**"));
    }

    #[test]
    fn nobody_paged_says_why() {
        let mut story = pagerduty_story();
        story.record(
            Actor::System,
            TimelineKind::NotPaged {
                reason: "route batch pages nobody".to_string(),
            },
            0,
        );
        let text = story.draft(at(MINUTE));
        assert!(text.contains("Nobody was paged: route batch pages nobody."));
        assert!(text.contains("Nobody was paged: should this kind of incident page someone"));
    }

    #[test]
    fn durations_read_like_people_say_them() {
        let cases = [
            (-5, "0 s"),
            (0, "0 s"),
            (45, "45 s"),
            (60, "1 min"),
            (270, "4 min 30 s"),
            (599, "9 min 59 s"),
            (600, "10 min"),
            (14 * 60 + 29, "14 min"),
            (14 * 60 + 31, "15 min"),
            (59 * 60 + 40, "1 h"),
            (2 * 3_600 + 5 * 60, "2 h 5 min"),
            (23 * 3_600 + 59 * 60 + 50, "1 d"),
            (3 * 86_400 + 4 * 3_600 + 10 * 60, "3 d 4 h"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(human_duration(seconds), expected, "{seconds} s");
        }
    }

    #[test]
    fn offsets_are_compact_and_round_down() {
        let cases = [
            (0, "+0s"),
            (45, "+45s"),
            (180, "+3m"),
            (200, "+3m 20s"),
            (14 * 60 + 59, "+14m"),
            (3_600, "+1h"),
            (2 * 3_600 + 5 * 60 + 59, "+2h 5m"),
            (86_400 + 3 * 3_600 + 59, "+1d 3h"),
            (-90, "-1m 30s"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(offset(seconds), expected, "{seconds} s");
        }
    }

    #[test]
    fn plain_text_keeps_words_and_drops_what_terminals_act_on() {
        let cases = [
            ("plain words", "plain words"),
            ("\u{1b}]0;title\u{7}after", "after"),
            ("\u{1b}]0;title\u{1b}\\after", "after"),
            ("\u{1b}[1;31mred\u{1b}[0m", "red"),
            ("\u{9b}31mred", "red"),
            ("\u{1b}(Bcharset", "charset"),
            ("\u{1b}creset", "reset"),
            ("\u{1b}]0;never ended\nnext line", "\nnext line"),
            ("\u{1b}Pdevice\u{1b}\\kept", "kept"),
            ("a\u{0}b\u{7}c\u{8}d\u{7f}e", "abcde"),
            ("one\r\ntwo\rthree", "one\ntwo\nthree"),
            ("tab\there", "tab here"),
            (
                "\u{202e}evil\u{202c} \u{2067}isolate\u{2069}",
                "evil isolate",
            ),
            ("trailing escape \u{1b}", "trailing escape "),
            ("ünïcödé ✓ 日本", "ünïcödé ✓ 日本"),
        ];
        for (text, expected) in cases {
            assert_eq!(plain(text), expected, "{text:?}");
        }
    }

    #[test]
    fn markdown_escaping_keeps_cells_and_html_inert() {
        let cases = [
            ("a | b", "a \\| b"),
            ("a \\| b", "a \\\\\\| b"),
            ("<b>bold</b>", "&lt;b>bold&lt;/b>"),
            ("\\<b>", "\\\\&lt;b>"),
            ("C:\\dir", "C:\\dir"),
        ];
        for (text, expected) in cases {
            assert_eq!(cell(text, 100), expected, "{text:?}");
        }
        assert_eq!(inline("a | b\nc"), "a | b c");
        assert_eq!(heading_text("issue ###"), "issue ##\\#");
        assert_eq!(cell(&"x".repeat(10), 5), "xxxx…");
    }
}
