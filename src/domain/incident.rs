//! Incidents and their timelines: the lifecycle rules. Pure: every function takes `now`.

use super::alert::{AlertEvent, AlertStatus, Link};
use super::escalation::ContactKind;
use super::labels::Labels;
use super::routing::Urgency;
use super::severity::Severity;
use super::silence::SilenceId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type IncidentId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Triggered => "triggered",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn is_open(self) -> bool {
        self != IncidentStatus::Resolved
    }
}

impl std::str::FromStr for IncidentStatus {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "triggered" => Ok(IncidentStatus::Triggered),
            "acknowledged" => Ok(IncidentStatus::Acknowledged),
            "resolved" => Ok(IncidentStatus::Resolved),
            other => Err(format!(
                "unknown status {other:?}: expected one of triggered, acknowledged, resolved"
            )),
        }
    }
}

/// Where an incident stands in its escalation policy; empty until a policy applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationState {
    pub policy: Option<String>,
    /// The last level paged, 1-based; 0 before the first.
    pub level: u32,
    /// When the next level is paged; `None` when escalation is stopped or exhausted.
    pub next_at: Option<DateTime<Utc>>,
    /// Runs of the policy after the first (0 during the first).
    #[serde(default)]
    pub repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
    /// The route that chose the policy, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// The silence holding the incident: stored and shown, but nobody is paged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced_by: Option<SilenceId>,
}

/// Who did something: a user by name, an integration, or klaxon itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum Actor {
    User(String),
    Integration(String),
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::User(name) => formatter.write_str(name),
            Actor::Integration(name) => write!(formatter, "integration {name}"),
            Actor::System => formatter.write_str("klaxon"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TimelineKind {
    Triggered {
        title: String,
    },
    AlertFired {
        title: String,
        alert_count: u32,
    },
    AlertResolved {
        title: String,
    },
    Acknowledged,
    Unacknowledged,
    Resolved {
        by_source: bool,
    },
    Snoozed {
        until: DateTime<Utc>,
    },
    SnoozeEnded,
    Reassigned {
        from: Option<String>,
        to: String,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    Note {
        text: String,
    },
    /// Routing chose no escalation policy: nobody is paged for this incident.
    NotPaged {
        reason: String,
    },
    /// `summary` is the silence as people read it (not `description`: the wire view of an
    /// entry has its own `description`, and the kind's fields share its object).
    Silenced {
        silence: SilenceId,
        summary: String,
    },
    SilenceEnded {
        silence: SilenceId,
    },
    Escalated {
        policy: String,
        level: u32,
        repeat: u32,
        users: Vec<String>,
        manual: bool,
    },
    EscalationExhausted,
    /// The channel's bot answering a command (`/status`, `/similar`…).
    BotReply {
        command: String,
        text: String,
    },
    Notified {
        user: String,
        contact: String,
        channel: ContactKind,
        outcome: Delivery,
    },
}

/// What came of one attempt to reach someone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Delivery {
    Delivered {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Failed; tried again after a pause.
    Failed {
        reason: String,
        attempt: u32,
        of: u32,
    },
    GaveUp {
        reason: String,
        attempts: u32,
    },
}

impl TimelineKind {
    /// One line for people: what the TUI and the CLI show.
    pub fn describe(&self) -> String {
        match self {
            TimelineKind::Triggered { title } => format!("triggered: {title}"),
            TimelineKind::AlertFired { title, alert_count } => {
                format!("alert fired ({alert_count} in all): {title}")
            }
            TimelineKind::AlertResolved { title } => format!("alert resolved: {title}"),
            TimelineKind::Acknowledged => "acknowledged".to_string(),
            TimelineKind::Unacknowledged => "back to triggered".to_string(),
            TimelineKind::Resolved { by_source: true } => "resolved by the source".to_string(),
            TimelineKind::Resolved { by_source: false } => "resolved".to_string(),
            TimelineKind::Snoozed { until } => format!("snoozed until {}", until.to_rfc3339()),
            TimelineKind::SnoozeEnded => "snooze ended: triggered again".to_string(),
            TimelineKind::Reassigned { from: None, to } => format!("assigned to {to}"),
            TimelineKind::Reassigned {
                from: Some(from),
                to,
            } => {
                format!("reassigned from {from} to {to}")
            }
            TimelineKind::SeverityChanged { from, to } => {
                format!("severity changed from {from} to {to}")
            }
            TimelineKind::Note { text } => text.clone(),
            TimelineKind::NotPaged { reason } => format!("nobody paged: {reason}"),
            TimelineKind::Silenced { summary, .. } => {
                format!("silenced by {summary}: nobody is paged")
            }
            TimelineKind::SilenceEnded { silence } => {
                format!("silence {silence} ended: escalation starts")
            }
            TimelineKind::Escalated {
                policy,
                level,
                repeat,
                users,
                manual,
            } => {
                let how = if *manual {
                    "escalated by hand to"
                } else {
                    "escalated to"
                };
                let run = if *repeat > 0 {
                    format!(", repeat {repeat}")
                } else {
                    String::new()
                };
                let whom = if users.is_empty() {
                    "nobody (no one on call)".to_string()
                } else {
                    users.join(", ")
                };
                format!("{how} level {level} of {policy}{run}: paging {whom}")
            }
            TimelineKind::EscalationExhausted => {
                "escalation policy exhausted: no further level".to_string()
            }
            TimelineKind::BotReply { text, .. } => text.clone(),
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
                    } => format!("{via} to {user}: failed {reason}, retry {attempt}/{of}"),
                    Delivery::GaveUp { reason, attempts } => {
                        format!("{via} to {user}: gave up after {attempts} attempts: {reason}")
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub incident: IncidentId,
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    #[serde(flatten)]
    pub kind: TimelineKind,
}

/// An incident as the world sees it. Human state (acknowledgement, assignee, snooze,
/// severity override) lives in its own fields, which source events never overwrite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
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
    pub resolved_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub assignee: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_by: Option<String>,
    pub escalation: EscalationState,
    pub labels: Labels,
    pub links: Vec<Link>,
    /// Set once a person changes the severity; from then on sources no longer raise it.
    #[serde(default)]
    pub severity_set_by_human: bool,
    /// Fingerprints of alerts currently firing, for sources that identify single alerts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firing: Vec<String>,
    /// Fingerprints seen while this incident was open: `alert_count` counts these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// How many timeline entries exist; the next one gets this number.
    pub timeline_len: u32,
}

/// What a person asks to do to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Acknowledge,
    Resolve,
    Snooze {
        until: DateTime<Utc>,
    },
    Reassign {
        to: String,
    },
    SetSeverity {
        severity: Severity,
    },
    Note {
        text: String,
    },
    /// Page the next level of the escalation policy now. The engine carries it out, since it
    /// needs the policies and schedules; on its own an incident does nothing with it.
    Escalate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("incident {0} is resolved; it can no longer be {1}")]
    Resolved(IncidentId, &'static str),
    #[error("the snooze must end in the future")]
    SnoozeInPast,
    #[error("the note is empty")]
    EmptyNote,
    #[error("the assignee name is empty")]
    EmptyAssignee,
}

/// An incident after a change, with the timeline entries the change wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub incident: Incident,
    pub entries: Vec<TimelineEntry>,
    pub opened: bool,
}

impl Incident {
    /// Opens an incident from the first firing alert of a dedup key.
    pub fn open(
        id: IncidentId,
        integration: &str,
        event: &AlertEvent,
        default_service: Option<&str>,
        now: DateTime<Utc>,
    ) -> Change {
        let mut incident = Incident {
            id,
            title: event.title.clone(),
            status: IncidentStatus::Triggered,
            severity: event.severity,
            service: event
                .service
                .clone()
                .or_else(|| default_service.map(str::to_string)),
            integration: integration.to_string(),
            dedup_key: event.dedup_key.clone(),
            alert_count: 1,
            created_at: now,
            updated_at: now,
            acknowledged_at: None,
            resolved_at: None,
            snoozed_until: None,
            assignee: None,
            acknowledged_by: None,
            resolved_by: None,
            escalation: EscalationState::default(),
            labels: Labels::from(&event.labels),
            links: event.links.clone(),
            severity_set_by_human: false,
            firing: event.fingerprint.iter().cloned().collect(),
            seen: event.fingerprint.iter().cloned().collect(),
            timeline_len: 0,
        };
        let actor = Actor::Integration(integration.to_string());
        let entry = incident.record(
            now,
            actor,
            TimelineKind::Triggered {
                title: event.title.clone(),
            },
        );
        Change {
            incident,
            entries: vec![entry],
            opened: true,
        }
    }

    /// Applies a further source event for this incident's dedup key while it is open.
    /// Returns `None` when the event changes nothing (a repeat of an alert already firing).
    pub fn apply_alert(&mut self, event: &AlertEvent, now: DateTime<Utc>) -> Option<Change> {
        debug_assert!(self.status.is_open());
        let actor = Actor::Integration(self.integration.clone());
        let mut entries = Vec::new();
        match event.status {
            AlertStatus::Firing => {
                let counts = match &event.fingerprint {
                    Some(fingerprint) => {
                        let new_alert = !self.seen.contains(fingerprint);
                        let refiring = !self.firing.contains(fingerprint);
                        if refiring {
                            self.firing.push(fingerprint.clone());
                        }
                        if new_alert {
                            self.seen.push(fingerprint.clone());
                        } else if !refiring {
                            return None;
                        }
                        new_alert
                    }
                    None => true,
                };
                if counts {
                    self.alert_count = self.alert_count.saturating_add(1);
                }
                if !self.severity_set_by_human && event.severity < self.severity {
                    let from = self.severity;
                    self.severity = event.severity;
                    entries.push(self.record(
                        now,
                        actor.clone(),
                        TimelineKind::SeverityChanged {
                            from,
                            to: event.severity,
                        },
                    ));
                }
                for (name, value) in &event.labels {
                    self.labels.insert_if_absent(name, value);
                }
                for link in &event.links {
                    if !self.links.contains(link) {
                        self.links.push(link.clone());
                    }
                }
                let alert_count = self.alert_count;
                entries.push(self.record(
                    now,
                    actor,
                    TimelineKind::AlertFired {
                        title: event.title.clone(),
                        alert_count,
                    },
                ));
            }
            AlertStatus::Acknowledged => {
                if self.status != IncidentStatus::Triggered {
                    return None;
                }
                self.status = IncidentStatus::Acknowledged;
                self.stop_escalation();
                self.acknowledged_at = Some(now);
                self.acknowledged_by = Some(actor.to_string());
                entries.push(self.record(now, actor, TimelineKind::Acknowledged));
            }
            AlertStatus::Resolved => match &event.fingerprint {
                Some(fingerprint) => {
                    let position = self.firing.iter().position(|f| f == fingerprint)?;
                    self.firing.remove(position);
                    if self.firing.is_empty() {
                        self.resolve(now, actor, true, &mut entries);
                    } else {
                        entries.push(self.record(
                            now,
                            actor,
                            TimelineKind::AlertResolved {
                                title: event.title.clone(),
                            },
                        ));
                    }
                }
                None => self.resolve(now, actor, true, &mut entries),
            },
        }
        self.updated_at = now;
        Some(Change {
            incident: self.clone(),
            entries,
            opened: false,
        })
    }

    /// Applies a person's action. `Ok(None)` means it was already so (nothing written).
    pub fn apply_action(
        &mut self,
        action: &Action,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Change>, ActionError> {
        let actor = Actor::User(user.to_string());
        let mut entries = Vec::new();
        let resolved = self.status == IncidentStatus::Resolved;
        match action {
            Action::Acknowledge => {
                if resolved {
                    return Err(ActionError::Resolved(self.id, "acknowledged"));
                }
                if self.status == IncidentStatus::Acknowledged && self.snoozed_until.is_none() {
                    return Ok(None);
                }
                self.status = IncidentStatus::Acknowledged;
                self.snoozed_until = None;
                self.stop_escalation();
                self.acknowledged_at = Some(now);
                self.acknowledged_by = Some(user.to_string());
                entries.push(self.record(now, actor, TimelineKind::Acknowledged));
            }
            Action::Resolve => {
                if resolved {
                    return Ok(None);
                }
                self.resolve(now, actor, false, &mut entries);
            }
            Action::Snooze { until } => {
                if resolved {
                    return Err(ActionError::Resolved(self.id, "snoozed"));
                }
                if *until <= now {
                    return Err(ActionError::SnoozeInPast);
                }
                if self.status == IncidentStatus::Triggered {
                    self.acknowledged_at = Some(now);
                    self.acknowledged_by = Some(user.to_string());
                }
                self.status = IncidentStatus::Acknowledged;
                self.stop_escalation();
                self.snoozed_until = Some(*until);
                entries.push(self.record(now, actor, TimelineKind::Snoozed { until: *until }));
            }
            Action::Reassign { to } => {
                let to = to.trim();
                if to.is_empty() {
                    return Err(ActionError::EmptyAssignee);
                }
                if self.assignee.as_deref() == Some(to) {
                    return Ok(None);
                }
                let from = self.assignee.replace(to.to_string());
                let kind = TimelineKind::Reassigned {
                    from,
                    to: to.to_string(),
                };
                entries.push(self.record(now, actor, kind));
            }
            Action::SetSeverity { severity } => {
                self.severity_set_by_human = true;
                if self.severity == *severity {
                    return Ok(None);
                }
                let from = std::mem::replace(&mut self.severity, *severity);
                let kind = TimelineKind::SeverityChanged {
                    from,
                    to: *severity,
                };
                entries.push(self.record(now, actor, kind));
            }
            Action::Escalate => return Ok(None),
            Action::Note { text } => {
                if text.trim().is_empty() {
                    return Err(ActionError::EmptyNote);
                }
                let kind = TimelineKind::Note { text: text.clone() };
                entries.push(self.record(now, actor, kind));
            }
        }
        self.updated_at = now;
        Ok(Some(Change {
            incident: self.clone(),
            entries,
            opened: false,
        }))
    }

    /// Ends a snooze that is due: the incident is triggered again.
    pub fn wake_if_due(&mut self, now: DateTime<Utc>) -> Option<Change> {
        let until = self.snoozed_until?;
        if until > now || self.status != IncidentStatus::Acknowledged {
            return None;
        }
        self.snoozed_until = None;
        self.status = IncidentStatus::Triggered;
        self.acknowledged_at = None;
        self.acknowledged_by = None;
        self.updated_at = now;
        self.start_escalation(now);
        let entry = self.record(now, Actor::System, TimelineKind::SnoozeEnded);
        Some(Change {
            incident: self.clone(),
            entries: vec![entry],
            opened: false,
        })
    }

    fn resolve(
        &mut self,
        now: DateTime<Utc>,
        actor: Actor,
        by_source: bool,
        entries: &mut Vec<TimelineEntry>,
    ) {
        self.status = IncidentStatus::Resolved;
        self.resolved_at = Some(now);
        self.resolved_by = Some(actor.to_string());
        self.snoozed_until = None;
        self.firing.clear();
        self.escalation.next_at = None;
        entries.push(self.record(now, actor, TimelineKind::Resolved { by_source }));
    }

    /// Appends a timeline entry; the caller keeps it to store and publish.
    pub fn record_entry(
        &mut self,
        at: DateTime<Utc>,
        actor: Actor,
        kind: TimelineKind,
    ) -> TimelineEntry {
        self.record(at, actor, kind)
    }

    fn record(&mut self, at: DateTime<Utc>, actor: Actor, kind: TimelineKind) -> TimelineEntry {
        let entry = TimelineEntry {
            incident: self.id,
            seq: self.timeline_len,
            at,
            actor,
            kind,
        };
        self.timeline_len += 1;
        entry
    }
}
