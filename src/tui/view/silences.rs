//! Silences: one row each (state, id, when it ends or starts or ended, who made it, its
//! matchers and comment), active ones first, the selection in reverse video, and the
//! selected silence in full under the list. Fetched when opened and again every minute.

use crate::protocol::SilenceView;
use crate::tui::action::Action;
use crate::tui::state::{SilencesView, State};
use crate::tui::text::{age, clock, sanitize, time_left};
use crate::tui::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::queue::cell;

const STATE: usize = 8;
const WHEN: usize = 17;
const BY: usize = 10;

pub fn render(state: &State, view: &SilencesView, area: Rect, buffer: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let theme = &state.theme;
    let silences = view.silences.value.as_deref();
    let columns = Columns {
        id: silences
            .unwrap_or_default()
            .iter()
            .map(|silence| silence.id.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(2, 14),
        // Narrow screens leave who made it to the line under the list.
        by: if area.width < 100 { 0 } else { BY },
    };
    let mut title = vec![Span::styled(
        match silences {
            Some(silences) => format!(" Silences ({})", silences.len()),
            None => " Silences".to_string(),
        },
        theme.style(Role::Title),
    )];
    if let Some(at) = view.silences.at {
        let refresh = state
            .keymap
            .keys(Action::Refresh)
            .first()
            .map_or(String::new(), |key| format!(", {key} fetches now"));
        title.push(Span::styled(
            format!(
                "  as of {}, fetched every minute{refresh}",
                clock(at, state.now)
            ),
            theme.style(Role::Muted),
        ));
    }
    Line::from(title).render(Rect { height: 1, ..area }, buffer);
    if area.height < 3 {
        return;
    }
    let mut header = format!(
        " {} {} {} ",
        cell("STATE", STATE),
        cell("ID", columns.id),
        cell("WHEN", WHEN)
    );
    if columns.by > 0 {
        header.push_str(&format!("{} ", cell("BY", columns.by)));
    }
    header.push_str("MATCHERS AND COMMENT");
    let header_area = Rect {
        y: area.y + 1,
        height: 1,
        ..area
    };
    buffer.set_style(header_area, theme.style(Role::Header));
    buffer.set_stringn(
        header_area.x,
        header_area.y,
        &header,
        area.width as usize,
        theme.style(Role::Header),
    );
    let body = Rect {
        y: area.y + 2,
        height: area.height - 2,
        ..area
    };
    let mut notes: Vec<Line<'static>> = Vec::new();
    if let Some(error) = &view.silences.error {
        notes.push(Line::styled(
            format!(" could not fetch the silences: {}", sanitize(error)),
            theme.style(Role::MessageError),
        ));
    }
    let silences = match silences {
        Some(silences) if !silences.is_empty() => silences,
        Some(_) => {
            notes.extend(empty(state));
            Paragraph::new(notes)
                .wrap(Wrap { trim: false })
                .render(body, buffer);
            return;
        }
        None => {
            if view.silences.loading {
                notes.push(Line::styled(
                    " fetching the silences…",
                    theme.style(Role::Muted),
                ));
            }
            Paragraph::new(notes)
                .wrap(Wrap { trim: false })
                .render(body, buffer);
            return;
        }
    };
    // Under the list: any error, then the selected silence in full (rows cut it short).
    let selected = view.selected();
    if let Some(silence) = selected {
        notes.insert(0, Line::raw(""));
        notes.push(full(state, silence));
    }
    let width = (body.width as usize).max(1);
    let wrapped: usize = notes
        .iter()
        .map(|line| line.width().div_ceil(width).max(1))
        .sum();
    // A list too short for the notes keeps its rows; the notes are what gives way.
    let notes_height = if body.height as usize > wrapped + 2 {
        wrapped as u16
    } else {
        0
    };
    let rows = Rect {
        height: body.height - notes_height,
        ..body
    };
    let shown = rows.height as usize;
    // The selection always on screen: scroll just enough.
    let offset = view.cursor.saturating_sub(shown.saturating_sub(1));
    for (line, (index, silence)) in silences
        .iter()
        .enumerate()
        .skip(offset)
        .take(shown)
        .enumerate()
    {
        let row_area = Rect {
            y: rows.y + line as u16,
            height: 1,
            ..rows
        };
        row(state, silence, &columns).render(row_area, buffer);
        if index == view.cursor {
            // Reverse video whatever the theme, as in the queue.
            buffer.set_style(
                row_area,
                theme.style(Role::Selected).add_modifier(Modifier::REVERSED),
            );
        }
    }
    if notes_height > 0 {
        let area = Rect {
            y: rows.y + rows.height,
            height: notes_height,
            ..body
        };
        Paragraph::new(notes)
            .wrap(Wrap { trim: false })
            .render(area, buffer);
    }
}

/// `active   7  in 1h 59m          admin      service=batch severity=warning  nightly run`
/// Column widths that change with the content or the screen.
struct Columns {
    id: usize,
    /// 0: not shown.
    by: usize,
}

fn row(state: &State, silence: &SilenceView, columns: &Columns) -> Line<'static> {
    let theme = &state.theme;
    let role = match silence.state.as_str() {
        "active" => Role::Silenced,
        "pending" => Role::Label,
        _ => Role::Muted,
    };
    let by = match (&silence.created_by, silence.origin.as_str()) {
        (_, "config") => "config".to_string(),
        (Some(by), _) => sanitize(by).into_owned(),
        (None, _) => "-".to_string(),
    };
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(cell(&silence.state, STATE), theme.style(role)),
        Span::raw(" "),
        Span::raw(cell(&sanitize(&silence.id), columns.id)),
        Span::raw(" "),
        Span::styled(
            cell(&when(state, silence), WHEN),
            theme.style(Role::Countdown),
        ),
        Span::raw(" "),
    ];
    if columns.by > 0 {
        spans.push(Span::raw(cell(&by, columns.by)));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::raw(
        sanitize(&silence.matchers.join(" ")).into_owned(),
    ));
    if !silence.comment.is_empty() {
        spans.push(Span::styled(
            format!("  {}", sanitize(&silence.comment)),
            theme.style(Role::Note),
        ));
    }
    Line::from(spans)
}

/// `in 1h 59m`, `starts in 2h 00m`, `ended 3m ago`: counting live.
fn when(state: &State, silence: &SilenceView) -> String {
    let now = state.now;
    match silence.state.as_str() {
        "pending" => format!("starts in {}", time_left(silence.starts_at, now)),
        "active" => format!("in {}", time_left(silence.ends_at, now)),
        _ => format!("ended {} ago", age(silence.ends_at, now)),
    }
}

/// The selected silence with nothing cut off.
fn full(state: &State, silence: &SilenceView) -> Line<'static> {
    let now = state.now;
    let who = match (&silence.created_by, silence.origin.as_str()) {
        (_, "config") => "a maintenance window in the configuration".to_string(),
        (Some(by), _) => format!("by {}", sanitize(by)),
        (None, _) => "by nobody known".to_string(),
    };
    let comment = if silence.comment.is_empty() {
        String::new()
    } else {
        format!(": {}", sanitize(&silence.comment))
    };
    Line::from(vec![
        Span::styled(
            format!(" silence {} ", sanitize(&silence.id)),
            state.theme.style(Role::Label),
        ),
        Span::raw(format!(
            "{} from {} to {} ({}), {who}{comment}",
            sanitize(&silence.matchers.join(" ")),
            clock(silence.starts_at, now),
            clock(silence.ends_at, now),
            silence.state,
        )),
    ])
}

fn empty(state: &State) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let mut lines = vec![
        Line::raw(""),
        Line::styled("  No silences: everything pages.", theme.style(Role::Label)),
    ];
    if state.keymap.allows(Action::AddSilence) && !state.read_only {
        let add = state
            .keymap
            .keys(Action::AddSilence)
            .first()
            .map_or(String::new(), |key| format!("{key} or "));
        lines.push(Line::raw(format!(
            "  {add}:silence service=batch sev=warning 2h why holds paging for what matches."
        )));
    }
    lines
}
