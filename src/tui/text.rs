//! Text helpers for drawing: incident text made harmless for a terminal, short ages,
//! lengths of time and local times. Pure; depends on nothing else in klaxon.

use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// Replaces everything a terminal could act on (C0 and C1 controls, DEL, escape) and the
/// bidirectional overrides that could reorder what is shown, so incident text from any
/// source draws as the characters it is. C0 controls become their visible Control Pictures
/// (ESC shows as `␛`), the rest `�`.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_replacing) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|character| match character {
                '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + character as u32).unwrap_or('�'),
                '\u{7f}' => '␡',
                character if needs_replacing(character) => '�',
                character => character,
            })
            .collect(),
    )
}

fn needs_replacing(character: char) -> bool {
    matches!(character,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `42s`, `5m`, `3h`, `2d`, `8w`: the age of something that happened at `since`.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{}m", seconds / 60),
        3_600..86_400 => format!("{}h", seconds / 3_600),
        86_400..1_209_600 => format!("{}d", seconds / 86_400),
        _ => format!("{}w", seconds / 604_800),
    }
}

/// A wall-clock time for timelines: `14:03:22` today, `Nov 03 14:03` otherwise (UTC).
pub fn clock(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        at.format("%H:%M:%S").to_string()
    } else {
        at.format("%b %d %H:%M").to_string()
    }
}

/// Time until `at`, for countdowns: `4s`, `2m`.
pub fn countdown(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let milliseconds = (at - now).num_milliseconds().max(0);
    // Rounded up, so a countdown never shows 0s while still waiting.
    let seconds = (milliseconds + 999) / 1000;
    if seconds < 120 {
        format!("{seconds}s")
    } else {
        format!("{}m", seconds / 60)
    }
}

/// A stretch of time, two units at most: `45s`, `4m 12s`, `3h 20m`, `2d 5h`.
pub fn length(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    let (days, hours) = (seconds / 86_400, seconds / 3_600 % 24);
    let (minutes, rest) = (seconds / 60 % 60, seconds % 60);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3_600 => format!("{minutes}m {rest:02}s"),
        3_600..86_400 => format!("{hours}h {minutes:02}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// Time left until `at`, for live countdowns: `4m 12s`. Rounded up to the second, so it
/// never shows 0s while still waiting.
pub fn time_left(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let milliseconds = (at - now).num_milliseconds().max(0);
    length(chrono::Duration::seconds((milliseconds + 999) / 1000))
}

/// `at` on the clocks of `time_zone` (an IANA name; UTC if unknown), as short as is clear
/// from `now`: `18:00 CET` today, `Sat 18:00 CET` within the week, `Jan 17 18:00 CET`.
pub fn local(at: DateTime<Utc>, time_zone: &str, now: DateTime<Utc>) -> String {
    let zone: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let local = at.with_timezone(&zone);
    let today = now.with_timezone(&zone).date_naive();
    let days = (local.date_naive() - today).num_days();
    let format = match days {
        0 => "%H:%M %Z",
        -6..=6 => "%a %H:%M %Z",
        _ => "%b %d %H:%M %Z",
    };
    local.format(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_makes_escapes_visible_and_keeps_plain_text_borrowed() {
        assert!(matches!(sanitize("disk full"), Cow::Borrowed(_)));
        assert_eq!(sanitize("a\x1b[2Jb"), "a␛[2Jb");
        assert_eq!(sanitize("x\ny\tz\r"), "x␊y␉z␍");
        assert_eq!(sanitize("\u{9b}31m\u{7f}"), "�31m␡");
        assert_eq!(sanitize("evil\u{202e}txt"), "evil�txt");
        assert_eq!(sanitize("naïve ✓ 日本"), "naïve ✓ 日本");
    }

    #[test]
    fn ages_are_short() {
        let now = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let ago = |seconds| age(now - chrono::Duration::seconds(seconds), now);
        assert_eq!(ago(0), "0s");
        assert_eq!(ago(59), "59s");
        assert_eq!(ago(60), "1m");
        assert_eq!(ago(7_200), "2h");
        assert_eq!(ago(3 * 86_400), "3d");
        assert_eq!(ago(30 * 86_400), "4w");
        assert_eq!(age(now + chrono::Duration::seconds(5), now), "0s");
        assert_eq!(
            countdown(now + chrono::Duration::milliseconds(3_200), now),
            "4s"
        );
    }

    #[test]
    fn lengths_show_two_units_and_countdowns_round_up() {
        let now = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let seconds = chrono::Duration::seconds;
        assert_eq!(length(seconds(45)), "45s");
        assert_eq!(length(seconds(252)), "4m 12s");
        assert_eq!(length(seconds(12_000)), "3h 20m");
        assert_eq!(length(seconds(2 * 86_400 + 5 * 3_600 + 59)), "2d 5h");
        assert_eq!(length(seconds(-5)), "0s");
        assert_eq!(
            time_left(now + chrono::Duration::milliseconds(251_001), now),
            "4m 12s"
        );
        assert_eq!(time_left(now - seconds(3), now), "0s");
    }

    #[test]
    fn local_times_use_the_zone_and_drop_what_is_clear() {
        let now = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let hours = chrono::Duration::hours;
        assert_eq!(local(now + hours(5), "Europe/Berlin", now), "18:00 CET");
        assert_eq!(
            local(now + hours(24), "Europe/Berlin", now),
            "Sun 13:00 CET"
        );
        assert_eq!(local(now + hours(24 * 9), "UTC", now), "Jan 19 12:00 UTC");
        assert_eq!(local(now, "Not/AZone", now), "12:00 UTC");
        // Early Saturday in UTC is still Friday evening in New York.
        assert_eq!(
            local(now - hours(10), "America/New_York", now),
            "Fri 21:00 EST"
        );
    }
}
