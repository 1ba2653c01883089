//! Starts a real engine + server on 127.0.0.1:0 for a test and talks HTTP and websocket to it.
#![allow(dead_code)]

use klaxon::config::{Config, IntegrationConfig, RateLimit, Role, ServerConfig, UserConfig};
use klaxon::engine::SystemClock;
use klaxon::ingest::Source;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN: &str = "admin-token-000000000000";
pub const RESPONDER: &str = "alice-token-000000000000";
pub const VIEWER: &str = "viewer-token-00000000000";
pub const GENERIC_KEY: &str = "generic-key-000000000000";
pub const ALERTMANAGER_KEY: &str = "alertmanager-key-0000000";
pub const PAGERDUTY_KEY: &str = "pagerduty-key-0000000000";
pub const LIMITED_KEY: &str = "limited-key-000000000000";

pub fn config(data_dir: &std::path::Path) -> Config {
    let integration = |name: &str, source, key: &str, rate_limit| IntegrationConfig {
        name: name.to_string(),
        source,
        key: key.to_string(),
        service: Some("checkout".to_string()),
        rate_limit,
        options: Default::default(),
    };
    let user = |name: &str, token: &str, role| UserConfig {
        name: name.to_string(),
        token: token.to_string(),
        role,
    };
    Config {
        server: ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: data_dir.to_path_buf(),
            max_body_bytes: 64 * 1024,
            max_message_bytes: 4096,
            header_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(10),
            replay_window: Duration::from_secs(600),
        },
        integrations: vec![
            integration("generic", Source::Generic, GENERIC_KEY, None),
            integration("prometheus", Source::Alertmanager, ALERTMANAGER_KEY, None),
            integration("pagerduty", Source::Pagerduty, PAGERDUTY_KEY, None),
            integration(
                "limited",
                Source::Generic,
                LIMITED_KEY,
                Some(RateLimit {
                    per_second: 1,
                    burst: 2,
                }),
            ),
        ],
        users: vec![
            user("admin", ADMIN, Role::Admin),
            user("alice", RESPONDER, Role::Responder),
            user("vic", VIEWER, Role::Viewer),
        ],
        oncall: Default::default(),
    }
}

pub struct Server {
    pub base: String,
    pub address: std::net::SocketAddr,
    pub http: reqwest::Client,
    pub running: Option<klaxon::api::Running>,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Server {
        let config = config(dir.path());
        Self::start_with(config, dir).await
    }

    /// Starts on a configuration of the test's own (its data dir should be `dir`).
    pub async fn start_with(config: Config, dir: tempfile::TempDir) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = klaxon::api::launch(&config, listener, Arc::new(SystemClock))
            .await
            .unwrap();
        Self::wrap(running, dir)
    }

    pub async fn start_with_store(store: Arc<dyn klaxon::store::Store>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = klaxon::api::launch_with_store(
            &config(dir.path()),
            listener,
            Arc::new(SystemClock),
            store,
        )
        .await
        .unwrap();
        Self::wrap(running, dir)
    }

    fn wrap(running: klaxon::api::Running, dir: tempfile::TempDir) -> Server {
        let address = running.address;
        Server {
            base: format!("http://{address}"),
            address,
            http: reqwest::Client::new(),
            running: Some(running),
            dir,
        }
    }

    pub async fn stop(mut self) -> tempfile::TempDir {
        self.running.take().unwrap().stop().await;
        self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Posts raw bytes as JSON to an integration; returns status and parsed JSON body.
    pub async fn post_raw(&self, key: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/v1/integrations/{key}")))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_alert(&self, body: &Value) -> (u16, Value) {
        self.post_raw(GENERIC_KEY, serde_json::to_vec(body).unwrap())
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn act(&self, id: u64, action: &str, body: Value, token: &str) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(&format!("/v1/incidents/{id}/{action}")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every incident, any status, newest first.
    pub async fn all_incidents(&self) -> Vec<Value> {
        let (status, body) = self.get("/v1/incidents?limit=10000", ADMIN).await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }
}
