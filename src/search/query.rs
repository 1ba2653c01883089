//! The search query language: text as people type it → clauses, or an error that says what is
//! wrong and where. Pure: no index involved; words go through the index's analyzer so that a
//! query term is spelled exactly as the indexed ones are.

use super::schema::analyze;
use crate::domain::{IncidentId, IncidentStatus, Severity};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// A longer query is refused rather than run: no person types one, and each word costs a
/// posting-list walk.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// At most this many words, phrases and filters in one query, for the same reason.
pub const MAX_CLAUSES: usize = 32;
/// At most this many hits in one answer; more is paging (`offset`).
pub const MAX_LIMIT: usize = 1_000;
pub const DEFAULT_LIMIT: usize = 20;
/// Paging reaches this deep and no further: ranking keeps `offset + limit` hits in memory, so
/// an unbounded offset would be an unbounded allocation. Past it, narrow the query.
pub const MAX_OFFSET: usize = 10_000;

/// What a hit is: an incident, or one message (a note) of an incident's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HitKind {
    Incident,
    Message,
}

impl HitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Incident => "incident",
            HitKind::Message => "message",
        }
    }
}

/// A parsed query, ready to run: what to find, and how many hits from where.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    pub clauses: Vec<Clause>,
    /// How many hits to return (at most [`MAX_LIMIT`]).
    pub limit: usize,
    /// How many of the best hits to skip: the page's start. Past [`MAX_OFFSET`] there are no
    /// hits.
    pub offset: usize,
}

/// One part of a query; `negated` ones exclude what they match.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub negated: bool,
    pub matcher: Matcher,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// A word or a quoted phrase as typed, and its analyzed terms in order. One term is a
    /// word; more (a quoted phrase, or `db-1`, which the analyzer splits) must appear in
    /// that order, side by side.
    Text {
        typed: String,
        terms: Vec<String>,
    },
    Filter(Filter),
}

/// Filters narrow a search without taking part in the ranking. Several values of one filter
/// (`service:db,web`) match any of them; separate filters must all hold.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Lowercased service names.
    Service(Vec<String>),
    Severity(Vec<Severity>),
    Status(Vec<IncidentStatus>),
    Integration(Vec<String>),
    /// `name=value` pairs, lowercased.
    Label(Vec<(String, String)>),
    Incident(Vec<IncidentId>),
    /// Who wrote a message; incidents have no author, so this finds messages only.
    Author(Vec<String>),
    Kind(HitKind),
    /// At or after this instant (an incident's opening, a message's writing).
    After(DateTime<Utc>),
    /// Strictly before this instant.
    Before(DateTime<Utc>),
}

/// A query that cannot be run, with the column (1-based, in characters) where the trouble is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl QueryError {
    fn at(column: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            message: message.into(),
            column: Some(column),
        }
    }

    fn whole(message: impl Into<String>) -> QueryError {
        QueryError {
            message: message.into(),
            column: None,
        }
    }
}

/// Every filter name, with the canonical one it stands for (aliases for the impatient).
const FILTER_NAMES: &[(&str, &str)] = &[
    ("service", "service"),
    ("svc", "service"),
    ("severity", "severity"),
    ("sev", "severity"),
    ("status", "status"),
    ("integration", "integration"),
    ("label", "label"),
    ("incident", "incident"),
    ("id", "incident"),
    ("author", "author"),
    ("kind", "kind"),
    ("after", "after"),
    ("before", "before"),
];

impl SearchQuery {
    /// Parses the query language (see the module documentation of `search`).
    pub fn parse(text: &str) -> Result<SearchQuery, QueryError> {
        let length = text.chars().count();
        if length > MAX_QUERY_CHARS {
            return Err(QueryError::whole(format!(
                "the query is too long ({length} characters; at most {MAX_QUERY_CHARS})"
            )));
        }
        let clauses = Parser::new(text).clauses()?;
        if clauses.len() > MAX_CLAUSES {
            return Err(QueryError::whole(format!(
                "the query has too many parts ({}; at most {MAX_CLAUSES} words, phrases and filters)",
                clauses.len()
            )));
        }
        if clauses.is_empty() {
            return Err(QueryError::whole(if text.trim().is_empty() {
                "the query is empty: type words to find, \"a phrase\", or filters such as service:payments".to_string()
            } else {
                format!(
                    "nothing to search for in {:?}: words are made of letters and digits",
                    text.trim()
                )
            }));
        }
        check_time_range(&clauses)?;
        Ok(SearchQuery {
            clauses,
            limit: DEFAULT_LIMIT,
            offset: 0,
        })
    }

    /// At most `limit` hits (capped at [`MAX_LIMIT`]; 0 asks for none).
    pub fn with_limit(mut self, limit: usize) -> SearchQuery {
        self.limit = limit.min(MAX_LIMIT);
        self
    }

    pub fn with_offset(mut self, offset: usize) -> SearchQuery {
        self.offset = offset;
        self
    }

    /// Whether any clause ranks hits: a positive word or phrase. Without one, hits come newest
    /// first.
    pub fn is_ranked(&self) -> bool {
        self.clauses
            .iter()
            .any(|clause| !clause.negated && matches!(clause.matcher, Matcher::Text { .. }))
    }
}

fn check_time_range(clauses: &[Clause]) -> Result<(), QueryError> {
    let mut after = None;
    let mut before = None;
    for clause in clauses.iter().filter(|clause| !clause.negated) {
        match &clause.matcher {
            Matcher::Filter(Filter::After(at)) => after = after.max(Some(*at)),
            Matcher::Filter(Filter::Before(at)) => {
                before = Some(before.map_or(*at, |other: DateTime<Utc>| other.min(*at)))
            }
            _ => {}
        }
    }
    match (after, before) {
        (Some(after), Some(before)) if after >= before => Err(QueryError::whole(format!(
            "after:{} is not earlier than before:{}, so nothing can match",
            after.to_rfc3339(),
            before.to_rfc3339()
        ))),
        _ => Ok(()),
    }
}

/// A cursor over the query's characters; columns are 1-based character positions.
struct Parser {
    chars: Vec<char>,
    position: usize,
}

impl Parser {
    fn new(text: &str) -> Parser {
        Parser {
            chars: text.chars().collect(),
            position: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn column(&self) -> usize {
        self.position + 1
    }

    fn clauses(&mut self) -> Result<Vec<Clause>, QueryError> {
        let mut clauses = Vec::new();
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.position += 1;
            }
            let Some(first) = self.peek() else {
                return Ok(clauses);
            };
            // A `-` that starts a part and is followed by something excludes that something;
            // a lone `-` is a word without letters and so is dropped below.
            let negated = first == '-'
                && self
                    .chars
                    .get(self.position + 1)
                    .is_some_and(|next| !next.is_whitespace());
            if negated {
                self.position += 1;
            }
            if let Some(matcher) = self.part()? {
                clauses.push(Clause { negated, matcher });
            }
        }
    }

    /// One word, phrase or filter; `None` for a word with nothing searchable in it.
    fn part(&mut self) -> Result<Option<Matcher>, QueryError> {
        if self.peek() == Some('"') {
            let phrase = self.quoted()?;
            return Ok(text_matcher(&phrase));
        }
        let word_start = self.column();
        let word = self.bare();
        if let Some((name, value)) = word.split_once(':') {
            if is_filter_name(name) {
                let lower = name.to_ascii_lowercase();
                if let Some((_, canonical)) = FILTER_NAMES.iter().find(|(known, _)| *known == lower)
                {
                    let value = if value.is_empty() && self.peek() == Some('"') {
                        self.quoted()?
                    } else {
                        value.to_string()
                    };
                    return filter(canonical, name, value.trim(), word_start).map(Some);
                }
                if let Some(suggestion) = closest_filter(&lower) {
                    return Err(QueryError::at(
                        word_start,
                        format!(
                            "unknown filter \"{name}:\"; did you mean \"{suggestion}:\"? (put it in quotes to search for the text)"
                        ),
                    ));
                }
            }
        }
        Ok(text_matcher(&word))
    }

    /// Characters up to whitespace or a quote.
    fn bare(&mut self) -> String {
        let mut word = String::new();
        while let Some(next) = self.peek() {
            if next.is_whitespace() || next == '"' {
                break;
            }
            word.push(next);
            self.position += 1;
        }
        word
    }

    /// A quoted run, the cursor on its opening quote; the text between the quotes.
    fn quoted(&mut self) -> Result<String, QueryError> {
        let opening = self.column();
        self.position += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(QueryError::at(
                        opening,
                        format!("unclosed quote starting at column {opening}"),
                    ))
                }
                Some('"') => {
                    self.position += 1;
                    return Ok(text);
                }
                Some(next) => {
                    text.push(next);
                    self.position += 1;
                }
            }
        }
    }
}

fn text_matcher(typed: &str) -> Option<Matcher> {
    let terms = analyze(typed);
    (!terms.is_empty()).then(|| Matcher::Text {
        typed: typed.to_string(),
        terms,
    })
}

/// Looks like a filter's name: letters and underscores, so `http://x` or `10:30` stay text.
fn is_filter_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
}

/// The known filter a mistyped name most likely meant: one edit away for short names, two for
/// longer ones, or a name it begins. Anything farther is taken as text (`host:db-1`).
fn closest_filter(name: &str) -> Option<&'static str> {
    let tolerance = if name.chars().count() <= 3 { 1 } else { 2 };
    FILTER_NAMES
        .iter()
        .map(|(known, _)| (*known, edit_distance(name, known)))
        .filter(|(known, distance)| {
            *distance <= tolerance || (name.len() >= 3 && known.starts_with(name))
        })
        .min_by_key(|(_, distance)| *distance)
        .map(|(known, _)| known)
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_char) in left.chars().enumerate() {
        let mut current = vec![row + 1];
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != *right_char);
            current.push(
                substitution
                    .min(previous[column + 1] + 1)
                    .min(current[column] + 1),
            );
        }
        previous = current;
    }
    previous[right.len()]
}

/// Splits `a,b,,c` into its non-empty parts; at least one, or an error naming what was
/// expected.
fn list<'a>(
    name: &str,
    value: &'a str,
    expected: &str,
    column: usize,
) -> Result<Vec<&'a str>, QueryError> {
    let parts: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(QueryError::at(
            column,
            format!("{name}: expects {expected}, found nothing"),
        ));
    }
    Ok(parts)
}

fn filter(canonical: &str, typed: &str, value: &str, column: usize) -> Result<Matcher, QueryError> {
    let lowered = |parts: Vec<&str>| parts.iter().map(|part| part.to_lowercase()).collect();
    let found = match canonical {
        "service" => Filter::Service(lowered(list(typed, value, "a service name", column)?)),
        "integration" => {
            Filter::Integration(lowered(list(typed, value, "an integration name", column)?))
        }
        "author" => Filter::Author(lowered(list(typed, value, "a user name", column)?)),
        "severity" => {
            let mut levels = Vec::new();
            for part in list(typed, value, "a severity such as critical", column)? {
                for level in severities(part).ok_or_else(|| {
                    QueryError::at(
                        column,
                        format!(
                            "{typed}: expects critical, error, warning or info (or a bound such as >=error), found {part:?}"
                        ),
                    )
                })? {
                    if !levels.contains(&level) {
                        levels.push(level);
                    }
                }
            }
            Filter::Severity(levels)
        }
        "status" => {
            let mut statuses = Vec::new();
            for part in list(typed, value, "a status such as open", column)? {
                let named: &[IncidentStatus] = match part.to_ascii_lowercase().as_str() {
                    "open" => &[IncidentStatus::Triggered, IncidentStatus::Acknowledged],
                    "triggered" => &[IncidentStatus::Triggered],
                    "acknowledged" | "ack" | "acked" => &[IncidentStatus::Acknowledged],
                    "resolved" | "closed" => &[IncidentStatus::Resolved],
                    _ => {
                        return Err(QueryError::at(
                            column,
                            format!(
                                "{typed}: expects open, triggered, acknowledged, resolved or closed, found {part:?}"
                            ),
                        ))
                    }
                };
                for status in named {
                    if !statuses.contains(status) {
                        statuses.push(*status);
                    }
                }
            }
            Filter::Status(statuses)
        }
        "kind" => {
            let part = value.to_ascii_lowercase();
            match part.as_str() {
                "incident" | "incidents" => Filter::Kind(HitKind::Incident),
                "message" | "messages" | "note" | "notes" => Filter::Kind(HitKind::Message),
                "" => {
                    return Err(QueryError::at(
                        column,
                        format!("{typed}: expects incident or message, found nothing"),
                    ))
                }
                _ => {
                    return Err(QueryError::at(
                        column,
                        format!("{typed}: expects incident or message, found {value:?}"),
                    ))
                }
            }
        }
        "label" => {
            let mut pairs = Vec::new();
            for part in list(typed, value, "name=value, such as env=prod", column)? {
                match part.split_once('=') {
                    Some((name, label_value))
                        if !name.trim().is_empty() && !label_value.trim().is_empty() =>
                    {
                        pairs.push((
                            name.trim().to_lowercase(),
                            label_value.trim().to_lowercase(),
                        ))
                    }
                    _ => {
                        return Err(QueryError::at(
                            column,
                            format!(
                                "{typed}: expects name=value, such as env=prod, found {part:?}"
                            ),
                        ))
                    }
                }
            }
            Filter::Label(pairs)
        }
        "incident" => {
            let mut ids = Vec::new();
            for part in list(typed, value, "an incident number like 42", column)? {
                let id = part
                    .trim_start_matches('#')
                    .parse::<IncidentId>()
                    .map_err(|_| {
                        QueryError::at(
                            column,
                            format!("{typed}: expects an incident number like 42, found {part:?}"),
                        )
                    })?;
                ids.push(id);
            }
            Filter::Incident(ids)
        }
        "after" | "before" => {
            if value.is_empty() {
                return Err(QueryError::at(
                    column,
                    format!("{typed}: expects a date like 2026-01-31, found nothing"),
                ));
            }
            let at = parse_time(value).ok_or_else(|| {
                QueryError::at(
                    column,
                    format!(
                        "{typed}: expects a date like 2026-01-31 or a time like 2026-01-31T09:30:00Z, found {value:?}"
                    ),
                )
            })?;
            if canonical == "after" {
                Filter::After(at)
            } else {
                Filter::Before(at)
            }
        }
        other => unreachable!("filter {other} is listed in FILTER_NAMES but not parsed"),
    };
    Ok(Matcher::Filter(found))
}

/// A severity, or a bound: `>=error` is error and worse (critical), `<warning` is info.
fn severities(part: &str) -> Option<Vec<Severity>> {
    let (operator, name) = ["<=", ">=", "<", ">", "="]
        .iter()
        .find_map(|operator| part.strip_prefix(operator).map(|rest| (*operator, rest)))
        .unwrap_or(("=", part));
    let level = Severity::parse_label(name)?;
    // `Severity` orders from most to least urgent, so "worse" is "less than".
    Some(
        Severity::ALL
            .into_iter()
            .filter(|other| match operator {
                ">=" => *other <= level,
                ">" => *other < level,
                "<=" => *other >= level,
                "<" => *other > level,
                _ => *other == level,
            })
            .collect(),
    )
}

/// `2026-01-31` (midnight UTC) or an RFC 3339 time.
fn parse_time(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}
