//! The engine: one task owns incident state. Commands come in over a channel; each batch of
//! waiting commands is applied to the domain, committed to the store with one flush (group
//! commit), and only then answered and published as past-tense events on a broadcast channel
//! that never blocks ingest. Depends on domain, store and protocol.

pub mod clock;
pub mod metrics;

pub use clock::{Clock, ManualClock, SystemClock};
pub use metrics::Metrics;

use crate::domain::{
    Action, ActionError, AlertEvent, Change, Incident, IncidentBook, IncidentId, IncidentStatus,
};
use crate::protocol::{AlertView, IncidentDetail, IncidentView, ServerMessage, TimelineView};
use crate::store::{
    AlertRecord, CommitBatch, ListFilter, ReplayRecord, Store, StoreError, StoredChange,
};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Commands applied in one group commit at most; bounds the latency of the last in a batch.
const MAX_BATCH: usize = 512;
/// Events a stream subscriber may fall behind before it is told it lagged and resynced.
const EVENT_BUFFER: usize = 4096;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("storage is unavailable, try again: {0}")]
    Unavailable(String),
    #[error("no incident {0}")]
    NotFound(IncidentId),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the engine has stopped")]
    Stopped,
}

impl From<StoreError> for EngineError {
    fn from(error: StoreError) -> Self {
        EngineError::Unavailable(error.to_string())
    }
}

impl From<ActionError> for EngineError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::Resolved(..) => EngineError::Conflict(error.to_string()),
            _ => EngineError::Invalid(error.to_string()),
        }
    }
}

/// The integration an ingest request arrived on, as far as the engine cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationInfo {
    pub name: String,
    pub service: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    pub alerts: usize,
    pub incidents: Vec<IncidentId>,
    /// An exact redelivery of a payload already accepted: nothing changed.
    pub replayed: bool,
}

/// A published event, serialised to JSON at most once however many clients send it.
#[derive(Debug)]
pub struct EngineEvent {
    pub message: ServerMessage,
    json: OnceLock<Arc<str>>,
}

impl EngineEvent {
    fn new(message: ServerMessage) -> Self {
        EngineEvent {
            message,
            json: OnceLock::new(),
        }
    }

    pub fn json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| {
                serde_json::to_string(&self.message)
                    .expect("protocol types always serialise")
                    .into()
            })
            .clone()
    }
}

/// A snapshot and the events that follow it, with nothing missed or repeated in between.
pub struct Subscription {
    pub snapshot: ServerMessage,
    pub events: broadcast::Receiver<Arc<EngineEvent>>,
}

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// A payload digest, kept as bytes: one is held per open incident.
type Digest = [u8; 32];

fn digest_bytes(digest: &str) -> Digest {
    let mut bytes = [0u8; 32];
    if hex::decode_to_slice(digest, &mut bytes).is_err() {
        // Not a SHA-256 in hex: hash it, so any identifier still works as one.
        use sha2::Digest as _;
        bytes = sha2::Sha256::digest(digest.as_bytes()).into();
    }
    bytes
}

/// An accepted payload's answer, in memory while a redelivery of it is recognised.
#[derive(Debug, Clone)]
struct Replay {
    at: DateTime<Utc>,
    alerts: usize,
    incidents: Box<[IncidentId]>,
}

impl Replay {
    fn record(&self, digest: &Digest) -> ReplayRecord {
        ReplayRecord {
            digest: hex::encode(digest),
            at: self.at,
            alerts: self.alerts,
            incidents: self.incidents.to_vec(),
        }
    }
}

enum Command {
    Ingest {
        integration: Arc<IntegrationInfo>,
        events: Vec<AlertEvent>,
        digest: Option<String>,
        reply: Reply<IngestOutcome>,
    },
    Act {
        id: IncidentId,
        action: Action,
        user: String,
        reply: Reply<IncidentView>,
    },
    ListOpen {
        filter: ListFilter,
        reply: Reply<Vec<IncidentView>>,
    },
    Subscribe {
        reply: oneshot::Sender<Subscription>,
    },
}

/// How everything else reaches the engine. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
}

pub struct EngineOptions {
    pub replay_window: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            replay_window: Duration::from_secs(600),
        }
    }
}

/// Loads state from the store and starts the engine task. The task ends when every handle
/// is dropped; await the returned join handle to know it has.
pub fn start(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    options: EngineOptions,
) -> Result<(EngineHandle, tokio::task::JoinHandle<()>), StoreError> {
    let now = clock.now();
    let window = chrono::Duration::from_std(options.replay_window).unwrap_or_default();
    let loaded = store.load(now - window)?;
    let mut book = IncidentBook::new(loaded.next_id);
    for incident in loaded.open {
        metrics.open_gauge(incident.severity).inc();
        book.insert(incident);
    }
    // A redelivery only makes sense while what it opened is still open.
    let mut replays = HashMap::new();
    let mut replays_by_incident: HashMap<IncidentId, Vec<Digest>> = HashMap::new();
    for replay in loaded.replays {
        let all_open = replay.incidents.iter().all(|id| book.contains(*id));
        if all_open {
            let digest = digest_bytes(&replay.digest);
            for id in &replay.incidents {
                replays_by_incident.entry(*id).or_default().push(digest);
            }
            let replay = Replay {
                at: replay.at,
                alerts: replay.alerts,
                incidents: replay.incidents.into(),
            };
            replays.insert(digest, replay);
        }
    }
    let (commands, receiver) = mpsc::channel(4096);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let next_wake = book.next_wake();
    let engine = Engine {
        book,
        store: store.clone(),
        clock: clock.clone(),
        metrics: metrics.clone(),
        events,
        seq: 0,
        replays,
        replays_by_incident,
        replay_window: window,
        next_wake,
        last_prune: now,
    };
    let task = tokio::spawn(engine.run(receiver));
    Ok((
        EngineHandle {
            commands,
            store,
            metrics,
            clock,
        },
        task,
    ))
}

impl EngineHandle {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)?
    }

    /// Applies alert events; returns only once they are durable. `digest` identifies the exact
    /// payload so that a redelivery within the replay window changes nothing.
    pub async fn ingest(
        &self,
        integration: Arc<IntegrationInfo>,
        events: Vec<AlertEvent>,
        digest: Option<String>,
    ) -> Result<IngestOutcome, EngineError> {
        self.call(|reply| Command::Ingest {
            integration,
            events,
            digest,
            reply,
        })
        .await
    }

    pub async fn act(
        &self,
        id: IncidentId,
        action: Action,
        user: &str,
    ) -> Result<IncidentView, EngineError> {
        let user = user.to_string();
        self.call(|reply| Command::Act {
            id,
            action,
            user,
            reply,
        })
        .await
    }

    /// Incidents matching the filter, newest first. Open ones come from memory, anything that
    /// may include resolved history from the store.
    pub async fn list(
        &self,
        filter: ListFilter,
        before: Option<IncidentId>,
        limit: usize,
    ) -> Result<Vec<IncidentView>, EngineError> {
        let only_open =
            !filter.statuses.is_empty() && filter.statuses.iter().all(|status| status.is_open());
        if only_open {
            let mut open = self
                .call(|reply| Command::ListOpen { filter, reply })
                .await?;
            open.retain(|incident| before.is_none_or(|before| incident.id < before));
            open.truncate(limit);
            return Ok(open);
        }
        let store = self.store.clone();
        let found = tokio::task::spawn_blocking(move || store.list(&filter, before, limit))
            .await
            .map_err(|error| EngineError::Unavailable(error.to_string()))??;
        Ok(found.iter().map(IncidentView::from).collect())
    }

    /// One incident with its alerts and whole timeline, read from the store.
    pub async fn detail(&self, id: IncidentId) -> Result<IncidentDetail, EngineError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let incident = store.incident(id)?.ok_or(EngineError::NotFound(id))?;
            let alerts = store.alerts(id)?;
            let timeline = store.timeline(id)?;
            Ok(IncidentDetail {
                incident: IncidentView::from(&incident),
                alerts: alerts.iter().map(alert_view).collect(),
                timeline: timeline.iter().map(TimelineView::from).collect(),
            })
        })
        .await
        .map_err(|error| EngineError::Unavailable(error.to_string()))?
    }

    pub async fn subscribe(&self) -> Result<Subscription, EngineError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Subscribe { reply })
            .await
            .map_err(|_| EngineError::Stopped)?;
        answer.await.map_err(|_| EngineError::Stopped)
    }
}

fn alert_view(record: &AlertRecord) -> AlertView {
    AlertView {
        key: record.key.clone(),
        status: record.event.status,
        title: record.event.title.clone(),
        severity: record.event.severity,
        received_at: record.received_at,
        labels: record.event.labels.clone(),
        links: record.event.links.clone(),
        details: record.event.details.clone(),
    }
}

struct Engine {
    book: IncidentBook,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    events: broadcast::Sender<Arc<EngineEvent>>,
    seq: u64,
    replays: HashMap<Digest, Replay>,
    /// Which replay records name each incident, so they lapse when it moves on.
    replays_by_incident: HashMap<IncidentId, Vec<Digest>>,
    replay_window: chrono::Duration,
    next_wake: Option<DateTime<Utc>>,
    last_prune: DateTime<Utc>,
}

/// A write's answer, held until its batch is durable.
enum Pending {
    Ingest(Reply<IngestOutcome>, Result<IngestOutcome, EngineError>),
    Act(Reply<IncidentView>, Box<Result<IncidentView, EngineError>>),
}

/// One group commit being assembled.
#[derive(Default)]
struct Round {
    /// Alert payloads that came with this round, by incident.
    alerts: HashMap<IncidentId, Vec<AlertRecord>>,
    before: Vec<(IncidentId, Option<Incident>)>,
    touched: HashSet<IncidentId>,
    changes: Vec<Change>,
    answers: Vec<Pending>,
    replays: HashMap<Digest, Replay>,
    /// Incidents changed by something other than a redelivery, whose replay records lapse.
    moved_on: HashSet<IncidentId>,
    acted: bool,
}

impl Round {
    fn remember(&mut self, id: IncidentId, before: Option<&Incident>) {
        if self.touched.insert(id) {
            self.before.push((id, before.cloned()));
        }
    }
}

impl Engine {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            let wake_in = self
                .next_wake
                .map(|at| (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO));
            let first = tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => command,
                    None => break,
                },
                _ = sleep_for(wake_in) => {
                    self.wake_snoozed().await;
                    continue;
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            self.process(batch).await;
        }
        tracing::info!("engine stopped: no handles left");
    }

    async fn process(&mut self, commands: Vec<Command>) {
        let now = self.clock.now();
        let mut round = Round::default();
        let next_id_before = self.book.next_id();
        let mut reads = Vec::new();
        self.metrics
            .commit_batch_size
            .observe(commands.len() as f64);
        for command in commands {
            match command {
                Command::Ingest {
                    integration,
                    events,
                    digest,
                    reply,
                } => {
                    let result = self.ingest(&mut round, &integration, events, digest, now);
                    round.answers.push(Pending::Ingest(reply, Ok(result)));
                }
                Command::Act {
                    id,
                    action,
                    user,
                    reply,
                } => {
                    round.acted = true;
                    let result = self.act(&mut round, id, &action, &user, now);
                    round.answers.push(Pending::Act(reply, Box::new(result)));
                }
                read => reads.push(read),
            }
        }
        self.finish(round, next_id_before).await;
        for read in reads {
            self.answer_read(read);
        }
        self.prune_replays(now);
    }

    fn ingest(
        &mut self,
        round: &mut Round,
        integration: &IntegrationInfo,
        events: Vec<AlertEvent>,
        digest: Option<String>,
        now: DateTime<Utc>,
    ) -> IngestOutcome {
        let digest = digest.as_deref().map(digest_bytes);
        if let Some(digest) = &digest {
            let earlier = round
                .replays
                .get(digest)
                .or_else(|| self.replays.get(digest));
            if let Some(earlier) = earlier.filter(|earlier| now - earlier.at < self.replay_window) {
                return IngestOutcome {
                    alerts: earlier.alerts,
                    incidents: earlier.incidents.to_vec(),
                    replayed: true,
                };
            }
        }
        for event in &events {
            if let Some(open) = self.book.open_for(&integration.name, &event.dedup_key) {
                let id = open.id;
                let open = open.clone();
                round.remember(id, Some(&open));
            }
        }
        let result = self.book.ingest(
            &integration.name,
            integration.service.as_deref(),
            &events,
            now,
        );
        let alerts = events.len();
        // The payloads move into their records: no second copy of labels and details.
        for (event, changed) in events.into_iter().zip(&result.changed_by_event) {
            let Some(id) = changed else { continue };
            // A bare acknowledge or resolve carries no alert of its own to keep.
            if event.fingerprint.is_none() && event.status != crate::domain::AlertStatus::Firing {
                continue;
            }
            let alert_count = self
                .book
                .get(*id)
                .map_or(0, |incident| incident.alert_count);
            let key = event
                .fingerprint
                .clone()
                .unwrap_or_else(|| format!("#{alert_count:06}"));
            round.alerts.entry(*id).or_default().push(AlertRecord {
                incident: *id,
                key,
                received_at: now,
                event,
            });
        }
        for change in result.changes {
            if change.opened {
                round.remember(change.incident.id, None);
            }
            round.moved_on.insert(change.incident.id);
            round.changes.push(change);
        }
        let outcome = IngestOutcome {
            alerts,
            incidents: result.incidents,
            replayed: false,
        };
        if let Some(digest) = digest {
            let replay = Replay {
                at: now,
                alerts: outcome.alerts,
                incidents: outcome.incidents.clone().into(),
            };
            round.replays.insert(digest, replay);
        }
        outcome
    }

    fn act(
        &mut self,
        round: &mut Round,
        id: IncidentId,
        action: &Action,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<IncidentView, EngineError> {
        if !self.book.contains(id) {
            let stored = self.store.incident(id)?.ok_or(EngineError::NotFound(id))?;
            self.book.insert(stored);
        }
        let before = self.book.get(id).cloned();
        round.remember(id, before.as_ref());
        let change = self
            .book
            .act(id, action, user, now)
            .map_err(|error| match error {
                crate::domain::BookError::NotFound(id) => EngineError::NotFound(id),
                crate::domain::BookError::Action(error) => error.into(),
            })?;
        match change {
            Some(change) => {
                let view = IncidentView::from(&change.incident);
                if !change.incident.status.is_open() {
                    round.moved_on.insert(id);
                }
                round.changes.push(change);
                Ok(view)
            }
            None => Ok(IncidentView::from(
                self.book.get(id).expect("the incident was just loaded"),
            )),
        }
    }

    /// Commits the round, then answers and publishes it; on a storage failure rolls the
    /// book back to how it was and answers every write with `Unavailable`.
    async fn finish(&mut self, mut round: Round, next_id_before: IncidentId) {
        if round.answers.is_empty() && round.changes.is_empty() {
            return;
        }
        let lapsed = self.lapsed_replays(&round);
        let batch = self.batch_for(&mut round, &lapsed);
        let outcome = if batch.is_empty() {
            Ok(())
        } else {
            let store = self.store.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || store.commit(&batch))
                .await
                .unwrap_or_else(|error| Err(StoreError::Io(error.to_string())));
            self.metrics
                .store_flush_seconds
                .observe(started.elapsed().as_secs_f64());
            result
        };
        match outcome {
            Ok(()) => {
                self.count_open(&round);
                for digest in &lapsed {
                    self.replays.remove(digest);
                }
                for id in &round.moved_on {
                    self.replays_by_incident.remove(id);
                }
                for (digest, replay) in round.replays {
                    let open = replay
                        .incidents
                        .iter()
                        .all(|id| self.book.get(*id).is_some_and(|i| i.status.is_open()));
                    if !open {
                        continue;
                    }
                    for id in &replay.incidents {
                        let digests = self.replays_by_incident.entry(*id).or_default();
                        digests.push(digest);
                    }
                    self.replays.insert(digest, replay);
                }
                for change in round.changes {
                    self.publish(change);
                }
                for answer in round.answers {
                    match answer {
                        Pending::Ingest(reply, result) => {
                            let _ = reply.send(result);
                        }
                        Pending::Act(reply, result) => {
                            let _ = reply.send(*result);
                        }
                    }
                }
                if round.acted || self.next_wake.is_some() {
                    self.next_wake = self.book.next_wake();
                }
            }
            Err(error) => {
                tracing::error!(%error, "commit failed; the batch is rolled back and refused");
                self.book.roll_back(round.before, next_id_before);
                let refusal = EngineError::Unavailable(error.to_string());
                for answer in round.answers {
                    match answer {
                        Pending::Ingest(reply, _) => {
                            let _ = reply.send(Err(refusal.clone()));
                        }
                        Pending::Act(reply, result) => {
                            // A refused action (conflict, not found) wrote nothing: say why.
                            let _ = reply.send((*result).and(Err(refusal.clone())));
                        }
                    }
                }
            }
        }
    }

    /// One stored change per domain change; the round's alert payloads go with the last
    /// change of their incident, and each record lists the redeliveries that still stand.
    fn batch_for(&self, round: &mut Round, lapsed: &[Digest]) -> CommitBatch {
        let mut last_change = HashMap::new();
        for (index, change) in round.changes.iter().enumerate() {
            last_change.insert(change.incident.id, index);
        }
        let changes = round
            .changes
            .iter()
            .enumerate()
            .map(|(index, change)| {
                let id = change.incident.id;
                let alerts = if last_change.get(&id) == Some(&index) {
                    round.alerts.remove(&id).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let mut replays: Vec<ReplayRecord> = Vec::new();
                if change.incident.status.is_open() {
                    let earlier = self.replays_by_incident.get(&id).into_iter().flatten();
                    for digest in earlier.filter(|digest| !lapsed.contains(digest)) {
                        if let Some(replay) = self.replays.get(digest) {
                            replays.push(replay.record(digest));
                        }
                    }
                    let fresh = round.replays.iter();
                    replays.extend(
                        fresh
                            .filter(|(_, replay)| replay.incidents.contains(&id))
                            .map(|(digest, replay)| replay.record(digest)),
                    );
                }
                StoredChange {
                    incident: change.incident.clone(),
                    entries: change.entries.clone(),
                    alerts,
                    replays,
                }
            })
            .collect();
        CommitBatch { changes }
    }

    /// Replay records made stale by this round: their incident was changed by another
    /// payload or resolved, so the same bytes again are a new alert, not a redelivery.
    fn lapsed_replays(&self, round: &Round) -> Vec<Digest> {
        let mut lapsed = Vec::new();
        for id in &round.moved_on {
            for digest in self.replays_by_incident.get(id).into_iter().flatten() {
                if !round.replays.contains_key(digest) {
                    lapsed.push(*digest);
                }
            }
        }
        lapsed.sort();
        lapsed.dedup();
        lapsed
    }

    fn count_open(&self, round: &Round) {
        for (id, before) in &round.before {
            if let Some(before) = before.as_ref().filter(|b| b.status.is_open()) {
                self.metrics.open_gauge(before.severity).dec();
            }
            if let Some(after) = self.book.get(*id).filter(|a| a.status.is_open()) {
                self.metrics.open_gauge(after.severity).inc();
            }
        }
    }

    fn publish(&mut self, change: Change) {
        self.seq += 1;
        // Nobody is watching: building the event would only cost allocations.
        if self.events.receiver_count() == 0 {
            return;
        }
        let incident = IncidentView::from(&change.incident);
        let timeline = change.entries.iter().map(TimelineView::from).collect();
        let message = if change.opened {
            ServerMessage::IncidentOpened {
                seq: self.seq,
                incident,
                timeline,
            }
        } else {
            ServerMessage::IncidentChanged {
                seq: self.seq,
                incident,
                timeline,
            }
        };
        // No subscribers is fine: nobody is watching.
        let _ = self.events.send(Arc::new(EngineEvent::new(message)));
    }

    fn answer_read(&self, read: Command) {
        match read {
            Command::ListOpen { filter, reply } => {
                let mut found: Vec<IncidentView> = self
                    .book
                    .iter()
                    .filter(|incident| incident.status.is_open() && filter.matches(incident))
                    .map(IncidentView::from)
                    .collect();
                found.sort_by_key(|incident| std::cmp::Reverse(incident.id));
                let _ = reply.send(Ok(found));
            }
            Command::Subscribe { reply } => {
                let mut incidents: Vec<IncidentView> =
                    self.book.iter().map(IncidentView::from).collect();
                incidents.sort_by_key(|incident| incident.id);
                let _ = reply.send(Subscription {
                    snapshot: ServerMessage::Snapshot {
                        seq: self.seq,
                        incidents,
                    },
                    events: self.events.subscribe(),
                });
            }
            Command::Ingest { .. } | Command::Act { .. } => {
                unreachable!("writes are handled in the round")
            }
        }
    }

    async fn wake_snoozed(&mut self) {
        let now = self.clock.now();
        let next_id = self.book.next_id();
        let before: Vec<_> = self
            .book
            .iter()
            .filter(|incident| incident.snoozed_until.is_some_and(|until| until <= now))
            .map(|incident| (incident.id, Some(incident.clone())))
            .collect();
        let changes = self.book.wake_due(now);
        self.next_wake = self.book.next_wake();
        if changes.is_empty() {
            return;
        }
        let round = Round {
            before,
            touched: changes.iter().map(|change| change.incident.id).collect(),
            changes,
            ..Default::default()
        };
        self.finish(round, next_id).await;
        if self.book.iter().any(|incident| {
            incident.status == IncidentStatus::Acknowledged
                && incident.snoozed_until.is_some_and(|until| until <= now)
        }) {
            // The commit failed and rolled back: try again shortly rather than spin.
            self.next_wake = Some(now + chrono::Duration::seconds(1));
        }
    }

    fn prune_replays(&mut self, now: DateTime<Utc>) {
        if now - self.last_prune < chrono::Duration::seconds(60) {
            return;
        }
        self.last_prune = now;
        let cutoff = now - self.replay_window;
        self.replays.retain(|_, replay| replay.at >= cutoff);
        let replays = &self.replays;
        self.replays_by_incident.retain(|_, digests| {
            digests.retain(|digest| replays.contains_key(digest));
            !digests.is_empty()
        });
    }
}

async fn sleep_for(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}
