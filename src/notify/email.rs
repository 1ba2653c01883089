//! The email channel: a plain-text message over SMTP (lettre on tokio, TLS by rustls with
//! aws-lc-rs). Depends on the notify contract and lettre.

use super::message::{attempt_name, email_body, email_subject, one_line, text_address};
use super::{
    Delivered, EmailSettings, Notification, Notifier, NotifySettings, SendError, SendFuture,
    SmtpSecurity,
};
use crate::domain::escalation::ContactKind;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::error::Error as _;
use std::time::Duration;

/// Sends one email per notification through the configured SMTP server, one connection per
/// message.
///
/// - `StartTls`: the server must offer STARTTLS and the upgrade must succeed before anything
///   else is said (credentials included); a server without it is a permanent failure.
/// - `Tls`: TLS from the first byte (port 465).
/// - `Plain`: no TLS, for a relay on the same host or network.
///
/// Certificates are checked against the system's roots (plus any added with
/// [`EmailNotifier::with_root_certificate`]) and the configured host name. SMTP 4xx replies,
/// connection failures and timeouts are temporary; 5xx replies, TLS failures, a missing
/// STARTTLS, refused authentication and bad addresses are permanent.
pub struct EmailNotifier {
    settings: EmailSettings,
    from: Mailbox,
    timeout: Duration,
    public_url: Option<String>,
    roots: Vec<Vec<u8>>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl EmailNotifier {
    /// Checks the settings (sender address, credentials) and prepares the transport; connects
    /// only when sending.
    pub fn new(email: &EmailSettings, settings: &NotifySettings) -> Result<EmailNotifier, String> {
        let from: Mailbox = email
            .from
            .parse()
            .map_err(|error| format!("email: from {:?} is not an address: {error}", email.from))?;
        let timeout = settings.timeout_or_default();
        let transport = transport(email, timeout, &[])?;
        Ok(EmailNotifier {
            settings: email.clone(),
            from,
            timeout,
            public_url: settings.public_url.clone(),
            roots: Vec::new(),
            transport,
        })
    }

    /// Also trusts the certificates in `pem` (a private CA, or a relay's self-signed
    /// certificate) as roots when checking the server.
    pub fn with_root_certificate(mut self, pem: &[u8]) -> Result<EmailNotifier, String> {
        if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err("email: the root certificate is not a PEM certificate".to_string());
        }
        Certificate::from_pem(pem)
            .map_err(|error| format!("email: the root certificate cannot be read: {error}"))?;
        self.roots.push(pem.to_vec());
        self.transport = transport(&self.settings, self.timeout, &self.roots)?;
        Ok(self)
    }

    fn failure(&self, who: &str, error: &lettre::transport::smtp::Error) -> SendError {
        let server = format!("{}:{}", self.settings.host, self.settings.port);
        let cause = deepest_cause(error);
        if let Some(code) = error.status() {
            let text = format!("{who}: failed {code} {}", one_line(&cause));
            return if error.is_transient() {
                SendError::Temporary(text)
            } else {
                SendError::Permanent(text)
            };
        }
        if error.is_timeout() {
            return SendError::Temporary(format!(
                "{who}: no answer from {server} within {}",
                humantime::format_duration(self.timeout)
            ));
        }
        // lettre reports a refused certificate during the handshake as a connection error;
        // it is a TLS failure, and retrying meets the same certificate.
        if error.is_tls() || tls_failure(error) {
            return SendError::Permanent(format!("{who}: TLS with {server} failed: {cause}"));
        }
        if error.is_client() {
            return SendError::Permanent(format!("{who}: {server}: {cause}"));
        }
        SendError::Temporary(format!("{who}: cannot talk to {server}: {cause}"))
    }
}

impl Notifier for EmailNotifier {
    fn kind(&self) -> ContactKind {
        ContactKind::Email
    }

    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let who = attempt_name(notification);
            let address = text_address(notification).ok_or_else(|| {
                SendError::Permanent(format!(
                    "{who}: the address must be an email address, not a command"
                ))
            })?;
            let to: Mailbox = address.parse().map_err(|error| {
                SendError::Permanent(format!(
                    "{who}: {address:?} is not an email address: {error}"
                ))
            })?;
            let message = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(email_subject(&notification.incident))
                .header(ContentType::TEXT_PLAIN)
                .body(email_body(notification, self.public_url.as_deref()))
                .map_err(|error| {
                    SendError::Permanent(format!("{who}: cannot build the message: {error}"))
                })?;
            // lettre's timeout is per exchange; a whole dialogue (greeting, TLS, auth, envelope,
            // data) gets a few of them, and then no more.
            let response = tokio::time::timeout(self.timeout * 4, self.transport.send(message))
                .await
                .map_err(|_| {
                    SendError::Temporary(format!(
                        "{who}: {}:{} did not finish within {}",
                        self.settings.host,
                        self.settings.port,
                        humantime::format_duration(self.timeout * 4)
                    ))
                })?
                .map_err(|error| self.failure(&who, &error))?;
            let said: Vec<&str> = response.message().collect();
            Ok(Delivered {
                detail: Some(one_line(&format!("{} {}", response.code(), said.join(" ")))),
            })
        })
    }
}

fn transport(
    email: &EmailSettings,
    timeout: Duration,
    roots: &[Vec<u8>],
) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    if email.host.trim().is_empty() {
        return Err("email: host is empty".to_string());
    }
    let tls = match email.security {
        SmtpSecurity::Plain => Tls::None,
        SmtpSecurity::StartTls => Tls::Required(tls_parameters(&email.host, roots)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(&email.host, roots)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(email.host.trim())
        .port(email.port)
        .tls(tls)
        .timeout(Some(timeout));
    match (&email.username, &email.password) {
        (Some(username), Some(password)) => {
            builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
        }
        (None, None) => {}
        _ => return Err("email: username and password go together".to_string()),
    }
    Ok(builder.build())
}

/// lettre builds the rustls configuration with an explicit provider (aws-lc-rs, the only one
/// compiled in), so nothing depends on a process-wide default being installed.
fn tls_parameters(host: &str, roots: &[Vec<u8>]) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.trim().to_string());
    for pem in roots {
        let certificate = Certificate::from_pem(pem)
            .map_err(|error| format!("email: the root certificate cannot be read: {error}"))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build_rustls()
        .map_err(|error| format!("email: cannot set up TLS: {}", deepest_cause(&error)))
}

/// Whether rustls refused the handshake somewhere in the chain (tokio-rustls wraps its errors
/// in `io::Error`, whose `source()` skips the wrapped error, so look inside each one).
fn tls_failure(error: &lettre::transport::smtp::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(inner) = cause {
        if inner.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|wrapped| wrapped.is::<rustls::Error>())
            {
                return true;
            }
        }
        cause = inner.source();
    }
    false
}

/// The most specific message in an error's chain (`Connection refused (os error 111)`).
fn deepest_cause(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text = inner.to_string();
        cause = inner.source();
    }
    text
}
