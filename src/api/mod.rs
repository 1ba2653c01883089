//! The HTTP and websocket API (axum): ingest endpoints, REST, the live stream, health and
//! metrics. Errors are mapped once (`error`); auth is in `auth`. `launch` wires a whole
//! engine + server onto a listener it is given, so tests run it on `127.0.0.1:0`.

pub mod auth;
pub mod error;
mod ingest;
pub mod limits;
mod paging;
mod rest;
mod stream;

use crate::config::{Config, IntegrationConfig};
use crate::engine::{
    self, Clock, EngineHandle, EngineOptions, IntegrationInfo, Metrics, PagingOptions,
};
use crate::ingest::Source;
use crate::store::{SledStore, Store};
use auth::{digest, Users};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use error::ApiError;
use limits::RateLimiter;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct Integration {
    pub config: IntegrationConfig,
    pub info: Arc<IntegrationInfo>,
    pub limiter: Option<RateLimiter>,
}

pub struct AppState {
    pub engine: EngineHandle,
    pub users: Users,
    integrations: HashMap<[u8; 32], Arc<Integration>>,
    pub max_body_bytes: usize,
    pub base_url: String,
    /// Turns true when the server stops, so long-lived websockets close too.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl AppState {
    pub fn new(
        config: &Config,
        engine: EngineHandle,
        base_url: String,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let integrations = config
            .integrations
            .iter()
            .map(|integration| {
                (
                    digest(&integration.key),
                    Arc::new(Integration {
                        config: integration.clone(),
                        info: Arc::new(IntegrationInfo {
                            name: integration.name.clone(),
                            service: integration.service.clone(),
                        }),
                        limiter: integration.rate_limit.map(RateLimiter::new),
                    }),
                )
            })
            .collect();
        AppState {
            engine,
            users: Users::new(&config.users),
            integrations,
            max_body_bytes: config.server.max_body_bytes,
            base_url,
            stopping,
        }
    }

    /// The integration a key belongs to. Keys are looked up by digest so the map's probing
    /// says nothing about the secret itself.
    pub fn integration(&self, key: &str) -> Option<&Arc<Integration>> {
        self.integrations.get(&digest(key))
    }

    pub fn integrations(&self) -> impl Iterator<Item = &Arc<Integration>> {
        self.integrations.values()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.engine.metrics
    }
}

pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/integrations", get(rest::list_integrations))
        .route("/v1/integrations/{key}", post(ingest::post_alerts))
        .route("/v1/integrations/{key}/ws", get(ingest::websocket))
        .route("/v2/enqueue", post(ingest::pagerduty_enqueue))
        .route("/v1/incidents", get(rest::list_incidents))
        .route("/v1/incidents/{id}", get(rest::incident_detail))
        .route("/v1/incidents/{id}/{action}", post(rest::incident_action))
        .route("/v1/incidents/{id}/postmortem", get(rest::postmortem))
        .route("/v1/incidents/{id}/similar", get(rest::similar))
        .route("/v1/search", get(rest::search))
        .route("/v1/stream", get(stream::websocket))
        .route("/v1/oncall", get(paging::oncall))
        .route(
            "/v1/overrides",
            get(paging::list_overrides).post(paging::add_override),
        )
        .route("/v1/overrides/{id}", delete(paging::remove_override))
        .route(
            "/v1/silences",
            get(paging::list_silences).post(paging::add_silence),
        )
        .route("/v1/silences/{id}", delete(paging::expire_silence))
        .route("/v1/explain", get(paging::explain))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read with our own limit (413 with a JSON error), not axum's.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("cannot set up notifications: {0}")]
    Notify(String),
    #[error("cannot open the search index: {0}")]
    Search(String),
}

/// A running engine and server.
pub struct Running {
    pub address: SocketAddr,
    pub engine: EngineHandle,
    shutdown: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
    engine_task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets open requests finish, then waits for the engine to stop.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        drop(self.engine);
        let _ = self.engine_task.await;
    }
}

/// Opens the store under the config's data dir and serves on `listener`.
pub async fn launch(
    config: &Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
) -> Result<Running, LaunchError> {
    let dir = config.server.data_dir.join("store");
    let store = tokio::task::spawn_blocking(move || SledStore::open(&dir))
        .await
        .map_err(|error| std::io::Error::other(error.to_string()))??;
    let dir = config.server.data_dir.join("search");
    let search = tokio::task::spawn_blocking(move || crate::search::SearchIndex::open(&dir))
        .await
        .map_err(|error| std::io::Error::other(error.to_string()))?
        .map_err(|error| LaunchError::Search(error.to_string()))?;
    start_serving(config, listener, clock, Arc::new(store), Arc::new(search)).await
}

/// Serves on a store of the caller's (tests use the memory store), with an index in memory.
pub async fn launch_with_store(
    config: &Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
) -> Result<Running, LaunchError> {
    let search = crate::search::SearchIndex::in_memory()
        .map_err(|error| LaunchError::Search(error.to_string()))?;
    start_serving(config, listener, clock, store, Arc::new(search)).await
}

async fn start_serving(
    config: &Config,
    listener: TcpListener,
    clock: Arc<dyn Clock>,
    store: Arc<dyn Store>,
    search: Arc<crate::search::SearchIndex>,
) -> Result<Running, LaunchError> {
    let metrics = Arc::new(Metrics::new());
    let options = EngineOptions {
        search: Some(search),
        replay_window: config.server.replay_window,
        paging: paging_options(config)?,
        max_message_bytes: config.server.max_message_bytes,
    };
    let (engine, engine_task) = engine::start(store, clock, metrics, options)?;
    let address = listener.local_addr()?;
    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState::new(
        config,
        engine.clone(),
        format!("http://{address}"),
        watch.clone(),
    ));
    let app = router(state, config.server.request_timeout);
    let header_timeout = config.server.header_timeout;
    let server = tokio::spawn(serve(listener, app, header_timeout, watch));
    Ok(Running {
        address,
        engine,
        shutdown,
        server,
        engine_task,
    })
}

/// What the engine pages with: the configuration's people, schedules, policies, routes,
/// maintenance windows and overrides, and a channel for every configured way to send.
fn paging_options(config: &Config) -> Result<PagingOptions, LaunchError> {
    let oncall = &config.oncall;
    Ok(PagingOptions {
        directory: oncall.directory.clone(),
        routing: oncall.routing.clone(),
        maintenance: oncall.maintenance.clone(),
        overrides: oncall.overrides.clone(),
        channels: Arc::new(
            crate::notify::Notifiers::new(&oncall.notify).map_err(LaunchError::Notify)?,
        ),
        max_attempts: oncall.notify.max_attempts,
        per_minute: oncall.notify.per_minute,
    })
}

/// Accepts connections until told to stop. hyper is driven directly (not `axum::serve`)
/// so that a client that dribbles its headers is cut off after `header_timeout`.
async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let mut stop = shutdown.clone();
        connections.spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Let requests in flight finish; websocket clients hold connections open, so not for ever.
    let drained = tokio::time::timeout(Duration::from_secs(5), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.abort_all();
    }
}

/// Resolves once the server is stopping (the guard `wait_for` returns is not held across
/// the caller's awaits, which would make its future `!Send`).
pub async fn until_stopping(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

pub fn source_accepts_json(source: Source) -> bool {
    !matches!(source, Source::Cloudwatch)
}
