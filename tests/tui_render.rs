//! Views rendered into a ratatui `Buffer` with a fixed clock and fixed ids: assertions on
//! what matters (labels, reverse video, harmless text, hints from the keymap), and a few
//! whole screens as insta snapshots at 80x24 and 120x40 (`cargo insta review` after a
//! deliberate change, or `INSTA_UPDATE=always cargo test --test tui_render`).

use chrono::Duration;
use klaxon::client::{Link, Update};
use klaxon::domain::{Actor, AlertStatus, IncidentStatus, Link as Href, Severity, TimelineKind};
use klaxon::protocol::{AlertView, IncidentDetail, IntegrationView, TimelineView};
use klaxon::tui::keymap::Keymap;
use klaxon::tui::testing::{incident, now, state};
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
        "note: failing over to db-2",
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
