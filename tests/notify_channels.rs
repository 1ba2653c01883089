//! Outbound channels against real peers: an HTTP receiver on 127.0.0.1:0 for webhooks, Slack
//! and provider templates, Debian's aiosmtpd for email (plain, STARTTLS, TLS, auth, reply
//! codes), and real programs for exec. Every assertion is on what the far end received.

#[path = "common/smtp.rs"]
mod smtp;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use klaxon::domain::escalation::{ContactAddress, ContactKind, ContactMethod};
use klaxon::domain::incident::{EscalationState, IncidentStatus};
use klaxon::domain::routing::Urgency;
use klaxon::domain::{Link, Severity};
use klaxon::notify::message::{page_document, sms_message};
use klaxon::notify::{
    check_template, Delivered, EmailNotifier, EmailSettings, ExecNotifier, HttpTemplate,
    Notification, Notifier, Notifiers, NotifySettings, SendError, SlackNotifier, SmtpSecurity,
    TemplateBody, TemplateNotifier, WebhookNotifier,
};
use klaxon::protocol::IncidentView;
use serde_json::{json, Value};
use smtp::SmtpServer;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Quotes, a newline and Slack's and HTML's special characters: it must arrive intact where
/// the format can carry it, and escaped where the format needs it.
const TITLE: &str = "Database \"primary\" down\n<&> 100%";
const PUBLIC_URL: &str = "https://klaxon.example.com/";

fn incident() -> IncidentView {
    let opened = Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap();
    IncidentView {
        id: 42,
        title: TITLE.to_string(),
        status: IncidentStatus::Triggered,
        severity: Severity::Critical,
        service: Some("payments".to_string()),
        integration: "prometheus".to_string(),
        dedup_key: "db-primary".to_string(),
        alert_count: 3,
        created_at: opened,
        updated_at: opened,
        acknowledged_at: None,
        acknowledged_by: None,
        resolved_at: None,
        resolved_by: None,
        snoozed_until: None,
        assignee: None,
        escalation: EscalationState::default(),
        labels: BTreeMap::from([
            ("env".to_string(), "prod".to_string()),
            ("instance".to_string(), "db-1:5432".to_string()),
        ]),
        links: vec![Link {
            href: "https://runbooks.example.com/db?page=1&section=2".to_string(),
            text: Some("Runbook <db>".to_string()),
        }],
    }
}

fn notification(kind: ContactKind, name: &str, address: ContactAddress) -> Notification {
    Notification {
        incident: incident(),
        user: "alice".to_string(),
        contact: ContactMethod {
            name: name.to_string(),
            kind,
            address,
        },
        urgency: Urgency::High,
        level: 1,
        ack_command: "klaxon ack 42".to_string(),
    }
}

fn to(address: impl Into<String>) -> ContactAddress {
    ContactAddress::Text(address.into())
}

fn settings() -> NotifySettings {
    NotifySettings {
        timeout: Some(Duration::from_secs(5)),
        public_url: Some(PUBLIC_URL.to_string()),
        ..NotifySettings::default()
    }
}

fn temporary(result: Result<Delivered, SendError>) -> String {
    match result {
        Err(SendError::Temporary(text)) => text,
        other => panic!("expected a temporary failure, got {other:?}"),
    }
}

fn permanent(result: Result<Delivered, SendError>) -> String {
    match result {
        Err(SendError::Permanent(text)) => text,
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// A real HTTP receiver

#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }
}

type Log = Arc<Mutex<Vec<Received>>>;

/// Records every request, then answers by path: `/status/N` with status N and a body,
/// `/hang` never, `/redirect` with a 302, `…/Messages.json` like Twilio, anything else 200.
struct Receiver {
    address: SocketAddr,
    log: Log,
}

impl Receiver {
    async fn start() -> Receiver {
        let log = Log::default();
        let app = Router::new().fallback(answer).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { address, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn requests(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    fn only(&self) -> Received {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected one request: {requests:?}");
        requests.into_iter().next().unwrap()
    }
}

async fn answer(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    log.lock().unwrap().push(Received {
        method,
        path: path.clone(),
        query: uri.query().map(str::to_string),
        headers,
        body,
    });
    if path == "/hang" {
        std::future::pending::<()>().await;
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let status = StatusCode::from_u16(code.parse().unwrap()).unwrap();
        return (status, "upstream says no\n\treally\x07\r\n").into_response();
    }
    if path == "/redirect" {
        return (StatusCode::FOUND, [("location", "/elsewhere")]).into_response();
    }
    if path.ends_with("/Messages.json") {
        return (
            StatusCode::CREATED,
            axum::Json(json!({"sid": "SM0123456789", "status": "queued"})),
        )
            .into_response();
    }
    "ok".into_response()
}

/// An address where nothing listens: bound, then released (the kernel hands ephemeral
/// ports out in turn, so it is not given to someone else at once).
fn refused_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    address
}

// ---------------------------------------------------------------------------------------
// webhook

#[tokio::test]
async fn webhook_posts_the_page_document() {
    let receiver = Receiver::start().await;
    let notifier = WebhookNotifier::new(&settings()).unwrap();
    assert_eq!(notifier.kind(), ContactKind::Webhook);
    let page = notification(ContactKind::Webhook, "ops", to(receiver.url("/hooks/page")));

    let delivered = notifier.send(&page).await.unwrap();

    assert_eq!(delivered.detail.as_deref(), Some("200 OK"));
    let request = receiver.only();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/hooks/page");
    assert_eq!(request.header("content-type"), "application/json");
    assert!(request.header("user-agent").starts_with("klaxon/"));
    let body = request.json();
    let expected_incident = serde_json::to_value(incident()).unwrap();
    assert_eq!(
        body,
        json!({
            "event": "page",
            "user": "alice",
            "contact": "ops",
            "urgency": "high",
            "level": 1,
            "ack_command": "klaxon ack 42",
            "incident_url": "https://klaxon.example.com/v1/incidents/42",
            "incident": expected_incident,
        })
    );
    assert_eq!(body["incident"]["title"], TITLE, "the title arrives intact");
    assert_eq!(
        request.body,
        page_document(&page, Some(PUBLIC_URL)),
        "the bytes are the documented page document"
    );
}

#[tokio::test]
async fn webhook_does_not_follow_redirects() {
    let receiver = Receiver::start().await;
    let notifier = WebhookNotifier::new(&settings()).unwrap();
    let page = notification(ContactKind::Webhook, "ops", to(receiver.url("/redirect")));

    let text = permanent(notifier.send(&page).await);

    assert_eq!(
        text,
        "webhook to ops: failed 302 Found (redirect to /elsewhere not followed)"
    );
    let paths: Vec<String> = receiver.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/redirect"], "the redirect target was never asked");
}

#[tokio::test]
async fn webhook_address_must_be_an_http_url() {
    let notifier = WebhookNotifier::new(&settings()).unwrap();
    let page = notification(ContactKind::Webhook, "ops", to("ftp://example.com/hook"));
    assert_eq!(
        permanent(notifier.send(&page).await),
        "webhook to ops: the address must be an http or https URL, not ftp:"
    );
    let page = notification(
        ContactKind::Webhook,
        "ops",
        ContactAddress::Command(vec!["true".into()]),
    );
    assert_eq!(
        permanent(notifier.send(&page).await),
        "webhook to ops: the address must be a URL, not a command"
    );
}

/// 500 and 429 are worth retrying, 400 is not, and neither is a refused connection nor a
/// timeout final: the same for every HTTP channel, with the status and a sanitised excerpt of
/// what the far end said in the text.
#[tokio::test]
async fn http_failures_are_classified_the_same_on_every_http_channel() {
    let receiver = Receiver::start().await;
    let quick = NotifySettings {
        timeout: Some(Duration::from_millis(400)),
        ..settings()
    };
    let refused = format!("http://{}/", refused_address());
    for (kind, who) in [
        (ContactKind::Webhook, "webhook to ops"),
        (ContactKind::Slack, "slack to ops"),
        (ContactKind::Sms, "sms to ops"),
    ] {
        assert_eq!(
            temporary(send_to(kind, &receiver.url("/status/500"), &quick).await),
            format!("{who}: failed 500 Internal Server Error: upstream says no really")
        );
        assert_eq!(
            temporary(send_to(kind, &receiver.url("/status/429"), &quick).await),
            format!("{who}: failed 429 Too Many Requests: upstream says no really")
        );
        assert_eq!(
            permanent(send_to(kind, &receiver.url("/status/400"), &quick).await),
            format!("{who}: failed 400 Bad Request: upstream says no really")
        );
        let text = temporary(send_to(kind, &refused, &quick).await);
        assert!(
            text.starts_with(&format!("{who}: cannot connect: ")) && text.contains("refused"),
            "{text}"
        );
        let started = Instant::now();
        assert_eq!(
            temporary(send_to(kind, &receiver.url("/hang"), &quick).await),
            format!("{who}: no answer within 400ms")
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

/// One page to `url` through a fresh notifier of `kind` (for SMS the template holds the URL).
async fn send_to(
    kind: ContactKind,
    url: &str,
    settings: &NotifySettings,
) -> Result<Delivered, SendError> {
    match kind {
        ContactKind::Sms => {
            let notifier = TemplateNotifier::new(kind, &sms_template(url), settings).unwrap();
            notifier
                .send(&notification(kind, "ops", to("+15551234567")))
                .await
        }
        ContactKind::Slack => {
            let notifier = SlackNotifier::new(settings).unwrap();
            notifier.send(&notification(kind, "ops", to(url))).await
        }
        _ => {
            let notifier = WebhookNotifier::new(settings).unwrap();
            notifier.send(&notification(kind, "ops", to(url))).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// Slack

#[tokio::test]
async fn slack_gets_a_readable_escaped_message() {
    let receiver = Receiver::start().await;
    let notifier = SlackNotifier::new(&settings()).unwrap();
    assert_eq!(notifier.kind(), ContactKind::Slack);
    let page = notification(
        ContactKind::Slack,
        "ops-channel",
        to(receiver.url("/services/T000/B000/XXXX")),
    );

    let delivered = notifier.send(&page).await.unwrap();

    assert_eq!(delivered.detail.as_deref(), Some("200 OK"));
    let request = receiver.only();
    assert_eq!(request.path, "/services/T000/B000/XXXX");
    assert_eq!(request.header("content-type"), "application/json");
    let body = request.json();
    let title = "Database \"primary\" down &lt;&amp;&gt; 100%";
    assert_eq!(
        body["text"],
        format!("CRIT #42 {title} (payments): ack with klaxon ack 42")
    );
    assert_eq!(
        body["blocks"],
        json!([
            {"type": "section", "text": {"type": "mrkdwn",
                "text": format!("*CRIT* <https://klaxon.example.com/v1/incidents/42|#42> *{title}*")}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": "*Service*\npayments"},
                {"type": "mrkdwn", "text": "*Status*\ntriggered"},
                {"type": "mrkdwn", "text": "*Severity*\ncritical"},
                {"type": "mrkdwn", "text": "*Paged*\nalice (level 1, high urgency)"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn",
                "text": "*Links*: <https://runbooks.example.com/db?page=1&amp;section=2|Runbook &lt;db&gt;>"}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": "Acknowledge: `klaxon ack 42`"}]},
        ])
    );
}

// ---------------------------------------------------------------------------------------
// SMS and voice through templates

fn sms_template(url: &str) -> HttpTemplate {
    HttpTemplate {
        method: "POST".to_string(),
        url: url.to_string(),
        headers: vec![],
        body: TemplateBody::Form(vec![
            ("To".to_string(), "{{to}}".to_string()),
            ("From".to_string(), "+15550001111".to_string()),
            ("Body".to_string(), "{{message}}".to_string()),
        ]),
        basic_auth: Some(("ACxxx".to_string(), "auth-token".to_string())),
    }
}

#[tokio::test]
async fn sms_through_a_twilio_shaped_template() {
    let receiver = Receiver::start().await;
    let template = sms_template(&receiver.url("/2010-04-01/Accounts/ACxxx/Messages.json"));
    check_template(&template).unwrap();
    let notifier = TemplateNotifier::new(ContactKind::Sms, &template, &settings()).unwrap();
    assert_eq!(notifier.kind(), ContactKind::Sms);
    let page = notification(ContactKind::Sms, "phone", to("+15551234567"));

    let delivered = notifier.send(&page).await.unwrap();

    assert_eq!(
        delivered.detail.as_deref(),
        Some("SM0123456789"),
        "the provider's message id"
    );
    let request = receiver.only();
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.path, "/2010-04-01/Accounts/ACxxx/Messages.json");
    assert_eq!(
        request.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let credentials = base64::engine::general_purpose::STANDARD.encode("ACxxx:auth-token");
    assert_eq!(
        request.header("authorization"),
        format!("Basic {credentials}")
    );
    let message =
        "klaxon CRIT #42 Database \"primary\" down <&> 100% (payments): ack with klaxon ack 42";
    assert_eq!(sms_message(&page), message);
    assert_eq!(
        request.form(),
        [
            ("To".to_string(), "+15551234567".to_string()),
            ("From".to_string(), "+15550001111".to_string()),
            ("Body".to_string(), message.to_string()),
        ]
    );
    let raw = String::from_utf8(request.body.to_vec()).unwrap();
    assert!(
        raw.starts_with("To=%2B15551234567&"),
        "the + of the number is encoded: {raw}"
    );
}

#[tokio::test]
async fn voice_through_a_json_template_escapes_every_place() {
    let receiver = Receiver::start().await;
    let template = HttpTemplate {
        method: "put".to_string(),
        url: receiver.url("/v1/calls/{{to}}?title={{incident.title}}&id={{incident.id}}"),
        headers: vec![
            ("X-Incident".to_string(), "{{incident.title}}".to_string()),
            (
                "Authorization".to_string(),
                "Bearer provider-key".to_string(),
            ),
        ],
        body: TemplateBody::Json(
            r#"{"to": "{{to}}", "say": "{{voice_message}}", "title": "{{ incident.title }}",
                "id": {{incident.id}}, "severity": "{{incident.severity}}",
                "service": "{{incident.service}}", "user": "{{user}}",
                "ack": "{{ack_command}}", "link": "{{incident.url}}", "base": "{{public_url}}"}"#
                .to_string(),
        ),
        basic_auth: None,
    };
    check_template(&template).unwrap();
    let notifier = TemplateNotifier::new(ContactKind::Voice, &template, &settings()).unwrap();
    let page = notification(ContactKind::Voice, "call", to("+1 555 123"));

    let delivered = notifier.send(&page).await.unwrap();

    assert_eq!(delivered.detail.as_deref(), Some("200 OK"));
    let request = receiver.only();
    assert_eq!(request.method, Method::PUT);
    assert_eq!(request.path, "/v1/calls/%2B1%20555%20123");
    assert_eq!(
        request.query.as_deref(),
        Some("title=Database%20%22primary%22%20down%0A%3C%26%3E%20100%25&id=42"),
        "percent-encoded, so the title cannot add query parameters"
    );
    assert_eq!(
        request.header("x-incident"),
        "Database \"primary\" down <&> 100%",
        "one line in a header"
    );
    assert_eq!(request.header("authorization"), "Bearer provider-key");
    assert_eq!(request.header("content-type"), "application/json");
    let body = request.json();
    assert_eq!(
        body,
        json!({
            "to": "+1 555 123",
            "say": "klaxon page. Critical incident 42. Database primary down 100. \
                    Service payments. To acknowledge, run klaxon ack 42.",
            "title": TITLE,
            "id": 42,
            "severity": "critical",
            "service": "payments",
            "user": "alice",
            "ack": "klaxon ack 42",
            "link": "https://klaxon.example.com/v1/incidents/42",
            "base": PUBLIC_URL,
        })
    );
}

#[test]
fn check_template_names_the_unknown_placeholder_and_the_known_ones() {
    let template = HttpTemplate {
        method: "POST".to_string(),
        url: "https://api.example.com/send".to_string(),
        headers: vec![],
        body: TemplateBody::Form(vec![("Body".to_string(), "{{incident.name}}".to_string())]),
        basic_auth: None,
    };
    assert_eq!(
        check_template(&template).unwrap_err(),
        "form field Body: unknown placeholder {{incident.name}}; known: {{to}}, {{message}}, \
         {{voice_message}}, {{user}}, {{incident.id}}, {{incident.title}}, \
         {{incident.severity}}, {{incident.service}}, {{incident.url}}, {{ack_command}}, \
         {{public_url}}"
    );
    let settings = NotifySettings {
        sms: Some(template),
        ..settings()
    };
    assert!(Notifiers::new(&settings)
        .unwrap_err()
        .starts_with("sms: form field Body: unknown placeholder {{incident.name}}"));
}

// ---------------------------------------------------------------------------------------
// Notifiers

#[test]
fn notifiers_offer_what_is_configured_and_take_substitutes() {
    let notifiers = Notifiers::new(&NotifySettings::default()).unwrap();
    assert_eq!(
        notifiers.kinds(),
        [ContactKind::Slack, ContactKind::Webhook, ContactKind::Exec]
    );
    assert!(notifiers.get(ContactKind::Email).is_none());
    assert!(notifiers.get(ContactKind::Sms).is_none());
    assert!(notifiers.get(ContactKind::Voice).is_none());
    assert_eq!(
        notifiers.get(ContactKind::Webhook).unwrap().kind(),
        ContactKind::Webhook
    );

    let settings = NotifySettings {
        email: Some(EmailSettings {
            host: "127.0.0.1".to_string(),
            port: 25,
            security: SmtpSecurity::Plain,
            username: None,
            password: None,
            from: "klaxon <klaxon@example.com>".to_string(),
        }),
        sms: Some(sms_template("https://api.example.com/Messages.json")),
        voice: Some(sms_template("https://api.example.com/Calls.json")),
        ..settings()
    };
    let notifiers = Notifiers::new(&settings).unwrap();
    assert_eq!(notifiers.kinds(), ContactKind::ALL);
    assert_eq!(
        notifiers.get(ContactKind::Voice).unwrap().kind(),
        ContactKind::Voice
    );

    let substituted = notifiers.with(
        ContactKind::Email,
        Box::new(ExecNotifier::new(&NotifySettings::default())),
    );
    assert_eq!(
        substituted.get(ContactKind::Email).unwrap().kind(),
        ContactKind::Exec
    );

    let bad_sender = NotifySettings {
        email: Some(EmailSettings {
            from: "not an address".to_string(),
            ..settings.email.clone().unwrap()
        }),
        ..NotifySettings::default()
    };
    assert!(Notifiers::new(&bad_sender)
        .unwrap_err()
        .starts_with("email: from \"not an address\" is not an address"));
}

// ---------------------------------------------------------------------------------------
// email against a real SMTP server (Debian's aiosmtpd)

/// Connection settings for a test SMTP server.
fn smtp_settings(server: &SmtpServer, security: SmtpSecurity) -> EmailSettings {
    EmailSettings {
        host: "127.0.0.1".to_string(),
        port: server.port,
        security,
        username: None,
        password: None,
        from: "klaxon <klaxon@example.com>".to_string(),
    }
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
struct TestCertificate {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    pem: Vec<u8>,
}

fn certificate() -> TestCertificate {
    let generated =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    let pem = generated.cert.pem();
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    TestCertificate {
        _dir: dir,
        cert,
        key,
        pem: pem.into_bytes(),
    }
}

fn email_page(address: &str) -> Notification {
    notification(ContactKind::Email, "mail", to(address))
}

/// What every received email must say, whichever way it travelled.
fn assert_email(message: &str) {
    let (headers, body) = message
        .split_once("\nX-Peer: ")
        .expect("aiosmtpd prints X-Peer between headers and body");
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} header in:\n{headers}"))
    };
    assert_eq!(
        header("Subject"),
        "[klaxon] CRIT #42 Database \"primary\" down <&> 100% (payments)"
    );
    assert_eq!(header("From"), "klaxon <klaxon@example.com>");
    assert_eq!(header("To"), "alice@example.com");
    assert_eq!(header("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(header("Content-Transfer-Encoding"), "7bit");
    // aiosmtpd prints the peer line before the blank line that ends the headers; lettre
    // ends the body with a line break of its own.
    let body = body.split_once("\n\n").unwrap().1;
    assert_eq!(
        body.trim_end_matches('\n'),
        "\
CRIT #42 Database \"primary\" down <&> 100% (payments)

Title:     Database \"primary\" down <&> 100%
Severity:  critical (CRIT)
Status:    triggered
Service:   payments
Incident:  #42
Alerts:    3
Opened:    2026-11-24T03:00:00+00:00
Paged:     alice (high urgency, escalation level 1)

Labels:
  env = prod
  instance = db-1:5432

Links:
  Runbook <db>: https://runbooks.example.com/db?page=1&section=2

Acknowledge: klaxon ack 42
Look it up:  https://klaxon.example.com/v1/incidents/42"
    );
}

#[tokio::test]
async fn email_over_plain_smtp() {
    let server = SmtpServer::start(&[]);
    let notifier =
        EmailNotifier::new(&smtp_settings(&server, SmtpSecurity::Plain), &settings()).unwrap();
    assert_eq!(notifier.kind(), ContactKind::Email);

    let delivered = notifier
        .send(&email_page("alice@example.com"))
        .await
        .unwrap();

    assert_eq!(delivered.detail.as_deref(), Some("250 OK"));
    assert_email(&server.message());
}

#[tokio::test]
async fn email_over_starttls_trusting_a_self_signed_certificate() {
    let certificate = certificate();
    let server = SmtpServer::start(&[
        "--tlscert",
        certificate.cert.to_str().unwrap(),
        "--tlskey",
        certificate.key.to_str().unwrap(),
    ]);
    let email = smtp_settings(&server, SmtpSecurity::StartTls);

    // Not trusted: the upgrade fails and nothing is sent in the clear.
    let untrusted = EmailNotifier::new(&email, &settings()).unwrap();
    let text = permanent(untrusted.send(&email_page("alice@example.com")).await);
    assert!(
        text.starts_with(&format!(
            "email to mail: TLS with 127.0.0.1:{} failed: ",
            server.port
        )) && text.contains("certificate"),
        "{text}"
    );

    let trusted = EmailNotifier::new(&email, &settings())
        .unwrap()
        .with_root_certificate(&certificate.pem)
        .unwrap();
    let delivered = trusted
        .send(&email_page("alice@example.com"))
        .await
        .unwrap();
    assert_eq!(delivered.detail.as_deref(), Some("250 OK"));
    assert_email(&server.message());
}

#[tokio::test]
async fn email_starttls_is_required_when_chosen() {
    let server = SmtpServer::start(&[]);
    let notifier =
        EmailNotifier::new(&smtp_settings(&server, SmtpSecurity::StartTls), &settings()).unwrap();
    let text = permanent(notifier.send(&email_page("alice@example.com")).await);
    assert_eq!(
        text,
        format!(
            "email to mail: 127.0.0.1:{}: STARTTLS is not supported on this server",
            server.port
        )
    );
}

#[tokio::test]
async fn email_over_implicit_tls() {
    let certificate = certificate();
    let server = SmtpServer::start(&[
        "--smtpscert",
        certificate.cert.to_str().unwrap(),
        "--smtpskey",
        certificate.key.to_str().unwrap(),
    ]);
    let notifier = EmailNotifier::new(&smtp_settings(&server, SmtpSecurity::Tls), &settings())
        .unwrap()
        .with_root_certificate(&certificate.pem)
        .unwrap();

    let delivered = notifier
        .send(&email_page("alice@example.com"))
        .await
        .unwrap();

    assert_eq!(delivered.detail.as_deref(), Some("250 OK"));
    assert_email(&server.message());
}

/// aiosmtpd requiring authentication (without TLS, as a local relay) and a handler that answers
/// `busy@` with 451 and `nobody@` with 550.
const AUTH_SERVER: &str = r#"
import sys
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Debugging
from aiosmtpd.smtp import AuthResult, LoginPassword

class Handler(Debugging):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("busy@"):
            return "451 4.2.1 mailbox busy, try again later"
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

def authenticate(server, session, envelope, mechanism, auth_data):
    valid = (isinstance(auth_data, LoginPassword)
        and auth_data.login == b"klaxon" and auth_data.password == b"s3cret")
    # handled=False: the server itself answers 535 when the credentials are wrong.
    return AuthResult(success=valid, handled=False)

controller = Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1]),
    authenticator=authenticate, auth_required=True, auth_require_tls=False)
controller.start()
print("listening", flush=True)
sys.stdin.read()
controller.stop()
"#;

#[tokio::test]
async fn email_authenticates_and_maps_reply_codes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("auth_server.py");
    std::fs::write(&script, AUTH_SERVER).unwrap();
    let port = refused_address().port();
    let server = SmtpServer::spawn(&[script.to_str().unwrap(), &port.to_string()], port);
    assert_eq!(
        server.line(Instant::now() + Duration::from_secs(20)),
        "listening"
    );
    let with_password = |password: &str| EmailSettings {
        username: Some("klaxon".to_string()),
        password: Some(password.to_string()),
        ..smtp_settings(&server, SmtpSecurity::Plain)
    };
    let notifier = EmailNotifier::new(&with_password("s3cret"), &settings()).unwrap();

    notifier
        .send(&email_page("alice@example.com"))
        .await
        .unwrap();
    assert_email(&server.message());

    assert_eq!(
        temporary(notifier.send(&email_page("busy@example.com")).await),
        "email to mail: failed 451 4.2.1 mailbox busy, try again later"
    );
    assert_eq!(
        permanent(notifier.send(&email_page("nobody@example.com")).await),
        "email to mail: failed 550 5.1.1 no such user"
    );
    assert_eq!(
        permanent(notifier.send(&email_page("not an address")).await),
        "email to mail: \"not an address\" is not an email address: Invalid input"
    );

    let wrong = EmailNotifier::new(&with_password("wrong"), &settings()).unwrap();
    assert_eq!(
        permanent(wrong.send(&email_page("alice@example.com")).await),
        "email to mail: failed 535 5.7.8 Authentication credentials invalid"
    );
    let anonymous =
        EmailNotifier::new(&smtp_settings(&server, SmtpSecurity::Plain), &settings()).unwrap();
    let text = permanent(anonymous.send(&email_page("alice@example.com")).await);
    assert!(text.starts_with("email to mail: failed 530 "), "{text}");
}

#[tokio::test]
async fn email_to_a_closed_port_is_temporary() {
    let email = EmailSettings {
        host: "127.0.0.1".to_string(),
        port: refused_address().port(),
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        from: "klaxon@example.com".to_string(),
    };
    let notifier = EmailNotifier::new(&email, &settings()).unwrap();
    let text = temporary(notifier.send(&email_page("alice@example.com")).await);
    assert!(
        text.starts_with(&format!(
            "email to mail: cannot talk to 127.0.0.1:{}: ",
            email.port
        )) && text.contains("refused"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// exec with real programs

fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    writeln!(file, "#!/bin/sh\n{body}").unwrap();
    drop(file);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

fn exec_page(argv: &[&str]) -> Notification {
    notification(
        ContactKind::Exec,
        "pager-script",
        ContactAddress::Command(argv.iter().map(|a| a.to_string()).collect()),
    )
}

#[tokio::test]
async fn exec_gives_the_program_the_document_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "page.sh",
        r#"cat > "$1/stdin.json"
printf '%s\n' "$KLAXON_USER" "$KLAXON_INCIDENT_ID" "$KLAXON_SEVERITY" "$KLAXON_TITLE" "$KLAXON_SERVICE" "$KLAXON_ACK_COMMAND" > "$1/env"
printf '%s' "$2" > "$1/argument"
echo "queued as id-77"
echo "second line"
echo "progress" >&2"#,
    );
    let notifier = ExecNotifier::new(&settings());
    assert_eq!(notifier.kind(), ContactKind::Exec);
    let directory = dir.path().to_str().unwrap();
    let page = exec_page(&[&program, directory, "two words; $(not a shell)"]);

    let delivered = notifier.send(&page).await.unwrap();

    assert_eq!(delivered.detail.as_deref(), Some("queued as id-77"));
    let stdin = std::fs::read(dir.path().join("stdin.json")).unwrap();
    assert_eq!(stdin, page_document(&page, Some(PUBLIC_URL)));
    let document: Value = serde_json::from_slice(&stdin).unwrap();
    assert_eq!(document["event"], "page");
    assert_eq!(document["incident"]["title"], TITLE);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("env")).unwrap(),
        "alice\n42\ncritical\nDatabase \"primary\" down <&> 100%\npayments\nklaxon ack 42\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("argument")).unwrap(),
        "two words; $(not a shell)",
        "arguments are passed as they are, never through a shell"
    );
}

#[tokio::test]
async fn exec_failure_is_temporary_with_the_status_and_last_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "fail.sh",
        "echo 'starting' >&2\necho 'quota exceeded' >&2\nexit 3",
    );
    let text = temporary(
        ExecNotifier::new(&settings())
            .send(&exec_page(&[&program]))
            .await,
    );
    assert_eq!(
        text,
        format!("exec to pager-script: {program:?} exited with status 3: quota exceeded")
    );
}

#[tokio::test]
async fn exec_past_its_timeout_is_killed_with_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "hang.sh",
        r#"sleep 60 &
echo $! > "$1/child.pid.tmp" && mv "$1/child.pid.tmp" "$1/child.pid"
wait"#,
    );
    let notifier = ExecNotifier::new(&NotifySettings {
        timeout: Some(Duration::from_millis(500)),
        ..settings()
    });
    let started = Instant::now();

    let text = temporary(
        notifier
            .send(&exec_page(&[&program, dir.path().to_str().unwrap()]))
            .await,
    );

    assert_eq!(
        text,
        format!("exec to pager-script: {program:?} did not finish within 500ms and was killed")
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let child: u32 = std::fs::read_to_string(dir.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The kill is delivered at once but the kernel finishes the process on its own time:
    // poll its state, with a deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gone(child) {
        assert!(
            Instant::now() < deadline,
            "the program's background sleep {child} is still running"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Not running: no such process, or a zombie waiting to be reaped by whoever inherited it.
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

#[tokio::test]
async fn exec_of_a_missing_program_is_permanent() {
    let notifier = ExecNotifier::new(&settings());
    let text = permanent(
        notifier
            .send(&exec_page(&["/nonexistent/klaxon-pager"]))
            .await,
    );
    assert!(
        text.starts_with(
            "exec to pager-script: cannot run \"/nonexistent/klaxon-pager\": No such file"
        ),
        "{text}"
    );
    let text = permanent(
        notifier
            .send(&notification(
                ContactKind::Exec,
                "pager-script",
                to("/bin/true"),
            ))
            .await,
    );
    assert_eq!(
        text,
        "exec to pager-script: the address must be a command (a list of program and arguments)"
    );
}
