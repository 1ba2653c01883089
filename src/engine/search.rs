//! Search beside the engine: an indexer task fed with every committed change (never on the
//! ingest path; the store stays the truth and the index catches up from it at start), and a
//! suggester that posts "seen before" answers for new incidents. Answers come back to the
//! engine as commands, so the timeline stays the engine's alone.

use super::{Command, Search};
use crate::domain::{Incident, IncidentId};
use crate::search::{SearchIndex, SearchQuery};
use crate::store::{Store, StoredChange};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Committed batches the indexer may have waiting; beyond, it catches up from the store.
const FEED_CAPACITY: usize = 1024;
/// How often, at most, indexed changes become searchable (one tantivy commit each).
const COMMIT_EVERY: Duration = Duration::from_secs(1);
/// Similar incidents the bot names, on its own for a new incident and for `/similar`.
const SIMILAR: usize = 3;
/// Hits `/search` shows in the channel.
const SEARCH_HITS: usize = 5;

pub(super) fn start(
    index: Arc<SearchIndex>,
    store: Arc<dyn Store>,
    answers: mpsc::UnboundedSender<Command>,
) -> Search {
    let (feed, changes) = mpsc::channel(FEED_CAPACITY);
    let (suggestions, opened) = mpsc::channel(256);
    let behind = Arc::new(AtomicBool::new(false));
    let tasks = vec![
        tokio::spawn(index_changes(index.clone(), store, changes, behind.clone())),
        tokio::spawn(suggest(index.clone(), opened, answers)),
    ];
    Search {
        index,
        feed,
        behind,
        suggestions,
        tasks,
    }
}

/// Catches up from the store, then indexes what the engine commits, committing the index
/// when the queue is drained and at most once a second.
async fn index_changes(
    index: Arc<SearchIndex>,
    store: Arc<dyn Store>,
    mut changes: mpsc::Receiver<Vec<StoredChange>>,
    behind: Arc<AtomicBool>,
) {
    catch_up(&index, &store).await;
    while let Some(first) = changes.recv().await {
        if behind.swap(false, Ordering::Relaxed) {
            // Changes were dropped while this fell behind: the store has them all.
            catch_up(&index, &store).await;
        }
        let mut batch = first;
        let deadline = tokio::time::Instant::now() + COMMIT_EVERY;
        // Gather what arrives within the second: one index commit for all of it.
        while let Ok(Some(more)) = tokio::time::timeout_at(deadline, changes.recv()).await {
            batch.extend(more);
        }
        let writing = index.clone();
        let result = tokio::task::spawn_blocking(move || {
            for change in &batch {
                writing.index_change(&change.incident, &change.entries, &change.alerts)?;
            }
            writing.commit()
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            // The store has it all: the next start's catch-up repairs the index.
            Ok(Err(error)) => tracing::error!(%error, "indexing failed"),
            Err(error) => tracing::error!(%error, "indexing stopped"),
        }
    }
}

async fn catch_up(index: &Arc<SearchIndex>, store: &Arc<dyn Store>) {
    let (index, store) = (index.clone(), store.clone());
    match tokio::task::spawn_blocking(move || index.catch_up(store.as_ref())).await {
        Ok(Ok(done)) => tracing::info!(?done, "search index caught up with the store"),
        Ok(Err(error)) => tracing::error!(%error, "search catch-up failed"),
        Err(error) => tracing::error!(%error, "search catch-up stopped"),
    }
}

/// Posts the most similar resolved incidents into a new incident's channel.
async fn suggest(
    index: Arc<SearchIndex>,
    mut opened: mpsc::Receiver<Incident>,
    answers: mpsc::UnboundedSender<Command>,
) {
    while let Some(incident) = opened.recv().await {
        let searching = index.clone();
        let found = tokio::task::spawn_blocking(move || {
            let hits = searching.similar(&incident, SIMILAR);
            (incident.id, hits)
        })
        .await;
        let Ok((id, Ok(hits))) = found else { continue };
        if hits.is_empty() {
            continue;
        }
        let text = hits
            .iter()
            .map(|hit| hit.summary())
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = answers.send(Command::BotAnswer {
            incident: id,
            command: "similar".to_string(),
            text,
        });
    }
}

/// Answers `/search TEXT` or `/similar` off the engine task; the answer comes back as a
/// command to be posted.
pub(super) fn answer(
    search: &Search,
    incident: &Incident,
    question: Question,
    answers: mpsc::UnboundedSender<Command>,
) {
    let index = search.index.clone();
    let incident = incident.clone();
    tokio::spawn(async move {
        let id: IncidentId = incident.id;
        let (command, text) = match tokio::task::spawn_blocking(move || match question {
            Question::Search(text) => ("search", search_text(&index, &text)),
            Question::Similar => ("similar", similar_text(&index, &incident)),
        })
        .await
        {
            Ok(answer) => answer,
            Err(error) => ("search", format!("search failed: {error}")),
        };
        let _ = answers.send(Command::BotAnswer {
            incident: id,
            command: command.to_string(),
            text,
        });
    });
}

pub(super) enum Question {
    Search(String),
    Similar,
}

fn search_text(index: &SearchIndex, text: &str) -> String {
    let query = match SearchQuery::parse(text) {
        Ok(query) => query.with_limit(SEARCH_HITS),
        Err(error) => return format!("search: {error}"),
    };
    match index.search(&query) {
        Ok(hits) if hits.is_empty() => format!("nothing found for {text:?}"),
        Ok(hits) => {
            let lines: Vec<String> = hits
                .iter()
                .map(|hit| match (&hit.message, &hit.snippet) {
                    (Some(message), Some(snippet)) => format!(
                        "#{} {} wrote: {}",
                        hit.incident, message.author, snippet.text
                    ),
                    _ => format!("#{} {} [{}]", hit.incident, hit.title, hit.status.as_str()),
                })
                .collect();
            format!("found: {}", lines.join(" · "))
        }
        Err(error) => format!("search failed: {error}"),
    }
}

fn similar_text(index: &SearchIndex, incident: &Incident) -> String {
    match index.similar(incident, SIMILAR) {
        Ok(hits) if hits.is_empty() => "nothing like this was resolved before".to_string(),
        Ok(hits) => hits
            .iter()
            .map(|hit| hit.summary())
            .collect::<Vec<_>>()
            .join(" · "),
        Err(error) => format!("search failed: {error}"),
    }
}
