//! On-call schedules: layered rotations computed in the schedule's own time zone, with
//! time-boxed overrides on top. Pure: every function takes the instant it is asked about.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A number for overrides made over the API, `config-N` for those in the configuration.
pub type OverrideId = String;

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub time_zone: Tz,
    /// Bottom first: a higher layer wins wherever it has someone on call.
    pub layers: Vec<Layer>,
}

/// One rotation: members take turns, one shift each, starting with the first member at the
/// handoff time of the start date (local time).
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub name: String,
    pub members: Vec<String>,
    pub shift: ShiftLength,
    /// Local wall-clock time at which shifts change.
    pub handoff: NaiveTime,
    /// Local date of the first shift's start.
    pub start: NaiveDate,
    /// When set, the layer only covers these local days and hours; outside them the layers
    /// below show through.
    pub restriction: Option<Restriction>,
}

/// Shift lengths. Days and weeks follow the local calendar (a day shift always hands off at
/// the handoff time, even on a 23- or 25-hour day across a daylight-saving change); hours
/// that divide a day evenly follow the local clock from the handoff time too, and other
/// hour counts are exact elapsed hours. Written `12h`, `1d`, `2w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftLength {
    Hours(u32),
    Days(u32),
    Weeks(u32),
}

/// Local days and hours a layer covers. A window starts on each listed day at `from`; when
/// `to` is not after `from` it runs past midnight and still belongs to the day it started on
/// (`fri 22:00-06:00` covers Saturday 05:00, not Friday 05:00). `from == to` is a whole day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub days: Vec<Weekday>,
    /// Local start of the covered hours on each of those days.
    pub from: NaiveTime,
    /// Local end; when not after `from`, the covered hours run past midnight.
    pub to: NaiveTime,
}

/// Someone else on call for a while, whoever the rotations say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub id: OverrideId,
    pub schedule: String,
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Who made it; `None` for overrides written in the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// A stretch of time with one person on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    pub user: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The layer it comes from, or `None` for an override.
    pub layer: Option<String>,
    /// The override it comes from.
    pub override_id: Option<OverrideId>,
}

impl Schedule {
    /// Who is on call at `at`: an override for this schedule if one covers it, else the
    /// highest layer with someone on call. The shift runs as far as that answer holds.
    pub fn on_call_at(&self, overrides: &[Override], at: DateTime<Utc>) -> Option<Shift> {
        let _ = (overrides, at);
        todo!("the schedules helper implements this")
    }
}

impl fmt::Display for ShiftLength {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShiftLength::Hours(hours) => write!(formatter, "{hours}h"),
            ShiftLength::Days(days) => write!(formatter, "{days}d"),
            ShiftLength::Weeks(weeks) => write!(formatter, "{weeks}w"),
        }
    }
}

impl std::str::FromStr for ShiftLength {
    type Err = String;
    /// `12h`, `1d`, `2w`: a positive whole number and a unit.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let text = value.trim();
        let expected =
            "expected a positive whole number of hours, days or weeks, like 12h, 1d or 2w";
        let Some(unit) = text.chars().last() else {
            return Err(format!("the shift length is empty: {expected}"));
        };
        let number = &text[..text.len() - unit.len_utf8()];
        let make: fn(u32) -> ShiftLength = match unit {
            'h' => ShiftLength::Hours,
            'd' => ShiftLength::Days,
            'w' => ShiftLength::Weeks,
            _ if unit.is_ascii_digit() => {
                return Err(format!("shift length {value:?} has no unit: {expected}"))
            }
            _ => {
                return Err(format!(
                    "shift length {value:?}: unknown unit {unit:?}: {expected}"
                ))
            }
        };
        if number.is_empty() {
            return Err(format!("shift length {value:?} has no number: {expected}"));
        }
        if !number.chars().all(|character| character.is_ascii_digit()) {
            return Err(format!(
                "shift length {value:?}: {number:?} is not a positive whole number: {expected}"
            ));
        }
        let count: u32 = number
            .parse()
            .map_err(|_| format!("shift length {value:?} is too long"))?;
        if count == 0 {
            return Err(format!("shift length {value:?} is zero: {expected}"));
        }
        Ok(make(count))
    }
}

impl Restriction {
    /// From configuration: day names (`mon`..`sun`, or in full, any case) and local hours
    /// `"HH:MM-HH:MM"`. An end of `24:00` means midnight; an end not after the start runs
    /// past midnight, and equal times cover whole days.
    pub fn parse(days: &[&str], hours: &str) -> Result<Restriction, String> {
        if days.is_empty() {
            return Err("a restriction needs at least one day".to_string());
        }
        let mut weekdays = Vec::with_capacity(days.len());
        for day in days {
            let weekday = parse_weekday(day)?;
            if !weekdays.contains(&weekday) {
                weekdays.push(weekday);
            }
        }
        let (from, to) = hours.split_once('-').ok_or_else(|| {
            format!("restriction hours {hours:?} are not a range: expected HH:MM-HH:MM")
        })?;
        let from = parse_clock_time(from, false)
            .map_err(|problem| format!("restriction hours {hours:?}: start {problem}"))?;
        let to = parse_clock_time(to, true)
            .map_err(|problem| format!("restriction hours {hours:?}: end {problem}"))?;
        Ok(Restriction {
            days: weekdays,
            from,
            to,
        })
    }
}

fn parse_weekday(day: &str) -> Result<Weekday, String> {
    match day.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Ok(Weekday::Mon),
        "tue" | "tuesday" => Ok(Weekday::Tue),
        "wed" | "wednesday" => Ok(Weekday::Wed),
        "thu" | "thursday" => Ok(Weekday::Thu),
        "fri" | "friday" => Ok(Weekday::Fri),
        "sat" | "saturday" => Ok(Weekday::Sat),
        "sun" | "sunday" => Ok(Weekday::Sun),
        _ => Err(format!(
            "{day:?} is not a day: expected mon, tue, wed, thu, fri, sat or sun"
        )),
    }
}

/// `HH:MM` on a 24-hour clock; `24:00` only as an end, meaning midnight.
fn parse_clock_time(text: &str, is_end: bool) -> Result<NaiveTime, String> {
    let text = text.trim();
    let malformed = || format!("{text:?} is not a time: expected HH:MM, like 09:00");
    let (hours, minutes) = text.split_once(':').ok_or_else(malformed)?;
    let is_number = |part: &str| {
        (1..=2).contains(&part.len()) && part.chars().all(|character| character.is_ascii_digit())
    };
    if !is_number(hours) || minutes.len() != 2 || !is_number(minutes) {
        return Err(malformed());
    }
    let hours: u32 = hours.parse().map_err(|_| malformed())?;
    let minutes: u32 = minutes.parse().map_err(|_| malformed())?;
    if is_end && hours == 24 && minutes == 0 {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::from_hms_opt(hours, minutes, 0)
        .ok_or_else(|| format!("{text:?} is not a time of day: hours run 00-23, minutes 00-59"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_lengths_parse_and_display() {
        let good = [
            ("12h", ShiftLength::Hours(12)),
            ("1d", ShiftLength::Days(1)),
            ("2w", ShiftLength::Weeks(2)),
            (" 5h ", ShiftLength::Hours(5)),
        ];
        for (text, expected) in good {
            let parsed: ShiftLength = text.parse().expect(text);
            assert_eq!(parsed, expected, "{text}");
            assert_eq!(parsed.to_string(), text.trim());
        }
        let bad = [
            ("", "empty"),
            ("0d", "zero"),
            ("-1d", "not a positive whole number"),
            ("+1d", "not a positive whole number"),
            ("1.5h", "not a positive whole number"),
            ("12", "no unit"),
            ("3m", "unknown unit 'm'"),
            ("1D", "unknown unit 'D'"),
            ("h", "no number"),
            ("99999999999h", "too long"),
        ];
        for (text, problem) in bad {
            let error = text.parse::<ShiftLength>().expect_err(text);
            assert!(error.contains(problem), "{text:?}: {error}");
        }
    }

    #[test]
    fn restrictions_parse_days_and_hours() {
        let restriction =
            Restriction::parse(&["mon", "Tuesday", "FRI", "mon"], "22:00 - 06:30").expect("valid");
        assert_eq!(
            restriction,
            Restriction {
                days: vec![Weekday::Mon, Weekday::Tue, Weekday::Fri],
                from: NaiveTime::from_hms_opt(22, 0, 0).expect("time"),
                to: NaiveTime::from_hms_opt(6, 30, 0).expect("time"),
            }
        );
        let midnight = Restriction::parse(&["sun"], "9:00-24:00").expect("valid");
        assert_eq!(midnight.to, NaiveTime::MIN);
        let bad: [(&[&str], &str, &str); 8] = [
            (&[], "09:00-17:00", "at least one day"),
            (&["mon", "funday"], "09:00-17:00", "\"funday\" is not a day"),
            (&["mon"], "09:00", "not a range"),
            (&["mon"], "9-17", "start \"9\" is not a time"),
            (&["mon"], "09:00-17:0", "end \"17:0\" is not a time"),
            (
                &["mon"],
                "25:00-17:00",
                "start \"25:00\" is not a time of day",
            ),
            (
                &["mon"],
                "24:00-17:00",
                "start \"24:00\" is not a time of day",
            ),
            (
                &["mon"],
                "09:00-17:60",
                "end \"17:60\" is not a time of day",
            ),
        ];
        for (days, hours, problem) in bad {
            let error = Restriction::parse(days, hours).expect_err(hours);
            assert!(error.contains(problem), "{days:?} {hours:?}: {error}");
        }
    }
}
