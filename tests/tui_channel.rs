//! The incident's channel in the console: the composer (lines, send, cancel, a refused
//! message given back), presence (what the console says it views, and who else does), the
//! postmortem command, and the conversation drawn: authors and times, multi-line messages,
//! a `/command` and the bot's answer, a finding, and hostile escapes made harmless.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use klaxon::client::{ClientError, Update};
use klaxon::domain::{Action as Domain, Actor, IncidentStatus, Severity, TimelineKind};
use klaxon::protocol::{IncidentDetail, TimelineView};
use klaxon::tui::keymap::Keymap;
use klaxon::tui::state::{Mode, Purpose};
use klaxon::tui::testing::{incident, now, state};
use klaxon::tui::update::postmortem_file;
use klaxon::tui::{update, view, Action, Effect, Message, State};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use std::path::PathBuf;

fn key(state: &mut State, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(state, Message::Key(KeyEvent::new(code, modifiers)))
}

fn typed(state: &mut State, text: &str) {
    for character in text.chars() {
        key(state, KeyCode::Char(character), KeyModifiers::NONE);
    }
}

fn flash(state: &State) -> String {
    state
        .flash
        .as_ref()
        .map(|flash| flash.text.clone())
        .unwrap_or_default()
}

/// #2 (critical) and #3 in the queue, on a screen of this size.
fn queue(width: u16, height: u16) -> State {
    let mut state = state("default");
    update(&mut state, Message::Resize { width, height });
    let mut disk = incident(2, Severity::Critical, "disk full on db-1");
    disk.service = Some("database".to_string());
    disk.status = IncidentStatus::Acknowledged;
    disk.acknowledged_at = Some(now() - Duration::minutes(5));
    disk.acknowledged_by = Some("alice".to_string());
    update(
        &mut state,
        Message::Client(Update::Snapshot(vec![
            disk,
            incident(3, Severity::Info, "certificate renews soon"),
        ])),
    );
    state
}

fn entry(seq: u32, minutes_ago: i64, actor: Actor, kind: TimelineKind) -> TimelineView {
    TimelineView {
        seq,
        at: now() - Duration::minutes(minutes_ago),
        description: kind.describe(),
        actor,
        kind,
    }
}

fn note(seq: u32, minutes_ago: i64, who: &str, text: &str) -> TimelineView {
    entry(
        seq,
        minutes_ago,
        Actor::User(who.to_string()),
        TimelineKind::Note {
            text: text.to_string(),
        },
    )
}

/// A conversation: the system's entries, a multi-line message, a question to the bot and
/// its answer, a finding, an escaped slash, and a hostile message.
fn conversation() -> IncidentDetail {
    let mut view = incident(2, Severity::Critical, "disk full on db-1");
    view.service = Some("database".to_string());
    view.status = IncidentStatus::Acknowledged;
    view.acknowledged_at = Some(now() - Duration::minutes(5));
    view.acknowledged_by = Some("alice".to_string());
    IncidentDetail {
        incident: view,
        alerts: vec![],
        timeline: vec![
            entry(
                0,
                9,
                Actor::Integration("generic".to_string()),
                TimelineKind::Triggered {
                    title: "disk full on db-1".to_string(),
                },
            ),
            entry(
                1,
                5,
                Actor::User("alice".to_string()),
                TimelineKind::Acknowledged,
            ),
            note(
                2,
                4,
                "alice",
                "looking: /var is at 100%\nbiggest: /var/log/pg (40G)\nrotating now",
            ),
            note(3, 3, "bob", "/status"),
            entry(
                4,
                3,
                Actor::System,
                TimelineKind::BotReply {
                    command: "status".to_string(),
                    text: "#2 acknowledged by alice 5m ago; open 9m".to_string(),
                },
            ),
            note(
                5,
                2,
                "alice",
                "#cause log rotation was off after the upgrade",
            ),
            note(6, 1, "bob", "//etc is fine"),
            note(7, 0, "mallory", "\x1b]0;pwned\x07hi\x1b[2J there"),
        ],
    }
}

fn showing(width: u16, height: u16) -> State {
    let mut state = queue(width, height);
    update(&mut state, Message::Command("open 2".to_string()));
    update(
        &mut state,
        Message::DetailLoaded {
            id: 2,
            result: Ok(conversation()),
        },
    );
    update(
        &mut state,
        Message::Client(Update::Presence {
            incident: 2,
            viewers: vec!["admin".to_string(), "alice".to_string(), "bob".to_string()],
        }),
    );
    state
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

#[test]
fn the_composer_takes_lines_sends_on_enter_and_cancels_on_esc() {
    let mut state = showing(80, 30);
    key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE);
    assert!(matches!(&state.mode, Mode::Input(input) if input.purpose == Purpose::Note(2)));
    typed(&mut state, "rotating logs");
    // Both default new-line keys: alt-enter and ctrl-j.
    key(&mut state, KeyCode::Enter, KeyModifiers::ALT);
    typed(&mut state, "  then restart");
    key(&mut state, KeyCode::Char('j'), KeyModifiers::CONTROL);
    typed(&mut state, "#action alert on /var");
    let Mode::Input(input) = &state.mode else {
        panic!("the composer closed")
    };
    assert_eq!(input.rows(), 3);
    assert_eq!(input.cursor_line(), (2, 21));
    let effects = key(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        effects,
        [Effect::Act {
            id: 2,
            action: Domain::Note {
                text: "rotating logs\n  then restart\n#action alert on /var".to_string()
            },
            what: "noted",
        }]
    );
    assert_eq!(state.mode, Mode::Normal);

    key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE);
    typed(&mut state, "never mind");
    assert!(key(&mut state, KeyCode::Esc, KeyModifiers::NONE).is_empty());
    assert_eq!(state.mode, Mode::Normal);
    assert_eq!(flash(&state), "message to #2 discarded");

    // Pasted lines stay lines in a message.
    key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE);
    update(&mut state, Message::Paste("a\r\nb\tc".to_string()));
    let Mode::Input(input) = &state.mode else {
        panic!("the composer closed")
    };
    assert_eq!(input.text, "a\nb c");
}

#[test]
fn a_refused_message_is_shown_and_given_back_to_the_composer() {
    let mut state = showing(80, 30);
    key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE);
    typed(&mut state, "a very long paste");
    key(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(state.mode, Mode::Normal);
    let refusal = "the message is 20000 bytes; the limit is 16384 (server.max_message_bytes)";
    update(
        &mut state,
        Message::Acted {
            id: 2,
            what: "noted",
            result: Err(ClientError::Refused {
                code: "invalid".to_string(),
                message: refusal.to_string(),
            }),
        },
    );
    assert!(state.flash.as_ref().unwrap().error);
    assert_eq!(flash(&state), format!("#2 not noted: {refusal}"));
    assert!(
        matches!(&state.mode, Mode::Input(input) if input.purpose == Purpose::Note(2) && input.text == "a very long paste"),
        "{:?}",
        state.mode
    );
    let screen = text(&render(&mut state));
    assert!(
        screen.contains("#2 not noted: the message is 20000 bytes"),
        "{screen}"
    );
    assert!(screen.contains("message #2: a very long paste"), "{screen}");
}

#[test]
fn read_only_cannot_write_messages_but_still_views_and_writes_postmortems() {
    let mut state = queue(80, 24);
    state.keymap = Keymap::default().read_only();
    state.read_only = true;
    let effects = key(&mut state, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(effects, [Effect::LoadDetail(2), Effect::Viewing(Some(2))]);
    assert!(key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE).is_empty());
    assert_eq!(state.mode, Mode::Normal);
    assert!(update(&mut state, Message::Command("note 2 hi".to_string())).is_empty());
    assert!(flash(&state).contains("read-only"), "{}", flash(&state));
    assert_eq!(
        key(&mut state, KeyCode::Char('P'), KeyModifiers::SHIFT),
        [Effect::WritePostmortem {
            id: 2,
            path: postmortem_file(2),
            overwrite: false
        }]
    );
}

#[test]
fn opening_and_leaving_a_detail_tells_the_engine_what_is_viewed() {
    let mut state = queue(80, 24);
    assert_eq!(
        key(&mut state, KeyCode::Enter, KeyModifiers::NONE),
        [Effect::LoadDetail(2), Effect::Viewing(Some(2))]
    );
    // Moving within the detail says nothing new.
    assert!(key(&mut state, KeyCode::Char('j'), KeyModifiers::NONE).is_empty());
    assert_eq!(
        key(&mut state, KeyCode::Esc, KeyModifiers::NONE),
        [Effect::Viewing(None)]
    );
    assert!(key(&mut state, KeyCode::Esc, KeyModifiers::NONE).is_empty());
    // From one detail straight to another: the new one.
    update(&mut state, Message::Command("open 2".to_string()));
    assert_eq!(
        update(&mut state, Message::Command("open 3".to_string())),
        [Effect::LoadDetail(3), Effect::Viewing(Some(3))]
    );
    // Another screen is leaving too.
    assert_eq!(
        update(&mut state, Message::Intent(Action::ShowOnCall)),
        [Effect::LoadOnCall, Effect::Viewing(None)]
    );
    // Quitting from a detail says so first.
    update(&mut state, Message::Command("open 2".to_string()));
    assert_eq!(
        key(&mut state, KeyCode::Char('q'), KeyModifiers::NONE),
        [Effect::Viewing(None), Effect::Quit]
    );
    // From the queue there is nothing to take back.
    update(&mut state, Message::Intent(Action::Back));
    assert_eq!(
        key(&mut state, KeyCode::Char('q'), KeyModifiers::NONE),
        [Effect::Quit]
    );
}

#[test]
fn postmortem_writes_the_default_file_or_the_one_named_and_replaces_only_with_a_bang() {
    let mut state = showing(80, 24);
    let write = |path: &str, overwrite| {
        vec![Effect::WritePostmortem {
            id: 2,
            path: PathBuf::from(path),
            overwrite,
        }]
    };
    assert_eq!(
        key(&mut state, KeyCode::Char('P'), KeyModifiers::SHIFT),
        write("incident-2-postmortem.md", false)
    );
    assert_eq!(
        update(&mut state, Message::Command("postmortem".to_string())),
        write("incident-2-postmortem.md", false)
    );
    assert_eq!(
        update(
            &mut state,
            Message::Command("postmortem notes/db disk.md".to_string())
        ),
        write("notes/db disk.md", false)
    );
    assert_eq!(
        update(
            &mut state,
            Message::Command("postmortem! pm.md".to_string())
        ),
        write("pm.md", true)
    );
    update(
        &mut state,
        Message::PostmortemWritten {
            id: 2,
            result: Ok(PathBuf::from("incident-2-postmortem.md")),
        },
    );
    assert_eq!(
        flash(&state),
        "postmortem draft of #2 written to incident-2-postmortem.md"
    );
    update(
        &mut state,
        Message::PostmortemWritten {
            id: 2,
            result: Err("pm.md already exists (:postmortem! pm.md replaces it)".to_string()),
        },
    );
    assert!(state.flash.as_ref().unwrap().error);
    assert!(flash(&state).starts_with("postmortem of #2 not written: pm.md already exists"));

    // From the queue: the selected incident; from on-call: none.
    update(&mut state, Message::Intent(Action::Back));
    assert_eq!(
        update(&mut state, Message::Command("postmortem".to_string())),
        write("incident-2-postmortem.md", false)
    );
    update(&mut state, Message::Intent(Action::ShowOnCall));
    let effects = update(&mut state, Message::Command("postmortem".to_string()));
    assert!(!effects
        .iter()
        .any(|effect| matches!(effect, Effect::WritePostmortem { .. })));
    assert!(
        flash(&state).contains("which incident"),
        "{}",
        flash(&state)
    );
}

#[test]
fn the_channel_draws_authors_lines_the_bot_findings_and_presence() {
    let mut state = showing(80, 30);
    let buffer = render(&mut state);
    let screen = text(&buffer);
    for expected in [
        " watching   you, alice, bob",
        " 11:56:00 alice                › looking: /var is at 100%",
        "                                 biggest: /var/log/pg (40G)",
        "                                 rotating now",
        " 11:57:00 bob                  » /status",
        " 11:57:00 klaxon               › #2 acknowledged by alice 5m ago; open 9m",
        " 11:58:00 alice                › #cause log rotation was off after the upgrade",
        " 11:59:00 bob                  › //etc is fine",
    ] {
        assert!(screen.contains(expected), "{expected:?} missing:\n{screen}");
    }
    // The finding tag is marked by more than colour.
    let (x, y) = (0..buffer.area.height)
        .find_map(|y| {
            let line: String = (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            line.find("#cause").map(|x| (x as u16, y))
        })
        .expect("the finding is shown");
    let style = buffer[(x, y)].style();
    assert!(style.add_modifier.contains(Modifier::REVERSED), "{style:?}");
    // ...and a plain `#2` is not a finding.
    let plain = screen
        .lines()
        .position(|line| line.contains("klaxon               ›"))
        .unwrap();
    let line: String = (0..buffer.area.width)
        .map(|x| buffer[(x, plain as u16)].symbol().to_string())
        .collect();
    let at = line.find("#2").unwrap() as u16;
    assert!(!buffer[(at, plain as u16)]
        .style()
        .add_modifier
        .contains(Modifier::REVERSED));
}

#[test]
fn escapes_in_messages_draw_as_harmless_symbols() {
    let mut state = showing(80, 30);
    let buffer = render(&mut state);
    let screen = text(&buffer);
    assert!(
        screen.contains("mallory              › ␛]0;pwned␇hi␛[2J there"),
        "{screen}"
    );
    for cell in buffer.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control()),
            "a control character reached the screen: {:?}",
            cell.symbol()
        );
    }
    // The same text typed into the composer is shown harmlessly too.
    key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE);
    update(&mut state, Message::Paste("\x1b]0;pwned\x07".to_string()));
    let buffer = render(&mut state);
    for cell in buffer.content() {
        assert!(!cell.symbol().chars().any(|c| c.is_control()));
    }
}

#[test]
fn channel_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let mut state = showing(80, 30);
        insta::assert_snapshot!("channel_80x30", text(&render(&mut state)));

        // Writing a three-line message: the composer grows, the keys are on its right.
        key(&mut state, KeyCode::Char('c'), KeyModifiers::NONE);
        typed(&mut state, "restarted pg");
        key(&mut state, KeyCode::Enter, KeyModifiers::ALT);
        typed(&mut state, "/var at 61%");
        key(&mut state, KeyCode::Enter, KeyModifiers::ALT);
        typed(&mut state, "#lesson alert on /var at 80%");
        insta::assert_snapshot!("channel_composing_80x30", text(&render(&mut state)));
    });
}
