//! Transforms, predicates and converters against Java Kafka Connect 3.9
//! itself: each case of `testdata/differential/smt-cases.json` runs as a
//! FileStreamSource connector on a Java `ConnectStandalone` and on Rampart,
//! reading the same lines, each writing to a topic of its own on the same
//! Apache Kafka broker. The records' bytes (keys, values, headers) must be
//! equal, and so must the task's final state. This, not a reading of Java's
//! source, is the authority on what the 16 SMTs, 3 predicates and the
//! converters produce.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{json, Value};

use crate::support::{bootstrap, create_connector, unique, JavaAndRampart};

/// Lines each input file holds: plain words (with an empty line, a comma
/// and non-ASCII text), small numbers, and epoch milliseconds.
const INPUTS: &[(&str, &str)] = &[
    ("words", "alice\nbob smith\n\ncharlie,42\nzoë ✓\n"),
    ("numbers", "42\n-7\n0\n"),
    ("epochs", "1700000000000\n0\n86400000\n"),
];

pub(crate) type Record = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

/// Every record of partition 0 of `topic`, up to its end.
pub(crate) fn read_topic(topic: &str) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("smt-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let Ok((_, high)) = consumer.fetch_watermarks(topic, 0, Duration::from_secs(5)) else {
        return Vec::new(); // never created: nothing was written
    };
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .expect("partition");
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while (out.len() as i64) < high && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            let headers = m
                .headers()
                .map(|hs| {
                    hs.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default();
            out.push((
                m.key().map(<[u8]>::to_vec),
                m.payload().map(<[u8]>::to_vec),
                headers,
            ));
        }
    }
    out
}

fn show(records: &[Record]) -> String {
    let text = |b: &Option<Vec<u8>>| match b {
        None => "null".to_string(),
        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
    };
    records
        .iter()
        .map(|(k, v, h)| {
            let headers: Vec<String> = h.iter().map(|(k, v)| format!("{k}={}", text(v))).collect();
            format!(
                "key={} value={} headers=[{}]",
                text(k),
                text(v),
                headers.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n        ")
}

struct Side {
    url: String,
    dir: std::path::PathBuf,
    prefix: String,
}

async fn task_state(client: &reqwest::Client, url: &str, name: &str) -> (String, String) {
    let s: Value = match client
        .get(format!("{url}/connectors/{name}/status"))
        .send()
        .await
    {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(_) => Value::Null,
    };
    let state = s["tasks"][0]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // The exception class only: Java's message goes on with a JVM record dump.
    let trace = s["tasks"][0]["trace"]
        .as_str()
        .and_then(|t| t.split(':').next())
        .unwrap_or_default()
        .to_string();
    (state, trace)
}

/// Whether a connector has read its whole file and had every record
/// acknowledged (its committed offset is the file's length), or failed.
async fn finished(client: &reqwest::Client, side: &Side, name: &str, file: &Path) -> bool {
    let (state, _) = task_state(client, &side.url, name).await;
    if state == "FAILED" {
        return true;
    }
    // Java's FileStreamSource counts its position in characters; either
    // count means the end here, and the offsets themselves are compared.
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let ends = [text.len() as u64, text.chars().count() as u64];
    offsets(client, side, name)
        .await
        .as_array()
        .into_iter()
        .flatten()
        .any(|o| {
            o["offset"]["position"]
                .as_u64()
                .is_some_and(|p| ends.contains(&p))
        })
}

/// A connector's committed source offsets, with the side's own path
/// replaced.
async fn offsets(client: &reqwest::Client, side: &Side, name: &str) -> Value {
    let Ok(resp) = client
        .get(format!("{}/connectors/{name}/offsets", side.url))
        .send()
        .await
    else {
        return Value::Null;
    };
    let text = resp.text().await.unwrap_or_default();
    let text = text.replace(&side.dir.display().to_string(), "{dir}");
    serde_json::from_str::<Value>(&text).unwrap_or_default()["offsets"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn transforms_and_converters_write_the_same_bytes_as_java_connect() {
    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/differential/smt-cases.json"),
        )
        .expect("cases are checked in"),
    )
    .expect("cases are JSON");

    let pair = JavaAndRampart::start().await;
    let (java, java_dir, rampart, rampart_dir) =
        (&pair.java, &pair.java_dir, &pair.rampart, &pair.rampart_dir);
    let run = unique("smt");
    let sides = [
        Side {
            url: java.url.clone(),
            dir: java_dir.path().to_path_buf(),
            prefix: format!("{run}-java"),
        },
        Side {
            url: rampart.url.clone(),
            dir: rampart_dir.path().to_path_buf(),
            prefix: format!("{run}-rampart"),
        },
    ];
    for side in &sides {
        for (name, text) in INPUTS {
            std::fs::write(side.dir.join(format!("{name}.txt")), text).expect("writable");
        }
    }

    let client = reqwest::Client::new();
    for case in &cases {
        let name = case["name"].as_str().expect("cases have names");
        let input = case["input"].as_str().expect("cases name an input");
        for side in &sides {
            let mut config = case["config"].clone();
            config["connector.class"] = json!("FileStreamSource");
            config["file"] = json!(side.dir.join(format!("{input}.txt")));
            config["topic"] = json!(format!("{}-{name}", side.prefix));
            create_connector(&client, &side.url, name, &config).await;
        }
    }

    let mut differences: BTreeMap<String, String> = BTreeMap::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or_default();
        let input = case["input"].as_str().unwrap_or_default();
        let route = case["route"].as_str().unwrap_or_default();
        let mut results = Vec::new();
        for side in &sides {
            let file = side.dir.join(format!("{input}.txt"));
            // A side that never finishes is a difference to report, with
            // what it did do, not a reason to stop comparing the rest.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while !finished(&client, side, name, &file).await
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let topic = format!("{}-{name}{route}", side.prefix);
            let records = tokio::task::spawn_blocking(move || read_topic(&topic))
                .await
                .expect("reader does not panic");
            let state = task_state(&client, &side.url, name).await;
            let offsets = offsets(&client, side, name).await;
            results.push(((state, offsets), records));
        }
        // A case may name a difference in committed offsets Rampart makes on
        // purpose, with the reason; its records and state must still agree.
        if case["offsets_differ"].is_string() {
            for r in &mut results {
                r.0 .1 = Value::Null;
            }
        }
        let (java_result, rampart_result) = (&results[0], &results[1]);
        eprintln!(
            "  {name}: java {} records, {:?}; rampart {} records, {:?}",
            java_result.1.len(),
            java_result.0 .0,
            rampart_result.1.len(),
            rampart_result.0 .0
        );
        if java_result != rampart_result {
            differences.insert(
                name.to_string(),
                format!(
                    "\n    java:    {:?}\n        {}\n    rampart: {:?}\n        {}",
                    java_result.0,
                    show(&java_result.1),
                    rampart_result.0,
                    show(&rampart_result.1)
                ),
            );
        }
    }
    eprintln!(
        "SMT differential: {} cases, {} differ",
        cases.len(),
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "records differ from Java Connect's:\n{}",
        differences
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
