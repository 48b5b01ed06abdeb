//! The worker: instantiates connectors and runs their tasks, each task on
//! its own tokio task with a control channel carrying the target state.

mod convert;
mod errors;
mod metrics;
mod sink;
mod source;
mod submitted;
mod topic_creation;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use dashmap::DashMap;
use rampart_core::connector::{
    Config, Connector, ConnectorType, SinkTaskContext, SourceTaskContext, Task,
};
use rampart_core::herder::{ConnectorState, ConnectorTaskId, State, TargetState, TaskState};
use rampart_core::transform::TransformationChain;
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::consumer::StreamConsumer;
use rdkafka::producer::FutureProducer;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

pub use convert::Converters;
pub use errors::{ErrorHandler, RawRecord, Stage};
pub use metrics::{MetricsRegistry, TaskMetrics};

use crate::kafka;
use crate::kafka::errors::kafka_error;
use crate::metrics::{ClientKind, ClientRegistry, Exposition, Kind, MBean};
use crate::plugins::Plugins;
use crate::stores::{OffsetBackingStore, StatusBackingStore};
use crate::worker_config::WorkerConfig;
use errors::{epoch_ms, TaskErrantRecordReporter};
use sink::{SinkConsumerContext, SinkTaskRunner};
use source::{SourceProducer, SourceTaskRunner};
use submitted::{SourceProducerContext, SubmittedRecords};
use topic_creation::TopicCreator;

pub(crate) use sink::committed_offsets;

/// Topics each connector has used since it started (`/connectors/{c}/topics`).
#[derive(Debug, Default)]
pub struct ActiveTopics {
    topics: DashMap<String, BTreeSet<String>>,
}

impl ActiveTopics {
    /// Records that a connector used a topic.
    pub fn record(&self, connector: &str, topic: &str) {
        if self
            .topics
            .get(connector)
            .is_some_and(|t| t.contains(topic))
        {
            return;
        }
        self.topics
            .entry(connector.to_string())
            .or_default()
            .insert(topic.to_string());
    }

    /// The topics of a connector.
    pub fn get(&self, connector: &str) -> Vec<String> {
        self.topics
            .get(connector)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a connector's topics.
    pub fn reset(&self, connector: &str) {
        self.topics.remove(connector);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum TaskStatus {
    Running = 1,
    Paused = 2,
}

/// What every part of a running task shares.
#[derive(Clone)]
pub(crate) struct TaskShared {
    pub(crate) id: ConnectorTaskId,
    pub(crate) task_config: Config,
    pub(crate) worker: Arc<WorkerConfig>,
    pub(crate) transforms: Arc<TransformationChain>,
    pub(crate) converters: Arc<Converters>,
    pub(crate) errors: Arc<ErrorHandler>,
    pub(crate) metrics: Arc<TaskMetrics>,
    registry: Arc<MetricsRegistry>,
    /// Whether the task ran: a failure before counts as a failed startup
    /// (`task-startup-failure-total`).
    started: Arc<AtomicBool>,
    status: Arc<dyn StatusBackingStore>,
    topics: Arc<ActiveTopics>,
    tracking: bool,
    last_status: Arc<AtomicU8>,
    warning: Arc<Mutex<Option<String>>>,
}

impl TaskShared {
    pub(crate) fn set_status(&self, status: TaskStatus) {
        if self.last_status.swap(status as u8, Ordering::Relaxed) == status as u8 {
            return;
        }
        self.metrics.record_state(match status {
            TaskStatus::Running => State::Running,
            TaskStatus::Paused => State::Paused,
        });
        // Java counts a task's startup once it runs: a task created paused
        // has started only when it is resumed.
        if status == TaskStatus::Running && !self.started.swap(true, Ordering::Relaxed) {
            self.registry.record_task_startup(true);
        }
        self.put_status(status);
    }

    fn put_status(&self, status: TaskStatus) {
        let state = match status {
            TaskStatus::Running => State::Running,
            TaskStatus::Paused => State::Paused,
        };
        let trace = self.warning.lock().ok().and_then(|w| w.clone());
        self.status.put_task(
            &self.id,
            TaskState {
                id: self.id.task,
                state,
                worker_id: self.worker.worker_id.clone(),
                trace,
            },
        );
    }

    /// Publishes the task's own warning (e.g. dropped datagrams) in its
    /// status when it changed.
    pub(crate) fn refresh_warning(&self) {
        let Some(current) = self.metrics.connector.get().map(|c| c.warning()) else {
            return;
        };
        let changed = match self.warning.lock() {
            Ok(mut w) if *w != current => {
                *w = current;
                true
            }
            _ => false,
        };
        let status = match self.last_status.load(Ordering::Relaxed) {
            1 => TaskStatus::Running,
            2 => TaskStatus::Paused,
            _ => return,
        };
        if changed {
            self.put_status(status);
        }
    }

    pub(crate) fn fail(&self, e: &ConnectError) {
        error!(task = %self.id, error = %e, "task failed");
        self.last_status.store(0, Ordering::Relaxed);
        self.metrics.record_state(State::Failed);
        if !self.started.swap(true, Ordering::Relaxed) {
            self.registry.record_task_startup(false);
        }
        self.status.put_task(
            &self.id,
            TaskState {
                id: self.id.task,
                state: State::Failed,
                worker_id: self.worker.worker_id.clone(),
                trace: Some(e.trace()),
            },
        );
    }

    pub(crate) fn record_topic(&self, topic: &str) {
        if self.tracking {
            self.topics.record(&self.id.connector, topic);
        }
    }
}

struct TaskHandle {
    control: watch::Sender<TargetState>,
    join: JoinHandle<()>,
}

/// Runs connectors and tasks on this process.
pub struct Worker {
    /// Worker config.
    pub config: Arc<WorkerConfig>,
    /// Plugin registry.
    pub plugins: Plugins,
    /// Source offsets.
    pub offsets: Arc<dyn OffsetBackingStore>,
    /// Statuses.
    pub status: Arc<dyn StatusBackingStore>,
    /// Active topics.
    pub topics: Arc<ActiveTopics>,
    /// Connector and task metrics.
    pub metrics: Arc<MetricsRegistry>,
    /// Kafka client metrics.
    pub clients: Arc<ClientRegistry>,
    connectors: Mutex<HashMap<String, Box<dyn Connector>>>,
    tasks: Mutex<HashMap<ConnectorTaskId, TaskHandle>>,
}

impl Worker {
    /// A worker with no connectors.
    pub fn new(
        config: Arc<WorkerConfig>,
        plugins: Plugins,
        offsets: Arc<dyn OffsetBackingStore>,
        status: Arc<dyn StatusBackingStore>,
    ) -> Self {
        STARTED_MS.get_or_init(epoch_ms);
        let metric_config = config.metrics;
        Worker {
            config,
            plugins,
            offsets,
            status,
            topics: Arc::default(),
            metrics: Arc::new(MetricsRegistry::new(metric_config)),
            clients: Arc::new(ClientRegistry::new(metric_config)),
            connectors: Mutex::default(),
            tasks: Mutex::default(),
        }
    }

    fn connector_status(&self, name: &str, state: State, trace: Option<String>) {
        self.status.put_connector(
            name,
            ConnectorState {
                state,
                worker_id: self.config.worker_id.clone(),
                trace,
            },
        );
    }

    /// Starts a connector and returns its task configs (none when stopped or
    /// failed). A failure is recorded as the connector's FAILED status.
    pub fn start_connector(&self, name: &str, config: &Config, target: TargetState) -> Vec<Config> {
        self.stop_connector(name);
        let plugin = config
            .get("connector.class")
            .and_then(|class| self.plugins.connector(class).ok())
            .copied();
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let known = |state: State| {
            if let Some(p) = &plugin {
                self.metrics
                    .connector_state(name, p.class, p.kind.as_str(), p.version, state);
            } else {
                self.metrics
                    .connector_state(name, &class, "unknown", "", state);
            }
        };
        if target == TargetState::Stopped {
            known(State::Stopped);
            self.connector_status(name, State::Stopped, None);
            return Vec::new();
        }
        match self.try_start_connector(name, config) {
            Ok(tasks) => {
                let state = if target == TargetState::Paused {
                    State::Paused
                } else {
                    // Java counts a startup only for a connector started
                    // running, not one created paused and resumed later.
                    self.metrics.record_connector_startup(true);
                    State::Running
                };
                known(state);
                self.connector_status(name, state, None);
                info!(connector = %name, tasks = tasks.len(), "connector started");
                tasks
            }
            Err(e) => {
                error!(connector = %name, error = %e, "connector failed to start");
                self.metrics.record_connector_startup(false);
                known(State::Failed);
                self.connector_status(name, State::Failed, Some(e.trace()));
                Vec::new()
            }
        }
    }

    fn try_start_connector(&self, name: &str, config: &Config) -> ConnectResult<Vec<Config>> {
        let class = config
            .get("connector.class")
            .map(String::as_str)
            .unwrap_or_default();
        let plugin = *self.plugins.connector(class)?;
        let mut connector = (plugin.new_connector)();
        connector.start(config)?;
        let max_tasks = config
            .get("tasks.max")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let mut tasks = connector.task_configs(max_tasks)?;
        let enforce = config
            .get("tasks.max.enforce")
            .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"));
        if enforce && tasks.len() > max_tasks {
            return Err(ConnectError::connect(format!(
                "The connector {name} has generated {} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create. ",
                tasks.len()
            )));
        }
        let task_class = task_class(&plugin);
        for t in &mut tasks {
            t.entry("task.class".to_string())
                .or_insert_with(|| task_class.clone());
        }
        if let Ok(mut c) = self.connectors.lock() {
            c.insert(name.to_string(), connector);
        }
        Ok(tasks)
    }

    /// Stops a connector instance (not its tasks).
    pub fn stop_connector(&self, name: &str) {
        let connector = self.connectors.lock().ok().and_then(|mut c| c.remove(name));
        if let Some(mut c) = connector {
            c.stop();
        }
        self.metrics.connector_removed(name);
    }

    /// Marks a connector's status after a target-state change.
    pub fn set_connector_target(&self, name: &str, target: TargetState) {
        let running = self.connectors.lock().is_ok_and(|c| c.contains_key(name));
        if !running {
            return;
        }
        let state = match target {
            TargetState::Started => State::Running,
            TargetState::Paused => State::Paused,
            TargetState::Stopped => State::Stopped,
        };
        self.metrics.connector_transition(name, state);
        self.connector_status(name, state, None);
    }

    /// Starts a task. Any failure is recorded as the task's FAILED status.
    pub fn start_task(
        &self,
        id: ConnectorTaskId,
        config: &Config,
        task_config: Config,
        target: TargetState,
    ) {
        self.status.put_task(
            &id,
            TaskState {
                id: id.task,
                state: State::Unassigned,
                worker_id: self.config.worker_id.clone(),
                trace: None,
            },
        );
        let (control, rx) = watch::channel(target);
        let spawned = self.spawn_task(&id, config, task_config, rx, target);
        match spawned {
            Ok(join) => {
                if let Ok(mut tasks) = self.tasks.lock() {
                    tasks.insert(id, TaskHandle { control, join });
                }
            }
            Err(e) => {
                error!(task = %id, error = %e, "task failed to start");
                self.metrics.record_task_startup(false);
                self.status.put_task(
                    &id,
                    TaskState {
                        id: id.task,
                        state: State::Failed,
                        worker_id: self.config.worker_id.clone(),
                        trace: Some(e.trace()),
                    },
                );
            }
        }
    }

    fn spawn_task(
        &self,
        id: &ConnectorTaskId,
        config: &Config,
        task_config: Config,
        control: watch::Receiver<TargetState>,
        target: TargetState,
    ) -> ConnectResult<JoinHandle<()>> {
        let class = config
            .get("connector.class")
            .map(String::as_str)
            .unwrap_or_default();
        let plugin = *self.plugins.connector(class)?;
        let def = self.plugins.connector_def(&plugin);
        let parsed = def
            .parse(config)
            .map_err(|errs| ConnectError::BadRequest(errs.join("\n")))?;
        let transforms = TransformationChain::from_config_in(config, self.plugins.transforms())
            .map_err(|errs| {
                ConnectError::BadRequest(
                    errs.iter()
                        .map(|e| e.message.clone())
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
            })?;
        let converters = Arc::new(Converters::for_connector(&self.config, config)?);
        let name = &id.connector;
        let dlq = match parsed
            .string("errors.deadletterqueue.topic.name")
            .filter(|t| !t.is_empty())
        {
            Some(_) if plugin.kind == ConnectorType::Sink => {
                let cfg = kafka::producer_config(
                    &self.config,
                    config,
                    &format!("connector-dlq-producer-{name}-{}", id.task),
                )
                .map_err(ConnectError::from)?;
                Some(cfg.create::<FutureProducer>().map_err(|e| {
                    ConnectError::connect(format!("cannot create dead letter queue producer: {e}"))
                })?)
            }
            _ => None,
        };
        let metrics = self.metrics.register(id, plugin.kind, target);
        let transforms = Arc::new(transforms);
        if !transforms.is_empty() {
            let _ = metrics.transforms.set(transforms.clone());
        }
        let errors = Arc::new(ErrorHandler::new(id.clone(), &parsed, dlq, metrics.clone()));
        let shared = TaskShared {
            id: id.clone(),
            task_config: task_config.clone(),
            worker: self.config.clone(),
            transforms,
            converters: converters.clone(),
            errors: errors.clone(),
            metrics,
            registry: self.metrics.clone(),
            started: Arc::default(),
            status: self.status.clone(),
            topics: self.topics.clone(),
            tracking: self.config.topic_tracking,
            last_status: Arc::default(),
            warning: Arc::default(),
        };
        match (plugin.new_task)() {
            Task::Source(task) => {
                let (submitted, failed) = SubmittedRecords::new();
                let producer_id = format!("connector-producer-{name}-{}", id.task);
                let mut producer_cfg = kafka::producer_config(&self.config, config, &producer_id)
                    .map_err(ConnectError::from)?;
                kafka::stats::enable(&mut producer_cfg, self.config.metrics);
                let context = SourceProducerContext::new(
                    submitted.clone(),
                    shared.clone(),
                    kafka::TlsProbe::for_config(&producer_cfg),
                    self.clients.register(ClientKind::Producer, &producer_id),
                );
                let producer: SourceProducer = producer_cfg
                    .create_with_context(context)
                    .map_err(|e| kafka_error("cannot create producer", &e))?;
                let worker_cfg = self.config.clone();
                let connector_cfg = config.clone();
                let admin_id = format!("connector-adminclient-{name}-{}", id.task);
                // No statistics for admin clients: rdkafka never polls
                // their main queue, where the documents would pile up.
                let topics = TopicCreator::new(self.config.topic_creation, config, move || {
                    kafka::admin_config(&worker_cfg, &connector_cfg, &admin_id)
                        .map_err(|e| e.to_string())?
                        .create()
                        .map_err(|e| format!("cannot create admin client: {e}"))
                })?;
                let runner = SourceTaskRunner {
                    shared,
                    task,
                    producer: Arc::new(producer),
                    submitted,
                    failed: Some(failed),
                    offsets: self.offsets.clone(),
                    unwritten: Default::default(),
                    context: SourceTaskContext {
                        offsets: Arc::new(crate::stores::ConnectorOffsetReader {
                            store: self.offsets.clone(),
                            connector: name.clone(),
                        }),
                    },
                    topics,
                    value_buf: Vec::new(),
                };
                Ok(tokio::spawn(runner.run(control)))
            }
            Task::Sink(task) => {
                let subscription = sink_subscription(config)?;
                let (events_tx, events) = mpsc::unbounded_channel();
                let consumer_id = format!("connector-consumer-{name}-{}", id.task);
                let mut consumer_cfg =
                    kafka::consumer_config(&self.config, config, name, &consumer_id)
                        .map_err(ConnectError::from)?;
                kafka::stats::enable(&mut consumer_cfg, self.config.metrics);
                let probe = kafka::TlsProbe::for_config(&consumer_cfg);
                let consumer: StreamConsumer<SinkConsumerContext> = consumer_cfg
                    .create_with_context(SinkConsumerContext {
                        events: events_tx,
                        probe,
                        paused: Default::default(),
                        client: self.clients.register(ClientKind::Consumer, &consumer_id),
                        closing: Default::default(),
                        revoke_pending: Default::default(),
                    })
                    .map_err(|e| kafka_error("cannot create consumer", &e))?;
                let task_class = task_class(&plugin);
                let dlq_admin = match errors.dlq_topic() {
                    Some(_) => Some(
                        kafka::admin_config(
                            &self.config,
                            config,
                            &format!("connector-dlq-adminclient-{name}"),
                        )
                        .map_err(ConnectError::from)?
                        .create()
                        .map_err(|e| {
                            ConnectError::connect(format!("cannot create admin client: {e}"))
                        })?,
                    ),
                    None => None,
                };
                let reporter = Arc::new(TaskErrantRecordReporter {
                    handler: errors,
                    converters,
                    task_class,
                });
                let runner = SinkTaskRunner {
                    shared,
                    task,
                    consumer,
                    events,
                    context: SinkTaskContext {
                        errant_record_reporter: Some(reporter),
                    },
                    subscription,
                    dlq_admin,
                    committed: HashMap::new(),
                };
                Ok(tokio::spawn(runner.run(control)))
            }
        }
    }

    /// Changes the target state of a running task.
    pub fn set_task_target(&self, id: &ConnectorTaskId, target: TargetState) {
        if let Ok(tasks) = self.tasks.lock() {
            if let Some(t) = tasks.get(id) {
                let _ = t.control.send(target);
            }
        }
    }

    /// The ids of a connector's running tasks.
    pub fn task_ids(&self, connector: &str) -> Vec<ConnectorTaskId> {
        self.tasks
            .lock()
            .map(|t| {
                t.keys()
                    .filter(|k| k.connector == connector)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops tasks and waits for them, up to `task.shutdown.graceful.timeout.ms`
    /// in total; tasks still running after that are aborted.
    pub async fn stop_tasks(&self, ids: &[ConnectorTaskId]) {
        let handles: Vec<(ConnectorTaskId, TaskHandle)> = match self.tasks.lock() {
            Ok(mut tasks) => ids
                .iter()
                .filter_map(|id| tasks.remove(id).map(|h| (id.clone(), h)))
                .collect(),
            Err(_) => Vec::new(),
        };
        for (_, h) in &handles {
            let _ = h.control.send(TargetState::Stopped);
        }
        let deadline = tokio::time::Instant::now() + self.config.task_shutdown_timeout;
        for (id, h) in handles {
            self.metrics.remove(&id);
            let (name, task) = (&id.connector, id.task);
            for client in [
                format!("connector-producer-{name}-{task}"),
                format!("connector-consumer-{name}-{task}"),
            ] {
                self.clients.remove(&client);
            }
            let abort = h.join.abort_handle();
            if tokio::time::timeout_at(deadline, h.join).await.is_err() {
                warn!(task = %id, "graceful shutdown timed out; aborting task");
                abort.abort();
            }
        }
    }

    /// Stops every task (worker shutdown).
    pub async fn stop_all(&self) {
        let ids: Vec<ConnectorTaskId> = self
            .tasks
            .lock()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        self.stop_tasks(&ids).await;
        let names: Vec<String> = self
            .connectors
            .lock()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        for n in names {
            self.stop_connector(&n);
        }
    }
}

impl Worker {
    /// `GET /metrics`: this worker's MBeans under the configured naming
    /// scheme (`metrics.prometheus.naming`), with `extra` ones from the
    /// herder; the tasks' own counters as `rampart_connector_task_*`; and
    /// the process's CPU, memory and descriptors.
    pub fn render_metrics(
        &self,
        client_id: &str,
        extra: Vec<MBean>,
        own: impl FnOnce(&mut Exposition),
    ) -> String {
        let mut beans = self
            .metrics
            .beans(|id| self.status.task(id).map(|t| t.state));
        beans.extend(self.clients.beans());
        beans.push(
            MBean::connect("app-info", vec![("client-id", client_id.to_string())])
                .text("version", env!("CARGO_PKG_VERSION"))
                .text(
                    "commit-id",
                    option_env!("RAMPART_COMMIT").unwrap_or("unknown"),
                )
                .number("start-time-ms", *STARTED_MS.get_or_init(epoch_ms) as f64),
        );
        beans.extend(extra);
        let mut out = Exposition::default();
        crate::metrics::render(self.config.metrics_naming, &beans, &mut out);
        for (id, values) in self.metrics.connector_counters() {
            let task = id.task.to_string();
            let labels = [
                ("connector", id.connector.as_str()),
                ("task", task.as_str()),
            ];
            for (name, value) in values {
                out.sample(
                    &format!("rampart_connector_task_{name}"),
                    Kind::Counter,
                    &labels,
                    value as f64,
                );
            }
        }
        for (id, alias, counter) in self.metrics.transform_counters() {
            let task = id.task.to_string();
            let mut labels: Vec<(&str, &str)> = vec![
                ("connector", id.connector.as_str()),
                ("task", task.as_str()),
                ("transform", alias.as_str()),
            ];
            labels.extend(counter.labels.iter().map(|(k, v)| (*k, v.as_str())));
            out.sample(
                &format!("rampart_transform_{}", counter.name),
                Kind::Counter,
                &labels,
                counter.value as f64,
            );
        }
        own(&mut out);
        crate::metrics::process(&mut out);
        out.finish()
    }
}

static STARTED_MS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// The Java task class a connector class implies, e.g.
/// `…FileStreamSourceConnector` → `…FileStreamSourceTask`.
fn task_class(plugin: &rampart_core::connector::ConnectorPlugin) -> String {
    match plugin.class.strip_suffix("Connector") {
        Some(c) => format!("{c}Task"),
        None => format!("{}Task", plugin.class),
    }
}

/// The topics a sink consumes: `topics`, or `topics.regex` as a
/// librdkafka pattern subscription (anchored, as Java's `matches()`).
pub(crate) fn sink_subscription(config: &Config) -> ConnectResult<Vec<String>> {
    let topics =
        rampart_core::config::split_list(config.get("topics").map(String::as_str).unwrap_or(""));
    let regex = config.get("topics.regex").map(|s| s.trim()).unwrap_or("");
    match (topics.is_empty(), regex.is_empty()) {
        (false, true) => Ok(topics),
        (true, false) => Ok(vec![format!("^({regex})$")]),
        (true, true) => Err(ConnectError::BadRequest(
            "Must configure one of topics or topics.regex".to_string(),
        )),
        (false, false) => Err(ConnectError::BadRequest(
            "topics and topics.regex are mutually exclusive options, but both are set.".to_string(),
        )),
    }
}
