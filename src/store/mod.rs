//! Durable storage behind one domain-shaped trait: commit a batch of changes (durable when
//! it returns), load what the engine needs at start, and read incidents and timelines.
//! Depends on the domain only; the sled backend is the product's, the memory one is for tests.

mod memory;
mod sled_store;

#[cfg(test)]
mod contract;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

use crate::domain::{AlertEvent, Incident, IncidentId, IncidentStatus, TimelineEntry};
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

/// The latest state of one alert of an incident, as its source last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub incident: IncidentId,
    /// The alert's fingerprint, or `#N` for sources that do not identify single alerts.
    pub key: String,
    pub received_at: DateTime<Utc>,
    pub event: AlertEvent,
}

/// An accepted payload's digest and the answer it got, so an exact redelivery gets the
/// same answer and changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRecord {
    pub digest: String,
    pub at: DateTime<Utc>,
    pub alerts: usize,
    pub incidents: Vec<IncidentId>,
}

/// Everything one group commit writes. Applied atomically: all of it or none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitBatch {
    pub incidents: Vec<Incident>,
    pub timeline: Vec<TimelineEntry>,
    pub alerts: Vec<AlertRecord>,
    pub replays: Vec<ReplayRecord>,
    /// Replay records that no longer stand for a redelivery (their incident moved on).
    pub forget_replays: Vec<String>,
    pub next_id: IncidentId,
}

impl CommitBatch {
    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
            && self.timeline.is_empty()
            && self.alerts.is_empty()
            && self.replays.is_empty()
            && self.forget_replays.is_empty()
    }
}

/// What the engine loads at start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub open: Vec<Incident>,
    pub next_id: IncidentId,
    pub replays: Vec<ReplayRecord>,
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
    /// Open incidents, the next id, and replay records newer than `replays_since`.
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
    /// Forgets replay records older than `before`; returns how many went.
    fn prune_replays(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;
}
