//! `update(state, message) -> effects` without a terminal: navigation, actions and their
//! confirmations, prompts, `:` commands, the live filter, bells and highlights, resyncs.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use klaxon::client::{ClientError, Link, Update};
use klaxon::domain::matcher::Matcher;
use klaxon::domain::EscalationState;
use klaxon::domain::{Action as Domain, IncidentStatus, Severity};
use klaxon::protocol::SilenceView;
use klaxon::protocol::{IncidentDetail, TimelineView};
use klaxon::tui::keymap::Keymap;
use klaxon::tui::state::{Mode, Purpose, Screen, Sort, Subject, Tab};
use klaxon::tui::testing::{self, incident, now, state};
use klaxon::tui::update::{parse_silence, SilenceRequest};
use klaxon::tui::{update, Action, Effect, Message, State};

fn key(state: &mut State, code: KeyCode) -> Vec<Effect> {
    update(state, Message::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn press(state: &mut State, character: char) -> Vec<Effect> {
    let modifiers = if character.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    update(
        state,
        Message::Key(KeyEvent::new(KeyCode::Char(character), modifiers)),
    )
}

fn typed(state: &mut State, text: &str) {
    for character in text.chars() {
        press(state, character);
    }
}

fn intent(state: &mut State, action: Action) -> Vec<Effect> {
    update(state, Message::Intent(action))
}

fn command(state: &mut State, line: &str) -> Vec<Effect> {
    update(state, Message::Command(line.to_string()))
}

/// A connected state holding: #1 warning, #2 critical, #3 info, #4 error (older as ids grow).
fn loaded() -> State {
    let mut state = state("default");
    update(
        &mut state,
        Message::Resize {
            width: 120,
            height: 40,
        },
    );
    let incidents = vec![
        incident(1, Severity::Warning, "cpu hot"),
        incident(2, Severity::Critical, "disk full on db-1"),
        incident(3, Severity::Info, "certificate renews soon"),
        incident(4, Severity::Error, "checkout 5xx"),
    ];
    update(&mut state, Message::Client(Update::Snapshot(incidents)));
    state.settle();
    state
}

fn rows(state: &mut State) -> Vec<u64> {
    state.settle();
    state.visible().to_vec()
}

fn acts(effects: &[Effect]) -> Vec<(u64, Domain)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Act { id, action, .. } => Some((*id, action.clone())),
            _ => None,
        })
        .collect()
}

fn flash(state: &State) -> String {
    state
        .flash
        .as_ref()
        .map(|flash| flash.text.clone())
        .unwrap_or_default()
}

#[test]
fn the_queue_sorts_by_severity_then_newest_first_and_other_ways_on_request() {
    let mut state = loaded();
    assert_eq!(rows(&mut state), [2, 4, 1, 3]);
    assert_eq!(state.selected, Some(2));
    command(&mut state, "sort oldest");
    assert_eq!(rows(&mut state), [4, 3, 2, 1]);
    command(&mut state, "sort id");
    assert_eq!(rows(&mut state), [1, 2, 3, 4]);
    intent(&mut state, Action::CycleSort);
    assert_eq!(state.sort(), Sort::Status);
    command(&mut state, "sort nonsense");
    assert!(flash(&state).contains("severity, newest"));
}

#[test]
fn navigation_moves_and_clamps_and_the_selection_follows_its_incident() {
    let mut state = loaded();
    press(&mut state, 'j');
    assert_eq!(state.selected, Some(4));
    key(&mut state, KeyCode::Down);
    press(&mut state, 'k');
    assert_eq!(state.selected, Some(4));
    press(&mut state, 'G');
    assert_eq!(state.selected, Some(3));
    press(&mut state, 'j');
    assert_eq!(state.selected, Some(3), "stays at the bottom");
    press(&mut state, 'g');
    assert_eq!(state.selected, Some(2));
    press(&mut state, 'j');
    // A new critical incident lands above: the cursor stays on #4.
    let opened = Update::Incident {
        incident: incident(0, Severity::Critical, "new"),
        timeline: vec![],
        opened: true,
    };
    update(&mut state, Message::Client(opened));
    assert_eq!(rows(&mut state), [0, 2, 4, 1, 3]);
    assert_eq!(state.selected, Some(4));
    key(&mut state, KeyCode::PageDown);
    assert_eq!(state.selected, Some(3));
}

#[test]
fn acknowledge_acts_on_the_selection_and_read_only_refuses() {
    let mut state = loaded();
    let effects = press(&mut state, 'a');
    assert_eq!(acts(&effects), [(2, Domain::Acknowledge)]);
    assert_eq!(state.in_flight, 1);
    let mut answered = incident(2, Severity::Critical, "disk full on db-1");
    answered.status = IncidentStatus::Acknowledged;
    update(
        &mut state,
        Message::Acted {
            id: 2,
            what: "acknowledged",
            result: Ok(answered),
        },
    );
    assert_eq!(state.in_flight, 0);
    assert_eq!(
        state.incident(2).unwrap().status,
        IncidentStatus::Acknowledged
    );
    assert!(flash(&state).starts_with("#2 acknowledged"));

    let mut read_only = loaded();
    read_only.read_only = true;
    read_only.keymap = Keymap::default().read_only();
    assert!(press(&mut read_only, 'a').is_empty());
    assert!(intent(&mut read_only, Action::Acknowledge).is_empty());
    assert!(flash(&read_only).contains("read-only"));
    assert!(command(&mut read_only, "ack 2").is_empty());
    assert!(command(&mut read_only, "note 2 hello").is_empty());
}

#[test]
fn a_refused_action_is_shown_not_lost() {
    let mut state = loaded();
    press(&mut state, 'a');
    let refusal = ClientError::Disconnected("no link to http://x".to_string());
    update(
        &mut state,
        Message::Acted {
            id: 2,
            what: "acknowledged",
            result: Err(refusal),
        },
    );
    let shown = state.flash.clone().unwrap();
    assert!(shown.error);
    assert!(
        shown.text.contains("#2 not acknowledged: not connected"),
        "{}",
        shown.text
    );
}

#[test]
fn resolve_asks_first_and_only_y_goes_ahead() {
    let mut state = loaded();
    assert!(press(&mut state, 'r').is_empty());
    assert_eq!(
        state.mode,
        Mode::Confirm {
            action: Action::Resolve,
            subject: Subject::Incident(2)
        }
    );
    assert!(press(&mut state, 'n').is_empty());
    assert_eq!(state.mode, Mode::Normal);
    assert!(flash(&state).contains("cancelled"));
    press(&mut state, 'r');
    assert_eq!(acts(&press(&mut state, 'y')), [(2, Domain::Resolve)]);
    // Typed out in full: no question.
    assert_eq!(
        acts(&command(&mut state, "resolve 4")),
        [(4, Domain::Resolve)]
    );
    // Escalation asks too, and is the engine's escalate action.
    press(&mut state, 'e');
    assert_eq!(acts(&press(&mut state, 'y')), [(2, Domain::Escalate)]);
}

#[test]
fn annotate_opens_a_line_enter_sends_and_esc_cancels() {
    let mut state = loaded();
    press(&mut state, 'c');
    assert!(matches!(&state.mode, Mode::Input(input) if input.purpose == Purpose::Note(2)));
    typed(&mut state, "failing over to db-2");
    key(&mut state, KeyCode::Backspace);
    typed(&mut state, "2");
    let effects = key(&mut state, KeyCode::Enter);
    assert_eq!(
        acts(&effects),
        [(
            2,
            Domain::Note {
                text: "failing over to db-2".to_string()
            }
        )]
    );
    assert_eq!(state.mode, Mode::Normal);

    press(&mut state, 'c');
    typed(&mut state, "never mind");
    assert!(key(&mut state, KeyCode::Esc).is_empty());
    assert_eq!(state.mode, Mode::Normal);
    press(&mut state, 'c');
    assert!(
        key(&mut state, KeyCode::Enter).is_empty(),
        "an empty note is not sent"
    );
}

#[test]
fn prompts_edit_like_a_shell_line() {
    let mut state = loaded();
    press(&mut state, 'c');
    typed(&mut state, "hello wide world");
    update(
        &mut state,
        Message::Key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL)),
    );
    key(&mut state, KeyCode::Home);
    typed(&mut state, ">");
    update(&mut state, Message::Paste("pasted\ntext ".to_string()));
    let Mode::Input(input) = &state.mode else {
        panic!("prompt closed")
    };
    // A message keeps pasted lines; one-line prompts (below) get spaces.
    assert_eq!(input.text, ">pasted\ntext hello wide ");
    update(
        &mut state,
        Message::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    let Mode::Input(input) = &state.mode else {
        panic!("prompt closed")
    };
    assert_eq!(input.text, "hello wide ");
}

#[test]
fn snooze_takes_a_duration_and_reassign_a_name() {
    let mut state = loaded();
    press(&mut state, 's');
    typed(&mut state, "soon");
    assert!(key(&mut state, KeyCode::Enter).is_empty());
    assert!(state.flash.as_ref().unwrap().error);
    assert!(
        matches!(state.mode, Mode::Input(_)),
        "the prompt stays open to fix it"
    );
    update(
        &mut state,
        Message::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)),
    );
    typed(&mut state, "30m");
    let until = now() + Duration::minutes(30);
    assert_eq!(
        acts(&key(&mut state, KeyCode::Enter)),
        [(2, Domain::Snooze { until })]
    );

    press(&mut state, 'A');
    typed(&mut state, "bob");
    assert_eq!(
        acts(&key(&mut state, KeyCode::Enter)),
        [(
            2,
            Domain::Reassign {
                to: "bob".to_string()
            }
        )]
    );
    assert_eq!(
        acts(&command(&mut state, "snooze 4 2h")),
        [(
            4,
            Domain::Snooze {
                until: now() + Duration::hours(2)
            }
        )]
    );
    assert_eq!(
        acts(&command(&mut state, "reassign #4 carol")),
        [(
            4,
            Domain::Reassign {
                to: "carol".to_string()
            }
        )]
    );
}

#[test]
fn commands_share_the_action_vocabulary() {
    let mut state = loaded();
    assert_eq!(
        acts(&command(&mut state, "ack 42")),
        [(42, Domain::Acknowledge)]
    );
    assert_eq!(
        acts(&command(&mut state, ":acknowledge")),
        [(2, Domain::Acknowledge)]
    );
    assert_eq!(
        acts(&command(&mut state, "note 42 on it, eta 10m")),
        [(
            42,
            Domain::Note {
                text: "on it, eta 10m".to_string()
            }
        )]
    );
    assert_eq!(command(&mut state, "q"), [Effect::Quit]);
    assert_eq!(command(&mut state, "quit"), [Effect::Quit]);
    assert_eq!(
        command(&mut state, "theme mono"),
        [Effect::LoadTheme("mono".to_string())]
    );
    assert_eq!(
        command(&mut state, "open 3"),
        [Effect::LoadDetail(3), Effect::Viewing(Some(3))]
    );
    assert!(matches!(&state.screen, Screen::Detail(detail) if detail.id == 3));
    command(&mut state, "back");
    assert_eq!(state.screen, Screen::Queue);
    command(&mut state, "help");
    assert_eq!(state.mode, Mode::Help { scroll: 0 });
    press(&mut state, 'x');
    assert_eq!(state.mode, Mode::Normal);
    command(&mut state, "tab resolved");
    assert_eq!(state.tab, Tab::Resolved);
    command(&mut state, "filter sev:crit");
    command(&mut state, "tab all");
    assert_eq!(rows(&mut state), [2]);
    command(&mut state, "acknowlege");
    assert!(
        flash(&state).contains("did you mean acknowledge?"),
        "{}",
        flash(&state)
    );
    command(&mut state, "bell off");
    assert!(!state.bell);
    assert_eq!(command(&mut state, "mouse on"), [Effect::SetMouse(true)]);
    // The command line itself: `:` then enter.
    press(&mut state, ':');
    typed(&mut state, "ack 7");
    assert_eq!(
        acts(&key(&mut state, KeyCode::Enter)),
        [(7, Domain::Acknowledge)]
    );
}

#[test]
fn the_filter_is_live_and_esc_puts_the_old_one_back() {
    let mut state = loaded();
    press(&mut state, '/');
    typed(&mut state, "sev:crit,err");
    assert_eq!(rows(&mut state), [2, 4]);
    typed(&mut state, " !disk");
    assert_eq!(rows(&mut state), [4]);
    key(&mut state, KeyCode::Enter);
    assert_eq!(state.filter_text, "sev:crit,err !disk");
    press(&mut state, '/');
    typed(&mut state, " zzz");
    assert!(rows(&mut state).is_empty());
    key(&mut state, KeyCode::Esc);
    assert_eq!(rows(&mut state), [4]);
    // Esc in the queue clears the filter.
    key(&mut state, KeyCode::Esc);
    assert_eq!(rows(&mut state), [2, 4, 1, 3]);
}

#[test]
fn tabs_split_by_status() {
    let mut state = loaded();
    let mut acked = incident(1, Severity::Warning, "cpu hot");
    acked.status = IncidentStatus::Acknowledged;
    let mut resolved = incident(3, Severity::Info, "certificate renews soon");
    resolved.status = IncidentStatus::Resolved;
    for incident in [acked, resolved] {
        update(
            &mut state,
            Message::Client(Update::Incident {
                incident,
                timeline: vec![],
                opened: false,
            }),
        );
    }
    assert_eq!(rows(&mut state), [2, 4, 1]);
    press(&mut state, '\t');
    key(&mut state, KeyCode::Tab);
    assert_eq!(state.tab, Tab::Triggered);
    assert_eq!(rows(&mut state), [2, 4]);
    key(&mut state, KeyCode::Tab);
    assert_eq!(rows(&mut state), [1]);
    key(&mut state, KeyCode::Tab);
    assert_eq!(rows(&mut state), [3]);
    key(&mut state, KeyCode::Tab);
    assert_eq!(rows(&mut state), [2, 4, 1, 3]);
    assert_eq!(state.tab_count(Tab::Open), 3);
    key(&mut state, KeyCode::BackTab);
    assert_eq!(state.tab, Tab::Resolved);
}

#[test]
fn new_alarming_incidents_ring_once_and_stay_marked_until_seen() {
    let mut state = loaded();
    assert!(state.unseen.is_empty(), "the first snapshot is not news");
    let opened = |id, severity| {
        Message::Client(Update::Incident {
            incident: incident(id, severity, "x"),
            timeline: vec![],
            opened: true,
        })
    };
    assert_eq!(
        update(&mut state, opened(10, Severity::Critical)),
        [Effect::Bell]
    );
    assert!(
        update(&mut state, opened(11, Severity::Warning)).is_empty(),
        "warnings do not ring"
    );
    assert!(state.unseen.contains(&10) && !state.unseen.contains(&11));
    // A change to it is not a second bell.
    let changed = Message::Client(Update::Incident {
        incident: incident(10, Severity::Critical, "x"),
        timeline: vec![],
        opened: false,
    });
    assert!(update(&mut state, changed).is_empty());
    assert!(state.unseen.contains(&10));
    press(&mut state, 'g');
    assert_eq!(state.selected, Some(2), "10 is older than 2, below it");
    press(&mut state, 'j');
    assert_eq!(state.selected, Some(10));
    assert!(!state.unseen.contains(&10), "seen once selected");
    command(&mut state, "bell off");
    assert!(update(&mut state, opened(12, Severity::Error)).is_empty());
    assert!(state.unseen.contains(&12), "still marked without the bell");
}

#[test]
fn a_resync_replaces_everything_without_duplicates_and_flags_what_was_missed() {
    let mut state = loaded();
    update(
        &mut state,
        Message::Client(Update::Link(Link::Retrying {
            retry_at: now(),
            attempt: 1,
            reason: "gone".to_string(),
        })),
    );
    let mut again = vec![
        incident(1, Severity::Warning, "cpu hot"),
        incident(2, Severity::Critical, "disk full on db-1"),
        incident(4, Severity::Error, "checkout 5xx"),
        incident(5, Severity::Critical, "opened while away"),
    ];
    again[0].alert_count = 3;
    let effects = update(&mut state, Message::Client(Update::Snapshot(again)));
    assert_eq!(effects, [Effect::Bell]);
    assert_eq!(rows(&mut state), [2, 5, 4, 1]);
    assert_eq!(state.len(), 4);
    assert_eq!(state.incident(1).unwrap().alert_count, 3);
    assert!(state.unseen.contains(&5));
    let effects = update(&mut state, Message::Client(Update::Link(Link::Connected)));
    assert_eq!(effects, [Effect::LoadIntegrations]);
}

#[test]
fn the_detail_shows_one_incident_and_grows_its_timeline_live() {
    let mut state = loaded();
    let effects = key(&mut state, KeyCode::Enter);
    assert_eq!(effects, [Effect::LoadDetail(2), Effect::Viewing(Some(2))]);
    let entry = |seq: u32, text: &str| TimelineView {
        seq,
        at: now(),
        actor: klaxon::domain::Actor::User("admin".to_string()),
        kind: klaxon::domain::TimelineKind::Note {
            text: text.to_string(),
        },
        description: text.to_string(),
    };
    let detail = IncidentDetail {
        incident: incident(2, Severity::Critical, "disk full on db-1"),
        alerts: vec![],
        timeline: vec![entry(0, "first"), entry(1, "second")],
    };
    // One entry arrives live before the load answers; the load did not see it.
    let early = Update::Incident {
        incident: incident(2, Severity::Critical, "disk full on db-1"),
        timeline: vec![entry(1, "second"), entry(3, "early")],
        opened: false,
    };
    update(&mut state, Message::Client(early));
    update(
        &mut state,
        Message::DetailLoaded {
            id: 2,
            result: Ok(detail),
        },
    );
    // The event for the second entry arrives after the load: it is not repeated.
    for timeline in [
        vec![entry(1, "second")],
        vec![entry(3, "early"), entry(4, "later")],
    ] {
        let changed = Update::Incident {
            incident: incident(2, Severity::Critical, "disk full on db-1"),
            timeline,
            opened: false,
        };
        update(&mut state, Message::Client(changed));
    }
    let Screen::Detail(detail) = &state.screen else {
        panic!("left the detail")
    };
    let seqs: Vec<u32> = detail
        .detail
        .as_ref()
        .unwrap()
        .timeline
        .iter()
        .map(|entry| entry.seq)
        .collect();
    assert_eq!(seqs, [0, 1, 3, 4]);
    // Actions apply to the incident shown; j scrolls, as far as there is more to see.
    assert_eq!(acts(&press(&mut state, 'a')), [(2, Domain::Acknowledge)]);
    press(&mut state, 'j');
    assert!(matches!(&state.screen, Screen::Detail(detail) if detail.scroll == 0));
    update(
        &mut state,
        Message::Resize {
            width: 120,
            height: 10,
        },
    );
    press(&mut state, 'G');
    let Screen::Detail(detail) = &state.screen else {
        panic!("left the detail")
    };
    let last = detail.scroll;
    assert!(last > 0);
    press(&mut state, 'j');
    assert!(matches!(&state.screen, Screen::Detail(detail) if detail.scroll == last));
    press(&mut state, 'g');
    press(&mut state, 'j');
    assert!(matches!(&state.screen, Screen::Detail(detail) if detail.scroll == 1));
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Queue);
}

#[test]
fn quit_suspend_and_redraw_are_effects() {
    let mut state = loaded();
    assert_eq!(press(&mut state, 'q'), [Effect::Quit]);
    let ctrl = |character| {
        Message::Key(KeyEvent::new(
            KeyCode::Char(character),
            KeyModifiers::CONTROL,
        ))
    };
    assert_eq!(update(&mut state, ctrl('c')), [Effect::Quit]);
    assert_eq!(update(&mut state, ctrl('z')), [Effect::Suspend]);
    assert_eq!(update(&mut state, ctrl('l')), [Effect::Redraw]);
    assert!(press(&mut state, 'Z').is_empty());
    assert!(flash(&state).contains("Z does nothing here"));
}

#[test]
fn ticks_expire_messages_and_mouse_clicks_select_rows() {
    let mut state = loaded();
    command(&mut state, "sort id");
    assert!(state.flash.is_some());
    update(&mut state, Message::Tick(now() + Duration::seconds(6)));
    assert!(state.flash.is_none());
    update(&mut state, Message::Click { row: 4 });
    assert_eq!(
        state.selected,
        Some(3),
        "row 4 is the third incident under the tab and header lines"
    );
    update(&mut state, Message::Scroll(-3));
    assert_eq!(state.selected, Some(1));
}

#[test]
fn help_scrolls_to_its_end_and_no_further() {
    let mut state = loaded();
    update(
        &mut state,
        Message::Resize {
            width: 80,
            height: 24,
        },
    );
    press(&mut state, '?');
    press(&mut state, 'G');
    let Mode::Help { scroll: last } = state.mode else {
        panic!("help closed")
    };
    assert!(last > 0, "the help is longer than 24 rows");
    press(&mut state, 'j');
    assert_eq!(state.mode, Mode::Help { scroll: last });
    press(&mut state, 'k');
    assert_eq!(state.mode, Mode::Help { scroll: last - 1 });
    press(&mut state, 'g');
    assert_eq!(state.mode, Mode::Help { scroll: 0 });
    press(&mut state, 'x');
    assert_eq!(state.mode, Mode::Normal);
}

fn matchers(texts: &[&str]) -> Vec<Matcher> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

fn prompt(state: &State) -> Option<(Purpose, String)> {
    match &state.mode {
        Mode::Input(input) => Some((input.purpose.clone(), input.text.clone())),
        _ => None,
    }
}

#[test]
fn the_silence_parser_takes_matchers_then_a_duration_then_a_comment() {
    assert_eq!(
        parse_silence("sev=warning svc=batch 2h nightly  batch run ").unwrap(),
        SilenceRequest {
            matchers: matchers(&["severity=warning", "service=batch"]),
            duration: std::time::Duration::from_secs(7_200),
            comment: "nightly  batch run".to_string(),
        }
    );
    let request = parse_silence("env=~prod|staging team!=db 1d30m").unwrap();
    assert_eq!(
        request.matchers,
        matchers(&["env=~prod|staging", "team!=db"])
    );
    assert_eq!(request.duration, std::time::Duration::from_secs(88_200));
    assert_eq!(request.comment, "");
    for (text, expected) in [
        ("sev=warning", "how long? put a duration such as 2h"),
        ("", "needs a matcher first"),
        ("2h deploy", "needs a matcher first"),
        ("batch 2h", "\"batch\" is not a matcher"),
        ("sev=loud 2h", "\"loud\" is not a severity"),
        ("=x 2h", "has no name"),
        ("svc=x 2x", "\"2x\" is not a duration like 30m"),
        ("svc=x 0s", "more than nothing and at most a year"),
        ("svc=x 400d", "more than nothing and at most a year"),
    ] {
        let error = parse_silence(text).unwrap_err();
        assert!(error.contains(expected), "{text:?}: {error}");
    }
    // A bad regular expression is explained on one line.
    let error = parse_silence("env=~(prod 2h").unwrap_err();
    assert!(
        !error.contains('\n') && error.contains("unclosed group"),
        "{error}"
    );
}

#[test]
fn silence_commands_send_good_input_and_keep_bad_input_for_correction() {
    let mut state = loaded();
    let effects = command(&mut state, "silence svc=batch sev=warning 2h nightly run");
    assert_eq!(
        effects,
        [Effect::AddSilence(SilenceRequest {
            matchers: matchers(&["service=batch", "severity=warning"]),
            duration: std::time::Duration::from_secs(7_200),
            comment: "nightly run".to_string(),
        })]
    );
    assert_eq!(state.in_flight, 1);
    // The mistake is in the status line, and what was typed stays to be put right.
    assert!(command(&mut state, "silence svc=batch").is_empty());
    assert!(flash(&state).contains("how long?"), "{}", flash(&state));
    assert!(state.flash.as_ref().unwrap().error);
    assert_eq!(
        prompt(&state),
        Some((Purpose::Silence, "svc=batch".to_string()))
    );
    typed(&mut state, " 30m");
    let effects = key(&mut state, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::AddSilence(request)] if request.duration.as_secs() == 1_800)
    );
    // `:silence` alone opens the prompt.
    command(&mut state, "silence");
    assert!(matches!(prompt(&state), Some((Purpose::Silence, _))));
}

#[test]
fn m_offers_the_selected_incidents_service_and_the_answer_is_shown() {
    let mut state = state("default");
    let mut db = incident(1, Severity::Critical, "disk full");
    db.service = Some("database".to_string());
    update(&mut state, Message::Client(Update::Snapshot(vec![db])));
    state.settle();
    assert!(press(&mut state, 'm').is_empty());
    assert_eq!(
        prompt(&state),
        Some((Purpose::Silence, "service=database ".to_string()))
    );
    typed(&mut state, "1h failover");
    let effects = key(&mut state, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::AddSilence(request)]
        if request.matchers == matchers(&["service=database"]) && request.comment == "failover"));
    let added = testing::silences()
        .into_iter()
        .find(|silence| silence.id == "12")
        .unwrap();
    update(&mut state, Message::SilenceAdded(Ok(added)));
    assert_eq!(state.in_flight, 0);
    assert_eq!(
        flash(&state),
        "silence 12 added: service=batch severity=warning until 13:59:00"
    );
    let refused = ClientError::Refused {
        code: "forbidden".to_string(),
        message: "vic is a viewer and cannot add silences".to_string(),
    };
    update(&mut state, Message::SilenceAdded(Err(refused)));
    assert_eq!(
        flash(&state),
        "silence not added: vic is a viewer and cannot add silences"
    );
}

fn silences_shown() -> State {
    let mut state = loaded();
    assert_eq!(press(&mut state, 'M'), [Effect::LoadSilences]);
    update(&mut state, Message::SilencesLoaded(Ok(testing::silences())));
    state
}

fn silence_ids(state: &State) -> Vec<String> {
    match &state.screen {
        Screen::Silences(view) => view
            .silences
            .value
            .iter()
            .flatten()
            .map(|silence: &SilenceView| silence.id.clone())
            .collect(),
        other => panic!("not the silences: {other:?}"),
    }
}

fn selected_silence(state: &State) -> Option<String> {
    match &state.screen {
        Screen::Silences(view) => view.selected().map(|silence| silence.id.clone()),
        _ => None,
    }
}

#[test]
fn the_silences_view_lists_what_matters_first_and_expires_after_asking() {
    let mut state = silences_shown();
    // Active ones first, soonest to end first; then pending; then expired.
    assert_eq!(silence_ids(&state), ["db-maintenance", "12", "15", "9"]);
    assert_eq!(selected_silence(&state).as_deref(), Some("db-maintenance"));
    press(&mut state, 'j');
    press(&mut state, 'G');
    press(&mut state, 'j');
    assert_eq!(selected_silence(&state).as_deref(), Some("9"));
    press(&mut state, 'g');
    press(&mut state, 'j');
    assert_eq!(selected_silence(&state).as_deref(), Some("12"));

    assert!(press(&mut state, 'X').is_empty());
    assert_eq!(
        state.mode,
        Mode::Confirm {
            action: Action::ExpireSilence,
            subject: Subject::Silence("12".to_string())
        }
    );
    assert!(press(&mut state, 'n').is_empty());
    assert_eq!(flash(&state), "silence 12: expire_silence cancelled");
    press(&mut state, 'X');
    assert_eq!(
        press(&mut state, 'y'),
        [Effect::ExpireSilence("12".to_string())]
    );
    assert_eq!(state.in_flight, 1);
    let mut expired = testing::silences()[2].clone();
    expired.state = "expired".to_string();
    let effects = update(
        &mut state,
        Message::SilenceExpired {
            id: "12".to_string(),
            result: Ok(expired),
        },
    );
    assert_eq!(effects, [Effect::LoadSilences], "the list is fetched again");
    assert!(flash(&state).contains("silence 12 expired"));
    // A new list keeps the selection on its silence.
    let mut reordered = testing::silences();
    reordered.retain(|silence| silence.id != "db-maintenance");
    update(&mut state, Message::SilencesLoaded(Ok(reordered)));
    assert_eq!(selected_silence(&state).as_deref(), Some("12"));
    // A refusal is shown, not lost.
    let refused = ClientError::Refused {
        code: "conflict".to_string(),
        message: "silence db-maintenance is a maintenance window in the configuration file; change it there".to_string(),
    };
    update(
        &mut state,
        Message::SilenceExpired {
            id: "db-maintenance".to_string(),
            result: Err(refused),
        },
    );
    assert!(flash(&state).starts_with(
        "silence db-maintenance not expired: silence db-maintenance is a maintenance window"
    ));
    // Typed out in full: no question.
    assert_eq!(
        command(&mut state, "expire 15"),
        [Effect::ExpireSilence("15".to_string())]
    );
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Queue);
    assert!(press(&mut state, 'X').is_empty());
    assert!(
        flash(&state).contains("no silence selected"),
        "{}",
        flash(&state)
    );
}

#[test]
fn read_only_removes_silence_changes_but_not_looking() {
    let mut state = silences_shown();
    state.read_only = true;
    state.keymap = Keymap::default().read_only();
    assert!(press(&mut state, 'X').is_empty());
    assert_eq!(state.mode, Mode::Normal);
    assert!(command(&mut state, "expire 12").is_empty());
    assert!(command(&mut state, "silence svc=x 2h").is_empty());
    assert!(flash(&state).contains("read-only"), "{}", flash(&state));
    assert!(command(&mut state, "silence").is_empty());
    assert_eq!(state.mode, Mode::Normal);
    assert_eq!(command(&mut state, "refresh"), [Effect::LoadSilences]);
    assert_eq!(command(&mut state, "oncall"), [Effect::LoadOnCall]);
}

#[test]
fn the_oncall_view_fetches_when_opened_then_each_minute_or_when_a_shift_ends() {
    let mut state = loaded();
    assert_eq!(press(&mut state, 'O'), [Effect::LoadOnCall]);
    assert!(matches!(state.screen, Screen::OnCall(_)));
    assert!(press(&mut state, 'O').is_empty(), "already shown");
    let tick = |state: &mut State, seconds: i64| {
        update(state, Message::Tick(now() + Duration::seconds(seconds)))
    };
    // While the first fetch is under way, no second one.
    assert!(tick(&mut state, 1).is_empty());
    let ctrl_r = Message::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    assert!(update(&mut state, ctrl_r.clone()).is_empty());
    update(&mut state, Message::OnCallLoaded(Ok(testing::oncall())));
    for second in 2..60 {
        assert!(
            tick(&mut state, second).is_empty(),
            "fetched again at {second}s"
        );
    }
    // A minute after the answer (which came at 1s).
    assert_eq!(tick(&mut state, 61), [Effect::LoadOnCall]);
    assert!(tick(&mut state, 62).is_empty());
    update(&mut state, Message::OnCallLoaded(Ok(testing::oncall())));
    assert_eq!(update(&mut state, ctrl_r), [Effect::LoadOnCall]);
    let failed = ClientError::Disconnected("no link".to_string());
    update(&mut state, Message::OnCallLoaded(Err(failed)));
    let Screen::OnCall(oncall) = &state.screen else {
        panic!("left the on-call view")
    };
    assert_eq!(
        oncall.value,
        Some(testing::oncall()),
        "what was known stays"
    );
    assert!(oncall.error.as_deref().unwrap().contains("not connected"));
    // A shift ending (dave's, in New York, in 30 s) fetches at once, not after the minute.
    let mut state = loaded();
    press(&mut state, 'O');
    let mut schedules = testing::oncall();
    schedules[1].now.as_mut().unwrap().end = now() + Duration::seconds(30);
    update(&mut state, Message::OnCallLoaded(Ok(schedules)));
    assert!(tick(&mut state, 29).is_empty());
    assert_eq!(tick(&mut state, 30), [Effect::LoadOnCall]);
    // A resync after the link was down fetches too.
    update(&mut state, Message::OnCallLoaded(Ok(testing::oncall())));
    let effects = update(&mut state, Message::Client(Update::Snapshot(vec![])));
    assert_eq!(effects, [Effect::LoadOnCall]);
    key(&mut state, KeyCode::Esc);
    assert_eq!(state.screen, Screen::Queue);
}

#[test]
fn escalate_now_is_the_engines_action_and_its_answer_or_refusal_is_shown() {
    let mut state = loaded();
    assert!(press(&mut state, 'e').is_empty());
    assert_eq!(acts(&press(&mut state, 'y')), [(2, Domain::Escalate)]);
    assert_eq!(state.in_flight, 1);
    let mut escalated = incident(2, Severity::Critical, "disk full on db-1");
    escalated.escalation = EscalationState {
        policy: Some("ops".to_string()),
        level: 2,
        next_at: Some(now() + Duration::minutes(15)),
        ..EscalationState::default()
    };
    update(
        &mut state,
        Message::Acted {
            id: 2,
            what: "escalated",
            result: Ok(escalated),
        },
    );
    assert_eq!(flash(&state), "#2 escalated: level 2 of ops paged");
    for message in [
        "incident 2 has no escalation policy",
        "incident 2 is silenced: nobody is paged while the silence holds",
        "escalation policy \"ops\" of incident 2 has no further level",
    ] {
        command(&mut state, "escalate 2");
        let refused = ClientError::Refused {
            code: "conflict".to_string(),
            message: message.to_string(),
        };
        update(
            &mut state,
            Message::Acted {
                id: 2,
                what: "escalated",
                result: Err(refused),
            },
        );
        assert_eq!(flash(&state), format!("#2 not escalated: {message}"));
        assert!(state.flash.as_ref().unwrap().error);
    }
    assert_eq!(state.in_flight, 0);
}
