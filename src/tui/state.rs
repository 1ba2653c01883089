//! Everything the console knows and shows: incidents in sort order, the filtered rows, the
//! selection, the screen and input mode, the link state. Changed only by `update`; views
//! read it. Derived data (rows, counts) is recomputed lazily, at most once per frame, by
//! [`State::settle`]. Pure: time comes in as a value.

use super::action::Action;
use super::filter::{haystack, Facts, Query};
use super::keymap::Keymap;
use super::theme::Theme;
use crate::client::{Endpoint, Link};
use crate::domain::{IncidentId, IncidentStatus, Severity};
use crate::protocol::{IncidentDetail, IncidentView, IntegrationView, OnCallView, SilenceView};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// Rows above the queue's first incident: the tab line and the table header.
pub const QUEUE_TOP: u16 = 2;
/// Rows below it: the status bar and the hint (or prompt) line.
pub const QUEUE_BOTTOM: u16 = 2;
/// The most rows a message being written takes; longer ones scroll inside it.
pub const COMPOSER_ROWS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Open,
    Triggered,
    Acknowledged,
    Resolved,
    All,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Open,
        Tab::Triggered,
        Tab::Acknowledged,
        Tab::Resolved,
        Tab::All,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tab::Open => "open",
            Tab::Triggered => "triggered",
            Tab::Acknowledged => "acknowledged",
            Tab::Resolved => "resolved",
            Tab::All => "all",
        }
    }

    /// For narrow screens.
    pub fn short_name(self) -> &'static str {
        match self {
            Tab::Open => "open",
            Tab::Triggered => "trig",
            Tab::Acknowledged => "ack",
            Tab::Resolved => "res",
            Tab::All => "all",
        }
    }

    pub fn includes(self, status: IncidentStatus) -> bool {
        match self {
            Tab::Open => status.is_open(),
            Tab::Triggered => status == IncidentStatus::Triggered,
            Tab::Acknowledged => status == IncidentStatus::Acknowledged,
            Tab::Resolved => status == IncidentStatus::Resolved,
            Tab::All => true,
        }
    }

    pub fn from_name(name: &str) -> Option<Tab> {
        Tab::ALL
            .into_iter()
            .find(|tab| tab.name().starts_with(name) && !name.is_empty())
    }

    fn offset(self, by: isize) -> Tab {
        let index = Tab::ALL.iter().position(|tab| *tab == self).unwrap_or(0) as isize;
        Tab::ALL[(index + by).rem_euclid(Tab::ALL.len() as isize) as usize]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Worst first, then newest first: the default.
    Severity,
    Newest,
    Oldest,
    Id,
    /// Triggered, acknowledged, resolved; then by severity.
    Status,
}

/// A total order: ties end on the id, so every incident has one place.
type SortKey = (u8, i64, u64);

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Severity,
        Sort::Newest,
        Sort::Oldest,
        Sort::Id,
        Sort::Status,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Sort::Severity => "severity",
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Id => "id",
            Sort::Status => "status",
        }
    }

    pub fn from_name(name: &str) -> Option<Sort> {
        match name {
            "age" => Some(Sort::Newest),
            "sev" => Some(Sort::Severity),
            _ => Sort::ALL.into_iter().find(|sort| sort.name() == name),
        }
    }

    fn key(self, incident: &IncidentView) -> SortKey {
        self.key_of(
            incident.id,
            incident.severity,
            incident.status,
            incident.created_at.timestamp_millis(),
        )
    }

    fn key_of(
        self,
        id: IncidentId,
        severity: Severity,
        status: IncidentStatus,
        created: i64,
    ) -> SortKey {
        let newest_id = u64::MAX - id;
        match self {
            Sort::Severity => (severity as u8, -created, newest_id),
            Sort::Newest => (0, -created, newest_id),
            Sort::Oldest => (0, created, id),
            Sort::Id => (0, 0, id),
            Sort::Status => (status_rank(status), severity as i64, newest_id),
        }
    }
}

fn status_rank(status: IncidentStatus) -> u8 {
    match status {
        IncidentStatus::Triggered => 0,
        IncidentStatus::Acknowledged => 1,
        IncidentStatus::Resolved => 2,
    }
}

/// What the console keeps of each incident: what the queue shows. The whole incident
/// (labels, links, alerts, timeline) is fetched when its detail is opened, so 100,000
/// incidents cost tens of megabytes here, not hundreds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub id: IncidentId,
    pub title: Box<str>,
    pub service: Option<Box<str>>,
    pub assignee: Option<Box<str>>,
    pub created_at: DateTime<Utc>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub alert_count: u32,
    pub severity: Severity,
    pub status: IncidentStatus,
    /// Held by a silence: nobody is paged for it.
    pub silenced: bool,
}

impl From<&IncidentView> for Summary {
    fn from(incident: &IncidentView) -> Self {
        Summary {
            id: incident.id,
            title: incident.title.as_str().into(),
            service: incident.service.as_deref().map(Into::into),
            assignee: incident.assignee.as_deref().map(Into::into),
            created_at: incident.created_at,
            snoozed_until: incident.snoozed_until,
            alert_count: incident.alert_count,
            severity: incident.severity,
            status: incident.status,
            silenced: incident.escalation.silenced_by.is_some(),
        }
    }
}

/// One incident in sort order with what sorting and filtering need, stored together so a
/// pass over every incident touches one contiguous array, not 100,000 scattered views.
#[derive(Debug, Clone)]
struct Row {
    key: SortKey,
    id: IncidentId,
    severity: Severity,
    status: IncidentStatus,
    created: i64,
    snoozed_until: Option<DateTime<Utc>>,
    /// Lower case.
    service: Box<str>,
    haystack: Box<str>,
}

impl Row {
    fn new(key: SortKey, incident: &IncidentView) -> Row {
        Row {
            key,
            id: incident.id,
            severity: incident.severity,
            status: incident.status,
            created: incident.created_at.timestamp_millis(),
            snoozed_until: incident.snoozed_until,
            service: incident
                .service
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                .into(),
            haystack: haystack(incident).into(),
        }
    }

    fn facts(&self) -> Facts<'_> {
        Facts {
            severity: self.severity,
            status: self.status,
            snoozed_until: self.snoozed_until,
            service: &self.service,
            haystack: &self.haystack,
        }
    }
}

/// Incident ids are small sequential integers: hashing them with SipHash is wasted work.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // Spread sequential ids over the table's buckets.
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

type ById<T> = HashMap<IncidentId, T, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    Queue,
    Detail(Box<DetailView>),
    OnCall(Fetched<Vec<OnCallView>>),
    Silences(SilencesView),
}

/// Something the console asks the engine for, rather than being told as it changes (who is
/// on call, silences): kept with when it was fetched so it can be fetched again in time.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched<T> {
    pub value: Option<T>,
    /// The last fetch failed: why (what was fetched before stays shown).
    pub error: Option<String>,
    /// When the last answer (or failure) arrived.
    pub at: Option<DateTime<Utc>>,
    /// A fetch is under way: no second one is asked for.
    pub loading: bool,
    /// First line shown; views clamp it to the content.
    pub scroll: usize,
}

impl<T> Fetched<T> {
    pub fn loading() -> Fetched<T> {
        Fetched {
            value: None,
            error: None,
            at: None,
            loading: true,
            scroll: 0,
        }
    }

    pub fn answered(&mut self, result: Result<T, String>, now: DateTime<Utc>) {
        match result {
            Ok(value) => {
                self.value = Some(value);
                self.error = None;
            }
            Err(error) => self.error = Some(error),
        }
        self.at = Some(now);
        self.loading = false;
    }
}

/// The silences screen: the list, in the order shown, and the selected one.
#[derive(Debug, Clone, PartialEq)]
pub struct SilencesView {
    pub silences: Fetched<Vec<SilenceView>>,
    pub cursor: usize,
}

impl SilencesView {
    pub fn selected(&self) -> Option<&SilenceView> {
        self.silences.value.as_ref()?.get(self.cursor)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DetailView {
    pub id: IncidentId,
    pub detail: Option<IncidentDetail>,
    pub error: Option<String>,
    /// First line shown; views clamp it to the content.
    pub scroll: usize,
    /// Timeline entries that arrived live before the detail did, merged in when it does.
    pub early: Vec<crate::protocol::TimelineView>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help { scroll: usize },
    Input(Input),
    Confirm { action: Action, subject: Subject },
}

/// What a dangerous action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Incident(IncidentId),
    Silence(String),
}

/// A line being typed at the bottom of the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub purpose: Purpose,
    pub text: String,
    /// In characters.
    pub cursor: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// The filter before editing started, restored by Esc.
    Filter {
        before: String,
    },
    Command,
    Note(IncidentId),
    Snooze(IncidentId),
    Reassign(IncidentId),
    Silence,
}

impl Input {
    /// The rows the input takes on screen: a message shows its lines as typed, up to
    /// [`COMPOSER_ROWS`]; every other prompt is one line.
    pub fn rows(&self) -> usize {
        match self.purpose {
            Purpose::Note(_) => (self.text.matches('\n').count() + 1).min(COMPOSER_ROWS),
            _ => 1,
        }
    }

    /// The line and column (in characters) of the cursor.
    pub fn cursor_line(&self) -> (usize, usize) {
        let before: String = self.text.chars().take(self.cursor).collect();
        let line = before.matches('\n').count();
        let column = before
            .rsplit('\n')
            .next()
            .map_or(0, |last| last.chars().count());
        (line, column)
    }

    pub fn new(purpose: Purpose, text: &str) -> Input {
        Input {
            purpose,
            text: text.to_string(),
            cursor: text.chars().count(),
        }
    }

    /// What is shown before the text.
    pub fn prompt(&self) -> String {
        match &self.purpose {
            Purpose::Filter { .. } => "/".to_string(),
            Purpose::Command => ":".to_string(),
            Purpose::Note(id) => format!("message #{id}: "),
            Purpose::Snooze(id) => format!("snooze #{id} for (30m, 2h): "),
            Purpose::Reassign(id) => format!("assign #{id} to: "),
            Purpose::Silence => "silence (matchers, duration, comment): ".to_string(),
        }
    }
}

/// A short message in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub text: String,
    pub error: bool,
    pub until: DateTime<Utc>,
}

pub struct State {
    incidents: ById<Summary>,
    /// Every incident, in sort order.
    rows: Vec<Row>,
    /// The rows of the queue: the tab and filter applied to `order`.
    visible: Vec<IncidentId>,
    open_by_severity: [usize; 4],
    tab_counts: [usize; 5],
    largest_id: IncidentId,
    /// `visible` and the counts need recomputing.
    stale: bool,
    pub cursor: usize,
    pub selected: Option<IncidentId>,
    /// First row shown.
    pub offset: usize,
    /// Rows the queue has on screen, from the last resize.
    pub page: usize,
    pub width: u16,
    pub height: u16,
    pub tab: Tab,
    sort: Sort,
    pub filter_text: String,
    query: Query,
    pub screen: Screen,
    pub mode: Mode,
    pub link: Link,
    pub endpoint: Endpoint,
    pub integrations: Vec<IntegrationView>,
    pub now: DateTime<Utc>,
    pub flash: Option<Flash>,
    /// New critical/error incidents not yet looked at: highlighted.
    pub unseen: HashSet<IncidentId>,
    /// Who is looking at which incident right now, from the engine.
    pub presence: HashMap<IncidentId, Vec<String>>,
    /// Messages sent and not yet answered, by incident: given back to the composer if the
    /// engine refuses one (too long, say), so that nothing typed is lost.
    pub unsent: HashMap<IncidentId, String>,
    pub keymap: Keymap,
    pub theme: Theme,
    pub read_only: bool,
    pub bell: bool,
    pub mouse: bool,
    /// The first snapshot has arrived.
    pub synced: bool,
    /// Actions sent and not yet answered.
    pub in_flight: usize,
}

impl State {
    pub fn new(endpoint: Endpoint, keymap: Keymap, theme: Theme, now: DateTime<Utc>) -> State {
        State {
            incidents: ById::default(),
            rows: Vec::new(),
            visible: Vec::new(),
            open_by_severity: [0; 4],
            tab_counts: [0; 5],
            largest_id: 0,
            stale: false,
            cursor: 0,
            selected: None,
            offset: 0,
            page: 20,
            width: 80,
            height: 24,
            tab: Tab::Open,
            sort: Sort::Severity,
            filter_text: String::new(),
            query: Query::default(),
            screen: Screen::Queue,
            mode: Mode::Normal,
            link: Link::Connecting { attempt: 1 },
            endpoint,
            integrations: Vec::new(),
            now,
            flash: None,
            unseen: HashSet::new(),
            presence: HashMap::new(),
            unsent: HashMap::new(),
            keymap,
            theme,
            read_only: false,
            bell: true,
            mouse: false,
            synced: false,
            in_flight: 0,
        }
    }

    pub fn incident(&self, id: IncidentId) -> Option<&Summary> {
        self.incidents.get(&id)
    }

    pub fn len(&self) -> usize {
        self.incidents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.incidents.is_empty()
    }

    /// The queue's rows (call [`settle`](Self::settle) first).
    pub fn visible(&self) -> &[IncidentId] {
        &self.visible
    }

    pub fn open_by_severity(&self, severity: Severity) -> usize {
        self.open_by_severity[severity as usize]
    }

    /// The largest id known (sizes the id column so it does not jump while scrolling).
    pub fn largest_id(&self) -> IncidentId {
        self.largest_id
    }

    pub fn tab_count(&self, tab: Tab) -> usize {
        self.tab_counts[tab as usize]
    }

    pub fn sort(&self) -> Sort {
        self.sort
    }

    pub fn set_sort(&mut self, sort: Sort) {
        if sort != self.sort {
            self.sort = sort;
            self.resort();
        }
    }

    pub fn set_filter(&mut self, text: &str) {
        self.filter_text = text.to_string();
        self.query = Query::parse(text);
        self.stale = true;
    }

    pub fn set_tab(&mut self, tab: Tab) {
        self.tab = tab;
        self.stale = true;
    }

    pub fn shift_tab(&mut self, by: isize) {
        self.set_tab(self.tab.offset(by));
    }

    /// Replaces everything (a snapshot); returns the ids that were not known before.
    pub fn replace_all(&mut self, incidents: Vec<IncidentView>) -> Vec<IncidentId> {
        let fresh: Vec<IncidentId> = incidents
            .iter()
            .map(|incident| incident.id)
            .filter(|id| !self.incidents.contains_key(id))
            .collect();
        let sort = self.sort;
        let mut keyed: Vec<(SortKey, &IncidentView)> = incidents
            .iter()
            .map(|incident| (sort.key(incident), incident))
            .collect();
        keyed.sort_unstable_by_key(|(key, incident)| (*key, incident.id));
        // Built in sort order, so the rows' strings also lie in memory in the order scanned.
        self.rows = keyed
            .iter()
            .map(|(key, incident)| Row::new(*key, incident))
            .collect();
        self.incidents = incidents
            .iter()
            .map(|incident| (incident.id, Summary::from(incident)))
            .collect();
        self.unseen.retain(|id| self.incidents.contains_key(id));
        self.stale = true;
        fresh
    }

    fn position(&self, key: SortKey, id: IncidentId) -> Result<usize, usize> {
        self.rows
            .binary_search_by(|row| (row.key, row.id).cmp(&(key, id)))
    }

    /// Adds or replaces one incident, keeping the order without a full sort.
    pub fn upsert(&mut self, incident: IncidentView) {
        let id = incident.id;
        let key = self.sort.key(&incident);
        let row = Row::new(key, &incident);
        let old_key = self.incidents.get(&id).map(|old| {
            self.sort.key_of(
                id,
                old.severity,
                old.status,
                old.created_at.timestamp_millis(),
            )
        });
        match old_key.map(|old_key| (old_key, self.position(old_key, id))) {
            Some((old_key, Ok(index))) if old_key == key => self.rows[index] = row,
            Some((_, found)) => {
                if let Ok(index) = found {
                    self.rows.remove(index);
                }
                let index = self.position(key, id).unwrap_or_else(|at| at);
                self.rows.insert(index, row);
            }
            None => {
                let index = self.position(key, id).unwrap_or_else(|at| at);
                self.rows.insert(index, row);
            }
        }
        self.incidents.insert(id, Summary::from(&incident));
        self.stale = true;
    }

    fn resort(&mut self) {
        let sort = self.sort;
        for row in &mut self.rows {
            row.key = sort.key_of(row.id, row.severity, row.status, row.created);
        }
        self.rows.sort_unstable_by_key(|row| (row.key, row.id));
        self.stale = true;
    }

    /// Marks derived data stale (after a tick, a snoozed incident may wake, say).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Recomputes the rows and counts if anything changed, and keeps the selection on the
    /// same incident where it can (else at the same place).
    pub fn settle(&mut self) {
        if self.stale {
            self.stale = false;
            let mut visible = Vec::with_capacity(self.visible.len().max(16));
            let mut open = [0; 4];
            let mut tabs = [0; 5];
            let filtering = !self.query.is_empty();
            let mut largest = 0;
            for row in &self.rows {
                largest = largest.max(row.id);
                if row.status.is_open() {
                    open[row.severity as usize] += 1;
                }
                if filtering && !self.query.matches(&row.facts(), self.now) {
                    continue;
                }
                for tab in Tab::ALL {
                    if tab.includes(row.status) {
                        tabs[tab as usize] += 1;
                    }
                }
                if self.tab.includes(row.status) {
                    visible.push(row.id);
                }
            }
            self.visible = visible;
            self.largest_id = largest;
            self.open_by_severity = open;
            self.tab_counts = tabs;
            if let Some(selected) = self.selected {
                // Look near the old place first: most changes move nothing.
                let near = self.visible.get(self.cursor) == Some(&selected);
                if !near {
                    if let Some(index) = self.visible.iter().position(|id| *id == selected) {
                        self.cursor = index;
                    }
                }
            }
        }
        self.cursor = self.cursor.min(self.visible.len().saturating_sub(1));
        self.selected = self.visible.get(self.cursor).copied();
        let page = self.page.max(1);
        if self.cursor < self.offset {
            self.offset = self.cursor;
        } else if self.cursor >= self.offset + page {
            self.offset = self.cursor + 1 - page;
        }
        let last_page_start = self.visible.len().saturating_sub(page);
        self.offset = self.offset.min(last_page_start);
    }

    /// Moves the cursor by `delta` rows (clamped).
    pub fn move_cursor(&mut self, delta: isize) {
        self.settle();
        let last = self.visible.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
        self.selected = self.visible.get(self.cursor).copied();
        self.settle();
    }

    /// The incident that actions apply to: the one shown, else the one selected in the
    /// queue (none while another screen is up).
    pub fn target(&self) -> Option<IncidentId> {
        match &self.screen {
            Screen::Detail(detail) => Some(detail.id),
            Screen::Queue => self.selected,
            Screen::OnCall(_) | Screen::Silences(_) => None,
        }
    }

    /// The incident whose detail is shown: what the engine is told this console looks at.
    pub fn viewing(&self) -> Option<IncidentId> {
        match &self.screen {
            Screen::Detail(detail) => Some(detail.id),
            _ => None,
        }
    }

    /// The URL of the first integration in the generic format, for "send a test alert".
    pub fn test_alert_url(&self) -> Option<&str> {
        self.integrations
            .iter()
            .find(|integration| integration.source == "generic")
            .and_then(|integration| integration.url.as_deref())
    }
}
