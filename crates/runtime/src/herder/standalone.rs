//! The standalone herder: one process owns every connector. Unlike Java's,
//! it persists connector configs and target states beside the offsets file,
//! so connectors created over REST survive a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use rampart_core::herder::{
    ConfigInfos, ConfigKeyInfo, ConnectorConfig, ConnectorInfo, ConnectorOffsets, ConnectorState,
    ConnectorStateInfo, ConnectorTaskId, Created, Herder, Message, PluginInfo, ServerInfo, State,
    TargetState, TaskInfo, TaskState, Unhealthy,
};
use rampart_core::{ConnectError, ConnectResult};
use tokio::sync::Mutex;
use tracing::{info, warn};

use super::common;
use super::validation::reverse_transform;
use crate::plugins::KAFKA_VERSION;
use crate::stores::{ConfigBackingStore, StoredConnector};
use crate::worker::Worker;

/// The standalone herder.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    configs: Arc<dyn ConfigBackingStore>,
    // Serialises config changes, as Java's herder does with `synchronized`.
    lock: Mutex<()>,
    ready: AtomicBool,
    cluster_id: RwLock<Option<String>>,
    // Why the cluster id lookup fails, while it does.
    kafka_problem: RwLock<Option<String>>,
}

fn not_found(name: &str) -> ConnectError {
    ConnectError::NotFound(format!("Connector {name} not found"))
}

impl StandaloneHerder {
    /// A herder over a worker and a config store.
    pub fn new(worker: Arc<Worker>, configs: Arc<dyn ConfigBackingStore>) -> Self {
        StandaloneHerder {
            worker,
            configs,
            lock: Mutex::new(()),
            ready: AtomicBool::new(false),
            cluster_id: RwLock::new(None),
            kafka_problem: RwLock::new(None),
        }
    }

    /// The worker.
    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Starts every persisted connector in its target state; the worker then
    /// reports healthy.
    pub async fn start(&self) {
        let _guard = self.lock.lock().await;
        for (name, stored) in self.configs.snapshot() {
            if let Err(e) = self.start_connector(&name, stored).await {
                warn!(connector = %name, error = %e, "cannot restore connector");
            }
        }
        self.ready.store(true, Ordering::SeqCst);
        info!("herder started");
    }

    /// Stops every task and connector.
    pub async fn stop(&self) {
        let _guard = self.lock.lock().await;
        self.ready.store(false, Ordering::SeqCst);
        self.worker.stop_all().await;
    }

    /// Records the Kafka cluster id once the broker answers.
    pub fn set_cluster_id(&self, id: String) {
        if let Ok(mut c) = self.cluster_id.write() {
            *c = Some(id);
        }
        if let Ok(mut p) = self.kafka_problem.write() {
            *p = None;
        }
    }

    /// Records why the Kafka cluster cannot be reached yet, for `/health`.
    pub fn set_kafka_problem(&self, problem: String) {
        if let Ok(mut p) = self.kafka_problem.write() {
            *p = Some(problem);
        }
    }

    fn resolve(&self, config: &ConnectorConfig) -> HashMap<String, String> {
        common::resolve(&self.worker, config)
    }

    fn stored(&self, name: &str) -> ConnectResult<StoredConnector> {
        self.configs.get(name).ok_or_else(|| not_found(name))
    }

    // Starts the connector instance, stores its task configs, starts tasks.
    async fn start_connector(&self, name: &str, mut stored: StoredConnector) -> ConnectResult<()> {
        let resolved = self.resolve(&stored.config);
        let tasks = self
            .worker
            .start_connector(name, &resolved, stored.target_state);
        stored.tasks = tasks
            .into_iter()
            .map(|t| reverse_transform(&stored.config, &resolved, t))
            .collect();
        self.configs.put(name, stored.clone()).await?;
        for (i, task) in stored.tasks.iter().enumerate() {
            self.start_task(name, i as u32, &resolved, task, stored.target_state);
        }
        Ok(())
    }

    fn start_task(
        &self,
        name: &str,
        task: u32,
        resolved: &HashMap<String, String>,
        task_config: &ConnectorConfig,
        target: TargetState,
    ) {
        let id = ConnectorTaskId {
            connector: name.to_string(),
            task,
        };
        let task_config = self.resolve(task_config);
        self.worker.start_task(id, resolved, task_config, target);
    }

    async fn stop_connector_and_tasks(&self, name: &str) {
        let ids = self.worker.task_ids(name);
        self.worker.stop_tasks(&ids).await;
        self.worker.stop_connector(name);
        for id in ids {
            self.worker.status.remove_task(&id);
        }
    }

    fn info(&self, name: &str, stored: &StoredConnector) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_string(),
            config: stored.config.clone(),
            tasks: (0..stored.tasks.len() as u32)
                .map(|task| ConnectorTaskId {
                    connector: name.to_string(),
                    task,
                })
                .collect(),
            kind: common::kind_name(&self.worker, &stored.config),
        }
    }

    fn status(&self, name: &str, stored: &StoredConnector) -> ConnectResult<ConnectorStateInfo> {
        let connector = self.worker.status.connector(name).ok_or_else(|| {
            ConnectError::NotFound(format!("No status found for connector {name}"))
        })?;
        let count = stored.tasks.len() as u32;
        let tasks = self
            .worker
            .status
            .tasks(name)
            .into_iter()
            .filter(|t| t.id < count)
            .collect();
        Ok(ConnectorStateInfo {
            name: name.to_string(),
            connector,
            tasks,
            kind: common::kind_name(&self.worker, &stored.config),
        })
    }

    async fn restart_task_locked(
        &self,
        name: &str,
        stored: &StoredConnector,
        task: u32,
    ) -> ConnectResult<()> {
        let id = ConnectorTaskId {
            connector: name.to_string(),
            task,
        };
        let task_config = stored
            .tasks
            .get(task as usize)
            .ok_or_else(|| ConnectError::NotFound(format!("Task {id} not found")))?;
        self.worker.stop_tasks(std::slice::from_ref(&id)).await;
        let resolved = self.resolve(&stored.config);
        self.start_task(name, task, &resolved, task_config, stored.target_state);
        Ok(())
    }
}

#[async_trait]
impl Herder for StandaloneHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: KAFKA_VERSION.to_string(),
            commit: format!("rampart-{}", env!("CARGO_PKG_VERSION")),
            kafka_cluster_id: self.cluster_id.read().ok().and_then(|c| c.clone()),
        }
    }

    async fn health(&self) -> Result<(), Unhealthy> {
        if !self.ready.load(Ordering::SeqCst) {
            return Err(Unhealthy::Starting(
                "Worker is still starting up.".to_string(),
            ));
        }
        // Java's standalone worker does not finish starting until it has
        // the Kafka cluster's id; neither do we, and we say why.
        if self.cluster_id.read().map(|c| c.is_none()).unwrap_or(true) {
            let problem = self.kafka_problem.read().ok().and_then(|p| p.clone());
            return Err(Unhealthy::Starting(match problem {
                Some(p) => {
                    format!("Worker is still starting up: cannot reach the Kafka cluster: {p}")
                }
                None => "Worker is still starting up: waiting for the Kafka cluster.".to_string(),
            }));
        }
        Ok(())
    }

    async fn connectors(&self) -> Vec<String> {
        self.configs.snapshot().into_keys().collect()
    }

    async fn connector_info(&self, name: &str) -> ConnectResult<ConnectorInfo> {
        let stored = self.stored(name)?;
        Ok(self.info(name, &stored))
    }

    async fn connector_config(&self, name: &str) -> ConnectResult<ConnectorConfig> {
        Ok(self.stored(name)?.config)
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>> {
        let config = common::validated(&self.worker, name, config)?;
        let _guard = self.lock.lock().await;
        let existing = self.configs.get(name);
        if existing.is_some() && !allow_replace {
            return Err(ConnectError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        let target_state = match &existing {
            Some(e) => e.target_state,
            None => initial_state.unwrap_or(TargetState::Started),
        };
        if existing.is_some() {
            self.stop_connector_and_tasks(name).await;
        }
        let stored = StoredConnector {
            config,
            target_state,
            tasks: Vec::new(),
        };
        self.configs.put(name, stored.clone()).await?;
        self.start_connector(name, stored).await?;
        let stored = self.stored(name)?;
        info!(connector = %name, created = existing.is_none(), "connector config saved");
        Ok(Created {
            created: existing.is_none(),
            info: self.info(name, &stored),
        })
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> ConnectResult<ConnectorInfo> {
        let config = self.stored(name)?.config;
        let config = common::patched(config, patch);
        Ok(self
            .put_connector_config(name, config, true, None)
            .await?
            .info)
    }

    async fn delete_connector(&self, name: &str) -> ConnectResult<()> {
        let _guard = self.lock.lock().await;
        self.stored(name)?;
        self.stop_connector_and_tasks(name).await;
        self.configs.remove(name).await?;
        self.worker.status.remove_connector(name);
        self.worker.topics.reset(name);
        info!(connector = %name, "connector deleted");
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> ConnectResult<ConnectorStateInfo> {
        let stored = self.configs.get(name).ok_or_else(|| {
            ConnectError::NotFound(format!("No status found for connector {name}"))
        })?;
        self.status(name, &stored)
    }

    async fn task_status(&self, id: &ConnectorTaskId) -> ConnectResult<TaskState> {
        let missing = || ConnectError::NotFound(format!("No status found for task {id}"));
        let stored = self.configs.get(&id.connector).ok_or_else(missing)?;
        if id.task as usize >= stored.tasks.len() {
            return Err(missing());
        }
        self.worker.status.task(id).ok_or_else(missing)
    }

    async fn task_configs(&self, name: &str) -> ConnectResult<Vec<TaskInfo>> {
        Ok(common::task_infos(name, self.stored(name)?.tasks))
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<Option<ConnectorStateInfo>> {
        let _guard = self.lock.lock().await;
        if !include_tasks && !only_failed {
            let stored = self.stored(name)?;
            let resolved = self.resolve(&stored.config);
            // The legacy path restarts the connector instance only.
            let _ = self
                .worker
                .start_connector(name, &resolved, stored.target_state);
            return Ok(None);
        }
        let stored = self
            .configs
            .get(name)
            .ok_or_else(|| ConnectError::NotFound(format!("Unknown connector: {name}")))?;
        let (status, restart_connector, restart_tasks) =
            common::restart_plan(self.status(name, &stored)?, include_tasks, only_failed);
        if restart_connector {
            let resolved = self.resolve(&stored.config);
            let _ = self
                .worker
                .start_connector(name, &resolved, stored.target_state);
        }
        for task in restart_tasks {
            self.restart_task_locked(name, &stored, task).await?;
        }
        Ok(Some(status))
    }

    async fn restart_task(&self, id: &ConnectorTaskId) -> ConnectResult<()> {
        let _guard = self.lock.lock().await;
        let stored = self.stored(&id.connector)?;
        self.restart_task_locked(&id.connector, &stored, id.task)
            .await
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> ConnectResult<()> {
        let _guard = self.lock.lock().await;
        let mut stored = self
            .configs
            .get(name)
            .ok_or_else(|| ConnectError::NotFound(format!("Unknown connector {name}")))?;
        let previous = stored.target_state;
        if previous == state {
            return Ok(());
        }
        stored.target_state = state;
        match (previous, state) {
            (_, TargetState::Stopped) => {
                self.stop_connector_and_tasks(name).await;
                stored.tasks.clear();
                self.configs.put(name, stored).await?;
                self.worker.status.put_connector(
                    name,
                    ConnectorState {
                        state: State::Stopped,
                        worker_id: self.worker.config.worker_id.clone(),
                        trace: None,
                    },
                );
            }
            (TargetState::Stopped, TargetState::Started) => {
                self.configs.put(name, stored.clone()).await?;
                self.start_connector(name, stored).await?;
            }
            (TargetState::Stopped, _) => {
                // Like Kafka, a stopped connector that is paused gets its
                // connector instance back but no tasks until it is resumed.
                self.configs.put(name, stored.clone()).await?;
                let resolved = self.resolve(&stored.config);
                let _ = self
                    .worker
                    .start_connector(name, &resolved, TargetState::Paused);
            }
            (_, TargetState::Started) if stored.tasks.is_empty() => {
                // Paused straight from STOPPED: tasks are generated on resume.
                self.configs.put(name, stored.clone()).await?;
                self.start_connector(name, stored).await?;
            }
            (_, target) => {
                self.configs.put(name, stored).await?;
                self.worker.set_connector_target(name, target);
                for id in self.worker.task_ids(name) {
                    self.worker.set_task_target(&id, target);
                }
            }
        }
        info!(connector = %name, state = ?state, "target state changed");
        Ok(())
    }

    async fn active_topics(&self, name: &str) -> ConnectResult<Vec<String>> {
        common::active_topics(&self.worker, name)
    }

    async fn reset_active_topics(&self, name: &str) -> ConnectResult<()> {
        common::reset_active_topics(&self.worker, name)
    }

    async fn offsets(&self, name: &str) -> ConnectResult<ConnectorOffsets> {
        let stored = self.stored(name)?;
        common::connector_offsets(&self.worker, name, &stored.config).await
    }

    async fn alter_offsets(&self, name: &str, body: ConnectorOffsets) -> ConnectResult<Message> {
        common::require_offsets(&body)?;
        let _guard = self.lock.lock().await;
        let stored = self.stored(name)?;
        common::require_stopped(name, stored.target_state)?;
        common::alter_offsets(&self.worker, name, &stored.config, body).await
    }

    async fn reset_offsets(&self, name: &str) -> ConnectResult<Message> {
        let _guard = self.lock.lock().await;
        let stored = self.stored(name)?;
        common::require_stopped(name, stored.target_state)?;
        common::reset_offsets(&self.worker, name, &stored.config).await
    }

    fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        self.worker.plugins.infos(connectors_only)
    }

    fn plugin_config(&self, plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>> {
        common::plugin_config(&self.worker, plugin)
    }

    async fn metrics(&self) -> String {
        let client_id = self
            .worker
            .config
            .props
            .get("client.id")
            .cloned()
            .unwrap_or_else(|| format!("connect-{}", self.worker.config.worker_id));
        self.worker.render_metrics(&client_id, Vec::new(), |_| {})
    }

    async fn validate(&self, config: &ConnectorConfig) -> ConnectResult<ConfigInfos> {
        common::validate_config(&self.worker, config)
    }
}
