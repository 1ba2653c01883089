//! The frame around the content: the tab line, the status bar (link, counts, user,
//! messages) and the bottom line (hints generated from the keymap, or the open prompt).

use crate::client::Link;
use crate::domain::Severity;
use crate::tui::action::Action;
use crate::tui::state::{Input, Mode, Purpose, Screen, State, Subject, Tab};
use crate::tui::text::{countdown, sanitize};
use crate::tui::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

pub fn tabs(state: &State, area: Rect, buffer: &mut Buffer) {
    let theme = &state.theme;
    let mut spans = vec![Span::styled(" klaxon ", theme.style(Role::Title))];
    for tab in Tab::ALL {
        let style = if tab == state.tab {
            theme.style(Role::TabActive)
        } else {
            theme.style(Role::Tab)
        };
        // Narrow screens get short names, leaving room for the filter on the right.
        let name = if area.width < 100 {
            tab.short_name()
        } else {
            tab.name()
        };
        let text = if state.synced {
            format!(" {name} {} ", state.tab_count(tab))
        } else {
            format!(" {name} ")
        };
        spans.push(Span::raw(" "));
        spans.push(Span::styled(text, style));
    }
    let left = Line::from(spans);
    let left_width = left.width() as u16;
    left.render(area, buffer);
    let sort = format!("sort: {} ", state.sort().name());
    let mut candidates = vec![sort.clone()];
    if !state.filter_text.is_empty() {
        // The filter matters more than the sort when both do not fit.
        let filter = format!("/{} ", sanitize(&state.filter_text));
        candidates = vec![format!("{filter} {sort}"), filter];
    }
    let style = if state.filter_text.is_empty() {
        theme.style(Role::Muted)
    } else {
        theme.style(Role::Label)
    };
    for right in candidates {
        let width = unicode_width::UnicodeWidthStr::width(right.as_str()) as u16;
        if area.width > left_width + width + 1 {
            buffer.set_string(area.x + area.width - width, area.y, right, style);
            break;
        }
    }
}

/// The status bar's text as spans (also used by tests).
pub fn status_line(state: &State) -> Line<'static> {
    let theme = &state.theme;
    let bar = theme.style(Role::StatusBar);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let link = match &state.link {
        Link::Connected => Span::styled(" ● live ", theme.style(Role::LinkUp)),
        Link::Connecting { attempt: 1 } => {
            Span::styled(" … connecting ", theme.style(Role::LinkDown))
        }
        Link::Connecting { attempt } => Span::styled(
            format!(" … connecting (attempt {attempt}) "),
            theme.style(Role::LinkDown),
        ),
        Link::Retrying {
            retry_at,
            attempt,
            reason,
        } => Span::styled(
            format!(
                " ✕ link down: {} · retry in {} (attempt {attempt}) ",
                sanitize(reason),
                countdown(*retry_at, state.now)
            ),
            theme.style(Role::LinkDown),
        ),
        Link::Stopped { reason } => Span::styled(
            format!(" ✕ {} ", sanitize(reason)),
            theme.style(Role::LinkDown),
        ),
    };
    spans.push(link);
    let address = state.endpoint.address.trim_start_matches("http://");
    let place = if state.endpoint.embedded {
        format!(" engine {address} ")
    } else {
        format!(" {address} ")
    };
    spans.push(Span::styled(place, bar));
    for severity in Severity::ALL {
        spans.push(Span::styled(" ", bar));
        spans.push(Span::styled(
            format!("{} {}", severity.label(), state.open_by_severity(severity)),
            theme
                .severity(severity)
                .patch(if state.open_by_severity(severity) == 0 {
                    theme.style(Role::Muted)
                } else {
                    Style::default()
                }),
        ));
    }
    spans.push(Span::styled(format!("  as {} ", state.endpoint.user), bar));
    if state.read_only {
        spans.push(Span::styled(" read-only ", theme.style(Role::Label)));
    }
    if state.in_flight > 0 {
        spans.push(Span::styled(" sending… ", theme.style(Role::Muted)));
    }
    Line::from(spans)
}

pub fn status(state: &State, area: Rect, buffer: &mut Buffer) {
    buffer.set_style(area, state.theme.style(Role::StatusBar));
    // A prompt holds the bottom line, where messages go: one that went wrong (a bad
    // `:silence`, say, left open to be put right) says why here meanwhile.
    if let (Mode::Input(_), Some(flash)) = (&state.mode, &state.flash) {
        if flash.error {
            Line::styled(
                format!(" {}", sanitize(&flash.text)),
                state.theme.style(Role::MessageError),
            )
            .render(area, buffer);
            return;
        }
    }
    status_line(state).render(area, buffer);
}

/// The hint line: the main actions with their first key, from the keymap.
pub fn hint_line(state: &State) -> Line<'static> {
    let theme = &state.theme;
    let actions: &[Action] = match state.screen {
        Screen::Queue => &[
            Action::SelectNext,
            Action::OpenDetail,
            Action::Acknowledge,
            Action::Annotate,
            Action::Resolve,
            Action::Snooze,
            Action::Filter,
            Action::NextTab,
            Action::CommandLine,
            Action::Help,
            Action::Quit,
        ],
        Screen::Detail(_) => &[
            Action::Back,
            Action::SelectNext,
            Action::Acknowledge,
            Action::Annotate,
            Action::Resolve,
            Action::Snooze,
            Action::Reassign,
            Action::Escalate,
            Action::Help,
            Action::Quit,
        ],
        Screen::OnCall(_) => &[
            Action::Back,
            Action::SelectNext,
            Action::Refresh,
            Action::ShowSilences,
            Action::Help,
            Action::Quit,
        ],
        Screen::Silences(_) => &[
            Action::Back,
            Action::SelectNext,
            Action::AddSilence,
            Action::ExpireSilence,
            Action::Refresh,
            Action::ShowOnCall,
            Action::Help,
            Action::Quit,
        ],
    };
    let mut items: Vec<(String, String)> = Vec::new();
    for action in actions {
        let Some(key) = state.keymap.keys(*action).first() else {
            continue;
        };
        let mut keys = key.to_string();
        if *action == Action::SelectNext {
            match (
                &state.screen,
                state.keymap.keys(Action::SelectPrevious).first(),
            ) {
                (Screen::Queue | Screen::Silences(_), Some(up)) => keys = format!("{key}/{up}"),
                (Screen::Detail(_) | Screen::OnCall(_), Some(up)) => {
                    keys = format!("{key}/{up} scroll")
                }
                _ => {}
            }
        }
        let scrolls = matches!(state.screen, Screen::Detail(_) | Screen::OnCall(_));
        let label = if *action == Action::SelectNext && scrolls {
            String::new()
        } else {
            format!(" {}", action.hint())
        };
        items.push((keys, format!("{label}  ")));
    }
    // Too wide: drop hints from the middle, keeping help and quit at the end.
    let width = |items: &[(String, String)]| -> usize {
        1 + items
            .iter()
            .map(|(keys, label)| keys.chars().count() + label.chars().count())
            .sum::<usize>()
    };
    while width(&items) > state.width as usize && items.len() > 2 {
        items.remove(items.len() - 3);
    }
    let mut spans = vec![Span::raw(" ")];
    for (keys, label) in items {
        spans.push(Span::styled(keys, theme.style(Role::HintKey)));
        spans.push(Span::styled(label, theme.style(Role::Hint)));
    }
    Line::from(spans)
}

pub fn bottom(state: &State, area: Rect, buffer: &mut Buffer) {
    let theme = &state.theme;
    match &state.mode {
        Mode::Input(input) => composer(state, input, area, buffer),
        Mode::Confirm { action, subject } => {
            let what = match subject {
                Subject::Incident(id) => {
                    let title = state
                        .incident(*id)
                        .map(|incident| sanitize(&incident.title).into_owned())
                        .unwrap_or_default();
                    format!("{} #{id} {title}", action.name())
                }
                Subject::Silence(id) => {
                    let matchers = match &state.screen {
                        Screen::Silences(view) => view
                            .selected()
                            .filter(|silence| silence.id == *id)
                            .map(|silence| format!(" ({})", silence.matchers.join(" "))),
                        _ => None,
                    };
                    format!(
                        "expire silence {}{}",
                        sanitize(id),
                        sanitize(&matchers.unwrap_or_default())
                    )
                }
            };
            Line::from(vec![
                Span::styled(format!("{what}? "), theme.style(Role::Prompt)),
                Span::styled("y", theme.style(Role::HintKey)),
                Span::styled(" yes  ", theme.style(Role::Hint)),
                Span::styled("n", theme.style(Role::HintKey)),
                Span::styled(" no", theme.style(Role::Hint)),
            ])
            .render(area, buffer);
        }
        _ => match &state.flash {
            // Messages take the hint line for a few seconds, like vim's message line.
            Some(flash) => {
                let role = if flash.error {
                    Role::MessageError
                } else {
                    Role::Message
                };
                Line::styled(format!(" {}", sanitize(&flash.text)), theme.style(role))
                    .render(area, buffer);
            }
            None => hint_line(state).render(area, buffer),
        },
    }
}

/// The first line of a message shown in `rows` rows: the cursor's line stays in view.
pub fn composer_first_line(input: &Input, rows: usize) -> usize {
    let (line, _) = input.cursor_line();
    line.saturating_sub(rows.max(1) - 1)
}

/// An open prompt: one line, or for a message its lines as typed (each drawn harmlessly),
/// with the keys that send, break the line and cancel on the right when there is room.
fn composer(state: &State, input: &Input, area: Rect, buffer: &mut Buffer) {
    let theme = &state.theme;
    let prompt = input.prompt();
    let indent = " ".repeat(unicode_width::UnicodeWidthStr::width(prompt.as_str()));
    let rows = area.height as usize;
    let first = composer_first_line(input, rows);
    for (row, (index, text)) in input
        .text
        .split('\n')
        .enumerate()
        .skip(first)
        .take(rows)
        .enumerate()
    {
        let lead = if index == 0 {
            Span::styled(prompt.clone(), theme.style(Role::Prompt))
        } else {
            Span::raw(indent.clone())
        };
        let line = Line::from(vec![lead, Span::raw(sanitize(text).into_owned())]);
        let line_area = Rect {
            y: area.y + row as u16,
            height: 1,
            ..area
        };
        let width = line.width();
        line.render(line_area, buffer);
        if row == 0 && matches!(input.purpose, Purpose::Note(_)) {
            let new_line = state
                .keymap
                .keys(Action::NewLine)
                .first()
                .map_or(String::new(), |key| format!(" · {key} new line"));
            let hint = format!("enter sends{new_line} · esc cancels ");
            let hint_width = unicode_width::UnicodeWidthStr::width(hint.as_str());
            if width + hint_width + 2 <= area.width as usize {
                buffer.set_string(
                    area.x + area.width - hint_width as u16,
                    line_area.y,
                    hint,
                    theme.style(Role::Hint),
                );
            }
        }
    }
}
