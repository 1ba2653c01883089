//! Fuzz-style tests for every ingest parser: every prefix of valid payloads and thousands of
//! deterministic random mutations must give `Ok` or a 4xx refusal, never a panic. Test-only.

use super::{
    alertmanager, azure, cloudwatch, datadog, dynatrace, generic, grafana, json, pagerduty,
    IngestError, Options,
};
use chrono::{DateTime, Utc};
use std::panic::{catch_unwind, AssertUnwindSafe};

const GENERIC: &str = r#"{"summary": "checkout latency high", "severity": "warning", "status": "firing",
 "dedup_key": "checkout-latency", "service": "payments", "labels": {"region": "eu-west-1", "team": "payments"},
 "links": ["https://grafana.example/d/1", {"href": "https://runbooks.example/latency", "text": "Runbook"}],
 "details": {"p99_ms": 2300, "ratio": -1.5e-3, "hosts": ["a", "b"], "ok": false, "none": null, "text": "é\u00e9\ud83d\ude00"},
 "timestamp": "2024-05-01T11:58:00.5Z"}"#;

const ALERTMANAGER: &str = r#"{"version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0,
 "status": "resolved", "receiver": "klaxon", "groupLabels": {"alertname": "DiskFull"},
 "commonLabels": {"alertname": "DiskFull", "severity": "warning"}, "commonAnnotations": {"summary": "disks full"},
 "externalURL": "http://alertmanager:9093", "alerts": [
  {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db-0", "severity": "page", "service": "storage"},
   "annotations": {"runbook_url": "https://runbooks.example/disk"}, "startsAt": "2024-05-01T11:00:00.123456789Z",
   "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus:9090/graph?g0.expr=x", "fingerprint": "f0"},
  {"status": "resolved", "labels": {"alertname": "DiskFull", "instance": "db-1"}, "annotations": {},
   "startsAt": "2024-05-01T11:00:00Z", "endsAt": "2024-05-01T11:30:00+02:00", "generatorURL": "", "fingerprint": ""}]}"#;

const PAGERDUTY_TRIGGER: &str = r#"{"payload": {"summary": "DISK at 99%", "timestamp": "2024-05-01T08:42:58.315+0000",
 "severity": "critical", "source": "db-3", "component": "mysql", "group": "prod", "class": "disk",
 "custom_details": {"free space": "1%", "load avg": 0.75}}, "routing_key": "e93facc04764012d7bfb002500d5d1a6",
 "event_action": "trigger", "client": "Monitor", "client_url": "https://monitoring.example",
 "links": [{"href": "http://pagerduty.example.com", "text": "A link"}], "images": [{"src": "https://x/y.png"}]}"#;

const PAGERDUTY_RESOLVE: &str =
    r#"{"routing_key": "k", "event_action": "resolve", "dedup_key": "srv01/mysql"}"#;

const GRAFANA: &str = include_str!("../../tests/fixtures/grafana/docs-example.json");
const AZURE: &str = include_str!("../../tests/fixtures/azure/sample-alert-payload.json");
const DYNATRACE: &str = include_str!("../../tests/fixtures/dynatrace/docs-example.json");
const DATADOG: &str = include_str!("../../tests/fixtures/datadog/custom-payload.json");
const SNS_ALARM: &str = include_str!("../../tests/fixtures/sns/signed-alarm-v1.json");
const SNS_CONFIRMATION: &str =
    include_str!("../../tests/fixtures/sns/signed-subscription-confirmation.json");
const EVENTBRIDGE: &str =
    include_str!("../../tests/fixtures/cloudwatch/eventbridge-single-metric.json");

const SEEDS: [&str; 11] = [
    GENERIC,
    ALERTMANAGER,
    PAGERDUTY_TRIGGER,
    PAGERDUTY_RESOLVE,
    GRAFANA,
    AZURE,
    DYNATRACE,
    DATADOG,
    SNS_ALARM,
    SNS_CONFIRMATION,
    EVENTBRIDGE,
];

/// Bytes that matter to JSON and UTF-8, so mutations hit interesting paths often.
const INTERESTING: &[u8] = b"\"{}[],:\\0123456789-+.eEnultrfa \t\n\xff\xc3\xa9\xed\xa0\x80u";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A tiny deterministic xorshift generator: no crate, same inputs on every run.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        let mut state = self.0;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        self.0 = state;
        state
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn mutate(seed: &[u8], random: &mut Xorshift) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=random.below(4) {
        let position = random.below(bytes.len() + 1);
        let interesting = INTERESTING[random.below(INTERESTING.len())];
        match random.below(7) {
            0 if position < bytes.len() => bytes[position] ^= 1 << random.below(8),
            1 if position < bytes.len() => bytes[position] = interesting,
            2 => bytes.insert(position, interesting),
            3 if position < bytes.len() => {
                bytes.remove(position);
            }
            4 => {
                // Repeats a slice: makes duplicate keys, deeper nesting and trailing data.
                let end = (position + 1 + random.below(40)).min(bytes.len());
                let slice = bytes[position.min(end)..end].to_vec();
                let at = random.below(bytes.len() + 1);
                bytes.splice(at..at, slice);
            }
            5 => bytes.truncate(position),
            _ => {
                let value = random.next().to_le_bytes();
                bytes.splice(position..position, value);
            }
        }
    }
    bytes
}

fn check_refusal(error: &IngestError, parser: &str, input: &[u8]) {
    assert!(
        (400..500).contains(&error.status),
        "{parser} answered {} for {:?}",
        error.status,
        String::from_utf8_lossy(input)
    );
    assert!(!error.code.is_empty() && !error.message.is_empty());
    assert!(
        error.message.len() < 10_000,
        "{parser}: oversized message for {:?}",
        String::from_utf8_lossy(input)
    );
}

/// Runs every parser on `input`: a panic or a non-4xx refusal fails, naming the input.
/// Returns whether the input was valid JSON (so the semantic layers were exercised).
fn run_all(input: &[u8]) -> bool {
    let now = now();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let valid = json::parse_strict(input)
            .map_err(|error| check_refusal(&error, "json", input))
            .is_ok();
        if let Err(error) = generic::parse(input, now) {
            check_refusal(&error, "generic", input);
        }
        if let Err(error) = alertmanager::parse(input, now) {
            check_refusal(&error, "alertmanager", input);
        }
        if let Err(error) = pagerduty::parse_enqueue(input, now) {
            assert_eq!(error.status, 400);
            assert!(!error.errors.is_empty() && !error.code.is_empty());
        }
        let headers = http::HeaderMap::new();
        if let Err(error) = grafana::parse(input, &headers, now, None) {
            check_refusal(&error, "grafana", input);
        }
        if let Err(error) = azure::parse(input, now) {
            check_refusal(&error, "azure", input);
        }
        if let Err(error) = dynatrace::parse(input, now) {
            check_refusal(&error, "dynatrace", input);
        }
        if let Err(error) = datadog::parse(input, now) {
            check_refusal(&error, "datadog", input);
        }
        let lenient = Options {
            verify_signature: false,
            insufficient_data_fires: true,
            allowed_topics: vec![String::from("arn:aws:sns:*:123456789012:*")],
            ..Options::default()
        };
        for options in [Options::default(), lenient] {
            if let Err(error) = cloudwatch::parse_request(input, now, &options) {
                check_refusal(&error, "cloudwatch", input);
            }
        }
        valid
    }));
    match outcome {
        Ok(valid) => valid,
        Err(_) => panic!("a parser panicked on {:?}", String::from_utf8_lossy(input)),
    }
}

#[test]
fn seeds_are_valid_for_their_own_parser() {
    let now = now();
    assert_eq!(
        generic::parse(GENERIC.as_bytes(), now)
            .unwrap()
            .events
            .len(),
        1
    );
    assert_eq!(
        alertmanager::parse(ALERTMANAGER.as_bytes(), now)
            .unwrap()
            .events
            .len(),
        2
    );
    assert!(pagerduty::parse_enqueue(PAGERDUTY_TRIGGER.as_bytes(), now).is_ok());
    assert!(pagerduty::parse_enqueue(PAGERDUTY_RESOLVE.as_bytes(), now).is_ok());
    let headers = http::HeaderMap::new();
    assert_eq!(
        grafana::parse(GRAFANA.as_bytes(), &headers, now, None)
            .unwrap()
            .events
            .len(),
        2
    );
    assert!(azure::parse(AZURE.as_bytes(), now).is_ok());
    assert!(dynatrace::parse(DYNATRACE.as_bytes(), now).is_ok());
    assert!(datadog::parse(DATADOG.as_bytes(), now).is_ok());
    for seed in [SNS_ALARM, SNS_CONFIRMATION, EVENTBRIDGE] {
        let options = Options {
            allowed_topics: vec![String::from("*")],
            ..Options::default()
        };
        assert!(cloudwatch::parse_request(seed.as_bytes(), now, &options).is_ok());
    }
}

#[test]
fn every_prefix_is_refused_cleanly() {
    for seed in SEEDS {
        let bytes = seed.trim_end().as_bytes();
        for end in 0..bytes.len() {
            assert!(!run_all(&bytes[..end]), "a strict prefix parsed as JSON");
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
    for seed in SEEDS {
        let valid = (0..3000)
            .filter(|_| run_all(&mutate(seed.as_bytes(), &mut random)))
            .count();
        // Enough mutants survive the JSON layer for the field checks to be exercised too.
        assert!(valid > 150, "only {valid} of 3000 mutants were valid JSON");
    }
}

#[test]
fn hostile_shapes_are_refused_cleanly() {
    let deep = format!("{{\"summary\": {}1{}}}", "[".repeat(5000), "]".repeat(5000));
    let wide_labels = format!(
        "{{\"summary\": \"x\", \"labels\": {{{}}}}}",
        (0..5000)
            .map(|n| format!("\"l{n}\": \"v\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let huge_key = format!("{{\"{}\": 1}}", "k".repeat(1_000_000));
    let huge_value = format!(
        "{{\"summary\": \"x\", \"sevrity\": \"{}\"}}",
        "v".repeat(1_000_000)
    );
    for input in [deep, wide_labels, huge_key, huge_value] {
        run_all(input.as_bytes());
    }
    for input in [
        &b"\0"[..],
        b"\xEF\xBB\xBF",
        b"{\"a\":\"\\u0000\"}",
        b"null",
        b"\"\\uDFFF\"",
    ] {
        run_all(input);
    }
}
