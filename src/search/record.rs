//! What the index keeps of an incident: its current fields plus the text of its alerts and
//! recent notes, accumulated change by change so that the engine only ever passes what a
//! change brought. Pure: merging and the resolving-notes rule take no index and no clock.

use crate::domain::{
    Actor, Incident, IncidentId, IncidentStatus, Severity, TimelineEntry, TimelineKind,
};
use crate::store::AlertRecord;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An incident's alerts beyond this many add no searchable words worth their cost (an
/// Alertmanager group of 500 pods says the same thing 500 times).
const MAX_ALERTS: usize = 32;
/// Per alert, the flattened details are cut here: a stack trace's first lines name the error.
const MAX_DETAILS_BYTES: usize = 2_048;
/// The notes kept in the record, newest, to find the resolving ones; all notes are searchable
/// as messages whatever this says.
const MAX_NOTES: usize = 20;
const MAX_NOTE_BYTES: usize = 1_024;
/// At most this many resolving notes are shown with a similar incident.
const MAX_RESOLVING_NOTES: usize = 3;

/// The stored record of one incident document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRecord {
    pub id: IncidentId,
    pub title: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub service: Option<String>,
    pub integration: String,
    pub labels: Vec<(String, String)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub timeline_len: u32,
    /// By alert key: the alert's latest title, labels and flattened details.
    pub alerts: BTreeMap<String, AlertText>,
    /// Newest last, by seq.
    pub notes: Vec<NoteText>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertText {
    pub title: String,
    pub labels: Vec<(String, String)>,
    pub details: String,
}

/// A note as people read it with a similar incident: who, when, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteText {
    pub seq: u32,
    pub author: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// Who wrote a timeline entry, as the `author:` filter spells it.
pub fn author(actor: &Actor) -> String {
    match actor {
        Actor::User(name) | Actor::Integration(name) => name.clone(),
        Actor::System => "klaxon".to_string(),
    }
}

impl IncidentRecord {
    pub fn new(incident: &Incident) -> IncidentRecord {
        let mut record = IncidentRecord {
            id: incident.id,
            title: String::new(),
            status: incident.status,
            severity: incident.severity,
            service: None,
            integration: String::new(),
            labels: Vec::new(),
            created_at: incident.created_at,
            updated_at: incident.updated_at,
            resolved_at: None,
            resolved_by: None,
            timeline_len: 0,
            alerts: BTreeMap::new(),
            notes: Vec::new(),
        };
        record.take_fields(incident);
        record
    }

    /// Whether `incident` is at least as new as what this record holds. Catch-up and the live
    /// feed may deliver one incident's states out of order; an older one must not win.
    pub fn is_superseded_by(&self, incident: &Incident) -> bool {
        (incident.timeline_len, incident.updated_at) >= (self.timeline_len, self.updated_at)
    }

    /// Folds one change in: the incident's fields (unless older than what is held), and the
    /// alerts and notes it brought. Idempotent: the same change twice is the same record.
    pub fn merge(
        &mut self,
        incident: &Incident,
        entries: &[TimelineEntry],
        alerts: &[AlertRecord],
    ) {
        if self.is_superseded_by(incident) {
            self.take_fields(incident);
        }
        for alert in alerts {
            let known = self.alerts.contains_key(&alert.key);
            if !known && self.alerts.len() >= MAX_ALERTS {
                continue;
            }
            let event = &alert.event;
            let text = self.alerts.entry(alert.key.clone()).or_insert(AlertText {
                title: String::new(),
                labels: Vec::new(),
                details: String::new(),
            });
            // A resolve often comes with an empty title and no details: keep what firing said.
            if !event.title.trim().is_empty() {
                text.title = event.title.clone();
            }
            if !event.labels.is_empty() {
                text.labels = event
                    .labels
                    .iter()
                    .map(|(name, value)| (name.clone(), value.clone()))
                    .collect();
            }
            let details = flatten_details(&event.details);
            if !details.is_empty() {
                text.details = details;
            }
        }
        for entry in entries {
            if let TimelineKind::Note { text } = &entry.kind {
                let note = NoteText {
                    seq: entry.seq,
                    author: author(&entry.actor),
                    at: entry.at,
                    text: truncate(text, MAX_NOTE_BYTES).to_string(),
                };
                match self.notes.binary_search_by_key(&entry.seq, |note| note.seq) {
                    Ok(index) => self.notes[index] = note,
                    Err(index) => self.notes.insert(index, note),
                }
            }
        }
        if self.notes.len() > MAX_NOTES {
            self.notes.drain(..self.notes.len() - MAX_NOTES);
        }
    }

    fn take_fields(&mut self, incident: &Incident) {
        self.title = incident.title.clone();
        self.status = incident.status;
        self.severity = incident.severity;
        self.service = incident.service.clone();
        self.integration = incident.integration.clone();
        self.labels = incident
            .labels
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.created_at = incident.created_at;
        self.updated_at = incident.updated_at;
        self.resolved_at = incident.resolved_at;
        self.resolved_by = incident.resolved_by.clone();
        self.timeline_len = incident.timeline_len;
    }

    /// The ranked text besides the title: service, integration, labels, alert titles, details.
    pub fn body(&self) -> String {
        let mut body = String::new();
        let mut line = |text: &str| {
            if !text.is_empty() {
                body.push_str(text);
                body.push('\n');
            }
        };
        if let Some(service) = &self.service {
            line(service);
        }
        line(&self.integration);
        for (name, value) in &self.labels {
            line(&format!("{name}={value}"));
        }
        for alert in self.alerts.values() {
            if alert.title != self.title {
                line(&alert.title);
            }
            for (name, value) in &alert.labels {
                if !self.labels.iter().any(|(known, _)| known == name) {
                    line(&format!("{name}={value}"));
                }
            }
            line(&alert.details);
        }
        body
    }

    /// Every `name=value` label term: the incident's and its alerts'.
    pub fn label_terms(&self) -> Vec<String> {
        let mut terms: Vec<String> = self
            .labels
            .iter()
            .chain(self.alerts.values().flat_map(|alert| alert.labels.iter()))
            .map(|(name, value)| label_term(name, value))
            .collect();
        terms.sort();
        terms.dedup();
        terms
    }

    /// The notes that say how it was resolved; empty while it is open. See [`resolving_notes`].
    pub fn resolving_notes(&self) -> Vec<NoteText> {
        resolving_notes(
            self.status,
            self.resolved_at,
            self.resolved_by.as_deref(),
            &self.notes,
        )
    }
}

/// A label as one exact term: `env=prod`, lowercased (the `label:` filter lowercases too).
pub fn label_term(name: &str, value: &str) -> String {
    format!("{}={}", name.to_lowercase(), value.to_lowercase())
}

/// The notes that tell how an incident was resolved. The resolver's own notes say it best
/// ("restarted pgbouncer"): their last ones up to the resolution; without any, the last note
/// anyone wrote before it. Notes written afterwards (a wrap-up, a root cause) always count.
pub fn resolving_notes(
    status: IncidentStatus,
    resolved_at: Option<DateTime<Utc>>,
    resolved_by: Option<&str>,
    notes: &[NoteText],
) -> Vec<NoteText> {
    let (IncidentStatus::Resolved, Some(resolved_at)) = (status, resolved_at) else {
        return Vec::new();
    };
    let (before, after): (Vec<&NoteText>, Vec<&NoteText>) =
        notes.iter().partition(|note| note.at <= resolved_at);
    let by_resolver: Vec<&NoteText> = before
        .iter()
        .copied()
        .filter(|note| Some(note.author.as_str()) == resolved_by)
        .collect();
    let mut chosen: Vec<&NoteText> = if by_resolver.is_empty() {
        before.last().copied().into_iter().collect()
    } else {
        by_resolver
    };
    chosen.extend(after);
    let skip = chosen.len().saturating_sub(MAX_RESOLVING_NOTES);
    chosen.into_iter().skip(skip).cloned().collect()
}

/// Alert details as searchable lines: `path: value` for every scalar, so that both the key
/// (`runbook`) and the value (`connection refused`) can be found. Cut at a few kilobytes.
pub fn flatten_details(details: &serde_json::Value) -> String {
    let mut text = String::new();
    flatten_into(details, "", &mut text);
    truncate(&text, MAX_DETAILS_BYTES).trim_end().to_string()
}

fn flatten_into(value: &serde_json::Value, path: &str, text: &mut String) {
    use serde_json::Value;
    if text.len() >= MAX_DETAILS_BYTES {
        return;
    }
    let mut scalar = |shown: &str| {
        if path.is_empty() {
            text.push_str(shown);
        } else {
            text.push_str(path);
            text.push_str(": ");
            text.push_str(shown);
        }
        text.push('\n');
    };
    match value {
        Value::Null => {}
        Value::Bool(flag) => scalar(if *flag { "true" } else { "false" }),
        Value::Number(number) => scalar(&number.to_string()),
        Value::String(string) => {
            if !string.trim().is_empty() {
                scalar(string)
            }
        }
        Value::Array(items) => {
            for item in items {
                flatten_into(item, path, text);
            }
        }
        Value::Object(map) => {
            for (name, item) in map {
                let nested = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}.{name}")
                };
                flatten_into(item, &nested, text);
            }
        }
    }
}

/// The longest prefix of `text` of at most `limit` bytes that ends on a character boundary.
pub fn truncate(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
