//! Worker benchmark (issue: start time, idle memory, FileStream throughput),
//! measured against baselines taken in the same run on the same machine:
//! process spawn for start time, and the broker's own produce and consume
//! rates (rdkafka, acks=all) for throughput.
//!
//! Run with `scripts/bench` (builds the release binary, starts the broker).

use rampart_tests::support;

#[allow(dead_code)]
mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::json;
use support::{
    await_deliveries, bootstrap, create_connector, eventually, free_port, rss_mb, send_queued,
    unique, worker_properties, WorkerProcess,
};

const RECORDS: usize = 300_000;
const STARTS: usize = 15;

fn payload(i: usize) -> String {
    format!("<34>Oct 11 22:14:15 fw01 sshd[4242]: Failed password for invalid user admin from 203.0.113.{} port 22 ssh2 #{i:07}", i % 250)
}

async fn broker_produce_rate(topic: &str) -> f64 {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("acks", "all")
        .set("linger.ms", "5")
        // Fail rather than hang when the broker is not there.
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    let start = Instant::now();
    let mut pending = std::collections::VecDeque::new();
    for i in 0..RECORDS {
        let value = payload(i);
        let rec: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).payload(value.as_bytes());
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
    RECORDS as f64 / start.elapsed().as_secs_f64()
}

async fn start_time() -> (Duration, Duration) {
    let mut worker_times = Vec::new();
    let mut spawn_times = Vec::new();
    for _ in 0..STARTS {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let props = worker_properties(dir.path(), port, &[]);
        let client = reqwest::Client::new();
        let t0 = Instant::now();
        let worker = WorkerProcess::start(dir.path(), &props, port, &[]);
        loop {
            if let Ok(r) = client.get(format!("{}/health", worker.url)).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        worker_times.push(t0.elapsed());
        drop(worker);
        let t0 = Instant::now();
        std::process::Command::new("true")
            .status()
            .expect("true runs");
        spawn_times.push(t0.elapsed());
    }
    worker_times.sort();
    spawn_times.sort();
    (worker_times[STARTS / 2], spawn_times[STARTS / 2])
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    println!("rampart worker benchmark ({RECORDS} records of ~120 bytes, 2-core machine)");

    let base_topic = unique("bench-base");
    let produce = broker_produce_rate(&base_topic).await;
    let consume = tokio::task::spawn_blocking(move || common::consume_rate(&base_topic, RECORDS).0)
        .await
        .expect("consume");
    println!("baseline: broker produce (rdkafka, acks=all) {produce:.0} records/s; consume {consume:.0} records/s");

    let (start, spawn) = start_time().await;
    println!(
        "start: process start to /health 200, median of {STARTS}: {:.1} ms (spawning /bin/true: {:.1} ms; target 100 ms)",
        start.as_secs_f64() * 1e3,
        spawn.as_secs_f64() * 1e3
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let pid = worker.pid();
    let empty_rss = rss_mb(pid);
    let client = reqwest::Client::new();
    for i in 0..10 {
        let file = dir.path().join(format!("idle-{i}.log"));
        std::fs::write(&file, "").expect("temp dir");
        let cfg = json!({"connector.class": "FileStreamSource", "file": file, "topic": unique("bench-idle")});
        let r = client
            .put(format!("{}/connectors/idle-{i}/config", worker.url))
            .json(&cfg)
            .send()
            .await
            .expect("answers");
        assert_eq!(r.status(), 201);
    }
    let url = worker.url.clone();
    eventually(
        "10 idle connectors running",
        Duration::from_secs(60),
        || async {
            let body: serde_json::Value = client
                .get(format!("{url}/connectors?expand=status"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let running = body
                .as_object()?
                .values()
                .filter(|c| c["status"]["tasks"][0]["state"] == "RUNNING")
                .count();
            (running == 10).then_some(())
        },
    )
    .await;
    // Let allocations settle after startup before reading RSS.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_mb(pid);
    println!(
        "idle RSS: {:.1} MB with 10 FileStream connectors ({:.1} MB with none; target 30 MB)",
        idle_rss, empty_rss
    );

    // Warm the pipeline with one line (so the sink's consumer group has
    // joined), then time the bulk from the moment it lands in the source file.
    let input = dir.path().join("pipeline.log");
    let output = dir.path().join("pipeline.out");
    std::fs::write(&input, "warm-up\n").expect("temp dir");
    let topic = unique("bench-pipeline");
    for (name, cfg) in [
        (
            "pipe-source",
            json!({"connector.class": "FileStreamSource", "topic": topic, "file": input}),
        ),
        (
            "pipe-sink",
            json!({"connector.class": "FileStreamSink", "topics": topic, "file": output}),
        ),
    ] {
        create_connector(&client, &worker.url, name, &cfg).await;
    }
    let lines_in = |path: std::path::PathBuf| {
        move || {
            let path = path.clone();
            async move {
                Some(
                    std::fs::read(&path)
                        .map(|b| b.iter().filter(|c| **c == b'\n').count())
                        .unwrap_or(0),
                )
            }
        }
    };
    let out = output.clone();
    eventually(
        "warm-up line delivered",
        Duration::from_secs(60),
        || async { (lines_in(out.clone())().await? >= 1).then_some(()) },
    )
    .await;
    let t0 = Instant::now();
    {
        let mut f = std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&input)
                .expect("temp dir"),
        );
        for i in 0..RECORDS {
            writeln!(f, "{}", payload(i)).expect("temp dir");
        }
    }
    eventually("pipeline complete", Duration::from_secs(600), || async {
        (lines_in(out.clone())().await? > RECORDS).then_some(())
    })
    .await;
    let elapsed = t0.elapsed();
    let rate = RECORDS as f64 / elapsed.as_secs_f64();
    let peak = rss_mb(pid);
    println!(
        "pipeline: FileStreamSource -> broker -> FileStreamSink {rate:.0} records/s end to end ({:.2} s), {:.2}x the broker's produce rate, {:.2}x its consume rate; RSS after {:.1} MB",
        elapsed.as_secs_f64(),
        rate / produce,
        rate / consume,
        peak
    );
    worker.terminate();
}
