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

fn batch_of(items: Vec<(Incident, Vec<TimelineEntry>)>) -> CommitBatch {
    CommitBatch {
        changes: items
            .into_iter()
            .map(|(incident, entries)| StoredChange {
                incident,
                entries,
                alerts: Vec::new(),
                replays: Vec::new(),
            })
            .collect(),
        ..CommitBatch::default()
    }
}

fn committed_incidents_and_timelines_read_back(store: &dyn Store) {
    let mut book = IncidentBook::new(1);
    let first = opened(&mut book, "db", 0);
    let second = opened(&mut book, "web", 1);
    store
        .commit(&batch_of(vec![first.clone(), second.clone()]))
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
    store.commit(&batch_of(vec![first])).unwrap();
    let change = book
        .act(1, &crate::domain::Action::Resolve, "alice", at(5))
        .unwrap()
        .unwrap();
    store
        .commit(&batch_of(vec![(change.incident, change.entries)]))
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
    store.commit(&batch_of(items)).unwrap();
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

fn replays_stand_while_their_incident_is_open_and_lists_them(store: &dyn Store) {
    let mut book = IncidentBook::new(1);
    let (first, first_entries) = opened(&mut book, "db", 0);
    let (second, second_entries) = opened(&mut book, "web", 1);
    let replay = |digest: &str, second, incident| ReplayRecord {
        digest: digest.to_string(),
        at: at(second),
        alerts: 1,
        incidents: vec![incident],
    };
    let change = |incident: &Incident, entries: &[TimelineEntry], replays| StoredChange {
        incident: incident.clone(),
        entries: entries.to_vec(),
        alerts: Vec::new(),
        replays,
    };
    let batch = CommitBatch {
        changes: vec![
            change(
                &first,
                &first_entries,
                vec![replay("old", 0, 1), replay("new", 100, 1)],
            ),
            change(&second, &second_entries, vec![replay("web", 100, 2)]),
        ],
        ..CommitBatch::default()
    };
    store.commit(&batch).unwrap();
    let mut standing = store.load(at(50)).unwrap().replays;
    standing.sort_by(|a, b| a.digest.cmp(&b.digest));
    assert_eq!(standing, vec![replay("new", 100, 1), replay("web", 100, 2)]);
    // Once the incident is resolved, its payload's bytes are a new alert, not a redelivery.
    let resolved = book
        .act(2, &crate::domain::Action::Resolve, "alice", at(101))
        .unwrap()
        .unwrap();
    store
        .commit(&batch_of(vec![(resolved.incident, resolved.entries)]))
        .unwrap();
    assert_eq!(
        store.load(at(50)).unwrap().replays,
        vec![replay("new", 100, 1)]
    );
}

fn alert_records_are_kept_per_incident(store: &dyn Store) {
    let mut book = IncidentBook::new(1);
    let (first, entries) = opened(&mut book, "db", 0);
    let record = |key: &str, title: &str| AlertRecord {
        incident: 1,
        key: key.to_string(),
        received_at: at(0),
        event: AlertEvent::firing("group", title, Severity::Warning),
    };
    let change = |alerts| StoredChange {
        incident: first.clone(),
        entries: entries.clone(),
        alerts,
        replays: Vec::new(),
    };
    store
        .commit(&CommitBatch {
            changes: vec![change(vec![
                record("a", "disk 90%"),
                record("b", "disk 91%"),
            ])],
            ..CommitBatch::default()
        })
        .unwrap();
    let mut later = change(vec![record("a", "disk 99%")]);
    later.entries[0].seq = 1;
    store
        .commit(&CommitBatch {
            changes: vec![later],
            ..CommitBatch::default()
        })
        .unwrap();
    let alerts = store.alerts(1).unwrap();
    assert_eq!(
        alerts,
        vec![record("a", "disk 99%"), record("b", "disk 91%")],
        "latest per alert"
    );
    assert!(store.alerts(2).unwrap().is_empty());
}

fn outbox_silences_overrides_and_sequence_persist(store: &dyn Store) {
    use crate::domain::escalation::ContactKind;
    use crate::domain::outbox::NotificationJob;
    use crate::domain::routing::Urgency;
    use crate::domain::schedule::Override;
    use crate::domain::silence::Silence;
    let job = |id| NotificationJob {
        id,
        incident: 1,
        user: "alice".to_string(),
        contact: "sms".to_string(),
        kind: ContactKind::Sms,
        urgency: Urgency::High,
        level: 1,
        repeat: 0,
        due_at: at(0),
        attempts: 0,
        manual: false,
    };
    let silence = Silence {
        id: "3".to_string(),
        matchers: vec!["service=batch".parse().unwrap()],
        starts_at: at(0),
        ends_at: at(3600),
        comment: "rebuild".to_string(),
        created_by: Some("alice".to_string()),
    };
    let cover = |id: &str| Override {
        id: id.to_string(),
        schedule: "primary".to_string(),
        user: "carol".to_string(),
        start: at(0),
        end: at(60),
        created_by: Some("alice".to_string()),
    };
    store
        .commit(&CommitBatch {
            jobs: vec![job(1), job(2)],
            silences: vec![silence.clone()],
            overrides: vec![cover("4"), cover("5")],
            sequence: Some(5),
            ..CommitBatch::default()
        })
        .unwrap();
    let mut retried = job(2);
    retried.attempts = 1;
    retried.due_at = at(10);
    let mut expired = silence.clone();
    expired.ends_at = at(5);
    store
        .commit(&CommitBatch {
            jobs: vec![retried.clone()],
            jobs_done: vec![1],
            silences: vec![expired.clone()],
            overrides_removed: vec!["4".to_string()],
            ..CommitBatch::default()
        })
        .unwrap();
    let loaded = store.load(at(0)).unwrap();
    assert_eq!(loaded.jobs, vec![retried]);
    assert_eq!(loaded.silences, vec![expired]);
    assert_eq!(loaded.overrides, vec![cover("5")]);
    assert_eq!(loaded.sequence, 5);
}

type MakeStore<'a> = &'a dyn Fn() -> (Box<dyn Store>, Option<tempfile::TempDir>);

fn run_all(make: MakeStore<'_>) {
    type Case = fn(&dyn Store);
    let cases: [(&str, Case); 6] = [
        ("read back", committed_incidents_and_timelines_read_back),
        ("resolve", resolved_incidents_leave_the_open_set),
        ("list", list_is_newest_first_filtered_and_paged),
        (
            "replays",
            replays_stand_while_their_incident_is_open_and_lists_them,
        ),
        ("alerts", alert_records_are_kept_per_incident),
        ("outbox", outbox_silences_overrides_and_sequence_persist),
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
        store.commit(&batch_of(vec![first.clone()])).unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.load(at(0)).unwrap().open, vec![first.0]);
}
