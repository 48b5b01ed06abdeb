//! `connect-worker-rebalance-metrics`, under the names the JMX exporter
//! gives Kafka Connect's MBean attributes.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Rebalance counters and timings of one worker.
#[derive(Debug, Default)]
pub struct RebalanceMetrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    completed: u64,
    started: Option<Instant>,
    last_completed: Option<Instant>,
    total_time: Duration,
    max_time: Duration,
    epoch: i32,
    leader: String,
    protocol: String,
}

impl RebalanceMetrics {
    /// A rebalance began (this worker is joining).
    pub fn begin(&self) {
        if let Ok(mut m) = self.inner.lock() {
            if m.started.is_none() {
                m.started = Some(Instant::now());
            }
        }
    }

    /// A rebalance completed with this generation, leader and protocol.
    pub fn complete(&self, epoch: i32, leader: &str, protocol: &str) {
        if let Ok(mut m) = self.inner.lock() {
            let now = Instant::now();
            if let Some(started) = m.started.take() {
                let took = now - started;
                m.total_time += took;
                m.max_time = m.max_time.max(took);
            }
            m.completed += 1;
            m.last_completed = Some(now);
            m.epoch = epoch;
            m.leader = leader.to_string();
            m.protocol = protocol.to_string();
        }
    }

    /// Prometheus text, appended to the worker's metrics.
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        let prefix = "kafka_connect_connect_worker_rebalance_metrics";
        let avg = if m.completed == 0 {
            0.0
        } else {
            m.total_time.as_secs_f64() * 1000.0 / m.completed as f64
        };
        let since = m
            .last_completed
            .map(|t| t.elapsed().as_millis() as f64)
            .unwrap_or(-1.0);
        let gauges: [(&str, f64); 6] = [
            ("completed_rebalances_total", m.completed as f64),
            ("rebalancing", if m.started.is_some() { 1.0 } else { 0.0 }),
            ("epoch", f64::from(m.epoch)),
            ("rebalance_avg_time_ms", avg),
            ("rebalance_max_time_ms", m.max_time.as_millis() as f64),
            ("time_since_last_rebalance_ms", since),
        ];
        for (name, value) in gauges {
            let _ = writeln!(out, "# TYPE {prefix}_{name} gauge");
            let _ = writeln!(out, "{prefix}_{name} {value}");
        }
        // Strings become labels of an info gauge, as the exporter renders them.
        let _ = writeln!(out, "# TYPE {prefix}_info gauge");
        let _ = writeln!(
            out,
            "{prefix}_info{{leader_name=\"{}\",connect_protocol=\"{}\"}} 1",
            escape(&m.leader),
            escape(&m.protocol)
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::RebalanceMetrics;

    #[test]
    fn completed_rebalances_are_counted_and_the_leader_shown() {
        let m = RebalanceMetrics::default();
        assert!(m.render().contains(
            "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total 0\n"
        ));
        m.begin();
        assert!(m
            .render()
            .contains("kafka_connect_connect_worker_rebalance_metrics_rebalancing 1\n"));
        m.complete(7, "http://w1:8083/", "sessioned");
        let text = m.render();
        assert!(text.contains(
            "kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total 1\n"
        ));
        assert!(text.contains("kafka_connect_connect_worker_rebalance_metrics_rebalancing 0\n"));
        assert!(text.contains("kafka_connect_connect_worker_rebalance_metrics_epoch 7\n"));
        assert!(text.contains("leader_name=\"http://w1:8083/\",connect_protocol=\"sessioned\""));
    }
}
