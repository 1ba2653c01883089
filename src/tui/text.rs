//! Text helpers for drawing: incident text made harmless for a terminal, and short ages.
//! Pure; depends on nothing else in klaxon.

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
}
