//! The console's client against a real engine and server on 127.0.0.1: the remote client
//! (snapshot, live events, commands and replies, refusals, a dropped link refusing actions
//! visibly, reconnecting with backoff to a restarted engine and resyncing without
//! duplicates), the embedded one (acting as the configured user), and both through the one
//! `Client` interface against an engine that pages: who is on call, escalate-now up to the
//! end of the policy, silences added, holding a new incident, listed and expired.

mod common;

use common::{config, ADMIN, GENERIC_KEY, VIEWER};
use klaxon::client::{
    Client, ClientError, EmbeddedClient, Link, RemoteClient, RemoteOptions, Update,
};
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
            let kinds: Vec<&str> = timeline
                .iter()
                .map(|entry| match entry.kind {
                    TimelineKind::Triggered { .. } => "triggered",
                    TimelineKind::NotPaged { .. } => "not_paged",
                    _ => "other",
                })
                .collect();
            assert_eq!(
                kinds,
                ["triggered", "not_paged"],
                "opened with routing's word"
            );
        }
        other => panic!("expected the new incident, got {other:?}"),
    }

    let acknowledged = client.act(id, Action::Acknowledge).await.unwrap();
    assert_eq!(acknowledged.status, IncidentStatus::Acknowledged);
    // (Routing's "nobody paged" entry may come first.)
    let Update::Incident { timeline, .. } = until(&mut updates, |update| {
        matches!(update, Update::Incident { incident, .. } if incident.status == IncidentStatus::Acknowledged)
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
            assert!(message.contains("has no escalation policy"), "{message}");
        }
        other => panic!("escalation without a policy is refused: {other:?}"),
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
    // So are escalating and changing silences.
    assert!(matches!(
        client.escalate(id).await,
        Err(ClientError::Disconnected(_))
    ));
    let matchers = vec!["service=checkout".parse().unwrap()];
    let added = client
        .add_silence(matchers, Duration::from_secs(60), String::new())
        .await;
    assert!(
        matches!(added, Err(ClientError::Disconnected(_))),
        "{added:?}"
    );
    assert!(matches!(
        client.expire_silence("1").await,
        Err(ClientError::Disconnected(_))
    ));
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
    } = until(&mut updates, |update| {
        matches!(update, Update::Incident { incident, .. } if incident.status == IncidentStatus::Acknowledged)
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(incident.acknowledged_by.as_deref(), Some("alice"));
    assert_eq!(timeline[0].actor, Actor::User("alice".to_string()));
    assert!(
        matches!(client.escalate(id).await, Err(ClientError::Refused { code, message }) if code == "no_escalation_policy" && message.contains("no escalation policy"))
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

/// The test configuration, paging: alice and bob (without contact methods, so nothing is
/// really sent) take daily turns on `primary`; policy `ops` pages alice, then whoever is on
/// call on `primary`; it is the default for every alert.
fn paging_config(dir: &std::path::Path) -> klaxon::config::Config {
    use klaxon::domain::escalation::{
        Directory, EscalationLevel, EscalationPolicy, Person, Target,
    };
    use klaxon::domain::schedule::{Layer, Schedule, ShiftLength};
    let person = |name: &str| Person {
        name: name.to_string(),
        contacts: Vec::new(),
        high: Vec::new(),
        low: Vec::new(),
    };
    let level = |target| EscalationLevel {
        targets: vec![target],
        delay: chrono::Duration::minutes(30),
    };
    let mut config = config(dir);
    config.oncall.directory = Directory {
        people: vec![person("alice"), person("bob")],
        teams: Vec::new(),
        schedules: vec![Schedule {
            name: "primary".to_string(),
            time_zone: chrono_tz::Europe::Berlin,
            layers: vec![Layer {
                name: "daily".to_string(),
                members: vec!["alice".to_string(), "bob".to_string()],
                shift: ShiftLength::Days(1),
                handoff: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                start: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                restriction: None,
            }],
        }],
        policies: vec![EscalationPolicy {
            name: "ops".to_string(),
            levels: vec![
                level(Target::User("alice".to_string())),
                level(Target::Schedule("primary".to_string())),
            ],
            repeat: 0,
            round_robin: false,
        }],
    };
    config.oncall.routing.default_policy = Some("ops".to_string());
    config
}

/// Waits for the incident `id` to be reported in a state `wanted` accepts.
async fn incident_until(
    updates: &mut Receiver<Update>,
    id: u64,
    wanted: impl Fn(&klaxon::protocol::IncidentView) -> bool,
) -> klaxon::protocol::IncidentView {
    loop {
        if let Update::Incident { incident, .. } = next(updates).await {
            if incident.id == id && wanted(&incident) {
                return incident;
            }
        }
    }
}

/// What the console does about paging, through the one interface, as `user`.
async fn pages_and_silences(
    client: Client,
    mut updates: Receiver<Update>,
    address: SocketAddr,
    user: &str,
) {
    until(&mut updates, |update| {
        *update == Update::Link(Link::Connected)
    })
    .await;
    let oncall = client.oncall().await.unwrap();
    assert_eq!(oncall.len(), 1);
    assert_eq!(oncall[0].schedule, "primary");
    assert_eq!(oncall[0].time_zone, "Europe/Berlin");
    let now = oncall[0].now.as_ref().expect("someone is on call");
    let next = oncall[0].next.as_ref().expect("someone is next");
    assert!(["alice", "bob"].contains(&now.user.as_str()), "{now:?}");
    assert_ne!(now.user, next.user);
    assert_eq!(now.end, next.start);

    // The first level pages at once; escalate-now pages the second, then there is none.
    let id = send_alert(address, "disk full on db-1").await;
    incident_until(&mut updates, id, |incident| incident.escalation.level == 1).await;
    let escalated = client.escalate(id).await.unwrap();
    assert_eq!(escalated.escalation.policy.as_deref(), Some("ops"));
    assert_eq!(escalated.escalation.level, 2);
    let detail = client.detail(id).await.unwrap();
    assert!(detail.timeline.iter().any(|entry| matches!(
        &entry.kind,
        TimelineKind::Escalated {
            level: 2,
            manual: true,
            ..
        }
    ) && entry.actor == Actor::User(user.to_string())));
    match client.escalate(id).await {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, "escalation_exhausted");
            assert!(message.contains("no further level"), "{message}");
        }
        other => panic!("an exhausted policy refuses: {other:?}"),
    }

    // A silence holds what it matches, the open incident and a new one alike.
    let matchers = vec!["service=checkout".parse().unwrap()];
    let silence = client
        .add_silence(matchers, Duration::from_secs(3_600), "deploy".to_string())
        .await
        .unwrap();
    assert_eq!(silence.state, "active");
    assert_eq!(silence.matchers, ["service=checkout"]);
    assert_eq!(silence.comment, "deploy");
    assert_eq!(silence.created_by.as_deref(), Some(user));
    // An hour from the engine's now; it starts when the engine applies it, a moment later.
    let short = chrono::Duration::hours(1) - (silence.ends_at - silence.starts_at);
    assert!(
        short >= chrono::Duration::zero() && short < chrono::Duration::seconds(5),
        "{short:?}"
    );
    let held = send_alert(address, "checkout slow").await;
    match client.escalate(held).await {
        Err(ClientError::Refused { code, message }) => {
            assert_eq!(code, "silenced");
            assert!(message.contains("silenced"), "{message}");
        }
        other => panic!("a silenced incident refuses: {other:?}"),
    }
    let listed = client.silences().await.unwrap();
    assert!(listed
        .iter()
        .any(|s| s.id == silence.id && s.state == "active"));

    // Expired, it lets go: the held incident starts escalating.
    let expired = client.expire_silence(&silence.id).await.unwrap();
    assert_eq!(expired.state, "expired");
    incident_until(&mut updates, held, |incident| {
        incident.escalation.silenced_by.is_none() && incident.escalation.level >= 1
    })
    .await;
    match client.expire_silence(&silence.id).await {
        Err(ClientError::Refused { message, .. }) => {
            assert!(message.contains("already ended"), "{message}")
        }
        other => panic!("an ended silence cannot end again: {other:?}"),
    }
    match client.expire_silence("no-such-silence").await {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, "not_found"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_embedded_client_escalates_and_silences_through_the_engine() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = paging_config(dir.path());
    let running = klaxon::api::launch(&config, listener, Arc::new(SystemClock))
        .await
        .unwrap();
    let alice = UserConfig {
        name: "alice".to_string(),
        token: common::RESPONDER.to_string(),
        role: Role::Responder,
    };
    let (client, updates) =
        EmbeddedClient::start(running.engine.clone(), running.address, alice, vec![]);
    pages_and_silences(Client::Embedded(client), updates, running.address, "alice").await;

    // A viewer may look, not silence.
    let vic = UserConfig {
        name: "vic".to_string(),
        token: VIEWER.to_string(),
        role: Role::Viewer,
    };
    let (viewer, viewer_updates) =
        EmbeddedClient::start(running.engine.clone(), running.address, vic, vec![]);
    assert_eq!(viewer.oncall().await.unwrap().len(), 1);
    let matchers = vec!["service=checkout".parse().unwrap()];
    match viewer
        .add_silence(matchers, Duration::from_secs(60), String::new())
        .await
    {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("{other:?}"),
    }
    drop((viewer, viewer_updates));
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("the engine stops");
}

#[tokio::test]
async fn the_remote_client_escalates_and_silences_over_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = paging_config(dir.path());
    let running = klaxon::api::launch(&config, listener, Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://{}", running.address);
    let (client, updates) =
        RemoteClient::start(&base, Some(ADMIN.to_string()), "admin".to_string(), quick()).unwrap();
    pages_and_silences(Client::Remote(client), updates, running.address, "admin").await;

    let (viewer, mut updates) =
        RemoteClient::start(&base, Some(VIEWER.to_string()), "vic".to_string(), quick()).unwrap();
    until(&mut updates, |update| {
        *update == Update::Link(Link::Connected)
    })
    .await;
    assert_eq!(viewer.silences().await.unwrap().len(), 1);
    let matchers = vec!["service=checkout".parse().unwrap()];
    match viewer
        .add_silence(matchers, Duration::from_secs(60), String::new())
        .await
    {
        Err(ClientError::Refused { code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("{other:?}"),
    }
    drop((viewer, updates));
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("the engine stops");
}

/// A silenced incident as the remote console sees it: live, and in its detail.
#[tokio::test]
async fn the_remote_client_sees_a_silenced_incident() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = paging_config(dir.path());
    let running = klaxon::api::launch(&config, listener, Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://{}", running.address);
    let (client, mut updates) =
        RemoteClient::start(&base, Some(ADMIN.to_string()), "admin".to_string(), quick()).unwrap();
    until(&mut updates, |update| {
        *update == Update::Link(Link::Connected)
    })
    .await;
    let matchers = vec!["service=checkout".parse().unwrap()];
    let silence = client
        .add_silence(matchers, Duration::from_secs(3_600), String::new())
        .await
        .unwrap();
    let held = send_alert(running.address, "checkout slow").await;
    let incident = incident_until(&mut updates, held, |incident| {
        incident.escalation.silenced_by.is_some()
    })
    .await;
    assert_eq!(incident.escalation.silenced_by, Some(silence.id));
    let detail = client.detail(held).await.unwrap();
    assert!(detail
        .timeline
        .iter()
        .any(|entry| matches!(entry.kind, TimelineKind::Silenced { .. })));
    drop((client, updates));
    running.stop().await;
}

/// Skips updates until the presence of `incident` is exactly `viewers` (sorted).
async fn presence(updates: &mut Receiver<Update>, incident: u64, viewers: &[&str]) {
    until(updates, |update| match update {
        Update::Presence {
            incident: seen,
            viewers: names,
        } if *seen == incident => {
            let mut names = names.clone();
            names.sort();
            names == viewers
        }
        _ => false,
    })
    .await;
}

#[tokio::test]
async fn two_consoles_in_one_channel_see_each_other_and_each_others_messages() {
    let dir = tempfile::tempdir().unwrap();
    let running = launch(dir.path(), "127.0.0.1:0").await;
    let address = running.address;
    let alice = UserConfig {
        name: "alice".to_string(),
        token: common::RESPONDER.to_string(),
        role: Role::Responder,
    };
    let (embedded, mut alice_updates) =
        EmbeddedClient::start(running.engine.clone(), address, alice, vec![]);
    let embedded = Client::Embedded(embedded);
    let (remote, mut admin_updates) = RemoteClient::start(
        &format!("http://{address}"),
        Some(ADMIN.to_string()),
        "admin".to_string(),
        quick(),
    )
    .unwrap();
    let remote = Client::Remote(remote);
    until(&mut alice_updates, |update| {
        *update == Update::Link(Link::Connected)
    })
    .await;
    until(&mut admin_updates, |update| {
        *update == Update::Link(Link::Connected)
    })
    .await;
    let id = send_alert(address, "disk full on db-1").await;

    embedded.viewing(Some(id)).await.unwrap();
    remote.viewing(Some(id)).await.unwrap();
    presence(&mut alice_updates, id, &["admin", "alice"]).await;
    presence(&mut admin_updates, id, &["admin", "alice"]).await;

    // A message from one reaches the other, lines intact.
    let text = "failing over to db-2\n#cause pool too small";
    embedded
        .act(
            id,
            Action::Note {
                text: text.to_string(),
            },
        )
        .await
        .unwrap();
    until(&mut admin_updates, |update| {
        matches!(update, Update::Incident { timeline, .. } if timeline.iter().any(|entry| {
            entry.kind == TimelineKind::Note { text: text.to_string() }
                && entry.actor == Actor::User("alice".to_string())
        }))
    })
    .await;

    // Leaving the detail: the other console sees it.
    remote.viewing(None).await.unwrap();
    presence(&mut alice_updates, id, &["alice"]).await;

    // The postmortem draft comes through either client.
    let draft = remote.postmortem(id).await.unwrap();
    assert!(draft.contains("pool too small"), "{draft}");
    let draft = embedded.postmortem(id).await.unwrap();
    assert!(draft.contains("pool too small"), "{draft}");
    drop((embedded, alice_updates, remote, admin_updates));
    running.stop().await;
}
