//! Drawing: every view renders from `&State` into a ratatui buffer and changes nothing.
//! Incident text always goes through `text::sanitize` so sources cannot drive the terminal.

mod chrome;
mod detail;
mod help;
mod oncall;
mod queue;
mod silences;

use super::state::{Mode, Screen, State, QUEUE_BOTTOM, QUEUE_TOP};
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::Frame;

pub use chrome::{hint_line, status_line};
pub use detail::last_scroll as detail_last_scroll;
pub use help::last_scroll as help_last_scroll;
pub use oncall::last_scroll as oncall_last_scroll;

/// Draws the whole screen and places the cursor when a prompt is open.
pub fn draw(frame: &mut Frame, state: &State) {
    let area = frame.area();
    render(state, area, frame.buffer_mut());
    if let Some(position) = cursor(state, area) {
        frame.set_cursor_position(position);
    }
}

/// The whole screen into a buffer (what `draw` does, without a terminal).
pub fn render(state: &State, area: Rect, buffer: &mut Buffer) {
    if area.height < QUEUE_TOP + QUEUE_BOTTOM + 1 || area.width < 20 {
        buffer.set_string(
            area.x,
            area.y,
            "klaxon: window too small",
            state.theme.style(super::theme::Role::Base),
        );
        return;
    }
    buffer.set_style(area, state.theme.style(super::theme::Role::Base));
    let extra = composer_extra(state, area.height);
    let top = Rect { height: 1, ..area };
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1 - QUEUE_BOTTOM - extra,
        ..area
    };
    let status = Rect {
        y: area.y + area.height - 2 - extra,
        height: 1,
        ..area
    };
    let bottom = Rect {
        y: area.y + area.height - 1 - extra,
        height: 1 + extra,
        ..area
    };
    chrome::tabs(state, top, buffer);
    match &state.screen {
        Screen::Queue => queue::render(state, body, buffer),
        Screen::Detail(detail) => detail::render(state, detail, body, buffer),
        Screen::OnCall(oncall) => oncall::render(state, oncall, body, buffer),
        Screen::Silences(view) => silences::render(state, view, body, buffer),
    }
    chrome::status(state, status, buffer);
    chrome::bottom(state, bottom, buffer);
    if let Mode::Help { scroll } = state.mode {
        help::render(state, scroll, area, buffer);
    }
}

/// Rows a message being written takes beyond the one line every prompt has, leaving the
/// content at least one row.
fn composer_extra(state: &State, height: u16) -> u16 {
    let Mode::Input(input) = &state.mode else {
        return 0;
    };
    let room = height.saturating_sub(QUEUE_TOP + QUEUE_BOTTOM + 1);
    (input.rows().saturating_sub(1) as u16).min(room)
}

/// Rows the content (queue, detail, …) has at the state's screen size.
pub fn body_rows(state: &State) -> usize {
    state
        .height
        .saturating_sub(1 + QUEUE_BOTTOM + composer_extra(state, state.height)) as usize
}

fn cursor(state: &State, area: Rect) -> Option<Position> {
    let Mode::Input(input) = &state.mode else {
        return None;
    };
    use unicode_width::UnicodeWidthStr;
    let extra = composer_extra(state, area.height);
    let (line, column) = input.cursor_line();
    let first = chrome::composer_first_line(input, extra as usize + 1);
    let text_line = input.text.split('\n').nth(line).unwrap_or_default();
    let before: String = text_line.chars().take(column).collect();
    let column = input.prompt().width() + super::text::sanitize(&before).width();
    let row = (line - first.min(line)) as u16;
    Some(Position {
        x: area.x + (column as u16).min(area.width.saturating_sub(1)),
        y: area.y + area.height.saturating_sub(1) - extra + row.min(extra),
    })
}
