//! RELP into the syslog source: a frame is answered only once Kafka has its
//! record, so a sender that keeps unanswered frames (rsyslog's `omrelp`)
//! loses nothing when the worker is killed.

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::Message;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::errors_dlq::partition0_consumer;
use crate::support::OwnBroker;
use crate::support::{
    create_connector, eventually, free_port, metric, unique, worker_properties, WorkerProcess,
};
use crate::syslog::{read_all, rsyslogd, running};

/// A RELP client written from the protocol description, to see answers.
pub(crate) struct RelpClient {
    stream: BufReader<TcpStream>,
}

impl RelpClient {
    pub(crate) async fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("RELP listener accepts");
        RelpClient {
            stream: BufReader::new(stream),
        }
    }

    pub(crate) async fn send(&mut self, txnr: u64, command: &str, data: &str) {
        let frame = if data.is_empty() {
            format!("{txnr} {command} 0\n")
        } else {
            format!("{txnr} {command} {} {data}\n", data.len())
        };
        self.stream
            .get_mut()
            .write_all(frame.as_bytes())
            .await
            .expect("sent");
    }

    /// The next answer: its TXNR and data.
    pub(crate) async fn answer(&mut self) -> (u64, String) {
        let mut txnr = Vec::new();
        self.stream.read_until(b' ', &mut txnr).await.expect("TXNR");
        let mut command = Vec::new();
        self.stream
            .read_until(b' ', &mut command)
            .await
            .expect("command");
        assert_eq!(command, b"rsp ");
        let mut len = Vec::new();
        loop {
            let b = self.stream.read_u8().await.expect("DATALEN");
            if b == b' ' || b == b'\n' {
                break;
            }
            len.push(b);
        }
        let len: usize = String::from_utf8_lossy(&len).parse().expect("DATALEN");
        let mut data = vec![0; len];
        if len > 0 {
            self.stream.read_exact(&mut data).await.expect("data");
            assert_eq!(self.stream.read_u8().await.expect("trailer"), b'\n');
        }
        let txnr = String::from_utf8_lossy(&txnr).trim().parse().expect("TXNR");
        (txnr, String::from_utf8_lossy(&data).into_owned())
    }
}

/// While the broker is frozen, a received frame gets no answer; once it
/// thaws, the answer comes with the record on the topic.
#[tokio::test(flavor = "multi_thread")]
async fn a_relp_frame_is_answered_only_once_kafka_has_it() {
    let broker = OwnBroker::listening().await;
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
    let topic = unique("relp");
    let relp_port = free_port();
    let cfg = json!({
        "connector.class": "SyslogSource", "syslog.listener": "RELP", "syslog.listen.address": "127.0.0.1",
        "syslog.port": relp_port, "topic": topic,
        "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1,
    });
    create_connector(&client, &worker.url, "relp", &cfg).await;
    running(&client, &worker.url, "relp", 1).await;

    let mut relp = RelpClient::connect(relp_port).await;
    relp.send(
        1,
        "open",
        "relp_version=0\nrelp_software=test\ncommands=syslog",
    )
    .await;
    let (txnr, offer) = relp.answer().await;
    assert_eq!(txnr, 1);
    assert!(offer.starts_with("200 OK\n"), "{offer}");
    assert!(offer.contains("commands=syslog"), "{offer}");
    relp.send(2, "syslog", "<13>1 - fw01 app - - - warm-up")
        .await;
    assert_eq!(relp.answer().await, (2, "200 OK".to_string()));

    broker.signal("-STOP");
    relp.send(3, "syslog", "<13>1 - fw01 app - - - while frozen")
        .await;
    let url = worker.url.clone();
    eventually("frame received", Duration::from_secs(30), || {
        let (client, url) = (&client, url.clone());
        async move {
            metric(
                client,
                &url,
                "rampart_connector_task_syslog_received_total",
                "relp",
            )
            .await
            .filter(|n| *n >= 2)
        }
    })
    .await;
    // Received, not yet in Kafka: no answer. (A bounded wait can only show
    // that none came in that time; the thaw below shows the answer was held.)
    assert!(
        tokio::time::timeout(Duration::from_secs(2), relp.answer())
            .await
            .is_err(),
        "answered while the broker was frozen"
    );
    broker.signal("-CONT");
    let answer = tokio::time::timeout(Duration::from_secs(60), relp.answer())
        .await
        .expect("answered once the broker is back");
    assert_eq!(answer, (3, "200 OK".to_string()));
    let (address, topic_ref) = (broker.address.clone(), topic.clone());
    let values = tokio::task::spawn_blocking(move || read_all(&address, &topic_ref, 2))
        .await
        .expect("reader");
    assert!(
        values.iter().any(|v| v.contains("while frozen")),
        "{values:?}"
    );

    // An unknown command is refused, and close is answered last.
    relp.send(4, "starttls", "").await;
    assert_eq!(relp.answer().await.0, 4);
    relp.send(5, "close", "").await;
    assert_eq!(relp.answer().await, (5, String::new()));
    assert_eq!(worker.terminate().code(), Some(0));
}

/// rsyslog forwards over RELP. Half the stream is in Kafka; then the broker
/// freezes, the worker reads more but cannot answer it, and is killed
/// (SIGKILL). After a restart every message is on the topic, because
/// rsyslog resends the frames the dead worker never answered.
#[tokio::test(flavor = "multi_thread")]
async fn rsyslog_over_relp_loses_nothing_when_the_worker_is_killed() {
    const N: usize = 4000;
    let rsyslogd = rsyslogd();
    let broker = OwnBroker::listening().await;
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
    let topic = unique("relp-rsyslog");
    let (relp_port, input_port) = (free_port(), free_port());
    let cfg = json!({
        "connector.class": "io.confluent.connect.syslog.SyslogSourceConnector",
        "syslog.listener": "RELP", "syslog.listen.address": "127.0.0.1", "syslog.port": relp_port,
        "topic": topic, "topic.creation.default.partitions": 1, "topic.creation.default.replication.factor": 1,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
    });
    create_connector(&client, &worker.url, "relp-in", &cfg).await;
    running(&client, &worker.url, "relp-in", 1).await;

    let work = dir.path().join("rsyslog-work");
    std::fs::create_dir_all(&work).expect("temp dir");
    let conf = dir.path().join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}")
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="{input_port}" ruleset="forward")
ruleset(name="forward") {{
  action(type="omrelp" target="127.0.0.1" port="{relp_port}" template="RSYSLOG_SyslogProtocol23Format"
         action.resumeRetryCount="-1" action.resumeInterval="1" queue.type="LinkedList" queue.size="100000")
}}
"#,
            work = work.display(),
        ),
    )
    .expect("temp dir");
    let mut rsyslog = std::process::Command::new(rsyslogd)
        .args(["-n", "-f"])
        .arg(&conf)
        .arg("-i")
        .arg(dir.path().join("rsyslog.pid"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("rsyslog.log")).expect("temp dir"))
        .spawn()
        .expect("rsyslogd starts");
    let mut input = eventually("rsyslog listening", Duration::from_secs(30), || async {
        TcpStream::connect(("127.0.0.1", input_port)).await.ok()
    })
    .await;
    let lines = |range: std::ops::Range<usize>| {
        range
            .map(|i| format!("<13>1 - fw01 app - - - relp {i:05}\n"))
            .collect::<String>()
    };
    let url = worker.url.clone();
    let counter = |name: &'static str, n: u64| {
        let (client, url) = (&client, url.clone());
        move || {
            let url = url.clone();
            async move {
                metric(client, &url, name, "relp-in")
                    .await
                    .filter(|v| *v >= n)
            }
        }
    };
    let half = N / 2;
    input
        .write_all(lines(0..half).as_bytes())
        .await
        .expect("sent");
    eventually(
        "first half in Kafka",
        Duration::from_secs(60),
        counter(
            "kafka_connect_source_task_metrics_source_record_write_total",
            half as u64,
        ),
    )
    .await;
    broker.signal("-STOP");
    input
        .write_all(lines(half..N).as_bytes())
        .await
        .expect("sent");
    input.shutdown().await.expect("closed");
    // Read but unanswerable: the broker is frozen.
    let received = eventually(
        "second half being read",
        Duration::from_secs(60),
        counter(
            "rampart_connector_task_syslog_received_total",
            half as u64 + 100,
        ),
    )
    .await;
    worker.kill9();
    broker.signal("-CONT");
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    running(&client, &worker.url, "relp-in", 1).await;

    let (address, topic_ref) = (broker.address.clone(), topic.clone());
    let found =
        tokio::task::spawn_blocking(move || distinct_sequence_numbers(&address, &topic_ref, N))
            .await
            .expect("reader");
    let _ = rsyslog.kill();
    let _ = rsyslog.wait();
    assert_eq!(
        found.len(),
        N,
        "every message reached the topic ({received} were read before the kill, {half} answered)"
    );
    // The new worker was sent the whole unanswered half, including what the
    // old one had read: those came back only because rsyslog resent them.
    let resent = metric(
        &client,
        &worker.url,
        "rampart_connector_task_syslog_received_total",
        "relp-in",
    )
    .await
    .unwrap_or_default();
    assert!(
        resent >= (N - half) as u64,
        "the restarted worker received {resent} of the {} unanswered messages",
        N - half
    );
    assert_eq!(worker.terminate().code(), Some(0));
}

// The `relp NNNNN` numbers on the topic, read until all `n` are there or a
// minute passes.
fn distinct_sequence_numbers(bootstrap: &str, topic: &str, n: usize) -> BTreeSet<u32> {
    let consumer = partition0_consumer(bootstrap, topic);
    let mut found = BTreeSet::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while found.len() < n && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text = String::from_utf8_lossy(m.payload().unwrap_or_default());
            if let Some(seq) = text
                .split("relp ")
                .nth(1)
                .and_then(|s| s.get(..5))
                .and_then(|s| s.parse().ok())
            {
                found.insert(seq);
            }
        }
    }
    found
}

/// A RELP peer that sends 2,000,000 frames with an unknown command and
/// never reads an answer is read from only while the worker owes it fewer
/// than a window of answers: the worker's memory stays flat where, unbounded,
/// it grew by 208 MB.
#[tokio::test(flavor = "multi_thread")]
async fn a_peer_that_never_reads_answers_cannot_grow_the_worker() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let relp_port = free_port();
    let cfg = json!({
        "connector.class": "SyslogSource", "syslog.listener": "RELP", "syslog.listen.address": "127.0.0.1",
        "syslog.port": relp_port, "topic": unique("relp-flood"),
    });
    create_connector(&client, &worker.url, "relp-flood", &cfg).await;
    running(&client, &worker.url, "relp-flood", 1).await;
    let before = crate::support::rss_mb(worker.pid());

    const FRAMES: u64 = 2_000_000;
    let mut stream = TcpStream::connect(("127.0.0.1", relp_port))
        .await
        .expect("RELP listener accepts");
    let mut sent = 0u64;
    let mut chunk = Vec::new();
    'flood: for txnr in 1..=FRAMES {
        chunk.extend_from_slice(format!("{txnr} bogus 0\n").as_bytes());
        if chunk.len() >= 16 * 1024 || txnr == FRAMES {
            // The worker stops reading: the socket buffers fill and the
            // write cannot finish. Two quiet seconds tell it.
            let write = tokio::time::timeout(Duration::from_secs(2), stream.write_all(&chunk));
            if write.await.is_err() {
                break 'flood;
            }
            sent = txnr;
            chunk.clear();
        }
    }
    let after = crate::support::rss_mb(worker.pid());
    println!(
        "RELP flood: {sent} of {FRAMES} frames taken, worker RSS {before:.1} MB -> {after:.1} MB"
    );
    // Kernel socket buffers on loopback hold a few hundred thousand of
    // these frames and their answers; the worker itself holds a window.
    assert!(
        sent < FRAMES / 2,
        "{sent} frames were taken from a peer that reads nothing"
    );
    assert!(
        after - before < 30.0,
        "worker RSS grew from {before:.1} MB to {after:.1} MB"
    );
    drop(stream);
    worker.terminate();
}
