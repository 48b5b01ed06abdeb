//! Transform chain throughput: the five-transform sink chain (InsertField,
//! ReplaceField, MaskField, RegexRouter, TimestampConverter) over ~500-byte
//! JSON log records, schemaless and with a schema, on one core.
//!
//! `cargo bench -p rampart-core --bench transforms` prints records/s and
//! input bytes/s (`-- --each` adds every transform on its own). Only the
//! chain is timed: records are decoded and cloned into a batch beforehand,
//! and freed afterwards.

use std::collections::HashMap;

// The rampart binary uses mimalloc (glibc's allocator spends a third of the
// chain's time in malloc/free); measure with the allocator that ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::hint::black_box;
use std::time::{Duration, Instant};

use rampart_core::converter::{Converter, JsonConverter, JsonConverterConfig};
use rampart_core::record::{ConnectRecord, KafkaPosition, TopicPartition};
use rampart_core::transform::TransformationChain;

// Records reach the chain straight from the converter, still in cache; a
// small batch cloned just before timing models that.
const BATCH: usize = 256;
const RUN_FOR: Duration = Duration::from_millis(1500);
const ROUNDS: u32 = 5;

/// `cargo test --all-targets` runs this unoptimised: only check the chain
/// works there, the numbers would mean nothing.
fn run_for() -> Duration {
    if cfg!(debug_assertions) {
        Duration::from_millis(50)
    } else {
        RUN_FOR
    }
}

const ALL: &str = "insert,replace,mask,route,ts";

fn chain(aliases: &str) -> TransformationChain {
    let mut config: HashMap<String, String> = [
        (
            "transforms.insert.type",
            "org.apache.kafka.connect.transforms.InsertField$Value",
        ),
        ("transforms.insert.topic.field", "kafka_topic"),
        ("transforms.insert.partition.field", "kafka_partition"),
        ("transforms.insert.offset.field", "kafka_offset"),
        (
            "transforms.replace.type",
            "org.apache.kafka.connect.transforms.ReplaceField$Value",
        ),
        ("transforms.replace.exclude", "debug,trace_id"),
        ("transforms.replace.renames", "msg:message,sev:severity"),
        (
            "transforms.mask.type",
            "org.apache.kafka.connect.transforms.MaskField$Value",
        ),
        ("transforms.mask.fields", "password,ssn"),
        (
            "transforms.route.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.route.regex", "logs-(.*)"),
        ("transforms.route.replacement", "es-logs-$1"),
        (
            "transforms.ts.type",
            "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        ),
        ("transforms.ts.field", "event_time"),
        ("transforms.ts.target.type", "string"),
        ("transforms.ts.format", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    config.insert("transforms".to_string(), aliases.to_string());
    match TransformationChain::from_config(&config) {
        Ok(c) => c,
        Err(e) => panic!("bench chain config is valid: {e:?}"),
    }
}

/// A ~500-byte syslog-like record.
fn payload(i: usize) -> String {
    format!(
        r#"{{"event_time":{},"host":"web-{:03}.prod.example.com","app":"checkout-service","pid":{},"sev":"INFO","facility":"local0","msg":"user 42 completed checkout of cart 9f1c2e7a with 3 items totalling 129.97 EUR via card ending 4242, latency 183 ms","password":"hunter2","ssn":"078-05-1120","debug":false,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","region":"eu-west-1","ua":"Mozilla/5.0 (X11; Linux x86_64)","tags":["prod","payments","v2"]}}"#,
        1_489_504_166_535i64 + i as i64,
        i % 1000,
        1000 + i % 5000
    )
}

const SCHEMA: &str = r#"{"type":"struct","optional":false,"fields":[
 {"field":"event_time","type":"int64","optional":false},
 {"field":"host","type":"string","optional":false},
 {"field":"app","type":"string","optional":false},
 {"field":"pid","type":"int32","optional":false},
 {"field":"sev","type":"string","optional":false},
 {"field":"facility","type":"string","optional":false},
 {"field":"msg","type":"string","optional":false},
 {"field":"password","type":"string","optional":true},
 {"field":"ssn","type":"string","optional":true},
 {"field":"debug","type":"boolean","optional":false},
 {"field":"trace_id","type":"string","optional":true},
 {"field":"span_id","type":"string","optional":true},
 {"field":"region","type":"string","optional":false},
 {"field":"ua","type":"string","optional":false},
 {"field":"tags","type":"array","items":{"type":"string","optional":false},"optional":false}]}"#;

fn records(with_schema: bool) -> (Vec<ConnectRecord>, usize) {
    let schemaless = JsonConverter::schemaless();
    let enveloped = JsonConverter::new(JsonConverterConfig::default(), false);
    let mut bytes = 0;
    let mut out = Vec::with_capacity(BATCH);
    for i in 0..BATCH {
        let json = payload(i);
        bytes += json.len();
        let sv = if with_schema {
            let env = format!(r#"{{"schema":{SCHEMA},"payload":{json}}}"#);
            enveloped.to_connect("logs-app", Some(env.as_bytes()))
        } else {
            schemaless.to_connect("logs-app", Some(json.as_bytes()))
        };
        let sv = match sv {
            Ok(sv) => sv,
            Err(e) => panic!("bench record decodes: {e}"),
        };
        out.push(ConnectRecord {
            topic: "logs-app".to_string(),
            partition: Some((i % 12) as i32),
            value_schema: sv.schema,
            value: sv.value,
            timestamp: Some(1_489_504_166_535),
            kafka: Some(KafkaPosition {
                tp: TopicPartition::new("logs-app", (i % 12) as i32),
                offset: i as i64,
            }),
            ..Default::default()
        });
    }
    (out, bytes / BATCH)
}

fn run(name: &str, aliases: &str, with_schema: bool) {
    let chain = chain(aliases);
    let (batch, avg_bytes) = records(with_schema);
    // Check the chain once so the numbers measure real work.
    match chain.apply(batch[0].clone()) {
        Ok(Some(r)) => assert!(aliases != ALL || r.topic == "es-logs-app"),
        other => panic!("bench chain works: {other:?}"),
    }
    // Five rounds; the best one is reported, as the machine may be shared.
    let mut best = 0f64;
    let mut total = 0usize;
    let mut total_busy = Duration::ZERO;
    // The previous batch stays alive while the next one is transformed, as
    // in a worker where the sink still holds records in flight; freeing it
    // only afterwards keeps the heap at its steady-state size instead of
    // returning memory to the OS and faulting it back in every batch.
    let mut in_flight: Vec<Option<ConnectRecord>> = Vec::new();
    for _ in 0..ROUNDS {
        let mut done = 0usize;
        let mut busy = Duration::ZERO;
        while busy < run_for() / ROUNDS {
            let input = batch.clone();
            let mut output = Vec::with_capacity(BATCH);
            let start = Instant::now();
            for record in input {
                match chain.apply(record) {
                    Ok(r) => output.push(r),
                    Err(e) => panic!("bench record transforms: {e}"),
                }
            }
            busy += start.elapsed();
            black_box(&output);
            in_flight = output;
            done += BATCH;
        }
        best = best.max(done as f64 / busy.as_secs_f64());
        total += done;
        total_busy += busy;
    }
    drop(in_flight);
    let mean = total as f64 / total_busy.as_secs_f64();
    println!(
        "{name:<22} best {best:>10.0} records/s ({:>6.1} MB/s), mean {mean:>10.0} records/s, {avg_bytes} B/record",
        best * avg_bytes as f64 / 1e6
    );
}

/// The baseline every sink record pays anyway: JsonConverter decoding the
/// same schemaless bytes into a Connect value, timed the same way.
fn converter_baseline() {
    let converter = JsonConverter::schemaless();
    let inputs: Vec<String> = (0..BATCH).map(payload).collect();
    let avg = inputs.iter().map(String::len).sum::<usize>() / BATCH;
    let mut best = 0f64;
    for _ in 0..ROUNDS {
        let (mut done, mut busy) = (0usize, Duration::ZERO);
        while busy < run_for() / ROUNDS {
            let start = Instant::now();
            for json in &inputs {
                match converter.to_connect("logs-app", Some(json.as_bytes())) {
                    Ok(sv) => {
                        black_box(sv);
                    }
                    Err(e) => panic!("bench record decodes: {e}"),
                }
            }
            busy += start.elapsed();
            done += BATCH;
        }
        best = best.max(done as f64 / busy.as_secs_f64());
    }
    println!(
        "{:<22} best {best:>10.0} records/s ({:>6.1} MB/s), {avg} B/record",
        "baseline: JSON decode",
        best * avg as f64 / 1e6
    );
}

fn main() {
    // `--only a,b` times just those transforms of the chain, schemaless.
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--only") {
        let aliases = args.get(i + 1).map_or(ALL, String::as_str);
        run(aliases, aliases, false);
        return;
    }
    converter_baseline();
    run("schemaless", ALL, false);
    run("with schema", ALL, true);
    // `--each` times every transform of the chain on its own.
    if std::env::args().any(|a| a == "--each") {
        for alias in ALL.split(',') {
            run(&format!("{alias} (no schema)"), alias, false);
            run(&format!("{alias} (schema)"), alias, true);
        }
        run("none", "", false);
    }
}
