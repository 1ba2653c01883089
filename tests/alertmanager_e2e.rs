//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) sending real webhooks to
//! a klaxon engine: alerts posted to Alertmanager's API v2 open incidents with the right title
//! and severity, an `endsAt` in the past resolves them, and a group of three alerts is one
//! incident with three alerts. Skipped, loudly, when the binary is not installed, except in CI
//! (`CI=true`), where its absence is a failure: `.ci/run` installs it.

mod common;

use common::{Server, ADMIN, ALERTMANAGER_KEY};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

/// The Alertmanager binary: `KLAXON_ALERTMANAGER`, else Debian's name, else upstream's.
fn alertmanager_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("KLAXON_ALERTMANAGER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    ["prometheus-alertmanager", "alertmanager"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// Kills Alertmanager when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port for Alertmanager, which can only be told a port, not handed a socket.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_alertmanager(
    binary: &std::path::Path,
    dir: &std::path::Path,
    webhook: &str,
) -> (Running, String) {
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: klaxon\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: klaxon\n    webhook_configs:\n      - url: '{webhook}'\n        send_resolved: true\n"
        ),
    )
    .unwrap();
    let http = reqwest::Client::new();
    // A port picked here could be taken before Alertmanager binds it: try a few.
    for _ in 0..5 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let log = std::fs::File::create(dir.join(format!("alertmanager-{port}.log"))).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.join(format!("data-{port}")).display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let mut running = Running(child);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = running.0.try_wait() {
                break;
            }
            let ready = http.get(format!("{base}/-/ready")).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return (running, base);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(running);
        let logged = std::fs::read_to_string(dir.join(format!("alertmanager-{port}.log")))
            .unwrap_or_default();
        eprintln!("alertmanager on port {port} did not become ready:\n{logged}");
    }
    panic!("could not start Alertmanager");
}

async fn post_alerts(base: &str, alerts: Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v2/alerts"))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "Alertmanager refused the alerts: {} {}",
        response.status(),
        response.text().await.unwrap_or_default()
    );
}

/// Waits until klaxon holds an incident that `check` accepts: first in a snapshot of what is
/// there, then in each event as the engine publishes it, failing at the deadline.
async fn wait_for(server: &Server, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    use klaxon::protocol::ServerMessage;
    let engine = &server.running.as_ref().expect("the server runs").engine;
    let mut subscription = engine.subscribe().await.expect("the engine runs");
    let found = |incident: &klaxon::protocol::IncidentView| {
        let incident = serde_json::to_value(incident).unwrap();
        check(&incident).then_some(incident)
    };
    if let ServerMessage::Snapshot { incidents, .. } = &subscription.snapshot {
        if let Some(incident) = incidents.iter().find_map(found) {
            return incident;
        }
    }
    let waited = tokio::time::timeout(DEADLINE, async {
        loop {
            let event = subscription
                .events
                .recv()
                .await
                .expect("events keep coming");
            match &event.message {
                ServerMessage::IncidentOpened { incident, .. }
                | ServerMessage::IncidentChanged { incident, .. } => {
                    if let Some(incident) = found(incident) {
                        return incident;
                    }
                }
                _ => {}
            }
        }
    })
    .await;
    match waited {
        Ok(incident) => incident,
        Err(_) => {
            let (_, all) = server.get("/v1/incidents?limit=100", ADMIN).await;
            panic!("timed out waiting for {what}; klaxon has: {all:#}")
        }
    }
}

#[tokio::test]
async fn a_real_alertmanager_opens_groups_and_resolves_incidents() {
    let Some(binary) = alertmanager_binary() else {
        let message = "prometheus-alertmanager is not installed: the end-to-end test against a \
                       real Alertmanager did NOT run (apt-get install prometheus-alertmanager)";
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}; CI must install it (.ci/run)");
        }
        // Straight to the process's stderr: the test harness would swallow `eprintln!`.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n!!!!!!!!!! SKIPPED: {message} !!!!!!!!!!\n"
        );
        return;
    };

    let server = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let webhook = server.url(&format!("/v1/integrations/{ALERTMANAGER_KEY}"));
    let (_alertmanager, base) = start_alertmanager(&binary, dir.path(), &webhook).await;
    let now = chrono::Utc::now();
    let started = (now - chrono::Duration::seconds(30)).to_rfc3339();

    // One alert: an incident with its summary as title and its severity label.
    let disk = json!({
        "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "critical"},
        "annotations": {"summary": "disk full on db-1", "runbook_url": "https://runbooks.example/disk"},
        "startsAt": started,
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=disk"
    });
    post_alerts(&base, json!([disk])).await;
    let incident = wait_for(&server, "the DiskFull incident", |incident| {
        incident["title"] == "disk full on db-1"
    })
    .await;
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["status"], "triggered");
    assert_eq!(incident["integration"], "prometheus");
    assert_eq!(incident["alert_count"], 1);
    assert_eq!(incident["dedup_key"], "{}:{alertname=\"DiskFull\"}");
    let id = incident["id"].clone();

    // A group of three alerts: one incident, three alerts.
    let latency: Vec<Value> = ["api-1", "api-2", "api-3"]
        .iter()
        .map(|instance| {
            json!({
                "labels": {"alertname": "HighLatency", "instance": instance, "severity": "warning"},
                "annotations": {"summary": "p99 latency above 2s"},
                "startsAt": started,
            })
        })
        .collect();
    post_alerts(&base, Value::Array(latency.clone())).await;
    let group = wait_for(
        &server,
        "the HighLatency incident with three alerts",
        |incident| incident["title"] == "p99 latency above 2s" && incident["alert_count"] == 3,
    )
    .await;
    assert_eq!(group["severity"], "warning");
    let latency_incidents = server
        .all_incidents()
        .await
        .into_iter()
        .filter(|incident| incident["title"] == "p99 latency above 2s")
        .count();
    assert_eq!(latency_incidents, 1);

    // The same alert with an end in the past: Alertmanager sends "resolved".
    let mut ended = disk.clone();
    ended["endsAt"] = json!((now - chrono::Duration::seconds(1)).to_rfc3339());
    post_alerts(&base, json!([ended])).await;
    let resolved = wait_for(&server, "the DiskFull incident to resolve", |incident| {
        incident["id"] == id && incident["status"] == "resolved"
    })
    .await;
    assert!(resolved["resolved_at"].is_string());
    let (status, detail) = server.get(&format!("/v1/incidents/{id}"), ADMIN).await;
    assert_eq!(status, 200);
    let timeline = detail["timeline"].as_array().unwrap();
    assert!(timeline
        .iter()
        .any(|entry| entry["actor"]["type"] == "integration"));

    // All three latency alerts end: the group's incident resolves.
    let mut ending: Vec<Value> = latency.clone();
    for alert in &mut ending {
        alert["endsAt"] = json!((now - chrono::Duration::seconds(1)).to_rfc3339());
    }
    post_alerts(&base, Value::Array(ending)).await;
    wait_for(&server, "the HighLatency incident to resolve", |incident| {
        incident["title"] == "p99 latency above 2s" && incident["status"] == "resolved"
    })
    .await;
    server.stop().await;
}
