//! The S3 sink end to end: records produced to the broker, the `rampart`
//! binary running the connector, and moto's S3 server (`scripts/moto`,
//! started by `scripts/test`). Objects are read back over plain HTTP: moto
//! does not check signatures, so the tests need no AWS client of their own.

use std::collections::{BTreeMap, HashMap};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value as Json};

use crate::support::{
    await_deliveries, create_topic, eventually, free_port, send_queued, unique, wait_for,
    worker_properties, WorkerProcess,
};

/// moto's address (`scripts/moto`, port overridable like the script's).
pub fn moto() -> String {
    let port = std::env::var("RAMPART_MOTO_PORT").unwrap_or_else(|_| "19555".to_string());
    format!("http://127.0.0.1:{port}")
}

/// Creates a bucket, failing clearly when moto is not running.
pub async fn create_bucket(client: &reqwest::Client, name: &str) {
    let resp = client.put(format!("{}/{name}", moto())).send().await;
    match resp {
        Ok(r) => assert!(r.status().is_success(), "creating bucket {name}: {}", r.status()),
        Err(e) => panic!(
            "moto (S3) is not reachable at {}: {e}; start it with `scripts/moto start` (scripts/test does)",
            moto()
        ),
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    text.split(open)
        .skip(1)
        .filter_map(|s| s.split(close).next())
        .collect()
}

/// Every key in the bucket.
pub async fn list(client: &reqwest::Client, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = client
            .get(format!("{}/{bucket}", moto()))
            .query(&[("list-type", "2")]);
        if let Some(t) = &token {
            req = req.query(&[("continuation-token", t.as_str())]);
        }
        let text = req.send().await.unwrap().text().await.unwrap();
        keys.extend(
            between(&text, "<Key>", "</Key>")
                .into_iter()
                .map(|k| k.replace("&amp;", "&")),
        );
        token = between(&text, "<NextContinuationToken>", "</NextContinuationToken>")
            .first()
            .map(|t| t.to_string());
        if token.is_none() {
            return keys;
        }
    }
}

/// An object's bytes, gunzipped when its name ends in `.gz`.
pub async fn get(client: &reqwest::Client, bucket: &str, key: &str) -> Vec<u8> {
    let path = key.replace('+', "%2B");
    // moto refuses anonymous reads of objects but does not check
    // signatures: any SigV4-shaped header with an access key will do.
    let resp = client
        .get(format!("{}/{bucket}/{path}", moto()))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        )
        .header("x-amz-date", "20261126T000000Z")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "GET {key}: {}", resp.status());
    let body = resp.bytes().await.unwrap().to_vec();
    if key.ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    } else {
        body
    }
}

/// Every object with its JSON lines.
async fn objects(client: &reqwest::Client, bucket: &str) -> BTreeMap<String, Vec<Json>> {
    let mut out = BTreeMap::new();
    for key in list(client, bucket).await {
        let body = get(client, bucket, &key).await;
        let lines = String::from_utf8(body)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        out.insert(key, lines);
    }
    out
}

/// How many times each record id appears across objects.
fn id_counts(objects: &BTreeMap<String, Vec<Json>>) -> HashMap<i64, usize> {
    let mut counts = HashMap::new();
    for lines in objects.values() {
        for l in lines {
            *counts.entry(l["id"].as_i64().unwrap()).or_default() += 1;
        }
    }
    counts
}

/// The value of record `i`.
fn record_value(i: i64) -> Json {
    json!({"id": i, "region": if i % 3 == 0 { "us" } else { "eu" }, "msg": format!("Failed password for invalid user admin{i} from 203.0.113.7 port 22 ssh2")})
}

/// Produces `{"id": i, "region": ...}` records round-robin over partitions,
/// with the timestamp `time(i)`.
async fn produce(
    topic: &str,
    ids: std::ops::Range<i64>,
    partitions: i32,
    time: impl Fn(i64) -> i64,
) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", crate::support::bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let mut pending = std::collections::VecDeque::new();
    for i in ids {
        let v = record_value(i).to_string();
        let rec: FutureRecord<'_, str, str> = FutureRecord::to(topic)
            .payload(v.as_str())
            .partition((i % i64::from(partitions)) as i32)
            .timestamp(time(i));
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;
}

fn connector(dir: &Path, name: &str, topic: &str, bucket: &str, extra: Json) -> PathBuf {
    let mut config = json!({
        "connector.class": "io.confluent.connect.s3.S3SinkConnector",
        "tasks.max": "1",
        "topics": topic,
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "store.url": moto(),
        "aws.access.key.id": "test",
        "aws.secret.access.key": "test",
        "storage.class": "io.confluent.connect.s3.storage.S3Storage",
        "format.class": "io.confluent.connect.s3.format.json.JsonFormat",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "flush.size": "25",
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, json!({"name": name, "config": config}).to_string()).unwrap();
    path
}

const HOUR: i64 = 1_795_687_200_000; // 2026-11-26T10:00:00Z

#[tokio::test]
async fn json_lines_land_once_under_default_and_field_partitions() {
    let client = reqwest::Client::new();
    let topic = unique("s3-json");
    let (plain, gz) = (unique("s3-plain"), unique("s3-gzip"));
    create_bucket(&client, &plain).await;
    create_bucket(&client, &gz).await;
    create_topic(&topic, 2).await;
    produce(&topic, 0..300, 2, |_| HOUR).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let a = connector(dir.path(), &unique("s3a"), &topic, &plain, json!({}));
    let b = connector(
        dir.path(),
        &unique("s3b"),
        &topic,
        &gz,
        json!({
            "s3.compression.type": "gzip",
            "topics.dir": "archive",
            "partitioner.class": "io.confluent.connect.storage.partitioner.FieldPartitioner",
            "partition.field.name": "region",
            "flush.size": "50",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[a, b]);
    worker.wait_healthy().await;

    // 150 records per partition: 6 objects of 25 each.
    let got = eventually("12 plain objects", Duration::from_secs(60), || async {
        let o = objects(&client, &plain).await;
        (o.len() == 12).then_some(o)
    })
    .await;
    for p in 0..2 {
        for n in 0..6 {
            let key = format!(
                "topics/{topic}/partition={p}/{topic}+{p}+{:010}.json",
                n * 25
            );
            let lines = &got[&key];
            assert_eq!(lines.len(), 25, "{key}");
            // Records of a Kafka partition, in offset order.
            let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
            let first = (n * 25) as i64 * 2 + p;
            assert_eq!(
                ids,
                (0..25).map(|k| first + 2 * k).collect::<Vec<_>>(),
                "{key}"
            );
        }
    }
    let counts = id_counts(&got);
    assert!(counts.len() == 300 && counts.values().all(|c| *c == 1));

    // Field partitions: flush.size counts all regions of a Kafka partition.
    let got = eventually(
        "gzip objects with all 300 records",
        Duration::from_secs(60),
        || async {
            let o = objects(&client, &gz).await;
            (id_counts(&o).len() == 300).then_some(o)
        },
    )
    .await;
    assert!(id_counts(&got).values().all(|c| *c == 1));
    for (key, lines) in &got {
        let region = if key.contains("/region=us/") {
            "us"
        } else {
            "eu"
        };
        assert!(
            key.starts_with(&format!("archive/{topic}/region={region}/{topic}+")),
            "{key}"
        );
        assert!(key.ends_with(".json.gz"), "{key}");
        assert!(lines.iter().all(|l| l["region"] == region), "{key}");
    }
    assert!(got.keys().any(|k| k.contains("/region=us/")));
    worker.terminate();
}

#[tokio::test]
async fn keys_and_headers_objects_hold_each_record_beside_its_value() {
    use rdkafka::message::{Header, OwnedHeaders};

    let client = reqwest::Client::new();
    let topic = unique("s3-kvh");
    let bucket = unique("s3-kvh");
    create_bucket(&client, &bucket).await;
    create_topic(&topic, 1).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", crate::support::bootstrap())
        .set("message.timeout.ms", "30000")
        .create()
        .unwrap();
    let mut pending = std::collections::VecDeque::new();
    for i in 0..30i64 {
        let (v, k, trace) = (
            record_value(i).to_string(),
            format!("key-{i}"),
            format!("trace-{i}"),
        );
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "trace",
                value: Some(trace.as_str()),
            })
            .insert(Header {
                key: "origin",
                value: Some("sshd"),
            });
        let rec: FutureRecord<'_, str, str> = FutureRecord::to(&topic)
            .payload(v.as_str())
            .key(k.as_str())
            .headers(headers)
            .partition(0);
        send_queued(&producer, rec, &mut pending).await;
    }
    await_deliveries(pending).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let file = connector(
        dir.path(),
        &unique("s3kvh"),
        &topic,
        &bucket,
        json!({
            "store.kafka.keys": "true",
            "store.kafka.headers": "true",
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "flush.size": "10",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let got = eventually("nine objects", Duration::from_secs(60), || async {
        let o = objects(&client, &bucket).await;
        (o.len() == 9).then_some(o)
    })
    .await;
    for n in 0..3i64 {
        let stem = format!("topics/{topic}/partition=0/{topic}+0+{:010}", n * 10);
        let values = &got[&format!("{stem}.json")];
        let keys = &got[&format!("{stem}.keys.json")];
        let headers = &got[&format!("{stem}.headers.json")];
        assert_eq!(
            (values.len(), keys.len(), headers.len()),
            (10, 10, 10),
            "{stem}"
        );
        for (k, ((value, key), h)) in values.iter().zip(keys).zip(headers).enumerate() {
            let i = n * 10 + k as i64;
            assert_eq!(value, &record_value(i), "{stem} record {k}");
            assert_eq!(key, &json!(format!("key-{i}")), "{stem} record {k}");
            assert_eq!(
                h,
                &json!([{"key": "trace", "value": format!("trace-{i}")}, {"key": "origin", "value": "sshd"}]),
                "{stem} record {k}"
            );
        }
    }
    worker.terminate();
}

#[tokio::test]
async fn parquet_objects_decode_back_to_the_records() {
    use arrow_array::{Array, Int64Array, StringArray};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let client = reqwest::Client::new();
    let topic = unique("s3-parquet");
    let bucket = unique("s3-parquet");
    create_bucket(&client, &bucket).await;
    create_topic(&topic, 1).await;
    produce(&topic, 0..120, 1, |_| HOUR).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let file = connector(
        dir.path(),
        &unique("s3p"),
        &topic,
        &bucket,
        json!({
            "format.class": "io.confluent.connect.s3.format.parquet.ParquetFormat",
            "parquet.codec": "zstd",
            "flush.size": "40",
        }),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let keys = eventually("three parquet objects", Duration::from_secs(60), || async {
        let keys = list(&client, &bucket).await;
        (keys.len() == 3).then_some(keys)
    })
    .await;
    let mut next = 0i64;
    for n in 0..3 {
        let key = format!(
            "topics/{topic}/partition=0/{topic}+0+{:010}.zstd.parquet",
            n * 40
        );
        assert!(keys.contains(&key), "{key} in {keys:?}");
        let body = get(&client, &bucket, &key).await;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(body))
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let col = |name: &str| batch.column_by_name(name).unwrap().clone();
            let ids = col("id");
            let ids = ids.as_any().downcast_ref::<Int64Array>().unwrap();
            let regions = col("region");
            let regions = regions.as_any().downcast_ref::<StringArray>().unwrap();
            let msgs = col("msg");
            let msgs = msgs.as_any().downcast_ref::<StringArray>().unwrap();
            for row in 0..batch.num_rows() {
                let expected = record_value(next);
                assert_eq!(ids.value(row), expected["id"].as_i64().unwrap());
                assert_eq!(regions.value(row), expected["region"].as_str().unwrap());
                assert_eq!(msgs.value(row), expected["msg"].as_str().unwrap());
                assert!(!ids.is_null(row));
                next += 1;
            }
        }
    }
    assert_eq!(next, 120);
    worker.terminate();
}

/// An object's ETag: a multipart object's ends in `-<parts>`.
async fn etag(client: &reqwest::Client, bucket: &str, key: &str) -> String {
    let path = key.replace('+', "%2B");
    let resp = client
        .head(format!("{}/{bucket}/{path}", moto()))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20261126/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
        )
        .header("x-amz-date", "20261126T000000Z")
        .send()
        .await
        .unwrap();
    resp.headers()["etag"]
        .to_str()
        .unwrap()
        .trim_matches('"')
        .to_string()
}

#[tokio::test]
async fn big_objects_go_up_in_parts_and_read_back_whole() {
    let client = reqwest::Client::new();
    let topic = unique("s3-big");
    let (by_part_size, by_budget) = (unique("s3-parts"), unique("s3-budget"));
    create_bucket(&client, &by_part_size).await;
    create_bucket(&client, &by_budget).await;
    create_topic(&topic, 1).await;
    // About 8 MB of JSON in one object.
    const N: i64 = 60_000;
    produce(&topic, 0..N, 1, |_| HOUR).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let flush = N.to_string();
    let a = connector(
        dir.path(),
        &unique("s3mp"),
        &topic,
        &by_part_size,
        json!({"flush.size": flush, "s3.part.size": "5242880"}),
    );
    // Default part size (25 MiB), but a task budget of nothing: parts leave
    // as soon as an object holds S3's minimum part.
    let b = connector(
        dir.path(),
        &unique("s3mb"),
        &topic,
        &by_budget,
        json!({"flush.size": flush, "s3.buffer.max.bytes": "0"}),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[a, b]);
    worker.wait_healthy().await;
    for bucket in [&by_part_size, &by_budget] {
        let got = eventually("the big object", Duration::from_secs(90), || async {
            let o = objects(&client, bucket).await;
            (!o.is_empty()).then_some(o)
        })
        .await;
        assert_eq!(got.len(), 1);
        let (key, lines) = got.iter().next().unwrap();
        assert_eq!(
            key,
            &format!("topics/{topic}/partition=0/{topic}+0+0000000000.json")
        );
        let ids: Vec<i64> = lines.iter().map(|l| l["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, (0..N).collect::<Vec<_>>());
        let tag = etag(&client, bucket, key).await;
        assert!(tag.ends_with("-2"), "multipart with two parts, etag {tag}");
    }
    worker.terminate();
}

#[tokio::test]
async fn time_paths_cross_an_hour_and_objects_rotate_by_record_time_and_wall_clock() {
    let client = reqwest::Client::new();
    let topic = unique("s3-time");
    let (hourly, sched) = (unique("s3-hourly"), unique("s3-sched"));
    create_bucket(&client, &hourly).await;
    create_bucket(&client, &sched).await;
    create_topic(&topic, 1).await;
    // 10 records in the last seconds of 09:xx, 10 in the first of 10:xx,
    // then one at 10:30 that closes the 10:xx object by record time.
    produce(&topic, 0..21, 1, |i| match i {
        0..=9 => HOUR - 10_000 + i * 1000,
        10..=19 => HOUR + (i - 10) * 1000,
        _ => HOUR + 30 * 60_000,
    })
    .await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let a = connector(
        dir.path(),
        &unique("s3h"),
        &topic,
        &hourly,
        json!({
            "flush.size": "1000",
            "rotate.interval.ms": "600000",
            "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
            "timestamp.extractor": "Record",
            "locale": "en-US",
            "timezone": "UTC",
        }),
    );
    let b = connector(
        dir.path(),
        &unique("s3w"),
        &topic,
        &sched,
        json!({"flush.size": "1000", "rotate.schedule.interval.ms": "2000"}),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[a, b]);
    worker.wait_healthy().await;

    let got = eventually("two hourly objects", Duration::from_secs(60), || async {
        let o = objects(&client, &hourly).await;
        (o.len() == 2).then_some(o)
    })
    .await;
    let before =
        format!("topics/{topic}/year=2026/month=11/day=26/hour=09/{topic}+0+0000000000.json");
    let after =
        format!("topics/{topic}/year=2026/month=11/day=26/hour=10/{topic}+0+0000000010.json");
    let ids =
        |key: &str| -> Vec<i64> { got[key].iter().map(|l| l["id"].as_i64().unwrap()).collect() };
    assert_eq!(ids(&before), (0..10).collect::<Vec<_>>());
    assert_eq!(ids(&after), (10..20).collect::<Vec<_>>());

    // Wall clock: the 21 records never reach flush.size, yet they land.
    let got = eventually(
        "all records by scheduled rotation",
        Duration::from_secs(60),
        || async {
            let o = objects(&client, &sched).await;
            (id_counts(&o).len() == 21).then_some(o)
        },
    )
    .await;
    assert!(id_counts(&got).values().all(|c| *c == 1));
    worker.terminate();
}

#[tokio::test]
async fn sigkill_mid_run_then_restart_leaves_every_record_exactly_once() {
    let client = reqwest::Client::new();
    let topic = unique("s3-kill");
    let bucket = unique("s3-kill");
    create_bucket(&client, &bucket).await;
    create_topic(&topic, 4).await;
    const N: i64 = 40_000;
    produce(&topic, 0..N, 4, |_| HOUR).await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let file = connector(
        dir.path(),
        &unique("s3k"),
        &topic,
        &bucket,
        json!({"flush.size": "500"}),
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, std::slice::from_ref(&file));
    worker.wait_healthy().await;
    eventually("some objects uploaded", Duration::from_secs(60), || async {
        (list(&client, &bucket).await.len() >= 4).then_some(())
    })
    .await;
    worker.kill9();
    let before = list(&client, &bucket).await.len();
    assert!(
        before < 80,
        "the worker was killed before it finished ({before} objects)"
    );

    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    eventually("80 objects", Duration::from_secs(120), || async {
        let keys = list(&client, &bucket).await;
        (keys.len() >= 80).then_some(())
    })
    .await;
    let all = objects(&client, &bucket).await;
    assert_eq!(all.len(), 80, "{:?}", all.keys().collect::<Vec<_>>());
    let counts = id_counts(&all);
    assert_eq!(counts.len() as i64, N);
    let dup: Vec<_> = counts.iter().filter(|(_, c)| **c != 1).collect();
    assert!(dup.is_empty(), "records in more than one object: {dup:?}");
    worker.terminate();
}

#[tokio::test]
async fn a_missing_bucket_fails_the_task_with_the_reason() {
    let client = reqwest::Client::new();
    // Reachability check with a clear message.
    create_bucket(&client, &unique("s3-probe")).await;
    let topic = unique("s3-nobucket");
    create_topic(&topic, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let name = unique("s3n");
    let file = connector(dir.path(), &name, &topic, "no-such-bucket-here", json!({}));
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let s = wait_for(&client, &worker.url, &name, |s| {
        s["tasks"][0]["state"] == "FAILED"
    })
    .await;
    let trace = s["tasks"][0]["trace"].as_str().unwrap_or_default();
    assert!(
        trace.contains("bucket no-such-bucket-here does not exist"),
        "{trace}"
    );
    worker.terminate();
}
