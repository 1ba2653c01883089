//! Durable storage behind one domain-shaped trait: commit a batch of changes (durable when
//! it returns), load what the engine needs at start, and read incidents and timelines.
//! Depends on the domain only; the sled backend is the product's, the memory one is for tests.

mod memory;
mod sled_store;

#[cfg(test)]
mod contract;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

use crate::domain::outbox::{JobId, NotificationJob};
use crate::domain::schedule::{Override, OverrideId};
use crate::domain::silence::Silence;
use crate::domain::{Incident, IncidentId, IncidentStatus, TimelineEntry};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The on-disk key layout version; a data dir written with another one is refused at open.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failed: {0}")]
    Io(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(
        "the data dir was written with storage schema {found}; this klaxon reads schema {expected}"
    )]
    SchemaMismatch { found: String, expected: u32 },
}

pub use crate::domain::alert::AlertRecord;

/// An accepted payload's digest and the answer it got, so an exact redelivery gets the
/// same answer and changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub digest: String,
    pub at: DateTime<Utc>,
    pub alerts: usize,
    pub incidents: Vec<IncidentId>,
}

/// One change to one incident, stored as one record: the incident as it is after the
/// change, the timeline entries the change wrote, the alert payloads that came with it, and
/// the redelivery digests that still stand for this incident. One record per change keeps a
/// commit to a single key per alert, which is what makes group commit fast on sled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChange {
    pub incident: Incident,
    pub entries: Vec<TimelineEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replays: Vec<ReplayRecord>,
}

/// Everything one group commit writes. Applied atomically: all of it or none, so a page
/// recorded in the outbox and the escalation step that decided it land together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitBatch {
    pub changes: Vec<StoredChange>,
    /// Notifications recorded or rescheduled (a new attempt count and due time).
    pub jobs: Vec<NotificationJob>,
    /// Notifications delivered, given up or cancelled: they leave the outbox.
    pub jobs_done: Vec<JobId>,
    /// Silences made or changed (an expired one keeps its record with its new end).
    pub silences: Vec<Silence>,
    pub overrides: Vec<Override>,
    pub overrides_removed: Vec<OverrideId>,
    /// The id sequence's new high-water mark, when this batch took ids from it.
    pub sequence: Option<u64>,
}

impl CommitBatch {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.jobs.is_empty()
            && self.jobs_done.is_empty()
            && self.silences.is_empty()
            && self.overrides.is_empty()
            && self.overrides_removed.is_empty()
            && self.sequence.is_none()
    }
}

/// What the engine loads at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub open: Vec<Incident>,
    /// One more than the highest incident id ever stored.
    pub next_id: IncidentId,
    /// Redelivery digests that still stand: recent, and naming only open incidents.
    pub replays: Vec<ReplayRecord>,
    /// The outbox: notifications not yet delivered or given up.
    pub jobs: Vec<NotificationJob>,
    /// Every silence made over the API, expired ones included.
    pub silences: Vec<Silence>,
    pub overrides: Vec<Override>,
    /// The highest id the sequence has handed out (jobs, silences, overrides).
    pub sequence: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    /// Empty: every status.
    pub statuses: Vec<IncidentStatus>,
    pub service: Option<String>,
}

impl ListFilter {
    pub fn matches(&self, incident: &Incident) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&incident.status))
            && self
                .service
                .as_ref()
                .is_none_or(|service| incident.service.as_ref() == Some(service))
    }
}

pub trait Store: Send + Sync + 'static {
    /// Applies the batch atomically and makes it durable before returning `Ok`.
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError>;
    /// Open incidents, the next id, and the replay records newer than `replays_since` that
    /// the latest change of every incident they name still lists.
    fn load(&self, replays_since: DateTime<Utc>) -> Result<Loaded, StoreError>;
    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError>;
    fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>, StoreError>;
    fn alerts(&self, id: IncidentId) -> Result<Vec<AlertRecord>, StoreError>;
    /// Incidents matching the filter, newest first, at most `limit`, ids below `before`.
    fn list(
        &self,
        filter: &ListFilter,
        before: Option<IncidentId>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError>;
}

/// Replay records that still stand, given each open incident's latest change.
pub fn standing_replays(
    latest: &[(Incident, Vec<ReplayRecord>)],
    since: DateTime<Utc>,
) -> Vec<ReplayRecord> {
    use std::collections::{HashMap, HashSet};
    let listed: HashMap<IncidentId, HashSet<&str>> = latest
        .iter()
        .filter(|(incident, _)| incident.status.is_open())
        .map(|(incident, replays)| {
            let digests = replays
                .iter()
                .map(|replay| replay.digest.as_str())
                .collect();
            (incident.id, digests)
        })
        .collect();
    let mut found: Vec<ReplayRecord> = Vec::new();
    for (_, replays) in latest {
        for replay in replays {
            let stands = replay.at >= since
                && replay.incidents.iter().all(|id| {
                    listed
                        .get(id)
                        .is_some_and(|digests| digests.contains(replay.digest.as_str()))
                });
            if stands && !found.iter().any(|other| other.digest == replay.digest) {
                found.push(replay.clone());
            }
        }
    }
    found
}
