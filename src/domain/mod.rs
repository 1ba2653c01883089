//! Pure domain types and rules: alerts, incidents, severity, dedup. No I/O, no async, no
//! storage or UI crates; time is always a parameter.

pub mod alert;
pub mod book;
pub mod incident;
pub mod labels;
pub mod severity;

pub use alert::{AlertEvent, AlertStatus, Link};
pub use book::{BookError, IncidentBook, IngestResult};
pub use incident::{
    Action, ActionError, Actor, Change, EscalationState, Incident, IncidentId, IncidentStatus,
    TimelineEntry, TimelineKind,
};
pub use labels::Labels;
pub use severity::Severity;

#[cfg(test)]
mod tests;
