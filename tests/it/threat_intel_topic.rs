//! ThreatIntel's indicator set from a compacted Kafka topic on the real
//! broker: records added to the topic start matching without a restart,
//! and a tombstone stops one matching.

use std::collections::HashMap;
use std::time::Duration;

use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::Transformation;
use rampart_security::intel::ThreatIntel;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use crate::support::{bootstrap, create_topic, eventually, unique};

fn login_from(ip: &str) -> ConnectRecord {
    ConnectRecord {
        topic: "ecs".into(),
        value: rampart_security::fields::map([(
            "source",
            rampart_security::fields::map([("ip", Value::string(ip))]),
        )]),
        ..ConnectRecord::default()
    }
}

fn enriched(intel: &ThreatIntel, ip: &str) -> bool {
    let out = intel.apply(login_from(ip)).unwrap().unwrap();
    rampart_security::fields::get(&out.value, "threat.enrichments")
        .is_some_and(|v| matches!(v, Value::Array(a) if !a.is_empty()))
}

async fn put(producer: &FutureProducer, topic: &str, key: &str, value: Option<&str>) {
    let mut record: FutureRecord<'_, str, str> = FutureRecord::to(topic).key(key);
    if let Some(v) = value {
        record = record.payload(v);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .expect("produced");
}

#[tokio::test(flavor = "multi_thread")]
async fn indicators_follow_a_compacted_topic_without_a_restart() {
    let topic = unique("threat-intel");
    create_topic(&topic, 2).await;
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .unwrap();
    put(
        &producer,
        &topic,
        "198.51.100.23",
        Some(r#"{"provider":"soc-shared","description":"brute force source","confidence":"High"}"#),
    )
    .await;

    let props: HashMap<String, String> = [
        ("sources", format!("kafka:{topic}")),
        ("kafka.bootstrap.servers", bootstrap()),
        ("reload.interval.ms", "500".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let intel = ThreatIntel::new(&props).expect("a Kafka source builds without waiting");

    eventually(
        "the indicator already on the topic matches",
        Duration::from_secs(30),
        || async { enriched(&intel, "198.51.100.23").then_some(()) },
    )
    .await;
    assert!(!enriched(&intel, "198.51.100.24"));
    let out = intel.apply(login_from("198.51.100.23")).unwrap().unwrap();
    let hit = rampart_security::fields::get(&out.value, "threat.enrichments").unwrap();
    let text = format!("{hit:?}");
    assert!(text.contains("soc-shared"), "{text}");

    // Added while running: matches without a restart.
    put(&producer, &topic, "evil.example", Some("")).await;
    let domain = |d: &str| ConnectRecord {
        topic: "ecs".into(),
        value: rampart_security::fields::map([(
            "url",
            rampart_security::fields::map([("domain", Value::string(d))]),
        )]),
        ..ConnectRecord::default()
    };
    eventually(
        "a subdomain of an indicator added later matches",
        Duration::from_secs(30),
        || async {
            let out = intel.apply(domain("cdn.evil.example")).unwrap().unwrap();
            rampart_security::fields::get(&out.value, "threat.enrichments").map(|_| ())
        },
    )
    .await;

    // A tombstone removes it.
    put(&producer, &topic, "198.51.100.23", None).await;
    eventually(
        "the deleted indicator stops matching",
        Duration::from_secs(30),
        || async { (!enriched(&intel, "198.51.100.23")).then_some(()) },
    )
    .await;
}
