//! The Splunk HEC sink end to end: records produced to the broker, the
//! `rampart` binary running the connector, and a HEC receiver in this
//! process. The receiver is a test server written from Splunk's HEC
//! documentation (see its module docs), not Splunk: none can run here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value as Json};

use crate::support::{
    await_deliveries, bootstrap, committed_sum, create_topic, eventually, free_port, metric,
    rss_mb, send_queued, unique, worker_properties, WorkerProcess,
};

#[path = "../../connectors/splunk-hec/src/tests/receiver.rs"]
pub(crate) mod receiver;

use receiver::{Behaviour, Receiver};

const TOKEN: &str = "6f1c2b7e-0d4a-4c8e-9a51-3f2e8b1d7c40";
/// How long the receiver stays down in the outage test (the 60 s).
const OUTAGE: Duration = Duration::from_secs(60);
/// The backlog limit the outage test runs with.
const OUTSTANDING_EVENTS: u64 = 2000;
/// Records the worker hands to one `put`, at most (`sink.rs` MAX_BATCH).
const PUT_BATCH: u64 = 500;
const BASE_TS: i64 = 1_700_000_000_000;

fn value(i: usize) -> String {
    format!("evt-{i:06} fw01 sshd[4242]: Failed password for invalid user admin from 203.0.113.{} port 22 ssh2", i % 250)
}

/// Produces records `range` round-robin over `partitions`: key `k<i>`,
/// timestamp `BASE_TS + i`, and on even records a host header.
async fn produce(topic: &str, range: std::ops::Range<usize>, partitions: i32) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    let mut pending = std::collections::VecDeque::new();
    for i in range {
        let v = value(i);
        let k = format!("k{i}");
        let host = format!("host{}", i % 3);
        let mut rec: FutureRecord<'_, str, str> = FutureRecord::to(topic)
            .key(k.as_str())
            .payload(v.as_str())
            .partition(i as i32 % partitions)
            .timestamp(BASE_TS + i as i64);
        if i.is_multiple_of(2) {
            rec = rec.headers(OwnedHeaders::new().insert(Header {
                key: "splunk.header.host",
                value: Some(host.as_str()),
            }));
        }
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
}

fn connector_file(dir: &Path, name: &str, config: Json) -> PathBuf {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, json!({"name": name, "config": config}).to_string())
        .expect("temp dir is writable");
    path
}

async fn wait_committed(client: &reqwest::Client, url: &str, name: &str, n: usize) {
    eventually(
        &format!("{n} offsets committed"),
        Duration::from_secs(120),
        || async { (committed_sum(client, url, name).await? >= n as i64).then_some(()) },
    )
    .await;
}

/// Distinct event texts and how many arrived more than once.
fn tally(rx: &Receiver) -> (HashSet<String>, usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for r in rx.received() {
        *seen.entry(r.text()).or_default() += 1;
    }
    let dups = seen.values().map(|n| n - 1).sum();
    (seen.into_keys().collect(), dups)
}

#[tokio::test(flavor = "multi_thread")]
async fn event_endpoint_delivers_exactly_what_was_produced() {
    const N: usize = 3000;
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            ack: true,
            ack_delay: Duration::from_millis(200),
            ack_jitter: Duration::from_millis(400),
            ..Default::default()
        },
    )
    .await;
    let topic = unique("hec-event");
    create_topic(&topic, 3).await;
    produce(&topic, 0..N, 3).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let name = "hec-event";
    let file = connector_file(
        dir.path(),
        name,
        json!({
            "connector.class": "com.splunk.kafka.connect.SplunkSinkConnector",
            "topics": topic,
            "splunk.hec.uri": rx.url,
            "splunk.hec.token": TOKEN,
            "splunk.hec.ack.enabled": "true",
            "splunk.hec.ack.poll.interval": "1",
            "splunk.indexes": "main",
            "splunk.sourcetypes": "linux:secure",
            "splunk.sources": "kafka",
            "splunk.header.support": "true",
            "splunk.hec.track.data": "true",
            "splunk.hec.json.event.enrichment": "env=test",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    wait_committed(&client, &worker.url, name, N).await;

    let got = rx.received();
    assert_eq!(
        got.len(),
        N,
        "each record exactly once (no failures injected)"
    );
    let mut texts = HashSet::new();
    for r in &got {
        let e = &r.body;
        let text = e["event"].as_str().expect("string event").to_string();
        let i: usize = text[4..10].parse().expect("record number");
        assert_eq!(text, value(i));
        assert_eq!(e["index"], "main");
        assert_eq!(e["sourcetype"], "linux:secure");
        assert_eq!(e["source"], "kafka");
        assert_eq!(
            e["time"].as_f64(),
            Some((BASE_TS + i as i64) as f64 / 1000.0)
        );
        assert_eq!(e["fields"]["env"], "test");
        assert_eq!(e["fields"]["kafka_topic"], topic.as_str());
        assert_eq!(e["fields"]["kafka_record_key"], format!("k{i}"));
        assert_eq!(e["fields"]["kafka_partition"], (i % 3).to_string());
        if i.is_multiple_of(2) {
            assert_eq!(e["host"], format!("host{}", i % 3), "host from the header");
        } else {
            assert!(e.get("host").is_none());
        }
        assert!(r.channel.is_some());
        texts.insert(text);
    }
    assert_eq!(texts.len(), N);
    let status = crate::support::status(&client, &worker.url, name).await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_endpoint_delivers_lines_with_channel_and_metadata() {
    const N: usize = 2000;
    let rx = Receiver::start(TOKEN, Behaviour::default()).await;
    let topic = unique("hec-raw");
    create_topic(&topic, 1).await;
    produce(&topic, 0..N, 1).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let name = "hec-raw";
    let file = connector_file(
        dir.path(),
        name,
        json!({
            "connector.class": "SplunkSinkConnector",
            "topics": topic,
            "splunk.hec.uri": rx.url,
            "splunk.hec.token": TOKEN,
            "splunk.hec.raw": "true",
            "splunk.hec.raw.line.breaker": "\n",
            "splunk.indexes": "main",
            "splunk.sourcetypes": "linux:secure",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    wait_committed(&client, &worker.url, name, N).await;

    let got = rx.received();
    assert_eq!(got.len(), N);
    let mut lines: Vec<String> = got.iter().map(|r| r.text()).collect();
    lines.sort();
    let expected: Vec<String> = (0..N).map(value).collect();
    assert_eq!(lines, expected);
    for r in &got {
        assert_eq!(r.endpoint, "raw");
        assert_eq!(r.body["index"], "main");
        assert_eq!(r.body["sourcetype"], "linux:secure");
        assert!(r.channel.is_some(), "raw requests carry a channel");
    }
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn acked_delivery_survives_sigkill_and_restart() {
    const N: usize = 20_000;
    // Acks are slow, out of order, and every 7th request is lost with its
    // events, so only the ack-timeout resend gets those through.
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            ack: true,
            ack_delay: Duration::from_millis(300),
            ack_jitter: Duration::from_millis(700),
            lose_every: Some(7),
            ..Default::default()
        },
    )
    .await;
    let topic = unique("hec-crash");
    create_topic(&topic, 2).await;
    produce(&topic, 0..N, 2).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let name = "hec-crash";
    let file = connector_file(
        dir.path(),
        name,
        json!({
            "connector.class": "SplunkSink",
            "topics": topic,
            "splunk.hec.uri": rx.url,
            "splunk.hec.token": TOKEN,
            "splunk.hec.ack.enabled": "true",
            "splunk.hec.ack.poll.interval": "1",
            "splunk.hec.event.timeout": "3",
            "splunk.hec.max.batch.size": "100",
            // Small enough that the SIGKILL lands with work in flight.
            "splunk.hec.max.outstanding.events": "3000",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, std::slice::from_ref(&file));
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    wait_committed(&client, &worker.url, name, N / 4).await;
    let committed = committed_sum(&client, &worker.url, name).await.unwrap_or(0);
    worker.kill9();
    let at_kill = rx.event_count();
    let (distinct_at_kill, _) = tally(&rx);
    assert!(
        distinct_at_kill.len() as i64 >= committed,
        "offsets are committed only for acknowledged events"
    );
    assert!(distinct_at_kill.len() < N, "the kill landed mid-run");

    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    wait_committed(&client, &worker.url, name, N).await;
    let (distinct, dups) = tally(&rx);
    let expected: HashSet<String> = (0..N).map(value).collect();
    assert_eq!(distinct, expected, "no record lost");
    println!(
        "sigkill with acks: {N} records, {committed} committed and {at_kill} events received at the kill, {dups} duplicates after the restart"
    );
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn receiver_outage_loses_nothing_and_memory_stays_bounded() {
    const BEFORE: usize = 5000;
    // ~22 MB of values: buffering them would show in RSS.
    const DURING: usize = 200_000;
    let mut rx = Receiver::start(
        TOKEN,
        Behaviour {
            ack: true,
            ..Default::default()
        },
    )
    .await;
    let topic = unique("hec-outage");
    create_topic(&topic, 1).await;
    produce(&topic, 0..BEFORE, 1).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    // A small consumer prefetch, so the worker's RSS shows the task's own
    // memory rather than librdkafka's queue (64 MB by default).
    let props = worker_properties(
        dir.path(),
        port,
        &[
            ("consumer.queued.max.messages.kbytes", "2048"),
            ("consumer.fetch.max.bytes", "1048576"),
        ],
    );
    let name = "hec-outage";
    let file = connector_file(
        dir.path(),
        name,
        json!({
            "connector.class": "SplunkSinkConnector",
            "topics": topic,
            "splunk.hec.uri": rx.url,
            "splunk.hec.token": TOKEN,
            "splunk.hec.ack.enabled": "true",
            "splunk.hec.ack.poll.interval": "1",
            "splunk.hec.backoff.threshhold.seconds": "2",
            "splunk.hec.lb.poll.interval": "1",
            "splunk.hec.max.outstanding.events": OUTSTANDING_EVENTS.to_string(),
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let url = worker.url.clone();
    wait_committed(&client, &url, name, BEFORE).await;
    let received_before = rx.event_count();
    let rss_before = rss_mb(worker.pid());

    rx.stop().await;
    let down = Instant::now();
    produce(&topic, BEFORE..BEFORE + DURING, 1).await;
    let read = "kafka_connect_sink_task_metrics_sink_record_read_total";
    let (mut max_buffered, mut max_rss) = (0u64, 0f64);
    while down.elapsed() < OUTAGE {
        let read_total = metric(&client, &url, read, name).await.unwrap_or(0);
        // Records read from Kafka but not received: held by the task (up to
        // the outstanding limit) or by the worker's put retry (one batch).
        let buffered = read_total.saturating_sub(received_before);
        max_buffered = max_buffered.max(buffered);
        max_rss = max_rss.max(rss_mb(worker.pid()));
        assert!(
            buffered <= OUTSTANDING_EVENTS + PUT_BATCH,
            "{buffered} records buffered during the outage, over the limit"
        );
        // A sampling period, not a synchronisation.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let status = crate::support::status(&client, &url, name).await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    let retries = "rampart_connector_task_sink_request_retries_total";
    let retried = metric(&client, &url, retries, name).await;
    assert!(
        retried.is_some_and(|r| r > 0),
        "requests to the stopped receiver were retried: {retried:?}"
    );
    rx.restart().await;
    wait_committed(&client, &url, name, BEFORE + DURING).await;
    let (distinct, dups) = tally(&rx);
    let expected: HashSet<String> = (0..BEFORE + DURING).map(value).collect();
    assert_eq!(distinct, expected, "nothing lost over the outage");
    println!(
        "outage of {OUTAGE:?} with {DURING} records produced: at most {max_buffered} records buffered (limit {OUTSTANDING_EVENTS} + one put), RSS {rss_before:.1} MB before, {max_rss:.1} MB peak, {dups} duplicates"
    );
    assert!(
        max_rss - rss_before < 30.0 && max_rss < 100.0,
        "worker RSS went from {rss_before:.1} MB to {max_rss:.1} MB during the outage"
    );
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_events_land_on_the_dead_letter_queue() {
    let mut behaviour = Behaviour::default();
    behaviour.indexes.insert("main".to_string());
    let rx = Receiver::start(TOKEN, behaviour).await;
    let topic = unique("hec-dlq");
    let dlq = unique("hec-dlq-errors");
    let values: Vec<String> = (0..10).map(value).collect();
    let records: Vec<crate::errors_dlq::TestRecord<'_>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let header = (i == 3 || i == 7).then_some(("splunk.header.index", "nope"));
            ("k", v.as_str(), header)
        })
        .collect();
    crate::errors_dlq::produce(&topic, &records).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let name = "hec-dlq";
    let file = connector_file(
        dir.path(),
        name,
        json!({
            "connector.class": "SplunkSinkConnector",
            "topics": topic,
            "splunk.hec.uri": rx.url,
            "splunk.hec.token": TOKEN,
            "splunk.indexes": "main",
            "splunk.header.support": "true",
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": dlq,
            "errors.deadletterqueue.topic.replication.factor": "1",
            "errors.deadletterqueue.context.headers.enable": "true",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    wait_committed(&client, &worker.url, name, 10).await;

    let mut got: Vec<String> = rx.received().iter().map(|r| r.text()).collect();
    got.sort();
    got.dedup();
    let expected: Vec<String> = (0..10).filter(|i| *i != 3 && *i != 7).map(value).collect();
    assert_eq!(got, expected, "every accepted event, none of the refused");
    let dead = tokio::task::spawn_blocking(move || crate::errors_dlq::read_topic(&dlq, 2))
        .await
        .expect("reader");
    let dead_values: Vec<&str> = dead.iter().map(|(_, v, _)| v.as_str()).collect();
    assert_eq!(dead_values, vec![value(3).as_str(), value(7).as_str()]);
    let message = &dead[0].2["__connect.errors.exception.message"];
    assert!(message.contains("code 7"), "{message}");
    let status = crate::support::status(&client, &worker.url, name).await;
    assert_eq!(status["tasks"][0]["state"], "RUNNING", "{status}");
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_token_fails_the_task_with_hec_reason() {
    let rx = Receiver::start(TOKEN, Behaviour::default()).await;
    let topic = unique("hec-token");
    crate::errors_dlq::produce(&topic, &[("k", "one", None)]).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let name = "hec-token";
    let file = connector_file(
        dir.path(),
        name,
        json!({
            "connector.class": "SplunkSinkConnector",
            "topics": topic,
            "splunk.hec.uri": rx.url,
            "splunk.hec.token": "not-the-token",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let status = crate::support::wait_for(&client, &worker.url, name, |s| {
        s["tasks"][0]["state"] == "FAILED"
    })
    .await;
    let trace = status["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("rejected the token") && trace.contains("code 4"),
        "{trace}"
    );
    assert_eq!(rx.event_count(), 0);
    worker.terminate();
}
