//! `?`: every action with its keys, generated from the keymap in force, then the `:`
//! commands and the filter language.

use crate::tui::action::Action;
use crate::tui::state::State;
use crate::tui::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

pub fn lines(state: &State) -> Vec<Line<'static>> {
    let theme = &state.theme;
    let key_style = theme.style(Role::HintKey);
    let mut lines = vec![Line::styled(
        " Keys (from the keymap; ! changes incidents or silences, ? asks first)",
        theme.style(Role::Header),
    )];
    for action in Action::ALL {
        let Some(binding) = state.keymap.binding(action) else {
            continue;
        };
        let keys: Vec<String> = binding.keys.iter().map(|key| key.to_string()).collect();
        let keys = if keys.is_empty() {
            "(unbound)".to_string()
        } else {
            keys.join(" ")
        };
        let flags = format!(
            "{}{}",
            if binding.dangerous { "!" } else { " " },
            if binding.confirm { "?" } else { " " }
        );
        lines.push(Line::from(vec![
            Span::styled(format!(" {keys:<16}"), key_style),
            Span::raw(format!("{flags} {:<16}", action.name())),
            Span::styled(action.description().to_string(), theme.style(Role::Muted)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Commands (: then enter; ID defaults to the selection)",
        theme.style(Role::Header),
    ));
    let commands = [
        (":ack [ID]", "acknowledge"),
        (":resolve [ID]", "resolve (no y/n: you typed it)"),
        (":note [ID] TEXT", "add a note"),
        (":snooze [ID] 30m", "snooze for a while"),
        (":reassign [ID] NAME", "assign to someone"),
        (":escalate [ID]", "page the next level now"),
        (":oncall", "who is on call now and next"),
        (":silences", "the silences, to look at or expire"),
        (
            ":silence svc=x 2h why",
            "matchers (= != =~ !~), a duration, a comment",
        ),
        (
            ":expire [SILENCE]",
            "end a silence now (no y/n: you typed it)",
        ),
        (":open ID", "show an incident"),
        (":filter TEXT", "set the filter (empty clears)"),
        (":sort NAME", "severity, newest, oldest, id, status"),
        (":tab NAME", "open, triggered, acknowledged, resolved, all"),
        (
            ":theme NAME",
            "default, dark, light, high-contrast, mono, or a file",
        ),
        (":bell on|off", "ring for new critical and error incidents"),
        (":mouse on|off", "click to select, wheel to scroll"),
        (":q", "quit; any action name works too (:help, :redraw)"),
    ];
    for (command, what) in commands {
        lines.push(Line::from(vec![
            Span::styled(format!(" {command:<22}"), key_style),
            Span::styled(what.to_string(), theme.style(Role::Muted)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(" Filter (/)", theme.style(Role::Header)));
    for (example, what) in [
        (
            "disk db-1",
            "words in title, service, assignee, labels, #id",
        ),
        (
            "sev:crit,err",
            "severity (prefix of critical/error/warning/info)",
        ),
        ("svc:payments", "service contains"),
        (
            "status:ack",
            "triggered, acknowledged, resolved, snoozed, open",
        ),
        ("!sev:info", "! negates any term; all terms must match"),
    ] {
        lines.push(Line::from(vec![
            Span::styled(format!(" {example:<22}"), key_style),
            Span::styled(what.to_string(), theme.style(Role::Muted)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " In prompts: enter sends, esc cancels, ctrl-u clears, ctrl-w deletes a word",
        theme.style(Role::Muted),
    ));
    lines
}

/// The popup's place on a screen of the state's size.
fn popup(state: &State) -> Rect {
    let area = Rect::new(0, 0, state.width, state.height);
    let width = area.width.saturating_sub(4).min(100);
    Rect {
        x: (area.width - width) / 2,
        y: 1,
        width,
        height: area.height.saturating_sub(2),
    }
}

/// The furthest the help can scroll: its rows after wrapping less the rows shown, so the end
/// can always be reached and scrolling past it does nothing.
pub fn last_scroll(state: &State) -> usize {
    let popup = popup(state);
    let inner_width = (popup.width.saturating_sub(2) as usize).max(1);
    let inner_height = popup.height.saturating_sub(2) as usize;
    let rows: usize = lines(state)
        .iter()
        .map(|line| line.width().div_ceil(inner_width).max(1))
        .sum();
    rows.saturating_sub(inner_height)
}

pub fn render(state: &State, scroll: usize, area: Rect, buffer: &mut Buffer) {
    let width = area.width.saturating_sub(4).min(100);
    let height = area.height.saturating_sub(2);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + 1,
        width,
        height,
    };
    Clear.render(popup, buffer);
    let lines = lines(state);
    let scroll = scroll.min(last_scroll(state));
    let block = Block::bordered()
        .title(" help · j/k scroll · any other key closes ")
        .border_style(state.theme.style(Role::Border))
        .style(state.theme.style(Role::Base));
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((scroll as u16, 0))
        .render(popup, buffer);
}
