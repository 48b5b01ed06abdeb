//! Strimzi's Kafka Connect metrics configuration
//! (`packaging/examples/metrics/kafka-connect-metrics.yaml`), every rule,
//! in the file's order.

use std::sync::OnceLock;

use super::exporter::{Config, Rule};
use super::exposition::Kind;

const RULES: &[Rule] = &[
    Rule::new(
        "kafka.(.+)<type=app-info, client-id=(.+)><>start-time-ms",
        "kafka_$1_start_time_seconds",
    )
    .labels(&[("clientId", "$2")])
    .kind(Kind::Gauge)
    .factor(0.001),
    Rule::new(
        "kafka.(.+)<type=app-info, client-id=(.+)><>(commit-id|version): (.+)",
        "kafka_$1_$3_info",
    )
    .value(1.0)
    .labels(&[("clientId", "$2"), ("$3", "$4")]),
    Rule::new(
        "kafka.consumer<type=consumer-fetch-manager-metrics, client-id=(.+), topic=(.+), partition=(.+)><>(.+-total)",
        "kafka_consumer_fetch_manager_$4",
    )
    .labels(&[("clientId", "$1"), ("topic", "$2"), ("partition", "$3")])
    .kind(Kind::Counter),
    Rule::new(
        "kafka.consumer<type=consumer-fetch-manager-metrics, client-id=(.+), topic=(.+), partition=(.+)><>(compression-rate|.+-avg|.+-replica|.+-lag|.+-lead)",
        "kafka_consumer_fetch_manager_$4",
    )
    .labels(&[("clientId", "$1"), ("topic", "$2"), ("partition", "$3")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.producer<type=producer-topic-metrics, client-id=(.+), topic=(.+)><>(.+-total)",
        "kafka_producer_topic_$3",
    )
    .labels(&[("clientId", "$1"), ("topic", "$2")])
    .kind(Kind::Counter),
    Rule::new(
        "kafka.producer<type=producer-topic-metrics, client-id=(.+), topic=(.+)><>(compression-rate|.+-avg|.+rate)",
        "kafka_producer_topic_$3",
    )
    .labels(&[("clientId", "$1"), ("topic", "$2")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.(.+)<type=(.+)-metrics, client-id=(.+), node-id=(.+)><>(.+-total)",
        "kafka_$2_$5",
    )
    .labels(&[("clientId", "$3"), ("nodeId", "$4")])
    .kind(Kind::Counter),
    Rule::new(
        "kafka.(.+)<type=(.+)-metrics, client-id=(.+), node-id=(.+)><>(.+-avg|.+-rate)",
        "kafka_$2_$5",
    )
    .labels(&[("clientId", "$3"), ("nodeId", "$4")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.(.+)<type=(.+)-metrics, client-id=(.*)><>(.+-total)",
        "kafka_$2_$4",
    )
    .labels(&[("clientId", "$3")])
    .kind(Kind::Counter),
    Rule::new(
        "kafka.(.+)<type=(.+)-metrics, client-id=(.*)><>(.+-avg|.+-bytes|.+-count|.+-ratio|.+-age|.+-flight|.+-threads|.+-connectors|.+-tasks|.+-ago)",
        "kafka_$2_$4",
    )
    .labels(&[("clientId", "$3")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=connector-metrics, connector=(.+)><>(connector-class|connector-type|connector-version|status): (.+)",
        "kafka_connect_connector_$2",
    )
    .value(1.0)
    .labels(&[("connector", "$1"), ("$2", "$3")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=connector-task-metrics, connector=(.+), task=(.+)><>status: ([a-z-]+)",
        "kafka_connect_connector_task_status",
    )
    .value(1.0)
    .labels(&[("connector", "$1"), ("task", "$2"), ("status", "$3")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=(.+)-metrics, connector=(.+), task=(.+)><>(.+-total)",
        "kafka_connect_$1_$4",
    )
    .labels(&[("connector", "$2"), ("task", "$3")])
    .kind(Kind::Counter),
    Rule::new(
        "kafka.connect<type=(.+)-metrics, connector=(.+), task=(.+)><>(.+-count|.+-ms|.+-ratio|.+-seq-no|.+-rate|.+-max|.+-avg|.+-failures|.+-requests|.+-timestamp|.+-logged|.+-errors|.+-retries|.+-skipped)",
        "kafka_connect_$1_$4",
    )
    .labels(&[("connector", "$2"), ("task", "$3")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=connect-worker-metrics, connector=(.+)><>([a-z-]+)",
        "kafka_connect_worker_$2",
    )
    .labels(&[("connector", "$1")])
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=connect-worker-metrics><>([a-z-]+-total)",
        "kafka_connect_worker_$1",
    )
    .kind(Kind::Counter),
    Rule::new(
        "kafka.connect<type=connect-worker-metrics><>([a-z-]+)",
        "kafka_connect_worker_$1",
    )
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=connect-worker-rebalance-metrics><>(leader-name|connect-protocol): (.+)",
        "kafka_connect_worker_rebalance_$1",
    )
    .value(1.0)
    .labels(&[("$1", "$2")]),
    Rule::new(
        "kafka.connect<type=connect-worker-rebalance-metrics><>([a-z-]+-total)",
        "kafka_connect_worker_rebalance_$1",
    )
    .kind(Kind::Counter),
    Rule::new(
        "kafka.connect<type=connect-worker-rebalance-metrics><>([a-z-]+)",
        "kafka_connect_worker_rebalance_$1",
    )
    .kind(Kind::Gauge),
    Rule::new(
        "kafka.connect<type=connect-coordinator-metrics><>(assigned-connectors|assigned-tasks)",
        "kafka_connect_coordinator_$1",
    )
    .kind(Kind::Gauge),
];

static COMPILED: OnceLock<Vec<regex::Regex>> = OnceLock::new();

pub(crate) static CONFIG: Config = Config {
    rules: RULES,
    lowercase_names: true,
    lowercase_label_names: true,
    compiled: &COMPILED,
};
