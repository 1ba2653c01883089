//! AWS CloudWatch alarms, delivered by Amazon SNS to an HTTP(S) subscription (the SNS
//! envelope, sent as `text/plain`, with the alarm as a JSON string in `Message`), or as the
//! EventBridge "CloudWatch Alarm State Change" event (posted directly by an API destination, or
//! inside an SNS envelope). ALARM fires, OK resolves, INSUFFICIENT_DATA fires (as a warning)
//! only if the integration says so. One incident per alarm ARN. An SNS notification that is
//! not an alarm is accepted and ignored. Pure: SNS signature verification needs the signing
//! certificate, which the API fetches; see `sns` and `api::ingest`.

use super::fields::{
    self, join, optional_string, quote, refuse, required_string, wrong_type, TimeSyntax,
    LABEL_LIMITS, SUMMARY_CHARS, UNPROCESSABLE,
};
use super::sns::{self, Envelope, MessageType};
use super::{json, IngestError, Options, Parsed};
use crate::domain::{AlertEvent, AlertStatus, Link, Severity};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

pub const ALARM_STATE_CHANGE: &str = "CloudWatch Alarm State Change";

/// What a request asks of klaxon, once read.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Alarm state changes to apply.
    Alerts(Vec<AlertEvent>),
    /// Accepted and deliberately not applied (why, for the answer and the log).
    Ignored(String),
    /// A SubscriptionConfirmation for an allowed topic: visit this (checked) URL.
    ConfirmSubscription(url::Url),
}

/// A request to a CloudWatch integration: the SNS envelope when there was one (its signature
/// still to be checked), and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub envelope: Option<Envelope>,
    pub outcome: Outcome,
}

/// Reads a request body: an SNS envelope, an EventBridge event, or (only when signatures are
/// not verified) a bare alarm message as SNS "raw message delivery" sends it.
pub fn parse_request(
    body: &[u8],
    now: DateTime<Utc>,
    options: &Options,
) -> Result<Request, IngestError> {
    let object = json::parse_object(body)?;
    if object.contains_key("Type") {
        let envelope = sns::parse_envelope(&object)?;
        let allowed = sns::topic_allowed(&envelope.topic_arn, &options.allowed_topics);
        if !options.allowed_topics.is_empty() && !allowed {
            return Err(topic_refused(&envelope.topic_arn, "messages"));
        }
        let outcome = match envelope.message_type {
            MessageType::Notification => parse_message(&envelope.message, now, options)?,
            MessageType::UnsubscribeConfirmation => Outcome::Ignored(format!(
                "unsubscribe confirmation for {}: nothing to do",
                envelope.topic_arn
            )),
            MessageType::SubscriptionConfirmation => {
                if !allowed {
                    return Err(topic_refused(&envelope.topic_arn, "subscriptions"));
                }
                let url = sns::check_aws_url(
                    envelope.subscribe_url.as_deref().unwrap_or_default(),
                    "SubscribeURL",
                )?;
                Outcome::ConfirmSubscription(url)
            }
        };
        return Ok(Request {
            envelope: Some(envelope),
            outcome,
        });
    }
    if object.contains_key("detail-type") {
        return Ok(Request {
            envelope: None,
            outcome: parse_eventbridge(&object, "", now, options)?,
        });
    }
    if object.contains_key("AlarmName") {
        if options.verify_signature {
            return Err(refuse(
                fields::BAD_REQUEST,
                "unsigned_message",
                "",
                String::from(
                    "a bare alarm message carries no SNS signature: turn off \"raw message \
                     delivery\" on the SNS subscription (or set verify_signature = false on \
                     this integration for testing)",
                ),
            ));
        }
        return Ok(Request {
            envelope: None,
            outcome: parse_alarm(&object, "", now, options)?,
        });
    }
    Err(fields::missing(
        "Type",
        "an Amazon SNS message (with \"Type\"), an EventBridge event (with \"detail-type\") or \
         a CloudWatch alarm (with \"AlarmName\")",
    ))
}

/// Reads a request without checking any SNS signature: for integrations with
/// `verify_signature = false`, and for websocket frames (where a signed SNS message is
/// refused, since its certificate cannot be fetched there).
pub fn parse_unverified(
    body: &[u8],
    now: DateTime<Utc>,
    options: &Options,
) -> Result<Parsed, IngestError> {
    let request = parse_request(body, now, options)?;
    if request.envelope.is_some() && options.verify_signature {
        return Err(refuse(
            UNPROCESSABLE,
            "signature_required",
            "Signature",
            String::from(
                "SNS messages on this integration have their signature verified: post them to \
                 POST /v1/integrations/{key}",
            ),
        ));
    }
    match request.outcome {
        Outcome::Alerts(events) => Ok(Parsed { events }),
        Outcome::Ignored(_) => Ok(Parsed { events: Vec::new() }),
        Outcome::ConfirmSubscription(_) => Err(refuse(
            UNPROCESSABLE,
            "subscription_confirmation",
            "Type",
            String::from(
                "subscription confirmations are answered over HTTP: post them to \
                 POST /v1/integrations/{key}",
            ),
        )),
    }
}

fn topic_refused(topic: &str, what: &str) -> IngestError {
    refuse(
        403,
        "topic_not_allowed",
        "TopicArn",
        format!(
            "{} is not in this integration's allowed_topics; klaxon accepts {what} only from \
             the topics listed there",
            quote(topic)
        ),
    )
}

/// An SNS notification's `Message`: an alarm, an EventBridge event, or anything else
/// (ignored: SNS topics carry other messages too).
fn parse_message(
    text: &str,
    now: DateTime<Utc>,
    options: &Options,
) -> Result<Outcome, IngestError> {
    let Ok(object) = json::parse_object(text.as_bytes()) else {
        return Ok(Outcome::Ignored(String::from(
            "the SNS message is not a CloudWatch alarm (not a JSON object)",
        )));
    };
    if object.contains_key("AlarmName") {
        parse_alarm(&object, "Message", now, options)
    } else if object.contains_key("detail-type") {
        parse_eventbridge(&object, "Message", now, options)
    } else {
        Ok(Outcome::Ignored(String::from(
            "the SNS message is not a CloudWatch alarm (no AlarmName)",
        )))
    }
}

/// The pieces of an alarm state change, whichever wrapping it came in.
struct Change<'a> {
    name: &'a str,
    state: &'a str,
    state_field: String,
    arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
    description: Option<&'a str>,
    reason: Option<&'a str>,
    namespace: Option<String>,
    metric: Option<String>,
    time: Option<DateTime<Utc>>,
    details: Map<String, Value>,
}

/// The alarm message CloudWatch publishes to SNS (`AlarmName`, `NewStateValue`, …).
fn parse_alarm(
    object: &Map<String, Value>,
    path: &str,
    now: DateTime<Utc>,
    options: &Options,
) -> Result<Outcome, IngestError> {
    let name = required_string(object, path, "AlarmName")?;
    let state = required_string(object, path, "NewStateValue")?;
    let time = optional_string(object, path, "StateChangeTime")?
        .map(|text| {
            fields::timestamp(
                text,
                &join(path, "StateChangeTime"),
                TimeSyntax::Lenient,
                now,
                Duration::days(1),
            )
        })
        .transpose()?;
    let trigger = match fields::get(object, "Trigger") {
        None => None,
        Some(Value::Object(trigger)) => Some(trigger),
        Some(other) => return Err(wrong_type(&join(path, "Trigger"), "an object", other)),
    };
    let trigger_text = |name: &str| {
        trigger
            .and_then(|trigger| trigger.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let change = Change {
        name,
        state,
        state_field: join(path, "NewStateValue"),
        arn: optional_string(object, path, "AlarmArn")?.map(str::to_string),
        account: optional_string(object, path, "AWSAccountId")?.map(str::to_string),
        region: optional_string(object, path, "Region")?.map(str::to_string),
        description: optional_string(object, path, "AlarmDescription")?,
        reason: optional_string(object, path, "NewStateReason")?,
        namespace: trigger_text("Namespace"),
        metric: trigger_text("MetricName"),
        time,
        details: object.clone(),
    };
    change.into_outcome(options)
}

/// EventBridge's "CloudWatch Alarm State Change" event; other events are ignored.
fn parse_eventbridge(
    object: &Map<String, Value>,
    path: &str,
    now: DateTime<Utc>,
    options: &Options,
) -> Result<Outcome, IngestError> {
    let detail_type = required_string(object, path, "detail-type")?;
    if detail_type != ALARM_STATE_CHANGE {
        return Ok(Outcome::Ignored(format!(
            "EventBridge event {} is not a {ALARM_STATE_CHANGE}",
            quote(detail_type)
        )));
    }
    let detail_path = join(path, "detail");
    let detail = match fields::get(object, "detail") {
        Some(Value::Object(detail)) => detail,
        Some(other) => return Err(wrong_type(&detail_path, "an object", other)),
        None => return Err(fields::missing(&detail_path, "an object")),
    };
    let state_path = join(&detail_path, "state");
    let state = match fields::get(detail, "state") {
        Some(Value::Object(state)) => state,
        Some(other) => return Err(wrong_type(&state_path, "an object", other)),
        None => return Err(fields::missing(&state_path, "an object")),
    };
    let name = required_string(detail, &detail_path, "alarmName")?;
    let value = required_string(state, &state_path, "value")?;
    let time_text = optional_string(state, &state_path, "timestamp")?
        .map(|text| (text, join(&state_path, "timestamp")))
        .or(optional_string(object, path, "time")?.map(|text| (text, join(path, "time"))));
    let time = time_text
        .map(|(text, field)| {
            fields::timestamp(text, &field, TimeSyntax::Lenient, now, Duration::days(1))
        })
        .transpose()?;
    let arn = match fields::get(object, "resources") {
        Some(Value::Array(resources)) => resources
            .iter()
            .filter_map(Value::as_str)
            .find(|resource| resource.starts_with("arn:"))
            .map(str::to_string),
        _ => None,
    };
    let configuration = detail.get("configuration").and_then(Value::as_object);
    let metric = configuration
        .and_then(|configuration| configuration.get("metrics"))
        .and_then(Value::as_array)
        .and_then(|metrics| {
            metrics
                .iter()
                .find_map(|metric| metric.pointer("/metricStat/metric"))
        });
    let metric_text = |name: &str| {
        metric
            .and_then(|metric| metric.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let change = Change {
        name,
        state: value,
        state_field: join(&state_path, "value"),
        arn,
        account: optional_string(object, path, "account")?.map(str::to_string),
        region: optional_string(object, path, "region")?.map(str::to_string),
        description: configuration
            .and_then(|configuration| configuration.get("description"))
            .and_then(Value::as_str),
        reason: state.get("reason").and_then(Value::as_str),
        namespace: metric_text("namespace"),
        metric: metric_text("name"),
        time,
        details: object.clone(),
    };
    change.into_outcome(options)
}

impl Change<'_> {
    fn into_outcome(self, options: &Options) -> Result<Outcome, IngestError> {
        let (status, severity, suffix) = match self.state {
            "ALARM" => (AlertStatus::Firing, Severity::Error, ""),
            "OK" => (AlertStatus::Resolved, Severity::Error, ""),
            "INSUFFICIENT_DATA" if options.insufficient_data_fires => (
                AlertStatus::Firing,
                Severity::Warning,
                " (insufficient data)",
            ),
            "INSUFFICIENT_DATA" => {
                return Ok(Outcome::Ignored(format!(
                    "alarm {} went to INSUFFICIENT_DATA, which does not fire on this \
                     integration (insufficient_data_fires = false)",
                    quote(self.name)
                )))
            }
            other => {
                return Err(fields::unknown_value(
                    &self.state_field,
                    other,
                    "\"ALARM\", \"OK\" or \"INSUFFICIENT_DATA\"",
                ))
            }
        };
        if self.name.trim().is_empty() {
            return Err(fields::empty("AlarmName"));
        }
        let arn = self.arn.filter(|arn| arn.starts_with("arn:"));
        let dedup_key = match &arn {
            Some(arn) => arn.clone(),
            None => format!(
                "cloudwatch:{}:{}:{}",
                self.account.as_deref().unwrap_or(""),
                self.region.as_deref().unwrap_or(""),
                self.name
            ),
        };
        let dedup_key = fields::truncate(&dedup_key, 2048);

        let mut labels = BTreeMap::new();
        let mut label = |name: &str, value: Option<&str>| {
            if let Some(value) = value.filter(|value| !value.trim().is_empty()) {
                labels.insert(
                    name.to_string(),
                    fields::truncate(value, LABEL_LIMITS.value_chars),
                );
            }
        };
        label("alarm", Some(self.name));
        label("account", self.account.as_deref());
        label("region", self.region.as_deref());
        label("namespace", self.namespace.as_deref());
        label("metric", self.metric.as_deref());

        // The console page of the alarm, when its ARN says which region it lives in.
        let mut links = Vec::new();
        if let Some(region) = arn.as_deref().and_then(|arn| arn.split(':').nth(3)) {
            let valid_region = !region.is_empty()
                && region.chars().all(|character| {
                    character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
                });
            if valid_region {
                let name: String =
                    url::form_urlencoded::byte_serialize(self.name.as_bytes()).collect();
                links.push(Link {
                    href: format!(
                        "https://console.aws.amazon.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}"
                    ),
                    text: Some(String::from("CloudWatch")),
                });
            }
        }

        let mut details = self.details;
        if let Some(description) = self.description {
            details
                .entry("description")
                .or_insert_with(|| Value::String(description.to_string()));
        }
        if let Some(reason) = self.reason {
            details
                .entry("reason")
                .or_insert_with(|| Value::String(reason.to_string()));
        }

        Ok(Outcome::Alerts(vec![AlertEvent {
            fingerprint: Some(dedup_key.clone()),
            dedup_key,
            status,
            title: fields::truncate(&format!("{}{suffix}", self.name), SUMMARY_CHARS),
            severity,
            service: None,
            labels,
            links,
            details: Value::Object(details),
            source_time: self.time,
        }]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LAMBDA_SINGLE: &str =
        include_str!("../../tests/fixtures/cloudwatch/lambda-sns-single-metric.json");
    const LAMBDA_MULTIPLE: &str =
        include_str!("../../tests/fixtures/cloudwatch/lambda-sns-multiple-metrics.json");
    const EVENTBRIDGE: &str =
        include_str!("../../tests/fixtures/cloudwatch/eventbridge-single-metric.json");
    const COMPOSITE: &str =
        include_str!("../../tests/fixtures/cloudwatch/eventbridge-composite-suppressor.json");
    const CONFIGURATION_CHANGE: &str =
        include_str!("../../tests/fixtures/cloudwatch/eventbridge-configuration-change.json");
    const SIGNED_V1: &str = include_str!("../../tests/fixtures/sns/signed-alarm-v1.json");
    const SIGNED_OK: &str = include_str!("../../tests/fixtures/sns/signed-ok-v2.json");
    const NOT_AN_ALARM: &str = include_str!("../../tests/fixtures/sns/signed-not-an-alarm-v2.json");
    const CONFIRMATION: &str =
        include_str!("../../tests/fixtures/sns/signed-subscription-confirmation.json");
    const DOCS_NOTIFICATION: &str = include_str!("../../tests/fixtures/sns/docs-notification.json");

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn unverified() -> Options {
        Options {
            verify_signature: false,
            ..Options::default()
        }
    }

    /// An SNS HTTP envelope around an alarm message (AWS's published ones are Lambda events).
    fn envelope(message: &str) -> String {
        json!({
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
            "Subject": "ALARM",
            "Message": message,
            "Timestamp": "2015-06-03T17:43:27.123Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        })
        .to_string()
    }

    fn lambda_message(fixture: &str) -> String {
        let event: Value = serde_json::from_str(fixture).unwrap();
        event["Records"][0]["Sns"]["Message"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn alerts(body: &str, options: &Options) -> Vec<AlertEvent> {
        match parse_request(body.as_bytes(), now(), options)
            .unwrap()
            .outcome
        {
            Outcome::Alerts(events) => events,
            other => panic!("expected alerts, got {other:?}"),
        }
    }

    #[test]
    fn published_alarm_messages_fire() {
        for fixture in [LAMBDA_SINGLE, LAMBDA_MULTIPLE] {
            let events = alerts(&envelope(&lambda_message(fixture)), &unverified());
            assert_eq!(events.len(), 1);
            let event = &events[0];
            assert_eq!(event.status, AlertStatus::Firing);
            assert_eq!(event.title, "EXAMPLE");
            assert_eq!(
                event.dedup_key,
                "arn:aws:cloudwatch:REGION:ACCOUNT_NUMBER:alarm:EXAMPLE"
            );
            assert_eq!(event.severity, Severity::Error);
            // "+0000" offsets are read.
            assert_eq!(
                event.source_time.unwrap().to_rfc3339(),
                "2015-06-03T17:43:27.123+00:00"
            );
            assert!(event.details["reason"]
                .as_str()
                .unwrap()
                .starts_with("Threshold Crossed"));
        }
        let single = &alerts(&envelope(&lambda_message(LAMBDA_SINGLE)), &unverified())[0];
        assert_eq!(single.labels["metric"], "NetworkOut");
        assert_eq!(single.labels["namespace"], "AWS/EC2");
    }

    #[test]
    fn eventbridge_events_fire_directly_or_inside_sns() {
        let direct = alerts(EVENTBRIDGE, &Options::default());
        let event = &direct[0];
        assert_eq!(
            event.dedup_key,
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"
        );
        assert_eq!(event.title, "ServerCpuTooHigh");
        assert_eq!(event.labels["metric"], "CPUUtilization");
        assert_eq!(
            event.links[0].href,
            "https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh"
        );
        assert_eq!(
            event.source_time.unwrap().to_rfc3339(),
            "2019-10-02T17:04:40.989+00:00"
        );
        let wrapped = alerts(&envelope(EVENTBRIDGE), &unverified());
        assert_eq!(wrapped[0].dedup_key, event.dedup_key);
        let composite = alerts(COMPOSITE, &Options::default());
        assert_eq!(composite[0].title, "ServiceAggregatedAlarm");
        let ignored = parse_request(CONFIGURATION_CHANGE.as_bytes(), now(), &Options::default())
            .unwrap()
            .outcome;
        assert!(
            matches!(ignored, Outcome::Ignored(ref why) if why.contains("Configuration Change"))
        );
    }

    #[test]
    fn states_resolve_or_are_ignored_or_refused() {
        let message = lambda_message(LAMBDA_SINGLE);
        let ok = message.replace("\"NewStateValue\": \"ALARM\"", "\"NewStateValue\": \"OK\"");
        assert_eq!(
            alerts(&envelope(&ok), &unverified())[0].status,
            AlertStatus::Resolved
        );

        let insufficient = message.replace(
            "\"NewStateValue\": \"ALARM\"",
            "\"NewStateValue\": \"INSUFFICIENT_DATA\"",
        );
        let outcome = parse_request(envelope(&insufficient).as_bytes(), now(), &unverified())
            .unwrap()
            .outcome;
        assert!(matches!(outcome, Outcome::Ignored(_)));
        let fires = Options {
            insufficient_data_fires: true,
            ..unverified()
        };
        let event = &alerts(&envelope(&insufficient), &fires)[0];
        assert_eq!(
            (event.status, event.severity),
            (AlertStatus::Firing, Severity::Warning)
        );
        assert_eq!(event.title, "EXAMPLE (insufficient data)");

        let unknown = message.replace(
            "\"NewStateValue\": \"ALARM\"",
            "\"NewStateValue\": \"ALERT\"",
        );
        let error = parse_request(envelope(&unknown).as_bytes(), now(), &unverified()).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("unknown_value", Some("Message.NewStateValue"))
        );
        let mut event: Value = serde_json::from_str(EVENTBRIDGE).unwrap();
        event["detail"]["state"]["value"] = json!("BROKEN");
        let error = parse_request(event.to_string().as_bytes(), now(), &unverified()).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("detail.state.value"));
    }

    #[test]
    fn other_notifications_are_ignored_and_confirmations_need_an_allowed_topic() {
        for body in [NOT_AN_ALARM, DOCS_NOTIFICATION] {
            let request = parse_request(body.as_bytes(), now(), &Options::default()).unwrap();
            assert!(request.envelope.is_some());
            assert!(matches!(request.outcome, Outcome::Ignored(_)));
        }
        let error = parse_request(CONFIRMATION.as_bytes(), now(), &Options::default()).unwrap_err();
        assert_eq!((error.status, error.code), (403, "topic_not_allowed"));
        let allowed = Options {
            allowed_topics: vec![String::from(
                "arn:aws:sns:us-east-1:123456789012:klaxon-alarms",
            )],
            ..Options::default()
        };
        let request = parse_request(CONFIRMATION.as_bytes(), now(), &allowed).unwrap();
        assert!(matches!(
            request.outcome,
            Outcome::ConfirmSubscription(ref url) if url.host_str() == Some("sns.us-east-1.amazonaws.com")
        ));
        // With a list, other topics' notifications are refused too.
        let error = parse_request(DOCS_NOTIFICATION.as_bytes(), now(), &allowed).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("TopicArn"));
        // A SubscribeURL off AWS is never visited.
        let mut hostile: Value = serde_json::from_str(CONFIRMATION).unwrap();
        hostile["SubscribeURL"] =
            json!("https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription");
        let error = parse_request(hostile.to_string().as_bytes(), now(), &allowed).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("untrusted_url", Some("SubscribeURL"))
        );
    }

    #[test]
    fn signed_messages_need_the_http_path_unless_verification_is_off() {
        let error = parse_unverified(SIGNED_V1.as_bytes(), now(), &Options::default()).unwrap_err();
        assert_eq!(error.code, "signature_required");
        assert_eq!(
            parse_unverified(SIGNED_V1.as_bytes(), now(), &unverified())
                .unwrap()
                .events
                .len(),
            1
        );
        assert_eq!(
            parse_unverified(SIGNED_OK.as_bytes(), now(), &unverified())
                .unwrap()
                .events[0]
                .status,
            AlertStatus::Resolved
        );
        // A bare alarm (raw message delivery) carries no signature.
        let bare = lambda_message(LAMBDA_SINGLE);
        let error = parse_request(bare.as_bytes(), now(), &Options::default()).unwrap_err();
        assert_eq!(error.code, "unsigned_message");
        assert_eq!(
            parse_unverified(bare.as_bytes(), now(), &unverified())
                .unwrap()
                .events
                .len(),
            1
        );
        let error = parse_request(br#"{"hello": 1}"#, now(), &unverified()).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("Type"));
    }
}
