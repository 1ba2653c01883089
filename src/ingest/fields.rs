//! Shared field readers for the ingest adapters: typed access to a parsed JSON object that
//! turns every problem into an `IngestError` naming the field's path. Pure; depends on
//! serde_json, chrono and sha2 only.

use super::IngestError;
use crate::domain::Link;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Every refusal of a payload the sender got wrong is a 400. A 422 is kept for payloads that
/// are well-formed but that klaxon cannot process (an unsupported source or format version),
/// so a sender can tell "fix your payload" from "this receiver does not speak that".
pub const BAD_REQUEST: u16 = 400;
pub const UNPROCESSABLE: u16 = 422;

/// How much of a sender's value is echoed back in a message: enough to recognise it, never
/// enough to turn a hostile megabyte into a megabyte of error.
const ECHO_CHARS: usize = 64;

/// Limits on an object of string values (labels, annotations).
#[derive(Debug, Clone, Copy)]
pub struct MapLimits {
    pub entries: usize,
    pub key_chars: usize,
    pub value_chars: usize,
}

pub const LABEL_LIMITS: MapLimits = MapLimits {
    entries: 128,
    key_chars: 256,
    value_chars: 4096,
};

/// Annotations carry prose (descriptions, runbooks), so values may be much longer than labels.
pub const ANNOTATION_LIMITS: MapLimits = MapLimits {
    entries: 128,
    key_chars: 256,
    value_chars: 65_536,
};

pub const SUMMARY_CHARS: usize = 1024;
/// PagerDuty's documented maximum for `dedup_key`; used for every explicit key.
pub const DEDUP_KEY_CHARS: usize = 255;
pub const SERVICE_CHARS: usize = 256;
pub const LINK_HREF_CHARS: usize = 4096;
pub const LINK_TEXT_CHARS: usize = 1024;
pub const LINKS_MAX: usize = 64;

// ---------------------------------------------------------------------------------------------
// Paths and quoting

/// `parent.key`, or `parent["odd key"]` when the key is not a plain word, so that a path is
/// never ambiguous (`labels["app.kubernetes.io/name"]`).
pub fn join(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|character| {
            character.is_ascii_alphanumeric() || character == '_' || character == '-'
        });
    if plain && key.len() <= ECHO_CHARS {
        if parent.is_empty() {
            key.to_string()
        } else {
            format!("{parent}.{key}")
        }
    } else {
        format!("{parent}[{}]", quote(key))
    }
}

pub fn index(parent: &str, position: usize) -> String {
    format!("{parent}[{position}]")
}

/// A value as JSON string syntax, shortened if long.
pub fn quote(text: &str) -> String {
    let mut shown: String = text.chars().take(ECHO_CHARS).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    serde_json::to_string(&shown).unwrap_or_else(|_| String::from("\"?\""))
}

/// "a string", "an array", … for messages.
pub fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------------
// Error constructors: the message always starts with the field's path.

pub fn refuse(status: u16, code: &'static str, field: &str, problem: String) -> IngestError {
    let message = if field.is_empty() {
        problem
    } else {
        format!("{field}: {problem}")
    };
    IngestError {
        status,
        code,
        message,
        field: (!field.is_empty()).then(|| field.to_string()),
    }
}

pub fn missing(field: &str, expected: &str) -> IngestError {
    refuse(
        BAD_REQUEST,
        "missing_field",
        field,
        format!("required field is missing: expected {expected}"),
    )
}

pub fn empty(field: &str) -> IngestError {
    refuse(
        BAD_REQUEST,
        "empty_value",
        field,
        String::from("must not be empty"),
    )
}

pub fn wrong_type(field: &str, expected: &str, got: &Value) -> IngestError {
    refuse(
        BAD_REQUEST,
        "wrong_type",
        field,
        format!("expected {expected}, got {}", describe(got)),
    )
}

pub fn unknown_value(field: &str, got: &str, expected: &str) -> IngestError {
    refuse(
        BAD_REQUEST,
        "unknown_value",
        field,
        format!("unknown value {}: expected {expected}", quote(got)),
    )
}

pub fn too_long(field: &str, length: usize, maximum: usize) -> IngestError {
    refuse(
        BAD_REQUEST,
        "too_long",
        field,
        format!("too long: {length} characters, at most {maximum} allowed"),
    )
}

pub fn too_many(field: &str, what: &str, count: usize, maximum: usize) -> IngestError {
    refuse(
        BAD_REQUEST,
        "too_many",
        field,
        format!("too many {what}: {count}, at most {maximum} allowed"),
    )
}

pub fn bad_timestamp(field: &str, problem: String) -> IngestError {
    refuse(BAD_REQUEST, "bad_timestamp", field, problem)
}

/// Refuses the first key (in sorted order, so the answer is stable) that is not in `allowed`,
/// suggesting the nearest allowed name when the key looks like a typo.
pub fn refuse_unknown_fields(
    object: &Map<String, Value>,
    parent: &str,
    allowed: &[&str],
) -> Result<(), IngestError> {
    let Some(unknown) = object.keys().find(|key| !allowed.contains(&key.as_str())) else {
        return Ok(());
    };
    let suggestion = allowed
        .iter()
        .map(|name| (edit_distance(unknown, name), *name))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, name)| format!(" (did you mean \"{name}\"?)"))
        .unwrap_or_default();
    Err(refuse(
        BAD_REQUEST,
        "unknown_field",
        &join(parent, unknown),
        format!(
            "unknown field{suggestion}; expected one of: {}",
            allowed.join(", ")
        ),
    ))
}

/// Levenshtein distance over characters, capped for long inputs: only used for suggestions.
fn edit_distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().take(ECHO_CHARS).collect();
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_char) in left.iter().enumerate() {
        let mut current = vec![row + 1];
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != right_char);
            let deletion = previous[column + 1] + 1;
            let insertion = current[column] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous[right.len()]
}

// ---------------------------------------------------------------------------------------------
// Readers

/// A field's value, with an explicit JSON `null` read as absent: senders' templates often emit
/// `null` for "not set", and treating it as missing keeps one rule for both.
pub fn get<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

pub fn optional_string<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<&'a str>, IngestError> {
    match get(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(wrong_type(&join(parent, name), "a string", other)),
    }
}

/// A string that must be present and not blank.
pub fn required_string<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<&'a str, IngestError> {
    required_described(object, parent, name, "a string")
}

/// `required_string`, saying what is expected when the field is missing.
pub fn required_described<'a>(
    object: &'a Map<String, Value>,
    parent: &str,
    name: &str,
    expected: &str,
) -> Result<&'a str, IngestError> {
    match optional_string(object, parent, name)? {
        None => Err(missing(&join(parent, name), expected)),
        Some(text) if text.trim().is_empty() => Err(empty(&join(parent, name))),
        Some(text) => Ok(text),
    }
}

pub fn check_length(text: &str, field: &str, maximum: usize) -> Result<(), IngestError> {
    // Counting bytes first avoids walking a huge string when it is obviously short enough.
    if text.len() <= maximum {
        return Ok(());
    }
    let length = text.chars().count();
    if length > maximum {
        return Err(too_long(field, length, maximum));
    }
    Ok(())
}

/// An object whose values are all strings (labels, annotations); absent or null is empty.
pub fn string_map(
    value: Option<&Value>,
    field: &str,
    limits: MapLimits,
) -> Result<BTreeMap<String, String>, IngestError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(object)) => object,
        Some(other) => return Err(wrong_type(field, "an object of strings", other)),
    };
    if object.len() > limits.entries {
        return Err(too_many(field, "entries", object.len(), limits.entries));
    }
    let mut result = BTreeMap::new();
    for (key, value) in object {
        let path = join(field, key);
        if key.is_empty() {
            return Err(refuse(
                BAD_REQUEST,
                "empty_value",
                &path,
                String::from("names must not be empty"),
            ));
        }
        if key.chars().count() > limits.key_chars {
            let length = key.chars().count();
            return Err(refuse(
                BAD_REQUEST,
                "too_long",
                field,
                format!(
                    "name {} too long: {length} characters, at most {} allowed",
                    quote(key),
                    limits.key_chars
                ),
            ));
        }
        let Value::String(text) = value else {
            return Err(wrong_type(&path, "a string", value));
        };
        check_length(text, &path, limits.value_chars)?;
        result.insert(key.clone(), text.clone());
    }
    Ok(result)
}

/// A list of links: objects `{href, text}`, and plain strings where `accept_strings`. With
/// `strict`, unknown fields inside a link object are refused (our own format); otherwise they
/// are ignored (someone else's format, which may grow).
pub fn links(
    value: Option<&Value>,
    field: &str,
    accept_strings: bool,
    strict: bool,
) -> Result<Vec<Link>, IngestError> {
    let items = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(wrong_type(field, "an array of links", other)),
    };
    if items.len() > LINKS_MAX {
        return Err(too_many(field, "links", items.len(), LINKS_MAX));
    }
    let expected = if accept_strings {
        "a URL string or an object {\"href\", \"text\"}"
    } else {
        "an object {\"href\", \"text\"}"
    };
    let mut result = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        let path = index(field, position);
        let link = match item {
            Value::String(href) if accept_strings => {
                if href.trim().is_empty() {
                    return Err(empty(&path));
                }
                check_length(href, &path, LINK_HREF_CHARS)?;
                Link {
                    href: href.clone(),
                    text: None,
                }
            }
            Value::Object(object) => {
                if strict {
                    refuse_unknown_fields(object, &path, &["href", "text"])?;
                }
                let href = required_string(object, &path, "href")?;
                check_length(href, &join(&path, "href"), LINK_HREF_CHARS)?;
                let text = optional_string(object, &path, "text")?;
                if let Some(text) = text {
                    check_length(text, &join(&path, "text"), LINK_TEXT_CHARS)?;
                }
                Link {
                    href: href.to_string(),
                    text: text.filter(|text| !text.is_empty()).map(str::to_string),
                }
            }
            other => return Err(wrong_type(&path, expected, other)),
        };
        push_link(&mut result, link);
    }
    Ok(result)
}

/// Adds a link unless one with the same href is already there.
pub fn push_link(links: &mut Vec<Link>, link: Link) {
    if !link.href.is_empty() && !links.iter().any(|existing| existing.href == link.href) {
        links.push(link);
    }
}

// ---------------------------------------------------------------------------------------------
// Time

/// Which spellings of a timestamp a format accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSyntax {
    /// RFC 3339, any fraction length.
    Rfc3339,
    /// RFC 3339, or ISO 8601 with a `+hhmm` offset as in PagerDuty's own documentation.
    Iso8601,
    /// RFC 3339, a `+hhmm` offset (CloudWatch's `2015-06-03T17:43:27.123+0000`), or no zone
    /// at all, read as UTC (Azure's log alerts).
    Lenient,
}

pub fn parse_time(text: &str, syntax: TimeSyntax) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .ok()
        .or_else(|| match syntax {
            TimeSyntax::Rfc3339 => None,
            TimeSyntax::Iso8601 | TimeSyntax::Lenient => {
                DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z").ok()
            }
        });
    parsed.map(|time| time.with_timezone(&Utc)).or_else(|| {
        (syntax == TimeSyntax::Lenient)
            .then(|| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok())
            .flatten()
            .map(|naive| naive.and_utc())
    })
}

/// Go's zero `time.Time`, which Alertmanager writes for "not set".
pub fn is_zero_time(time: DateTime<Utc>) -> bool {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .is_some_and(|zero| time.naive_utc() == zero)
}

/// Parses a timestamp and refuses absurd ones: before 1970, or further than `ahead` past
/// `now` (a sender whose clock is that wrong would corrupt timelines and escalation).
pub fn timestamp(
    text: &str,
    field: &str,
    syntax: TimeSyntax,
    now: DateTime<Utc>,
    ahead: Duration,
) -> Result<DateTime<Utc>, IngestError> {
    let expected = match syntax {
        TimeSyntax::Rfc3339 => "an RFC 3339 timestamp such as \"2024-05-01T12:00:00Z\"",
        TimeSyntax::Iso8601 => "an ISO 8601 timestamp such as \"2024-05-01T12:00:00.000+0000\"",
        TimeSyntax::Lenient => {
            "an ISO 8601 timestamp such as \"2024-05-01T12:00:00.0000000Z\" (no zone means UTC)"
        }
    };
    let Some(time) = parse_time(text, syntax) else {
        return Err(bad_timestamp(
            field,
            format!("cannot read {} as a time: expected {expected}", quote(text)),
        ));
    };
    check_time(time, text, field, now, ahead)
}

/// Checks an already parsed time the way [`timestamp`] does.
pub fn check_time(
    time: DateTime<Utc>,
    shown: &str,
    field: &str,
    now: DateTime<Utc>,
    ahead: Duration,
) -> Result<DateTime<Utc>, IngestError> {
    if time.timestamp() < 0 {
        return Err(bad_timestamp(
            field,
            format!("{} is before 1970", quote(shown)),
        ));
    }
    if now
        .checked_add_signed(ahead)
        .is_some_and(|limit| time > limit)
    {
        return Err(bad_timestamp(
            field,
            format!(
                "{} is more than {} in the future (is the sender's clock right?)",
                quote(shown),
                describe_duration(ahead)
            ),
        ));
    }
    Ok(time)
}

/// A time given as Unix epoch milliseconds (a JSON number or a string of digits, as
/// templating senders produce), or as an ISO 8601 string. `Ok(None)` for absent, empty, or a
/// negative number (Dynatrace's -1 for "not ended").
pub fn epoch_millis_or_time(
    value: Option<&Value>,
    field: &str,
    now: DateTime<Utc>,
    ahead: Duration,
) -> Result<Option<DateTime<Utc>>, IngestError> {
    let text = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(number)) => number.to_string(),
        Some(Value::String(text)) => text.trim().to_string(),
        Some(other) => {
            return Err(wrong_type(
                field,
                "epoch milliseconds or an ISO 8601 timestamp",
                other,
            ))
        }
    };
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(millis) = text.parse::<i64>() {
        if millis < 0 {
            return Ok(None);
        }
        let Some(time) = DateTime::from_timestamp_millis(millis) else {
            return Err(bad_timestamp(
                field,
                format!("{} is out of range", quote(&text)),
            ));
        };
        return check_time(time, &text, field, now, ahead).map(Some);
    }
    if text.parse::<f64>().is_ok() {
        return Err(bad_timestamp(
            field,
            format!(
                "{} is not a whole number of epoch milliseconds",
                quote(&text)
            ),
        ));
    }
    timestamp(&text, field, TimeSyntax::Lenient, now, ahead).map(Some)
}

/// A string, or a number written as its decimal text (ids that templates may leave
/// unquoted). `Ok(None)` for absent or null.
pub fn string_or_number(
    object: &Map<String, Value>,
    parent: &str,
    name: &str,
) -> Result<Option<String>, IngestError> {
    match get(object, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(other) => Err(wrong_type(
            &join(parent, name),
            "a string or a number",
            other,
        )),
    }
}

fn describe_duration(duration: Duration) -> String {
    match duration.num_days() {
        1 => String::from("1 day"),
        days if days >= 365 && days % 365 == 0 => match days / 365 {
            1 => String::from("1 year"),
            years => format!("{years} years"),
        },
        days => format!("{days} days"),
    }
}

// ---------------------------------------------------------------------------------------------
// Hashing

/// The first 32 hex characters (128 bits) of the SHA-256 of `parts`, each followed by a NUL
/// byte so that different splits of the same text never collide. For derived keys.
pub fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let mut digest = hex::encode(hasher.finalize());
    digest.truncate(32);
    digest
}

/// The full hex SHA-256 of raw bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Cuts text to at most `maximum` characters, marking the cut with an ellipsis. For titles
/// taken from someone else's format, where refusing a page over a long summary would be worse.
pub fn truncate(text: &str, maximum: usize) -> String {
    if text.chars().count() <= maximum {
        return text.to_string();
    }
    let mut shortened: String = text.chars().take(maximum.saturating_sub(1)).collect();
    shortened.push('…');
    shortened
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_stay_unambiguous() {
        assert_eq!(join("", "summary"), "summary");
        assert_eq!(join("alerts[0]", "labels"), "alerts[0].labels");
        assert_eq!(
            join("labels", "app.kubernetes.io/name"),
            "labels[\"app.kubernetes.io/name\"]"
        );
        assert_eq!(join("labels", ""), "labels[\"\"]");
        assert_eq!(index("alerts", 3), "alerts[3]");
    }

    #[test]
    fn echoed_values_are_bounded() {
        let huge = "x".repeat(100_000);
        assert!(quote(&huge).chars().count() < 80);
        let error = unknown_value("status", &huge, "\"firing\"");
        assert!(error.message.len() < 200);
    }

    #[test]
    fn unknown_fields_suggest_the_nearest_name() {
        let object = json!({"summary": "x", "sevrity": "critical"});
        let error =
            refuse_unknown_fields(object.as_object().unwrap(), "", &["summary", "severity"])
                .unwrap_err();
        assert_eq!(error.code, "unknown_field");
        assert_eq!(error.field.as_deref(), Some("sevrity"));
        assert!(
            error.message.contains("did you mean \"severity\"?"),
            "{}",
            error.message
        );
    }

    #[test]
    fn string_maps_refuse_non_strings_by_name() {
        let value = json!({"team": "db", "replicas": 3});
        let error = string_map(Some(&value), "labels", LABEL_LIMITS).unwrap_err();
        assert_eq!(error.code, "wrong_type");
        assert_eq!(error.field.as_deref(), Some("labels.replicas"));
        assert_eq!(
            error.message,
            "labels.replicas: expected a string, got a number"
        );
    }

    #[test]
    fn timestamps_accept_any_fraction_and_refuse_absurd_times() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let day = Duration::days(1);
        let parsed = timestamp(
            "2024-05-01T11:59:59.123456789123+02:00",
            "t",
            TimeSyntax::Rfc3339,
            now,
            day,
        )
        .unwrap();
        assert_eq!(parsed.timestamp(), now.timestamp() - 2 * 3600 - 1);
        for (text, fragment) in [
            ("yesterday", "cannot read"),
            ("1969-12-31T23:59:59Z", "before 1970"),
            ("2024-05-03T12:00:00Z", "in the future"),
        ] {
            let error = timestamp(text, "t", TimeSyntax::Rfc3339, now, day).unwrap_err();
            assert_eq!(error.code, "bad_timestamp");
            assert!(error.message.contains(fragment), "{}", error.message);
        }
        assert!(timestamp(
            "2024-05-01T08:42:58.315+0000",
            "t",
            TimeSyntax::Rfc3339,
            now,
            day
        )
        .is_err());
        assert!(timestamp(
            "2024-05-01T08:42:58.315+0000",
            "t",
            TimeSyntax::Iso8601,
            now,
            day
        )
        .is_ok());
        assert!(is_zero_time(
            parse_time("0001-01-01T00:00:00Z", TimeSyntax::Rfc3339).unwrap()
        ));
    }

    #[test]
    fn hashes_do_not_collide_across_splits() {
        assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
        assert_eq!(short_hash(&["x"]).len(), 32);
        assert_eq!(sha256_hex(b"").len(), 64);
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
    }
}
