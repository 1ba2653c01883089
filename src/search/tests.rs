//! Search over realistic histories built with the domain's own rules, fed change by change as
//! the engine feeds it.

use super::*;
use crate::domain::{Action, AlertEvent, IncidentStatus, Severity};
use crate::store::{CommitBatch, MemoryStore, StoredChange};
use chrono::TimeZone;
use std::cell::RefCell;
use std::collections::BTreeMap;

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute)
}

/// An alert as a source would send it.
struct Alert<'a> {
    title: &'a str,
    service: Option<&'a str>,
    severity: Severity,
    labels: &'a [(&'a str, &'a str)],
    details: serde_json::Value,
}

impl<'a> Alert<'a> {
    fn new(title: &'a str) -> Alert<'a> {
        Alert {
            title,
            service: None,
            severity: Severity::Error,
            labels: &[],
            details: serde_json::Value::Null,
        }
    }

    fn service(mut self, service: &'a str) -> Self {
        self.service = Some(service);
        self
    }

    fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    fn labels(mut self, labels: &'a [(&'a str, &'a str)]) -> Self {
        self.labels = labels;
        self
    }

    fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Builds incidents with the domain's rules and hands every change to the index and, when
/// given one, to a store, as the engine does after its commits.
struct History {
    index: SearchIndex,
    store: Option<MemoryStore>,
    /// Every incident as it is now, with its whole timeline.
    incidents: RefCell<BTreeMap<IncidentId, (Incident, Vec<TimelineEntry>)>>,
}

impl History {
    fn new() -> History {
        History::with(SearchIndex::in_memory().unwrap(), None)
    }

    fn with(index: SearchIndex, store: Option<MemoryStore>) -> History {
        History {
            index,
            store,
            incidents: RefCell::new(BTreeMap::new()),
        }
    }

    fn incident(&self, id: IncidentId) -> Incident {
        self.incidents.borrow()[&id].0.clone()
    }

    fn timeline(&self, id: IncidentId) -> Vec<TimelineEntry> {
        self.incidents.borrow()[&id].1.clone()
    }

    fn feed(&self, incident: &Incident, entries: &[TimelineEntry], alerts: &[AlertRecord]) {
        self.index.index_change(incident, entries, alerts).unwrap();
        let mut incidents = self.incidents.borrow_mut();
        let (latest, timeline) = incidents
            .entry(incident.id)
            .or_insert_with(|| (incident.clone(), Vec::new()));
        *latest = incident.clone();
        timeline.extend(entries.iter().cloned());
        if let Some(store) = &self.store {
            let batch = CommitBatch {
                changes: vec![StoredChange {
                    incident: incident.clone(),
                    entries: entries.to_vec(),
                    alerts: alerts.to_vec(),
                    replays: Vec::new(),
                }],
                ..CommitBatch::default()
            };
            store.commit(&batch).unwrap();
        }
    }

    fn open(&self, id: IncidentId, alert: Alert<'_>, minute: i64) -> Incident {
        let mut event = AlertEvent::firing(&format!("key-{id}"), alert.title, alert.severity);
        event.service = alert.service.map(str::to_string);
        event.labels = alert
            .labels
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect::<BTreeMap<_, _>>();
        event.details = alert.details;
        let change = Incident::open(id, "prometheus", &event, None, at(minute));
        let record = AlertRecord {
            incident: id,
            key: "#1".to_string(),
            received_at: at(minute),
            event,
        };
        self.feed(&change.incident, &change.entries, &[record]);
        change.incident
    }

    fn act(&self, incident: &mut Incident, action: Action, user: &str, minute: i64) {
        let change = incident
            .apply_action(&action, user, at(minute))
            .unwrap()
            .expect("the action changes the incident");
        self.feed(&change.incident, &change.entries, &[]);
    }

    fn note(&self, incident: &mut Incident, user: &str, text: &str, minute: i64) {
        self.act(
            incident,
            Action::Note {
                text: text.to_string(),
            },
            user,
            minute,
        );
    }

    fn search(&self, text: &str) -> Vec<SearchHit> {
        self.index.commit().unwrap();
        let query = SearchQuery::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        self.index.search(&query.with_limit(50)).unwrap()
    }

    /// The hits as `#id` for incidents and `#id/seq` for messages, in order.
    fn found(&self, text: &str) -> Vec<String> {
        self.search(text).iter().map(label).collect()
    }
}

fn label(hit: &SearchHit) -> String {
    match &hit.message {
        Some(message) => format!("#{}/{}", hit.incident, message.seq),
        None => format!("#{}", hit.incident),
    }
}

/// A small on-call history: databases, payments, a web tier.
fn history() -> History {
    let history = History::new();
    let mut first = history.open(
        1,
        Alert::new("pgbouncer connection pool exhausted on db-1")
            .service("db")
            .severity(Severity::Critical)
            .labels(&[("env", "prod"), ("alertname", "PgbouncerPoolExhausted")])
            .details(serde_json::json!({"summary": "clients waiting: 412", "host": "db-1"})),
        0,
    );
    history.act(&mut first, Action::Acknowledge, "alice", 3);
    history.note(
        &mut first,
        "alice",
        "looking at pool stats, max_client_conn reached",
        5,
    );
    history.note(&mut first, "bob", "checkout is failing for customers", 6);
    history.note(
        &mut first,
        "alice",
        "restarted pgbouncer, connections recovering",
        12,
    );
    history.act(&mut first, Action::Resolve, "alice", 14);

    let mut second = history.open(
        2,
        Alert::new("checkout latency above 2s")
            .service("payments")
            .severity(Severity::Error)
            .labels(&[("env", "prod")])
            .details(serde_json::json!({
                "description": "upstream pgbouncer slow to hand out connections",
                "runbook": "https://runbooks.example/checkout"
            })),
        60,
    );
    history.note(
        &mut second,
        "carol",
        "connection refused by the card processor",
        65,
    );

    let mut third = history.open(
        3,
        Alert::new("disk full on web-3")
            .service("web")
            .severity(Severity::Warning)
            .labels(&[("env", "staging")]),
        120,
    );
    history.note(
        &mut third,
        "bob",
        "refused to delete logs: connection to nfs lost",
        125,
    );
    history.act(&mut third, Action::Resolve, "bob", 130);

    history.open(
        4,
        Alert::new("certificate expires in 7 days")
            .service("web")
            .severity(Severity::Info)
            .labels(&[("env", "prod")]),
        24 * 60 * 40,
    );
    history
}

#[test]
fn a_title_match_ranks_above_a_details_match() {
    let history = history();
    let found = history.found("pgbouncer kind:incident");
    assert_eq!(found, vec!["#1", "#2"]);
    let hits = history.search("pgbouncer kind:incident");
    assert!(hits[0].score > hits[1].score);
}

#[test]
fn words_all_match_in_any_field_and_stems_meet() {
    let history = history();
    // "restarting" finds "restarted"; both words must be in the one document.
    assert_eq!(
        history.found("restarting pgbouncer kind:message"),
        vec!["#1/4"]
    );
    // Details are searchable by their values and their keys.
    assert_eq!(history.found("runbook"), vec!["#2"]);
    assert_eq!(history.found("clients waiting"), vec!["#1"]);
    assert!(history.found("nonexistentword").is_empty());
}

#[test]
fn a_phrase_needs_its_words_side_by_side() {
    let history = history();
    let mut words = history.found("connection refused");
    words.sort();
    // #3 through its resolving note, the same note as #3/1.
    assert_eq!(words, vec!["#2/1", "#3", "#3/1"]);
    assert_eq!(history.found("\"connection refused\""), vec!["#2/1"]);
    // A word the analyzer splits is a phrase too.
    assert_eq!(history.found("db-1 kind:incident"), vec!["#1"]);
    assert!(history.found("\"refused connection\"").is_empty());
}

#[test]
fn a_minus_excludes() {
    let history = history();
    for query in [
        "connection -nfs kind:message",
        "connection -\"nfs lost\" kind:message",
    ] {
        let mut found = history.found(query);
        found.sort();
        assert_eq!(found, vec!["#1/4", "#2/1"], "{query}");
    }
    assert_eq!(history.found("connection kind:message").len(), 3);
    assert_eq!(history.found("env -service:db kind:incident").len(), 3);
}

#[test]
fn every_filter_narrows() {
    let history = history();
    let cases: &[(&str, &[&str])] = &[
        ("service:db kind:incident", &["#1"]),
        ("svc:web,payments kind:incident", &["#4", "#3", "#2"]),
        ("sev:crit kind:incident", &["#1"]),
        ("severity:>=error kind:incident", &["#2", "#1"]),
        ("sev:<warning kind:incident", &["#4"]),
        ("status:open kind:incident", &["#4", "#2"]),
        ("status:resolved kind:incident", &["#3", "#1"]),
        ("status:ack kind:incident", &[]),
        (
            "integration:prometheus kind:incident",
            &["#4", "#3", "#2", "#1"],
        ),
        ("label:env=staging", &["#3/1", "#3"]),
        (
            "label:alertname=pgbouncerpoolexhausted kind:incident",
            &["#1"],
        ),
        ("incident:2", &["#2/1", "#2"]),
        ("id:#3 kind:message", &["#3/1"]),
        ("author:alice", &["#1/4", "#1/2"]),
        ("author:Bob", &["#3/1", "#1/3"]),
        ("kind:message service:db", &["#1/4", "#1/3", "#1/2"]),
        // Time: incidents by their opening, messages by their writing.
        (
            "after:2026-02-01T10:00:00Z before:2026-02-01T11:10:00Z",
            &["#3/1", "#3", "#2/1", "#2"],
        ),
        ("before:2026-02-01T09:06:00Z", &["#1/2", "#1"]),
        ("after:2026-03-01", &["#4"]),
    ];
    for (query, expected) in cases {
        assert_eq!(history.found(query), *expected, "{query}");
    }
}

#[test]
fn filters_about_the_incident_see_it_as_it_is_now() {
    let history = history();
    assert_eq!(
        history.found("\"card processor\" status:open"),
        vec!["#2/1"]
    );
    let mut incident = history.incident(2);
    history.note(
        &mut incident,
        "carol",
        "switched to the backup processor",
        68,
    );
    history.act(&mut incident, Action::Resolve, "carol", 70);
    history.note(
        &mut incident,
        "dave",
        "processor outage confirmed by the vendor",
        90,
    );
    assert!(history.found("processor status:open").is_empty());
    // The committed message and the two new ones, each once, all of a resolved incident;
    // and the incident itself, since carol's notes say how it was resolved.
    let hits = history.search("processor status:resolved");
    let mut found = hits.iter().map(label).collect::<Vec<_>>();
    found.sort();
    assert_eq!(found, vec!["#2", "#2/1", "#2/2", "#2/4"]);
    assert!(hits
        .iter()
        .all(|hit| hit.status == IncidentStatus::Resolved));
    assert_eq!(history.found("kind:message incident:2").len(), 3);
    assert_eq!(
        history
            .found("kind:message sev:error status:resolved service:payments label:env=prod")
            .len(),
        3
    );
}

#[test]
fn messages_are_found_by_author_with_their_incident() {
    let history = history();
    let hits = history.search("pgbouncer author:alice");
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.kind, HitKind::Message);
    assert_eq!(hit.incident, 1);
    assert_eq!(hit.title, "pgbouncer connection pool exhausted on db-1");
    assert_eq!(hit.service.as_deref(), Some("db"));
    assert_eq!(hit.severity, Severity::Critical);
    assert_eq!(hit.status, IncidentStatus::Resolved);
    let message = hit.message.as_ref().unwrap();
    assert_eq!(
        (message.seq, message.author.as_str(), message.at),
        (4, "alice", at(12))
    );
    let snippet = hit.snippet.as_ref().unwrap();
    assert_eq!(
        snippet.marked("[", "]"),
        "restarted [pgbouncer], connections recovering"
    );
}

#[test]
fn hits_mark_where_the_words_matched() {
    let history = history();
    let hits = history.search("pgbouncer exhausted kind:incident");
    let title = &hits[0].title;
    assert_eq!(
        mark(title, &hits[0].title_highlights, "<", ">"),
        "<pgbouncer> connection pool <exhausted> on db-1"
    );
    let hits = history.search("runbook");
    let snippet = hits[0].snippet.as_ref().unwrap();
    let marked = snippet.marked("[", "]");
    assert!(marked.contains("[runbook]: https"), "{marked}");
    // Offsets are bytes on character boundaries, so slicing gives the word (the stem
    // matches "runbooks" in the address too).
    for highlight in &snippet.highlights {
        assert!(snippet.text[highlight.start..highlight.end].starts_with("runbook"));
    }
    let json = serde_json::to_value(&hits[0]).unwrap();
    assert_eq!(json["kind"], "incident");
    assert_eq!(
        json["snippet"]["highlights"][0]["end"],
        snippet.highlights[0].end
    );
    assert!(json.get("message").is_none());
}

#[test]
fn filters_alone_list_newest_first() {
    let history = history();
    let hits = history.search("env kind:incident");
    assert!(hits.iter().all(|hit| hit.score > 0.0));
    assert_eq!(history.found("kind:incident"), vec!["#4", "#3", "#2", "#1"]);
    let hits = history.search("kind:incident");
    assert!(hits
        .iter()
        .all(|hit| hit.score == 0.0 && hit.title_highlights.is_empty()));
    assert_eq!(
        history.found("-kind:incident -service:db"),
        vec!["#3/1", "#2/1"]
    );
}

#[test]
fn paging_with_limit_and_offset() {
    let history = history();
    history.index.commit().unwrap();
    let all = history.found("kind:incident");
    let query = SearchQuery::parse("kind:incident").unwrap();
    let page = |limit, offset| -> Vec<String> {
        let query = query.clone().with_limit(limit).with_offset(offset);
        history
            .index
            .search(&query)
            .unwrap()
            .iter()
            .map(label)
            .collect()
    };
    assert_eq!(page(2, 0), all[..2]);
    assert_eq!(page(2, 2), all[2..]);
    assert!(page(0, 0).is_empty());
    assert!(page(5, 10).is_empty());
    assert!(page(MAX_LIMIT, usize::MAX).is_empty());
    assert_eq!(page(usize::MAX, 0), all);
}

#[test]
fn similar_finds_the_resolved_incident_alike_and_not_an_unrelated_one() {
    let history = history();
    // Resolved and alike in nothing but the environment.
    let mut unrelated = history.open(
        5,
        Alert::new("nightly backup job failed")
            .service("batch")
            .labels(&[("env", "prod")]),
        300,
    );
    history.act(&mut unrelated, Action::Resolve, "dave", 320);
    // Alike, but still open: not "seen before" with a resolution.
    history.open(6, Alert::new("pgbouncer pool exhausted").service("db"), 400);
    history.index.commit().unwrap();

    let mut event = AlertEvent::firing(
        "new",
        "pgbouncer connection pool exhausted on db-2",
        Severity::Critical,
    );
    event.service = Some("db".to_string());
    event.labels.insert("env".to_string(), "prod".to_string());
    let new = Incident::open(100, "prometheus", &event, None, at(5_000)).incident;
    let similar = history.index.similar(&new, 5).unwrap();
    let ids: Vec<IncidentId> = similar.iter().map(|hit| hit.incident).collect();
    assert_eq!(ids, vec![1], "{similar:#?}");
    let hit = &similar[0];
    assert_eq!(hit.resolved_in_seconds, 14 * 60);
    assert_eq!(hit.resolved_by.as_deref(), Some("alice"));
    let notes: Vec<&str> = hit
        .resolving_notes
        .iter()
        .map(|note| note.text.as_str())
        .collect();
    assert_eq!(
        notes,
        vec![
            "looking at pool stats, max_client_conn reached",
            "restarted pgbouncer, connections recovering"
        ]
    );
    assert_eq!(
        hit.summary(),
        "seen before: #1 \"pgbouncer connection pool exhausted on db-1\", resolved in 14 min by alice: restarted pgbouncer, connections recovering"
    );
    // One shared word and nothing else is not enough.
    let mut event = AlertEvent::firing("other", "pool heater broken", Severity::Info);
    event.service = Some("facilities".to_string());
    let other = Incident::open(101, "prometheus", &event, None, at(5_000)).incident;
    assert!(history.index.similar(&other, 5).unwrap().is_empty());
    // The resolving notes are searchable with the incident.
    assert!(history
        .found("restarted kind:incident")
        .contains(&"#1".to_string()));
}

#[test]
fn resolving_notes_prefer_the_resolver_and_keep_wrap_ups() {
    let note = |seq, author: &str, minute, text: &str| NoteText {
        seq,
        author: author.to_string(),
        at: at(minute),
        text: text.to_string(),
    };
    let notes = vec![
        note(1, "bob", 1, "paged the db team"),
        note(2, "alice", 2, "failing over to replica"),
        note(3, "bob", 3, "customers report errors"),
        note(4, "carol", 20, "root cause: vacuum blocked writes"),
    ];
    let texts =
        |found: Vec<NoteText>| -> Vec<String> { found.into_iter().map(|note| note.text).collect() };
    let resolved = IncidentStatus::Resolved;
    assert_eq!(
        texts(resolving_notes(
            resolved,
            Some(at(10)),
            Some("alice"),
            &notes
        )),
        vec![
            "failing over to replica",
            "root cause: vacuum blocked writes"
        ]
    );
    assert_eq!(
        texts(resolving_notes(
            resolved,
            Some(at(10)),
            Some("integration prometheus"),
            &notes
        )),
        vec![
            "customers report errors",
            "root cause: vacuum blocked writes"
        ]
    );
    assert!(resolving_notes(IncidentStatus::Acknowledged, None, None, &notes).is_empty());
    assert!(resolving_notes(resolved, Some(at(10)), Some("alice"), &[]).is_empty());
}

#[test]
fn updating_an_incident_replaces_its_document() {
    let history = history();
    // The first incident went through six changes; it is one incident hit.
    assert_eq!(history.found("pgbouncer kind:incident"), vec!["#1", "#2"]);
    // Feeding its whole history again, twice (as catch-up may), duplicates nothing.
    let incident = history.incident(1);
    let timeline = history.timeline(1);
    history
        .index
        .index_change(&incident, &timeline, &[])
        .unwrap();
    history
        .index
        .index_change(&incident, &timeline, &[])
        .unwrap();
    assert_eq!(history.found("pgbouncer kind:incident"), vec!["#1", "#2"]);
    assert_eq!(
        history.found("kind:message incident:1"),
        vec!["#1/4", "#1/3", "#1/2"]
    );
    assert_eq!(history.found("kind:incident").len(), 4);
}

#[test]
fn an_older_state_never_replaces_a_newer_one() {
    let history = History::new();
    let mut incident = history.open(1, Alert::new("queue backlog growing").service("jobs"), 0);
    let opened = incident.clone();
    history.act(&mut incident, Action::Resolve, "erin", 9);
    history.index.commit().unwrap();
    // Catch-up delivering the state as opened, after the live feed delivered the resolve.
    history.index.index_change(&opened, &[], &[]).unwrap();
    assert_eq!(history.found("backlog status:resolved"), vec!["#1"]);
    let version = history.index.indexed_version(1).unwrap().unwrap();
    assert_eq!(version.timeline_len, incident.timeline_len);
    assert!(!version.is_behind(&incident));
    assert!(version.is_behind(&{
        let mut later = incident.clone();
        later.timeline_len += 1;
        later
    }));
}

#[test]
fn a_persisted_index_reopens_with_its_documents_and_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("search");
    let incident = {
        let history = History::with(SearchIndex::open(&path).unwrap(), None);
        let mut incident = history.open(7, Alert::new("kafka consumer lag").service("events"), 0);
        history.note(&mut incident, "frank", "rebalanced partitions", 4);
        history.index.commit().unwrap();
        incident
    };
    let index = SearchIndex::open(&path).unwrap();
    assert_eq!(index.location(), Some(path.as_path()));
    let hits = index
        .search(&SearchQuery::parse("rebalanced").unwrap())
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message.as_ref().unwrap().author, "frank");
    let versions = index.indexed_versions().unwrap();
    assert_eq!(
        versions.get(&7),
        Some(&IndexedVersion {
            timeline_len: incident.timeline_len,
            updated_at: incident.updated_at
        })
    );
    assert_eq!(
        index
            .search(&SearchQuery::parse("kafka").unwrap())
            .unwrap()
            .len(),
        1
    );
    // A second writer on the same directory is refused with a reason, not a panic.
    match SearchIndex::open(&path) {
        Err(SearchError::Index(reason)) => assert!(reason.contains("in use"), "{reason}"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second writer opened the same index"),
    }
}

#[test]
fn an_index_of_another_layout_is_emptied_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut builder = tantivy::schema::Schema::builder();
        builder.add_text_field("something", tantivy::schema::TEXT);
        let index = Index::create_in_dir(dir.path(), builder.build()).unwrap();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.commit().unwrap();
        // While its writer holds the lock, it is someone else's: refused, left as it is.
        match SearchIndex::open(dir.path()) {
            Err(SearchError::Index(reason)) => assert!(reason.contains("in use"), "{reason}"),
            Err(other) => panic!("unexpected error {other}"),
            Ok(_) => panic!("another process's index was taken over"),
        }
        assert!(dir.path().join("meta.json").exists());
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(index.indexed_versions().unwrap().is_empty());
    assert!(index
        .search(&SearchQuery::parse("kind:incident").unwrap())
        .unwrap()
        .is_empty());
}

#[test]
fn catch_up_indexes_what_the_index_lacks_and_only_that() {
    let history = History::with(SearchIndex::in_memory().unwrap(), Some(MemoryStore::new()));
    let mut first = history.open(1, Alert::new("api 5xx rate high").service("api"), 0);
    history.note(&mut first, "gina", "rolled back deploy 4411", 8);
    history.act(&mut first, Action::Resolve, "gina", 9);
    let mut second = history.open(2, Alert::new("redis memory high").service("cache"), 20);
    let store = history.store.as_ref().unwrap();

    // A fresh index (a crash lost it): everything comes back, messages included.
    let fresh = SearchIndex::in_memory().unwrap();
    let report = fresh.catch_up(store).unwrap();
    assert_eq!(
        report,
        CatchUp {
            scanned: 2,
            indexed: 2
        }
    );
    let found = |index: &SearchIndex, text: &str| -> Vec<String> {
        index
            .search(&SearchQuery::parse(text).unwrap())
            .unwrap()
            .iter()
            .map(label)
            .collect()
    };
    assert_eq!(found(&fresh, "deploy kind:message"), vec!["#1/1"]);
    assert_eq!(
        found(&fresh, "rolled status:resolved kind:incident"),
        vec!["#1"]
    );
    assert_eq!(
        fresh.catch_up(store).unwrap(),
        CatchUp {
            scanned: 2,
            indexed: 0
        }
    );

    // One more change lands in the store only (the index missed it): only that is redone.
    let change = second
        .apply_action(
            &Action::Note {
                text: "evicting keys".to_string(),
            },
            "hank",
            at(25),
        )
        .unwrap()
        .unwrap();
    store
        .commit(&CommitBatch {
            changes: vec![StoredChange {
                incident: change.incident.clone(),
                entries: change.entries.clone(),
                alerts: Vec::new(),
                replays: Vec::new(),
            }],
            ..CommitBatch::default()
        })
        .unwrap();
    assert_eq!(
        fresh.catch_up(store).unwrap(),
        CatchUp {
            scanned: 2,
            indexed: 1
        }
    );
    assert_eq!(found(&fresh, "evicting"), vec!["#2/1"]);
    assert_eq!(found(&fresh, "redis kind:incident"), vec!["#2"]);
    second = change.incident;
    assert!(!fresh
        .indexed_version(2)
        .unwrap()
        .unwrap()
        .is_behind(&second));
}

#[test]
fn uncommitted_changes_are_counted_and_invisible_until_commit() {
    let history = History::new();
    history.open(1, Alert::new("tls handshake failures").service("edge"), 0);
    assert_eq!(history.index.uncommitted(), 1);
    let query = SearchQuery::parse("handshake").unwrap();
    assert!(history.index.search(&query).unwrap().is_empty());
    history.index.commit().unwrap();
    assert_eq!(history.index.uncommitted(), 0);
    assert_eq!(history.index.search(&query).unwrap().len(), 1);
}

#[test]
fn syntax_errors_explain_themselves() {
    let cases: &[(&str, &str)] = &[
        ("", "the query is empty: type words to find, \"a phrase\", or filters such as service:payments"),
        ("   ", "the query is empty: type words to find, \"a phrase\", or filters such as service:payments"),
        ("disk \"full on", "unclosed quote starting at column 6"),
        ("servce:db", "unknown filter \"servce:\"; did you mean \"service:\"? (put it in quotes to search for the text)"),
        ("sevrity:critical", "unknown filter \"sevrity:\"; did you mean \"severity:\"? (put it in quotes to search for the text)"),
        ("stat:open", "unknown filter \"stat:\"; did you mean \"status:\"? (put it in quotes to search for the text)"),
        ("after:yesterday", "after: expects a date like 2026-01-31 or a time like 2026-01-31T09:30:00Z, found \"yesterday\""),
        ("before:", "before: expects a date like 2026-01-31, found nothing"),
        ("service:", "service: expects a service name, found nothing"),
        ("sev:hot", "sev: expects critical, error, warning or info (or a bound such as >=error), found \"hot\""),
        ("status:sleeping", "status: expects open, triggered, acknowledged, resolved or closed, found \"sleeping\""),
        ("kind:alert", "kind: expects incident or message, found \"alert\""),
        ("label:env", "label: expects name=value, such as env=prod, found \"env\""),
        ("incident:abc", "incident: expects an incident number like 42, found \"abc\""),
        ("after:2026-03-01 before:2026-01-01", "after:2026-03-01T00:00:00+00:00 is not earlier than before:2026-01-01T00:00:00+00:00, so nothing can match"),
        ("!!! ---", "nothing to search for in \"!!! ---\": words are made of letters and digits"),
    ];
    for (text, expected) in cases {
        match SearchQuery::parse(text) {
            Err(error) => assert_eq!(error.to_string(), *expected, "{text:?}"),
            Ok(query) => panic!("{text:?} parsed as {query:?}"),
        }
    }
    let error = SearchQuery::parse("a \"b").unwrap_err();
    assert_eq!(error.column, Some(3));
    let error = SearchQuery::parse("db servce:x").unwrap_err();
    assert_eq!(error.column, Some(4));
    let long = "word ".repeat(300);
    assert!(SearchQuery::parse(&long)
        .unwrap_err()
        .to_string()
        .contains("too long"));
    let many = "word ".repeat(40);
    assert!(SearchQuery::parse(&many)
        .unwrap_err()
        .to_string()
        .contains("too many parts"));
}

#[test]
fn text_that_only_looks_like_a_filter_is_text() {
    for text in [
        "host:db-1",
        "https://status.example",
        "10:30",
        "env:prod",
        "\"servce:db\"",
    ] {
        let query = SearchQuery::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        assert!(
            query
                .clauses
                .iter()
                .all(|clause| matches!(clause.matcher, Matcher::Text { .. })),
            "{text}: {query:?}"
        );
    }
    let history = history();
    assert_eq!(history.found("host:db-1"), vec!["#1"]);
}

#[test]
fn filter_values_quoted_and_listed() {
    let query = SearchQuery::parse("service:\"Payments\" sev:crit,>=error label:Env=Prod").unwrap();
    let filters: Vec<&Filter> = query
        .clauses
        .iter()
        .filter_map(|clause| match &clause.matcher {
            Matcher::Filter(filter) => Some(filter),
            Matcher::Text { .. } => None,
        })
        .collect();
    assert_eq!(
        filters,
        vec![
            &Filter::Service(vec!["payments".to_string()]),
            &Filter::Severity(vec![Severity::Critical, Severity::Error]),
            &Filter::Label(vec![("env".to_string(), "prod".to_string())]),
        ]
    );
    assert!(!query.is_ranked());
}

/// A deterministic generator of hostile queries: quotes, dashes, colons, filter names,
/// unicode, control characters. Nothing may panic, parsing or searching.
#[test]
fn no_input_makes_it_panic() {
    let history = history();
    history.index.commit().unwrap();
    let pieces = [
        "\"",
        "-",
        ":",
        "service:",
        "sev:>=",
        "sev:<",
        "status:",
        "label:",
        "label:=",
        "=",
        "after:",
        "before:9999-12-31",
        "after:0000-01-01",
        "incident:18446744073709551615",
        "id:-1",
        "kind:",
        "author:",
        ",",
        ",,",
        "db-1",
        "pgbouncer",
        "é",
        "😀",
        "\u{0}",
        "\t",
        " ",
        "--",
        "-\"",
        "\"\"",
        "a:b:c",
        "sev:crit,",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "ß",
        "İ",
        "before:2026-02-30",
        "after:2026-01-01T25:00:00Z",
        "label:a=b=c",
        "status:open,,closed",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3_000 {
        let count = next() % 8;
        let mut text = String::new();
        for _ in 0..count {
            text.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            if next() % 3 == 0 {
                text.push(' ');
            }
        }
        if let Ok(query) = SearchQuery::parse(&text) {
            let limit = match next() % 10 {
                0 => usize::MAX,
                other => (other * 3) as usize,
            };
            let offset = match next() % 10 {
                0 => usize::MAX,
                1 => MAX_OFFSET,
                other => other as usize,
            };
            history
                .index
                .search(&query.with_limit(limit).with_offset(offset))
                .unwrap_or_else(|error| panic!("{text:?}: {error}"));
        }
    }
    // Random bytes made text, too.
    for _ in 0..1_000 {
        let bytes: Vec<u8> = (0..next() % 40).map(|_| next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(query) = SearchQuery::parse(&text) {
            history.index.search(&query).unwrap();
        }
    }
}

#[test]
fn details_flatten_to_searchable_lines_and_are_cut() {
    let details = serde_json::json!({
        "summary": "disk 97% full",
        "labels": {"mount": "/var"},
        "values": [1, 2.5, null, true],
        "empty": ""
    });
    let flat = record::flatten_details(&details);
    let mut lines: Vec<&str> = flat.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "labels.mount: /var",
            "summary: disk 97% full",
            "values: 1",
            "values: 2.5",
            "values: true"
        ]
    );
    let huge = serde_json::json!({"trace": "é".repeat(5_000)});
    let flat = record::flatten_details(&huge);
    assert!(flat.len() <= 2_048 && flat.starts_with("trace: é"));
}

#[test]
fn human_durations_read_well() {
    assert_eq!(human_duration(42), "42 s");
    assert_eq!(human_duration(14 * 60 + 5), "14 min");
    assert_eq!(human_duration(3 * 3_600), "3 h");
    assert_eq!(human_duration(3 * 3_600 + 5 * 60), "3 h 5 min");
    assert_eq!(human_duration(2 * 86_400 + 4 * 3_600), "2 d 4 h");
    assert_eq!(human_duration(-5), "0 s");
}

#[test]
fn marking_ignores_highlights_it_cannot_use() {
    let text = "héllo wörld";
    let highlights = [
        Highlight { start: 0, end: 6 },
        Highlight { start: 2, end: 3 },
        Highlight { start: 7, end: 100 },
        Highlight { start: 7, end: 13 },
    ];
    assert_eq!(mark(text, &highlights, "[", "]"), "[héllo] [wörld]");
}

#[test]
fn an_unreadable_index_is_emptied_for_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("meta.json"), "{ not json").unwrap();
    std::fs::write(dir.path().join("0123.idx"), "garbage").unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    assert!(index.indexed_versions().unwrap().is_empty());
    assert!(!dir.path().join("0123.idx").exists());
}

#[test]
fn the_index_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<SearchIndex>();
}
