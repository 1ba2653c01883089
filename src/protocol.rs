//! The JSON shapes on the wire (incident, timeline entry, stream messages, commands, errors),
//! shared by the API and every client so both ends agree by construction.

use crate::domain::{
    Action, Actor, EscalationState, Incident, IncidentId, IncidentStatus, Link, Severity,
    TimelineEntry, TimelineKind,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An incident as clients see it (internal bookkeeping such as fingerprints is left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    pub id: IncidentId,
    pub title: String,
    pub status: IncidentStatus,
    pub severity: Severity,
    pub service: Option<String>,
    pub integration: String,
    pub dedup_key: String,
    pub alert_count: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub assignee: Option<String>,
    pub escalation: EscalationState,
    pub labels: BTreeMap<String, String>,
    pub links: Vec<Link>,
}

impl From<&Incident> for IncidentView {
    fn from(incident: &Incident) -> Self {
        IncidentView {
            id: incident.id,
            title: incident.title.clone(),
            status: incident.status,
            severity: incident.severity,
            service: incident.service.clone(),
            integration: incident.integration.clone(),
            dedup_key: incident.dedup_key.clone(),
            alert_count: incident.alert_count,
            created_at: incident.created_at,
            updated_at: incident.updated_at,
            acknowledged_at: incident.acknowledged_at,
            acknowledged_by: incident.acknowledged_by.clone(),
            resolved_at: incident.resolved_at,
            resolved_by: incident.resolved_by.clone(),
            snoozed_until: incident.snoozed_until,
            assignee: incident.assignee.clone(),
            escalation: incident.escalation.clone(),
            labels: incident.labels.to_map(),
            links: incident.links.clone(),
        }
    }
}

/// One timeline entry on the wire, with a ready-made line for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineView {
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: TimelineKind,
    /// The entry as one line for people (a note's own words are in its `text`).
    pub description: String,
}

impl From<&TimelineEntry> for TimelineView {
    fn from(entry: &TimelineEntry) -> Self {
        TimelineView {
            seq: entry.seq,
            at: entry.at,
            actor: entry.actor.clone(),
            kind: entry.kind.clone(),
            description: entry.kind.describe(),
        }
    }
}

/// The single alerts of an incident, as last reported by the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub key: String,
    pub status: crate::domain::AlertStatus,
    pub title: String,
    pub severity: Severity,
    pub received_at: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
    pub links: Vec<Link>,
    pub details: serde_json::Value,
}

/// `GET /v1/incidents/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub incident: IncidentView,
    pub alerts: Vec<AlertView>,
    pub timeline: Vec<TimelineView>,
}

/// What the engine sends on `/v1/stream`, and what the embedded client hands the TUI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Everything open (and recently resolved) as of event `seq`; events follow from `seq + 1`.
    Snapshot {
        seq: u64,
        incidents: Vec<IncidentView>,
        /// Who is looking at which incident right now (incidents nobody watches are left out).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        presence: BTreeMap<IncidentId, Vec<String>>,
    },
    IncidentOpened {
        seq: u64,
        incident: IncidentView,
        timeline: Vec<TimelineView>,
    },
    IncidentChanged {
        seq: u64,
        incident: IncidentView,
        timeline: Vec<TimelineView>,
    },
    /// The client fell behind and missed events; a fresh snapshot follows at once.
    Lagged { missed: u64 },
    /// Who is looking at an incident changed (not an incident event: it carries no `seq`).
    Presence {
        incident: IncidentId,
        viewers: Vec<String>,
    },
    /// The answer to a command the client sent, matched by `request_id`.
    Reply {
        request_id: u64,
        ok: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<IncidentView>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorDetail>,
    },
}

/// Tells the engine which incident this client is looking at:
/// `{"request_id":2,"viewing":42}`, or `{"request_id":3,"viewing":null}` when it stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewingCommand {
    pub request_id: u64,
    pub viewing: Option<IncidentId>,
}

/// A command sent over the stream: `{"request_id":1,"incident":42,"action":"acknowledge"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamCommand {
    pub request_id: u64,
    pub incident: IncidentId,
    #[serde(flatten)]
    pub action: Action,
}

/// `{"error":{"code":"…","message":"…","field":"…"}}`, the one error shape of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The answer to an accepted ingest request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub status: String,
    pub alerts: usize,
    pub incidents: Vec<IncidentId>,
}

/// `GET /v1/integrations`: where each integration receives alerts (keys for admins only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationView {
    pub name: String,
    pub source: String,
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `GET /v1/oncall`: who is on call now and next, per schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnCallView {
    pub schedule: String,
    pub time_zone: String,
    pub now: Option<ShiftView>,
    pub next: Option<ShiftView>,
    /// Overrides of this schedule that have not ended yet.
    pub overrides: Vec<OverrideView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftView {
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The layer the shift comes from; absent for an override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The override the shift comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_id: Option<String>,
}

impl From<crate::domain::schedule::Shift> for ShiftView {
    fn from(shift: crate::domain::schedule::Shift) -> Self {
        ShiftView {
            user: shift.user,
            start: shift.start,
            end: shift.end,
            layer: shift.layer,
            override_id: shift.override_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideView {
    pub id: String,
    pub schedule: String,
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// `config` for overrides in the configuration file (they cannot be deleted over the
    /// API), `api` for the others.
    pub origin: String,
}

/// `POST /v1/overrides`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    pub schedule: String,
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceView {
    pub id: String,
    /// Matchers as written: `service=batch`, `severity=warning`, `env=~prod|staging`.
    pub matchers: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub comment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// `pending`, `active` or `expired`.
    pub state: String,
    /// `config` for maintenance windows in the configuration file, `api` for the others.
    pub origin: String,
}

/// `POST /v1/silences`: `starts_at` defaults to now; give `ends_at` or `duration` (`2h`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    pub matchers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default)]
    pub comment: String,
}

/// `GET /v1/explain`: what would happen if an alert with these facts fired now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplainView {
    pub route: Option<String>,
    pub service: Option<String>,
    pub policy: Option<String>,
    pub urgency: crate::domain::routing::Urgency,
    /// The silence that would hold it: then nobody is paged.
    pub silenced_by: Option<String>,
    /// Why nobody would be paged, when nobody would.
    pub not_paged: Option<String>,
    pub pages: Vec<crate::domain::escalation::PredictedPage>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::escalation::ContactKind;
    use crate::domain::Delivery;
    use chrono::TimeZone;

    /// Every kind's fields share one JSON object with the entry's own (`seq`, `at`, `actor`,
    /// `kind`, `description`): a kind with a field of the same name would write the key twice
    /// and no client could read it back.
    #[test]
    fn every_timeline_kind_reads_back_from_its_wire_view() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap();
        let kinds = vec![
            TimelineKind::Triggered { title: "t".into() },
            TimelineKind::AlertFired {
                title: "t".into(),
                alert_count: 2,
            },
            TimelineKind::AlertResolved { title: "t".into() },
            TimelineKind::Acknowledged,
            TimelineKind::Unacknowledged,
            TimelineKind::Resolved { by_source: true },
            TimelineKind::Snoozed { until: at },
            TimelineKind::SnoozeEnded,
            TimelineKind::Reassigned {
                from: Some("a".into()),
                to: "b".into(),
            },
            TimelineKind::SeverityChanged {
                from: Severity::Warning,
                to: Severity::Critical,
            },
            TimelineKind::Note { text: "n".into() },
            TimelineKind::NotPaged { reason: "r".into() },
            TimelineKind::Silenced {
                silence: "3".into(),
                summary: "silence 3 service=batch".into(),
            },
            TimelineKind::SilenceEnded {
                silence: "3".into(),
            },
            TimelineKind::Escalated {
                policy: "ops".into(),
                level: 2,
                repeat: 1,
                users: vec!["alice".into()],
                manual: true,
            },
            TimelineKind::EscalationExhausted,
            TimelineKind::Notified {
                user: "alice".into(),
                contact: "sms".into(),
                channel: ContactKind::Sms,
                outcome: Delivery::Failed {
                    reason: "500".into(),
                    attempt: 1,
                    of: 5,
                },
            },
        ];
        for (seq, kind) in kinds.into_iter().enumerate() {
            let entry = TimelineEntry {
                incident: 1,
                seq: seq as u32,
                at,
                actor: Actor::System,
                kind,
            };
            let view = TimelineView::from(&entry);
            let json = serde_json::to_string(&view).unwrap();
            let back: TimelineView = serde_json::from_str(&json)
                .unwrap_or_else(|error| panic!("{json} does not read back: {error}"));
            assert_eq!(back, view, "{json}");
        }
    }
}
