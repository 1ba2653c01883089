//! What a search answers: hits and similar incidents, shaped as the JSON of `GET /v1/search`.

use super::query::HitKind;
use super::record::NoteText;
use crate::domain::{IncidentId, IncidentStatus, Severity};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One found incident or message, best first. For a message, the incident fields describe the
/// incident it belongs to, as that incident is now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: HitKind,
    pub incident: IncidentId,
    pub title: String,
    pub service: Option<String>,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// BM25 relevance; 0 when the query has no words (hits then come newest first).
    pub score: f32,
    /// Where the words matched in `title`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title_highlights: Vec<Highlight>,
    /// The message, for a message hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<MessageHit>,
    /// A short passage around the best match: the message's text, or the incident's details
    /// or resolving notes. Absent when only the title (or only filters) matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<Snippet>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageHit {
    pub seq: u32,
    pub author: String,
    pub at: DateTime<Utc>,
}

/// Plain text and where in it the query matched, for a terminal to underline or colour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Highlight>,
}

/// A matched span: byte offsets into the UTF-8 text, `start` inclusive, `end` exclusive, on
/// character boundaries (so `&text[start..end]` is the matched word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highlight {
    pub start: usize,
    pub end: usize,
}

impl Snippet {
    /// The text with each match between `open` and `close` (`"\x1b[1m"`, `"\x1b[0m"` for a
    /// terminal; `"**"`, `"**"` for chat).
    pub fn marked(&self, open: &str, close: &str) -> String {
        mark(&self.text, &self.highlights, open, close)
    }
}

/// `text` with each highlight wrapped in `open` … `close`; highlights out of range or off a
/// character boundary are skipped, never a panic.
pub fn mark(text: &str, highlights: &[Highlight], open: &str, close: &str) -> String {
    let mut marked = String::with_capacity(text.len() + highlights.len() * 8);
    let mut done = 0;
    for highlight in highlights {
        let usable = highlight.start >= done
            && highlight.start < highlight.end
            && highlight.end <= text.len()
            && text.is_char_boundary(highlight.start)
            && text.is_char_boundary(highlight.end);
        if !usable {
            continue;
        }
        marked.push_str(&text[done..highlight.start]);
        marked.push_str(open);
        marked.push_str(&text[highlight.start..highlight.end]);
        marked.push_str(close);
        done = highlight.end;
    }
    marked.push_str(&text[done..]);
    marked
}

/// A past, resolved incident like a new one, with how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarHit {
    pub incident: IncidentId,
    pub title: String,
    pub service: Option<String>,
    pub severity: Severity,
    pub created_at: DateTime<Utc>,
    pub resolved_at: DateTime<Utc>,
    /// Who resolved it: a user's name, `integration NAME` when its source did, `klaxon`.
    pub resolved_by: Option<String>,
    /// From opening to resolution.
    pub resolved_in_seconds: i64,
    /// The notes that say how it was resolved, oldest first (possibly none).
    pub resolving_notes: Vec<NoteText>,
    pub score: f32,
}

impl SimilarHit {
    /// One line for people and bots: `seen before: #12 "db down", resolved in 14 min by alice:
    /// restarted pgbouncer`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "seen before: #{} {:?}, resolved in {}",
            self.incident,
            self.title,
            human_duration(self.resolved_in_seconds)
        );
        if let Some(by) = &self.resolved_by {
            line.push_str(" by ");
            line.push_str(by);
        }
        if let Some(note) = self.resolving_notes.last() {
            line.push_str(": ");
            line.push_str(note.text.lines().next().unwrap_or_default());
        }
        line
    }
}

/// `45 s`, `14 min`, `3 h 5 min`, `2 d 4 h`: precise enough to compare incidents by.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", seconds / 60),
        3_600..86_400 if seconds % 3_600 < 60 => format!("{} h", seconds / 3_600),
        3_600..86_400 => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{} d {} h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}
