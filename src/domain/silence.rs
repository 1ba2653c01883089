//! Silences and maintenance windows: label matchers with a start and an end. A silenced
//! incident is stored and shown as silenced, but pages nobody.

use super::matcher::{all_match, Matcher, Subject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A number for silences made over the API, the name for maintenance windows in the
/// configuration.
pub type SilenceId = String;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: SilenceId,
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[serde(default)]
    pub comment: String,
    /// Who made it; `None` for maintenance windows written in the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Silence {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }

    /// Neither ended nor expired: what `GET /v1/silences` lists.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        now < self.ends_at
    }

    pub fn silences(&self, subject: &Subject<'_>, now: DateTime<Utc>) -> bool {
        self.is_active(now) && all_match(&self.matchers, subject)
    }

    /// Matchers as people write them, for timelines and lists.
    pub fn describe(&self) -> String {
        let matchers: Vec<String> = self.matchers.iter().map(|m| m.to_string()).collect();
        let mut text = format!("silence {} {}", self.id, matchers.join(" "));
        if !self.comment.is_empty() {
            text.push_str(&format!(" ({})", self.comment));
        }
        text
    }
}

/// The first active silence that matches.
pub fn silencing<'a>(
    silences: impl IntoIterator<Item = &'a Silence>,
    subject: &Subject<'_>,
    now: DateTime<Utc>,
) -> Option<&'a Silence> {
    silences
        .into_iter()
        .find(|silence| silence.silences(subject, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Labels, Severity};
    use chrono::TimeZone;

    #[test]
    fn a_silence_holds_only_inside_its_window_and_for_what_it_matches() {
        let at = |hour| Utc.with_ymd_and_hms(2026, 11, 24, hour, 0, 0).unwrap();
        let silence = Silence {
            id: "1".to_string(),
            matchers: vec!["svc=batch".parse().unwrap(), "sev=warning".parse().unwrap()],
            starts_at: at(10),
            ends_at: at(12),
            comment: "nightly rebuild".to_string(),
            created_by: Some("alice".to_string()),
        };
        let labels = Labels::default();
        let subject = |service, severity| Subject {
            labels: &labels,
            service: Some(service),
            severity,
            integration: "generic",
        };
        let batch = subject("batch", Severity::Warning);
        assert!(!silence.silences(&batch, at(9)));
        assert!(silence.silences(&batch, at(10)));
        assert!(silence.silences(&batch, at(11)));
        assert!(!silence.silences(&batch, at(12)), "the end is exclusive");
        assert!(!silence.silences(&subject("batch", Severity::Critical), at(11)));
        assert!(!silence.silences(&subject("api", Severity::Warning), at(11)));
        assert_eq!(
            silence.describe(),
            "silence 1 service=batch severity=warning (nightly rebuild)"
        );
    }
}
