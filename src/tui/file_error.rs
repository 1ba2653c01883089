//! Errors in the console's own data files (keymaps and themes): every problem with its
//! file:line:column, like configuration errors. Depends on config's `Diagnostic`.

use crate::config::Diagnostic;
use std::fmt;
use std::path::PathBuf;

/// A keymap or theme file that cannot be used, with every problem found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    pub path: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl FileError {
    pub fn new(path: PathBuf, mut diagnostics: Vec<Diagnostic>) -> Self {
        diagnostics.sort_by_key(|diagnostic| (diagnostic.line, diagnostic.column));
        FileError { path, diagnostics }
    }

    /// A file that could not be read at all.
    pub fn unreadable(path: PathBuf, error: &std::io::Error) -> Self {
        FileError {
            path,
            diagnostics: vec![Diagnostic {
                line: 1,
                column: 1,
                message: format!("cannot read the file: {error}"),
            }],
        }
    }

    /// One diagnostic at byte `offset` of `text`.
    pub(crate) fn at(text: &str, offset: usize, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(text, offset, message)
    }

    /// The parser's own error (syntax, unknown fields, wrong types), positioned.
    pub(crate) fn from_toml(text: &str, error: &toml::de::Error) -> Diagnostic {
        let offset = error.span().map_or(0, |span| span.start);
        // The parser's message repeats the position and the source line; keep the words.
        let message = error.message().trim().to_string();
        Diagnostic::at(text, offset, message)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.diagnostics.iter().enumerate() {
            if index > 0 {
                writeln!(formatter)?;
            }
            write!(formatter, "{}:{diagnostic}", self.path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// The closest name within two edits, for "did you mean" hints.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
