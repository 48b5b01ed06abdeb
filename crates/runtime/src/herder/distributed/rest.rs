//! The REST side of the distributed herder: reads are served from this
//! worker's view of the internal topics, writes by the leader, restarts
//! by the owner; anything else is sent where it belongs.

use std::collections::BTreeMap;

use async_trait::async_trait;
use rampart_core::herder::{
    ConfigInfos, ConfigKeyInfo, ConnectorConfig, ConnectorInfo, ConnectorOffsets,
    ConnectorStateInfo, ConnectorTaskId, Created, Herder, InternalRequestSignature, Message,
    PluginInfo, ServerInfo, TargetState, TaskInfo, TaskState, Unhealthy,
};
use rampart_core::{ConnectError, ConnectResult};
use tracing::info;

use super::{to_leader, DistributedHerder};
use crate::distributed::signature;
use crate::herder::common;
use crate::plugins::KAFKA_VERSION;

fn not_found(name: &str) -> ConnectError {
    ConnectError::NotFound(format!("Connector {name} not found"))
}

impl DistributedHerder {
    fn info(&self, name: &str, config: &ConnectorConfig) -> ConnectorInfo {
        let count = self.task_count(name).unwrap_or(0);
        ConnectorInfo {
            name: name.to_string(),
            config: config.clone(),
            tasks: (0..count)
                .map(|task| ConnectorTaskId {
                    connector: name.to_string(),
                    task,
                })
                .collect(),
            kind: common::kind_name(&self.worker, config),
        }
    }

    pub(super) fn status_of(&self, name: &str) -> ConnectResult<ConnectorStateInfo> {
        let missing = || ConnectError::NotFound(format!("No status found for connector {name}"));
        let config = self.connector_config(name).ok_or_else(missing)?;
        let connector = self.worker.status.connector(name).ok_or_else(missing)?;
        let count = self.task_count(name).unwrap_or(0);
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
            kind: common::kind_name(&self.worker, &config),
        })
    }

    /// Writes a connector's config (and first target state), as leader.
    async fn write_connector(
        &self,
        name: &str,
        config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>> {
        let _writes = self.writes.lock().await;
        let exists = self.exists(name);
        if exists && !allow_replace {
            return Err(ConnectError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        if !exists {
            if let Some(state) = initial_state {
                self.configs.put_target_state(name, state).await?;
            }
        }
        self.configs
            .put_connector_config(name, config.clone())
            .await?;
        self.configs.read_to_end().await?;
        info!(connector = %name, created = !exists, "connector config written");
        Ok(Created {
            created: !exists,
            info: self.info(name, &config),
        })
    }

    async fn owner_or_leader(
        &self,
        owned_here: bool,
        owned: impl Fn(&crate::distributed::assignor::ConnectorsAndTasks) -> bool,
        message: &str,
        follower_message: &str,
    ) -> ConnectResult<bool> {
        if owned_here {
            return Ok(true);
        }
        let view = self.settled_view().await;
        if view.is_leader() {
            return match view.owner_url(owned) {
                Some(url) => Err(ConnectError::RequestTarget {
                    message: message.to_string(),
                    url,
                }),
                None => Err(ConnectError::Conflict(
                    "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)".into(),
                )),
            };
        }
        Err(to_leader(&view, follower_message))
    }
}

#[async_trait]
impl Herder for DistributedHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: KAFKA_VERSION.to_string(),
            commit: format!("rampart-{}", env!("CARGO_PKG_VERSION")),
            kafka_cluster_id: self.cluster_id.read().ok().and_then(|c| c.clone()),
        }
    }

    async fn health(&self) -> Result<(), Unhealthy> {
        let view = self.view();
        match (&view.problem, view.joined) {
            (Some(problem), true) => Err(Unhealthy::Failing(problem.clone())),
            (Some(problem), false) => Err(Unhealthy::Starting(format!(
                "Worker is still starting up: {problem}"
            ))),
            (None, false) => Err(Unhealthy::Starting(
                "Worker is still starting up: joining the group.".into(),
            )),
            (None, true) => Ok(()),
        }
    }

    async fn connectors(&self) -> Vec<String> {
        self.configs
            .read(|s| s.connectors.keys().cloned().collect())
    }

    async fn connector_info(&self, name: &str) -> ConnectResult<ConnectorInfo> {
        let config = self.connector_config(name).ok_or_else(|| not_found(name))?;
        Ok(self.info(name, &config))
    }

    async fn connector_config(&self, name: &str) -> ConnectResult<ConnectorConfig> {
        DistributedHerder::connector_config(self, name).ok_or_else(|| not_found(name))
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>> {
        let config = common::validated(&self.worker, name, config)?;
        self.require_leader("Only the leader can set connector configs.")
            .await?;
        self.write_connector(name, config, allow_replace, initial_state)
            .await
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> ConnectResult<ConnectorInfo> {
        let config =
            DistributedHerder::connector_config(self, name).ok_or_else(|| not_found(name))?;
        self.require_leader("Only the leader can set connector configs.")
            .await?;
        let config = common::patched(config, patch);
        Ok(self
            .put_connector_config(name, config, true, None)
            .await?
            .info)
    }

    async fn delete_connector(&self, name: &str) -> ConnectResult<()> {
        self.require_leader("Only the leader can delete connector configs.")
            .await?;
        let _writes = self.writes.lock().await;
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.configs.remove_connector(name).await?;
        self.configs.read_to_end().await?;
        info!(connector = %name, "connector deleted");
        Ok(())
    }

    async fn connector_status(&self, name: &str) -> ConnectResult<ConnectorStateInfo> {
        self.status_of(name)
    }

    async fn task_status(&self, id: &ConnectorTaskId) -> ConnectResult<TaskState> {
        let missing = || ConnectError::NotFound(format!("No status found for task {id}"));
        let count = self.task_count(&id.connector);
        if count.is_none_or(|n| id.task >= n) {
            return Err(missing());
        }
        self.worker.status.task(id).ok_or_else(missing)
    }

    async fn task_configs(&self, name: &str) -> ConnectResult<Vec<TaskInfo>> {
        let tasks = self.configs.read(|state| {
            if !state.connectors.contains_key(name) {
                return Err(not_found(name));
            }
            let count = state.task_counts.get(name).copied().unwrap_or(0);
            Ok((0..count)
                .filter_map(|task| {
                    state
                        .task_configs
                        .get(&ConnectorTaskId {
                            connector: name.to_string(),
                            task,
                        })
                        .cloned()
                })
                .collect())
        })?;
        Ok(common::task_infos(name, tasks))
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<Option<ConnectorStateInfo>> {
        if !self.exists(name) {
            return Err(ConnectError::NotFound(format!("Unknown connector: {name}")));
        }
        if !include_tasks && !only_failed {
            let owned_here = self.view().owned.connectors.contains(name);
            self.owner_or_leader(
                owned_here,
                |a| a.connectors.contains(name),
                "Cannot restart connector since it is not assigned to this member",
                "Only the leader can process restart requests.",
            )
            .await?;
            let _guard = self.work.lock().await;
            self.worker.stop_connector(name);
            let state = self.state();
            self.start_owned_connector(name, &state);
            return Ok(None);
        }
        self.require_leader("Only the leader can process restart requests.")
            .await?;
        // The plan shows every task's state: statuses other workers wrote
        // must have been read first.
        self.statuses.read_to_end().await?;
        let status = self.status_of(name).map_err(|_| {
            ConnectError::NotFound(format!("Status for connector {name} not found"))
        })?;
        {
            let _writes = self.writes.lock().await;
            self.configs
                .put_restart_request(name, include_tasks, only_failed)
                .await?;
        }
        let (plan, _, _) = common::restart_plan(status, include_tasks, only_failed);
        Ok(Some(plan))
    }

    async fn restart_task(&self, id: &ConnectorTaskId) -> ConnectResult<()> {
        let state = self.state();
        if !state.connectors.contains_key(&id.connector) {
            return Err(ConnectError::NotFound(format!(
                "Unknown connector: {}",
                id.connector
            )));
        }
        if !state.task_configs.contains_key(id) {
            return Err(ConnectError::NotFound(format!("Unknown task: {id}")));
        }
        let owned_here = self.view().owned.tasks.contains(id);
        self.owner_or_leader(
            owned_here,
            |a| a.tasks.contains(id),
            "Cannot restart task since it is not assigned to this member",
            "Cannot restart task since it is not assigned to this member",
        )
        .await?;
        let _guard = self.work.lock().await;
        self.worker.stop_tasks(std::slice::from_ref(id)).await;
        self.start_owned_task(id, &state);
        Ok(())
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> ConnectResult<()> {
        if !self.exists(name) {
            return Err(ConnectError::NotFound(format!("Unknown connector {name}")));
        }
        if state == TargetState::Stopped {
            self.require_leader("Only the leader can transition connectors to the STOPPED state.")
                .await?;
            // Task configs first: a running connector with no tasks is a
            // healthier half-way state than a stopped one with tasks.
            self.write_task_configs(name, Vec::new()).await?;
        }
        // Pause and resume are written by whichever worker is asked.
        self.configs.put_target_state(name, state).await?;
        self.configs.read_to_end().await?;
        info!(connector = %name, state = ?state, "target state written");
        Ok(())
    }

    async fn active_topics(&self, name: &str) -> ConnectResult<Vec<String>> {
        common::active_topics(&self.worker, name)
    }

    async fn reset_active_topics(&self, name: &str) -> ConnectResult<()> {
        common::reset_active_topics(&self.worker, name)
    }

    async fn offsets(&self, name: &str) -> ConnectResult<ConnectorOffsets> {
        let config =
            DistributedHerder::connector_config(self, name).ok_or_else(|| not_found(name))?;
        common::connector_offsets(&self.worker, name, &config).await
    }

    async fn alter_offsets(&self, name: &str, body: ConnectorOffsets) -> ConnectResult<Message> {
        common::require_offsets(&body)?;
        self.require_leader("Only the leader can process external offsets modification requests")
            .await?;
        let config =
            DistributedHerder::connector_config(self, name).ok_or_else(|| not_found(name))?;
        common::require_stopped(name, self.target_state(name))?;
        common::alter_offsets(&self.worker, name, &config, body).await
    }

    async fn reset_offsets(&self, name: &str) -> ConnectResult<Message> {
        self.require_leader("Only the leader can process external offsets modification requests")
            .await?;
        let config =
            DistributedHerder::connector_config(self, name).ok_or_else(|| not_found(name))?;
        common::require_stopped(name, self.target_state(name))?;
        common::reset_offsets(&self.worker, name, &config).await
    }

    fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        self.worker.plugins.infos(connectors_only)
    }

    fn plugin_config(&self, plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>> {
        common::plugin_config(&self.worker, plugin)
    }

    async fn validate(&self, config: &ConnectorConfig) -> ConnectResult<ConfigInfos> {
        common::validate_config(&self.worker, config)
    }

    async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<ConnectorConfig>,
        signature: Option<InternalRequestSignature>,
        body: &[u8],
    ) -> ConnectResult<()> {
        let view = self.view();
        // Signing is on only once the group agreed on `sessioned`.
        if view.protocol_version >= 2 {
            let key = self.session_key().map(|(key, _, _)| key);
            signature::verify(
                signature.as_ref(),
                &self.settings.inter_worker_verification_algorithms,
                key.as_deref(),
                body,
            )?;
        }
        self.require_leader("Only the leader may write task configurations.")
            .await?;
        if !self.exists(name) {
            return Err(not_found(name));
        }
        self.write_task_configs(name, configs).await
    }

    async fn metrics(&self) -> String {
        let rebalance = self.metrics.bean().into_iter().collect();
        self.worker
            .render_metrics(&self.group_client_id, rebalance, |out| {
                self.metrics.render_info(out)
            })
    }
}
