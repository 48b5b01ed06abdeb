//! Monitoring parity: every metric name that Confluent's and Strimzi's
//! public Kafka Connect dashboards and alert rules query is served by a
//! worker running a source, a sink, a connector whose task fails and a
//! paused connector, under `metrics.prometheus.naming=confluent` and then
//! `strimzi`, with the labels the queries use and values that fit what the
//! worker does. The name lists are checked in, in `testdata/monitoring/`,
//! with the dashboards' sources.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::cluster::{append_lines, Cluster};
use crate::support::unique;

/// One sample of the exposition: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let value = match value {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().ok()?,
            };
            let Some((name, rest)) = series.split_once('{') else {
                return Some((series.to_string(), BTreeMap::new(), value));
            };
            Some((name.to_string(), labels(rest.strip_suffix('}')?), value))
        })
        .collect()
}

// `k="v",k2="v2"`, values with `\"` and `\\` escapes.
fn labels(mut rest: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim_start_matches(',').to_string(), value);
        rest = &after[end..];
    }
    out
}

/// The names a dashboard and its alerts query, each with the label keys
/// its queries use.
fn expected(file: &str) -> Vec<(String, Vec<String>)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/monitoring")
        .join(file);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let labels = parts
                .next()
                .map(|ls| ls.split(',').map(str::to_string).collect())
                .unwrap_or_default();
            (name, labels)
        })
        .collect()
}

fn missing(samples: &[Sample], expected: &[(String, Vec<String>)]) -> Vec<String> {
    expected
        .iter()
        .filter(|(name, keys)| {
            !samples
                .iter()
                .any(|(n, l, _)| n == name && keys.iter().all(|k| l.contains_key(k)))
        })
        .map(|(name, keys)| format!("{name}{{{}}}", keys.join(",")))
        .collect()
}

fn value(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| *v)
}

/// A check of what a value must be, given what the worker runs.
struct Expect {
    name: &'static str,
    with: &'static [(&'static str, &'static str)],
    holds: fn(f64) -> bool,
    what: &'static str,
}

const fn expect(
    name: &'static str,
    with: &'static [(&'static str, &'static str)],
    holds: fn(f64) -> bool,
    what: &'static str,
) -> Expect {
    Expect {
        name,
        with,
        holds,
        what,
    }
}

const ONE: fn(f64) -> bool = |v| v == 1.0;
const POSITIVE: fn(f64) -> bool = |v| v > 0.0;

const CONFLUENT: &[Expect] = &[
    // The standard "failed connector task" alert: sum(...) > 0.
    expect(
        "kafka_connect_connect_worker_metrics_connector_failed_task_count",
        &[("connector", "broken")],
        ONE,
        "1 failed task",
    ),
    expect(
        "kafka_connect_connect_worker_metrics_connector_failed_task_count",
        &[("connector", "sink")],
        |v| v == 0.0,
        "0 failed tasks",
    ),
    expect(
        "kafka_connect_connect_worker_metrics_connector_paused_task_count",
        &[("connector", "paused")],
        ONE,
        "1 paused task",
    ),
    expect(
        "kafka_connect_connect_worker_metrics_connector_running_task_count",
        &[("connector", "src")],
        ONE,
        "1 running task",
    ),
    expect(
        "kafka_connect_connect_worker_metrics_connector_count",
        &[("connector", "aggregate")],
        |v| v == 4.0,
        "4 connectors",
    ),
    expect(
        "kafka_connect_connect_worker_metrics_task_startup_failure_total",
        &[("connector", "aggregate")],
        |v| v >= 1.0,
        "at least the broken task's failed startup",
    ),
    expect(
        "kafka_connect_connector_metrics",
        &[("connector", "paused"), ("status", "paused")],
        ONE,
        "an info series",
    ),
    expect(
        "kafka_connect_connector_metrics",
        &[("connector", "sink"), ("connector_type", "sink")],
        ONE,
        "an info series",
    ),
    expect(
        "kafka_connect_sink_task_metrics_sink_record_read_rate",
        &[("connector", "sink"), ("task", "0")],
        POSITIVE,
        "above 0 while lines flow",
    ),
    expect(
        "kafka_connect_source_task_metrics_source_record_write_rate",
        &[("connector", "src"), ("task", "0")],
        POSITIVE,
        "above 0 while lines flow",
    ),
    expect(
        "kafka_connect_connector_task_metrics_running_ratio",
        &[("connector", "paused"), ("task", "0")],
        |v| v == 0.0,
        "0 for a task that never ran",
    ),
    expect(
        "kafka_connect_connector_task_metrics_pause_ratio",
        &[("connector", "paused"), ("task", "0")],
        ONE,
        "1 for a task that never ran",
    ),
    expect(
        "kafka_connect_connect_metrics_request_rate",
        &[],
        POSITIVE,
        "heartbeats",
    ),
    expect(
        "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances",
        &[],
        |v| v >= 1.0,
        "the first join",
    ),
    expect("kafka_connect_app", &[], ONE, "an info series"),
];

const STRIMZI: &[Expect] = &[
    // ConnectFailedTask: kafka_connect_worker_connector_failed_task_count > 0.
    expect(
        "kafka_connect_worker_connector_failed_task_count",
        &[("connector", "broken")],
        ONE,
        "1 failed task",
    ),
    expect(
        "kafka_connect_connector_task_status",
        &[("connector", "broken"), ("task", "0"), ("status", "failed")],
        ONE,
        "the failed task",
    ),
    expect(
        "kafka_connect_connector_task_status",
        &[("connector", "paused"), ("task", "0"), ("status", "paused")],
        ONE,
        "the paused task",
    ),
    expect(
        "kafka_connect_connector_status",
        &[("connector", "paused"), ("status", "paused")],
        ONE,
        "the paused connector",
    ),
    expect(
        "kafka_connect_worker_task_count",
        &[],
        |v| v == 4.0,
        "4 tasks",
    ),
    expect(
        "kafka_connect_coordinator_assigned_tasks",
        &[],
        |v| v == 4.0,
        "4 tasks assigned",
    ),
    expect(
        "kafka_connect_sink_task_sink_record_read_rate",
        &[("connector", "sink"), ("task", "0")],
        POSITIVE,
        "above 0 while lines flow",
    ),
    expect(
        "kafka_producer_outgoing_byte_total",
        &[("clientid", "connector-producer-src-0")],
        POSITIVE,
        "bytes produced",
    ),
    expect(
        "kafka_consumer_incoming_byte_total",
        &[("clientid", "connector-consumer-sink-0")],
        POSITIVE,
        "bytes fetched",
    ),
    expect(
        "kafka_producer_connection_count",
        &[("clientid", "connector-producer-src-0")],
        POSITIVE,
        "a broker connection",
    ),
];

const PROCESS: &[Expect] = &[
    expect("process_cpu_seconds_total", &[], POSITIVE, "CPU used"),
    expect("process_resident_memory_bytes", &[], POSITIVE, "memory"),
    expect("process_open_fds", &[], POSITIVE, "sockets and files"),
];

/// Polls the worker's `/metrics` until every expected name is served and
/// every value holds, appending lines meanwhile so data keeps flowing.
async fn served(c: &Cluster, input: &Path, list: &str, checks: &[Expect], from: usize) {
    let expected = expected(list);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut line = from;
    loop {
        append_lines(input, line, line + 20);
        line += 20;
        let samples = parse(&c.metrics(0).await);
        let absent = missing(&samples, &expected);
        let wrong: Vec<String> = checks
            .iter()
            .chain(PROCESS)
            .filter_map(|e| match value(&samples, e.name, e.with) {
                Some(v) if (e.holds)(v) => None,
                v => Some(format!(
                    "{}{:?} = {v:?}, expected {}",
                    e.name, e.with, e.what
                )),
            })
            .collect();
        if absent.is_empty() && wrong.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{list}: not served: {absent:#?}\nwrong: {wrong:#?}\n{}",
                c.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_name_the_public_dashboards_and_alerts_query_is_served_under_both_schemes() {
    // Short windows, so rates fall back soon after the data stops.
    let mut c = Cluster::new(
        "metrics-parity",
        1,
        &[
            ("metrics.sample.window.ms", "5000"),
            ("metrics.num.samples", "2"),
        ],
    );
    c.start(0).await;
    let topic = unique("parity-lines");
    let input = c.dir.path().join("in.txt");
    std::fs::write(&input, "").unwrap();
    let sink = |file: &Path| {
        json!({
            "connector.class": "FileStreamSink",
            "file": file.display().to_string(),
            "topics": topic,
            "tasks.max": "1",
        })
    };
    c.create(
        0,
        "src",
        &json!({
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": topic,
            "topic.creation.default.replication.factor": "1",
            "topic.creation.default.partitions": "1",
        }),
    )
    .await;
    c.create(0, "sink", &sink(&c.dir.path().join("out.txt")))
        .await;
    // Its task cannot open its file: it fails at start.
    c.create(
        0,
        "broken",
        &sink(&c.dir.path().join("no/such/dir/out.txt")),
    )
    .await;
    let (code, body) = c
        .send(
            0,
            Method::POST,
            "/connectors",
            Some(&json!({
                "name": "paused",
                "config": sink(&c.dir.path().join("paused.txt")),
                "initial_state": "PAUSED",
            })),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    served(&c, &input, "confluent.txt", CONFLUENT, 0).await;

    // The same worker under Strimzi's names, set as Confluent's images set
    // worker settings.
    if let Some(mut w) = c.workers[0].take() {
        w.terminate();
    }
    c.env
        .push(("CONNECT_METRICS_PROMETHEUS_NAMING".into(), "strimzi".into()));
    c.start(0).await;
    served(&c, &input, "strimzi.txt", STRIMZI, 1_000_000).await;
    let text = c.metrics(0).await;
    assert!(
        !text.contains("kafka_connect_connect_worker_metrics_connector_failed_task_count"),
        "Confluent's names are not served beside Strimzi's"
    );
}

#[test]
fn the_exposition_parser_reads_escaped_label_values() {
    let samples = parse("# TYPE a gauge\na{x=\"q\\\"uote\",y=\"b\"} 1.5\nb 2\nc{} NaN\n");
    assert_eq!(samples.len(), 3);
    assert_eq!(samples[0].1["x"], "q\"uote");
    assert_eq!(samples[0].1["y"], "b");
    assert_eq!(samples[1].2, 2.0);
    assert!(samples[2].2.is_nan());
}
