//! The sled backend. One tree with one-byte key prefixes, so that a whole commit is one
//! atomic `sled::Batch`; `flush` (fsync) runs before `commit` returns.

use super::{
    standing_replays, AlertRecord, CommitBatch, IncidentId, ListFilter, Loaded, Store, StoreError,
    StoredChange, SCHEMA_VERSION,
};
use crate::domain::{Incident, TimelineEntry, TimelineKind};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// `c` + incident id + sequence of the change's first timeline entry: one change record.
const CHANGE: u8 = b'c';
/// `o` + incident id, present while the incident is open, so start-up never scans history.
const OPEN: u8 = b'o';
/// `n` + job id: a notification in the outbox, removed once delivered or given up.
const JOB: u8 = b'n';
/// `s` + silence id: a silence made over the API, kept after it expires.
const SILENCE: u8 = b's';
/// `v` + override id: a schedule override made over the API.
const OVERRIDE: u8 = b'v';
const SCHEMA_KEY: &[u8] = b"mschema";
/// The id sequence's high-water mark (jobs, silences, overrides), big-endian.
const SEQUENCE_KEY: &[u8] = b"msequence";

pub struct SledStore {
    db: sled::Db,
}

fn io(error: sled::Error) -> StoreError {
    StoreError::Io(error.to_string())
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("domain types always serialise")
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt(format!("{what}: {error}")))
}

fn id_key(prefix: u8, id: IncidentId) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = prefix;
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

fn named_key(prefix: u8, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + name.len());
    key.push(prefix);
    key.extend_from_slice(name.as_bytes());
    key
}

fn change_key(id: IncidentId, seq: u32) -> [u8; 13] {
    let mut key = [0u8; 13];
    key[..9].copy_from_slice(&id_key(CHANGE, id));
    key[9..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn key_id(key: &[u8]) -> Result<IncidentId, StoreError> {
    let bytes: [u8; 8] = key
        .get(1..9)
        .and_then(|slice| slice.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt("short key".into()))?;
    Ok(IncidentId::from_be_bytes(bytes))
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, checking the key-schema version.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|error| StoreError::Io(format!("cannot create {}: {error}", dir.display())))?;
        let db = sled::Config::new()
            .path(dir)
            // sled's default cache is 1 GiB; the engine keeps its own working set in memory.
            .cache_capacity(16 * 1024 * 1024)
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None)
            .open()
            .map_err(|error| StoreError::Io(format!("cannot open {}: {error}", dir.display())))?;
        match db.get(SCHEMA_KEY).map_err(io)? {
            Some(found) => {
                let found = String::from_utf8_lossy(&found).into_owned();
                if found != SCHEMA_VERSION.to_string() {
                    return Err(StoreError::SchemaMismatch {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                if db.iter().next().is_some() {
                    return Err(StoreError::SchemaMismatch {
                        found: "none".to_string(),
                        expected: SCHEMA_VERSION,
                    });
                }
                db.insert(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())
                    .map_err(io)?;
                db.flush().map_err(io)?;
            }
        }
        Ok(SledStore { db })
    }

    fn changes(
        &self,
        id: IncidentId,
    ) -> impl Iterator<Item = Result<StoredChange, StoreError>> + '_ {
        self.db.scan_prefix(id_key(CHANGE, id)).map(|item| {
            let (_, value) = item.map_err(io)?;
            decode(&value, "change record")
        })
    }

    fn all<T: DeserializeOwned>(&self, prefix: u8, what: &str) -> Result<Vec<T>, StoreError> {
        self.db
            .scan_prefix([prefix])
            .map(|item| decode(&item.map_err(io)?.1, what))
            .collect()
    }

    fn latest(&self, id: IncidentId) -> Result<Option<StoredChange>, StoreError> {
        match self.db.scan_prefix(id_key(CHANGE, id)).next_back() {
            Some(item) => {
                let (_, value) = item.map_err(io)?;
                Ok(Some(decode(&value, "change record")?))
            }
            None => Ok(None),
        }
    }
}

impl Store for SledStore {
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let mut writes = sled::Batch::default();
        for change in &batch.changes {
            let incident = &change.incident;
            let seq = change
                .entries
                .first()
                .map_or(incident.timeline_len, |entry| entry.seq);
            writes.insert(&change_key(incident.id, seq), encode(change));
            let opened = change
                .entries
                .iter()
                .any(|entry| matches!(entry.kind, TimelineKind::Triggered { .. }));
            if !incident.status.is_open() {
                writes.remove(&id_key(OPEN, incident.id));
            } else if opened {
                writes.insert(&id_key(OPEN, incident.id), &[]);
            }
        }
        for job in &batch.jobs {
            writes.insert(&id_key(JOB, job.id), encode(job));
        }
        for id in &batch.jobs_done {
            writes.remove(&id_key(JOB, *id));
        }
        for silence in &batch.silences {
            writes.insert(named_key(SILENCE, &silence.id), encode(silence));
        }
        for entry in &batch.overrides {
            writes.insert(named_key(OVERRIDE, &entry.id), encode(entry));
        }
        for id in &batch.overrides_removed {
            writes.remove(named_key(OVERRIDE, id));
        }
        if let Some(sequence) = batch.sequence {
            writes.insert(SEQUENCE_KEY, &sequence.to_be_bytes());
        }
        self.db.apply_batch(writes).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
    }

    fn load(&self, replays_since: DateTime<Utc>) -> Result<Loaded, StoreError> {
        let mut latest = Vec::new();
        for item in self.db.scan_prefix([OPEN]) {
            let (key, _) = item.map_err(io)?;
            let id = key_id(&key)?;
            let change = self
                .latest(id)?
                .ok_or_else(|| StoreError::Corrupt(format!("open incident {id} has no record")))?;
            latest.push((change.incident, change.replays));
        }
        let next_id = match self.db.scan_prefix([CHANGE]).next_back() {
            Some(item) => key_id(&item.map_err(io)?.0)? + 1,
            None => 1,
        };
        let sequence = match self.db.get(SEQUENCE_KEY).map_err(io)? {
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("id sequence".into()))?,
            ),
            None => 0,
        };
        Ok(Loaded {
            open: latest
                .iter()
                .map(|(incident, _)| incident.clone())
                .collect(),
            next_id,
            replays: standing_replays(&latest, replays_since),
            jobs: self.all(JOB, "outbox job")?,
            silences: self.all(SILENCE, "silence")?,
            overrides: self.all(OVERRIDE, "override")?,
            sequence,
        })
    }

    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        Ok(self.latest(id)?.map(|change| change.incident))
    }

    fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        let mut entries = Vec::new();
        for change in self.changes(id) {
            entries.extend(change?.entries);
        }
        Ok(entries)
    }

    fn alerts(&self, id: IncidentId) -> Result<Vec<AlertRecord>, StoreError> {
        let mut latest: BTreeMap<String, AlertRecord> = BTreeMap::new();
        for change in self.changes(id) {
            for alert in change?.alerts {
                latest.insert(alert.key.clone(), alert);
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
        let start = id_key(CHANGE, 0).to_vec();
        let end = match before {
            Some(id) => id_key(CHANGE, id).to_vec(),
            None => vec![CHANGE + 1],
        };
        let mut found = Vec::new();
        let mut previous = None;
        // Newest first: each incident's latest change comes before its older ones.
        for item in self.db.range(start..end).rev() {
            let (key, value) = item.map_err(io)?;
            let id = key_id(&key)?;
            if previous == Some(id) {
                continue;
            }
            previous = Some(id);
            let change: StoredChange = decode(&value, "change record")?;
            if filter.matches(&change.incident) {
                found.push(change.incident);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_data_dir_with_another_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.db.insert(SCHEMA_KEY, b"99".as_slice()).unwrap();
            store.db.flush().unwrap();
        }
        let error = SledStore::open(dir.path()).err().expect("must refuse");
        assert!(error.to_string().contains("schema 99"), "{error}");
    }

    #[test]
    fn reopens_its_own_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        drop(SledStore::open(dir.path()).unwrap());
        assert!(SledStore::open(dir.path()).is_ok());
    }
}
