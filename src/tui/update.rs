//! `update(state, message) -> effects`: the console's whole behaviour as one pure function.
//! Keys become [`Action`]s through the keymap; actions, `:` commands, engine updates and
//! answers change the [`State`]; anything that must touch the outside world (the engine,
//! the terminal, files) is returned as an [`Effect`] for the runtime to carry out.

use super::action::Action;
use super::file_error::closest;
use super::keymap::{Code, Key};
use super::state::{
    DetailView, Fetched, Flash, Input, Mode, Purpose, Screen, SilencesView, Sort, State, Subject,
    Tab, QUEUE_TOP,
};
use super::theme::Theme;
use crate::client::{ClientError, Link, Update};
use crate::domain::matcher::{Matcher, MatcherError};
use crate::domain::{self, IncidentId, Severity};
use crate::protocol::{
    IncidentDetail, IncidentView, IntegrationView, OnCallView, SilenceView, TimelineView,
};
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub enum Message {
    Key(KeyEvent),
    /// A mouse click on a screen row.
    Click {
        row: u16,
    },
    /// The mouse wheel: positive is down.
    Scroll(isize),
    Intent(Action),
    /// Pasted text: goes into an open prompt as if typed (line breaks become spaces).
    Paste(String),
    /// A `:` command line as typed, without the colon.
    Command(String),
    Client(Update),
    Tick(DateTime<Utc>),
    Resize {
        width: u16,
        height: u16,
    },
    Acted {
        id: IncidentId,
        what: &'static str,
        result: Result<IncidentView, ClientError>,
    },
    DetailLoaded {
        id: IncidentId,
        result: Result<IncidentDetail, ClientError>,
    },
    ThemeLoaded(Result<Theme, String>),
    Integrations(Vec<IntegrationView>),
    OnCallLoaded(Result<Vec<OnCallView>, ClientError>),
    SilencesLoaded(Result<Vec<SilenceView>, ClientError>),
    SilenceAdded(Result<SilenceView, ClientError>),
    SilenceExpired {
        id: String,
        result: Result<SilenceView, ClientError>,
    },
    /// A postmortem draft was written to a file (its path), or why not.
    PostmortemWritten {
        id: IncidentId,
        result: Result<PathBuf, String>,
    },
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Act {
        id: IncidentId,
        action: domain::Action,
        /// Past tense for messages: "acknowledged".
        what: &'static str,
    },
    LoadDetail(IncidentId),
    LoadOnCall,
    LoadSilences,
    AddSilence(SilenceRequest),
    ExpireSilence(String),
    LoadTheme(String),
    LoadIntegrations,
    /// Tell the engine which incident this console looks at now (`None`: none).
    Viewing(Option<IncidentId>),
    /// Fetch the incident's postmortem draft and write it to `path`; an existing file is
    /// replaced only when `overwrite` (`:postmortem! FILE`).
    WritePostmortem {
        id: IncidentId,
        path: PathBuf,
        overwrite: bool,
    },
    Bell,
    /// Clear and redraw everything.
    Redraw,
    Suspend,
    SetMouse(bool),
    Quit,
}

const FLASH_SECONDS: i64 = 5;
const ERROR_SECONDS: i64 = 15;
/// How often the on-call and silences screens fetch again while shown. Nothing pushes
/// their changes, and both move slowly: a minute is fresh enough and costs nothing.
const REFETCH_SECONDS: i64 = 60;
/// The longest silence the console makes, the same as the API's limit.
const LONGEST_SILENCE: std::time::Duration = std::time::Duration::from_secs(366 * 86_400);
/// What an escalate-now is called in messages ("#2 escalated: …").
const ESCALATED: &str = "escalated";
/// What a message sent to the channel is called in answers ("#2 noted: …").
const NOTED: &str = "noted";

/// Where `:postmortem` writes without a file name: the current directory.
pub fn postmortem_file(id: IncidentId) -> PathBuf {
    PathBuf::from(format!("incident-{id}-postmortem.md"))
}

/// `:silence` parsed: matchers, for how long, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceRequest {
    pub matchers: Vec<Matcher>,
    pub duration: std::time::Duration,
    pub comment: String,
}

/// Parses `MATCHER… DURATION [COMMENT…]`: matcher tokens (`svc=batch`, `sev!=critical`,
/// `env=~prod|staging`) up to the first duration token (`2h`, `30m`, `1d`); everything after
/// it is the comment, as typed.
pub fn parse_silence(text: &str) -> Result<SilenceRequest, String> {
    let mut matchers = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        let after = rest[end..].trim_start();
        // Durations start with a digit; a matcher never does (it starts with a name).
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            let duration = humantime::parse_duration(token).map_err(|error| {
                format!("{token:?} is not a duration like 30m, 2h or 1d: {error}")
            })?;
            if matchers.is_empty() {
                return Err(no_matchers());
            }
            if duration.is_zero() || duration > LONGEST_SILENCE {
                return Err(format!(
                    "{token}: a silence lasts more than nothing and at most a year"
                ));
            }
            return Ok(SilenceRequest {
                matchers,
                duration,
                comment: after.trim_end().to_string(),
            });
        }
        matchers.push(token.parse::<Matcher>().map_err(matcher_error)?);
        rest = after;
    }
    if matchers.is_empty() {
        return Err(no_matchers());
    }
    Err("how long? put a duration such as 2h after the matchers".to_string())
}

fn no_matchers() -> String {
    "a silence needs a matcher first, such as svc=batch or sev=warning \
     (without one it would silence everything)"
        .to_string()
}

fn matcher_error(error: MatcherError) -> String {
    match error {
        // Shorter than the domain's sentence, so that it fits an 80-column status line.
        MatcherError::NoOperator(text) => {
            format!("{text:?} is not a matcher like svc=batch (= != =~ !~)")
        }
        // The regex crate's message spans lines; its last says what is wrong.
        MatcherError::Regex { text, reason } => format!(
            "{text:?}: invalid regular expression: {}",
            reason.lines().last().unwrap_or_default().trim()
        ),
        other => other.to_string(),
    }
}

pub fn update(state: &mut State, message: Message) -> Vec<Effect> {
    let viewing = state.viewing();
    let mut effects = changes(state, message);
    // Presence follows the screen, whatever changed it: opening a detail, going back,
    // another screen, quitting.
    let now_viewing = state.viewing();
    let quitting = effects.iter().position(|effect| *effect == Effect::Quit);
    match quitting {
        Some(at) if viewing.is_some() || now_viewing.is_some() => {
            effects.insert(at, Effect::Viewing(None))
        }
        Some(_) => {}
        None if now_viewing != viewing => effects.push(Effect::Viewing(now_viewing)),
        None => {}
    }
    effects
}

fn changes(state: &mut State, message: Message) -> Vec<Effect> {
    let mut effects = Vec::new();
    match message {
        Message::Key(event) => {
            if let Some(key) = Key::from_event(&event) {
                key_pressed(state, key, &mut effects);
            }
        }
        Message::Click { row } => {
            if matches!(state.screen, Screen::Queue)
                && matches!(state.mode, Mode::Normal)
                && row >= QUEUE_TOP
            {
                state.settle();
                let index = state.offset + (row - QUEUE_TOP) as usize;
                if index < state.visible().len() {
                    state.cursor = index;
                    state.selected = Some(state.visible()[index]);
                    mark_seen(state);
                }
            }
        }
        Message::Scroll(delta) => move_by(state, delta),
        Message::Intent(action) => perform(state, action, &mut effects),
        Message::Paste(text) => {
            if let Mode::Input(input) = &state.mode {
                // A message keeps the pasted lines (a log excerpt, say); one-line prompts
                // get spaces.
                let lines = matches!(input.purpose, Purpose::Note(_));
                for character in text.replace("\r\n", "\n").chars() {
                    let character = match character {
                        '\n' if lines => '\n',
                        character if character.is_control() => ' ',
                        character => character,
                    };
                    if let Mode::Input(input) = state.mode.clone() {
                        edit(state, input, Key::char(character), &mut effects);
                    }
                }
            }
        }
        Message::Command(line) => command(state, &line, &mut effects),
        Message::Client(update) => client_update(state, update, &mut effects),
        Message::Tick(now) => {
            state.now = now;
            if state.flash.as_ref().is_some_and(|flash| flash.until <= now) {
                state.flash = None;
            }
            // Snoozes end and `status:snoozed` changes with time.
            if !state.filter_text.is_empty() {
                state.invalidate();
            }
            refetch_if_stale(state, &mut effects);
        }
        Message::Resize { width, height } => {
            state.width = width;
            state.height = height;
            state.page = height
                .saturating_sub(QUEUE_TOP + super::state::QUEUE_BOTTOM)
                .max(1) as usize;
            state.settle();
        }
        Message::Acted { id, what, result } => {
            state.in_flight = state.in_flight.saturating_sub(1);
            let unsent = if what == NOTED {
                state.unsent.remove(&id)
            } else {
                None
            };
            match result {
                Ok(incident) => {
                    let text = acted_text(id, what, &incident);
                    apply_incident(state, incident, Vec::new(), false, &mut effects);
                    flash(state, text, false);
                }
                Err(error) => {
                    flash(state, format!("#{id} not {what}: {error}"), true);
                    // A refused message goes back into the composer to be shortened or
                    // fixed, unless something else is being typed now.
                    if let (Some(text), Mode::Normal) = (unsent, &state.mode) {
                        state.mode = Mode::Input(Input::new(Purpose::Note(id), &text));
                    }
                }
            }
        }
        Message::PostmortemWritten { id, result } => match result {
            Ok(path) => flash(
                state,
                format!("postmortem draft of #{id} written to {}", path.display()),
                false,
            ),
            Err(error) => flash(
                state,
                format!("postmortem of #{id} not written: {error}"),
                true,
            ),
        },
        Message::DetailLoaded { id, result } => {
            if let Screen::Detail(detail) = &mut state.screen {
                if detail.id == id {
                    match result {
                        Ok(loaded) => {
                            let mut loaded = loaded;
                            // What happened between the engine's read and now.
                            let last = loaded.timeline.last().map(|entry| entry.seq);
                            let early = std::mem::take(&mut detail.early);
                            loaded.timeline.extend(
                                early
                                    .into_iter()
                                    .filter(|entry| last.is_none_or(|last| entry.seq > last)),
                            );
                            detail.detail = Some(loaded);
                            detail.error = None;
                        }
                        Err(error) => detail.error = Some(error.to_string()),
                    }
                }
            }
        }
        Message::ThemeLoaded(result) => match result {
            Ok(theme) => {
                let name = theme.name.clone();
                state.theme = if Theme::no_colour_requested() {
                    theme.without_colour()
                } else {
                    theme
                };
                flash(state, format!("theme {name}"), false);
            }
            Err(error) => flash(state, error, true),
        },
        Message::Integrations(integrations) => state.integrations = integrations,
        Message::OnCallLoaded(result) => {
            let now = state.now;
            if let Screen::OnCall(oncall) = &mut state.screen {
                oncall.answered(result.map_err(|error| error.to_string()), now);
            }
        }
        Message::SilencesLoaded(result) => {
            let now = state.now;
            if let Screen::Silences(view) = &mut state.screen {
                let selected = view.selected().map(|silence| silence.id.clone());
                let result = result
                    .map(|mut silences| {
                        sort_silences(&mut silences);
                        silences
                    })
                    .map_err(|error| error.to_string());
                view.silences.answered(result, now);
                // The selection stays on its silence when the list changes around it.
                let listed = view.silences.value.as_deref().unwrap_or_default();
                if let Some(index) = selected
                    .and_then(|selected| listed.iter().position(|silence| silence.id == selected))
                {
                    view.cursor = index;
                }
                view.cursor = view.cursor.min(listed.len().saturating_sub(1));
            }
        }
        Message::SilenceAdded(result) => {
            state.in_flight = state.in_flight.saturating_sub(1);
            match result {
                Ok(silence) => {
                    let text = format!(
                        "silence {} added: {} until {}",
                        silence.id,
                        silence.matchers.join(" "),
                        super::text::clock(silence.ends_at, state.now)
                    );
                    flash(state, text, false);
                    refetch_silences(state, &mut effects);
                }
                Err(error) => flash(state, format!("silence not added: {error}"), true),
            }
        }
        Message::SilenceExpired { id, result } => {
            state.in_flight = state.in_flight.saturating_sub(1);
            match result {
                Ok(_) => {
                    flash(
                        state,
                        format!("silence {id} expired: what it held escalates again"),
                        false,
                    );
                    refetch_silences(state, &mut effects);
                }
                Err(error) => flash(state, format!("silence {id} not expired: {error}"), true),
            }
        }
    }
    effects
}

/// What an answered action says in the status line.
fn acted_text(id: IncidentId, what: &str, incident: &IncidentView) -> String {
    let escalation = &incident.escalation;
    match (&escalation.policy, what == ESCALATED) {
        (Some(policy), true) => format!(
            "#{id} escalated: level {} of {} paged",
            escalation.level,
            super::text::sanitize(policy)
        ),
        _ => format!("#{id} {what}: {}", super::text::sanitize(&incident.title)),
    }
}

/// Active first (soonest to end first), then pending (soonest to start), then expired (most
/// recently ended first): what matters now at the top.
fn sort_silences(silences: &mut [SilenceView]) {
    silences.sort_by(|a, b| {
        let rank = |silence: &SilenceView| match silence.state.as_str() {
            "active" => 0,
            "pending" => 1,
            _ => 2,
        };
        rank(a).cmp(&rank(b)).then_with(|| match rank(a) {
            0 => a.ends_at.cmp(&b.ends_at),
            1 => a.starts_at.cmp(&b.starts_at),
            _ => b.ends_at.cmp(&a.ends_at),
        })
    });
}

fn refetch_silences(state: &mut State, effects: &mut Vec<Effect>) {
    if let Screen::Silences(view) = &mut state.screen {
        if !view.silences.loading {
            view.silences.loading = true;
            effects.push(Effect::LoadSilences);
        }
    }
}

/// Fetches what the on-call or silences screen shows again when it is a minute old, or when
/// a shift or silence it shows has begun or ended since (what it says has changed then).
fn refetch_if_stale(state: &mut State, effects: &mut Vec<Effect>) {
    let now = state.now;
    let stale = |at: Option<DateTime<Utc>>, boundaries: Vec<DateTime<Utc>>| {
        at.is_some_and(|at| {
            now - at >= chrono::Duration::seconds(REFETCH_SECONDS)
                || boundaries
                    .into_iter()
                    .any(|boundary| at < boundary && boundary <= now)
        })
    };
    match &mut state.screen {
        Screen::OnCall(oncall) if !oncall.loading => {
            let boundaries = oncall
                .value
                .iter()
                .flatten()
                .flat_map(|schedule| {
                    let shifts = schedule.now.iter().chain(&schedule.next);
                    let overrides = schedule.overrides.iter();
                    shifts
                        .flat_map(|shift| [shift.start, shift.end])
                        .chain(overrides.flat_map(|entry| [entry.start, entry.end]))
                })
                .collect();
            if stale(oncall.at, boundaries) {
                oncall.loading = true;
                effects.push(Effect::LoadOnCall);
            }
        }
        Screen::Silences(view) if !view.silences.loading => {
            let boundaries = view
                .silences
                .value
                .iter()
                .flatten()
                .flat_map(|silence| [silence.starts_at, silence.ends_at])
                .collect();
            if stale(view.silences.at, boundaries) {
                view.silences.loading = true;
                effects.push(Effect::LoadSilences);
            }
        }
        _ => {}
    }
}

fn flash(state: &mut State, text: String, error: bool) {
    let seconds = if error { ERROR_SECONDS } else { FLASH_SECONDS };
    state.flash = Some(Flash {
        text,
        error,
        until: state.now + chrono::Duration::seconds(seconds),
    });
}

fn mark_seen(state: &mut State) {
    if let Some(id) = state.target() {
        state.unseen.remove(&id);
    }
}

fn key_pressed(state: &mut State, key: Key, effects: &mut Vec<Effect>) {
    match state.mode.clone() {
        Mode::Input(input) => edit(state, input, key, effects),
        Mode::Confirm { action, subject } => {
            state.mode = Mode::Normal;
            if key == Key::char('y') || key == Key::char('Y') {
                carry_out(state, action, subject, effects);
            } else {
                let what = match subject {
                    Subject::Incident(id) => format!("#{id}"),
                    Subject::Silence(id) => format!("silence {id}"),
                };
                flash(state, format!("{what}: {} cancelled", action.name()), false);
            }
        }
        Mode::Help { scroll } => {
            let last = super::view::help_last_scroll(state);
            let page = state.page;
            let scroll = match state.keymap.action(&key) {
                Some(Action::SelectNext) => scroll + 1,
                Some(Action::SelectPrevious) => scroll.saturating_sub(1),
                Some(Action::PageDown) => scroll + page,
                Some(Action::PageUp) => scroll.saturating_sub(page),
                Some(Action::SelectFirst) => 0,
                Some(Action::SelectLast) => last,
                Some(action @ (Action::Suspend | Action::Redraw)) => {
                    perform(state, action, effects);
                    scroll
                }
                // Any other key closes the help, as people expect.
                _ => {
                    state.mode = Mode::Normal;
                    return;
                }
            };
            state.mode = Mode::Help {
                scroll: scroll.min(last),
            };
        }
        Mode::Normal => match state.keymap.action(&key) {
            Some(action) => perform(state, action, effects),
            None => {
                if key != Key::plain(Code::Esc) {
                    let help = state
                        .keymap
                        .keys(Action::Help)
                        .first()
                        .map(|key| key.to_string());
                    let hint = help.map_or(String::new(), |help| format!(" ({help} for help)"));
                    flash(state, format!("{key} does nothing here{hint}"), false);
                }
            }
        },
    }
}

/// Line editing shared by every prompt.
fn edit(state: &mut State, mut input: Input, key: Key, effects: &mut Vec<Effect>) {
    let length = input.text.chars().count();
    let byte = |text: &str, at: usize| {
        text.char_indices()
            .nth(at)
            .map_or(text.len(), |(index, _)| index)
    };
    let mut changed = false;
    let composing = matches!(input.purpose, Purpose::Note(_));
    if composing && state.keymap.action(&key) == Some(Action::NewLine) {
        let at = byte(&input.text, input.cursor);
        input.text.insert(at, '\n');
        input.cursor += 1;
        state.mode = Mode::Input(input);
        return;
    }
    match (key.code, key.ctrl, key.alt) {
        (Code::Enter, _, _) => {
            state.mode = Mode::Normal;
            submit(state, input, effects);
            return;
        }
        (Code::Esc, _, _) | (Code::Char('c'), true, _) => {
            state.mode = Mode::Normal;
            if let Purpose::Filter { before } = &input.purpose {
                let before = before.clone();
                state.set_filter(&before);
            } else if let Purpose::Note(id) = input.purpose {
                if !input.text.trim().is_empty() {
                    flash(state, format!("message to #{id} discarded"), false);
                }
            }
            return;
        }
        (Code::Backspace, _, _) | (Code::Char('h'), true, _) => {
            if input.cursor > 0 {
                let at = byte(&input.text, input.cursor - 1);
                input.text.remove(at);
                input.cursor -= 1;
                changed = true;
            } else if input.text.is_empty() {
                // Backspace on an empty prompt leaves it, like vim's command line.
                state.mode = Mode::Normal;
                if let Purpose::Filter { .. } = input.purpose {
                    state.set_filter("");
                }
                return;
            }
        }
        (Code::Delete, _, _) | (Code::Char('d'), true, _) if input.cursor < length => {
            let at = byte(&input.text, input.cursor);
            input.text.remove(at);
            changed = true;
        }
        (Code::Left, _, _) | (Code::Char('b'), true, _) => {
            input.cursor = input.cursor.saturating_sub(1)
        }
        (Code::Right, _, _) | (Code::Char('f'), true, _) => {
            input.cursor = (input.cursor + 1).min(length)
        }
        (Code::Home, _, _) | (Code::Char('a'), true, _) => input.cursor = 0,
        (Code::End, _, _) | (Code::Char('e'), true, _) => input.cursor = length,
        (Code::Char('u'), true, _) => {
            let at = byte(&input.text, input.cursor);
            input.text.replace_range(..at, "");
            input.cursor = 0;
            changed = true;
        }
        (Code::Char('w'), true, _) => {
            let end = byte(&input.text, input.cursor);
            let before = &input.text[..end];
            let start = before.trim_end().rfind(' ').map_or(0, |index| index + 1);
            let removed = input.text[start..end].chars().count();
            input.text.replace_range(start..end, "");
            input.cursor -= removed;
            changed = true;
        }
        (Code::Char(character), false, false) => {
            let at = byte(&input.text, input.cursor);
            input.text.insert(at, character);
            input.cursor += 1;
            changed = true;
        }
        _ => {}
    }
    if changed {
        if let Purpose::Filter { .. } = input.purpose {
            state.set_filter(&input.text);
        }
    }
    state.mode = Mode::Input(input);
}

fn submit(state: &mut State, input: Input, effects: &mut Vec<Effect>) {
    let text = input.text.trim().to_string();
    match input.purpose {
        Purpose::Filter { .. } => state.set_filter(&text),
        Purpose::Command => command(state, &text, effects),
        Purpose::Note(id) => {
            if text.is_empty() {
                flash(state, format!("empty message to #{id} not sent"), false);
            } else {
                send_message(state, id, message_text(&input.text), effects);
            }
        }
        Purpose::Snooze(id) => match parse_duration(&text) {
            Ok(duration) => {
                let until = state.now + duration;
                send(
                    state,
                    id,
                    domain::Action::Snooze { until },
                    "snoozed",
                    effects,
                );
            }
            Err(message) => {
                flash(state, message, true);
                state.mode = Mode::Input(Input::new(Purpose::Snooze(id), &input.text));
            }
        },
        Purpose::Silence => match parse_silence(&text) {
            Ok(request) => {
                state.in_flight += 1;
                effects.push(Effect::AddSilence(request));
            }
            Err(message) => {
                flash(state, message, true);
                // Left open with what was typed, to be put right rather than typed again.
                state.mode = Mode::Input(Input::new(Purpose::Silence, &input.text));
            }
        },
        Purpose::Reassign(id) => {
            if text.is_empty() {
                flash(state, format!("#{id} not reassigned: no name given"), true);
            } else {
                send(
                    state,
                    id,
                    domain::Action::Reassign { to: text },
                    "reassigned",
                    effects,
                );
            }
        }
    }
}

/// A message as it is stored: blank lines and trailing blanks around it dropped, the
/// indentation of its first line and everything inside kept as typed.
fn message_text(text: &str) -> String {
    let start = text
        .char_indices()
        .find(|(_, character)| !character.is_whitespace())
        .map_or(text.len(), |(index, _)| index);
    let line_start = text[..start].rfind('\n').map_or(0, |index| index + 1);
    text[line_start..].trim_end().to_string()
}

fn send_message(state: &mut State, id: IncidentId, text: String, effects: &mut Vec<Effect>) {
    state.unsent.insert(id, text.clone());
    send(state, id, domain::Action::Note { text }, NOTED, effects);
}

fn parse_duration(text: &str) -> Result<chrono::Duration, String> {
    let parsed = humantime::parse_duration(text)
        .map_err(|error| format!("{text:?} is not a duration like 30m or 2h: {error}"))?;
    if parsed.is_zero() {
        return Err("a snooze must last a while: try 30m".to_string());
    }
    chrono::Duration::from_std(parsed).map_err(|_| format!("{text} is too long"))
}

fn send(
    state: &mut State,
    id: IncidentId,
    action: domain::Action,
    what: &'static str,
    effects: &mut Vec<Effect>,
) {
    state.in_flight += 1;
    state.unseen.remove(&id);
    effects.push(Effect::Act { id, action, what });
}

/// An action's effect once confirmed (or when it needs no confirmation).
fn carry_out(state: &mut State, action: Action, subject: Subject, effects: &mut Vec<Effect>) {
    let id = match subject {
        Subject::Silence(id) => {
            if action == Action::ExpireSilence {
                state.in_flight += 1;
                effects.push(Effect::ExpireSilence(id));
            }
            return;
        }
        Subject::Incident(id) => id,
    };
    match action {
        Action::Acknowledge => send(
            state,
            id,
            domain::Action::Acknowledge,
            "acknowledged",
            effects,
        ),
        Action::Resolve => send(state, id, domain::Action::Resolve, "resolved", effects),
        Action::Escalate => send(state, id, domain::Action::Escalate, ESCALATED, effects),
        Action::Annotate => state.mode = Mode::Input(Input::new(Purpose::Note(id), "")),
        Action::Snooze => state.mode = Mode::Input(Input::new(Purpose::Snooze(id), "")),
        Action::Reassign => state.mode = Mode::Input(Input::new(Purpose::Reassign(id), "")),
        _ => {}
    }
}

/// Whether a dangerous action may run; says why not.
fn allowed(state: &mut State, action: Action) -> bool {
    if action.is_dangerous() && (state.read_only || !state.keymap.allows(action)) {
        flash(state, format!("read-only: {} is off", action.name()), true);
        return false;
    }
    true
}

fn perform(state: &mut State, action: Action, effects: &mut Vec<Effect>) {
    match action {
        Action::SelectNext
        | Action::SelectPrevious
        | Action::PageDown
        | Action::PageUp
        | Action::SelectFirst
        | Action::SelectLast => {
            let page = state.page as isize;
            let delta = match action {
                Action::SelectNext => 1,
                Action::SelectPrevious => -1,
                Action::PageDown => page,
                Action::PageUp => -page,
                Action::SelectFirst => isize::MIN / 2,
                _ => isize::MAX / 2,
            };
            move_by(state, delta);
        }
        Action::OpenDetail => {
            state.settle();
            if let (Screen::Queue, Some(id)) = (&state.screen, state.selected) {
                open_detail(state, id, effects);
            }
        }
        Action::Back => match state.screen {
            Screen::Detail(_) | Screen::OnCall(_) | Screen::Silences(_) => {
                state.screen = Screen::Queue
            }
            Screen::Queue if !state.filter_text.is_empty() => {
                state.set_filter("");
                flash(state, "filter cleared".to_string(), false);
            }
            Screen::Queue => {}
        },
        Action::NextTab => state.shift_tab(1),
        Action::PreviousTab => state.shift_tab(-1),
        Action::CycleSort => {
            let index = Sort::ALL
                .iter()
                .position(|sort| *sort == state.sort())
                .unwrap_or(0);
            let next = Sort::ALL[(index + 1) % Sort::ALL.len()];
            state.set_sort(next);
            flash(state, format!("sorted by {}", next.name()), false);
        }
        Action::Filter => {
            if !matches!(state.screen, Screen::Queue) {
                state.screen = Screen::Queue;
            }
            let before = state.filter_text.clone();
            state.mode = Mode::Input(Input::new(
                Purpose::Filter {
                    before: before.clone(),
                },
                &before,
            ));
        }
        Action::CommandLine => state.mode = Mode::Input(Input::new(Purpose::Command, "")),
        Action::Help => state.mode = Mode::Help { scroll: 0 },
        Action::Acknowledge
        | Action::Annotate
        | Action::Resolve
        | Action::Snooze
        | Action::Reassign
        | Action::Escalate => {
            if !allowed(state, action) {
                return;
            }
            state.settle();
            let Some(id) = state.target() else {
                flash(
                    state,
                    format!("no incident selected to {}", action.name()),
                    true,
                );
                return;
            };
            if state.keymap.confirms(action) {
                state.mode = Mode::Confirm {
                    action,
                    subject: Subject::Incident(id),
                };
            } else {
                carry_out(state, action, Subject::Incident(id), effects);
            }
        }
        Action::ShowOnCall => {
            if !matches!(state.screen, Screen::OnCall(_)) {
                state.screen = Screen::OnCall(Fetched::loading());
                effects.push(Effect::LoadOnCall);
            }
        }
        Action::ShowSilences => {
            if !matches!(state.screen, Screen::Silences(_)) {
                state.screen = Screen::Silences(SilencesView {
                    silences: Fetched::loading(),
                    cursor: 0,
                });
                effects.push(Effect::LoadSilences);
            }
        }
        Action::AddSilence => {
            if !allowed(state, action) {
                return;
            }
            // From an incident, its service is the likely thing to silence: offered, not
            // imposed (the prompt can be edited or cleared).
            let service = state
                .target()
                .and_then(|id| state.incident(id))
                .and_then(|incident| incident.service.as_deref())
                .filter(|service| !service.is_empty() && !service.contains(char::is_whitespace))
                .map(|service| format!("service={service} "));
            state.mode = Mode::Input(Input::new(
                Purpose::Silence,
                service.as_deref().unwrap_or_default(),
            ));
        }
        Action::ExpireSilence => {
            if !allowed(state, action) {
                return;
            }
            let selected = match &state.screen {
                Screen::Silences(view) => view.selected().map(|silence| silence.id.clone()),
                _ => None,
            };
            let Some(id) = selected else {
                let show = state
                    .keymap
                    .keys(Action::ShowSilences)
                    .first()
                    .map_or(":silences".to_string(), |key| key.to_string());
                flash(
                    state,
                    format!("no silence selected to expire: open the silences ({show}) first"),
                    true,
                );
                return;
            };
            let subject = Subject::Silence(id);
            if state.keymap.confirms(action) {
                state.mode = Mode::Confirm { action, subject };
            } else {
                carry_out(state, action, subject, effects);
            }
        }
        Action::Refresh => match &mut state.screen {
            Screen::OnCall(oncall) => {
                if !oncall.loading {
                    oncall.loading = true;
                    effects.push(Effect::LoadOnCall);
                }
            }
            Screen::Silences(_) => refetch_silences(state, effects),
            Screen::Detail(detail) => effects.push(Effect::LoadDetail(detail.id)),
            Screen::Queue => flash(
                state,
                "the queue is live: it changes as the engine does".to_string(),
                false,
            ),
        },
        // Only meaningful while writing a message, where `edit` handles it.
        Action::NewLine => {}
        Action::Postmortem => command(state, "postmortem", effects),
        Action::Redraw => effects.push(Effect::Redraw),
        Action::Suspend => effects.push(Effect::Suspend),
        Action::Quit => effects.push(Effect::Quit),
    }
}

/// Moves the selection, or scrolls, on whatever screen is up.
fn move_by(state: &mut State, delta: isize) {
    match &mut state.screen {
        Screen::Detail(_) => scroll_detail(state, delta),
        Screen::Queue => {
            state.move_cursor(delta);
            mark_seen(state);
        }
        Screen::OnCall(_) => {
            let last = super::view::oncall_last_scroll(state);
            if let Screen::OnCall(oncall) = &mut state.screen {
                oncall.scroll = step(oncall.scroll, delta).min(last);
            }
        }
        Screen::Silences(view) => {
            let count = view.silences.value.as_ref().map_or(0, Vec::len);
            view.cursor = step(view.cursor, delta).min(count.saturating_sub(1));
        }
    }
}

fn step(from: usize, delta: isize) -> usize {
    (from as isize).saturating_add(delta).max(0) as usize
}

/// Scrolls the detail, never past its end (so scrolling back responds at once).
fn scroll_detail(state: &mut State, delta: isize) {
    let Screen::Detail(detail) = &state.screen else {
        return;
    };
    let last = super::view::detail_last_scroll(state, detail);
    if let Screen::Detail(detail) = &mut state.screen {
        let scroll = (detail.scroll as isize).saturating_add(delta).max(0) as usize;
        detail.scroll = scroll.min(last);
    }
}

fn open_detail(state: &mut State, id: IncidentId, effects: &mut Vec<Effect>) {
    state.unseen.remove(&id);
    state.screen = Screen::Detail(Box::new(DetailView {
        id,
        detail: None,
        error: None,
        scroll: 0,
        early: Vec::new(),
    }));
    effects.push(Effect::LoadDetail(id));
}

/// `:` commands: every action by name, plus the ones that take arguments.
fn command(state: &mut State, line: &str, effects: &mut Vec<Effect>) {
    let line = line.trim().trim_start_matches(':');
    let (word, rest) = match line.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (line, ""),
    };
    if word.is_empty() {
        return;
    }
    // An explicit `#42` or `42` first argument names the incident; else the selection.
    let (explicit, after_id) = {
        let (first, remainder) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        match first.trim_start_matches('#').parse::<IncidentId>() {
            Ok(id) => (Some(id), remainder.trim()),
            Err(_) => (None, rest),
        }
    };
    let acting = |name: &str| -> Option<Action> {
        match name {
            "ack" | "acknowledge" => Some(Action::Acknowledge),
            "resolve" | "res" => Some(Action::Resolve),
            "escalate" => Some(Action::Escalate),
            "note" | "annotate" | "comment" => Some(Action::Annotate),
            "snooze" => Some(Action::Snooze),
            "reassign" | "assign" => Some(Action::Reassign),
            _ => None,
        }
    };
    if word == "silence" || word == "mute" {
        if !allowed(state, Action::AddSilence) {
            return;
        }
        if rest.is_empty() {
            perform(state, Action::AddSilence, effects);
        } else {
            submit(state, Input::new(Purpose::Silence, rest), effects);
        }
        return;
    }
    if word == "expire" || word == "expire_silence" || word == "unsilence" {
        if !allowed(state, Action::ExpireSilence) {
            return;
        }
        let selected = match &state.screen {
            Screen::Silences(view) => view.selected().map(|silence| silence.id.clone()),
            _ => None,
        };
        match Some(rest.to_string())
            .filter(|id| !id.is_empty())
            .or(selected)
        {
            // Typed out in full, so no y/n on top.
            Some(id) => carry_out(state, Action::ExpireSilence, Subject::Silence(id), effects),
            None => flash(state, format!("{word} which silence? try :{word} 7"), true),
        }
        return;
    }
    if let Some(action) = acting(word) {
        if !allowed(state, action) {
            return;
        }
        state.settle();
        let Some(id) = explicit.or_else(|| state.target()) else {
            flash(
                state,
                format!("{word}: which incident? try :{word} 42"),
                true,
            );
            return;
        };
        match action {
            Action::Annotate if !after_id.is_empty() => {
                send_message(state, id, after_id.to_string(), effects)
            }
            Action::Snooze if !after_id.is_empty() => {
                submit(state, Input::new(Purpose::Snooze(id), after_id), effects)
            }
            Action::Reassign if !after_id.is_empty() => {
                submit(state, Input::new(Purpose::Reassign(id), after_id), effects)
            }
            // Typed out in full, so no y/n on top.
            other => carry_out(state, other, Subject::Incident(id), effects),
        }
        return;
    }
    match word {
        "postmortem" | "postmortem!" => {
            state.settle();
            match state.target() {
                Some(id) => effects.push(Effect::WritePostmortem {
                    id,
                    path: if rest.is_empty() {
                        postmortem_file(id)
                    } else {
                        PathBuf::from(rest)
                    },
                    overwrite: word == "postmortem!",
                }),
                None => flash(
                    state,
                    "postmortem of which incident? open one first".to_string(),
                    true,
                ),
            }
        }
        "q" | "quit" | "exit" | "q!" => effects.push(Effect::Quit),
        "filter" => state.set_filter(rest),
        "sort" => match Sort::from_name(rest) {
            Some(sort) => {
                state.set_sort(sort);
                flash(state, format!("sorted by {}", sort.name()), false);
            }
            None => {
                let names: Vec<&str> = Sort::ALL.iter().map(|sort| sort.name()).collect();
                flash(state, format!("sort by what? {}", names.join(", ")), true);
            }
        },
        "tab" => match Tab::from_name(rest) {
            Some(tab) => state.set_tab(tab),
            None => flash(
                state,
                "tab: open, triggered, acknowledged, resolved or all".to_string(),
                true,
            ),
        },
        "theme" if !rest.is_empty() => effects.push(Effect::LoadTheme(rest.to_string())),
        "theme" => flash(
            state,
            format!(
                "theme {} (try :theme dark, light, high-contrast, mono, default)",
                state.theme.name
            ),
            false,
        ),
        "bell" | "mouse" => {
            let on = match rest {
                "on" | "" => true,
                "off" => false,
                _ => {
                    flash(state, format!("{word} on or {word} off?"), true);
                    return;
                }
            };
            if word == "bell" {
                state.bell = on;
            } else {
                state.mouse = on;
                effects.push(Effect::SetMouse(on));
            }
            flash(
                state,
                format!("{word} {}", if on { "on" } else { "off" }),
                false,
            );
        }
        "open" | "show" => match explicit {
            Some(id) => open_detail(state, id, effects),
            None => flash(
                state,
                format!("{word} which incident? try :{word} 42"),
                true,
            ),
        },
        name => match Action::from_name(name) {
            Some(action) => perform(state, action, effects),
            None => {
                let mut names: Vec<&str> = Action::ALL.iter().map(|action| action.name()).collect();
                names.extend([
                    "ack",
                    "note",
                    "quit",
                    "filter",
                    "sort",
                    "tab",
                    "theme",
                    "bell",
                    "mouse",
                    "open",
                    "expire",
                    "postmortem!",
                ]);
                let hint = closest(name, names)
                    .map_or(String::new(), |close| format!(" (did you mean {close}?)"));
                flash(state, format!("unknown command {name:?}{hint}"), true);
            }
        },
    }
}

fn alarming(incident: &IncidentView) -> bool {
    incident.status.is_open() && incident.severity <= Severity::Error
}

fn client_update(state: &mut State, update: Update, effects: &mut Vec<Effect>) {
    match update {
        Update::Presence { incident, viewers } => {
            if viewers.is_empty() {
                state.presence.remove(&incident);
            } else {
                state.presence.insert(incident, viewers);
            }
        }
        Update::Snapshot(incidents) => {
            let first = !state.synced;
            // The snapshot's own presence follows it as updates.
            state.presence.clear();
            let alarming_ids: std::collections::HashSet<IncidentId> = incidents
                .iter()
                .filter(|incident| alarming(incident))
                .map(|incident| incident.id)
                .collect();
            let fresh = state.replace_all(incidents);
            state.synced = true;
            if !first {
                // Opened while the link was down: as new as if they had arrived live.
                let missed: Vec<IncidentId> = fresh
                    .into_iter()
                    .filter(|id| alarming_ids.contains(id))
                    .collect();
                if !missed.is_empty() && state.bell {
                    effects.push(Effect::Bell);
                }
                state.unseen.extend(missed);
                // What the open screen shows may have changed while the link was down.
                match &mut state.screen {
                    Screen::Detail(detail) => effects.push(Effect::LoadDetail(detail.id)),
                    Screen::OnCall(oncall) if !oncall.loading => {
                        oncall.loading = true;
                        effects.push(Effect::LoadOnCall);
                    }
                    Screen::Silences(_) => refetch_silences(state, effects),
                    _ => {}
                }
            }
            state.unseen.retain(|id| alarming_ids.contains(id));
        }
        Update::Incident {
            incident,
            timeline,
            opened,
        } => apply_incident(state, incident, timeline, opened, effects),
        Update::Link(link) => {
            if matches!(link, Link::Connected) && !state.link.is_up() && state.synced {
                effects.push(Effect::LoadIntegrations);
            }
            state.link = link;
        }
    }
}

fn apply_incident(
    state: &mut State,
    incident: IncidentView,
    timeline: Vec<TimelineView>,
    opened: bool,
    effects: &mut Vec<Effect>,
) {
    let id = incident.id;
    if opened && alarming(&incident) && state.incident(id).is_none() {
        state.unseen.insert(id);
        if state.bell {
            effects.push(Effect::Bell);
        }
    }
    if !alarming(&incident) || incident.status != crate::domain::IncidentStatus::Triggered {
        state.unseen.remove(&id);
    }
    if let Screen::Detail(detail) = &mut state.screen {
        if detail.id == id {
            if let Some(loaded) = &mut detail.detail {
                loaded.incident = incident.clone();
                // Entries already shown (from the detail load) are not repeated.
                let last = loaded.timeline.last().map(|entry| entry.seq);
                loaded.timeline.extend(
                    timeline
                        .into_iter()
                        .filter(|entry| last.is_none_or(|last| entry.seq > last)),
                );
            } else {
                detail.early.extend(timeline);
            }
        }
    }
    state.upsert(incident);
}
