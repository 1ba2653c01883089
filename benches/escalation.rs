//! How late escalation steps fire under ingest load, end to end against the real release
//! binary: 2,000 incidents with a 2 s first level are opened while another client keeps
//! sending alerts that page nobody; each level-2 page's arrival at a real webhook receiver
//! is compared with when it was due (created_at + 2 s). The target is within one second.
//!
//! Run: `cargo bench --bench escalation` (KLAXON_BENCH_INCIDENTS changes the count).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

const KEY: &str = "bench-key-00000000000000000000";
const TOKEN: &str = "bench-token-000000000000000000";
const DELAY_SECONDS: i64 = 2;
const PEOPLE: usize = 20;

async fn receive(
    State(pages): State<mpsc::UnboundedSender<(DateTime<Utc>, Value)>>,
    Json(body): Json<Value>,
) -> axum::http::StatusCode {
    let _ = pages.send((Utc::now(), body));
    axum::http::StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() {
    let incidents: usize = std::env::var("KLAXON_BENCH_INCIDENTS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(2_000);
    let (sender, mut pages) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/page", axum::routing::post(receive))
        .with_state(sender);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://{}/page", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("klaxon.toml");
    let names: Vec<String> = (1..=PEOPLE).map(|n| format!("responder{n}")).collect();
    let people: String = names
        .iter()
        .map(|name| {
            format!(
                "\n[[users]]\nname = \"{name}\"\ntoken = \"{name}-token-0000000000000\"\nrole = \"responder\"\n[users.contacts]\nwebhook = \"{receiver}\"\n"
            )
        })
        .collect();
    let members: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
    let members = members.join(", ");
    std::fs::write(
        &config,
        format!(
            r#"[server]
listen = "127.0.0.1:0"
data_dir = "{data}"

[[integrations]]
name = "bench"
source = "generic"
key = "{KEY}"
rate_limit = 0

[[users]]
name = "admin"
token = "{TOKEN}"
role = "admin"
{people}
[notify]
per_minute = 600

[[teams]]
name = "responders"
members = [{members}]

# Round robin spreads the pages over twenty people: one person's contact method is
# throttled to `per_minute`, which is what a person can read, not what a bench needs.
[[escalation_policies]]
name = "ops"
round_robin = true
[[escalation_policies.levels]]
targets = ["team:responders"]
delay = "{DELAY_SECONDS}s"
[[escalation_policies.levels]]
targets = ["team:responders"]

[routing]
default_escalation_policy = "ops"

[[routes]]
name = "background"
match = ["load=background"]
page = false
"#,
            data = dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next_line().await.unwrap().unwrap();
    let base = banner
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap()
        .to_string();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let url = format!("{base}/v1/integrations/{KEY}");
    let http = reqwest::Client::new();

    // Background load: re-fires of 400 keys that page nobody (the `background` route
    // matches them and names no policy).
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for worker in 0..8 {
        let (http, url, stop, sent) = (http.clone(), url.clone(), stop.clone(), sent.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let body = json!({"summary": format!("load {worker}-{}", n % 50),
                    "severity": "warning", "labels": {"load": "background"}});
                if http.post(&url).json(&body).send().await.is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    let started = Instant::now();
    for index in 0..incidents {
        let body = json!({"summary": format!("paged {index}"), "severity": "critical"});
        let answer = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 202);
    }
    let opening = started.elapsed();

    let mut lateness = Vec::with_capacity(incidents);
    let deadline = Instant::now() + Duration::from_secs(120);
    while lateness.len() < incidents && Instant::now() < deadline {
        let Ok(Some((arrived, page))) =
            tokio::time::timeout(Duration::from_secs(30), pages.recv()).await
        else {
            break;
        };
        if page["level"] != 2 {
            continue;
        }
        let created: DateTime<Utc> = page["incident"]["created_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let due = created + chrono::Duration::seconds(DELAY_SECONDS);
        lateness.push((arrived - due).to_std().unwrap_or(Duration::ZERO));
    }
    stop.store(true, Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    let background = sent.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    lateness.sort();
    if lateness.is_empty() {
        println!("escalation: no level-2 page arrived; is the engine paging at all?");
        let _ = child.kill().await;
        std::process::exit(1);
    }
    let at = |fraction: f64| {
        lateness[((lateness.len() as f64 * fraction) as usize).min(lateness.len() - 1)]
    };
    println!(
        "escalation: {} of {incidents} level-2 pages (opened in {:.1}s) with ~{background:.0} background alerts/s",
        lateness.len(),
        opening.as_secs_f64()
    );
    println!(
        "  late by: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target: within 1 s)",
        at(0.5).as_secs_f64() * 1000.0,
        at(0.99).as_secs_f64() * 1000.0,
        lateness.last().unwrap().as_secs_f64() * 1000.0
    );
    let _ = child.kill().await;
}
