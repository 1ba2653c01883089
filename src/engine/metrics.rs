//! The engine's and API's Prometheus metrics, in one registry rendered by `GET /metrics`.

use crate::domain::Severity;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IngestLabels {
    pub integration: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SeverityLabels {
    pub severity: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    pub channel: String,
    pub outcome: String,
}

/// The escalation auditor's findings at its last run: what would otherwise fail silently.
#[derive(Clone, Debug, Default)]
pub struct AuditGauges {
    /// Open, triggered, unsilenced incidents with a policy but no pending step: a bug,
    /// repaired by the auditor (the step is made due at once).
    pub missing: Gauge,
    /// Pending steps more than five seconds past due: the timers are not firing.
    pub overdue: Gauge,
    /// Open, triggered, unsilenced incidents that no escalation policy covers.
    pub unrouted: Gauge,
    /// Open, triggered incidents whose policy has paged every level and repeat.
    pub exhausted: Gauge,
    pub runs: Counter,
    pub last_run: Gauge,
}

pub struct Metrics {
    registry: Registry,
    pub notifications: Family<NotificationLabels, Counter>,
    pub outbox_pending: Gauge,
    pub escalations: Counter,
    pub audit: AuditGauges,
    pub ingest_requests: Family<IngestLabels, Counter>,
    pub ingest_seconds: Histogram,
    pub open_incidents: Family<SeverityLabels, Gauge>,
    pub store_flush_seconds: Histogram,
    pub commit_batch_size: Histogram,
    pub stream_clients: Gauge,
    pub stream_lagged: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("klaxon");
        let ingest_requests = Family::<IngestLabels, Counter>::default();
        registry.register(
            "ingest_requests",
            "Ingest requests by integration and outcome (accepted, replayed, rejected, throttled, unavailable)",
            ingest_requests.clone(),
        );
        // From 100 µs to about 1.6 s: a flushed ingest on a fast disk sits near the bottom.
        let ingest_seconds = Histogram::new([
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
        ]);
        registry.register(
            "ingest_seconds",
            "Time from a request's arrival to its durable acceptance",
            ingest_seconds.clone(),
        );
        let open_incidents = Family::<SeverityLabels, Gauge>::default();
        registry.register(
            "open_incidents",
            "Incidents triggered or acknowledged, by severity",
            open_incidents.clone(),
        );
        for severity in Severity::ALL {
            open_incidents
                .get_or_create(&SeverityLabels {
                    severity: severity.as_str().to_string(),
                })
                .set(0);
        }
        let store_flush_seconds = Histogram::new([
            0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5,
        ]);
        registry.register(
            "store_flush_seconds",
            "Time to write and fsync one group commit",
            store_flush_seconds.clone(),
        );
        let commit_batch_size =
            Histogram::new([1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0]);
        registry.register(
            "commit_batch_commands",
            "Commands applied per group commit",
            commit_batch_size.clone(),
        );
        let stream_clients = Gauge::default();
        registry.register(
            "stream_clients",
            "Connected /v1/stream clients",
            stream_clients.clone(),
        );
        let stream_lagged = Counter::default();
        registry.register(
            "stream_lagged",
            "Times a stream client fell behind and was resynced",
            stream_lagged.clone(),
        );
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Notification attempts by channel and outcome (delivered, failed, gave_up)",
            notifications.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_pending",
            "Notifications recorded and not yet delivered or given up",
            outbox_pending.clone(),
        );
        let escalations = Counter::default();
        registry.register(
            "escalations",
            "Escalation levels paged (by their timer or by hand)",
            escalations.clone(),
        );
        let audit = AuditGauges::default();
        registry.register(
            "escalation_audit_missing",
            "Open unacknowledged unsilenced incidents with a policy but no pending step (repaired)",
            audit.missing.clone(),
        );
        registry.register(
            "escalation_audit_overdue",
            "Escalation steps more than 5 s past due at the last audit",
            audit.overdue.clone(),
        );
        registry.register(
            "escalation_audit_unrouted",
            "Open unacknowledged unsilenced incidents that no escalation policy covers",
            audit.unrouted.clone(),
        );
        registry.register(
            "escalation_audit_exhausted",
            "Open unacknowledged incidents whose policy has paged every level and repeat",
            audit.exhausted.clone(),
        );
        registry.register(
            "escalation_audit_runs",
            "Runs of the escalation auditor",
            audit.runs.clone(),
        );
        registry.register(
            "escalation_audit_last_run_timestamp_seconds",
            "Unix time of the auditor's last run: if it stops moving, the engine is stuck",
            audit.last_run.clone(),
        );
        Metrics {
            registry,
            notifications,
            outbox_pending,
            escalations,
            audit,
            ingest_requests,
            ingest_seconds,
            open_incidents,
            store_flush_seconds,
            commit_batch_size,
            stream_clients,
            stream_lagged,
        }
    }

    pub fn count_ingest(&self, integration: &str, outcome: &str) {
        self.ingest_requests
            .get_or_create(&IngestLabels {
                integration: integration.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn open_gauge(&self, severity: Severity) -> Gauge {
        self.open_incidents
            .get_or_create(&SeverityLabels {
                severity: severity.as_str().to_string(),
            })
            .clone()
    }

    pub fn count_notification(&self, channel: &str, outcome: &str) {
        self.notifications
            .get_or_create(&NotificationLabels {
                channel: channel.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
