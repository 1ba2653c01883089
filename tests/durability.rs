//! The kill test: the real binary is killed with SIGKILL while alerts stream in from several
//! connections; after a restart on the same data dir, everything that was acknowledged to a
//! sender (202) or to a person (200/201) is there.

use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const KEY: &str = "durability-key-0000000000";
const TOKEN: &str = "durability-admin-token-000";

fn write_config(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("klaxon.toml");
    let text = format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"

[[integrations]]
name = "generic"
source = "generic"
key = "{KEY}"
rate_limit = 0

[[users]]
name = "admin"
token = "{TOKEN}"
role = "admin"
"#,
        data = dir.join("data").display()
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// Starts `klaxon serve` and returns it with the base URL it printed.
async fn start(config: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the engine starts")
        .unwrap()
        .expect("a banner line");
    let base = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path());
    let (mut child, base) = start(&config).await;
    let http = reqwest::Client::new();
    let accepted: Arc<Mutex<HashSet<String>>> = Arc::default();
    let (progress, mut watched) = tokio::sync::watch::channel(0usize);
    let progress = Arc::new(progress);

    let mut senders = Vec::new();
    for connection in 0..6 {
        let http = http.clone();
        let base = base.clone();
        let accepted = accepted.clone();
        let progress = progress.clone();
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("c{connection}-{n}");
                let body = json!({"summary": format!("alert {key}"), "dedup_key": key});
                let response = http
                    .post(format!("{base}/v1/integrations/{KEY}"))
                    .json(&body)
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == 202 => {
                        let count = {
                            let mut accepted = accepted.lock().unwrap();
                            accepted.insert(key);
                            accepted.len()
                        };
                        progress.send_replace(count);
                    }
                    // The engine was killed: stop sending.
                    _ => break,
                }
            }
        }));
    }
    // Wait until a good number were accepted, acting on the first incident meanwhile.
    tokio::time::timeout(
        Duration::from_secs(60),
        watched.wait_for(|count| *count >= 300),
    )
    .await
    .expect("alerts are accepted")
    .unwrap();
    let acted = |action: &str, body: Value| {
        http.post(format!("{base}/v1/incidents/1/{action}"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    assert_eq!(acted("acknowledge", json!({})).await.unwrap().status(), 200);
    assert_eq!(
        acted("notes", json!({"text": "written before the kill"}))
            .await
            .unwrap()
            .status(),
        201
    );
    // SIGKILL while the senders are still going.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    for sender in senders {
        sender.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();

    let (_child, base) = start(&config).await;
    let incidents: Vec<Value> = http
        .get(format!("{base}/v1/incidents?limit=10000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: HashSet<String> = incidents
        .iter()
        .map(|incident| incident["dedup_key"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<_> = accepted.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} accepted alerts lost: {lost:?}",
        lost.len()
    );
    let detail: Value = http
        .get(format!("{base}/v1/incidents/1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["status"], "acknowledged");
    let texts: Vec<&str> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|entry| entry["text"].as_str())
        .collect();
    assert!(texts.contains(&"written before the kill"), "{texts:?}");
    // New alerts keep getting fresh ids after the restart.
    let response: Value = http
        .post(format!("{base}/v1/integrations/{KEY}"))
        .json(&json!({"summary": "after restart"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_id = response["incidents"][0].as_u64().unwrap();
    assert!(
        new_id as usize > stored.len() - 1,
        "ids are not reused: {new_id}"
    );
}
