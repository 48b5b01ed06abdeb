//! Kafka Connect's metrics, kept as Java keeps them (MBeans: a type, tags
//! and attributes, with Kafka's sampled statistics) and rendered for
//! Prometheus under the names the two common JMX-exporter configurations
//! give them, so existing dashboards and alert rules work unchanged.

mod client;
mod confluent;
mod exporter;
mod exposition;
mod process;
pub mod stats;
mod strimzi;

use std::str::FromStr;

use std::sync::OnceLock;
use std::time::Instant;

use exporter::Emit;

/// Milliseconds on a monotonic clock shared by every sensor.
pub(crate) fn now_ms() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_millis() as u64
}

pub use client::{ClientKind, ClientRegistry, ClientStats, CoordinatorStats};
pub use exposition::{Exposition, Kind};
pub use stats::{MetricConfig, Rate, SampledStat};

/// One MBean's worth of metrics, e.g.
/// `kafka.connect:type=sink-task-metrics,connector=c,task=0`.
#[derive(Debug, Clone, PartialEq)]
pub struct MBean {
    /// `kafka.connect`, `kafka.producer` or `kafka.consumer`.
    pub domain: &'static str,
    /// The `type` key.
    pub kind: &'static str,
    /// The other keys, in Kafka's order (`connector`, `task`, `client-id`…).
    pub tags: Vec<(&'static str, String)>,
    /// Attribute names as Kafka spells them (`sink-record-read-rate`).
    pub attributes: Vec<(&'static str, Value)>,
}

impl MBean {
    /// An MBean of the `kafka.connect` domain.
    pub fn connect(kind: &'static str, tags: Vec<(&'static str, String)>) -> Self {
        MBean {
            domain: "kafka.connect",
            kind,
            tags,
            attributes: Vec::new(),
        }
    }

    /// Adds a numeric attribute.
    pub fn number(mut self, name: &'static str, value: f64) -> Self {
        self.attributes.push((name, Value::Number(value)));
        self
    }

    /// Adds a string attribute.
    pub fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.attributes.push((name, Value::Text(value.into())));
        self
    }

    /// A tag's value.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A gauge, total, rate, average…
    Number(f64),
    /// A status, class name or version.
    Text(String),
}

/// `metrics.prometheus.naming`: which exporter configuration's names
/// `/metrics` uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Naming {
    /// Confluent's `jmx-monitoring-stacks` (`kafka_connect.yml`).
    #[default]
    Confluent,
    /// Strimzi's `kafka-connect-metrics.yaml`.
    Strimzi,
}

impl FromStr for Naming {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "confluent" => Ok(Naming::Confluent),
            "strimzi" => Ok(Naming::Strimzi),
            other => Err(format!(
                "Invalid value {other} for configuration metrics.prometheus.naming: String must be one of: confluent, strimzi"
            )),
        }
    }
}

/// Renders MBeans under a naming scheme. Beside Strimzi's names, the
/// `_total` series Rampart served before the scheme existed stay, under
/// Confluent's names, as they never collide with Strimzi's.
pub fn render(naming: Naming, beans: &[MBean], out: &mut Exposition) {
    for bean in beans {
        for (attribute, value) in &bean.attributes {
            match naming {
                Naming::Confluent => {
                    confluent::CONFIG.apply(bean, attribute, value, Emit::Current, out)
                }
                Naming::Strimzi => {
                    strimzi::CONFIG.apply(bean, attribute, value, Emit::Current, out);
                    confluent::CONFIG.apply(bean, attribute, value, Emit::LegacyTotals, out);
                }
            }
        }
    }
}

/// The process's CPU, memory and file descriptors, as the Prometheus
/// client libraries name them.
pub fn process(out: &mut Exposition) {
    process::render(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    // What Connect's MBeans look like for one sink task of connector
    // `foo`, one worker and its group member.
    fn beans() -> Vec<MBean> {
        let task = || vec![("connector", "foo".to_string()), ("task", "0".to_string())];
        vec![
            MBean::connect("connect-worker-metrics", Vec::new())
                .number("connector-count", 2.0)
                .number("connector-startup-failure-total", 1.0),
            MBean::connect("connect-worker-metrics", vec![("connector", "foo".into())])
                .number("connector-failed-task-count", 1.0),
            MBean::connect("connector-metrics", vec![("connector", "foo".into())])
                .text("status", "running")
                .text("connector-class", "io.x.FooConnector"),
            MBean::connect("connector-task-metrics", task())
                .text("status", "failed")
                .number("running-ratio", 0.5)
                .number("offset-commit-success-percentage", 1.0),
            MBean::connect("sink-task-metrics", task())
                .number("sink-record-read-rate", 12.5)
                .number("sink-record-read-total", 40.0)
                .number("sink-record-active-count", 3.0)
                .number("sink-record-active-count-max", 7.0),
            MBean::connect("task-error-metrics", task()).number("total-record-failures", 2.0),
            MBean::connect("connect-worker-rebalance-metrics", Vec::new())
                .text("leader-name", "http://w1:8083/")
                .number("completed-rebalances-total", 3.0)
                .number("rebalancing", 0.0),
            MBean::connect("connect-metrics", vec![("client-id", "connect-1".into())])
                .number("incoming-byte-rate", 100.0)
                .number("failed-authentication-total", 0.0),
            MBean::connect(
                "connect-coordinator-metrics",
                vec![("client-id", "connect-1".into())],
            )
            .number("assigned-connectors", 1.0),
            MBean::connect("app-info", vec![("client-id", "connect-1".into())])
                .text("version", "0.1.0"),
            MBean {
                domain: "kafka.producer",
                kind: "producer-metrics",
                tags: vec![("client-id", "connector-producer-s-0".into())],
                attributes: vec![
                    ("outgoing-byte-total", Value::Number(500.0)),
                    ("connection-count", Value::Number(1.0)),
                ],
            },
        ]
    }

    fn rendered(naming: Naming) -> String {
        let mut out = Exposition::default();
        render(naming, &beans(), &mut out);
        out.finish()
    }

    fn assert_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(
                text.lines().any(|l| l == *line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn confluent_names_are_the_jmx_monitoring_stacks_ones() {
        let text = rendered(Naming::Confluent);
        assert_lines(
            &text,
            &[
                r#"kafka_connect_connect_worker_metrics_connector_count{connector="aggregate"} 2"#,
                r#"kafka_connect_connect_worker_metrics_connector_failed_task_count{connector="foo"} 1"#,
                // Exporter 1.x strips `_total`; 0.x's name stays beside it.
                r#"kafka_connect_connect_worker_metrics_connector_startup_failure{connector="aggregate"} 1"#,
                r#"kafka_connect_connect_worker_metrics_connector_startup_failure_total{connector="aggregate"} 1"#,
                r#"kafka_connect_connector_metrics{connector="foo",status="running"} 1"#,
                r#"kafka_connect_connector_metrics{connector="foo",connector_class="io.x.FooConnector"} 1"#,
                r#"kafka_connect_connector_task_metrics_running_ratio{connector="foo",task="0"} 0.5"#,
                r#"kafka_connect_connector_task_metrics_offset_commit_success_percentage{connector="foo",task="0"} 1"#,
                r#"kafka_connect_sink_task_metrics_sink_record_read_rate{connector="foo",task="0"} 12.5"#,
                r#"kafka_connect_sink_task_metrics_sink_record_read{connector="foo",task="0"} 40"#,
                r#"kafka_connect_sink_task_metrics_sink_record_read_total{connector="foo",task="0"} 40"#,
                r#"kafka_connect_sink_task_metrics_sink_record_active_count_max{connector="foo",task="0"} 7"#,
                r#"kafka_connect_task_error_metrics_total_record_failures{connector="foo",task="0"} 2"#,
                r#"kafka_connect_connect_worker_rebalance_metrics_completed_rebalances 3"#,
                r#"kafka_connect_connect_worker_rebalance_metrics_rebalancing 0"#,
                r#"kafka_connect_connect_metrics_incoming_byte_rate{client_id="connect-1"} 100"#,
                r#"kafka_connect_connect_metrics_failed_authentication{client_id="connect-1"} 0"#,
                r#"kafka_connect_connect_coordinator_metrics_assigned_connectors{client_id="connect-1"} 1"#,
                r#"kafka_connect_app{client_id="connect-1",version="0.1.0"} 1"#,
                r#"kafka_producer_producer_metrics_outgoing_byte{client_type="producer",client_id="connector-producer-s-0"} 500"#,
            ],
        );
        // A task's status is a string the rules give no value: not served.
        assert!(!text.contains("status=\"failed\""), "{text}");
        assert!(!text.contains("leader_name"), "{text}");
    }

    #[test]
    fn strimzi_names_are_the_kafka_connect_metrics_yaml_ones() {
        let text = rendered(Naming::Strimzi);
        assert_lines(
            &text,
            &[
                r#"kafka_connect_worker_connector_count 2"#,
                r#"kafka_connect_worker_connector_startup_failure_total 1"#,
                r#"kafka_connect_worker_connector_failed_task_count{connector="foo"} 1"#,
                r#"kafka_connect_connector_status{connector="foo",status="running"} 1"#,
                r#"kafka_connect_connector_connector_class{connector="foo",connector_class="io.x.FooConnector"} 1"#,
                r#"kafka_connect_connector_task_status{connector="foo",task="0",status="failed"} 1"#,
                r#"kafka_connect_connector_task_running_ratio{connector="foo",task="0"} 0.5"#,
                r#"kafka_connect_sink_task_sink_record_read_rate{connector="foo",task="0"} 12.5"#,
                r#"kafka_connect_sink_task_sink_record_read_total{connector="foo",task="0"} 40"#,
                r#"kafka_connect_task_error_total_record_failures{connector="foo",task="0"} 2"#,
                r#"kafka_connect_worker_rebalance_completed_rebalances_total 3"#,
                r#"kafka_connect_worker_rebalance_rebalancing 0"#,
                r#"kafka_connect_worker_rebalance_leader_name{leader_name="http://w1:8083/"} 1"#,
                r#"kafka_connect_coordinator_assigned_connectors{clientid="connect-1"} 1"#,
                r#"kafka_producer_outgoing_byte_total{clientid="connector-producer-s-0"} 500"#,
                r#"kafka_producer_connection_count{clientid="connector-producer-s-0"} 1"#,
                // The series Rampart served before, kept beside Strimzi's.
                r#"kafka_connect_sink_task_metrics_sink_record_read_total{connector="foo",task="0"} 40"#,
            ],
        );
        // Strimzi's rules export no percentages.
        assert!(!text.contains("percentage"), "{text}");
    }

    #[test]
    fn the_naming_setting_is_validated() {
        assert_eq!("Strimzi".parse::<Naming>(), Ok(Naming::Strimzi));
        assert!("jmx"
            .parse::<Naming>()
            .unwrap_err()
            .contains("confluent, strimzi"));
    }
}
