//! Fixtures for tests and benchmarks: incidents and states with fixed ids and a fixed clock.
#![doc(hidden)]

use super::keymap::Keymap;
use super::state::State;
use super::theme::Theme;
use crate::client::{Endpoint, Link};
use crate::domain::{EscalationState, IncidentStatus, Severity};
use crate::protocol::IncidentView;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// 2026-01-10 12:00:00 UTC: the clock of every fixture.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A triggered incident opened `id` minutes before [`now`].
pub fn incident(id: u64, severity: Severity, title: &str) -> IncidentView {
    let created = now() - chrono::Duration::minutes(id as i64);
    IncidentView {
        id,
        title: title.to_string(),
        status: IncidentStatus::Triggered,
        severity,
        service: None,
        integration: "generic".to_string(),
        dedup_key: format!("key-{id}"),
        alert_count: 1,
        created_at: created,
        updated_at: created,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        snoozed_until: None,
        assignee: None,
        escalation: EscalationState::default(),
        labels: BTreeMap::new(),
        links: Vec::new(),
    }
}

pub fn endpoint() -> Endpoint {
    Endpoint {
        address: "http://127.0.0.1:9800".to_string(),
        user: "admin".to_string(),
        embedded: true,
    }
}

/// A connected state with the given theme and no incidents yet.
pub fn state(theme: &str) -> State {
    let mut state = State::new(
        endpoint(),
        Keymap::default(),
        Theme::built_in(theme).unwrap(),
        now(),
    );
    state.link = Link::Connected;
    state.bell = true;
    state
}

/// `count` incidents with varied severities, statuses and services, ids 1..=count.
pub fn many(count: u64) -> Vec<IncidentView> {
    let services = ["payments", "checkout", "search", "auth", "db"];
    (1..=count)
        .map(|id| {
            let severity = Severity::ALL[(id % 4) as usize];
            let mut view = incident(
                id,
                severity,
                &format!(
                    "{} latency high on node-{}",
                    services[(id % 5) as usize],
                    id % 97
                ),
            );
            view.service = Some(services[(id % 5) as usize].to_string());
            view.created_at = now() - chrono::Duration::seconds(id as i64 * 7);
            if id % 3 == 0 {
                view.status = IncidentStatus::Acknowledged;
                view.assignee = Some("alice".to_string());
            }
            if id % 11 == 0 {
                view.status = IncidentStatus::Resolved;
            }
            view
        })
        .collect()
}
