//! Search benchmark (issue 6): an on-disk index of 100,000 incidents and 1,000,000 messages
//! (notes), fed change by change as the engine feeds it; then 1,000 mixed queries and
//! `similar()` for 1,000 new incidents. A plain `--release` binary, no harness:
//!
//! ```sh
//! cargo bench --bench search                                    # the full size
//! KLAXON_SEARCH_BENCH_INCIDENTS=10000 cargo bench --bench search  # a quick run
//! ```
//!
//! On the shared 2-core development machine (2026-11-25, load average about 4 from other
//! builds), over three full runs: built in 27–45 s, 168–188 MiB on disk; search p50 1.7–2.5 ms,
//! p99 8–23 ms; similar p50 5–7 ms, p99 13–35 ms; resident memory after the queries about
//! 200 MiB, of which 56–77 MiB anonymous and the rest the index's mapped files.
//!
//! Targets: a search p99 at most 50 ms; similar incidents p99 at most 50 ms. Also reported:
//! the index's build time, size on disk and the process's resident memory; and the engine's
//! start-up catch-up from a sled store of a tenth of that history, into an empty index and
//! into an up-to-date one (a tenth: sled takes gigabytes for the whole; set the count with
//! `KLAXON_SEARCH_BENCH_CATCH_UP=N`, 0 skips it).

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use klaxon::domain::{Action, AlertEvent, Incident, IncidentId, Severity, TimelineEntry};
use klaxon::search::{SearchIndex, SearchQuery};
use klaxon::store::{AlertRecord, CommitBatch, SledStore, Store, StoredChange};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Notes per incident on average (5 to 15).
const NOTES_PER_INCIDENT: u64 = 10;
/// The index commits after this many changes, as a busy engine would about every few seconds.
const COMMIT_EVERY: usize = 50_000;
const QUERIES: usize = 1_000;
const NEW_INCIDENTS: usize = 1_000;
const LIMIT: Duration = Duration::from_millis(50);

const SERVICES: &[&str] = &[
    "payments",
    "checkout",
    "auth",
    "search",
    "catalog",
    "orders",
    "billing",
    "inventory",
    "shipping",
    "notifications",
    "gateway",
    "web",
    "api",
    "db",
    "cache",
    "queue",
    "kafka",
    "storage",
    "cdn",
    "dns",
    "ledger",
    "fraud",
    "reporting",
    "etl",
    "ml-scoring",
    "identity",
    "sessions",
    "pricing",
    "recommendations",
    "mail",
    "sms",
    "push",
    "media",
    "uploads",
    "thumbnails",
    "analytics",
    "warehouse",
    "scheduler",
    "batch",
    "vpn",
];

const PROBLEMS: &[&str] = &[
    "connection refused",
    "connection pool exhausted",
    "pgbouncer pool exhausted",
    "timeout waiting for upstream",
    "disk full",
    "disk latency high",
    "inode usage above 90%",
    "OOMKilled container",
    "memory usage above limit",
    "CPU throttling",
    "certificate expires soon",
    "TLS handshake failures",
    "replication lag high",
    "replica out of sync",
    "5xx rate high",
    "latency above SLO",
    "error budget burn rate",
    "queue backlog growing",
    "consumer lag increasing",
    "dead letter queue not empty",
    "pod crash looping",
    "deployment rollout stuck",
    "health check failing",
    "DNS resolution failures",
    "packet loss on uplink",
    "load balancer unhealthy targets",
    "rate limit exceeded",
    "cache hit ratio dropped",
    "redis evictions spiking",
    "kafka under replicated partitions",
    "elasticsearch cluster red",
    "nfs mount stale",
    "cron job missed schedule",
    "backup job failed",
    "ssl certificate expired",
    "payment provider errors",
    "webhook deliveries failing",
    "login failures spiking",
    "slow queries on primary",
    "deadlocks detected",
    "too many open files",
    "ntp clock drift",
    "node not ready",
    "volume attach failed",
    "image pull backoff",
    "sidecar injection failed",
    "api quota exhausted",
    "s3 access denied",
    "vacuum blocked writes",
    "checkpoint taking too long",
];

const FIXES: &[&str] = &[
    "restarted {component} on {host}",
    "rolled back deploy {number}",
    "scaled {service} to {number} replicas",
    "failed over to the replica on {host}",
    "cleared old logs on {host}, disk back to 61%",
    "raised max connections to {number}",
    "renewed the certificate and reloaded {component}",
    "killed the long running query from {service}",
    "drained {host} and rebooted it",
    "purged the dead letter queue after replaying {number} messages",
    "increased the memory limit of {service}",
    "flushed the dns cache on {host}",
];

const CHATTER: &[&str] = &[
    "looking at the {service} dashboards",
    "I see {problem} on {host} since {number} minutes",
    "customers report errors in {service}",
    "paged the {service} team",
    "this looks like the incident from last week",
    "{component} logs show {problem}",
    "latency on {host} is back to normal",
    "is anyone deploying {service} right now?",
    "graph attached, the spike started at the deploy",
    "escalating to the database on-call",
    "holding off on the rollback for {number} minutes",
    "error rate dropped after the change",
];

const COMPONENTS: &[&str] = &[
    "pgbouncer",
    "nginx",
    "envoy",
    "haproxy",
    "postgres",
    "redis",
    "kafka-broker",
    "zookeeper",
    "elasticsearch",
    "rabbitmq",
    "memcached",
    "consul",
    "vault",
    "coredns",
    "kubelet",
    "etcd",
];

const USERS: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yvonne", "zoe",
    "amir", "bea", "chen", "dmitri", "eva", "farid", "gita", "hugo", "ines",
];

const REGIONS: &[&str] = &[
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-south-1",
];
const ENVIRONMENTS: &[&str] = &["prod", "prod", "prod", "staging", "dev"];

/// A deterministic xorshift generator: the same history on every run and machine.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
}

fn host(random: &mut Random, service: &str) -> String {
    format!("{service}-{}", random.below(24) + 1)
}

fn fill(template: &str, random: &mut Random, service: &str, host: &str) -> String {
    template
        .replace("{component}", random.pick(COMPONENTS))
        .replace("{host}", host)
        .replace("{service}", service)
        .replace("{problem}", random.pick(PROBLEMS))
        .replace("{number}", &(random.below(500) + 2).to_string())
}

fn alert_name(problem: &str) -> String {
    problem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            let first = chars.next().unwrap().to_ascii_uppercase();
            std::iter::once(first).chain(chars).collect::<String>()
        })
        .collect()
}

/// A firing alert as Alertmanager would turn into an event, and when.
fn alert(random: &mut Random, key: &str) -> (AlertEvent, String) {
    let service = random.pick(SERVICES);
    let host = host(random, service);
    let problem = random.pick(PROBLEMS);
    let severity = match random.below(10) {
        0 => Severity::Critical,
        1..=4 => Severity::Error,
        5..=7 => Severity::Warning,
        _ => Severity::Info,
    };
    let mut event = AlertEvent::firing(key, &format!("{problem} on {host}"), severity);
    event.service = Some(service.to_string());
    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), alert_name(problem));
    labels.insert("env".to_string(), random.pick(ENVIRONMENTS).to_string());
    labels.insert("region".to_string(), random.pick(REGIONS).to_string());
    labels.insert("instance".to_string(), format!("{host}:9100"));
    event.labels = labels;
    event.details = serde_json::json!({
        "summary": format!("{problem} on {host}"),
        "description": format!(
            "{} reports {problem}; value {} for {} minutes",
            random.pick(COMPONENTS),
            random.below(1000),
            random.below(60) + 1
        ),
        "runbook_url": format!("https://runbooks.example.com/{service}/{}", alert_name(problem)),
    });
    (event, host)
}

/// One incident's life, change by change: opened, acknowledged, discussed, mostly resolved.
fn incident_changes(
    random: &mut Random,
    id: IncidentId,
) -> Vec<(Incident, Vec<TimelineEntry>, Vec<AlertRecord>)> {
    let opened_at = start() + Span::seconds((id * 300 + random.below(300)) as i64);
    let (event, host) = alert(random, &format!("group-{id}"));
    let service = event.service.clone().unwrap_or_default();
    let opened = Incident::open(id, "prometheus", &event, None, opened_at);
    let record = AlertRecord {
        incident: id,
        key: "#1".to_string(),
        received_at: opened_at,
        event,
    };
    let mut changes = vec![(opened.incident.clone(), opened.entries, vec![record])];
    let mut incident = opened.incident;
    let mut now = opened_at;
    let responder = random.pick(USERS);
    let mut act = |incident: &mut Incident, action: Action, user: &str, now: DateTime<Utc>| {
        if let Ok(Some(change)) = incident.apply_action(&action, user, now) {
            changes.push((change.incident, change.entries, Vec::new()));
        }
    };
    now += Span::seconds(30 + random.below(600) as i64);
    act(&mut incident, Action::Acknowledge, responder, now);
    let notes = NOTES_PER_INCIDENT - 5 + random.below(11);
    for number in 0..notes {
        now += Span::seconds(20 + random.below(400) as i64);
        let last = number + 1 == notes;
        let (user, template) = if last {
            (responder, random.pick(FIXES))
        } else {
            (random.pick(USERS), random.pick(CHATTER))
        };
        let text = fill(template, random, &service, &host);
        act(&mut incident, Action::Note { text }, user, now);
    }
    if random.below(10) != 0 {
        now += Span::seconds(10 + random.below(300) as i64);
        act(&mut incident, Action::Resolve, responder, now);
    }
    changes
}

/// A query of one of the kinds people type, and the kind's name for the report.
fn query(random: &mut Random) -> (&'static str, String) {
    let problem_word = |random: &mut Random| {
        let problem = random.pick(PROBLEMS);
        let words: Vec<&str> = problem.split(' ').filter(|word| word.len() > 3).collect();
        words
            .get(random.below(words.len().max(1) as u64) as usize)
            .copied()
            .unwrap_or(problem)
            .to_string()
    };
    match random.below(20) {
        0..=3 => ("one word", problem_word(random)),
        4..=5 => (
            "two words",
            format!("{} {}", random.pick(COMPONENTS), problem_word(random)),
        ),
        6..=8 => ("phrase", format!("\"{}\"", random.pick(PROBLEMS))),
        9..=10 => (
            "word + service",
            format!("{} service:{}", problem_word(random), random.pick(SERVICES)),
        ),
        11 => (
            "word + severity, status",
            format!("{} sev:>=error status:resolved", problem_word(random)),
        ),
        12..=13 => (
            "word + author",
            format!("{} author:{}", random.pick(COMPONENTS), random.pick(USERS)),
        ),
        14..=15 => {
            let month = random.below(10) + 1;
            (
                "word + time range",
                format!(
                    "{} after:2024-{month:02}-01 before:2024-{:02}-01",
                    problem_word(random),
                    month + 2
                ),
            )
        }
        16 => (
            "word + label, exclusion",
            format!(
                "{} label:env=prod -kind:message -{}",
                problem_word(random),
                random.pick(SERVICES)
            ),
        ),
        17 => (
            "word + kind:message",
            format!("restarted {} kind:message", random.pick(COMPONENTS)),
        ),
        _ => (
            "filters only",
            format!("service:{} status:open", random.pick(SERVICES)),
        ),
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction) as usize]
}

fn report(what: &str, mut times: Vec<Duration>, limit: Option<Duration>) {
    times.sort();
    let p99 = percentile(&times, 0.99);
    let verdict = match limit {
        Some(limit) if p99 <= limit => format!("  (p99 limit {limit:?}: ok)"),
        Some(limit) => format!("  (p99 limit {limit:?}: OVER)"),
        None => String::new(),
    };
    println!(
        "{what:<34} p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}  n={}{verdict}",
        percentile(&times, 0.5),
        p99,
        times[times.len() - 1],
        times.len()
    );
}

/// The process's resident memory now and at its peak, from the kernel.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kilobytes| kilobytes.parse::<u64>().ok())
            .map(|kilobytes| format!("{} MiB", kilobytes / 1024))
            .unwrap_or_else(|| "?".to_string())
    };
    // File-backed pages are the index's mmap'd files: shared page cache the kernel may drop.
    format!(
        "resident {} (peak {}; anonymous {}, file-backed {})",
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:")
    )
}

fn size_on_disk(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.metadata().ok())
                .filter(|metadata| metadata.is_file())
                .map(|metadata| metadata.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Builds the index at `path` change by change, as the engine feeds it, and reports.
fn build(path: &Path, incidents: u64) {
    let index = SearchIndex::open(path).expect("open the index");
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let mut messages = 0u64;
    let mut changes = 0usize;
    let mut feeding = Duration::ZERO;
    let mut committing = Duration::ZERO;
    let mut commits = 0;
    let building = Instant::now();
    for id in 1..=incidents {
        for (incident, entries, alerts) in incident_changes(&mut random, id) {
            messages += entries
                .iter()
                .filter(|entry| matches!(entry.kind, klaxon::domain::TimelineKind::Note { .. }))
                .count() as u64;
            let started = Instant::now();
            index
                .index_change(&incident, &entries, &alerts)
                .expect("index a change");
            feeding += started.elapsed();
            changes += 1;
            if changes.is_multiple_of(COMMIT_EVERY) {
                let started = Instant::now();
                index.commit().expect("commit");
                committing += started.elapsed();
                commits += 1;
            }
        }
    }
    let started = Instant::now();
    index.commit().expect("commit");
    committing += started.elapsed();
    commits += 1;
    let built = building.elapsed();
    println!(
        "built: {incidents} incidents, {messages} messages, {changes} changes in {built:.1?} \
         (indexing {feeding:.1?}, {commits} commits {committing:.1?}, the rest generating the history); {}",
        memory()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let incidents: u64 = std::env::var("KLAXON_SEARCH_BENCH_INCIDENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    // To time the queries again without building again: KLAXON_SEARCH_BENCH_KEEP=DIR builds
    // the index in DIR the first time and reuses it after.
    let kept = std::env::var_os("KLAXON_SEARCH_BENCH_KEEP").map(std::path::PathBuf::from);
    let path = kept.clone().unwrap_or_else(|| dir.path().join("search"));
    println!(
        "search benchmark: {incidents} incidents, about {} notes",
        incidents * NOTES_PER_INCIDENT
    );
    println!("start: {}", memory());
    if kept.is_none() || size_on_disk(&path) == 0 {
        build(&path, incidents);
    }

    let started = Instant::now();
    let index = SearchIndex::open(&path).expect("reopen the index");
    let versions = index.indexed_versions().expect("versions").len();
    println!(
        "reopened in {:.1?}, {versions} incident versions read; on disk {} MiB; {}",
        started.elapsed(),
        size_on_disk(&path) / (1024 * 1024),
        memory()
    );

    let mut queries = Random(0x0123_4567_89ab_cdef);
    let mut all = Vec::with_capacity(QUERIES);
    let mut by_kind: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    let mut hits = 0usize;
    for _ in 0..QUERIES {
        let (kind, text) = query(&mut queries);
        let started = Instant::now();
        let parsed = SearchQuery::parse(&text)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .with_limit(20);
        let found = index
            .search(&parsed)
            .unwrap_or_else(|error| panic!("{text}: {error}"));
        let took = started.elapsed();
        hits += found.len();
        all.push(took);
        by_kind.entry(kind).or_default().push(took);
    }
    report("search, 1,000 mixed queries", all, Some(LIMIT));
    for (kind, times) in by_kind {
        report(&format!("  {kind}"), times, None);
    }
    println!(
        "  {:.1} hits per query on average (limit 20)",
        hits as f64 / QUERIES as f64
    );

    let mut fresh = Random(0x9e37_79b9_7f4a_7c15);
    let mut times = Vec::with_capacity(NEW_INCIDENTS);
    let mut suggested = 0usize;
    let mut with_notes = 0usize;
    for number in 0..NEW_INCIDENTS {
        let id = incidents + 1 + number as u64;
        let (event, _) = alert(&mut fresh, &format!("new-{id}"));
        let opened_at = start() + Span::days(400);
        let incident = Incident::open(id, "prometheus", &event, None, opened_at).incident;
        let started = Instant::now();
        let similar = index.similar(&incident, 5).expect("similar");
        times.push(started.elapsed());
        suggested += similar.len();
        with_notes += similar
            .iter()
            .filter(|hit| !hit.resolving_notes.is_empty())
            .count();
    }
    report("similar(), 1,000 new incidents", times, Some(LIMIT));
    println!(
        "  {:.1} suggestions per incident on average (limit 5), {with_notes} of {suggested} with resolving notes",
        suggested as f64 / NEW_INCIDENTS as f64
    );
    println!("end: {}", memory());

    let catch_up = std::env::var("KLAXON_SEARCH_BENCH_CATCH_UP")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(incidents / 10);
    if catch_up > 0 {
        drop(index);
        catch_up_from_store(catch_up);
    }
}

/// The same history in a sled store, then `catch_up` as the engine runs it at start.
fn catch_up_from_store(incidents: u64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SledStore::open(&dir.path().join("store")).expect("open the store");
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let mut batch = CommitBatch::default();
    let started = Instant::now();
    for id in 1..=incidents {
        for (incident, entries, alerts) in incident_changes(&mut random, id) {
            batch.changes.push(StoredChange {
                incident,
                entries,
                alerts,
                replays: Vec::new(),
            });
        }
        if id % 500 == 0 || id == incidents {
            store.commit(&batch).expect("commit to the store");
            batch = CommitBatch::default();
        }
    }
    println!(
        "catch-up: a sled store of {incidents} incidents written in {:.1?}, {} MiB; {}",
        started.elapsed(),
        size_on_disk(&dir.path().join("store")) / (1024 * 1024),
        memory()
    );
    let index = SearchIndex::open(&dir.path().join("search")).expect("open the index");
    let started = Instant::now();
    let first = index.catch_up(&store).expect("catch up");
    println!(
        "  into an empty index: {first:?} in {:.1?}; {}",
        started.elapsed(),
        memory()
    );
    let started = Instant::now();
    let again = index.catch_up(&store).expect("catch up");
    println!(
        "  into an up-to-date index: {again:?} in {:.1?}",
        started.elapsed()
    );
}
