//! The API as senders, people and scripts see it: real HTTP against a real server.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn generic_alert_opens_an_incident_that_people_act_on() {
    let server = Server::start().await;
    let (status, body) = server
        .post_alert(
            &json!({"summary": "disk full on db-1", "severity": "critical",
                            "labels": {"host": "db-1"}, "links": ["https://grafana/d/1"]}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body,
        json!({"status": "accepted", "alerts": 1, "incidents": [1]})
    );

    let (status, list) = server.get("/v1/incidents?status=triggered", VIEWER).await;
    assert_eq!(status, 200);
    let incident = &list[0];
    assert_eq!(incident["title"], "disk full on db-1");
    assert_eq!(incident["severity"], "critical");
    assert_eq!(incident["status"], "triggered");
    assert_eq!(incident["service"], "checkout");
    assert_eq!(incident["integration"], "generic");
    assert_eq!(incident["alert_count"], 1);
    assert_eq!(incident["labels"]["host"], "db-1");
    assert_eq!(incident["links"][0]["href"], "https://grafana/d/1");

    let (status, acked) = server.act(1, "acknowledge", json!({}), RESPONDER).await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["status"], "acknowledged");
    assert_eq!(acked["acknowledged_by"], "alice");
    let (status, _) = server
        .act(
            1,
            "notes",
            json!({"text": "failing over to db-2"}),
            RESPONDER,
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = server
        .act(1, "reassign", json!({"to": "bob"}), RESPONDER)
        .await;
    assert_eq!(status, 200);
    let (status, resolved) = server.act(1, "resolve", json!({}), ADMIN).await;
    assert_eq!(status, 200);
    assert_eq!(resolved["status"], "resolved");

    let (status, detail) = server.get("/v1/incidents/1", VIEWER).await;
    assert_eq!(status, 200);
    let timeline: Vec<(String, String)> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["kind"].as_str().unwrap().to_string(),
                entry["actor"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let expected = [
        ("triggered", "generic"),
        ("not_paged", ""),
        ("acknowledged", "alice"),
        ("note", "alice"),
        ("reassigned", "alice"),
        ("resolved", "admin"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(kind, who)| (kind.to_string(), who.to_string()))
        .collect();
    assert_eq!(timeline, expected);
    assert_eq!(detail["timeline"][3]["text"], "failing over to db-2");
    assert_eq!(detail["alerts"][0]["title"], "disk full on db-1");

    // Open list no longer has it; the full list does.
    let (_, open) = server
        .get("/v1/incidents?status=triggered,acknowledged", VIEWER)
        .await;
    assert_eq!(open, json!([]));
    assert_eq!(server.all_incidents().await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn refire_joins_and_resolve_from_the_source_resolves() {
    let server = Server::start().await;
    let alert = json!({"summary": "queue backlog", "dedup_key": "queue-1"});
    server.post_alert(&alert).await;
    let (_, second) = server
        .post_alert(
            &json!({"summary": "queue backlog", "dedup_key": "queue-1", "details": {"n": 2}}),
        )
        .await;
    assert_eq!(second["incidents"], json!([1]));
    let (_, list) = server.get("/v1/incidents?status=triggered", VIEWER).await;
    assert_eq!(list[0]["alert_count"], 2);
    let (status, _) = server
        .post_alert(
            &json!({"summary": "queue backlog", "dedup_key": "queue-1", "status": "resolved"}),
        )
        .await;
    assert_eq!(status, 202);
    let (_, detail) = server.get("/v1/incidents/1", VIEWER).await;
    assert_eq!(detail["status"], "resolved");
    assert_eq!(detail["resolved_by"], "integration generic");
    // After a resolve the next firing opens a new incident.
    let (_, third) = server.post_alert(&alert).await;
    assert_eq!(third["incidents"], json!([2]));
    server.stop().await;
}

#[tokio::test]
async fn an_exact_replay_is_accepted_without_a_second_incident_or_alert() {
    let server = Server::start().await;
    let body = br#"{"summary":"cert expires in 3 days","severity":"warning"}"#.to_vec();
    let (first_status, first) = server.post_raw(GENERIC_KEY, body.clone()).await;
    let (second_status, second) = server.post_raw(GENERIC_KEY, body).await;
    assert_eq!((first_status, second_status), (202, 202));
    assert_eq!(first, second);
    let all = server.all_incidents().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["alert_count"], 1);
    server.stop().await;
}

#[tokio::test]
async fn alertmanager_group_is_one_incident_counting_distinct_alerts() {
    let server = Server::start().await;
    let alert = |name: &str, status: &str| {
        json!({"status": status, "labels": {"alertname": "HighLatency", "instance": name, "severity": "critical"},
               "annotations": {"summary": "p99 over 2s"}, "startsAt": "2026-11-24T10:00:00Z",
               "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph", "fingerprint": name})
    };
    let payload = |status: &str, alerts: Vec<Value>| {
        json!({"version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
               "status": status, "receiver": "klaxon", "groupLabels": {"alertname": "HighLatency"},
               "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
               "commonAnnotations": {"summary": "p99 over 2s"}, "externalURL": "http://alertmanager:9093",
               "alerts": alerts})
    };
    let firing = payload(
        "firing",
        vec![
            alert("a", "firing"),
            alert("b", "firing"),
            alert("c", "firing"),
        ],
    );
    let (status, body) = server
        .post_raw(ALERTMANAGER_KEY, serde_json::to_vec(&firing).unwrap())
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["alerts"], 3);
    let all = server.all_incidents().await;
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["alert_count"], 3);
    assert_eq!(all[0]["title"], "p99 over 2s");
    assert_eq!(all[0]["severity"], "critical");
    let resolved = payload(
        "resolved",
        vec![
            alert("a", "resolved"),
            alert("b", "resolved"),
            alert("c", "resolved"),
        ],
    );
    let (status, _) = server
        .post_raw(ALERTMANAGER_KEY, serde_json::to_vec(&resolved).unwrap())
        .await;
    assert_eq!(status, 202);
    assert_eq!(server.all_incidents().await[0]["status"], "resolved");
    server.stop().await;
}

#[tokio::test]
async fn pagerduty_events_v2_trigger_acknowledge_resolve() {
    let server = Server::start().await;
    let enqueue = |body: Value| {
        let request = server.http.post(server.url("/v2/enqueue")).json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = enqueue(json!({
        "routing_key": PAGERDUTY_KEY, "event_action": "trigger", "dedup_key": "srv01-cpu",
        "payload": {"summary": "CPU on srv01 at 99%", "source": "srv01", "severity": "error"}
    }))
    .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body,
        json!({"status": "success", "message": "Event processed", "dedup_key": "srv01-cpu"})
    );
    let (status, _) = enqueue(json!({"routing_key": PAGERDUTY_KEY, "event_action": "acknowledge", "dedup_key": "srv01-cpu"})).await;
    assert_eq!(status, 202);
    assert_eq!(server.all_incidents().await[0]["status"], "acknowledged");
    let (status, _) = enqueue(
        json!({"routing_key": PAGERDUTY_KEY, "event_action": "resolve", "dedup_key": "srv01-cpu"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(server.all_incidents().await[0]["status"], "resolved");

    let (status, body) =
        enqueue(json!({"routing_key": PAGERDUTY_KEY, "event_action": "explode"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["status"], "invalid event");
    assert!(
        body["errors"][0].as_str().unwrap().contains("event_action"),
        "{body}"
    );
    let (status, body) =
        enqueue(json!({"routing_key": GENERIC_KEY, "event_action": "resolve", "dedup_key": "x"}))
            .await;
    assert_eq!(status, 404, "a generic key is no routing key: {body}");
    server.stop().await;
}

#[tokio::test]
async fn tokens_and_roles_are_enforced() {
    let server = Server::start().await;
    server.post_alert(&json!({"summary": "x"})).await;
    let response = server
        .http
        .get(server.url("/v1/incidents"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let (status, _) = server.get("/v1/incidents", "not-a-real-token-at-all").await;
    assert_eq!(status, 401);
    let (status, body) = server.act(1, "acknowledge", json!({}), VIEWER).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, _) = server.get("/v1/incidents/1", VIEWER).await;
    assert_eq!(status, 200, "viewers read");
    let (_, integrations) = server.get("/v1/integrations", VIEWER).await;
    assert!(
        integrations[0].get("key").is_none(),
        "keys are for admins only"
    );
    let (_, integrations) = server.get("/v1/integrations", ADMIN).await;
    assert!(integrations[0]["key"].is_string());
    server.stop().await;
}

#[tokio::test]
async fn actions_refuse_bad_requests_clearly() {
    let server = Server::start().await;
    server.post_alert(&json!({"summary": "x"})).await;
    let cases = [
        (
            "/v1/incidents/abc/acknowledge",
            json!({}),
            400,
            "invalid_id",
        ),
        ("/v1/incidents/99/acknowledge", json!({}), 404, "not_found"),
        ("/v1/incidents/1/explode", json!({}), 404, "not_found"),
        ("/v1/incidents/1/notes", json!({}), 400, "missing_field"),
        (
            "/v1/incidents/1/notes",
            json!({"text": 5}),
            400,
            "wrong_type",
        ),
        (
            "/v1/incidents/1/notes",
            json!({"text": " "}),
            400,
            "invalid",
        ),
        (
            "/v1/incidents/1/acknowledge",
            json!({"force": true}),
            400,
            "unknown_field",
        ),
        (
            "/v1/incidents/1/snooze",
            json!({"duration": "soon"}),
            400,
            "invalid_value",
        ),
        (
            "/v1/incidents/1/snooze",
            json!({"until": "2001-01-01T00:00:00Z"}),
            400,
            "invalid",
        ),
        (
            "/v1/incidents/1/severity",
            json!({"severity": "urgent"}),
            400,
            "unknown_value",
        ),
        (
            "/v1/incidents/1/escalate",
            json!({}),
            409,
            "no_escalation_policy",
        ),
    ];
    for (path, body, status, code) in cases {
        let response = server
            .http
            .post(server.url(path))
            .bearer_auth(RESPONDER)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path} {body}");
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["error"]["code"], code, "{path} {body}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
    }
    let (_, list) = server.get("/v1/incidents?status=bogus", VIEWER).await;
    assert_eq!(list["error"]["field"], "status");
    server.act(1, "resolve", json!({}), RESPONDER).await;
    let (status, body) = server.act(1, "acknowledge", json!({}), RESPONDER).await;
    assert_eq!(status, 409, "{body}");
    let (_, detail) = server.get("/v1/incidents/1", VIEWER).await;
    assert_eq!(
        detail["timeline"].as_array().unwrap().len(),
        3,
        "refusals wrote nothing"
    );
    server.stop().await;
}

#[tokio::test]
async fn snooze_by_duration_sets_a_wake_up_time() {
    let server = Server::start().await;
    server.post_alert(&json!({"summary": "x"})).await;
    let (status, body) = server
        .act(1, "snooze", json!({"duration": "30m"}), RESPONDER)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "acknowledged");
    let until =
        chrono::DateTime::parse_from_rfc3339(body["snoozed_until"].as_str().unwrap()).unwrap();
    let minutes = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
    assert!((28..=30).contains(&minutes), "{minutes}");
    server.stop().await;
}

#[tokio::test]
async fn health_and_metrics() {
    let server = Server::start().await;
    server
        .post_alert(&json!({"summary": "x", "severity": "warning"}))
        .await;
    server.post_raw(GENERIC_KEY, "{").await;
    let health: Value = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let response = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for expected in [
        r#"klaxon_ingest_requests_total{integration="generic",outcome="accepted"} 1"#,
        r#"klaxon_ingest_requests_total{integration="generic",outcome="rejected"} 1"#,
        r#"klaxon_open_incidents{severity="warning"} 1"#,
        r#"klaxon_open_incidents{severity="critical"} 0"#,
        "klaxon_ingest_seconds_bucket",
        "klaxon_store_flush_seconds_count",
    ] {
        assert!(text.contains(expected), "missing {expected} in\n{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn the_cli_client_reads_what_the_server_writes() {
    use klaxon::client::http::{ClientError, RestClient};
    let server = Server::start().await;
    let client = RestClient::new(&server.base, Some(RESPONDER.to_string()));
    let accepted = client
        .send_alert(
            GENERIC_KEY,
            &json!({"summary": "db down", "severity": "critical"}),
        )
        .await
        .unwrap();
    assert_eq!(accepted.incidents, vec![1]);
    client
        .act(1, "notes", json!({"text": "paging the dba"}))
        .await
        .unwrap();
    let detail = client.detail(1).await.unwrap();
    assert_eq!(detail.incident.title, "db down");
    assert_eq!(
        detail.timeline[1].description,
        "nobody paged: no route matches and there is no default escalation policy"
    );
    assert_eq!(detail.timeline[2].description, "paging the dba");
    let open = client
        .incidents(&["triggered".to_string()], None, None)
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    let refused = client
        .act(1, "acknowledge", json!({"x": 1}))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ClientError::Refused { status: 400, code, .. } if code == "unknown_field"),
        "{refused}"
    );
    let unreachable = RestClient::new("http://127.0.0.1:9", None)
        .detail(1)
        .await
        .unwrap_err();
    assert!(
        unreachable.to_string().contains("cannot reach klaxon"),
        "{unreachable}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_postmortem_draft_is_written_from_the_timeline() {
    let server = Server::start().await;
    server
        .post_alert(
            &json!({"summary": "checkout errors", "severity": "critical", "service": "checkout"}),
        )
        .await;
    server.act(1, "acknowledge", json!({}), RESPONDER).await;
    server
        .act(
            1,
            "notes",
            json!({"text": "#cause connection pool exhausted after the deploy"}),
            RESPONDER,
        )
        .await;
    server.act(1, "resolve", json!({}), RESPONDER).await;

    let response = server
        .http
        .get(server.url("/v1/incidents/1/postmortem"))
        .bearer_auth(VIEWER)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/markdown; charset=utf-8"
    );
    let draft = response.text().await.unwrap();
    assert!(
        draft.starts_with("# Postmortem: incident #1 (CRIT)"),
        "{draft}"
    );
    assert!(
        draft.contains("connection pool exhausted after the deploy"),
        "{draft}"
    );
    assert!(draft.contains("alice"), "{draft}");

    let (status, facts) = server
        .get("/v1/incidents/1/postmortem?format=json", VIEWER)
        .await;
    assert_eq!(status, 200, "{facts}");
    assert_eq!(facts["incident"], 1);
    assert_eq!(facts["acknowledged_by"], "alice");
    assert!(
        facts["time_to_resolve_seconds"].as_i64().is_some(),
        "{facts}"
    );
    assert_eq!(
        facts["findings"]["cause"][0]["text"],
        "connection pool exhausted after the deploy"
    );

    let (status, missing) = server.get("/v1/incidents/99/postmortem", VIEWER).await;
    assert_eq!(
        (status, missing["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    let (status, bad) = server
        .get("/v1/incidents/1/postmortem?format=pdf", VIEWER)
        .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("format"))
    );
    server.stop().await;
}

/// Polls a GET until `ready` holds, with a deadline: indexing runs beside the engine and
/// makes changes searchable within about a second.
async fn eventually(server: &Server, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, body) = server.get(path, VIEWER).await;
        if status == 200 && ready(&body) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "{path}: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn history_is_searched_and_the_bot_remembers_how_it_was_fixed() {
    let server = Server::start().await;
    server
        .post_alert(&json!({"summary": "pgbouncer connection pool exhausted", "severity": "critical", "service": "payments", "dedup_key": "pool"}))
        .await;
    server
        .act(
            1,
            "notes",
            json!({"text": "restarted pgbouncer with a bigger pool #action"}),
            RESPONDER,
        )
        .await;
    server.act(1, "resolve", json!({}), RESPONDER).await;

    let hits = eventually(
        &server,
        "/v1/search?q=%22bigger%20pool%22%20kind:message",
        |hits| hits.as_array().is_some_and(|hits| !hits.is_empty()),
    )
    .await;
    assert_eq!(hits[0]["kind"], "message", "{hits}");
    assert_eq!(hits[0]["incident"], 1);
    assert_eq!(hits[0]["message"]["author"], "alice");
    let (_, filtered) = server
        .get("/v1/search?q=pgbouncer%20service:checkout", VIEWER)
        .await;
    assert_eq!(filtered, json!([]), "no checkout incident mentions it");
    let (status, bad) = server.get("/v1/search?q=%22unclosed", VIEWER).await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unclosed quote"),
        "{bad}"
    );
    let (status, _) = server.get("/v1/search", VIEWER).await;
    assert_eq!(status, 400);

    // The same trouble again: the bot says it was seen before, and how it was fixed.
    server
        .post_alert(&json!({"summary": "pgbouncer connection pool exhausted", "severity": "critical", "service": "payments", "dedup_key": "pool"}))
        .await;
    let detail = eventually(&server, "/v1/incidents/2", |detail| {
        detail["timeline"]
            .as_array()
            .is_some_and(|entries| entries.iter().any(|entry| entry["kind"] == "bot_reply"))
    })
    .await;
    let said = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "bot_reply")
        .unwrap()["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(said.starts_with("seen before: #1"), "{said}");
    assert!(
        said.contains("by alice: restarted pgbouncer with a bigger pool"),
        "{said}"
    );

    // And asked in the channel.
    server
        .act(
            2,
            "notes",
            json!({"text": "/search bigger pool"}),
            RESPONDER,
        )
        .await;
    let detail = eventually(&server, "/v1/incidents/2", |detail| {
        detail["timeline"].as_array().is_some_and(|entries| {
            entries
                .iter()
                .any(|entry| entry["kind"] == "bot_reply" && entry["command"] == "search")
        })
    })
    .await;
    let answer = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["command"] == "search")
        .unwrap()["description"]
        .clone();
    let answer = answer.as_str().unwrap();
    assert!(answer.starts_with("found: #1 "), "{answer}");
    assert!(
        answer.contains("#1 alice wrote: restarted pgbouncer with a bigger pool"),
        "{answer}"
    );
    let (_, similar) = server.get("/v1/incidents/2/similar", VIEWER).await;
    assert_eq!(similar[0]["incident"], 1, "{similar}");
    server.stop().await;
}
