//! Rampart against Java Kafka Connect 3.9, side by side in one run on the
//! same Apache Kafka broker, with Java started as `connect-standalone.sh`
//! starts it (Kafka's heap and G1 options):
//! - start to a healthy REST API (median of several starts);
//! - idle RSS;
//! - FileStreamSource -> topic -> FileStreamSink of 1,000,000 lines: time,
//!   CPU seconds and peak RSS;
//! - a 5-transform chain on 1,000,000 records (source side, JSON out):
//!   time, CPU seconds and peak RSS.
//!
//! Every figure is reported with its Rampart / Java ratio. Run with
//! `scripts/bench` (release binary, broker, Java Connect jars).

use rampart_tests::support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::{json, Value};
use support::{
    bootstrap, create_connector, free_port, proc_status_kb, unique, worker_properties, JavaConnect,
    WorkerProcess,
};

const LINES: usize = 1_000_000;
const STARTS: usize = 5;

/// One worker of either kind.
enum Worker {
    Java(JavaConnect),
    Rampart(WorkerProcess),
}

impl Worker {
    async fn start(java: bool, dir: &Path) -> (Self, Duration) {
        let port = free_port();
        let props = worker_properties(dir, port, &[("offset.flush.interval.ms", "10000")]);
        let t0 = Instant::now();
        let worker = if java {
            Worker::Java(JavaConnect::start(dir, &props, port, None).await)
        } else {
            let mut w = WorkerProcess::start(dir, &props, port, &[]);
            w.wait_healthy().await;
            Worker::Rampart(w)
        };
        // JavaConnect::start waits for `/`; both must answer /health.
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/health", worker.url())).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        (worker, t0.elapsed())
    }

    fn url(&self) -> String {
        match self {
            Worker::Java(j) => j.url.clone(),
            Worker::Rampart(r) => r.url.clone(),
        }
    }

    fn pid(&self) -> u32 {
        match self {
            Worker::Java(j) => j.pid(),
            Worker::Rampart(r) => r.pid(),
        }
    }

    /// User plus system CPU seconds used so far.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start at ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15, the 12th and 13th after ')'.
        (ticks(11) + ticks(12)) / 100.0
    }

    fn rss_mb(&self) -> f64 {
        proc_status_kb(self.pid(), "VmRSS:") as f64 / 1024.0
    }

    fn peak_rss_mb(&self) -> f64 {
        proc_status_kb(self.pid(), "VmHWM:") as f64 / 1024.0
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn write_input(path: &Path) -> u64 {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("writable"));
    for i in 0..LINES {
        writeln!(
            f,
            "<34>Oct 11 22:14:15 fw01 sshd[4242]: Failed password for invalid user admin from 203.0.113.{} port 22 ssh2 #{i:07}",
            i % 250
        )
        .expect("writable");
    }
    f.flush().expect("writable");
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

async fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} not done in {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn topic_end(consumer: &BaseConsumer, topic: &str) -> i64 {
    consumer
        .fetch_watermarks(topic, 0, Duration::from_secs(5))
        .map(|(_, high)| high)
        .unwrap_or(0)
}

struct Run {
    seconds: f64,
    cpu: f64,
    peak_mb: f64,
}

/// FileStreamSource -> topic -> FileStreamSink, until the output file holds
/// every byte of the input.
async fn file_pipeline(java: bool, input: &Path, size: u64) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let (worker, _) = Worker::start(java, dir.path()).await;
    let client = reqwest::Client::new();
    let topic = unique("bench-file");
    let output: PathBuf = dir.path().join("out.txt");
    let cpu0 = worker.cpu_seconds();
    let t0 = Instant::now();
    create_connector(
        &client,
        &worker.url(),
        "src",
        &json!({"connector.class": "FileStreamSource", "file": input, "topic": topic}),
    )
    .await;
    create_connector(
        &client,
        &worker.url(),
        "sink",
        &json!({"connector.class": "FileStreamSink", "file": output, "topics": topic}),
    )
    .await;
    wait_until("file pipeline", Duration::from_secs(900), || {
        std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0) >= size
    })
    .await;
    Run {
        seconds: t0.elapsed().as_secs_f64(),
        cpu: worker.cpu_seconds() - cpu0,
        peak_mb: worker.peak_rss_mb(),
    }
}

/// A source with five transforms, until the topic holds every record.
async fn smt_chain(java: bool, input: &Path) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let (worker, _) = Worker::start(java, dir.path()).await;
    let client = reqwest::Client::new();
    let topic = unique("bench-smt");
    let config: Value = json!({
        "connector.class": "FileStreamSource", "file": input, "topic": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "transforms": "hoist,insert,rename,header,route",
        "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
        "transforms.hoist.field": "message",
        "transforms.insert.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.insert.static.field": "observer", "transforms.insert.static.value": "fw01",
        "transforms.rename.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
        "transforms.rename.renames": "message:event.original",
        "transforms.header.type": "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.header.header": "pipeline", "transforms.header.value.literal": "bench",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)", "transforms.route.replacement": "$1-out",
    });
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("bench-watch"))
        .create()
        .expect("consumer");
    let out = format!("{topic}-out");
    let cpu0 = worker.cpu_seconds();
    let t0 = Instant::now();
    create_connector(&client, &worker.url(), "chain", &config).await;
    wait_until("transform chain", Duration::from_secs(900), || {
        topic_end(&consumer, &out) >= LINES as i64
    })
    .await;
    Run {
        seconds: t0.elapsed().as_secs_f64(),
        cpu: worker.cpu_seconds() - cpu0,
        peak_mb: worker.peak_rss_mb(),
    }
}

fn report(what: &str, unit: &str, rampart: f64, java: f64) {
    println!(
        "  {what}: rampart {rampart:.2} {unit}, java {java:.2} {unit}, rampart/java {:.3}",
        rampart / java
    );
}

#[tokio::main]
async fn main() {
    println!(
        "Rampart vs Java Kafka Connect 3.9.1 (Kafka's JVM options), broker {}",
        bootstrap()
    );

    let (mut starts_r, mut starts_j, mut idle_r, mut idle_j) = (vec![], vec![], vec![], vec![]);
    for _ in 0..STARTS {
        for java in [false, true] {
            let dir = tempfile::tempdir().expect("temp dir");
            let (worker, took) = Worker::start(java, dir.path()).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let rss = worker.rss_mb();
            if java {
                starts_j.push(took.as_secs_f64() * 1000.0);
                idle_j.push(rss);
            } else {
                starts_r.push(took.as_secs_f64() * 1000.0);
                idle_r.push(rss);
            }
        }
    }
    println!("start and idle ({STARTS} starts each, medians):");
    report(
        "start to healthy /health",
        "ms",
        median(starts_r),
        median(starts_j),
    );
    report("idle RSS", "MB", median(idle_r), median(idle_j));

    let input_dir = tempfile::tempdir().expect("temp dir");
    let input = input_dir.path().join("in.txt");
    let size = write_input(&input);
    println!(
        "FileStreamSource -> topic -> FileStreamSink, {LINES} lines ({:.0} MB):",
        size as f64 / 1e6
    );
    let r = file_pipeline(false, &input, size).await;
    let j = file_pipeline(true, &input, size).await;
    report("wall time", "s", r.seconds, j.seconds);
    report("CPU time", "s", r.cpu, j.cpu);
    report("peak RSS", "MB", r.peak_mb, j.peak_mb);

    println!("5-transform chain (HoistField, InsertField, ReplaceField, InsertHeader, RegexRouter; JSON out), {LINES} records:");
    let r = smt_chain(false, &input).await;
    let j = smt_chain(true, &input).await;
    report("wall time", "s", r.seconds, j.seconds);
    report("CPU time", "s", r.cpu, j.cpu);
    report("peak RSS", "MB", r.peak_mb, j.peak_mb);
}
