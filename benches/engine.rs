//! End-to-end engine benchmarks against the real release binary:
//! - webhook to `/v1/stream` event latency at light load (p50, p99, max);
//! - a chat message from one stream client to another (p50, p99, max);
//! - resident memory of `klaxon serve` holding 100,000 open incidents.
//!
//! Run: `cargo bench --bench engine` (set KLAXON_BENCH_INCIDENTS to change the count).

use futures_util::{SinkExt, StreamExt};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

const KEY: &str = "bench-key-00000000000000000000";
const TOKEN: &str = "bench-token-000000000000000000";

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() as f64 * fraction) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("klaxon.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n\n\
             [[integrations]]\nname = \"bench\"\nsource = \"generic\"\nkey = \"{KEY}\"\nrate_limit = 0\n\n\
             [[users]]\nname = \"bench\"\ntoken = \"{TOKEN}\"\nrole = \"admin\"\n",
            dir.path().join("data").display()
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
    let address = base.trim_start_matches("http://").to_string();
    let websocket_config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);

    // Latency: one alert at a time, timed from just before the POST to the stream event.
    let (mut stream, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{address}/v1/stream?token={TOKEN}"),
        Some(websocket_config),
        false,
    )
    .await
    .unwrap();
    stream.next().await.unwrap().unwrap(); // the snapshot
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for n in 0..2000 {
        let body = format!(r#"{{"summary":"latency probe {n}","dedup_key":"probe-{n}"}}"#);
        let started = Instant::now();
        let post = http
            .post(format!("{base}/v1/integrations/{KEY}"))
            .header("content-type", "application/json")
            .body(body)
            .send();
        let (response, event) = tokio::join!(post, async {
            loop {
                if let Message::Text(text) = stream.next().await.unwrap().unwrap() {
                    if text.contains(&format!("\"probe-{n}\"")) {
                        return Instant::now();
                    }
                }
            }
        });
        assert_eq!(response.unwrap().status(), 202);
        latencies.push(event - started);
    }
    latencies.sort();
    println!(
        "webhook -> stream event, {} alerts one at a time: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3
    );

    // Chat: a message sent by one client over the stream, timed until another client's stream
    // shows it (the path between two consoles).
    let (mut speaker, _) =
        tokio_tungstenite::connect_async(format!("ws://{address}/v1/stream?token={TOKEN}"))
            .await
            .unwrap();
    speaker.next().await.unwrap().unwrap(); // its snapshot
    let mut chat = Vec::new();
    for n in 0..1000 {
        let command =
            format!(r#"{{"request_id":{n},"incident":1,"action":"note","text":"chat probe {n}"}}"#);
        let started = Instant::now();
        speaker.send(Message::text(command)).await.unwrap();
        loop {
            if let Message::Text(text) = stream.next().await.unwrap().unwrap() {
                if text.contains(&format!("\"chat probe {n}\"")) {
                    chat.push(started.elapsed());
                    break;
                }
            }
        }
    }
    chat.sort();
    println!(
        "chat message, one client's stream -> another's, {} one at a time: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        chat.len(),
        percentile(&chat, 0.50).as_secs_f64() * 1e3,
        percentile(&chat, 0.99).as_secs_f64() * 1e3,
        chat.last().unwrap().as_secs_f64() * 1e3
    );
    drop(speaker);
    drop(stream);

    // Memory: many open incidents, sent over websocket ingest from a few connections.
    let total: usize = std::env::var("KLAXON_BENCH_INCIDENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let connections = 8;
    let started = Instant::now();
    let mut senders = Vec::new();
    for connection in 0..connections {
        let url = format!("ws://{address}/v1/integrations/{KEY}/ws");
        senders.push(tokio::spawn(async move {
            let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
            for n in (connection..total).step_by(connections) {
                let body = format!(
                    r#"{{"summary":"disk usage high on host-{n}","dedup_key":"host-{n}","service":"svc-{}","labels":{{"host":"host-{n}","team":"storage","region":"eu-west-1"}}}}"#,
                    n % 200
                );
                socket.send(Message::text(body)).await.unwrap();
                let reply = socket.next().await.unwrap().unwrap();
                assert!(reply.to_text().unwrap().contains("accepted"), "{reply}");
            }
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let elapsed = started.elapsed();
    let pid = child.id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let resident = status
        .lines()
        .find(|line| line.starts_with("VmRSS"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<f64>()
        .unwrap()
        / 1024.0;
    println!(
        "{total} open incidents over {connections} websocket connections in {:.1} s ({:.0}/s); resident memory {resident:.0} MiB",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
    child.kill().await.unwrap();
}
