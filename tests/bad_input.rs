//! Hostile and malformed input: each gets a clear 4xx naming what is wrong, nothing is
//! stored, and the server keeps serving everyone else.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn assert_refused(
    server: &Server,
    name: &str,
    body: Vec<u8>,
    status: u16,
    code: &str,
    field: Option<&str>,
) {
    let (got, answer) = server.post_raw(GENERIC_KEY, body).await;
    assert_eq!(got, status, "{name}: {answer}");
    assert_eq!(answer["error"]["code"], code, "{name}: {answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{name}: a message for people: {answer}"
    );
    if let Some(field) = field {
        assert_eq!(answer["error"]["field"], field, "{name}: {answer}");
    }
}

#[tokio::test]
async fn malformed_payloads_are_refused_and_nothing_is_stored() {
    let server = Server::start().await;
    let deep = format!(
        "{{\"summary\":\"x\",\"details\":{}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    type Case<'a> = (&'a str, Vec<u8>, u16, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        ("empty body", b"".to_vec(), 400, "empty_body", None),
        (
            "truncated",
            br#"{"summary": "disk fu"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
        (
            "trailing data",
            br#"{"summary":"a"} {"summary":"b"}"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
        (
            "array root",
            br#"[{"summary":"a"}]"#.to_vec(),
            400,
            "not_an_object",
            None,
        ),
        (
            "string root",
            br#""summary""#.to_vec(),
            400,
            "not_an_object",
            None,
        ),
        (
            "duplicate key",
            br#"{"summary":"a","severity":"info","severity":"critical"}"#.to_vec(),
            400,
            "duplicate_key",
            Some("severity"),
        ),
        (
            "invalid utf-8",
            b"{\"summary\":\"\xff\xfe\"}".to_vec(),
            400,
            "invalid_utf8",
            None,
        ),
        (
            "lone surrogate",
            br#"{"summary":"\ud800"}"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
        (
            "NaN",
            br#"{"summary":"a","details":{"v":NaN}}"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
        (
            "leading zero",
            br#"{"summary":"a","details":{"v":01}}"#.to_vec(),
            400,
            "invalid_json",
            None,
        ),
        ("too deep", deep.into_bytes(), 400, "too_deep", None),
        (
            "missing summary",
            br#"{"severity":"critical"}"#.to_vec(),
            400,
            "missing_field",
            Some("summary"),
        ),
        (
            "summary wrong type",
            br#"{"summary":42}"#.to_vec(),
            400,
            "wrong_type",
            Some("summary"),
        ),
        (
            "unknown severity",
            br#"{"summary":"a","severity":"urgent"}"#.to_vec(),
            400,
            "unknown_value",
            Some("severity"),
        ),
        (
            "unknown status",
            br#"{"summary":"a","status":"burning"}"#.to_vec(),
            400,
            "unknown_value",
            Some("status"),
        ),
        (
            "label not a string",
            br#"{"summary":"a","labels":{"n":1}}"#.to_vec(),
            400,
            "wrong_type",
            Some("labels.n"),
        ),
        (
            "unknown field",
            br#"{"summary":"a","sevrity":"info"}"#.to_vec(),
            400,
            "unknown_field",
            Some("sevrity"),
        ),
        (
            "bad timestamp",
            br#"{"summary":"a","timestamp":"yesterday"}"#.to_vec(),
            400,
            "bad_timestamp",
            Some("timestamp"),
        ),
        (
            "absurd timestamp",
            br#"{"summary":"a","timestamp":"9999-01-01T00:00:00Z"}"#.to_vec(),
            400,
            "bad_timestamp",
            Some("timestamp"),
        ),
    ];
    for (name, body, status, code, field) in cases {
        assert_refused(&server, name, body, status, code, field).await;
    }
    assert!(
        server.all_incidents().await.is_empty(),
        "nothing partial stored"
    );
    let (status, _) = server
        .post_alert(&json!({"summary": "still serving"}))
        .await;
    assert_eq!(status, 202);
    server.stop().await;
}

#[tokio::test]
async fn alertmanager_refusals_name_the_field() {
    let server = Server::start().await;
    let body = json!({"version": "4", "groupKey": "g", "status": "firing", "receiver": "r",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
        "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "annotations": {},
                    "startsAt": "2026-11-24T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"},
                   {"status": "burning", "labels": {"alertname": "B"}, "annotations": {},
                    "startsAt": "2026-11-24T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}]});
    let (status, answer) = server
        .post_raw(ALERTMANAGER_KEY, serde_json::to_vec(&body).unwrap())
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["field"], "alerts[1].status");
    assert!(
        server.all_incidents().await.is_empty(),
        "the valid first alert was not kept either"
    );
    server.stop().await;
}

#[tokio::test]
async fn transport_level_refusals() {
    let server = Server::start().await;
    // Unknown integration key.
    let (status, answer) = server
        .post_raw("no-such-key-0000000000", r#"{"summary":"a"}"#)
        .await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "unknown_integration");
    // Wrong method.
    let response = server
        .http
        .get(server.url(&format!("/v1/integrations/{GENERIC_KEY}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["error"]["code"], "method_not_allowed");
    // Wrong content type.
    let response = server
        .http
        .post(server.url(&format!("/v1/integrations/{GENERIC_KEY}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"summary":"a"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // Too large: the limit in the test config is 64 KiB.
    let big = format!(
        r#"{{"summary":"a","details":{{"blob":"{}"}}}}"#,
        "x".repeat(70 * 1024)
    );
    let (status, answer) = server.post_raw(GENERIC_KEY, big).await;
    assert_eq!(status, 413, "{answer}");
    assert_eq!(answer["error"]["code"], "too_large");
    // Unknown path.
    let (status, answer) = server.get("/v1/nothing", ADMIN).await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["code"], "not_found");
    assert!(server.all_incidents().await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn oversized_declared_length_is_refused_without_reading_the_body() {
    let server = Server::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let request = format!(
        "POST /v1/integrations/{GENERIC_KEY} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n{{"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("answered without waiting for a gigabyte")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn per_integration_rate_limit_answers_429_with_retry_after() {
    let server = Server::start().await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for n in 0..4 {
        let response = server
            .http
            .post(server.url(&format!("/v1/integrations/{LIMITED_KEY}")))
            .json(&json!({"summary": format!("alert {n}")}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let answer: Value = response.json().await.unwrap();
            assert_eq!(answer["error"]["code"], "rate_limited");
        }
    }
    assert_eq!(&statuses[..2], &[202, 202], "the burst passes");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Other integrations are not affected.
    let (status, _) = server.post_alert(&json!({"summary": "other"})).await;
    assert_eq!(status, 202);
    server.stop().await;
}

#[tokio::test]
async fn a_client_dribbling_headers_is_cut_off() {
    let server = Server::start().await;
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    stream
        .write_all(b"POST /v1/integrations/x HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    // The server closes (or answers 408 and closes) once the header timeout (300 ms) passes.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was not closed");
    assert!(started.elapsed() < Duration::from_secs(5));
    // And the server still serves.
    let (status, _) = server
        .post_alert(&json!({"summary": "after the slow client"}))
        .await;
    assert_eq!(status, 202);
    server.stop().await;
}

#[tokio::test]
async fn storage_failure_answers_503_and_keeps_nothing() {
    let store = std::sync::Arc::new(klaxon::store::MemoryStore::new());
    let server = Server::start_with_store(store.clone()).await;
    let (status, _) = server.post_alert(&json!({"summary": "before"})).await;
    assert_eq!(status, 202);
    store.set_failing(true);
    let response = server
        .http
        .post(server.url(&format!("/v1/integrations/{GENERIC_KEY}")))
        .json(&json!({"summary": "during the outage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let (status, _) = server.act(1, "acknowledge", json!({}), RESPONDER).await;
    assert_eq!(status, 503);
    store.set_failing(false);
    // The refused alert is not there; the sender's retry now succeeds as incident #2.
    let all = server.all_incidents().await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0]["status"], "triggered",
        "the refused acknowledgement did not stick"
    );
    let (status, answer) = server
        .post_alert(&json!({"summary": "during the outage"}))
        .await;
    assert_eq!(status, 202);
    assert_eq!(answer["incidents"], json!([2]));
    server.stop().await;
}
