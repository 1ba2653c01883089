//! `[notify]`: how notifications reach the world — the SMTP server for email, providers' HTTP
//! APIs for SMS and voice as request templates, timeouts and throttling — into
//! `crate::notify::NotifySettings`, with every template placeholder checked.

use super::oncall::is_email_address;
use super::{closest, Checker, Value};
use crate::notify::{EmailSettings, HttpTemplate, NotifySettings, SmtpSecurity, TemplateBody};
use std::ops::Range;
use std::time::Duration;
use toml::de::DeTable;

const NOTIFY_KEYS: &[&str] = &[
    "timeout",
    "max_attempts",
    "per_minute",
    "public_url",
    "email",
    "sms",
    "voice",
];
const EMAIL_KEYS: &[&str] = &["host", "port", "security", "username", "password", "from"];
const PROVIDER_KEYS: &[&str] = &["method", "url", "basic_auth", "headers", "form", "json"];
const BASIC_AUTH_KEYS: &[&str] = &["username", "password"];
const METHODS: [&str; 4] = ["GET", "POST", "PUT", "PATCH"];
const SECURITIES: [(&str, SmtpSecurity, u16); 3] = [
    ("starttls", SmtpSecurity::StartTls, 587),
    ("tls", SmtpSecurity::Tls, 465),
    ("plain", SmtpSecurity::Plain, 25),
];
const MAX_TIMEOUT: (Duration, &str) = (Duration::from_secs(10 * 60), "10m");
const MAX_ATTEMPTS: i128 = 20;
const MAX_PER_MINUTE: i128 = 600;

/// What a provider template may refer to. The notify module fills them in; until its own
/// `check_template` is merged, this list is the contract between the two.
pub(super) const PLACEHOLDERS: [&str; 11] = [
    "to",
    "message",
    "voice_message",
    "user",
    "incident.id",
    "incident.title",
    "incident.severity",
    "incident.service",
    "incident.url",
    "ack_command",
    "public_url",
];

/// Which channels `[notify]` configures, mistakes and all (those are reported there), so a
/// contact method of a channel that is missing can be refused.
pub(super) struct Providers {
    pub(super) email: bool,
    pub(super) sms: bool,
    pub(super) voice: bool,
}

impl Checker<'_> {
    pub(super) fn notify(&mut self, root: &DeTable<'_>) -> (NotifySettings, Providers) {
        let mut settings = NotifySettings::default();
        let Some((table, _)) = self.table_at(root, "notify", "notify", "[notify]") else {
            let providers = Providers {
                email: false,
                sms: false,
                voice: false,
            };
            return (settings, providers);
        };
        self.unknown_keys(table, Some("notify"), NOTIFY_KEYS);
        let providers = Providers {
            email: table.contains_key("email"),
            sms: table.contains_key("sms"),
            voice: table.contains_key("voice"),
        };

        if let Some(value) = table.get("timeout") {
            settings.timeout = self.bounded_duration(value, "notify.timeout", false, MAX_TIMEOUT);
        }
        if let Some(value) = table.get("max_attempts") {
            settings.max_attempts = self
                .bounded_integer(
                    value,
                    "notify.max_attempts",
                    "an integer number of attempts",
                    1..=MAX_ATTEMPTS,
                )
                .and_then(|attempts| u32::try_from(attempts).ok());
        }
        if let Some(value) = table.get("per_minute") {
            settings.per_minute = self
                .bounded_integer(
                    value,
                    "notify.per_minute",
                    "an integer number of notifications per contact method per minute",
                    1..=MAX_PER_MINUTE,
                )
                .and_then(|count| u32::try_from(count).ok());
        }
        if let Some(value) = table.get("public_url") {
            let expected =
                "the engine's URL as people reach it, such as \"https://klaxon.example.com\"";
            if let Some(text) = self.string(value, "notify.public_url", expected) {
                match http_url(text) {
                    Ok(()) => settings.public_url = Some(text.to_string()),
                    Err(problem) => self.report(
                        value.span(),
                        format!("notify.public_url: {problem}; expected {expected}"),
                    ),
                }
            }
        }

        if let Some((email, span)) = self.table_at(table, "email", "notify.email", "[notify.email]")
        {
            settings.email = self.email(email, span);
        }
        for (key, slot) in [("sms", &mut settings.sms), ("voice", &mut settings.voice)] {
            let path = format!("notify.{key}");
            if let Some((provider, span)) =
                self.table_at(table, key, &path, &format!("[notify.{key}]"))
            {
                *slot = self.http_template(provider, span, &path);
            }
        }
        (settings, providers)
    }

    fn email(&mut self, table: &DeTable<'_>, span: Range<usize>) -> Option<EmailSettings> {
        let path = "notify.email";
        self.unknown_keys(table, Some(path), EMAIL_KEYS);
        let host_expected = "the SMTP server's host name or address such as \"smtp.example.com\"";
        let host = self
            .required(table, &span, path, "host", host_expected)
            .and_then(|value| {
                let text = self.string(value, "notify.email.host", host_expected)?;
                let valid = !text.is_empty()
                    && !text.contains("://")
                    && !text.chars().any(|character| character.is_whitespace() || character == '/');
                if !valid {
                    self.report(
                        value.span(),
                        format!("notify.email.host: invalid host \"{text}\"; expected {host_expected}, without a scheme or port"),
                    );
                    return None;
                }
                Some(text.to_string())
            });

        let security = match table.get("security") {
            None => Some(SECURITIES[0]),
            Some(value) => self.security(value),
        };
        let port = match table.get("port") {
            None => security.map(|(_, _, port)| port),
            Some(value) => self
                .bounded_integer(value, "notify.email.port", "a TCP port number", 1..=65535)
                .and_then(|port| u16::try_from(port).ok()),
        };

        let username = table.get("username").and_then(|value| {
            self.string(value, "notify.email.username", "a string")
                .map(str::to_string)
        });
        let password = table.get("password").and_then(|value| {
            self.string(value, "notify.email.password", "a string")
                .map(str::to_string)
        });
        for (present, missing) in [("username", "password"), ("password", "username")] {
            if let (Some(value), false) = (table.get(present), table.contains_key(missing)) {
                self.report(
                    value.span(),
                    format!("notify.email.{present}: given without {missing}; SMTP login needs both, or neither for a relay that takes mail without one"),
                );
            }
        }

        let from_expected =
            "the sender such as \"klaxon@example.com\" or \"klaxon <klaxon@example.com>\"";
        let from = self
            .required(table, &span, path, "from", from_expected)
            .and_then(|value| {
                let text = self.string(value, "notify.email.from", from_expected)?;
                if !is_mailbox(text) {
                    self.report(
                        value.span(),
                        format!("notify.email.from: \"{text}\" is not an e-mail address; expected {from_expected}"),
                    );
                    return None;
                }
                Some(text.to_string())
            });

        Some(EmailSettings {
            host: host?,
            port: port?,
            security: security?.1,
            username,
            password,
            from: from?,
        })
    }

    fn security(&mut self, value: &Value<'_>) -> Option<(&'static str, SmtpSecurity, u16)> {
        let path = "notify.email.security";
        let text = self.string(value, path, "a string: starttls, tls or plain")?;
        if let Some(found) = SECURITIES.iter().find(|(name, _, _)| *name == text) {
            return Some(*found);
        }
        let names = SECURITIES.map(|(name, _, _)| name);
        let hint = closest(text, &names)
            .map(|suggestion| format!("did you mean \"{suggestion}\"? "))
            .unwrap_or_default();
        self.report(
            value.span(),
            format!("{path}: unknown security \"{text}\"; {hint}expected starttls (port 587), tls (port 465) or plain (port 25, no encryption: a local relay only)"),
        );
        None
    }

    /// `[notify.sms]` or `[notify.voice]`: one HTTP request per message.
    fn http_template(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        path: &str,
    ) -> Option<HttpTemplate> {
        self.unknown_keys(table, Some(path), PROVIDER_KEYS);
        // Whether the person's own number reaches the provider anywhere in the request.
        let mut uses_to = false;
        let mut valid = true;

        let method = match table.get("method") {
            None => Some("POST".to_string()),
            Some(value) => {
                let method_path = format!("{path}.method");
                self.string(value, &method_path, "a string: GET, POST, PUT or PATCH")
                    .and_then(|text| {
                        let upper = text.to_ascii_uppercase();
                        if METHODS.contains(&upper.as_str()) {
                            return Some(upper);
                        }
                        self.report(
                            value.span(),
                            format!("{method_path}: unknown method \"{text}\"; expected GET, POST, PUT or PATCH"),
                        );
                        None
                    })
            }
        };

        let url_expected = "the provider's API URL such as \"https://api.twilio.com/2010-04-01/Accounts/ACXXXX/Messages.json\"";
        let url = self
            .required(table, &span, path, "url", url_expected)
            .and_then(|value| {
                let url_path = format!("{path}.url");
                let text = self.string(value, &url_path, url_expected)?;
                let names = self.placeholders(text, value.span(), &url_path)?;
                uses_to |= names.contains(&"to");
                if let Err(problem) = http_url(&fill(text, "x")) {
                    self.report(
                        value.span(),
                        format!("{url_path}: {problem}; expected {url_expected}"),
                    );
                    return None;
                }
                Some(text.to_string())
            });

        let basic_auth = match self.table_at(
            table,
            "basic_auth",
            &format!("{path}.basic_auth"),
            "{ username = \"…\", password = \"…\" }",
        ) {
            None => {
                valid &= !table.contains_key("basic_auth");
                None
            }
            Some((auth, auth_span)) => {
                let auth_path = format!("{path}.basic_auth");
                self.unknown_keys(auth, Some(&auth_path), BASIC_AUTH_KEYS);
                let part = |checker: &mut Self, key: &str| {
                    checker
                        .required(auth, &auth_span, &auth_path, key, "a string")
                        .and_then(|value| {
                            checker
                                .string(value, &format!("{auth_path}.{key}"), "a string")
                                .map(str::to_string)
                        })
                };
                let username = part(self, "username");
                let password = part(self, "password");
                match (username, password) {
                    (Some(username), Some(password)) => Some((username, password)),
                    _ => {
                        valid = false;
                        None
                    }
                }
            }
        };

        let headers = self.string_table(table, "headers", path, &mut uses_to, header_problem);
        let form = self.string_table(table, "form", path, &mut uses_to, |_, _| None);

        let json = table.get("json").and_then(|value| {
            let json_path = format!("{path}.json");
            let expected =
                "a JSON document such as '{\"to\": \"{{to}}\", \"text\": \"{{message}}\"}'";
            let text = self.string(value, &json_path, expected)?;
            let names = self.placeholders(text, value.span(), &json_path)?;
            uses_to |= names.contains(&"to");
            // Values are JSON-string-escaped, so placeholders belong inside strings; only
            // the incident id, all digits, may stand alone as a number.
            let sample = fill_with(text, |name| if name == "incident.id" { "0" } else { "x" });
            if let Err(error) = serde_json::from_str::<serde_json::Value>(&sample) {
                self.report(
                    value.span(),
                    format!("{json_path}: not valid JSON ({error}, placeholders filled in); placeholders go inside JSON strings, only {{{{incident.id}}}} may stand alone; expected {expected}"),
                );
                return None;
            }
            Some(text.to_string())
        });
        valid &= json.is_some() || !table.contains_key("json");

        if table.contains_key("form") && table.contains_key("json") {
            let json_span = table.get("json").map_or(span.clone(), |value| value.span());
            self.report(
                json_span,
                format!("{path}.json: form and json are exclusive; the request body is one or the other"),
            );
            valid = false;
        }
        valid &= !matches!(headers, Some(None)) && !matches!(form, Some(None));
        let body = match (json, form.flatten()) {
            (Some(json), _) => TemplateBody::Json(json),
            (None, Some(form)) => TemplateBody::Form(form),
            (None, None) => TemplateBody::None,
        };

        if url.is_some() && !uses_to && valid {
            self.report(
                span,
                format!("{path}: the template never uses {{{{to}}}}, so every message would go to the same number whoever is paged; put {{{{to}}}} in url, headers, form or json"),
            );
            return None;
        }
        Some(HttpTemplate {
            method: method?,
            url: url?,
            headers: headers.flatten().unwrap_or_default(),
            body,
            basic_auth,
        })
        .filter(|_| valid)
    }

    /// A table of strings (`headers`, `form`) in file order, each value a template;
    /// `problem` checks a name and its value (with placeholders filled in), and says which is
    /// wrong and how. `None`: absent; `Some(None)`: present with a mistake, reported.
    fn string_table(
        &mut self,
        table: &DeTable<'_>,
        key: &str,
        path: &str,
        uses_to: &mut bool,
        problem: fn(&str, &str) -> Option<(Field, String)>,
    ) -> Option<Option<Vec<(String, String)>>> {
        let table_path = format!("{path}.{key}");
        let header = format!("{{ Name = \"value\", … }} or [{table_path}]");
        let Some((fields, _)) = self.table_at(table, key, &table_path, &header) else {
            return table.contains_key(key).then_some(None);
        };
        let mut entries: Vec<_> = fields.iter().collect();
        entries.sort_by_key(|(name, _)| name.span().start);
        let mut pairs = Vec::new();
        let mut valid = true;
        for (name, value) in entries {
            let name_text: &str = name.get_ref();
            let field_path = format!("{table_path}.{name_text}");
            let Some(text) = self.string(value, &field_path, "a string") else {
                valid = false;
                continue;
            };
            let Some(names) = self.placeholders(text, value.span(), &field_path) else {
                valid = false;
                continue;
            };
            *uses_to |= names.contains(&"to");
            if let Some((field, message)) = problem(name_text, &fill(text, "x")) {
                let span = match field {
                    Field::Name => name.span(),
                    Field::Value => value.span(),
                };
                self.report(span, format!("{field_path}: {message}"));
                valid = false;
                continue;
            }
            pairs.push((name_text.to_string(), text.to_string()));
        }
        Some(valid.then_some(pairs))
    }

    /// The placeholders in a template string, reporting unknown or unclosed ones.
    fn placeholders(
        &mut self,
        text: &str,
        span: Range<usize>,
        path: &str,
    ) -> Option<Vec<&'static str>> {
        match placeholders(text) {
            Ok(names) => Some(names),
            Err(problems) => {
                for problem in problems {
                    self.report(span.clone(), format!("{path}: {problem}"));
                }
                None
            }
        }
    }
}

/// Which half of a `name = "value"` pair is wrong.
enum Field {
    Name,
    Value,
}

fn header_problem(name: &str, value: &str) -> Option<(Field, String)> {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Some((
            Field::Name,
            format!("\"{name}\" is not a valid HTTP header name"),
        ));
    }
    http::HeaderValue::from_str(value).is_err().then(|| {
        (
            Field::Value,
            "not a valid HTTP header value (line breaks and control characters are not allowed)"
                .to_string(),
        )
    })
}

/// An absolute http:// or https:// URL with a host.
pub(super) fn http_url(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(url) if !matches!(url.scheme(), "http" | "https") => {
            Err(format!("\"{text}\" is not an http:// or https:// URL"))
        }
        Ok(url) if url.host_str().is_none_or(str::is_empty) => {
            Err(format!("\"{text}\" has no host"))
        }
        Ok(_) => Ok(()),
        Err(error) => Err(format!("invalid URL \"{text}\" ({error})")),
    }
}

/// `address` or `Display Name <address>`.
fn is_mailbox(text: &str) -> bool {
    let text = text.trim();
    match text
        .strip_suffix('>')
        .and_then(|rest| rest.rsplit_once('<'))
    {
        Some((_, address)) => is_email_address(address),
        None => is_email_address(text),
    }
}

/// The `{{name}}` placeholders of a template string in order (spaces inside the braces are
/// allowed), or every problem with them.
fn placeholders(text: &str) -> Result<Vec<&'static str>, Vec<String>> {
    let mut names = Vec::new();
    let mut problems = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let inside = &rest[open + 2..];
        let Some(close) = inside.find("}}") else {
            problems.push(
                "\"{{\" is never closed with \"}}\"; placeholders look like {{message}}"
                    .to_string(),
            );
            break;
        };
        let name = inside[..close].trim();
        match PLACEHOLDERS.iter().find(|known| **known == name) {
            Some(known) => names.push(*known),
            None => {
                let hint = closest(name, &PLACEHOLDERS)
                    .map(|suggestion| format!("did you mean {{{{{suggestion}}}}}? "))
                    .unwrap_or_default();
                let all: Vec<String> = PLACEHOLDERS
                    .iter()
                    .map(|known| format!("{{{{{known}}}}}"))
                    .collect();
                problems.push(format!(
                    "unknown placeholder {{{{{name}}}}}; {hint}expected one of: {}",
                    all.join(", ")
                ));
            }
        }
        rest = &inside[close + 2..];
    }
    if problems.is_empty() {
        Ok(names)
    } else {
        Err(problems)
    }
}

/// The template with every placeholder replaced by `value`, to check what surrounds them.
fn fill(text: &str, value: &str) -> String {
    fill_with(text, |_| value)
}

/// The template with each placeholder replaced by what `value` gives for its name.
fn fill_with<'v>(text: &str, value: impl Fn(&str) -> &'v str) -> String {
    let mut filled = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        let inside = &rest[open + 2..];
        let Some(close) = inside.find("}}") else {
            break;
        };
        filled.push_str(&rest[..open]);
        filled.push_str(value(inside[..close].trim()));
        rest = &inside[close + 2..];
    }
    filled.push_str(rest);
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_known_names_in_double_braces() {
        assert_eq!(
            placeholders("{{to}}: {{ message }} {{incident.id}}"),
            Ok(vec!["to", "message", "incident.id"])
        );
        assert_eq!(
            placeholders("no placeholders, { single } braces }}"),
            Ok(Vec::new())
        );
        let problems = placeholders("{{mesage}} and {{nope}} and {{to").unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains("did you mean {{message}}?"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("unknown placeholder {{nope}}; expected one of: {{to}}"));
        assert!(problems[2].contains("never closed"), "{problems:?}");
    }

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(
            fill("{\"n\": {{incident.id}}, \"to\": \"{{to}}\"}", "0"),
            "{\"n\": 0, \"to\": \"0\"}"
        );
        assert_eq!(fill("plain", "x"), "plain");
        let by_name = fill_with("{{ to }}/{{incident.id}}", |name| {
            if name == "to" {
                "T"
            } else {
                "I"
            }
        });
        assert_eq!(by_name, "T/I");
    }

    #[test]
    fn mailboxes_and_urls() {
        assert!(is_mailbox("klaxon <klaxon@example.com>"));
        assert!(is_mailbox("klaxon@example.com"));
        assert!(!is_mailbox("klaxon <klaxon>"));
        assert!(!is_mailbox("klaxon"));
        assert_eq!(http_url("https://hooks.slack.com/services/T/B/X"), Ok(()));
        assert_eq!(http_url("http://127.0.0.1:9000/page"), Ok(()));
        assert!(http_url("ftp://example.com").is_err());
        assert!(http_url("mailto:alice@example.com").is_err());
        assert!(http_url("example.com/page").is_err());
    }
}
