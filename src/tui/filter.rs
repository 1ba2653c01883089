//! The live filter language of `/`: words match title, service, assignee, labels and `#id`;
//! `sev:crit,err`, `svc:NAME`, `status:ack` (prefixes of the names, comma for "or") and
//! `!` in front of any term negates it. Terms are all required. Pure.

use crate::domain::{IncidentStatus, Severity};
use crate::protocol::IncidentView;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    negated: bool,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Text(String),
    Severity(Vec<Severity>),
    Service(String),
    Status(Vec<StatusMatch>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusMatch {
    Is(IncidentStatus),
    Snoozed,
    Open,
}

const STATUS_NAMES: [(&str, StatusMatch); 5] = [
    ("triggered", StatusMatch::Is(IncidentStatus::Triggered)),
    (
        "acknowledged",
        StatusMatch::Is(IncidentStatus::Acknowledged),
    ),
    ("resolved", StatusMatch::Is(IncidentStatus::Resolved)),
    ("snoozed", StatusMatch::Snoozed),
    ("open", StatusMatch::Open),
];

impl Query {
    pub fn parse(text: &str) -> Query {
        let mut terms = Vec::new();
        for word in text.split_whitespace() {
            let (negated, word) = match word.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, word),
            };
            if word.is_empty() {
                continue;
            }
            let lower = word.to_lowercase();
            let kind = match lower.split_once(':') {
                Some(("sev" | "severity", values)) => {
                    if values.is_empty() {
                        continue;
                    }
                    Kind::Severity(
                        Severity::ALL
                            .into_iter()
                            .filter(|severity| {
                                values.split(',').filter(|v| !v.is_empty()).any(|value| {
                                    severity.as_str().starts_with(value)
                                        || severity.label().eq_ignore_ascii_case(value)
                                })
                            })
                            .collect(),
                    )
                }
                Some(("svc" | "service", value)) => {
                    if value.is_empty() {
                        continue;
                    }
                    Kind::Service(value.to_string())
                }
                Some(("status" | "is", values)) => {
                    if values.is_empty() {
                        continue;
                    }
                    Kind::Status(
                        STATUS_NAMES
                            .iter()
                            .filter(|(name, _)| {
                                values
                                    .split(',')
                                    .filter(|v| !v.is_empty())
                                    .any(|value| name.starts_with(value))
                            })
                            .map(|(_, status)| *status)
                            .collect(),
                    )
                }
                _ => Kind::Text(lower),
            };
            terms.push(Term { negated, kind });
        }
        Query { terms }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an incident, described by its [`Facts`], matches every term.
    pub fn matches(&self, facts: &Facts, now: DateTime<Utc>) -> bool {
        self.terms.iter().all(|term| {
            let found = match &term.kind {
                Kind::Text(text) => facts.haystack.contains(text.as_str()),
                Kind::Severity(levels) => levels.contains(&facts.severity),
                Kind::Service(service) => facts.service.contains(service.as_str()),
                Kind::Status(statuses) => statuses.iter().any(|status| match status {
                    StatusMatch::Is(status) => facts.status == *status,
                    StatusMatch::Open => facts.status.is_open(),
                    StatusMatch::Snoozed => {
                        facts.status.is_open()
                            && facts.snoozed_until.is_some_and(|until| until > now)
                    }
                }),
            };
            found != term.negated
        })
    }
}

/// What the filter looks at, kept compact and together so that a pass over 100,000
/// incidents stays within a keystroke's budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts<'a> {
    pub severity: Severity,
    pub status: IncidentStatus,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// Lower case; empty without a service.
    pub service: &'a str,
    /// [`haystack`] of the incident.
    pub haystack: &'a str,
}

/// What free-text terms search, in lower case: `#id`, title, service, assignee, labels.
pub fn haystack(incident: &IncidentView) -> String {
    let mut text = format!("#{} {}", incident.id, incident.title);
    for part in [&incident.service, &incident.assignee]
        .into_iter()
        .flatten()
    {
        text.push(' ');
        text.push_str(part);
    }
    for (name, value) in &incident.labels {
        text.push(' ');
        text.push_str(name);
        text.push('=');
        text.push_str(value);
    }
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::testing::incident;

    fn matches(query: &str, incident: &IncidentView) -> bool {
        let service = incident.service.clone().unwrap_or_default().to_lowercase();
        let haystack = haystack(incident);
        let facts = Facts {
            severity: incident.severity,
            status: incident.status,
            snoozed_until: incident.snoozed_until,
            service: &service,
            haystack: &haystack,
        };
        Query::parse(query).matches(&facts, incident.created_at)
    }

    #[test]
    fn words_fields_and_negation() {
        let mut disk = incident(7, Severity::Critical, "Disk full on DB-1");
        disk.service = Some("payments".to_string());
        disk.labels
            .insert("region".to_string(), "eu-west".to_string());
        assert!(matches("", &disk));
        assert!(matches("disk db-1", &disk));
        assert!(!matches("disk cpu", &disk));
        assert!(matches("#7", &disk));
        assert!(matches("region=eu", &disk));
        assert!(matches("sev:crit", &disk));
        assert!(matches("sev:err,crit", &disk));
        assert!(matches("sev:CRIT", &disk));
        assert!(!matches("sev:warn", &disk));
        assert!(!matches("!sev:crit", &disk));
        assert!(matches("svc:pay", &disk));
        assert!(!matches("!svc:pay", &disk));
        assert!(matches("status:trig", &disk));
        assert!(matches("status:open", &disk));
        assert!(!matches("status:ack", &disk));
        assert!(matches("!status:res", &disk));
        assert!(!matches("!disk", &disk));
        // Unfinished terms while typing do not hide everything.
        assert!(matches("sev: svc: !", &disk));
        assert!(!matches("sev:nonsense", &disk));
    }
}
