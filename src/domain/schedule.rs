//! On-call schedules: layered rotations computed in the schedule's own time zone, with
//! time-boxed overrides on top. Pure: every function takes the instant it is asked about.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

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
/// hour counts are exact elapsed hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftLength {
    Hours(u32),
    Days(u32),
    Weeks(u32),
}

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
