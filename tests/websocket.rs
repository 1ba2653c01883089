//! The live stream and websocket ingest, with a real websocket client.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &Server, path: &str) -> Socket {
    let url = format!("ws://{}{path}", server.address);
    // Snapshots of many incidents are large single messages.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(None)
        .max_frame_size(None);
    tokio_tungstenite::connect_async_with_config(url, Some(config), false)
        .await
        .unwrap()
        .0
}

/// The next JSON text message, or a failure after a generous deadline.
async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a message within the deadline")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[tokio::test]
async fn stream_sends_a_snapshot_then_live_events_and_takes_commands() {
    let server = Server::start().await;
    server.post_alert(&json!({"summary": "already open"})).await;
    let mut socket = connect(&server, &format!("/v1/stream?token={RESPONDER}")).await;
    let snapshot = next_json(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["incidents"][0]["title"], "already open");

    server
        .post_alert(&json!({"summary": "fresh", "severity": "critical"}))
        .await;
    let opened = next_json(&mut socket).await;
    assert_eq!(opened["type"], "incident_opened");
    assert_eq!(opened["incident"]["id"], 2);
    assert_eq!(opened["timeline"][0]["kind"], "triggered");
    let first_seq = opened["seq"].as_u64().unwrap();

    socket
        .send(Message::text(
            r#"{"request_id":7,"incident":2,"action":"acknowledge"}"#,
        ))
        .await
        .unwrap();
    let mut reply = None;
    let mut changed = None;
    while reply.is_none() || changed.is_none() {
        let message = next_json(&mut socket).await;
        match message["type"].as_str().unwrap() {
            "reply" => reply = Some(message),
            "incident_changed" => changed = Some(message),
            other => panic!("unexpected {other}"),
        }
    }
    let reply = reply.unwrap();
    assert_eq!(reply["request_id"], 7);
    assert_eq!(reply["ok"], true);
    assert_eq!(reply["incident"]["status"], "acknowledged");
    let changed = changed.unwrap();
    assert_eq!(changed["incident"]["acknowledged_by"], "alice");
    assert_eq!(changed["seq"].as_u64().unwrap(), first_seq + 1);

    // A REST action by someone else shows up live too.
    server
        .act(2, "notes", json!({"text": "on it"}), ADMIN)
        .await;
    let noted = next_json(&mut socket).await;
    assert_eq!(noted["timeline"][0]["text"], "on it");
    assert_eq!(noted["timeline"][0]["actor"]["name"], "admin");

    // Bad commands get a clear refusal and the stream goes on.
    socket
        .send(Message::text(
            r#"{"request_id":8,"incident":2,"action":"explode"}"#,
        ))
        .await
        .unwrap();
    let refused = next_json(&mut socket).await;
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["request_id"], 8);
    assert_eq!(refused["error"]["code"], "invalid_command");
    socket.send(Message::text("{not json")).await.unwrap();
    assert_eq!(next_json(&mut socket).await["ok"], false);
    server.stop().await;
}

#[tokio::test]
async fn stream_needs_a_token_and_viewers_may_not_act() {
    let server = Server::start().await;
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream", server.address)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("expected 401, got {other:?}"),
    }
    server.post_alert(&json!({"summary": "x"})).await;
    let mut socket = connect(&server, &format!("/v1/stream?token={VIEWER}")).await;
    next_json(&mut socket).await;
    socket
        .send(Message::text(
            r#"{"request_id":1,"incident":1,"action":"resolve"}"#,
        ))
        .await
        .unwrap();
    let reply = next_json(&mut socket).await;
    assert_eq!(reply["ok"], false);
    assert_eq!(reply["error"]["code"], "forbidden");
    server.stop().await;
}

#[tokio::test]
async fn websocket_ingest_answers_each_frame_in_order() {
    let server = Server::start().await;
    let mut socket = connect(&server, &format!("/v1/integrations/{GENERIC_KEY}/ws")).await;
    socket
        .send(Message::text(
            r#"{"summary":"over websocket","dedup_key":"ws-1"}"#,
        ))
        .await
        .unwrap();
    let accepted = next_json(&mut socket).await;
    assert_eq!(
        accepted,
        json!({"status": "accepted", "alerts": 1, "incidents": [1]})
    );
    socket
        .send(Message::text(r#"{"summary":"ws","severity":"urgent"}"#))
        .await
        .unwrap();
    let refused = next_json(&mut socket).await;
    assert_eq!(refused["error"]["code"], "unknown_value");
    assert_eq!(refused["error"]["field"], "severity");
    socket.send(Message::binary(b"{}".to_vec())).await.unwrap();
    assert_eq!(
        next_json(&mut socket).await["error"]["code"],
        "binary_frame"
    );
    socket
        .send(Message::text(
            r#"{"summary":"over websocket","dedup_key":"ws-1","status":"resolved"}"#,
        ))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["incidents"], json!([1]));
    assert_eq!(server.all_incidents().await[0]["status"], "resolved");

    let refused = tokio_tungstenite::connect_async(format!(
        "ws://{}/v1/integrations/not-a-key-00000000/ws",
        server.address
    ))
    .await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 404)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_stream_client_does_not_slow_ingest_and_is_resynced() {
    // A memory store keeps this quick: the point is the broadcast, not the disk.
    let server =
        Server::start_with_store(std::sync::Arc::new(klaxon::store::MemoryStore::new())).await;
    // This client connects and then reads nothing while thousands of events are published.
    let mut stalled = connect(&server, &format!("/v1/stream?token={VIEWER}")).await;
    let snapshot = next_json(&mut stalled).await;
    assert_eq!(snapshot["type"], "snapshot");
    let mut socket = connect(&server, &format!("/v1/integrations/{GENERIC_KEY}/ws")).await;
    // Big enough events that the socket buffers cannot hide the backlog.
    let blob = "x".repeat(3000);
    let total = 12_000;
    for n in 0..total {
        socket
            .send(Message::text(format!(
                r#"{{"summary":"alert {n}","dedup_key":"k{n}","labels":{{"blob":"{blob}"}}}}"#
            )))
            .await
            .unwrap();
        assert_eq!(next_json(&mut socket).await["status"], "accepted");
    }
    // Now read: somewhere the client is told it lagged, then gets a complete snapshot.
    let resync = loop {
        let message = next_json(&mut stalled).await;
        if message["type"] == "lagged" {
            break next_json(&mut stalled).await;
        }
    };
    assert_eq!(resync["type"], "snapshot");
    assert_eq!(resync["incidents"].as_array().unwrap().len(), total);
    server.stop().await;
}

/// The next message of one type, skipping others.
async fn next_of(socket: &mut Socket, kind: &str) -> Value {
    loop {
        let message = next_json(socket).await;
        if message["type"] == kind {
            return message;
        }
    }
}

#[tokio::test]
async fn two_responders_chat_live_and_see_who_is_looking() {
    let server = Server::start().await;
    server.post_alert(&json!({"summary": "db down"})).await;
    let mut alice = connect(&server, &format!("/v1/stream?token={RESPONDER}")).await;
    next_of(&mut alice, "snapshot").await;
    let mut vic = connect(&server, &format!("/v1/stream?token={VIEWER}")).await;
    next_of(&mut vic, "snapshot").await;

    // Looking at an incident is shared, by viewers too.
    alice
        .send(Message::text(r#"{"request_id":1,"viewing":1}"#))
        .await
        .unwrap();
    let reply = next_of(&mut alice, "reply").await;
    assert_eq!(
        (reply["request_id"].as_u64(), reply["ok"].as_bool()),
        (Some(1), Some(true))
    );
    let seen = next_of(&mut vic, "presence").await;
    assert_eq!(
        seen,
        json!({"type": "presence", "incident": 1, "viewers": ["alice"]})
    );
    vic.send(Message::text(r#"{"request_id":2,"viewing":1}"#))
        .await
        .unwrap();
    let own = next_of(&mut alice, "presence").await;
    assert_eq!(own["viewers"], json!(["alice"]), "her own first");
    let both = next_of(&mut alice, "presence").await;
    assert_eq!(both["viewers"], json!(["alice", "vic"]));

    // A message from alice reaches vic with author and time; a multi-line one stays whole.
    alice
        .send(Message::text(
            json!({"request_id": 3, "incident": 1, "action": "note",
                   "text": "failing over to db-2\nreplica lag 3s"})
            .to_string(),
        ))
        .await
        .unwrap();
    let changed = next_of(&mut vic, "incident_changed").await;
    let entry = &changed["timeline"][0];
    assert_eq!(entry["kind"], "note");
    assert_eq!(entry["text"], "failing over to db-2\nreplica lag 3s");
    assert_eq!(entry["actor"]["name"], "alice");
    assert!(entry["at"].as_str().is_some());

    // A newcomer's snapshot says who is looking; a client that leaves is no longer listed.
    let mut late = connect(&server, &format!("/v1/stream?token={ADMIN}")).await;
    let snapshot = next_of(&mut late, "snapshot").await;
    assert_eq!(snapshot["presence"], json!({"1": ["alice", "vic"]}));
    drop(vic);
    let left = next_of(&mut late, "presence").await;
    assert_eq!(left["viewers"], json!(["alice"]));

    // Bad presence commands are refused clearly.
    alice
        .send(Message::text(r#"{"request_id":4,"viewing":"one"}"#))
        .await
        .unwrap();
    let refused = loop {
        let reply = next_of(&mut alice, "reply").await;
        if reply["request_id"] == 4 {
            break reply;
        }
    };
    assert_eq!(refused["ok"], false);
    assert_eq!(refused["error"]["field"], "viewing");
    server.stop().await;
}
