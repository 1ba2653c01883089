//! The sled backend. One tree with one-byte key prefixes, so that a whole commit is one
//! atomic `sled::Batch`; `flush` (fsync) runs before `commit` returns.

use super::{
    AlertRecord, CommitBatch, IncidentId, ListFilter, Loaded, ReplayRecord, Store, StoreError,
    SCHEMA_VERSION,
};
use crate::domain::{Incident, TimelineEntry};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::Path;

const INCIDENT: u8 = b'i';
const OPEN: u8 = b'o';
const TIMELINE: u8 = b't';
const ALERT: u8 = b'a';
const REPLAY: u8 = b'r';
const SCHEMA_KEY: &[u8] = b"mschema";
const NEXT_ID_KEY: &[u8] = b"mnext_id";

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

fn timeline_key(id: IncidentId, seq: u32) -> [u8; 13] {
    let mut key = [0u8; 13];
    key[..9].copy_from_slice(&id_key(TIMELINE, id));
    key[9..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn alert_key(id: IncidentId, name: &str) -> Vec<u8> {
    let mut key = id_key(ALERT, id).to_vec();
    key.extend_from_slice(name.as_bytes());
    key
}

fn replay_key(digest: &str) -> Vec<u8> {
    let mut key = vec![REPLAY];
    key.extend_from_slice(digest.as_bytes());
    key
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, checking the key-schema version.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|error| StoreError::Io(format!("cannot create {}: {error}", dir.display())))?;
        let db = sled::Config::new()
            .path(dir)
            // sled's default cache is 1 GiB; the engine keeps its own working set in memory.
            .cache_capacity(32 * 1024 * 1024)
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

    fn scan_values<T: DeserializeOwned>(
        &self,
        prefix: &[u8],
        what: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .map(|item| {
                let (_, value) = item.map_err(io)?;
                decode(&value, what)
            })
            .collect()
    }
}

impl Store for SledStore {
    fn commit(&self, batch: &CommitBatch) -> Result<(), StoreError> {
        let mut writes = sled::Batch::default();
        for incident in &batch.incidents {
            writes.insert(&id_key(INCIDENT, incident.id), encode(incident));
            if incident.status.is_open() {
                writes.insert(&id_key(OPEN, incident.id), &[]);
            } else {
                writes.remove(&id_key(OPEN, incident.id));
            }
        }
        for entry in &batch.timeline {
            writes.insert(&timeline_key(entry.incident, entry.seq), encode(entry));
        }
        for alert in &batch.alerts {
            writes.insert(alert_key(alert.incident, &alert.key), encode(alert));
        }
        for replay in &batch.replays {
            writes.insert(replay_key(&replay.digest), encode(replay));
        }
        for digest in &batch.forget_replays {
            writes.remove(replay_key(digest));
        }
        writes.insert(NEXT_ID_KEY, &batch.next_id.to_be_bytes());
        self.db.apply_batch(writes).map_err(io)?;
        self.db.flush().map_err(io)?;
        Ok(())
    }

    fn load(&self, replays_since: DateTime<Utc>) -> Result<Loaded, StoreError> {
        let mut open = Vec::new();
        for item in self.db.scan_prefix([OPEN]) {
            let (key, _) = item.map_err(io)?;
            let mut id = [0u8; 9];
            id[0] = INCIDENT;
            id[1..].copy_from_slice(&key[1..9]);
            let bytes =
                self.db.get(id).map_err(io)?.ok_or_else(|| {
                    StoreError::Corrupt("open index names a missing incident".into())
                })?;
            open.push(decode(&bytes, "incident")?);
        }
        let next_id = match self.db.get(NEXT_ID_KEY).map_err(io)? {
            Some(bytes) => {
                let array: [u8; 8] = bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("next id".into()))?;
                IncidentId::from_be_bytes(array)
            }
            None => 1,
        };
        let replays: Vec<ReplayRecord> = self.scan_values(&[REPLAY], "replay record")?;
        Ok(Loaded {
            open,
            next_id: next_id.max(1),
            replays: replays
                .into_iter()
                .filter(|replay| replay.at >= replays_since)
                .collect(),
        })
    }

    fn incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        match self.db.get(id_key(INCIDENT, id)).map_err(io)? {
            Some(bytes) => Ok(Some(decode(&bytes, "incident")?)),
            None => Ok(None),
        }
    }

    fn timeline(&self, id: IncidentId) -> Result<Vec<TimelineEntry>, StoreError> {
        self.scan_values(&id_key(TIMELINE, id), "timeline entry")
    }

    fn alerts(&self, id: IncidentId) -> Result<Vec<AlertRecord>, StoreError> {
        self.scan_values(&id_key(ALERT, id), "alert")
    }

    fn list(
        &self,
        filter: &ListFilter,
        before: Option<IncidentId>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        let start = id_key(INCIDENT, 0);
        let end = match before {
            Some(id) => id_key(INCIDENT, id).to_vec(),
            None => vec![INCIDENT + 1],
        };
        let mut found = Vec::new();
        for item in self.db.range(start.to_vec()..end).rev() {
            let (_, value) = item.map_err(io)?;
            let incident: Incident = decode(&value, "incident")?;
            if filter.matches(&incident) {
                found.push(incident);
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    fn prune_replays(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut writes = sled::Batch::default();
        let mut count = 0;
        for item in self.db.scan_prefix([REPLAY]) {
            let (key, value) = item.map_err(io)?;
            let replay: ReplayRecord = decode(&value, "replay record")?;
            if replay.at < before {
                writes.remove(key);
                count += 1;
            }
        }
        if count > 0 {
            self.db.apply_batch(writes).map_err(io)?;
            self.db.flush().map_err(io)?;
        }
        Ok(count)
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
