//! Normalised alert events: what every ingest adapter produces, whatever the source. Pure.

use super::severity::Severity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    /// The source itself acknowledges (PagerDuty Events v2 `acknowledge`).
    Acknowledged,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One alert as a source reported it, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Which incident this alert belongs to (within its integration).
    pub dedup_key: String,
    /// Identity of the single alert inside the incident. With one, `alert_count` counts
    /// distinct alerts and the incident resolves when none is firing; without one (generic,
    /// PagerDuty), every firing event counts and a resolve resolves the whole incident.
    pub fingerprint: Option<String>,
    pub status: AlertStatus,
    pub title: String,
    pub severity: Severity,
    pub service: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub links: Vec<Link>,
    pub details: serde_json::Value,
    /// When the source says the alert started or ended, if it says.
    pub source_time: Option<DateTime<Utc>>,
}

impl AlertEvent {
    /// A minimal firing event, for tests and the `send` command.
    pub fn firing(dedup_key: &str, title: &str, severity: Severity) -> Self {
        AlertEvent {
            dedup_key: dedup_key.to_string(),
            fingerprint: None,
            status: AlertStatus::Firing,
            title: title.to_string(),
            severity,
            service: None,
            labels: BTreeMap::new(),
            links: Vec::new(),
            details: serde_json::Value::Null,
            source_time: None,
        }
    }

    pub fn resolved(dedup_key: &str) -> Self {
        AlertEvent {
            status: AlertStatus::Resolved,
            ..AlertEvent::firing(dedup_key, "", Severity::Info)
        }
    }
}

/// The latest state of one alert of an incident, as its source last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub incident: super::incident::IncidentId,
    /// The alert's fingerprint, or `#N` for sources that do not identify single alerts.
    pub key: String,
    pub received_at: DateTime<Utc>,
    pub event: AlertEvent,
}
