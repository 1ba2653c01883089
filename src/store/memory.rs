//! An in-memory `Store` for tests, with a switch that makes commits fail like a full disk.

use super::{
    AlertRecord, CommitBatch, IncidentId, ListFilter, Loaded, ReplayRecord, Store, StoreError,
};
use crate::domain::{Incident, TimelineEntry};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default)]
struct Data {
    incidents: BTreeMap<IncidentId, Incident>,
    timeline: BTreeMap<(IncidentId, u32), TimelineEntry>,
    alerts: BTreeMap<(IncidentId, String), AlertRecord>,
    replays: BTreeMap<String, ReplayRecord>,
    next_id: IncidentId,
}

#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<Data>,
    failing: AtomicBool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// While set, every commit fails and changes nothing.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn data(&self) -> std::sync::MutexGuard<'_, Data> {
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Io("simulated storage failure".to_string()));
        }
        let mut data = self.data();
        for incident in &batch.incidents {
            data.incidents.insert(incident.id, incident.clone());
        }
        for entry in &batch.timeline {
            data.timeline
                .insert((entry.incident, entry.seq), entry.clone());
        }
        for alert in &batch.alerts {
            data.alerts
                .insert((alert.incident, alert.key.clone()), alert.clone());
        }
        for replay in &batch.replays {
            data.replays.insert(replay.digest.clone(), replay.clone());
        }
        for digest in &batch.forget_replays {
            data.replays.remove(digest);
        }
        data.next_id = data.next_id.max(batch.next_id);
        Ok(())
    }

    fn load(&self, replays_since: DateTime<Utc>) -> Result<Loaded, StoreError> {
        let data = self.data();
        Ok(Loaded {
            open: data
                .incidents
                .values()
                .filter(|incident| incident.status.is_open())
                .cloned()
                .collect(),
            next_id: data.next_id.max(1),
            replays: data
                .replays
                .values()
                .filter(|replay| replay.at >= replays_since)
                .cloned()
                .collect(),
        })
    }

    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        Ok(self.data().incidents.get(&id).cloned())
    }

    fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        Ok(self
            .data()
            .timeline
            .range((id, 0)..=(id, u32::MAX))
            .map(|(_, entry)| entry.clone())
            .collect())
    }

    fn alerts(&self, id: IncidentId) -> Result<Vec<AlertRecord>, StoreError> {
        Ok(self
            .data()
            .alerts
            .iter()
            .filter(|((incident, _), _)| *incident == id)
            .map(|(_, alert)| alert.clone())
            .collect())
    }

    fn list(
        &self,
        filter: &ListFilter,
        before: Option<IncidentId>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        let data = self.data();
        let upper = before.unwrap_or(IncidentId::MAX);
        Ok(data
            .incidents
            .range(..upper)
            .rev()
            .map(|(_, incident)| incident)
            .filter(|incident| filter.matches(incident))
            .take(limit)
            .cloned()
            .collect())
    }

    fn prune_replays(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut data = self.data();
        let count = data.replays.len();
        data.replays.retain(|_, replay| replay.at >= before);
        Ok(count - data.replays.len())
    }
}
