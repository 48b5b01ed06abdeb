//! Config parsing and validation.

use rampart_core::connector::{Config, Connector as _};

use crate::config::{def, Format, S3Config};
use crate::S3SinkConnector;

fn config(extra: &[(&str, &str)]) -> Config {
    let mut c: Config = [
        ("connector.class", "io.confluent.connect.s3.S3SinkConnector"),
        ("topics", "logs"),
        ("s3.bucket.name", "archive"),
        ("storage.class", "io.confluent.connect.s3.storage.S3Storage"),
        (
            "format.class",
            "io.confluent.connect.s3.format.json.JsonFormat",
        ),
        ("flush.size", "1000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        c.insert(k.to_string(), v.to_string());
    }
    c
}

#[test]
fn confluent_defaults_apply() {
    let c = S3Config::parse(&config(&[])).unwrap();
    assert_eq!(c.region, "us-west-2");
    assert_eq!(c.part_size, 26_214_400);
    assert_eq!(c.naming.topics_dir, "topics");
    assert_eq!(c.naming.zero_pad, 10);
    assert_eq!(c.format, Format::Json { gzip: false });
    assert_eq!(c.rotate_interval_ms, None);
    assert!(c.credentials.is_none());
    assert!(!c.ignore_nulls);
    let gz = S3Config::parse(&config(&[("s3.compression.type", "gzip")])).unwrap();
    assert_eq!(gz.naming.extension, ".json.gz");
}

fn error_of(extra: &[(&str, &str)]) -> String {
    let c = config(extra);
    let values = S3SinkConnector::default().validate(&def(), &c);
    values
        .into_iter()
        .flat_map(|v| v.errors)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unsupported_settings_fail_validation_with_a_reason() {
    let e = error_of(&[(
        "format.class",
        "io.confluent.connect.s3.format.avro.AvroFormat",
    )]);
    assert!(e.contains("unsupported format"), "{e}");
    let e = error_of(&[("store.kafka.keys", "true")]);
    assert!(e.contains("not supported"), "{e}");
    let e = error_of(&[("partitioner.class", "com.example.MyPartitioner")]);
    assert!(e.contains("unsupported partitioner"), "{e}");
    let e = error_of(&[("s3.part.size", "1000")]);
    assert!(e.contains("at least 5242880"), "{e}");
}

#[test]
fn time_based_partitioners_need_their_keys() {
    let hourly = [(
        "partitioner.class",
        "io.confluent.connect.storage.partitioner.HourlyPartitioner",
    )];
    assert!(error_of(&hourly).contains("locale"));
    let e = error_of(&[hourly[0], ("locale", "en-US"), ("timezone", "Mars/Base")]);
    assert!(e.contains("IANA"), "{e}");
    assert_eq!(
        error_of(&[hourly[0], ("locale", "en-US"), ("timezone", "UTC")]),
        ""
    );
    let e = error_of(&[
        (
            "partitioner.class",
            "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
        ),
        ("locale", "en-US"),
        ("timezone", "UTC"),
        ("path.format", "YYYY/EEE"),
        ("partition.duration.ms", "3600000"),
    ]);
    assert!(e.contains("pattern letter E"), "{e}");
}

#[test]
fn credentials_come_in_pairs() {
    assert!(error_of(&[("aws.access.key.id", "AKIA")]).contains("without a secret"));
    let c = S3Config::parse(&config(&[
        ("aws.access.key.id", "AKIA"),
        ("aws.secret.access.key", "s"),
    ]))
    .unwrap();
    assert_eq!(c.credentials, Some(("AKIA".to_string(), "s".to_string())));
}
