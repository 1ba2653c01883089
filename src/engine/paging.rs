//! Paging state inside the engine task: routing and silences for new incidents, escalation
//! steps when they fall due, the notification outbox, overrides and silences made over the
//! API, and the auditor. Every change is staged and applied only once its round is durable.

use super::metrics::Metrics;
use crate::domain::escalation::{predict, ContactKind, Directory, EscalateError};
use crate::domain::matcher::Subject;
use crate::domain::outbox::{
    after_attempt, Attempt, JobId, NotificationJob, DEFAULT_MAX_ATTEMPTS, DEFAULT_PER_MINUTE,
};
use crate::domain::routing::{Routing, Urgency};
use crate::domain::schedule::Override;
use crate::domain::silence::{silencing, Silence};
use crate::domain::{
    Actor, Delivery, Incident, IncidentBook, IncidentId, IncidentStatus, TimelineEntry,
    TimelineKind,
};
use crate::notify::{Notification, Notifiers};
use crate::protocol::{
    ExplainView, IncidentView, OnCallView, OverrideView, ShiftView, SilenceView,
};
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// How often the auditor checks every open incident.
pub const AUDIT_INTERVAL: Duration = Duration::seconds(10);
/// A pending step this far past due at an audit means the timers are not firing.
const OVERDUE_AFTER: Duration = Duration::seconds(5);

/// What the engine pages with: from the configuration, plus the channels to send through.
#[derive(Clone, Default)]
pub struct PagingOptions {
    pub directory: Directory,
    pub routing: Routing,
    /// Maintenance windows from the configuration.
    pub maintenance: Vec<Silence>,
    /// Overrides from the configuration.
    pub overrides: Vec<Override>,
    /// A channel for every configured way to send.
    pub channels: Arc<Notifiers>,
    pub max_attempts: Option<u32>,
    pub per_minute: Option<u32>,
}

impl std::fmt::Debug for PagingOptions {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PagingOptions")
            .field("policies", &self.directory.policies.len())
            .field("routes", &self.routing.routes.len())
            .field("channels", &self.channels)
            .finish()
    }
}

/// A round's changes to paging state, applied once the round is durable.
#[derive(Debug, Default)]
pub(crate) struct Staged {
    pub jobs: Vec<NotificationJob>,
    pub jobs_done: Vec<JobId>,
    pub silences: Vec<Silence>,
    pub overrides: Vec<Override>,
    pub overrides_removed: Vec<String>,
    pub sequence: Option<u64>,
}

/// One send handed to a channel: what to send, and the job it settles.
pub(crate) struct Dispatch {
    pub job: JobId,
    /// The channels, and the kind to send through, when there is one.
    pub notifier: Option<(Arc<Notifiers>, ContactKind)>,
    pub notification: Option<Notification>,
    /// Why it cannot be sent at all (no channel, no such contact any more).
    pub refusal: Option<String>,
}

pub(crate) struct Paging {
    directory: Directory,
    routing: Routing,
    maintenance: Vec<Silence>,
    config_overrides: Vec<Override>,
    /// Silences made over the API, expired ones included, by id.
    silences: BTreeMap<String, Silence>,
    overrides: BTreeMap<String, Override>,
    /// Config and API overrides together, as the schedules read them.
    all_overrides: Vec<Override>,
    sequence: u64,
    jobs: BTreeMap<JobId, NotificationJob>,
    due: BTreeSet<(DateTime<Utc>, JobId)>,
    by_incident: HashMap<IncidentId, BTreeSet<JobId>>,
    in_flight: HashSet<JobId>,
    /// Recent sends per (user, contact), for the per-minute throttle.
    sent: HashMap<(String, String), VecDeque<DateTime<Utc>>>,
    /// Until when a throttled contact waits, so the timer wakes for it.
    throttled_until: Option<DateTime<Utc>>,
    channels: Arc<Notifiers>,
    pub max_attempts: u32,
    per_minute: u32,
    last_audit: Option<DateTime<Utc>>,
    /// The silence boundaries already acted on, so each is acted on once.
    silence_checked_at: DateTime<Utc>,
}

impl Paging {
    pub fn new(
        options: PagingOptions,
        silences: Vec<Silence>,
        overrides: Vec<Override>,
        jobs: Vec<NotificationJob>,
        sequence: u64,
        now: DateTime<Utc>,
    ) -> Self {
        let channels = options.channels;
        let mut paging = Paging {
            directory: options.directory,
            routing: options.routing,
            maintenance: options.maintenance,
            config_overrides: options.overrides,
            silences: silences.into_iter().map(|s| (s.id.clone(), s)).collect(),
            overrides: overrides.into_iter().map(|o| (o.id.clone(), o)).collect(),
            all_overrides: Vec::new(),
            sequence,
            jobs: BTreeMap::new(),
            due: BTreeSet::new(),
            by_incident: HashMap::new(),
            in_flight: HashSet::new(),
            sent: HashMap::new(),
            throttled_until: None,
            channels,
            max_attempts: options.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
            per_minute: options.per_minute.unwrap_or(DEFAULT_PER_MINUTE).max(1),
            last_audit: None,
            silence_checked_at: now,
        };
        paging.refresh_overrides();
        for job in jobs {
            paging.put_job(job);
        }
        paging
    }

    fn refresh_overrides(&mut self) {
        self.all_overrides = self
            .config_overrides
            .iter()
            .chain(self.overrides.values())
            .cloned()
            .collect();
    }

    /// Whether a user of this name is configured.
    pub fn knows(&self, user: &str) -> bool {
        self.directory.person(user).is_some()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub fn pending_jobs(&self) -> usize {
        self.jobs.len()
    }

    fn put_job(&mut self, job: NotificationJob) {
        if let Some(old) = self.jobs.get(&job.id) {
            self.due.remove(&(old.due_at, old.id));
        }
        self.due.insert((job.due_at, job.id));
        self.by_incident
            .entry(job.incident)
            .or_default()
            .insert(job.id);
        self.jobs.insert(job.id, job);
    }

    fn remove_job(&mut self, id: JobId) {
        if let Some(job) = self.jobs.remove(&id) {
            self.due.remove(&(job.due_at, id));
            if let Some(ids) = self.by_incident.get_mut(&job.incident) {
                ids.remove(&id);
                if ids.is_empty() {
                    self.by_incident.remove(&job.incident);
                }
            }
        }
    }

    /// Hands out an id from the durable sequence; the round stores the new high-water mark.
    fn allocate(&mut self, staged: &mut Staged) -> u64 {
        self.sequence += 1;
        staged.sequence = Some(self.sequence);
        self.sequence
    }

    /// After a failed commit: ids handed out in the round are handed out again.
    pub fn roll_back(&mut self, sequence_before: u64) {
        self.sequence = sequence_before;
    }

    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// Makes a durable round's paging changes current.
    pub fn apply(&mut self, staged: Staged, metrics: &Metrics) {
        for id in staged.jobs_done {
            self.remove_job(id);
            self.in_flight.remove(&id);
        }
        for job in staged.jobs {
            self.in_flight.remove(&job.id);
            self.put_job(job);
        }
        for silence in staged.silences {
            self.silences.insert(silence.id.clone(), silence);
        }
        let overrides_changed =
            !staged.overrides.is_empty() || !staged.overrides_removed.is_empty();
        for entry in staged.overrides {
            self.overrides.insert(entry.id.clone(), entry);
        }
        for id in staged.overrides_removed {
            self.overrides.remove(&id);
        }
        if overrides_changed {
            self.refresh_overrides();
        }
        metrics.outbox_pending.set(self.jobs.len() as i64);
    }

    fn all_silences(&self) -> impl Iterator<Item = &Silence> {
        self.maintenance.iter().chain(self.silences.values())
    }

    fn active_silences(&self, now: DateTime<Utc>) -> Vec<&Silence> {
        self.all_silences()
            .filter(|silence| silence.is_active(now))
            .collect()
    }

    /// Routes a just-opened incident: service, policy, urgency, silence; then escalation is
    /// due at once unless it is silenced or unrouted. Returns the timeline entries written.
    pub fn route_opened(
        &self,
        book: &mut IncidentBook,
        id: IncidentId,
        now: DateTime<Utc>,
    ) -> Vec<TimelineEntry> {
        let active = self.active_silences(now);
        let directory = &self.directory;
        let routing = &self.routing;
        book.modify(id, |incident| {
            let decision = routing.decide(&subject(incident));
            if incident.service.is_none() {
                incident.service = decision.service.clone();
            }
            let silence = silencing(active.iter().copied(), &subject(incident), now);
            incident.escalation.urgency = Some(decision.urgency);
            incident.escalation.route = decision.route.clone();
            incident.escalation.policy = decision.policy.clone();
            let mut entries = Vec::new();
            if let Some(silence) = silence {
                incident.escalation.silenced_by = Some(silence.id.clone());
                entries.push(incident.record_entry(
                    now,
                    Actor::System,
                    TimelineKind::Silenced {
                        silence: silence.id.clone(),
                        summary: silence.describe(),
                    },
                ));
            }
            match &decision.policy {
                None => {
                    let reason = match &decision.route {
                        Some(route) if decision.quiet => format!("route {route} pages nobody"),
                        Some(route) => format!(
                            "route {route} names no escalation policy and there is no default"
                        ),
                        None => {
                            "no route matches and there is no default escalation policy".to_string()
                        }
                    };
                    entries.push(incident.record_entry(
                        now,
                        Actor::System,
                        TimelineKind::NotPaged { reason },
                    ));
                }
                Some(policy) if directory.policy(policy).is_none() => {
                    incident.escalation.policy = None;
                    let reason = format!("escalation policy {policy:?} is not configured");
                    entries.push(incident.record_entry(
                        now,
                        Actor::System,
                        TimelineKind::NotPaged { reason },
                    ));
                }
                Some(_) => incident.start_escalation(now),
            }
            entries
        })
        .unwrap_or_default()
    }

    /// Pages the next level of an incident's policy: the step's timeline entries, and its
    /// notifications staged in the outbox. `manual` is escalate-now by a person.
    pub fn escalate(
        &mut self,
        book: &mut IncidentBook,
        id: IncidentId,
        actor: Actor,
        manual: bool,
        now: DateTime<Utc>,
        staged: &mut Staged,
    ) -> Result<Vec<TimelineEntry>, EscalateError> {
        let Some(incident) = book.get(id) else {
            return Err(EscalateError::Resolved(id));
        };
        let policy_name = incident
            .escalation
            .policy
            .clone()
            .ok_or(EscalateError::NoPolicy(id))?;
        let urgency = incident
            .escalation
            .urgency
            .unwrap_or_else(|| Urgency::for_severity(incident.severity));
        let directory = &self.directory;
        let overrides = &self.all_overrides;
        let outcome = book
            .modify(id, |incident| match directory.policy(&policy_name) {
                Some(policy) => incident.escalate(policy, directory, overrides, actor, manual, now),
                None => {
                    // The policy left the configuration since: say so once and stop,
                    // rather than fail at every tick.
                    incident.stop_escalation();
                    let reason = format!("escalation policy {policy_name:?} is not configured");
                    let entry = incident.record_entry(
                        now,
                        Actor::System,
                        TimelineKind::NotPaged { reason },
                    );
                    Ok((Vec::new(), vec![entry]))
                }
            })
            .ok_or(EscalateError::Resolved(id))?;
        let (pages, entries) = outcome?;
        for page in pages {
            let Some(person) = self.directory.person(&page.user) else {
                continue;
            };
            let plan: Vec<(String, ContactKind, DateTime<Utc>)> = person
                .plan(urgency, now)
                .into_iter()
                .map(|(contact, at)| (contact.name.clone(), contact.kind, at))
                .collect();
            for (contact, kind, due_at) in plan {
                let job_id = self.allocate(staged);
                staged.jobs.push(NotificationJob {
                    id: job_id,
                    incident: id,
                    user: page.user.clone(),
                    contact,
                    kind,
                    urgency,
                    level: page.level,
                    repeat: page.repeat,
                    due_at,
                    attempts: 0,
                    manual: false,
                });
            }
        }
        Ok(entries)
    }

    /// Stages the removal of every pending notification of an incident that no longer
    /// needs paging (acknowledged, resolved or silenced); pages a person asked for by hand
    /// go out while the incident is open.
    pub fn cancel_jobs(&self, id: IncidentId, resolved: bool, staged: &mut Staged) {
        let cancelled = |job: &NotificationJob| resolved || !job.manual;
        if let Some(ids) = self.by_incident.get(&id) {
            staged.jobs_done.extend(
                ids.iter()
                    .filter(|job| self.jobs.get(job).is_some_and(cancelled)),
            );
        }
        staged
            .jobs
            .retain(|job| job.incident != id || !cancelled(job));
    }

    /// Pages one person now through their own rules (`/page bob`): what is being sent.
    pub fn page_person(
        &mut self,
        incident: &Incident,
        user: &str,
        now: DateTime<Utc>,
        staged: &mut Staged,
    ) -> Result<String, String> {
        let person = self
            .directory
            .person(user)
            .ok_or_else(|| format!("there is no user {user:?} to page"))?;
        let urgency = incident
            .escalation
            .urgency
            .unwrap_or_else(|| Urgency::for_severity(incident.severity));
        let plan: Vec<(String, ContactKind, DateTime<Utc>)> = person
            .plan(urgency, now)
            .into_iter()
            .map(|(contact, at)| (contact.name.clone(), contact.kind, at))
            .collect();
        if plan.is_empty() {
            return Err(format!("{user} has no contact methods to page"));
        }
        let mut ways = Vec::new();
        for (contact, kind, due_at) in plan {
            let id = self.allocate(staged);
            let when = if due_at > now {
                format!(
                    "{contact} in {}",
                    crate::domain::escalation::short_span(due_at - now)
                )
            } else {
                contact.clone()
            };
            ways.push(when);
            staged.jobs.push(NotificationJob {
                id,
                incident: incident.id,
                user: user.to_string(),
                contact,
                kind,
                urgency,
                level: incident.escalation.level,
                repeat: incident.escalation.repeat,
                due_at,
                attempts: 0,
                manual: true,
            });
        }
        Ok(format!("paging {user} now: {}", ways.join(", ")))
    }

    /// The outcome of one attempt: the timeline entry, and the job retried or settled.
    pub fn settle(
        &mut self,
        job_id: JobId,
        attempt: Attempt,
        now: DateTime<Utc>,
        staged: &mut Staged,
        metrics: &Metrics,
    ) -> Option<(IncidentId, TimelineKind)> {
        self.in_flight.remove(&job_id);
        let job = self.jobs.get(&job_id)?.clone();
        let (delivery, next) = after_attempt(job.clone(), attempt, self.max_attempts, now);
        let outcome = match &delivery {
            Delivery::Delivered { .. } => "delivered",
            Delivery::Failed { .. } => "failed",
            Delivery::GaveUp { .. } => "gave_up",
        };
        metrics.count_notification(job.kind.as_str(), outcome);
        match next {
            Some(next) => staged.jobs.push(next),
            None => staged.jobs_done.push(job_id),
        }
        let kind = TimelineKind::Notified {
            user: job.user.clone(),
            contact: job.contact.clone(),
            channel: job.kind,
            outcome: delivery,
        };
        Some((job.incident, kind))
    }

    /// Jobs due now, not already being sent, within their contact's throttle; each marked
    /// in flight. Jobs whose incident no longer pages are returned apart, to be cancelled.
    pub fn take_due(
        &mut self,
        book: &IncidentBook,
        now: DateTime<Utc>,
    ) -> (Vec<Dispatch>, Vec<JobId>) {
        let mut ready = Vec::new();
        let mut stale = Vec::new();
        self.throttled_until = None;
        let due: Vec<JobId> = self
            .due
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .filter(|id| !self.in_flight.contains(id))
            .collect();
        for id in due {
            let Some(job) = self.jobs.get(&id).cloned() else {
                continue;
            };
            let Some(incident) = book.get(job.incident) else {
                stale.push(id);
                continue;
            };
            let paging = incident.status == IncidentStatus::Triggered
                && incident.escalation.silenced_by.is_none();
            let wanted = paging || (job.manual && incident.status.is_open());
            if !wanted {
                stale.push(id);
                continue;
            }
            let key = (job.user.clone(), job.contact.clone());
            let window = self.sent.entry(key).or_default();
            while window
                .front()
                .is_some_and(|at| *at <= now - Duration::minutes(1))
            {
                window.pop_front();
            }
            if window.len() >= self.per_minute as usize {
                let free_at = window.front().map(|at| *at + Duration::minutes(1));
                self.throttled_until = match (self.throttled_until, free_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                continue;
            }
            window.push_back(now);
            self.in_flight.insert(id);
            ready.push(self.dispatch_for(&job, incident));
        }
        (ready, stale)
    }

    fn dispatch_for(&self, job: &NotificationJob, incident: &Incident) -> Dispatch {
        let contact = self
            .directory
            .person(&job.user)
            .and_then(|person| person.contacts.iter().find(|c| c.name == job.contact));
        let Some(contact) = contact else {
            return Dispatch {
                job: job.id,
                notifier: None,
                notification: None,
                refusal: Some(format!(
                    "{} has no contact method {:?} in the configuration any more",
                    job.user, job.contact
                )),
            };
        };
        if self.channels.get(contact.kind).is_none() {
            return Dispatch {
                job: job.id,
                notifier: None,
                notification: None,
                refusal: Some(format!("no {} channel is configured", contact.kind)),
            };
        }
        Dispatch {
            job: job.id,
            notifier: Some((self.channels.clone(), contact.kind)),
            notification: Some(Notification {
                incident: IncidentView::from(incident),
                user: job.user.clone(),
                contact: contact.clone(),
                urgency: job.urgency,
                level: job.level,
                ack_command: format!("klaxon ack {}", incident.id),
            }),
            refusal: None,
        }
    }

    /// When the timer must next wake for the outbox.
    pub fn next_job_due(&self) -> Option<DateTime<Utc>> {
        let next = self
            .due
            .iter()
            .find(|(_, id)| !self.in_flight.contains(id))
            .map(|(at, _)| *at);
        match (next, self.throttled_until) {
            (Some(next), Some(throttled)) => Some(next.max(throttled)),
            (next, _) => next,
        }
    }

    /// The next start or end of any silence after the last one acted on.
    pub fn next_silence_boundary(&self) -> Option<DateTime<Utc>> {
        self.all_silences()
            .flat_map(|silence| [silence.starts_at, silence.ends_at])
            .filter(|at| *at > self.silence_checked_at)
            .min()
    }

    /// Silences every open incident an active silence now covers, and releases those whose
    /// silence no longer holds (their escalation starts afresh). Returns each change.
    pub fn apply_silences(
        &mut self,
        book: &mut IncidentBook,
        now: DateTime<Utc>,
        staged: &mut Staged,
    ) -> Vec<(IncidentId, Option<Incident>, Vec<TimelineEntry>)> {
        self.silence_checked_at = now;
        let active = self.active_silences(now);
        let mut changed = Vec::new();
        let ids: Vec<IncidentId> = book
            .iter()
            .filter(|incident| incident.status.is_open())
            .map(|incident| incident.id)
            .collect();
        for id in ids {
            let before = book.get(id).cloned();
            let entries = book
                .modify(id, |incident| {
                    let holding =
                        silencing(active.iter().copied(), &subject(incident), now).cloned();
                    let current = incident.escalation.silenced_by.clone();
                    match (current, holding) {
                        (None, Some(silence)) => {
                            incident.escalation.silenced_by = Some(silence.id.clone());
                            incident.stop_escalation();
                            vec![incident.record_entry(
                                now,
                                Actor::System,
                                TimelineKind::Silenced {
                                    silence: silence.id.clone(),
                                    summary: silence.describe(),
                                },
                            )]
                        }
                        (Some(old), None) => {
                            incident.escalation.silenced_by = None;
                            let entry = incident.record_entry(
                                now,
                                Actor::System,
                                TimelineKind::SilenceEnded { silence: old },
                            );
                            if incident.status == IncidentStatus::Triggered {
                                incident.start_escalation(now);
                            }
                            vec![entry]
                        }
                        _ => Vec::new(),
                    }
                })
                .unwrap_or_default();
            if !entries.is_empty() {
                if book
                    .get(id)
                    .is_some_and(|incident| incident.escalation.silenced_by.is_some())
                {
                    self.cancel_jobs(id, false, staged);
                }
                changed.push((id, before, entries));
            }
        }
        changed
    }

    pub fn audit_due(&self, now: DateTime<Utc>) -> bool {
        self.last_audit
            .is_none_or(|last| now - last >= AUDIT_INTERVAL)
    }

    pub fn next_audit(&self) -> Option<DateTime<Utc>> {
        self.last_audit.map(|last| last + AUDIT_INTERVAL)
    }

    /// Checks that every open, unacknowledged, unsilenced incident has a pending step, and
    /// exports what it found. Incidents with a policy but no pending step (a bug) are
    /// returned so the engine can make their step due at once.
    pub fn audit(
        &mut self,
        book: &IncidentBook,
        now: DateTime<Utc>,
        metrics: &Metrics,
    ) -> Vec<IncidentId> {
        self.last_audit = Some(now);
        let (mut missing, mut overdue, mut unrouted, mut exhausted) = (Vec::new(), 0, 0, 0);
        for incident in book.iter() {
            if incident.status != IncidentStatus::Triggered
                || incident.escalation.silenced_by.is_some()
            {
                continue;
            }
            let Some(policy) = incident
                .escalation
                .policy
                .as_deref()
                .and_then(|name| self.directory.policy(name))
            else {
                unrouted += 1;
                continue;
            };
            match incident.escalation.next_at {
                Some(at) if now - at > OVERDUE_AFTER => overdue += 1,
                Some(_) => {}
                None => {
                    let runs_left = (incident.escalation.level as usize) < policy.levels.len()
                        || incident.escalation.repeat < policy.repeat;
                    if runs_left {
                        missing.push(incident.id);
                    } else {
                        exhausted += 1;
                    }
                }
            }
        }
        if !missing.is_empty() || overdue > 0 {
            tracing::warn!(
                missing = missing.len(),
                overdue,
                "escalation audit: incidents without a working pending step"
            );
        }
        metrics.audit.missing.set(missing.len() as i64);
        metrics.audit.overdue.set(overdue);
        metrics.audit.unrouted.set(unrouted);
        metrics.audit.exhausted.set(exhausted);
        metrics.audit.runs.inc();
        metrics.audit.last_run.set(now.timestamp());
        missing
    }

    // Views and API-side changes.

    pub fn oncall(&self, now: DateTime<Utc>) -> Vec<OnCallView> {
        self.directory
            .schedules
            .iter()
            .map(|schedule| OnCallView {
                schedule: schedule.name.clone(),
                time_zone: schedule.time_zone.name().to_string(),
                now: schedule
                    .on_call_at(&self.all_overrides, now)
                    .map(ShiftView::from),
                next: schedule
                    .next_after(&self.all_overrides, now)
                    .map(ShiftView::from),
                overrides: self
                    .override_views()
                    .into_iter()
                    .filter(|view| view.schedule == schedule.name && view.end > now)
                    .collect(),
            })
            .collect()
    }

    pub fn override_views(&self) -> Vec<OverrideView> {
        let config = self.config_overrides.iter().map(|o| (o, "config"));
        let api = self.overrides.values().map(|o| (o, "api"));
        let mut views: Vec<OverrideView> = config
            .chain(api)
            .map(|(entry, origin)| OverrideView {
                id: entry.id.clone(),
                schedule: entry.schedule.clone(),
                user: entry.user.clone(),
                start: entry.start,
                end: entry.end,
                created_by: entry.created_by.clone(),
                origin: origin.to_string(),
            })
            .collect();
        views.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        views
    }

    pub fn add_override(
        &mut self,
        schedule: String,
        user: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        created_by: &str,
        staged: &mut Staged,
    ) -> Result<OverrideView, String> {
        if self.directory.schedule(&schedule).is_none() {
            let known: Vec<&str> = self
                .directory
                .schedules
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            return Err(format!(
                "no schedule {schedule:?}; schedules: {}",
                list_or_none(&known)
            ));
        }
        if self.directory.person(&user).is_none() {
            return Err(format!("no user {user:?} in the configuration"));
        }
        if end <= start {
            return Err("the override must end after it starts".to_string());
        }
        let id = self.allocate(staged).to_string();
        let entry = Override {
            id: id.clone(),
            schedule,
            user,
            start,
            end,
            created_by: Some(created_by.to_string()),
        };
        staged.overrides.push(entry.clone());
        Ok(OverrideView {
            id,
            schedule: entry.schedule,
            user: entry.user,
            start,
            end,
            created_by: entry.created_by,
            origin: "api".to_string(),
        })
    }

    pub fn remove_override(
        &self,
        id: &str,
        staged: &mut Staged,
    ) -> Result<OverrideView, RemoveError> {
        if self.config_overrides.iter().any(|o| o.id == id) {
            return Err(RemoveError::Config(format!(
                "override {id} is in the configuration file; remove it there"
            )));
        }
        let view = self
            .override_views()
            .into_iter()
            .find(|view| view.id == id)
            .ok_or_else(|| RemoveError::NotFound(format!("no override {id}")))?;
        staged.overrides_removed.push(id.to_string());
        Ok(view)
    }

    pub fn silence_views(&self, now: DateTime<Utc>) -> Vec<SilenceView> {
        let config = self.maintenance.iter().map(|s| (s, "config"));
        let api = self.silences.values().map(|s| (s, "api"));
        config
            .chain(api)
            .map(|(silence, origin)| silence_view(silence, origin, now))
            .collect()
    }

    /// Makes a silence from a draft (its id is handed out here).
    pub fn add_silence(
        &mut self,
        mut silence: Silence,
        now: DateTime<Utc>,
        staged: &mut Staged,
    ) -> SilenceView {
        silence.id = self.allocate(staged).to_string();
        let view = silence_view(&silence, "api", now);
        staged.silences.push(silence);
        view
    }

    /// Ends a silence now; it stays listed as expired.
    pub fn expire_silence(
        &self,
        id: &str,
        now: DateTime<Utc>,
        staged: &mut Staged,
    ) -> Result<SilenceView, RemoveError> {
        if self.maintenance.iter().any(|s| s.id == id) {
            return Err(RemoveError::Config(format!(
                "silence {id} is a maintenance window in the configuration file; change it there"
            )));
        }
        let mut silence = self
            .silences
            .get(id)
            .cloned()
            .ok_or_else(|| RemoveError::NotFound(format!("no silence {id}")))?;
        if silence.ends_at <= now {
            return Err(RemoveError::Config(format!(
                "silence {id} has already ended"
            )));
        }
        silence.ends_at = now;
        if silence.starts_at > now {
            silence.starts_at = now;
        }
        let view = silence_view(&silence, "api", now);
        staged.silences.push(silence);
        Ok(view)
    }

    /// Makes the silence boundary at `now` be looked at again (after a silence changed).
    pub fn recheck_silences(&mut self, now: DateTime<Utc>) {
        self.silence_checked_at = self.silence_checked_at.min(now - Duration::milliseconds(1));
    }

    pub fn explain(
        &self,
        labels: &crate::domain::Labels,
        service: Option<&str>,
        severity: crate::domain::Severity,
        integration: &str,
        incident_id: IncidentId,
        now: DateTime<Utc>,
    ) -> ExplainView {
        let facts = Subject {
            labels,
            service,
            severity,
            integration,
        };
        let decision = self.routing.decide(&facts);
        let service = decision.service.clone();
        let facts = Subject {
            service: service.as_deref(),
            ..facts
        };
        let active = self.active_silences(now);
        let silenced_by = silencing(active, &facts, now).map(|s| s.id.clone());
        let policy = decision
            .policy
            .as_deref()
            .and_then(|name| self.directory.policy(name));
        let not_paged = if let Some(silence) = &silenced_by {
            Some(format!("silence {silence} holds it"))
        } else {
            match (&decision.policy, policy) {
                (None, _) if decision.quiet => Some("its route pages nobody".to_string()),
                (None, _) => Some("no escalation policy applies".to_string()),
                (Some(name), None) => Some(format!("escalation policy {name:?} is not configured")),
                _ => None,
            }
        };
        let pages = match (policy, &not_paged) {
            (Some(policy), None) => predict(
                &self.directory,
                policy,
                &self.all_overrides,
                decision.urgency,
                incident_id,
                now,
            ),
            _ => Vec::new(),
        };
        ExplainView {
            route: decision.route,
            service,
            policy: decision.policy,
            urgency: decision.urgency,
            silenced_by,
            not_paged,
            pages,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RemoveError {
    NotFound(String),
    Config(String),
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none configured".to_string()
    } else {
        names.join(", ")
    }
}

fn silence_view(silence: &Silence, origin: &str, now: DateTime<Utc>) -> SilenceView {
    let state = if silence.ends_at <= now {
        "expired"
    } else if silence.starts_at > now {
        "pending"
    } else {
        "active"
    };
    SilenceView {
        id: silence.id.clone(),
        matchers: silence.matchers.iter().map(|m| m.to_string()).collect(),
        starts_at: silence.starts_at,
        ends_at: silence.ends_at,
        comment: silence.comment.clone(),
        created_by: silence.created_by.clone(),
        state: state.to_string(),
        origin: origin.to_string(),
    }
}

fn subject(incident: &Incident) -> Subject<'_> {
    Subject {
        labels: &incident.labels,
        service: incident.service.as_deref(),
        severity: incident.severity,
        integration: &incident.integration,
    }
}
