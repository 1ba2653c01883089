//! Console benchmarks with 100,000 incidents (a plain `--release` binary, no harness):
//!
//! ```sh
//! cargo bench --bench tui_render                      # frame, filter keystroke, event, snapshot
//! cargo bench --bench tui_render -- populate DIR 100000   # fill a data dir for idle/RSS runs
//! ```
//!
//! Targets (issue 3): a frame of the queue at 120x40 in at most 2 ms; a filter keystroke
//! over 100,000 incidents in at most 10 ms.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use klaxon::client::Update;
use klaxon::tui::testing::{many, state};
use klaxon::tui::{update, view, Action, Message, State};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::Terminal;
use std::time::{Duration, Instant};

const INCIDENTS: u64 = 100_000;

struct Timings(Vec<Duration>);

impl Timings {
    fn report(mut self, what: &str, limit: Option<Duration>) {
        self.0.sort();
        let at = |fraction: f64| self.0[((self.0.len() - 1) as f64 * fraction) as usize];
        let verdict = match limit {
            Some(limit) if at(0.99) <= limit => format!("  (limit {limit:?}: ok)"),
            Some(limit) => format!("  (limit {limit:?}: OVER)"),
            None => String::new(),
        };
        println!(
            "{what:<52} median {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}  n={}{verdict}",
            at(0.5),
            at(0.99),
            self.0[self.0.len() - 1],
            self.0.len()
        );
    }
}

fn time(run: impl FnOnce()) -> Duration {
    let started = Instant::now();
    run();
    started.elapsed()
}

fn loaded() -> State {
    let mut state = state("default");
    update(
        &mut state,
        Message::Resize {
            width: 120,
            height: 40,
        },
    );
    update(
        &mut state,
        Message::Client(Update::Snapshot(many(INCIDENTS))),
    );
    state.settle();
    state
}

fn key(character: char) -> Message {
    Message::Key(KeyEvent::new(KeyCode::Char(character), KeyModifiers::NONE))
}

fn main() {
    let arguments: Vec<String> = std::env::args().collect();
    if let Some(at) = arguments.iter().position(|argument| argument == "populate") {
        let directory = arguments.get(at + 1).expect("populate DIR [COUNT]");
        let count = arguments
            .get(at + 2)
            .map_or(INCIDENTS, |count| count.parse().unwrap());
        populate(directory, count);
        return;
    }

    let snapshot = many(INCIDENTS);
    let mut timings = Vec::new();
    for _ in 0..5 {
        let mut state = state("default");
        let incidents = snapshot.clone();
        timings.push(time(|| {
            update(&mut state, Message::Client(Update::Snapshot(incidents)));
            state.settle();
        }));
    }
    Timings(timings).report("snapshot of 100,000 applied (sort + rows)", None);

    let mut state = loaded();
    let area = Rect::new(0, 0, 120, 40);
    let mut buffer = Buffer::empty(area);
    let frames: Vec<Duration> = (0..2_000)
        .map(|index| {
            // Move the selection so every frame differs a little, like a person scrolling.
            update(
                &mut state,
                Message::Intent(if index % 2 == 0 {
                    Action::SelectNext
                } else {
                    Action::SelectPrevious
                }),
            );
            time(|| {
                state.settle();
                buffer.reset();
                view::render(&state, area, &mut buffer);
            })
        })
        .collect();
    Timings(frames).report(
        "frame: queue of 100,000 at 120x40 into a Buffer",
        Some(Duration::from_millis(2)),
    );

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let frames: Vec<Duration> = (0..500)
        .map(|_| {
            let next_second = state.now + chrono::Duration::seconds(1);
            update(&mut state, Message::Tick(next_second));
            time(|| {
                state.settle();
                terminal.draw(|frame| view::draw(frame, &state)).unwrap();
            })
        })
        .collect();
    Timings(frames).report(
        "frame: tick, draw and diff through a Terminal",
        Some(Duration::from_millis(2)),
    );

    let mut state = loaded();
    update(&mut state, Message::Intent(Action::Filter));
    let mut keystrokes = Vec::new();
    for _ in 0..5 {
        for character in "sev:crit payments !node-9".chars() {
            keystrokes.push(time(|| {
                update(&mut state, key(character));
                state.settle();
            }));
        }
        for _ in 0.."sev:crit payments !node-9".len() {
            keystrokes.push(time(|| {
                update(
                    &mut state,
                    Message::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
                );
                state.settle();
            }));
        }
    }
    Timings(keystrokes).report(
        "filter keystroke over 100,000 (parse + rows)",
        Some(Duration::from_millis(10)),
    );

    let mut state = loaded();
    let mut changed = many(200);
    let events: Vec<Duration> = changed
        .iter_mut()
        .map(|incident| {
            incident.alert_count += 1;
            incident.severity = klaxon::domain::Severity::Critical;
            let message = Message::Client(Update::Incident {
                incident: incident.clone(),
                timeline: vec![],
                opened: false,
            });
            let mut message = Some(message);
            time(|| {
                update(&mut state, message.take().expect("run once"));
                state.settle();
            })
        })
        .collect();
    Timings(events).report("one incident changed (re-sorted) + rows", None);

    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!("peak memory of this benchmark (two states and copies of 100,000): {rss}");
}

/// Fills `directory` with `count` open incidents through the real engine and store.
fn populate(directory: &str, count: u64) {
    use klaxon::domain::{AlertEvent, Severity};
    use klaxon::engine::{IntegrationInfo, SystemClock};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let config = klaxon::config::load(&klaxon::config::LoadOptions {
            data_dir: Some(directory.into()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = klaxon::api::launch(&config, listener, std::sync::Arc::new(SystemClock))
            .await
            .unwrap();
        let integration = std::sync::Arc::new(IntegrationInfo {
            name: "generic".to_string(),
            service: None,
        });
        let started = Instant::now();
        let mut next = 0u64;
        while next < count {
            let events: Vec<AlertEvent> = (next..(next + 1_000).min(count))
                .map(|index| {
                    let severity = Severity::ALL[(index % 4) as usize];
                    let mut event = AlertEvent::firing(
                        &format!("bench-{index}"),
                        &format!("latency high on node-{index}"),
                        severity,
                    );
                    event.service = Some(
                        ["payments", "checkout", "search", "auth", "db"][(index % 5) as usize]
                            .to_string(),
                    );
                    event
                })
                .collect();
            next += events.len() as u64;
            running
                .engine
                .ingest(integration.clone(), events, None)
                .await
                .unwrap();
        }
        println!(
            "{count} incidents in {directory} in {:?}",
            started.elapsed()
        );
        running.stop().await;
    });
}
