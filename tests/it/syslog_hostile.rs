//! Hostile senders against the syslog listeners (issue 17): slow senders
//! that never finish a message (slowloris), a flood of connections, and
//! 1 MB lines, one of them endless. The worker runs as a process of its own,
//! so its memory and sockets are read from /proc: a connection counts when
//! it is one of the worker's sockets (`/proc/<pid>/fd`) with the syslog
//! port as its local port (`/proc/<pid>/net/tcp`), so the worker's Kafka
//! and REST sockets do not blur the count.
//!
//! The bounds under test: `syslog.max.connections` connections are
//! accepted and the rest wait in the kernel's accept queue; each holds at
//! most `syslog.max.message.bytes` of an unfinished message; a longer one
//! is truncated or dropped and counted; a connection that completes no
//! message in `syslog.idle.timeout.ms` is closed, however it trickles; a
//! TLS handshake must finish in 10 s.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::errors_dlq::partition0_consumer;
use crate::support::{
    bootstrap, create_connector, eventually, free_port, json, metric, rss_mb, starve_accepts,
    unique, worker_properties, WorkerProcess,
};
use crate::syslog::running;
use crate::syslog_relp::RelpClient;

const CONNECTOR: &str = "hostile";

/// Worse than this and a hostile sender has grown the worker: the figures
/// measured are a few MB (see the tests' output).
const RSS_GROWTH_LIMIT_MB: f64 = 40.0;

/// A worker process running one syslog source connector.
struct Listener {
    worker: WorkerProcess,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
    port: u16,
    topic: String,
}

impl Listener {
    /// A worker with the connector running: `listener` is its
    /// `syslog.listener`, `settings` its other keys.
    async fn start(listener: &str, settings: Value) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let rest = free_port();
        let props = worker_properties(dir.path(), rest, &[]);
        let mut worker = WorkerProcess::start(dir.path(), &props, rest, &[]);
        worker.wait_healthy().await;
        let client = reqwest::Client::new();
        let port = free_port();
        let topic = unique("hostile");
        let mut config = json!({
            "connector.class": "SyslogSource", "syslog.listener": listener,
            "syslog.listen.address": "127.0.0.1", "syslog.port": port, "topic": topic,
            "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
        });
        for (k, v) in settings.as_object().expect("settings are an object") {
            config[k] = v.clone();
        }
        create_connector(&client, &worker.url, CONNECTOR, &config).await;
        running(&client, &worker.url, CONNECTOR, 1).await;
        Listener {
            worker,
            _dir: dir,
            client,
            port,
            topic,
        }
    }

    fn pid(&self) -> u32 {
        self.worker.pid()
    }

    fn sockets(&self) -> Sockets {
        syslog_sockets(self.pid(), self.port)
    }

    /// The task's `rampart_connector_task_syslog_<name>` counter.
    async fn counter(&self, name: &str) -> Option<u64> {
        metric(
            &self.client,
            &self.worker.url,
            &format!("rampart_connector_task_syslog_{name}"),
            CONNECTOR,
        )
        .await
    }

    /// Waits until the counter reaches `n`; its value then.
    async fn counter_reaches(&self, name: &str, n: u64) -> u64 {
        eventually(
            &format!("syslog_{name} to reach {n}"),
            Duration::from_secs(30),
            || async { self.counter(name).await.filter(|v| *v >= n) },
        )
        .await
    }

    /// Waits until the task's status carries a warning containing `text`.
    async fn warning_says(&self, text: &str) {
        eventually(
            "the warning in the task status",
            Duration::from_secs(30),
            || async {
                let resp = self
                    .client
                    .get(format!("{}/connectors/{CONNECTOR}/status", self.worker.url))
                    .send()
                    .await
                    .ok()?;
                let (_, status) = json(resp).await;
                status["tasks"][0]["trace"]
                    .as_str()
                    .is_some_and(|t| t.contains(text))
                    .then_some(())
            },
        )
        .await;
    }

    /// The `message` fields on the topic, read until `done` holds for them
    /// (or a minute passes).
    async fn messages_until(
        &self,
        done: impl Fn(&[String]) -> bool + Send + 'static,
    ) -> Vec<String> {
        let topic = self.topic.clone();
        tokio::task::spawn_blocking(move || {
            let consumer = partition0_consumer(&bootstrap(), &topic);
            let mut out = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !done(&out) && Instant::now() < deadline {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                    let value: Value =
                        serde_json::from_slice(m.payload().unwrap_or_default()).unwrap_or_default();
                    out.push(value["message"].as_str().unwrap_or_default().to_string());
                }
            }
            out
        })
        .await
        .expect("topic reader")
    }
}

/// The worker's sockets on the syslog port.
#[derive(Debug, Clone, Copy)]
struct Sockets {
    /// Connections the worker accepted and holds open.
    accepted: usize,
    /// Connections the kernel completed that wait in the accept queue (the
    /// worker has no descriptor for them yet).
    queued: usize,
}

fn syslog_sockets(pid: u32, port: u16) -> Sockets {
    let own: HashSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| {
            let link = std::fs::read_link(fd.path()).ok()?;
            let link = link.to_str()?;
            link.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    // Counted by inode, or by peer address for queued ones (which have no
    // inode yet): the kernel lists the table a page per read and resumes by
    // position, so a row can come twice while sockets come and go.
    let (mut accepted, mut queued) = (HashSet::new(), HashSet::new());
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        // `sl local_address rem_address st … inode`; addresses are hex
        // `ADDR:PORT`, state 0A is LISTEN and 01 ESTABLISHED.
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state), Some(inode)) =
                (fields.get(1), fields.get(2), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port != Some(port) || *state == "0A" {
                continue;
            }
            let inode: u64 = inode.parse().unwrap_or(0);
            if own.contains(&inode) {
                accepted.insert(inode);
            } else if inode == 0 && *state == "01" {
                queued.insert(remote.to_string());
            }
        }
    }
    Sockets {
        accepted: accepted.len(),
        queued: queued.len(),
    }
}

/// The largest figures seen while sampling.
#[derive(Debug, Default, Clone, Copy)]
struct Peak {
    accepted: usize,
    queued: usize,
    rss_mb: f64,
}

/// Samples the worker's syslog sockets and memory every 20 ms, on a thread
/// of its own, until finished.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Peak>,
}

impl Sampler {
    fn start(pid: u32, port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak = Peak::default();
            while !stopped.load(Ordering::Relaxed) {
                let s = syslog_sockets(pid, port);
                peak.accepted = peak.accepted.max(s.accepted);
                peak.queued = peak.queued.max(s.queued);
                peak.rss_mb = peak.rss_mb.max(rss_mb(pid));
                // A sampling interval, not a wait for anything.
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        Sampler { stop, thread }
    }

    fn finish(self) -> Peak {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler does not panic")
    }
}

/// How a slowloris sender opens its connection before trickling.
#[derive(Clone, Copy)]
enum Slow {
    /// Plain TCP: the start of a line that never ends.
    Line,
    /// RELP: the header of a frame announcing 60,000 bytes.
    RelpFrame,
    /// TLS: a handshake record header announcing a 512-byte ClientHello.
    TlsHello,
}

impl Slow {
    fn opening(self) -> &'static [u8] {
        match self {
            Slow::Line => b"<13>1 - slowloris app - - - never ends ",
            Slow::RelpFrame => b"1 syslog 60000 <13>1 - slowloris app - - - ",
            Slow::TlsHello => &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01],
        }
    }
}

/// A slowloris sender: connects, sends the opening and then a byte every
/// 250 ms, never finishing; when the worker closes it, it connects again.
/// Returns how many connections it made.
async fn slowloris(port: u16, kind: Slow, mut stop: watch::Receiver<bool>) -> usize {
    let mut made = 0;
    while !*stop.borrow() {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else {
            continue;
        };
        made += 1;
        if stream.write_all(kind.opening()).await.is_err() {
            continue;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut answer = [0u8; 512];
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if stream.write_all(b"x").await.is_err() {
                        break;
                    }
                }
                // Closed by the worker (end of stream, or a reset).
                r = stream.read(&mut answer) => if matches!(r, Ok(0) | Err(_)) {
                    break;
                },
                _ = stop.changed() => return made,
            }
        }
    }
    made
}

/// Starts `n` slowloris senders; the sender stops them all.
fn slowloris_senders(
    port: u16,
    kind: Slow,
    n: usize,
) -> (watch::Sender<bool>, Vec<tokio::task::JoinHandle<usize>>) {
    let (stop, stopped) = watch::channel(false);
    let senders = (0..n)
        .map(|_| tokio::spawn(slowloris(port, kind, stopped.clone())))
        .collect();
    (stop, senders)
}

async fn connections_made(senders: Vec<tokio::task::JoinHandle<usize>>) -> usize {
    let mut made = 0;
    for s in senders {
        made += s.await.expect("slowloris sender does not panic");
    }
    made
}

/// Lines with `marker` and a number from 0 to n-1.
fn good_lines(marker: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("<13>1 - good app - - - {marker} {i:03}"))
        .collect()
}

/// Sends `n` well-formed lines marked "good" over a new TCP connection.
async fn send_good(port: u16, n: usize) {
    let mut good = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let text: String = good_lines("good", n)
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    good.write_all(text.as_bytes()).await.expect("sent");
    good.shutdown().await.expect("closed");
}

fn all_of(marker: &'static str, n: usize) -> impl Fn(&[String]) -> bool + Send + 'static {
    move |got| got.iter().filter(|m| m.starts_with(marker)).count() >= n
}

/// Twice `syslog.max.connections` slowloris senders take every slot; each
/// completes no message, so each is closed after `syslog.idle.timeout.ms`
/// however often it sends a byte. A well-behaved sender queued behind them
/// is served while they keep coming back, and the worker never holds more
/// than the limit.
async fn slowloris_is_bounded(listener: &str, kind: Slow) {
    const MAX_CONNECTIONS: usize = 16;
    const IDLE_MS: u64 = 2000;
    let syslog = Listener::start(
        listener,
        json!({"syslog.max.connections": MAX_CONNECTIONS, "syslog.idle.timeout.ms": IDLE_MS}),
    )
    .await;
    let before = rss_mb(syslog.pid());
    let sampler = Sampler::start(syslog.pid(), syslog.port);
    let (stop, senders) = slowloris_senders(syslog.port, kind, 2 * MAX_CONNECTIONS);
    eventually(
        "the slowloris senders to take every connection slot",
        Duration::from_secs(30),
        || async { (syslog.sockets().accepted >= MAX_CONNECTIONS).then_some(()) },
    )
    .await;

    // A well-behaved sender, queued behind the slowloris senders.
    const GOOD: usize = 20;
    let started = Instant::now();
    match kind {
        Slow::Line => send_good(syslog.port, GOOD).await,
        Slow::RelpFrame => {
            let mut good = RelpClient::connect(syslog.port).await;
            good.send(
                1,
                "open",
                "relp_version=0\nrelp_software=test\ncommands=syslog",
            )
            .await;
            for (i, line) in good_lines("good", GOOD).iter().enumerate() {
                good.send(i as u64 + 2, "syslog", line).await;
            }
            let answers = tokio::time::timeout(Duration::from_secs(40), async {
                let mut answers = Vec::new();
                for _ in 0..=GOOD {
                    answers.push(good.answer().await);
                }
                answers
            })
            .await
            .expect("the well-behaved RELP sender was answered");
            assert!(
                answers.iter().skip(1).all(|(_, a)| a == "200 OK"),
                "{answers:?}"
            );
        }
        Slow::TlsHello => unreachable!("TLS has a test of its own"),
    }
    let got = syslog.messages_until(all_of("good", GOOD)).await;
    let served_in = started.elapsed();
    let good: BTreeSet<&String> = got.iter().filter(|m| m.starts_with("good")).collect();
    assert_eq!(good.len(), GOOD, "the well-behaved sender's lines: {got:?}");

    stop.send(true).expect("senders listen");
    let made = connections_made(senders).await;
    let peak = sampler.finish();
    let after = rss_mb(syslog.pid());
    let accepted = syslog.counter("connections_total").await.unwrap_or(0);
    eprintln!(
        "slowloris over {listener}: {} senders made {made} connections, the worker accepted {accepted}; \
         at most {} open at once (syslog.max.connections={MAX_CONNECTIONS}), {} queued in the kernel; \
         a well-behaved sender queued behind them was served in {:.1} s; \
         worker RSS {before:.1} MB, peak {:.1} MB, after {after:.1} MB",
        2 * MAX_CONNECTIONS,
        peak.accepted,
        peak.queued,
        served_in.as_secs_f64(),
        peak.rss_mb,
    );
    assert!(
        peak.accepted <= MAX_CONNECTIONS,
        "{} connections open at once, over syslog.max.connections={MAX_CONNECTIONS}",
        peak.accepted
    );
    assert!(
        made > 2 * MAX_CONNECTIONS,
        "the worker closed no slowloris connection ({made} made)"
    );
    assert!(
        peak.rss_mb - before < RSS_GROWTH_LIMIT_MB,
        "worker RSS grew from {before:.1} MB to {:.1} MB",
        peak.rss_mb
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_over_tcp_cannot_hold_connections_past_the_idle_timeout() {
    slowloris_is_bounded("TCP", Slow::Line).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_over_relp_cannot_hold_connections_past_the_idle_timeout() {
    slowloris_is_bounded("RELP", Slow::RelpFrame).await;
}

/// Senders trickling a ClientHello are dropped when the TLS handshake
/// times out (10 s, whatever `syslog.idle.timeout.ms` says), so a sender
/// with a real handshake gets a slot.
#[tokio::test(flavor = "multi_thread")]
async fn slowloris_in_the_tls_handshake_is_dropped_at_the_handshake_timeout() {
    const MAX_CONNECTIONS: usize = 8;
    let certs = tempfile::tempdir().expect("temp dir");
    let (ca_cert, ca_key) = crate::syslog::certificate(certs.path(), "ca", None);
    let (cert, key) = crate::syslog::certificate(
        certs.path(),
        "server",
        Some((ca_cert.as_path(), ca_key.as_path())),
    );
    let syslog = Listener::start(
        "TCPSSL",
        json!({
            "syslog.max.connections": MAX_CONNECTIONS,
            "syslog.ssl.cert.chain.path": cert.to_str(), "syslog.ssl.key.path": key.to_str(),
        }),
    )
    .await;
    let before = rss_mb(syslog.pid());
    let sampler = Sampler::start(syslog.pid(), syslog.port);
    // A few more than the slots: the well-behaved sender waits for one
    // round of handshake timeouts, not several.
    let (stop, senders) = slowloris_senders(syslog.port, Slow::TlsHello, MAX_CONNECTIONS + 4);
    eventually(
        "the slowloris senders to take every connection slot",
        Duration::from_secs(30),
        || async { (syslog.sockets().accepted >= MAX_CONNECTIONS).then_some(()) },
    )
    .await;
    const GOOD: usize = 20;
    let text: String = good_lines("good", GOOD)
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let started = Instant::now();
    let port = syslog.port;
    let sent =
        tokio::task::spawn_blocking(move || crate::syslog::send_tls(port, &ca_cert, None, &text))
            .await
            .expect("openssl runs");
    assert!(sent, "the TLS session of the well-behaved sender failed");
    let got = syslog.messages_until(all_of("good", GOOD)).await;
    let served_in = started.elapsed();
    assert_eq!(
        got.iter()
            .filter(|m| m.starts_with("good"))
            .collect::<BTreeSet<_>>()
            .len(),
        GOOD,
        "{got:?}"
    );
    stop.send(true).expect("senders listen");
    let made = connections_made(senders).await;
    let peak = sampler.finish();
    let after = rss_mb(syslog.pid());
    eprintln!(
        "slowloris in the TLS handshake: {} senders made {made} connections; at most {} open at once \
         (syslog.max.connections={MAX_CONNECTIONS}), {} queued in the kernel; a well-behaved sender \
         was served in {:.1} s; worker RSS {before:.1} MB, peak {:.1} MB, after {after:.1} MB",
        MAX_CONNECTIONS + 4,
        peak.accepted,
        peak.queued,
        served_in.as_secs_f64(),
        peak.rss_mb,
    );
    assert!(peak.accepted <= MAX_CONNECTIONS, "{peak:?}");
    assert!(
        peak.rss_mb - before < RSS_GROWTH_LIMIT_MB,
        "worker RSS grew from {before:.1} MB to {:.1} MB",
        peak.rss_mb
    );
}

/// 800 connections, fifty times `syslog.max.connections`, each holding an
/// unfinished line, with no idle timeout: the worker holds the limit and
/// the kernel queues the rest. Once they go, every one of their lines is
/// delivered (end of stream ends a line) and a new sender is served.
#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_connections_is_held_to_max_connections() {
    const MAX_CONNECTIONS: usize = 16;
    const FLOOD: usize = 800;
    let syslog = Listener::start("TCP", json!({"syslog.max.connections": MAX_CONNECTIONS})).await;
    let pid = syslog.pid();
    let fds = || std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let (before, fds_before) = (rss_mb(pid), fds());
    let sampler = Sampler::start(pid, syslog.port);
    let mut flood = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let mut stream = TcpStream::connect(("127.0.0.1", syslog.port))
            .await
            .expect("the kernel completes the connection");
        stream
            .write_all(format!("<13>1 - flood app - - - flood {i:03}").as_bytes())
            .await
            .expect("sent");
        flood.push(stream);
    }
    let held = eventually(
        "the worker to take its connections",
        Duration::from_secs(30),
        || async {
            let s = syslog.sockets();
            (s.accepted >= MAX_CONNECTIONS).then_some(s)
        },
    )
    .await;
    let fds_during = fds();
    let during = rss_mb(pid);
    assert_eq!(
        held.accepted, MAX_CONNECTIONS,
        "the worker holds syslog.max.connections connections, no more: {held:?}"
    );

    drop(flood);
    const GOOD: usize = 20;
    send_good(syslog.port, GOOD).await;
    let got = syslog
        .messages_until(|got| all_of("good", GOOD)(got) && all_of("flood", FLOOD)(got))
        .await;
    let peak = sampler.finish();
    let after = rss_mb(pid);
    let accepted = syslog.counter("connections_total").await.unwrap_or(0);
    eprintln!(
        "flood of {FLOOD} TCP connections: {} open in the worker (syslog.max.connections={MAX_CONNECTIONS}) and {} \
         queued in the kernel, at most {} open in any sample; worker descriptors {fds_before} -> {fds_during}; \
         {accepted} accepted in all once the flood went; \
         worker RSS {before:.1} MB, {during:.1} MB during, peak {:.1} MB, after {after:.1} MB",
        held.accepted, held.queued, peak.accepted, peak.rss_mb,
    );
    let flood_lines: BTreeSet<&String> = got.iter().filter(|m| m.starts_with("flood")).collect();
    let good_got: BTreeSet<&String> = got.iter().filter(|m| m.starts_with("good")).collect();
    assert_eq!(
        flood_lines.len(),
        FLOOD,
        "each flood connection's unfinished line"
    );
    assert_eq!(good_got.len(), GOOD, "the well-behaved sender's lines");
    assert!(peak.accepted <= MAX_CONNECTIONS, "{peak:?}");
    assert!(
        fds_during < fds_before + MAX_CONNECTIONS + 8,
        "worker descriptors {fds_before} -> {fds_during}"
    );
    assert!(
        peak.rss_mb - before < RSS_GROWTH_LIMIT_MB,
        "worker RSS grew from {before:.1} MB to {:.1} MB",
        peak.rss_mb
    );
}

/// Out of file descriptors (see [`starve_accepts`]), the syslog listener
/// waits between accepts; once the connections go, a new sender is served.
#[tokio::test(flavor = "multi_thread")]
async fn out_of_descriptors_the_listener_backs_off_and_serves_again() {
    let syslog = Listener::start("TCP", json!({"syslog.max.connections": 1000})).await;
    let mut starved = starve_accepts(&syslog.worker, syslog.port).await;
    let queued = syslog.sockets().queued;
    drop(std::mem::take(&mut starved.held));
    const GOOD: usize = 10;
    send_good(syslog.port, GOOD).await;
    let got = syslog.messages_until(all_of("good", GOOD)).await;
    eprintln!(
        "syslog TCP listener {starved}, {queued} connections queued; then {} of {GOOD} lines of a new sender arrived",
        got.iter().filter(|m| m.starts_with("good")).count()
    );
    assert!(queued > 0, "connections waited in the kernel's queue");
    starved.assert_backed_off();
    assert!(
        all_of("good", GOOD)(&got),
        "the new sender was served: {got:?}"
    );
}

const MAX_MESSAGE_BYTES: usize = 65_536;
const BIG_SENDERS: usize = 8;
const BIG_LINES: usize = 16;
const MB: usize = 1024 * 1024;

/// What became of the big lines.
struct BigRun {
    listener: Listener,
    /// The `message` fields on the topic once every expected one is there.
    messages: Vec<String>,
    /// Bytes the endless sender got in before it was cut off.
    endless_sent: usize,
    endless_held: Duration,
    before: f64,
    peak: Peak,
}

/// Eight senders each send sixteen 1 MB lines (or RELP frames) and then a
/// short one, beside a ninth whose line never ends, at full speed.
/// `expected` says when the topic has everything that should arrive.
async fn big_lines(
    listener: &str,
    oversize: &str,
    expected: impl Fn(&[String]) -> bool + Send + 'static,
) -> BigRun {
    let syslog = Listener::start(
        listener,
        json!({
            "syslog.max.message.bytes": MAX_MESSAGE_BYTES, "syslog.oversize.behavior": oversize,
            "syslog.idle.timeout.ms": 3000, "syslog.max.connections": 16,
        }),
    )
    .await;
    let relp = listener == "RELP";
    let before = rss_mb(syslog.pid());
    let sampler = Sampler::start(syslog.pid(), syslog.port);
    let port = syslog.port;
    let endless = tokio::spawn(async move {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let opening: &[u8] = if relp {
            b"1 syslog 999999999 <13>1 - endless app - - - endless "
        } else {
            b"<13>1 - endless app - - - endless "
        };
        stream.write_all(opening).await.expect("sent");
        let started = Instant::now();
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while stream.write_all(&chunk).await.is_ok() {
            sent += chunk.len();
        }
        (sent, started.elapsed())
    });
    let senders: Vec<_> = (0..BIG_SENDERS)
        .map(|s| {
            tokio::spawn(async move {
                let pad = "x".repeat(MB);
                if relp {
                    let mut c = RelpClient::connect(port).await;
                    for i in 0..BIG_LINES {
                        let line = format!("<13>1 - big app - - - big {s}-{i:02} {pad}");
                        c.send(i as u64 + 1, "syslog", &line).await;
                    }
                    let after = format!("<13>1 - big app - - - after {s}");
                    c.send(BIG_LINES as u64 + 1, "syslog", &after).await;
                    let mut answers = Vec::new();
                    for _ in 0..=BIG_LINES {
                        answers.push(c.answer().await.1);
                    }
                    answers
                } else {
                    let mut stream = TcpStream::connect(("127.0.0.1", port))
                        .await
                        .expect("connect");
                    for i in 0..BIG_LINES {
                        let line = format!("<13>1 - big app - - - big {s}-{i:02} {pad}\n");
                        stream.write_all(line.as_bytes()).await.expect("sent");
                    }
                    let after = format!("<13>1 - big app - - - after {s}\n");
                    stream.write_all(after.as_bytes()).await.expect("sent");
                    stream.shutdown().await.expect("closed");
                    Vec::new()
                }
            })
        })
        .collect();
    for s in senders {
        let answers = tokio::time::timeout(Duration::from_secs(40), s)
            .await
            .expect("a big sender finished")
            .expect("big sender does not panic");
        let want = if oversize == "reject" {
            "500 message longer than syslog.max.message.bytes"
        } else {
            "200 OK"
        };
        let (big, after) = answers.split_at(answers.len().saturating_sub(1));
        assert!(big.iter().all(|a| a == want), "{big:?}");
        assert!(after.iter().all(|a| a == "200 OK"), "{after:?}");
    }
    let (endless_sent, endless_held) = tokio::time::timeout(Duration::from_secs(30), endless)
        .await
        .expect("the endless line's sender was cut off")
        .expect("endless sender does not panic");
    let messages = syslog.messages_until(expected).await;
    let peak = sampler.finish();
    BigRun {
        listener: syslog,
        messages,
        endless_sent,
        endless_held,
        before,
        peak,
    }
}

impl BigRun {
    fn report(&self, what: &str, counted: u64) {
        let after = rss_mb(self.listener.pid());
        eprintln!(
            "{what}: {} lines of 1 MB and one endless line ({} MB sent before the worker closed it after {:.1} s); \
             {counted} counted; {} records on the topic; at most {} connections open; \
             worker RSS {:.1} MB, peak {:.1} MB, after {after:.1} MB",
            BIG_SENDERS * BIG_LINES,
            self.endless_sent / MB,
            self.endless_held.as_secs_f64(),
            self.messages.len(),
            self.peak.accepted,
            self.before,
            self.peak.rss_mb,
        );
        assert!(
            self.peak.rss_mb - self.before < RSS_GROWTH_LIMIT_MB,
            "worker RSS grew from {:.1} MB to {:.1} MB",
            self.before,
            self.peak.rss_mb
        );
    }

    /// The short line each big sender sent last arrived whole.
    fn assert_afters(&self) {
        let afters: BTreeSet<&String> = self
            .messages
            .iter()
            .filter(|m| m.starts_with("after"))
            .collect();
        assert_eq!(afters.len(), BIG_SENDERS, "{afters:?}");
    }

    /// Every big line arrived once, truncated to the maximum; so did the
    /// start of the endless one.
    fn assert_truncated(&self) {
        let big: BTreeSet<&str> = self
            .messages
            .iter()
            .filter(|m| m.starts_with("big"))
            .map(|m| {
                assert!(m.len() <= MAX_MESSAGE_BYTES, "{} bytes kept", m.len());
                assert!(m.len() > MAX_MESSAGE_BYTES - 100, "{} bytes kept", m.len());
                m.get(..10).unwrap_or_default()
            })
            .collect();
        assert_eq!(big.len(), BIG_SENDERS * BIG_LINES, "each big line once");
        let endless: Vec<&String> = self
            .messages
            .iter()
            .filter(|m| m.starts_with("endless"))
            .collect();
        assert_eq!(endless.len(), 1, "the endless line's start, once");
        assert!(endless[0].len() <= MAX_MESSAGE_BYTES);
    }
}

fn truncated_expected(got: &[String]) -> bool {
    all_of("big", BIG_SENDERS * BIG_LINES)(got)
        && all_of("after", BIG_SENDERS)(got)
        && all_of("endless", 1)(got)
}

/// Lines of 1 MB over TCP, sixteen times `syslog.max.message.bytes`, are
/// truncated to it and counted; a line that never ends is truncated once,
/// and its sender cut off after `syslog.idle.timeout.ms` though it never
/// stops sending.
#[tokio::test(flavor = "multi_thread")]
async fn one_megabyte_lines_over_tcp_are_truncated_and_counted() {
    big_lines_truncated("TCP").await;
}

/// Every big line (and the endless one) truncated once, counted, and the
/// short lines after them delivered whole.
async fn big_lines_truncated(transport: &str) {
    let run = big_lines(transport, "truncate", truncated_expected).await;
    let n = (BIG_SENDERS * BIG_LINES + 1) as u64;
    let truncated = run.listener.counter_reaches("truncated_total", n).await;
    run.report(&format!("{transport}, truncate"), truncated);
    assert_eq!(truncated, n);
    run.assert_truncated();
    run.assert_afters();
}

/// With `syslog.oversize.behavior=reject` the 1 MB lines are dropped,
/// counted, and the loss shown in the task's status.
#[tokio::test(flavor = "multi_thread")]
async fn one_megabyte_lines_over_tcp_are_rejected_and_counted() {
    let run = big_lines("TCP", "reject", all_of("after", BIG_SENDERS)).await;
    let n = BIG_SENDERS * BIG_LINES + 1;
    let rejected = run
        .listener
        .counter_reaches("oversize_rejected_total", n as u64)
        .await;
    run.report("TCP, reject", rejected);
    assert_eq!(rejected, n as u64);
    run.assert_afters();
    assert_eq!(
        run.messages.len(),
        BIG_SENDERS,
        "only the short lines reach the topic: {:?}",
        run.messages.iter().map(|m| m.get(..20)).collect::<Vec<_>>()
    );
    run.listener
        .warning_says(&format!(
            "{n} TCP messages over syslog.max.message.bytes dropped"
        ))
        .await;
}

/// RELP frames of 1 MB are truncated, counted and answered. A frame
/// announcing 999,999,999 bytes (the most DATALEN's nine digits allow) is
/// truncated once and the rest skipped unkept; its sender is cut off by
/// the idle timeout or, on a fast loopback, by the frame's end not being LF.
#[tokio::test(flavor = "multi_thread")]
async fn one_megabyte_frames_over_relp_are_truncated_and_counted() {
    big_lines_truncated("RELP").await;
}

/// Long lines while the broker is frozen: the buffer between the socket
/// and Kafka and the producer's queue are bounded in bytes, not only in
/// messages, so the worker stops reading instead of holding gigabytes.
#[tokio::test(flavor = "multi_thread")]
async fn long_lines_while_the_broker_is_frozen_cannot_grow_the_worker() {
    const LINE: usize = 70_000;
    let broker = crate::support::OwnBroker::listening().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(
        dir.path(),
        port,
        &[("bootstrap.servers", broker.address.as_str())],
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let syslog_port = free_port();
    let cfg = json!({
        "connector.class": "SyslogSource", "syslog.listener": "TCP", "syslog.listen.address": "127.0.0.1",
        "syslog.port": syslog_port, "topic": unique("frozen-long"), "syslog.max.message.bytes": 65536,
        "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1,
    });
    create_connector(&client, &worker.url, "frozen-long", &cfg).await;
    running(&client, &worker.url, "frozen-long", 1).await;
    let mut conn = TcpStream::connect(("127.0.0.1", syslog_port))
        .await
        .expect("listener accepts");
    conn.write_all(b"<13>1 - fw01 app - - - warm-up\n")
        .await
        .expect("sent");
    let written = "kafka_connect_source_task_metrics_source_record_write_total";
    eventually("warm-up written", Duration::from_secs(30), || async {
        (metric(&client, &worker.url, written, "frozen-long").await? >= 1).then_some(())
    })
    .await;
    let rss_before = rss_mb(worker.pid());

    broker.signal("-STOP");
    // 40,000 lines of 70 KB (2.8 GB): far more than any bound lets in.
    let sender = tokio::spawn(async move {
        let head = b"<13>1 - fw01 app - - - ";
        let mut line = vec![b'x'; LINE];
        line[..head.len()].copy_from_slice(head);
        line[LINE - 1] = b'\n';
        for _ in 0..40_000 {
            if conn.write_all(&line).await.is_err() {
                return;
            }
        }
    });
    // Until the worker stops reading: 3 s without a line more received.
    let received = "rampart_connector_task_syslog_received_total";
    let (mut last, mut still, mut peak) = (1u64, 0, rss_before);
    while still < 6 {
        let now = metric(&client, &worker.url, received, "frozen-long")
            .await
            .unwrap_or(0);
        still = if now == last { still + 1 } else { 0 };
        last = now;
        peak = peak.max(rss_mb(worker.pid()));
        // A sampling period: reads stopping is what is measured.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    broker.signal("-CONT");
    sender.abort();
    assert!(last > 100, "the sender got lines in: {last}");
    eprintln!(
        "long lines, broker frozen: {last} lines of {LINE} bytes taken before reads stopped; RSS {rss_before:.1} MB -> {peak:.1} MB"
    );
    assert!(
        peak - rss_before < 160.0,
        "the worker grew from {rss_before:.1} MB to {peak:.1} MB while the broker was frozen"
    );
    worker.terminate();
}
