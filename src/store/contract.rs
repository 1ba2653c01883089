//! One contract suite that every `Store` implementation must pass.

use super::*;
use crate::domain::{AlertEvent, Incident, IncidentBook, Severity};
use chrono::TimeZone;

fn at(second: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + second, 0).unwrap()
}

/// Opens incidents through the real domain so the records are realistic.
fn opened(book: &mut IncidentBook, key: &str, second: i64) -> (Incident, Vec<TimelineEntry>) {
    let event = AlertEvent::firing(key, &format!("{key} is down"), Severity::Critical);
    let mut result = book.ingest("prometheus", Some("payments"), &[event], at(second));
    let change = result.changes.remove(0);
    (change.incident, change.entries)
}

fn batch_of(book: &IncidentBook, items: Vec<(Incident, Vec<TimelineEntry>)>) -> CommitBatch {
    let mut batch = CommitBatch {
        next_id: book.next_id(),
        ..Default::default()
    };
    for (incident, entries) in items {
        batch.incidents.push(incident);
        batch.timeline.extend(entries);
    }
    batch
}

fn committed_incidents_and_timelines_read_back(store: &dyn Store) {
    let mut book = IncidentBook::new(1);
    let first = opened(&mut book, "db", 0);
    let second = opened(&mut book, "web", 1);
    store
        .commit(&batch_of(&book, vec![first.clone(), second.clone()]))
        .unwrap();
    assert_eq!(store.incident(1).unwrap().unwrap(), first.0);
    assert_eq!(store.timeline(2).unwrap(), second.1);
    assert_eq!(store.incident(3).unwrap(), None);
    let loaded = store.load(at(0)).unwrap();
    assert_eq!(loaded.open.len(), 2);
    assert_eq!(loaded.next_id, 3);
}

fn resolved_incidents_leave_the_open_set(store: &dyn Store) {
    let mut book = IncidentBook::new(1);
    let first = opened(&mut book, "db", 0);
    store.commit(&batch_of(&book, vec![first])).unwrap();
    let change = book
        .act(1, &crate::domain::Action::Resolve, "alice", at(5))
        .unwrap()
        .unwrap();
    store
        .commit(&batch_of(&book, vec![(change.incident, change.entries)]))
        .unwrap();
    assert!(store.load(at(0)).unwrap().open.is_empty());
    let timeline = store.timeline(1).unwrap();
    assert_eq!(timeline.len(), 2, "both entries kept, in order");
    assert_eq!(timeline[1].seq, 1);
}

fn list_is_newest_first_filtered_and_paged(store: &dyn Store) {
    let mut book = IncidentBook::new(1);
    let items: Vec<_> = (0..5)
        .map(|n| opened(&mut book, &format!("key{n}"), n))
        .collect();
    store.commit(&batch_of(&book, items)).unwrap();
    let all = store.list(&ListFilter::default(), None, 3).unwrap();
    let ids: Vec<_> = all.iter().map(|incident| incident.id).collect();
    assert_eq!(ids, vec![5, 4, 3]);
    let page = store.list(&ListFilter::default(), Some(3), 10).unwrap();
    assert_eq!(page.iter().map(|i| i.id).collect::<Vec<_>>(), vec![2, 1]);
    let none = ListFilter {
        service: Some("billing".into()),
        ..Default::default()
    };
    assert!(store.list(&none, None, 10).unwrap().is_empty());
}

fn replays_are_kept_and_pruned(store: &dyn Store) {
    let replay = |digest: &str, second| ReplayRecord {
        digest: digest.to_string(),
        at: at(second),
        alerts: 1,
        incidents: vec![1],
    };
    let batch = CommitBatch {
        replays: vec![replay("old", 0), replay("new", 100)],
        next_id: 1,
        ..Default::default()
    };
    store.commit(&batch).unwrap();
    assert_eq!(
        store.load(at(50)).unwrap().replays,
        vec![replay("new", 100)]
    );
    assert_eq!(store.prune_replays(at(50)).unwrap(), 1);
    assert_eq!(store.load(at(0)).unwrap().replays.len(), 1);
}

fn alert_records_are_kept_per_incident(store: &dyn Store) {
    let record = |incident, key: &str| AlertRecord {
        incident,
        key: key.to_string(),
        received_at: at(0),
        event: AlertEvent::firing("group", "disk full", Severity::Warning),
    };
    let batch = CommitBatch {
        alerts: vec![record(1, "a"), record(1, "b"), record(2, "a")],
        next_id: 3,
        ..Default::default()
    };
    store.commit(&batch).unwrap();
    assert_eq!(store.alerts(1).unwrap().len(), 2);
    assert_eq!(store.alerts(2).unwrap(), vec![record(2, "a")]);
}

type MakeStore<'a> = &'a dyn Fn() -> (Box<dyn Store>, Option<tempfile::TempDir>);

fn run_all(make: MakeStore<'_>) {
    type Case = fn(&dyn Store);
    let cases: [(&str, Case); 5] = [
        ("read back", committed_incidents_and_timelines_read_back),
        ("resolve", resolved_incidents_leave_the_open_set),
        ("list", list_is_newest_first_filtered_and_paged),
        ("replays", replays_are_kept_and_pruned),
        ("alerts", alert_records_are_kept_per_incident),
    ];
    for (name, case) in cases {
        let (store, _dir) = make();
        eprintln!("contract case: {name}");
        case(store.as_ref());
    }
}

#[test]
fn memory_store_meets_the_contract() {
    run_all(&|| (Box::new(MemoryStore::new()), None));
}

#[test]
fn sled_store_meets_the_contract() {
    run_all(&|| {
        let dir = tempfile::tempdir().unwrap();
        (Box::new(SledStore::open(dir.path()).unwrap()), Some(dir))
    });
}

#[test]
fn sled_store_keeps_commits_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut book = IncidentBook::new(1);
    let first = opened(&mut book, "db", 0);
    {
        let store = SledStore::open(dir.path()).unwrap();
        store.commit(&batch_of(&book, vec![first.clone()])).unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.load(at(0)).unwrap().open, vec![first.0]);
}
