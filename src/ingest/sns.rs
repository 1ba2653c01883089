//! Amazon SNS HTTP(S) deliveries: the JSON envelope (`Type` Notification,
//! SubscriptionConfirmation or UnsubscribeConfirmation), the string SNS signs, signature
//! verification (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA) against a certificate the
//! caller supplies, and the checks on the URLs SNS asks us to fetch (`SigningCertURL`,
//! `SubscribeURL`): https, on an `sns.<region>.amazonaws.com` host, after URL parsing. Pure:
//! fetching the certificate and visiting the SubscribeURL are the API's business.

use super::fields::{self, join, quote, refuse, required_string, BAD_REQUEST};
use super::IngestError;
use aws_lc_rs::signature;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// An SNS message as delivered to an HTTP(S) endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub message_type: MessageType,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: String,
    pub signature: String,
    pub signing_cert_url: String,
    pub subscribe_url: Option<String>,
    pub token: Option<String>,
}

/// Reads the envelope from a parsed body (whose `Type` says it is one).
pub fn parse_envelope(object: &Map<String, Value>) -> Result<Envelope, IngestError> {
    let message_type = match required_string(object, "", "Type")? {
        "Notification" => MessageType::Notification,
        "SubscriptionConfirmation" => MessageType::SubscriptionConfirmation,
        "UnsubscribeConfirmation" => MessageType::UnsubscribeConfirmation,
        other => {
            return Err(fields::unknown_value(
                "Type",
                other,
                "\"Notification\", \"SubscriptionConfirmation\" or \"UnsubscribeConfirmation\"",
            ))
        }
    };
    let string = |name: &str| required_string(object, "", name).map(str::to_string);
    // The message may legitimately be empty text; it must still be there.
    let message = match fields::get(object, "Message") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => return Err(fields::wrong_type("Message", "a string", other)),
        None => return Err(fields::missing("Message", "a string")),
    };
    let confirmation = message_type != MessageType::Notification;
    let envelope = Envelope {
        message_type,
        message_id: string("MessageId")?,
        topic_arn: string("TopicArn")?,
        subject: fields::optional_string(object, "", "Subject")?.map(str::to_string),
        message,
        timestamp: string("Timestamp")?,
        signature_version: string("SignatureVersion")?,
        signature: string("Signature")?,
        signing_cert_url: string("SigningCertURL")?,
        subscribe_url: if confirmation {
            Some(string("SubscribeURL")?)
        } else {
            None
        },
        token: if confirmation {
            Some(string("Token")?)
        } else {
            None
        },
    };
    if !matches!(envelope.signature_version.as_str(), "1" | "2") {
        return Err(fields::unknown_value(
            "SignatureVersion",
            &envelope.signature_version,
            "\"1\" (SHA1withRSA) or \"2\" (SHA256withRSA)",
        ));
    }
    Ok(envelope)
}

/// The bytes SNS signs: name and value lines, in byte order of the names, for the fields of
/// the message's type (Subject only when present).
pub fn string_to_sign(envelope: &Envelope) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![
        ("Message", &envelope.message),
        ("MessageId", &envelope.message_id),
        ("Timestamp", &envelope.timestamp),
        ("TopicArn", &envelope.topic_arn),
        ("Type", envelope.message_type.as_str()),
    ];
    match envelope.message_type {
        MessageType::Notification => {
            if let Some(subject) = &envelope.subject {
                pairs.push(("Subject", subject));
            }
        }
        _ => {
            if let Some(url) = &envelope.subscribe_url {
                pairs.push(("SubscribeURL", url));
            }
            if let Some(token) = &envelope.token {
                pairs.push(("Token", token));
            }
        }
    }
    pairs.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let mut text = String::new();
    for (name, value) in pairs {
        text.push_str(name);
        text.push('\n');
        text.push_str(value);
        text.push('\n');
    }
    text
}

fn unauthorized(field: &str, problem: String) -> IngestError {
    refuse(401, "bad_signature", field, problem)
}

/// Checks a URL SNS wants us to fetch: https, no credentials or odd port, on
/// `sns.<region>.amazonaws.com` (or `.amazonaws.com.cn`). Checked on the parsed URL, so
/// `https://sns.us-east-1.amazonaws.com.evil.example/` or `https://x@evil/…` cannot pass.
pub fn check_aws_url(text: &str, field: &str) -> Result<url::Url, IngestError> {
    let refuse_url = |problem: &str| {
        refuse(
            BAD_REQUEST,
            "untrusted_url",
            field,
            format!("{} {problem}", quote(text)),
        )
    };
    let url = url::Url::parse(text).map_err(|_| refuse_url("is not a URL"))?;
    if url.scheme() != "https" {
        return Err(refuse_url("is not https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(refuse_url("carries credentials"));
    }
    if url.port().is_some_and(|port| port != 443) {
        return Err(refuse_url("names a port other than 443"));
    }
    let host = match url.host() {
        Some(url::Host::Domain(host)) => host.to_ascii_lowercase(),
        _ => return Err(refuse_url("has no DNS host")),
    };
    let region = host
        .strip_prefix("sns.")
        .and_then(|rest| {
            rest.strip_suffix(".amazonaws.com")
                .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
        })
        .filter(|region| {
            region.len() >= 3
                && !region.starts_with('-')
                && region.chars().all(|character| {
                    character.is_ascii_lowercase() || character.is_ascii_digit() || character == '-'
                })
        });
    if region.is_none() {
        return Err(refuse_url(
            "is not on an Amazon SNS host (sns.<region>.amazonaws.com)",
        ));
    }
    Ok(url)
}

/// The signing certificate's URL, checked; it must also name a `.pem` file.
pub fn certificate_url(envelope: &Envelope) -> Result<url::Url, IngestError> {
    let url = check_aws_url(&envelope.signing_cert_url, "SigningCertURL")?;
    if !url.path().ends_with(".pem") {
        return Err(refuse(
            BAD_REQUEST,
            "untrusted_url",
            "SigningCertURL",
            format!(
                "{} is not a .pem certificate",
                quote(&envelope.signing_cert_url)
            ),
        ));
    }
    Ok(url)
}

/// Verifies the envelope's signature with the certificate (PEM, as SNS serves it, or DER),
/// which must be valid at `now` and hold an RSA key.
pub fn verify(
    envelope: &Envelope,
    certificate: &[u8],
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    let signature_bytes = base64::engine::general_purpose::STANDARD
        .decode(envelope.signature.trim())
        .map_err(|_| unauthorized("Signature", String::from("is not valid base64")))?;

    let der = if certificate.starts_with(b"-----") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(certificate).map_err(|_| {
            unauthorized(
                "SigningCertURL",
                String::from("the signing certificate is not a PEM certificate"),
            )
        })?;
        pem.contents
    } else {
        certificate.to_vec()
    };
    let (_, parsed) = x509_parser::parse_x509_certificate(&der).map_err(|_| {
        unauthorized(
            "SigningCertURL",
            String::from("the signing certificate cannot be read"),
        )
    })?;
    let validity = parsed.validity();
    let at = now.timestamp();
    if at < validity.not_before.timestamp() || at > validity.not_after.timestamp() {
        return Err(unauthorized(
            "SigningCertURL",
            String::from("the signing certificate is not valid now (expired or not yet valid)"),
        ));
    }
    let key = parsed.public_key();
    if key.algorithm.algorithm != x509_parser::oid_registry::OID_PKCS1_RSAENCRYPTION {
        return Err(unauthorized(
            "SigningCertURL",
            String::from("the signing certificate does not hold an RSA key"),
        ));
    }
    let algorithm: &dyn signature::VerificationAlgorithm = match envelope.signature_version.as_str()
    {
        "1" => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    };
    let public_key =
        signature::UnparsedPublicKey::new(algorithm, key.subject_public_key.data.as_ref());
    public_key
        .verify(string_to_sign(envelope).as_bytes(), &signature_bytes)
        .map_err(|_| {
            unauthorized(
                "Signature",
                String::from("the SNS signature does not match the message"),
            )
        })
}

/// Whether `topic` matches one of `patterns`: ARNs compared segment by segment (split on
/// `:`), where a `*` segment matches any one segment, and a last segment `*` matches the rest.
pub fn topic_allowed(topic: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|pattern| {
        let wanted: Vec<&str> = pattern.split(':').collect();
        let given: Vec<&str> = topic.split(':').collect();
        if wanted.len() > given.len() {
            return false;
        }
        for (position, segment) in wanted.iter().enumerate() {
            let last = position + 1 == wanted.len();
            if *segment == "*" {
                if last {
                    return true;
                }
                continue;
            }
            if *segment != given[position] {
                return false;
            }
        }
        wanted.len() == given.len()
    })
}

/// Names a field of the SNS envelope for messages (`Message.NewStateValue`).
pub fn message_path(inner: &str) -> String {
    join("Message", inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented Notification example (sns-message-and-json-formats), unedited.
    const DOCS_NOTIFICATION: &str = include_str!("../../tests/fixtures/sns/docs-notification.json");
    const DOCS_CONFIRMATION: &str =
        include_str!("../../tests/fixtures/sns/docs-subscription-confirmation.json");
    /// Signed with the test key in tests/fixtures/sns (see its README).
    const SIGNED_V1: &str = include_str!("../../tests/fixtures/sns/signed-alarm-v1.json");
    const SIGNED_V2: &str = include_str!("../../tests/fixtures/sns/signed-alarm-v2.json");
    const SIGNED_CONFIRMATION: &str =
        include_str!("../../tests/fixtures/sns/signed-subscription-confirmation.json");
    const CERTIFICATE: &[u8] = include_bytes!("../../tests/fixtures/sns/test-certificate.pem");

    fn envelope(text: &str) -> Envelope {
        let object = crate::ingest::json::parse_object(text.as_bytes()).unwrap();
        parse_envelope(&object).unwrap()
    }

    #[test]
    fn documented_examples_parse_and_give_the_documented_string_to_sign() {
        let notification = envelope(DOCS_NOTIFICATION);
        assert_eq!(notification.message_type, MessageType::Notification);
        assert_eq!(
            string_to_sign(&notification),
            "Message\nHello world!\nMessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n\
             Subject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\n\
             TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\nType\nNotification\n"
        );
        assert!(certificate_url(&notification).is_ok());
        let confirmation = envelope(DOCS_CONFIRMATION);
        assert_eq!(
            confirmation.message_type,
            MessageType::SubscriptionConfirmation
        );
        let text = string_to_sign(&confirmation);
        let expected = format!(
            "Message\n{}\nMessageId\n{}\nSubscribeURL\n{}\nTimestamp\n{}\nToken\n{}\nTopicArn\n{}\nType\nSubscriptionConfirmation\n",
            confirmation.message,
            confirmation.message_id,
            confirmation.subscribe_url.as_deref().unwrap(),
            confirmation.timestamp,
            confirmation.token.as_deref().unwrap(),
            confirmation.topic_arn
        );
        assert_eq!(text, expected);
        assert!(check_aws_url(
            confirmation.subscribe_url.as_deref().unwrap(),
            "SubscribeURL"
        )
        .is_ok());
    }

    #[test]
    fn signatures_of_both_versions_verify_and_tampering_fails() {
        for signed in [SIGNED_V1, SIGNED_V2, SIGNED_CONFIRMATION] {
            let envelope = envelope(signed);
            verify(&envelope, CERTIFICATE, Utc::now()).unwrap();
            let mut tampered = envelope.clone();
            tampered.message.push(' ');
            let error = verify(&tampered, CERTIFICATE, Utc::now()).unwrap_err();
            assert_eq!((error.status, error.code), (401, "bad_signature"));
            assert_eq!(error.field.as_deref(), Some("Signature"));
            let mut retopic = envelope.clone();
            retopic.topic_arn.push('x');
            assert!(verify(&retopic, CERTIFICATE, Utc::now()).is_err());
        }
        // A version-1 signature presented as version 2 does not verify.
        let mut relabelled = envelope(SIGNED_V1);
        relabelled.signature_version = String::from("2");
        assert!(verify(&relabelled, CERTIFICATE, Utc::now()).is_err());
        let mut garbage = envelope(SIGNED_V1);
        garbage.signature = String::from("!!!");
        assert!(verify(&garbage, CERTIFICATE, Utc::now())
            .unwrap_err()
            .message
            .contains("base64"));
        assert!(verify(&envelope(SIGNED_V1), b"not a certificate", Utc::now()).is_err());
        let long_ago = DateTime::parse_from_rfc3339("1999-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let error = verify(&envelope(SIGNED_V1), CERTIFICATE, long_ago).unwrap_err();
        assert!(error.message.contains("not valid now"), "{}", error.message);
    }

    #[test]
    fn only_https_sns_hosts_pass_after_parsing() {
        for good in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
            "https://SNS.eu-west-3.amazonaws.com/x.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            "https://sns.us-gov-west-1.amazonaws.com:443/x.pem",
        ] {
            assert!(check_aws_url(good, "SigningCertURL").is_ok(), "{good}");
        }
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com@evil.example/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://s3.us-east-1.amazonaws.com/x.pem",
            "https://sns.amazonaws.com/x.pem",
            "https://sns..amazonaws.com/x.pem",
            "https://sns.us_east.amazonaws.com/x.pem",
            "https://127.0.0.1/x.pem",
            "file:///etc/passwd",
            "not a url",
        ] {
            let error = check_aws_url(bad, "SigningCertURL").unwrap_err();
            assert_eq!(error.code, "untrusted_url", "{bad}");
            assert_eq!(error.field.as_deref(), Some("SigningCertURL"));
        }
        let mut not_pem = envelope(DOCS_NOTIFICATION);
        not_pem.signing_cert_url =
            String::from("https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe");
        assert!(certificate_url(&not_pem).is_err());
    }

    #[test]
    fn envelopes_name_their_problems() {
        let mut object = crate::ingest::json::parse_object(DOCS_NOTIFICATION.as_bytes()).unwrap();
        object.insert(String::from("Type"), Value::String(String::from("Notice")));
        let error = parse_envelope(&object).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_deref()),
            ("unknown_value", Some("Type"))
        );
        object.insert(
            String::from("Type"),
            Value::String(String::from("Notification")),
        );
        object.insert(
            String::from("SignatureVersion"),
            Value::String(String::from("3")),
        );
        assert_eq!(
            parse_envelope(&object).unwrap_err().field.as_deref(),
            Some("SignatureVersion")
        );
        object.remove("SignatureVersion");
        assert_eq!(
            parse_envelope(&object).unwrap_err().field.as_deref(),
            Some("SignatureVersion")
        );
        let confirmation = crate::ingest::json::parse_object(DOCS_CONFIRMATION.as_bytes()).unwrap();
        let mut without_url = confirmation.clone();
        without_url.remove("SubscribeURL");
        assert_eq!(
            parse_envelope(&without_url).unwrap_err().field.as_deref(),
            Some("SubscribeURL")
        );
    }

    #[test]
    fn topics_match_by_segment() {
        let patterns = vec![
            String::from("arn:aws:sns:us-east-1:123456789012:alarms"),
            String::from("arn:aws:sns:*:210987654321:*"),
        ];
        assert!(topic_allowed(
            "arn:aws:sns:us-east-1:123456789012:alarms",
            &patterns
        ));
        assert!(!topic_allowed(
            "arn:aws:sns:us-east-1:123456789012:alarms2",
            &patterns
        ));
        assert!(!topic_allowed(
            "arn:aws:sns:us-east-1:123456789012",
            &patterns
        ));
        assert!(topic_allowed(
            "arn:aws:sns:eu-west-1:210987654321:anything",
            &patterns
        ));
        assert!(!topic_allowed(
            "arn:aws:sns:eu-west-1:999999999999:anything",
            &patterns
        ));
        assert!(!topic_allowed("anything", &[]));
        assert!(topic_allowed("arn:aws:sns:x:y:z", &[String::from("*")]));
    }
}
