//! On-call schedules: layered rotations computed in the schedule's own time zone, with
//! time-boxed overrides on top. Pure: every function takes the instant it is asked about.
//!
//! Rotations: member `i` of `n` takes shift `k` where `i = k mod n`; shift 0 starts at the
//! layer's start date and handoff time in the schedule's time zone, and before it the layer
//! has nobody on call. Day and week shifts follow the local calendar, so they always hand off
//! at the local handoff time, even across a daylight-saving change (those shifts last 23 or
//! 25 hours). Hour shifts that divide a day (1, 2, 3, 4, 6, 8, 12, 24) follow the local wall
//! clock anchored at the handoff each day; other hour counts are exact elapsed hours from the
//! first handoff. A local time that does not exist (the spring-forward gap) means the first
//! instant after the gap, so an hour shift wholly inside a gap has no length; an ambiguous
//! one (autumn fall-back) means the earlier instant. A restriction limits a layer to local
//! days and hours; a window running past midnight belongs to the day it starts on.
//!
//! Who is on call: an override for the schedule that covers the instant (the latest-starting
//! one when several do, the one listed last on a tie), else the highest layer with someone on
//! call, else nobody. A shift's bounds are exact: `start` is the first instant and `end` the
//! first instant after it that this answer changes in user or source (override or layer).
//! Only when it holds for longer than [`LOOKAHEAD_DAYS`] is `end` cut off there.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use chrono::{LocalResult, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A number for overrides made over the API, `config-N` for those in the configuration.
pub type OverrideId = String;

/// How far ahead the schedule is followed: `next_after` looks no further, and a shift that
/// would run longer than this from the instant asked about ends here.
pub const LOOKAHEAD_DAYS: i64 = 400;

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: String,
    pub time_zone: Tz,
    /// Bottom first: a higher layer wins wherever it has someone on call.
    pub layers: Vec<Layer>,
}

/// One rotation: members take turns, one shift each, starting with the first member at the
/// handoff time of the start date (local time). A layer without members, or with a zero
/// shift length, has nobody on call.
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
        let timeline = Timeline::new(self, overrides);
        let answer = timeline.answer_at(at)?;
        Some(timeline.shift(answer, at))
    }

    /// The on-call timeline over `[from, to)`: every shift that overlaps it, in order, with
    /// its full bounds (the first may start before `from`, the last end after `to`). Times
    /// with nobody on call are gaps between shifts.
    pub fn shifts(
        &self,
        overrides: &[Override],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Shift> {
        let timeline = Timeline::new(self, overrides);
        let mut shifts: Vec<Shift> = Vec::new();
        let mut cursor = from;
        while cursor < to {
            let Some(answer) = timeline.answer_at(cursor) else {
                match timeline.change_after(None, cursor, to) {
                    Some(next) => {
                        cursor = next;
                        continue;
                    }
                    None => break,
                }
            };
            let shift = timeline.shift(answer, cursor);
            cursor = shift.end;
            match shifts.last_mut() {
                // Only a shift cut off at the lookahead continues into the next one.
                Some(last) if shift.start <= last.end && same_source(last, &shift) => {
                    last.end = shift.end;
                }
                _ => shifts.push(shift),
            }
        }
        shifts
    }

    /// Who is on call next: the first shift after the current one ends whose user differs
    /// from the current one (any shift, when nobody is on call at `at`). Looks at most
    /// [`LOOKAHEAD_DAYS`] ahead of `at`.
    pub fn next_after(&self, overrides: &[Override], at: DateTime<Utc>) -> Option<Shift> {
        let timeline = Timeline::new(self, overrides);
        let horizon = lookahead(at);
        let current = timeline.answer_at(at);
        let mut cursor = at;
        let mut answer = current;
        loop {
            if let Some(found) = answer {
                if current.is_none_or(|current| current.user != found.user) {
                    return Some(timeline.shift(found, cursor));
                }
            }
            cursor = timeline.change_after(answer, cursor, horizon)?;
            answer = timeline.answer_at(cursor);
        }
    }
}

fn same_source(first: &Shift, second: &Shift) -> bool {
    first.user == second.user
        && first.layer == second.layer
        && first.override_id == second.override_id
}

fn lookahead(at: DateTime<Utc>) -> DateTime<Utc> {
    TimeDelta::try_days(LOOKAHEAD_DAYS)
        .and_then(|days| at.checked_add_signed(days))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The instant just before `at`: everything here changes on instants, so the state on the
/// nanosecond before a change is the state before it.
fn just_before(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    at.checked_sub_signed(TimeDelta::nanoseconds(1))
}

fn wall_clock(time_zone: Tz, at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&time_zone).naive_local()
}

/// The instant a local time means: the earlier one when it is ambiguous, the first instant
/// after the gap when it does not exist. `None` only outside chrono's range.
fn local_to_utc(time_zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match time_zone.from_local_datetime(&local) {
        LocalResult::Single(instant) => Some(instant.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => first_instant_after_gap(time_zone, local),
    }
}

/// The first whole second whose wall clock reads `local` or later. Offsets are whole seconds
/// and within a day of UTC, and the wall clock only moves forward around a gap, so a binary
/// search over two days either side finds the transition out of the gap.
fn first_instant_after_gap(time_zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    const TWO_DAYS: i64 = 2 * 86_400;
    let naive_seconds = local.and_utc().timestamp();
    let mut low = naive_seconds.checked_sub(TWO_DAYS)?;
    let mut high = naive_seconds.checked_add(TWO_DAYS)?;
    let reaches = |seconds: i64| -> Option<bool> {
        let instant = DateTime::<Utc>::from_timestamp(seconds, 0)?;
        Some(wall_clock(time_zone, instant) >= local)
    };
    // Invariant: the wall clock at `low` is before `local`, at `high` it is not.
    if reaches(low)? || !reaches(high)? {
        return None;
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if reaches(middle)? {
            high = middle;
        } else {
            low = middle;
        }
    }
    DateTime::<Utc>::from_timestamp(high, 0)
}

impl ShiftLength {
    fn seconds(self) -> i64 {
        match self {
            ShiftLength::Hours(hours) => i64::from(hours) * 3_600,
            ShiftLength::Days(days) => i64::from(days) * 86_400,
            ShiftLength::Weeks(weeks) => i64::from(weeks) * 7 * 86_400,
        }
    }

    /// Whether shifts change at the same local times every day, rather than after exact
    /// elapsed time.
    fn follows_wall_clock(self) -> bool {
        match self {
            ShiftLength::Hours(hours) => hours != 0 && 24 % hours == 0,
            ShiftLength::Days(_) | ShiftLength::Weeks(_) => true,
        }
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

    /// Every hour of every day: no restriction at all.
    fn covers_every_hour(&self) -> bool {
        self.from == self.to && ALL_WEEKDAYS.iter().all(|day| self.days.contains(day))
    }

    /// The covered instants that start on `day`, if it is listed.
    fn window(&self, time_zone: Tz, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.days.contains(&day.weekday()) {
            return None;
        }
        let start = local_to_utc(time_zone, day.and_time(self.from))?;
        let end_day = if self.to > self.from {
            day
        } else {
            day.succ_opt()?
        };
        let end = local_to_utc(time_zone, end_day.and_time(self.to))?;
        Some((start, end))
    }

    /// Windows starting on local days `before` days before `at`'s through `after` days after.
    fn windows_around(
        &self,
        time_zone: Tz,
        at: DateTime<Utc>,
        before: i64,
        after: i64,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let today = wall_clock(time_zone, at).date();
        (-before..=after).filter_map(move |offset| {
            let day = today.checked_add_signed(TimeDelta::try_days(offset)?)?;
            self.window(time_zone, day)
        })
    }

    fn covers(&self, time_zone: Tz, at: DateTime<Utc>) -> bool {
        // A window is at most a day long, so it started today or yesterday; the extra days
        // are for clocks that move back across midnight.
        self.windows_around(time_zone, at, 2, 1)
            .any(|(start, end)| start <= at && at < end)
    }

    /// The first window edge after `at`; any listed day comes round within a week.
    fn next_edge(&self, time_zone: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.windows_around(time_zone, at, 2, 8)
            .flat_map(|(start, end)| [start, end])
            .filter(|edge| *edge > at)
            .min()
    }

    /// The last window edge at or before `at`.
    fn last_edge(&self, time_zone: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.windows_around(time_zone, at, 8, 2)
            .flat_map(|(start, end)| [start, end])
            .filter(|edge| *edge <= at)
            .max()
    }
}

const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

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

/// How a layer's shift starts are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    /// Shift `k` starts at the local time `anchor + k * period`.
    Wall,
    /// Shift `k` starts exactly `k * period` after the first handoff.
    Elapsed,
}

/// A layer prepared for questions about instants. Everything here is about changes of the
/// layer's state (who, if anyone, it has on call), so searches jump from change to change.
struct Rotation<'a> {
    layer: &'a Layer,
    time_zone: Tz,
    clock: Clock,
    period_seconds: i64,
    /// Local start of shift 0.
    anchor: NaiveDateTime,
    /// Start of shift 0; nobody is on call from this layer before it.
    first: DateTime<Utc>,
    /// `None` when unrestricted, or restricted to every hour of every day.
    restriction: Option<&'a Restriction>,
    /// Every member is the same person: the rotation itself never changes who is on call.
    single_person: bool,
}

impl<'a> Rotation<'a> {
    /// `None` for a layer that never has anyone on call.
    fn new(layer: &'a Layer, time_zone: Tz) -> Option<Rotation<'a>> {
        if layer.members.is_empty() {
            return None;
        }
        let period_seconds = layer.shift.seconds();
        if period_seconds <= 0 {
            return None;
        }
        let restriction = match &layer.restriction {
            Some(restriction) if restriction.days.is_empty() => return None,
            Some(restriction) if restriction.covers_every_hour() => None,
            restriction => restriction.as_ref(),
        };
        let anchor = layer.start.and_time(layer.handoff);
        let first = local_to_utc(time_zone, anchor)?;
        Some(Rotation {
            layer,
            time_zone,
            clock: if layer.shift.follows_wall_clock() {
                Clock::Wall
            } else {
                Clock::Elapsed
            },
            period_seconds,
            anchor,
            first,
            restriction,
            single_person: layer.members.windows(2).all(|pair| pair[0] == pair[1]),
        })
    }

    fn shift_start(&self, index: i64) -> Option<DateTime<Utc>> {
        let offset = TimeDelta::try_seconds(self.period_seconds.checked_mul(index)?)?;
        match self.clock {
            Clock::Wall => local_to_utc(self.time_zone, self.anchor.checked_add_signed(offset)?),
            Clock::Elapsed => self.first.checked_add_signed(offset),
        }
    }

    /// The shift running at `at`: the last one started by then (a shift swallowed by a
    /// spring-forward gap has no length, and the one after it wins).
    fn shift_index(&self, at: DateTime<Utc>) -> Option<i64> {
        if at < self.first {
            return None;
        }
        let elapsed = match self.clock {
            Clock::Wall => wall_clock(self.time_zone, at) - self.anchor,
            Clock::Elapsed => at - self.first,
        };
        // An estimate off by the daylight-saving offset at most; step to the exact shift.
        let mut index = elapsed.num_seconds().div_euclid(self.period_seconds).max(0);
        while index > 0 && self.shift_start(index).is_none_or(|start| start > at) {
            index -= 1;
        }
        while let Some(next) = index.checked_add(1).and_then(|next| self.shift_start(next)) {
            if next > at {
                break;
            }
            index += 1;
        }
        Some(index)
    }

    fn member(&self, index: i64) -> &'a str {
        let count = self.layer.members.len() as i64;
        let position = usize::try_from(index.rem_euclid(count)).unwrap_or(0);
        self.layer.members.get(position).map_or("", String::as_str)
    }

    fn user_at(&self, at: DateTime<Utc>) -> Option<&'a str> {
        if let Some(restriction) = self.restriction {
            if !restriction.covers(self.time_zone, at) {
                return None;
            }
        }
        self.shift_index(at).map(|index| self.member(index))
    }

    /// The start of the first shift after shift `index` with a different member.
    fn next_member_change(&self, index: i64) -> Option<DateTime<Utc>> {
        if self.single_person {
            return None;
        }
        let count = self.layer.members.len() as i64;
        (index.checked_add(1)?..=index.checked_add(count)?)
            .find(|next| self.member(*next) != self.member(next - 1))
            .and_then(|next| self.shift_start(next))
    }

    /// The start of the last shift up to shift `index` whose member differs from the one
    /// before.
    fn last_member_change(&self, index: i64) -> Option<DateTime<Utc>> {
        if self.single_person {
            return None;
        }
        let count = self.layer.members.len() as i64;
        let lowest = index.saturating_sub(count).max(1);
        (lowest..=index)
            .rev()
            .find(|shift| self.member(*shift) != self.member(shift - 1))
            .and_then(|shift| self.shift_start(shift))
    }

    /// The first instant after `at` where the state may change.
    fn next_event(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if at < self.first {
            return Some(self.first);
        }
        let window_edge = match self.restriction {
            Some(restriction) => {
                let edge = restriction.next_edge(self.time_zone, at);
                if !restriction.covers(self.time_zone, at) {
                    // Handoffs outside the covered hours change nothing.
                    return edge;
                }
                edge
            }
            None => None,
        };
        let handoff = self
            .shift_index(at)
            .and_then(|index| self.next_member_change(index));
        window_edge.into_iter().chain(handoff).min()
    }

    /// The last instant at or before `at` where the state may have changed.
    fn previous_event(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if at < self.first {
            return None;
        }
        let mut events = vec![self.first];
        let covered = match self.restriction {
            Some(restriction) => {
                events.extend(restriction.last_edge(self.time_zone, at));
                restriction.covers(self.time_zone, at)
            }
            None => true,
        };
        if covered {
            events.extend(
                self.shift_index(at)
                    .and_then(|index| self.last_member_change(index)),
            );
        }
        events.into_iter().max()
    }

    /// The first instant after `at`, up to `limit`, where the state differs from `at`'s.
    fn next_change(&self, at: DateTime<Utc>, limit: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let state = self.user_at(at);
        let mut cursor = at;
        loop {
            let event = self.next_event(cursor)?;
            if event > limit {
                return None;
            }
            if self.user_at(event) != state {
                return Some(event);
            }
            cursor = event;
        }
    }

    /// The last instant at or before `at`, and not before `floor`, where the state changed
    /// to `at`'s.
    fn last_change(&self, at: DateTime<Utc>, floor: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let state = self.user_at(at);
        let mut cursor = at;
        loop {
            let event = self.previous_event(cursor)?;
            if event < floor {
                return None;
            }
            let before = just_before(event)?;
            if self.user_at(before) != state {
                return Some(event);
            }
            cursor = before;
        }
    }
}

/// Where an answer comes from: an index into the overrides or into the layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Override(usize),
    Layer(usize),
}

/// Who is on call at an instant, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Answer<'a> {
    user: &'a str,
    source: Source,
}

/// A schedule and its overrides, prepared for questions about instants.
struct Timeline<'a> {
    overrides: &'a [Override],
    /// This schedule's overrides that cover anything, with their index in `overrides`.
    relevant: Vec<(usize, &'a Override)>,
    /// By layer index, bottom first; `None` for layers that never have anyone on call.
    rotations: Vec<Option<Rotation<'a>>>,
}

impl<'a> Timeline<'a> {
    fn new(schedule: &'a Schedule, overrides: &'a [Override]) -> Timeline<'a> {
        Timeline {
            overrides,
            relevant: overrides
                .iter()
                .enumerate()
                .filter(|(_, entry)| entry.schedule == schedule.name && entry.start < entry.end)
                .collect(),
            rotations: schedule
                .layers
                .iter()
                .map(|layer| Rotation::new(layer, schedule.time_zone))
                .collect(),
        }
    }

    fn answer_at(&self, at: DateTime<Utc>) -> Option<Answer<'a>> {
        // The latest-starting override wins; among equal starts, the one listed last.
        let covering = self
            .relevant
            .iter()
            .filter(|(_, entry)| entry.start <= at && at < entry.end)
            .max_by_key(|(index, entry)| (entry.start, *index));
        if let Some((index, entry)) = covering {
            return Some(Answer {
                user: &entry.user,
                source: Source::Override(*index),
            });
        }
        self.rotations
            .iter()
            .enumerate()
            .rev()
            .find_map(|(index, rotation)| {
                let user = rotation.as_ref()?.user_at(at)?;
                Some(Answer {
                    user,
                    source: Source::Layer(index),
                })
            })
    }

    /// The layers whose changes can change `answer`: while an override covers, none; while a
    /// layer is on call, it and those above; while nobody is, all.
    fn rotations_above(&self, answer: Option<Answer<'_>>) -> impl Iterator<Item = &Rotation<'a>> {
        let lowest = match answer.map(|answer| answer.source) {
            Some(Source::Override(_)) => self.rotations.len(),
            Some(Source::Layer(index)) => index,
            None => 0,
        };
        self.rotations.iter().skip(lowest).flatten()
    }

    fn override_edges(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.relevant
            .iter()
            .flat_map(|(_, entry)| [entry.start, entry.end])
    }

    /// The first instant after `at`, up to `limit`, where the answer is no longer `answer`.
    fn change_after(
        &self,
        answer: Option<Answer<'a>>,
        at: DateTime<Utc>,
        limit: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut cursor = at;
        loop {
            let next = self
                .override_edges()
                .filter(|edge| *edge > cursor)
                .chain(
                    self.rotations_above(answer)
                        .filter_map(|rotation| rotation.next_change(cursor, limit)),
                )
                .min()?;
            if next > limit {
                return None;
            }
            if self.answer_at(next) != answer {
                return Some(next);
            }
            cursor = next;
        }
    }

    /// The instant `answer`, true at `at`, started being true. It cannot be before its
    /// source started, so the search back always ends.
    fn start_of(&self, answer: Answer<'a>, at: DateTime<Utc>) -> DateTime<Utc> {
        let floor = match answer.source {
            Source::Override(index) => self.overrides.get(index).map(|entry| entry.start),
            Source::Layer(index) => self
                .rotations
                .get(index)
                .and_then(|rotation| rotation.as_ref().map(|rotation| rotation.first)),
        }
        .unwrap_or(at);
        let mut cursor = at;
        loop {
            let latest = self
                .override_edges()
                .filter(|edge| floor <= *edge && *edge <= cursor)
                .chain(
                    self.rotations_above(Some(answer))
                        .filter_map(|rotation| rotation.last_change(cursor, floor)),
                )
                .max();
            let Some(latest) = latest else {
                return floor;
            };
            let Some(before) = just_before(latest) else {
                return latest;
            };
            if self.answer_at(before) != Some(answer) {
                return latest;
            }
            cursor = before;
        }
    }

    fn shift(&self, answer: Answer<'a>, at: DateTime<Utc>) -> Shift {
        let limit = lookahead(at);
        let (layer, override_id) = match answer.source {
            Source::Override(index) => (
                None,
                self.overrides.get(index).map(|entry| entry.id.clone()),
            ),
            Source::Layer(index) => (
                self.rotations.get(index).and_then(|rotation| {
                    rotation
                        .as_ref()
                        .map(|rotation| rotation.layer.name.clone())
                }),
                None,
            ),
        };
        Shift {
            user: answer.user.to_string(),
            start: self.start_of(answer, at),
            end: self.change_after(Some(answer), at, limit).unwrap_or(limit),
            layer,
            override_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;
    use chrono_tz::Europe::Berlin;

    fn utc(text: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
            .expect("test instant")
            .and_utc()
    }

    fn local(time_zone: Tz, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test time");
        time_zone
            .from_local_datetime(&naive)
            .single()
            .expect("an unambiguous local time")
            .with_timezone(&Utc)
    }

    fn nanosecond() -> TimeDelta {
        TimeDelta::nanoseconds(1)
    }

    fn layer(name: &str, members: &[&str], shift: &str, handoff: &str, start: &str) -> Layer {
        Layer {
            name: name.to_string(),
            members: members.iter().map(|member| member.to_string()).collect(),
            shift: shift.parse().expect("test shift length"),
            handoff: NaiveTime::parse_from_str(handoff, "%H:%M").expect("test handoff"),
            start: NaiveDate::parse_from_str(start, "%Y-%m-%d").expect("test date"),
            restriction: None,
        }
    }

    fn restricted(layer: Layer, days: &[&str], hours: &str) -> Layer {
        Layer {
            restriction: Some(Restriction::parse(days, hours).expect("test restriction")),
            ..layer
        }
    }

    fn schedule(time_zone: Tz, layers: Vec<Layer>) -> Schedule {
        Schedule {
            name: "primary".to_string(),
            time_zone,
            layers,
        }
    }

    fn cover(id: &str, schedule: &str, user: &str, start: &str, end: &str) -> Override {
        Override {
            id: id.to_string(),
            schedule: schedule.to_string(),
            user: user.to_string(),
            start: utc(start),
            end: utc(end),
            created_by: None,
        }
    }

    /// `user source start..end`, in UTC.
    fn row(shift: &Shift) -> String {
        let source = match (&shift.layer, &shift.override_id) {
            (Some(layer), None) => layer.clone(),
            (None, Some(id)) => format!("override:{id}"),
            other => format!("{other:?}"),
        };
        format!(
            "{} {} {}..{}",
            shift.user,
            source,
            shift.start.format("%Y-%m-%d %H:%M"),
            shift.end.format("%Y-%m-%d %H:%M")
        )
    }

    fn rows(shifts: &[Shift]) -> Vec<String> {
        shifts.iter().map(row).collect()
    }

    fn on_call_row(schedule: &Schedule, overrides: &[Override], at: DateTime<Utc>) -> String {
        schedule
            .on_call_at(overrides, at)
            .map_or_else(|| "nobody".to_string(), |shift| row(&shift))
    }

    fn same_answer(first: Option<&Shift>, second: Option<&Shift>) -> bool {
        match (first, second) {
            (Some(first), Some(second)) => same_source(first, second),
            (None, None) => true,
            _ => false,
        }
    }

    /// Every `step` from `from` to `to`: the shift contains the instant, holds to its last
    /// nanosecond, differs right after it ends and right before it starts, and is the same
    /// shift asked about from its start.
    fn assert_exact(
        schedule: &Schedule,
        overrides: &[Override],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: TimeDelta,
    ) {
        let mut at = from;
        while at < to {
            if let Some(shift) = schedule.on_call_at(overrides, at) {
                assert!(shift.start <= at && at < shift.end, "{at}: {shift:?}");
                let last = schedule.on_call_at(overrides, shift.end - nanosecond());
                assert!(same_answer(Some(&shift), last.as_ref()), "{at}: {shift:?}");
                let after = schedule.on_call_at(overrides, shift.end);
                assert!(
                    !same_answer(Some(&shift), after.as_ref()),
                    "{at}: {shift:?}"
                );
                let before = schedule.on_call_at(overrides, shift.start - nanosecond());
                assert!(
                    !same_answer(Some(&shift), before.as_ref()),
                    "{at}: {shift:?}"
                );
                let from_start = schedule.on_call_at(overrides, shift.start);
                assert_eq!(from_start.as_ref(), Some(&shift), "{at}");
            }
            at += step;
        }
    }

    #[test]
    fn weekly_rotation_takes_turns_over_many_shifts() {
        // Weekly in Berlin from Monday 2026-01-05 09:00; the week with the spring-forward
        // change is an hour short.
        let schedule = schedule(
            Berlin,
            vec![layer(
                "primary",
                &["alice", "bob", "carol"],
                "1w",
                "09:00",
                "2026-01-05",
            )],
        );
        let timeline = schedule.shifts(&[], utc("2026-01-05 08:00"), utc("2026-04-13 07:00"));
        assert_eq!(
            rows(&timeline),
            [
                "alice primary 2026-01-05 08:00..2026-01-12 08:00",
                "bob primary 2026-01-12 08:00..2026-01-19 08:00",
                "carol primary 2026-01-19 08:00..2026-01-26 08:00",
                "alice primary 2026-01-26 08:00..2026-02-02 08:00",
                "bob primary 2026-02-02 08:00..2026-02-09 08:00",
                "carol primary 2026-02-09 08:00..2026-02-16 08:00",
                "alice primary 2026-02-16 08:00..2026-02-23 08:00",
                "bob primary 2026-02-23 08:00..2026-03-02 08:00",
                "carol primary 2026-03-02 08:00..2026-03-09 08:00",
                "alice primary 2026-03-09 08:00..2026-03-16 08:00",
                "bob primary 2026-03-16 08:00..2026-03-23 08:00",
                "carol primary 2026-03-23 08:00..2026-03-30 07:00",
                "alice primary 2026-03-30 07:00..2026-04-06 07:00",
                "bob primary 2026-04-06 07:00..2026-04-13 07:00",
            ]
        );
        let cases = [
            ("2026-01-05 07:59", "nobody"),
            (
                "2026-01-05 08:00",
                "alice primary 2026-01-05 08:00..2026-01-12 08:00",
            ),
            (
                "2026-03-29 12:00",
                "carol primary 2026-03-23 08:00..2026-03-30 07:00",
            ),
            (
                "2026-03-30 07:00",
                "alice primary 2026-03-30 07:00..2026-04-06 07:00",
            ),
            (
                "2027-01-04 08:00",
                "bob primary 2027-01-04 08:00..2027-01-11 08:00",
            ),
        ];
        for (at, expected) in cases {
            assert_eq!(on_call_row(&schedule, &[], utc(at)), expected, "at {at}");
        }
        assert_exact(
            &schedule,
            &[],
            utc("2026-01-01 00:00"),
            utc("2026-05-01 00:00"),
            TimeDelta::hours(13),
        );
    }

    #[test]
    fn daily_rotation_takes_turns_over_many_shifts() {
        let schedule = schedule(
            New_York,
            vec![layer(
                "primary",
                &["alice", "bob", "carol", "dave"],
                "1d",
                "09:00",
                "2026-03-01",
            )],
        );
        let members = ["alice", "bob", "carol", "dave"];
        let timeline = schedule.shifts(&[], utc("2026-03-01 14:00"), utc("2026-03-31 13:00"));
        assert_eq!(timeline.len(), 30);
        for (index, shift) in timeline.iter().enumerate() {
            assert_eq!(shift.user, members[index % 4], "shift {index}");
            for edge in [shift.start, shift.end] {
                let wall = edge.with_timezone(&New_York).time();
                assert_eq!(wall, NaiveTime::MIN + TimeDelta::hours(9), "shift {index}");
            }
            let hours = (shift.end - shift.start).num_hours();
            // 2026-03-08 has 23 hours in New York.
            let expected = if index == 6 { 23 } else { 24 };
            assert_eq!(hours, expected, "shift {index}: {}", row(shift));
        }
        assert_eq!(
            on_call_row(&schedule, &[], local(New_York, "2026-03-31 08:59")),
            "bob primary 2026-03-30 13:00..2026-03-31 13:00"
        );
        assert_exact(
            &schedule,
            &[],
            utc("2026-02-28 00:00"),
            utc("2026-04-02 00:00"),
            TimeDelta::minutes(317),
        );
    }

    #[test]
    fn twelve_hour_rotation_changes_at_the_same_local_times() {
        let schedule = schedule(
            Berlin,
            vec![layer(
                "primary",
                &["alice", "bob"],
                "12h",
                "09:00",
                "2026-03-27",
            )],
        );
        let timeline = schedule.shifts(&[], utc("2026-03-27 08:00"), utc("2026-03-30 07:00"));
        assert_eq!(
            rows(&timeline),
            [
                "alice primary 2026-03-27 08:00..2026-03-27 20:00",
                "bob primary 2026-03-27 20:00..2026-03-28 08:00",
                "alice primary 2026-03-28 08:00..2026-03-28 20:00",
                // 21:00 CET to 09:00 CEST: 11 hours.
                "bob primary 2026-03-28 20:00..2026-03-29 07:00",
                "alice primary 2026-03-29 07:00..2026-03-29 19:00",
                "bob primary 2026-03-29 19:00..2026-03-30 07:00",
            ]
        );
        assert_exact(
            &schedule,
            &[],
            utc("2026-03-26 00:00"),
            utc("2026-04-01 00:00"),
            TimeDelta::minutes(47),
        );
    }

    #[test]
    fn five_hour_rotation_counts_elapsed_hours() {
        // Five hours do not divide a day, so handoffs drift and ignore daylight saving.
        let schedule = schedule(
            Berlin,
            vec![layer(
                "primary",
                &["alice", "bob", "carol"],
                "5h",
                "09:00",
                "2026-03-28",
            )],
        );
        let timeline = schedule.shifts(&[], utc("2026-03-28 08:00"), utc("2026-03-29 14:00"));
        assert_eq!(
            rows(&timeline),
            [
                "alice primary 2026-03-28 08:00..2026-03-28 13:00",
                "bob primary 2026-03-28 13:00..2026-03-28 18:00",
                "carol primary 2026-03-28 18:00..2026-03-28 23:00",
                "alice primary 2026-03-28 23:00..2026-03-29 04:00",
                "bob primary 2026-03-29 04:00..2026-03-29 09:00",
                "carol primary 2026-03-29 09:00..2026-03-29 14:00",
            ]
        );
        // 04:00 UTC is 06:00 in Berlin after the change, not 05:00.
        assert_eq!(
            timeline[4].start.with_timezone(&Berlin).time(),
            NaiveTime::MIN + TimeDelta::hours(6)
        );
        assert_exact(
            &schedule,
            &[],
            utc("2026-03-27 00:00"),
            utc("2026-04-02 00:00"),
            TimeDelta::minutes(53),
        );
    }

    #[test]
    fn hourly_rotation_follows_the_clock_through_both_changes() {
        // Berlin: 02:00 does not exist on 2026-03-29, so carol's shift starting then has no
        // length; on 2026-10-25 the shift from 02:00 summer time lasts two hours.
        let schedule = schedule(
            Berlin,
            vec![layer(
                "primary",
                &["alice", "bob", "carol"],
                "1h",
                "00:00",
                "2026-03-29",
            )],
        );
        let spring = schedule.shifts(&[], utc("2026-03-28 23:00"), utc("2026-03-29 02:00"));
        assert_eq!(
            rows(&spring),
            [
                "alice primary 2026-03-28 23:00..2026-03-29 00:00",
                "bob primary 2026-03-29 00:00..2026-03-29 01:00",
                "alice primary 2026-03-29 01:00..2026-03-29 02:00",
            ]
        );
        let autumn = schedule.shifts(&[], utc("2026-10-24 23:00"), utc("2026-10-25 03:00"));
        // 2026-10-25 00:00 local is shift 5040 (210 days on): alice, then bob at 01:00 and
        // carol from 02:00 summer time to 03:00 winter time.
        assert_eq!(
            rows(&autumn),
            [
                "bob primary 2026-10-24 23:00..2026-10-25 00:00",
                "carol primary 2026-10-25 00:00..2026-10-25 02:00",
                "alice primary 2026-10-25 02:00..2026-10-25 03:00",
            ]
        );
        for (from, to) in [
            ("2026-03-28 20:00", "2026-03-29 06:00"),
            ("2026-10-24 20:00", "2026-10-25 06:00"),
        ] {
            assert_exact(&schedule, &[], utc(from), utc(to), TimeDelta::minutes(7));
        }
    }

    #[test]
    fn daily_handoff_stays_at_local_time_across_daylight_saving() {
        // (zone, an instant on the day before the change, the shift then, its hours, the next)
        let cases = [
            (
                Berlin,
                "2026-03-28 12:00",
                "alice primary 2026-03-28 08:00..2026-03-29 07:00",
                23,
                "bob primary 2026-03-29 07:00..2026-03-30 07:00",
            ),
            (
                Berlin,
                "2026-10-24 12:00",
                "alice primary 2026-10-24 07:00..2026-10-25 08:00",
                25,
                "bob primary 2026-10-25 08:00..2026-10-26 08:00",
            ),
            (
                New_York,
                "2026-03-07 15:00",
                "alice primary 2026-03-07 14:00..2026-03-08 13:00",
                23,
                "bob primary 2026-03-08 13:00..2026-03-09 13:00",
            ),
            (
                New_York,
                "2026-10-31 15:00",
                "alice primary 2026-10-31 13:00..2026-11-01 14:00",
                25,
                "bob primary 2026-11-01 14:00..2026-11-02 14:00",
            ),
        ];
        for (time_zone, at, expected, hours, next) in cases {
            let day = wall_clock(time_zone, utc(at)).date();
            let schedule = schedule(
                time_zone,
                vec![Layer {
                    start: day,
                    ..layer("primary", &["alice", "bob"], "1d", "09:00", "2026-01-01")
                }],
            );
            let shift = schedule.on_call_at(&[], utc(at)).expect("someone on call");
            assert_eq!(row(&shift), expected, "{time_zone} {at}");
            assert_eq!(
                (shift.end - shift.start).num_hours(),
                hours,
                "{time_zone} {at}"
            );
            for edge in [shift.start, shift.end] {
                let wall = edge.with_timezone(&time_zone).time();
                assert_eq!(
                    wall,
                    NaiveTime::MIN + TimeDelta::hours(9),
                    "{time_zone} {at}"
                );
            }
            let following = schedule.next_after(&[], utc(at)).expect("someone next");
            assert_eq!(row(&following), next, "{time_zone} {at}");
            assert_exact(
                &schedule,
                &[],
                utc(at) - TimeDelta::days(1),
                utc(at) + TimeDelta::days(3),
                TimeDelta::minutes(31),
            );
        }
    }

    #[test]
    fn handoff_in_the_spring_gap_lands_right_after_it() {
        // 02:30 does not exist on the change day: that handoff is at 03:00 summer time.
        let cases = [
            (
                Berlin,
                "2026-03-27",
                "2026-03-29 01:00",
                "alice primary 2026-03-28 01:30..2026-03-29 01:00",
                "bob primary 2026-03-29 01:00..2026-03-30 00:30",
            ),
            (
                New_York,
                "2026-03-06",
                "2026-03-08 07:00",
                "alice primary 2026-03-07 07:30..2026-03-08 07:00",
                "bob primary 2026-03-08 07:00..2026-03-09 06:30",
            ),
        ];
        for (time_zone, start, handoff, before, after) in cases {
            let schedule = schedule(
                time_zone,
                vec![layer("primary", &["bob", "alice"], "1d", "02:30", start)],
            );
            let handoff = utc(handoff);
            assert_eq!(
                handoff.with_timezone(&time_zone).time(),
                NaiveTime::MIN + TimeDelta::hours(3),
                "{time_zone}"
            );
            assert_eq!(
                on_call_row(&schedule, &[], handoff - nanosecond()),
                before,
                "{time_zone}"
            );
            assert_eq!(on_call_row(&schedule, &[], handoff), after, "{time_zone}");

            // A layer whose very first handoff is in the gap starts right after it.
            let first_in_gap = schedule_starting_in_gap(time_zone, handoff);
            assert_eq!(first_in_gap.on_call_at(&[], handoff - nanosecond()), None);
            let shift = first_in_gap.on_call_at(&[], handoff).expect("on call");
            assert_eq!(shift.start, handoff, "{time_zone}");
        }
    }

    fn schedule_starting_in_gap(time_zone: Tz, handoff: DateTime<Utc>) -> Schedule {
        let day = wall_clock(time_zone, handoff).date();
        schedule(
            time_zone,
            vec![Layer {
                start: day,
                ..layer("primary", &["alice", "bob"], "1d", "02:30", "2026-01-01")
            }],
        )
    }

    #[test]
    fn handoff_in_the_autumn_overlap_takes_the_earlier_instant() {
        // 02:30 happens twice in Berlin on 2026-10-25 and 01:30 twice in New York on
        // 2026-11-01: the handoff is the first time, in summer time.
        let cases = [
            (
                Berlin,
                "02:30",
                "2026-10-24",
                "2026-10-25 00:30",
                "2026-10-26 01:30",
            ),
            (
                New_York,
                "01:30",
                "2026-10-31",
                "2026-11-01 05:30",
                "2026-11-02 06:30",
            ),
        ];
        for (time_zone, handoff, start, change, next) in cases {
            let schedule = schedule(
                time_zone,
                vec![layer("primary", &["alice", "bob"], "1d", handoff, start)],
            );
            let shift = schedule.on_call_at(&[], utc(change)).expect("on call");
            assert_eq!(
                row(&shift),
                format!("bob primary {change}..{next}"),
                "{time_zone}"
            );
            assert_eq!((shift.end - shift.start).num_hours(), 25, "{time_zone}");
            let earlier = schedule.on_call_at(&[], utc(change) - nanosecond());
            assert_eq!(earlier.map(|shift| shift.user), Some("alice".to_string()));
        }
    }

    fn layered() -> Schedule {
        // Berlin, March 2026 (UTC+1): a weekly 24/7 rotation under weekday daytime cover,
        // under Friday and Sunday nights running to 06:00 the next morning.
        schedule(
            Berlin,
            vec![
                layer("primary", &["alice", "bob"], "1w", "09:00", "2026-01-05"),
                restricted(
                    layer("daytime", &["carol", "dave"], "1d", "09:00", "2026-01-05"),
                    &["mon", "tue", "wed", "thu", "fri"],
                    "09:00-17:00",
                ),
                restricted(
                    layer("nights", &["erin"], "1w", "00:00", "2026-01-01"),
                    &["friday", "Sun"],
                    "22:00-06:00",
                ),
            ],
        )
    }

    #[test]
    fn restricted_layers_cover_their_hours_and_the_layer_below_shows_through() {
        let schedule = layered();
        // From Monday 00:00 local, inside Sunday night's window, to Monday a week later.
        let timeline = schedule.shifts(&[], utc("2026-03-01 23:00"), utc("2026-03-09 11:00"));
        assert_eq!(
            rows(&timeline),
            [
                "erin nights 2026-03-01 21:00..2026-03-02 05:00",
                "bob primary 2026-03-02 05:00..2026-03-02 08:00",
                "carol daytime 2026-03-02 08:00..2026-03-02 16:00",
                "alice primary 2026-03-02 16:00..2026-03-03 08:00",
                "dave daytime 2026-03-03 08:00..2026-03-03 16:00",
                "alice primary 2026-03-03 16:00..2026-03-04 08:00",
                "carol daytime 2026-03-04 08:00..2026-03-04 16:00",
                "alice primary 2026-03-04 16:00..2026-03-05 08:00",
                "dave daytime 2026-03-05 08:00..2026-03-05 16:00",
                "alice primary 2026-03-05 16:00..2026-03-06 08:00",
                "carol daytime 2026-03-06 08:00..2026-03-06 16:00",
                "alice primary 2026-03-06 16:00..2026-03-06 21:00",
                "erin nights 2026-03-06 21:00..2026-03-07 05:00",
                // Saturday is not listed: no night cover from Saturday into Sunday.
                "alice primary 2026-03-07 05:00..2026-03-08 21:00",
                "erin nights 2026-03-08 21:00..2026-03-09 05:00",
                "alice primary 2026-03-09 05:00..2026-03-09 08:00",
                "dave daytime 2026-03-09 08:00..2026-03-09 16:00",
            ]
        );
        let cases = [
            // Thursday 05:00 local: Wednesday is not a night, so the rotation below.
            (
                "2026-03-05 04:00",
                "alice primary 2026-03-04 16:00..2026-03-05 08:00",
            ),
            // Saturday 05:59 local still belongs to Friday's night.
            (
                "2026-03-07 04:59",
                "erin nights 2026-03-06 21:00..2026-03-07 05:00",
            ),
            (
                "2026-03-07 05:00",
                "alice primary 2026-03-07 05:00..2026-03-08 21:00",
            ),
            (
                "2026-03-02 16:00",
                "alice primary 2026-03-02 16:00..2026-03-03 08:00",
            ),
        ];
        for (at, expected) in cases {
            assert_eq!(on_call_row(&schedule, &[], utc(at)), expected, "at {at}");
        }
        assert_exact(
            &schedule,
            &[],
            utc("2026-02-26 00:00"),
            utc("2026-04-06 00:00"),
            TimeDelta::minutes(73),
        );
    }

    #[test]
    fn restriction_window_past_midnight_spans_the_spring_change() {
        // Saturday 22:00 to Sunday 06:00 in Berlin on the change night is seven hours.
        let schedule = schedule(
            Berlin,
            vec![
                layer("primary", &["alice"], "1w", "09:00", "2026-01-05"),
                restricted(
                    layer("nights", &["erin"], "1d", "09:00", "2026-01-05"),
                    &["sat"],
                    "22:00-06:00",
                ),
            ],
        );
        let shift = schedule
            .on_call_at(&[], utc("2026-03-29 01:30"))
            .expect("on call");
        assert_eq!(
            row(&shift),
            "erin nights 2026-03-28 21:00..2026-03-29 04:00"
        );
    }

    #[test]
    fn overrides_win_from_their_start_up_to_their_end() {
        let schedule = schedule(
            chrono_tz::UTC,
            vec![layer(
                "primary",
                &["alice", "bob"],
                "1d",
                "09:00",
                "2026-03-02",
            )],
        );
        let overrides = [
            cover(
                "1",
                "primary",
                "carol",
                "2026-03-02 12:00",
                "2026-03-02 15:00",
            ),
            cover(
                "2",
                "secondary",
                "mallory",
                "2026-03-02 10:00",
                "2026-03-02 20:00",
            ),
        ];
        let cases = [
            (
                utc("2026-03-02 12:00") - nanosecond(),
                "alice primary 2026-03-02 09:00..2026-03-02 12:00",
            ),
            (
                utc("2026-03-02 12:00"),
                "carol override:1 2026-03-02 12:00..2026-03-02 15:00",
            ),
            (
                utc("2026-03-02 15:00") - nanosecond(),
                "carol override:1 2026-03-02 12:00..2026-03-02 15:00",
            ),
            (
                utc("2026-03-02 15:00"),
                "alice primary 2026-03-02 15:00..2026-03-03 09:00",
            ),
        ];
        for (at, expected) in cases {
            assert_eq!(on_call_row(&schedule, &overrides, at), expected, "at {at}");
        }
        // An override inside a shift splits it in three; the other schedule's is ignored.
        let timeline =
            schedule.shifts(&overrides, utc("2026-03-02 09:00"), utc("2026-03-03 09:00"));
        assert_eq!(
            rows(&timeline),
            [
                "alice primary 2026-03-02 09:00..2026-03-02 12:00",
                "carol override:1 2026-03-02 12:00..2026-03-02 15:00",
                "alice primary 2026-03-02 15:00..2026-03-03 09:00",
            ]
        );
        // Across a handoff, and by the person the rotation has anyway: still its own shift.
        let overrides = [
            cover(
                "3",
                "primary",
                "carol",
                "2026-03-02 20:00",
                "2026-03-03 10:00",
            ),
            cover(
                "4",
                "primary",
                "bob",
                "2026-03-03 12:00",
                "2026-03-03 13:00",
            ),
            cover(
                "5",
                "primary",
                "nobody-at-all",
                "2026-03-03 14:00",
                "2026-03-03 14:00",
            ),
        ];
        let timeline =
            schedule.shifts(&overrides, utc("2026-03-02 09:00"), utc("2026-03-04 09:00"));
        assert_eq!(
            rows(&timeline),
            [
                "alice primary 2026-03-02 09:00..2026-03-02 20:00",
                "carol override:3 2026-03-02 20:00..2026-03-03 10:00",
                "bob primary 2026-03-03 10:00..2026-03-03 12:00",
                "bob override:4 2026-03-03 12:00..2026-03-03 13:00",
                "bob primary 2026-03-03 13:00..2026-03-04 09:00",
            ]
        );
        assert_exact(
            &schedule,
            &overrides,
            utc("2026-03-01 00:00"),
            utc("2026-03-05 00:00"),
            TimeDelta::minutes(7),
        );
    }

    #[test]
    fn overlapping_overrides_the_latest_start_wins() {
        let schedule = schedule(
            chrono_tz::UTC,
            vec![layer(
                "primary",
                &["alice", "bob"],
                "1d",
                "09:00",
                "2026-03-02",
            )],
        );
        let overrides = [
            cover(
                "1",
                "primary",
                "carol",
                "2026-03-02 10:00",
                "2026-03-02 16:00",
            ),
            cover(
                "2",
                "primary",
                "dave",
                "2026-03-02 12:00",
                "2026-03-02 14:00",
            ),
            cover(
                "3",
                "primary",
                "erin",
                "2026-03-02 13:00",
                "2026-03-02 18:00",
            ),
            // Same start as erin's, listed later: it wins while it lasts.
            cover(
                "4",
                "primary",
                "frank",
                "2026-03-02 13:00",
                "2026-03-02 13:30",
            ),
        ];
        let timeline =
            schedule.shifts(&overrides, utc("2026-03-02 09:00"), utc("2026-03-03 09:00"));
        assert_eq!(
            rows(&timeline),
            [
                "alice primary 2026-03-02 09:00..2026-03-02 10:00",
                "carol override:1 2026-03-02 10:00..2026-03-02 12:00",
                "dave override:2 2026-03-02 12:00..2026-03-02 13:00",
                "frank override:4 2026-03-02 13:00..2026-03-02 13:30",
                // Carol's override ending at 16:00 under erin's changes nothing.
                "erin override:3 2026-03-02 13:30..2026-03-02 18:00",
                "alice primary 2026-03-02 18:00..2026-03-03 09:00",
            ]
        );
        assert_exact(
            &schedule,
            &overrides,
            utc("2026-03-02 00:00"),
            utc("2026-03-03 12:00"),
            TimeDelta::minutes(7),
        );
    }

    #[test]
    fn overrides_cut_into_restricted_layers() {
        let schedule = layered();
        let overrides = [cover(
            "7",
            "primary",
            "zoe",
            "2026-03-02 15:00",
            "2026-03-02 17:00",
        )];
        let timeline =
            schedule.shifts(&overrides, utc("2026-03-02 08:00"), utc("2026-03-03 08:00"));
        assert_eq!(
            rows(&timeline),
            [
                "carol daytime 2026-03-02 08:00..2026-03-02 15:00",
                "zoe override:7 2026-03-02 15:00..2026-03-02 17:00",
                "alice primary 2026-03-02 17:00..2026-03-03 08:00",
            ]
        );
        assert_exact(
            &schedule,
            &overrides,
            utc("2026-03-01 00:00"),
            utc("2026-03-04 00:00"),
            TimeDelta::minutes(11),
        );
    }

    #[test]
    fn next_after_finds_the_next_person_across_overrides() {
        let schedule = schedule(
            chrono_tz::UTC,
            vec![layer(
                "primary",
                &["alice", "bob"],
                "1d",
                "09:00",
                "2026-03-02",
            )],
        );
        let carol = [cover(
            "1",
            "primary",
            "carol",
            "2026-03-02 12:00",
            "2026-03-02 15:00",
        )];
        // Alice covering the start of bob's shift herself: bob is next once it ends.
        let alice = [cover(
            "2",
            "primary",
            "alice",
            "2026-03-03 09:00",
            "2026-03-03 12:00",
        )];
        let cases: [(&[Override], &str, &str); 5] = [
            (
                &carol,
                "2026-03-02 10:00",
                "carol override:1 2026-03-02 12:00..2026-03-02 15:00",
            ),
            (
                &carol,
                "2026-03-02 13:00",
                "alice primary 2026-03-02 15:00..2026-03-03 09:00",
            ),
            (
                &carol,
                "2026-03-02 15:00",
                "bob primary 2026-03-03 09:00..2026-03-04 09:00",
            ),
            (
                &alice,
                "2026-03-02 10:00",
                "bob primary 2026-03-03 12:00..2026-03-04 09:00",
            ),
            (
                &[],
                "2026-03-01 00:00",
                "alice primary 2026-03-02 09:00..2026-03-03 09:00",
            ),
        ];
        for (overrides, at, expected) in cases {
            let next = schedule
                .next_after(overrides, utc(at))
                .map(|shift| row(&shift));
            assert_eq!(next.as_deref(), Some(expected), "at {at}");
        }
    }

    #[test]
    fn one_member_is_on_call_from_the_layer_start_until_an_override() {
        let schedule = schedule(
            chrono_tz::UTC,
            vec![layer("primary", &["alice"], "1d", "09:00", "2026-01-01")],
        );
        let at = utc("2026-03-02 12:00");
        // Nothing ever changes: the shift is cut off at the lookahead.
        let shift = schedule.on_call_at(&[], at).expect("on call");
        assert_eq!(shift.start, utc("2026-01-01 09:00"));
        assert_eq!(shift.end, at + TimeDelta::days(LOOKAHEAD_DAYS));
        assert_eq!(schedule.next_after(&[], at), None);
        let timeline = schedule.shifts(&[], at, at + TimeDelta::days(900));
        assert_eq!(timeline.len(), 1, "{timeline:?}");
        assert_eq!(timeline[0].start, utc("2026-01-01 09:00"));
        assert!(timeline[0].end >= at + TimeDelta::days(900));

        let overrides = [cover(
            "1",
            "primary",
            "bob",
            "2026-03-02 13:00",
            "2026-03-02 14:00",
        )];
        assert_eq!(
            on_call_row(&schedule, &overrides, at),
            "alice primary 2026-01-01 09:00..2026-03-02 13:00"
        );
        let next = schedule.next_after(&overrides, at).map(|shift| row(&shift));
        assert_eq!(
            next.as_deref(),
            Some("bob override:1 2026-03-02 13:00..2026-03-02 14:00")
        );
        let next = schedule.next_after(&overrides, utc("2026-03-02 13:30"));
        assert_eq!(next.map(|shift| shift.user).as_deref(), Some("alice"));
    }

    #[test]
    fn a_schedule_with_nobody_on_call_answers_none_everywhere() {
        let never = Restriction {
            days: Vec::new(),
            from: NaiveTime::MIN,
            to: NaiveTime::MIN,
        };
        let schedules = [
            schedule(Berlin, Vec::new()),
            schedule(
                Berlin,
                vec![layer("primary", &[], "1d", "09:00", "2026-01-01")],
            ),
            schedule(
                Berlin,
                vec![Layer {
                    shift: ShiftLength::Hours(0),
                    ..layer("primary", &["alice"], "1d", "09:00", "2026-01-01")
                }],
            ),
            schedule(
                Berlin,
                vec![Layer {
                    restriction: Some(never),
                    ..layer("primary", &["alice"], "1d", "09:00", "2026-01-01")
                }],
            ),
        ];
        let at = utc("2026-03-02 12:00");
        for schedule in &schedules {
            assert_eq!(schedule.on_call_at(&[], at), None, "{schedule:?}");
            assert_eq!(schedule.next_after(&[], at), None, "{schedule:?}");
            let timeline = schedule.shifts(&[], at, at + TimeDelta::days(3_000));
            assert_eq!(timeline, Vec::new(), "{schedule:?}");
        }
        // Overrides still put someone on call.
        let overrides = [cover(
            "1",
            "primary",
            "bob",
            "2026-03-03 13:00",
            "2026-03-03 14:00",
        )];
        let next = schedules[0]
            .next_after(&overrides, at)
            .map(|shift| row(&shift));
        assert_eq!(
            next.as_deref(),
            Some("bob override:1 2026-03-03 13:00..2026-03-03 14:00")
        );
    }

    #[test]
    fn a_layer_has_nobody_before_its_start() {
        let schedule = schedule(
            chrono_tz::UTC,
            vec![layer(
                "primary",
                &["alice", "bob"],
                "1d",
                "09:00",
                "2026-06-01",
            )],
        );
        let at = utc("2026-03-02 12:00");
        assert_eq!(schedule.on_call_at(&[], at), None);
        let next = schedule.next_after(&[], at).map(|shift| row(&shift));
        assert_eq!(
            next.as_deref(),
            Some("alice primary 2026-06-01 09:00..2026-06-02 09:00")
        );
        // Further than the lookahead: not found.
        let far = schedule.next_after(&[], utc("2025-01-01 00:00"));
        assert_eq!(far, None);
    }

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
