//! Paging end to end with the shipped example configuration: the real binary, a real
//! webhook receiver and a real SMTP server (aiosmtpd). An alert pages level 1 by webhook and
//! email at once, level 2 after its delay — also across a `kill -9` — exactly as
//! `klaxon explain` predicted; acknowledging stops it.

#[path = "common/smtp.rs"]
mod smtp;

use axum::extract::{Path as UrlPath, State};
use axum::Json;
use serde_json::Value;
use smtp::SmtpServer;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

const ALICE: &str = "replace-me-alice-0123456789abcdef";
const GENERIC_KEY: &str = "replace-me-generic-0123456789abcdef";
/// Level 1's delay in the test's copy of the example (`1m` in the file itself).
const LEVEL_DELAY: Duration = Duration::from_secs(5);

/// One page the webhook receiver got: who, for which incident, at which level, and when.
#[derive(Debug)]
struct Page {
    path: String,
    user: String,
    incident: u64,
    level: u64,
    at: Instant,
}

async fn receive(
    State(pages): State<mpsc::UnboundedSender<Page>>,
    UrlPath(path): UrlPath<String>,
    Json(body): Json<Value>,
) -> axum::http::StatusCode {
    let _ = pages.send(Page {
        path,
        user: body["user"].as_str().unwrap_or_default().to_string(),
        incident: body["incident"]["id"].as_u64().unwrap_or_default(),
        level: body["level"].as_u64().unwrap_or_default(),
        at: Instant::now(),
    });
    axum::http::StatusCode::NO_CONTENT
}

/// A webhook receiver on 127.0.0.1:0; returns its base URL and what it receives.
async fn webhook_receiver() -> (String, mpsc::UnboundedReceiver<Page>) {
    let (sender, pages) = mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route("/{path}", axum::routing::post(receive))
        .with_state(sender);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, pages)
}

/// The example configuration with the receivers' addresses, an ephemeral port, a data dir
/// of the test's own and a short first delay; everything else exactly as shipped.
fn example_config(dir: &Path, webhook: &str, smtp_port: u16) -> PathBuf {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/klaxon.example.toml"
    ))
    .unwrap();
    let replacements = [
        ("listen = \"127.0.0.1:9800\"", "listen = \"127.0.0.1:0\""),
        ("http://127.0.0.1:9000", webhook),
        ("port = 2525", &format!("port = {smtp_port}")),
        (
            "delay = \"1m\"",
            &format!("delay = \"{}s\"", LEVEL_DELAY.as_secs()),
        ),
    ];
    let mut text = example.clone();
    for (from, to) in replacements {
        assert!(text.contains(from), "the example config has {from:?}");
        text = text.replace(from, to);
    }
    let file = dir.join("klaxon.toml");
    std::fs::write(&file, text).unwrap();
    file
}

/// `klaxon serve` on the config; returns it and the base URL from its banner.
async fn serve(config: &Path, data: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the engine starts")
        .unwrap()
        .expect("a banner");
    let base = first
        .rsplit(' ')
        .next()
        .expect("the banner ends with the URL")
        .to_string();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

/// Runs a CLI verb of the binary against the engine; returns its standard output.
async fn cli(base: &str, arguments: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .args(["--url", base, "--token", ALICE])
        .args(arguments)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "klaxon {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn next_page(pages: &mut mpsc::UnboundedReceiver<Page>) -> Page {
    tokio::time::timeout(Duration::from_secs(10), pages.recv())
        .await
        .expect("a page within 10 s")
        .expect("the receiver runs")
}

/// The recipient of the next email (its `To:` header).
async fn next_mail(server: &Arc<Mutex<SmtpServer>>) -> String {
    let server = server.clone();
    tokio::task::spawn_blocking(move || {
        let message = server.lock().unwrap().message();
        message
            .lines()
            .find_map(|line| line.strip_prefix("To: "))
            .expect("a To header")
            .to_string()
    })
    .await
    .unwrap()
}

async fn fire(base: &str, summary: &str) -> u64 {
    let answer: Value = reqwest::Client::new()
        .post(format!("{base}/v1/integrations/{GENERIC_KEY}"))
        .json(&serde_json::json!({"summary": summary, "severity": "critical", "service": "api"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["incidents"][0].as_u64().expect("an incident id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_pages_in_turn_across_a_kill_as_explained() {
    // Shared with the blocking reads of its output; stopped when the last handle drops.
    let mail = Arc::new(Mutex::new(SmtpServer::start(&[])));
    let smtp_port = mail.lock().unwrap().port;
    let (webhook, mut pages) = webhook_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let config = example_config(dir.path(), &webhook, smtp_port);
    let data = dir.path().join("data");
    let (mut engine, base) = serve(&config, &data).await;

    // What explain predicts, in the order it would happen, up to level 2's first pages.
    let explained: Value = serde_json::from_str(
        &cli(
            &base,
            &[
                "explain",
                "--service",
                "api",
                "--severity",
                "critical",
                "--output",
                "json",
            ],
        )
        .await,
    )
    .unwrap();
    assert_eq!(explained["policy"], "platform");
    let predicted: Vec<(String, String, u64)> = explained["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|page| page["contact"] == "webhook" || page["contact"] == "email")
        .map(|page| {
            (
                page["user"].as_str().unwrap().to_string(),
                page["contact"].as_str().unwrap().to_string(),
                page["level"].as_u64().unwrap(),
            )
        })
        .collect();
    // The example's rotation puts alice or bob on primary depending on the week; secondary
    // is the other one.
    let first = predicted[0].0.clone();
    let second = if first == "alice" { "bob" } else { "alice" };
    let expected = |user: &str, level| {
        vec![
            (user.to_string(), "webhook".to_string(), level),
            (user.to_string(), "email".to_string(), level),
        ]
    };
    assert_eq!(
        predicted,
        [expected(&first, 1), expected(second, 2)].concat(),
        "{explained}"
    );

    let fired_at = Instant::now();
    let id = fire(&base, "api 5xx rate high").await;
    let page = next_page(&mut pages).await;
    assert_eq!(
        (page.user.as_str(), page.incident, page.level),
        (first.as_str(), id, 1)
    );
    assert_eq!(page.path, first);
    assert!(
        page.at - fired_at < Duration::from_secs(1),
        "paged within a second"
    );
    assert_eq!(next_mail(&mail).await, format!("{first}@example.com"));

    // Once both outcomes are recorded (a send whose outcome a crash loses is sent again:
    // at least once), killed before level 2 is due and down past it: on restart level 2
    // pages at once, and level 1 is not paged again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = cli(&base, &["show", &id.to_string()]).await;
        if shown.matches(&format!(" to {first}: delivered")).count() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "outcomes recorded within 10 s: {shown}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        fired_at.elapsed() < LEVEL_DELAY,
        "the kill must come before level 2 is due; this machine took {:?}",
        fired_at.elapsed()
    );
    engine.kill().await.unwrap();
    tokio::time::sleep(LEVEL_DELAY).await; // the outage itself, not a synchronisation
    let (mut engine, base) = serve(&config, &data).await;
    let restarted = Instant::now();
    let page = next_page(&mut pages).await;
    assert_eq!((page.user.as_str(), page.level), (second, 2));
    assert!(
        page.at.saturating_duration_since(restarted) < Duration::from_secs(1),
        "overdue level at once"
    );
    assert_eq!(next_mail(&mail).await, format!("{second}@example.com"));
    let shown = cli(&base, &["show", &id.to_string()]).await;
    let levels = shown.matches("escalated to level").count();
    assert_eq!(levels, 2, "{shown}");
    assert!(
        shown.contains(&format!("webhook to {first}: delivered")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("email to {second}: delivered")),
        "{shown}"
    );

    // A second incident, acknowledged after level 1: level 2 never comes.
    let id = fire(&base, "checkout latency").await;
    let page = next_page(&mut pages).await;
    assert_eq!((page.incident, page.level), (id, 1));
    next_mail(&mail).await;
    cli(&base, &["ack", &id.to_string()]).await;
    let quiet = tokio::time::timeout(LEVEL_DELAY * 2, pages.recv()).await;
    assert!(
        quiet.is_err(),
        "no page after the acknowledgement: {quiet:?}"
    );
    let shown = cli(&base, &["show", &id.to_string()]).await;
    assert!(shown.contains("stopped"), "{shown}");
    engine.kill().await.unwrap();
}
