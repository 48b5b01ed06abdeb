//! S3 sink benchmark: records/s and MB/s per task from the broker through
//! the `rampart` release binary (one task) into moto's S3 server
//! (`scripts/moto`), for JSON Lines + gzip and for Parquet + zstd, timed
//! from the first record read to the last offset committed (offsets are
//! committed only once their objects are uploaded). Beside them, measured in
//! the same run:
//!
//! - the broker's own consume rate of the same topic (librdkafka, no sink);
//! - moto's raw PUT rate for objects of the size the connector writes, with
//!   as many concurrent PUTs as the task allows (16);
//! - the worker's peak RSS (VmHWM) with 100 and with 1,000 open objects
//!   (FieldPartitioner over a field with that many values, flush.size
//!   larger than the topic, so every object stays open to the end).
//!
//! Records are ~500-byte JSON events (schemaless JsonConverter).
//! Run with `scripts/bench` (builds the release binary, starts the broker
//! and moto).

use rampart_tests::support;

#[allow(dead_code)]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{consume_rate, peak_rss_mb};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value as Json};
use support::{
    await_deliveries, bootstrap, committed_sum, create_connector, create_topic, eventually,
    free_port, metric, send_queued, unique, worker_properties, WorkerProcess,
};

// Enough that the last offset commit (offset.flush.interval.ms=500 in the
// test worker settings) is a small part of the run.
const RECORDS: usize = 600_000;
const PARTITIONS: i32 = 4;
const FLUSH_SIZE: usize = 30_000;
const RSS_RECORDS: usize = 100_000;
const MOTO_PUTS: usize = 200;

fn moto() -> String {
    let port = std::env::var("RAMPART_MOTO_PORT").unwrap_or_else(|_| "19555".to_string());
    format!("http://127.0.0.1:{port}")
}

fn event(i: usize, key_values: usize) -> String {
    let mut s = json!({
        "@timestamp": "2026-11-26T10:00:00.123Z",
        "event": {"kind": "event", "category": "authentication", "outcome": "failure", "module": "sshd"},
        "host": {"name": "fw01.example.net", "ip": "198.51.100.7"},
        "source": {"ip": format!("203.0.113.{}", i % 250), "port": 52344 + (i % 1000)},
        "user": {"name": "admin"},
        "message": format!("Failed password for invalid user admin from 203.0.113.{} port 52344 ssh2", i % 250),
        "k": format!("k{}", i % key_values),
        "seq": i,
    })
    .to_string();
    while s.len() < 495 {
        s.insert_str(
            s.len() - 1,
            ",\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
        );
    }
    s
}

fn mb(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn auth(req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    // moto does not check signatures; any SigV4-shaped header will do.
    req.header(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
    )
    .header("x-amz-date", "20261126T000000Z")
}

async fn create_bucket(client: &reqwest::Client, name: &str) {
    let r = auth(client.put(format!("{}/{name}", moto())))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "moto is not reachable at {}: {e}; run `scripts/moto start`",
                moto()
            )
        });
    assert!(r.status().is_success(), "create bucket: {}", r.status());
}

async fn produce(topic: &str, n: usize, partitions: i32, key_values: usize) -> usize {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .create()
        .expect("producer");
    let mut pending = std::collections::VecDeque::new();
    let mut bytes = 0;
    for i in 0..n {
        let value = event(i, key_values);
        bytes += value.len();
        let rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic)
            .payload(value.as_bytes())
            .partition(i as i32 % partitions);
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
    bytes
}

/// moto's PUT rate for `size`-byte objects, 16 at a time: (objects/s, MB/s).
async fn moto_put_rate(client: &reqwest::Client, bucket: &str, size: usize) -> (f64, f64) {
    let body = bytes::Bytes::from(vec![b'x'; size]);
    let sem = Arc::new(tokio::sync::Semaphore::new(16));
    let t0 = Instant::now();
    let mut handles = Vec::new();
    for i in 0..MOTO_PUTS {
        let permit = Arc::clone(&sem)
            .acquire_owned()
            .await
            .expect("semaphore open");
        let (client, body) = (client.clone(), body.clone());
        let url = format!("{}/{bucket}/raw/{i:06}", moto());
        handles.push(tokio::spawn(async move {
            let r = auth(client.put(url))
                .body(body)
                .send()
                .await
                .expect("moto answers");
            assert!(r.status().is_success(), "raw put: {}", r.status());
            drop(permit);
        }));
    }
    for h in handles {
        h.await.expect("put task");
    }
    let secs = t0.elapsed().as_secs_f64();
    (
        MOTO_PUTS as f64 / secs,
        mb((MOTO_PUTS * size) as f64) / secs,
    )
}

struct Run {
    rate: f64,
    peak_mb: f64,
    bucket_bytes: u64,
}

/// One worker, one task, over the whole topic, until `expect_committed`
/// offsets are committed (or, with `until_read`, until every record is read:
/// for the RSS runs, whose objects stay open).
async fn run(topic: &str, n: usize, extra: Json, until_read: bool) -> Run {
    let client = reqwest::Client::new();
    let bucket = unique("bench-s3");
    create_bucket(&client, &bucket).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let mut config = json!({
        "connector.class": "S3SinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "store.url": moto(),
        "aws.access.key.id": "test",
        "aws.secret.access.key": "test",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "flush.size": FLUSH_SIZE.to_string(),
    });
    for (k, v) in extra.as_object().expect("object") {
        config[k] = v.clone();
    }
    let name = unique("s3-bench");
    create_connector(&client, &worker.url, &name, &config).await;
    let (c, u, nm) = (&client, worker.url.as_str(), name.as_str());
    let read = "kafka_connect_sink_task_metrics_sink_record_read_total";
    eventually(
        "first record read",
        Duration::from_secs(60),
        || async move { metric(c, u, read, nm).await.filter(|r| *r > 0) },
    )
    .await;
    let t0 = Instant::now();
    eventually(
        "every record done",
        Duration::from_secs(900),
        || async move {
            let done = if until_read {
                metric(c, u, read, nm).await?
            } else {
                u64::try_from(committed_sum(c, u, nm).await?).ok()?
            };
            (done >= n as u64).then_some(())
        },
    )
    .await;
    let rate = n as f64 / t0.elapsed().as_secs_f64();
    if until_read {
        // Records read are handed to put just after: let the last batch land.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let peak_mb = peak_rss_mb(worker.pid());
    worker.terminate();
    let bucket_bytes = bucket_size(&client, &bucket).await;
    Run {
        rate,
        peak_mb,
        bucket_bytes,
    }
}

/// The worker's own cost over the same topic and converter: FileStreamSink
/// writing the values to /dev/null, timed the same way (records read).
async fn file_sink_rate(topic: &str, n: usize) -> f64 {
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let name = unique("file-bench");
    create_connector(
        &client,
        &worker.url,
        &name,
        &json!({
            "connector.class": "FileStreamSink",
            "topics": topic,
            "file": "/dev/null",
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
        }),
    )
    .await;
    let (c, u, nm) = (&client, worker.url.as_str(), name.as_str());
    let read = "kafka_connect_sink_task_metrics_sink_record_read_total";
    let first = eventually(
        "first record read",
        Duration::from_secs(60),
        || async move { metric(c, u, read, nm).await.filter(|r| *r > 0) },
    )
    .await;
    let t0 = Instant::now();
    eventually(
        "every record read",
        Duration::from_secs(600),
        || async move { metric(c, u, read, nm).await.filter(|r| *r >= n as u64) },
    )
    .await;
    let rate = (n as u64 - first) as f64 / t0.elapsed().as_secs_f64();
    worker.terminate();
    rate
}

async fn bucket_size(client: &reqwest::Client, bucket: &str) -> u64 {
    let mut total = 0;
    let mut token: Option<String> = None;
    loop {
        let mut req = auth(client.get(format!("{}/{bucket}", moto()))).query(&[("list-type", "2")]);
        if let Some(t) = &token {
            req = req.query(&[("continuation-token", t.as_str())]);
        }
        let text = req
            .send()
            .await
            .expect("list")
            .text()
            .await
            .expect("list body");
        total += text
            .split("<Size>")
            .skip(1)
            .filter_map(|s| s.split("</Size>").next()?.parse::<u64>().ok())
            .sum::<u64>();
        token = text
            .split("<NextContinuationToken>")
            .nth(1)
            .and_then(|s| s.split("</NextContinuationToken>").next())
            .map(str::to_string);
        if token.is_none() {
            return total;
        }
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!(
        "s3 sink benchmark (~500-byte JSON records, {RECORDS} records over {PARTITIONS} partitions, flush.size={FLUSH_SIZE}, 1 task, moto S3 server, 2-core machine; target 50-100 MB/s per task)"
    );
    let client = reqwest::Client::new();
    let topic = unique("bench-s3");
    create_topic(&topic, PARTITIONS).await;
    let bytes = produce(&topic, RECORDS, PARTITIONS, 1000).await;
    let record_bytes = bytes as f64 / RECORDS as f64;

    let t = topic.clone();
    let consume = tokio::task::spawn_blocking(move || consume_rate(&t, RECORDS).0)
        .await
        .expect("baseline");
    println!(
        "baseline: broker consume rate {consume:.0} records/s ({:.1} MB/s)",
        mb(consume * record_bytes)
    );
    let file = file_sink_rate(&topic, RECORDS).await;
    println!(
        "baseline: the worker alone (FileStreamSink to /dev/null, same JsonConverter) {file:.0} records/s ({:.1} MB/s)",
        mb(file * record_bytes)
    );
    let raw_bucket = unique("bench-raw");
    create_bucket(&client, &raw_bucket).await;
    let object = (FLUSH_SIZE as f64 * record_bytes) as usize;
    let (puts, put_mbs) = moto_put_rate(&client, &raw_bucket, object).await;
    println!(
        "baseline: moto raw PUT of {:.1} MB objects, 16 concurrent: {puts:.1} objects/s, {put_mbs:.1} MB/s",
        mb(object as f64)
    );

    for (label, extra) in [
        ("JSON + gzip", json!({"s3.compression.type": "gzip"})),
        (
            "Parquet + zstd",
            json!({"format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat", "parquet.codec": "zstd"}),
        ),
    ] {
        let r = run(&topic, RECORDS, extra, false).await;
        let in_mbs = mb(r.rate * record_bytes);
        let out_mbs = in_mbs * r.bucket_bytes as f64 / bytes as f64;
        println!(
            "end to end, {label}: {:.0} records/s, {in_mbs:.1} MB/s of records ({out_mbs:.1} MB/s written to S3, {:.1} MB in the bucket); {:.2}x the broker's consume rate, {:.2}x the worker alone, {:.2}x moto's raw PUT MB/s; peak RSS (VmHWM) {:.1} MB",
            r.rate,
            mb(r.bucket_bytes as f64),
            r.rate / consume,
            r.rate / file,
            in_mbs / put_mbs,
            r.peak_mb
        );
    }

    for open in [100usize, 1000] {
        let topic = unique("bench-s3-open");
        create_topic(&topic, 1).await;
        produce(&topic, RSS_RECORDS, 1, open).await;
        for (label, extra) in [
            ("JSON + gzip", json!({"s3.compression.type": "gzip"})),
            (
                "Parquet + zstd",
                json!({"format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat", "parquet.codec": "zstd"}),
            ),
        ] {
            let mut extra = extra;
            extra["partitioner.class"] =
                json!("io.confluent.connect.storage.partitioner.FieldPartitioner");
            extra["partition.field.name"] = json!("k");
            extra["flush.size"] = json!((RSS_RECORDS * 10).to_string());
            let r = run(&topic, RSS_RECORDS, extra, true).await;
            println!(
                "open objects, {label}: {open} open objects holding {RSS_RECORDS} records ({:.1} MB of records): worker peak RSS (VmHWM) {:.1} MB",
                mb(RSS_RECORDS as f64 * record_bytes),
                r.peak_mb
            );
        }
    }
}
