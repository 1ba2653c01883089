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
    let top = Rect { height: 1, ..area };
    let body = Rect {
        y: area.y + 1,
        height: area.height - 1 - QUEUE_BOTTOM,
        ..area
    };
    let status = Rect {
        y: area.y + area.height - 2,
        height: 1,
        ..area
    };
    let bottom = Rect {
        y: area.y + area.height - 1,
        height: 1,
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

fn cursor(state: &State, area: Rect) -> Option<Position> {
    let Mode::Input(input) = &state.mode else {
        return None;
    };
    use unicode_width::UnicodeWidthStr;
    let before: String = input.text.chars().take(input.cursor).collect();
    let column = input.prompt().width() + super::text::sanitize(&before).width();
    Some(Position {
        x: area.x + (column as u16).min(area.width.saturating_sub(1)),
        y: area.y + area.height.saturating_sub(1),
    })
}
