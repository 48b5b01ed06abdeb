//! SigmaDetect throughput with 50 rules, on one core: the 8 rules of
//! `testdata/sigma/rules` (the brute-force correlation among them) plus 42
//! generated ones mixing `contains`, `startswith`, `endswith`, `re` and
//! `cidr`, over ECS records as `Normalize` writes them (sshd, sudo, process
//! starts, firewall accepts), a quarter of them tagged.
//!
//! `cargo bench -p rampart-security --bench detect` prints records per CPU
//! second for the transform, and for the alternative it avoids: converting
//! each record to `serde_json` to evaluate it through rsigma's `JsonEvent`
//! (`-- --transform` skips that one). Only the detection is timed: records
//! are built and cloned into a batch beforehand, and freed afterwards.

// Set-up that fails is the benchmark failing, as in a test.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use rampart_core::converter::JsonConverter;
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::Transformation;
use rampart_security::detect::SigmaDetect;
use rampart_security::fields::map;
use rsigma_eval::{Engine, JsonEvent};

// The rampart binary uses mimalloc; measure with the allocator that ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 256;
const RUN_FOR: Duration = Duration::from_millis(2000);
const ROUNDS: u32 = 5;

/// `cargo test --all-targets` runs this unoptimised: only check it works
/// there, the numbers would mean nothing.
fn run_for() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_millis(50)
    } else {
        RUN_FOR
    }
}

fn records() -> Vec<ConnectRecord> {
    fn s(text: &str) -> Value {
        Value::string(text)
    }
    let mut out = Vec::new();
    for i in 0..1024u32 {
        let ip = format!("203.0.{}.{}", (i / 7) % 256, i % 251);
        let at = format!("2026-12-10T07:{:02}:{:02}.000Z", (i / 60) % 60, i % 60);
        let sshd = |message: String, action: &str, outcome: &str, user: &str| {
            map([
                ("@timestamp", s(&at)),
                ("message", s(&message)),
                ("host", map([("name", s("web01"))])),
                (
                    "process",
                    map([("name", s("sshd")), ("pid", Value::Int64(24206))]),
                ),
                (
                    "event",
                    map([
                        ("module", s("sshd")),
                        ("action", s(action)),
                        ("outcome", s(outcome)),
                        ("category", Value::Array(vec![s("authentication")])),
                    ]),
                ),
                ("user", map([("name", s(user))])),
                (
                    "source",
                    map([("ip", s(&ip)), ("port", Value::Int64(40000 + i64::from(i)))]),
                ),
            ])
        };
        let value = match i % 12 {
            0 | 1 => sshd(
                format!("Failed password for root from {ip} port 22 ssh2"),
                "ssh_login",
                "failure",
                "root",
            ),
            2..=4 => sshd(
                format!("Accepted publickey for deploy from {ip} port 22 ssh2"),
                "ssh_login",
                "success",
                "deploy",
            ),
            5 => sshd(
                format!("Connection closed by {ip} port 22 [preauth]"),
                "ssh_connection_closed",
                "unknown",
                "",
            ),
            6 => map([
                ("@timestamp", s(&at)),
                (
                    "message",
                    s("alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/systemctl restart nginx"),
                ),
                (
                    "process",
                    map([
                        ("name", s("sudo")),
                        ("command_line", s("/bin/systemctl restart nginx")),
                    ]),
                ),
                ("user", map([("name", s("alice")), ("effective", map([("name", s("root"))]))])),
                ("event", map([("action", s("sudo")), ("category", Value::Array(vec![s("process")]))])),
            ]),
            7..=9 => map([
                ("@timestamp", s(&at)),
                ("message", s("process started")),
                (
                    "process",
                    map([
                        ("name", s("python3")),
                        ("executable", s("/usr/bin/python3")),
                        (
                            "command_line",
                            s(&format!("/usr/bin/python3 /opt/app/worker.py --queue jobs-{i}")),
                        ),
                        ("pid", Value::Int64(i64::from(4000 + i))),
                    ]),
                ),
                ("user", map([("name", s("app"))])),
                ("event", map([("category", Value::Array(vec![s("process")])), ("type", Value::Array(vec![s("start")]))])),
            ]),
            _ => map([
                ("@timestamp", s(&at)),
                ("message", s("iptables ACCEPT")),
                ("event", map([("action", s("accept")), ("category", Value::Array(vec![s("network")]))])),
                ("source", map([("ip", s(&ip)), ("port", Value::Int64(51515))])),
                ("destination", map([("ip", s("10.0.0.5")), ("port", Value::Int64(443))])),
                ("network", map([("transport", s("tcp"))])),
            ]),
        };
        out.push(ConnectRecord {
            topic: "ecs".to_string(),
            value,
            ..Default::default()
        });
    }
    out
}

/// CPU time this thread has run, where Linux tells it: the machine is
/// shared (2 cores, and builds run beside the benchmark), and time spent
/// descheduled is not the transform's.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Runs `apply` over batches of clones of `records` for `run_for()`;
/// returns records per CPU second (wall-clock second where the CPU time is
/// unknown) over the best of `ROUNDS`.
fn measure(records: &[ConnectRecord], mut apply: impl FnMut(&mut ConnectRecord)) -> f64 {
    let mut best = 0.0f64;
    let mut next = 0;
    for _ in 0..ROUNDS {
        let mut timed = Duration::ZERO;
        let mut done = 0u64;
        while timed < run_for() {
            let mut batch: Vec<ConnectRecord> = (0..BATCH)
                .map(|k| records[(next + k) % records.len()].clone())
                .collect();
            next = (next + BATCH) % records.len();
            let (cpu, wall) = (thread_cpu(), Instant::now());
            for record in &mut batch {
                apply(record);
            }
            timed += match (cpu, thread_cpu()) {
                (Some(before), Some(after)) => after.saturating_sub(before),
                _ => wall.elapsed(),
            };
            done += BATCH as u64;
            drop(black_box(batch));
        }
        best = best.max(done as f64 / timed.as_secs_f64());
    }
    best
}

fn main() {
    let rules = tempfile::tempdir().unwrap();
    common::fifty_rules(rules.path());
    let props = HashMap::from([(
        "rules.dir".to_string(),
        rules.path().to_str().unwrap().to_string(),
    )]);
    let detect = SigmaDetect::new(&props).unwrap();
    let records = records();

    let tagged = records
        .iter()
        .filter(|r| {
            let mut r = (*r).clone();
            detect.apply_in_place(&mut r).unwrap();
            rampart_security::fields::get(&r.value, "rampart.detections").is_some()
        })
        .count();
    println!(
        "SigmaDetect, 50 rules (1 correlation), {} ECS records, {:.0}% tagged",
        records.len(),
        100.0 * tagged as f64 / records.len() as f64
    );

    // `-- --records N` runs exactly N records, untimed: for counting
    // instructions (`valgrind --tool=callgrind`), which a shared machine
    // does not disturb as it does the clock.
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1)?.parse::<usize>().ok())
    {
        for k in 0..n {
            let mut r = records[k % records.len()].clone();
            black_box(detect.apply_in_place(&mut r).unwrap());
        }
        println!("  {n} records run");
        return;
    }

    let rate = measure(&records, |r| {
        black_box(detect.apply_in_place(r).unwrap());
    });
    println!(
        "  transform (borrowed record):    {:>10.0} records/s  {:>6.0} ns/record",
        rate,
        1e9 / rate
    );

    // `-- --transform` stops here, for profiling.
    if std::env::args().any(|a| a == "--transform") {
        return;
    }

    // The alternative: rsigma's own event type, over a serde_json copy.
    let collection = rsigma_parser::parse_sigma_directory(rules.path()).unwrap();
    let mut engine = Engine::new();
    engine.add_collection(&collection).unwrap();
    let converter = JsonConverter::schemaless();
    let rate = measure(&records, |r| {
        let json = converter.to_json(None, &r.value).unwrap();
        black_box(engine.evaluate(&JsonEvent::borrow(&json)));
    });
    println!(
        "  serde_json copy + JsonEvent:    {:>10.0} records/s  {:>6.0} ns/record",
        rate,
        1e9 / rate
    );
}
