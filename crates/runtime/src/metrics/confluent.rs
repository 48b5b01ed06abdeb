//! Confluent's `jmx-monitoring-stacks` configuration for Kafka Connect
//! (`shared-assets/jmx-exporter/kafka_connect.yml`), the rules that apply
//! to the `kafka.connect`, `kafka.producer` and `kafka.consumer` MBeans, in
//! the file's order. Debezium, MongoDB and Replicator rules name other
//! domains and are left out.

use std::sync::OnceLock;

use super::exporter::{Config, Rule};
use super::exposition::Kind;

const RULES: &[Rule] = &[
    Rule::new(
        "kafka.connect<type=app-info, client-id=(.+)><>(.+): (.+)",
        "kafka_connect_app_info",
    )
    .value(1.0)
    .labels(&[("client-id", "$1"), ("$2", "$3")]),
    Rule::new(
        "kafka.connect<type=connect-worker-rebalance-metrics><>([^:]+)",
        "kafka_connect_connect_worker_rebalance_metrics_$1",
    ),
    Rule::new(
        "kafka.connect<type=(.+), client-id=(.+)><>([^:]+)",
        "kafka_connect_$1_$3",
    )
    .labels(&[("client_id", "$2")]),
    Rule::new(
        "kafka.connect<type=connect-worker-metrics><>([^:]+)",
        "kafka_connect_connect_worker_metrics_$1",
    )
    .labels(&[("connector", "aggregate")]),
    Rule::new(
        "kafka.connect<type=connect-worker-metrics, connector=(.+)><>([^:]+)",
        "kafka_connect_connect_worker_metrics_$2",
    )
    .labels(&[("connector", "$1")]),
    Rule::new(
        "kafka.connect<type=connector-metrics, connector=(.+)><>(.+): (.+)",
        "kafka_connect_connector_metrics",
    )
    .value(1.0)
    .labels(&[("connector", "$1"), ("$2", "$3")]),
    Rule::new(
        "kafka.connect<type=(.+)-task-metrics, connector=(.+), task=(\\d+)><>(.+): (.+)",
        "kafka_connect_$1_task_metrics_$4",
    )
    .labels(&[("connector", "$2"), ("task", "$3")]),
    Rule::new(
        "kafka.connect<type=task-error-metrics, connector=(.+), task=(\\d+)><>([^:]+)",
        "kafka_connect_task_error_metrics_$3",
    )
    .labels(&[("connector", "$1"), ("task", "$2")]),
    Rule::new(
        "kafka.(.+)<type=app-info, client-id=(.+)><>(.+): (.+)",
        "kafka_$1_app_info",
    )
    .value(1.0)
    .labels(&[("client_type", "$1"), ("client_id", "$2"), ("$3", "$4")]),
    Rule::new(
        "kafka.(.+)<type=(.+), (.+)=(.+), (.+)=(.+), (.+)=(.+)><>(.+):",
        "kafka_$1_$2_$9",
    )
    .kind(Kind::Gauge)
    .labels(&[
        ("client_type", "$1"),
        ("$3", "$4"),
        ("$5", "$6"),
        ("$7", "$8"),
    ]),
    Rule::new(
        "kafka.(.+)<type=(.+), (.+)=(.+), (.+)=(.+)><>(.+):",
        "kafka_$1_$2_$7",
    )
    .kind(Kind::Gauge)
    .labels(&[("client_type", "$1"), ("$3", "$4"), ("$5", "$6")]),
    Rule::new("kafka.(.+)<type=(.+), (.+)=(.+)><>(.+):", "kafka_$1_$2_$5")
        .kind(Kind::Gauge)
        .labels(&[("client_type", "$1"), ("$3", "$4")]),
    Rule::new("kafka.(.+)<type=(.+)><>(.+):", "kafka_$1_$2_$3").labels(&[("client_type", "$1")]),
];

static COMPILED: OnceLock<Vec<regex::Regex>> = OnceLock::new();

pub(crate) static CONFIG: Config = Config {
    rules: RULES,
    lowercase_names: false,
    lowercase_label_names: true,
    compiled: &COMPILED,
};
