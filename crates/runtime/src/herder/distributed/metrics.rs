//! `connect-worker-rebalance-metrics` (Java's `DistributedHerder.HerderMetrics`).

use std::sync::Mutex;

use crate::metrics::{now_ms, Exposition, Kind, MBean, MetricConfig, SampledStat};

/// Rebalance counts and timings of one worker.
#[derive(Debug)]
pub struct RebalanceMetrics {
    config: MetricConfig,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    completed: f64,
    started: Option<u64>,
    last_completed: Option<u64>,
    max_time: SampledStat,
    avg_time: SampledStat,
    epoch: i32,
    leader: String,
    protocol: String,
}

impl Default for RebalanceMetrics {
    fn default() -> Self {
        Self::new(MetricConfig::default())
    }
}

impl RebalanceMetrics {
    /// Metrics whose rebalance times are windowed by `config`.
    pub fn new(config: MetricConfig) -> Self {
        RebalanceMetrics {
            config,
            inner: Mutex::new(Inner {
                completed: 0.0,
                started: None,
                last_completed: None,
                max_time: SampledStat::max(),
                avg_time: SampledStat::avg(),
                epoch: 0,
                leader: String::new(),
                protocol: String::new(),
            }),
        }
    }

    /// An assignment arrived: the worker is rebalancing until its work is
    /// started.
    pub fn begin(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.started = Some(now_ms());
        }
    }

    /// The assigned work started, for this generation, leader and protocol.
    pub fn complete(&self, epoch: i32, leader: &str, protocol: &str) {
        let config = self.config;
        if let Ok(mut m) = self.inner.lock() {
            let now = now_ms();
            let took = m.started.take().map_or(0, |s| now.saturating_sub(s)) as f64;
            m.max_time.record(config, took, now);
            m.avg_time.record(config, took, now);
            m.completed += 1.0;
            m.last_completed = Some(now);
            m.epoch = epoch;
            m.leader = leader.to_string();
            m.protocol = protocol.to_string();
        }
    }

    /// `rampart_worker_rebalance_info{leader_name,connect_protocol} 1`:
    /// the two strings Confluent's rules cannot export, kept under
    /// Rampart's own name whatever the naming scheme.
    pub fn render_info(&self, out: &mut Exposition) {
        let Ok(m) = self.inner.lock() else { return };
        out.sample(
            "rampart_worker_rebalance_info",
            Kind::Gauge,
            &[
                ("leader_name", m.leader.as_str()),
                ("connect_protocol", &protocol_name(&m.protocol)),
            ],
            1.0,
        );
    }

    /// The MBean, as Java's gauges read it now.
    pub fn bean(&self) -> Option<MBean> {
        let config = self.config;
        let mut m = self.inner.lock().ok()?;
        let now = now_ms();
        let since = m
            .last_completed
            .map_or(f64::INFINITY, |t| now.saturating_sub(t) as f64);
        let mut bean = MBean::connect("connect-worker-rebalance-metrics", Vec::new());
        if !m.protocol.is_empty() {
            bean = bean.text("connect-protocol", protocol_name(&m.protocol));
        }
        if !m.leader.is_empty() {
            bean = bean.text("leader-name", m.leader.clone());
        }
        let max = m.max_time.measure(config, now);
        let avg = m.avg_time.measure(config, now);
        Some(
            bean.number("epoch", f64::from(m.epoch))
                .number("completed-rebalances-total", m.completed)
                .number("rebalancing", if m.started.is_some() { 1.0 } else { 0.0 })
                .number("rebalance-max-time-ms", max)
                .number("rebalance-avg-time-ms", avg)
                .number("time-since-last-rebalance-ms", since),
        )
    }
}

// Java names the protocol by its enum: EAGER, COMPATIBLE, SESSIONED.
fn protocol_name(protocol: &str) -> String {
    match protocol {
        "default" => "EAGER".to_string(),
        other => other.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::RebalanceMetrics;
    use crate::metrics::Value;

    fn get(m: &RebalanceMetrics, name: &str) -> Value {
        m.bean()
            .unwrap()
            .attributes
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn a_rebalance_runs_from_the_assignment_to_the_started_work() {
        let m = RebalanceMetrics::default();
        assert_eq!(get(&m, "completed-rebalances-total"), Value::Number(0.0));
        assert_eq!(
            get(&m, "time-since-last-rebalance-ms"),
            Value::Number(f64::INFINITY)
        );
        m.begin();
        assert_eq!(get(&m, "rebalancing"), Value::Number(1.0));
        m.complete(7, "http://w1:8083/", "sessioned");
        assert_eq!(get(&m, "completed-rebalances-total"), Value::Number(1.0));
        assert_eq!(get(&m, "rebalancing"), Value::Number(0.0));
        assert_eq!(get(&m, "epoch"), Value::Number(7.0));
        assert_eq!(get(&m, "connect-protocol"), Value::Text("SESSIONED".into()));
        assert_eq!(
            get(&m, "leader-name"),
            Value::Text("http://w1:8083/".into())
        );
        let Value::Number(avg) = get(&m, "rebalance-avg-time-ms") else {
            panic!("a number")
        };
        assert!(avg >= 0.0);
    }
}
