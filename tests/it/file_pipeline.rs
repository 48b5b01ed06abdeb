//! FileStreamSource → topic → FileStreamSink through the real broker,
//! including a SIGKILL in the middle of the run (at-least-once).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::support::{eventually, free_port, unique, worker_properties, WorkerProcess};

const TOTAL: usize = 100_000;

fn line(i: usize) -> String {
    format!("event-{i:06} sshd[4242]: Failed password for invalid user admin from 10.0.0.{} port 22 ssh2", i % 250)
}

fn append_lines(path: &Path, range: std::ops::Range<usize>) {
    let mut f = std::io::BufWriter::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("temp dir is writable"),
    );
    for i in range {
        writeln!(f, "{}", line(i)).expect("temp dir is writable");
    }
    f.flush().expect("temp dir is writable");
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

fn connector_files(
    dir: &Path,
    input: &Path,
    output: &Path,
    topic: &str,
) -> Vec<std::path::PathBuf> {
    let source = dir.join("source.properties");
    std::fs::write(
        &source,
        format!(
            "name=file-source\nconnector.class=org.apache.kafka.connect.file.FileStreamSourceConnector\ntasks.max=1\nfile={}\ntopic={topic}\n",
            input.display()
        ),
    )
    .expect("temp dir is writable");
    // The sink as the JSON body of a POST, the other accepted file shape.
    let sink = dir.join("sink.json");
    std::fs::write(
        &sink,
        serde_json::json!({"name": "file-sink", "config": {"connector.class": "FileStreamSink", "tasks.max": 1, "file": output, "topics": topic}})
            .to_string(),
    )
    .expect("temp dir is writable");
    vec![source, sink]
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_thousand_lines_survive_sigkill_and_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("input.log");
    let output = dir.path().join("output.log");
    let topic = unique("file-pipeline");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let connectors = connector_files(dir.path(), &input, &output, &topic);

    append_lines(&input, 0..TOTAL / 5);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &connectors);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let url = worker.url.clone();
    let committed_at_least = |n: usize| {
        let client = client.clone();
        let url = url.clone();
        move || {
            let client = client.clone();
            let url = url.clone();
            async move {
                let resp = client
                    .get(format!("{url}/connectors/file-sink/offsets"))
                    .send()
                    .await
                    .ok()?;
                let body: serde_json::Value = resp.json().await.ok()?;
                let sum: i64 = body["offsets"]
                    .as_array()?
                    .iter()
                    .filter_map(|o| o["offset"]["kafka_offset"].as_i64())
                    .sum();
                (sum >= n as i64).then_some(sum)
            }
        }
    };
    eventually(
        "the sink's first commits",
        Duration::from_secs(90),
        committed_at_least(TOTAL / 10),
    )
    .await;

    // Keep appending while the pipeline runs, then SIGKILL the worker in the
    // middle: both the source and the sink are busy at that moment.
    let writer_input = input.clone();
    let writer = std::thread::spawn(move || {
        for start in (TOTAL / 5..TOTAL).step_by(200) {
            append_lines(&writer_input, start..(start + 200).min(TOTAL));
            // Paces the load (about 40k lines/s); not a synchronisation.
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let committed = eventually(
        "two fifths committed by the sink",
        Duration::from_secs(90),
        committed_at_least(2 * TOTAL / 5),
    )
    .await;
    worker.kill9();
    let at_kill = count_lines(&output);
    let writer_busy = !writer.is_finished();
    assert!(
        at_kill as i64 >= committed,
        "the sink commits only what it flushed"
    );
    writer.join().expect("writer thread");

    let mut worker = WorkerProcess::start(dir.path(), &props, port, &connectors);
    worker.wait_healthy().await;
    let output_ref = &output;
    eventually(
        "every line in the sink",
        Duration::from_secs(120),
        || async move {
            let text = std::fs::read_to_string(output_ref).unwrap_or_default();
            let distinct: std::collections::HashSet<&str> = text.lines().collect();
            (distinct.len() >= TOTAL).then_some(())
        },
    )
    .await;

    let text = std::fs::read_to_string(&output).expect("sink file exists");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for l in text.lines() {
        *seen.entry(l).or_default() += 1;
    }
    let expected: Vec<String> = (0..TOTAL).map(line).collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|l| !seen.contains_key(l.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lines lost, first: {:?}",
        missing.len(),
        missing.first()
    );
    let unexpected: Vec<&&str> = seen.keys().filter(|l| !l.starts_with("event-")).collect();
    assert!(
        unexpected.is_empty(),
        "corrupted lines in sink: {unexpected:?}"
    );
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert_eq!(seen.len(), TOTAL);
    println!(
        "file pipeline: {TOTAL} lines delivered, {at_kill} in the sink and {committed} committed at SIGKILL (input still growing: {writer_busy}), {duplicates} duplicates after restart (at-least-once)"
    );
    assert_eq!(
        worker.terminate().code(),
        Some(0),
        "clean shutdown; log:\n{}",
        worker.log_text()
    );
}

/// A sink task's partitions taken away by a rebalance are committed first,
/// as Java's `onPartitionsRevoked` does: the member that gets them starts
/// after what the task already wrote, not at the last periodic commit.
/// Periodic commits are an hour apart here, so only the revocation commits.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_sink_partition_is_committed_before_it_moves() {
    use rdkafka::consumer::{BaseConsumer, Consumer};

    let dir = tempfile::tempdir().expect("temp dir");
    let output = dir.path().join("output.log");
    let topic = unique("revoke");
    let name = unique("revoke-sink");
    crate::support::create_topic(&topic, 2).await;
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[("offset.flush.interval.ms", "3600000")]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    crate::support::create_connector(
        &client,
        &worker.url,
        &name,
        &serde_json::json!({"connector.class": "FileStreamSink", "tasks.max": "1",
            "file": output, "topics": topic}),
    )
    .await;

    let producer: rdkafka::producer::FutureProducer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", crate::support::bootstrap())
        .create()
        .expect("producer");
    const RECORDS: usize = 100;
    for n in 0..RECORDS {
        let payload = line(n);
        let record = rdkafka::producer::FutureRecord::<(), str>::to(&topic)
            .payload(&payload)
            .partition((n % 2) as i32);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .expect("produced");
    }
    eventually(
        "every record in the file",
        Duration::from_secs(60),
        || async { (count_lines(&output) == RECORDS).then_some(()) },
    )
    .await;

    // A second member of the task's group takes a partition from it.
    let member: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", crate::support::bootstrap())
        .set("group.id", format!("connect-{name}"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    member.subscribe(&[&topic]).expect("subscribed");
    let taken = eventually("a partition taken over", Duration::from_secs(60), || {
        let _ = member.poll(Duration::from_millis(100));
        let taken = member.assignment().ok().filter(|a| a.count() > 0);
        async move { taken }
    })
    .await;
    let committed = member
        .committed_offsets(taken, Duration::from_secs(10))
        .expect("committed offsets");
    for e in committed.elements() {
        assert_eq!(
            e.offset(),
            rdkafka::Offset::Offset((RECORDS / 2) as i64),
            "partition {} was committed up to what the task wrote before it moved",
            e.partition()
        );
    }
    assert_eq!(count_lines(&output), RECORDS, "nothing was written twice");
    // A partition list holds librdkafka's partition handles, which the
    // consumer's destroy waits for.
    drop(committed);
    drop(member);
    worker.terminate();
}
