//! Views rendered into a ratatui `Buffer` with a fixed clock and fixed ids: assertions on
//! what matters (labels, reverse video, harmless text, hints from the keymap), and a few
//! whole screens as insta snapshots at 80x24 and 120x40 (`cargo insta review` after a
//! deliberate change, or `INSTA_UPDATE=always cargo test --test tui_render`).

use chrono::Duration;
use klaxon::client::{Link, Update};
use klaxon::domain::escalation::ContactKind;
use klaxon::domain::routing::Urgency;
use klaxon::domain::{
    Actor, AlertStatus, Delivery, EscalationState, IncidentStatus, Link as Href, Severity,
    TimelineKind,
};
use klaxon::protocol::{AlertView, IncidentDetail, IntegrationView, TimelineView};
use klaxon::tui::keymap::Keymap;
use klaxon::tui::testing::{self, incident, now, state};
use klaxon::tui::{update, view, Message, State};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

fn sized(theme: &str, width: u16, height: u16) -> State {
    let mut state = state(theme);
    update(&mut state, Message::Resize { width, height });
    state
}

fn populate(state: &mut State) {
    let mut incidents = vec![
        incident(
            1,
            Severity::Warning,
            "cpu above 90% on web-3 for 10 minutes",
        ),
        incident(2, Severity::Critical, "disk full on db-1"),
        incident(
            3,
            Severity::Info,
            "certificate for api.example.com renews in 14 days",
        ),
        incident(
            4,
            Severity::Error,
            "checkout returns 5xx for 3% of requests",
        ),
        incident(5, Severity::Critical, "payments queue is not draining"),
        incident(6, Severity::Error, "replica lag on db-2"),
    ];
    incidents[0].service = Some("web".to_string());
    incidents[1].service = Some("database".to_string());
    incidents[1].alert_count = 3;
    incidents[3].service = Some("checkout".to_string());
    incidents[3].status = IncidentStatus::Acknowledged;
    incidents[3].assignee = Some("alice".to_string());
    incidents[4].service = Some("payments-processing-eu-west".to_string());
    incidents[5].status = IncidentStatus::Acknowledged;
    incidents[5].snoozed_until = Some(now() + Duration::minutes(30));
    update(state, Message::Client(Update::Snapshot(incidents)));
    let fresh = incident(7, Severity::Critical, "login fails for every user");
    let mut fresh = fresh;
    fresh.created_at = now() - Duration::seconds(12);
    update(
        state,
        Message::Client(Update::Incident {
            incident: fresh,
            timeline: vec![],
            opened: true,
        }),
    );
    update(state, Message::Integrations(integrations()));
    state.settle();
}

fn integrations() -> Vec<IntegrationView> {
    ["alertmanager", "generic"]
        .iter()
        .map(|name| IntegrationView {
            name: name.to_string(),
            source: name.to_string(),
            service: None,
            key: Some(format!("{name}-key")),
            url: Some(format!(
                "http://127.0.0.1:9800/v1/integrations/{name}-key-0123456789abcdef"
            )),
        })
        .collect()
}

fn render(state: &mut State) -> Buffer {
    state.settle();
    let area = Rect::new(0, 0, state.width, state.height);
    let mut buffer = Buffer::empty(area);
    view::render(state, area, &mut buffer);
    buffer
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut lines = Vec::new();
    for y in 0..area.height {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..area.width {
            // Wide characters take two cells; the second is blank and must not be added.
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(symbol).saturating_sub(1);
            line.push_str(symbol);
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

fn row_of(buffer: &Buffer, needle: &str) -> u16 {
    let all = text(buffer);
    all.lines()
        .position(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not on screen:\n{all}")) as u16
}

fn reversed_rows(buffer: &Buffer) -> Vec<u16> {
    (0..buffer.area.height)
        .filter(|y| {
            buffer[(buffer.area.width / 2, *y)]
                .modifier
                .contains(Modifier::REVERSED)
        })
        .collect()
}

#[test]
fn rows_carry_severity_labels_and_the_selection_is_reverse_video() {
    let mut state = sized("default", 120, 40);
    populate(&mut state);
    let buffer = render(&mut state);
    let screen = text(&buffer);
    for label in ["CRIT", "ERR", "WARN", "INFO"] {
        assert!(screen.contains(label), "{label} missing:\n{screen}");
    }
    let selected = row_of(&buffer, "#7");
    assert_eq!(state.selected, Some(7));
    assert!(buffer[(60, selected)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(60, row_of(&buffer, "#2"))]
        .modifier
        .contains(Modifier::REVERSED));
    // The new critical incident carries a mark, not only a colour.
    assert!(
        screen.lines().any(|line| line.starts_with("●CRIT #7")),
        "{screen}"
    );
    assert!(screen.contains("snoozed"), "{screen}");
    assert!(
        screen.contains("payments-proc…"),
        "long services are cut with an ellipsis:\n{screen}"
    );
}

#[test]
fn hostile_text_is_drawn_harmlessly() {
    let mut state = sized("default", 100, 20);
    let mut evil = incident(
        9,
        Severity::Critical,
        "pwn\x1b]0;owned\x07\x1b[2J\r\nnext\u{202e}line",
    );
    evil.service = Some("svc\x1b[31m".to_string());
    update(&mut state, Message::Client(Update::Snapshot(vec![evil])));
    let buffer = render(&mut state);
    for cell in buffer.content() {
        assert!(
            !cell
                .symbol()
                .chars()
                .any(|c| c.is_control() || c == '\u{202e}'),
            "control character drawn: {:?}",
            cell.symbol()
        );
    }
    assert!(
        text(&buffer).contains("pwn␛]0;owned␇␛[2J␍␊next�line"),
        "{}",
        text(&buffer)
    );
}

#[test]
fn the_status_bar_shows_link_counts_and_user_and_counts_down_a_retry() {
    let mut state = sized("default", 120, 30);
    populate(&mut state);
    let screen = text(&render(&mut state));
    let status = screen.lines().nth(28).unwrap();
    assert!(status.contains("● live"), "{status}");
    assert!(status.contains("engine 127.0.0.1:9800"), "{status}");
    assert!(status.contains("CRIT 3 ERR 2 WARN 1 INFO 1"), "{status}");
    assert!(status.contains("as admin"), "{status}");
    let retry_at = now() + Duration::seconds(8);
    update(
        &mut state,
        Message::Client(Update::Link(Link::Retrying {
            retry_at,
            attempt: 3,
            reason: "connection refused".to_string(),
        })),
    );
    let status = text(&render(&mut state))
        .lines()
        .nth(28)
        .unwrap()
        .to_string();
    assert!(
        status.contains("✕ link down: connection refused · retry in 8s (attempt 3)"),
        "{status}"
    );
    update(&mut state, Message::Tick(now() + Duration::seconds(5)));
    let status = text(&render(&mut state))
        .lines()
        .nth(28)
        .unwrap()
        .to_string();
    assert!(status.contains("retry in 3s"), "{status}");
}

#[test]
fn hints_are_generated_from_the_keymap_in_force() {
    let mut state = sized("default", 120, 30);
    populate(&mut state);
    let hints = text(&render(&mut state))
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(
        hints.contains("j/k move")
            && hints.contains("a ack")
            && hints.contains("? help")
            && hints.contains("q quit"),
        "{hints}"
    );
    state.keymap = Keymap::default()
        .merge(
            std::path::Path::new("keymap.toml"),
            "acknowledge = { keys = [\"K\"] }\n",
        )
        .unwrap();
    let hints = text(&render(&mut state))
        .lines()
        .last()
        .unwrap()
        .to_string();
    assert!(
        hints.contains("K ack") && !hints.contains("a ack"),
        "{hints}"
    );
    state.keymap = Keymap::default().read_only();
    state.read_only = true;
    let screen = text(&render(&mut state));
    let hints = screen.lines().last().unwrap();
    assert!(
        !hints.contains("ack") && !hints.contains("resolve") && hints.contains("enter open"),
        "{hints}"
    );
    assert!(screen.lines().nth(28).unwrap().contains("read-only"));
}

#[test]
fn mono_draws_no_colour_at_all_and_still_shows_the_selection() {
    let mut state = sized("mono", 80, 24);
    populate(&mut state);
    let buffer = render(&mut state);
    for cell in buffer.content() {
        assert!(
            matches!(cell.fg, Color::Reset) && matches!(cell.bg, Color::Reset),
            "{cell:?}"
        );
    }
    assert!(!reversed_rows(&buffer).is_empty());
    let mut no_colour = sized("dark", 80, 24);
    no_colour.theme = no_colour.theme.clone().without_colour();
    populate(&mut no_colour);
    let buffer = render(&mut no_colour);
    assert!(buffer
        .content()
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
}

#[test]
fn a_first_start_explains_how_to_send_an_alert() {
    let mut state = sized("default", 120, 40);
    update(&mut state, Message::Client(Update::Snapshot(vec![])));
    update(&mut state, Message::Integrations(integrations()));
    let screen = text(&render(&mut state));
    assert!(screen.contains("No incidents. All quiet."), "{screen}");
    assert!(
        screen.contains("curl -H 'Content-Type: application/json'"),
        "{screen}"
    );
    assert!(
        screen.contains("http://127.0.0.1:9800/v1/integrations/generic-key-0123456789abcdef"),
        "{screen}"
    );
    assert!(
        screen.contains("klaxon send \"disk full on db-1\" --severity critical"),
        "{screen}"
    );
}

fn detail() -> IncidentDetail {
    let mut view = incident(2, Severity::Critical, "disk full on db-1");
    view.service = Some("database".to_string());
    view.status = IncidentStatus::Acknowledged;
    view.acknowledged_at = Some(now() - Duration::minutes(1));
    view.acknowledged_by = Some("alice".to_string());
    view.assignee = Some("alice".to_string());
    view.labels.insert("host".to_string(), "db-1".to_string());
    view.labels
        .insert("region".to_string(), "eu-west-1".to_string());
    view.links.push(Href {
        href: "https://runbooks.example.com/disk".to_string(),
        text: Some("runbook".to_string()),
    });
    let entry = |seq, minutes, actor: Actor, kind: TimelineKind| TimelineView {
        seq,
        at: now() - Duration::minutes(minutes),
        description: kind.describe(),
        actor,
        kind,
    };
    IncidentDetail {
        alerts: vec![AlertView {
            key: "#000001".to_string(),
            status: AlertStatus::Firing,
            title: "disk full on db-1".to_string(),
            severity: Severity::Critical,
            received_at: now() - Duration::minutes(2),
            labels: Default::default(),
            links: vec![],
            details: serde_json::Value::Null,
        }],
        timeline: vec![
            entry(
                0,
                2,
                Actor::Integration("generic".to_string()),
                TimelineKind::Triggered {
                    title: "disk full on db-1".to_string(),
                },
            ),
            entry(
                1,
                1,
                Actor::User("alice".to_string()),
                TimelineKind::Acknowledged,
            ),
            entry(
                2,
                0,
                Actor::User("alice".to_string()),
                TimelineKind::Note {
                    text: "failing over to db-2".to_string(),
                },
            ),
        ],
        incident: view,
    }
}

#[test]
fn the_detail_shows_labels_links_alerts_escalation_and_the_whole_timeline() {
    let mut state = sized("default", 120, 40);
    populate(&mut state);
    update(&mut state, Message::Command("open 2".to_string()));
    update(
        &mut state,
        Message::DetailLoaded {
            id: 2,
            result: Ok(detail()),
        },
    );
    let screen = text(&render(&mut state));
    for expected in [
        "CRIT #2 disk full on db-1",
        "acknowledged",
        "host=db-1  region=eu-west-1",
        "runbook <https://runbooks.example.com/disk>",
        "no escalation policy",
        "Alerts (1)",
        "Timeline (3)",
        "alice                › failing over to db-2",
        "watching   you",
        "integration generic",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
}

#[test]
fn snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let mut queue = sized("default", 80, 24);
        populate(&mut queue);
        insta::assert_snapshot!("queue_80x24", text(&render(&mut queue)));

        let mut wide = sized("default", 120, 40);
        populate(&mut wide);
        insta::assert_snapshot!("queue_120x40", text(&render(&mut wide)));

        update(&mut wide, Message::Command("open 2".to_string()));
        update(
            &mut wide,
            Message::DetailLoaded {
                id: 2,
                result: Ok(detail()),
            },
        );
        insta::assert_snapshot!("detail_120x40", text(&render(&mut wide)));

        let mut empty = sized("default", 120, 40);
        update(&mut empty, Message::Client(Update::Snapshot(vec![])));
        update(&mut empty, Message::Integrations(integrations()));
        insta::assert_snapshot!("empty_120x40", text(&render(&mut empty)));

        let mut help = sized("default", 80, 24);
        populate(&mut help);
        update(&mut help, Message::Command("help".to_string()));
        insta::assert_snapshot!("help_80x24", text(&render(&mut help)));

        // Mono: the text, then which rows are in reverse video (the only highlight it has).
        let mut mono = sized("mono", 80, 24);
        populate(&mut mono);
        update(
            &mut mono,
            Message::Command("filter sev:crit,err".to_string()),
        );
        update(
            &mut mono,
            Message::Client(Update::Link(Link::Retrying {
                retry_at: now() + Duration::seconds(4),
                attempt: 2,
                reason: "connection refused".to_string(),
            })),
        );
        let buffer = render(&mut mono);
        insta::assert_snapshot!(
            "mono_filtered_link_down_80x24",
            format!(
                "{}\n-- reversed rows: {:?}",
                text(&buffer),
                reversed_rows(&buffer)
            )
        );
    });
}

fn entry(
    seq: u32,
    at: chrono::DateTime<chrono::Utc>,
    actor: Actor,
    kind: TimelineKind,
) -> TimelineView {
    TimelineView {
        seq,
        at,
        description: kind.describe(),
        actor,
        kind,
    }
}

fn notified(user: &str, contact: &str, channel: ContactKind, outcome: Delivery) -> TimelineKind {
    TimelineKind::Notified {
        user: user.to_string(),
        contact: contact.to_string(),
        channel,
        outcome,
    }
}

fn escalated(level: u32, users: &[&str], manual: bool) -> TimelineKind {
    TimelineKind::Escalated {
        policy: "ops".to_string(),
        level,
        repeat: 0,
        users: users.iter().map(|user| user.to_string()).collect(),
        manual,
    }
}

/// #2, triggered, at level 2 of `ops` with level 3 due in 4m 12s; alice, then bob and carol
/// paged, through channels that delivered, failed (and retry) and gave up.
fn escalating() -> IncidentDetail {
    let mut view = incident(2, Severity::Critical, "disk full on db-1");
    view.created_at = now() - Duration::minutes(12);
    view.service = Some("database".to_string());
    view.escalation = EscalationState {
        policy: Some("ops".to_string()),
        level: 2,
        next_at: Some(now() + Duration::seconds(252)),
        repeat: 0,
        urgency: Some(Urgency::High),
        route: Some("databases".to_string()),
        silenced_by: None,
    };
    let minutes = |minutes| now() - Duration::minutes(minutes);
    let system = || Actor::System;
    IncidentDetail {
        alerts: vec![],
        timeline: vec![
            entry(
                0,
                minutes(12),
                Actor::Integration("generic".to_string()),
                TimelineKind::Triggered {
                    title: "disk full on db-1".to_string(),
                },
            ),
            entry(1, minutes(12), system(), escalated(1, &["alice"], false)),
            entry(
                2,
                minutes(12),
                system(),
                notified(
                    "alice",
                    "webhook",
                    ContactKind::Webhook,
                    Delivery::Delivered { detail: None },
                ),
            ),
            entry(
                3,
                minutes(11),
                system(),
                notified(
                    "alice",
                    "sms",
                    ContactKind::Sms,
                    Delivery::Failed {
                        reason: "500 Internal Server Error".to_string(),
                        attempt: 2,
                        of: 5,
                    },
                ),
            ),
            entry(
                4,
                minutes(2),
                Actor::User("admin".to_string()),
                escalated(2, &["bob", "carol"], true),
            ),
            entry(
                5,
                minutes(1),
                system(),
                notified(
                    "bob",
                    "work",
                    ContactKind::Email,
                    Delivery::GaveUp {
                        reason: "550 mailbox unavailable".to_string(),
                        attempts: 5,
                    },
                ),
            ),
            entry(
                6,
                minutes(1),
                system(),
                notified(
                    "carol",
                    "slack",
                    ContactKind::Slack,
                    Delivery::Delivered { detail: None },
                ),
            ),
        ],
        incident: view,
    }
}

fn acknowledged() -> IncidentDetail {
    let mut detail = escalating();
    let view = &mut detail.incident;
    view.status = IncidentStatus::Acknowledged;
    view.acknowledged_at = Some(now() - Duration::seconds(30));
    view.acknowledged_by = Some("carol".to_string());
    view.escalation.next_at = None;
    detail.timeline.push(entry(
        7,
        now() - Duration::seconds(30),
        Actor::User("carol".to_string()),
        TimelineKind::Acknowledged,
    ));
    detail
}

fn silenced() -> IncidentDetail {
    let mut view = incident(3, Severity::Warning, "batch job slow");
    view.service = Some("batch".to_string());
    view.escalation = EscalationState {
        policy: Some("ops".to_string()),
        level: 0,
        next_at: None,
        repeat: 0,
        urgency: Some(Urgency::Low),
        route: None,
        silenced_by: Some("12".to_string()),
    };
    IncidentDetail {
        alerts: vec![],
        timeline: vec![
            entry(
                0,
                now() - Duration::minutes(3),
                Actor::Integration("generic".to_string()),
                TimelineKind::Triggered {
                    title: "batch job slow".to_string(),
                },
            ),
            entry(
                1,
                now() - Duration::minutes(3),
                Actor::System,
                TimelineKind::Silenced {
                    silence: "12".to_string(),
                    summary: "silence 12 service=batch severity=warning (nightly batch run)"
                        .to_string(),
                },
            ),
        ],
        incident: view,
    }
}

fn exhausted() -> IncidentDetail {
    let mut detail = escalating();
    detail.incident.escalation.next_at = None;
    detail.timeline.push(entry(
        7,
        now(),
        Actor::System,
        TimelineKind::EscalationExhausted,
    ));
    detail
}

fn not_paged() -> IncidentDetail {
    let mut view = incident(4, Severity::Info, "certificate renews soon");
    view.escalation = EscalationState::default();
    IncidentDetail {
        alerts: vec![],
        timeline: vec![entry(
            0,
            now(),
            Actor::System,
            TimelineKind::NotPaged {
                reason: "no route matched and there is no default policy".to_string(),
            },
        )],
        incident: view,
    }
}

/// The detail of `loaded` on a screen of this size and theme.
fn showing(theme: &str, width: u16, height: u16, loaded: IncidentDetail) -> State {
    let mut state = sized(theme, width, height);
    populate(&mut state);
    let id = loaded.incident.id;
    update(&mut state, Message::Command(format!("open {id}")));
    update(
        &mut state,
        Message::DetailLoaded {
            id,
            result: Ok(loaded),
        },
    );
    state
}

#[test]
fn the_detail_counts_down_to_the_next_level_and_says_why_there_is_none() {
    let mut state = showing("default", 120, 40, escalating());
    let screen = text(&render(&mut state));
    for expected in [
        " escalation ops, urgency high, route databases",
        " level      2",
        " paging     next level in 4m 12s (at 12:04:12)",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
    // The one-second tick is all it takes.
    update(&mut state, Message::Tick(now() + Duration::seconds(1)));
    let screen = text(&render(&mut state));
    assert!(screen.contains("next level in 4m 11s"), "{screen}");
    update(&mut state, Message::Tick(now() + Duration::seconds(252)));
    assert!(text(&render(&mut state)).contains("next level due now"));

    for (detail, expected) in [
        (acknowledged(), "paging     stopped: acknowledged by carol"),
        (
            silenced(),
            "paging     silenced by silence 12 service=batch severity=warning (nightly batch run): nobody is paged",
        ),
        (exhausted(), "paging     policy exhausted: no further level"),
        (
            not_paged(),
            "paging     not paged: no route matched and there is no default policy",
        ),
    ] {
        let mut state = showing("default", 160, 40, detail);
        let screen = text(&render(&mut state));
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
    // Once the policy ran out, its length is known.
    let mut state = showing("default", 120, 40, exhausted());
    assert!(text(&render(&mut state)).contains(" level      2 of 2"));
}

#[test]
fn pages_show_who_was_reached_how_with_the_outcome_in_words_and_grow_live() {
    let mut state = showing("default", 120, 40, escalating());
    let buffer = render(&mut state);
    let screen = text(&buffer);
    let pages = screen
        .split(" Pages (2 steps, 4 notifications)")
        .nth(1)
        .unwrap_or_else(|| panic!("no pages section:\n{screen}"));
    let expected = [
        "11:48:00 escalated to level 1 of ops: paging alice",
        "11:48:00   webhook to alice: delivered",
        "11:49:00   sms to alice: failed 500 Internal Server Error, retry 2/5",
        "11:58:00 escalated by hand to level 2 of ops: paging bob, carol",
        "11:59:00   work (email) to bob: gave up after 5 attempts: 550 mailbox unavailable",
        "11:59:00   slack to carol: delivered",
    ];
    let shown: Vec<&str> = pages.lines().skip(1).take(6).map(str::trim).collect();
    assert_eq!(shown, expected, "{screen}");
    // Colour repeats the outcome: delivered and gave up differ.
    let delivered = row_of(&buffer, "webhook to alice");
    let gave_up = row_of(&buffer, "work (email) to bob");
    assert_ne!(buffer[(20, delivered)].fg, buffer[(20, gave_up)].fg);

    // A retry that arrives live lands under the step that paged the person.
    let mut view = escalating().incident;
    view.updated_at = now();
    let retry = entry(
        7,
        now(),
        Actor::System,
        notified(
            "alice",
            "sms",
            ContactKind::Sms,
            Delivery::Delivered { detail: None },
        ),
    );
    update(
        &mut state,
        Message::Client(Update::Incident {
            incident: view,
            timeline: vec![retry],
            opened: false,
        }),
    );
    let screen = text(&render(&mut state));
    let pages = screen
        .split(" Pages (2 steps, 5 notifications)")
        .nth(1)
        .unwrap();
    let shown: Vec<&str> = pages.lines().skip(1).take(7).map(str::trim).collect();
    assert_eq!(shown[3], "12:00:00   sms to alice: delivered", "{screen}");
}

#[test]
fn a_silenced_incident_says_so_in_the_queue() {
    let mut state = sized("mono", 80, 24);
    let mut held = incident(1, Severity::Warning, "batch job slow");
    held.escalation.silenced_by = Some("12".to_string());
    let mut acked = incident(2, Severity::Warning, "batch job slower");
    acked.escalation.silenced_by = Some("12".to_string());
    acked.status = IncidentStatus::Acknowledged;
    update(
        &mut state,
        Message::Client(Update::Snapshot(vec![held, acked])),
    );
    let screen = text(&render(&mut state));
    let row = |id| {
        screen
            .lines()
            .find(|line| line.contains(id))
            .unwrap()
            .to_string()
    };
    assert!(row("#1").contains("silenced"), "{screen}");
    assert!(
        row("#2").contains("acked"),
        "acknowledged says so first:\n{screen}"
    );
}

#[test]
fn the_oncall_and_silences_screens_draw_in_mono_without_colour() {
    for command in ["oncall", "silences"] {
        let mut state = sized("mono", 80, 24);
        populate(&mut state);
        update(&mut state, Message::Command(command.to_string()));
        update(&mut state, Message::OnCallLoaded(Ok(testing::oncall())));
        update(&mut state, Message::SilencesLoaded(Ok(testing::silences())));
        let buffer = render(&mut state);
        assert!(buffer
            .content()
            .iter()
            .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    }
}

/// The on-call screen with every schedule fetched at [`now`].
fn oncall_screen(theme: &str, width: u16, height: u16) -> State {
    let mut state = sized(theme, width, height);
    populate(&mut state);
    update(&mut state, Message::Command("oncall".to_string()));
    update(&mut state, Message::OnCallLoaded(Ok(testing::oncall())));
    state
}

fn silences_screen(theme: &str, width: u16, height: u16) -> State {
    let mut state = sized(theme, width, height);
    populate(&mut state);
    update(&mut state, Message::Command("silences".to_string()));
    update(&mut state, Message::SilencesLoaded(Ok(testing::silences())));
    state
}

#[test]
fn paging_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let mut state = showing("default", 120, 40, escalating());
        insta::assert_snapshot!("detail_escalating_120x40", text(&render(&mut state)));
        let mut state = showing("default", 80, 24, acknowledged());
        insta::assert_snapshot!("detail_acknowledged_80x24", text(&render(&mut state)));
        let mut state = showing("default", 80, 24, silenced());
        insta::assert_snapshot!("detail_silenced_80x24", text(&render(&mut state)));
        let mut state = showing("default", 80, 24, exhausted());
        insta::assert_snapshot!("detail_exhausted_80x24", text(&render(&mut state)));
        // Mono, scrolled to the pages: outcomes in words, no colour to lean on.
        let mut state = showing("mono", 80, 24, escalating());
        for _ in 0..8 {
            update(&mut state, Message::Intent(klaxon::tui::Action::SelectNext));
        }
        insta::assert_snapshot!("detail_escalating_mono_80x24", text(&render(&mut state)));

        let mut state = oncall_screen("default", 120, 40);
        insta::assert_snapshot!("oncall_120x40", text(&render(&mut state)));
        let mut state = oncall_screen("mono", 80, 24);
        let buffer = render(&mut state);
        insta::assert_snapshot!(
            "oncall_mono_80x24",
            format!(
                "{}\n-- reversed rows: {:?}",
                text(&buffer),
                reversed_rows(&buffer)
            )
        );

        let mut state = silences_screen("default", 120, 40);
        insta::assert_snapshot!("silences_120x40", text(&render(&mut state)));
        let mut state = silences_screen("mono", 80, 24);
        update(&mut state, Message::Intent(klaxon::tui::Action::SelectNext));
        let buffer = render(&mut state);
        insta::assert_snapshot!(
            "silences_mono_80x24",
            format!(
                "{}\n-- reversed rows: {:?}",
                text(&buffer),
                reversed_rows(&buffer)
            )
        );
        // Asking before expiring, in words.
        update(
            &mut state,
            Message::Intent(klaxon::tui::Action::ExpireSilence),
        );
        let screen = text(&render(&mut state));
        assert!(
            screen
                .lines()
                .last()
                .unwrap()
                .starts_with("expire silence 12 (service=batch severity=warning)? y yes  n no"),
            "{screen}"
        );
    });
}

#[test]
fn help_lists_the_paging_actions_and_commands_from_the_keymap() {
    let mut state = sized("default", 120, 90);
    populate(&mut state);
    update(&mut state, Message::Command("help".to_string()));
    let screen = text(&render(&mut state));
    for expected in [
        " O                  oncall          who is on call now and next, per schedule",
        " M                  silences        silences: what is held from paging, and until when",
        " m               !  silence         add a silence: MATCHERS DURATION [COMMENT]",
        " X               !? expire_silence  end the selected silence now",
        " ctrl-r             refresh         fetch the on-call, silences or incident shown again",
        " :silence svc=x 2h why matchers (= != =~ !~), a duration, a comment",
        " :expire [SILENCE]     end a silence now (no y/n: you typed it)",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
}

#[test]
fn a_prompt_left_open_after_a_mistake_says_why_above_it() {
    let mut state = sized("default", 80, 24);
    populate(&mut state);
    update(&mut state, Message::Command("silence batch 2h".to_string()));
    let screen = text(&render(&mut state));
    let lines: Vec<&str> = screen.lines().collect();
    assert_eq!(
        lines[22],
        " \"batch\" is not a matcher like svc=batch (= != =~ !~)"
    );
    assert_eq!(lines[23], "silence (matchers, duration, comment): batch 2h");
}
