//! The console's client against a real engine and server on 127.0.0.1: the remote client
//! (snapshot, live events, commands and replies, refusals, a dropped link refusing actions
//! visibly, reconnecting with backoff to a restarted engine and resyncing without
//! duplicates) and the embedded one (acting as the configured user).

mod common;

use common::{config, ADMIN, GENERIC_KEY, VIEWER};
use klaxon::client::{ClientError, EmbeddedClient, Link, RemoteClient, RemoteOptions, Update};
use klaxon::config::{Role, UserConfig};
use klaxon::domain::{Action, Actor, IncidentStatus, TimelineKind};
use klaxon::engine::SystemClock;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

async fn launch(dir: &std::path::Path, address: &str) -> klaxon::api::Running {
    let listener = tokio::net::TcpListener::bind(address).await.unwrap();
    klaxon::api::launch(&config(dir), listener, Arc::new(SystemClock))
        .await
        .unwrap()
}

/// The next update, or a failure after five seconds (no sleeps: we wait for the thing).
async fn next(updates: &mut Receiver<Update>) -> Update {
    tokio::time::timeout(Duration::from_secs(5), updates.recv())
        .await
        .expect("an update within 5 s")
        .expect("the client is running")
}

/// Skips updates until one matches.
async fn until(updates: &mut Receiver<Update>, wanted: impl Fn(&Update) -> bool) -> Update {
    loop {
        let update = next(updates).await;
        if wanted(&update) {
            return update;
        }
    }
}

async fn send_alert(address: SocketAddr, summary: &str) -> u64 {
    let response = reqwest::Client::new()
        .post(format!("http://{address}/v1/integrations/{GENERIC_KEY}"))
        .json(&serde_json::json!({"summary": summary, "severity": "critical"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    body["incidents"][0].as_u64().unwrap()
}

fn quick() -> RemoteOptions {
    RemoteOptions {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        ..RemoteOptions::default()
    }
}

#[tokio::test]
async fn the_remote_client_follows_acts_and_survives_an_engine_restart() {
    let dir = tempfile::tempdir().unwrap();
    let running = launch(dir.path(), "127.0.0.1:0").await;
    let address = running.address;
    let (client, mut updates) = RemoteClient::start(
        &format!("http://{address}"),
        Some(ADMIN.to_string()),
        "admin".to_string(),
        quick(),
    )
    .unwrap();
    assert_eq!(
        next(&mut updates).await,
        Update::Link(Link::Connecting { attempt: 1 })
    );
    assert_eq!(next(&mut updates).await, Update::Snapshot(vec![]));
    assert_eq!(next(&mut updates).await, Update::Link(Link::Connected));

    let id = send_alert(address, "disk full on db-1").await;
    match next(&mut updates).await {
        Update::Incident {
            incident,
            opened: true,
            timeline,
        } => {
            assert_eq!(incident.id, id);
            assert_eq!(timeline.len(), 1);
        }
        other => panic!("expected the new incident, got {other:?}"),
    }

    let acknowledged = client.act(id, Action::Acknowledge).await.unwrap();
    assert_eq!(acknowledged.status, IncidentStatus::Acknowledged);
    let Update::Incident { timeline, .. } = until(&mut updates, |update| {
        matches!(update, Update::Incident { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(timeline[0].actor, Actor::User("admin".to_string()));
    let note = Action::Note {
        text: "failing over".to_string(),
    };
    client.act(id, note).await.unwrap();
    let detail = client.detail(id).await.unwrap();
    assert!(detail.timeline.iter().any(|entry| entry.kind
        == TimelineKind::Note {
            text: "failing over".to_string()
        }));
    match client.escalate(id).await {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, "no_escalation_policy");
            assert!(message.contains("no escalation policy"), "{message}");
        }
        other => panic!("escalation should be refused for now: {other:?}"),
    }
    match client.act(999, Action::Acknowledge).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, "not_found"),
        other => panic!("{other:?}"),
    }
    let integrations = client.integrations().await.unwrap();
    assert!(integrations.iter().any(|integration| integration
        .url
        .as_deref()
        .is_some_and(|url| url.contains(GENERIC_KEY))));

    // The engine goes away: the link says so with a retry time, and actions are refused.
    running.stop().await;
    let down = until(&mut updates, |update| {
        matches!(update, Update::Link(Link::Retrying { .. }))
    })
    .await;
    let Update::Link(Link::Retrying { attempt, .. }) = down else {
        unreachable!()
    };
    assert_eq!(attempt, 1);
    match client.act(id, Action::Resolve).await {
        Err(ClientError::Disconnected(_)) => {}
        other => panic!("an action while down must be refused visibly: {other:?}"),
    }
    // Backoff grows while it stays down.
    let Update::Link(Link::Retrying { attempt, .. }) = until(&mut updates, |update| {
        matches!(update, Update::Link(Link::Retrying { attempt: 2.., .. }))
    })
    .await
    else {
        unreachable!()
    };
    assert!(attempt >= 2);

    // Back on the same address with the same data: a fresh snapshot, the incident once.
    let running = launch(dir.path(), &address.to_string()).await;
    let Update::Snapshot(incidents) =
        until(&mut updates, |update| matches!(update, Update::Snapshot(_))).await
    else {
        unreachable!()
    };
    assert_eq!(
        incidents
            .iter()
            .filter(|incident| incident.id == id)
            .count(),
        1
    );
    assert_eq!(incidents.len(), 1);
    assert_eq!(next(&mut updates).await, Update::Link(Link::Connected));
    let resolved = client.act(id, Action::Resolve).await.unwrap();
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    drop((client, updates));
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("the engine stops");
}

#[tokio::test]
async fn the_remote_client_reports_refusals_of_its_token() {
    let dir = tempfile::tempdir().unwrap();
    let running = launch(dir.path(), "127.0.0.1:0").await;
    let base = format!("http://{}", running.address);
    let (viewer, mut updates) =
        RemoteClient::start(&base, Some(VIEWER.to_string()), "vic".to_string(), quick()).unwrap();
    until(&mut updates, |update| {
        *update == Update::Link(Link::Connected)
    })
    .await;
    let id = send_alert(running.address, "cpu hot").await;
    match viewer.act(id, Action::Acknowledge).await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("a viewer cannot act: {other:?}"),
    }
    let (_client, mut updates) = RemoteClient::start(
        &base,
        Some("wrong-token-0000000000".to_string()),
        "x".to_string(),
        quick(),
    )
    .unwrap();
    let stopped = until(&mut updates, |update| {
        matches!(update, Update::Link(Link::Stopped { .. }))
    })
    .await;
    let Update::Link(Link::Stopped { reason }) = stopped else {
        unreachable!()
    };
    assert!(reason.contains("401"), "{reason}");
    running.stop().await;
}

#[tokio::test]
async fn the_embedded_client_acts_as_its_configured_user() {
    let dir = tempfile::tempdir().unwrap();
    let running = launch(dir.path(), "127.0.0.1:0").await;
    let alice = UserConfig {
        name: "alice".to_string(),
        token: common::RESPONDER.to_string(),
        role: Role::Responder,
    };
    let integrations =
        klaxon::client::embedded::integration_views(&config(dir.path()), running.address);
    let (client, mut updates) =
        EmbeddedClient::start(running.engine.clone(), running.address, alice, integrations);
    assert_eq!(next(&mut updates).await, Update::Snapshot(vec![]));
    assert_eq!(next(&mut updates).await, Update::Link(Link::Connected));
    assert_eq!(client.endpoint().user, "alice");
    let id = send_alert(running.address, "disk full").await;
    until(&mut updates, |update| {
        matches!(update, Update::Incident { opened: true, .. })
    })
    .await;
    client.act(id, Action::Acknowledge).await.unwrap();
    let Update::Incident {
        timeline, incident, ..
    } = next(&mut updates).await
    else {
        panic!("expected the change")
    };
    assert_eq!(incident.acknowledged_by.as_deref(), Some("alice"));
    assert_eq!(timeline[0].actor, Actor::User("alice".to_string()));
    assert!(
        matches!(client.escalate(id).await, Err(ClientError::Refused { code, .. }) if code == "no_escalation_policy")
    );

    let vic = UserConfig {
        name: "vic".to_string(),
        token: VIEWER.to_string(),
        role: Role::Viewer,
    };
    let (viewer, viewer_updates) =
        EmbeddedClient::start(running.engine.clone(), running.address, vic, vec![]);
    assert!(
        matches!(viewer.act(id, Action::Resolve).await, Err(ClientError::Refused { code, .. }) if code == "forbidden")
    );
    // The engine stops once every handle is gone: the clients and their pumps let go.
    drop((client, viewer, updates, viewer_updates));
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("the engine stops");
}
