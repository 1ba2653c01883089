//! Themes as data: `themes/*.toml` map semantic roles (severities, statuses, chrome) to
//! styles. Five are built in; `~/.config/klaxon/themes/NAME.toml` adds or replaces one.
//! `NO_COLOR` keeps only bold/dim/underline/reverse. Meaning never rests on colour: the
//! views always add text labels and reverse video for the selection. Depends on ratatui.

use super::file_error::{closest, FileError};
use crate::domain::{IncidentStatus, Severity};
use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use toml::Spanned;

pub const BUILT_IN: [(&str, &str); 5] = [
    ("default", include_str!("../../themes/default.toml")),
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

macro_rules! roles {
    ($($variant:ident => $name:literal,)*) => {
        /// What a style is for; themes assign a style to each.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Role { $($variant,)* }

        impl Role {
            pub const ALL: &'static [Role] = &[$(Role::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Role::$variant => $name,)* }
            }
        }
    };
}

roles! {
    Critical => "critical",
    Error => "error",
    Warning => "warning",
    Info => "info",
    Triggered => "triggered",
    Acknowledged => "acknowledged",
    Resolved => "resolved",
    Snoozed => "snoozed",
    Base => "base",
    Title => "title",
    Header => "header",
    Tab => "tab",
    TabActive => "tab_active",
    Selected => "selected",
    Fresh => "new",
    StatusBar => "status_bar",
    LinkUp => "link_up",
    LinkDown => "link_down",
    Hint => "hint",
    HintKey => "hint_key",
    Message => "message",
    MessageError => "message_error",
    Label => "label",
    Muted => "muted",
    Note => "note",
    Border => "border",
    Prompt => "prompt",
    Silenced => "silenced",
    Delivered => "delivered",
    DeliveryFailed => "delivery_failed",
    GaveUp => "gave_up",
    OnCall => "on_call",
    Override => "override",
    Countdown => "countdown",
    Bot => "bot",
    Command => "command",
    Finding => "finding",
    Watching => "watching",
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub name: String,
    styles: Vec<Style>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleFile {
    fg: Option<Spanned<String>>,
    bg: Option<Spanned<String>>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underline: bool,
    #[serde(default)]
    reverse: bool,
}

impl Theme {
    pub fn style(&self, role: Role) -> Style {
        self.styles[role as usize]
    }

    pub fn severity(&self, severity: Severity) -> Style {
        self.style(match severity {
            Severity::Critical => Role::Critical,
            Severity::Error => Role::Error,
            Severity::Warning => Role::Warning,
            Severity::Info => Role::Info,
        })
    }

    pub fn status(&self, status: IncidentStatus) -> Style {
        self.style(match status {
            IncidentStatus::Triggered => Role::Triggered,
            IncidentStatus::Acknowledged => Role::Acknowledged,
            IncidentStatus::Resolved => Role::Resolved,
        })
    }

    /// A built-in theme by name.
    pub fn built_in(name: &str) -> Option<Theme> {
        let (name, text) = BUILT_IN.iter().find(|(built, _)| *built == name)?;
        let path = PathBuf::from(format!("themes/{name}.toml"));
        Some(Theme::parse(name, &path, text).expect("built-in themes are valid (tested)"))
    }

    /// `NAME` from the user's theme folder if it is there, else built in; or a path to a file.
    pub fn load(name: &str) -> Result<Theme, String> {
        let as_path = Path::new(name);
        let file = if name.ends_with(".toml") || name.contains('/') {
            Some(as_path.to_path_buf())
        } else {
            user_directory()
                .map(|directory| directory.join(format!("{name}.toml")))
                .filter(|path| path.exists())
        };
        if let Some(file) = file {
            let text = std::fs::read_to_string(&file)
                .map_err(|error| FileError::unreadable(file.clone(), &error).to_string())?;
            let stem = file
                .file_stem()
                .map_or(name.to_string(), |stem| stem.to_string_lossy().into_owned());
            return Theme::parse(&stem, &file, &text).map_err(|error| error.to_string());
        }
        Theme::built_in(name).ok_or_else(|| {
            let names: Vec<&str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
            format!(
                "no theme {name:?}: built in are {} (or put NAME.toml in ~/.config/klaxon/themes/)",
                names.join(", ")
            )
        })
    }

    /// Parses a theme file; roles it does not mention are unstyled.
    pub fn parse(name: &str, path: &Path, text: &str) -> Result<Theme, FileError> {
        let error = |diagnostics| FileError::new(path.to_path_buf(), diagnostics);
        let table: BTreeMap<Spanned<String>, Spanned<StyleFile>> = toml::from_str(text)
            .map_err(|parse| error(vec![FileError::from_toml(text, &parse)]))?;
        let mut styles = vec![Style::default(); Role::ALL.len()];
        let mut diagnostics = Vec::new();
        for (role_name, style) in &table {
            let Some(role) = Role::ALL
                .iter()
                .find(|role| role.name() == role_name.get_ref())
            else {
                let hint = match closest(
                    role_name.get_ref(),
                    Role::ALL.iter().map(|role| role.name()),
                ) {
                    Some(close) => format!(" (did you mean {close:?}?)"),
                    None => {
                        let names: Vec<&str> = Role::ALL.iter().map(|role| role.name()).collect();
                        format!(" (roles: {})", names.join(", "))
                    }
                };
                diagnostics.push(FileError::at(
                    text,
                    role_name.span().start,
                    format!("unknown role {:?}{hint}", role_name.get_ref()),
                ));
                continue;
            };
            let file = style.get_ref();
            let mut result = Style::default();
            for (colour, background) in [(&file.fg, false), (&file.bg, true)] {
                let Some(colour) = colour else { continue };
                match parse_colour(colour.get_ref()) {
                    Ok(parsed) if background => result = result.bg(parsed),
                    Ok(parsed) => result = result.fg(parsed),
                    Err(message) => {
                        diagnostics.push(FileError::at(text, colour.span().start, message))
                    }
                }
            }
            for (on, modifier) in [
                (file.bold, Modifier::BOLD),
                (file.dim, Modifier::DIM),
                (file.italic, Modifier::ITALIC),
                (file.underline, Modifier::UNDERLINED),
                (file.reverse, Modifier::REVERSED),
            ] {
                if on {
                    result = result.add_modifier(modifier);
                }
            }
            styles[*role as usize] = result;
        }
        if !diagnostics.is_empty() {
            return Err(error(diagnostics));
        }
        Ok(Theme {
            name: name.to_string(),
            styles,
        })
    }

    /// The same theme without colours (for `NO_COLOR`): attributes stay.
    pub fn without_colour(mut self) -> Theme {
        for style in &mut self.styles {
            style.fg = None;
            style.bg = None;
        }
        self
    }

    /// Whether `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
    pub fn no_colour_requested() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
    }
}

fn user_directory() -> Option<PathBuf> {
    super::keymap::Keymap::user_file().and_then(|file| file.parent().map(|dir| dir.join("themes")))
}

/// The 16 ANSI names (`red`, `lightred`, `gray`, `darkgray`…), `reset`, `#rrggbb`, or 0-255.
fn parse_colour(text: &str) -> Result<Color, String> {
    let lower = text.to_ascii_lowercase();
    let known = [
        "reset",
        "black",
        "red",
        "green",
        "yellow",
        "blue",
        "magenta",
        "cyan",
        "gray",
        "darkgray",
        "lightred",
        "lightgreen",
        "lightyellow",
        "lightblue",
        "lightmagenta",
        "lightcyan",
        "white",
    ];
    let valid = known.contains(&lower.as_str())
        || (lower.starts_with('#')
            && lower.len() == 7
            && lower[1..].chars().all(|c| c.is_ascii_hexdigit()))
        || lower.parse::<u8>().is_ok();
    if !valid {
        let hint = closest(&lower, known)
            .map_or(String::new(), |close| format!(" (did you mean {close:?}?)"));
        return Err(format!(
            "unknown colour {text:?}{hint}: expected one of the 16 ANSI names (red, lightblue, darkgray…), reset, #rrggbb, or 0-255"
        ));
    }
    Color::from_str(&lower).map_err(|_| format!("unknown colour {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses_and_styles_every_role() {
        for (name, _) in BUILT_IN {
            let theme = Theme::built_in(name).unwrap();
            let text = BUILT_IN.iter().find(|(n, _)| *n == name).unwrap().1;
            for role in Role::ALL {
                assert!(
                    text.lines()
                        .any(|line| line.starts_with(&format!("{} ", role.name()))),
                    "{name} does not style {}",
                    role.name()
                );
            }
            assert_eq!(theme.name, name);
        }
    }

    #[test]
    fn default_uses_only_the_16_ansi_colours_and_mono_none() {
        let indexed_or_rgb =
            |colour: Option<Color>| matches!(colour, Some(Color::Rgb(..) | Color::Indexed(_)));
        let theme = Theme::built_in("default").unwrap();
        let mono = Theme::built_in("mono").unwrap();
        for role in Role::ALL {
            let style = theme.style(*role);
            assert!(
                !indexed_or_rgb(style.fg) && !indexed_or_rgb(style.bg),
                "{}",
                role.name()
            );
            assert_eq!(mono.style(*role).fg, None);
            assert_eq!(mono.style(*role).bg, None);
        }
    }

    #[test]
    fn no_colour_keeps_attributes() {
        let theme = Theme::built_in("dark").unwrap().without_colour();
        let critical = theme.style(Role::Critical);
        assert_eq!(critical.fg, None);
        assert!(critical.add_modifier.contains(Modifier::BOLD));
    }
}
