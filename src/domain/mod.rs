//! Pure domain types and rules: alerts, incidents, severity, dedup, routing, silences,
//! schedules and escalation. No I/O, no async, no
//! storage or UI crates; time is always a parameter.

pub mod alert;
pub mod book;
pub mod bot;
pub mod escalation;
pub mod findings;
pub mod incident;
pub mod labels;
pub mod matcher;
pub mod outbox;
pub mod postmortem;
pub mod routing;
pub mod schedule;
pub mod severity;
pub mod silence;

pub use alert::{AlertEvent, AlertStatus, Link};
pub use book::{BookError, IncidentBook, IngestResult};
pub use incident::{
    Action, ActionError, Actor, Change, Delivery, EscalationState, Incident, IncidentId,
    IncidentStatus, TimelineEntry, TimelineKind,
};
pub use labels::Labels;
pub use severity::Severity;

#[cfg(test)]
mod tests;
