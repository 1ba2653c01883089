//! SMS and voice through a provider's HTTP API described in configuration as an
//! [`HttpTemplate`]: no vendor is hard-wired. Placeholders are parsed once and filled per
//! notification, encoded for where they stand. Depends on the notify contract and reqwest.

use super::message::{
    attempt_name, incident_url, one_line, sms_message, text_address, voice_message,
};
use super::web::{self, exchange};
use super::{
    Delivered, HttpTemplate, Notification, Notifier, NotifySettings, SendError, SendFuture,
    TemplateBody,
};
use crate::domain::escalation::ContactKind;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::Method;
use std::time::Duration;

/// The placeholders a template may use, with what they become:
///
/// | placeholder | value |
/// | --- | --- |
/// | `{{to}}` | the contact's address (the phone number) |
/// | `{{message}}` | the SMS text: `klaxon CRIT #42 Database down (payments): ack with klaxon ack 42` |
/// | `{{voice_message}}` | the text to speak: words and digits, no symbols |
/// | `{{user}}` | the person paged |
/// | `{{incident.id}}` | `42` |
/// | `{{incident.title}}` | the title on one line |
/// | `{{incident.severity}}` | `critical`, `error`, `warning` or `info` |
/// | `{{incident.service}}` | the service, empty when none |
/// | `{{incident.url}}` | `{public_url}/v1/incidents/42`, empty without `public_url` |
/// | `{{ack_command}}` | `klaxon ack 42` |
/// | `{{public_url}}` | the configured `public_url`, empty when none |
///
/// Spaces inside the braces are allowed (`{{ to }}`). Each value is encoded for where it
/// stands: percent-encoded in the URL, on one line in headers, as is in form fields (the form
/// encoding encodes it), and JSON-string-escaped in a JSON body, so the placeholder belongs
/// inside a JSON string (`"text": "{{message}}"`); only `{{incident.id}}` can stand alone as a
/// number. Any other `{{name}}` is an error that [`check_template`] reports.
pub const PLACEHOLDERS: [&str; 11] = [
    "to",
    "message",
    "voice_message",
    "user",
    "incident.id",
    "incident.title",
    "incident.severity",
    "incident.service",
    "incident.url",
    "ack_command",
    "public_url",
];

/// Checks a template without sending anything: every placeholder known, the method, header
/// names and, once filled with sample values (quotes and newlines included), a valid URL and
/// a valid JSON body. The error names the part and the problem, such as
/// `url: unknown placeholder {{incident.name}}; known: {{to}}, {{message}}, …`.
pub fn check_template(template: &HttpTemplate) -> Result<(), String> {
    let parsed = ParsedTemplate::parse(template)?;
    let sample = Values::sample();
    parsed.render(&sample).map(|_| ())
}

/// Sends a notification through a provider's API as its [`HttpTemplate`] says. 2xx is
/// delivered, with the provider's message id (`sid` or `id` in a JSON answer) as the detail;
/// 408, 429, 5xx, connection failures and timeouts are temporary; other answers permanent.
pub struct TemplateNotifier {
    kind: ContactKind,
    template: ParsedTemplate,
    client: reqwest::Client,
    timeout: Duration,
    public_url: Option<String>,
}

impl TemplateNotifier {
    /// `kind` is `Sms` or `Voice`: what the engine will look this notifier up by.
    pub fn new(
        kind: ContactKind,
        template: &HttpTemplate,
        settings: &NotifySettings,
    ) -> Result<TemplateNotifier, String> {
        let client = web::client(settings.timeout_or_default())?;
        Self::with_client(kind, template, client, settings)
    }

    pub(crate) fn with_client(
        kind: ContactKind,
        template: &HttpTemplate,
        client: reqwest::Client,
        settings: &NotifySettings,
    ) -> Result<TemplateNotifier, String> {
        let parsed = ParsedTemplate::parse(template)?;
        parsed.render(&Values::sample())?;
        Ok(TemplateNotifier {
            kind,
            template: parsed,
            client,
            timeout: settings.timeout_or_default(),
            public_url: settings.public_url.clone(),
        })
    }
}

impl Notifier for TemplateNotifier {
    fn kind(&self) -> ContactKind {
        self.kind
    }

    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let who = attempt_name(notification);
            let to = text_address(notification).ok_or_else(|| {
                SendError::Permanent(format!(
                    "{who}: the address must be a phone number, not a command"
                ))
            })?;
            let values = Values::of(notification, to, self.public_url.as_deref());
            let request = self
                .template
                .render(&values)
                .map_err(|error| SendError::Permanent(format!("{who}: {error}")))?;
            let mut builder = self
                .client
                .request(request.method, request.url)
                .headers(request.headers);
            if let Some((user, password)) = &self.template.basic_auth {
                builder = builder.basic_auth(user, Some(password));
            }
            if let Some(body) = request.body {
                builder = builder.body(body);
            }
            let answer = exchange(&who, builder, self.timeout).await?;
            Ok(Delivered {
                detail: Some(message_id(&answer.body).unwrap_or_else(|| answer.status_line())),
            })
        })
    }
}

/// `sid` (Twilio) or `id` at the top of a JSON answer, as text.
fn message_id(body: &[u8]) -> Option<String> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["sid", "id"].iter().find_map(|key| match answer.get(key)? {
        serde_json::Value::String(text) if !text.is_empty() => Some(one_line(text)),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}

/// Where a value lands, which decides its encoding.
#[derive(Debug, Clone, Copy)]
enum Context {
    Url,
    Header,
    Form,
    Json,
}

#[derive(Debug, Clone)]
enum Segment {
    Literal(String),
    Placeholder(&'static str),
}

/// A string of the template split into literal text and placeholders.
#[derive(Debug, Clone)]
struct Text(Vec<Segment>);

impl Text {
    fn parse(part: &str, text: &str) -> Result<Text, String> {
        let mut segments = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                segments.push(Segment::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("{part}: {{{{ without a closing }}}}"))?;
            let name = after[..end].trim();
            let known = PLACEHOLDERS
                .iter()
                .find(|known| **known == name)
                .ok_or_else(|| {
                    let known: Vec<String> = PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect();
                    format!(
                        "{part}: unknown placeholder {{{{{name}}}}}; known: {}",
                        known.join(", ")
                    )
                })?;
            segments.push(Segment::Placeholder(known));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_string()));
        }
        Ok(Text(segments))
    }

    fn render(&self, values: &Values, context: Context) -> String {
        let mut out = String::new();
        for segment in &self.0 {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Placeholder(name) => out.push_str(&encode(values.get(name), context)),
            }
        }
        out
    }
}

/// Everything but the RFC 3986 unreserved characters is percent-encoded, so a value stays
/// one path segment or query value (`+` in a phone number becomes `%2B`).
const URL_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(value: &str, context: Context) -> String {
    match context {
        Context::Url => utf8_percent_encode(value, URL_VALUE).to_string(),
        Context::Header => one_line(value),
        Context::Form => value.to_string(),
        Context::Json => {
            let quoted = serde_json::Value::String(value.to_string()).to_string();
            quoted[1..quoted.len() - 1].to_string()
        }
    }
}

#[derive(Debug, Clone)]
enum ParsedBody {
    None,
    Form(Vec<(Text, Text)>),
    Json(Text),
}

#[derive(Debug, Clone)]
struct ParsedTemplate {
    method: Method,
    url: Text,
    headers: Vec<(HeaderName, Text)>,
    body: ParsedBody,
    basic_auth: Option<(String, String)>,
}

/// A template filled in for one notification.
struct Request {
    method: Method,
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
    body: Option<Vec<u8>>,
}

impl ParsedTemplate {
    fn parse(template: &HttpTemplate) -> Result<ParsedTemplate, String> {
        let method = Method::from_bytes(template.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("method: {:?} is not an HTTP method", template.method))?;
        let url = Text::parse("url", &template.url)?;
        let mut headers = Vec::new();
        for (name, value) in &template.headers {
            let header = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("headers: {name:?} is not a valid header name"))?;
            headers.push((header, Text::parse(&format!("header {name}"), value)?));
        }
        let body = match &template.body {
            TemplateBody::None => ParsedBody::None,
            TemplateBody::Form(fields) => {
                let mut parsed = Vec::new();
                for (name, value) in fields {
                    let part = format!("form field {name}");
                    parsed.push((Text::parse(&part, name)?, Text::parse(&part, value)?));
                }
                ParsedBody::Form(parsed)
            }
            TemplateBody::Json(document) => ParsedBody::Json(Text::parse("json body", document)?),
        };
        Ok(ParsedTemplate {
            method,
            url,
            headers,
            body,
            basic_auth: template.basic_auth.clone(),
        })
    }

    fn render(&self, values: &Values) -> Result<Request, String> {
        let url_text = self.url.render(values, Context::Url);
        let url = reqwest::Url::parse(&url_text)
            .map_err(|error| format!("url: not a valid URL once filled in: {error}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "url: must be an http or https URL, not {}:",
                url.scheme()
            ));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &self.headers {
            let value = HeaderValue::from_bytes(value.render(values, Context::Header).as_bytes())
                .map_err(|_| {
                format!("header {name}: not a valid header value once filled in")
            })?;
            headers.append(name.clone(), value);
        }
        let body = match &self.body {
            ParsedBody::None => None,
            ParsedBody::Form(fields) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    form.append_pair(
                        &name.render(values, Context::Form),
                        &value.render(values, Context::Form),
                    );
                }
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    );
                }
                Some(form.finish().into_bytes())
            }
            ParsedBody::Json(document) => {
                let text = document.render(values, Context::Json);
                serde_json::from_str::<serde_json::Value>(&text).map_err(|error| {
                    format!(
                        "json body: not valid JSON once filled in ({error}); \
                         placeholders belong inside JSON strings"
                    )
                })?;
                if !headers.contains_key(CONTENT_TYPE) {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                Some(text.into_bytes())
            }
        };
        Ok(Request {
            method: self.method.clone(),
            url,
            headers,
            body,
        })
    }
}

/// The placeholder values for one notification.
struct Values {
    to: String,
    message: String,
    voice_message: String,
    user: String,
    incident_id: String,
    incident_title: String,
    incident_severity: String,
    incident_service: String,
    incident_url: String,
    ack_command: String,
    public_url: String,
}

impl Values {
    fn of(notification: &Notification, to: &str, public_url: Option<&str>) -> Values {
        let incident = &notification.incident;
        Values {
            to: to.to_string(),
            message: sms_message(notification),
            voice_message: voice_message(notification),
            user: notification.user.clone(),
            incident_id: incident.id.to_string(),
            incident_title: incident.title.clone(),
            incident_severity: incident.severity.as_str().to_string(),
            incident_service: incident.service.clone().unwrap_or_default(),
            incident_url: incident_url(public_url, incident.id).unwrap_or_default(),
            ack_command: notification.ack_command.clone(),
            public_url: public_url.unwrap_or_default().to_string(),
        }
    }

    /// Awkward values (quotes, backslashes, newlines, `<&>`, a `+`) so that a check with them
    /// catches a placeholder that would break the URL or the JSON document.
    fn sample() -> Values {
        let awkward = "a \"quoted\" \\ <&> + value\nwith a second line";
        Values {
            to: "+15550100".to_string(),
            message: awkward.to_string(),
            voice_message: awkward.to_string(),
            user: awkward.to_string(),
            incident_id: "42".to_string(),
            incident_title: awkward.to_string(),
            incident_severity: "critical".to_string(),
            incident_service: awkward.to_string(),
            incident_url: "https://klaxon.example.com/v1/incidents/42".to_string(),
            ack_command: "klaxon ack 42".to_string(),
            public_url: "https://klaxon.example.com".to_string(),
        }
    }

    fn get(&self, name: &str) -> &str {
        match name {
            "to" => &self.to,
            "message" => &self.message,
            "voice_message" => &self.voice_message,
            "user" => &self.user,
            "incident.id" => &self.incident_id,
            "incident.title" => &self.incident_title,
            "incident.severity" => &self.incident_severity,
            "incident.service" => &self.incident_service,
            "incident.url" => &self.incident_url,
            "ack_command" => &self.ack_command,
            "public_url" => &self.public_url,
            // `Text::parse` admits only the names above.
            _ => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(url: &str, body: TemplateBody) -> HttpTemplate {
        HttpTemplate {
            method: "POST".to_string(),
            url: url.to_string(),
            headers: vec![],
            body,
            basic_auth: None,
        }
    }

    #[test]
    fn unknown_placeholder_is_named_with_the_known_ones() {
        let error = check_template(&template(
            "https://sms.example.com/{{incident.name}}",
            TemplateBody::None,
        ))
        .unwrap_err();
        assert!(
            error.starts_with("url: unknown placeholder {{incident.name}}; known: {{to}}, "),
            "{error}"
        );
        assert!(error.contains("{{public_url}}"), "{error}");
    }

    #[test]
    fn unclosed_braces_and_bad_methods_are_errors() {
        let error = check_template(&template(
            "https://sms.example.com/",
            TemplateBody::Form(vec![("Body".into(), "{{message".into())]),
        ))
        .unwrap_err();
        assert_eq!(error, "form field Body: {{ without a closing }}");
        let mut bad = template("https://sms.example.com/", TemplateBody::None);
        bad.method = "PO ST".into();
        assert!(check_template(&bad).unwrap_err().starts_with("method:"));
    }

    #[test]
    fn json_placeholders_outside_strings_are_refused() {
        let error = check_template(&template(
            "https://sms.example.com/",
            TemplateBody::Json(r#"{"text": {{message}}}"#.into()),
        ))
        .unwrap_err();
        assert!(error.starts_with("json body: not valid JSON"), "{error}");
        check_template(&template(
            "https://sms.example.com/",
            TemplateBody::Json(r#"{"text": "{{ message }}", "id": {{incident.id}}}"#.into()),
        ))
        .unwrap();
    }

    #[test]
    fn values_are_encoded_for_where_they_stand() {
        assert_eq!(encode("+1 555/0100", Context::Url), "%2B1%20555%2F0100");
        assert_eq!(encode("a\nb", Context::Header), "a b");
        assert_eq!(encode("a \"b\"\n", Context::Json), r#"a \"b\"\n"#);
        assert_eq!(encode("a&b", Context::Form), "a&b");
    }

    #[test]
    fn message_id_prefers_sid_then_id() {
        assert_eq!(
            message_id(br#"{"sid":"SM1","id":"x"}"#).as_deref(),
            Some("SM1")
        );
        assert_eq!(message_id(br#"{"id":17}"#).as_deref(), Some("17"));
        assert_eq!(message_id(b"ok"), None);
    }
}
