//! Error tolerance, the dead-letter queue and transforms end to end against
//! the broker: a record that fails conversion lands on the DLQ topic with
//! Kafka's context headers, the pipeline carries on, topic-renaming
//! transforms don't break offset commits, and `/metrics` counts it all.

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::json;

use crate::support::{
    bootstrap, create_connector, eventually, free_port, json, unique, wait_for, worker_properties,
    WorkerProcess,
};

/// A record to produce: key, value and an optional header.
pub(crate) type TestRecord<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

pub(crate) async fn produce(topic: &str, records: &[TestRecord<'_>]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    for (key, value, header) in records {
        let mut rec: FutureRecord<'_, str, str> = FutureRecord::to(topic)
            .key(*key)
            .payload(*value)
            .partition(0);
        if let Some((k, v)) = header {
            rec = rec.headers(OwnedHeaders::new().insert(Header {
                key: k,
                value: Some(*v),
            }));
        }
        producer
            .send(rec, Duration::from_secs(30))
            .await
            .expect("produced");
    }
}

/// Reads every record of partition 0 of a topic: (key, value, headers).
pub(crate) fn read_topic(
    topic: &str,
    expected: usize,
) -> Vec<(String, String, HashMap<String, String>)> {
    read_partition0(&bootstrap(), topic, expected)
}

/// A consumer assigned partition 0 of a topic, from the start.
pub(crate) fn partition0_consumer(bootstrap: &str, topic: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("test-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    consumer
}

/// Reads partition 0 of a topic from the start: (key, value, headers).
pub(crate) fn read_partition0(
    bootstrap: &str,
    topic: &str,
    expected: usize,
) -> Vec<(String, String, HashMap<String, String>)> {
    let consumer = partition0_consumer(bootstrap, topic);
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while out.len() < expected && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let text =
                |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), text(h.value)))
                        .collect()
                })
                .unwrap_or_default();
            out.push((text(m.key()), text(m.payload()), headers));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_record_goes_to_the_dlq_with_context_and_the_pipeline_carries_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let topic = unique("events");
    let dlq = format!("{topic}-dlq");
    produce(
        &topic,
        &[
            ("k1", r#"{"user":"alice","n":1}"#, None),
            ("k2", "not json{", Some(("origin", "fw01"))),
            ("k3", r#"{"user":"bob","n":2}"#, None),
        ],
    )
    .await;

    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let out = dir.path().join("out.txt");
    let config = json!({
        "connector.class": "FileStreamSink",
        "topics": topic,
        "file": out,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "errors.tolerance": "all",
        "errors.log.enable": "true",
        "errors.log.include.messages": "true",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
        "transforms": "env,route",
        "transforms.env.type": "org.apache.kafka.connect.transforms.InsertField$Value",
        "transforms.env.static.field": "env",
        "transforms.env.static.value": "prod",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "(.*)",
        "transforms.route.replacement": "$1-index",
    });
    create_connector(&client, &worker.url, "dlq-sink", &config).await;

    let out_ref = &out;
    let lines = eventually(
        "two good records in the sink",
        Duration::from_secs(60),
        || async move {
            let text = std::fs::read_to_string(out_ref).unwrap_or_default();
            (text.lines().count() >= 2).then_some(text)
        },
    )
    .await;
    assert_eq!(
        lines,
        "{user=alice, n=1, env=prod}\n{user=bob, n=2, env=prod}\n"
    );

    let dlq_records = tokio::task::spawn_blocking(move || read_topic(&dlq, 1))
        .await
        .expect("reader");
    assert_eq!(dlq_records.len(), 1, "exactly the bad record is in the DLQ");
    let (key, value, headers) = &dlq_records[0];
    assert_eq!(
        (key.as_str(), value.as_str()),
        ("k2", "not json{"),
        "original bytes are kept"
    );
    assert_eq!(headers["origin"], "fw01", "original headers are kept");
    assert_eq!(headers["__connect.errors.topic"], topic);
    assert_eq!(headers["__connect.errors.partition"], "0");
    assert_eq!(headers["__connect.errors.offset"], "1");
    assert_eq!(headers["__connect.errors.connector.name"], "dlq-sink");
    assert_eq!(headers["__connect.errors.task.id"], "0");
    assert_eq!(headers["__connect.errors.stage"], "VALUE_CONVERTER");
    assert_eq!(
        headers["__connect.errors.class.name"],
        "org.apache.kafka.connect.json.JsonConverter"
    );
    assert_eq!(
        headers["__connect.errors.exception.class.name"],
        "org.apache.kafka.connect.errors.DataException"
    );
    assert!(headers["__connect.errors.exception.message"]
        .starts_with("Converting byte[] to Kafka Connect data failed due to serialization error"));
    assert!(headers.contains_key("__connect.errors.exception.stacktrace"));

    // Offsets are committed against the consumed topic, though RegexRouter
    // renamed every record's topic.
    let url = worker.url.clone();
    let client_ref = &client;
    let offsets = eventually(
        "sink offsets committed past all three records",
        Duration::from_secs(30),
        || {
            let url = url.clone();
            async move {
                let (_, body) = json(
                    client_ref
                        .get(format!("{url}/connectors/dlq-sink/offsets"))
                        .send()
                        .await
                        .ok()?,
                )
                .await;
                let p0 = body["offsets"]
                    .as_array()?
                    .iter()
                    .find(|o| o["partition"]["kafka_partition"] == 0)?
                    .clone();
                (p0["offset"]["kafka_offset"] == 3).then_some(p0)
            }
        },
    )
    .await;
    assert_eq!(offsets["partition"]["kafka_topic"], topic);

    let metrics = client
        .get(format!("{}/metrics", worker.url))
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    let line = |name: &str| format!("{name}{{connector=\"dlq-sink\",task=\"0\"}}");
    for (name, value) in [
        ("kafka_connect_task_error_metrics_total_record_errors", 1),
        ("kafka_connect_task_error_metrics_total_records_skipped", 1),
        (
            "kafka_connect_task_error_metrics_deadletterqueue_produce_requests",
            1,
        ),
        (
            "kafka_connect_task_error_metrics_deadletterqueue_produce_failures",
            0,
        ),
        ("kafka_connect_sink_task_metrics_sink_record_read_total", 3),
        ("kafka_connect_sink_task_metrics_sink_record_send_total", 2),
    ] {
        assert!(
            metrics.contains(&format!("{} {value}\n", line(name))),
            "{name} should be {value} in:\n{metrics}"
        );
    }
    assert!(
        worker.log_text().contains("not json{"),
        "errors.log.include.messages logs the record"
    );

    // Without tolerance the same record fails the task, with a trace.
    let strict = json!({
        "connector.class": "FileStreamSink", "topics": topic, "file": dir.path().join("strict.txt"),
        "value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
    });
    create_connector(&client, &worker.url, "strict-sink", &strict).await;
    let failed = wait_for(&client, &worker.url, "strict-sink", |s| {
        s["tasks"][0]["state"] == "FAILED"
    })
    .await;
    let trace = failed["tasks"][0]["trace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    assert_eq!(worker.terminate().code(), Some(0));
}
