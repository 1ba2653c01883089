//! Validation of a configuration file's text into a `Config`, collecting every problem with
//! its position. Walks the spanned TOML tree by hand rather than through serde, because
//! serde stops at the first error and we promise to report them all.
//! Depends on `toml`, `humantime`, `crate::ingest::Source` and the rest of `config`; the
//! on-call sections and `[notify]` are checked in the `oncall` and `notify` submodules, into
//! the domain's and `crate::notify`'s types.

mod notify;
mod oncall;

use super::diagnostic::Diagnostic;
use super::{
    default_data_dir, IntegrationConfig, RateLimit, Role, ServerConfig, UserConfig,
    DEFAULT_HEADER_TIMEOUT, DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_RATE_LIMIT, DEFAULT_REPLAY_WINDOW, DEFAULT_REQUEST_TIMEOUT, MAX_BODY_BYTES,
    MAX_KEY_LENGTH, MAX_MESSAGE_BYTES, MAX_NAME_LENGTH, MAX_TOKEN_LENGTH, MIN_BODY_BYTES,
    MIN_MESSAGE_BYTES, MIN_SECRET_LENGTH,
};
use crate::domain::escalation::ContactKind;
use crate::ingest::Source;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// What a configuration file says, before command-line overrides and generated users.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FileConfig {
    pub server: ServerConfig,
    pub integrations: Vec<IntegrationConfig>,
    pub users: Vec<UserConfig>,
    pub oncall: super::OnCallConfig,
}

/// The sources this build can parse: a config naming another one fails at start, not at
/// the first alert.
fn supported_sources() -> Vec<Source> {
    Source::ALL
        .into_iter()
        .filter(|source| source.is_supported())
        .collect()
}

const TOP_LEVEL_KEYS: &[&str] = &[
    "server",
    "integrations",
    "users",
    "teams",
    "schedules",
    "escalation_policies",
    "routing",
    "routes",
    "silences",
    "notify",
];
const SERVER_KEYS: &[&str] = &[
    "listen",
    "data_dir",
    "max_body_bytes",
    "max_message_bytes",
    "header_timeout",
    "request_timeout",
    "replay_window",
];
const INTEGRATION_KEYS: &[&str] = &[
    "name",
    "source",
    "key",
    "service",
    "rate_limit",
    "burst",
    "secret",
    "signature_header",
    "timestamp_header",
    "verify_signature",
    "allowed_topics",
    "insufficient_data_fires",
];
/// Options that only some sources take, with the sources that take them.
const SOURCE_OPTIONS: &[(&str, Source)] = &[
    ("secret", Source::Grafana),
    ("signature_header", Source::Grafana),
    ("timestamp_header", Source::Grafana),
    ("verify_signature", Source::Cloudwatch),
    ("allowed_topics", Source::Cloudwatch),
    ("insufficient_data_fires", Source::Cloudwatch),
];
const USER_KEYS: &[&str] = &["name", "token", "role", "contacts", "notify"];
const ROLES: [(&str, Role); 3] = [
    ("viewer", Role::Viewer),
    ("responder", Role::Responder),
    ("admin", Role::Admin),
];

/// Longest duration accepted for any server duration; far-future timers only hide mistakes
/// and `Instant + Duration` overflows on absurd values.
const MAX_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// Validates `text`, the contents of a configuration file in `base_dir` (relative
/// `data_dir` values are resolved against it). Returns every problem found, in file order.
pub(crate) fn validate(text: &str, base_dir: &Path) -> Result<FileConfig, Vec<Diagnostic>> {
    let (root, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // The tree is partial after a syntax error, so schema errors would only be noise.
        let mut diagnostics: Vec<Diagnostic> = syntax_errors
            .iter()
            .map(|error| {
                let span = error.span().unwrap_or(0..0);
                let message = syntax_message(text, error.message(), span.clone());
                Diagnostic::spanning(text, span, format!("invalid TOML: {message}"))
            })
            .collect();
        sort_and_deduplicate(&mut diagnostics);
        return Err(diagnostics);
    }
    let mut checker = Checker {
        text,
        base_dir,
        diagnostics: Vec::new(),
        integration_names: Seen::default(),
        integration_keys: Seen::default(),
        user_names: Seen::default(),
        user_tokens: Seen::default(),
    };
    let config = checker.root(root.get_ref());
    let mut diagnostics = checker.diagnostics;
    if diagnostics.is_empty() {
        Ok(config)
    } else {
        sort_and_deduplicate(&mut diagnostics);
        Err(diagnostics)
    }
}

/// The parser's message, naming the repeated key or table, which the parser leaves out.
fn syntax_message(text: &str, message: &str, span: Range<usize>) -> String {
    let message = message.trim().replace('\n', " ");
    let repeated = text.get(span.clone()).unwrap_or_default();
    if message != "duplicate key" || repeated.is_empty() || repeated.contains('\n') {
        return message;
    }
    let line_start = text[..span.start].rfind('\n').map_or(0, |index| index + 1);
    if text[line_start..].trim_start().starts_with('[') {
        format!("duplicate table [{repeated}]")
    } else {
        format!("duplicate key \"{repeated}\"")
    }
}

fn sort_and_deduplicate(diagnostics: &mut Vec<Diagnostic>) {
    // Stable, so two problems at one place keep the order they were found in.
    diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
    diagnostics.dedup();
}

type Value<'i> = Spanned<DeValue<'i>>;

struct Checker<'a> {
    text: &'a str,
    base_dir: &'a Path,
    diagnostics: Vec<Diagnostic>,
    // Only values that are otherwise valid take part, so one bad value is one report.
    integration_names: Seen,
    integration_keys: Seen,
    user_names: Seen,
    user_tokens: Seen,
}

#[derive(Clone, Copy)]
enum Unique {
    IntegrationName,
    IntegrationKey,
    UserName,
    UserToken,
}

/// Values that must be unique: where each was first defined (line) and by whom.
#[derive(Default)]
struct Seen {
    first: HashMap<String, (usize, Option<String>)>,
}

impl Seen {
    /// Records `value`, or returns its first definition if it is a repeat.
    fn repeat(
        &mut self,
        value: &str,
        line: usize,
        owner: Option<&str>,
    ) -> Option<(usize, Option<String>)> {
        if let Some(first) = self.first.get(value) {
            return Some(first.clone());
        }
        self.first
            .insert(value.to_string(), (line, owner.map(str::to_string)));
        None
    }
}

impl Checker<'_> {
    fn report(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::spanning(self.text, span, message));
    }

    fn root(&mut self, root: &DeTable<'_>) -> FileConfig {
        self.unknown_keys(root, None, TOP_LEVEL_KEYS);

        let server = match root.get("server") {
            Some(value) => match value.get_ref() {
                DeValue::Table(table) => self.server(table),
                other => {
                    self.report(
                        value.span(),
                        format!(
                            "server: expected a table ([server]), found {}",
                            describe(other)
                        ),
                    );
                    self.server(&DeTable::new())
                }
            },
            None => self.server(&DeTable::new()),
        };

        let integrations = self
            .array_of_tables(root, "integrations")
            .into_iter()
            .enumerate()
            .filter_map(|(index, (table, span))| self.integration(index, table, span))
            .collect::<Vec<_>>();

        // `[notify]` first: a contact method is only usable if its channel is configured.
        let (notify, providers) = self.notify(root);
        let known = oncall::Known::collect(root);
        let mut users = Vec::new();
        let mut people = Vec::new();
        for (index, (table, span)) in self.array_of_tables(root, "users").into_iter().enumerate() {
            users.extend(self.user(index, table, span));
            people.extend(self.person(index, table, &providers));
        }
        let oncall = self.oncall(root, &known, people, notify);

        FileConfig {
            server,
            integrations,
            users,
            oncall,
        }
    }

    /// The tables of a `[[name]]` array, reporting anything else found under `name`.
    fn array_of_tables<'t, 'i>(
        &mut self,
        root: &'t DeTable<'i>,
        name: &str,
    ) -> Vec<(&'t DeTable<'i>, Range<usize>)> {
        let Some(value) = root.get(name) else {
            return Vec::new();
        };
        let DeValue::Array(array) = value.get_ref() else {
            self.report(
                value.span(),
                format!(
                    "{name}: expected an array of tables ([[{name}]]), found {}",
                    describe(value.get_ref())
                ),
            );
            return Vec::new();
        };
        let mut tables = Vec::new();
        for (index, item) in array.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(table) => tables.push((table, item.span())),
                other => self.report(
                    item.span(),
                    format!(
                        "{name}[{index}]: expected a table ([[{name}]]), found {}",
                        describe(other)
                    ),
                ),
            }
        }
        tables
    }

    fn unknown_keys(&mut self, table: &DeTable<'_>, path: Option<&str>, allowed: &[&str]) {
        self.unknown_keys_except(table, path, allowed, &[]);
    }

    /// [`Self::unknown_keys`], leaving out `reported` keys, which the caller explains better.
    fn unknown_keys_except(
        &mut self,
        table: &DeTable<'_>,
        path: Option<&str>,
        allowed: &[&str],
        reported: &[&str],
    ) {
        for key in table.keys() {
            let name: &str = key.get_ref();
            if allowed.contains(&name) || reported.contains(&name) {
                continue;
            }
            let place = match path {
                Some(path) => format!("{path}: unknown key"),
                None => "unknown top-level key".to_string(),
            };
            let hint = match closest(name, allowed) {
                Some(suggestion) => format!("did you mean \"{suggestion}\"?"),
                None => format!("expected one of: {}", allowed.join(", ")),
            };
            self.report(key.span(), format!("{place} \"{name}\"; {hint}"));
        }
    }

    fn server(&mut self, table: &DeTable<'_>) -> ServerConfig {
        self.unknown_keys(table, Some("server"), SERVER_KEYS);

        let listen = table
            .get("listen")
            .and_then(|value| self.listen(value))
            .unwrap_or(DEFAULT_LISTEN);

        let data_dir = table
            .get("data_dir")
            .and_then(|value| {
                let text = self.string(value, "server.data_dir", "a directory path")?;
                if text.trim().is_empty() {
                    self.report(
                        value.span(),
                        "server.data_dir: expected a directory path, found an empty string",
                    );
                    return None;
                }
                Some(resolve_directory(text, self.base_dir))
            })
            .unwrap_or_else(default_data_dir);

        let max_body_bytes = table
            .get("max_body_bytes")
            .and_then(|value| {
                let expected = "an integer number of bytes";
                let bytes = self.integer(value, "server.max_body_bytes", expected)?;
                match usize::try_from(bytes) {
                    Ok(bytes) if (MIN_BODY_BYTES..=MAX_BODY_BYTES).contains(&bytes) => Some(bytes),
                    _ => {
                        self.report(
                            value.span(),
                            format!(
                                "server.max_body_bytes: {bytes} is out of range; expected {MIN_BODY_BYTES} (1 KiB) to {MAX_BODY_BYTES} (64 MiB)"
                            ),
                        );
                        None
                    }
                }
            })
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);

        let max_message_bytes = table
            .get("max_message_bytes")
            .and_then(|value| {
                let expected = "an integer number of bytes";
                let bytes = self.integer(value, "server.max_message_bytes", expected)?;
                match usize::try_from(bytes) {
                    Ok(bytes) if (MIN_MESSAGE_BYTES..=MAX_MESSAGE_BYTES).contains(&bytes) => {
                        Some(bytes)
                    }
                    _ => {
                        self.report(
                            value.span(),
                            format!(
                                "server.max_message_bytes: {bytes} is out of range; expected {MIN_MESSAGE_BYTES} to {MAX_MESSAGE_BYTES} (1 MiB)"
                            ),
                        );
                        None
                    }
                }
            })
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);

        let header_timeout = self.duration(table, "header_timeout", false, DEFAULT_HEADER_TIMEOUT);
        let request_timeout =
            self.duration(table, "request_timeout", false, DEFAULT_REQUEST_TIMEOUT);
        let replay_window = self.duration(table, "replay_window", true, DEFAULT_REPLAY_WINDOW);

        ServerConfig {
            listen,
            data_dir,
            max_body_bytes,
            max_message_bytes,
            header_timeout,
            request_timeout,
            replay_window,
        }
    }

    fn listen(&mut self, value: &Value<'_>) -> Option<SocketAddr> {
        let expected = "an IP address and port such as \"127.0.0.1:9800\" or \"[::1]:9800\"";
        let text = self.string(value, "server.listen", expected)?;
        match text.parse::<SocketAddr>() {
            Ok(address) => Some(address),
            Err(_) => {
                self.report(
                    value.span(),
                    format!("server.listen: invalid address \"{text}\"; expected {expected}"),
                );
                None
            }
        }
    }

    /// A humantime duration under `[server]`; `zero_allowed` for windows where 0 disables.
    fn duration(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        zero_allowed: bool,
        default: Duration,
    ) -> Duration {
        let Some(value) = table.get(key) else {
            return default;
        };
        let path = format!("server.{key}");
        let expected = "a duration such as \"500ms\", \"10s\" or \"5m\"";
        let Some(text) = self.string(value, &path, expected) else {
            return default;
        };
        let duration = match humantime::parse_duration(text) {
            Ok(duration) => duration,
            Err(error) => {
                self.report(
                    value.span(),
                    format!("{path}: invalid duration \"{text}\" ({error}); expected {expected}"),
                );
                return default;
            }
        };
        let too_small = !zero_allowed && duration.is_zero();
        if too_small || duration > MAX_DURATION {
            let range = if zero_allowed {
                "from 0s (off) to 24h"
            } else {
                "above 0s and at most 24h"
            };
            self.report(
                value.span(),
                format!("{path}: \"{text}\" is out of range; expected a duration {range}"),
            );
            return default;
        }
        duration
    }

    fn integration(
        &mut self,
        index: usize,
        table: &DeTable<'_>,
        span: Range<usize>,
    ) -> Option<IntegrationConfig> {
        let path = format!("integrations[{index}]");
        self.unknown_keys(table, Some(&path), INTEGRATION_KEYS);

        let name = self
            .required(table, &span, &path, "name", "a name such as \"prometheus\"")
            .and_then(|value| {
                let name = self.integration_name(value, &path)?;
                let name_path = format!("{path}.name");
                self.unique(
                    Unique::IntegrationName,
                    value.span(),
                    &name_path,
                    &name,
                    None,
                )
                .then_some(name)
            });

        let source = self
            .required(table, &span, &path, "source", &source_list())
            .and_then(|value| self.source(value, &path));

        let key = self
            .required(
                table,
                &span,
                &path,
                "key",
                "a random secret of at least 16 characters",
            )
            .and_then(|value| {
                let key_path = format!("{path}.key");
                let text = self.string(value, &key_path, "a string")?;
                self.secret(
                    value.span(),
                    &key_path,
                    text,
                    MAX_KEY_LENGTH,
                    is_key_character,
                    KEY_CHARACTERS,
                )
                .then_some(())?;
                let owner = raw_string(table, "name");
                self.unique(Unique::IntegrationKey, value.span(), &key_path, text, owner)
                    .then(|| text.to_string())
            });

        let service = match table.get("service") {
            Some(value) => {
                let service_path = format!("{path}.service");
                match self.string(value, &service_path, "a service name") {
                    Some(text) if text.trim().is_empty() => {
                        self.report(
                            value.span(),
                            format!("{service_path}: expected a service name, found an empty string; remove the key for no default service"),
                        );
                        None
                    }
                    Some(text) => Some(Some(text.to_string())),
                    None => None,
                }
            }
            None => Some(None),
        };

        let rate_limit = self.rate_limit(table, &path);
        let options = self.source_options(table, &path, source);

        Some(IntegrationConfig {
            name: name?,
            source: source?,
            key: key?,
            service: service?,
            rate_limit: rate_limit?,
            options: options?,
        })
    }

    /// The options only some sources take; `None` means an error was reported.
    fn source_options(
        &mut self,
        table: &DeTable<'_>,
        path: &str,
        source: Option<Source>,
    ) -> Option<crate::ingest::Options> {
        let mut valid = true;
        for (key, owner) in SOURCE_OPTIONS {
            let Some(value) = table.get(*key) else {
                continue;
            };
            if source.is_some_and(|source| source != *owner) {
                self.report(
                    value.span(),
                    format!(
                        "{path}.{key}: only {} integrations take this option",
                        owner.as_str()
                    ),
                );
                valid = false;
            }
        }
        let mut options = crate::ingest::Options::default();

        let secret = table.get("secret").and_then(|value| {
            let secret_path = format!("{path}.secret");
            let text = self.string(value, &secret_path, "a string")?;
            let length = text.chars().count();
            if length < MIN_SECRET_LENGTH {
                self.report(
                    value.span(),
                    format!("{secret_path}: too short ({length} characters); expected at least {MIN_SECRET_LENGTH} random characters, the same as in Grafana's contact point"),
                );
                return None;
            }
            if length > MAX_TOKEN_LENGTH {
                self.report(
                    value.span(),
                    format!("{secret_path}: too long ({length} characters); expected at most {MAX_TOKEN_LENGTH}"),
                );
                return None;
            }
            Some(text.to_string())
        });
        if table.contains_key("secret") && secret.is_none() {
            valid = false;
        }
        let header = |checker: &mut Self, key: &str| -> Option<Option<String>> {
            let Some(value) = table.get(key) else {
                return Some(None);
            };
            let header_path = format!("{path}.{key}");
            let text = checker.string(value, &header_path, "an HTTP header name")?;
            if http::HeaderName::from_bytes(text.as_bytes()).is_err() {
                checker.report(
                    value.span(),
                    format!("{header_path}: \"{text}\" is not a valid HTTP header name"),
                );
                return None;
            }
            if !table.contains_key("secret") {
                checker.report(
                    value.span(),
                    format!("{header_path}: has no effect without a secret; set secret too"),
                );
                return None;
            }
            Some(Some(text.to_string()))
        };
        let signature_header = header(self, "signature_header");
        let timestamp_header = header(self, "timestamp_header");
        match (secret, signature_header, timestamp_header) {
            (secret, Some(signature_header), Some(timestamp_header)) => {
                options.hmac = secret.map(|secret| crate::ingest::HmacOptions {
                    secret,
                    header: signature_header
                        .unwrap_or_else(|| crate::ingest::GRAFANA_SIGNATURE_HEADER.to_string()),
                    timestamp_header,
                });
            }
            _ => valid = false,
        }

        for (key, slot) in [
            ("verify_signature", &mut options.verify_signature),
            (
                "insufficient_data_fires",
                &mut options.insufficient_data_fires,
            ),
        ] {
            if let Some(value) = table.get(key) {
                match value.get_ref() {
                    DeValue::Boolean(flag) => *slot = *flag,
                    other => {
                        self.report(
                            value.span(),
                            format!(
                                "{path}.{key}: expected true or false, found {}",
                                describe(other)
                            ),
                        );
                        valid = false;
                    }
                }
            }
        }

        if let Some(value) = table.get("allowed_topics") {
            let topics_path = format!("{path}.allowed_topics");
            let expected = "an array of SNS topic ARNs such as [\"arn:aws:sns:us-east-1:123456789012:alarms\"]";
            match value.get_ref() {
                DeValue::Array(items) => {
                    for (index, item) in items.iter().enumerate() {
                        let item_path = format!("{topics_path}[{index}]");
                        let Some(text) = self.string(item, &item_path, "a topic ARN string") else {
                            valid = false;
                            continue;
                        };
                        let segments = text.split(':').count();
                        let arn =
                            text.starts_with("arn:") && (segments == 6 || text.ends_with(":*"));
                        if text == "*" || arn {
                            options.allowed_topics.push(text.to_string());
                        } else {
                            self.report(
                                item.span(),
                                format!("{item_path}: \"{text}\" is not an SNS topic ARN; expected arn:aws:sns:REGION:ACCOUNT:TOPIC (\"*\" matches one whole part, or everything)"),
                            );
                            valid = false;
                        }
                    }
                }
                other => {
                    self.report(
                        value.span(),
                        format!(
                            "{topics_path}: expected {expected}, found {}",
                            describe(other)
                        ),
                    );
                    valid = false;
                }
            }
        }
        valid.then_some(options)
    }

    fn integration_name(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        let name_path = format!("{path}.name");
        let name = self.string(value, &name_path, "a string")?;
        let mut characters = name.chars();
        let first_ok = characters
            .next()
            .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit());
        let rest_ok = characters.all(|character| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || character == '_'
                || character == '-'
        });
        if first_ok && rest_ok && name.len() <= MAX_NAME_LENGTH {
            Some(name.to_string())
        } else {
            self.report(
                value.span(),
                format!(
                    "{name_path}: invalid name \"{name}\"; expected lowercase letters, digits, \"_\" and \"-\", starting with a letter or digit, at most {MAX_NAME_LENGTH} characters"
                ),
            );
            None
        }
    }

    fn source(&mut self, value: &Value<'_>, path: &str) -> Option<Source> {
        let source_path = format!("{path}.source");
        let name = self.string(
            value,
            &source_path,
            &format!("a string naming {}", source_list()),
        )?;
        let Some(source) = Source::ALL
            .into_iter()
            .find(|source| source.as_str() == name)
        else {
            let names = Source::ALL.map(Source::as_str);
            let hint = match closest(name, &names) {
                Some(suggestion) => format!("did you mean \"{suggestion}\"? "),
                None => String::new(),
            };
            self.report(
                value.span(),
                format!(
                    "{source_path}: unknown source \"{name}\"; {hint}expected one of: {}",
                    names.join(", ")
                ),
            );
            return None;
        };
        if !source.is_supported() {
            self.report(
                value.span(),
                format!(
                    "{source_path}: source \"{name}\" is not supported by this version of klaxon yet; supported: {}",
                    supported_list()
                ),
            );
            return None;
        }
        Some(source)
    }

    /// `rate_limit` and `burst`; `Some(None)` is unlimited, `None` means an error was reported.
    fn rate_limit(&mut self, table: &DeTable<'_>, path: &str) -> Option<Option<RateLimit>> {
        let limit_path = format!("{path}.rate_limit");
        let burst_path = format!("{path}.burst");
        let maximum = i128::from(u32::MAX);

        let per_second = match table.get("rate_limit") {
            None => Some(DEFAULT_RATE_LIMIT),
            Some(value) => {
                let expected = "an integer number of requests per second (0 for unlimited)";
                let limit = self.integer(value, &limit_path, expected);
                match limit.map(u32::try_from) {
                    Some(Ok(limit)) => Some(limit),
                    Some(Err(_)) => {
                        self.report(
                            value.span(),
                            format!(
                                "{limit_path}: {} is out of range; expected requests per second from 0 (unlimited) to {maximum}",
                                limit.unwrap_or_default()
                            ),
                        );
                        None
                    }
                    None => None,
                }
            }
        };

        let burst = match table.get("burst") {
            None => Some(None),
            Some(value) => {
                let burst = self.integer(value, &burst_path, "an integer number of requests");
                match burst {
                    Some(burst) if (1..=maximum).contains(&burst) => {
                        if per_second == Some(0) {
                            self.report(
                                value.span(),
                                format!("{burst_path}: has no effect with rate_limit = 0 (unlimited); remove it or set a rate_limit"),
                            );
                            None
                        } else {
                            u32::try_from(burst).ok().map(Some)
                        }
                    }
                    Some(burst) => {
                        self.report(
                            value.span(),
                            format!(
                                "{burst_path}: {burst} is out of range; expected 1 to {maximum}"
                            ),
                        );
                        None
                    }
                    None => None,
                }
            }
        };

        let (per_second, burst) = (per_second?, burst?);
        if per_second == 0 {
            return Some(None);
        }
        Some(Some(RateLimit {
            per_second,
            burst: burst.unwrap_or_else(|| per_second.saturating_mul(2)),
        }))
    }

    fn user(
        &mut self,
        index: usize,
        table: &DeTable<'_>,
        span: Range<usize>,
    ) -> Option<UserConfig> {
        let path = format!("users[{index}]");
        // `email = "…"` right under a user is the likeliest slip now that users have contacts.
        let kinds = ContactKind::ALL.map(ContactKind::as_str);
        for key in table.keys() {
            let name: &str = key.get_ref();
            if kinds.contains(&name) {
                self.report(
                    key.span(),
                    format!("{path}: \"{name}\" is a contact method; put it under [users.contacts] ({name} = …)"),
                );
            }
        }
        self.unknown_keys_except(table, Some(&path), USER_KEYS, &kinds);

        let name = self
            .required(table, &span, &path, "name", "a user name such as \"alice\"")
            .and_then(|value| {
                let name_path = format!("{path}.name");
                let name = self.string(value, &name_path, "a string")?;
                let valid = !name.is_empty()
                    && name.chars().count() <= MAX_NAME_LENGTH
                    && name.chars().all(is_user_name_character);
                if valid {
                    self.unique(Unique::UserName, value.span(), &name_path, name, None)
                        .then(|| name.to_string())
                } else {
                    self.report(
                        value.span(),
                        format!("{name_path}: invalid user name \"{name}\"; expected 1 to {MAX_NAME_LENGTH} letters, digits, \".\", \"_\", \"-\" or \"@\""),
                    );
                    None
                }
            });

        let token = self
            .required(
                table,
                &span,
                &path,
                "token",
                "a random secret of at least 16 characters",
            )
            .and_then(|value| {
                let token_path = format!("{path}.token");
                let text = self.string(value, &token_path, "a string")?;
                self.secret(
                    value.span(),
                    &token_path,
                    text,
                    MAX_TOKEN_LENGTH,
                    is_token_character,
                    TOKEN_CHARACTERS,
                )
                .then_some(())?;
                let owner = raw_string(table, "name");
                self.unique(Unique::UserToken, value.span(), &token_path, text, owner)
                    .then(|| text.to_string())
            });

        let role = self
            .required(table, &span, &path, "role", "viewer, responder or admin")
            .and_then(|value| {
                let role_path = format!("{path}.role");
                let text = self.string(value, &role_path, "a string: viewer, responder or admin")?;
                let role = ROLES.iter().find(|(name, _)| *name == text).map(|(_, role)| *role);
                if role.is_none() {
                    let names = ROLES.map(|(name, _)| name);
                    let hint = match closest(text, &names) {
                        Some(suggestion) => format!("did you mean \"{suggestion}\"? "),
                        None => String::new(),
                    };
                    self.report(
                        value.span(),
                        format!("{role_path}: unknown role \"{text}\"; {hint}expected one of: viewer, responder, admin"),
                    );
                }
                role
            });

        Some(UserConfig {
            name: name?,
            token: token?,
            role: role?,
        })
    }

    /// Records a value that must be unique; reports a repeat and returns false.
    fn unique(
        &mut self,
        what: Unique,
        span: Range<usize>,
        path: &str,
        value: &str,
        owner: Option<&str>,
    ) -> bool {
        let line = self.line_of(span.start);
        let seen = match what {
            Unique::IntegrationName => &mut self.integration_names,
            Unique::IntegrationKey => &mut self.integration_keys,
            Unique::UserName => &mut self.user_names,
            Unique::UserToken => &mut self.user_tokens,
        };
        let Some((first_line, first_owner)) = seen.repeat(value, line, owner) else {
            return true;
        };
        let whose = |kind: &str| match &first_owner {
            Some(name) => format!("{kind} \"{name}\""),
            None => format!("another {kind}"),
        };
        // Keys and tokens are never echoed: reports end up in logs and chat.
        let message = match what {
            Unique::IntegrationName => format!(
                "{path}: duplicate integration name \"{value}\"; first defined at line {first_line}"
            ),
            Unique::UserName => format!(
                "{path}: duplicate user name \"{value}\"; first defined at line {first_line}"
            ),
            Unique::IntegrationKey => format!(
                "{path}: same key as {} (line {first_line}); keys must be unique",
                whose("integration")
            ),
            Unique::UserToken => format!(
                "{path}: same token as {} (line {first_line}); tokens must be unique",
                whose("user")
            ),
        };
        self.report(span, message);
        false
    }

    fn line_of(&self, offset: usize) -> usize {
        super::diagnostic::line_column(self.text, offset).0
    }

    /// Checks a key or token; reports (without echoing the secret) and returns false if bad.
    fn secret(
        &mut self,
        span: Range<usize>,
        path: &str,
        text: &str,
        maximum: usize,
        allowed: fn(char) -> bool,
        allowed_description: &str,
    ) -> bool {
        let mut valid = true;
        if let Some(bad) = text.chars().find(|character| !allowed(*character)) {
            self.report(
                span.clone(),
                format!("{path}: contains {}, which is not allowed; expected only {allowed_description}", show_character(bad)),
            );
            valid = false;
        }
        let length = text.chars().count();
        if length < MIN_SECRET_LENGTH {
            self.report(
                span,
                format!("{path}: too short ({length} characters); expected at least {MIN_SECRET_LENGTH} random characters"),
            );
            valid = false;
        } else if length > maximum {
            self.report(
                span,
                format!("{path}: too long ({length} characters); expected at most {maximum}"),
            );
            valid = false;
        }
        valid
    }

    /// A required key's value, reporting its absence at the table's header.
    fn required<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        table_span: &Range<usize>,
        path: &str,
        key: &str,
        expected: &str,
    ) -> Option<&'t Value<'i>> {
        let value = table.get(key);
        if value.is_none() {
            self.report(
                table_span.clone(),
                format!("{path}: missing required key \"{key}\"; expected {expected}"),
            );
        }
        value
    }

    fn string<'v>(&mut self, value: &'v Value<'_>, path: &str, expected: &str) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(text) => Some(text),
            other => {
                self.report(
                    value.span(),
                    format!("{path}: expected {expected}, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// An integer within `range`, or a report saying so.
    fn bounded_integer(
        &mut self,
        value: &Value<'_>,
        path: &str,
        expected: &str,
        range: std::ops::RangeInclusive<i128>,
    ) -> Option<i128> {
        let number = self.integer(value, path, expected)?;
        if range.contains(&number) {
            return Some(number);
        }
        self.report(
            value.span(),
            format!(
                "{path}: {number} is out of range; expected {} to {}",
                range.start(),
                range.end()
            ),
        );
        None
    }

    fn boolean(&mut self, value: &Value<'_>, path: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(flag) => Some(*flag),
            other => {
                self.report(
                    value.span(),
                    format!("{path}: expected true or false, found {}", describe(other)),
                );
                None
            }
        }
    }

    /// A humantime duration up to `maximum` (written as `maximum_text` in messages); zero only
    /// when `zero_allowed`.
    fn bounded_duration(
        &mut self,
        value: &Value<'_>,
        path: &str,
        zero_allowed: bool,
        maximum: (Duration, &str),
    ) -> Option<Duration> {
        let expected = "a duration such as \"30s\", \"5m\" or \"1h 30m\"";
        let text = self.string(value, path, expected)?;
        let duration = match humantime::parse_duration(text) {
            Ok(duration) => duration,
            Err(error) => {
                self.report(
                    value.span(),
                    format!("{path}: invalid duration \"{text}\" ({error}); expected {expected}"),
                );
                return None;
            }
        };
        if (!zero_allowed && duration.is_zero()) || duration > maximum.0 {
            let lowest = if zero_allowed {
                "from 0s"
            } else {
                "above 0s and"
            };
            self.report(
                value.span(),
                format!(
                    "{path}: \"{text}\" is out of range; expected a duration {lowest} at most {}",
                    maximum.1
                ),
            );
            return None;
        }
        Some(duration)
    }

    /// The table under `key` of `parent` (`[header]`), reporting any other type.
    fn table_at<'t, 'i>(
        &mut self,
        parent: &'t DeTable<'i>,
        key: &str,
        path: &str,
        header: &str,
    ) -> Option<(&'t DeTable<'i>, Range<usize>)> {
        let value = parent.get(key)?;
        match value.get_ref() {
            DeValue::Table(table) => Some((table, value.span())),
            other => {
                self.report(
                    value.span(),
                    format!(
                        "{path}: expected a table ({header}), found {}",
                        describe(other)
                    ),
                );
                None
            }
        }
    }

    /// The tables of an array of tables under `key` of a nested table (`[[header]]`), with
    /// their spans, reporting anything else; `None` when the key is absent.
    fn tables_at<'t, 'i>(
        &mut self,
        parent: &'t DeTable<'i>,
        key: &str,
        path: &str,
        header: &str,
    ) -> Option<Vec<(&'t DeTable<'i>, Range<usize>)>> {
        let value = parent.get(key)?;
        let DeValue::Array(array) = value.get_ref() else {
            self.report(
                value.span(),
                format!(
                    "{path}: expected an array of tables ({header}), found {}",
                    describe(value.get_ref())
                ),
            );
            return Some(Vec::new());
        };
        let mut tables = Vec::new();
        for (index, item) in array.iter().enumerate() {
            match item.get_ref() {
                DeValue::Table(table) => tables.push((table, item.span())),
                other => self.report(
                    item.span(),
                    format!(
                        "{path}[{index}]: expected a table ({header}), found {}",
                        describe(other)
                    ),
                ),
            }
        }
        Some(tables)
    }

    /// The strings of an array with their index and span; other items are reported and left
    /// out, and `None` (after a report) means the value is not an array at all.
    fn string_items<'v>(
        &mut self,
        value: &'v Value<'_>,
        path: &str,
        expected: &str,
        item_expected: &str,
    ) -> Option<Vec<(usize, &'v str, Range<usize>)>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.report(
                value.span(),
                format!(
                    "{path}: expected {expected}, found {}",
                    describe(value.get_ref())
                ),
            );
            return None;
        };
        let mut strings = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{index}]");
            if let Some(text) = self.string(item, &item_path, item_expected) {
                strings.push((index, text, item.span()));
            }
        }
        Some(strings)
    }

    fn integer(&mut self, value: &Value<'_>, path: &str, expected: &str) -> Option<i128> {
        match value.get_ref() {
            DeValue::Integer(integer) => {
                match i128::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(number) => Some(number),
                    Err(_) => {
                        self.report(
                            value.span(),
                            format!("{path}: {integer} is out of range; expected {expected}"),
                        );
                        None
                    }
                }
            }
            other => {
                self.report(
                    value.span(),
                    format!("{path}: expected {expected}, found {}", describe(other)),
                );
                None
            }
        }
    }
}

/// A string value as written, valid or not, to name the owner of a repeated secret.
fn raw_string<'t>(table: &'t DeTable<'_>, key: &str) -> Option<&'t str> {
    match table.get(key)?.get_ref() {
        DeValue::String(text) => Some(text),
        _ => None,
    }
}

const KEY_CHARACTERS: &str = "letters, digits, \"_\" and \"-\" (the key is part of a URL)";
const TOKEN_CHARACTERS: &str =
    "letters, digits and \"-\", \".\", \"_\", \"~\", \"+\", \"/\", \"=\" (a Bearer token)";

fn is_key_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || character == '_' || character == '-'
}

/// RFC 6750's `b64token` alphabet, so any token can travel in an `Authorization: Bearer`
/// header unchanged.
fn is_token_character(character: char) -> bool {
    character.is_ascii_alphanumeric() || "-._~+/=".contains(character)
}

/// User names show up in timelines and on the command line, so keep them to one word; `@` and
/// `.` let e-mail addresses serve as names.
fn is_user_name_character(character: char) -> bool {
    character.is_alphanumeric() || "._-@".contains(character)
}

fn show_character(character: char) -> String {
    match character {
        ' ' => "a space".to_string(),
        character if character.is_control() || character.is_whitespace() => {
            format!("{}", character.escape_default())
        }
        character => format!("\"{character}\""),
    }
}

/// What a `source` value should be, for messages.
fn source_list() -> String {
    let names: Vec<&str> = supported_sources()
        .into_iter()
        .map(Source::as_str)
        .collect();
    match names.split_last() {
        Some((last, rest)) => format!("the payload format: {} or {last}", rest.join(", ")),
        None => "the payload format".to_string(),
    }
}

fn supported_list() -> String {
    let names: Vec<&str> = supported_sources()
        .into_iter()
        .map(Source::as_str)
        .collect();
    names.join(", ")
}

/// A value's type for messages, with its article ("an integer").
fn describe(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// `~/…` is expanded to the home directory, and a relative path is taken relative to the
/// configuration file's directory, so that a config works whatever the working directory.
fn resolve_directory(text: &str, base_dir: &Path) -> PathBuf {
    let home = || directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf());
    if text == "~" {
        if let Some(home) = home() {
            return home;
        }
    } else if let Some(rest) = text.strip_prefix("~/") {
        if let Some(home) = home() {
            return home.join(rest);
        }
    }
    let path = Path::new(text);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

/// The allowed word closest to a misspelt one, if it is close enough to be a typo.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|candidate| (edit_distance(word, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2 && *distance < candidate.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_character) in left.chars().enumerate() {
        let mut current = vec![row + 1; right.len() + 1];
        for (column, right_character) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_character != *right_character);
            current[column + 1] = substitution
                .min(previous[column + 1] + 1)
                .min(current[column] + 1);
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        validate(text, Path::new("/etc/klaxon"))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let config = validate("", Path::new("/")).unwrap();
        assert_eq!(config.server.listen, DEFAULT_LISTEN);
        assert_eq!(config.server.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
        assert_eq!(config.server.header_timeout, DEFAULT_HEADER_TIMEOUT);
        assert!(config.integrations.is_empty());
        assert!(config.users.is_empty());
    }

    #[test]
    fn rate_limit_defaults_and_unlimited() {
        let text = r#"
[[integrations]]
name = "a"
source = "generic"
key = "0123456789abcdef"

[[integrations]]
name = "b"
source = "generic"
key = "0123456789abcdeg"
rate_limit = 0

[[integrations]]
name = "c"
source = "pagerduty"
key = "0123456789abcdeh"
rate_limit = 5
"#;
        let config = validate(text, Path::new("/")).unwrap();
        let limits: Vec<_> = config.integrations.iter().map(|i| i.rate_limit).collect();
        assert_eq!(
            limits,
            vec![
                Some(RateLimit {
                    per_second: 1000,
                    burst: 2000
                }),
                None,
                Some(RateLimit {
                    per_second: 5,
                    burst: 10
                }),
            ]
        );
    }

    #[test]
    fn relative_data_dir_is_relative_to_the_file() {
        let config =
            validate("[server]\ndata_dir = \"state\"\n", Path::new("/etc/klaxon")).unwrap();
        assert_eq!(config.server.data_dir, PathBuf::from("/etc/klaxon/state"));
        let config = validate("[server]\ndata_dir = \"/var/lib/k\"\n", Path::new("/etc")).unwrap();
        assert_eq!(config.server.data_dir, PathBuf::from("/var/lib/k"));
    }

    #[test]
    fn secrets_are_never_echoed() {
        let text = "[[users]]\nname = \"a\"\ntoken = \"sh ort\"\nrole = \"admin\"\n";
        let report = messages(text).join("\n");
        assert!(!report.contains("sh ort"), "{report}");
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(closest("lisen", SERVER_KEYS), Some("listen"));
        assert_eq!(closest("integration", TOP_LEVEL_KEYS), Some("integrations"));
        assert_eq!(closest("zzzz", SERVER_KEYS), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn integer_radix_and_sign() {
        let text = "[server]\nmax_body_bytes = 0x400\n";
        assert_eq!(
            validate(text, Path::new("/"))
                .unwrap()
                .server
                .max_body_bytes,
            1024
        );
        let report = messages("[server]\nmax_body_bytes = -5\n");
        assert_eq!(
            report,
            vec!["2:18: server.max_body_bytes: -5 is out of range; expected 1024 (1 KiB) to 67108864 (64 MiB)"]
        );
    }
}
