//! Splunk HEC sink benchmark: events/s and MB/s per task into a HEC
//! receiver that acknowledges instantly (the test server written from
//! Splunk's documentation, in this process, counting events without keeping
//! them), with indexer acknowledgement on. Records are 512 bytes, as in
//! Splunk's published figure (32 MB/s for its Java connector on 3 vCPU).
//!
//! - the task alone, in process: `put` batches of 500 records (as the worker
//!   hands them) until every event is acknowledged;
//! - the `rampart` release binary end to end, one task, from the broker
//!   through the worker's consumer and converter to the receiver, for the
//!   event and the raw endpoint, each beside the broker's own consume rate
//!   of the same topic measured in the same run, with the worker's peak RSS
//!   (VmHWM).
//!
//! Run with `scripts/bench` (builds the release binary, starts the broker).

use rampart_tests::support;

#[allow(dead_code)]
mod common;

#[path = "../../connectors/splunk-hec/src/tests/receiver.rs"]
mod receiver;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{consume_rate, peak_rss_mb};
use rampart_connector_splunk_hec::SplunkHecSinkTask;
use rampart_core::connector::{SinkOffsets, SinkTask, SinkTaskContext};
use rampart_core::data::Value;
use rampart_core::record::{KafkaPosition, SinkRecord, TopicPartition};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use receiver::{Behaviour, Receiver};
use serde_json::json;
use support::{
    await_deliveries, bootstrap, create_connector, eventually, free_port, metric, send_queued,
    unique, worker_properties, WorkerProcess,
};

const RECORD_BYTES: usize = 512;
const IN_PROCESS: usize = 400_000;
const END_TO_END: usize = 200_000;
const BATCH: usize = 500;
const TOKEN: &str = "bench-token";

fn payload(i: usize) -> String {
    let head = format!("<34>Oct 11 22:14:15 fw01 sshd[4242]: Failed password for invalid user admin from 203.0.113.{} port 22 ssh2 #{i:08} ", i % 250);
    let mut s = head;
    while s.len() < RECORD_BYTES {
        s.push_str("padding ");
    }
    s.truncate(RECORD_BYTES);
    s
}

fn instant_acks() -> Behaviour {
    Behaviour {
        ack: true,
        count_only: true,
        ..Default::default()
    }
}

fn mb(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

async fn in_process(raw: bool) -> (f64, f64) {
    let rx = Receiver::start(TOKEN, instant_acks()).await;
    let mut config: HashMap<String, String> = [
        ("splunk.hec.uri", rx.url.as_str()),
        ("splunk.hec.token", TOKEN),
        ("splunk.hec.ack.enabled", "true"),
        ("splunk.hec.ack.poll.interval", "1"),
        ("splunk.hec.raw", if raw { "true" } else { "false" }),
        ("splunk.hec.raw.line.breaker", "\n"),
        ("topics", "bench"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    config.insert("splunk.indexes".into(), "main".into());
    let mut task = SplunkHecSinkTask::default();
    task.start(
        &config,
        SinkTaskContext {
            errant_record_reporter: None,
        },
    )
    .await
    .expect("task starts");
    let tp = TopicPartition::new("bench", 0);
    let batches: Vec<Vec<SinkRecord>> = (0..IN_PROCESS / BATCH)
        .map(|b| {
            (b * BATCH..(b + 1) * BATCH)
                .map(|i| SinkRecord {
                    topic: "bench".into(),
                    partition: Some(0),
                    value: Value::String(payload(i)),
                    timestamp: Some(1_700_000_000_000 + i as i64),
                    kafka: Some(KafkaPosition {
                        tp: tp.clone(),
                        offset: i as i64,
                    }),
                    ..Default::default()
                })
                .collect()
        })
        .collect();
    let t0 = Instant::now();
    for batch in &batches {
        // A full backlog refuses the batch; the worker would pause and
        // offer it again, so does this loop.
        while task.put(batch).await.is_err() {}
    }
    let current: SinkOffsets = [(tp.clone(), IN_PROCESS as i64)].into_iter().collect();
    loop {
        let committed = task.pre_commit(&current).await.expect("no failure");
        if committed[&tp] == IN_PROCESS as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    task.stop().await;
    assert_eq!(rx.event_count(), IN_PROCESS as u64);
    (
        IN_PROCESS as f64 / secs,
        mb((IN_PROCESS * RECORD_BYTES) as f64) / secs,
    )
}

async fn produce(topic: &str, n: usize) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .create()
        .expect("producer");
    let mut pending = std::collections::VecDeque::new();
    for i in 0..n {
        let value = payload(i);
        let rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).payload(value.as_bytes());
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
}

/// Runs one worker with one task over the whole topic: (events/s, MB/s,
/// peak RSS in MB). Timed from the first event received to the last, so
/// the consumer group join is left out.
async fn end_to_end(
    topic: &str,
    raw: bool,
    worker_extra: &[(&str, &str)],
    connector_extra: &[(&str, &str)],
) -> (f64, f64, f64) {
    let rx = Receiver::start(TOKEN, instant_acks()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, worker_extra);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let mut config = json!({
        "connector.class": "SplunkSinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "splunk.hec.uri": rx.url,
        "splunk.hec.token": TOKEN,
        "splunk.hec.ack.enabled": "true",
        "splunk.hec.ack.poll.interval": "1",
        "splunk.hec.raw": raw.to_string(),
        "splunk.hec.raw.line.breaker": "\n",
        "splunk.indexes": "main",
    });
    for (k, v) in connector_extra {
        config[*k] = json!(v);
    }
    let name = unique(if raw {
        "hec-bench-raw"
    } else {
        "hec-bench-event"
    });
    create_connector(&reqwest::Client::new(), &worker.url, &name, &config).await;
    let rx_ref = &rx;
    eventually("first event", Duration::from_secs(60), || async move {
        (rx_ref.event_count() > 0).then_some(())
    })
    .await;
    let (t0, first) = (Instant::now(), rx.event_count());
    eventually(
        "every event received",
        Duration::from_secs(600),
        || async move { (rx_ref.event_count() >= END_TO_END as u64).then_some(()) },
    )
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let n = (END_TO_END as u64 - first) as f64;
    let peak = peak_rss_mb(worker.pid());
    worker.terminate();
    (n / secs, mb(n * RECORD_BYTES as f64) / secs, peak)
}

async fn read_total(client: &reqwest::Client, url: &str, name: &str) -> Option<u64> {
    metric(
        client,
        url,
        "kafka_connect_sink_task_metrics_sink_record_read_total",
        name,
    )
    .await
}

/// The worker's own cost, same topic, same timing: FileStreamSink writing
/// to /dev/null. (records/s, peak RSS in MB, idle RSS in MB.)
async fn file_sink_baseline(topic: &str) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let idle = peak_rss_mb(worker.pid());
    let client = reqwest::Client::new();
    let name = unique("file-bench");
    create_connector(
        &client,
        &worker.url,
        &name,
        &json!({"connector.class": "FileStreamSink", "topics": topic, "file": "/dev/null"}),
    )
    .await;
    let (c, u, n) = (&client, worker.url.clone(), name.clone());
    let first = eventually("first record read", Duration::from_secs(60), || {
        let u = u.clone();
        let n = n.clone();
        async move { read_total(c, &u, &n).await.filter(|r| *r > 0) }
    })
    .await;
    let t0 = Instant::now();
    eventually("every record read", Duration::from_secs(600), || {
        let u = u.clone();
        let n = n.clone();
        async move {
            read_total(c, &u, &n)
                .await
                .filter(|r| *r >= END_TO_END as u64)
        }
    })
    .await;
    let rate = (END_TO_END as u64 - first) as f64 / t0.elapsed().as_secs_f64();
    let peak = peak_rss_mb(worker.pid());
    worker.terminate();
    (rate, peak, idle)
}

/// Extra `k=v,k=v` settings from the environment, to measure other
/// settings: `HEC_BENCH_WORKER` for the worker, `HEC_BENCH_CONNECTOR` for
/// the connector.
fn extra(var: &str) -> Vec<(String, String)> {
    std::env::var(var)
        .unwrap_or_default()
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!(
        "splunk hec sink benchmark ({RECORD_BYTES}-byte records, acks on, receiver acks instantly, 2-core machine; target 32 MB/s per task, RSS < 100 MB)"
    );
    for raw in [false, true] {
        let (eps, mbs) = in_process(raw).await;
        println!(
            "task alone ({}): {IN_PROCESS} records in puts of {BATCH}: {eps:.0} events/s, {mbs:.1} MB/s",
            if raw { "raw" } else { "event" }
        );
    }

    let topic = unique("bench-hec");
    produce(&topic, END_TO_END).await;
    let (file_rate, file_peak, idle) = file_sink_baseline(&topic).await;
    println!(
        "worker baseline: FileStreamSink to /dev/null over the same topic {file_rate:.0} records/s ({:.1} MB/s); peak RSS (VmHWM) {file_peak:.1} MB ({idle:.1} MB idle)",
        mb(file_rate * RECORD_BYTES as f64)
    );
    // The worker's consumer at its defaults, then with a small prefetch
    // queue that is refilled at once (librdkafka waits
    // fetch.queue.backoff.ms, 1 s by default, once its queue is full, which
    // caps any sink slower than the broker at about one queue a second).
    let small_prefetch: Vec<(String, String)> = vec![
        ("consumer.queued.max.messages.kbytes".into(), "4096".into()),
        ("consumer.fetch.queue.backoff.ms".into(), "10".into()),
    ];
    let mut worker_settings = vec![("worker defaults", extra("HEC_BENCH_WORKER"))];
    worker_settings.push(("small prefetch", small_prefetch));
    let connector = extra("HEC_BENCH_CONNECTOR");
    let c: Vec<(&str, &str)> = connector
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (label, settings) in &worker_settings {
        let w: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        println!("consumer: {label} {w:?}");
        for raw in [false, true] {
            let t = topic.clone();
            let consume = tokio::task::spawn_blocking(move || consume_rate(&t, END_TO_END).0)
                .await
                .expect("baseline");
            let (eps, mbs, peak) = end_to_end(&topic, raw, &w, &c).await;
            println!(
                "  end to end ({}): broker -> rampart (1 task) -> HEC: {eps:.0} events/s, {mbs:.1} MB/s, {:.2}x the broker's consume rate ({consume:.0} records/s, {:.1} MB/s, same run); worker peak RSS (VmHWM) {peak:.1} MB",
                if raw { "raw" } else { "event" },
                eps / consume,
                mb(consume * RECORD_BYTES as f64)
            );
        }
    }
}
