//! Unit tests of the pure parts: config, names, ids, documents, bulk lines
//! and bulk responses (shapes from Elasticsearch's `_bulk` documentation).

use std::collections::HashMap;
use std::time::Duration;

use rampart_core::connector::{Config, SinkOffsets};
use rampart_core::data::{Schema, SchemaType, Struct, Value};
use rampart_core::record::{KafkaPosition, SinkRecord, TopicPartition};

use crate::bulk::{
    parse_response, prepare, BulkOutcome, ItemOutcome, OpKind, Prepared, RecordError,
};
use crate::config::{def, EsConfig, MalformedBehavior, NullBehavior, WriteMethod};
use crate::document::{write_document, DocumentError, DocumentOptions};
use crate::index::{index_for_topic, validate_data_stream_part, validate_index_name, NameError};
use crate::task::{backoff, Item};

fn config(pairs: &[(&str, &str)]) -> Config {
    let mut c: Config = HashMap::new();
    c.insert("connection.url".into(), "http://localhost:9200".into());
    for (k, v) in pairs {
        c.insert(k.to_string(), v.to_string());
    }
    c
}

fn parse(pairs: &[(&str, &str)]) -> EsConfig {
    EsConfig::parse(&config(pairs)).unwrap()
}

fn record(topic: &str, key: Value, value: Value) -> SinkRecord {
    SinkRecord {
        topic: topic.to_string(),
        partition: Some(3),
        key,
        value,
        timestamp: Some(1_700_000_000_000),
        kafka: Some(KafkaPosition {
            tp: TopicPartition::new(topic, 3),
            offset: 42,
        }),
        ..Default::default()
    }
}

fn map(pairs: &[(&str, Value)]) -> Value {
    Value::Map(
        pairs
            .iter()
            .map(|(k, v)| (Value::String(k.to_string()), v.clone()))
            .collect(),
    )
}

fn lines(p: Prepared) -> (OpKind, String) {
    match p {
        Prepared::Write { op, lines, .. } => (op, String::from_utf8(lines).unwrap()),
        Prepared::Skip => panic!("expected a write"),
    }
}

#[test]
fn defaults_match_confluent() {
    let c = parse(&[]);
    assert_eq!(c.batch_size, 2000);
    assert_eq!(c.bulk_size_bytes, Some(5_242_880));
    assert_eq!(c.max_in_flight, 5);
    assert_eq!(c.max_buffered, 20_000);
    assert_eq!(c.linger, Duration::from_millis(1));
    assert_eq!(c.flush_timeout, Duration::from_millis(180_000));
    assert_eq!(c.max_retries, 5);
    assert_eq!(c.retry_backoff, Duration::from_millis(100));
    assert_eq!(c.connect_timeout, Duration::from_millis(1000));
    assert_eq!(c.read_timeout, Duration::from_millis(3000));
    assert!(!c.key_ignore && !c.schema_ignore && c.compact_map_entries);
    assert!(!c.drop_invalid_message && !c.compression && !c.flush_synchronously);
    assert_eq!(c.null_values, NullBehavior::Fail);
    assert_eq!(c.malformed, MalformedBehavior::Fail);
    assert_eq!(c.write_method, WriteMethod::Insert);
    assert!(c.data_stream.is_none() && c.pipeline.is_none() && c.auth.is_none());
}

#[test]
fn config_rejects_bad_values_with_the_key() {
    let mut c = config(&[]);
    c.insert("connection.url".into(), "localhost:9200".into());
    let e = EsConfig::parse(&c).unwrap_err().to_string();
    assert!(
        e.contains("connection.url") && e.contains("not an http or https URL"),
        "{e}"
    );
    let e = EsConfig::parse(&config(&[("write.method", "merge")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("write.method"), "{e}");
    let e = EsConfig::parse(&config(&[("data.stream.type", "logs")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("data.stream.dataset"), "{e}");
    let e = EsConfig::parse(&config(&[
        ("data.stream.type", "logs"),
        ("data.stream.dataset", "Fire-wall"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("invalid data stream name part 'Fire-wall'"),
        "{e}"
    );
    let e = EsConfig::parse(&config(&[
        ("data.stream.type", "logs"),
        ("data.stream.dataset", "fw"),
        ("write.method", "upsert"),
    ]))
    .unwrap_err()
    .to_string();
    assert!(e.contains("upsert cannot be used with data streams"), "{e}");
    let e = EsConfig::parse(&config(&[("elastic.security.protocol", "SSL")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs https:// URLs"), "{e}");
    let e = EsConfig::parse(&config(&[("connection.username", "elastic")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be set together"), "{e}");
}

#[test]
fn config_def_has_every_confluent_key() {
    let d = def();
    for key in [
        "connection.url",
        "connection.username",
        "connection.password",
        "batch.size",
        "bulk.size.bytes",
        "max.in.flight.requests",
        "max.buffered.records",
        "linger.ms",
        "flush.timeout.ms",
        "flush.synchronously",
        "max.retries",
        "retry.backoff.ms",
        "connection.compression",
        "max.connection.idle.time.ms",
        "connection.timeout.ms",
        "read.timeout.ms",
        "key.ignore",
        "topic.key.ignore",
        "schema.ignore",
        "topic.schema.ignore",
        "compact.map.entries",
        "drop.invalid.message",
        "behavior.on.null.values",
        "behavior.on.malformed.documents",
        "write.method",
        "data.stream.type",
        "data.stream.dataset",
        "data.stream.namespace",
        "data.stream.timestamp.field",
        "elastic.security.protocol",
    ] {
        assert!(d.key(key).is_some(), "{key} is missing");
    }
}

#[test]
fn index_names_follow_elasticsearch_rules() {
    assert_eq!(index_for_topic("Logs-Firewall").unwrap(), "logs-firewall");
    assert_eq!(index_for_topic("_private").unwrap(), "private");
    assert_eq!(index_for_topic(".").unwrap(), "dot");
    assert_eq!(index_for_topic("..").unwrap(), "dotdot");
    assert_eq!(index_for_topic(&"a".repeat(300)).unwrap().len(), 255);
    assert!(matches!(
        index_for_topic("logs#2024"),
        Err(NameError::Forbidden { ch: '#', .. })
    ));
    assert!(matches!(
        validate_index_name("+x"),
        Err(NameError::BadStart(_))
    ));
    assert!(matches!(
        validate_index_name("Upper"),
        Err(NameError::Uppercase(_))
    ));
    assert!(matches!(validate_index_name(""), Err(NameError::Empty)));
    for bad in [
        "a b", "a,b", "a:b", "a*b", "a?b", "a\"b", "a<b", "a>b", "a|b", "a/b", "a\\b",
    ] {
        assert!(validate_index_name(bad).is_err(), "{bad}");
    }
    assert!(validate_index_name("logs-2024.01.31").is_ok());
    assert!(validate_data_stream_part("firewall").is_ok());
    assert!(validate_data_stream_part("fire-wall").is_err());
    assert!(validate_data_stream_part(&"a".repeat(101)).is_err());
    let e = index_for_topic("logs 2024").unwrap_err().to_string();
    assert_eq!(e, "invalid index name 'logs 2024': must not contain ' ' (forbidden: \\ / * ? \" < > | space , # :)");
}

#[test]
fn key_ignore_gives_topic_partition_offset_ids_from_the_routed_topic() {
    let cfg = parse(&[("key.ignore", "true")]);
    let mut r = record("siem", Value::Null, map(&[("msg", Value::string("x"))]));
    // A router renamed the topic; the Kafka position is unchanged.
    r.topic = "siem-20240131".to_string();
    let (op, text) = lines(prepare(&r, &cfg).unwrap());
    assert_eq!(op, OpKind::Index);
    assert_eq!(
        text,
        "{\"index\":{\"_index\":\"siem-20240131\",\"_id\":\"siem-20240131+3+42\"}}\n{\"msg\":\"x\"}\n"
    );
}

#[test]
fn key_ids_use_external_versions() {
    let cfg = parse(&[]);
    let r = record(
        "siem",
        Value::string("host-1"),
        map(&[("n", Value::Int64(1))]),
    );
    let (_, text) = lines(prepare(&r, &cfg).unwrap());
    assert_eq!(
        text,
        "{\"index\":{\"_index\":\"siem\",\"_id\":\"host-1\",\"version\":42,\"version_type\":\"external\"}}\n{\"n\":1}\n"
    );
    let cfg = parse(&[("topic.key.ignore", "other,siem")]);
    let (_, text) = lines(prepare(&r, &cfg).unwrap());
    assert!(text.contains("\"_id\":\"siem+3+42\"}"), "{text}");
}

#[test]
fn null_keys_and_struct_keys_are_record_errors() {
    let cfg = parse(&[]);
    let r = record("siem", Value::Null, map(&[]));
    assert_eq!(
        prepare(&r, &cfg),
        Err(RecordError::Document(DocumentError::NullKey))
    );
    let r = record("siem", Value::Array(vec![]), map(&[]));
    assert!(matches!(
        prepare(&r, &cfg),
        Err(RecordError::Document(DocumentError::BadKey(_)))
    ));
}

#[test]
fn tombstones_follow_behavior_on_null_values() {
    let r = record("siem", Value::string("k"), Value::Null);
    assert!(matches!(
        prepare(&r, &parse(&[])),
        Err(RecordError::NullValue { .. })
    ));
    assert_eq!(
        prepare(&r, &parse(&[("behavior.on.null.values", "ignore")])),
        Ok(Prepared::Skip)
    );
    let (op, text) = lines(prepare(&r, &parse(&[("behavior.on.null.values", "DELETE")])).unwrap());
    assert_eq!(op, OpKind::Delete);
    assert_eq!(
        text,
        "{\"delete\":{\"_index\":\"siem\",\"_id\":\"k\",\"version\":42,\"version_type\":\"external\"}}\n"
    );
    // Nothing to delete without a key.
    let r = record("siem", Value::Null, Value::Null);
    assert_eq!(
        prepare(&r, &parse(&[("behavior.on.null.values", "delete")])),
        Ok(Prepared::Skip)
    );
}

#[test]
fn upsert_uses_update_with_doc_as_upsert() {
    let cfg = parse(&[("write.method", "upsert")]);
    let r = record("siem", Value::Int32(7), map(&[("a", Value::Boolean(true))]));
    let (op, text) = lines(prepare(&r, &cfg).unwrap());
    assert_eq!(op, OpKind::Update);
    assert_eq!(
        text,
        "{\"update\":{\"_index\":\"siem\",\"_id\":\"7\",\"retry_on_conflict\":5}}\n{\"doc\":{\"a\":true},\"doc_as_upsert\":true}\n"
    );
}

#[test]
fn data_streams_create_with_a_timestamp() {
    let cfg = parse(&[
        ("data.stream.type", "logs"),
        ("data.stream.dataset", "firewall"),
        ("key.ignore", "true"),
    ]);
    let r = record("Edge", Value::Null, map(&[("msg", Value::string("x"))]));
    let (op, text) = lines(prepare(&r, &cfg).unwrap());
    assert_eq!(op, OpKind::Create);
    assert_eq!(
        text,
        "{\"create\":{\"_index\":\"logs-firewall-edge\",\"_id\":\"Edge+3+42\"}}\n{\"@timestamp\":1700000000000,\"msg\":\"x\"}\n"
    );
    let cfg = parse(&[
        ("data.stream.type", "metrics"),
        ("data.stream.dataset", "fw"),
        ("data.stream.namespace", "prod"),
        ("data.stream.timestamp.field", "missing,ts"),
        ("key.ignore", "true"),
    ]);
    let r = record(
        "t",
        Value::Null,
        Value::string(r#"{"ts":"2024-01-31T10:00:00Z","m":1}"#),
    );
    let (_, text) = lines(prepare(&r, &cfg).unwrap());
    assert!(
        text.ends_with(
            "{\"@timestamp\":\"2024-01-31T10:00:00Z\",\"ts\":\"2024-01-31T10:00:00Z\",\"m\":1}\n"
        ),
        "{text}"
    );
    // A document's own @timestamp is kept.
    let r = record(
        "t",
        Value::Null,
        map(&[("@timestamp", Value::string("now"))]),
    );
    let cfg = parse(&[
        ("data.stream.type", "logs"),
        ("data.stream.dataset", "fw"),
        ("key.ignore", "true"),
    ]);
    let (_, text) = lines(prepare(&r, &cfg).unwrap());
    assert!(text.ends_with("{\"@timestamp\":\"now\"}\n"), "{text}");
}

#[test]
fn documents_from_schemas_maps_and_strings() {
    let opts = DocumentOptions {
        use_schema: true,
        compact_map_entries: true,
    };
    let decimal = Schema::decimal(2).build();
    let schema = Schema::new(SchemaType::Struct)
        .field("price", decimal)
        .field("raw", Schema::new(SchemaType::Bytes).build())
        .field(
            "tags",
            Schema::map(
                Schema::new(SchemaType::Int32).build(),
                Schema::new(SchemaType::String).build(),
            )
            .build(),
        )
        .build();
    let value = Value::Struct(Struct {
        schema: schema.clone(),
        values: vec![
            Value::Bytes(vec![0x04, 0xD2]),
            Value::Bytes(b"hi".to_vec()),
            Value::Map(vec![(Value::Int32(1), Value::string("a"))]),
        ],
    });
    let mut out = Vec::new();
    write_document(&mut out, Some(&schema), &value, opts).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"price":12.34,"raw":"aGk=","tags":[{"key":1,"value":"a"}]}"#
    );
    // compact.map.entries=false writes string-keyed maps as entries too.
    let m = Schema::map(
        Schema::new(SchemaType::String).build(),
        Schema::new(SchemaType::Float64).build(),
    )
    .build();
    let v = map(&[("k", Value::Float64(f64::NAN))]);
    let mut out = Vec::new();
    let loose = DocumentOptions {
        compact_map_entries: false,
        ..opts
    };
    write_document(&mut out, Some(&m), &v, loose).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"[{"key":"k","value":null}]"#
    );
    // A JSON object in a string is indexed as that object, made one line.
    let mut out = Vec::new();
    write_document(
        &mut out,
        None,
        &Value::string("{\n \"a\": \"x\\ny\"\n}"),
        opts,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":"x\ny"}"#);
    for bad in [
        Value::string("plain text"),
        Value::string("[1]"),
        Value::Int64(5),
        Value::string("{broken"),
    ] {
        let mut out = Vec::new();
        assert!(
            write_document(&mut out, None, &bad, opts).is_err(),
            "{bad:?}"
        );
    }
    // Escaping keeps every document on one line.
    let mut out = Vec::new();
    write_document(
        &mut out,
        None,
        &map(&[("m", Value::string("a\nb\"c"))]),
        opts,
    )
    .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), r#"{"m":"a\nb\"c"}"#);
}

const OPS3: [OpKind; 3] = [OpKind::Index, OpKind::Index, OpKind::Index];

#[test]
fn bulk_response_without_errors_is_all_ok() {
    let body = br#"{"took":30,"errors":false,"items":[{"index":{"_index":"test","_id":"1","_version":1,"result":"created","status":201}}]}"#;
    assert_eq!(
        parse_response(body, &[OpKind::Index]),
        Ok(BulkOutcome::AllOk)
    );
}

#[test]
fn bulk_response_items_are_classified() {
    // Shapes from the bulk API documentation's error examples.
    let body = br#"{"took":486,"errors":true,"items":[
      {"index":{"_index":"i","_id":"1","_version":1,"result":"created","status":201}},
      {"index":{"_index":"i","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[2]: version conflict, current version [5] is higher or equal to the one provided [3]"}}},
      {"index":{"_index":"i","_id":"3","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [n] of type [long]","caused_by":{"type":"illegal_argument_exception","reason":"For input string: \"x\""}}}},
      {"index":{"_index":"i","_id":"4","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}}},
      {"index":{"_index":"i","_id":"5","status":503,"error":{"type":"unavailable_shards_exception","reason":"primary shard is not active"}}},
      {"index":{"_index":"i","_id":"6","status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name"}}},
      {"delete":{"_index":"i","_id":"7","result":"not_found","status":404}},
      {"update":{"_index":"i","_id":"8","status":409,"error":{"type":"version_conflict_engine_exception","reason":"conflict"}}},
      {"index":{"_index":"i","_id":"9","status":400,"error":{"type":"document_parsing_exception","reason":"[1:8] failed to parse"}}}
    ]}"#;
    let ops = [
        OpKind::Index,
        OpKind::Index,
        OpKind::Index,
        OpKind::Index,
        OpKind::Index,
        OpKind::Index,
        OpKind::Delete,
        OpKind::Update,
        OpKind::Index,
    ];
    let BulkOutcome::Items(items) = parse_response(body, &ops).unwrap() else {
        panic!("expected items");
    };
    assert_eq!(items[0], ItemOutcome::Ok);
    assert_eq!(items[1], ItemOutcome::Conflict);
    assert_eq!(
        items[2],
        ItemOutcome::Malformed("mapper_parsing_exception: failed to parse field [n] of type [long] (caused by illegal_argument_exception: For input string: \"x\")".into())
    );
    assert!(
        matches!(&items[3], ItemOutcome::Retry(r) if r.starts_with("es_rejected_execution_exception"))
    );
    assert!(matches!(items[4], ItemOutcome::Retry(_)));
    assert!(matches!(items[5], ItemOutcome::Rejected(_)));
    assert_eq!(items[6], ItemOutcome::Ok);
    assert!(matches!(items[7], ItemOutcome::Retry(_)));
    assert!(matches!(items[8], ItemOutcome::Malformed(_)));
}

#[test]
fn bulk_response_that_does_not_match_the_request_is_an_error() {
    let body = br#"{"errors":true,"items":[{"index":{"status":201}}]}"#;
    assert!(parse_response(body, &OPS3).is_err());
    assert!(parse_response(b"<html>bad gateway</html>", &OPS3).is_err());
    assert!(parse_response(b"", &OPS3).is_err());
}

#[test]
fn backoff_grows_with_jitter_and_is_capped() {
    let base = Duration::from_millis(100);
    let day = Duration::from_secs(24 * 3600);
    for attempt in 1..6 {
        let full = base * (1 << (attempt - 1));
        let d = backoff(base, day, attempt);
        assert!(d >= full / 2 && d <= full, "{attempt}: {d:?}");
    }
    assert!(backoff(base, day, 200) <= day);
    assert!(backoff(base, day * 365, 200) <= day);
    // retry.backoff.max.ms: the doubling stops at the cap, jitter under it.
    let cap = Duration::from_secs(10);
    for attempt in 8..40 {
        let d = backoff(base, cap, attempt);
        assert!(d >= cap / 2 && d <= cap, "{attempt}: {d:?}");
    }
}

#[test]
fn rejected_schemaless_values_are_rebuilt_for_the_dead_letter_queue() {
    let cfg = parse(&[("key.ignore", "true"), ("write.method", "upsert")]);
    let value = map(&[
        ("msg", Value::string("x")),
        ("n", Value::Int64(3)),
        ("tags", Value::Array(vec![Value::string("a")])),
    ]);
    let r = record("siem", Value::string("k"), value.clone());
    let Prepared::Write {
        op,
        lines,
        value: span,
    } = prepare(&r, &cfg).unwrap()
    else {
        panic!("expected a write");
    };
    let item = Item::new(&r, op, lines, span);
    let errant = item.errant_record();
    assert_eq!(errant.value, value);
    assert_eq!(errant.key, Value::string("k"));
    assert_eq!(errant.kafka, r.kafka);
}

#[test]
fn rejected_string_values_are_rebuilt_verbatim() {
    let cfg = parse(&[("key.ignore", "true")]);
    let text = r#"{"msg":"x","n":1}"#;
    let r = record("siem", Value::Null, Value::string(text));
    let Prepared::Write {
        op,
        lines,
        value: span,
    } = prepare(&r, &cfg).unwrap()
    else {
        panic!("expected a write");
    };
    let item = Item::new(&r, op, lines, span);
    assert_eq!(item.errant_record().value, Value::string(text));
    // Not verbatim (re-serialised to one line): the original is kept.
    let r = record("siem", Value::Null, Value::string("{\n\"a\": 1}"));
    let Prepared::Write {
        op,
        lines,
        value: span,
    } = prepare(&r, &cfg).unwrap()
    else {
        panic!("expected a write");
    };
    let item = Item::new(&r, op, lines, span);
    assert_eq!(item.errant_record().value, Value::string("{\n\"a\": 1}"));
}

#[test]
fn mappings_follow_connect_schemas() {
    let schema = Schema::new(SchemaType::Struct)
        .field("n", Schema::new(SchemaType::Int64).build())
        .field("when", Schema::timestamp().build())
        .field("name", Schema::new(SchemaType::String).build())
        .field(
            "tags",
            Schema::array(Schema::new(SchemaType::Int16).build()).build(),
        )
        .field("price", Schema::decimal(2).build())
        .field(
            "attrs",
            Schema::map(
                Schema::new(SchemaType::String).build(),
                Schema::new(SchemaType::Boolean).build(),
            )
            .build(),
        )
        .build();
    let m = crate::mapping::mapping_for(&schema, true).unwrap();
    let p = &m["properties"];
    assert_eq!(p["n"]["type"], "long");
    assert_eq!(p["when"]["type"], "date");
    assert_eq!(p["name"]["type"], "text");
    assert_eq!(p["name"]["fields"]["keyword"]["type"], "keyword");
    assert_eq!(p["tags"]["type"], "short");
    assert_eq!(p["price"]["type"], "double");
    assert_eq!(p["attrs"]["type"], "object");
    let m = crate::mapping::mapping_for(&schema, false).unwrap();
    assert_eq!(
        m["properties"]["attrs"]["properties"]["value"]["type"],
        "boolean"
    );
    assert!(crate::mapping::mapping_for(&Schema::new(SchemaType::String).build(), true).is_none());
}

#[test]
fn response_heads_are_read_before_the_items() {
    use crate::bulk::head_all_ok;
    assert_eq!(head_all_ok(br#"{"took":3,"errors":fal"#), None);
    assert_eq!(
        head_all_ok(br#"{"took":3,"errors":false,"items":[{"#),
        Some(true)
    );
    assert_eq!(
        head_all_ok(br#"{"took":3,"errors" : false , "items":["#),
        Some(true)
    );
    assert_eq!(
        head_all_ok(br#"{"took":3,"errors":true,"items":[{"#),
        Some(false)
    );
    assert_eq!(
        head_all_ok(br#"{"items":[{"index":{"errors":false}}]}"#),
        Some(false)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_buffer_pushes_back_and_nothing_unacknowledged_is_committed() {
    use rampart_core::connector::{SinkTask, SinkTaskContext};

    // A server that accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut c = config(&[
        ("max.buffered.records", "10"),
        ("flush.timeout.ms", "1000"),
        ("read.timeout.ms", "300"),
        ("max.retries", "1000"),
        ("key.ignore", "true"),
    ]);
    c.insert("connection.url".into(), format!("http://{addr}"));
    let mut task = crate::ElasticsearchSinkTask::default();
    task.start(
        &c,
        SinkTaskContext {
            errant_record_reporter: None,
        },
    )
    .await
    .unwrap();
    let records: Vec<SinkRecord> = (0..11)
        .map(|i| {
            let mut r = record("siem", Value::Null, map(&[("n", Value::Int64(i))]));
            r.kafka.as_mut().unwrap().offset = i;
            r
        })
        .collect();
    task.put(&records[..10]).await.unwrap();
    let e = task.put(&records[10..]).await.unwrap_err();
    assert!(e.is_retriable(), "a full buffer is retriable: {e}");
    let tp = TopicPartition::new("siem", 3);
    let offsets: SinkOffsets = [(tp.clone(), 10)].into_iter().collect();
    let safe = task.pre_commit(&offsets).await.unwrap();
    assert_eq!(
        safe.get(&tp),
        Some(&0),
        "nothing acknowledged, nothing committed"
    );
    task.stop().await;
}

#[test]
fn pem_trust_and_key_stores_are_loaded_or_refused_clearly() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
    let cfg = parse(&[
        ("connection.url", "https://localhost:9200"),
        ("elastic.security.protocol", "SSL"),
        (
            "elastic.https.ssl.truststore.location",
            &format!("{data}/cert.pem"),
        ),
        (
            "elastic.https.ssl.keystore.location",
            &format!("{data}/client.pem"),
        ),
    ]);
    assert!(crate::client::EsClient::new(&cfg).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let cfg = parse(&[(
        "elastic.https.ssl.keystore.location",
        junk.to_str().unwrap(),
    )]);
    let e = crate::client::EsClient::new(&cfg)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("invalid PEM certificate chain and key"), "{e}");
    let cfg = parse(&[(
        "elastic.https.ssl.truststore.location",
        "/nonexistent/ca.pem",
    )]);
    let e = crate::client::EsClient::new(&cfg)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("cannot read trust store /nonexistent/ca.pem"),
        "{e}"
    );
    let e = EsConfig::parse(&config(&[("elastic.https.ssl.truststore.type", "JKS")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("elastic.https.ssl.truststore.type"), "{e}");
}

// A node that answers every request with `status`, then `head`, `pad` bytes
// of `x` and `tail`, streamed and ended by closing the connection, so a
// huge answer costs the test no memory.
async fn answering(
    status: &'static str,
    head: &'static str,
    pad: u64,
    tail: &'static str,
) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // The whole request first: its head, then Content-Length bytes.
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let body_start = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let request_head = String::from_utf8_lossy(&request[..body_start]).to_lowercase();
                let length: usize = request_head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while request.len() < body_start + length {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{head}"
                );
                let pad_chunk = vec![b'x'; 16 << 10];
                let mut left = pad;
                // The client hanging up mid-answer is what a cap does.
                let _ = async {
                    socket.write_all(answer.as_bytes()).await?;
                    while left > 0 {
                        let n = left.min(pad_chunk.len() as u64);
                        socket.write_all(&pad_chunk[..n as usize]).await?;
                        left -= n;
                    }
                    socket.write_all(tail.as_bytes()).await?;
                    socket.shutdown().await
                }
                .await;
            });
        }
    });
    format!("http://{addr}")
}

fn capped_client(url: &str) -> crate::client::EsClient {
    crate::client::EsClient::new(&parse(&[("connection.url", url)]))
        .unwrap()
        .with_max_response_bytes(8 << 10, 8 << 10)
}

const ONE_ITEM: &[u8] = b"{\"index\":{\"_index\":\"logs\"}}\n{\"n\":1}\n";

// A bulk answer with errors, padded: read whole, it parses as one created item.
const BULK_HEAD: &str = r#"{"took":1,"errors":true,"pad":""#;
const BULK_TAIL: &str = r#"","items":[{"index":{"status":201}}]}"#;

#[tokio::test]
async fn bulk_answers_over_the_cap_fail_instead_of_being_read_whole() {
    use crate::client::{BulkReply, EsError};

    let big = capped_client(&answering("200 OK", BULK_HEAD, 1 << 20, BULK_TAIL).await);
    let e = big.bulk(ONE_ITEM.to_vec(), 1).await.unwrap_err();
    assert!(
        matches!(e, EsError::TooLarge { limit, .. } if limit == 8 << 10),
        "{e:?}"
    );
    assert!(e.is_retryable(), "like an unparsable answer: {e}");
    assert!(
        e.to_string()
            .ends_with("answered a body over 8 KiB; refusing to read more"),
        "{e}"
    );

    // Under the cap, the same answer is kept for per-item classification.
    let small = capped_client(&answering("200 OK", BULK_HEAD, 4 << 10, BULK_TAIL).await);
    let BulkReply::Body(body) = small.bulk(ONE_ITEM.to_vec(), 1).await.unwrap() else {
        panic!("an answer with errors is kept");
    };
    assert!(matches!(
        parse_response(&body, &[OpKind::Index]).unwrap(),
        BulkOutcome::Items(items) if items == [ItemOutcome::Ok]
    ));
}

#[tokio::test]
async fn the_bulk_cap_grows_with_the_batch() {
    use crate::client::{BulkReply, EsError};

    // 200 items: 4 KiB each, 800 KiB.
    let big = capped_client(&answering("200 OK", BULK_HEAD, 1 << 20, BULK_TAIL).await);
    let e = big.bulk(ONE_ITEM.repeat(200), 200).await.unwrap_err();
    assert!(
        matches!(e, EsError::TooLarge { limit, .. } if limit == 800 << 10),
        "{e:?}"
    );
    let fits = capped_client(&answering("200 OK", BULK_HEAD, 600 << 10, BULK_TAIL).await);
    assert!(matches!(
        fits.bulk(ONE_ITEM.repeat(200), 200).await.unwrap(),
        BulkReply::Body(_)
    ));
}

#[tokio::test]
async fn error_statuses_over_the_cap_keep_their_classification() {
    use crate::client::EsError;

    // The status decides retries; the cut-off is the reason.
    let busy = capped_client(&answering("503 Service Unavailable", "", 1 << 20, "").await);
    let e = busy.bulk(ONE_ITEM.to_vec(), 1).await.unwrap_err();
    assert!(
        matches!(&e, EsError::Status { status: 503, reason, .. }
            if reason == "body over 8 KiB; refusing to read more"),
        "{e:?}"
    );
    assert!(e.is_retryable());
    let refused = capped_client(&answering("400 Bad Request", "", 1 << 20, "").await);
    let mapping = serde_json::json!({"properties": {"n": {"type": "long"}}});
    let e = refused.ensure_mapping("logs", &mapping).await.unwrap_err();
    assert!(
        matches!(&e, EsError::Status { status: 400, reason, .. }
            if reason == "body over 8 KiB; refusing to read more"),
        "{e:?}"
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn an_all_ok_bulk_answer_is_not_drained_past_the_cap() {
    use crate::client::BulkReply;

    // The head says every item succeeded; the rest never ends.
    let url = answering(
        "200 OK",
        r#"{"took":1,"errors":false,"items":["#,
        u64::MAX,
        "",
    )
    .await;
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        capped_client(&url).bulk(ONE_ITEM.to_vec(), 1),
    )
    .await
    .expect("reading stops at the cap");
    assert!(matches!(reply.unwrap(), BulkReply::AllOk));
}

#[tokio::test]
async fn banners_over_the_cap_are_refused() {
    use crate::client::EsError;

    // Read whole, this is a valid 8.15 banner.
    let head = r#"{"version":{"number":"8.15.0"},"pad":""#;
    let big = capped_client(&answering("200 OK", head, 1 << 20, r#""}"#).await);
    let e = big.info().await.unwrap_err();
    assert!(
        matches!(&e, EsError::Status { status: 200, reason, .. }
            if reason == "body over 8 KiB; refusing to read more"),
        "{e:?}"
    );
    assert!(!e.is_retryable(), "like any answer that is not a banner");
    let small = capped_client(&answering("200 OK", head, 4 << 10, r#""}"#).await);
    assert_eq!(small.info().await.unwrap().version, "8.15.0");
}

#[tokio::test]
async fn index_creation_answers_over_the_cap_are_retried() {
    use crate::client::EsError;

    // A 2xx over the cap is not taken as done.
    let mapping = serde_json::json!({"properties": {"n": {"type": "long"}}});
    let head = r#"{"acknowledged":true,"pad":""#;
    let big = capped_client(&answering("200 OK", head, 1 << 20, r#""}"#).await);
    let e = big.ensure_mapping("logs", &mapping).await.unwrap_err();
    assert!(matches!(e, EsError::TooLarge { .. }), "{e:?}");
    assert!(e.is_retryable());
    let small = capped_client(&answering("200 OK", head, 4 << 10, r#""}"#).await);
    small.ensure_mapping("logs", &mapping).await.unwrap();
}
