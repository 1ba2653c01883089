//! The paging REST API on a real server: on call now and next, overrides, silences,
//! explain and escalate-now, with what they refuse and how it survives a restart.

mod common;

use common::{Server, ADMIN, RESPONDER, VIEWER};
use klaxon::domain::escalation::{Directory, EscalationLevel, EscalationPolicy, Person, Target};
use klaxon::domain::routing::{Route, Routing, Urgency};
use klaxon::domain::schedule::{Layer, Schedule, ShiftLength};
use klaxon::domain::silence::Silence;
use serde_json::{json, Value};

fn person(name: &str) -> Person {
    Person {
        name: name.to_string(),
        contacts: Vec::new(),
        high: Vec::new(),
        low: Vec::new(),
    }
}

/// Alice and admin take daily turns on `primary`; `ops` pages primary, then admin; the
/// `batch` route is low urgency; a maintenance window from the config covers `legacy`.
fn config(dir: &std::path::Path) -> klaxon::config::Config {
    let mut config = common::config(dir);
    let level = |target: Target, minutes| EscalationLevel {
        targets: vec![target],
        delay: chrono::Duration::minutes(minutes),
    };
    let now = chrono::Utc::now();
    config.oncall.directory = Directory {
        people: vec![person("admin"), person("alice"), person("vic")],
        teams: Vec::new(),
        schedules: vec![Schedule {
            name: "primary".to_string(),
            time_zone: chrono_tz::Europe::Berlin,
            layers: vec![Layer {
                name: "daily".to_string(),
                members: vec!["alice".to_string(), "admin".to_string()],
                shift: ShiftLength::Days(1),
                handoff: chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
                start: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                restriction: None,
            }],
        }],
        policies: vec![EscalationPolicy {
            name: "ops".to_string(),
            levels: vec![
                level(Target::Schedule("primary".to_string()), 5),
                level(Target::User("admin".to_string()), 10),
            ],
            repeat: 0,
            round_robin: false,
        }],
    };
    config.oncall.routing = Routing {
        routes: vec![Route {
            name: "batch".to_string(),
            matchers: vec!["team=batch".parse().unwrap()],
            service: Some("batch".to_string()),
            policy: None,
            urgency: Some(Urgency::Low),
            page: true,
        }],
        default_policy: Some("ops".to_string()),
        default_urgency: None,
    };
    config.oncall.maintenance = vec![Silence {
        id: "legacy-window".to_string(),
        matchers: vec!["service=legacy".parse().unwrap()],
        starts_at: now - chrono::Duration::hours(1),
        ends_at: now + chrono::Duration::hours(1),
        comment: "decommissioning".to_string(),
        created_by: None,
    }];
    config
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    Server::start_with(config, dir).await
}

async fn send(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    token: &str,
) -> (u16, Value) {
    let mut request = server
        .http
        .request(method, server.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn oncall_and_overrides() {
    let server = start().await;
    let (status, schedules) = server.get("/v1/oncall", VIEWER).await;
    assert_eq!(status, 200, "{schedules}");
    let primary = &schedules[0];
    assert_eq!(primary["schedule"], "primary");
    assert_eq!(primary["time_zone"], "Europe/Berlin");
    let now_user = primary["now"]["user"].as_str().unwrap().to_string();
    let next_user = primary["next"]["user"].as_str().unwrap();
    assert_ne!(now_user, next_user, "daily turns: {primary}");
    assert_eq!(primary["now"]["end"], primary["next"]["start"]);
    assert_eq!(primary["now"]["layer"], "daily");

    // vic takes over for two hours.
    let (status, created) = send(
        &server,
        reqwest::Method::POST,
        "/v1/overrides",
        Some(json!({"schedule": "primary", "user": "vic", "duration": "2h"})),
        RESPONDER,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["origin"], "api");
    assert_eq!(created["created_by"], "alice");
    let id = created["id"].as_str().unwrap().to_string();
    let (_, schedules) = server.get("/v1/oncall", VIEWER).await;
    assert_eq!(schedules[0]["now"]["user"], "vic");
    assert_eq!(schedules[0]["now"]["override_id"], id.as_str());
    assert_eq!(schedules[0]["overrides"][0]["id"], id.as_str());
    assert_eq!(
        schedules[0]["next"]["user"],
        now_user.as_str(),
        "back after the override"
    );

    // Refusals say what is wrong.
    let refusals = [
        (
            json!({"schedule": "nope", "user": "vic", "duration": "1h"}),
            400,
            "no schedule \"nope\"; schedules: primary",
        ),
        (
            json!({"schedule": "primary", "user": "mallory", "duration": "1h"}),
            400,
            "no user \"mallory\"",
        ),
        (
            json!({"schedule": "primary", "user": "vic"}),
            400,
            "give end (RFC 3339) or duration",
        ),
        (
            json!({"schedule": "primary", "user": "vic", "duration": "0s"}),
            400,
            "more than zero",
        ),
        (
            json!({"schedule": "primary", "user": "vic", "start": "2026-13-01T00:00:00Z", "duration": "1h"}),
            400,
            "not an RFC 3339 time",
        ),
        (
            json!({"schedule": "primary", "user": "vic", "duration": "1h", "colour": "red"}),
            400,
            "unknown field \"colour\"",
        ),
        (
            json!({"schedule": "primary", "user": "vic", "start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"}),
            400,
            "must end after it starts",
        ),
    ];
    for (body, status, message) in refusals {
        let (got, answer) = send(
            &server,
            reqwest::Method::POST,
            "/v1/overrides",
            Some(body.clone()),
            RESPONDER,
        )
        .await;
        assert_eq!(got, status, "{body}: {answer}");
        let text = answer["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text}");
    }
    let (status, _) = send(
        &server,
        reqwest::Method::POST,
        "/v1/overrides",
        Some(json!({"schedule": "primary", "user": "vic", "duration": "1h"})),
        VIEWER,
    )
    .await;
    assert_eq!(status, 403, "viewers cannot change who is on call");

    // It survives a restart, then is deleted.
    let dir = server.stop().await;
    let config = config(dir.path());
    let server = Server::start_with(config, dir).await;
    let (_, overrides) = server.get("/v1/overrides", VIEWER).await;
    assert_eq!(overrides[0]["id"], id.as_str(), "{overrides}");
    let (status, deleted) = send(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/overrides/{id}"),
        None,
        RESPONDER,
    )
    .await;
    assert_eq!(status, 200, "{deleted}");
    let (status, again) = send(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/overrides/{id}"),
        None,
        RESPONDER,
    )
    .await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (_, schedules) = server.get("/v1/oncall", VIEWER).await;
    assert_eq!(schedules[0]["now"]["user"], now_user.as_str());
    server.stop().await;
}

#[tokio::test]
async fn silences_hold_paging_and_expire() {
    let server = start().await;
    let (_, silences) = server.get("/v1/silences", VIEWER).await;
    assert_eq!(silences[0]["id"], "legacy-window");
    assert_eq!(silences[0]["origin"], "config");
    assert_eq!(silences[0]["state"], "active");

    let (status, created) = send(
        &server,
        reqwest::Method::POST,
        "/v1/silences",
        Some(json!({"matchers": ["svc=checkout", "sev=~warning|info"], "duration": "2h", "comment": "load test"})),
        RESPONDER,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["matchers"],
        json!(["service=checkout", "severity=~warning|info"])
    );
    assert_eq!(created["state"], "active");
    let id = created["id"].as_str().unwrap().to_string();

    // A warning for checkout is stored and shown, silenced; a critical one pages.
    let (_, warning) = server
        .post_alert(&json!({"summary": "slow page", "severity": "warning", "service": "checkout"}))
        .await;
    let (_, detail) = server
        .get(
            &format!("/v1/incidents/{}", warning["incidents"][0]),
            VIEWER,
        )
        .await;
    assert_eq!(detail["escalation"]["silenced_by"], id.as_str(), "{detail}");
    assert!(detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .any(|entry| entry["kind"] == "silenced"));
    let (_, critical) = server
        .post_alert(
            &json!({"summary": "checkout down", "severity": "critical", "service": "checkout"}),
        )
        .await;
    let (_, detail) = server
        .get(
            &format!("/v1/incidents/{}", critical["incidents"][0]),
            VIEWER,
        )
        .await;
    assert_eq!(detail["escalation"]["level"], 1, "{detail}");
    assert!(detail["escalation"]["silenced_by"].is_null());

    let refusals = [
        (
            json!({"matchers": [], "duration": "1h"}),
            "at least one matcher",
        ),
        (
            json!({"matchers": ["nonsense"], "duration": "1h"}),
            "expected NAME=VALUE",
        ),
        (
            json!({"matchers": ["team=~(db"], "duration": "1h"}),
            "invalid regular expression: unclosed group",
        ),
        (
            json!({"matchers": ["sev=urgent"], "duration": "1h"}),
            "not a severity",
        ),
        (
            json!({"matchers": "svc=a", "duration": "1h"}),
            "must be a list of strings",
        ),
        (
            json!({"matchers": ["svc=a"]}),
            "give ends_at (RFC 3339) or duration",
        ),
        (
            json!({"matchers": ["svc=a"], "duration": "1h", "ends_at": "2030-01-01T00:00:00Z"}),
            "not both",
        ),
        (
            json!({"matchers": ["svc=a"], "ends_at": "2020-01-01T00:00:00Z"}),
            "must end after it starts",
        ),
    ];
    for (body, message) in refusals {
        let (status, answer) = send(
            &server,
            reqwest::Method::POST,
            "/v1/silences",
            Some(body.clone()),
            RESPONDER,
        )
        .await;
        assert_eq!(status, 400, "{body}: {answer}");
        let text = answer["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body}: {text}");
    }

    let (status, expired) = send(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/silences/{id}"),
        None,
        RESPONDER,
    )
    .await;
    assert_eq!(
        (status, expired["state"].as_str()),
        (200, Some("expired")),
        "{expired}"
    );
    let (status, again) = send(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/silences/{id}"),
        None,
        RESPONDER,
    )
    .await;
    assert_eq!(status, 409, "{again}");
    let (status, window) = send(
        &server,
        reqwest::Method::DELETE,
        "/v1/silences/legacy-window",
        None,
        RESPONDER,
    )
    .await;
    assert_eq!(status, 409, "{window}");
    assert!(window["error"]["message"]
        .as_str()
        .unwrap()
        .contains("configuration file"));
    let (status, _) = send(
        &server,
        reqwest::Method::DELETE,
        "/v1/silences/999",
        None,
        RESPONDER,
    )
    .await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn explain_predicts_and_escalate_now_moves_on() {
    let server = start().await;
    let (status, explained) = server
        .get("/v1/explain?service=api&severity=critical", VIEWER)
        .await;
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["policy"], "ops");
    assert_eq!(explained["urgency"], "high");
    let pages = explained["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 2, "{explained}");
    assert_eq!(pages[0]["level"], 1);
    assert_eq!(pages[1]["user"], "admin");
    assert_eq!(pages[1]["level"], 2);

    let (_, batch) = server
        .get("/v1/explain?label=team%3Dbatch&severity=warning", VIEWER)
        .await;
    assert_eq!(batch["route"], "batch");
    assert_eq!(batch["service"], "batch");
    assert_eq!(batch["urgency"], "low");
    let (_, legacy) = server.get("/v1/explain?service=legacy", VIEWER).await;
    assert_eq!(legacy["silenced_by"], "legacy-window");
    assert_eq!(legacy["not_paged"], "silence legacy-window holds it");
    assert_eq!(legacy["pages"], json!([]));
    for (query, field) in [
        ("severity=urgent", "severity"),
        ("label=novalue", "label"),
        ("colour=red", "colour"),
    ] {
        let (status, answer) = server.get(&format!("/v1/explain?{query}"), VIEWER).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (400, Some(field)),
            "{answer}"
        );
    }

    let (_, accepted) = server
        .post_alert(&json!({"summary": "api down", "severity": "critical"}))
        .await;
    let id = accepted["incidents"][0].as_u64().unwrap();
    let (status, escalated) = server.act(id, "escalate", json!({}), RESPONDER).await;
    assert_eq!(status, 200, "{escalated}");
    assert_eq!(escalated["escalation"]["level"], 2);
    assert!(
        escalated["escalation"]["next_at"].is_null(),
        "the last level"
    );
    let (status, refused) = server.act(id, "escalate", json!({}), RESPONDER).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("escalation_exhausted")),
        "{refused}"
    );
    let (_, detail) = server.get(&format!("/v1/incidents/{id}"), ADMIN).await;
    let manual = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "escalated" && entry["manual"] == true)
        .expect("the manual step is in the timeline");
    assert_eq!(manual["actor"]["name"], "alice");
    assert_eq!(
        manual["description"],
        "escalated by hand to level 2 of ops: paging admin"
    );
    server.stop().await;
}
