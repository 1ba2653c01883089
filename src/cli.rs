//! The command-line verbs: running the engine, checking config, and the scriptable REST
//! verbs with their table and JSON output.

mod paging;

pub use paging::{ExplainArgs, OverrideVerb, PagingRequest, SilenceVerb};

use crate::client::http::RestClient;
use crate::config::{self, Config, LoadOptions, Role};
use crate::domain::IncidentId;
use crate::engine::SystemClock;
use crate::ingest::Source;
use crate::protocol::{IncidentDetail, IncidentView};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SendArgs {
    /// What is wrong, in one line
    pub summary: String,
    /// critical, error, warning or info
    #[arg(long, default_value = "error")]
    pub severity: String,
    #[arg(long)]
    pub service: Option<String>,
    /// Alerts with the same key join one incident (default: derived from service + summary)
    #[arg(long)]
    pub dedup_key: Option<String>,
    /// Send a resolve instead of a firing alert
    #[arg(long)]
    pub resolve: bool,
    /// A label, as NAME=VALUE; repeatable
    #[arg(long = "label", value_name = "NAME=VALUE")]
    pub labels: Vec<String>,
    /// The integration key to send through (default: the local `generic` integration's)
    #[arg(long)]
    pub key: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Comma-separated statuses: triggered, acknowledged, resolved (default: the open ones)
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// Every status, resolved included
    #[arg(long, conflicts_with = "status")]
    pub all: bool,
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value = "table")]
    pub output: Output,
}

pub struct Remote {
    pub url: Option<String>,
    pub token: Option<String>,
    pub load: LoadOptions,
}

pub enum Request {
    Send(SendArgs),
    List(ListArgs),
    Show {
        id: IncidentId,
        output: Output,
    },
    Act {
        id: IncidentId,
        action: &'static str,
        body: Value,
    },
    Paging(PagingRequest),
    Postmortem {
        id: IncidentId,
        file: Option<std::path::PathBuf>,
    },
    Search {
        text: String,
        limit: usize,
        output: Output,
    },
}

impl Request {
    pub fn act(id: IncidentId, action: &'static str) -> Self {
        Request::Act {
            id,
            action,
            body: json!({}),
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))
}

pub fn check_config(file: &Path) -> Result<(), String> {
    match config::check_file(file) {
        Ok(config) => {
            println!(
                "{}: ok ({} integrations, {} users)",
                file.display(),
                config.integrations.len(),
                config.users.len()
            );
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

fn banner(config: &Config, address: std::net::SocketAddr) -> String {
    let mut text = format!(
        "klaxon engine listening on http://{address}\n  data: {}\n",
        config.server.data_dir.display()
    );
    for integration in &config.integrations {
        let url = match integration.source {
            Source::Pagerduty => format!("http://{address}/v2/enqueue"),
            _ => format!("http://{address}/v1/integrations/{}", integration.key),
        };
        text.push_str(&format!(
            "  integration {} ({}): {url}\n",
            integration.name,
            integration.source.as_str()
        ));
    }
    let generic = config
        .integrations
        .iter()
        .find(|integration| integration.source == Source::Generic)
        .map(|integration| format!("http://{address}/v1/integrations/{}", integration.key));
    if let Some(url) = generic {
        text.push_str(&format!(
            "send a test alert:\n  curl -H 'Content-Type: application/json' \
             -d '{{\"summary\":\"disk full on db-1\",\"severity\":\"critical\"}}' {url}\n  \
             or: klaxon send \"disk full on db-1\" --severity critical\n"
        ));
    }
    text
}

pub fn serve(load: &LoadOptions) -> Result<(), String> {
    let config = config::load(load).map_err(|error| error.to_string())?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KLAXON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        )
        .try_init();
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .map_err(|error| format!("cannot listen on {}: {error}", config.server.listen))?;
        let running = crate::api::launch(&config, listener, Arc::new(SystemClock))
            .await
            .map_err(|error| error.to_string())?;
        print!("{}", banner(&config, running.address));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        tracing::info!(address = %running.address, "serving");
        shutdown_signal().await;
        eprintln!("klaxon: stopping (every accepted alert is already on disk)");
        running.stop().await;
        Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// What this machine's own engine configuration says, read without creating anything.
struct LocalEngine {
    url: String,
    admin_token: Option<String>,
    generic_key: Option<String>,
}

fn local_engine(load: &LoadOptions) -> LocalEngine {
    let file = load
        .config_file
        .clone()
        .or_else(|| config::default_config_file().filter(|path| path.exists()));
    let from_file = file.and_then(|file| config::check_file(&file).ok());
    let data_dir = load
        .data_dir
        .clone()
        .or_else(|| {
            from_file
                .as_ref()
                .map(|config| config.server.data_dir.clone())
        })
        .unwrap_or_else(config::default_data_dir);
    let secrets = config::local_secrets(&data_dir);
    let listen = load
        .listen
        .or_else(|| from_file.as_ref().map(|config| config.server.listen))
        .unwrap_or_else(|| config::ServerConfig::default().listen);
    let file_admin = from_file.as_ref().and_then(|config| {
        let admin = config.users.iter().find(|user| user.role == Role::Admin);
        admin.map(|user| user.token.clone())
    });
    let file_generic = from_file.as_ref().and_then(|config| {
        let generic = config
            .integrations
            .iter()
            .find(|integration| integration.source == Source::Generic);
        generic.map(|integration| integration.key.clone())
    });
    LocalEngine {
        url: format!("http://{listen}"),
        admin_token: file_admin
            .or_else(|| secrets.as_ref().map(|secrets| secrets.admin_token.clone())),
        generic_key: file_generic.or_else(|| {
            let secrets = secrets.as_ref()?;
            secrets.integration_keys.get("generic").cloned()
        }),
    }
}

pub fn run_remote(remote: &Remote, request: Request) -> Result<(), String> {
    let local = local_engine(&remote.load);
    let url = remote.url.clone().unwrap_or_else(|| local.url.clone());
    let token = remote.token.clone().or_else(|| local.admin_token.clone());
    let client = RestClient::new(&url, token);
    runtime()?.block_on(async {
        match request {
            Request::Send(arguments) => {
                let key = match arguments.key.clone().or_else(|| local.generic_key.clone()) {
                    Some(key) => key,
                    None => return Err("no integration key: pass --key".to_string()),
                };
                let body = send_body(&arguments)?;
                let accepted = client
                    .send_alert(&key, &body)
                    .await
                    .map_err(|error| error.to_string())?;
                let ids: Vec<String> = accepted
                    .incidents
                    .iter()
                    .map(|id| format!("#{id}"))
                    .collect();
                println!(
                    "accepted {} alert(s){}",
                    accepted.alerts,
                    if ids.is_empty() {
                        String::new()
                    } else {
                        format!(": incident {}", ids.join(", "))
                    }
                );
                Ok(())
            }
            Request::List(arguments) => {
                let statuses = if arguments.all {
                    Vec::new()
                } else if arguments.status.is_empty() {
                    vec!["triggered".to_string(), "acknowledged".to_string()]
                } else {
                    arguments.status.clone()
                };
                let incidents = client
                    .incidents(&statuses, arguments.service.as_deref(), arguments.limit)
                    .await
                    .map_err(|error| error.to_string())?;
                match arguments.output {
                    Output::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&incidents).expect("views serialise")
                    ),
                    Output::Table => print!("{}", incident_table(&incidents, Utc::now())),
                }
                Ok(())
            }
            Request::Show { id, output } => {
                let detail = client.detail(id).await.map_err(|error| error.to_string())?;
                match output {
                    Output::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&detail).expect("views serialise")
                    ),
                    Output::Table => print!("{}", detail_text(&detail)),
                }
                Ok(())
            }
            Request::Act { id, action, body } => {
                let incident = client
                    .act(id, action, body)
                    .await
                    .map_err(|error| error.to_string())?;
                let done = match action {
                    "acknowledge" => "acknowledged",
                    "resolve" => "resolved",
                    "notes" => "noted",
                    "snooze" => "snoozed",
                    "reassign" => "reassigned",
                    "escalate" => "escalated",
                    other => other,
                };
                println!(
                    "#{} {done}: {} [{}]",
                    incident.id,
                    incident.title,
                    incident.status.as_str()
                );
                if action == "escalate" {
                    println!(
                        "  now at level {} of {}",
                        incident.escalation.level,
                        incident.escalation.policy.as_deref().unwrap_or("-")
                    );
                }
                Ok(())
            }
            Request::Paging(request) => paging::run(&client, request).await,
            Request::Search {
                text,
                limit,
                output,
            } => {
                let hits = client
                    .search(&text, limit)
                    .await
                    .map_err(|error| error.to_string())?;
                match output {
                    Output::Json => println!(
                        "{}",
                        serde_json::to_string_pretty(&hits).expect("hits serialise")
                    ),
                    Output::Table => print!("{}", search_table(&hits)),
                }
                Ok(())
            }
            Request::Postmortem { id, file } => {
                let draft = client
                    .postmortem(id)
                    .await
                    .map_err(|error| error.to_string())?;
                match file {
                    Some(file) => {
                        std::fs::write(&file, &draft)
                            .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
                        println!("postmortem draft of #{id} written to {}", file.display());
                    }
                    None => print!("{draft}"),
                }
                Ok(())
            }
        }
    })
}

/// One line per hit: the incident, and for a message its author and the matching passage.
pub fn search_table(hits: &[crate::search::SearchHit]) -> String {
    if hits.is_empty() {
        return "nothing found\n".to_string();
    }
    let mut text = String::new();
    for hit in hits {
        let what = match (&hit.message, &hit.snippet) {
            (Some(message), Some(snippet)) => format!(
                "{} {}: {}",
                message.at.format("%Y-%m-%d %H:%M"),
                message.author,
                snippet.marked("*", "*")
            ),
            (None, Some(snippet)) => snippet.marked("*", "*"),
            _ => String::new(),
        };
        let line = format!(
            "#{:<6} {:<4} {:<12} {}{}",
            hit.incident,
            hit.severity.label(),
            hit.status.as_str(),
            hit.title,
            if what.is_empty() {
                String::new()
            } else {
                format!("\n         {what}")
            }
        );
        text.push_str(&crate::tui::text::sanitize(&line));
        text.push('\n');
    }
    text
}

fn send_body(arguments: &SendArgs) -> Result<Value, String> {
    let mut labels = serde_json::Map::new();
    for label in &arguments.labels {
        let (name, value) = label
            .split_once('=')
            .ok_or_else(|| format!("label {label:?} must look like NAME=VALUE"))?;
        labels.insert(name.to_string(), Value::String(value.to_string()));
    }
    let mut body = json!({
        "summary": arguments.summary,
        "severity": arguments.severity,
        "status": if arguments.resolve { "resolved" } else { "firing" },
    });
    let object = body.as_object_mut().expect("built as an object");
    if let Some(service) = &arguments.service {
        object.insert("service".into(), json!(service));
    }
    if let Some(key) = &arguments.dedup_key {
        object.insert("dedup_key".into(), json!(key));
    }
    if !labels.is_empty() {
        object.insert("labels".into(), Value::Object(labels));
    }
    Ok(body)
}

/// "3m", "2h5m", "4d": how long ago, short enough for a table column.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    match seconds {
        0..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m", seconds / 60),
        3600..=86_399 => format!("{}h{}m", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{}d{}h", seconds / 86_400, seconds % 86_400 / 3600),
    }
}

pub fn incident_table(incidents: &[IncidentView], now: DateTime<Utc>) -> String {
    if incidents.is_empty() {
        return "no incidents\n".to_string();
    }
    let rows: Vec<[String; 8]> = incidents
        .iter()
        .map(|incident| {
            [
                format!("#{}", incident.id),
                incident.severity.label().to_string(),
                incident.status.as_str().to_string(),
                age(incident.created_at, now),
                incident.service.clone().unwrap_or_else(|| "-".into()),
                incident.alert_count.to_string(),
                incident.assignee.clone().unwrap_or_else(|| "-".into()),
                incident.title.clone(),
            ]
        })
        .collect();
    let header = [
        "ID", "SEV", "STATUS", "AGE", "SERVICE", "ALERTS", "ASSIGNEE", "TITLE",
    ];
    let mut widths: Vec<usize> = header.iter().map(|name| name.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, cell) in cells.iter().enumerate() {
            if index + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  ", width = widths[index]));
            }
        }
        text.push('\n');
        text
    };
    let mut text = line(header.to_vec());
    for row in &rows {
        text.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    text
}

/// Where the incident stands in its policy, as one line; `None` when no policy applies.
pub fn escalation_line(incident: &IncidentView, now: DateTime<Utc>) -> Option<String> {
    let escalation = &incident.escalation;
    if let Some(silence) = &escalation.silenced_by {
        return Some(format!("silenced by silence {silence}: nobody is paged"));
    }
    let policy = escalation.policy.as_deref()?;
    let mut line = format!("{policy}, level {}", escalation.level);
    if escalation.repeat > 0 {
        line.push_str(&format!(" (repeat {})", escalation.repeat));
    }
    if let Some(urgency) = escalation.urgency {
        line.push_str(&format!(", {} urgency", urgency.as_str()));
    }
    match (escalation.next_at, incident.status) {
        (Some(at), _) if at > now => line.push_str(&format!("; next level in {}", age(now, at))),
        (Some(_), _) => line.push_str("; next level due now"),
        (None, crate::domain::IncidentStatus::Triggered) => line.push_str("; policy exhausted"),
        (None, _) => line.push_str("; stopped"),
    }
    Some(line)
}

pub fn detail_text(detail: &IncidentDetail) -> String {
    let incident = &detail.incident;
    let mut text = format!(
        "#{} [{}] {} — {}\n",
        incident.id,
        incident.severity.label(),
        incident.title,
        incident.status.as_str()
    );
    let field = |name: &str, value: Option<String>| {
        value
            .map(|value| format!("  {name:<13}{value}\n"))
            .unwrap_or_default()
    };
    text.push_str(&field("service", incident.service.clone()));
    text.push_str(&field("integration", Some(incident.integration.clone())));
    text.push_str(&field("alerts", Some(incident.alert_count.to_string())));
    text.push_str(&field("created", Some(incident.created_at.to_rfc3339())));
    text.push_str(&field(
        "acknowledged",
        incident.acknowledged_at.map(|at| {
            format!(
                "{} by {}",
                at.to_rfc3339(),
                incident.acknowledged_by.clone().unwrap_or_default()
            )
        }),
    ));
    text.push_str(&field(
        "resolved",
        incident.resolved_at.map(|at| at.to_rfc3339()),
    ));
    text.push_str(&field(
        "snoozed until",
        incident.snoozed_until.map(|at| at.to_rfc3339()),
    ));
    text.push_str(&field("assignee", incident.assignee.clone()));
    text.push_str(&field("escalation", escalation_line(incident, Utc::now())));
    if !incident.labels.is_empty() {
        let labels: Vec<String> = incident
            .labels
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        text.push_str(&field("labels", Some(labels.join(" "))));
    }
    for link in &incident.links {
        text.push_str(&field("link", Some(link.href.clone())));
    }
    text.push_str("timeline:\n");
    for entry in &detail.timeline {
        text.push_str(&format!(
            "  {}  {:<20} {}\n",
            entry.at.format("%Y-%m-%d %H:%M:%S"),
            entry.actor.to_string(),
            entry.description
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages_read_naturally() {
        let now = Utc.with_ymd_and_hms(2026, 1, 2, 12, 0, 0).unwrap();
        assert_eq!(age(now - chrono::Duration::seconds(5), now), "5s");
        assert_eq!(age(now - chrono::Duration::minutes(90), now), "1h30m");
        assert_eq!(age(now - chrono::Duration::hours(49), now), "2d1h");
        assert_eq!(age(now + chrono::Duration::seconds(5), now), "0s");
    }

    #[test]
    fn send_refuses_malformed_labels() {
        let arguments = SendArgs {
            summary: "x".into(),
            severity: "error".into(),
            service: None,
            dedup_key: None,
            resolve: false,
            labels: vec!["novalue".into()],
            key: None,
        };
        assert!(send_body(&arguments).unwrap_err().contains("NAME=VALUE"));
    }
}
