//! Kafka client metrics: the network metrics Java's `Selector` keeps for
//! every client (`producer-metrics`, `consumer-metrics`, and
//! `connect-metrics` for the worker's group member), fed from librdkafka's statistics or counted by the group
//! member's own connection; and the group member's
//! `connect-coordinator-metrics`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dashmap::DashMap;
use serde::Deserialize;

use super::{now_ms, MBean, MetricConfig, Rate, SampledStat};

/// Which kind of client, and so which MBean domain and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// `kafka.producer:type=producer-metrics`
    Producer,
    /// `kafka.consumer:type=consumer-metrics`
    Consumer,
    /// `kafka.connect:type=connect-metrics`, the worker's group member.
    Connect,
}

impl ClientKind {
    fn bean(self) -> (&'static str, &'static str) {
        match self {
            ClientKind::Producer => ("kafka.producer", "producer-metrics"),
            ClientKind::Consumer => ("kafka.consumer", "consumer-metrics"),
            ClientKind::Connect => ("kafka.connect", "connect-metrics"),
        }
    }
}

/// A cumulative count with its windowed rate (`x-total`, `x-rate`).
#[derive(Debug, Default)]
struct Meter {
    total: f64,
    rate: Rate,
}

impl Meter {
    fn record(&mut self, config: MetricConfig, n: f64, now: u64) {
        self.total += n;
        if n > 0.0 {
            self.rate.record(config, n, now);
        }
    }

    /// Moves the total to a cumulative value read elsewhere (librdkafka).
    fn advance_to(&mut self, config: MetricConfig, total: f64, now: u64) {
        let delta = total - self.total;
        if delta > 0.0 {
            self.record(config, delta, now);
        }
    }
}

#[derive(Debug)]
struct Network {
    connection_count: f64,
    connection_creation: Meter,
    connection_close: Meter,
    successful_authentication: Meter,
    failed_authentication: Meter,
    network_io: Meter,
    outgoing_bytes: Meter,
    incoming_bytes: Meter,
    requests: Meter,
    responses: Meter,
    request_size_max: SampledStat,
    request_size_avg: SampledStat,
    /// Nanoseconds spent waiting on the broker, as a rate per nanosecond.
    io_time: Rate,
    io_time_avg: SampledStat,
    timed: bool,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            connection_count: 0.0,
            connection_creation: Meter::default(),
            connection_close: Meter::default(),
            successful_authentication: Meter::default(),
            failed_authentication: Meter::default(),
            network_io: Meter::default(),
            outgoing_bytes: Meter::default(),
            incoming_bytes: Meter::default(),
            requests: Meter::default(),
            responses: Meter::default(),
            request_size_max: SampledStat::max(),
            request_size_avg: SampledStat::avg(),
            io_time: Rate::default(),
            io_time_avg: SampledStat::avg(),
            timed: false,
        }
    }
}

/// The parts of librdkafka's statistics JSON that Java's network metrics
/// have an equivalent for.
#[derive(Debug, Deserialize)]
struct LibrdkafkaStats {
    tx: f64,
    tx_bytes: f64,
    rx: f64,
    rx_bytes: f64,
    #[serde(default)]
    brokers: BTreeMap<String, LibrdkafkaBroker>,
}

#[derive(Debug, Deserialize)]
struct LibrdkafkaBroker {
    #[serde(default)]
    state: String,
    #[serde(default = "no_node")]
    nodeid: i32,
    #[serde(default)]
    connects: Option<f64>,
    #[serde(default)]
    disconnects: Option<f64>,
}

fn no_node() -> i32 {
    -1
}

/// Picks one meter of a client's network metrics.
type MeterOf = fn(&mut Network) -> &mut Meter;

/// Network metrics of one client.
#[derive(Debug)]
pub struct ClientStats {
    config: MetricConfig,
    network: Mutex<Network>,
}

impl ClientStats {
    /// Fresh metrics, not registered anywhere.
    pub fn new(config: MetricConfig) -> Self {
        ClientStats {
            config,
            network: Mutex::new(Network::default()),
        }
    }

    fn network(&self) -> MutexGuard<'_, Network> {
        self.network.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes in a librdkafka statistics document (`statistics.interval.ms`):
    /// its totals since the client started become Java's totals, and the
    /// growth since the last document feeds the rates.
    pub fn observe_librdkafka(&self, json: &[u8]) -> Result<(), serde_json::Error> {
        let stats: LibrdkafkaStats = serde_json::from_slice(json)?;
        let (c, now) = (self.config, now_ms());
        // Logical brokers (`GroupCoordinator`, `TxnCoordinator`, node id
        // -1) borrow a real broker's connection: only brokers with a node
        // id, or still known by their bootstrap address, hold their own.
        let real = || {
            stats
                .brokers
                .iter()
                .filter(|(name, b)| b.nodeid >= 0 || name.ends_with("/bootstrap"))
                .map(|(_, b)| b)
        };
        let mut n = self.network();
        n.connection_count = real().filter(|b| b.state == "UP").count() as f64;
        let connects = real().filter_map(|b| b.connects).fold(0.0, |a, n| a + n);
        let disconnects = real().filter_map(|b| b.disconnects).fold(0.0, |a, n| a + n);
        n.connection_creation.advance_to(c, connects, now);
        n.connection_close.advance_to(c, disconnects, now);
        // librdkafka authenticates every connection it counts as connected.
        n.successful_authentication.advance_to(c, connects, now);
        n.outgoing_bytes.advance_to(c, stats.tx_bytes, now);
        n.incoming_bytes.advance_to(c, stats.rx_bytes, now);
        n.requests.advance_to(c, stats.tx, now);
        n.responses.advance_to(c, stats.rx, now);
        n.network_io.advance_to(c, stats.tx + stats.rx, now);
        Ok(())
    }

    /// The group member opened a connection.
    pub fn connection_opened(&self) {
        let (c, now) = (self.config, now_ms());
        let mut n = self.network();
        n.connection_count += 1.0;
        n.connection_creation.record(c, 1.0, now);
    }

    /// A connection became ready: SASL passed, or none was needed (Java's
    /// `Selector` counts plaintext channels as authenticated too).
    pub fn authenticated(&self) {
        let (c, now) = (self.config, now_ms());
        self.network().successful_authentication.record(c, 1.0, now);
    }

    /// The group member's SASL authentication failed.
    pub fn authentication_failed(&self) {
        let (c, now) = (self.config, now_ms());
        self.network().failed_authentication.record(c, 1.0, now);
    }

    /// The group member closed a connection.
    pub fn connection_closed(&self) {
        let (c, now) = (self.config, now_ms());
        let mut n = self.network();
        n.connection_count = (n.connection_count - 1.0).max(0.0);
        n.connection_close.record(c, 1.0, now);
    }

    /// One request of `sent` bytes and its response of `received` bytes
    /// (`received` 0 when none came), `took` on the wire.
    pub fn exchange(&self, sent: usize, received: usize, took: Duration) {
        let (c, now) = (self.config, now_ms());
        let mut n = self.network();
        n.timed = true;
        n.requests.record(c, 1.0, now);
        n.outgoing_bytes.record(c, sent as f64, now);
        n.network_io.record(c, 1.0, now);
        n.request_size_max.record(c, sent as f64, now);
        n.request_size_avg.record(c, sent as f64, now);
        if received > 0 {
            n.responses.record(c, 1.0, now);
            n.incoming_bytes.record(c, received as f64, now);
            n.network_io.record(c, 1.0, now);
        }
        let ns = took.as_nanos() as f64;
        n.io_time.record(c, ns, now);
        n.io_time_avg.record(c, ns, now);
    }

    fn bean(&self, kind: ClientKind, client_id: &str) -> MBean {
        let (c, now) = (self.config, now_ms());
        let (domain, kind) = kind.bean();
        let mut n = self.network();
        let mut bean = MBean {
            domain,
            kind,
            tags: vec![("client-id", client_id.to_string())],
            attributes: Vec::new(),
        }
        .number("connection-count", n.connection_count);
        let meters: [(&'static str, &'static str, MeterOf); 9] = [
            (
                "connection-creation-total",
                "connection-creation-rate",
                |n| &mut n.connection_creation,
            ),
            ("connection-close-total", "connection-close-rate", |n| {
                &mut n.connection_close
            }),
            (
                "successful-authentication-total",
                "successful-authentication-rate",
                |n| &mut n.successful_authentication,
            ),
            (
                "failed-authentication-total",
                "failed-authentication-rate",
                |n| &mut n.failed_authentication,
            ),
            ("network-io-total", "network-io-rate", |n| &mut n.network_io),
            ("outgoing-byte-total", "outgoing-byte-rate", |n| {
                &mut n.outgoing_bytes
            }),
            ("incoming-byte-total", "incoming-byte-rate", |n| {
                &mut n.incoming_bytes
            }),
            ("request-total", "request-rate", |n| &mut n.requests),
            ("response-total", "response-rate", |n| &mut n.responses),
        ];
        for (total, rate, meter) in meters {
            let m = meter(&mut n);
            let value = m.rate.measure(c, now);
            bean = bean.number(total, m.total).number(rate, value);
        }
        if n.timed {
            // `io-ratio` is a Rate in nanoseconds: nanoseconds of I/O per
            // nanosecond of window.
            let per_second = n.io_time.measure(c, now);
            bean = bean
                .number("io-ratio", per_second / 1e9)
                .number("io-time-ns-avg", n.io_time_avg.measure(c, now))
                .number("request-size-max", n.request_size_max.measure(c, now))
                .number("request-size-avg", n.request_size_avg.measure(c, now));
        }
        bean
    }
}

/// The group member's `connect-coordinator-metrics`.
#[derive(Debug)]
pub struct CoordinatorStats {
    config: MetricConfig,
    inner: Mutex<Coordinator>,
}

#[derive(Debug)]
struct Coordinator {
    assigned_connectors: f64,
    assigned_tasks: f64,
    heartbeats: Meter,
    joins: Meter,
    syncs: Meter,
    join_time_max: SampledStat,
    join_time_avg: SampledStat,
    sync_time_max: SampledStat,
    sync_time_avg: SampledStat,
    last_heartbeat: Option<u64>,
}

impl CoordinatorStats {
    /// Fresh metrics, not registered anywhere.
    pub fn new(config: MetricConfig) -> Self {
        CoordinatorStats {
            config,
            inner: Mutex::new(Coordinator {
                assigned_connectors: 0.0,
                assigned_tasks: 0.0,
                heartbeats: Meter::default(),
                joins: Meter::default(),
                syncs: Meter::default(),
                join_time_max: SampledStat::max(),
                join_time_avg: SampledStat::avg(),
                sync_time_max: SampledStat::max(),
                sync_time_avg: SampledStat::avg(),
                last_heartbeat: None,
            }),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Coordinator> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A JoinGroup round trip completed after `took`.
    pub fn joined(&self, took: Duration) {
        let (c, now) = (self.config, now_ms());
        let mut i = self.inner();
        let ms = took.as_secs_f64() * 1000.0;
        i.joins.record(c, 1.0, now);
        i.join_time_max.record(c, ms, now);
        i.join_time_avg.record(c, ms, now);
    }

    /// A SyncGroup round trip completed after `took`.
    pub fn synced(&self, took: Duration) {
        let (c, now) = (self.config, now_ms());
        let mut i = self.inner();
        let ms = took.as_secs_f64() * 1000.0;
        i.syncs.record(c, 1.0, now);
        i.sync_time_max.record(c, ms, now);
        i.sync_time_avg.record(c, ms, now);
    }

    /// A heartbeat was answered.
    pub fn heartbeat(&self) {
        let (c, now) = (self.config, now_ms());
        let mut i = self.inner();
        i.heartbeats.record(c, 1.0, now);
        i.last_heartbeat = Some(now);
    }

    /// The latest assignment's size.
    pub fn assigned(&self, connectors: usize, tasks: usize) {
        let mut i = self.inner();
        i.assigned_connectors = connectors as f64;
        i.assigned_tasks = tasks as f64;
    }

    fn bean(&self, client_id: &str) -> MBean {
        let (c, now) = (self.config, now_ms());
        let mut i = self.inner();
        let since = i
            .last_heartbeat
            .map_or(-1.0, |t| (now.saturating_sub(t) / 1000) as f64);
        let heartbeat_rate = i.heartbeats.rate.measure(c, now);
        let join_rate = i.joins.rate.measure(c, now);
        let sync_rate = i.syncs.rate.measure(c, now);
        MBean::connect(
            "connect-coordinator-metrics",
            vec![("client-id", client_id.to_string())],
        )
        .number("assigned-connectors", i.assigned_connectors)
        .number("assigned-tasks", i.assigned_tasks)
        .number("heartbeat-total", i.heartbeats.total)
        .number("heartbeat-rate", heartbeat_rate)
        .number("join-total", i.joins.total)
        .number("join-rate", join_rate)
        .number("sync-total", i.syncs.total)
        .number("sync-rate", sync_rate)
        .number("join-time-max", i.join_time_max.measure(c, now))
        .number("join-time-avg", i.join_time_avg.measure(c, now))
        .number("sync-time-max", i.sync_time_max.measure(c, now))
        .number("sync-time-avg", i.sync_time_avg.measure(c, now))
        .number("last-heartbeat-seconds-ago", since)
    }
}

/// The Kafka clients of this worker, by client id.
#[derive(Debug, Default)]
pub struct ClientRegistry {
    config: MetricConfig,
    clients: DashMap<String, (ClientKind, Arc<ClientStats>)>,
    coordinators: DashMap<String, Arc<CoordinatorStats>>,
}

impl ClientRegistry {
    /// A registry whose rates use `config`.
    pub fn new(config: MetricConfig) -> Self {
        ClientRegistry {
            config,
            ..ClientRegistry::default()
        }
    }

    /// Metrics for a client being created; a client id used again (a
    /// restarted task) starts from zero, as a new Java client would.
    pub fn register(&self, kind: ClientKind, client_id: &str) -> Arc<ClientStats> {
        let stats = Arc::new(ClientStats::new(self.config));
        self.clients
            .insert(client_id.to_string(), (kind, stats.clone()));
        stats
    }

    /// The group member's coordinator metrics.
    pub fn coordinator(&self, client_id: &str) -> Arc<CoordinatorStats> {
        self.coordinators
            .entry(client_id.to_string())
            .or_insert_with(|| Arc::new(CoordinatorStats::new(self.config)))
            .clone()
    }

    /// Forgets a closed client.
    pub fn remove(&self, client_id: &str) {
        self.clients.remove(client_id);
    }

    /// Every client's MBeans.
    pub fn beans(&self) -> Vec<MBean> {
        let mut clients: Vec<(String, ClientKind, Arc<ClientStats>)> = self
            .clients
            .iter()
            .map(|e| (e.key().clone(), e.value().0, e.value().1.clone()))
            .collect();
        clients.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<MBean> = clients
            .iter()
            .map(|(id, kind, stats)| stats.bean(*kind, id))
            .collect();
        let mut coordinators: Vec<(String, Arc<CoordinatorStats>)> = self
            .coordinators
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        coordinators.sort_by(|a, b| a.0.cmp(&b.0));
        out.extend(coordinators.iter().map(|(id, c)| c.bean(id)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Value;

    fn number(bean: &MBean, name: &str) -> f64 {
        match bean.attributes.iter().find(|(n, _)| *n == name) {
            Some((_, Value::Number(v))) => *v,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn librdkafka_totals_become_java_totals_and_rates() {
        let registry = ClientRegistry::default();
        let stats = registry.register(ClientKind::Producer, "connector-producer-s-0");
        let doc = |tx_bytes: u64, state: &str| {
            format!(
                r#"{{"name":"p","client_id":"x","type":"producer","tx":10,"tx_bytes":{tx_bytes},"rx":9,"rx_bytes":300,
                "brokers":{{"b:9092/1":{{"name":"b:9092/1","nodeid":1,"state":"{state}","connects":2,"disconnects":1}},
                "GroupCoordinator":{{"name":"GroupCoordinator","nodeid":-1,"state":"UP","connects":1}}}},"topics":{{}}}}"#
            )
        };
        stats
            .observe_librdkafka(doc(1000, "UP").as_bytes())
            .unwrap();
        stats
            .observe_librdkafka(doc(1500, "UP").as_bytes())
            .unwrap();
        let beans = registry.beans();
        let bean = &beans[0];
        assert_eq!(bean.domain, "kafka.producer");
        assert_eq!(bean.kind, "producer-metrics");
        assert_eq!(number(bean, "outgoing-byte-total"), 1500.0);
        assert_eq!(number(bean, "incoming-byte-total"), 300.0);
        assert_eq!(number(bean, "request-total"), 10.0);
        assert_eq!(number(bean, "connection-count"), 1.0);
        assert_eq!(number(bean, "connection-creation-total"), 2.0);
        assert_eq!(number(bean, "connection-close-total"), 1.0);
        assert!(number(bean, "outgoing-byte-rate") > 0.0);
        assert!(stats.observe_librdkafka(b"not json").is_err());
    }

    #[test]
    fn the_group_members_exchanges_are_counted_as_javas_selector_does() {
        let registry = ClientRegistry::default();
        let stats = registry.register(ClientKind::Connect, "connect-1");
        stats.connection_opened();
        stats.authenticated();
        stats.exchange(100, 40, Duration::from_millis(3));
        stats.exchange(50, 0, Duration::from_millis(1));
        stats.authentication_failed();
        let coordinator = registry.coordinator("connect-1");
        coordinator.assigned(2, 5);
        coordinator.heartbeat();
        let beans = registry.beans();
        let connect = beans.iter().find(|b| b.kind == "connect-metrics").unwrap();
        assert_eq!(connect.domain, "kafka.connect");
        assert_eq!(number(connect, "request-total"), 2.0);
        assert_eq!(number(connect, "response-total"), 1.0);
        assert_eq!(number(connect, "outgoing-byte-total"), 150.0);
        assert_eq!(number(connect, "network-io-total"), 3.0);
        assert_eq!(number(connect, "request-size-max"), 100.0);
        assert_eq!(number(connect, "failed-authentication-total"), 1.0);
        assert_eq!(number(connect, "connection-count"), 1.0);
        let coordinator = beans
            .iter()
            .find(|b| b.kind == "connect-coordinator-metrics")
            .unwrap();
        assert_eq!(number(coordinator, "assigned-tasks"), 5.0);
        assert_eq!(number(coordinator, "heartbeat-total"), 1.0);
        assert_eq!(number(coordinator, "last-heartbeat-seconds-ago"), 0.0);
    }
}
