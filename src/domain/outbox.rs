//! The notification outbox's rules: one job per person per contact method per page, retried
//! with backoff until a limit, and what each outcome means for the job. Pure.

use super::escalation::ContactKind;
use super::incident::{Delivery, IncidentId};
use super::routing::Urgency;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

pub type JobId = u64;

/// Attempts before a notification is given up, unless configured.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Notifications per contact method per minute, unless configured.
pub const DEFAULT_PER_MINUTE: u32 = 6;

/// One notification to send: recorded before it is tried, removed once delivered or given up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationJob {
    pub id: JobId,
    pub incident: IncidentId,
    pub user: String,
    /// The contact method's name in the person's configuration.
    pub contact: String,
    pub kind: ContactKind,
    pub urgency: Urgency,
    pub level: u32,
    pub repeat: u32,
    pub due_at: DateTime<Utc>,
    /// Attempts made so far.
    pub attempts: u32,
    /// Asked for by a person (`/page bob`): sent even when the incident is acknowledged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
}

/// The pause before attempt `attempts + 1`: 10 s, 30 s, 90 s, … capped at 10 minutes.
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 10i64.saturating_mul(3i64.saturating_pow(attempts.saturating_sub(1)));
    Duration::seconds(seconds.min(600))
}

/// What one attempt came to, as the channel saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered(Option<String>),
    Temporary(String),
    Permanent(String),
}

/// What happens to a job after an attempt: the timeline's record of it, and the job again
/// with its next due time when it is to be retried.
pub fn after_attempt(
    mut job: NotificationJob,
    attempt: Attempt,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> (Delivery, Option<NotificationJob>) {
    job.attempts = job.attempts.saturating_add(1);
    match attempt {
        Attempt::Delivered(detail) => (Delivery::Delivered { detail }, None),
        Attempt::Temporary(reason) if job.attempts < max_attempts => {
            let delivery = Delivery::Failed {
                reason,
                attempt: job.attempts,
                of: max_attempts,
            };
            job.due_at = now + backoff(job.attempts);
            (delivery, Some(job))
        }
        Attempt::Temporary(reason) | Attempt::Permanent(reason) => (
            Delivery::GaveUp {
                reason,
                attempts: job.attempts,
            },
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn job(now: DateTime<Utc>) -> NotificationJob {
        NotificationJob {
            id: 7,
            incident: 42,
            user: "alice".to_string(),
            contact: "ops".to_string(),
            kind: ContactKind::Webhook,
            urgency: Urgency::High,
            level: 1,
            repeat: 0,
            due_at: now,
            attempts: 0,
            manual: false,
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let seconds: Vec<i64> = (1..=6).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(seconds, [10, 30, 90, 270, 600, 600]);
    }

    #[test]
    fn a_failing_send_is_retried_until_the_limit_then_given_up() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap();
        let mut current = job(now);
        for attempt in 1..3 {
            let (delivery, next) = after_attempt(current, Attempt::Temporary("500".into()), 3, now);
            assert_eq!(
                delivery,
                Delivery::Failed {
                    reason: "500".into(),
                    attempt,
                    of: 3
                }
            );
            current = next.expect("retried");
            assert_eq!(current.due_at, now + backoff(attempt));
        }
        let (delivery, next) = after_attempt(current, Attempt::Temporary("500".into()), 3, now);
        assert_eq!(
            delivery,
            Delivery::GaveUp {
                reason: "500".into(),
                attempts: 3
            }
        );
        assert!(next.is_none());
    }

    #[test]
    fn delivered_and_permanent_failures_end_the_job_at_once() {
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap();
        let (delivery, next) = after_attempt(job(now), Attempt::Delivered(None), 5, now);
        assert_eq!(delivery, Delivery::Delivered { detail: None });
        assert!(next.is_none());
        let (delivery, next) = after_attempt(job(now), Attempt::Permanent("404".into()), 5, now);
        assert_eq!(
            delivery,
            Delivery::GaveUp {
                reason: "404".into(),
                attempts: 1
            }
        );
        assert!(next.is_none());
    }
}
