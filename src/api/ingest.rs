//! Ingest endpoints: `POST /v1/integrations/{key}`, its websocket twin, and the PagerDuty
//! Events v2 compatible `POST /v2/enqueue`. A 2xx is sent only after the engine says durable.
//! CloudWatch-via-SNS requests need network I/O the pure parsers must not do: fetching the
//! signing certificate (https, AWS hosts only, cached in memory) and visiting a
//! SubscriptionConfirmation's SubscribeURL; both live here, behind [`SnsFetcher`].

use super::error::ApiError;
use super::limits::{read_body, require_json, throttled};
use super::{source_accepts_json, AppState, Integration};
use crate::engine::IngestOutcome;
use crate::ingest::cloudwatch::{self, Outcome};
use crate::ingest::{sns, Source};
use crate::protocol::Accepted;
use axum::body::Body;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

fn unknown_key() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_integration",
        "no integration has this key",
    )
}

/// Identifies an exact payload on one integration, for recognising redeliveries.
fn payload_digest(integration: &str, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(integration.as_bytes());
    hasher.update([0]);
    hasher.update(body);
    hex::encode(hasher.finalize())
}

fn outcome_label(result: &Result<IngestOutcome, ApiError>) -> &'static str {
    match result {
        Ok(outcome) if outcome.replayed => "replayed",
        Ok(_) => "accepted",
        Err(error) if error.status == StatusCode::TOO_MANY_REQUESTS => "throttled",
        Err(error) if error.status.is_server_error() => "unavailable",
        Err(_) => "rejected",
    }
}

fn record(
    state: &AppState,
    integration: &str,
    started: Instant,
    result: &Result<IngestOutcome, ApiError>,
) {
    let label = outcome_label(result);
    state.metrics().count_ingest(integration, label);
    if result.is_ok() {
        state
            .metrics()
            .ingest_seconds
            .observe(started.elapsed().as_secs_f64());
    }
}

async fn apply(
    state: &AppState,
    integration: &Integration,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IngestOutcome, ApiError> {
    let now = state.engine.now();
    let parsed = crate::ingest::parse_with(
        integration.config.source,
        body,
        headers,
        now,
        &integration.config.options,
    )?;
    let digest = payload_digest(&integration.config.name, body);
    Ok(state
        .engine
        .ingest(integration.info.clone(), parsed.events, Some(digest))
        .await?)
}

fn throttle(integration: &Integration) -> Result<(), ApiError> {
    match &integration.limiter {
        Some(limiter) => limiter
            .take(Instant::now())
            .map_err(|seconds| throttled(&integration.config.name, seconds)),
        None => Ok(()),
    }
}

pub async fn post_alerts(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(integration) = state.integration(&key).cloned() else {
        return unknown_key().into_response();
    };
    if integration.config.source == Source::Pagerduty {
        return ApiError::bad_request(
            "wrong_endpoint",
            "this is a pagerduty integration: send events to /v2/enqueue with this key as routing_key",
        )
        .into_response();
    }
    if integration.config.source == Source::Cloudwatch {
        let result = async {
            throttle(&integration)?;
            let body = read_body(&headers, body, state.max_body_bytes).await?;
            cloudwatch_request(&state, &integration, &body, sns_verifier()).await
        }
        .await;
        let outcome = result
            .as_ref()
            .map(|answer| answer.outcome())
            .map_err(Clone::clone);
        record(&state, &integration.config.name, started, &outcome);
        return match result {
            Ok(answer) => answer.into_response(),
            Err(error) => error.into_response(),
        };
    }
    let result = async {
        throttle(&integration)?;
        if source_accepts_json(integration.config.source) {
            require_json(&headers)?;
        }
        let body = read_body(&headers, body, state.max_body_bytes).await?;
        apply(&state, &integration, &headers, &body).await
    }
    .await;
    record(&state, &integration.config.name, started, &result);
    match result {
        Ok(outcome) => (
            StatusCode::ACCEPTED,
            Json(Accepted {
                status: "accepted".to_string(),
                alerts: outcome.alerts,
                incidents: outcome.incidents,
            }),
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

pub async fn websocket(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(integration) = state.integration(&key).cloned() else {
        return unknown_key().into_response();
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return ApiError::bad_request("not_a_websocket", rejection.body_text()).into_response()
        }
    };
    upgrade
        .max_message_size(state.max_body_bytes)
        .max_frame_size(state.max_body_bytes)
        .on_upgrade(move |socket| ingest_socket(state, integration, socket))
}

/// One payload per text frame, one JSON reply per frame, in order.
async fn ingest_socket(state: Arc<AppState>, integration: Arc<Integration>, mut socket: WebSocket) {
    let headers = HeaderMap::new();
    let mut stopping = state.stopping.clone();
    loop {
        let message = tokio::select! {
            message = socket.recv() => match message {
                Some(Ok(message)) => message,
                _ => break,
            },
            _ = super::until_stopping(&mut stopping) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            }
        };
        let started = Instant::now();
        let result = match message {
            Message::Text(text) => match throttle(&integration) {
                Ok(()) => apply(&state, &integration, &headers, text.as_bytes()).await,
                Err(error) => Err(error),
            },
            Message::Binary(_) => Err(ApiError::bad_request(
                "binary_frame",
                "send each payload as a text frame",
            )),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        record(&state, &integration.config.name, started, &result);
        let reply = match result {
            Ok(outcome) => serde_json::to_string(&Accepted {
                status: "accepted".to_string(),
                alerts: outcome.alerts,
                incidents: outcome.incidents,
            }),
            Err(error) => serde_json::to_string(&crate::protocol::ErrorBody {
                error: error.detail(),
            }),
        }
        .expect("protocol types always serialise");
        if socket.send(Message::Text(reply.into())).await.is_err() {
            break;
        }
    }
}

fn pagerduty_error(status: StatusCode, message: &str, errors: Vec<String>) -> Response {
    (
        status,
        Json(serde_json::json!({
            "status": "invalid event",
            "message": message,
            "errors": errors,
        })),
    )
        .into_response()
}

/// PagerDuty Events API v2: the integration is found by `routing_key` in the body, and the
/// answers use PagerDuty's own shapes so existing senders understand them.
pub async fn pagerduty_enqueue(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    if let Err(error) = require_json(&headers) {
        return pagerduty_error(
            error.status,
            "Unsupported content type",
            vec![error.message],
        );
    }
    let body = match read_body(&headers, body, state.max_body_bytes).await {
        Ok(body) => body,
        Err(error) => {
            return pagerduty_error(error.status, "Request too large", vec![error.message])
        }
    };
    let now = state.engine.now();
    let enqueue = match crate::ingest::pagerduty::parse_enqueue(&body, now) {
        Ok(enqueue) => enqueue,
        Err(error) => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
            return pagerduty_error(status, "Event object is invalid", error.errors);
        }
    };
    let integration = state
        .integration(&enqueue.routing_key)
        .filter(|integration| integration.config.source == Source::Pagerduty)
        .cloned();
    let Some(integration) = integration else {
        return pagerduty_error(
            StatusCode::NOT_FOUND,
            "Invalid routing key",
            vec!["routing_key: no pagerduty integration has this key".to_string()],
        );
    };
    let result = async {
        throttle(&integration)?;
        let digest = payload_digest(&integration.config.name, &body);
        Ok(state
            .engine
            .ingest(integration.info.clone(), enqueue.events, Some(digest))
            .await?)
    }
    .await;
    record(&state, &integration.config.name, started, &result);
    match result {
        Ok(_) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "status": "success",
                "message": "Event processed",
                "dedup_key": enqueue.dedup_key,
            })),
        )
            .into_response(),
        Err(error) if error.status == StatusCode::TOO_MANY_REQUESTS => {
            let mut response = (
                error.status,
                Json(serde_json::json!({"status": "throttle event", "message": error.message})),
            )
                .into_response();
            if let Some(seconds) = error.retry_after {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// CloudWatch via SNS: signature verification and subscription confirmation.

/// Fetches what SNS points at (a signing certificate, a SubscribeURL). The production fetcher
/// speaks https only and follows no redirects; tests inject their own.
pub trait SnsFetcher: Send + Sync {
    fn get<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<Vec<u8>, String>>;
}

/// Largest certificate or confirmation answer read (SNS certificates are about 2 KB).
const FETCH_LIMIT: usize = 64 * 1024;
/// How long a fetched certificate is reused. SNS names each certificate by its own URL, so a
/// rotation is a new URL; this only bounds how long a revoked one could linger.
const CERTIFICATE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// Most certificates kept (SNS uses one per region at a time).
const CERTIFICATE_CACHE: usize = 64;

struct HttpsFetcher {
    client: Option<reqwest::Client>,
}

impl HttpsFetcher {
    fn new() -> Self {
        let client = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| tracing::error!(%error, "cannot build the SNS https client"))
            .ok();
        HttpsFetcher { client }
    }
}

impl SnsFetcher for HttpsFetcher {
    fn get<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<Vec<u8>, String>> {
        Box::pin(async move {
            // The URL was checked by `sns`; never fetch anything but https all the same.
            if url.scheme() != "https" {
                return Err(format!("refusing to fetch {url}: not https"));
            }
            let client = self
                .client
                .as_ref()
                .ok_or_else(|| String::from("no https client"))?;
            let mut response = client
                .get(url.as_str())
                .send()
                .await
                .map_err(|error| format!("GET {}: {error}", url.host_str().unwrap_or("?")))?;
            if !response.status().is_success() {
                return Err(format!(
                    "GET {} answered {}",
                    url.host_str().unwrap_or("?"),
                    response.status()
                ));
            }
            let mut bytes = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
                if bytes.len() + chunk.len() > FETCH_LIMIT {
                    return Err(format!("the answer is larger than {FETCH_LIMIT} bytes"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(bytes)
        })
    }
}

/// Verifies SNS signatures with certificates fetched once and cached in memory, and confirms
/// subscriptions.
pub struct SnsVerifier {
    fetcher: Arc<dyn SnsFetcher>,
    certificates: Mutex<CertificateCache>,
}

/// Certificates by URL, with when they were fetched.
type CertificateCache = HashMap<String, (Arc<Vec<u8>>, Instant)>;

impl SnsVerifier {
    pub fn new(fetcher: Arc<dyn SnsFetcher>) -> Self {
        SnsVerifier {
            fetcher,
            certificates: Mutex::new(HashMap::new()),
        }
    }

    fn cached(&self, url: &str) -> Option<Arc<Vec<u8>>> {
        let certificates = self
            .certificates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        certificates
            .get(url)
            .filter(|(_, fetched)| fetched.elapsed() < CERTIFICATE_TTL)
            .map(|(certificate, _)| certificate.clone())
    }

    async fn certificate(&self, url: &url::Url) -> Result<Arc<Vec<u8>>, ApiError> {
        if let Some(certificate) = self.cached(url.as_str()) {
            return Ok(certificate);
        }
        let bytes = self.fetcher.get(url).await.map_err(|problem| {
            tracing::warn!(%problem, "cannot fetch an SNS signing certificate");
            let mut error = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "certificate_unavailable",
                format!("cannot fetch the SNS signing certificate ({problem}); retry later"),
            )
            .with_field("SigningCertURL");
            error.retry_after = Some(30);
            error
        })?;
        let certificate = Arc::new(bytes);
        let mut certificates = self
            .certificates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if certificates.len() >= CERTIFICATE_CACHE {
            certificates.clear();
        }
        certificates.insert(url.to_string(), (certificate.clone(), Instant::now()));
        Ok(certificate)
    }

    /// Checks the certificate URL, fetches (or reuses) the certificate and checks the
    /// signature. Nothing is fetched for a URL that is not https on an SNS host.
    pub async fn verify(
        &self,
        envelope: &sns::Envelope,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ApiError> {
        let url = sns::certificate_url(envelope)?;
        let certificate = self.certificate(&url).await?;
        Ok(sns::verify(envelope, &certificate, now)?)
    }

    /// Visits a (checked) SubscribeURL, which confirms the subscription.
    pub async fn confirm(&self, url: &url::Url) -> Result<(), ApiError> {
        self.fetcher.get(url).await.map(|_| ()).map_err(|problem| {
            tracing::warn!(%problem, "cannot confirm an SNS subscription");
            let mut error = ApiError::new(
                StatusCode::BAD_GATEWAY,
                "confirmation_failed",
                format!("could not confirm the subscription at the SubscribeURL ({problem})"),
            )
            .with_field("SubscribeURL");
            error.retry_after = Some(30);
            error
        })
    }
}

/// The process's verifier, with the https fetcher and one certificate cache for everyone.
fn sns_verifier() -> &'static SnsVerifier {
    static VERIFIER: OnceLock<SnsVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| SnsVerifier::new(Arc::new(HttpsFetcher::new())))
}

/// What a CloudWatch integration answers.
#[derive(Debug)]
enum CloudwatchAnswer {
    Accepted(IngestOutcome),
    Ignored(String),
    Confirmed(String),
}

impl CloudwatchAnswer {
    fn outcome(&self) -> IngestOutcome {
        match self {
            CloudwatchAnswer::Accepted(outcome) => outcome.clone(),
            _ => IngestOutcome {
                alerts: 0,
                incidents: Vec::new(),
                replayed: false,
            },
        }
    }
}

impl IntoResponse for CloudwatchAnswer {
    fn into_response(self) -> Response {
        match self {
            CloudwatchAnswer::Accepted(outcome) => (
                StatusCode::ACCEPTED,
                Json(Accepted {
                    status: "accepted".to_string(),
                    alerts: outcome.alerts,
                    incidents: outcome.incidents,
                }),
            )
                .into_response(),
            CloudwatchAnswer::Ignored(reason) => (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({
                    "status": "ignored", "alerts": 0, "incidents": [], "reason": reason,
                })),
            )
                .into_response(),
            CloudwatchAnswer::Confirmed(topic) => (
                StatusCode::OK,
                Json(serde_json::json!({"status": "confirmed", "topic": topic})),
            )
                .into_response(),
        }
    }
}

/// One request to a CloudWatch integration: read it, verify its SNS signature (unless the
/// integration turned that off), then apply the alarm, confirm the subscription, or ignore it.
async fn cloudwatch_request(
    state: &AppState,
    integration: &Integration,
    body: &[u8],
    verifier: &SnsVerifier,
) -> Result<CloudwatchAnswer, ApiError> {
    let now = state.engine.now();
    let options = &integration.config.options;
    let request = cloudwatch::parse_request(body, now, options)?;
    if let Some(envelope) = &request.envelope {
        if options.verify_signature {
            verifier.verify(envelope, now).await?;
        }
    }
    let topic = request
        .envelope
        .as_ref()
        .map(|envelope| envelope.topic_arn.clone())
        .unwrap_or_default();
    match request.outcome {
        Outcome::Alerts(events) => {
            let digest = payload_digest(&integration.config.name, body);
            Ok(CloudwatchAnswer::Accepted(
                state
                    .engine
                    .ingest(integration.info.clone(), events, Some(digest))
                    .await?,
            ))
        }
        Outcome::Ignored(reason) => {
            tracing::info!(integration = %integration.config.name, %reason, "ignored a CloudWatch request");
            Ok(CloudwatchAnswer::Ignored(reason))
        }
        Outcome::ConfirmSubscription(url) => {
            verifier.confirm(&url).await?;
            tracing::info!(integration = %integration.config.name, %topic, "confirmed an SNS subscription");
            Ok(CloudwatchAnswer::Confirmed(topic))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, IntegrationConfig, ServerConfig};
    use crate::engine::{EngineOptions, Metrics, SystemClock};
    use crate::ingest::Options;
    use crate::store::MemoryStore;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const CERTIFICATE: &[u8] = include_bytes!("../../tests/fixtures/sns/test-certificate.pem");
    const SIGNED_V1: &str = include_str!("../../tests/fixtures/sns/signed-alarm-v1.json");
    const SIGNED_V2: &str = include_str!("../../tests/fixtures/sns/signed-alarm-v2.json");
    const SIGNED_OK: &str = include_str!("../../tests/fixtures/sns/signed-ok-v2.json");
    const NOT_AN_ALARM: &str = include_str!("../../tests/fixtures/sns/signed-not-an-alarm-v2.json");
    const CONFIRMATION: &str =
        include_str!("../../tests/fixtures/sns/signed-subscription-confirmation.json");
    const KEY: &str = "cloudwatch-key-000000000";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:klaxon-alarms";

    /// Serves the test certificate for any URL (as if it were AWS), records every fetch, and
    /// fails on demand.
    #[derive(Default)]
    struct FakeAws {
        fetched: Mutex<Vec<String>>,
        certificate_fetches: AtomicUsize,
        down: std::sync::atomic::AtomicBool,
    }

    impl SnsFetcher for FakeAws {
        fn get<'a>(&'a self, url: &'a url::Url) -> BoxFuture<'a, Result<Vec<u8>, String>> {
            Box::pin(async move {
                if self.down.load(Ordering::SeqCst) {
                    return Err(String::from("connection refused"));
                }
                self.fetched.lock().unwrap().push(url.to_string());
                if url.path().ends_with(".pem") {
                    self.certificate_fetches.fetch_add(1, Ordering::SeqCst);
                    Ok(CERTIFICATE.to_vec())
                } else {
                    Ok(b"<ConfirmSubscriptionResponse/>".to_vec())
                }
            })
        }
    }

    async fn state(options: Options) -> (Arc<AppState>, tokio::sync::watch::Sender<bool>) {
        let config = Config {
            server: ServerConfig::default(),
            integrations: vec![IntegrationConfig {
                name: String::from("aws"),
                source: Source::Cloudwatch,
                key: KEY.to_string(),
                service: None,
                rate_limit: None,
                options,
            }],
            users: Vec::new(),
            oncall: Default::default(),
        };
        let (engine, _task) = crate::engine::start(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            Arc::new(Metrics::new()),
            EngineOptions::default(),
        )
        .unwrap();
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let state = AppState::new(&config, engine, String::from("http://test"), stopping);
        (Arc::new(state), stop)
    }

    fn allowed() -> Options {
        Options {
            allowed_topics: vec![TOPIC.to_string()],
            ..Options::default()
        }
    }

    async fn send(
        state: &AppState,
        aws: &SnsVerifier,
        body: &str,
    ) -> Result<CloudwatchAnswer, ApiError> {
        let integration = state.integration(KEY).unwrap().clone();
        cloudwatch_request(state, &integration, body.as_bytes(), aws).await
    }

    #[tokio::test]
    async fn signed_alarms_open_and_resolve_with_one_certificate_fetch() {
        let (state, _stop) = state(allowed()).await;
        let aws = Arc::new(FakeAws::default());
        let verifier = SnsVerifier::new(aws.clone());
        let CloudwatchAnswer::Accepted(opened) = send(&state, &verifier, SIGNED_V1).await.unwrap()
        else {
            panic!("not accepted")
        };
        assert_eq!(opened.incidents.len(), 1);
        // SignatureVersion 2 of the same alarm joins the same incident.
        let CloudwatchAnswer::Accepted(again) = send(&state, &verifier, SIGNED_V2).await.unwrap()
        else {
            panic!("not accepted")
        };
        assert_eq!(again.incidents, opened.incidents);
        // An exact redelivery is recognised.
        let CloudwatchAnswer::Accepted(replayed) =
            send(&state, &verifier, SIGNED_V2).await.unwrap()
        else {
            panic!("not accepted")
        };
        assert!(replayed.replayed);
        send(&state, &verifier, SIGNED_OK).await.unwrap();
        let detail = state.engine.detail(opened.incidents[0]).await.unwrap();
        assert_eq!(detail.incident.title, "EXAMPLE");
        assert_eq!(detail.incident.status.as_str(), "resolved");
        assert_eq!(aws.certificate_fetches.load(Ordering::SeqCst), 1, "cached");
        assert!(matches!(
            send(&state, &verifier, NOT_AN_ALARM).await.unwrap(),
            CloudwatchAnswer::Ignored(_)
        ));
    }

    #[tokio::test]
    async fn bad_signatures_store_nothing_and_confirm_nothing() {
        let (state, _stop) = state(allowed()).await;
        let aws = Arc::new(FakeAws::default());
        let verifier = SnsVerifier::new(aws.clone());
        for signed in [SIGNED_V1, CONFIRMATION] {
            let mut tampered: serde_json::Value = serde_json::from_str(signed).unwrap();
            tampered["Message"] =
                serde_json::json!(format!("{} ", tampered["Message"].as_str().unwrap()));
            let error = send(&state, &verifier, &tampered.to_string())
                .await
                .unwrap_err();
            assert_eq!(error.status, StatusCode::UNAUTHORIZED);
            assert_eq!(error.code, "bad_signature");
        }
        let fetched = aws.fetched.lock().unwrap().clone();
        assert!(
            fetched.iter().all(|url| url.ends_with(".pem")),
            "{fetched:?}"
        );
        let filter = crate::store::ListFilter::default();
        assert!(state
            .engine
            .list(filter, None, 10)
            .await
            .unwrap()
            .is_empty());

        // A certificate off AWS is never fetched.
        let mut hostile: serde_json::Value = serde_json::from_str(SIGNED_V1).unwrap();
        hostile["SigningCertURL"] = serde_json::json!("https://attacker.example/cert.pem");
        let before = aws.fetched.lock().unwrap().len();
        let error = send(&state, &verifier, &hostile.to_string())
            .await
            .unwrap_err();
        assert_eq!(error.code, "untrusted_url");
        assert_eq!(aws.fetched.lock().unwrap().len(), before);
    }

    #[tokio::test]
    async fn confirmations_visit_the_subscribe_url_once_verified() {
        let (state, _stop) = state(allowed()).await;
        let aws = Arc::new(FakeAws::default());
        let verifier = SnsVerifier::new(aws.clone());
        let answer = send(&state, &verifier, CONFIRMATION).await.unwrap();
        assert!(matches!(answer, CloudwatchAnswer::Confirmed(ref topic) if topic == TOPIC));
        let fetched = aws.fetched.lock().unwrap().clone();
        assert_eq!(fetched.len(), 2);
        assert!(fetched[1]
            .starts_with("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"));

        // Not for a topic the integration does not list.
        let (state, _stop) = self::state(Options::default()).await;
        let error = send(&state, &verifier, CONFIRMATION).await.unwrap_err();
        assert_eq!(
            (error.status, error.code.as_str()),
            (StatusCode::FORBIDDEN, "topic_not_allowed")
        );
        assert_eq!(aws.fetched.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_unreachable_aws_is_a_retryable_answer() {
        let (state, _stop) = state(allowed()).await;
        let aws = Arc::new(FakeAws::default());
        aws.down.store(true, Ordering::SeqCst);
        let verifier = SnsVerifier::new(aws.clone());
        let error = send(&state, &verifier, SIGNED_V1).await.unwrap_err();
        assert_eq!(error.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.retry_after, Some(30));
        // Verification off: no fetch at all.
        let (state, _stop) = self::state(Options {
            verify_signature: false,
            ..allowed()
        })
        .await;
        assert!(matches!(
            send(&state, &verifier, SIGNED_V1).await.unwrap(),
            CloudwatchAnswer::Accepted(_)
        ));
    }

    #[tokio::test]
    async fn the_production_fetcher_refuses_plain_http() {
        let fetcher = HttpsFetcher::new();
        let url = url::Url::parse("http://127.0.0.1:9/cert.pem").unwrap();
        let error = fetcher.get(&url).await.unwrap_err();
        assert!(error.contains("not https"), "{error}");
    }
}
