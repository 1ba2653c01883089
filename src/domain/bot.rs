//! The channel's bot: a message starting with `/` is a command, answered in the channel.
//! Parsing is pure; the engine carries commands out.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotCommand {
    Help,
    /// Age, state, who is on it, what has been tried.
    Status,
    Acknowledge,
    Resolve,
    Assign(String),
    /// Page someone now through their own notification rules.
    Page(String),
    /// Past incidents and messages that match.
    Search(String),
    /// Past resolved incidents like this one, and how they were resolved.
    Similar,
}

/// A command the bot cannot carry out as written; answered with what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotError {
    pub message: String,
}

impl fmt::Display for BotError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

/// One line per command, for `/help` and for answers to mistakes.
pub const HELP: &str = "commands: /status (age, state, who is on it, what was tried) · \
/similar (past incidents like this one) · /search TEXT (incidents and messages) · /ack · \
/resolve · /assign USER · /page USER (page someone now) · /help";

const NAMES: [&str; 9] = [
    "help",
    "status",
    "ack",
    "resolve",
    "assign",
    "page",
    "search",
    "similar",
    "acknowledge",
];

impl BotCommand {
    /// `None` when the text is an ordinary message; a message that starts with `//` is an
    /// ordinary message starting with `/` (the first slash escapes it).
    pub fn parse(text: &str) -> Option<Result<BotCommand, BotError>> {
        let trimmed = text.trim_start();
        let body = trimmed.strip_prefix('/')?;
        if body.starts_with('/') || body.is_empty() || body.starts_with(char::is_whitespace) {
            return None;
        }
        let (name, rest) = match body.find(char::is_whitespace) {
            Some(at) => (&body[..at], body[at..].trim()),
            None => (body, ""),
        };
        let name = name.to_ascii_lowercase();
        let needs = |what: &str| BotError {
            message: format!("/{name} needs {what}, like /{name} {}", example(&name)),
        };
        let takes_nothing = |command: BotCommand| {
            if rest.is_empty() {
                Ok(command)
            } else {
                Err(BotError {
                    message: format!("/{name} takes nothing after it; {HELP}"),
                })
            }
        };
        Some(match name.as_str() {
            "help" => Ok(BotCommand::Help),
            "status" => takes_nothing(BotCommand::Status),
            "ack" | "acknowledge" => takes_nothing(BotCommand::Acknowledge),
            "resolve" => takes_nothing(BotCommand::Resolve),
            "similar" => takes_nothing(BotCommand::Similar),
            "assign" | "page" => {
                let mut words = rest.split_whitespace();
                match (words.next(), words.next()) {
                    (None, _) => Err(needs("a user")),
                    (Some(user), None) if name == "assign" => Ok(BotCommand::Assign(user.into())),
                    (Some(user), None) => Ok(BotCommand::Page(user.into())),
                    (Some(_), Some(_)) => Err(BotError {
                        message: format!("/{name} takes one user name, like /{name} bob"),
                    }),
                }
            }
            "search" if rest.is_empty() => Err(needs("something to look for")),
            "search" => Ok(BotCommand::Search(rest.to_string())),
            _ => Err(BotError {
                message: match closest(&name) {
                    Some(near) => format!("unknown command /{name}; did you mean /{near}? {HELP}"),
                    None => format!("unknown command /{name}. {HELP}"),
                },
            }),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            BotCommand::Help => "help",
            BotCommand::Status => "status",
            BotCommand::Acknowledge => "ack",
            BotCommand::Resolve => "resolve",
            BotCommand::Assign(_) => "assign",
            BotCommand::Page(_) => "page",
            BotCommand::Search(_) => "search",
            BotCommand::Similar => "similar",
        }
    }
}

fn example(name: &str) -> &'static str {
    match name {
        "search" => "pgbouncer timeout",
        _ => "bob",
    }
}

/// The command a typo most likely meant: a prefix, or within two edits (a swap of two
/// neighbouring letters counts as one).
fn closest(word: &str) -> Option<&'static str> {
    NAMES
        .into_iter()
        .filter(|name| {
            name.starts_with(word) || word.starts_with(name) || distance(word, name) <= 2
        })
        .min_by_key(|name| distance(word, name))
}

/// Optimal string alignment distance.
fn distance(left: &str, right: &str) -> usize {
    let (left, right): (Vec<char>, Vec<char>) = (left.chars().collect(), right.chars().collect());
    let mut rows = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (index, row) in rows.iter_mut().enumerate() {
        row[0] = index;
    }
    for (column, cell) in rows[0].iter_mut().enumerate() {
        *cell = column;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[left.len()][right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Option<Result<BotCommand, String>> {
        BotCommand::parse(text).map(|result| result.map_err(|error| error.message))
    }

    #[test]
    fn commands_and_ordinary_messages() {
        let table = [
            ("restarted pgbouncer", None),
            ("/ack", Some(Ok(BotCommand::Acknowledge))),
            ("  /ACK", Some(Ok(BotCommand::Acknowledge))),
            ("/status", Some(Ok(BotCommand::Status))),
            ("/similar", Some(Ok(BotCommand::Similar))),
            ("/assign bob", Some(Ok(BotCommand::Assign("bob".into())))),
            ("/page  carol ", Some(Ok(BotCommand::Page("carol".into())))),
            (
                "/search pgbouncer timeout",
                Some(Ok(BotCommand::Search("pgbouncer timeout".into()))),
            ),
            ("/help", Some(Ok(BotCommand::Help))),
            ("//etc/hosts was wrong", None),
            ("/ alone", None),
            ("/", None),
        ];
        for (text, expected) in table {
            assert_eq!(parsed(text), expected, "{text}");
        }
    }

    #[test]
    fn mistakes_are_answered_with_what_was_expected() {
        let table = [
            ("/assign", "/assign needs a user, like /assign bob"),
            ("/page bob carol", "/page takes one user name"),
            ("/search", "/search needs something to look for"),
            ("/ack now", "/ack takes nothing after it"),
            ("/statsu", "unknown command /statsu; did you mean /status?"),
            ("/simlar", "did you mean /similar?"),
            ("/reboot", "unknown command /reboot. commands: /status"),
        ];
        for (text, expected) in table {
            let error = parsed(text).unwrap().unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
