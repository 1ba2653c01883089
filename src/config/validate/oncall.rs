//! The on-call sections: people's contact methods and notification rules (under
//! `[[users]]`), `[[teams]]`, `[[schedules]]` with their layers and overrides,
//! `[[escalation_policies]]`, `[routing]`, `[[routes]]` and `[[silences]]`, into the domain's
//! types. Every reference between them is checked here, because a page that can never be
//! delivered has to fail at start rather than stay silent during an incident.

use super::notify::{http_url, Providers};
use super::{closest, describe, is_user_name_character, raw_string, Checker, Seen, Value};
use crate::config::{OnCallConfig, MAX_NAME_LENGTH};
use crate::domain::escalation::{
    ContactAddress, ContactKind, ContactMethod, Directory, EscalationLevel, EscalationPolicy,
    NotificationRule, Person, Target, Team,
};
use crate::domain::matcher::{Matcher, MatcherError};
use crate::domain::routing::{Route, Routing, Urgency};
use crate::domain::schedule::{Layer, Override, Restriction, Schedule, ShiftLength};
use crate::domain::silence::Silence;
use crate::notify::NotifySettings;
use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc, Weekday};
use chrono_tz::Tz;
use std::ops::Range;
use std::time::Duration;
use toml::de::{DeTable, DeValue};

const CONTACT_KEYS: &[&str] = &["kind", "to"];
const RULE_KEYS: &[&str] = &["high", "low"];
const TEAM_KEYS: &[&str] = &["name", "members"];
const SCHEDULE_KEYS: &[&str] = &["name", "time_zone", "layers", "overrides"];
const LAYER_KEYS: &[&str] = &[
    "name", "members", "shift", "handoff", "start", "days", "hours",
];
const OVERRIDE_KEYS: &[&str] = &["user", "start", "end"];
const POLICY_KEYS: &[&str] = &["name", "repeat", "round_robin", "levels"];
const LEVEL_KEYS: &[&str] = &["targets", "delay"];
const ROUTING_KEYS: &[&str] = &["default_escalation_policy", "default_urgency"];
const ROUTE_KEYS: &[&str] = &[
    "name",
    "match",
    "service",
    "escalation_policy",
    "urgency",
    "page",
];
const SILENCE_KEYS: &[&str] = &["name", "match", "start", "end", "comment"];

/// How long a level waits for an acknowledgement when the file does not say.
const DEFAULT_LEVEL_DELAY: Duration = Duration::from_secs(5 * 60);
/// Longest escalation delay or notification-rule delay: beyond a day it is a typo, not a plan.
const MAX_DELAY: (Duration, &str) = (Duration::from_secs(24 * 60 * 60), "24h");
const MAX_REPEAT: i128 = 100;
/// The longest shift, a year, in each unit.
const MAX_SHIFT_HOURS: u32 = 366 * 24;
const MAX_SHIFT_DAYS: u32 = 366;
const MAX_SHIFT_WEEKS: u32 = 52;

const KIND_LIST: &str = "email, sms, voice, slack, webhook or exec";
const SHIFT_EXPECTED: &str =
    "a shift length in hours, days or weeks such as \"12h\", \"1d\" or \"1w\"";
const DATE_EXPECTED: &str = "a local date such as 2026-01-05";
const CLOCK_EXPECTED: &str = "a local time of day such as \"09:00\"";
const HOURS_EXPECTED: &str = "local hours such as \"09:00-17:00\" (\"22:00-06:00\" runs past midnight, \"24:00\" ends at midnight)";
const DAYS_EXPECTED: &str = "days such as [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]";
const INSTANT_EXPECTED: &str =
    "a date and time with its UTC offset such as 2026-12-24T18:00:00+01:00 or 2026-12-24T17:00:00Z";
const MATCHERS_EXPECTED: &str = "an array of matchers such as [\"service=postgres\", \"env=prod\"]";
const DAYS: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Mon),
    ("tue", "tuesday", Weekday::Tue),
    ("wed", "wednesday", Weekday::Wed),
    ("thu", "thursday", Weekday::Thu),
    ("fri", "friday", Weekday::Fri),
    ("sat", "saturday", Weekday::Sat),
    ("sun", "sunday", Weekday::Sun),
];

/// The names defined in the file, as written, whether or not the rest of their entry is
/// valid: references are checked against these, so that one bad entry is one report and not
/// one more for every reference to it.
pub(super) struct Known {
    users: Vec<String>,
    teams: Vec<String>,
    schedules: Vec<String>,
    policies: Vec<String>,
}

impl Known {
    pub(super) fn collect(root: &DeTable<'_>) -> Known {
        let names = |key: &str| -> Vec<String> {
            match root.get(key).map(|value| value.get_ref()) {
                Some(DeValue::Array(items)) => items
                    .iter()
                    .filter_map(|item| match item.get_ref() {
                        DeValue::Table(table) => raw_string(table, "name").map(str::to_string),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            }
        };
        Known {
            users: names("users"),
            teams: names("teams"),
            schedules: names("schedules"),
            policies: names("escalation_policies"),
        }
    }
}

/// What a reference points at, for checks and messages.
#[derive(Clone, Copy)]
enum Referent {
    User,
    Team,
    Schedule,
    Policy,
}

impl Referent {
    fn noun(self) -> &'static str {
        match self {
            Referent::User => "user",
            Referent::Team => "team",
            Referent::Schedule => "schedule",
            Referent::Policy => "escalation policy",
        }
    }

    fn section(self) -> &'static str {
        match self {
            Referent::User => "[[users]]",
            Referent::Team => "[[teams]]",
            Referent::Schedule => "[[schedules]]",
            Referent::Policy => "[[escalation_policies]]",
        }
    }

    fn names(self, known: &Known) -> &[String] {
        match self {
            Referent::User => &known.users,
            Referent::Team => &known.teams,
            Referent::Schedule => &known.schedules,
            Referent::Policy => &known.policies,
        }
    }
}

impl Checker<'_> {
    /// Everything on call but the people, which come with `[[users]]`.
    pub(super) fn oncall(
        &mut self,
        root: &DeTable<'_>,
        known: &Known,
        people: Vec<Person>,
        notify: NotifySettings,
    ) -> OnCallConfig {
        let teams = self.teams(root, known);
        let mut overrides = Vec::new();
        let schedules = self.schedules(root, known, &mut overrides);
        let policies = self.policies(root, known);
        let routing = self.routing(root, known);
        let maintenance = self.silences(root);
        OnCallConfig {
            directory: Directory {
                people,
                teams,
                schedules,
                policies,
            },
            routing,
            maintenance,
            overrides,
            notify,
        }
    }

    /// The person a `[[users]]` entry describes: its contact methods and notification rules.
    pub(super) fn person(
        &mut self,
        index: usize,
        table: &DeTable<'_>,
        providers: &Providers,
    ) -> Option<Person> {
        let path = format!("users[{index}]");
        let owner = raw_string(table, "name").unwrap_or(&path).to_string();

        let contacts_table = self.table_at(
            table,
            "contacts",
            &format!("{path}.contacts"),
            "[users.contacts], contact methods such as email = \"alice@example.com\"",
        );
        let mut contacts = Vec::new();
        let mut contact_names = Vec::new();
        if let Some((contacts_table, _)) = contacts_table {
            // File order, whatever order the map keeps keys in.
            let mut entries: Vec<_> = contacts_table.iter().collect();
            entries.sort_by_key(|(key, _)| key.span().start);
            for (key, value) in entries {
                let name: &str = key.get_ref();
                contact_names.push(name.to_string());
                contacts.extend(self.contact(name, key.span(), value, &path, &owner, providers));
            }
        }

        let mut high = Vec::new();
        let mut low = Vec::new();
        let rules_path = format!("{path}.notify");
        let rules_table = self.table_at(
            table,
            "notify",
            &rules_path,
            "[users.notify], rules per urgency such as high = [\"sms\", \"voice after 5m\"]",
        );
        if let Some((rules_table, _)) = rules_table {
            self.unknown_keys(rules_table, Some(&rules_path), RULE_KEYS);
            for (key, rules) in [("high", &mut high), ("low", &mut low)] {
                if let Some(value) = rules_table.get(key) {
                    let key_path = format!("{rules_path}.{key}");
                    *rules = self.rules(value, &key_path, &owner, &contact_names);
                }
            }
        }

        Some(Person {
            name: raw_string(table, "name")?.to_string(),
            contacts,
            high,
            low,
        })
    }

    /// One entry of `[users.contacts]`: `KIND = ADDRESS`, or `NAME = { kind, to }`.
    fn contact(
        &mut self,
        name: &str,
        name_span: Range<usize>,
        value: &Value<'_>,
        path: &str,
        owner: &str,
        providers: &Providers,
    ) -> Option<ContactMethod> {
        let contact_path = format!("{path}.contacts.{name}");
        let name_valid = is_contact_name(name);
        if !name_valid {
            self.report(
                name_span.clone(),
                format!("{contact_path}: invalid contact name \"{name}\"; expected 1 to {MAX_NAME_LENGTH} letters, digits, \"_\" or \"-\" (notification rules refer to it)"),
            );
        }
        let named_kind = name.parse::<ContactKind>().ok();
        let (kind, address_value, address_path) = match value.get_ref() {
            DeValue::Table(inline) => {
                self.unknown_keys(inline, Some(&contact_path), CONTACT_KEYS);
                let span = value.span();
                let kind = self
                    .required(inline, &span, &contact_path, "kind", KIND_LIST)
                    .and_then(|kind| self.contact_kind(kind, &format!("{contact_path}.kind")));
                let to = self.required(
                    inline,
                    &span,
                    &contact_path,
                    "to",
                    "the address: an e-mail address, a phone number, a URL, or for exec a program and its arguments",
                );
                if let (Some(kind), Some(named)) = (kind, named_kind) {
                    if kind != named {
                        self.report(
                            name_span,
                            format!("{contact_path}: a contact named \"{named}\" must be of kind {named}; give this {kind} contact another name"),
                        );
                        return None;
                    }
                }
                (kind?, to?, format!("{contact_path}.to"))
            }
            _ => match named_kind {
                Some(kind) => (kind, value, contact_path.clone()),
                None => {
                    let kinds = ContactKind::ALL.map(ContactKind::as_str);
                    let hint = match closest(name, &kinds) {
                        Some(suggestion) => format!("did you mean \"{suggestion}\"? A contact with a name of its own gives its kind: {name} = {{ kind = \"{suggestion}\", to = \"…\" }}"),
                        None => format!("expected {KIND_LIST}, or a name with its kind: {name} = {{ kind = \"sms\", to = \"…\" }}"),
                    };
                    self.report(
                        name_span,
                        format!("{contact_path}: \"{name}\" is not a contact kind; {hint}"),
                    );
                    return None;
                }
            },
        };
        let address = self.contact_address(kind, address_value, &address_path);

        let provider = match kind {
            ContactKind::Email => Some((providers.email, "needs [notify.email] (the SMTP server to send through)")),
            ContactKind::Sms => Some((providers.sms, "needs a [notify.sms] provider: add [notify.sms] with your SMS provider's HTTP API (see config/klaxon.example.toml)")),
            ContactKind::Voice => Some((providers.voice, "needs a [notify.voice] provider: add [notify.voice] with your voice-call provider's HTTP API (see config/klaxon.example.toml)")),
            ContactKind::Slack | ContactKind::Webhook | ContactKind::Exec => None,
        };
        if let Some((false, needs)) = provider {
            let which = if named_kind == Some(kind) {
                format!("{owner}'s {kind} contact")
            } else {
                format!("{owner}'s {kind} contact \"{name}\"")
            };
            self.report(
                name_span,
                format!("{contact_path}: {which} {needs}, or remove this contact"),
            );
            return None;
        }
        Some(ContactMethod {
            name: name.to_string(),
            kind,
            address: address?,
        })
        .filter(|_| name_valid)
    }

    fn contact_kind(&mut self, value: &Value<'_>, path: &str) -> Option<ContactKind> {
        let text = self.string(value, path, &format!("a string: {KIND_LIST}"))?;
        if let Ok(kind) = text.parse::<ContactKind>() {
            return Some(kind);
        }
        let kinds = ContactKind::ALL.map(ContactKind::as_str);
        let hint = closest(text, &kinds)
            .map(|suggestion| format!("did you mean \"{suggestion}\"? "))
            .unwrap_or_default();
        self.report(
            value.span(),
            format!("{path}: unknown contact kind \"{text}\"; {hint}expected {KIND_LIST}"),
        );
        None
    }

    /// A contact method's address, checked for its kind; phone numbers lose their spaces
    /// and dashes, which providers refuse.
    fn contact_address(
        &mut self,
        kind: ContactKind,
        value: &Value<'_>,
        path: &str,
    ) -> Option<ContactAddress> {
        if kind == ContactKind::Exec {
            let expected = "the program and its arguments as an array such as [\"/usr/local/bin/page-me\", \"--loud\"] (run directly, never through a shell)";
            let argv = self.string_items(value, path, expected, "a string")?;
            let argv: Vec<String> = argv
                .into_iter()
                .map(|(_, text, _)| text.to_string())
                .collect();
            if argv.first().is_none_or(|program| program.trim().is_empty()) {
                self.report(
                    value.span(),
                    format!("{path}: expected {expected}, with the program first"),
                );
                return None;
            }
            return Some(ContactAddress::Command(argv));
        }
        let expected = match kind {
            ContactKind::Email => "an e-mail address such as \"alice@example.com\"",
            ContactKind::Sms | ContactKind::Voice => "a phone number in international format such as \"+15550100\": \"+\", the country code and the number (spaces and dashes are left out)",
            ContactKind::Slack => "a Slack incoming-webhook URL such as \"https://hooks.slack.com/services/…\"",
            ContactKind::Webhook | ContactKind::Exec => "an http:// or https:// URL",
        };
        let text = self.string(value, path, expected)?;
        let address = match kind {
            ContactKind::Email => is_email_address(text)
                .then(|| text.to_string())
                .ok_or_else(|| format!("\"{text}\" is not an e-mail address")),
            ContactKind::Sms | ContactKind::Voice => phone_number(text)
                .ok_or_else(|| format!("\"{text}\" is not a phone number in international format")),
            ContactKind::Slack | ContactKind::Webhook | ContactKind::Exec => {
                http_url(text).map(|()| text.to_string())
            }
        };
        match address {
            Ok(address) => Some(ContactAddress::Text(address)),
            Err(problem) => {
                self.report(
                    value.span(),
                    format!("{path}: {problem}; expected {expected}"),
                );
                None
            }
        }
    }

    /// `["sms", "voice after 5m"]`: contact methods of this person, at once or after a delay.
    fn rules(
        &mut self,
        value: &Value<'_>,
        path: &str,
        owner: &str,
        contact_names: &[String],
    ) -> Vec<NotificationRule> {
        let expected = "an array of rules such as [\"sms\", \"voice after 5m\"]";
        let Some(items) =
            self.string_items(value, path, expected, "a rule such as \"voice after 5m\"")
        else {
            return Vec::new();
        };
        if items.is_empty() && matches!(value.get_ref(), DeValue::Array(array) if array.is_empty())
        {
            // An empty list means "every contact method at once", the opposite of what
            // someone writing it to be left alone expects.
            self.report(
                value.span(),
                format!("{path}: an empty list would page every contact method at once; remove the key for that, or name the contact methods to use"),
            );
        }
        let mut rules = Vec::new();
        for (index, text, span) in items {
            let item_path = format!("{path}[{index}]");
            let Some((contact, after)) = self.rule(text, span.clone(), &item_path) else {
                continue;
            };
            if !contact_names.iter().any(|name| name == contact) {
                let names: Vec<&str> = contact_names.iter().map(String::as_str).collect();
                let message = if names.is_empty() {
                    format!("{item_path}: {owner} has no contact methods; add \"{contact}\" under [users.contacts]")
                } else {
                    let suggestion = closest(contact, &names)
                        .map(|suggestion| format!("did you mean \"{suggestion}\"? "))
                        .unwrap_or_default();
                    format!(
                        "{item_path}: {owner} has no contact method \"{contact}\"; {suggestion}expected one of: {}",
                        names.join(", ")
                    )
                };
                self.report(span, message);
                continue;
            }
            rules.push(NotificationRule {
                contact: contact.to_string(),
                after,
            });
        }
        rules
    }

    /// `CONTACT` or `CONTACT after DURATION`.
    fn rule<'t>(
        &mut self,
        text: &'t str,
        span: Range<usize>,
        path: &str,
    ) -> Option<(&'t str, chrono::Duration)> {
        let trimmed = text.trim();
        let (contact, rest) = match trimmed.split_once(char::is_whitespace) {
            Some((contact, rest)) => (contact, rest.trim()),
            None => (trimmed, ""),
        };
        if rest.is_empty() && !contact.is_empty() {
            return Some((contact, chrono::Duration::zero()));
        }
        let delay = rest
            .strip_prefix("after")
            .filter(|delay| delay.starts_with(char::is_whitespace))
            .map(str::trim);
        let Some(delay) = delay.filter(|_| !contact.is_empty()) else {
            self.report(
                span,
                format!("{path}: \"{text}\" is not a notification rule; expected \"CONTACT\" (at once) or \"CONTACT after DURATION\" such as \"voice after 5m\""),
            );
            return None;
        };
        let after = match humantime::parse_duration(delay) {
            Ok(after) if after <= MAX_DELAY.0 => after,
            Ok(_) => {
                self.report(
                    span,
                    format!(
                        "{path}: \"{delay}\" is out of range; expected a delay from 0s to at most {}",
                        MAX_DELAY.1
                    ),
                );
                return None;
            }
            Err(error) => {
                self.report(
                    span,
                    format!("{path}: invalid delay \"{delay}\" ({error}); expected a duration such as \"5m\""),
                );
                return None;
            }
        };
        Some((contact, chrono::Duration::from_std(after).ok()?))
    }

    fn teams(&mut self, root: &DeTable<'_>, known: &Known) -> Vec<Team> {
        let mut seen = Seen::default();
        let mut teams = Vec::new();
        for (index, (table, span)) in self.array_of_tables(root, "teams").into_iter().enumerate() {
            let path = format!("teams[{index}]");
            self.unknown_keys(table, Some(&path), TEAM_KEYS);
            let name = self.entity_name(table, &span, &path, "team", &mut seen, None);
            let members = self.members(table, &span, &path, known, false);
            if let Some(name) = name {
                teams.push(Team { name, members });
            }
        }
        teams
    }

    fn schedules(
        &mut self,
        root: &DeTable<'_>,
        known: &Known,
        overrides: &mut Vec<Override>,
    ) -> Vec<Schedule> {
        let mut seen = Seen::default();
        let mut schedules = Vec::new();
        // Numbered across all schedules in file order, so an id names one override for good.
        let mut override_number = 0;
        for (index, (table, span)) in self
            .array_of_tables(root, "schedules")
            .into_iter()
            .enumerate()
        {
            let path = format!("schedules[{index}]");
            self.unknown_keys(table, Some(&path), SCHEDULE_KEYS);
            let name = self.entity_name(table, &span, &path, "schedule", &mut seen, None);
            let time_zone = match table.get("time_zone") {
                Some(value) => self.time_zone(value, &format!("{path}.time_zone")),
                None => Some(Tz::UTC),
            };

            let layers_path = format!("{path}.layers");
            let mut layers = Vec::new();
            match self.tables_at(table, "layers", &layers_path, "[[schedules.layers]]") {
                None => {
                    self.report(
                        span.clone(),
                        format!("{path}: missing required key \"layers\"; expected at least one [[schedules.layers]] rotation (without one nobody is ever on call)"),
                    );
                }
                Some(tables) => {
                    if tables.is_empty() && table.get("layers").is_some_and(is_empty_array) {
                        self.report(
                            table.get("layers").map_or(span.clone(), |value| value.span()),
                            format!("{layers_path}: expected at least one [[schedules.layers]] rotation (without one nobody is ever on call)"),
                        );
                    }
                    let mut layer_names = Seen::default();
                    for (layer_index, (layer_table, layer_span)) in tables.into_iter().enumerate() {
                        let layer_path = format!("{layers_path}[{layer_index}]");
                        layers.extend(self.layer(
                            layer_index,
                            layer_table,
                            layer_span,
                            &layer_path,
                            known,
                            &mut layer_names,
                        ));
                    }
                }
            }

            let schedule_name = raw_string(table, "name").unwrap_or_default();
            let overrides_path = format!("{path}.overrides");
            let tables = self
                .tables_at(
                    table,
                    "overrides",
                    &overrides_path,
                    "[[schedules.overrides]]",
                )
                .unwrap_or_default();
            for (override_index, (override_table, override_span)) in tables.into_iter().enumerate()
            {
                override_number += 1;
                let override_path = format!("{overrides_path}[{override_index}]");
                overrides.extend(self.schedule_override(
                    override_table,
                    override_span,
                    &override_path,
                    known,
                    schedule_name,
                    format!("config-{override_number}"),
                ));
            }

            if let (Some(name), Some(time_zone)) = (name, time_zone) {
                schedules.push(Schedule {
                    name,
                    time_zone,
                    layers,
                });
            }
        }
        schedules
    }

    fn layer(
        &mut self,
        index: usize,
        table: &DeTable<'_>,
        span: Range<usize>,
        path: &str,
        known: &Known,
        seen: &mut Seen,
    ) -> Option<Layer> {
        self.unknown_keys(table, Some(path), LAYER_KEYS);
        let default_name = format!("layer-{}", index + 1);
        let name = self.entity_name(table, &span, path, "layer", seen, Some(default_name));
        // A rotation may list someone twice to give them more turns.
        let members = self.members(table, &span, path, known, true);
        let shift = self
            .required(table, &span, path, "shift", SHIFT_EXPECTED)
            .and_then(|value| self.shift(value, &format!("{path}.shift")));
        let handoff = match table.get("handoff") {
            Some(value) => self.clock(value, &format!("{path}.handoff")),
            None => Some(NaiveTime::MIN),
        };
        let start = self
            .required(table, &span, path, "start", DATE_EXPECTED)
            .and_then(|value| self.local_date(value, &format!("{path}.start")));
        let restriction = self.restriction(table, path);
        Some(Layer {
            name: name?,
            members,
            shift: shift?,
            handoff: handoff?,
            start: start?,
            restriction: restriction?,
        })
    }

    /// `days` and `hours`: days alone are whole days, hours alone are every day.
    fn restriction(&mut self, table: &DeTable<'_>, path: &str) -> Option<Option<Restriction>> {
        let days = table
            .get("days")
            .map(|value| self.days(value, &format!("{path}.days")));
        let hours = table
            .get("hours")
            .map(|value| self.hours(value, &format!("{path}.hours")));
        if days.is_none() && hours.is_none() {
            return Some(None);
        }
        let days = days.unwrap_or_else(|| Some(DAYS.map(|(_, _, day)| day).to_vec()));
        // From midnight to midnight: `to` not after `from` runs to the next midnight.
        let (from, to) = hours.unwrap_or(Some((NaiveTime::MIN, NaiveTime::MIN)))?;
        Some(Some(Restriction {
            days: days?,
            from,
            to,
        }))
    }

    fn days(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<Weekday>> {
        let items = self.string_items(value, path, DAYS_EXPECTED, "a day such as \"mon\"")?;
        if is_empty_array(value) {
            self.report(
                value.span(),
                format!("{path}: expected {DAYS_EXPECTED}, found an empty array; leave days out for every day"),
            );
            return None;
        }
        let mut days = Vec::new();
        let mut valid = true;
        for (index, text, span) in items {
            let item_path = format!("{path}[{index}]");
            let lower = text.trim().to_lowercase();
            let Some(day) = DAYS
                .iter()
                .find(|(short, long, _)| lower == *short || lower == *long)
                .map(|(_, _, day)| *day)
            else {
                self.report(
                    span,
                    format!("{item_path}: \"{text}\" is not a day; expected mon, tue, wed, thu, fri, sat or sun (or the full name)"),
                );
                valid = false;
                continue;
            };
            if days.contains(&day) {
                self.report(span, format!("{item_path}: \"{text}\" is listed twice"));
                valid = false;
                continue;
            }
            days.push(day);
        }
        valid.then_some(days)
    }

    fn hours(&mut self, value: &Value<'_>, path: &str) -> Option<(NaiveTime, NaiveTime)> {
        let text = self.string(value, path, HOURS_EXPECTED)?;
        let parsed = text
            .split_once('-')
            .and_then(|(from, to)| Some((parse_clock(from.trim(), false)?, to.trim(), from.trim())))
            .and_then(|(from, to_text, from_text)| {
                Some((from, parse_clock(to_text, true)?, from_text, to_text))
            });
        let Some((from, to, from_text, to_text)) = parsed else {
            self.report(
                value.span(),
                format!("{path}: invalid hours \"{text}\"; expected {HOURS_EXPECTED}"),
            );
            return None;
        };
        // Equal ends would silently mean a whole day; only "00:00-24:00" says so plainly.
        if from == to && !(from_text == "00:00" && to_text == "24:00") {
            self.report(
                value.span(),
                format!("{path}: \"{text}\" starts and ends at the same time; expected {HOURS_EXPECTED}, or leave hours out for whole days"),
            );
            return None;
        }
        Some((from, to))
    }

    fn shift(&mut self, value: &Value<'_>, path: &str) -> Option<ShiftLength> {
        let text = self.string(value, path, SHIFT_EXPECTED)?;
        match parse_shift(text) {
            Some(Ok(shift)) => Some(shift),
            Some(Err(())) => {
                self.report(
                    value.span(),
                    format!("{path}: \"{text}\" is out of range; expected a shift from 1h to a year ({MAX_SHIFT_HOURS}h, {MAX_SHIFT_DAYS}d or {MAX_SHIFT_WEEKS}w)"),
                );
                None
            }
            None => {
                self.report(
                    value.span(),
                    format!("{path}: invalid shift \"{text}\"; expected {SHIFT_EXPECTED}"),
                );
                None
            }
        }
    }

    fn time_zone(&mut self, value: &Value<'_>, path: &str) -> Option<Tz> {
        let expected =
            "an IANA time zone name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"";
        let text = self.string(value, path, expected)?;
        if let Ok(zone) = text.parse::<Tz>() {
            return Some(zone);
        }
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|zone| zone.name())
            .collect();
        let suggestion = names
            .iter()
            .find(|name| name.eq_ignore_ascii_case(text))
            .copied()
            .or_else(|| closest(text, &names));
        let hint = suggestion
            .map(|suggestion| format!("did you mean \"{suggestion}\"? "))
            .unwrap_or_default();
        self.report(
            value.span(),
            format!("{path}: unknown time zone \"{text}\"; {hint}expected {expected}"),
        );
        None
    }

    /// A wall-clock time: `"09:00"`, or a TOML local time.
    fn clock(&mut self, value: &Value<'_>, path: &str) -> Option<NaiveTime> {
        let time = match value.get_ref() {
            DeValue::String(text) => parse_clock(text.trim(), false),
            DeValue::Datetime(datetime) => match (datetime.date, datetime.time, datetime.offset) {
                (None, Some(time), None) => NaiveTime::from_hms_nano_opt(
                    time.hour.into(),
                    time.minute.into(),
                    time.second.into(),
                    time.nanosecond,
                ),
                _ => None,
            },
            other => {
                self.report(
                    value.span(),
                    format!(
                        "{path}: expected {CLOCK_EXPECTED}, found {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        if time.is_none() {
            self.report(
                value.span(),
                format!(
                    "{path}: invalid time {}; expected {CLOCK_EXPECTED}",
                    self.shown(value)
                ),
            );
        }
        time
    }

    /// A calendar date: a TOML local date or `"2026-01-05"`.
    fn local_date(&mut self, value: &Value<'_>, path: &str) -> Option<NaiveDate> {
        let date = match value.get_ref() {
            DeValue::String(text) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok(),
            DeValue::Datetime(datetime) => match (datetime.date, datetime.time) {
                (Some(date), None) => {
                    NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())
                }
                _ => None,
            },
            other => {
                self.report(
                    value.span(),
                    format!(
                        "{path}: expected {DATE_EXPECTED}, found {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        if date.is_none() {
            self.report(
                value.span(),
                format!(
                    "{path}: invalid date {}; expected {DATE_EXPECTED}",
                    self.shown(value)
                ),
            );
        }
        date
    }

    /// An instant: a TOML offset date-time or an RFC 3339 string. A local date-time is
    /// refused rather than guessed, as the guess would be an hour off twice a year.
    fn instant(&mut self, value: &Value<'_>, path: &str) -> Option<DateTime<Utc>> {
        let parsed = match value.get_ref() {
            DeValue::String(text) => DateTime::parse_from_rfc3339(text.trim())
                .map_err(|error| format!("invalid date-time \"{text}\" ({error})")),
            DeValue::Datetime(datetime) => match (datetime.date, datetime.time, datetime.offset) {
                (Some(_), Some(_), Some(_)) => DateTime::parse_from_rfc3339(&datetime.to_string())
                    .map_err(|error| format!("invalid date-time {datetime} ({error})")),
                (Some(_), Some(_), None) => Err(format!("{datetime} has no UTC offset")),
                _ => Err(format!("{datetime} is not a date and time")),
            },
            other => {
                self.report(
                    value.span(),
                    format!(
                        "{path}: expected {INSTANT_EXPECTED}, found {}",
                        describe(other)
                    ),
                );
                return None;
            }
        };
        match parsed {
            Ok(instant) => Some(instant.with_timezone(&Utc)),
            Err(problem) => {
                self.report(
                    value.span(),
                    format!("{path}: {problem}; expected {INSTANT_EXPECTED}"),
                );
                None
            }
        }
    }

    /// A value as written, for messages about values that are not strings.
    fn shown(&self, value: &Value<'_>) -> String {
        match value.get_ref() {
            DeValue::String(text) => format!("\"{text}\""),
            _ => self.text.get(value.span()).unwrap_or_default().to_string(),
        }
    }

    /// `start` and `end` of a window that must end after it starts.
    fn window(
        &mut self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        path: &str,
        what: &str,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self
            .required(table, span, path, "start", INSTANT_EXPECTED)
            .and_then(|value| self.instant(value, &format!("{path}.start")));
        let end_value = self.required(table, span, path, "end", INSTANT_EXPECTED);
        let end = end_value.and_then(|value| self.instant(value, &format!("{path}.end")));
        let (start, end) = (start?, end?);
        if end <= start {
            self.report(
                end_value.map_or(span.clone(), |value| value.span()),
                format!(
                    "{path}.end: {} is not after start ({}); this {what} would never hold",
                    end.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                    start.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                ),
            );
            return None;
        }
        Some((start, end))
    }

    fn schedule_override(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        path: &str,
        known: &Known,
        schedule: &str,
        id: String,
    ) -> Option<Override> {
        self.unknown_keys(table, Some(path), OVERRIDE_KEYS);
        let user = self
            .required(
                table,
                &span,
                path,
                "user",
                "the name of the [[users]] entry on call",
            )
            .and_then(|value| {
                let user_path = format!("{path}.user");
                let name = self.string(value, &user_path, "a user name")?;
                self.reference(Referent::User, known, name, value.span(), &user_path)
                    .then(|| name.to_string())
            });
        let window = self.window(table, &span, path, "override");
        let (start, end) = window?;
        Some(Override {
            id,
            schedule: schedule.to_string(),
            user: user?,
            start,
            end,
            created_by: None,
        })
    }

    fn policies(&mut self, root: &DeTable<'_>, known: &Known) -> Vec<EscalationPolicy> {
        let mut seen = Seen::default();
        let mut policies = Vec::new();
        for (index, (table, span)) in self
            .array_of_tables(root, "escalation_policies")
            .into_iter()
            .enumerate()
        {
            let path = format!("escalation_policies[{index}]");
            self.unknown_keys(table, Some(&path), POLICY_KEYS);
            let name = self.entity_name(table, &span, &path, "escalation policy", &mut seen, None);
            let repeat = match table.get("repeat") {
                Some(value) => self
                    .bounded_integer(
                        value,
                        &format!("{path}.repeat"),
                        "how many times the policy runs again after its last level",
                        0..=MAX_REPEAT,
                    )
                    .and_then(|repeat| u32::try_from(repeat).ok()),
                None => Some(0),
            };
            let round_robin = match table.get("round_robin") {
                Some(value) => self.boolean(value, &format!("{path}.round_robin")),
                None => Some(false),
            };

            let levels_path = format!("{path}.levels");
            let no_levels = "expected at least one [[escalation_policies.levels]] (a policy without levels pages nobody)";
            let mut levels = Vec::new();
            match self.tables_at(
                table,
                "levels",
                &levels_path,
                "[[escalation_policies.levels]]",
            ) {
                None => self.report(
                    span.clone(),
                    format!("{path}: missing required key \"levels\"; {no_levels}"),
                ),
                Some(tables) => {
                    if let Some(value) = table.get("levels").filter(|value| is_empty_array(value)) {
                        self.report(value.span(), format!("{levels_path}: {no_levels}"));
                    }
                    for (level_index, (level_table, level_span)) in tables.into_iter().enumerate() {
                        let level_path = format!("{levels_path}[{level_index}]");
                        levels.extend(self.level(level_table, level_span, &level_path, known));
                    }
                }
            }

            if let (Some(name), Some(repeat), Some(round_robin)) = (name, repeat, round_robin) {
                policies.push(EscalationPolicy {
                    name,
                    levels,
                    repeat,
                    round_robin,
                });
            }
        }
        policies
    }

    fn level(
        &mut self,
        table: &DeTable<'_>,
        span: Range<usize>,
        path: &str,
        known: &Known,
    ) -> Option<EscalationLevel> {
        self.unknown_keys(table, Some(path), LEVEL_KEYS);
        let expected =
            "an array of targets such as [\"schedule:primary\", \"user:alice\", \"team:platform\"]";
        let targets_path = format!("{path}.targets");
        let mut targets = Vec::new();
        if let Some(value) = self.required(table, &span, path, "targets", expected) {
            let items = self
                .string_items(
                    value,
                    &targets_path,
                    expected,
                    "a target such as \"user:alice\"",
                )
                .unwrap_or_default();
            if is_empty_array(value) {
                self.report(
                    value.span(),
                    format!("{targets_path}: expected at least one target (a level without targets pages nobody), such as [\"schedule:primary\"]"),
                );
            }
            for (index, text, item_span) in items {
                let item_path = format!("{targets_path}[{index}]");
                let target = match text.parse::<Target>() {
                    Ok(target) => target,
                    Err(error) => {
                        let hint = bare_target(known, text)
                            .map(|target| format!("; did you mean \"{target}\"?"))
                            .unwrap_or_default();
                        self.report(item_span, format!("{item_path}: {error}{hint}"));
                        continue;
                    }
                };
                let (referent, name) = match &target {
                    Target::User(name) => (Referent::User, name),
                    Target::Schedule(name) => (Referent::Schedule, name),
                    Target::Team(name) => (Referent::Team, name),
                };
                if !self.reference(referent, known, name, item_span.clone(), &item_path) {
                    continue;
                }
                if targets.contains(&target) {
                    self.report(item_span, format!("{item_path}: {target} is listed twice"));
                    continue;
                }
                targets.push(target);
            }
        }
        let delay = match table.get("delay") {
            Some(value) => self.bounded_duration(value, &format!("{path}.delay"), false, MAX_DELAY),
            None => Some(DEFAULT_LEVEL_DELAY),
        };
        Some(EscalationLevel {
            targets,
            delay: chrono::Duration::from_std(delay?).ok()?,
        })
    }

    fn routing(&mut self, root: &DeTable<'_>, known: &Known) -> Routing {
        let mut routing = Routing::default();
        if let Some((table, _)) = self.table_at(root, "routing", "routing", "[routing]") {
            self.unknown_keys(table, Some("routing"), ROUTING_KEYS);
            if let Some(value) = table.get("default_escalation_policy") {
                routing.default_policy =
                    self.policy_reference(value, "routing.default_escalation_policy", known);
            }
            if let Some(value) = table.get("default_urgency") {
                routing.default_urgency = self.urgency(value, "routing.default_urgency");
            }
        }

        let mut seen = Seen::default();
        // The first route that matches everything, which no later route can get past.
        let mut catch_all: Option<(String, usize)> = None;
        for (index, (table, span)) in self.array_of_tables(root, "routes").into_iter().enumerate() {
            let path = format!("routes[{index}]");
            self.unknown_keys(table, Some(&path), ROUTE_KEYS);
            let default_name = format!("route-{}", index + 1);
            let name =
                self.entity_name(table, &span, &path, "route", &mut seen, Some(default_name));
            if let Some((first, line)) = &catch_all {
                self.report(
                    span.clone(),
                    format!("{path}: never used: route \"{first}\" (line {line}) has no matchers and takes every alert first; give it some, or move it last"),
                );
            }
            let matchers = match table.get("match") {
                Some(value) => self.matchers(value, &format!("{path}.match")),
                None => Vec::new(),
            };
            let matches_everything = table.get("match").is_none_or(is_empty_array);
            if matches_everything && catch_all.is_none() {
                let line = self.line_of(span.start);
                let shown = raw_string(table, "name")
                    .map_or_else(|| format!("route-{}", index + 1), str::to_string);
                catch_all = Some((shown, line));
            }
            let service = table.get("service").and_then(|value| {
                let service_path = format!("{path}.service");
                let text = self.string(value, &service_path, "a service name")?;
                if text.trim().is_empty() {
                    self.report(
                        value.span(),
                        format!("{service_path}: expected a service name, found an empty string; remove the key to keep the alert's own"),
                    );
                    return None;
                }
                Some(text.to_string())
            });
            let policy = table.get("escalation_policy").and_then(|value| {
                self.policy_reference(value, &format!("{path}.escalation_policy"), known)
            });
            let urgency = table
                .get("urgency")
                .and_then(|value| self.urgency(value, &format!("{path}.urgency")));
            let page = match table.get("page") {
                Some(value) => self.boolean(value, &format!("{path}.page")),
                None => Some(true),
            };
            if page == Some(false) {
                if let Some(value) = table.get("escalation_policy") {
                    self.report(
                        value.span(),
                        format!("{path}: page = false pages nobody, so it takes no escalation_policy; remove one of them"),
                    );
                }
            }
            if let (Some(name), Some(page)) = (name, page) {
                routing.routes.push(Route {
                    name,
                    matchers,
                    service,
                    policy,
                    urgency,
                    page,
                });
            }
        }
        routing
    }

    fn silences(&mut self, root: &DeTable<'_>) -> Vec<Silence> {
        let mut seen = Seen::default();
        let mut silences = Vec::new();
        for (index, (table, span)) in self
            .array_of_tables(root, "silences")
            .into_iter()
            .enumerate()
        {
            let path = format!("silences[{index}]");
            self.unknown_keys(table, Some(&path), SILENCE_KEYS);
            let mut name = self.entity_name(table, &span, &path, "silence", &mut seen, None);
            if let Some(digits) = name
                .as_deref()
                .filter(|name| name.chars().all(|character| character.is_ascii_digit()))
            {
                let value_span = table.get("name").map_or(span.clone(), |value| value.span());
                self.report(
                    value_span,
                    format!("{path}.name: \"{digits}\" is all digits, which are the ids of silences made over the API; use a name with a letter, such as \"db-maintenance\""),
                );
                name = None;
            }
            let match_path = format!("{path}.match");
            let matchers = self
                .required(
                    table,
                    &span,
                    &path,
                    "match",
                    &format!("{MATCHERS_EXPECTED}; a maintenance window silences only what it matches"),
                )
                .map(|value| {
                    if is_empty_array(value) {
                        self.report(
                            value.span(),
                            format!("{match_path}: expected at least one matcher, such as [\"service=postgres\"]; a window without one would silence every alert"),
                        );
                    }
                    self.matchers(value, &match_path)
                });
            let window = self.window(table, &span, &path, "maintenance window");
            let comment = match table.get("comment") {
                Some(value) => self
                    .string(value, &format!("{path}.comment"), "a string")
                    .map(str::to_string),
                None => Some(String::new()),
            };
            if let (Some(id), Some(matchers), Some((starts_at, ends_at)), Some(comment)) =
                (name, matchers, window, comment)
            {
                silences.push(Silence {
                    id,
                    matchers,
                    starts_at,
                    ends_at,
                    comment,
                    created_by: None,
                });
            }
        }
        silences
    }

    fn matchers(&mut self, value: &Value<'_>, path: &str) -> Vec<Matcher> {
        let items = self
            .string_items(
                value,
                path,
                MATCHERS_EXPECTED,
                "a matcher such as \"env=prod\"",
            )
            .unwrap_or_default();
        let mut matchers = Vec::new();
        for (index, text, span) in items {
            match text.parse::<Matcher>() {
                Ok(matcher) => matchers.push(matcher),
                Err(error) => self.report(span, format!("{path}[{index}]: {}", one_line(&error))),
            }
        }
        matchers
    }

    fn urgency(&mut self, value: &Value<'_>, path: &str) -> Option<Urgency> {
        let text = self.string(value, path, "a string: high or low")?;
        match text.parse::<Urgency>() {
            Ok(urgency) => Some(urgency),
            Err(_) => {
                let hint = closest(text, &["high", "low"])
                    .map(|suggestion| format!("did you mean \"{suggestion}\"? "))
                    .unwrap_or_default();
                self.report(
                    value.span(),
                    format!("{path}: unknown urgency \"{text}\"; {hint}expected high or low"),
                );
                None
            }
        }
    }

    fn policy_reference(&mut self, value: &Value<'_>, path: &str, known: &Known) -> Option<String> {
        let name = self.string(value, path, "the name of an [[escalation_policies]] entry")?;
        self.reference(Referent::Policy, known, name, value.span(), path)
            .then(|| name.to_string())
    }

    /// Whether `name` is defined; reports an unknown one, with the closest defined name.
    fn reference(
        &mut self,
        referent: Referent,
        known: &Known,
        name: &str,
        span: Range<usize>,
        path: &str,
    ) -> bool {
        let names = referent.names(known);
        if names.iter().any(|known| known == name) {
            return true;
        }
        let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
        let hint = closest(name, &candidates)
            .map(|suggestion| format!("did you mean \"{suggestion}\"? "))
            .unwrap_or_default();
        self.report(
            span,
            format!(
                "{path}: unknown {} \"{name}\"; {hint}expected the name of a {} entry",
                referent.noun(),
                referent.section()
            ),
        );
        false
    }

    /// `members`: a required, non-empty array of user names.
    fn members(
        &mut self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        path: &str,
        known: &Known,
        repeats_allowed: bool,
    ) -> Vec<String> {
        let expected = "an array of user names such as [\"alice\", \"bob\"]";
        let Some(value) = self.required(table, span, path, "members", expected) else {
            return Vec::new();
        };
        let members_path = format!("{path}.members");
        let items = self
            .string_items(value, &members_path, expected, "a user name")
            .unwrap_or_default();
        if is_empty_array(value) {
            self.report(
                value.span(),
                format!("{members_path}: expected at least one user name, found an empty array; nobody would be paged"),
            );
        }
        let mut members = Vec::new();
        for (index, name, item_span) in items {
            let item_path = format!("{members_path}[{index}]");
            if !self.reference(Referent::User, known, name, item_span.clone(), &item_path) {
                continue;
            }
            if !repeats_allowed && members.iter().any(|member| member == name) {
                self.report(
                    item_span,
                    format!("{item_path}: \"{name}\" is listed twice"),
                );
                continue;
            }
            members.push(name.to_string());
        }
        members
    }

    /// The `name` of an entry that must be unique among `what`s; `default` when it may be
    /// left out. A default name that is taken is reported at the entry.
    fn entity_name(
        &mut self,
        table: &DeTable<'_>,
        span: &Range<usize>,
        path: &str,
        what: &str,
        seen: &mut Seen,
        default: Option<String>,
    ) -> Option<String> {
        let Some(value) = table.get("name") else {
            let Some(name) = default else {
                self.required(table, span, path, "name", &format!("a unique {what} name"));
                return None;
            };
            let line = self.line_of(span.start);
            if let Some((first_line, _)) = seen.repeat(&name, line, None) {
                self.report(
                    span.clone(),
                    format!("{path}: its default name \"{name}\" is already used at line {first_line}; give it a name"),
                );
                return None;
            }
            return Some(name);
        };
        let name_path = format!("{path}.name");
        let name = self.string(value, &name_path, "a string")?;
        let valid = !name.is_empty()
            && name.chars().count() <= MAX_NAME_LENGTH
            && name.chars().all(is_user_name_character);
        if !valid {
            self.report(
                value.span(),
                format!("{name_path}: invalid {what} name \"{name}\"; expected 1 to {MAX_NAME_LENGTH} letters, digits, \".\", \"_\", \"-\" or \"@\""),
            );
            return None;
        }
        let line = self.line_of(value.span().start);
        if let Some((first_line, _)) = seen.repeat(name, line, None) {
            self.report(
                value.span(),
                format!("{name_path}: duplicate {what} name \"{name}\"; first defined at line {first_line}"),
            );
            return None;
        }
        Some(name.to_string())
    }
}

/// A matcher error on one line: the regex crate's message spans several, with a caret under
/// the anchored pattern the user never wrote, so only its last line (what is wrong) is kept.
fn one_line(error: &MatcherError) -> String {
    match error {
        MatcherError::Regex { text, reason } => {
            let what = reason
                .lines()
                .map(str::trim)
                .rfind(|line| !line.is_empty())
                .unwrap_or_default();
            let what = what.strip_prefix("error: ").unwrap_or(what);
            format!("{text:?}: invalid regular expression: {what}")
        }
        other => other.to_string(),
    }
}

fn is_empty_array(value: &Value<'_>) -> bool {
    matches!(value.get_ref(), DeValue::Array(items) if items.is_empty())
}

/// The target a bare name most likely means: the user, schedule or team of that name.
fn bare_target(known: &Known, text: &str) -> Option<Target> {
    let name = text.trim();
    let has = |names: &[String]| names.iter().any(|known| known == name);
    if has(&known.schedules) {
        Some(Target::Schedule(name.to_string()))
    } else if has(&known.users) {
        Some(Target::User(name.to_string()))
    } else if has(&known.teams) {
        Some(Target::Team(name.to_string()))
    } else {
        None
    }
}

/// Contact names appear in rules (`voice after 5m`), so they are one plain word.
fn is_contact_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && name
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "_-".contains(character))
}

/// `local@domain`, without spaces, display names or lists: enough to catch a phone number
/// or a name in the wrong place, without pretending to implement RFC 5322.
pub(super) fn is_email_address(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|character| !character.is_whitespace() && !"<>(),;:@\"[]\\".contains(character));
    let domain_ok = !domain.is_empty()
        && !domain.starts_with(['.', '-'])
        && !domain.ends_with(['.', '-'])
        && !domain.contains("..")
        && domain
            .chars()
            .all(|character| character.is_alphanumeric() || ".-".contains(character));
    local_ok && domain_ok
}

/// `+`, a country code and the number, 7 to 15 digits in all (E.164); spaces and dashes
/// people write for readability are dropped, anything else is refused.
fn phone_number(text: &str) -> Option<String> {
    let digits: String = text
        .trim()
        .strip_prefix('+')?
        .chars()
        .filter(|character| *character != ' ' && *character != '-')
        .collect();
    let valid = (7..=15).contains(&digits.len())
        && digits.chars().all(|character| character.is_ascii_digit())
        && !digits.starts_with('0');
    valid.then(|| format!("+{digits}"))
}

/// `HH:MM` on a 24-hour clock; `24:00` (the end of the day) only when `end_of_day`.
fn parse_clock(text: &str, end_of_day: bool) -> Option<NaiveTime> {
    let (hours, minutes) = text.split_once(':')?;
    let digits = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&part.len()) && part.chars().all(|character| character.is_ascii_digit())
    };
    if !digits(hours, 1..=2) || !digits(minutes, 2..=2) {
        return None;
    }
    let (hours, minutes): (u32, u32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if end_of_day && hours == 24 && minutes == 0 {
        return Some(NaiveTime::MIN);
    }
    NaiveTime::from_hms_opt(hours, minutes, 0)
}

/// `Nh`, `Nd` or `Nw`: `None` when it is not one, `Some(Err)` when N is out of range.
fn parse_shift(text: &str) -> Option<Result<ShiftLength, ()>> {
    let text = text.trim();
    let unit = text.chars().last()?;
    let number = &text[..text.len() - unit.len_utf8()];
    if number.is_empty() || !number.chars().all(|character| character.is_ascii_digit()) {
        return None;
    }
    let number: u32 = number.parse().unwrap_or(u32::MAX);
    let (shift, maximum) = match unit {
        'h' => (ShiftLength::Hours(number), MAX_SHIFT_HOURS),
        'd' => (ShiftLength::Days(number), MAX_SHIFT_DAYS),
        'w' => (ShiftLength::Weeks(number), MAX_SHIFT_WEEKS),
        _ => return None,
    };
    Some(if (1..=maximum).contains(&number) {
        Ok(shift)
    } else {
        Err(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::validate;
    use super::*;
    use crate::notify::{EmailSettings, HttpTemplate, SmtpSecurity, TemplateBody};
    use chrono::TimeZone;
    use std::path::Path;

    fn parse(text: &str) -> OnCallConfig {
        match validate(text, Path::new("/")) {
            Ok(config) => config.oncall,
            Err(diagnostics) => {
                let report: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
                panic!("{}", report.join("\n"))
            }
        }
    }

    fn messages(text: &str) -> Vec<String> {
        validate(text, Path::new("/"))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn minutes(count: i64) -> chrono::Duration {
        chrono::Duration::minutes(count)
    }

    fn text_contact(name: &str, kind: ContactKind, address: &str) -> ContactMethod {
        ContactMethod {
            name: name.to_string(),
            kind,
            address: ContactAddress::Text(address.to_string()),
        }
    }

    const USERS: &str = r#"
[[users]]
name = "alice"
token = "alice-token-0123456789"
role = "responder"

[users.contacts]
sms = "+1 555-0100"
voice = "+15550100"
desk-phone = { kind = "voice", to = "+15550199" }
exec = ["/usr/local/bin/page-me", "--loud"]

[users.notify]
high = ["sms", "voice after 5m", "desk-phone after 1h 30m"]
low = ["exec"]

[[users]]
name = "bob"
token = "bob-token-0123456789ab"
role = "viewer"
"#;

    const NOTIFY: &str = r#"
[notify]
timeout = "15s"
max_attempts = 3
per_minute = 10
public_url = "https://klaxon.example.com"

[notify.email]
host = "smtp.example.com"
from = "klaxon <klaxon@example.com>"

[notify.sms]
url = "https://api.example.com/sms"
basic_auth = { username = "AC1", password = "secret" }
headers = { "X-One" = "1" }
form = { To = "{{to}}", Body = "{{message}}" }

[notify.voice]
method = "get"
url = "https://api.example.com/call?to={{to}}"
"#;

    #[test]
    fn users_become_people_with_contacts_and_rules() {
        let config = parse(&format!("{USERS}{NOTIFY}"));
        let people = &config.directory.people;
        assert_eq!(people.len(), 2);
        assert_eq!(
            people[0],
            Person {
                name: "alice".to_string(),
                contacts: vec![
                    text_contact("sms", ContactKind::Sms, "+15550100"),
                    text_contact("voice", ContactKind::Voice, "+15550100"),
                    text_contact("desk-phone", ContactKind::Voice, "+15550199"),
                    ContactMethod {
                        name: "exec".to_string(),
                        kind: ContactKind::Exec,
                        address: ContactAddress::Command(vec![
                            "/usr/local/bin/page-me".to_string(),
                            "--loud".to_string()
                        ]),
                    },
                ],
                high: vec![
                    NotificationRule {
                        contact: "sms".to_string(),
                        after: chrono::Duration::zero()
                    },
                    NotificationRule {
                        contact: "voice".to_string(),
                        after: minutes(5)
                    },
                    NotificationRule {
                        contact: "desk-phone".to_string(),
                        after: minutes(90)
                    },
                ],
                low: vec![NotificationRule {
                    contact: "exec".to_string(),
                    after: chrono::Duration::zero()
                }],
            }
        );
        // A user without contacts is still someone the directory knows.
        assert_eq!(
            people[1],
            Person {
                name: "bob".to_string(),
                contacts: Vec::new(),
                high: Vec::new(),
                low: Vec::new(),
            }
        );
    }

    #[test]
    fn notify_settings_with_defaults_filled_in() {
        let notify = parse(&format!("{USERS}{NOTIFY}")).notify;
        assert_eq!(notify.timeout, Some(Duration::from_secs(15)));
        assert_eq!(notify.max_attempts, Some(3));
        assert_eq!(notify.per_minute, Some(10));
        assert_eq!(
            notify.public_url.as_deref(),
            Some("https://klaxon.example.com")
        );
        assert_eq!(
            notify.email,
            Some(EmailSettings {
                host: "smtp.example.com".to_string(),
                port: 587,
                security: SmtpSecurity::StartTls,
                username: None,
                password: None,
                from: "klaxon <klaxon@example.com>".to_string(),
            })
        );
        assert_eq!(
            notify.sms,
            Some(HttpTemplate {
                method: "POST".to_string(),
                url: "https://api.example.com/sms".to_string(),
                headers: vec![("X-One".to_string(), "1".to_string())],
                body: TemplateBody::Form(vec![
                    ("To".to_string(), "{{to}}".to_string()),
                    ("Body".to_string(), "{{message}}".to_string()),
                ]),
                basic_auth: Some(("AC1".to_string(), "secret".to_string())),
            })
        );
        assert_eq!(
            notify.voice,
            Some(HttpTemplate {
                method: "GET".to_string(),
                url: "https://api.example.com/call?to={{to}}".to_string(),
                headers: Vec::new(),
                body: TemplateBody::None,
                basic_auth: None,
            })
        );

        let bare = parse("");
        assert_eq!(bare.notify, NotifySettings::default());
        let tls = "[notify.email]\nhost = \"h\"\nsecurity = \"tls\"\nfrom = \"a@b\"\n";
        assert_eq!(parse(tls).notify.email.unwrap().port, 465);
        let plain = "[notify.email]\nhost = \"h\"\nsecurity = \"plain\"\nfrom = \"a@b\"\n";
        let email = parse(plain).notify.email.unwrap();
        assert_eq!((email.port, email.security), (25, SmtpSecurity::Plain));
    }

    #[test]
    fn teams_schedules_layers_and_overrides() {
        let text = format!(
            r#"{USERS}{NOTIFY}
[[teams]]
name = "platform"
members = ["alice", "bob"]

[[schedules]]
name = "primary"
time_zone = "Europe/Berlin"

[[schedules.layers]]
members = ["alice", "bob"]
shift = "1w"
handoff = "09:00"
start = 2026-01-05

[[schedules.layers]]
name = "office"
members = ["bob"]
shift = "12h"
start = "2026-01-05"
days = ["mon", "Friday"]
hours = "09:00-17:30"

[[schedules.layers]]
members = ["alice"]
shift = "2d"
handoff = 08:30:00
start = 2026-01-05
days = ["sat"]

[[schedules.layers]]
members = ["bob"]
shift = "1d"
start = 2026-01-05
hours = "22:00-24:00"

[[schedules.overrides]]
user = "bob"
start = 2026-12-24T18:00:00+01:00
end = "2026-12-27T09:00:00+01:00"

[[schedules]]
name = "secondary"

[[schedules.layers]]
members = ["bob"]
shift = "1d"
start = 2026-01-05

[[schedules.overrides]]
user = "alice"
start = 2026-12-31T00:00:00Z
end = 2027-01-01T00:00:00Z

[[schedules.overrides]]
user = "bob"
start = 2027-01-01T00:00:00Z
end = 2027-01-02T00:00:00Z
"#
        );
        let config = parse(&text);
        assert_eq!(
            config.directory.teams,
            vec![Team {
                name: "platform".to_string(),
                members: vec!["alice".to_string(), "bob".to_string()],
            }]
        );
        let time = |hours, minutes| NaiveTime::from_hms_opt(hours, minutes, 0).unwrap();
        let monday = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let primary = &config.directory.schedules[0];
        assert_eq!(primary.name, "primary");
        assert_eq!(primary.time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(
            primary.layers,
            vec![
                Layer {
                    name: "layer-1".to_string(),
                    members: vec!["alice".to_string(), "bob".to_string()],
                    shift: ShiftLength::Weeks(1),
                    handoff: time(9, 0),
                    start: monday,
                    restriction: None,
                },
                Layer {
                    name: "office".to_string(),
                    members: vec!["bob".to_string()],
                    shift: ShiftLength::Hours(12),
                    handoff: NaiveTime::MIN,
                    start: monday,
                    restriction: Some(Restriction {
                        days: vec![Weekday::Mon, Weekday::Fri],
                        from: time(9, 0),
                        to: time(17, 30),
                    }),
                },
                // Days alone: whole days, midnight to midnight.
                Layer {
                    name: "layer-3".to_string(),
                    members: vec!["alice".to_string()],
                    shift: ShiftLength::Days(2),
                    handoff: time(8, 30),
                    start: monday,
                    restriction: Some(Restriction {
                        days: vec![Weekday::Sat],
                        from: NaiveTime::MIN,
                        to: NaiveTime::MIN,
                    }),
                },
                // Hours alone: every day; 24:00 is the next midnight.
                Layer {
                    name: "layer-4".to_string(),
                    members: vec!["bob".to_string()],
                    shift: ShiftLength::Days(1),
                    handoff: NaiveTime::MIN,
                    start: monday,
                    restriction: Some(Restriction {
                        days: DAYS.map(|(_, _, day)| day).to_vec(),
                        from: time(22, 0),
                        to: NaiveTime::MIN,
                    }),
                },
            ]
        );
        assert_eq!(config.directory.schedules[1].time_zone, Tz::UTC);

        let utc =
            |year, month, day, hour| Utc.with_ymd_and_hms(year, month, day, hour, 0, 0).unwrap();
        let expected = |id: &str, schedule: &str, user: &str, start, end| Override {
            id: id.to_string(),
            schedule: schedule.to_string(),
            user: user.to_string(),
            start,
            end,
            created_by: None,
        };
        // Numbered in file order across schedules.
        assert_eq!(
            config.overrides,
            vec![
                expected(
                    "config-1",
                    "primary",
                    "bob",
                    utc(2026, 12, 24, 17),
                    utc(2026, 12, 27, 8)
                ),
                expected(
                    "config-2",
                    "secondary",
                    "alice",
                    utc(2026, 12, 31, 0),
                    utc(2027, 1, 1, 0)
                ),
                expected(
                    "config-3",
                    "secondary",
                    "bob",
                    utc(2027, 1, 1, 0),
                    utc(2027, 1, 2, 0)
                ),
            ]
        );
    }

    #[test]
    fn policies_routing_and_silences() {
        let text = format!(
            r#"{USERS}{NOTIFY}
[[teams]]
name = "platform"
members = ["alice"]

[[schedules]]
name = "primary"
[[schedules.layers]]
members = ["alice"]
shift = "1w"
start = 2026-01-05

[[escalation_policies]]
name = "platform"
repeat = 2
round_robin = true
[[escalation_policies.levels]]
targets = ["schedule:primary"]
delay = "1m"
[[escalation_policies.levels]]
targets = ["user:bob", "team:platform"]

[[escalation_policies]]
name = "quiet"
levels = [{{ targets = ["user:alice"] }}]

[routing]
default_escalation_policy = "platform"
default_urgency = "low"

[[routes]]
name = "database"
match = ["service=postgres", "env=prod"]
service = "database"
escalation_policy = "quiet"
urgency = "high"

[[routes]]
match = ["sev=crit"]

[[silences]]
name = "db-maintenance"
match = ["service=postgres"]
start = 2026-12-01T22:00:00Z
end = 2026-12-02T02:00:00Z
comment = "upgrade"
"#
        );
        let config = parse(&text);
        assert_eq!(
            config.directory.policies,
            vec![
                EscalationPolicy {
                    name: "platform".to_string(),
                    levels: vec![
                        EscalationLevel {
                            targets: vec![Target::Schedule("primary".to_string())],
                            delay: minutes(1),
                        },
                        EscalationLevel {
                            targets: vec![
                                Target::User("bob".to_string()),
                                Target::Team("platform".to_string())
                            ],
                            delay: minutes(5),
                        },
                    ],
                    repeat: 2,
                    round_robin: true,
                },
                EscalationPolicy {
                    name: "quiet".to_string(),
                    levels: vec![EscalationLevel {
                        targets: vec![Target::User("alice".to_string())],
                        delay: minutes(5),
                    }],
                    repeat: 0,
                    round_robin: false,
                },
            ]
        );
        let matchers = |texts: &[&str]| -> Vec<Matcher> {
            texts.iter().map(|text| text.parse().unwrap()).collect()
        };
        assert_eq!(
            config.routing,
            Routing {
                routes: vec![
                    Route {
                        name: "database".to_string(),
                        matchers: matchers(&["service=postgres", "env=prod"]),
                        service: Some("database".to_string()),
                        policy: Some("quiet".to_string()),
                        urgency: Some(Urgency::High),
                        page: true,
                    },
                    Route {
                        name: "route-2".to_string(),
                        matchers: matchers(&["severity=critical"]),
                        service: None,
                        policy: None,
                        urgency: None,
                        page: true,
                    },
                ],
                default_policy: Some("platform".to_string()),
                default_urgency: Some(Urgency::Low),
            }
        );
        assert_eq!(
            config.maintenance,
            vec![Silence {
                id: "db-maintenance".to_string(),
                matchers: matchers(&["service=postgres"]),
                starts_at: Utc.with_ymd_and_hms(2026, 12, 1, 22, 0, 0).unwrap(),
                ends_at: Utc.with_ymd_and_hms(2026, 12, 2, 2, 0, 0).unwrap(),
                comment: "upgrade".to_string(),
                created_by: None,
            }]
        );
    }

    #[test]
    fn the_example_pages_the_on_call_person_then_the_other_one() {
        let text = include_str!("../../../config/klaxon.example.toml");
        let config = parse(text);
        let directory = &config.directory;
        let names: Vec<&str> = directory
            .people
            .iter()
            .map(|person| person.name.as_str())
            .collect();
        assert_eq!(names, ["alice", "bob", "carol", "dashboard"]);
        for name in ["alice", "bob"] {
            let person = directory.person(name).unwrap();
            let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
            // The demo: a local webhook and e-mail at once, nothing else within the minute
            // before level 2.
            let at_once: Vec<ContactKind> = person
                .plan(Urgency::High, now)
                .into_iter()
                .filter(|(_, at)| *at == now)
                .map(|(contact, _)| contact.kind)
                .collect();
            assert_eq!(
                at_once,
                [ContactKind::Webhook, ContactKind::Email],
                "{name}"
            );
            let webhook = person
                .contacts
                .iter()
                .find(|contact| contact.kind == ContactKind::Webhook);
            let ContactAddress::Text(url) = &webhook.unwrap().address else {
                panic!("{name}: webhook without a URL");
            };
            assert!(url.starts_with("http://127.0.0.1:9000/"), "{url}");
        }
        let policy = directory.policy("platform").unwrap();
        assert_eq!(
            policy.levels[0].targets,
            [Target::Schedule("primary".to_string())]
        );
        assert_eq!(policy.levels[0].delay, minutes(1));
        assert_eq!(
            policy.levels[1].targets,
            [Target::Schedule("secondary".to_string())]
        );
        // Level 2 is always the other person: the same rotation the other way round.
        let primary = &directory.schedule("primary").unwrap().layers[0];
        let secondary = &directory.schedule("secondary").unwrap().layers[0];
        let mut reversed = primary.members.clone();
        reversed.reverse();
        assert_eq!(secondary.members, reversed);
        assert_eq!(
            (secondary.shift, secondary.handoff, secondary.start),
            (primary.shift, primary.handoff, primary.start)
        );
        assert_eq!(config.routing.default_policy.as_deref(), Some("platform"));
        let email = config.notify.email.as_ref().unwrap();
        assert_eq!(
            (email.host.as_str(), email.port, email.security),
            ("127.0.0.1", 2525, SmtpSecurity::Plain)
        );
        assert!(config.notify.sms.is_some() && config.notify.voice.is_some());
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap();
        assert!(config
            .maintenance
            .iter()
            .all(|silence| !silence.is_current(now)));
    }

    #[test]
    fn rules_shifts_clocks_and_addresses() {
        let mut checker_text = String::new();
        checker_text.push_str("");
        assert_eq!(parse_shift("12h"), Some(Ok(ShiftLength::Hours(12))));
        assert_eq!(parse_shift("1d"), Some(Ok(ShiftLength::Days(1))));
        assert_eq!(parse_shift("2w"), Some(Ok(ShiftLength::Weeks(2))));
        assert_eq!(parse_shift("0w"), Some(Err(())));
        assert_eq!(parse_shift("53w"), Some(Err(())));
        assert_eq!(parse_shift("99999999999h"), Some(Err(())));
        for bad in ["", "h", "1", "1 w", "-1d", "1.5d", "1m", "w1"] {
            assert_eq!(parse_shift(bad), None, "{bad}");
        }

        let time = |hours, minutes| NaiveTime::from_hms_opt(hours, minutes, 0);
        assert_eq!(parse_clock("09:00", false), time(9, 0));
        assert_eq!(parse_clock("9:05", false), time(9, 5));
        assert_eq!(parse_clock("23:59", false), time(23, 59));
        assert_eq!(parse_clock("24:00", true), Some(NaiveTime::MIN));
        for bad in ["24:00", "9", "09:0", "09:60", "9am", "-1:00", "09:00:00"] {
            assert_eq!(parse_clock(bad, false), None, "{bad}");
        }

        assert_eq!(phone_number("+1 555-0100").as_deref(), Some("+15550100"));
        assert_eq!(
            phone_number("+4930123456789").as_deref(),
            Some("+4930123456789")
        );
        for bad in [
            "15550100",
            "+0123456789",
            "+123",
            "+1234567890123456",
            "+1 (555) 0100",
            "+1555CALLME",
        ] {
            assert_eq!(phone_number(bad), None, "{bad}");
        }

        for good in [
            "alice@example.com",
            "a.b+c@mail.example.co.uk",
            "root@localhost",
        ] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "alice@example..com",
            "<alice@example.com>",
            "a@b@c",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }

    #[test]
    fn a_rule_is_contact_and_optional_delay() {
        let rule = |text: &str| {
            let config = parse(&format!(
                "[[users]]\nname = \"a\"\ntoken = \"a-token-0123456789ab\"\nrole = \"viewer\"\n[users.contacts]\nwebhook = \"http://127.0.0.1:9000/a\"\n[users.notify]\nhigh = [\"{text}\"]\n"
            ));
            config.directory.people[0].high[0].clone()
        };
        assert_eq!(
            rule("webhook after 5m"),
            NotificationRule {
                contact: "webhook".to_string(),
                after: minutes(5)
            }
        );
        assert_eq!(rule("  webhook  ").after, chrono::Duration::zero());
        assert_eq!(rule("webhook after 1h 30m").after, minutes(90));
        assert_eq!(rule("webhook after 0s").after, chrono::Duration::zero());
    }

    #[test]
    fn references_are_checked_against_names_as_written() {
        // bob's token is invalid, but bob exists: the team naming him is not reported too.
        let text = r#"
[[users]]
name = "bob"
token = "short"
role = "viewer"

[[teams]]
name = "t"
members = ["bob"]
"#;
        let report = messages(text);
        assert_eq!(report.len(), 1, "{report:?}");
        assert!(report[0].contains("users[0].token"), "{report:?}");
    }

    #[test]
    fn a_contact_without_its_channel_is_refused() {
        let text = "[[users]]\nname = \"alice\"\ntoken = \"alice-token-0123456789\"\nrole = \"viewer\"\n[users.contacts]\nsms = \"+15550100\"\n";
        assert_eq!(
            messages(text),
            ["6:1: users[0].contacts.sms: alice's sms contact needs a [notify.sms] provider: add [notify.sms] with your SMS provider's HTTP API (see config/klaxon.example.toml), or remove this contact"]
        );
        // A channel with mistakes of its own is reported there, not again at every contact.
        let with_broken_provider = format!("{text}[notify.sms]\nurl = \"https://x.example.com\"\n");
        let report = messages(&with_broken_provider);
        assert_eq!(report.len(), 1, "{report:?}");
        assert!(report[0].contains("never uses {{to}}"), "{report:?}");
    }
}
