//! The engine: one task owns incident state. Commands come in over a channel; each batch of
//! waiting commands is applied to the domain, committed to the store with one flush (group
//! commit), and only then answered and published as past-tense events on a broadcast channel
//! that never blocks ingest. Depends on domain, store and protocol.

mod bot;
pub mod clock;
pub mod metrics;
mod paging;
mod search;

pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use metrics::Metrics;
pub use paging::PagingOptions;

use crate::domain::matcher::Matcher;
use crate::domain::outbox::{Attempt, JobId};
use crate::domain::{Actor, Labels, Severity};
use crate::protocol::{ExplainView, OnCallView, OverrideView, SilenceView};
use paging::{Paging, RemoveError, Staged};

use crate::domain::{
    Action, ActionError, AlertEvent, Change, Incident, IncidentBook, IncidentId, IncidentStatus,
    TimelineEntry,
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
/// The longest one notification attempt may take before it counts as a temporary failure.
const SEND_LIMIT: Duration = Duration::from_secs(120);
/// How long a graceful stop waits for sends in flight.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    #[error("storage is unavailable, try again: {0}")]
    Unavailable(String),
    #[error("no incident {0}")]
    NotFound(IncidentId),
    /// Escalate-now refused: no policy, silenced, or nothing further to page.
    #[error(transparent)]
    Escalation(#[from] crate::domain::escalation::EscalateError),
    /// Something other than an incident was not found (a silence, an override).
    #[error("{0}")]
    Missing(String),
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
    OnCall {
        reply: Reply<Vec<OnCallView>>,
    },
    Overrides {
        reply: Reply<Vec<OverrideView>>,
    },
    AddOverride {
        schedule: String,
        user: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        by: String,
        reply: Reply<OverrideView>,
    },
    RemoveOverride {
        id: String,
        reply: Reply<OverrideView>,
    },
    Silences {
        reply: Reply<Vec<SilenceView>>,
    },
    AddSilence {
        matchers: Vec<Matcher>,
        starts_at: Option<DateTime<Utc>>,
        ends_at: DateTime<Utc>,
        comment: String,
        by: String,
        reply: Reply<SilenceView>,
    },
    ExpireSilence {
        id: String,
        reply: Reply<SilenceView>,
    },
    Explain {
        labels: Labels,
        service: Option<String>,
        severity: Severity,
        integration: String,
        reply: Reply<ExplainView>,
    },
    /// The bot's answer computed off the engine task (search, similar incidents).
    BotAnswer {
        incident: IncidentId,
        command: String,
        text: String,
    },
    /// What came of one notification attempt (from a send task, not from a handle).
    Outcome {
        job: JobId,
        attempt: Attempt,
    },
    /// A connected client is looking at an incident now (or at none).
    Viewing {
        connection: u64,
        user: String,
        incident: Option<IncidentId>,
    },
}

/// How everything else reaches the engine. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::Sender<Command>,
    index: Option<Arc<crate::search::SearchIndex>>,
    connections: Arc<std::sync::atomic::AtomicU64>,
    store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
}

pub struct EngineOptions {
    /// The full-text index of history, fed after each commit; `None`: no search.
    pub search: Option<Arc<crate::search::SearchIndex>>,
    pub replay_window: Duration,
    pub paging: PagingOptions,
    /// Longest chat message or note, in bytes.
    pub max_message_bytes: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            search: None,
            replay_window: Duration::from_secs(600),
            paging: PagingOptions::default(),
            max_message_bytes: crate::config::DEFAULT_MAX_MESSAGE_BYTES,
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
    let paging = Paging::new(
        options.paging,
        loaded.silences,
        loaded.overrides,
        loaded.jobs,
        loaded.sequence,
        now,
    );
    metrics.outbox_pending.set(paging.pending_jobs() as i64);
    let (outcomes, outcome_receiver) = mpsc::unbounded_channel();
    let index_for_handle = options.search.clone();
    let search = options
        .search
        .map(|index| search::start(index, store.clone(), outcomes.clone()));
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
        paging,
        outcomes,
        stale_jobs: Vec::new(),
        hold_until: None,
        max_message_bytes: options.max_message_bytes,
        viewers: HashMap::new(),
        search,
    };
    let task = tokio::spawn(engine.run(receiver, outcome_receiver));
    Ok((
        EngineHandle {
            commands,
            index: index_for_handle,
            connections: Arc::new(std::sync::atomic::AtomicU64::new(1)),
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

    /// Searches incident history (see `crate::search` for the query language). A mistake in
    /// the query is `Invalid` with the explanation.
    pub async fn search(
        &self,
        text: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<crate::search::SearchHit>, EngineError> {
        let index = self.search_index()?;
        let query = crate::search::SearchQuery::parse(text)
            .map_err(|error| EngineError::Invalid(error.to_string()))?
            .with_limit(limit)
            .with_offset(offset);
        tokio::task::spawn_blocking(move || index.search(&query))
            .await
            .map_err(|error| EngineError::Unavailable(error.to_string()))?
            .map_err(search_error)
    }

    /// Past resolved incidents like this one, and how they were resolved.
    pub async fn similar(
        &self,
        id: IncidentId,
        limit: usize,
    ) -> Result<Vec<crate::search::SimilarHit>, EngineError> {
        let index = self.search_index()?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let incident = store.incident(id)?.ok_or(EngineError::NotFound(id))?;
            index.similar(&incident, limit).map_err(search_error)
        })
        .await
        .map_err(|error| EngineError::Unavailable(error.to_string()))?
    }

    fn search_index(&self) -> Result<Arc<crate::search::SearchIndex>, EngineError> {
        self.index
            .clone()
            .ok_or_else(|| EngineError::Conflict("search is not enabled on this engine".into()))
    }

    /// A blameless postmortem draft in Markdown and the facts behind it, from the stored
    /// incident, timeline and alerts.
    pub async fn postmortem(
        &self,
        id: IncidentId,
    ) -> Result<(String, crate::domain::postmortem::PostmortemFacts), EngineError> {
        let store = self.store.clone();
        let now = self.now();
        tokio::task::spawn_blocking(move || {
            let incident = store.incident(id)?.ok_or(EngineError::NotFound(id))?;
            let alerts = store.alerts(id)?;
            let timeline = store.timeline(id)?;
            let draft = crate::domain::postmortem::draft(&incident, &timeline, &alerts, now);
            let facts = crate::domain::postmortem::facts(&incident, &timeline, &alerts, now);
            Ok((draft, facts))
        })
        .await
        .map_err(|error| EngineError::Unavailable(error.to_string()))?
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

    /// Who is on call now and next, per schedule.
    pub async fn oncall(&self) -> Result<Vec<OnCallView>, EngineError> {
        self.call(|reply| Command::OnCall { reply }).await
    }

    pub async fn overrides(&self) -> Result<Vec<OverrideView>, EngineError> {
        self.call(|reply| Command::Overrides { reply }).await
    }

    /// Puts `user` on call for `schedule` between two instants; durable when it returns.
    pub async fn add_override(
        &self,
        schedule: String,
        user: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        by: &str,
    ) -> Result<OverrideView, EngineError> {
        let by = by.to_string();
        self.call(|reply| Command::AddOverride {
            schedule,
            user,
            start,
            end,
            by,
            reply,
        })
        .await
    }

    pub async fn remove_override(&self, id: String) -> Result<OverrideView, EngineError> {
        self.call(|reply| Command::RemoveOverride { id, reply })
            .await
    }

    pub async fn silences(&self) -> Result<Vec<SilenceView>, EngineError> {
        self.call(|reply| Command::Silences { reply }).await
    }

    /// Silences what the matchers match from `starts_at` (default now) to `ends_at`,
    /// open incidents included; durable when it returns.
    pub async fn add_silence(
        &self,
        matchers: Vec<Matcher>,
        starts_at: Option<DateTime<Utc>>,
        ends_at: DateTime<Utc>,
        comment: String,
        by: &str,
    ) -> Result<SilenceView, EngineError> {
        let by = by.to_string();
        self.call(|reply| Command::AddSilence {
            matchers,
            starts_at,
            ends_at,
            comment,
            by,
            reply,
        })
        .await
    }

    /// Ends a silence now: incidents it held start escalating.
    pub async fn expire_silence(&self, id: String) -> Result<SilenceView, EngineError> {
        self.call(|reply| Command::ExpireSilence { id, reply })
            .await
    }

    /// What routing, silences and escalation would do with an alert like this, fired now.
    pub async fn explain(
        &self,
        labels: Labels,
        service: Option<String>,
        severity: Severity,
        integration: String,
    ) -> Result<ExplainView, EngineError> {
        self.call(|reply| Command::Explain {
            labels,
            service,
            severity,
            integration,
            reply,
        })
        .await
    }

    /// A number for one connected client, to say what it is looking at.
    pub fn connection(&self) -> u64 {
        self.connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Says which incident a connected client's user is looking at (`None`: none, or gone).
    /// Not stored: presence is only for those connected now.
    pub async fn viewing(
        &self,
        connection: u64,
        user: &str,
        incident: Option<IncidentId>,
    ) -> Result<(), EngineError> {
        self.commands
            .send(Command::Viewing {
                connection,
                user: user.to_string(),
                incident,
            })
            .await
            .map_err(|_| EngineError::Stopped)
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

fn search_error(error: crate::search::SearchError) -> EngineError {
    match error {
        crate::search::SearchError::Query(error) => EngineError::Invalid(error.to_string()),
        other => EngineError::Unavailable(other.to_string()),
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
    paging: Paging,
    /// Send tasks report here; the engine records each outcome durably.
    outcomes: mpsc::UnboundedSender<Command>,
    /// Outbox jobs found not to need sending any more, removed in the next round.
    stale_jobs: Vec<JobId>,
    /// After a failed commit, timers wait until then rather than retry at once.
    hold_until: Option<DateTime<Utc>>,
    max_message_bytes: usize,
    /// Which incident each connected client's user is looking at.
    viewers: HashMap<u64, (String, IncidentId)>,
    search: Option<Search>,
}

/// The engine's side of search: where committed changes go to be indexed, and the bot's
/// questions answered off the engine task.
struct Search {
    index: Arc<crate::search::SearchIndex>,
    /// Bounded: when the indexer falls behind, changes are dropped and `behind` is set, and
    /// the indexer catches up from the store instead, so a flood cannot grow memory.
    feed: mpsc::Sender<Vec<StoredChange>>,
    behind: Arc<std::sync::atomic::AtomicBool>,
    /// New incidents waiting for "seen before" suggestions; full: skipped, not queued.
    suggestions: mpsc::Sender<Incident>,
    /// The indexer and the suggester, awaited when the engine stops so the index is closed
    /// (and its lock released) before the engine counts as stopped.
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// A write's answer, held until its batch is durable.
enum Pending {
    Ingest(Reply<IngestOutcome>, Result<IngestOutcome, EngineError>),
    Act(Reply<IncidentView>, Box<Result<IncidentView, EngineError>>),
    Override(Reply<OverrideView>, Result<OverrideView, EngineError>),
    Silence(Reply<SilenceView>, Result<SilenceView, EngineError>),
}

impl Pending {
    fn answer(self) {
        match self {
            Pending::Ingest(reply, result) => {
                let _ = reply.send(result);
            }
            Pending::Act(reply, result) => {
                let _ = reply.send(*result);
            }
            Pending::Override(reply, result) => {
                let _ = reply.send(result);
            }
            Pending::Silence(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }

    /// The commit failed: writes are refused, but a refusal of its own (conflict, not
    /// found) still says why, since it wrote nothing.
    fn refuse(self, refusal: &EngineError) {
        match self {
            Pending::Ingest(reply, _) => {
                let _ = reply.send(Err(refusal.clone()));
            }
            Pending::Act(reply, result) => {
                let _ = reply.send((*result).and(Err(refusal.clone())));
            }
            Pending::Override(reply, result) => {
                let _ = reply.send(result.and(Err(refusal.clone())));
            }
            Pending::Silence(reply, result) => {
                let _ = reply.send(result.and(Err(refusal.clone())));
            }
        }
    }
}

impl From<RemoveError> for EngineError {
    fn from(error: RemoveError) -> Self {
        match error {
            RemoveError::NotFound(message) => EngineError::Missing(message),
            RemoveError::Config(message) => EngineError::Conflict(message),
        }
    }
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
    /// Paging changes (outbox, silences, overrides), applied once the round is durable.
    staged: Staged,
    sequence_before: u64,
    /// A silence changed: open incidents are checked against silences after the commit.
    silences_changed: bool,
}

impl Round {
    fn remember(&mut self, id: IncidentId, before: Option<&Incident>) {
        if self.touched.insert(id) {
            self.before.push((id, before.cloned()));
        }
    }
}

impl Engine {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut outcomes: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            let wake_in = self
                .next_timer()
                .map(|at| (at - self.clock.now()).to_std().unwrap_or(Duration::ZERO));
            let first = tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => command,
                    None => {
                        self.drain_sends(&mut outcomes).await;
                        break;
                    }
                },
                Some(outcome) = outcomes.recv() => outcome,
                _ = sleep_for(wake_in) => {
                    self.tick().await;
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
            while batch.len() < MAX_BATCH {
                match outcomes.try_recv() {
                    Ok(outcome) => batch.push(outcome),
                    Err(_) => break,
                }
            }
            self.process(batch).await;
        }
        if let Some(search) = self.search.take() {
            let Search {
                feed,
                suggestions,
                tasks,
                ..
            } = search;
            drop((feed, suggestions));
            for task in tasks {
                let _ = task.await;
            }
        }
        tracing::info!("engine stopped: no handles left");
    }

    /// On a graceful stop, waits a little for sends in flight and records their outcomes,
    /// so a restart does not send them again. (After a crash they are sent again: a send
    /// whose outcome was never recorded is retried, at least once rather than at most.)
    async fn drain_sends(&mut self, outcomes: &mut mpsc::UnboundedReceiver<Command>) {
        let deadline = tokio::time::Instant::now() + DRAIN_LIMIT;
        while self.paging.in_flight() > 0 {
            match tokio::time::timeout_at(deadline, outcomes.recv()).await {
                Ok(Some(outcome)) => self.process(vec![outcome]).await,
                _ => break,
            }
        }
    }

    /// The soonest of every timer: snoozes, escalation steps, the outbox, silence
    /// boundaries and the auditor; held back after a failed commit.
    fn next_timer(&self) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        let cleanup = (!self.stale_jobs.is_empty()).then_some(now);
        let next = [
            self.next_wake,
            self.book.next_escalation(),
            self.paging.next_job_due(),
            self.paging.next_silence_boundary(),
            self.paging.next_audit().or(Some(now)),
            cleanup,
        ]
        .into_iter()
        .flatten()
        .min()?;
        Some(match self.hold_until {
            Some(hold) => next.max(hold),
            None => next,
        })
    }

    fn new_round(&self) -> Round {
        Round {
            sequence_before: self.paging.sequence(),
            ..Round::default()
        }
    }

    async fn process(&mut self, commands: Vec<Command>) {
        let now = self.clock.now();
        let mut round = self.new_round();
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
                Command::Outcome { job, attempt } => self.settle(&mut round, job, attempt, now),
                Command::BotAnswer {
                    incident,
                    command,
                    text,
                } => self.post_answer(&mut round, incident, command, text, now),
                Command::AddOverride {
                    schedule,
                    user,
                    start,
                    end,
                    by,
                    reply,
                } => {
                    let result = self
                        .paging
                        .add_override(schedule, user, start, end, &by, &mut round.staged)
                        .map_err(EngineError::Invalid);
                    round.answers.push(Pending::Override(reply, result));
                }
                Command::RemoveOverride { id, reply } => {
                    let result = self
                        .paging
                        .remove_override(&id, &mut round.staged)
                        .map_err(EngineError::from);
                    round.answers.push(Pending::Override(reply, result));
                }
                Command::AddSilence {
                    matchers,
                    starts_at,
                    ends_at,
                    comment,
                    by,
                    reply,
                } => {
                    let starts_at = starts_at.unwrap_or(now);
                    let result = if ends_at <= starts_at.max(now) {
                        Err(EngineError::Invalid(
                            "the silence must end after it starts and in the future".to_string(),
                        ))
                    } else {
                        round.silences_changed = true;
                        let draft = crate::domain::silence::Silence {
                            id: String::new(),
                            matchers,
                            starts_at,
                            ends_at,
                            comment,
                            created_by: Some(by),
                        };
                        Ok(self.paging.add_silence(draft, now, &mut round.staged))
                    };
                    round.answers.push(Pending::Silence(reply, result));
                }
                Command::ExpireSilence { id, reply } => {
                    let result = self
                        .paging
                        .expire_silence(&id, now, &mut round.staged)
                        .map_err(EngineError::from);
                    round.silences_changed |= result.is_ok();
                    round.answers.push(Pending::Silence(reply, result));
                }
                read => reads.push(read),
            }
        }
        self.escalate_due(&mut round, now);
        self.finish(round, next_id_before).await;
        for read in reads {
            self.answer_read(read);
        }
        self.dispatch(now);
        self.prune_replays(now);
    }

    /// Pages every escalation step that is due, each as a change of its own.
    fn escalate_due(&mut self, round: &mut Round, now: DateTime<Utc>) {
        for id in self.book.due_escalations(now) {
            let before = self.book.get(id).cloned();
            round.remember(id, before.as_ref());
            let result = self.paging.escalate(
                &mut self.book,
                id,
                Actor::System,
                false,
                now,
                &mut round.staged,
            );
            match result {
                Ok(entries) => {
                    self.metrics.escalations.inc();
                    self.push_change(round, id, entries);
                }
                Err(error) => {
                    // Due but not escalatable: stop its timer so it cannot fire again and
                    // again; the auditor reports what is left unpaged.
                    tracing::warn!(incident = id, %error, "a due escalation step cannot fire");
                    self.book.modify(id, |incident| incident.stop_escalation());
                }
            }
        }
    }

    /// Adds a change made outside the domain's own ingest and act paths to the round. When
    /// the round already changes the incident, the entries join its last change (they follow
    /// it in sequence): one stored record and one event, not two.
    fn push_change(&self, round: &mut Round, id: IncidentId, entries: Vec<TimelineEntry>) {
        if entries.is_empty() {
            return;
        }
        let Some(incident) = self.book.get(id) else {
            return;
        };
        match round
            .changes
            .iter_mut()
            .rev()
            .find(|change| change.incident.id == id)
        {
            Some(last) => {
                last.incident = incident.clone();
                last.entries.extend(entries);
            }
            None => round.changes.push(Change {
                incident: incident.clone(),
                entries,
                opened: false,
            }),
        }
    }

    /// Records what came of one notification attempt in the incident's timeline.
    fn settle(&mut self, round: &mut Round, job: JobId, attempt: Attempt, now: DateTime<Utc>) {
        let Some((id, kind)) =
            self.paging
                .settle(job, attempt, now, &mut round.staged, &self.metrics)
        else {
            return;
        };
        if !self.book.contains(id) {
            match self.store.incident(id) {
                Ok(Some(stored)) => self.book.insert(stored),
                Ok(None) => return,
                Err(error) => {
                    tracing::error!(%error, incident = id, "cannot load the incident to record a notification");
                    return;
                }
            }
        }
        let before = self.book.get(id).cloned();
        round.remember(id, before.as_ref());
        let entry = self.book.modify(id, |incident| {
            incident.record_entry(now, Actor::System, kind)
        });
        if let Some(entry) = entry {
            self.push_change(round, id, vec![entry]);
        }
    }

    /// Hands every due notification to its channel in a task of its own; outcomes come
    /// back as commands.
    fn dispatch(&mut self, now: DateTime<Utc>) {
        let (ready, stale) = self.paging.take_due(&self.book, now);
        self.stale_jobs.extend(stale);
        for dispatch in ready {
            let outcomes = self.outcomes.clone();
            tokio::spawn(async move {
                let channel = dispatch
                    .notifier
                    .as_ref()
                    .and_then(|(channels, kind)| channels.get(*kind));
                let attempt = match (channel, dispatch.notification) {
                    (Some(notifier), Some(notification)) => {
                        // The channels time out on their own; this only bounds a channel
                        // that would not.
                        let sent =
                            tokio::time::timeout(SEND_LIMIT, notifier.send(&notification)).await;
                        match sent {
                            Ok(Ok(delivered)) => Attempt::Delivered(delivered.detail),
                            Ok(Err(crate::notify::SendError::Temporary(reason))) => {
                                Attempt::Temporary(reason)
                            }
                            Ok(Err(crate::notify::SendError::Permanent(reason))) => {
                                Attempt::Permanent(reason)
                            }
                            Err(_) => Attempt::Temporary("timed out".to_string()),
                        }
                    }
                    _ => Attempt::Permanent(dispatch.refusal.unwrap_or_default()),
                };
                let _ = outcomes.send(Command::Outcome {
                    job: dispatch.job,
                    attempt,
                });
            });
        }
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
        let mut opened = Vec::new();
        for change in result.changes {
            if change.opened {
                round.remember(change.incident.id, None);
                opened.push(change.incident.id);
            }
            round.moved_on.insert(change.incident.id);
            round.changes.push(change);
        }
        // Routing and silences decide who hears of a new incident; its first level is then
        // due at once and pages in this same round.
        for id in opened {
            let entries = self.paging.route_opened(&mut self.book, id, now);
            self.push_change(round, id, entries);
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
        if let Action::Note { text } = action {
            if text.len() > self.max_message_bytes {
                return Err(EngineError::Invalid(format!(
                    "the message is {} bytes; the limit is {} (server.max_message_bytes)",
                    text.len(),
                    self.max_message_bytes
                )));
            }
            if let Some(parsed) = crate::domain::bot::BotCommand::parse(text) {
                return self.bot(round, id, action, parsed, user, now);
            }
        }
        if *action == Action::Escalate {
            let entries = self
                .paging
                .escalate(
                    &mut self.book,
                    id,
                    Actor::User(user.to_string()),
                    true,
                    now,
                    &mut round.staged,
                )
                .map_err(EngineError::Escalation)?;
            self.metrics.escalations.inc();
            self.push_change(round, id, entries);
            let incident = self.book.get(id).expect("the incident was just loaded");
            return Ok(IncidentView::from(incident));
        }
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
        let staged = &round.staged;
        let paging_changed = !staged.jobs.is_empty()
            || !staged.jobs_done.is_empty()
            || staged.sequence.is_some()
            || !staged.overrides_removed.is_empty();
        if round.answers.is_empty() && round.changes.is_empty() && !paging_changed {
            return;
        }
        // Nobody is paged about an incident that is acknowledged, resolved or silenced.
        for change in &round.changes {
            let incident = &change.incident;
            if incident.status != IncidentStatus::Triggered
                || incident.escalation.silenced_by.is_some()
            {
                let resolved = !incident.status.is_open();
                self.paging
                    .cancel_jobs(incident.id, resolved, &mut round.staged);
            }
        }
        let lapsed = self.lapsed_replays(&round);
        let batch = self.batch_for(&mut round, &lapsed);
        let outcome = if batch.is_empty() {
            Ok(batch)
        } else {
            let store = self.store.clone();
            let started = Instant::now();
            let result = tokio::task::spawn_blocking(move || store.commit(&batch).map(|()| batch))
                .await
                .unwrap_or_else(|error| Err(StoreError::Io(error.to_string())));
            self.metrics
                .store_flush_seconds
                .observe(started.elapsed().as_secs_f64());
            result
        };
        match outcome {
            Ok(batch) => {
                if let Some(search) = &self.search {
                    for change in round.changes.iter().filter(|change| change.opened) {
                        // Suggestions are a courtesy: under a flood, skip rather than queue.
                        let _ = search.suggestions.try_send(change.incident.clone());
                    }
                    if !batch.changes.is_empty() && search.feed.try_send(batch.changes).is_err() {
                        search
                            .behind
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
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
                self.paging.apply(round.staged, &self.metrics);
                if round.silences_changed {
                    self.paging.recheck_silences(self.clock.now());
                }
                self.hold_until = None;
                for change in round.changes {
                    self.publish(change);
                }
                for answer in round.answers {
                    answer.answer();
                }
                if round.acted || self.next_wake.is_some() {
                    self.next_wake = self.book.next_wake();
                }
            }
            Err(error) => {
                tracing::error!(%error, "commit failed; the batch is rolled back and refused");
                self.book.roll_back(round.before, next_id_before);
                self.paging.roll_back(round.sequence_before);
                // Timers that were due are due again; wait a little rather than spin.
                self.hold_until = Some(self.clock.now() + chrono::Duration::seconds(1));
                let refusal = EngineError::Unavailable(error.to_string());
                for answer in round.answers {
                    answer.refuse(&refusal);
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
        let staged = &round.staged;
        CommitBatch {
            changes,
            jobs: staged.jobs.clone(),
            jobs_done: staged.jobs_done.clone(),
            silences: staged.silences.clone(),
            overrides: staged.overrides.clone(),
            overrides_removed: staged.overrides_removed.clone(),
            sequence: staged.sequence,
        }
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

    fn answer_read(&mut self, read: Command) {
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
                        presence: self.presence(),
                    },
                    events: self.events.subscribe(),
                });
            }
            Command::OnCall { reply } => {
                let _ = reply.send(Ok(self.paging.oncall(self.clock.now())));
            }
            Command::Overrides { reply } => {
                let _ = reply.send(Ok(self.paging.override_views()));
            }
            Command::Silences { reply } => {
                let _ = reply.send(Ok(self.paging.silence_views(self.clock.now())));
            }
            Command::Explain {
                labels,
                service,
                severity,
                integration,
                reply,
            } => {
                let view = self.paging.explain(
                    &labels,
                    service.as_deref(),
                    severity,
                    &integration,
                    self.book.next_id(),
                    self.clock.now(),
                );
                let _ = reply.send(Ok(view));
            }
            Command::Viewing {
                connection,
                user,
                incident,
            } => {
                let before = match incident {
                    Some(incident) => self.viewers.insert(connection, (user, incident)),
                    None => self.viewers.remove(&connection),
                }
                .map(|(_, incident)| incident);
                let mut changed: Vec<IncidentId> = before.into_iter().chain(incident).collect();
                changed.dedup();
                if before == incident {
                    changed.clear();
                }
                for incident in changed {
                    let viewers = self.viewers_of(incident);
                    if self.events.receiver_count() > 0 {
                        let message = ServerMessage::Presence { incident, viewers };
                        let _ = self.events.send(Arc::new(EngineEvent::new(message)));
                    }
                }
            }
            Command::Ingest { .. }
            | Command::Act { .. }
            | Command::BotAnswer { .. }
            | Command::Outcome { .. }
            | Command::AddOverride { .. }
            | Command::RemoveOverride { .. }
            | Command::AddSilence { .. }
            | Command::ExpireSilence { .. } => {
                unreachable!("writes are handled in the round")
            }
        }
    }

    /// Everyone looking at an incident, each name once, in order.
    fn viewers_of(&self, incident: IncidentId) -> Vec<String> {
        let mut names: Vec<String> = self
            .viewers
            .values()
            .filter(|(_, viewing)| *viewing == incident)
            .map(|(user, _)| user.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn presence(&self) -> std::collections::BTreeMap<IncidentId, Vec<String>> {
        let incidents: HashSet<IncidentId> = self
            .viewers
            .values()
            .map(|(_, incident)| *incident)
            .collect();
        incidents
            .into_iter()
            .map(|incident| (incident, self.viewers_of(incident)))
            .collect()
    }

    /// A timer fired: ends due snoozes, applies silence boundaries, runs the auditor, pages
    /// due escalation steps and drops outbox jobs that no longer need sending, all in one
    /// round; then hands due notifications to their channels.
    async fn tick(&mut self) {
        let now = self.clock.now();
        let next_id = self.book.next_id();
        let mut round = self.new_round();
        if self.next_wake.is_some_and(|at| at <= now) {
            let waking: Vec<Incident> = self
                .book
                .iter()
                .filter(|incident| incident.snoozed_until.is_some_and(|until| until <= now))
                .cloned()
                .collect();
            for incident in &waking {
                round.remember(incident.id, Some(incident));
            }
            round.changes.extend(self.book.wake_due(now));
        }
        if self
            .paging
            .next_silence_boundary()
            .is_some_and(|at| at <= now)
        {
            let changed = self
                .paging
                .apply_silences(&mut self.book, now, &mut round.staged);
            for (id, before, entries) in changed {
                round.remember(id, before.as_ref());
                self.push_change(&mut round, id, entries);
            }
        }
        if self.paging.audit_due(now) {
            for id in self.paging.audit(&self.book, now, &self.metrics) {
                let before = self.book.get(id).cloned();
                round.remember(id, before.as_ref());
                self.book
                    .modify(id, |incident| incident.escalation.next_at = Some(now));
            }
        }
        self.escalate_due(&mut round, now);
        round.staged.jobs_done.append(&mut self.stale_jobs);
        self.finish(round, next_id).await;
        self.next_wake = self.book.next_wake();
        self.dispatch(now);
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

#[cfg(test)]
mod paging_tests;
