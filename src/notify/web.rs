//! What webhook, Slack and provider requests share: the HTTP client, how an answer or a
//! failure becomes `Delivered` or a `SendError`, and short, safe excerpts of what the far end
//! said. Depends on reqwest.

use super::SendError;
use bytes::Bytes;
use http::header::LOCATION;
use http::StatusCode;
use std::error::Error as _;
use std::time::Duration;

/// What the far end may say that we keep: enough for a provider's JSON answer or an error
/// page, and a hostile endpoint cannot make us buffer more.
const ANSWER_LIMIT: usize = 64 * 1024;

/// How much of an error answer goes into the error text (and so into the timeline).
const EXCERPT_LENGTH: usize = 200;

/// One client for every HTTP channel. Redirects are not followed: a page goes where it was
/// configured to go, or fails visibly.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("klaxon/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| format!("cannot set up the HTTP client: {}", innermost(&error)))
}

/// The address of a webhook-like contact as an http(s) URL. The URL itself is not repeated
/// in the error: for Slack it is the secret.
pub(crate) fn target_url(who: &str, address: Option<&str>) -> Result<reqwest::Url, SendError> {
    let address = address.ok_or_else(|| {
        SendError::Permanent(format!("{who}: the address must be a URL, not a command"))
    })?;
    let url = reqwest::Url::parse(address).map_err(|error| {
        SendError::Permanent(format!("{who}: the address is not a URL: {error}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SendError::Permanent(format!(
            "{who}: the address must be an http or https URL, not {}:",
            url.scheme()
        )));
    }
    Ok(url)
}

/// A 2xx answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Answer {
    /// `200 OK`
    pub fn status_line(&self) -> String {
        status_line(self.status)
    }
}

/// Sends one request. 2xx is an `Answer`; 408, 429, 5xx, connection failures and timeouts are
/// `Temporary`; redirects and other 4xx are `Permanent`. Errors read
/// `webhook to ops: failed 500 Internal Server Error: <what the server said>`.
pub(crate) async fn exchange(
    who: &str,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<Answer, SendError> {
    let mut response = request
        .send()
        .await
        .map_err(|error| request_error(who, &error, timeout))?;
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = ANSWER_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if room <= chunk.len() {
                    break;
                }
            }
            Ok(None) => break,
            // The status is what counts; a body cut short only shortens the excerpt.
            Err(_) => break,
        }
    }
    if status.is_success() {
        return Ok(Answer {
            status,
            body: Bytes::from(body),
        });
    }
    let mut text = format!("{who}: failed {}", status_line(status));
    if status.is_redirection() {
        match location {
            Some(location) => text.push_str(&format!(
                " (redirect to {} not followed)",
                excerpt(location.as_bytes())
            )),
            None => text.push_str(" (redirect not followed)"),
        }
    } else {
        let said = excerpt(&body);
        if !said.is_empty() {
            text.push_str(": ");
            text.push_str(&said);
        }
    }
    let temporary = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    Err(if temporary {
        SendError::Temporary(text)
    } else {
        SendError::Permanent(text)
    })
}

/// `500 Internal Server Error`
pub(crate) fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn request_error(who: &str, error: &reqwest::Error, timeout: Duration) -> SendError {
    if error.is_timeout() {
        return SendError::Temporary(format!(
            "{who}: no answer within {}",
            humantime::format_duration(timeout)
        ));
    }
    if error.is_builder() {
        return SendError::Permanent(format!("{who}: invalid request: {}", innermost(error)));
    }
    if error.is_connect() {
        return SendError::Temporary(format!("{who}: cannot connect: {}", innermost(error)));
    }
    SendError::Temporary(format!("{who}: request failed: {}", innermost(error)))
}

/// The most specific cause (`Connection refused (os error 111)`, `invalid peer certificate:
/// UnknownIssuer`) rather than reqwest's generic outer message. URLs are left out: a Slack
/// webhook URL is a secret.
pub(crate) fn innermost(error: &reqwest::Error) -> String {
    let mut deepest = None;
    let mut cause = error.source();
    while let Some(inner) = cause {
        deepest = Some(inner);
        cause = inner.source();
    }
    match deepest {
        Some(inner) => inner.to_string(),
        None => {
            let message = error.to_string();
            match error.url() {
                Some(url) => message.replace(url.as_str(), "<url>"),
                None => message,
            }
        }
    }
}

/// A short, single-line, printable excerpt of what the far end said: HTML tags dropped,
/// control characters and runs of whitespace made single spaces, cut at 200 characters.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = if text.trim_start().starts_with('<') {
        strip_tags(&text)
    } else {
        text.into_owned()
    };
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    super::message::shorten(&super::message::one_line(&printable), EXCERPT_LENGTH)
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        match c {
            '<' => {
                inside = true;
                out.push(' ');
            }
            '>' if inside => inside = false,
            _ if !inside => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(excerpt(b"  database\n\tlocked\x07 "), "database locked");
        assert_eq!(
            excerpt(b"<html><head><title>502 Bad Gateway</title></head></html>"),
            "502 Bad Gateway"
        );
        assert_eq!(excerpt("x".repeat(500).as_bytes()).chars().count(), 200);
    }

    #[test]
    fn status_lines_have_reasons() {
        assert_eq!(
            status_line(StatusCode::INTERNAL_SERVER_ERROR),
            "500 Internal Server Error"
        );
    }
}
