//! The engine's paging with paused time: escalation steps, the outbox, silences, restarts.
//! Channels are recorders here; tests/escalation.rs sends through the real ones.

use super::*;
use crate::domain::escalation::{
    ContactAddress, ContactKind, ContactMethod, Directory, EscalationLevel, EscalationPolicy,
    NotificationRule, Person, Target,
};
use crate::domain::routing::Routing;
use crate::domain::TimelineKind;
use crate::notify::{Delivered, Notification, Notifier, Notifiers, SendError, SendFuture};
use crate::store::MemoryStore;
use chrono::TimeZone;
use std::collections::VecDeque;
use std::sync::Mutex;

/// A channel that records what it is asked to send and answers from a script (then
/// delivers).
struct Recorder {
    kind: ContactKind,
    sent: mpsc::UnboundedSender<Notification>,
    script: Mutex<VecDeque<Result<Delivered, SendError>>>,
}

impl Notifier for Recorder {
    fn kind(&self) -> ContactKind {
        self.kind
    }

    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a> {
        let _ = self.sent.send(notification.clone());
        let answer = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Ok(Delivered::default()));
        Box::pin(async move { answer })
    }
}

fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap()
}

fn person(name: &str, rules: &[(&str, i64)]) -> Person {
    let contact = |kind: ContactKind| ContactMethod {
        name: kind.as_str().to_string(),
        kind,
        address: ContactAddress::Text(format!("{name}@{}", kind.as_str())),
    };
    let rules: Vec<NotificationRule> = rules
        .iter()
        .map(|(contact, minutes)| NotificationRule {
            contact: contact.to_string(),
            after: chrono::Duration::minutes(*minutes),
        })
        .collect();
    Person {
        name: name.to_string(),
        contacts: vec![contact(ContactKind::Webhook), contact(ContactKind::Sms)],
        high: rules.clone(),
        low: rules,
    }
}

fn options(repeat: u32, round_robin: bool) -> PagingOptions {
    let level = |targets: Vec<Target>, minutes| EscalationLevel {
        targets,
        delay: chrono::Duration::minutes(minutes),
    };
    PagingOptions {
        directory: Directory {
            people: vec![
                person("alice", &[("webhook", 0), ("sms", 5)]),
                person("bob", &[("webhook", 0)]),
                person("carol", &[("webhook", 0)]),
            ],
            teams: Vec::new(),
            schedules: Vec::new(),
            policies: vec![EscalationPolicy {
                name: "ops".to_string(),
                levels: vec![
                    level(vec![Target::User("alice".into())], 10),
                    level(
                        vec![Target::User("bob".into()), Target::User("carol".into())],
                        15,
                    ),
                ],
                repeat,
                round_robin,
            }],
        },
        routing: Routing {
            routes: Vec::new(),
            default_policy: Some("ops".to_string()),
            default_urgency: None,
        },
        ..PagingOptions::default()
    }
}

struct Harness {
    engine: EngineHandle,
    task: tokio::task::JoinHandle<()>,
    events: broadcast::Receiver<Arc<EngineEvent>>,
    /// Entries received and not yet looked at, oldest first.
    pending: VecDeque<TimelineView>,
    sent: mpsc::UnboundedReceiver<Notification>,
}

async fn harness(
    store: Arc<MemoryStore>,
    mut paging: PagingOptions,
    script: Vec<Result<Delivered, SendError>>,
    started: DateTime<Utc>,
) -> Harness {
    let (sent_sender, sent) = mpsc::unbounded_channel();
    let script = Mutex::new(script.into());
    let webhook = Recorder {
        kind: ContactKind::Webhook,
        sent: sent_sender.clone(),
        script,
    };
    let sms = Recorder {
        kind: ContactKind::Sms,
        sent: sent_sender,
        script: Mutex::new(VecDeque::new()),
    };
    paging.channels = Arc::new(
        Notifiers::empty()
            .with(ContactKind::Webhook, Box::new(webhook))
            .with(ContactKind::Sms, Box::new(sms)),
    );
    paging.max_attempts = Some(3);
    let (engine, task) = start(
        store,
        Arc::new(TokioClock::new(started)),
        Arc::new(Metrics::new()),
        EngineOptions {
            paging,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    let events = engine.subscribe().await.unwrap().events;
    Harness {
        engine,
        task,
        events,
        pending: VecDeque::new(),
        sent,
    }
}

impl Harness {
    async fn fire(&self, key: &str, severity: Severity) -> IncidentId {
        let integration = Arc::new(IntegrationInfo {
            name: "generic".to_string(),
            service: Some("checkout".to_string()),
        });
        let event = AlertEvent::firing(key, &format!("{key} is down"), severity);
        let outcome = self
            .engine
            .ingest(integration, vec![event], None)
            .await
            .unwrap();
        outcome.incidents[0]
    }

    /// The next timeline entry matching `wanted`, skipping others; time runs on meanwhile.
    async fn entry(&mut self, wanted: impl Fn(&TimelineKind) -> bool) -> TimelineView {
        // A day of paused time passes in an instant: a missing entry fails, never hangs.
        tokio::time::timeout(Duration::from_secs(86_400), self.next_entry(wanted))
            .await
            .expect("the expected timeline entry within a day")
    }

    async fn next_entry(&mut self, wanted: impl Fn(&TimelineKind) -> bool) -> TimelineView {
        loop {
            while let Some(entry) = self.pending.pop_front() {
                if wanted(&entry.kind) {
                    return entry;
                }
            }
            let event = self.events.recv().await.expect("the engine is running");
            if let ServerMessage::IncidentOpened { timeline, .. }
            | ServerMessage::IncidentChanged { timeline, .. } = &event.message
            {
                self.pending.extend(timeline.iter().cloned());
            }
        }
    }

    async fn escalated(&mut self) -> (u32, u32, Vec<String>, DateTime<Utc>) {
        let entry = self
            .entry(|kind| matches!(kind, TimelineKind::Escalated { .. }))
            .await;
        match entry.kind {
            TimelineKind::Escalated {
                level,
                repeat,
                users,
                ..
            } => (level, repeat, users, entry.at),
            _ => unreachable!(),
        }
    }

    async fn stop(self) {
        drop(self.engine);
        self.task.await.unwrap();
    }
}

fn sent_to(notification: &Notification) -> (String, ContactKind) {
    (notification.user.clone(), notification.contact.kind)
}

#[tokio::test(start_paused = true)]
async fn levels_page_in_turn_until_someone_acknowledges() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store.clone(), options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;

    let (level, _, users, at) = run.escalated().await;
    assert_eq!(
        (level, users, at),
        (1, vec!["alice".to_string()], start_time())
    );
    let first = run.sent.recv().await.unwrap();
    assert_eq!(sent_to(&first), ("alice".to_string(), ContactKind::Webhook));
    assert_eq!(first.incident.id, id);
    assert_eq!(first.ack_command, format!("klaxon ack {id}"));
    let delivered = run
        .entry(|kind| matches!(kind, TimelineKind::Notified { .. }))
        .await;
    assert_eq!(delivered.description, "webhook to alice: delivered");

    // Her rule says sms after five minutes; then level 2 after ten.
    let sms = run.sent.recv().await.unwrap();
    assert_eq!(sent_to(&sms), ("alice".to_string(), ContactKind::Sms));
    let (level, _, users, at) = run.escalated().await;
    assert_eq!(level, 2);
    assert_eq!(users, ["bob", "carol"]);
    assert_eq!(at, start_time() + chrono::Duration::minutes(10));
    let mut paged: Vec<String> = vec![
        run.sent.recv().await.unwrap().user,
        run.sent.recv().await.unwrap().user,
    ];
    paged.sort();
    assert_eq!(paged, ["bob", "carol"]);

    let view = run
        .engine
        .act(id, Action::Acknowledge, "bob")
        .await
        .unwrap();
    assert_eq!(
        view.escalation.next_at, None,
        "acknowledging stops the timers"
    );
    assert_eq!(view.escalation.level, 2);
    // The policy has no repeat: nothing is due any more, so time runs to the auditor only.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        run.sent.try_recv().is_err(),
        "nothing is paged after the ack"
    );
    let timeline = run.engine.detail(id).await.unwrap().timeline;
    let escalations = timeline
        .iter()
        .filter(|entry| matches!(entry.kind, TimelineKind::Escalated { .. }))
        .count();
    assert_eq!(escalations, 2);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn acknowledging_cancels_a_contact_rule_still_waiting() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store.clone(), options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    assert_eq!(
        run.sent.recv().await.unwrap().contact.kind,
        ContactKind::Webhook
    );
    run.engine
        .act(id, Action::Acknowledge, "alice")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        run.sent.try_recv().is_err(),
        "the sms after 5m was not sent"
    );
    assert!(
        store.load(start_time()).unwrap().jobs.is_empty(),
        "outbox is empty"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failing_channel_is_retried_with_backoff_then_given_up() {
    let store = Arc::new(MemoryStore::new());
    let failures = vec![
        Err(SendError::Temporary("500 Internal Server Error".into())),
        Err(SendError::Temporary("500 Internal Server Error".into())),
        Err(SendError::Temporary("connection refused".into())),
    ];
    let mut paging = options(0, false);
    paging.directory.people[0] = person("alice", &[("webhook", 0)]);
    let mut run = harness(store, paging, failures, start_time()).await;
    run.fire("db", Severity::Critical).await;
    let mut lines = Vec::new();
    let mut times = Vec::new();
    for _ in 0..3 {
        let entry = run
            .entry(|kind| matches!(kind, TimelineKind::Notified { user, .. } if user == "alice"))
            .await;
        lines.push(entry.description);
        times.push((entry.at - start_time()).num_seconds());
    }
    assert_eq!(
        lines,
        [
            "webhook to alice: failed 500 Internal Server Error, retry 1/3",
            "webhook to alice: failed 500 Internal Server Error, retry 2/3",
            "webhook to alice: gave up after 3 attempts: connection refused",
        ]
    );
    assert_eq!(times, [0, 10, 40], "backoff of 10 s, then 30 s");
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn after_a_restart_an_overdue_level_fires_at_once_and_only_once() {
    let store = Arc::new(MemoryStore::new());
    let mut paging = options(0, false);
    paging.directory.people[0] = person("alice", &[("webhook", 0)]);
    let mut run = harness(store.clone(), paging.clone(), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    assert_eq!(run.sent.recv().await.unwrap().user, "alice");
    run.entry(|kind| matches!(kind, TimelineKind::Notified { .. }))
        .await;
    run.stop().await;

    // The engine was down past level 2's time.
    let later = start_time() + chrono::Duration::minutes(25);
    let mut run = harness(store.clone(), paging.clone(), Vec::new(), later).await;
    let mut paged = vec![
        run.sent.recv().await.unwrap().user,
        run.sent.recv().await.unwrap().user,
    ];
    paged.sort();
    assert_eq!(
        paged,
        ["bob", "carol"],
        "level 2 at once, and alice is not paged again"
    );
    // A graceful stop waits for the sends in flight and records how they went.
    run.stop().await;
    let timeline = store.timeline(id).unwrap();
    let level_two = timeline
        .iter()
        .find(|entry| matches!(entry.kind, TimelineKind::Escalated { level: 2, .. }))
        .expect("level 2 was paged");
    assert_eq!(level_two.at, later, "at once on start");
    let delivered = timeline
        .iter()
        .filter(|entry| matches!(entry.kind, TimelineKind::Notified { .. }))
        .count();
    assert_eq!(delivered, 3, "alice, then bob and carol");

    // And once more: nothing is due, nothing is paged twice.
    let mut run = harness(store.clone(), paging, Vec::new(), later).await;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(run.sent.try_recv().is_err());
    let timeline = run.engine.detail(id).await.unwrap().timeline;
    let levels: Vec<u32> = timeline
        .iter()
        .filter_map(|entry| match entry.kind {
            TimelineKind::Escalated { level, .. } => Some(level),
            _ => None,
        })
        .collect();
    assert_eq!(levels, [1, 2]);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn repeats_and_round_robin_move_on_to_the_next_person() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store, options(1, true), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    let mut steps = Vec::new();
    for _ in 0..4 {
        let (level, repeat, users, at) = run.escalated().await;
        steps.push((level, repeat, users, (at - start_time()).num_minutes()));
    }
    // Incident 1: the level-2 pick is (id + repeat) mod 2, so bob and carol take turns.
    assert_eq!(id, 1);
    assert_eq!(
        steps,
        [
            (1, 0, vec!["alice".to_string()], 0),
            (2, 0, vec!["carol".to_string()], 10),
            (1, 1, vec!["alice".to_string()], 25),
            (2, 1, vec!["bob".to_string()], 35),
        ]
    );
    let timeline = run.engine.detail(id).await.unwrap().timeline;
    let last_step = timeline
        .iter()
        .rev()
        .find(|entry| !matches!(entry.kind, TimelineKind::Notified { .. }))
        .unwrap();
    assert_eq!(
        last_step.description,
        "escalation policy exhausted: no further level"
    );
    let error = run
        .engine
        .act(id, Action::Escalate, "alice")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no further level"), "{error}");
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn escalate_now_pages_the_next_level_and_retriggers() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store, options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    run.escalated().await;
    run.engine
        .act(id, Action::Acknowledge, "alice")
        .await
        .unwrap();
    let view = run.engine.act(id, Action::Escalate, "alice").await.unwrap();
    assert_eq!(view.status, IncidentStatus::Triggered);
    assert_eq!(view.escalation.level, 2);
    let (level, _, _, at) = run.escalated().await;
    assert_eq!((level, at), (2, start_time()));
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_silence_holds_paging_until_it_is_expired() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store, options(0, false), Vec::new(), start_time()).await;
    let silence = run
        .engine
        .add_silence(
            vec!["service=checkout".parse().unwrap()],
            None,
            start_time() + chrono::Duration::hours(2),
            "deploy".to_string(),
            "alice",
        )
        .await
        .unwrap();
    assert_eq!(silence.state, "active");
    let id = run.fire("db", Severity::Critical).await;
    let held = run
        .entry(|kind| matches!(kind, TimelineKind::Silenced { .. }))
        .await;
    assert_eq!(
        held.description,
        format!(
            "silenced by silence {} service=checkout (deploy): nobody is paged",
            silence.id
        )
    );
    tokio::time::sleep(Duration::from_secs(1800)).await;
    assert!(run.sent.try_recv().is_err(), "nobody paged while silenced");

    run.engine.expire_silence(silence.id.clone()).await.unwrap();
    let ended = run
        .entry(|kind| matches!(kind, TimelineKind::SilenceEnded { .. }))
        .await;
    assert_eq!(
        ended.description,
        format!("silence {} ended: escalation starts", silence.id)
    );
    let (level, _, _, _) = run.escalated().await;
    assert_eq!(level, 1);
    assert_eq!(run.sent.recv().await.unwrap().incident.id, id);
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_silence_made_later_stops_the_paging_of_open_incidents() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store, options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    run.escalated().await;
    run.engine
        .add_silence(
            vec!["service=checkout".parse().unwrap()],
            None,
            start_time() + chrono::Duration::hours(2),
            String::new(),
            "alice",
        )
        .await
        .unwrap();
    run.entry(|kind| matches!(kind, TimelineKind::Silenced { .. }))
        .await;
    let view = run
        .engine
        .list(ListFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(view[0].id, id);
    assert!(view[0].escalation.silenced_by.is_some());
    // Level 2 was due ten minutes in; the silence ends at two hours and paging restarts.
    let (level, _, _, at) = run.escalated().await;
    assert_eq!(level, 1);
    assert_eq!(at, start_time() + chrono::Duration::hours(2));
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unrouted_incident_says_nobody_is_paged_and_the_auditor_counts_it() {
    let store = Arc::new(MemoryStore::new());
    let mut paging = options(0, false);
    paging.routing.default_policy = None;
    let mut run = harness(store, paging, Vec::new(), start_time()).await;
    run.fire("db", Severity::Critical).await;
    let entry = run
        .entry(|kind| matches!(kind, TimelineKind::NotPaged { .. }))
        .await;
    assert_eq!(
        entry.description,
        "nobody paged: no route matches and there is no default escalation policy"
    );
    tokio::time::sleep(Duration::from_secs(30)).await;
    let metrics = run.engine.metrics.render();
    assert!(
        metrics.contains("klaxon_escalation_audit_unrouted 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("klaxon_escalation_audit_missing 0"),
        "{metrics}"
    );
    run.stop().await;
}

fn note(text: &str) -> Action {
    Action::Note {
        text: text.to_string(),
    }
}

async fn bot_says(run: &mut Harness) -> String {
    run.entry(|kind| matches!(kind, TimelineKind::BotReply { .. }))
        .await
        .description
}

#[tokio::test(start_paused = true)]
async fn the_bot_answers_commands_in_the_channel() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store, options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    run.escalated().await;
    run.engine
        .act(id, note("restarted pgbouncer, no change"), "alice")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;

    run.engine.act(id, note("/status"), "bob").await.unwrap();
    let asked = run
        .entry(|kind| matches!(kind, TimelineKind::Note { .. }))
        .await;
    assert_eq!(asked.description, "restarted pgbouncer, no change");
    let asked = run
        .entry(|kind| matches!(kind, TimelineKind::Note { .. }))
        .await;
    assert_eq!(
        (asked.description.as_str(), &asked.actor),
        ("/status", &Actor::User("bob".into())),
        "the question stays in the channel"
    );
    assert_eq!(
        bot_says(&mut run).await,
        "#1 triggered for 2m, CRIT checkout; not acknowledged; ops level 1, next level in 8m; \
         paged alice; 1 notes; latest: alice: restarted pgbouncer, no change"
    );

    let view = run.engine.act(id, note("/ack"), "bob").await.unwrap();
    assert_eq!(view.status, IncidentStatus::Acknowledged);
    assert_eq!(view.acknowledged_by.as_deref(), Some("bob"));
    run.engine.act(id, note("/ack"), "bob").await.unwrap();
    assert_eq!(bot_says(&mut run).await, "already acknowledged");

    run.engine
        .act(id, note("/assign mallory"), "bob")
        .await
        .unwrap();
    assert_eq!(
        bot_says(&mut run).await,
        "there is no user \"mallory\" to assign"
    );
    run.engine.act(id, note("/statsu"), "bob").await.unwrap();
    assert!(bot_says(&mut run)
        .await
        .starts_with("unknown command /statsu; did you mean /status?"));
    let view = run
        .engine
        .act(id, note("//etc/hosts was stale"), "bob")
        .await
        .unwrap();
    assert_eq!(
        view.status,
        IncidentStatus::Acknowledged,
        "an ordinary message"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn page_reaches_someone_even_after_the_acknowledgement() {
    let store = Arc::new(MemoryStore::new());
    let mut run = harness(store, options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    assert_eq!(run.sent.recv().await.unwrap().user, "alice");
    run.engine
        .act(id, Action::Acknowledge, "alice")
        .await
        .unwrap();
    run.engine
        .act(id, note("/page carol"), "alice")
        .await
        .unwrap();
    assert_eq!(bot_says(&mut run).await, "paging carol now: webhook");
    let page = run.sent.recv().await.unwrap();
    assert_eq!((page.user.as_str(), page.incident.id), ("carol", id));
    run.engine
        .act(id, note("/page nobody"), "alice")
        .await
        .unwrap();
    assert_eq!(
        bot_says(&mut run).await,
        "there is no user \"nobody\" to page"
    );
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_oversized_message_is_refused_and_writes_nothing() {
    let store = Arc::new(MemoryStore::new());
    let run = harness(store, options(0, false), Vec::new(), start_time()).await;
    let id = run.fire("db", Severity::Critical).await;
    let long = "x".repeat(crate::config::DEFAULT_MAX_MESSAGE_BYTES + 1);
    let error = run.engine.act(id, note(&long), "alice").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "the message is {} bytes; the limit is {} (server.max_message_bytes)",
            long.len(),
            crate::config::DEFAULT_MAX_MESSAGE_BYTES
        )
    );
    let timeline = run.engine.detail(id).await.unwrap().timeline;
    assert!(!timeline
        .iter()
        .any(|entry| matches!(entry.kind, TimelineKind::Note { .. })));
    run.stop().await;
}
