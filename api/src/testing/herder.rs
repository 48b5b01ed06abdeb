//! `FakeHerder`: connectors, tasks, statuses and offsets in memory, with
//! the standalone herder's rules (validation before the existence check,
//! offsets changed only while STOPPED, stopped connectors have no tasks)
//! and its error variants and messages. Tasks do not run: a status is what
//! the target state implies, until a test fails an instance.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use rampart_core::connector::ConnectorType;
use rampart_core::herder::{
    ConfigInfos, ConfigKeyInfo, ConnectorConfig, ConnectorInfo, ConnectorOffset, ConnectorOffsets,
    ConnectorState, ConnectorStateInfo, ConnectorTaskId, Created, Herder, InternalRequestSignature,
    Message, PluginInfo, ServerInfo, State, TargetState, TaskInfo, TaskState, Unhealthy,
};
use rampart_core::{ConnectError, ConnectResult};
use serde_json::{json, Map, Value};

use super::plugins::{self, Plugin};

/// The `worker_id` every status of the fake shows.
pub const WORKER_ID: &str = "fake-worker:8083";

// A sink gets `tasks.max` tasks, up to this many: a fuzzed `tasks.max` of
// 2^31-1 must not allocate that many task configs.
const MAX_TASKS: usize = 4;

const ALTERED: &str = "The offsets for this connector have been altered successfully";
const RESET: &str = "The offsets for this connector have been reset successfully";
const FRAMEWORK_ALTERED: &str = "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.";
const FRAMEWORK_RESET: &str = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.";

fn not_found(name: &str) -> ConnectError {
    ConnectError::NotFound(format!("Connector {name} not found"))
}

// The state an instance settles in under a target state.
fn settled(target: TargetState) -> State {
    match target {
        TargetState::Started => State::Running,
        TargetState::Paused => State::Paused,
        TargetState::Stopped => State::Stopped,
    }
}

#[derive(Debug, Clone)]
struct Task {
    config: ConnectorConfig,
    state: State,
    trace: Option<String>,
}

#[derive(Debug, Clone)]
struct Connector {
    plugin: &'static Plugin,
    config: ConnectorConfig,
    target: TargetState,
    state: State,
    trace: Option<String>,
    tasks: Vec<Task>,
    topics: Vec<String>,
}

impl Connector {
    // What the connector splits its work into: a source reads one stream
    // (as FileStreamSource does), a sink takes `tasks.max` tasks.
    fn generate_tasks(&self) -> Vec<ConnectorConfig> {
        let count = match self.plugin.kind {
            ConnectorType::Source => 1,
            ConnectorType::Sink => self
                .config
                .get("tasks.max")
                .and_then(|m| m.trim().parse::<usize>().ok())
                .unwrap_or(1)
                .clamp(1, MAX_TASKS),
        };
        let mut config = self.config.clone();
        config.insert("task.class".to_string(), self.plugin.task_class());
        vec![config; count]
    }

    fn set_tasks(&mut self, configs: Vec<ConnectorConfig>) {
        let state = settled(self.target);
        self.tasks = configs
            .into_iter()
            .map(|config| Task {
                config,
                state,
                trace: None,
            })
            .collect();
    }

    // (Re)starts the connector instance and, unless it is stopped, its tasks.
    fn start(&mut self) {
        self.state = settled(self.target);
        self.trace = None;
        let tasks = match self.target {
            TargetState::Stopped => Vec::new(),
            _ => self.generate_tasks(),
        };
        self.set_tasks(tasks);
    }

    fn info(&self, name: &str) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: self.config.clone(),
            tasks: (0..self.tasks.len() as u32)
                .map(|task| ConnectorTaskId {
                    connector: name.to_string(),
                    task,
                })
                .collect(),
            kind: self.plugin.kind.as_str().to_string(),
        }
    }

    fn task_state(&self, id: u32, task: &Task) -> TaskState {
        TaskState {
            id,
            state: task.state,
            worker_id: WORKER_ID.to_string(),
            trace: task.trace.clone(),
        }
    }

    fn status(&self, name: &str) -> ConnectorStateInfo {
        ConnectorStateInfo {
            name: name.to_string(),
            connector: ConnectorState {
                state: self.state,
                worker_id: WORKER_ID.to_string(),
                trace: self.trace.clone(),
            },
            tasks: (0u32..)
                .zip(&self.tasks)
                .map(|(id, t)| self.task_state(id, t))
                .collect(),
            kind: self.plugin.kind.as_str().to_string(),
        }
    }
}

struct Inner {
    connectors: BTreeMap<String, Connector>,
    // Offsets outlive their connector, as they do in the offsets topic: a
    // connector created again under the same name finds them.
    offsets: BTreeMap<String, Vec<ConnectorOffset>>,
    health: Result<(), Unhealthy>,
    topic_tracking: bool,
}

impl Inner {
    fn connector(&mut self, name: &str) -> ConnectResult<&mut Connector> {
        self.connectors.get_mut(name).ok_or_else(|| not_found(name))
    }
}

/// An in-memory [`Herder`] for tests of the REST API. Knows the plugins
/// [`FAKE_SOURCE`](super::FAKE_SOURCE) and [`FAKE_SINK`](super::FAKE_SINK).
pub struct FakeHerder {
    inner: Mutex<Inner>,
}

impl Default for FakeHerder {
    fn default() -> Self {
        FakeHerder {
            inner: Mutex::new(Inner {
                connectors: BTreeMap::new(),
                offsets: BTreeMap::new(),
                health: Ok(()),
                topic_tracking: true,
            }),
        }
    }
}

impl FakeHerder {
    /// A healthy herder with no connectors and topic tracking enabled.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock has already failed;
        // the state is still the last one written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Creates or replaces a connector with a target state, as a create
    /// over REST with `initial_state` would (and with its validation).
    pub fn put_connector(
        &self,
        name: &str,
        config: &[(&str, &str)],
        target: TargetState,
    ) -> ConnectResult<ConnectorInfo> {
        let config = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.put(name, config, true, Some(target))
            .map(|created| created.info)
    }

    /// The target state a connector is persisted with.
    pub fn target_state(&self, name: &str) -> Option<TargetState> {
        self.lock().connectors.get(name).map(|c| c.target)
    }

    /// Fails the connector instance with a trace, as a crash in its
    /// `start` would.
    pub fn fail_connector(&self, name: &str, trace: &str) -> ConnectResult<()> {
        let mut inner = self.lock();
        let c = inner.connector(name)?;
        c.state = State::Failed;
        c.trace = Some(trace.to_string());
        Ok(())
    }

    /// Fails one task with a trace, as a crash in its `poll` or `put` would.
    pub fn fail_task(&self, name: &str, task: u32, trace: &str) -> ConnectResult<()> {
        let mut inner = self.lock();
        let c = inner.connector(name)?;
        let t = c
            .tasks
            .get_mut(task as usize)
            .ok_or_else(|| ConnectError::NotFound(format!("Task {name}-{task} not found")))?;
        t.state = State::Failed;
        t.trace = Some(trace.to_string());
        Ok(())
    }

    /// Records a topic the connector used, as its tasks' records would.
    pub fn record_topic(&self, name: &str, topic: &str) -> ConnectResult<()> {
        let mut inner = self.lock();
        let c = inner.connector(name)?;
        if !c.topics.iter().any(|t| t == topic) {
            c.topics.push(topic.to_string());
        }
        Ok(())
    }

    /// What `GET /health` is answered from.
    pub fn set_health(&self, health: Result<(), Unhealthy>) {
        self.lock().health = health;
    }

    /// `topic.tracking.enable=false`.
    pub fn disable_topic_tracking(&self) {
        self.lock().topic_tracking = false;
    }

    fn put(
        &self,
        name: &str,
        mut config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>> {
        // As the runtime does: the URL's name when the config has none, and
        // validation before anything else, so an invalid duplicate is a 400.
        config
            .entry("name".to_string())
            .or_insert_with(|| name.to_string());
        let infos = plugins::validate(&config)?;
        if infos.error_count > 0 {
            return Err(ConnectError::BadRequest(plugins::invalid_config_message(
                &infos,
            )));
        }
        let class = config.get("connector.class").map_or("", String::as_str);
        let plugin = plugins::find(class)?;
        let mut inner = self.lock();
        let existing = inner.connectors.get(name).map(|c| c.target);
        if existing.is_some() && !allow_replace {
            return Err(ConnectError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        let mut connector = Connector {
            plugin,
            config,
            // A replaced config keeps the target state the user asked for.
            target: existing.or(initial_state).unwrap_or(TargetState::Started),
            state: State::Unassigned,
            trace: None,
            tasks: Vec::new(),
            topics: Vec::new(),
        };
        connector.start();
        let info = connector.info(name);
        inner.connectors.insert(name.to_string(), connector);
        Ok(Created {
            created: existing.is_none(),
            info,
        })
    }

    fn restart(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<Option<ConnectorStateInfo>> {
        let mut inner = self.lock();
        if !include_tasks && !only_failed {
            // The legacy path restarts the connector instance only.
            let c = inner.connector(name)?;
            c.state = settled(c.target);
            c.trace = None;
            return Ok(None);
        }
        let c = inner
            .connectors
            .get_mut(name)
            .ok_or_else(|| ConnectError::NotFound(format!("Unknown connector: {name}")))?;
        let mut status = c.status(name);
        if !only_failed || c.state == State::Failed {
            status.connector.state = State::Restarting;
            c.state = settled(c.target);
            c.trace = None;
        }
        if include_tasks {
            let target = settled(c.target);
            for (task, shown) in c.tasks.iter_mut().zip(status.tasks.iter_mut()) {
                if !only_failed || task.state == State::Failed {
                    shown.state = State::Restarting;
                    task.state = target;
                    task.trace = None;
                }
            }
        }
        Ok(Some(status))
    }

    fn set_target(&self, name: &str, target: TargetState) -> ConnectResult<()> {
        let mut inner = self.lock();
        let c = inner
            .connectors
            .get_mut(name)
            .ok_or_else(|| ConnectError::NotFound(format!("Unknown connector {name}")))?;
        let previous = c.target;
        if previous == target {
            return Ok(());
        }
        c.target = target;
        match (previous, target) {
            (_, TargetState::Stopped) => c.start(),
            // Like Kafka, a stopped connector that is paused gets its
            // connector instance back but no tasks until it is resumed.
            (TargetState::Stopped, TargetState::Paused) => c.state = State::Paused,
            (_, TargetState::Started) if c.tasks.is_empty() => c.start(),
            (_, target) => {
                c.state = settled(target);
                for t in &mut c.tasks {
                    t.state = settled(target);
                }
            }
        }
        Ok(())
    }

    fn alter(&self, name: &str, body: ConnectorOffsets) -> ConnectResult<Message> {
        if body.offsets.is_empty() {
            return Err(ConnectError::BadRequest(
                "Partitions / offsets need to be provided for an alter offsets request".to_string(),
            ));
        }
        let mut inner = self.lock();
        let c = inner.connector(name)?;
        require_stopped(name, c.target)?;
        let kind = c.plugin.kind;
        let entries = match kind {
            ConnectorType::Sink => sink_offsets(&body)?,
            ConnectorType::Source => {
                if body.offsets.iter().any(|o| o.partition.is_empty()) {
                    return Err(ConnectError::BadRequest(
                        "Source partitions may not be null or empty".to_string(),
                    ));
                }
                body.offsets
            }
        };
        let stored = inner.offsets.entry(name.to_string()).or_default();
        for entry in entries {
            stored.retain(|o| o.partition != entry.partition);
            if entry.offset.is_some() {
                stored.push(entry);
            }
        }
        // The fake source takes part in offset changes (as FileStreamSource
        // does); the fake sink leaves them to the framework.
        Ok(message(match kind {
            ConnectorType::Source => ALTERED,
            ConnectorType::Sink => FRAMEWORK_ALTERED,
        }))
    }

    fn reset(&self, name: &str) -> ConnectResult<Message> {
        let mut inner = self.lock();
        let c = inner.connector(name)?;
        require_stopped(name, c.target)?;
        let kind = c.plugin.kind;
        inner.offsets.remove(name);
        Ok(message(match kind {
            ConnectorType::Source => RESET,
            ConnectorType::Sink => FRAMEWORK_RESET,
        }))
    }
}

fn message(text: &str) -> Message {
    Message {
        message: text.to_string(),
    }
}

fn require_stopped(name: &str, target: TargetState) -> ConnectResult<()> {
    if target != TargetState::Stopped {
        return Err(ConnectError::BadRequest(format!(
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
        )));
    }
    Ok(())
}

// A JSON number, or a string holding one, as the runtime reads sink offsets.
fn integer(v: Option<&Value>) -> Option<i64> {
    v.and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
}

// Sink offsets name a topic partition and a Kafka offset, with the
// runtime's messages; they are stored the way a consumer group reads back.
fn sink_offsets(body: &ConnectorOffsets) -> ConnectResult<Vec<ConnectorOffset>> {
    let bad = |m: &str| ConnectError::BadRequest(m.to_string());
    body.offsets
        .iter()
        .map(|o| {
            let topic = o
                .partition
                .get("kafka_topic")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    bad("Kafka topic names must be valid strings and may not be null")
                })?;
            let partition = integer(o.partition.get("kafka_partition"))
                .and_then(|p| i32::try_from(p).ok())
                .ok_or_else(|| bad("Kafka partitions must be valid numbers and may not be null"))?;
            let offset = match &o.offset {
                None => None,
                Some(m) => Some(
                    integer(m.get("kafka_offset"))
                        .filter(|o| *o >= 0)
                        .ok_or_else(|| {
                            bad("Kafka offsets must be valid numbers and may not be null")
                        })?,
                ),
            };
            let object = |v: Value| match v {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            Ok(ConnectorOffset {
                partition: object(json!({"kafka_topic": topic, "kafka_partition": partition})),
                offset: offset.map(|o| object(json!({ "kafka_offset": o }))),
            })
        })
        .collect()
}

#[async_trait]
impl Herder for FakeHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: "3.9.0".to_string(),
            commit: "fake".to_string(),
            kafka_cluster_id: Some("fake-cluster".to_string()),
        }
    }

    async fn health(&self) -> Result<(), Unhealthy> {
        self.lock().health.clone()
    }

    async fn connectors(&self) -> Vec<String> {
        self.lock().connectors.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> ConnectResult<ConnectorInfo> {
        Ok(self.lock().connector(name)?.info(name))
    }

    async fn connector_config(&self, name: &str) -> ConnectResult<ConnectorConfig> {
        Ok(self.lock().connector(name)?.config.clone())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>> {
        self.put(name, config, allow_replace, initial_state)
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> ConnectResult<ConnectorInfo> {
        let mut config = self.lock().connector(name)?.config.clone();
        for (k, v) in patch {
            match v {
                Some(v) => config.insert(k, v),
                None => config.remove(&k),
            };
        }
        self.put(name, config, true, None).map(|c| c.info)
    }

    async fn delete_connector(&self, name: &str) -> ConnectResult<()> {
        self.lock()
            .connectors
            .remove(name)
            .map(drop)
            .ok_or_else(|| not_found(name))
    }

    async fn connector_status(&self, name: &str) -> ConnectResult<ConnectorStateInfo> {
        self.lock()
            .connectors
            .get(name)
            .map(|c| c.status(name))
            .ok_or_else(|| ConnectError::NotFound(format!("No status found for connector {name}")))
    }

    async fn task_status(&self, id: &ConnectorTaskId) -> ConnectResult<TaskState> {
        let inner = self.lock();
        let c = inner.connectors.get(&id.connector);
        c.and_then(|c| Some(c.task_state(id.task, c.tasks.get(id.task as usize)?)))
            .ok_or_else(|| ConnectError::NotFound(format!("No status found for task {id}")))
    }

    async fn task_configs(&self, name: &str) -> ConnectResult<Vec<TaskInfo>> {
        let mut inner = self.lock();
        let c = inner.connector(name)?;
        Ok((0u32..)
            .zip(&c.tasks)
            .map(|(task, t)| TaskInfo {
                id: ConnectorTaskId {
                    connector: name.to_string(),
                    task,
                },
                config: t.config.clone(),
            })
            .collect())
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<Option<ConnectorStateInfo>> {
        self.restart(name, include_tasks, only_failed)
    }

    async fn restart_task(&self, id: &ConnectorTaskId) -> ConnectResult<()> {
        let mut inner = self.lock();
        let c = inner.connector(&id.connector)?;
        let target = settled(c.target);
        let task = c
            .tasks
            .get_mut(id.task as usize)
            .ok_or_else(|| ConnectError::NotFound(format!("Task {id} not found")))?;
        task.state = target;
        task.trace = None;
        Ok(())
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> ConnectResult<()> {
        self.set_target(name, state)
    }

    async fn active_topics(&self, name: &str) -> ConnectResult<Vec<String>> {
        let inner = self.lock();
        if !inner.topic_tracking {
            return Err(ConnectError::Forbidden(
                "Topic tracking is disabled.".to_string(),
            ));
        }
        // An unknown connector has used no topics; it is not a 404.
        Ok(inner
            .connectors
            .get(name)
            .map(|c| c.topics.clone())
            .unwrap_or_default())
    }

    async fn reset_active_topics(&self, name: &str) -> ConnectResult<()> {
        let mut inner = self.lock();
        if !inner.topic_tracking {
            return Err(ConnectError::Forbidden(
                "Topic tracking is disabled.".to_string(),
            ));
        }
        if let Some(c) = inner.connectors.get_mut(name) {
            c.topics.clear();
        }
        Ok(())
    }

    async fn offsets(&self, name: &str) -> ConnectResult<ConnectorOffsets> {
        let mut inner = self.lock();
        inner.connector(name)?;
        Ok(ConnectorOffsets {
            offsets: inner.offsets.get(name).cloned().unwrap_or_default(),
        })
    }

    async fn alter_offsets(&self, name: &str, offsets: ConnectorOffsets) -> ConnectResult<Message> {
        self.alter(name, offsets)
    }

    async fn reset_offsets(&self, name: &str) -> ConnectResult<Message> {
        self.reset(name)
    }

    fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        plugins::infos(connectors_only)
    }

    fn plugin_config(&self, plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>> {
        plugins::config_keys(plugin)
    }

    async fn validate(&self, config: &ConnectorConfig) -> ConnectResult<ConfigInfos> {
        plugins::validate(config)
    }

    // As a distributed leader with unsigned internal requests
    // (`connect.protocol=compatible`) takes them: the connector's tasks are
    // replaced by the ones given.
    async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<ConnectorConfig>,
        _signature: Option<InternalRequestSignature>,
        _body: &[u8],
    ) -> ConnectResult<()> {
        let mut inner = self.lock();
        inner.connector(name)?.set_tasks(configs);
        Ok(())
    }

    async fn metrics(&self) -> String {
        let count = self.lock().connectors.len();
        format!(
            "kafka_connect_connect_worker_metrics_connector_count{{connector=\"aggregate\"}} {count}\n"
        )
    }
}
