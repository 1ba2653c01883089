//! An in-memory `Store` for tests, with a switch that makes commits fail like a full disk.

use super::{
    standing_replays, AlertRecord, CommitBatch, IncidentId, ListFilter, Loaded, Store, StoreError,
    StoredChange,
};
use crate::domain::outbox::{JobId, NotificationJob};
use crate::domain::schedule::Override;
use crate::domain::silence::Silence;
use crate::domain::{Incident, TimelineEntry};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryStore {
    /// Every change of every incident, in order.
    changes: Mutex<BTreeMap<IncidentId, Vec<StoredChange>>>,
    /// Outbox, silences, overrides and the id sequence.
    side: Mutex<Side>,
    failing: AtomicBool,
}

#[derive(Debug, Default)]
struct Side {
    jobs: BTreeMap<JobId, NotificationJob>,
    silences: BTreeMap<String, Silence>,
    overrides: BTreeMap<String, Override>,
    sequence: u64,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// While set, every commit fails and changes nothing.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, BTreeMap<IncidentId, Vec<StoredChange>>> {
        self.changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Io("simulated storage failure".to_string()));
        }
        let mut changes = self.changes();
        let mut side = self
            .side
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for change in &batch.changes {
            changes
                .entry(change.incident.id)
                .or_default()
                .push(change.clone());
        }
        for job in &batch.jobs {
            side.jobs.insert(job.id, job.clone());
        }
        for id in &batch.jobs_done {
            side.jobs.remove(id);
        }
        for silence in &batch.silences {
            side.silences.insert(silence.id.clone(), silence.clone());
        }
        for entry in &batch.overrides {
            side.overrides.insert(entry.id.clone(), entry.clone());
        }
        for id in &batch.overrides_removed {
            side.overrides.remove(id);
        }
        if let Some(sequence) = batch.sequence {
            side.sequence = side.sequence.max(sequence);
        }
        Ok(())
    }

    fn load(&self, replays_since: DateTime<Utc>) -> Result<Loaded, StoreError> {
        let changes = self.changes();
        let side = self
            .side
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let latest: Vec<(Incident, Vec<_>)> = changes
            .values()
            .filter_map(|list| list.last())
            .filter(|change| change.incident.status.is_open())
            .map(|change| (change.incident.clone(), change.replays.clone()))
            .collect();
        Ok(Loaded {
            open: latest
                .iter()
                .map(|(incident, _)| incident.clone())
                .collect(),
            next_id: changes.keys().next_back().map_or(1, |id| id + 1),
            replays: standing_replays(&latest, replays_since),
            jobs: side.jobs.values().cloned().collect(),
            silences: side.silences.values().cloned().collect(),
            overrides: side.overrides.values().cloned().collect(),
            sequence: side.sequence,
        })
    }

    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        let changes = self.changes();
        Ok(changes
            .get(&id)
            .and_then(|list| list.last())
            .map(|change| change.incident.clone()))
    }

    fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        let changes = self.changes();
        Ok(changes
            .get(&id)
            .into_iter()
            .flatten()
            .flat_map(|change| change.entries.iter().cloned())
            .collect())
    }

    fn alerts(&self, id: IncidentId) -> Result<Vec<AlertRecord>, StoreError> {
        let changes = self.changes();
        let mut latest: BTreeMap<String, AlertRecord> = BTreeMap::new();
        for change in changes.get(&id).into_iter().flatten() {
            for alert in &change.alerts {
                latest.insert(alert.key.clone(), alert.clone());
            }
        }
        Ok(latest.into_values().collect())
    }

    fn list(
        &self,
        filter: &ListFilter,
        before: Option<IncidentId>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        let changes = self.changes();
        Ok(changes
            .range(..before.unwrap_or(IncidentId::MAX))
            .rev()
            .filter_map(|(_, list)| list.last())
            .map(|change| &change.incident)
            .filter(|incident| filter.matches(incident))
            .take(limit)
            .cloned()
            .collect())
    }
}
