//! Task metrics under Kafka Connect's names, rendered for Prometheus the way
//! the common JMX-exporter rules name them, so dashboards carry over.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use rampart_core::connector::{ConnectorMetrics, ConnectorType};
use rampart_core::herder::ConnectorTaskId;

/// Counters of one task (`task-error-metrics`, `source-task-metrics`,
/// `sink-task-metrics`).
#[derive(Default)]
pub struct TaskMetrics {
    /// total-record-errors
    pub record_errors: AtomicU64,
    /// total-record-failures
    pub record_failures: AtomicU64,
    /// total-records-skipped
    pub records_skipped: AtomicU64,
    /// total-retries
    pub retries: AtomicU64,
    /// total-errors-logged
    pub errors_logged: AtomicU64,
    /// deadletterqueue-produce-requests
    pub dlq_produce_requests: AtomicU64,
    /// deadletterqueue-produce-failures
    pub dlq_produce_failures: AtomicU64,
    /// last-error-timestamp (ms)
    pub last_error_timestamp: AtomicU64,
    /// source-record-poll-total / sink-record-read-total
    pub records_in: AtomicU64,
    /// source-record-write-total / sink-record-send-total
    pub records_out: AtomicU64,
    /// offset-commit-completion-total
    pub offset_commits: AtomicU64,
    /// offset-commit-skip-total (sinks) / failed commits
    pub offset_commit_failures: AtomicU64,
    /// The task's own counters, if it keeps any.
    pub connector: std::sync::OnceLock<Arc<dyn ConnectorMetrics>>,
}

impl std::fmt::Debug for TaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskMetrics")
            .field("record_errors", &self.record_errors)
            .finish()
    }
}

impl TaskMetrics {
    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Metrics of every task on this worker.
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    tasks: DashMap<ConnectorTaskId, (ConnectorType, Arc<TaskMetrics>)>,
}

impl MetricsRegistry {
    /// Fresh counters for a (re)started task.
    pub fn register(&self, id: &ConnectorTaskId, kind: ConnectorType) -> Arc<TaskMetrics> {
        let m = Arc::new(TaskMetrics::default());
        self.tasks.insert(id.clone(), (kind, m.clone()));
        m
    }

    /// Forgets a stopped task.
    pub fn remove(&self, id: &ConnectorTaskId) {
        self.tasks.remove(id);
    }

    /// One task's counters.
    pub fn task(&self, id: &ConnectorTaskId) -> Option<Arc<TaskMetrics>> {
        self.tasks.get(id).map(|e| e.1.clone())
    }

    /// Prometheus text exposition (format 0.0.4).
    pub fn render(&self, connector_count: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# TYPE kafka_connect_connect_worker_metrics_connector_count gauge"
        );
        let _ = writeln!(
            out,
            "kafka_connect_connect_worker_metrics_connector_count {connector_count}"
        );
        let _ = writeln!(
            out,
            "# TYPE kafka_connect_connect_worker_metrics_task_count gauge"
        );
        let _ = writeln!(
            out,
            "kafka_connect_connect_worker_metrics_task_count {}",
            self.tasks.len()
        );
        let mut tasks: Vec<(ConnectorTaskId, ConnectorType, Arc<TaskMetrics>)> = self
            .tasks
            .iter()
            .map(|e| (e.key().clone(), e.value().0, e.value().1.clone()))
            .collect();
        tasks.sort_by(|a, b| a.0.cmp(&b.0));
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        type Field = fn(&TaskMetrics) -> &AtomicU64;
        let error_fields: [(&str, Field); 8] = [
            ("total_record_errors", |m| &m.record_errors),
            ("total_record_failures", |m| &m.record_failures),
            ("total_records_skipped", |m| &m.records_skipped),
            ("total_retries", |m| &m.retries),
            ("total_errors_logged", |m| &m.errors_logged),
            ("deadletterqueue_produce_requests", |m| {
                &m.dlq_produce_requests
            }),
            ("deadletterqueue_produce_failures", |m| {
                &m.dlq_produce_failures
            }),
            ("last_error_timestamp", |m| &m.last_error_timestamp),
        ];
        for (name, field) in error_fields {
            let _ = writeln!(out, "# TYPE kafka_connect_task_error_metrics_{name} gauge");
            for (id, _, m) in &tasks {
                let _ = writeln!(
                    out,
                    "kafka_connect_task_error_metrics_{name}{{connector=\"{}\",task=\"{}\"}} {}",
                    escape(&id.connector),
                    id.task,
                    get(field(m))
                );
            }
        }
        let io: [(ConnectorType, &str, &str, Field); 4] = [
            (
                ConnectorType::Source,
                "source_task_metrics",
                "source_record_poll_total",
                |m| &m.records_in,
            ),
            (
                ConnectorType::Source,
                "source_task_metrics",
                "source_record_write_total",
                |m| &m.records_out,
            ),
            (
                ConnectorType::Sink,
                "sink_task_metrics",
                "sink_record_read_total",
                |m| &m.records_in,
            ),
            (
                ConnectorType::Sink,
                "sink_task_metrics",
                "sink_record_send_total",
                |m| &m.records_out,
            ),
        ];
        for (kind, group, name, field) in io {
            let _ = writeln!(out, "# TYPE kafka_connect_{group}_{name} counter");
            for (id, k, m) in tasks.iter().filter(|t| t.1 == kind) {
                let _ = writeln!(
                    out,
                    "kafka_connect_{group}_{name}{{connector=\"{}\",task=\"{}\"}} {}",
                    escape(&id.connector),
                    id.task,
                    get(field(m))
                );
                let _ = k;
            }
        }
        // Connector-specific counters, under Rampart's own prefix.
        let mut names: Vec<&'static str> = Vec::new();
        let mut rows: Vec<(&'static str, String)> = Vec::new();
        for (id, _, m) in &tasks {
            if let Some(c) = m.connector.get() {
                for (name, value) in c.values() {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                    rows.push((
                        name,
                        format!(
                            "rampart_connector_task_{name}{{connector=\"{}\",task=\"{}\"}} {value}",
                            escape(&id.connector),
                            id.task
                        ),
                    ));
                }
            }
        }
        for name in names {
            let _ = writeln!(out, "# TYPE rampart_connector_task_{name} counter");
            for (_, row) in rows.iter().filter(|(n, _)| *n == name) {
                let _ = writeln!(out, "{row}");
            }
        }
        let _ = writeln!(
            out,
            "# TYPE kafka_connect_connector_task_metrics_offset_commit_completion_total counter"
        );
        for (id, _, m) in &tasks {
            let _ = writeln!(out, "kafka_connect_connector_task_metrics_offset_commit_completion_total{{connector=\"{}\",task=\"{}\"}} {}", escape(&id.connector), id.task, get(&m.offset_commits));
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
