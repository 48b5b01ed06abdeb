//! Syslog over TCP end to end (issue 3): a sender writes RFC 3164 lines over
//! several TCP connections, and the run ends when every line is counted on
//! the topic (the sum of its high watermarks). The same sender, broker and
//! line set then drive rsyslog with `imtcp` → `omkafka`, the classic agent,
//! in the same run. Throughput per core is lines divided by the CPU seconds
//! the receiving process used (utime + stime from /proc), so the two are
//! compared on the work they did, not on how the scheduler shared 2 cores.
//!
//! Run with `scripts/bench`: it installs rsyslog-kafka and a modern
//! librdkafka for it (Debian's 2.0.2 cannot talk to the broker) into
//! `.tools/lib`, which this bench passes to rsyslogd as LD_LIBRARY_PATH.

use rampart_tests::support;

#[allow(dead_code)]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::peak_rss_mb;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;
use support::{
    bootstrap, create_connector, eventually, free_port, unique, worker_properties, WorkerProcess,
};
use tokio::io::AsyncWriteExt;

const LINES: usize = 400_000;
const CONNECTIONS: usize = 4;
const ROUNDS: usize = 5;

/// The run with the median lines per CPU second.
fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.per_core().total_cmp(&b.per_core()));
    runs.swap_remove(runs.len() / 2)
}

/// Real sshd lines from loghub, given a PRI and an ISO-free BSD header so
/// both receivers parse them the same way; ~200 bytes each with padding.
fn lines() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/loghub/OpenSSH_2k.log");
    let text = std::fs::read_to_string(root).expect("loghub sample is checked in");
    let real: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    (0..LINES)
        .map(|i| {
            let l = real[i % real.len()];
            // "Dec 10 06:55:46 LabSZ sshd[24200]: ..." already has a BSD header.
            format!("<38>{l} seq={i:07}\n").into_bytes()
        })
        .collect()
}

/// Sends every line, split round-robin over `CONNECTIONS` connections.
async fn send(port: u16, lines: &[Vec<u8>]) {
    let mut handles = Vec::new();
    for c in 0..CONNECTIONS {
        let mut buf = Vec::new();
        for l in lines.iter().skip(c).step_by(CONNECTIONS) {
            buf.extend_from_slice(l);
        }
        handles.push(tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("receiver listens");
            s.write_all(&buf).await.expect("receiver reads");
            s.shutdown().await.expect("clean close");
        }));
    }
    for h in handles {
        h.await.expect("sender");
    }
}

/// Counts the records on every partition of `topic`, reading from the
/// beginning. Counting by consuming, not by high watermarks: the test broker
/// (Tansu) answers ListOffsets for the latest offset with 0.
fn spawn_counter(topic: &str) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let (topic, counted) = (topic.to_string(), count.clone());
    std::thread::spawn(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap())
            .set("group.id", unique("bench-count"))
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        // The receiver creates the topic with its first record.
        let partitions = loop {
            let md = consumer
                .fetch_metadata(Some(&topic), Duration::from_secs(10))
                .expect("metadata");
            let ids: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
            if !ids.is_empty() {
                break ids;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut tpl = TopicPartitionList::new();
        for p in partitions {
            tpl.add_partition_offset(&topic, p, Offset::Beginning)
                .expect("partition");
        }
        consumer.assign(&tpl).expect("assign");
        // Ends with the process; the bench exits once it has its count.
        loop {
            if let Some(Ok(_)) = consumer.poll(Duration::from_millis(100)) {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    count
}

async fn wait_count(count: &AtomicUsize, want: usize, what: &str) {
    eventually(what, Duration::from_secs(600), || async {
        (count.load(Ordering::Relaxed) >= want).then_some(())
    })
    .await;
}

#[derive(Clone, Copy)]
struct ProcStat {
    cpu_ticks: u64,
}

fn proc_stat(pid: u32) -> ProcStat {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process alive");
    // Fields after the ")" that ends the command name: utime is field 14,
    // stime 15 (1-based), so 11 and 12 after state.
    let rest = &s[s.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f[i].parse::<u64>().expect("stat number");
    ProcStat {
        cpu_ticks: ticks(11) + ticks(12),
    }
}

struct Run {
    wall: Duration,
    cpu: Duration,
    peak_rss_mb: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        LINES as f64 / self.wall.as_secs_f64()
    }
    fn per_core(&self) -> f64 {
        LINES as f64 / self.cpu.as_secs_f64()
    }
}

/// Warms the receiver with one line (topic created, producer connected),
/// then times the bulk.
async fn measure(pid: u32, port: u16, topic: &str, lines: &[Vec<u8>], who: &str) -> Run {
    send(
        port,
        &[b"<38>Dec 10 06:55:46 LabSZ bench: warm-up\n".to_vec()],
    )
    .await;
    // The topic exists once the warm-up line is on it.
    let count = spawn_counter(topic);
    wait_count(&count, 1, &format!("{who}: warm-up line")).await;
    let before = proc_stat(pid);
    let t0 = Instant::now();
    send(port, lines).await;
    wait_count(&count, LINES + 1, &format!("{who}: every line")).await;
    let wall = t0.elapsed();
    let after = proc_stat(pid);
    Run {
        wall,
        cpu: Duration::from_millis((after.cpu_ticks - before.cpu_ticks) * 10),
        peak_rss_mb: peak_rss_mb(pid),
    }
}

async fn rampart(lines: &[Vec<u8>]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let topic = unique("bench-syslog-rampart");
    let syslog_port = free_port();
    let cfg = json!({
        "connector.class": "SyslogSource",
        "syslog.listener": "TCP",
        "syslog.listen.address": "127.0.0.1",
        "syslog.port": syslog_port,
        "topic": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    create_connector(&reqwest::Client::new(), &worker.url, "bench-syslog", &cfg).await;
    // The listener is up once a connection is accepted.
    eventually("syslog listener", Duration::from_secs(60), || async {
        std::net::TcpStream::connect(("127.0.0.1", syslog_port))
            .ok()
            .map(|_| ())
    })
    .await;
    let run = measure(worker.pid(), syslog_port, &topic, lines, "rampart").await;
    worker.terminate();
    run
}

fn rsyslogd() -> PathBuf {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("rsyslog is installed (scripts/bench installs it)")
}

struct Rsyslog {
    child: Child,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// rsyslog's output: the message as received (its default), or JSON with
/// the same field names and parsing work as the syslog source's value.
#[derive(Clone, Copy)]
enum RsyslogOutput {
    Raw,
    Json,
}

/// omkafka's producer settings. `Same` is what the worker's source producer
/// runs with: acks=all, idempotence (Kafka Connect's default since 3.0,
/// which drops retry duplicates), one request in flight (Connect's, which
/// keeps order), linger 5 ms. `Defaults` is acks=all and a 5 ms linger with
/// librdkafka's defaults otherwise: no idempotence, many requests in
/// flight, no ordering guarantee on retries. The comparison shows both.
#[derive(Clone, Copy)]
enum RsyslogProducer {
    Same,
    Defaults,
}

// Confluent's value fields that rsyslog has properties for; the same parse
// and JSON rendering the syslog source does per message.
const JSON_TEMPLATE: &str = r#"template(name="confluent" type="list" option.jsonf="on") {
  constant(outname="type" value="RFC3164" format="jsonf")
  property(outname="date" name="timereported" dateformat="unixtimestamp" format="jsonf" datatype="number")
  property(outname="facility" name="syslogfacility" format="jsonf" datatype="number")
  property(outname="level" name="syslogseverity" format="jsonf" datatype="number")
  property(outname="host" name="hostname" format="jsonf")
  property(outname="appName" name="app-name" format="jsonf")
  property(outname="processId" name="procid" format="jsonf")
  property(outname="messageId" name="msgid" format="jsonf")
  property(outname="structuredData" name="structured-data" format="jsonf")
  property(outname="message" name="msg" format="jsonf")
  property(outname="rawMessage" name="rawmsg" format="jsonf")
  property(outname="remoteAddress" name="fromhost-ip" format="jsonf")
  property(outname="tag" name="syslogtag" format="jsonf")
  property(outname="receivedDate" name="timegenerated" dateformat="unixtimestamp" format="jsonf" datatype="number")
}
"#;

async fn rsyslog(lines: &[Vec<u8>], output: RsyslogOutput, producer: RsyslogProducer) -> Run {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/lib");
    assert!(
        lib.join("librdkafka.so.1").exists(),
        "{} needs librdkafka.so.1 (scripts/bench puts it there)",
        lib.display()
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let topic = unique("bench-syslog-rsyslog");
    let conf = dir.path().join("rsyslog.conf");
    let conf_params = match producer {
        RsyslogProducer::Same => {
            r#""queue.buffering.max.ms=5", "acks=all", "enable.idempotence=true", "max.in.flight.requests.per.connection=1""#
        }
        RsyslogProducer::Defaults => r#""queue.buffering.max.ms=5", "acks=all""#,
    };
    let (template, use_template) = match output {
        RsyslogOutput::Raw => ("", ""),
        RsyslogOutput::Json => (JSON_TEMPLATE, r#" template="confluent""#),
    };
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imtcp")
module(load="omkafka")
{template}
ruleset(name="tokafka") {{
  action(type="omkafka" broker=["{broker}"] topic="{topic}" partitions.auto="on"{use_template}
         confParam=[{conf_params}] resubmitOnFailure="on")
}}
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="tokafka")
"#,
            work = dir.path().display(),
            broker = bootstrap(),
        ),
    )
    .expect("temp dir");
    let child = Command::new(rsyslogd())
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.path().join("rsyslog.pid"))
        .env("LD_LIBRARY_PATH", &lib)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rsyslogd starts");
    let rsyslog = Rsyslog { child };
    eventually("rsyslog listener", Duration::from_secs(60), || async {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    })
    .await;
    measure(rsyslog.child.id(), port, &topic, lines, "rsyslog").await
}

fn report(who: &str, run: &Run) {
    println!(
        "{who}: {:.0} lines/s end to end ({:.2} s wall), {:.2} CPU s = {:.0} lines per CPU second, peak RSS {:.1} MB",
        run.rate(),
        run.wall.as_secs_f64(),
        run.cpu.as_secs_f64(),
        run.per_core(),
        run.peak_rss_mb
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let lines = lines();
    let bytes: usize = lines.iter().map(Vec::len).sum();
    println!(
        "syslog over TCP end to end: {LINES} lines (avg {} B) over {CONNECTIONS} connections → broker",
        bytes / LINES
    );
    // Rounds alternate the receivers, so a slow spell of this shared VM
    // (runs vary by 15%) hits each of them; the median round is compared.
    let mut rounds: [Vec<Run>; 4] = Default::default();
    for round in 1..=ROUNDS {
        println!("round {round} of {ROUNDS}");
        let ours = rampart(&lines).await;
        report("  rampart (syslog source, JSON values)", &ours);
        let json = rsyslog(&lines, RsyslogOutput::Json, RsyslogProducer::Same).await;
        report(
            "  rsyslog (imtcp → omkafka, JSON template, same producer settings)",
            &json,
        );
        let json_defaults = rsyslog(&lines, RsyslogOutput::Json, RsyslogProducer::Defaults).await;
        report(
            "  rsyslog (imtcp → omkafka, JSON template, not idempotent)",
            &json_defaults,
        );
        let raw = rsyslog(&lines, RsyslogOutput::Raw, RsyslogProducer::Same).await;
        report(
            "  rsyslog (imtcp → omkafka, raw message, same producer settings)",
            &raw,
        );
        for (all, run) in rounds.iter_mut().zip([ours, json, json_defaults, raw]) {
            all.push(run);
        }
    }
    // Each round's receivers ran back to back under the same conditions,
    // so the per-round ratios are compared, not the ratio of medians.
    let ratios = |theirs: &[Run], rate: fn(&Run) -> f64| {
        let mut r: Vec<f64> = rounds[0]
            .iter()
            .zip(theirs)
            .map(|(o, t)| rate(o) / rate(t))
            .collect();
        r.sort_by(f64::total_cmp);
        r
    };
    for (what, theirs) in [
        ("JSON, same producer settings", &rounds[1]),
        ("JSON, not idempotent", &rounds[2]),
        ("raw, same producer settings", &rounds[3]),
    ] {
        let cpu = ratios(theirs, Run::per_core);
        let wall = ratios(theirs, Run::rate);
        println!(
            "ratio rampart / rsyslog {what}: median {:.2}x per CPU second (rounds {:.2}-{:.2}), median {:.2}x wall-clock rate ({:.2}-{:.2})",
            cpu[cpu.len() / 2],
            cpu[0],
            cpu[cpu.len() - 1],
            wall[wall.len() / 2],
            wall[0],
            wall[wall.len() - 1],
        );
    }
    let [ours, json, json_defaults, raw] = rounds.map(median);
    println!("median of {ROUNDS} rounds, by lines per CPU second:");
    report("  rampart", &ours);
    report("  rsyslog JSON, same producer settings", &json);
    report("  rsyslog JSON, not idempotent", &json_defaults);
    report("  rsyslog raw, same producer settings", &raw);
    println!(
        "rampart peak RSS {:.1} MB (target < 100 MB)",
        ours.peak_rss_mb
    );
}
