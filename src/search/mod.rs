//! Full-text search over incident history (open and resolved), and "seen before" suggestions
//! for a new incident. A derived, rebuildable cache of the store kept with tantivy in
//! `<data_dir>/search/`; the store stays the source of truth. Depends on the domain, the
//! store's types and tantivy; does file I/O; no async (the engine calls it from
//! `spawn_blocking`).
//!
//! # Query language
//!
//! | you type | finds |
//! | --- | --- |
//! | `pgbouncer timeout` | documents with every word (in any field), best first (BM25; a title match counts three times a details match) |
//! | `"connection refused"` | the words side by side, in that order; `db-1` is the phrase `db 1` too |
//! | `-staging`, `-"dry run"`, `-service:batch` | excludes what the word, phrase or filter matches |
//! | `service:payments` (`svc:`) | incidents of that service, and messages in them |
//! | `severity:critical` (`sev:crit`), `sev:>=error`, `sev:<warning` | by severity; `>=error` is error and worse |
//! | `status:open` (`triggered`, `acknowledged`/`ack`, `resolved`/`closed`) | by the incident's status now |
//! | `integration:prometheus` | by the integration that opened the incident |
//! | `label:env=prod` | incidents with that label (theirs or one of their alerts'), and their messages |
//! | `author:alice` | messages written by alice (incidents have no author) |
//! | `after:2026-01-01`, `before:2026-03-01T12:00:00Z` | opened (incident) or written (message) at or after / strictly before; a date is midnight UTC |
//! | `kind:incident`, `kind:message` (`note`) | one kind of hit only |
//! | `incident:42` (`id:`) | that incident and its messages |
//!
//! Words are split on anything but letters and digits, lowercased, accent-folded and stemmed
//! (`restarted` finds `restart`). Filter values are exact but case-insensitive; several values
//! of one filter match any (`sev:crit,err`), separate filters must all hold. A query of filters
//! only lists newest first. A `name:` that is not a filter is text (`host:db-1` finds `host db
//! 1`) unless it is a likely typo of one, which is refused with a suggestion; quote it to
//! search for it as text. Mistakes are explained with their column: `unclosed quote starting
//! at column 7`, `unknown filter "servce:"; did you mean "service:"?`, `after: expects a date
//! like 2026-01-31 …, found "yesterday"`. A query has at most 1,000 characters and 32 parts;
//! an answer at most 1,000 hits (`limit`), and paging (`offset`) reaches 10,000 deep.
//!
//! # What the index holds
//!
//! One document per incident (title; service, integration, labels, alert titles and details
//! as body; its resolving notes; status, severity; a JSON record of it all) and one per note
//! (`TimelineKind::Note`: its text, author and time). Filters about the incident (service,
//! severity, status, integration, label) apply to a message through its incident as it is
//! now: each message document carries those terms, and when they change (an acknowledgement,
//! a resolution) the incident's messages are rewritten at the next commit. That keeps every
//! filter a posting list, which is what keeps searches fast at a million messages.
//!
//! # Feeding it: the contract with the engine
//!
//! - After each durable commit, for each [`StoredChange`](crate::store::StoredChange) in it,
//!   call [`SearchIndex::index_change`] with the incident after the change, the entries the
//!   change wrote and the alerts it brought (exactly the change's fields), from a background
//!   task, never on the ingest path. Then call [`SearchIndex::commit`] when the queue is
//!   drained, at most about once a second (each commit makes a segment; searches see changes
//!   only after it). `uncommitted()` says how many changes wait.
//! - At start, before or alongside the live feed, call [`SearchIndex::catch_up`] with the
//!   store, in `spawn_blocking`. The watermark is per incident: each incident document
//!   records the `(timeline_len, updated_at)` it reflects, committed atomically with it.
//!   Catch-up lists every stored incident and re-indexes, from its whole timeline and alerts,
//!   each one the index lacks or holds at an older version; so whatever the index lost (a
//!   crash before its commit, a deleted or rebuilt index) comes back. It may be run again at
//!   any time, e.g. when the feed's queue overflowed and changes were dropped rather than
//!   slowing the engine. It costs a scan of every stored incident (about 0.5 s per 10,000
//!   when nothing is missing) plus 0.4–0.6 ms per incident it re-indexes.
//! - Order does not matter and repeats are harmless: messages are keyed by (incident, seq),
//!   alerts by key, and an incident state older than the one held never replaces it. So the
//!   live feed and catch-up may run at the same time.
//! - An index written by another layout version (see `SCHEMA_VERSION`) or found unreadable is
//!   emptied at open and so rebuilt by catch-up.

mod hits;
mod query;
mod record;
mod schema;
#[cfg(test)]
mod tests;

pub use hits::{human_duration, mark, Highlight, MessageHit, SearchHit, SimilarHit, Snippet};
pub use query::{
    Clause, Filter, HitKind, Matcher, QueryError, SearchQuery, DEFAULT_LIMIT, MAX_CLAUSES,
    MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS,
};
pub use record::{resolving_notes, NoteText};
pub use schema::SCHEMA_VERSION;

use crate::domain::{Incident, IncidentId, TimelineEntry, TimelineKind};
use crate::store::{AlertRecord, ListFilter, Store, StoreError};
use chrono::{DateTime, Utc};
use record::{author, label_term, truncate, IncidentRecord};
use schema::Fields;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tantivy::collector::{Collector, DocSetCollector, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::directory::{Directory, MmapDirectory, INDEX_WRITER_LOCK};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Score, Searcher,
    SegmentOrdinal, SegmentReader, TantivyDocument, Term,
};

/// The writer's indexing memory: tantivy's minimum is 15 MB; more makes fewer, larger segments
/// during a catch-up, at the cost of resident memory in the engine.
const WRITER_MEMORY_BYTES: usize = 32_000_000;
/// A catch-up commits this often, to bound what a crash in the middle costs and what it holds.
const CATCH_UP_COMMIT_EVERY: usize = 5_000;
/// How many stored incidents a catch-up lists at a time.
const CATCH_UP_PAGE: usize = 1_000;
/// Snippets of details and messages: about two lines of a terminal.
const SNIPPET_CHARS: usize = 160;
/// Relative weight of a match in the title over one in the body, resolution or a message.
const TITLE_BOOST: Score = 3.0;
/// A message longer than this is indexed and stored cut: a pasted log is not a note.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query text is wrong; the message says how (a 400 for the API).
    #[error("{0}")]
    Query(#[from] QueryError),
    /// The index failed (disk, corruption, a lock held by another process).
    #[error("search index: {0}")]
    Index(String),
    #[error("search catch-up: {0}")]
    Store(#[from] StoreError),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(error: tantivy::TantivyError) -> Self {
        SearchError::Index(error.to_string())
    }
}

impl From<std::io::Error> for SearchError {
    fn from(error: std::io::Error) -> Self {
        SearchError::Index(error.to_string())
    }
}

/// The version of an incident an index document reflects: the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndexedVersion {
    pub timeline_len: u32,
    pub updated_at: DateTime<Utc>,
}

impl IndexedVersion {
    /// Whether the stored `incident` is newer than this, and so must be indexed again.
    pub fn is_behind(&self, incident: &Incident) -> bool {
        (incident.timeline_len, incident.updated_at) > (self.timeline_len, self.updated_at)
    }
}

/// What a catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CatchUp {
    /// Incidents listed from the store.
    pub scanned: usize,
    /// Of those, the ones (re-)indexed because the index lacked them or held an older version.
    pub indexed: usize,
}

/// The search index: feed it with `index_change` + `commit`, query it with `search` and
/// `similar`. Shareable (`Arc`): searches never wait for the writer.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    writing: Mutex<Writing>,
    location: Option<PathBuf>,
}

struct Writing {
    writer: IndexWriter,
    /// Incident records changed since the last commit, written at the next one: a burst of
    /// changes to one incident becomes one document, and a change can merge into the state of
    /// one not yet committed.
    pending: HashMap<IncidentId, Pending>,
    /// Changes given since the last commit.
    changes: usize,
}

/// One incident's changes waiting for the next commit.
struct Pending {
    record: IncidentRecord,
    /// What the committed index holds of this incident, if anything: its documents are
    /// replaced rather than added to.
    committed: Option<Committed>,
    /// Notes given since the last commit, by seq.
    messages: BTreeMap<u32, NoteText>,
}

struct Committed {
    attributes: Attributes,
    /// The committed record's `timeline_len`: a note below it has a committed document.
    timeline_len: u32,
}

/// What a filter about the incident matches, copied onto each of its messages so that such a
/// filter is a posting list for both kinds. When it changes (an acknowledgement, a
/// resolution), the incident's messages are rewritten at the next commit.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Attributes {
    service: Option<String>,
    severity: &'static str,
    status: &'static str,
    integration: String,
    labels: Vec<String>,
}

impl Attributes {
    fn of(record: &IncidentRecord) -> Attributes {
        Attributes {
            service: record
                .service
                .as_ref()
                .map(|service| service.to_lowercase()),
            severity: record.severity.as_str(),
            status: record.status.as_str(),
            integration: record.integration.to_lowercase(),
            labels: record.label_terms(),
        }
    }

    fn add_to(&self, fields: &Fields, document: &mut TantivyDocument) {
        if let Some(service) = &self.service {
            document.add_text(fields.service, service);
        }
        document.add_text(fields.severity, self.severity);
        document.add_text(fields.status, self.status);
        document.add_text(fields.integration, &self.integration);
        for label in &self.labels {
            document.add_text(fields.label, label);
        }
    }
}

impl SearchIndex {
    /// Opens the index in `dir` (made if missing). An index of another layout version or one
    /// that cannot be read is emptied, to be rebuilt by [`catch_up`](Self::catch_up).
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, _) = schema::build();
        let directory = MmapDirectory::open(dir).map_err(|error| {
            SearchError::Index(format!("cannot open {}: {error}", dir.display()))
        })?;
        let existing = match Index::exists(&directory) {
            Ok(false) => None,
            Ok(true) => match Index::open(directory.clone()) {
                Ok(index)
                    if index.schema() == schema
                        && payload_version(&index) == Some(SCHEMA_VERSION) =>
                {
                    Some(index)
                }
                Ok(_) => {
                    tracing::warn!(dir = %dir.display(), "search index has another layout version; rebuilding it");
                    None
                }
                Err(error) => {
                    tracing::warn!(dir = %dir.display(), %error, "search index unreadable; rebuilding it");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(dir = %dir.display(), %error, "search index unreadable; rebuilding it");
                None
            }
        };
        let index = match existing {
            Some(index) => index,
            None => {
                // Another process's index is never emptied: the writer's lock says it is ours.
                let lock = directory
                    .acquire_lock(&INDEX_WRITER_LOCK)
                    .map_err(|_| in_use(Some(dir)))?;
                empty_directory(dir)?;
                drop(lock);
                let directory = MmapDirectory::open(dir).map_err(|error| {
                    SearchError::Index(format!("cannot open {}: {error}", dir.display()))
                })?;
                Index::create(directory, schema, Default::default())?
            }
        };
        SearchIndex::with_index(index, Some(dir.to_path_buf()))
    }

    /// An index in memory, for tests and for an engine without a data directory.
    pub fn in_memory() -> Result<SearchIndex, SearchError> {
        let (schema, _) = schema::build();
        SearchIndex::with_index(Index::create_in_ram(schema), None)
    }

    fn with_index(index: Index, location: Option<PathBuf>) -> Result<SearchIndex, SearchError> {
        let (_, fields) = schema::build();
        index
            .tokenizers()
            .register(schema::ANALYZER, schema::analyzer());
        // One indexing thread: the machine's cores belong to ingest first.
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .map_err(|error| match error {
                tantivy::TantivyError::LockFailure(..) => in_use(location.as_deref()),
                other => other.into(),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let search = SearchIndex {
            index,
            reader,
            fields,
            writing: Mutex::new(Writing {
                writer,
                pending: HashMap::new(),
                changes: 0,
            }),
            location,
        };
        if payload_version(&search.index) != Some(SCHEMA_VERSION) {
            // A new index: commit once so that its version is on disk from the start.
            search.commit_now(&mut search.writing())?;
        }
        Ok(search)
    }

    /// Where the index lives; `None` in memory.
    pub fn location(&self) -> Option<&Path> {
        self.location.as_deref()
    }

    fn writing(&self) -> MutexGuard<'_, Writing> {
        // A panic while indexing leaves nothing half-done that matters here: at worst some
        // documents wait for the next commit, and catch-up repairs anything lost.
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Indexes one stored change: `incident` as it is after the change, the timeline
    /// `entries` it wrote and the `alerts` it brought. Notes become message documents now;
    /// the incident document is rewritten at the next [`commit`](Self::commit). Giving a whole
    /// timeline and every alert (as catch-up does) is the same as giving them change by change.
    pub fn index_change(
        &self,
        incident: &Incident,
        entries: &[TimelineEntry],
        alerts: &[AlertRecord],
    ) -> Result<(), SearchError> {
        let mut writing = self.writing();
        let mut pending = match writing.pending.remove(&incident.id) {
            Some(pending) => pending,
            None => {
                let committed = self.committed_record(&self.reader.searcher(), incident.id)?;
                Pending {
                    committed: committed.as_ref().map(|record| Committed {
                        attributes: Attributes::of(record),
                        timeline_len: record.timeline_len,
                    }),
                    record: committed.unwrap_or_else(|| IncidentRecord::new(incident)),
                    messages: BTreeMap::new(),
                }
            }
        };
        for entry in entries {
            if let TimelineKind::Note { text } = &entry.kind {
                let message = NoteText {
                    seq: entry.seq,
                    author: author(&entry.actor),
                    at: entry.at,
                    text: truncate(text, MAX_MESSAGE_BYTES).to_string(),
                };
                pending.messages.insert(entry.seq, message);
            }
        }
        pending.record.merge(incident, entries, alerts);
        writing.pending.insert(incident.id, pending);
        writing.changes += 1;
        Ok(())
    }

    /// Changes given since the last commit.
    pub fn uncommitted(&self) -> usize {
        self.writing().changes
    }

    /// Makes every change given so far durable and visible to searches.
    pub fn commit(&self) -> Result<(), SearchError> {
        let mut writing = self.writing();
        if writing.changes == 0 && writing.pending.is_empty() {
            return Ok(());
        }
        self.commit_now(&mut writing)
    }

    fn commit_now(&self, writing: &mut Writing) -> Result<(), SearchError> {
        let searcher = self.reader.searcher();
        let pending: Vec<Pending> = writing
            .pending
            .drain()
            .map(|(_, pending)| pending)
            .collect();
        for Pending {
            record,
            committed,
            mut messages,
        } in pending
        {
            let attributes = Attributes::of(&record);
            match committed {
                Some(committed) if committed.attributes != attributes => {
                    // Filters about the incident see it as it is now: its committed messages
                    // are read back and written again with the new attributes, all of the
                    // incident's documents replaced at once.
                    for message in self.committed_messages(&searcher, record.id)? {
                        messages.entry(message.seq).or_insert(message);
                    }
                    writing
                        .writer
                        .delete_term(Term::from_field_u64(self.fields.incident, record.id));
                }
                Some(committed) => {
                    writing
                        .writer
                        .delete_term(self.key(&incident_key(record.id)));
                    // A note was indexed before only if a change at or after it was, and so
                    // only a note below the committed length can have a document to replace.
                    for seq in messages.keys().filter(|seq| **seq < committed.timeline_len) {
                        writing
                            .writer
                            .delete_term(self.key(&message_key(record.id, *seq)));
                    }
                }
                None => {}
            }
            writing
                .writer
                .add_document(self.incident_document(&record, &attributes)?)?;
            for message in messages.values() {
                writing.writer.add_document(self.message_document(
                    record.id,
                    message,
                    &attributes,
                ))?;
            }
        }
        writing.changes = 0;
        let payload = serde_json::json!({ "schema": SCHEMA_VERSION }).to_string();
        let mut prepared = writing.writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The version of incident `id` the committed index reflects; `None` if it has none.
    pub fn indexed_version(&self, id: IncidentId) -> Result<Option<IndexedVersion>, SearchError> {
        Ok(self
            .committed_record(&self.reader.searcher(), id)?
            .map(|record| IndexedVersion {
                timeline_len: record.timeline_len,
                updated_at: record.updated_at,
            }))
    }

    /// Every committed incident's version, read from the fast fields in one pass.
    pub fn indexed_versions(&self) -> Result<HashMap<IncidentId, IndexedVersion>, SearchError> {
        let searcher = self.reader.searcher();
        let found = searcher.search(&self.kind_query(HitKind::Incident), &VersionsCollector)?;
        Ok(found
            .into_iter()
            .map(|(id, timeline_len, updated)| {
                let updated_at = DateTime::from_timestamp_micros(updated).unwrap_or_default();
                let timeline_len = u32::try_from(timeline_len).unwrap_or(u32::MAX);
                (
                    id,
                    IndexedVersion {
                        timeline_len,
                        updated_at,
                    },
                )
            })
            .collect())
    }

    /// Brings the index up to date with the store: every incident it lacks or holds at an
    /// older version is indexed again from its whole timeline and alerts. Commits as it goes.
    pub fn catch_up<S: Store + ?Sized>(&self, store: &S) -> Result<CatchUp, SearchError> {
        let versions = self.indexed_versions()?;
        let mut report = CatchUp::default();
        let mut before = None;
        loop {
            let page = store.list(&ListFilter::default(), before, CATCH_UP_PAGE)?;
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            for incident in &page {
                report.scanned += 1;
                let current = versions
                    .get(&incident.id)
                    .is_some_and(|version| !version.is_behind(incident));
                if current {
                    continue;
                }
                let timeline = store.timeline(incident.id)?;
                let alerts = store.alerts(incident.id)?;
                self.index_change(incident, &timeline, &alerts)?;
                report.indexed += 1;
                if report.indexed % CATCH_UP_COMMIT_EVERY == 0 {
                    self.commit()?;
                }
            }
        }
        self.commit()?;
        Ok(report)
    }

    /// Runs a query: the best hits (or the newest, for filters only), at most `query.limit`.
    pub fn search(&self, query: &SearchQuery) -> Result<Vec<SearchHit>, SearchError> {
        if query.limit == 0 || query.offset > MAX_OFFSET {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for clause in &query.clauses {
            let occur = if clause.negated {
                Occur::MustNot
            } else {
                Occur::Must
            };
            match &clause.matcher {
                Matcher::Text { terms, .. } => clauses.push((occur, self.text_query(terms))),
                Matcher::Filter(filter) => {
                    // Filters narrow; they must not change the ranking.
                    let unscored = ConstScoreQuery::new(self.filter_query(filter), 0.0);
                    clauses.push((occur, Box::new(unscored)))
                }
            }
        }
        if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        let tantivy_query = BooleanQuery::new(clauses);
        let ranked = query.is_ranked();
        let found = self.top_documents(&searcher, &tantivy_query, ranked, query)?;
        self.hits(&searcher, &tantivy_query, ranked, found)
    }

    fn top_documents(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        ranked: bool,
        page: &SearchQuery,
    ) -> Result<Vec<(Score, DocAddress)>, SearchError> {
        let top = TopDocs::with_limit(page.limit).and_offset(page.offset);
        if ranked {
            return Ok(searcher.search(query, &top.order_by_score())?);
        }
        let newest = searcher.search(
            query,
            &top.order_by_fast_field::<tantivy::DateTime>("at", Order::Desc),
        )?;
        Ok(newest
            .into_iter()
            .map(|(_, address)| (0.0, address))
            .collect())
    }

    fn hits(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        ranked: bool,
        found: Vec<(Score, DocAddress)>,
    ) -> Result<Vec<SearchHit>, SearchError> {
        let generator = |field| -> Result<Option<SnippetGenerator>, SearchError> {
            if !ranked {
                return Ok(None);
            }
            let mut generator = SnippetGenerator::create(searcher, query, field)?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            Ok(Some(generator))
        };
        let title = generator(self.fields.title)?.map(|mut generator| {
            // The whole title is shown, so its highlights must cover all of it.
            generator.set_max_num_chars(usize::MAX / 2);
            generator
        });
        let body = generator(self.fields.body)?;
        let resolution = generator(self.fields.resolution)?;
        let text = generator(self.fields.text)?;
        let mut records: HashMap<IncidentId, Option<IncidentRecord>> = HashMap::new();
        let mut hits = Vec::with_capacity(found.len());
        for (score, address) in found {
            let document: TantivyDocument = searcher.doc(address)?;
            let Some(id) = first_u64(&document, self.fields.incident) else {
                continue;
            };
            let is_message =
                first_str(&document, self.fields.kind) == Some(HitKind::Message.as_str());
            let (record, message, snippet) = if is_message {
                let record = match records.entry(id) {
                    std::collections::hash_map::Entry::Occupied(known) => known.get().clone(),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(self.committed_record(searcher, id)?).clone()
                    }
                };
                // A message whose incident document is missing cannot be shown as a hit; it
                // cannot happen when both come from one change, and catch-up repairs it.
                let Some(record) = record else {
                    continue;
                };
                let body = first_str(&document, self.fields.text).unwrap_or_default();
                let message = MessageHit {
                    seq: first_u64(&document, self.fields.seq).unwrap_or_default() as u32,
                    author: first_str(&document, self.fields.author_name)
                        .unwrap_or_default()
                        .to_string(),
                    at: first_date(&document, self.fields.at).unwrap_or(record.created_at),
                };
                let snippet = snippet(text.as_ref(), body).or_else(|| {
                    Some(Snippet {
                        text: truncate(body, SNIPPET_CHARS).to_string(),
                        highlights: Vec::new(),
                    })
                });
                (record, Some(message), snippet)
            } else {
                let Some(record) = parse_record(&document, self.fields.record) else {
                    continue;
                };
                let snippet = snippet(body.as_ref(), &record.body())
                    .or_else(|| snippet(resolution.as_ref(), &resolution_text(&record)));
                (record, None, snippet)
            };
            let title_highlights = title
                .as_ref()
                .map(|generator| {
                    let found = generator.snippet(&record.title);
                    let start = found.fragment_range().start;
                    found
                        .highlighted()
                        .iter()
                        .map(|range| Highlight {
                            start: start + range.start,
                            end: start + range.end,
                        })
                        .collect()
                })
                .unwrap_or_default();
            hits.push(SearchHit {
                kind: if is_message {
                    HitKind::Message
                } else {
                    HitKind::Incident
                },
                incident: id,
                title: record.title,
                service: record.service,
                severity: record.severity,
                status: record.status,
                created_at: record.created_at,
                resolved_at: record.resolved_at,
                score,
                title_highlights,
                message,
                snippet,
            });
        }
        Ok(hits)
    }

    /// Past resolved incidents like `incident`, most alike first: they share words of its
    /// title, and its service or labels or more title words. Each says how long it took, who
    /// resolved it and the notes that tell how.
    pub fn similar(
        &self,
        incident: &Incident,
        limit: usize,
    ) -> Result<Vec<SimilarHit>, SearchError> {
        let limit = limit.min(MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let fields = self.fields;
        let words = telling_words(&incident.title);
        let service = incident
            .service
            .as_ref()
            .map(|service| service.to_lowercase());
        let labels: Vec<String> = incident
            .labels
            .iter()
            .map(|(name, value)| label_term(name, value))
            .collect();
        let term = |field, word: &str, boost| -> Box<dyn Query> {
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(
                    Term::from_field_text(field, word),
                    IndexRecordOption::WithFreqs,
                )),
                boost,
            ))
        };
        let filter = |query: Box<dyn Query>| -> Box<dyn Query> {
            Box::new(ConstScoreQuery::new(query, 0.0))
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, filter(self.kind_query(HitKind::Incident))),
            (Occur::Must, filter(self.exact(fields.status, "resolved"))),
            (
                Occur::MustNot,
                Box::new(TermQuery::new(
                    Term::from_field_u64(fields.incident, incident.id),
                    IndexRecordOption::Basic,
                )),
            ),
        ];
        // The candidates: a title word in common (same service and labels alone is "the same
        // place", not "the same problem"); without telling words, the same service. Service
        // and labels then only rank, probed for the candidates alone: their posting lists
        // span every message too and are long.
        if !words.is_empty() {
            let any_word = words
                .iter()
                .map(|word| term(fields.title, word, 2.0))
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::union(any_word))));
            // The words in the details (symptoms) rank, like service and labels.
            for word in &words {
                clauses.push((Occur::Should, term(fields.body, word, 0.5)));
            }
        } else if let Some(service) = &service {
            clauses.push((Occur::Must, self.exact(fields.service, service)));
        } else if !labels.is_empty() {
            let any_label = labels
                .iter()
                .map(|label| self.exact(fields.label, label))
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::union(any_label))));
        } else {
            return Ok(Vec::new());
        }
        if let Some(service) = &service {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(self.exact(fields.service, service), 1.5)),
            ));
        }
        for label in &labels {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(self.exact(fields.label, label), 0.5)),
            ));
        }
        let signals =
            words.len() + usize::from(service.is_some()) + usize::from(!labels.is_empty());
        let required = signals.min(2);
        let searcher = self.reader.searcher();
        // Candidates that share a single signal are skipped below; a few more than asked for
        // are ranked so that skipping them still leaves enough.
        let candidates = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit((limit * 4).max(20)).order_by_score(),
        )?;
        let mut similar = Vec::with_capacity(limit);
        for (score, address) in candidates {
            let document: TantivyDocument = searcher.doc(address)?;
            let Some(record) = parse_record(&document, fields.record) else {
                continue;
            };
            let Some(resolved_at) = record.resolved_at else {
                continue;
            };
            // Two signals must agree (or all there are, if fewer), so that one common word
            // alone does not make incidents alike.
            let shared_words = telling_words(&record.title)
                .iter()
                .filter(|word| words.contains(word))
                .count();
            let same_service = service.is_some()
                && record.service.as_ref().map(|other| other.to_lowercase()) == service;
            let record_labels = record.label_terms();
            let shared_label = labels.iter().any(|label| record_labels.contains(label));
            if shared_words + usize::from(same_service) + usize::from(shared_label) < required {
                continue;
            }
            similar.push(SimilarHit {
                incident: record.id,
                resolved_in_seconds: (resolved_at - record.created_at).num_seconds(),
                resolving_notes: record.resolving_notes(),
                title: record.title,
                service: record.service,
                severity: record.severity,
                created_at: record.created_at,
                resolved_at,
                resolved_by: record.resolved_by,
                score,
            });
            if similar.len() == limit {
                break;
            }
        }
        Ok(similar)
    }

    fn key(&self, key: &str) -> Term {
        Term::from_field_text(self.fields.key, key)
    }

    fn exact(&self, field: tantivy::schema::Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    }

    fn kind_query(&self, kind: HitKind) -> Box<dyn Query> {
        self.exact(self.fields.kind, kind.as_str())
    }

    /// A word (one term) or a phrase (several) in any ranked field, the title weighing most.
    fn text_query(&self, terms: &[String]) -> Box<dyn Query> {
        let fields = self.fields;
        let per_field = [
            (fields.title, TITLE_BOOST),
            (fields.body, 1.0),
            (fields.resolution, 1.0),
            (fields.text, 1.0),
        ]
        .into_iter()
        .map(|(field, boost)| -> Box<dyn Query> {
            let matcher: Box<dyn Query> = match terms {
                [term] => Box::new(TermQuery::new(
                    Term::from_field_text(field, term),
                    IndexRecordOption::WithFreqs,
                )),
                _ => Box::new(PhraseQuery::new(
                    terms
                        .iter()
                        .map(|term| Term::from_field_text(field, term))
                        .collect(),
                )),
            };
            if boost == 1.0 {
                matcher
            } else {
                Box::new(BoostQuery::new(matcher, boost))
            }
        })
        .collect();
        Box::new(BooleanQuery::union(per_field))
    }

    fn filter_query(&self, filter: &Filter) -> Box<dyn Query> {
        let fields = self.fields;
        let any = |field, values: Vec<String>| -> Box<dyn Query> {
            Box::new(BooleanQuery::union(
                values
                    .iter()
                    .map(|value| self.exact(field, value))
                    .collect(),
            ))
        };
        match filter {
            Filter::Service(names) => any(fields.service, names.clone()),
            Filter::Integration(names) => any(fields.integration, names.clone()),
            Filter::Author(names) => any(fields.author, names.clone()),
            Filter::Severity(levels) => any(
                fields.severity,
                levels
                    .iter()
                    .map(|level| level.as_str().to_string())
                    .collect(),
            ),
            Filter::Status(statuses) => any(
                fields.status,
                statuses
                    .iter()
                    .map(|status| status.as_str().to_string())
                    .collect(),
            ),
            Filter::Label(pairs) => any(
                fields.label,
                pairs
                    .iter()
                    .map(|(name, value)| label_term(name, value))
                    .collect(),
            ),
            Filter::Kind(kind) => self.kind_query(*kind),
            Filter::Incident(ids) => Box::new(BooleanQuery::union(
                ids.iter()
                    .map(|id| -> Box<dyn Query> {
                        Box::new(TermQuery::new(
                            Term::from_field_u64(fields.incident, *id),
                            IndexRecordOption::Basic,
                        ))
                    })
                    .collect(),
            )),
            Filter::After(at) => Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_date(fields.at, tantivy_time(*at))),
                Bound::Unbounded,
            )),
            Filter::Before(at) => Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Excluded(Term::from_field_date(fields.at, tantivy_time(*at))),
            )),
        }
    }

    /// The committed record of incident `id`, if the index has it.
    fn committed_record(
        &self,
        searcher: &Searcher,
        id: IncidentId,
    ) -> Result<Option<IncidentRecord>, SearchError> {
        let query = TermQuery::new(self.key(&incident_key(id)), IndexRecordOption::Basic);
        let found = searcher.search(&query, &DocSetCollector)?;
        let Some(address) = found.into_iter().next() else {
            return Ok(None);
        };
        let document: TantivyDocument = searcher.doc(address)?;
        Ok(parse_record(&document, self.fields.record))
    }

    /// The committed messages of incident `id`, as stored.
    fn committed_messages(
        &self,
        searcher: &Searcher,
        id: IncidentId,
    ) -> Result<Vec<NoteText>, SearchError> {
        let query = BooleanQuery::intersection(vec![
            Box::new(TermQuery::new(
                Term::from_field_u64(self.fields.incident, id),
                IndexRecordOption::Basic,
            )),
            self.kind_query(HitKind::Message),
        ]);
        let mut messages = Vec::new();
        for address in searcher.search(&query, &DocSetCollector)? {
            let document: TantivyDocument = searcher.doc(address)?;
            let (Some(seq), Some(at)) = (
                first_u64(&document, self.fields.seq),
                first_date(&document, self.fields.at),
            ) else {
                continue;
            };
            messages.push(NoteText {
                seq: u32::try_from(seq).unwrap_or(u32::MAX),
                author: first_str(&document, self.fields.author_name)
                    .unwrap_or_default()
                    .to_string(),
                at,
                text: first_str(&document, self.fields.text)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(messages)
    }

    fn incident_document(
        &self,
        record: &IncidentRecord,
        attributes: &Attributes,
    ) -> Result<TantivyDocument, SearchError> {
        let fields = self.fields;
        let mut document = TantivyDocument::default();
        document.add_text(fields.key, incident_key(record.id));
        document.add_text(fields.kind, HitKind::Incident.as_str());
        document.add_u64(fields.incident, record.id);
        document.add_date(fields.at, tantivy_time(record.created_at));
        document.add_text(fields.title, &record.title);
        document.add_text(fields.body, record.body());
        let resolution = resolution_text(record);
        if !resolution.is_empty() {
            document.add_text(fields.resolution, resolution);
        }
        attributes.add_to(&fields, &mut document);
        let json = serde_json::to_string(record).map_err(|error| {
            SearchError::Index(format!("cannot encode incident record: {error}"))
        })?;
        document.add_text(fields.record, json);
        document.add_u64(fields.timeline_len, u64::from(record.timeline_len));
        document.add_i64(fields.updated, record.updated_at.timestamp_micros());
        Ok(document)
    }

    fn message_document(
        &self,
        id: IncidentId,
        message: &NoteText,
        attributes: &Attributes,
    ) -> TantivyDocument {
        let fields = self.fields;
        let mut document = TantivyDocument::default();
        document.add_text(fields.key, message_key(id, message.seq));
        document.add_text(fields.kind, HitKind::Message.as_str());
        document.add_u64(fields.incident, id);
        document.add_u64(fields.seq, u64::from(message.seq));
        document.add_date(fields.at, tantivy_time(message.at));
        document.add_text(fields.text, &message.text);
        document.add_text(fields.author, message.author.to_lowercase());
        document.add_text(fields.author_name, &message.author);
        attributes.add_to(&fields, &mut document);
        document
    }
}

fn incident_key(id: IncidentId) -> String {
    format!("i:{id}")
}

fn message_key(id: IncidentId, seq: u32) -> String {
    format!("m:{id}:{seq}")
}

fn resolution_text(record: &IncidentRecord) -> String {
    record
        .resolving_notes()
        .iter()
        .map(|note| note.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A snippet of `text` around the query's words, if any is in it.
fn snippet(generator: Option<&SnippetGenerator>, text: &str) -> Option<Snippet> {
    let found = generator?.snippet(text);
    if found.highlighted().is_empty() {
        return None;
    }
    Some(Snippet {
        text: found.fragment().to_string(),
        highlights: found
            .highlighted()
            .iter()
            .map(|range| Highlight {
                start: range.start,
                end: range.end,
            })
            .collect(),
    })
}

/// The distinct telling words of a title, analyzed as the index analyzes it.
fn telling_words(title: &str) -> Vec<String> {
    let mut words: Vec<String> = schema::analyze(title)
        .into_iter()
        .filter(|word| is_telling(word))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Words of a title that say something about the problem: not glue words, not bare numbers
/// (`1` in `db-1` is a host's number, not a symptom).
fn is_telling(word: &str) -> bool {
    const GLUE: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is",
        "it", "no", "not", "of", "on", "or", "the", "to", "was", "with", "alert", "fire", "firing",
        "resolv", "warn", "warning", "error", "critic", "crit", "info",
    ];
    word.chars().count() > 1 && !word.chars().all(|c| c.is_ascii_digit()) && !GLUE.contains(&word)
}

fn in_use(location: Option<&Path>) -> SearchError {
    SearchError::Index(format!(
        "the search index{} is in use by another process",
        location
            .map(|path| format!(" in {}", path.display()))
            .unwrap_or_default()
    ))
}

fn payload_version(index: &Index) -> Option<u32> {
    let payload = index.load_metas().ok()?.payload?;
    let value: serde_json::Value = serde_json::from_str(&payload).ok()?;
    u32::try_from(value.get("schema")?.as_u64()?).ok()
}

/// Removes the files of an index that is to be rebuilt. Only plain files: the directory is
/// the index's own (`<data_dir>/search`), and nothing else of klaxon's lives in it. The lock
/// files stay: removing one that is held would let a second process take a new one.
fn empty_directory(dir: &Path) -> Result<(), SearchError> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let is_lock = entry.file_name().to_string_lossy().ends_with(".lock");
        if entry.file_type()?.is_file() && !is_lock {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// tantivy keeps nanoseconds in an i64 (years 1678 to 2261); a time outside is clamped, which
/// keeps its meaning for a filter (nothing was written then) and cannot overflow.
fn tantivy_time(at: DateTime<Utc>) -> tantivy::DateTime {
    let nanoseconds = i128::from(at.timestamp_micros()) * 1_000;
    let clamped = nanoseconds.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    tantivy::DateTime::from_timestamp_nanos(clamped as i64)
}

fn first_str(document: &TantivyDocument, field: tantivy::schema::Field) -> Option<&str> {
    document.get_first(field).and_then(|value| value.as_str())
}

fn first_u64(document: &TantivyDocument, field: tantivy::schema::Field) -> Option<u64> {
    document.get_first(field).and_then(|value| value.as_u64())
}

fn first_date(document: &TantivyDocument, field: tantivy::schema::Field) -> Option<DateTime<Utc>> {
    let at = document.get_first(field)?.as_datetime()?;
    DateTime::from_timestamp_micros(at.into_timestamp_micros())
}

fn parse_record(
    document: &TantivyDocument,
    field: tantivy::schema::Field,
) -> Option<IncidentRecord> {
    let json = first_str(document, field)?;
    match serde_json::from_str(json) {
        Ok(record) => Some(record),
        Err(error) => {
            tracing::warn!(%error, "unreadable incident record in the search index; skipped");
            None
        }
    }
}

/// Collects (incident id, timeline_len, updated) of every matching incident document.
struct VersionsCollector;

struct SegmentVersions {
    incident: Column<u64>,
    timeline_len: Column<u64>,
    updated: Column<i64>,
    found: Vec<(u64, u64, i64)>,
}

impl Collector for VersionsCollector {
    type Fruit = Vec<(u64, u64, i64)>;
    type Child = SegmentVersions;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentVersions> {
        let fast = reader.fast_fields();
        Ok(SegmentVersions {
            incident: fast.u64("incident")?,
            timeline_len: fast.u64("timeline_len")?,
            updated: fast.i64("updated")?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentVersions {
    type Fruit = Vec<(u64, u64, i64)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let (Some(id), Some(timeline_len), Some(updated)) = (
            self.incident.first(doc),
            self.timeline_len.first(doc),
            self.updated.first(doc),
        ) {
            self.found.push((id, timeline_len, updated));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.found
    }
}
