//! Severity: the four normalised levels every source is mapped onto. Pure.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Ordered from most to least urgent, so `min()` over a set is the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    /// A short label so that meaning never rests on colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "CRIT",
            Severity::Error => "ERR",
            Severity::Warning => "WARN",
            Severity::Info => "INFO",
        }
    }

    /// The canonical names plus the documented synonyms monitoring tools commonly put in a
    /// `severity` label (see docs in the README). Anything else is refused, never guessed.
    pub fn parse_label(value: &str) -> Option<Severity> {
        let lower = value.trim().to_ascii_lowercase();
        Some(match lower.as_str() {
            "critical" | "crit" | "fatal" | "emergency" | "page" => Severity::Critical,
            "error" | "err" | "high" | "major" => Severity::Error,
            "warning" | "warn" | "medium" | "minor" => Severity::Warning,
            "info" | "informational" | "low" | "notice" | "none" => Severity::Info,
            _ => return None,
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    /// Strict: only the four canonical names (used for API parameters and the generic format).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "critical" => Ok(Severity::Critical),
            "error" => Ok(Severity::Error),
            "warning" => Ok(Severity::Warning),
            "info" => Ok(Severity::Info),
            other => Err(format!(
                "unknown severity {other:?}: expected one of critical, error, warning, info"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_severity_sorts_first() {
        let mut levels = [Severity::Info, Severity::Critical, Severity::Warning];
        levels.sort();
        assert_eq!(levels[0], Severity::Critical);
    }

    #[test]
    fn strict_parse_refuses_synonyms_and_unknowns() {
        assert_eq!("warning".parse::<Severity>(), Ok(Severity::Warning));
        assert!("warn".parse::<Severity>().is_err());
        assert!("Critical".parse::<Severity>().is_err());
        assert!("urgent".parse::<Severity>().unwrap_err().contains("urgent"));
    }

    #[test]
    fn label_parse_maps_documented_synonyms_only() {
        assert_eq!(Severity::parse_label("Page"), Some(Severity::Critical));
        assert_eq!(Severity::parse_label("warn"), Some(Severity::Warning));
        assert_eq!(Severity::parse_label("P1"), None);
        assert_eq!(Severity::parse_label(""), None);
    }
}
