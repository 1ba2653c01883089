//! A REST client for the CLI verbs: the same JSON shapes as the server (`protocol`).

use crate::domain::IncidentId;
use crate::protocol::{
    Accepted, ErrorBody, ExplainView, IncidentDetail, IncidentView, OnCallView, OverrideView,
    SilenceView,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach klaxon at {url}: {reason} (is `klaxon serve` running? see --url)")]
    Unreachable { url: String, reason: String },
    #[error("{message} (HTTP {status}, {code})")]
    Refused {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer from {url}: {reason}")]
    Unexpected { url: String, reason: String },
}

pub struct RestClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl RestClient {
    pub fn new(base: &str, token: Option<String>) -> Self {
        RestClient {
            base: base.trim_end_matches('/').to_string(),
            token,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("a client with default TLS settings builds"),
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<T, ClientError> {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::Unreachable {
                url: url.to_string(),
                reason: root_cause(&error),
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::Unexpected {
                url: url.to_string(),
                reason: error.to_string(),
            })?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => ClientError::Refused {
                    status: status.as_u16(),
                    code: body.error.code,
                    message: body.error.message,
                },
                Err(_) => ClientError::Refused {
                    status: status.as_u16(),
                    code: "http_error".to_string(),
                    message: String::from_utf8_lossy(&bytes).trim().to_string(),
                },
            });
        }
        serde_json::from_slice(&bytes).map_err(|error| ClientError::Unexpected {
            url: url.to_string(),
            reason: error.to_string(),
        })
    }

    pub async fn incidents(
        &self,
        statuses: &[String],
        service: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<IncidentView>, ClientError> {
        let url = format!("{}/v1/incidents", self.base);
        let mut query: Vec<(&str, String)> = Vec::new();
        if !statuses.is_empty() {
            query.push(("status", statuses.join(",")));
        }
        if let Some(service) = service {
            query.push(("service", service.to_string()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        let request = self.http.get(&url).query(&query);
        self.send(request, &url).await
    }

    pub async fn detail(&self, id: IncidentId) -> Result<IncidentDetail, ClientError> {
        let url = format!("{}/v1/incidents/{id}", self.base);
        self.send(self.http.get(&url), &url).await
    }

    /// `action` is the REST verb: acknowledge, resolve, snooze, reassign, severity, notes.
    pub async fn act(
        &self,
        id: IncidentId,
        action: &str,
        body: Value,
    ) -> Result<IncidentView, ClientError> {
        let url = format!("{}/v1/incidents/{id}/{action}", self.base);
        self.send(self.http.post(&url).json(&body), &url).await
    }

    /// Incidents and messages matching a query, best first.
    pub async fn search(
        &self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<crate::search::SearchHit>, ClientError> {
        let url = format!("{}/v1/search", self.base);
        let query = [("q", text.to_string()), ("limit", limit.to_string())];
        self.send(self.http.get(&url).query(&query), &url).await
    }

    /// The Markdown postmortem draft of an incident.
    pub async fn postmortem(&self, id: IncidentId) -> Result<String, ClientError> {
        let url = format!("{}/v1/incidents/{id}/postmortem", self.base);
        let request = match &self.token {
            Some(token) => self.http.get(&url).bearer_auth(token),
            None => self.http.get(&url),
        };
        let response = request
            .send()
            .await
            .map_err(|error| ClientError::Unreachable {
                url: url.clone(),
                reason: root_cause(&error),
            })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::Unexpected {
                url: url.clone(),
                reason: error.to_string(),
            })?;
        if !status.is_success() {
            let body: Option<ErrorBody> = serde_json::from_slice(&bytes).ok();
            return Err(ClientError::Refused {
                status: status.as_u16(),
                code: body
                    .as_ref()
                    .map_or("http_error".to_string(), |body| body.error.code.clone()),
                message: body.map_or_else(
                    || String::from_utf8_lossy(&bytes).trim().to_string(),
                    |body| body.error.message,
                ),
            });
        }
        String::from_utf8(bytes.to_vec()).map_err(|error| ClientError::Unexpected {
            url,
            reason: error.to_string(),
        })
    }

    pub async fn oncall(&self) -> Result<Vec<OnCallView>, ClientError> {
        let url = format!("{}/v1/oncall", self.base);
        self.send(self.http.get(&url), &url).await
    }

    pub async fn overrides(&self) -> Result<Vec<OverrideView>, ClientError> {
        let url = format!("{}/v1/overrides", self.base);
        self.send(self.http.get(&url), &url).await
    }

    /// `body`: `{"schedule","user","start"?,"end" | "duration"}`.
    pub async fn add_override(&self, body: &Value) -> Result<OverrideView, ClientError> {
        let url = format!("{}/v1/overrides", self.base);
        self.send(self.http.post(&url).json(body), &url).await
    }

    pub async fn remove_override(&self, id: &str) -> Result<OverrideView, ClientError> {
        let url = format!("{}/v1/overrides/{}", self.base, path_segment(id));
        self.send(self.http.delete(&url), &url).await
    }

    pub async fn silences(&self) -> Result<Vec<SilenceView>, ClientError> {
        let url = format!("{}/v1/silences", self.base);
        self.send(self.http.get(&url), &url).await
    }

    /// `body`: `{"matchers":[…],"starts_at"?,"ends_at" | "duration","comment"?}`.
    pub async fn add_silence(&self, body: &Value) -> Result<SilenceView, ClientError> {
        let url = format!("{}/v1/silences", self.base);
        self.send(self.http.post(&url).json(body), &url).await
    }

    pub async fn expire_silence(&self, id: &str) -> Result<SilenceView, ClientError> {
        let url = format!("{}/v1/silences/{}", self.base, path_segment(id));
        self.send(self.http.delete(&url), &url).await
    }

    /// `query`: `label` (repeatable, `NAME=VALUE`), `service`, `severity`, `integration`.
    pub async fn explain(&self, query: &[(&str, String)]) -> Result<ExplainView, ClientError> {
        let url = format!("{}/v1/explain", self.base);
        self.send(self.http.get(&url).query(query), &url).await
    }

    pub async fn send_alert(&self, key: &str, body: &Value) -> Result<Accepted, ClientError> {
        let url = format!("{}/v1/integrations/{key}", self.base);
        self.send(self.http.post(&url).json(body), &url).await
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// An id as one URL path segment: anything but letters, digits, `-`, `_` and `.` escaped.
fn path_segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
