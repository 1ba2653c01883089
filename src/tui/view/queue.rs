//! The incident queue: one row per incident (severity label, id, status, age, service,
//! alerts, assignee, title), the selection in reverse video, new alarming incidents marked
//! `●` until seen; or, with nothing to show, how to send the first alert.

use crate::domain::IncidentStatus;
use crate::tui::state::{State, Summary};
use crate::tui::text::{age, sanitize};
use crate::tui::theme::Role;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

/// Column widths; the title takes what is left.
struct Columns {
    id: usize,
    service: usize,
    assignee: usize,
}

fn columns(state: &State, width: u16) -> Columns {
    let largest = state.largest_id();
    let id = format!("#{largest}").len().max(3);
    // Narrow terminals keep severity, id, status, age and title.
    let (service, assignee) = match width {
        0..70 => (0, 0),
        70..100 => (10, 8),
        _ => (14, 10),
    };
    Columns {
        id,
        service,
        assignee,
    }
}

fn status_text(incident: &Summary, state: &State) -> (&'static str, Role) {
    match incident.status {
        _ if incident.status.is_open()
            && incident
                .snoozed_until
                .is_some_and(|until| until > state.now) =>
        {
            ("snoozed", Role::Snoozed)
        }
        // Triggered and yet nobody is paged: worth seeing at a glance.
        IncidentStatus::Triggered if incident.silenced => ("silenced", Role::Silenced),
        IncidentStatus::Triggered => ("triggered", Role::Triggered),
        IncidentStatus::Acknowledged => ("acked", Role::Acknowledged),
        IncidentStatus::Resolved => ("resolved", Role::Resolved),
    }
}

/// `text` in exactly `width` columns: padded, or cut with an ellipsis.
pub(super) fn cell(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::with_capacity(width + 1);
    let mut used = 0;
    let count = text.chars().count();
    for (index, character) in text.chars().enumerate() {
        let w = character.width().unwrap_or(0);
        // Leave room for an ellipsis when cutting.
        if used + w > width || (used + w == width && index + 1 < count && width > 1) {
            if used < width {
                out.push('…');
                used += 1;
            }
            break;
        }
        out.push(character);
        used += w;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

pub fn render(state: &State, area: Rect, buffer: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let theme = &state.theme;
    let columns = columns(state, area.width);
    let mut header = format!(
        " {:<4} {} {:<9} {:>4} ",
        "SEV",
        cell("ID", columns.id),
        "STATUS",
        "AGE"
    );
    if columns.service > 0 {
        header.push_str(&format!(
            "{} {:>3} {} ",
            cell("SERVICE", columns.service),
            "AL",
            cell("ASSIGNEE", columns.assignee)
        ));
    }
    header.push_str("TITLE");
    let header_area = Rect { height: 1, ..area };
    buffer.set_style(header_area, theme.style(Role::Header));
    buffer.set_stringn(
        area.x,
        area.y,
        &header,
        area.width as usize,
        theme.style(Role::Header),
    );
    let rows = Rect {
        y: area.y + 1,
        height: area.height - 1,
        ..area
    };
    if state.visible().is_empty() {
        empty(state, rows, buffer);
        return;
    }
    for (line, id) in state
        .visible()
        .iter()
        .skip(state.offset)
        .take(rows.height as usize)
        .enumerate()
    {
        let Some(incident) = state.incident(*id) else {
            continue;
        };
        let y = rows.y + line as u16;
        let row_area = Rect {
            y,
            height: 1,
            ..rows
        };
        let selected = state.selected == Some(*id);
        let fresh = state.unseen.contains(id);
        let (status, status_role) = status_text(incident, state);
        let mut spans = vec![
            Span::styled(if fresh { "●" } else { " " }, theme.style(Role::Fresh)),
            Span::styled(
                format!("{:<4}", incident.severity.label()),
                theme.severity(incident.severity),
            ),
            Span::raw(" "),
            Span::raw(cell(&format!("#{id}"), columns.id)),
            Span::raw(" "),
            Span::styled(format!("{status:<9}"), theme.style(status_role)),
            Span::styled(
                format!(" {:>4} ", age(incident.created_at, state.now)),
                theme.style(Role::Muted),
            ),
        ];
        if columns.service > 0 {
            let service = incident
                .service
                .as_deref()
                .map(sanitize)
                .unwrap_or("-".into());
            let assignee = incident
                .assignee
                .as_deref()
                .map(sanitize)
                .unwrap_or("-".into());
            spans.push(Span::raw(cell(&service, columns.service)));
            spans.push(Span::raw(format!(" {:>3} ", incident.alert_count.min(999))));
            spans.push(Span::raw(cell(&assignee, columns.assignee)));
            spans.push(Span::raw(" "));
        }
        let title_style = if fresh {
            theme.style(Role::Fresh)
        } else {
            Style::default()
        };
        spans.push(Span::styled(
            sanitize(&incident.title).into_owned(),
            title_style,
        ));
        Line::from(spans).render(row_area, buffer);
        if selected {
            // Reverse video whatever the theme, so the selection never rests on colour.
            buffer.set_style(
                row_area,
                theme.style(Role::Selected).add_modifier(Modifier::REVERSED),
            );
        }
    }
}

fn empty(state: &State, area: Rect, buffer: &mut Buffer) {
    let theme = &state.theme;
    let label = theme.style(Role::Label);
    let muted = theme.style(Role::Muted);
    let mut lines: Vec<Line> = vec![Line::raw("")];
    if !state.synced {
        lines.push(Line::styled(
            format!("  Connecting to {}…", state.endpoint.address),
            muted,
        ));
    } else if !state.is_empty() {
        let what = if state.filter_text.is_empty() {
            format!("  No {} incidents.", state.tab.name())
        } else {
            format!(
                "  Nothing in {} matches {:?}.",
                state.tab.name(),
                sanitize(&state.filter_text)
            )
        };
        lines.push(Line::styled(what, label));
        let back = state
            .keymap
            .keys(crate::tui::action::Action::Back)
            .first()
            .map(|key| key.to_string());
        let tab = state
            .keymap
            .keys(crate::tui::action::Action::NextTab)
            .first()
            .map(|key| key.to_string());
        let mut hint = Vec::new();
        if let (false, Some(back)) = (state.filter_text.is_empty(), back) {
            hint.push(format!("{back} clears the filter"));
        }
        if let Some(tab) = tab {
            hint.push(format!("{tab} shows other tabs"));
        }
        lines.push(Line::styled(format!("  {}", hint.join(", ")), muted));
    } else {
        lines.push(Line::styled("  No incidents. All quiet.", label));
        lines.push(Line::raw(""));
        match state.test_alert_url() {
            Some(url) => {
                lines.push(Line::raw("  Send a test alert:"));
                lines.push(Line::raw("    curl -H 'Content-Type: application/json' \\"));
                lines.push(Line::raw(
                    "      -d '{\"summary\":\"disk full on db-1\",\"severity\":\"critical\"}' \\",
                ));
                lines.push(Line::raw(format!("      {url}")));
                if state.endpoint.embedded {
                    lines.push(Line::raw(
                        "  or: klaxon send \"disk full on db-1\" --severity critical",
                    ));
                }
            }
            None if state.integrations.is_empty() => {
                lines.push(Line::raw(
                    "  Alerts arrive at POST /v1/integrations/KEY on the engine;",
                ));
                lines.push(Line::raw("  an admin's token shows the keys here."));
            }
            None => {}
        }
        let with_urls: Vec<_> = state
            .integrations
            .iter()
            .filter(|integration| integration.url.is_some())
            .collect();
        if !with_urls.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled("  Integrations:", label));
            for integration in with_urls {
                lines.push(Line::raw(format!(
                    "    {} ({})",
                    sanitize(&integration.name),
                    integration.source
                )));
                lines.push(Line::styled(
                    format!("      {}", integration.url.as_deref().unwrap_or_default()),
                    muted,
                ));
            }
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(area, buffer);
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn cells_pad_and_cut_with_an_ellipsis() {
        assert_eq!(cell("db", 4), "db  ");
        assert_eq!(cell("payments", 5), "paym…");
        assert_eq!(cell("abcd", 4), "abcd");
        assert_eq!(cell("日本語", 4), "日… ");
    }
}
