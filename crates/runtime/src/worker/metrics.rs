//! The worker's Kafka Connect metrics (`ConnectMetricsRegistry`): the
//! `connect-worker-metrics`, `connector-metrics`, `connector-task-metrics`,
//! `source-task-metrics`, `sink-task-metrics` and `task-error-metrics`
//! groups, recorded as Java records them and read out as MBeans.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use rampart_core::connector::{ConnectorMetrics, ConnectorType};
use rampart_core::herder::{ConnectorTaskId, State, TargetState};

use crate::metrics::{now_ms, MBean, MetricConfig, Rate, SampledStat};

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Java's `StateTracker`: lifetime time spent per state, for
/// `running-ratio` and `pause-ratio`.
#[derive(Debug, Default)]
struct StateTracker {
    current: Option<(State, u64)>,
    spent: HashMap<State, u64>,
    first: u64,
}

impl StateTracker {
    fn change(&mut self, state: State, now: u64) {
        match self.current {
            None => {
                self.first = now;
                self.current = Some((state, now));
            }
            Some((s, _)) if s == state => {}
            Some((s, since)) => {
                *self.spent.entry(s).or_default() += now.saturating_sub(since);
                self.current = Some((state, now));
            }
        }
    }

    fn ratio(&self, state: State, now: u64) -> f64 {
        let Some((current, since)) = self.current else {
            return 0.0;
        };
        let in_current = now.saturating_sub(since);
        let mut wanted = self.spent.get(&state).copied().unwrap_or(0);
        if current == state {
            wanted += in_current;
        }
        // Java leaves time spent STOPPED out of the denominator.
        let stopped = self.spent.get(&State::Stopped).copied().unwrap_or(0);
        let total = now.saturating_sub(self.first).saturating_sub(stopped);
        if total == 0 {
            0.0
        } else {
            wanted as f64 / total as f64
        }
    }

    fn status(&self) -> Option<State> {
        self.current.map(|(s, _)| s)
    }
}

/// The windowed sensors of one task.
#[derive(Debug)]
struct Sensors {
    state: StateTracker,
    batch_max: SampledStat,
    batch_avg: SampledStat,
    commit_time_max: SampledStat,
    commit_time_avg: SampledStat,
    commit_results: SampledStat,
    in_rate: Rate,
    out_rate: Rate,
    out_folded: u64,
    call_time_max: SampledStat,
    call_time_avg: SampledStat,
    active: f64,
    active_max: SampledStat,
    active_avg: SampledStat,
    completion_rate: Rate,
    completions: f64,
    partition_count: f64,
    commit_seq_no: f64,
}

impl Default for Sensors {
    fn default() -> Self {
        Sensors {
            state: StateTracker::default(),
            batch_max: SampledStat::max(),
            batch_avg: SampledStat::avg(),
            commit_time_max: SampledStat::max(),
            commit_time_avg: SampledStat::avg(),
            commit_results: SampledStat::boolean(),
            in_rate: Rate::default(),
            out_rate: Rate::default(),
            out_folded: 0,
            call_time_max: SampledStat::max(),
            call_time_avg: SampledStat::avg(),
            active: 0.0,
            active_max: SampledStat::max(),
            active_avg: SampledStat::avg(),
            completion_rate: Rate::default(),
            completions: 0.0,
            partition_count: 0.0,
            commit_seq_no: 0.0,
        }
    }
}

/// Counters and sensors of one task (`task-error-metrics`,
/// `connector-task-metrics`, `source-task-metrics`, `sink-task-metrics`).
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
    /// last-error-timestamp (ms since the epoch)
    pub last_error_timestamp: AtomicU64,
    /// source-record-poll-total / sink-record-read-total
    pub records_in: AtomicU64,
    /// source-record-write-total / sink-record-send-total. Source tasks
    /// count acknowledgements here from librdkafka's thread; the rate
    /// folds them in per poll, so no lock is taken per record.
    pub records_out: AtomicU64,
    /// The task's own counters, if it keeps any.
    pub connector: OnceLock<Arc<dyn ConnectorMetrics>>,
    /// The task's transforms, whose counters (drops by reason, hits) are
    /// read at scrape time.
    pub transforms: OnceLock<Arc<rampart_core::transform::TransformationChain>>,
    config: MetricConfig,
    sensors: Mutex<Sensors>,
}

impl std::fmt::Debug for TaskMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskMetrics")
            .field("record_errors", &self.record_errors)
            .finish()
    }
}

impl TaskMetrics {
    fn new(config: MetricConfig, target: TargetState) -> Self {
        let m = TaskMetrics {
            config,
            ..TaskMetrics::default()
        };
        // Java records the target state when the task object is built, so
        // a task reads `running` before its `start` returns.
        let initial = match target {
            TargetState::Started => Some(State::Running),
            TargetState::Paused => Some(State::Paused),
            TargetState::Stopped => None,
        };
        if let Some(state) = initial {
            m.sensors().state.change(state, now_ms());
        }
        m
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn sensors(&self) -> MutexGuard<'_, Sensors> {
        // A panic while holding the lock leaves plain numbers behind.
        self.sensors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The task's state changed (`onStartup`, `onPause`, `onFailure`…).
    pub(crate) fn record_state(&self, state: State) {
        self.sensors().state.change(state, now_ms());
    }

    /// A source task's `poll` returned `records` after `took`.
    pub(crate) fn record_poll(&self, records: usize, took: Duration, outstanding: usize) {
        Self::add(&self.records_in, records as u64);
        let (c, now) = (self.config, now_ms());
        let mut s = self.sensors();
        s.batch_max.record(c, records as f64, now);
        s.batch_avg.record(c, records as f64, now);
        s.in_rate.record(c, records as f64, now);
        s.call_time_max.record(c, millis(took), now);
        s.call_time_avg.record(c, millis(took), now);
        self.fold_writes(&mut s, now);
        Self::record_active(&mut s, c, (outstanding + records) as f64, now);
    }

    /// Source: folds acknowledgements counted since the last fold into the
    /// write rate, and records the records still in flight.
    pub(crate) fn record_in_flight(&self, outstanding: usize) {
        let now = now_ms();
        let mut s = self.sensors();
        self.fold_writes(&mut s, now);
        Self::record_active(&mut s, self.config, outstanding as f64, now);
    }

    fn fold_writes(&self, s: &mut Sensors, now: u64) {
        let total = self.records_out.load(Ordering::Relaxed);
        let delta = total.saturating_sub(s.out_folded);
        if delta > 0 {
            s.out_rate.record(self.config, delta as f64, now);
            s.out_folded = total;
        }
    }

    fn record_active(s: &mut Sensors, c: MetricConfig, active: f64, now: u64) {
        s.active = active;
        s.active_max.record(c, active, now);
        s.active_avg.record(c, active, now);
    }

    /// A sink task's consumer returned `records`.
    pub(crate) fn record_read(&self, records: usize) {
        Self::add(&self.records_in, records as u64);
        let now = now_ms();
        self.sensors()
            .in_rate
            .record(self.config, records as f64, now);
    }

    /// A sink task's `put` of `records` succeeded after `took`.
    pub(crate) fn record_put(&self, records: usize, took: Duration) {
        Self::add(&self.records_out, records as u64);
        let (c, now) = (self.config, now_ms());
        let mut s = self.sensors();
        s.out_folded += records as u64;
        s.batch_max.record(c, records as f64, now);
        s.batch_avg.record(c, records as f64, now);
        s.out_rate.record(c, records as f64, now);
        s.call_time_max.record(c, millis(took), now);
        s.call_time_avg.record(c, millis(took), now);
    }

    /// Sink: records read from Kafka but not committed yet.
    pub(crate) fn record_sink_active(&self, active: u64) {
        let now = now_ms();
        Self::record_active(&mut self.sensors(), self.config, active as f64, now);
    }

    /// Sink: the partitions assigned to the task.
    pub(crate) fn record_partition_count(&self, count: usize) {
        self.sensors().partition_count = count as f64;
    }

    /// Sink: a commit attempt with offsets to commit begins.
    pub(crate) fn record_commit_attempt(&self) {
        self.sensors().commit_seq_no += 1.0;
    }

    /// An offset commit finished (`recordCommitSuccess`/`Failure`).
    pub(crate) fn record_commit(&self, ok: bool, took: Duration, sink: bool) {
        let (c, now) = (self.config, now_ms());
        let mut s = self.sensors();
        s.commit_results.record(c, if ok { 1.0 } else { 0.0 }, now);
        if ok {
            s.commit_time_max.record(c, millis(took), now);
            s.commit_time_avg.record(c, millis(took), now);
            if sink {
                s.completions += 1.0;
                s.completion_rate.record(c, 1.0, now);
            }
        }
    }

    fn beans(&self, id: &ConnectorTaskId, kind: ConnectorType, out: &mut Vec<MBean>) {
        let (c, now) = (self.config, now_ms());
        let tags = || {
            vec![
                ("connector", id.connector.clone()),
                ("task", id.task.to_string()),
            ]
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        let mut s = self.sensors();
        if kind == ConnectorType::Source {
            self.fold_writes(&mut s, now);
        }
        let mut task = MBean::connect("connector-task-metrics", tags());
        if let Some(status) = s.state.status() {
            task = task.text("status", status.as_str().to_ascii_lowercase());
        }
        let task = task
            .number("running-ratio", s.state.ratio(State::Running, now))
            .number("pause-ratio", s.state.ratio(State::Paused, now))
            .number(
                "offset-commit-max-time-ms",
                s.commit_time_max.measure(c, now),
            )
            .number(
                "offset-commit-avg-time-ms",
                s.commit_time_avg.measure(c, now),
            )
            .number("batch-size-max", s.batch_max.measure(c, now))
            .number("batch-size-avg", s.batch_avg.measure(c, now))
            .number(
                "offset-commit-failure-percentage",
                s.commit_results.share(false, c, now),
            )
            .number(
                "offset-commit-success-percentage",
                s.commit_results.share(true, c, now),
            );
        out.push(task);
        let io = match kind {
            ConnectorType::Source => MBean::connect("source-task-metrics", tags())
                .number("source-record-poll-rate", s.in_rate.measure(c, now))
                .number("source-record-poll-total", get(&self.records_in))
                .number("source-record-write-rate", s.out_rate.measure(c, now))
                .number("source-record-write-total", get(&self.records_out))
                .number("poll-batch-max-time-ms", s.call_time_max.measure(c, now))
                .number("poll-batch-avg-time-ms", s.call_time_avg.measure(c, now))
                .number("source-record-active-count", s.active)
                .number(
                    "source-record-active-count-max",
                    s.active_max.measure(c, now),
                )
                .number(
                    "source-record-active-count-avg",
                    s.active_avg.measure(c, now),
                ),
            ConnectorType::Sink => MBean::connect("sink-task-metrics", tags())
                .number("sink-record-read-rate", s.in_rate.measure(c, now))
                .number("sink-record-read-total", get(&self.records_in))
                .number("sink-record-send-rate", s.out_rate.measure(c, now))
                .number("sink-record-send-total", get(&self.records_out))
                .number("partition-count", s.partition_count)
                .number("offset-commit-seq-no", s.commit_seq_no)
                .number(
                    "offset-commit-completion-rate",
                    s.completion_rate.measure(c, now),
                )
                .number("offset-commit-completion-total", s.completions)
                // Java skips a commit answer that arrives after a newer
                // commit began; librdkafka gives a sink no answers to skip
                // (see the sink's `commit`).
                .number("offset-commit-skip-rate", 0.0)
                .number("offset-commit-skip-total", 0.0)
                .number("put-batch-max-time-ms", s.call_time_max.measure(c, now))
                .number("put-batch-avg-time-ms", s.call_time_avg.measure(c, now))
                .number("sink-record-active-count", s.active)
                .number("sink-record-active-count-max", s.active_max.measure(c, now))
                .number("sink-record-active-count-avg", s.active_avg.measure(c, now)),
        };
        out.push(io);
        drop(s);
        out.push(
            MBean::connect("task-error-metrics", tags())
                .number("total-record-failures", get(&self.record_failures))
                .number("total-record-errors", get(&self.record_errors))
                .number("total-records-skipped", get(&self.records_skipped))
                .number("total-retries", get(&self.retries))
                .number("total-errors-logged", get(&self.errors_logged))
                .number(
                    "deadletterqueue-produce-requests",
                    get(&self.dlq_produce_requests),
                )
                .number(
                    "deadletterqueue-produce-failures",
                    get(&self.dlq_produce_failures),
                )
                .number("last-error-timestamp", get(&self.last_error_timestamp)),
        );
    }
}

/// Startup attempts, successes and failures (`connect-worker-metrics`).
#[derive(Debug)]
struct Startups {
    successes: f64,
    failures: f64,
    results: SampledStat,
}

impl Default for Startups {
    fn default() -> Self {
        Startups {
            successes: 0.0,
            failures: 0.0,
            results: SampledStat::boolean(),
        }
    }
}

impl Startups {
    fn record(&mut self, ok: bool, config: MetricConfig) {
        if ok {
            self.successes += 1.0;
        } else {
            self.failures += 1.0;
        }
        self.results
            .record(config, if ok { 1.0 } else { 0.0 }, now_ms());
    }
}

/// What `connector-metrics` shows of a connector run by this worker.
#[derive(Debug, Clone)]
struct ConnectorInfo {
    class: String,
    kind: &'static str,
    version: String,
    state: State,
}

/// Metrics of this worker: its connectors, its tasks and their startups.
#[derive(Debug, Default)]
pub struct MetricsRegistry {
    config: MetricConfig,
    tasks: DashMap<ConnectorTaskId, (ConnectorType, Arc<TaskMetrics>)>,
    connectors: Mutex<BTreeMap<String, ConnectorInfo>>,
    connector_startups: Mutex<Startups>,
    task_startups: Mutex<Startups>,
}

impl MetricsRegistry {
    /// A registry whose windowed stats use `config`.
    pub fn new(config: MetricConfig) -> Self {
        MetricsRegistry {
            config,
            ..MetricsRegistry::default()
        }
    }

    /// The sample windows.
    pub fn config(&self) -> MetricConfig {
        self.config
    }

    /// Fresh metrics for a task being built with this target state.
    pub fn register(
        &self,
        id: &ConnectorTaskId,
        kind: ConnectorType,
        target: TargetState,
    ) -> Arc<TaskMetrics> {
        let m = Arc::new(TaskMetrics::new(self.config, target));
        self.tasks.insert(id.clone(), (kind, m.clone()));
        m
    }

    /// Forgets a stopped task.
    pub fn remove(&self, id: &ConnectorTaskId) {
        self.tasks.remove(id);
    }

    /// One task's metrics.
    pub fn task(&self, id: &ConnectorTaskId) -> Option<Arc<TaskMetrics>> {
        self.tasks.get(id).map(|e| e.1.clone())
    }

    /// A connector instance exists on this worker, in this state.
    pub(crate) fn connector_state(
        &self,
        name: &str,
        class: &str,
        kind: &'static str,
        version: &str,
        state: State,
    ) {
        if let Ok(mut c) = self.connectors.lock() {
            c.insert(
                name.to_string(),
                ConnectorInfo {
                    class: class.to_string(),
                    kind,
                    version: version.to_string(),
                    state,
                },
            );
        }
    }

    /// A running connector's state changed.
    pub(crate) fn connector_transition(&self, name: &str, state: State) {
        if let Ok(mut c) = self.connectors.lock() {
            if let Some(info) = c.get_mut(name) {
                info.state = state;
            }
        }
    }

    /// A connector instance was shut down.
    pub(crate) fn connector_removed(&self, name: &str) {
        if let Ok(mut c) = self.connectors.lock() {
            c.remove(name);
        }
    }

    /// A connector started, or failed before it ever started.
    pub(crate) fn record_connector_startup(&self, ok: bool) {
        if let Ok(mut s) = self.connector_startups.lock() {
            s.record(ok, self.config);
        }
    }

    /// A task started, or failed before it ever started.
    pub(crate) fn record_task_startup(&self, ok: bool) {
        if let Ok(mut s) = self.task_startups.lock() {
            s.record(ok, self.config);
        }
    }

    /// Every MBean of this worker. `task_state` reads a task's state from
    /// the status store, as Java's per-connector task counts do.
    pub fn beans(&self, task_state: impl Fn(&ConnectorTaskId) -> Option<State>) -> Vec<MBean> {
        let (c, now) = (self.config, now_ms());
        let mut tasks: Vec<(ConnectorTaskId, ConnectorType, Arc<TaskMetrics>)> = self
            .tasks
            .iter()
            .map(|e| (e.key().clone(), e.value().0, e.value().1.clone()))
            .collect();
        tasks.sort_by(|a, b| a.0.cmp(&b.0));
        let connectors = self
            .connectors
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default();
        let mut worker = MBean::connect("connect-worker-metrics", Vec::new())
            .number("connector-count", connectors.len() as f64)
            .number("task-count", tasks.len() as f64);
        for (prefix, startups) in [
            ("connector", &self.connector_startups),
            ("task", &self.task_startups),
        ] {
            let Ok(mut s) = startups.lock() else { continue };
            let (ok, failed) = (s.successes, s.failures);
            let names = startup_names(prefix);
            worker = worker
                .number(names[0], ok + failed)
                .number(names[1], ok)
                .number(names[2], s.results.share(true, c, now))
                .number(names[3], failed)
                .number(names[4], s.results.share(false, c, now));
        }
        let mut out = vec![worker];
        // Per connector with a task here: counts by the stored state.
        let mut by_connector: BTreeMap<&str, [u64; 7]> = BTreeMap::new();
        for (id, _, _) in &tasks {
            let counts = by_connector.entry(id.connector.as_str()).or_default();
            counts[0] += 1;
            let slot = match task_state(id) {
                Some(State::Running) => 1,
                Some(State::Paused) => 2,
                Some(State::Failed) => 3,
                Some(State::Unassigned) | None => 4,
                Some(State::Restarting) => 6,
                Some(State::Stopped) => continue,
            };
            counts[slot] += 1;
        }
        for (name, counts) in by_connector {
            out.push(
                MBean::connect(
                    "connect-worker-metrics",
                    vec![("connector", name.to_string())],
                )
                .number("connector-total-task-count", counts[0] as f64)
                .number("connector-running-task-count", counts[1] as f64)
                .number("connector-paused-task-count", counts[2] as f64)
                .number("connector-failed-task-count", counts[3] as f64)
                .number("connector-unassigned-task-count", counts[4] as f64)
                .number("connector-destroyed-task-count", counts[5] as f64)
                .number("connector-restarting-task-count", counts[6] as f64),
            );
        }
        for (name, info) in connectors {
            out.push(
                MBean::connect("connector-metrics", vec![("connector", name)])
                    .text("connector-class", info.class)
                    .text("connector-version", info.version)
                    .text("connector-type", info.kind)
                    .text("status", info.state.as_str().to_ascii_lowercase()),
            );
        }
        for (id, kind, m) in &tasks {
            m.beans(id, *kind, &mut out);
        }
        out
    }

    /// Each task's own counters (e.g. the syslog listener's drops), for
    /// Rampart's `rampart_connector_task_*` series.
    pub fn connector_counters(&self) -> Vec<(ConnectorTaskId, Vec<(&'static str, u64)>)> {
        let mut rows: Vec<(ConnectorTaskId, Vec<(&'static str, u64)>)> = self
            .tasks
            .iter()
            .filter_map(|e| {
                let values = e.value().1.connector.get()?.values();
                Some((e.key().clone(), values))
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

/// One transform counter of one task: the transform's alias and the counter.
pub type TransformCounterRow = (
    ConnectorTaskId,
    String,
    rampart_core::transform::TransformCounter,
);

impl MetricsRegistry {
    /// Every task's transform counters, for the `rampart_transform_*` series.
    pub fn transform_counters(&self) -> Vec<TransformCounterRow> {
        let mut rows: Vec<TransformCounterRow> = Vec::new();
        for e in self.tasks.iter() {
            let Some(chain) = e.value().1.transforms.get() else {
                continue;
            };
            for (alias, counter) in chain.counters() {
                rows.push((e.key().clone(), alias.to_string(), counter));
            }
        }
        rows.sort_by(|a, b| (&a.0, &a.1, a.2.name).cmp(&(&b.0, &b.1, b.2.name)));
        rows
    }
}

fn startup_names(prefix: &str) -> [&'static str; 5] {
    if prefix == "connector" {
        [
            "connector-startup-attempts-total",
            "connector-startup-success-total",
            "connector-startup-success-percentage",
            "connector-startup-failure-total",
            "connector-startup-failure-percentage",
        ]
    } else {
        [
            "task-startup-attempts-total",
            "task-startup-success-total",
            "task-startup-success-percentage",
            "task-startup-failure-total",
            "task-startup-failure-percentage",
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Value;

    fn attr<'a>(beans: &'a [MBean], kind: &str, name: &str) -> &'a Value {
        beans
            .iter()
            .filter(|b| b.kind == kind)
            .flat_map(|b| b.attributes.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("{kind} has no {name}"))
    }

    #[test]
    fn per_connector_task_counts_come_from_the_stored_states() {
        let registry = MetricsRegistry::default();
        for task in 0..3 {
            registry.register(
                &ConnectorTaskId {
                    connector: "c".into(),
                    task,
                },
                ConnectorType::Sink,
                TargetState::Started,
            );
        }
        let beans = registry.beans(|id| match id.task {
            0 => Some(State::Running),
            1 => Some(State::Failed),
            _ => None,
        });
        let worker = beans
            .iter()
            .find(|b| b.kind == "connect-worker-metrics" && b.tag("connector") == Some("c"))
            .unwrap();
        let get = |n: &str| {
            worker
                .attributes
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("connector-total-task-count"), Some(Value::Number(3.0)));
        assert_eq!(
            get("connector-running-task-count"),
            Some(Value::Number(1.0))
        );
        assert_eq!(get("connector-failed-task-count"), Some(Value::Number(1.0)));
        assert_eq!(
            get("connector-unassigned-task-count"),
            Some(Value::Number(1.0))
        );
        assert_eq!(
            attr(&beans, "connect-worker-metrics", "task-count"),
            &Value::Number(3.0)
        );
    }

    #[test]
    fn startup_totals_and_shares_follow_each_result() {
        let registry = MetricsRegistry::default();
        registry.record_task_startup(true);
        registry.record_task_startup(true);
        registry.record_task_startup(false);
        registry.record_connector_startup(false);
        let beans = registry.beans(|_| None);
        let n = |name| attr(&beans, "connect-worker-metrics", name).clone();
        assert_eq!(n("task-startup-attempts-total"), Value::Number(3.0));
        assert_eq!(n("task-startup-failure-total"), Value::Number(1.0));
        assert_eq!(
            n("task-startup-success-percentage"),
            Value::Number(2.0 / 3.0)
        );
        assert_eq!(
            n("connector-startup-failure-percentage"),
            Value::Number(1.0)
        );
    }

    #[test]
    fn a_sink_task_reports_reads_puts_and_commits() {
        let registry = MetricsRegistry::default();
        let id = ConnectorTaskId {
            connector: "s".into(),
            task: 0,
        };
        let m = registry.register(&id, ConnectorType::Sink, TargetState::Started);
        m.record_read(10);
        m.record_put(8, Duration::from_millis(4));
        m.record_partition_count(3);
        m.record_commit_attempt();
        m.record_commit(true, Duration::from_millis(2), true);
        let beans = registry.beans(|_| Some(State::Running));
        let n = |kind, name| attr(&beans, kind, name).clone();
        assert_eq!(
            n("sink-task-metrics", "sink-record-read-total"),
            Value::Number(10.0)
        );
        assert_eq!(
            n("sink-task-metrics", "sink-record-send-total"),
            Value::Number(8.0)
        );
        assert_eq!(
            n("sink-task-metrics", "partition-count"),
            Value::Number(3.0)
        );
        assert_eq!(
            n("sink-task-metrics", "offset-commit-seq-no"),
            Value::Number(1.0)
        );
        assert_eq!(
            n("sink-task-metrics", "offset-commit-completion-total"),
            Value::Number(1.0)
        );
        assert_eq!(
            n("connector-task-metrics", "batch-size-max"),
            Value::Number(8.0)
        );
        assert_eq!(
            n("connector-task-metrics", "offset-commit-success-percentage"),
            Value::Number(1.0)
        );
        assert_eq!(
            n("connector-task-metrics", "status"),
            Value::Text("running".into())
        );
        let Value::Number(rate) = n("sink-task-metrics", "sink-record-read-rate") else {
            panic!("rate is a number")
        };
        assert!(rate > 0.0);
    }

    #[test]
    fn a_task_built_paused_reads_paused_until_it_runs() {
        let mut t = StateTracker::default();
        t.change(State::Paused, 1_000);
        assert_eq!(t.ratio(State::Paused, 2_000), 1.0);
        t.change(State::Running, 2_000);
        assert_eq!(t.ratio(State::Running, 6_000), 0.8);
        assert_eq!(t.ratio(State::Paused, 6_000), 0.2);
        t.change(State::Failed, 6_000);
        assert_eq!(t.ratio(State::Running, 11_000), 0.4);
    }
}
