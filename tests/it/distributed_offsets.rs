//! Source offsets in an offsets topic on Apache Kafka, in Java's format:
//! written and read back by separate stores, matched against a record a
//! Java worker would have written with its fields in another order,
//! rewritten under Java's key bytes, cleared with tombstones, and placed
//! in the partition Java's own partitioner picks (checked by running it).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rampart_runtime::distributed::internal_topics::{ensure, InternalTopic};
use rampart_runtime::distributed::offset_store::KafkaOffsetBackingStore;
use rampart_runtime::stores::OffsetBackingStore;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde_json::{json, Map, Value};

use crate::support::{bootstrap, unique};

const PARTITIONS: i32 = 5;

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Every record of the topic: (partition, key, value).
fn records(topic: &str) -> Vec<(i32, String, Option<String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("offsets-reader"))
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    let mut total = 0;
    for p in 0..PARTITIONS {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(5))
            .expect("watermarks");
        total += high;
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (out.len() as i64) < total && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            out.push((
                m.partition(),
                text(m.key().unwrap_or_default()),
                m.payload().map(text),
            ));
        }
    }
    out
}

fn java_partitions(keys: &[&str]) -> Vec<i32> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let classpath = format!("{}/.tools/connect/lib/*", root.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let ok = Command::new("javac")
        .args(["-cp", &classpath, "-d"])
        .arg(dir.path())
        .arg(root.join("testdata/differential/PartitionOracle.java"))
        .status()
        .expect("javac runs");
    assert!(ok.success());
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{classpath}:{}", dir.path().display()))
        .arg("PartitionOracle")
        .arg(PARTITIONS.to_string())
        .args(keys)
        .output()
        .expect("java runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a partition number"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn offsets_round_trip_in_javas_format_and_partitions() {
    let topic = unique("connect-offsets");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin");
    ensure(&admin, &InternalTopic::offsets(&topic, PARTITIONS, 1))
        .await
        .expect("offsets topic");
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", bootstrap());

    let writer = KafkaOffsetBackingStore::open(&base, &topic)
        .await
        .expect("store");
    let ours = map(json!({"filename": "/in"}));
    writer
        .put(
            "fs",
            vec![(ours.clone(), Some(map(json!({"position": 10}))))],
        )
        .await
        .expect("put");
    assert_eq!(writer.get("fs", &ours), Some(map(json!({"position": 10}))));

    // A record as a Java worker writes it: its partition map in its own
    // field order, in the partition Java's partitioner picks.
    let java_key = r#"["fs",{"a":1,"filename":"/other"}]"#;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::to(&topic)
                .key(java_key)
                .payload(r#"{"position":77}"#),
            Duration::from_secs(10),
        )
        .await
        .expect("java-style record");

    let reader = KafkaOffsetBackingStore::open(&base, &topic)
        .await
        .expect("store");
    let other = map(json!({"filename": "/other", "a": 1}));
    assert_eq!(reader.get("fs", &ours), Some(map(json!({"position": 10}))));
    assert_eq!(reader.get("fs", &other), Some(map(json!({"position": 77}))));
    assert_eq!(reader.connector_offsets("fs").len(), 2);
    assert!(reader.connector_offsets("other-connector").is_empty());

    // A rewrite keeps Java's key bytes, so compaction keeps one record.
    reader
        .put(
            "fs",
            vec![(other.clone(), Some(map(json!({"position": 78}))))],
        )
        .await
        .expect("put");
    let written = tokio::task::spawn_blocking({
        let topic = topic.clone();
        move || records(&topic)
    })
    .await
    .expect("reader");
    let rewrites: Vec<_> = written.iter().filter(|(_, k, _)| k == java_key).collect();
    assert_eq!(rewrites.len(), 2, "{written:?}");
    assert_eq!(rewrites[1].2.as_deref(), Some(r#"{"position":78}"#));

    // Every key sits where Java's partitioner puts it.
    let keys: Vec<&str> = written.iter().map(|(_, k, _)| k.as_str()).collect();
    let expected = java_partitions(&keys);
    let got: Vec<i32> = written.iter().map(|(p, _, _)| *p).collect();
    assert_eq!(got, expected, "{keys:?}");

    // Clearing writes tombstones; a fresh store sees nothing.
    reader.clear("fs").await.expect("clear");
    let after = KafkaOffsetBackingStore::open(&base, &topic)
        .await
        .expect("store");
    assert!(after.connector_offsets("fs").is_empty());
}
