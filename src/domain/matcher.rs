//! Matchers: the one syntax for routes, silences and `klaxon explain`. `name=value`,
//! `name!=value`, `name=~regex`, `name!~regex`, where the name is a label or one of the
//! incident's own fields: `service` (`svc`), `severity` (`sev`), `integration`.

use super::labels::Labels;
use super::severity::Severity;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// What a matcher looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Label(String),
    Service,
    Severity,
    Integration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Equal,
    NotEqual,
    Matches,
    NotMatches,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "=",
            Operator::NotEqual => "!=",
            Operator::Matches => "=~",
            Operator::NotMatches => "!~",
        }
    }
}

/// The facts about an alert or incident that matchers test.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub labels: &'a Labels,
    pub service: Option<&'a str>,
    pub severity: Severity,
    pub integration: &'a str,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    field: Field,
    operator: Operator,
    value: String,
    /// Anchored, so `=~db` means the whole value is `db`, as in Alertmanager.
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.operator == other.operator && self.value == other.value
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MatcherError {
    #[error(
        "{0:?} is not a matcher: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX"
    )]
    NoOperator(String),
    #[error("{0:?} has no name before the operator")]
    NoName(String),
    #[error("{text:?}: {value:?} is not a severity: expected critical, error, warning or info")]
    Severity { text: String, value: String },
    #[error("{text:?}: invalid regular expression: {reason}")]
    Regex { text: String, reason: String },
}

impl Matcher {
    pub fn field(&self) -> &Field {
        &self.field
    }

    pub fn operator(&self) -> Operator {
        self.operator
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    pub fn matches(&self, subject: &Subject<'_>) -> bool {
        let actual: Option<&str> = match &self.field {
            Field::Label(name) => subject.labels.get(name),
            Field::Service => subject.service,
            Field::Severity => Some(subject.severity.as_str()),
            Field::Integration => Some(subject.integration),
        };
        // A missing label or service is the empty string, as in Alertmanager: `env!=prod`
        // matches an alert without `env`, and `env=` matches only those.
        let actual = actual.unwrap_or("");
        match self.operator {
            Operator::Equal => actual == self.value,
            Operator::NotEqual => actual != self.value,
            Operator::Matches => self.regex.as_ref().is_some_and(|r| r.is_match(actual)),
            Operator::NotMatches => !self.regex.as_ref().is_some_and(|r| r.is_match(actual)),
        }
    }
}

/// True when every matcher matches (an empty list matches everything).
pub fn all_match(matchers: &[Matcher], subject: &Subject<'_>) -> bool {
    matchers.iter().all(|matcher| matcher.matches(subject))
}

impl FromStr for Matcher {
    type Err = MatcherError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let (position, operator) =
            find_operator(trimmed).ok_or_else(|| MatcherError::NoOperator(trimmed.to_string()))?;
        let name = trimmed[..position].trim();
        let value = trimmed[position + operator.as_str().len()..].trim();
        let value = unquote(value);
        if name.is_empty() {
            return Err(MatcherError::NoName(trimmed.to_string()));
        }
        let field = match name {
            "service" | "svc" => Field::Service,
            "severity" | "sev" => Field::Severity,
            "integration" => Field::Integration,
            label => Field::Label(label.to_string()),
        };
        let value = match (&field, operator) {
            (Field::Severity, Operator::Equal | Operator::NotEqual) => Severity::parse_label(value)
                .ok_or_else(|| MatcherError::Severity {
                    text: trimmed.to_string(),
                    value: value.to_string(),
                })?
                .as_str()
                .to_string(),
            _ => value.to_string(),
        };
        let regex = match operator {
            Operator::Matches | Operator::NotMatches => Some(
                regex::Regex::new(&format!("^(?:{value})$")).map_err(|error| {
                    // The regex crate draws a caret under the anchored pattern, which is not
                    // what the person wrote; its last line says what is wrong.
                    let full = error.to_string();
                    let reason = full.lines().last().unwrap_or(&full);
                    MatcherError::Regex {
                        text: trimmed.to_string(),
                        reason: reason.trim_start_matches("error: ").to_string(),
                    }
                })?,
            ),
            _ => None,
        };
        Ok(Matcher {
            field,
            operator,
            value,
            regex,
        })
    }
}

/// The first operator in the text; `!=`, `=~` and `!~` win over a bare `=` at the same place.
fn find_operator(text: &str) -> Option<(usize, Operator)> {
    let bytes = text.as_bytes();
    for index in 0..bytes.len() {
        match bytes[index] {
            b'!' if bytes.get(index + 1) == Some(&b'=') => {
                return Some((index, Operator::NotEqual))
            }
            b'!' if bytes.get(index + 1) == Some(&b'~') => {
                return Some((index, Operator::NotMatches))
            }
            b'=' if bytes.get(index + 1) == Some(&b'~') => return Some((index, Operator::Matches)),
            b'=' => return Some((index, Operator::Equal)),
            _ => {}
        }
    }
    None
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value)
}

impl fmt::Display for Matcher {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.field {
            Field::Label(name) => name.as_str(),
            Field::Service => "service",
            Field::Severity => "severity",
            Field::Integration => "integration",
        };
        write!(formatter, "{name}{}{}", self.operator.as_str(), self.value)
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        Labels::from(&map)
    }

    fn check(matcher: &str, subject: &Subject<'_>) -> bool {
        matcher.parse::<Matcher>().unwrap().matches(subject)
    }

    #[test]
    fn every_operator_on_labels_and_fields() {
        let labels = labels(&[("env", "prod"), ("team", "db-core")]);
        let subject = Subject {
            labels: &labels,
            service: Some("postgres"),
            severity: Severity::Warning,
            integration: "prometheus",
        };
        let table = [
            ("env=prod", true),
            ("env = prod", true),
            ("env=\"prod\"", true),
            ("env!=prod", false),
            ("env=staging", false),
            ("team=~db-.*", true),
            ("team=~db", false),
            ("team!~db-.*", false),
            ("region!=eu", true),
            ("region=", true),
            ("svc=postgres", true),
            ("service!=postgres", false),
            ("sev=warning", true),
            ("sev=warn", true),
            ("severity=~warning|error", true),
            ("sev!=critical", true),
            ("integration=prometheus", true),
        ];
        for (text, expected) in table {
            assert_eq!(check(text, &subject), expected, "{text}");
        }
    }

    #[test]
    fn bad_matchers_say_what_is_wrong() {
        let cases = [
            ("envprod", "expected NAME=VALUE"),
            ("=prod", "no name"),
            ("sev=urgent", "not a severity"),
            ("team=~(db", "invalid regular expression"),
        ];
        for (text, expected) in cases {
            let error = text.parse::<Matcher>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "env=prod",
            "service!=batch",
            "team=~db-.*",
            "severity=critical",
        ] {
            let matcher: Matcher = text.parse().unwrap();
            assert_eq!(matcher.to_string(), text);
            assert_eq!(matcher.to_string().parse::<Matcher>().unwrap(), matcher);
        }
    }
}
