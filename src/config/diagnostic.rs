//! Configuration errors: positioned diagnostics (`file:line:column: message`) and the error
//! type that `load` and `check_file` return. Depends on nothing else in klaxon.

use std::fmt;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem found in a configuration file, at a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at byte `offset` of `text`.
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> Diagnostic {
        let (line, column) = line_column(text, offset);
        Diagnostic {
            line,
            column,
            message: message.into(),
        }
    }

    /// A diagnostic at the start of a byte span of `text`.
    pub(crate) fn spanning(text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic::at(text, span.start, message)
    }
}

impl fmt::Display for Diagnostic {
    /// `line:column: message`; the report prefixes the file path.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Converts a byte offset into a 1-based line and a 1-based column counted in characters,
/// so that editors jump to the right place in lines holding non-ASCII text.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    // A span from the parser always falls on a character boundary; this guards odd input.
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Why a configuration could not be loaded or checked.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("{}: cannot read the configuration file: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    /// The file was read but is not a valid configuration. Rendered as one
    /// `path:line:column: message` line per diagnostic, in file order, which editors and
    /// `grep` understand.
    #[error("{}", render_report(path, diagnostics))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },

    /// The generated secrets file could not be read, created or updated.
    #[error("{}: {message}: {source}", path.display())]
    Secrets {
        path: PathBuf,
        message: String,
        source: io::Error,
    },

    /// The generated secrets file exists but its contents are unusable. klaxon refuses to
    /// overwrite it, as that would silently change every generated key and token.
    #[error("{}: {message}", path.display())]
    SecretsInvalid { path: PathBuf, message: String },
}

impl ConfigError {
    /// The individual problems, for an `Invalid` configuration; empty for the other kinds.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. }
            | ConfigError::Invalid { path, .. }
            | ConfigError::Secrets { path, .. }
            | ConfigError::SecretsInvalid { path, .. } => path,
        }
    }
}

fn render_report(path: &Path, diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| format!("{}:{diagnostic}", path.display()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one_in_characters() {
        let text = "a = 1\nname = \"é\" x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (1, 5));
        assert_eq!(line_column(text, 6), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(line_column(text, x), (2, 12));
        assert_eq!(line_column(text, text.len() + 10), (3, 1));
    }

    #[test]
    fn report_has_one_line_per_diagnostic() {
        let error = ConfigError::Invalid {
            path: PathBuf::from("k.toml"),
            diagnostics: vec![
                Diagnostic::at("a\nb", 2, "first"),
                Diagnostic::at("a\nb", 0, "second"),
            ],
        };
        assert_eq!(error.to_string(), "k.toml:2:1: first\nk.toml:1:1: second");
        assert_eq!(error.diagnostics().len(), 2);
    }
}
