//! Every source over real HTTP against an engine on 127.0.0.1:0: the vendors' published
//! examples open and resolve incidents, exact redeliveries change nothing, resolves for
//! unknown keys are no-ops, and hostile or wrong payloads get a clear 4xx and store nothing.

mod common;

use common::ADMIN;
use klaxon::config::IntegrationConfig;
use klaxon::engine::SystemClock;
use klaxon::ingest::{HmacOptions, Options, Source};
use serde_json::{json, Value};
use std::sync::Arc;

const GRAFANA_KEY: &str = "grafana-key-000000000000";
const SIGNED_GRAFANA_KEY: &str = "grafana-signed-key-00000";
const CLOUDWATCH_KEY: &str = "cloudwatch-key-000000000";
const VERIFIED_CLOUDWATCH_KEY: &str = "cloudwatch-verified-0000";
const AZURE_KEY: &str = "azure-key-00000000000000";
const DYNATRACE_KEY: &str = "dynatrace-key-0000000000";
const DATADOG_KEY: &str = "datadog-key-000000000000";
const GRAFANA_SECRET: &str = "shared-with-grafana-0000";

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

struct Engine {
    base: String,
    http: reqwest::Client,
    running: Option<klaxon::api::Running>,
    _dir: tempfile::TempDir,
}

impl Engine {
    async fn start() -> Engine {
        let dir = tempfile::tempdir().unwrap();
        let mut config = common::config(dir.path());
        let integration = |name: &str, source, key: &str, options| IntegrationConfig {
            name: name.to_string(),
            source,
            key: key.to_string(),
            service: None,
            rate_limit: None,
            options,
        };
        let unverified = Options {
            verify_signature: false,
            ..Options::default()
        };
        let signed = Options {
            hmac: Some(HmacOptions {
                secret: GRAFANA_SECRET.to_string(),
                header: klaxon::ingest::GRAFANA_SIGNATURE_HEADER.to_string(),
                timestamp_header: None,
            }),
            ..Options::default()
        };
        config.integrations.extend([
            integration("grafana", Source::Grafana, GRAFANA_KEY, Options::default()),
            integration(
                "grafana-signed",
                Source::Grafana,
                SIGNED_GRAFANA_KEY,
                signed,
            ),
            integration("aws", Source::Cloudwatch, CLOUDWATCH_KEY, unverified),
            integration(
                "aws-verified",
                Source::Cloudwatch,
                VERIFIED_CLOUDWATCH_KEY,
                Options::default(),
            ),
            integration("azure", Source::Azure, AZURE_KEY, Options::default()),
            integration(
                "dynatrace",
                Source::Dynatrace,
                DYNATRACE_KEY,
                Options::default(),
            ),
            integration("datadog", Source::Datadog, DATADOG_KEY, Options::default()),
        ]);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = klaxon::api::launch(&config, listener, Arc::new(SystemClock))
            .await
            .unwrap();
        Engine {
            base: format!("http://{}", running.address),
            http: reqwest::Client::new(),
            running: Some(running),
            _dir: dir,
        }
    }

    async fn post(&self, key: &str, content_type: &str, body: &str) -> (u16, Value) {
        self.post_with(key, content_type, body, &[]).await
    }

    async fn post_with(
        &self,
        key: &str,
        content_type: &str,
        body: &str,
        headers: &[(&str, String)],
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/v1/integrations/{key}", self.base))
            .header("content-type", content_type)
            .body(body.to_string());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn incidents(&self) -> Vec<Value> {
        let response = self
            .http
            .get(format!("{}/v1/incidents?limit=1000", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Vec<Value>>().await.unwrap()
    }

    async fn incident(&self, id: &Value) -> Value {
        let response = self
            .http
            .get(format!("{}/v1/incidents/{id}", self.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    async fn stop(mut self) {
        self.running.take().unwrap().stop().await;
    }
}

fn edited(text: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(text).unwrap();
    edit(&mut value);
    value.to_string()
}

const JSON: &str = "application/json";

/// (source, key, content type, firing body, resolving body, title, severity, alert count)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    String,
    String,
    &'static str,
    &'static str,
    u64,
);

fn cases() -> Vec<Case> {
    let grafana = fixture("grafana/docs-example.json");
    let grafana_resolved = edited(&grafana, |payload| {
        for alert in payload["alerts"].as_array_mut().unwrap() {
            alert["status"] = json!("resolved");
        }
        payload["status"] = json!("resolved");
    });
    let azure_resolved = fixture("azure/sample-alert-payload.json");
    let azure_fired = edited(&azure_resolved, |payload| {
        payload["data"]["essentials"]["monitorCondition"] = json!("Fired");
        payload["data"]["essentials"]["severity"] = json!("Sev1");
    });
    let dynatrace = fixture("dynatrace/docs-example.json");
    let dynatrace_resolved = edited(&dynatrace, |payload| payload["State"] = json!("RESOLVED"));
    let datadog = fixture("datadog/custom-payload.json");
    let datadog_recovered = edited(&datadog, |payload| {
        payload["alert_transition"] = json!("Recovered");
        payload["id"] = json!("7412358471953028099");
    });
    vec![
        ("grafana", GRAFANA_KEY, JSON, grafana, grafana_resolved, "This alert was triggered for zone us-1", "error", 2),
        ("cloudwatch", CLOUDWATCH_KEY, "text/plain; charset=UTF-8", fixture("sns/signed-alarm-v1.json"), fixture("sns/signed-ok-v2.json"), "EXAMPLE", "error", 1),
        ("azure", AZURE_KEY, JSON, azure_fired, azure_resolved, "WCUS-R2-Gen2 on wcus-r2-gen2", "error", 1),
        ("dynatrace", DYNATRACE_KEY, JSON, dynatrace, dynatrace_resolved, "Dynatrace problem notification test run on MyHost1, MyService1 (infrastructure impact)", "error", 1),
        ("datadog", DATADOG_KEY, JSON, datadog, datadog_recovered, "Checkout error rate above 5% on env:prod,service:checkout", "critical", 1),
    ]
}

#[tokio::test]
async fn every_source_opens_and_resolves_an_incident() {
    let engine = Engine::start().await;
    for (source, key, content_type, firing, resolving, title, severity, count) in cases() {
        let (status, answer) = engine.post(key, content_type, &firing).await;
        assert_eq!(status, 202, "{source}: {answer}");
        assert_eq!(answer["status"], "accepted", "{source}");
        let id = answer["incidents"][0].clone();
        assert!(id.is_u64(), "{source}: {answer}");
        let incident = engine.incident(&id).await;
        assert_eq!(incident["title"], title, "{source}");
        assert_eq!(incident["severity"], severity, "{source}");
        assert_eq!(incident["status"], "triggered", "{source}");
        assert_eq!(incident["alert_count"], count, "{source}");

        // The exact same delivery again changes nothing.
        let (status, again) = engine.post(key, content_type, &firing).await;
        assert_eq!(status, 202, "{source}: {again}");
        assert_eq!(again["incidents"], answer["incidents"], "{source}");
        let after = engine.incident(&id).await;
        assert_eq!(after["alert_count"], count, "{source}");
        assert_eq!(after["timeline"], incident["timeline"], "{source}");

        let (status, resolved) = engine.post(key, content_type, &resolving).await;
        assert_eq!(status, 202, "{source}: {resolved}");
        let incident = engine.incident(&id).await;
        assert_eq!(incident["status"], "resolved", "{source}: {incident}");
    }
    engine.stop().await;
}

#[tokio::test]
async fn resolves_for_unknown_keys_change_nothing() {
    let engine = Engine::start().await;
    let dynatrace = edited(&fixture("dynatrace/docs-example.json"), |payload| {
        payload["State"] = json!("RESOLVED");
        payload["PID"] = json!("never-opened");
    });
    let azure = fixture("azure/sample-alert-payload.json");
    for (key, body) in [(DYNATRACE_KEY, dynatrace), (AZURE_KEY, azure)] {
        let (status, answer) = engine.post(key, JSON, &body).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["incidents"], json!([]), "{answer}");
    }
    let (status, answer) = engine
        .post(
            CLOUDWATCH_KEY,
            "text/plain",
            &fixture("sns/signed-ok-v2.json"),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    assert!(engine.incidents().await.is_empty());
    engine.stop().await;
}

#[tokio::test]
async fn wrong_payloads_get_a_named_4xx_and_store_nothing() {
    let engine = Engine::start().await;
    let refusals = [
        (
            GRAFANA_KEY,
            edited(&fixture("grafana/docs-example.json"), |p| {
                p["alerts"][1]["status"] = json!("pending")
            }),
            400,
            "alerts[1].status",
        ),
        (
            AZURE_KEY,
            edited(&fixture("azure/sample-alert-payload.json"), |p| {
                p["data"]["essentials"]["monitorCondition"] = json!("Active")
            }),
            400,
            "data.essentials.monitorCondition",
        ),
        (
            AZURE_KEY,
            edited(&fixture("azure/sample-alert-payload.json"), |p| {
                p["schemaId"] = json!("AzureMonitorMetricAlert")
            }),
            422,
            "schemaId",
        ),
        (
            DYNATRACE_KEY,
            edited(&fixture("dynatrace/docs-example.json"), |p| {
                p["State"] = json!("CLOSED")
            }),
            400,
            "State",
        ),
        (
            DYNATRACE_KEY,
            edited(&fixture("dynatrace/docs-example.json"), |p| {
                p["State"] = json!("{State}")
            }),
            422,
            "State",
        ),
        (
            DATADOG_KEY,
            edited(&fixture("datadog/custom-payload.json"), |p| {
                p["alert_transition"] = json!("Muted")
            }),
            400,
            "alert_transition",
        ),
        (
            DATADOG_KEY,
            fixture("datadog/default-template.json"),
            422,
            "body",
        ),
        (
            CLOUDWATCH_KEY,
            edited(&fixture("sns/signed-alarm-v1.json"), |p| {
                p["Type"] = json!("Notice")
            }),
            400,
            "Type",
        ),
    ];
    for (key, body, expected, field) in refusals {
        let (status, answer) = engine.post(key, JSON, &body).await;
        assert_eq!(status, expected, "{field}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with(field),
            "{answer}"
        );
    }
    let (status, answer) = engine
        .post(
            DYNATRACE_KEY,
            JSON,
            &fixture("dynatrace/default-template.txt"),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("unrendered_placeholder"))
    );
    // JSON sources still want JSON; CloudWatch takes SNS's text/plain.
    let (status, _) = engine
        .post(
            GRAFANA_KEY,
            "text/plain",
            &fixture("grafana/docs-example.json"),
        )
        .await;
    assert_eq!(status, 415);
    // A signing certificate off AWS is never fetched.
    let hostile = edited(&fixture("sns/signed-alarm-v1.json"), |payload| {
        payload["SigningCertURL"] = json!("http://127.0.0.1:1/cert.pem")
    });
    let (status, answer) = engine
        .post(VERIFIED_CLOUDWATCH_KEY, "text/plain", &hostile)
        .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "untrusted_url");
    assert!(engine.incidents().await.is_empty());
    // And the engine keeps serving.
    let (status, _) = engine
        .post(DATADOG_KEY, JSON, &fixture("datadog/custom-payload.json"))
        .await;
    assert_eq!(status, 202);
    engine.stop().await;
}

#[tokio::test]
async fn grafana_signatures_are_checked_over_http() {
    let engine = Engine::start().await;
    let body = fixture("grafana/docs-example.json");
    let (status, answer) = engine.post(SIGNED_GRAFANA_KEY, JSON, &body).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["error"]["field"], "X-Grafana-Alerting-Signature");
    let wrong = klaxon::ingest::grafana::sign("not-the-secret-00000000", None, body.as_bytes());
    let header = [("X-Grafana-Alerting-Signature", wrong)];
    let (status, _) = engine
        .post_with(SIGNED_GRAFANA_KEY, JSON, &body, &header)
        .await;
    assert_eq!(status, 401);
    assert!(engine.incidents().await.is_empty());
    let good = klaxon::ingest::grafana::sign(GRAFANA_SECRET, None, body.as_bytes());
    let header = [("X-Grafana-Alerting-Signature", good)];
    let (status, answer) = engine
        .post_with(SIGNED_GRAFANA_KEY, JSON, &body, &header)
        .await;
    assert_eq!(status, 202, "{answer}");
    engine.stop().await;
}

#[tokio::test]
async fn cloudwatch_ignores_what_is_not_an_alarm() {
    let engine = Engine::start().await;
    for body in [
        fixture("sns/signed-not-an-alarm-v2.json"),
        fixture("cloudwatch/eventbridge-configuration-change.json"),
    ] {
        let (status, answer) = engine.post(CLOUDWATCH_KEY, "text/plain", &body).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["status"], "ignored", "{answer}");
        assert!(answer["reason"].is_string());
    }
    // EventBridge's alarm event, as an API destination posts it.
    let (status, answer) = engine
        .post(
            CLOUDWATCH_KEY,
            JSON,
            &fixture("cloudwatch/eventbridge-single-metric.json"),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    let incident = engine.incident(&answer["incidents"][0]).await;
    assert_eq!(incident["title"], "ServerCpuTooHigh");
    assert_eq!(incident["links"][0]["text"], "CloudWatch");
    // A confirmation for a topic not listed in allowed_topics is refused, not visited.
    let (status, answer) = engine
        .post(
            CLOUDWATCH_KEY,
            "text/plain",
            &fixture("sns/signed-subscription-confirmation.json"),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (403, Some("topic_not_allowed"))
    );
    engine.stop().await;
}
