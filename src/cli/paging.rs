//! The paging verbs: `oncall`, `silence`, `override`, `explain`, over REST.

use super::{age, Output};
use crate::client::http::RestClient;
use crate::domain::escalation::short_span;
use crate::protocol::{ExplainView, OnCallView, OverrideView, SilenceView};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SilenceVerb {
    /// List silences and maintenance windows (expired ones only with --all)
    List {
        #[arg(long)]
        all: bool,
        #[arg(long, default_value = "table")]
        output: Output,
    },
    /// Silence what matches: nobody is paged for it until the silence ends
    Add {
        /// Matchers such as service=batch severity=warning env=~prod|staging
        #[arg(required = true, num_args = 1.., value_name = "MATCHER")]
        matchers: Vec<String>,
        /// How long, like 2h or 30m
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Start later (RFC 3339) instead of now
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Why, for the people who find it
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// End a silence now; what it held starts escalating
    Expire { id: String },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum OverrideVerb {
    /// List overrides
    List {
        #[arg(long, default_value = "table")]
        output: Output,
    },
    /// Put someone on call for a schedule for a while, whoever the rotation says
    Add {
        #[arg(long)]
        schedule: String,
        #[arg(long)]
        user: String,
        /// Start (RFC 3339; default now)
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// End (RFC 3339)
        #[arg(long, value_name = "TIME", conflicts_with = "duration")]
        until: Option<String>,
        /// Or a length, like 8h
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
    },
    /// Delete an override made over the API
    Delete { id: String },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// A label of the imagined alert, as NAME=VALUE; repeatable
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    #[arg(long)]
    pub service: Option<String>,
    /// critical, error (default), warning or info
    #[arg(long, default_value = "error")]
    pub severity: String,
    /// The integration it would arrive on
    #[arg(long, default_value = "generic")]
    pub integration: String,
    #[arg(long, default_value = "table")]
    pub output: Output,
}

pub enum PagingRequest {
    OnCall { output: Output },
    Silence(SilenceVerb),
    Override(OverrideVerb),
    Explain(ExplainArgs),
}

fn print_json<T: serde::Serialize>(value: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("views serialise")
    );
}

pub async fn run(client: &RestClient, request: PagingRequest) -> Result<(), String> {
    let failed = |error: crate::client::http::ClientError| error.to_string();
    let now = Utc::now();
    match request {
        PagingRequest::OnCall { output } => {
            let schedules = client.oncall().await.map_err(failed)?;
            match output {
                Output::Json => print_json(&schedules),
                Output::Table => print!("{}", oncall_table(&schedules, now)),
            }
        }
        PagingRequest::Silence(SilenceVerb::List { all, output }) => {
            let mut silences = client.silences().await.map_err(failed)?;
            if !all {
                silences.retain(|silence| silence.state != "expired");
            }
            match output {
                Output::Json => print_json(&silences),
                Output::Table => print!("{}", silence_table(&silences, now)),
            }
        }
        PagingRequest::Silence(SilenceVerb::Add {
            matchers,
            duration,
            from,
            comment,
        }) => {
            let mut body = json!({"matchers": matchers, "duration": duration, "comment": comment});
            if let Some(from) = from {
                body["starts_at"] = Value::String(from);
            }
            let silence = client.add_silence(&body).await.map_err(failed)?;
            println!(
                "silence {} {}: {} until {}",
                silence.id,
                silence.state,
                silence.matchers.join(" "),
                silence.ends_at.to_rfc3339()
            );
        }
        PagingRequest::Silence(SilenceVerb::Expire { id }) => {
            let silence = client.expire_silence(&id).await.map_err(failed)?;
            println!(
                "silence {} expired: {}",
                silence.id,
                silence.matchers.join(" ")
            );
        }
        PagingRequest::Override(OverrideVerb::List { output }) => {
            let overrides = client.overrides().await.map_err(failed)?;
            match output {
                Output::Json => print_json(&overrides),
                Output::Table => print!("{}", override_table(&overrides, now)),
            }
        }
        PagingRequest::Override(OverrideVerb::Add {
            schedule,
            user,
            from,
            until,
            duration,
        }) => {
            let mut body = json!({"schedule": schedule, "user": user});
            if let Some(from) = from {
                body["start"] = Value::String(from);
            }
            match (until, duration) {
                (Some(until), _) => body["end"] = Value::String(until),
                (None, Some(duration)) => body["duration"] = Value::String(duration),
                (None, None) => return Err("say until when: --until TIME or --for 8h".to_string()),
            }
            let entry = client.add_override(&body).await.map_err(failed)?;
            println!(
                "override {}: {} on call for {} from {} to {}",
                entry.id,
                entry.user,
                entry.schedule,
                entry.start.to_rfc3339(),
                entry.end.to_rfc3339()
            );
        }
        PagingRequest::Override(OverrideVerb::Delete { id }) => {
            let entry = client.remove_override(&id).await.map_err(failed)?;
            println!(
                "override {} deleted ({} for {})",
                entry.id, entry.user, entry.schedule
            );
        }
        PagingRequest::Explain(arguments) => {
            let mut query: Vec<(&str, String)> = Vec::new();
            for label in &arguments.labels {
                if !label.contains('=') {
                    return Err(format!("--label {label:?} must be NAME=VALUE"));
                }
                query.push(("label", label.clone()));
            }
            if let Some(service) = &arguments.service {
                query.push(("service", service.clone()));
            }
            query.push(("severity", arguments.severity.clone()));
            query.push(("integration", arguments.integration.clone()));
            let view = client.explain(&query).await.map_err(failed)?;
            match arguments.output {
                Output::Json => print_json(&view),
                Output::Table => print!("{}", explain_text(&view, now)),
            }
        }
    }
    Ok(())
}

/// `in 3h 20m` or `3h 20m ago`, to the minute.
fn relative(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at >= now {
        format!("in {}", age(now, at))
    } else {
        format!("{} ago", age(at, now))
    }
}

fn local(at: DateTime<Utc>, zone: &str) -> String {
    match zone.parse::<chrono_tz::Tz>() {
        Ok(zone) => at
            .with_timezone(&zone)
            .format("%a %d %b %H:%M %Z")
            .to_string(),
        Err(_) => at.format("%a %d %b %H:%M UTC").to_string(),
    }
}

pub fn oncall_table(schedules: &[OnCallView], now: DateTime<Utc>) -> String {
    if schedules.is_empty() {
        return "no schedules configured (see [[schedules]] in the configuration)\n".to_string();
    }
    let mut text = String::new();
    for schedule in schedules {
        text.push_str(&format!("{} ({})\n", schedule.schedule, schedule.time_zone));
        match &schedule.now {
            Some(shift) => text.push_str(&format!(
                "  now   {:<12} until {} ({}){}\n",
                shift.user,
                local(shift.end, &schedule.time_zone),
                relative(shift.end, now),
                shift
                    .override_id
                    .as_ref()
                    .map(|id| format!("  override {id}"))
                    .unwrap_or_default()
            )),
            None => text.push_str("  now   nobody on call\n"),
        }
        match &schedule.next {
            Some(shift) => text.push_str(&format!(
                "  next  {:<12} from  {} ({}){}\n",
                shift.user,
                local(shift.start, &schedule.time_zone),
                relative(shift.start, now),
                shift
                    .override_id
                    .as_ref()
                    .map(|id| format!("  override {id}"))
                    .unwrap_or_default()
            )),
            None => text.push_str("  next  nobody scheduled\n"),
        }
        for entry in &schedule.overrides {
            text.push_str(&format!(
                "  override {} {}: {} to {}\n",
                entry.id,
                entry.user,
                local(entry.start, &schedule.time_zone),
                local(entry.end, &schedule.time_zone)
            ));
        }
    }
    text
}

pub fn silence_table(silences: &[SilenceView], now: DateTime<Utc>) -> String {
    if silences.is_empty() {
        return "no silences\n".to_string();
    }
    let mut text = format!(
        "{:<16} {:<8} {:<16} {:<12} MATCHERS\n",
        "ID", "STATE", "ENDS", "BY"
    );
    for silence in silences {
        let ends = match silence.state.as_str() {
            "pending" => format!("starts {}", relative(silence.starts_at, now)),
            _ => relative(silence.ends_at, now),
        };
        let by = silence.created_by.as_deref().unwrap_or("config");
        let mut line = format!(
            "{:<16} {:<8} {:<16} {:<12} {}",
            silence.id,
            silence.state,
            ends,
            by,
            silence.matchers.join(" ")
        );
        if !silence.comment.is_empty() {
            line.push_str(&format!(
                "  # {}",
                crate::tui::text::sanitize(&silence.comment)
            ));
        }
        text.push_str(&line);
        text.push('\n');
    }
    text
}

pub fn override_table(overrides: &[OverrideView], now: DateTime<Utc>) -> String {
    if overrides.is_empty() {
        return "no overrides\n".to_string();
    }
    let mut text = format!(
        "{:<10} {:<14} {:<12} {:<26} {:<26} BY\n",
        "ID", "SCHEDULE", "USER", "FROM", "TO"
    );
    for entry in overrides {
        text.push_str(&format!(
            "{:<10} {:<14} {:<12} {:<26} {:<26} {}{}\n",
            entry.id,
            entry.schedule,
            entry.user,
            entry.start.format("%Y-%m-%d %H:%M UTC").to_string(),
            entry.end.format("%Y-%m-%d %H:%M UTC").to_string(),
            entry.created_by.as_deref().unwrap_or("config"),
            if entry.end <= now { "  (ended)" } else { "" }
        ));
    }
    text
}

pub fn explain_text(view: &ExplainView, now: DateTime<Utc>) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "route:    {}\n",
        view.route
            .as_deref()
            .unwrap_or("(none matched: the default)")
    ));
    text.push_str(&format!(
        "service:  {}\n",
        view.service.as_deref().unwrap_or("-")
    ));
    text.push_str(&format!(
        "policy:   {}\n",
        view.policy.as_deref().unwrap_or("-")
    ));
    text.push_str(&format!("urgency:  {}\n", view.urgency.as_str()));
    if let Some(silence) = &view.silenced_by {
        text.push_str(&format!("silenced: by silence {silence}\n"));
    }
    if let Some(reason) = &view.not_paged {
        text.push_str(&format!("nobody is paged: {reason}\n"));
        return text;
    }
    text.push_str("if nobody acknowledges:\n");
    for page in &view.pages {
        let offset = page.at - now;
        let via = match (&page.contact, page.kind) {
            (Some(contact), Some(kind)) if contact == kind.as_str() => contact.clone(),
            (Some(contact), Some(kind)) => format!("{contact} ({kind})"),
            _ => "no contact method: nobody is reached".to_string(),
        };
        let run = if page.repeat > 0 {
            format!(" repeat {}", page.repeat)
        } else {
            String::new()
        };
        text.push_str(&format!(
            "  {:>8}  level {}{}  {:<12} {}\n",
            format!("+{}", short_span(offset)),
            page.level,
            run,
            page.user,
            via
        ));
    }
    if view.pages.is_empty() {
        text.push_str("  nobody: no one is on call for any level\n");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_naturally() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (60, "1m"),
            (90, "1m30s"),
            (3900, "1h5m"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(short_span(chrono::Duration::seconds(seconds)), expected);
        }
    }
}
