//! Table-style tests of the lifecycle and dedup rules, with fixed times.

use super::*;
use chrono::{DateTime, Duration, TimeZone, Utc};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + Duration::minutes(minute)
}

fn alert(key: &str, fingerprint: Option<&str>, status: AlertStatus) -> AlertEvent {
    AlertEvent {
        fingerprint: fingerprint.map(str::to_string),
        status,
        ..AlertEvent::firing(key, "api latency high", Severity::Warning)
    }
}

fn kinds(change: &Change) -> Vec<&TimelineKind> {
    change.entries.iter().map(|entry| &entry.kind).collect()
}

#[test]
fn first_firing_alert_opens_a_triggered_incident() {
    let mut book = IncidentBook::new(1);
    let result = book.ingest(
        "am",
        Some("api"),
        &[alert("g1", None, AlertStatus::Firing)],
        at(0),
    );
    assert_eq!(result.incidents, vec![1]);
    let incident = book.get(1).unwrap();
    assert_eq!(incident.status, IncidentStatus::Triggered);
    assert_eq!(
        incident.service.as_deref(),
        Some("api"),
        "integration default"
    );
    assert_eq!(incident.alert_count, 1);
    assert_eq!(incident.created_at, at(0));
    assert_eq!(
        result.changes[0].entries[0].actor,
        Actor::Integration("am".into())
    );
}

#[test]
fn refire_joins_the_open_incident_and_counts() {
    let mut book = IncidentBook::new(1);
    let firing = alert("g1", None, AlertStatus::Firing);
    book.ingest("am", None, std::slice::from_ref(&firing), at(0));
    let result = book.ingest("am", None, &[firing], at(1));
    assert_eq!(result.incidents, vec![1]);
    assert_eq!(book.get(1).unwrap().alert_count, 2);
    assert_eq!(book.open_count(), 1);
}

#[test]
fn same_key_on_another_integration_is_another_incident() {
    let mut book = IncidentBook::new(1);
    let firing = alert("g1", None, AlertStatus::Firing);
    book.ingest("am", None, std::slice::from_ref(&firing), at(0));
    let result = book.ingest("generic", None, &[firing], at(0));
    assert_eq!(result.incidents, vec![2]);
}

#[test]
fn fingerprinted_alerts_count_distinct_and_resolve_when_none_fires() {
    let mut book = IncidentBook::new(1);
    let events = [
        alert("g1", Some("a"), AlertStatus::Firing),
        alert("g1", Some("b"), AlertStatus::Firing),
        alert("g1", Some("c"), AlertStatus::Firing),
    ];
    let result = book.ingest("am", None, &events, at(0));
    assert_eq!(result.incidents, vec![1]);
    assert_eq!(book.get(1).unwrap().alert_count, 3);
    // The same group notification again changes nothing.
    let repeat = book.ingest("am", None, &events, at(1));
    assert!(repeat.changes.is_empty());
    assert_eq!(book.get(1).unwrap().alert_count, 3);
    book.ingest(
        "am",
        None,
        &[alert("g1", Some("a"), AlertStatus::Resolved)],
        at(2),
    );
    assert_eq!(book.get(1).unwrap().status, IncidentStatus::Triggered);
    let resolved = [
        alert("g1", Some("b"), AlertStatus::Resolved),
        alert("g1", Some("c"), AlertStatus::Resolved),
    ];
    book.ingest("am", None, &resolved, at(3));
    let incident = book.get(1).unwrap();
    assert_eq!(incident.status, IncidentStatus::Resolved);
    assert_eq!(incident.resolved_at, Some(at(3)));
}

#[test]
fn after_resolve_the_next_firing_opens_a_new_incident() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    book.ingest(
        "am",
        None,
        &[alert("g1", None, AlertStatus::Resolved)],
        at(1),
    );
    let result = book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(2));
    assert_eq!(result.incidents, vec![2]);
    assert!(result.changes[0].opened);
}

#[test]
fn resolve_for_an_unknown_key_is_a_no_op() {
    let mut book = IncidentBook::new(1);
    let result = book.ingest(
        "am",
        None,
        &[alert("nope", None, AlertStatus::Resolved)],
        at(0),
    );
    assert!(result.changes.is_empty());
    assert!(result.incidents.is_empty());
    assert_eq!(book.next_id(), 1);
}

#[test]
fn refire_keeps_human_state() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    book.act(1, &Action::Acknowledge, "alice", at(1)).unwrap();
    book.act(1, &Action::Reassign { to: "bob".into() }, "alice", at(2))
        .unwrap();
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(3));
    let incident = book.get(1).unwrap();
    assert_eq!(incident.status, IncidentStatus::Acknowledged);
    assert_eq!(incident.acknowledged_by.as_deref(), Some("alice"));
    assert_eq!(incident.assignee.as_deref(), Some("bob"));
}

#[test]
fn worse_refire_raises_severity_unless_a_person_set_it() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    let worse = AlertEvent {
        severity: Severity::Critical,
        ..alert("g1", None, AlertStatus::Firing)
    };
    book.ingest("am", None, std::slice::from_ref(&worse), at(1));
    assert_eq!(book.get(1).unwrap().severity, Severity::Critical);
    let set = Action::SetSeverity {
        severity: Severity::Info,
    };
    book.act(1, &set, "alice", at(2)).unwrap();
    book.ingest("am", None, &[worse], at(3));
    assert_eq!(book.get(1).unwrap().severity, Severity::Info);
}

#[test]
fn every_action_writes_a_timeline_entry_with_who_and_when() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    let cases: Vec<(Action, TimelineKind)> = vec![
        (Action::Acknowledge, TimelineKind::Acknowledged),
        (
            Action::Note {
                text: "looking at the db".into(),
            },
            TimelineKind::Note {
                text: "looking at the db".into(),
            },
        ),
        (
            Action::Reassign { to: "bob".into() },
            TimelineKind::Reassigned {
                from: None,
                to: "bob".into(),
            },
        ),
        (
            Action::Snooze { until: at(60) },
            TimelineKind::Snoozed { until: at(60) },
        ),
        (Action::Resolve, TimelineKind::Resolved { by_source: false }),
    ];
    for (minute, (action, expected)) in cases.into_iter().enumerate() {
        let change = book
            .act(1, &action, "alice", at(minute as i64 + 1))
            .unwrap()
            .unwrap();
        assert_eq!(kinds(&change), vec![&expected]);
        let entry = &change.entries[0];
        assert_eq!(entry.actor, Actor::User("alice".into()));
        assert_eq!(entry.at, at(minute as i64 + 1));
        assert_eq!(entry.seq as usize, minute + 1, "numbered in order");
    }
    assert_eq!(book.get(1).unwrap().resolved_by.as_deref(), Some("alice"));
}

#[test]
fn refused_and_repeated_actions() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    assert!(book
        .act(1, &Action::Acknowledge, "a", at(1))
        .unwrap()
        .is_some());
    assert_eq!(book.act(1, &Action::Acknowledge, "a", at(2)), Ok(None));
    assert_eq!(
        book.act(1, &Action::Note { text: "  ".into() }, "a", at(2)),
        Err(BookError::Action(ActionError::EmptyNote))
    );
    assert_eq!(
        book.act(1, &Action::Snooze { until: at(1) }, "a", at(2)),
        Err(BookError::Action(ActionError::SnoozeInPast))
    );
    book.act(1, &Action::Resolve, "a", at(3)).unwrap();
    assert_eq!(book.act(1, &Action::Resolve, "a", at(4)), Ok(None));
    assert!(matches!(
        book.act(1, &Action::Acknowledge, "a", at(4)),
        Err(BookError::Action(ActionError::Resolved(1, _)))
    ));
    // A note on a resolved incident is fine: people write them after the fact.
    assert!(book
        .act(
            1,
            &Action::Note {
                text: "root cause: disk".into()
            },
            "a",
            at(5)
        )
        .unwrap()
        .is_some());
    assert_eq!(
        book.act(9, &Action::Resolve, "a", at(5)),
        Err(BookError::NotFound(9))
    );
}

#[test]
fn snooze_wakes_up_as_triggered_at_its_time() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    book.act(1, &Action::Snooze { until: at(30) }, "alice", at(1))
        .unwrap();
    assert_eq!(book.get(1).unwrap().status, IncidentStatus::Acknowledged);
    assert_eq!(book.next_wake(), Some(at(30)));
    assert!(book.wake_due(at(29)).is_empty());
    let woken = book.wake_due(at(30));
    assert_eq!(woken.len(), 1);
    assert_eq!(kinds(&woken[0]), vec![&TimelineKind::SnoozeEnded]);
    let incident = book.get(1).unwrap();
    assert_eq!(incident.status, IncidentStatus::Triggered);
    assert_eq!(incident.snoozed_until, None);
    assert_eq!(book.next_wake(), None);
}

#[test]
fn source_acknowledge_and_resolve() {
    let mut book = IncidentBook::new(1);
    book.ingest("pd", None, &[alert("k", None, AlertStatus::Firing)], at(0));
    book.ingest(
        "pd",
        None,
        &[alert("k", None, AlertStatus::Acknowledged)],
        at(1),
    );
    let incident = book.get(1).unwrap();
    assert_eq!(incident.status, IncidentStatus::Acknowledged);
    assert_eq!(incident.acknowledged_by.as_deref(), Some("integration pd"));
    book.ingest(
        "pd",
        None,
        &[alert("k", None, AlertStatus::Resolved)],
        at(2),
    );
    assert_eq!(book.get(1).unwrap().status, IncidentStatus::Resolved);
}

#[test]
fn roll_back_restores_the_book_exactly() {
    let mut book = IncidentBook::new(1);
    book.ingest("am", None, &[alert("g1", None, AlertStatus::Firing)], at(0));
    let before_existing = book.get(1).cloned();
    let next_id = book.next_id();
    book.ingest(
        "am",
        None,
        &[alert("g1", None, AlertStatus::Resolved)],
        at(1),
    );
    book.ingest("am", None, &[alert("g2", None, AlertStatus::Firing)], at(1));
    book.roll_back(vec![(1, before_existing.clone()), (2, None)], next_id);
    assert_eq!(book.get(1).cloned(), before_existing);
    assert!(book.get(2).is_none());
    assert_eq!(book.next_id(), 2);
    assert_eq!(
        book.open_for("am", "g1").map(|incident| incident.id),
        Some(1)
    );
    assert!(book.open_for("am", "g2").is_none());
}

#[test]
fn many_resolved_incidents_are_not_all_kept_in_memory() {
    let mut book = IncidentBook::new(1);
    let total = book::RESOLVED_KEPT_IN_MEMORY + 10;
    for n in 0..total {
        let key = format!("k{n}");
        book.ingest("g", None, &[alert(&key, None, AlertStatus::Firing)], at(0));
        book.ingest(
            "g",
            None,
            &[alert(&key, None, AlertStatus::Resolved)],
            at(1),
        );
    }
    assert_eq!(book.iter().count(), book::RESOLVED_KEPT_IN_MEMORY);
    assert!(book.get(1).is_none(), "the oldest went first");
    assert_eq!(book.next_id() as usize, total + 1);
}

#[test]
fn the_book_knows_the_next_snooze_and_escalation_step_without_looking_at_every_incident() {
    let mut book = IncidentBook::new(1);
    for key in ["a", "b", "c"] {
        book.ingest("am", None, &[alert(key, None, AlertStatus::Firing)], at(0));
    }
    for id in 1..=3 {
        book.modify(id, |incident| {
            incident.escalation.policy = Some("ops".to_string());
            incident.start_escalation(at(id as i64));
        });
    }
    assert_eq!(book.next_escalation(), Some(at(1)));
    assert_eq!(book.due_escalations(at(2)), vec![1, 2]);

    // Acknowledging stops a step; snoozing stops it and sets a wake-up.
    book.act(1, &Action::Acknowledge, "alice", at(3)).unwrap();
    book.act(2, &Action::Snooze { until: at(30) }, "alice", at(3))
        .unwrap();
    assert_eq!(book.due_escalations(at(10)), vec![3]);
    assert_eq!(book.next_wake(), Some(at(30)));

    // The snooze ends: triggered again, and escalation starts over at once.
    let woken = book.wake_due(at(30));
    assert_eq!(woken.len(), 1);
    assert_eq!(book.next_wake(), None);
    assert_eq!(book.due_escalations(at(30)), vec![3, 2]);

    // Resolving takes it out of the index.
    book.act(3, &Action::Resolve, "alice", at(31)).unwrap();
    assert_eq!(book.due_escalations(at(40)), vec![2]);
}
