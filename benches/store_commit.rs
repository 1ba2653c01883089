//! Group-commit cost of the sled store by batch size, with realistic records.
//! Run: `cargo bench --bench store_commit`

use chrono::Utc;
use klaxon::domain::{AlertEvent, IncidentBook, Severity};
use klaxon::store::{AlertRecord, CommitBatch, SledStore, Store, StoredChange};
use std::time::Instant;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut book = IncidentBook::new(1);
    let mut counter = 0u64;
    for batch_size in [1usize, 8, 32, 64, 128] {
        let rounds = 2000 / batch_size.max(1) + 20;
        let started = Instant::now();
        let mut bytes = 0usize;
        for _ in 0..rounds {
            let mut batch = CommitBatch::default();
            for _ in 0..batch_size {
                counter += 1;
                let mut event = AlertEvent::firing(
                    &format!("group-{counter}"),
                    &format!("latency high on host-{counter}"),
                    Severity::Warning,
                );
                event.fingerprint = Some(format!("{counter:016x}"));
                event.labels.insert("alertname".into(), "Bench".into());
                event
                    .labels
                    .insert("instance".into(), format!("host-{counter}"));
                event.details = serde_json::json!({"summary": "latency high", "startsAt": "2026-11-24T10:00:00Z"});
                let result =
                    book.ingest("prometheus", None, std::slice::from_ref(&event), Utc::now());
                for change in result.changes {
                    let stored = StoredChange {
                        alerts: vec![AlertRecord {
                            incident: change.incident.id,
                            key: event.fingerprint.clone().unwrap(),
                            received_at: Utc::now(),
                            event: event.clone(),
                        }],
                        incident: change.incident,
                        entries: change.entries,
                        replays: Vec::new(),
                    };
                    bytes += serde_json::to_vec(&stored).unwrap().len();
                    batch.changes.push(stored);
                }
            }
            store.commit(&batch).unwrap();
        }
        let elapsed = started.elapsed();
        let per_commit = elapsed / rounds as u32;
        println!(
            "batch {batch_size:>4}: {:>8.3} ms per commit, {:>8.0} alerts/s, ~{} bytes per change record",
            per_commit.as_secs_f64() * 1000.0,
            (rounds * batch_size) as f64 / elapsed.as_secs_f64(),
            bytes / (rounds * batch_size).max(1)
        );
    }
}
