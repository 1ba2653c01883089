//! Fixtures for tests and benchmarks: incidents and states with fixed ids and a fixed clock.
#![doc(hidden)]

use super::keymap::Keymap;
use super::state::State;
use super::theme::Theme;
use crate::client::{Endpoint, Link};
use crate::domain::{EscalationState, IncidentStatus, Severity};
use crate::protocol::{IncidentView, OnCallView, OverrideView, ShiftView, SilenceView};
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

fn at(minutes_from_now: i64) -> DateTime<Utc> {
    now() + chrono::Duration::minutes(minutes_from_now)
}

/// Three schedules as [`now`] (Saturday noon UTC) sees them: Berlin with a rotation and a
/// future override; New York with an override on call now; one with nobody at all.
pub fn oncall() -> Vec<OnCallView> {
    let shift = |user: &str, start, end, layer: Option<&str>, id: Option<&str>| ShiftView {
        user: user.to_string(),
        start,
        end,
        layer: layer.map(str::to_string),
        override_id: id.map(str::to_string),
    };
    let override_view =
        |id: &str, schedule: &str, user: &str, start, end, by: Option<&str>| OverrideView {
            id: id.to_string(),
            schedule: schedule.to_string(),
            user: user.to_string(),
            start,
            end,
            created_by: by.map(str::to_string),
            origin: if by.is_some() { "api" } else { "config" }.to_string(),
        };
    vec![
        OnCallView {
            schedule: "primary".to_string(),
            time_zone: "Europe/Berlin".to_string(),
            now: Some(shift("alice", at(-240), at(1200), Some("weekly"), None)),
            next: Some(shift("bob", at(1200), at(2640), Some("weekly"), None)),
            overrides: vec![override_view(
                "14",
                "primary",
                "carol",
                at(2640),
                at(3120),
                Some("admin"),
            )],
        },
        OnCallView {
            schedule: "database".to_string(),
            time_zone: "America/New_York".to_string(),
            now: Some(shift("dave", at(-60), at(120), None, Some("config-1"))),
            next: Some(shift("erin", at(120), at(720), Some("days"), None)),
            overrides: vec![override_view(
                "config-1",
                "database",
                "dave",
                at(-60),
                at(120),
                None,
            )],
        },
        OnCallView {
            schedule: "weekend".to_string(),
            time_zone: "UTC".to_string(),
            now: None,
            next: None,
            overrides: Vec::new(),
        },
    ]
}

/// Silences in no particular order: two active (one from the configuration), one pending,
/// one expired.
pub fn silences() -> Vec<SilenceView> {
    let silence = |id: &str, matchers: &[&str], start, end, comment: &str, by: Option<&str>| {
        let state = if end <= now() {
            "expired"
        } else if start > now() {
            "pending"
        } else {
            "active"
        };
        SilenceView {
            id: id.to_string(),
            matchers: matchers.iter().map(|m| m.to_string()).collect(),
            starts_at: start,
            ends_at: end,
            comment: comment.to_string(),
            created_by: by.map(str::to_string),
            state: state.to_string(),
            origin: if by.is_some() { "api" } else { "config" }.to_string(),
        }
    };
    vec![
        silence(
            "9",
            &["alertname=~Disk.*"],
            at(-63),
            at(-3),
            "disk cleanup",
            Some("admin"),
        ),
        silence("15", &["env=staging"], at(120), at(240), "", Some("bob")),
        silence(
            "12",
            &["service=batch", "severity=warning"],
            at(-60),
            now() + chrono::Duration::seconds(7_140),
            "nightly batch run",
            Some("alice"),
        ),
        silence(
            "db-maintenance",
            &["service=database"],
            at(-30),
            at(90),
            "monthly patching",
            None,
        ),
    ]
}
