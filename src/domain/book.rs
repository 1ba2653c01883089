//! The incident book: open (and recently touched) incidents, the dedup index and id
//! allocation. Applies alert events and actions; pure, `now` is always a parameter.

use super::alert::{AlertEvent, AlertStatus};
use super::incident::{Action, ActionError, Change, Incident, IncidentId};
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap, VecDeque};

/// How many resolved incidents stay in memory for quick reads; older ones live in the store.
pub const RESOLVED_KEPT_IN_MEMORY: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("no incident {0}")]
    NotFound(IncidentId),
    #[error(transparent)]
    Action(#[from] ActionError),
}

#[derive(Debug, Default)]
pub struct IncidentBook {
    incidents: HashMap<IncidentId, Incident>,
    open_by_key: HashMap<(String, String), IncidentId>,
    resolved_order: VecDeque<IncidentId>,
    next_id: IncidentId,
    /// When each incident's next escalation step is due, soonest first, so the engine finds
    /// what is due without looking at every open incident.
    escalations: BTreeSet<(DateTime<Utc>, IncidentId)>,
    /// When each snooze ends, soonest first, for the same reason.
    snoozes: BTreeSet<(DateTime<Utc>, IncidentId)>,
}

fn snooze_key(incident: &Incident) -> Option<(DateTime<Utc>, IncidentId)> {
    incident.snoozed_until.map(|until| (until, incident.id))
}

/// The time an incident's next escalation step is due, if one is pending.
fn escalation_key(incident: &Incident) -> Option<(DateTime<Utc>, IncidentId)> {
    let pending = incident.status == super::incident::IncidentStatus::Triggered
        && incident.escalation.silenced_by.is_none();
    let at = incident.escalation.next_at.filter(|_| pending)?;
    Some((at, incident.id))
}

/// What one ingest call did.
#[derive(Debug, Default, PartialEq)]
pub struct IngestResult {
    pub changes: Vec<Change>,
    /// Every incident the events touched or named, in order, without repeats.
    pub incidents: Vec<IncidentId>,
    /// For each event, in order: the incident it changed, if it changed one.
    pub changed_by_event: Vec<Option<IncidentId>>,
}

impl IncidentBook {
    pub fn new(next_id: IncidentId) -> Self {
        IncidentBook {
            next_id: next_id.max(1),
            ..Default::default()
        }
    }

    pub fn next_id(&self) -> IncidentId {
        self.next_id
    }

    /// Puts an incident loaded from the store (or restored after a failed commit) in place.
    pub fn insert(&mut self, incident: Incident) {
        let key = (incident.integration.clone(), incident.dedup_key.clone());
        if incident.status.is_open() {
            self.open_by_key.insert(key, incident.id);
        } else {
            if self.open_by_key.get(&key) == Some(&incident.id) {
                self.open_by_key.remove(&key);
            }
            if !self.resolved_order.contains(&incident.id) {
                self.resolved_order.push_back(incident.id);
            }
        }
        self.next_id = self.next_id.max(incident.id + 1);
        self.put(incident);
        self.evict_old_resolved();
    }

    /// Replaces an incident, keeping the escalation index in step.
    fn put(&mut self, incident: Incident) {
        let id = incident.id;
        if let Some(old) = self.incidents.insert(id, incident) {
            self.unindex(&old);
        }
        let (escalation, snooze) = {
            let incident = &self.incidents[&id];
            (escalation_key(incident), snooze_key(incident))
        };
        self.escalations.extend(escalation);
        self.snoozes.extend(snooze);
    }

    fn index(&mut self, incident: &Incident) {
        if let Some(key) = escalation_key(incident) {
            self.escalations.insert(key);
        }
        if let Some(key) = snooze_key(incident) {
            self.snoozes.insert(key);
        }
    }

    fn unindex(&mut self, incident: &Incident) {
        if let Some(key) = escalation_key(incident) {
            self.escalations.remove(&key);
        }
        if let Some(key) = snooze_key(incident) {
            self.snoozes.remove(&key);
        }
    }

    /// Removes an incident from memory, keeping the escalation index in step.
    fn take(&mut self, id: IncidentId) -> Option<Incident> {
        let old = self.incidents.remove(&id)?;
        self.unindex(&old);
        Some(old)
    }

    /// Changes an incident in place through `change`, which returns what it wrote; the
    /// incident is then re-indexed. `None` when the incident is not in memory.
    pub fn modify<T>(
        &mut self,
        id: IncidentId,
        change: impl FnOnce(&mut Incident) -> T,
    ) -> Option<T> {
        self.in_place(id, change)
    }

    /// Changes an incident without copying it, taking it out of the time indexes first and
    /// putting it back after, so the indexes never hold a stale time.
    fn in_place<T>(
        &mut self,
        id: IncidentId,
        change: impl FnOnce(&mut Incident) -> T,
    ) -> Option<T> {
        let mut incident = self.incidents.remove(&id)?;
        self.unindex(&incident);
        let result = change(&mut incident);
        self.index(&incident);
        self.incidents.insert(id, incident);
        Some(result)
    }

    /// Incidents whose next escalation step is due at `now`, soonest first.
    pub fn due_escalations(&self, now: DateTime<Utc>) -> Vec<IncidentId> {
        self.escalations
            .iter()
            .take_while(|(at, _)| *at <= now)
            .map(|(_, id)| *id)
            .collect()
    }

    /// When the soonest pending escalation step is due.
    pub fn next_escalation(&self) -> Option<DateTime<Utc>> {
        self.escalations.first().map(|(at, _)| *at)
    }

    /// Undoes changes that could not be stored: restores the given prior versions, forgets
    /// incidents that did not exist before, and resets id allocation.
    pub fn roll_back(&mut self, before: Vec<(IncidentId, Option<Incident>)>, next_id: IncidentId) {
        for (id, prior) in before.into_iter().rev() {
            if let Some(current) = self.take(id) {
                let key = (current.integration.clone(), current.dedup_key.clone());
                if self.open_by_key.get(&key) == Some(&id) {
                    self.open_by_key.remove(&key);
                }
                self.resolved_order.retain(|other| *other != id);
            }
            if let Some(prior) = prior {
                self.insert(prior);
            }
        }
        self.next_id = next_id;
    }

    /// The open incident an alert with this dedup key would join.
    pub fn open_for(&self, integration: &str, dedup_key: &str) -> Option<&Incident> {
        let key = (integration.to_string(), dedup_key.to_string());
        self.open_by_key
            .get(&key)
            .and_then(|id| self.incidents.get(id))
    }

    pub fn get(&self, id: IncidentId) -> Option<&Incident> {
        self.incidents.get(&id)
    }

    pub fn contains(&self, id: IncidentId) -> bool {
        self.incidents.contains_key(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values()
    }

    pub fn open_count(&self) -> usize {
        self.open_by_key.len()
    }

    pub fn ingest(
        &mut self,
        integration: &str,
        default_service: Option<&str>,
        events: &[AlertEvent],
        now: DateTime<Utc>,
    ) -> IngestResult {
        let mut result = IngestResult::default();
        for event in events {
            let key = (integration.to_string(), event.dedup_key.clone());
            let change = match self.open_by_key.get(&key).copied() {
                Some(id) => {
                    if !result.incidents.contains(&id) {
                        result.incidents.push(id);
                    }
                    self.in_place(id, |incident| incident.apply_alert(event, now))
                        .expect("the dedup index only names incidents in the book")
                }
                None if event.status == AlertStatus::Firing => {
                    let id = self.next_id;
                    self.next_id += 1;
                    result.incidents.push(id);
                    Some(Incident::open(id, integration, event, default_service, now))
                }
                // A resolve for something not open is accepted and changes nothing.
                None => None,
            };
            result
                .changed_by_event
                .push(change.as_ref().map(|change| change.incident.id));
            if let Some(change) = change {
                self.store_change(&change);
                result.changes.push(change);
            }
        }
        result
    }

    pub fn act(
        &mut self,
        id: IncidentId,
        action: &Action,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Change>, BookError> {
        let change = self
            .in_place(id, |incident| incident.apply_action(action, user, now))
            .ok_or(BookError::NotFound(id))??;
        if let Some(change) = &change {
            self.store_change(change);
        }
        Ok(change)
    }

    /// Wakes every snoozed incident whose snooze has ended.
    pub fn wake_due(&mut self, now: DateTime<Utc>) -> Vec<Change> {
        let due: Vec<IncidentId> = self
            .snoozes
            .iter()
            .take_while(|(until, _)| *until <= now)
            .map(|(_, id)| *id)
            .collect();
        due.into_iter()
            .filter_map(|id| self.in_place(id, |incident| incident.wake_if_due(now))?)
            .collect()
    }

    /// When the next snooze ends, if any incident is snoozed.
    pub fn next_wake(&self) -> Option<DateTime<Utc>> {
        self.snoozes.first().map(|(until, _)| *until)
    }

    fn store_change(&mut self, change: &Change) {
        let incident = &change.incident;
        if !incident.status.is_open() {
            let key = (incident.integration.clone(), incident.dedup_key.clone());
            if self.open_by_key.get(&key) == Some(&incident.id) {
                self.open_by_key.remove(&key);
                self.resolved_order.push_back(incident.id);
            }
        } else if change.opened {
            let key = (incident.integration.clone(), incident.dedup_key.clone());
            self.open_by_key.insert(key, incident.id);
        }
        self.put(incident.clone());
        self.evict_old_resolved();
    }

    fn evict_old_resolved(&mut self) {
        while self.resolved_order.len() > RESOLVED_KEPT_IN_MEMORY {
            if let Some(id) = self.resolved_order.pop_front() {
                if self
                    .incidents
                    .get(&id)
                    .is_some_and(|incident| !incident.status.is_open())
                {
                    self.take(id);
                }
            }
        }
    }
}
