//! The webhook channel: the page document (see [`page_document`]) POSTed as JSON to the
//! contact's URL. Depends on the notify contract and reqwest.

use super::message::{attempt_name, page_document, text_address};
use super::web::{self, exchange, target_url};
use super::{Delivered, Notification, Notifier, NotifySettings, SendFuture};
use crate::domain::escalation::ContactKind;
use reqwest::header::CONTENT_TYPE;
use std::time::Duration;

/// `POST <address>` with `Content-Type: application/json` and the body of [`page_document`]:
///
/// ```json
/// {"event":"page","user":"alice","contact":"ops-hook","urgency":"high","level":1,
///  "ack_command":"klaxon ack 42","incident_url":null,"incident":{"id":42,...}}
/// ```
///
/// 2xx is delivered; 408, 429, 5xx, connection failures and timeouts are temporary; redirects
/// (never followed) and other 4xx are permanent.
pub struct WebhookNotifier {
    client: reqwest::Client,
    timeout: Duration,
    public_url: Option<String>,
}

impl WebhookNotifier {
    pub fn new(settings: &NotifySettings) -> Result<WebhookNotifier, String> {
        let timeout = settings.timeout_or_default();
        Ok(Self::with_client(web::client(timeout)?, settings))
    }

    pub(crate) fn with_client(client: reqwest::Client, settings: &NotifySettings) -> Self {
        WebhookNotifier {
            client,
            timeout: settings.timeout_or_default(),
            public_url: settings.public_url.clone(),
        }
    }
}

impl Notifier for WebhookNotifier {
    fn kind(&self) -> ContactKind {
        ContactKind::Webhook
    }

    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let who = attempt_name(notification);
            let url = target_url(&who, text_address(notification))?;
            let body = page_document(notification, self.public_url.as_deref());
            let request = self
                .client
                .post(url)
                .header(CONTENT_TYPE, "application/json")
                .body(body);
            let answer = exchange(&who, request, self.timeout).await?;
            Ok(Delivered {
                detail: Some(answer.status_line()),
            })
        })
    }
}
