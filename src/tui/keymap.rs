//! Keys and the keymap: which key asks for which [`Action`]. The defaults are data
//! (`config/keymap.toml`, built in); a user file is merged on top one action at a time.
//! Bad files fail with file:line:column. Depends on crossterm's key events only for
//! conversion.

use super::action::Action;
use super::file_error::{closest, FileError};
use crate::config::Diagnostic;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const DEFAULT_KEYMAP: &str = include_str!("../../config/keymap.toml");

/// A key as the keymap names it: a character or a named key, with ctrl/alt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: Code,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    F(u8),
}

const NAMED: [(&str, Code); 17] = [
    ("enter", Code::Enter),
    ("esc", Code::Esc),
    ("tab", Code::Tab),
    ("backtab", Code::BackTab),
    ("backspace", Code::Backspace),
    ("delete", Code::Delete),
    ("insert", Code::Insert),
    ("up", Code::Up),
    ("down", Code::Down),
    ("left", Code::Left),
    ("right", Code::Right),
    ("pgup", Code::PageUp),
    ("pgdn", Code::PageDown),
    ("home", Code::Home),
    ("end", Code::End),
    ("space", Code::Char(' ')),
    ("pageup", Code::PageUp),
];

impl Key {
    pub const fn plain(code: Code) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn char(character: char) -> Key {
        Key::plain(Code::Char(character))
    }

    pub const fn ctrl(character: char) -> Key {
        Key {
            code: Code::Char(character),
            ctrl: true,
            alt: false,
        }
    }

    /// Parses `a`, `G`, `?`, `ctrl-z`, `alt-x`, `enter`, `pgdn`, `f5`, `shift-tab`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text;
        let mut key = Key::plain(Code::Esc);
        loop {
            if rest.chars().count() > 1 {
                if let Some(after) = rest.strip_prefix("ctrl-") {
                    key.ctrl = true;
                    rest = after;
                    continue;
                }
                if let Some(after) = rest.strip_prefix("alt-") {
                    key.alt = true;
                    rest = after;
                    continue;
                }
            }
            break;
        }
        let mut characters = rest.chars();
        key.code = match (characters.next(), characters.next()) {
            (Some(character), None) if !character.is_control() && character != ' ' => {
                if key.ctrl {
                    Code::Char(character.to_ascii_lowercase())
                } else {
                    Code::Char(character)
                }
            }
            _ if rest == "shift-tab" => Code::BackTab,
            _ if rest == "pagedown" => Code::PageDown,
            _ => match NAMED.iter().find(|(name, _)| *name == rest) {
                Some((_, code)) => *code,
                None => match rest.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(number @ 1..=12) => Code::F(number),
                    _ => {
                        return Err(format!(
                            "unknown key {text:?}: expected one character, or enter, esc, tab, backtab, \
                             backspace, delete, insert, up, down, left, right, pgup, pgdn, home, end, \
                             space, f1..f12, optionally after ctrl- or alt-"
                        ))
                    }
                },
            },
        };
        Ok(key)
    }

    /// The key of a terminal event, as the keymap would name it. Shift is folded into the
    /// character (`G`, `?`), so `shift-g` is never needed.
    pub fn from_event(event: &KeyEvent) -> Option<Key> {
        let code = match event.code {
            KeyCode::Char(character) => Code::Char(character),
            KeyCode::Enter => Code::Enter,
            KeyCode::Esc => Code::Esc,
            KeyCode::Tab if event.modifiers.contains(KeyModifiers::SHIFT) => Code::BackTab,
            KeyCode::Tab => Code::Tab,
            KeyCode::BackTab => Code::BackTab,
            KeyCode::Backspace => Code::Backspace,
            KeyCode::Delete => Code::Delete,
            KeyCode::Insert => Code::Insert,
            KeyCode::Up => Code::Up,
            KeyCode::Down => Code::Down,
            KeyCode::Left => Code::Left,
            KeyCode::Right => Code::Right,
            KeyCode::PageUp => Code::PageUp,
            KeyCode::PageDown => Code::PageDown,
            KeyCode::Home => Code::Home,
            KeyCode::End => Code::End,
            KeyCode::F(number) => Code::F(number),
            _ => return None,
        };
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        let code = match code {
            Code::Char(character) if ctrl => Code::Char(character.to_ascii_lowercase()),
            other => other,
        };
        Some(Key {
            code,
            ctrl,
            alt: event.modifiers.contains(KeyModifiers::ALT),
        })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            formatter.write_str("ctrl-")?;
        }
        if self.alt {
            formatter.write_str("alt-")?;
        }
        match self.code {
            Code::Char(' ') => formatter.write_str("space"),
            Code::Char(character) => write!(formatter, "{character}"),
            Code::F(number) => write!(formatter, "f{number}"),
            code => {
                let name = NAMED
                    .iter()
                    .find(|(_, named)| *named == code)
                    .map_or("?", |(name, _)| name);
                formatter.write_str(name)
            }
        }
    }
}

/// What one action is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    /// Changes incidents; removed by `--read-only`.
    pub dangerous: bool,
    /// Asks y/n first.
    pub confirm: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Binding>,
    lookup: HashMap<Key, Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingFile {
    keys: Option<Vec<Spanned<String>>>,
    dangerous: Option<Spanned<bool>>,
    confirm: Option<bool>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::parse(Path::new("config/keymap.toml"), DEFAULT_KEYMAP, None)
            .expect("the built-in keymap is valid (tested)")
    }
}

impl Keymap {
    /// The built-in keymap with `path` merged on top.
    pub fn load(path: &Path) -> Result<Keymap, FileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| FileError::unreadable(path.to_path_buf(), &error))?;
        Keymap::default().merge(path, &text)
    }

    /// The user's keymap file: `$XDG_CONFIG_HOME/klaxon/keymap.toml` (or `~/.config/…`).
    pub fn user_file() -> Option<PathBuf> {
        let directory = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
        Some(directory.join("klaxon").join("keymap.toml"))
    }

    /// Parses `text` as a keymap layer over `base` (none: `text` is the whole keymap).
    fn parse(path: &Path, text: &str, base: Option<&Keymap>) -> Result<Keymap, FileError> {
        let error = |diagnostics| FileError::new(path.to_path_buf(), diagnostics);
        let table: BTreeMap<Spanned<String>, Spanned<BindingFile>> = toml::from_str(text)
            .map_err(|parse| error(vec![FileError::from_toml(text, &parse)]))?;
        let mut diagnostics = Vec::new();
        let mut bindings = base.map(|base| base.bindings.clone()).unwrap_or_default();
        // Where each action was set in this file, to point at the right line on conflicts.
        let mut set_at: HashMap<Action, usize> = HashMap::new();
        for (name, binding) in &table {
            let Some(action) = Action::from_name(name.get_ref()) else {
                let names = Action::ALL.iter().map(|action| action.name());
                let hint = match closest(name.get_ref(), names) {
                    Some(close) => format!(" (did you mean {close:?}?)"),
                    None => " (see `?` in the console for the list)".to_string(),
                };
                diagnostics.push(FileError::at(
                    text,
                    name.span().start,
                    format!("unknown action {:?}{hint}", name.get_ref()),
                ));
                continue;
            };
            set_at.insert(action, name.span().start);
            let binding = binding.get_ref();
            let entry = bindings.entry(action).or_insert(Binding {
                keys: Vec::new(),
                dangerous: action.is_dangerous(),
                confirm: false,
            });
            if let Some(dangerous) = &binding.dangerous {
                if *dangerous.get_ref() != action.is_dangerous() {
                    let message = if action.is_dangerous() {
                        format!(
                            "{} changes incidents or silences: it is always dangerous",
                            action.name()
                        )
                    } else {
                        format!(
                            "{} changes nothing in the engine: it cannot be dangerous",
                            action.name()
                        )
                    };
                    diagnostics.push(FileError::at(text, dangerous.span().start, message));
                }
            }
            if let Some(confirm) = binding.confirm {
                entry.confirm = confirm;
            }
            if let Some(keys) = &binding.keys {
                entry.keys.clear();
                for key in keys {
                    match Key::parse(key.get_ref()) {
                        Ok(parsed) if entry.keys.contains(&parsed) => {
                            diagnostics.push(FileError::at(
                                text,
                                key.span().start,
                                format!("\"{parsed}\" is listed twice"),
                            ))
                        }
                        Ok(parsed) => entry.keys.push(parsed),
                        Err(message) => {
                            diagnostics.push(FileError::at(text, key.span().start, message))
                        }
                    }
                }
            } else if base.is_none() {
                diagnostics.push(FileError::at(
                    text,
                    name.span().start,
                    format!(
                        "{} has no keys (write keys = [] to leave it unbound)",
                        action.name()
                    ),
                ));
            }
        }
        if base.is_none() {
            for action in Action::ALL {
                if !bindings.contains_key(&action) {
                    diagnostics.push(FileError::at(
                        text,
                        0,
                        format!("the built-in keymap misses {}", action.name()),
                    ));
                }
            }
        }
        let mut lookup: HashMap<Key, Action> = HashMap::new();
        for (action, binding) in &bindings {
            for key in &binding.keys {
                if let Some(other) = lookup.insert(*key, *action) {
                    // Point at whichever of the two this file set.
                    let offset = set_at
                        .get(action)
                        .or(set_at.get(&other))
                        .copied()
                        .unwrap_or(0);
                    diagnostics.push(FileError::at(
                        text,
                        offset,
                        format!(
                            "\"{key}\" is bound to both {} and {}",
                            other.name(),
                            action.name()
                        ),
                    ));
                }
            }
        }
        if !diagnostics.is_empty() {
            return Err(error(diagnostics));
        }
        Ok(Keymap { bindings, lookup })
    }

    /// `text` (the user's file at `path`) merged over this keymap.
    pub fn merge(&self, path: &Path, text: &str) -> Result<Keymap, FileError> {
        Keymap::parse(path, text, Some(self))
    }

    /// Without the dangerous actions (those that change incidents or silences).
    pub fn read_only(mut self) -> Keymap {
        self.bindings
            .retain(|action, binding| !binding.dangerous && !action.is_dangerous());
        self.lookup.retain(|_, action| !action.is_dangerous());
        self
    }

    pub fn action(&self, key: &Key) -> Option<Action> {
        self.lookup.get(key).copied()
    }

    /// Keys of an action, first is the main one; empty when unbound or removed.
    pub fn keys(&self, action: Action) -> &[Key] {
        self.bindings
            .get(&action)
            .map_or(&[], |binding| binding.keys.as_slice())
    }

    pub fn binding(&self, action: Action) -> Option<&Binding> {
        self.bindings.get(&action)
    }

    /// Whether the action is available at all (read-only removes some).
    pub fn allows(&self, action: Action) -> bool {
        self.bindings.contains_key(&action)
    }

    pub fn confirms(&self, action: Action) -> bool {
        self.bindings
            .get(&action)
            .is_some_and(|binding| binding.confirm)
    }
}

/// A keymap error's report with the path shown as its file name only (for tests).
pub fn short_report(error: &FileError) -> String {
    let name = error
        .path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    error
        .diagnostics
        .iter()
        .map(
            |Diagnostic {
                 line,
                 column,
                 message,
             }| format!("{name}:{line}:{column}: {message}"),
        )
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_keymap_binds_every_action() {
        let keymap = Keymap::default();
        for action in Action::ALL {
            assert!(!keymap.keys(action).is_empty(), "{} unbound", action.name());
        }
        assert_eq!(keymap.action(&Key::char('a')), Some(Action::Acknowledge));
        assert_eq!(keymap.action(&Key::char('G')), Some(Action::SelectLast));
        assert_eq!(keymap.action(&Key::ctrl('z')), Some(Action::Suspend));
        assert!(keymap.confirms(Action::Resolve));
        assert!(!keymap.confirms(Action::Acknowledge));
    }

    #[test]
    fn keys_parse_and_print_back() {
        for text in [
            "a", "G", "?", "ctrl-z", "alt-x", "enter", "pgdn", "f5", "space", "backtab",
        ] {
            assert_eq!(Key::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Key::parse("ctrl-Z").unwrap(), Key::ctrl('z'));
        assert_eq!(Key::parse("shift-tab").unwrap(), Key::plain(Code::BackTab));
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn shifted_characters_match_without_shift() {
        let event = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(Key::from_event(&event), Some(Key::char('G')));
        let event = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(Key::from_event(&event), Some(Key::ctrl('z')));
    }

    #[test]
    fn a_user_file_replaces_one_action_at_a_time() {
        let merged = Keymap::default()
            .merge(
                Path::new("keymap.toml"),
                "acknowledge = { keys = [\"x\", \"a\"] }\n",
            )
            .unwrap();
        assert_eq!(merged.action(&Key::char('x')), Some(Action::Acknowledge));
        assert_eq!(merged.action(&Key::char('j')), Some(Action::SelectNext));
    }

    #[test]
    fn read_only_removes_every_dangerous_action() {
        let keymap = Keymap::default().read_only();
        assert_eq!(keymap.action(&Key::char('a')), None);
        assert!(!keymap.allows(Action::Resolve));
        assert!(!keymap.allows(Action::ExpireSilence));
        assert!(!keymap.allows(Action::AddSilence));
        assert!(keymap.allows(Action::ShowSilences));
        assert!(keymap.allows(Action::Quit));
    }
}
