//! Escalation: people and how they want to be reached, teams, policies with levels, delays
//! and repeats, and the step rules that move an incident through its policy. Pure: every
//! function takes `now`; the engine turns the pages decided here into notifications.

use super::incident::{Actor, Incident, IncidentStatus, TimelineEntry, TimelineKind};
use super::routing::Urgency;
use super::schedule::{Override, Schedule};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    Email,
    Sms,
    Voice,
    Slack,
    Webhook,
    Exec,
}

impl ContactKind {
    pub const ALL: [ContactKind; 6] = [
        ContactKind::Email,
        ContactKind::Sms,
        ContactKind::Voice,
        ContactKind::Slack,
        ContactKind::Webhook,
        ContactKind::Exec,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Sms => "sms",
            ContactKind::Voice => "voice",
            ContactKind::Slack => "slack",
            ContactKind::Webhook => "webhook",
            ContactKind::Exec => "exec",
        }
    }
}

impl std::str::FromStr for ContactKind {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ContactKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                format!(
                    "unknown contact kind {value:?}: expected one of email, sms, voice, slack, webhook, exec"
                )
            })
    }
}

impl fmt::Display for ContactKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Where a contact method sends: an address (email, phone number, URL) or, for `exec`, a
/// program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContactAddress {
    Text(String),
    Command(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMethod {
    /// How rules name it; by default the kind (`sms`).
    pub name: String,
    pub kind: ContactKind,
    pub address: ContactAddress,
}

/// "voice after 5m": use this contact method this long after the person is paged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRule {
    pub contact: String,
    pub after: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub contacts: Vec<ContactMethod>,
    /// Rules for high-urgency pages; empty: every contact method at once.
    pub high: Vec<NotificationRule>,
    /// Rules for low-urgency pages; empty: every contact method at once.
    pub low: Vec<NotificationRule>,
}

impl Person {
    /// Which contact methods to use, and when, for a page of this urgency sent at `paged_at`.
    pub fn plan(
        &self,
        urgency: Urgency,
        paged_at: DateTime<Utc>,
    ) -> Vec<(&ContactMethod, DateTime<Utc>)> {
        let rules = match urgency {
            Urgency::High => &self.high,
            Urgency::Low => &self.low,
        };
        if rules.is_empty() {
            return self
                .contacts
                .iter()
                .map(|contact| (contact, paged_at))
                .collect();
        }
        rules
            .iter()
            .filter_map(|rule| {
                let contact = self.contacts.iter().find(|c| c.name == rule.contact)?;
                Some((contact, paged_at + rule.after))
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub name: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "name", rename_all = "lowercase")]
pub enum Target {
    User(String),
    Schedule(String),
    Team(String),
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::User(name) => write!(formatter, "user:{name}"),
            Target::Schedule(name) => write!(formatter, "schedule:{name}"),
            Target::Team(name) => write!(formatter, "team:{name}"),
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    /// `user:alice`, `schedule:primary`, `team:platform`.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (kind, name) = value.split_once(':').ok_or_else(|| {
            format!("{value:?} is not a target: expected user:NAME, schedule:NAME or team:NAME")
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{value:?} names no {kind}"));
        }
        match kind.trim() {
            "user" => Ok(Target::User(name.to_string())),
            "schedule" => Ok(Target::Schedule(name.to_string())),
            "team" => Ok(Target::Team(name.to_string())),
            other => Err(format!(
                "{value:?}: unknown target kind {other:?}: expected user, schedule or team"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationLevel {
    pub targets: Vec<Target>,
    /// How long this level has to acknowledge before the next one is paged.
    pub delay: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub name: String,
    pub levels: Vec<EscalationLevel>,
    /// How many times the whole policy runs again after its last level.
    pub repeat: u32,
    /// Page one person of a level at a time, the next one each time, instead of all.
    pub round_robin: bool,
}

/// Everyone and everything escalation needs to know: from the configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directory {
    pub people: Vec<Person>,
    pub teams: Vec<Team>,
    pub schedules: Vec<Schedule>,
    pub policies: Vec<EscalationPolicy>,
}

impl Directory {
    pub fn person(&self, name: &str) -> Option<&Person> {
        self.people.iter().find(|person| person.name == name)
    }

    pub fn policy(&self, name: &str) -> Option<&EscalationPolicy> {
        self.policies.iter().find(|policy| policy.name == name)
    }

    pub fn schedule(&self, name: &str) -> Option<&Schedule> {
        self.schedules.iter().find(|schedule| schedule.name == name)
    }

    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|team| team.name == name)
    }

    /// The people a target means at `at`: a user, whoever is on call, or every member.
    pub fn resolve(
        &self,
        target: &Target,
        overrides: &[Override],
        at: DateTime<Utc>,
    ) -> Vec<String> {
        match target {
            Target::User(name) => vec![name.clone()],
            Target::Schedule(name) => self
                .schedule(name)
                .and_then(|schedule| schedule.on_call_at(overrides, at))
                .map(|shift| vec![shift.user])
                .unwrap_or_default(),
            Target::Team(name) => self
                .team(name)
                .map(|team| team.members.clone())
                .unwrap_or_default(),
        }
    }

    /// The people a level pages at `at`, without repeats, in target order. With round robin,
    /// one of them: which one moves on with every incident and every repeat, so pages spread
    /// over the level and a repeat reaches someone new.
    pub fn level_people(
        &self,
        policy: &EscalationPolicy,
        level: &EscalationLevel,
        overrides: &[Override],
        at: DateTime<Utc>,
        turn: u64,
    ) -> Vec<String> {
        let mut people: Vec<String> = Vec::new();
        for target in &level.targets {
            for name in self.resolve(target, overrides, at) {
                if !people.contains(&name) {
                    people.push(name);
                }
            }
        }
        if policy.round_robin && !people.is_empty() {
            let chosen = people.swap_remove((turn % people.len() as u64) as usize);
            return vec![chosen];
        }
        people
    }
}

/// One person paged at one level of one run of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub user: String,
    /// 1-based, as people count levels.
    pub level: u32,
    /// 0 for the first run of the policy, 1 for its first repeat, and so on.
    pub repeat: u32,
}

/// The next step of a policy after `level` (1-based; 0: none yet) of run `repeat`.
fn next_step(policy: &EscalationPolicy, level: u32, repeat: u32) -> Option<(u32, u32)> {
    if (level as usize) < policy.levels.len() {
        Some((level + 1, repeat))
    } else if repeat < policy.repeat && !policy.levels.is_empty() {
        Some((1, repeat + 1))
    } else {
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalateError {
    #[error("incident {0} is resolved")]
    Resolved(u64),
    #[error("incident {0} has no escalation policy")]
    NoPolicy(u64),
    #[error("incident {0} is silenced: nobody is paged while the silence holds")]
    Silenced(u64),
    #[error("escalation policy {policy:?} of incident {id} has no further level")]
    Exhausted { id: u64, policy: String },
}

impl EscalateError {
    /// A stable code for the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            EscalateError::Resolved(_) => "conflict",
            EscalateError::NoPolicy(_) => "no_escalation_policy",
            EscalateError::Silenced(_) => "silenced",
            EscalateError::Exhausted { .. } => "escalation_exhausted",
        }
    }
}

impl Incident {
    /// Starts (or restarts) escalation under a policy: the first level is due at once.
    pub fn start_escalation(&mut self, now: DateTime<Utc>) {
        if self.escalation.policy.is_some() && self.escalation.silenced_by.is_none() {
            self.escalation.level = 0;
            self.escalation.repeat = 0;
            self.escalation.next_at = Some(now);
        }
    }

    /// Stops the timers: nothing further is paged until escalation is started again.
    pub fn stop_escalation(&mut self) {
        self.escalation.next_at = None;
    }

    /// Whether the next step is due: open, triggered, unsilenced and past its time.
    pub fn escalation_due(&self, now: DateTime<Utc>) -> bool {
        self.status == IncidentStatus::Triggered
            && self.escalation.silenced_by.is_none()
            && self.escalation.next_at.is_some_and(|at| at <= now)
    }

    /// Fires the next step of the policy: whom it pages, the timeline entry saying so, and
    /// the time of the step after it. `manual` is escalate-now by a person: allowed before the
    /// step is due, and it re-triggers an acknowledged incident as PagerDuty does.
    pub fn escalate(
        &mut self,
        policy: &EscalationPolicy,
        directory: &Directory,
        overrides: &[Override],
        actor: Actor,
        manual: bool,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Page>, Vec<TimelineEntry>), EscalateError> {
        if !self.status.is_open() {
            return Err(EscalateError::Resolved(self.id));
        }
        if self.escalation.silenced_by.is_some() {
            return Err(EscalateError::Silenced(self.id));
        }
        let (level, repeat) = next_step(policy, self.escalation.level, self.escalation.repeat)
            .ok_or_else(|| EscalateError::Exhausted {
                id: self.id,
                policy: policy.name.clone(),
            })?;
        let mut entries = Vec::new();
        if manual && self.status == IncidentStatus::Acknowledged {
            self.status = IncidentStatus::Triggered;
            self.acknowledged_at = None;
            self.acknowledged_by = None;
            self.snoozed_until = None;
            entries.push(self.record_entry(now, actor.clone(), TimelineKind::Unacknowledged));
        }
        let step = &policy.levels[level as usize - 1];
        let turn = self.id + u64::from(repeat);
        let people = directory.level_people(policy, step, overrides, now, turn);
        self.escalation.level = level;
        self.escalation.repeat = repeat;
        self.escalation.next_at =
            next_step(policy, level, repeat).map(|_| now + step.delay.max(Duration::zero()));
        self.updated_at = now;
        entries.push(self.record_entry(
            now,
            actor,
            TimelineKind::Escalated {
                policy: policy.name.clone(),
                level,
                repeat,
                users: people.clone(),
                manual,
            },
        ));
        if self.escalation.next_at.is_none() {
            entries.push(self.record_entry(now, Actor::System, TimelineKind::EscalationExhausted));
        }
        let pages = people
            .into_iter()
            .map(|user| Page {
                user,
                level,
                repeat,
            })
            .collect();
        Ok((pages, entries))
    }
}

/// A span as people say it: `0s`, `1m30s`, `5m`, `1h5m`.
pub fn short_span(span: Duration) -> String {
    let seconds = span.num_seconds().max(0);
    let (hours, minutes, seconds) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 || text.is_empty() {
        text.push_str(&format!("{seconds}s"));
    }
    text
}

/// One page `klaxon explain` predicts: who, through what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PredictedPage {
    pub at: DateTime<Utc>,
    pub level: u32,
    pub repeat: u32,
    pub user: String,
    pub contact: Option<String>,
    pub kind: Option<ContactKind>,
}

/// The pages an incident opened at `start` would cause if nobody acknowledged it: every
/// level of every run, each person's contact methods at their rule's delay.
pub fn predict(
    directory: &Directory,
    policy: &EscalationPolicy,
    overrides: &[Override],
    urgency: Urgency,
    incident_id: u64,
    start: DateTime<Utc>,
) -> Vec<PredictedPage> {
    let mut pages = Vec::new();
    let mut at = start;
    let (mut level, mut repeat) = (0, 0);
    while let Some((next_level, next_repeat)) = next_step(policy, level, repeat) {
        level = next_level;
        repeat = next_repeat;
        let step = &policy.levels[level as usize - 1];
        let turn = incident_id + u64::from(repeat);
        for user in directory.level_people(policy, step, overrides, at, turn) {
            let plan: Vec<(Option<&super::escalation::ContactMethod>, DateTime<Utc>)> =
                match directory.person(&user) {
                    Some(person) if !person.contacts.is_empty() => person
                        .plan(urgency, at)
                        .into_iter()
                        .map(|(contact, when)| (Some(contact), when))
                        .collect(),
                    _ => vec![(None, at)],
                };
            for (contact, when) in plan {
                pages.push(PredictedPage {
                    at: when,
                    level,
                    repeat,
                    user: user.clone(),
                    contact: contact.map(|c| c.name.clone()),
                    kind: contact.map(|c| c.kind),
                });
            }
        }
        at += step.delay.max(Duration::zero());
    }
    // In the order they would happen; a stable sort keeps levels and rules in order.
    pages.sort_by_key(|page| page.at);
    pages
}
