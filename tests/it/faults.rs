//! The fault suite: each sink's peer goes away, then answers 503, then
//! recovers, while records keep arriving. Each case reports the records
//! sent, received, duplicated and lost, the worker's peak RSS, the 503s it
//! drew and how long delivery took to catch up.
//!
//! The peers are real where one runs here (osmem-server for Elasticsearch,
//! moto for S3) and the HEC test receiver for Splunk; a [`FaultProxy`] in
//! front of each plays the failures. The shortened profile (8 s refused,
//! 12 s of 503s) runs with the tests; `scripts/faults` runs the issue's
//! (60 s, 30 s) with `RAMPART_FAULTS=full`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value as Json};

use crate::fault_proxy::{FaultProxy, Mode};
use crate::s3;
use crate::splunk_hec::receiver::{Behaviour, Receiver};
use crate::support::{
    await_deliveries, bootstrap, committed_sum, create_topic, eventually, free_port, rss_mb,
    send_queued, status, unique, worker_properties, WorkerProcess,
};

fn full() -> bool {
    std::env::var("RAMPART_FAULTS").is_ok_and(|v| v == "full")
}

/// How long the peer refuses connections, then answers 503.
fn profile() -> (Duration, Duration) {
    if full() {
        (Duration::from_secs(60), Duration::from_secs(30))
    } else {
        // The 503s outlast every backoff cap below, so each sink meets them.
        (Duration::from_secs(8), Duration::from_secs(12))
    }
}

/// The peer refused, then answering 503.
fn outage() -> Vec<(Mode, Duration)> {
    let (refused, unavailable) = profile();
    vec![(Mode::Refuse, refused), (Mode::Unavailable, unavailable)]
}

/// A slow path losing 5% of its segments, then a partition.
fn bad_network() -> Vec<(Mode, Duration)> {
    let (slow, cut) = if full() {
        (Duration::from_secs(60), Duration::from_secs(30))
    } else {
        (Duration::from_secs(8), Duration::from_secs(8))
    };
    let lossy = Mode::Slow {
        delay: Duration::from_millis(50),
        loss_percent: 5,
    };
    vec![(lossy, slow), (Mode::Partition, cut)]
}

/// Records per case: half before the outage, half during it.
const RECORDS: u64 = 6000;

/// More 503s than this over the profile would be a tight retry loop: every
/// sink backs off exponentially from at most a second.
const MOST_503S: u64 = 100;

/// What a case measured.
struct Figures {
    sent: u64,
    received: u64,
    duplicated: u64,
    lost: u64,
    rss_before_mb: f64,
    peak_rss_mb: f64,
    answered_503: u64,
    caught_up: Duration,
}

/// Record `seq`'s value: JSON, with a message of realistic size.
fn value(seq: u64) -> String {
    json!({"seq": seq, "host": "fw01", "message": format!("sshd[4242]: Failed password for invalid user admin from 203.0.113.{} port 22 ssh2", seq % 250)}).to_string()
}

async fn produce(topic: &str, seqs: std::ops::Range<u64>) {
    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let mut pending = std::collections::VecDeque::new();
    for seq in seqs {
        let v = value(seq);
        let rec: rdkafka::producer::FutureRecord<'_, str, str> =
            rdkafka::producer::FutureRecord::to(topic)
                .payload(v.as_str())
                .partition((seq % 2) as i32);
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
}

fn connector_file(dir: &Path, name: &str, config: Json) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, json!({"name": name, "config": config}).to_string())
        .expect("temp dir is writable");
    path
}

/// Runs `phases` against a sink whose peer is behind `proxy`:
/// `connector` (its config) reads `topic`; `received` reads back the
/// sequence numbers the peer holds. `backoff_cap` is the sink's longest
/// wait between retries, where it has one.
async fn sink_under<F, Fut>(
    case: &str,
    proxy: &FaultProxy,
    topic: &str,
    config: Json,
    phases: Vec<(Mode, Duration)>,
    backoff_cap: Option<Duration>,
    received: F,
) -> Figures
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<u64>>,
{
    let unavailable_for: Duration = phases
        .iter()
        .filter(|(m, _)| *m == Mode::Unavailable)
        .map(|(_, d)| *d)
        .sum();
    let mut shown: Vec<String> = phases
        .iter()
        .map(|(m, d)| format!("{m:?} for {d:?}"))
        .collect();
    if phases
        .iter()
        .any(|(m, _)| matches!(m, Mode::Slow { .. } | Mode::Partition))
    {
        shown.push(proxy.network().to_string());
    }
    create_topic(topic, 2).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    // A small consumer prefetch, so RSS shows the worker's own buffers
    // rather than librdkafka's queue (64 MB by default).
    let props = worker_properties(
        dir.path(),
        port,
        &[
            ("consumer.queued.max.messages.kbytes", "2048"),
            ("consumer.fetch.max.bytes", "1048576"),
        ],
    );
    let name = case;
    let file = connector_file(dir.path(), name, config);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let committed = |n: u64| {
        let (client, url) = (&client, &worker.url);
        async move {
            eventually(
                &format!("{case}: {n} offsets committed"),
                Duration::from_secs(300),
                || async { (committed_sum(client, url, name).await? >= n as i64).then_some(()) },
            )
            .await;
        }
    };

    produce(topic, 0..RECORDS / 2).await;
    committed(RECORDS / 2).await;
    let rss_before_mb = rss_mb(worker.pid());

    let mut peak_rss_mb = rss_before_mb;
    let mut sent = RECORDS / 2;
    let per_phase = RECORDS / 2 / phases.len() as u64;
    for (i, (mode, length)) in phases.iter().enumerate() {
        proxy.set(*mode);
        let began = Instant::now();
        let upto = if i + 1 == phases.len() {
            RECORDS
        } else {
            sent + per_phase
        };
        produce(topic, sent..upto).await;
        sent = upto;
        let mut frozen_at = None;
        while began.elapsed() < *length {
            peak_rss_mb = peak_rss_mb.max(rss_mb(worker.pid()));
            // Once answers already on their way have landed, nothing may
            // be committed while partitioned: the partition is real.
            if *mode == Mode::Partition && frozen_at.is_none() && began.elapsed() > *length / 4 {
                frozen_at = committed_sum(&client, &worker.url, name).await;
            }
            // A sampling period: the phases are lengths of time.
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        if let Some(frozen) = frozen_at {
            let now = committed_sum(&client, &worker.url, name).await;
            assert_eq!(
                now,
                Some(frozen),
                "{case}: offsets moved during the partition"
            );
        }
    }
    let answered_503 = proxy.unavailable_answers();
    let state = status(&client, &worker.url, name).await;
    assert_eq!(
        state["tasks"][0]["state"], "RUNNING",
        "{case}: the task outlives the faults: {state}"
    );

    proxy.set(Mode::Pass);
    let up = Instant::now();
    committed(RECORDS).await;
    let caught_up = up.elapsed();
    peak_rss_mb = peak_rss_mb.max(rss_mb(worker.pid()));
    let (received, duplicated, lost) = tally_n(&received().await, RECORDS);
    worker.terminate();
    let f = Figures {
        sent: RECORDS,
        received,
        duplicated,
        lost,
        rss_before_mb,
        peak_rss_mb,
        answered_503,
        caught_up,
    };
    println!(
        "fault case {case}: {}: sent {}, received {}, duplicated {}, lost {}; RSS {:.1} MB before, {:.1} MB peak; {} requests answered 503; caught up {:.1} s after recovery",
        shown.join(", "), f.sent, f.received, f.duplicated, f.lost, f.rss_before_mb, f.peak_rss_mb, f.answered_503, f.caught_up.as_secs_f64()
    );
    assert_eq!(f.lost, 0, "{case}: records lost");
    if let Some(cap) = backoff_cap {
        if unavailable_for > cap {
            assert!(
                f.answered_503 > 0,
                "{case}: the sink tried its peer while it answered 503"
            );
        }
        // The rest of the records, once the sink tries again: a few
        // seconds of delivery.
        assert!(
            f.caught_up < cap + Duration::from_secs(20),
            "{case}: {:?} to catch up after recovery, with backoff capped at {cap:?}",
            f.caught_up
        );
    }
    assert!(
        f.answered_503 <= MOST_503S,
        "{case}: {} requests in {unavailable_for:?} of 503s: a tight retry loop",
        f.answered_503
    );
    assert!(
        f.peak_rss_mb - f.rss_before_mb < 64.0,
        "{case}: RSS grew from {:.1} MB to {:.1} MB over the outage",
        f.rss_before_mb,
        f.peak_rss_mb
    );
    f
}

// The sinks' configs and how to read back what their peers hold.

fn es_config(topic: &str, url: &str) -> Json {
    json!({
        "connector.class": "ElasticsearchSinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "connection.url": url,
        "key.ignore": "true",
        "schema.ignore": "true",
        "batch.size": "500",
        // Enough retries to outlast the outage, at most 5 s apart, so
        // indexing resumes soon after the peer returns.
        "max.retries": "100",
        "retry.backoff.ms": "250",
        "retry.backoff.max.ms": "5000",
    })
}

/// Every `seq` in the index (the topic's name, lower-cased).
async fn es_seqs(client: &reqwest::Client, index: &str, records: u64) -> Vec<u64> {
    let url = crate::elasticsearch::osmem_url();
    let _ = client.post(format!("{url}/{index}/_refresh")).send().await;
    let mut seqs = Vec::new();
    let page = 10_000;
    let mut lo = 0;
    while lo < records {
        let body: Json = client
            .post(format!("{url}/{index}/_search"))
            .json(&json!({"size": page, "query": {"range": {"seq": {"gte": lo, "lt": lo + page / 2}}}}))
            .send()
            .await
            .expect("osmem answers")
            .json()
            .await
            .expect("search answer is JSON");
        seqs.extend(
            body["hits"]["hits"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|h| h["_source"]["seq"].as_u64()),
        );
        lo += page / 2;
    }
    seqs
}

const HEC_TOKEN: &str = "0b3c9d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";

fn hec_config(topic: &str, url: &str) -> Json {
    json!({
        "connector.class": "SplunkSinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "splunk.hec.uri": url,
        "splunk.hec.token": HEC_TOKEN,
        "splunk.hec.ack.enabled": "true",
        "splunk.hec.ack.poll.interval": "1",
        "splunk.hec.backoff.threshhold.seconds": "4",
        "splunk.hec.lb.poll.interval": "1",
    })
}

fn hec_seqs(rx: &Receiver) -> Vec<u64> {
    rx.received()
        .iter()
        .filter_map(|r| serde_json::from_str::<Json>(&r.text()).ok())
        .filter_map(|v| v["seq"].as_u64())
        .collect()
}

async fn hec_receiver() -> Receiver {
    Receiver::start(
        HEC_TOKEN,
        Behaviour {
            ack: true,
            ..Default::default()
        },
    )
    .await
}

fn s3_config(topic: &str, bucket: &str, url: &str) -> Json {
    json!({
        "connector.class": "io.confluent.connect.s3.S3SinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "store.url": url,
        "aws.access.key.id": "test",
        "aws.secret.access.key": "test",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        // Each partition's records fill whole objects, so every offset is
        // committed without a rotation timer.
        "flush.size": "100",
        "s3.retry.backoff.ms": "250",
    })
}

async fn s3_seqs(client: &reqwest::Client, bucket: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    for key in s3::list(client, bucket).await {
        let body = s3::get(client, bucket, &key).await;
        for line in String::from_utf8(body).expect("JSON lines").lines() {
            let v: Json = serde_json::from_str(line).expect("a JSON line");
            seqs.extend(v["seq"].as_u64());
        }
    }
    seqs
}

#[tokio::test(flavor = "multi_thread")]
async fn elasticsearch_outage_then_503s_loses_and_duplicates_nothing() {
    let osmem = crate::elasticsearch::require_osmem().await;
    let proxy = FaultProxy::start(&crate::elasticsearch::osmem_url()).await;
    let topic = unique("fault-es");
    let index = topic.to_lowercase();
    let config = es_config(&topic, &proxy.url);
    let read_back = || es_seqs(&osmem, &index, RECORDS);
    let cap = Some(Duration::from_secs(5));
    let f = sink_under("fault-es", &proxy, &topic, config, outage(), cap, read_back).await;
    assert_eq!(f.duplicated, 0, "document ids are topic+partition+offset");
}

/// A HEC sink through a proxy playing `phases`. HEC has no idempotent
/// writes: an acknowledgement lost with a cut connection makes the batch go
/// again, so duplicates are counted (in the report line), not forbidden.
async fn hec_case(case: &str, phases: Vec<(Mode, Duration)>) -> Figures {
    let rx = hec_receiver().await;
    let proxy = FaultProxy::start(&rx.url).await;
    let topic = unique(case);
    let config = hec_config(&topic, &proxy.url);
    let read_back = || async { hec_seqs(&rx) };
    // hec_config's splunk.hec.backoff.threshhold.seconds.
    let cap = Some(Duration::from_secs(4));
    sink_under(case, &proxy, &topic, config, phases, cap, read_back).await
}

/// An S3 sink through a proxy playing `phases`; object names are
/// deterministic, so a retried upload replaces its object.
async fn s3_case(case: &str, phases: Vec<(Mode, Duration)>) -> Figures {
    let client = reqwest::Client::new();
    let bucket = unique(case).to_lowercase();
    s3::create_bucket(&client, &bucket).await;
    let proxy = FaultProxy::start(&s3::moto()).await;
    let topic = unique(case);
    let config = s3_config(&topic, &bucket, &proxy.url);
    let read_back = || s3_seqs(&client, &bucket);
    // storage.rs: retries double up to 10 s.
    let cap = Some(Duration::from_secs(10));
    sink_under(case, &proxy, &topic, config, phases, cap, read_back).await
}

#[tokio::test(flavor = "multi_thread")]
async fn splunk_hec_outage_then_503s_loses_nothing() {
    hec_case("fault-hec", outage()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_outage_then_503s_loses_and_duplicates_nothing() {
    let f = s3_case("fault-s3", outage()).await;
    assert_eq!(f.duplicated, 0, "a retried upload replaces its object");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_lossy_path_then_a_partition_to_hec_loses_nothing() {
    hec_case("fault-net-hec", bad_network()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_lossy_path_then_a_partition_to_s3_loses_and_duplicates_nothing() {
    let f = s3_case("fault-net-s3", bad_network()).await;
    assert_eq!(f.duplicated, 0, "a retried upload replaces its object");
}

/// Mounts a tmpfs of `bytes` at `dir` (CI runs as root, as this machine
/// does), unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &Path, bytes: u64) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("mount point");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mounting a tmpfs at {} needs root", dir.display());
        SmallDisk(dir.to_path_buf())
    }

    /// Fills the disk with one file, up to the last byte.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).expect("filler file");
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The source offsets a standalone worker's offsets file holds for the
/// FileStreamSource reading `file`: its `position`, or `None` if the file
/// is not there.
fn stored_position(offsets: &Path) -> Option<u64> {
    let bytes = std::fs::read(offsets).ok()?;
    let entries: Vec<(Json, Json)> =
        serde_json::from_slice(&bytes).expect("the offsets file is never corrupt");
    entries.iter().find_map(|(_, o)| o["position"].as_u64())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_under_the_offsets_file_is_logged_and_recovered_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let disk = SmallDisk::mount(&dir.path().join("state"), 64 * 1024);
    let offsets = dir.path().join("state/offsets");
    let input = dir.path().join("in.txt");
    let line =
        |i: u64| format!("line {i:06} sshd[4242]: Failed password for root from 203.0.113.7\n");
    let write_lines = |range: std::ops::Range<u64>| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&input)
            .expect("input file");
        for i in range {
            f.write_all(line(i).as_bytes()).expect("input written");
        }
    };
    let bytes_of = |n: u64| (0..n).map(|i| line(i).len() as u64).sum::<u64>();
    write_lines(0..1000);

    let topic = unique("fault-disk");
    let port = free_port();
    let props = worker_properties(
        dir.path(),
        port,
        &[(
            "offset.storage.file.filename",
            &offsets.display().to_string(),
        )],
    );
    let name = "fault-disk";
    let connector = connector_file(
        dir.path(),
        name,
        json!({"connector.class": "FileStreamSource", "file": input, "topic": topic}),
    );
    let mut worker =
        WorkerProcess::start(dir.path(), &props, port, std::slice::from_ref(&connector));
    worker.wait_healthy().await;
    eventually(
        "the first lines' offsets stored",
        Duration::from_secs(60),
        || async { (stored_position(&offsets)? == bytes_of(1000)).then_some(()) },
    )
    .await;

    let filler = disk.fill();
    let stored_before = std::fs::read(&offsets).expect("offsets file");
    write_lines(1000..2000);
    eventually(
        "the failed flush logged",
        Duration::from_secs(60),
        || async {
            worker
                .log_text()
                .contains("failed to flush offsets to storage")
                .then_some(())
        },
    )
    .await;
    assert!(
        worker.log_text().contains("No space left on device"),
        "the error names the cause"
    );
    let client = reqwest::Client::new();
    let state = status(&client, &worker.url, name).await;
    assert_eq!(state["tasks"][0]["state"], "RUNNING", "{state}");
    assert_eq!(
        std::fs::read(&offsets).expect("offsets file"),
        stored_before,
        "the offsets file keeps its last good content"
    );

    std::fs::remove_file(filler).expect("filler removed");
    write_lines(2000..3000);
    eventually(
        "every offset stored once space returns",
        Duration::from_secs(60),
        || async { (stored_position(&offsets)? == bytes_of(3000)).then_some(()) },
    )
    .await;
    // A crash now must lose nothing and send nothing twice.
    worker.kill9();
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[connector]);
    worker.wait_healthy().await;
    write_lines(3000..3100);
    eventually(
        "the restarted worker's offsets",
        Duration::from_secs(60),
        || async { (stored_position(&offsets)? == bytes_of(3100)).then_some(()) },
    )
    .await;
    let values: Vec<String> = crate::differential_smt::read_topic(&topic)
        .into_iter()
        .filter_map(|(_, v, _)| v.map(|v| String::from_utf8_lossy(&v).into_owned()))
        .collect();
    let seqs: Vec<u64> = values
        .iter()
        .filter_map(|v| v.get(5..11).and_then(|s| s.parse::<u64>().ok()))
        .collect();
    let (received, duplicated, lost) = tally_n(&seqs, 3100);
    println!(
        "fault case fault-disk: offsets file on a full 64 KiB tmpfs: sent 3100, received {received}, duplicated {duplicated}, lost {lost}"
    );
    assert_eq!(lost, 0, "lines lost");
    assert_eq!(duplicated, 0, "lines sent twice");
    worker.terminate();
}

/// Received sequence numbers to (received, duplicated, lost) over `0..n`.
fn tally_n(seqs: &[u64], n: u64) -> (u64, u64, u64) {
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for s in seqs {
        *seen.entry(*s).or_default() += 1;
    }
    let duplicated = seen.values().map(|k| k - 1).sum();
    let lost = (0..n).filter(|s| !seen.contains_key(s)).count() as u64;
    (seqs.len() as u64, duplicated, lost)
}

fn append_records(file: &Path, seqs: std::ops::Range<u64>) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("input file");
    let mut text = String::new();
    for seq in seqs {
        text.push_str(&value(seq));
        text.push('\n');
    }
    f.write_all(text.as_bytes()).expect("input written");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_mid_stream_loses_nothing_in_a_source_or_any_sink() {
    const N: u64 = 3000;
    let (down_for, _) = profile();
    let mut broker = crate::support::OwnBroker::listening().await;
    let client = crate::elasticsearch::require_osmem().await;
    let rx = hec_receiver().await;
    let bucket = unique("fault-broker").to_lowercase();
    s3::create_bucket(&client, &bucket).await;
    let topic = unique("fault-broker");
    let index = topic.to_lowercase();

    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "").expect("input file");
    let port = free_port();
    let props = worker_properties(
        dir.path(),
        port,
        &[("bootstrap.servers", broker.address.as_str())],
    );
    let files = [
        connector_file(
            dir.path(),
            "broker-src",
            json!({"connector.class": "FileStreamSource", "file": input, "topic": topic}),
        ),
        connector_file(
            dir.path(),
            "broker-es",
            es_config(&topic, &crate::elasticsearch::osmem_url()),
        ),
        connector_file(dir.path(), "broker-hec", hec_config(&topic, &rx.url)),
        connector_file(
            dir.path(),
            "broker-s3",
            s3_config(&topic, &bucket, &s3::moto()),
        ),
    ];
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
    worker.wait_healthy().await;
    let pid = worker.pid();
    // Every sink has committed `n`: all of it is at its peer.
    let all_committed = |n: u64| {
        let (client, url) = (&client, worker.url.clone());
        async move {
            for name in ["broker-es", "broker-hec", "broker-s3"] {
                eventually(
                    &format!("{name}: {n} offsets committed"),
                    Duration::from_secs(300),
                    || async {
                        (committed_sum(client, &url, name).await? >= n as i64).then_some(())
                    },
                )
                .await;
            }
        }
    };

    append_records(&input, 0..N / 3);
    all_committed(N / 3).await;
    broker.stop().await;
    // Read by the source while the broker is away.
    append_records(&input, N / 3..2 * N / 3);
    // The outage is a length of time, not a synchronisation.
    tokio::time::sleep(down_for).await;
    broker.resume().await;
    append_records(&input, 2 * N / 3..N);
    all_committed(N).await;
    assert_eq!(worker.pid(), pid, "the same worker process carried on");
    for name in ["broker-src", "broker-es", "broker-hec", "broker-s3"] {
        let state = status(&client, &worker.url, name).await;
        assert_eq!(state["tasks"][0]["state"], "RUNNING", "{name}: {state}");
    }
    let peak_rss_mb = rss_mb(worker.pid());
    let cases = [
        ("elasticsearch", es_seqs(&client, &index, N).await),
        ("hec", hec_seqs(&rx)),
        ("s3", s3_seqs(&client, &bucket).await),
    ];
    for (sink, seqs) in &cases {
        let (received, duplicated, lost) = tally_n(seqs, N);
        println!(
            "fault case broker-restart ({sink}): broker down {down_for:?} mid-stream: sent {N}, received {received}, duplicated {duplicated}, lost {lost}; worker RSS {peak_rss_mb:.1} MB at the end"
        );
        assert_eq!(lost, 0, "{sink}: records lost over the broker restart");
    }
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_sigkills_lose_nothing_and_idempotent_sinks_duplicate_nothing() {
    let full = std::env::var("RAMPART_FAULTS").is_ok_and(|v| v == "full");
    let (n, kills): (u64, u64) = if full { (1_000_000, 10) } else { (60_000, 4) };
    let client = crate::elasticsearch::require_osmem().await;
    let bucket = unique("fault-kill").to_lowercase();
    s3::create_bucket(&client, &bucket).await;
    let topic = unique("fault-kill");
    let index = topic.to_lowercase();
    create_topic(&topic, 2).await;
    produce(&topic, 0..n).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let files = [
        connector_file(
            dir.path(),
            "kill-es",
            es_config(&topic, &crate::elasticsearch::osmem_url()),
        ),
        connector_file(
            dir.path(),
            "kill-s3",
            s3_config(&topic, &bucket, &s3::moto()),
        ),
    ];
    let progress = |url: String| {
        let client = &client;
        async move {
            let mut least = i64::MAX;
            for name in ["kill-es", "kill-s3"] {
                least = least.min(committed_sum(client, &url, name).await.unwrap_or(0));
            }
            least
        }
    };
    let mut peak_rss_mb = 0f64;
    for k in 1..=kills {
        let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
        worker.wait_healthy().await;
        // Killed once both sinks are k/(kills+1) of the way: mid-run,
        // with work committed and work in flight.
        let mark = (n * k / (kills + 1)) as i64;
        eventually(
            &format!("kill {k}: {mark} offsets committed by both sinks"),
            Duration::from_secs(600),
            || async { (progress(worker.url.clone()).await >= mark).then_some(()) },
        )
        .await;
        peak_rss_mb = peak_rss_mb.max(rss_mb(worker.pid()));
        worker.kill9();
    }
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
    worker.wait_healthy().await;
    eventually(
        &format!("all {n} offsets committed by both sinks"),
        Duration::from_secs(600),
        || async { (progress(worker.url.clone()).await >= n as i64).then_some(()) },
    )
    .await;
    peak_rss_mb = peak_rss_mb.max(rss_mb(worker.pid()));
    worker.terminate();
    for (sink, seqs) in [
        ("elasticsearch", es_seqs(&client, &index, n).await),
        ("s3", s3_seqs(&client, &bucket).await),
    ] {
        let (received, duplicated, lost) = tally_n(&seqs, n);
        println!(
            "fault case sigkill ({sink}): {kills} SIGKILLs over {n} records: sent {n}, received {received}, duplicated {duplicated}, lost {lost}; peak RSS {peak_rss_mb:.1} MB"
        );
        assert_eq!(lost, 0, "{sink}: records lost");
        assert_eq!(
            duplicated, 0,
            "{sink}: idempotent writes duplicated records"
        );
    }
}

/// Open file descriptors of a process.
fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

/// Least-squares slope of `(seconds, value)` points, per minute.
fn slope_per_minute(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx * 60.0
    }
}

/// Syslog over TCP into Kafka and on to Splunk HEC: first a burst as
/// fast as it goes, to measure the capacity, then half of it for the soak
/// (30 s here, 30 minutes under scripts/faults), sampling the worker's RSS
/// and open descriptors.
#[tokio::test(flavor = "multi_thread")]
async fn a_soak_at_half_capacity_keeps_memory_and_descriptors_flat() {
    use tokio::io::AsyncWriteExt;
    let (burst, soak, sample) = if full() {
        (
            100_000u64,
            Duration::from_secs(30 * 60),
            Duration::from_secs(10),
        )
    } else {
        (5_000u64, Duration::from_secs(30), Duration::from_secs(1))
    };
    // The HEC test receiver, counting only: a peer that keeps up for half
    // an hour (osmem, an in-memory Python server, slows as it fills).
    let rx = Receiver::start(
        HEC_TOKEN,
        Behaviour {
            ack: true,
            count_only: true,
            ..Default::default()
        },
    )
    .await;
    let client = reqwest::Client::new();
    let topic = unique("fault-soak");
    create_topic(&topic, 1).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let (port, syslog_port) = (free_port(), free_port());
    let props = worker_properties(
        dir.path(),
        port,
        &[
            ("consumer.queued.max.messages.kbytes", "2048"),
            ("consumer.fetch.max.bytes", "1048576"),
        ],
    );
    let files = [
        connector_file(
            dir.path(),
            "soak-syslog",
            json!({
                "connector.class": "io.confluent.connect.syslog.SyslogSourceConnector",
                "syslog.listener": "TCP",
                "syslog.listen.address": "127.0.0.1",
                "syslog.port": syslog_port,
                "topic": topic,
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": "false",
            }),
        ),
        connector_file(dir.path(), "soak-hec", hec_config(&topic, &rx.url)),
    ];
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
    worker.wait_healthy().await;
    let client = &client;
    let url = worker.url.clone();
    let committed = |n: u64| {
        let url = url.clone();
        async move {
            eventually(
                &format!("soak: {n} offsets committed"),
                Duration::from_secs(600),
                || async {
                    (committed_sum(client, &url, "soak-hec").await? >= n as i64).then_some(())
                },
            )
            .await;
        }
    };
    let mut tcp = eventually("the syslog listener", Duration::from_secs(60), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", syslog_port))
            .await
            .ok()
    })
    .await;
    let line = |i: u64| {
        format!("<38>1 2026-12-07T12:00:00.000Z fw01 sshd 4242 - - seq={i} Failed password for invalid user admin from 203.0.113.{} port 22 ssh2\n", i % 250)
    };

    // Capacity: a burst as fast as the socket takes it, until delivered.
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < burst {
        let mut batch = String::new();
        for _ in 0..500 {
            batch.push_str(&line(sent));
            sent += 1;
        }
        tcp.write_all(batch.as_bytes())
            .await
            .expect("syslog accepts");
    }
    committed(sent).await;
    let capacity = sent as f64 / started.elapsed().as_secs_f64();
    let rate = capacity / 2.0;

    // The soak: `rate` lines a second, in ticks of 100 ms.
    let (pid, begun) = (worker.pid(), Instant::now());
    let (rss_start, fds_start) = (rss_mb(pid), open_fds(pid));
    let (mut rss_points, mut fd_points) = (Vec::new(), Vec::new());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut next_sample = Duration::ZERO;
    let soak_from = sent;
    while begun.elapsed() < soak {
        tick.tick().await;
        let due = soak_from + (rate * begun.elapsed().as_secs_f64()) as u64;
        let mut batch = String::new();
        while sent < due {
            batch.push_str(&line(sent));
            sent += 1;
        }
        tcp.write_all(batch.as_bytes())
            .await
            .expect("syslog accepts");
        if begun.elapsed() >= next_sample {
            let t = begun.elapsed().as_secs_f64();
            rss_points.push((t, rss_mb(pid)));
            fd_points.push((t, open_fds(pid) as f64));
            next_sample += sample;
        }
    }
    committed(sent).await;
    let (rss_end, fds_end) = (rss_mb(pid), open_fds(pid));
    // The second half, after caches and pools have warmed up.
    let half = rss_points.len() / 2;
    let rss_slope = slope_per_minute(&rss_points[half..]);
    let fd_slope = slope_per_minute(&fd_points[half..]);
    assert_eq!(
        rx.event_count(),
        sent,
        "every line reached the receiver once"
    );
    let state = status(client, &url, "soak-syslog").await;
    assert_eq!(state["tasks"][0]["state"], "RUNNING", "{state}");
    worker.terminate();
    println!(
        "fault case soak: capacity {capacity:.0} lines/s (syslog TCP -> Kafka -> HEC), soak {soak:?} at {rate:.0}/s: {sent} lines sent and delivered; RSS {rss_start:.1} -> {rss_end:.1} MB (slope over the second half {rss_slope:+.2} MB/min); open fds {fds_start} -> {fds_end} (slope {fd_slope:+.2}/min)"
    );
    assert!(
        fds_end <= fds_start + 4,
        "descriptors grew from {fds_start} to {fds_end}"
    );
    assert!(
        rss_end < rss_start + 32.0,
        "RSS grew from {rss_start:.1} MB to {rss_end:.1} MB"
    );
    if full() {
        assert!(rss_slope < 1.0, "RSS still growing: {rss_slope:+.2} MB/min");
    }
}
