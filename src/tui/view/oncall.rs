//! Who is on call: per schedule, the person on call now (until when, on the schedule's own
//! clock, and for how long yet), who is next, and the overrides not yet ended, marked as
//! overrides. Fetched when opened and again every minute; times count down live.

use crate::protocol::{OnCallView, OverrideView, ShiftView};
use crate::tui::action::Action;
use crate::tui::state::{Fetched, State};
use crate::tui::text::{clock, length, local, sanitize, time_left};
use crate::tui::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

/// Width of the first column (`now`, `next`, `override`).
const KIND: usize = 10;
/// Width of the person column; longer names are cut with an ellipsis.
const PERSON: usize = 14;

pub fn render(state: &State, oncall: &Fetched<Vec<OnCallView>>, area: Rect, buffer: &mut Buffer) {
    let scroll = oncall.scroll.min(last_scroll(state));
    Paragraph::new(lines(state, oncall))
        .wrap(Wrap { trim: false })
        .scroll((scroll.min(u16::MAX as usize) as u16, 0))
        .render(area, buffer);
}

/// The furthest the screen can scroll at the state's size.
pub fn last_scroll(state: &State) -> usize {
    let crate::tui::state::Screen::OnCall(oncall) = &state.screen else {
        return 0;
    };
    let width = (state.width as usize).max(1);
    let height = super::body_rows(state);
    let rows: usize = lines(state, oncall)
        .iter()
        .map(|line| line.width().div_ceil(width).max(1))
        .sum();
    rows.saturating_sub(height)
}

fn lines(state: &State, oncall: &Fetched<Vec<OnCallView>>) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let muted = theme.style(Role::Muted);
    let mut lines = Vec::new();
    let mut title = vec![Span::styled(" On call", theme.style(Role::Title))];
    if let Some(at) = oncall.at {
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
            muted,
        ));
    }
    lines.push(Line::from(title));
    if let Some(error) = &oncall.error {
        lines.push(Line::styled(
            format!(" could not fetch who is on call: {}", sanitize(error)),
            theme.style(Role::MessageError),
        ));
    }
    let Some(schedules) = &oncall.value else {
        if oncall.loading {
            lines.push(Line::styled(" fetching who is on call…", muted));
        }
        return lines;
    };
    if schedules.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled("  No schedules.", theme.style(Role::Label)));
        lines.push(Line::raw(
            "  [[schedules]] in the configuration say who is on call, in turns.",
        ));
        return lines;
    }
    for schedule in schedules {
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {}", sanitize(&schedule.schedule)),
                theme.style(Role::Title),
            ),
            Span::styled(format!(" · {}", sanitize(&schedule.time_zone)), muted),
        ]));
        lines.push(now_line(state, schedule));
        lines.push(next_line(state, schedule));
        for entry in &schedule.overrides {
            lines.push(override_line(state, schedule, entry));
        }
    }
    lines
}

/// `  now       alice          until 18:00 CET, for 5h 59m`
fn now_line(state: &State, schedule: &OnCallView) -> Line<'static> {
    let theme = &state.theme;
    let zone = &schedule.time_zone;
    let mut spans = vec![kind("now", state)];
    match &schedule.now {
        None => spans.push(Span::styled("nobody on call", theme.style(Role::GaveUp))),
        Some(shift) => {
            spans.push(person(&shift.user, theme.style(Role::OnCall)));
            spans.push(Span::raw(format!(
                "until {}, for ",
                local(shift.end, zone, state.now)
            )));
            spans.push(Span::styled(
                time_left(shift.end, state.now),
                theme.style(Role::Countdown),
            ));
            spans.extend(origin(state, shift));
        }
    }
    Line::from(spans)
}

/// `  next      bob            from 18:00 CET (in 5h 59m) until Sun 18:00 CET`
fn next_line(state: &State, schedule: &OnCallView) -> Line<'static> {
    let theme = &state.theme;
    let zone = &schedule.time_zone;
    let mut spans = vec![kind("next", state)];
    match &schedule.next {
        None => spans.push(Span::styled("nobody", theme.style(Role::Muted))),
        Some(shift) => {
            spans.push(person(&shift.user, ratatui::style::Style::default()));
            spans.push(Span::raw(format!(
                "from {} (in {}) until {}",
                local(shift.start, zone, state.now),
                time_left(shift.start, state.now),
                local(shift.end, zone, state.now)
            )));
            spans.extend(origin(state, shift));
        }
    }
    Line::from(spans)
}

/// `  override  carol          Mon 09:00 CET to Mon 17:00 CET (in 2d 21h), by admin`
fn override_line(state: &State, schedule: &OnCallView, entry: &OverrideView) -> Line<'static> {
    let theme = &state.theme;
    let zone = &schedule.time_zone;
    let now = state.now;
    let when = if entry.start <= now {
        format!(
            "now until {} (for {})",
            local(entry.end, zone, now),
            time_left(entry.end, now)
        )
    } else {
        format!(
            "{} to {} (in {}, for {})",
            local(entry.start, zone, now),
            local(entry.end, zone, now),
            time_left(entry.start, now),
            length(entry.end - entry.start)
        )
    };
    let who = match (&entry.created_by, entry.origin.as_str()) {
        (_, "config") => ", in the configuration".to_string(),
        (Some(by), _) => format!(", by {}", sanitize(by)),
        (None, _) => String::new(),
    };
    Line::from(vec![
        Span::styled(
            format!("   {:<KIND$}", "override"),
            theme.style(Role::Override),
        ),
        person(&entry.user, theme.style(Role::Override)),
        Span::raw(when),
        Span::styled(
            format!("{who} (override {})", sanitize(&entry.id)),
            theme.style(Role::Muted),
        ),
    ])
}

fn kind(name: &str, state: &State) -> Span<'static> {
    Span::styled(format!("   {name:<KIND$}"), state.theme.style(Role::Label))
}

fn person(name: &str, style: ratatui::style::Style) -> Span<'static> {
    Span::styled(
        format!("{} ", super::queue::cell(&sanitize(name), PERSON - 1)),
        style,
    )
}

/// Marks a shift that an override made (rather than the rotation), or names its layer.
fn origin(state: &State, shift: &ShiftView) -> Vec<Span<'static>> {
    let theme = &state.theme;
    match (&shift.override_id, &shift.layer) {
        (Some(id), _) => vec![Span::styled(
            format!(" (override {})", sanitize(id)),
            theme.style(Role::Override),
        )],
        (None, Some(layer)) => vec![Span::styled(
            format!(" (layer {})", sanitize(layer)),
            theme.style(Role::Muted),
        )],
        (None, None) => Vec::new(),
    }
}
