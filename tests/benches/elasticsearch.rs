//! Elasticsearch sink benchmark: documents/s and MB/s per task into a
//! `_bulk` endpoint that answers instantly (a test server in this process
//! that acknowledges every item, with a full per-item response), so what is
//! measured is the sink's own overhead. Two measurements:
//!
//! - the task alone, in process: `put` batches of 500 records (as the worker
//!   hands them) of ~500-byte events, then `flush`;
//! - the `rampart` release binary end to end, from the broker through the
//!   worker's consumer and converter to the test server, beside the broker's
//!   own consume rate for the same topic measured in the same run, with the
//!   worker's peak RSS (VmHWM) at the default buffer settings.
//!
//! Run with `scripts/bench` (builds the release binary, starts the broker).

use rampart_tests::support;

#[allow(dead_code)]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use common::consume_rate;
use rampart_connector_elasticsearch::ElasticsearchSinkTask;
use rampart_core::connector::{Config, SinkOffsets, SinkTask, SinkTaskContext};
use rampart_core::converter::{Converter, JsonConverter};
use rampart_core::data::Value;
use rampart_core::record::{KafkaPosition, SinkRecord, TopicPartition};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::json;
use support::{
    await_deliveries, bootstrap, free_port, proc_status_kb, send_queued, unique, worker_properties,
    WorkerProcess,
};

const IN_PROCESS: usize = 400_000;
const END_TO_END: usize = 300_000;
const BATCH: usize = 500;

fn event(i: usize) -> String {
    let mut s = json!({
        "@timestamp": "2024-01-31T10:00:00.123Z",
        "event": {"kind": "event", "category": "authentication", "outcome": "failure", "module": "sshd"},
        "host": {"name": "fw01.example.net", "ip": "198.51.100.7"},
        "source": {"ip": format!("203.0.113.{}", i % 250), "port": 52344},
        "user": {"name": "admin"},
        "process": {"name": "sshd", "pid": 4242},
        "message": format!("Failed password for invalid user admin from 203.0.113.{} port 52344 ssh2", i % 250),
        "labels": {"env": "prod", "dc": "eu-west-1"},
        "seq": i,
    })
    .to_string();
    // Pad to ~500 bytes, the issue's event size.
    while s.len() < 495 {
        s.insert_str(
            s.len() - 1,
            ",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
        );
    }
    s
}

/// Counts what the instant test server acknowledged.
#[derive(Default)]
struct Acked {
    docs: AtomicU64,
    bytes: AtomicU64,
}

const ITEM: &str = r#"{"index":{"_index":"bench","_id":"x","_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":0,"_primary_term":1,"status":201}}"#;

/// A TEST SERVER: `GET /` and a `_bulk` that acknowledges every item at once.
async fn start_instant_server() -> (String, Arc<Acked>) {
    let acked = Arc::new(Acked::default());
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                Json(json!({"version": {"number": "8.15.0"}, "tagline": "You Know, for Search"}))
            }),
        )
        .route(
            "/_bulk",
            post(|State(acked): State<Arc<Acked>>, body: Bytes| async move {
                // Index operations: one action line and one source line each.
                let items = body.iter().filter(|b| **b == b'\n').count() / 2;
                acked.docs.fetch_add(items as u64, Ordering::Relaxed);
                acked.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                let mut out = String::with_capacity(40 + items * (ITEM.len() + 1));
                out.push_str(r#"{"took":0,"errors":false,"items":["#);
                for i in 0..items {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(ITEM);
                }
                out.push_str("]}");
                ([("content-type", "application/json")], out)
            }),
        )
        .with_state(acked.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    let addr = listener.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), acked)
}

async fn in_process(url: &str, acked: &Acked, values: &[Value], label: &str) {
    let mut config = Config::new();
    config.insert("connection.url".into(), url.to_string());
    config.insert("key.ignore".into(), "true".into());
    config.insert("schema.ignore".into(), "true".into());
    let mut task = ElasticsearchSinkTask::default();
    task.start(
        &config,
        SinkTaskContext {
            errant_record_reporter: None,
        },
    )
    .await
    .expect("task starts");
    let tp = TopicPartition::new("bench", 0);
    let mut batch: Vec<SinkRecord> = values
        .iter()
        .map(|v| SinkRecord {
            topic: "bench".into(),
            partition: Some(0),
            value: v.clone(),
            timestamp: Some(1_706_695_200_000),
            kafka: Some(KafkaPosition {
                tp: tp.clone(),
                offset: 0,
            }),
            ..Default::default()
        })
        .collect();
    let docs0 = acked.docs.load(Ordering::Relaxed);
    let bytes0 = acked.bytes.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let mut offset = 0i64;
    while (offset as usize) < IN_PROCESS {
        for r in batch.iter_mut() {
            if let Some(k) = r.kafka.as_mut() {
                k.offset = offset;
            }
            offset += 1;
        }
        task.put(&batch).await.expect("put");
    }
    let mut offsets = SinkOffsets::new();
    offsets.insert(tp, offset);
    task.flush(&offsets).await.expect("flush");
    let secs = t0.elapsed().as_secs_f64();
    task.stop().await;
    let docs = acked.docs.load(Ordering::Relaxed) - docs0;
    let bytes = acked.bytes.load(Ordering::Relaxed) - bytes0;
    assert_eq!(docs, offset as u64, "every document acknowledged");
    println!(
        "task in process ({label}): {:.0} docs/s, {:.1} MB/s of bulk body ({docs} docs in {secs:.2} s; target 200000 docs/s)",
        docs as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

async fn produce(topic: &str, n: usize) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    let mut pending = std::collections::VecDeque::new();
    for i in 0..n {
        let value = event(i);
        let rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic)
            .payload(value.as_bytes())
            .partition(0);
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
}

/// The broker's consume rate: records/s and MB/s.
fn broker_consume_rate(topic: &str, n: usize) -> (f64, f64) {
    let (records, bytes) = consume_rate(topic, n);
    (records, bytes / 1e6)
}

/// Starts a worker with one connector, waits for the first unit of
/// progress (so the consumer group join is not timed), then for `done`;
/// returns (seconds, progress at the start of timing, peak RSS in kB).
async fn run_worker(
    worker_extra: &[(&str, &str)],
    connector: String,
    progress: impl Fn() -> u64,
    done: u64,
) -> (f64, u64, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, worker_extra);
    let file = dir.path().join("connector.properties");
    std::fs::write(&file, connector).expect("temp dir");
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let pid = worker.pid();
    let deadline = Instant::now() + Duration::from_secs(600);
    let (t0, first) = loop {
        let p = progress();
        if p > 0 {
            break (Instant::now(), p);
        }
        assert!(Instant::now() < deadline, "nothing arrived");
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    while progress() < done {
        assert!(Instant::now() < deadline, "run stalled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = t0.elapsed().as_secs_f64();
    let hwm = proc_status_kb(pid, "VmHWM:");
    worker.terminate();
    (secs, first, hwm)
}

async fn end_to_end(url: &str, acked: &Arc<Acked>) {
    let topic = unique("bench-es");
    produce(&topic, END_TO_END).await;
    let t = topic.clone();
    let (consume, consume_mb) =
        tokio::task::spawn_blocking(move || broker_consume_rate(&t, END_TO_END))
            .await
            .expect("consume");
    println!(
        "baseline: broker consume (rdkafka) {consume:.0} records/s, {consume_mb:.1} MB/s of values"
    );

    let docs0 = acked.docs.load(Ordering::Relaxed);
    let bytes0 = acked.bytes.load(Ordering::Relaxed);
    let a = acked.clone();
    let es_connector = format!("name=es-bench\nconnector.class=ElasticsearchSinkConnector\ntasks.max=1\ntopics={topic}\nconnection.url={url}\nkey.ignore=true\nschema.ignore=true\n");
    let (secs, first, hwm) = run_worker(
        &[],
        es_connector.clone(),
        move || a.docs.load(Ordering::Relaxed) - docs0,
        END_TO_END as u64,
    )
    .await;
    let docs = END_TO_END as u64 - first;
    let bytes =
        (acked.bytes.load(Ordering::Relaxed) - bytes0) as f64 * docs as f64 / END_TO_END as f64;
    let rate = docs as f64 / secs;
    println!(
        "worker end to end, Elasticsearch sink (StringConverter, 1 task): {rate:.0} docs/s, {:.1} MB/s of bulk body, {:.2}x the broker's consume rate; peak RSS (VmHWM) {:.1} MB at default buffer settings",
        bytes / secs / 1e6,
        rate / consume,
        hwm as f64 / 1024.0
    );

    // The same topic through FileStreamSink: the worker's own ceiling and
    // memory (consumer prefetch, converter) without the Elasticsearch sink.
    let out = tempfile::tempdir().expect("temp dir");
    let path = out.path().join("sink.out");
    let total: u64 = (0..END_TO_END).map(|i| event(i).len() as u64 + 1).sum();
    let p = path.clone();
    let per_record = total as f64 / END_TO_END as f64;
    let (secs, first, hwm) = run_worker(
        &[],
        format!("name=file-bench\nconnector.class=FileStreamSink\ntasks.max=1\ntopics={topic}\nfile={}\n", path.display()),
        move || std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
        total,
    )
    .await;
    let rate = (total - first) as f64 / per_record / secs;
    println!(
        "worker end to end, FileStreamSink on the same topic (for comparison): {rate:.0} records/s, {:.2}x the broker's consume rate; peak RSS (VmHWM) {:.1} MB",
        rate / consume,
        hwm as f64 / 1024.0
    );

    // The sink's own share of memory is its buffer: the same run with a
    // tenth of the default max.buffered.records.
    let docs0 = acked.docs.load(Ordering::Relaxed);
    let a = acked.clone();
    let (secs, first, hwm) = run_worker(
        &[],
        es_connector.replace("name=es-bench", "name=es-bench-small")
            + "max.buffered.records=2000\n",
        move || a.docs.load(Ordering::Relaxed) - docs0,
        END_TO_END as u64,
    )
    .await;
    println!(
        "worker end to end, Elasticsearch sink with max.buffered.records=2000: {:.0} docs/s; peak RSS (VmHWM) {:.1} MB",
        (END_TO_END as u64 - first) as f64 / secs,
        hwm as f64 / 1024.0
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!("rampart Elasticsearch sink benchmark (~500-byte events, bulk endpoint answering instantly, 2-core machine)");
    let (url, acked) = start_instant_server().await;

    let strings: Vec<Value> = (0..BATCH).map(|i| Value::String(event(i))).collect();
    in_process(&url, &acked, &strings, "JSON strings, StringConverter").await;
    let json = JsonConverter::schemaless();
    let maps: Vec<Value> = (0..BATCH)
        .map(|i| {
            json.to_connect("bench", Some(event(i).as_bytes()))
                .expect("valid JSON")
                .value
        })
        .collect();
    in_process(
        &url,
        &acked,
        &maps,
        "maps, JsonConverter schemas.enable=false",
    )
    .await;

    end_to_end(&url, &acked).await;
}
