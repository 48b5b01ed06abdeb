//! The REST API of a worker whose herder cannot start yet (the Kafka
//! cluster is unreachable at boot): `/health` says why with a 503, the
//! plugin endpoints answer, and everything else is refused with a 503
//! until the herder is there, after which every call goes to it.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use rampart_core::herder::{
    ConfigInfos, ConfigKeyInfo, ConnectorConfig, ConnectorInfo, ConnectorOffsets,
    ConnectorStateInfo, ConnectorTaskId, Created, Herder, InternalRequestSignature, Message,
    PluginInfo, ServerInfo, TargetState, TaskInfo, TaskState, Unhealthy,
};
use rampart_core::{ConnectError, ConnectResult};

use crate::plugins::{Plugins, KAFKA_VERSION};

/// A herder that is not there yet, then is.
pub struct DeferredHerder {
    herder: OnceLock<Arc<dyn Herder>>,
    plugins: Plugins,
    waiting: RwLock<String>,
}

impl DeferredHerder {
    /// Waiting, with the plugins it will serve.
    pub fn new(plugins: Plugins) -> Self {
        DeferredHerder {
            herder: OnceLock::new(),
            plugins,
            waiting: RwLock::new("connecting to the Kafka cluster".into()),
        }
    }

    /// Why the herder is not there yet, for `/health` and refusals.
    pub fn set_waiting(&self, reason: String) {
        if let Ok(mut w) = self.waiting.write() {
            *w = reason;
        }
    }

    /// The herder has started: every call goes to it from now on.
    pub fn ready(&self, herder: Arc<dyn Herder>) {
        let _ = self.herder.set(herder);
    }

    fn waiting(&self) -> String {
        self.waiting.read().map(|w| w.clone()).unwrap_or_default()
    }

    fn herder(&self) -> ConnectResult<&Arc<dyn Herder>> {
        self.herder.get().ok_or_else(|| ConnectError::Rest {
            status: 503,
            message: format!("Worker is still starting up: {}", self.waiting()),
        })
    }
}

#[async_trait]
impl Herder for DeferredHerder {
    async fn server_info(&self) -> ServerInfo {
        match self.herder.get() {
            Some(h) => h.server_info().await,
            None => ServerInfo {
                version: KAFKA_VERSION.to_string(),
                commit: format!("rampart-{}", env!("CARGO_PKG_VERSION")),
                kafka_cluster_id: None,
            },
        }
    }

    async fn health(&self) -> Result<(), Unhealthy> {
        match self.herder.get() {
            Some(h) => h.health().await,
            None => Err(Unhealthy::Starting(format!(
                "Worker is still starting up: {}",
                self.waiting()
            ))),
        }
    }

    async fn connectors(&self) -> Vec<String> {
        match self.herder.get() {
            Some(h) => h.connectors().await,
            None => Vec::new(),
        }
    }

    async fn connector_info(&self, name: &str) -> ConnectResult<ConnectorInfo> {
        self.herder()?.connector_info(name).await
    }

    async fn connector_config(&self, name: &str) -> ConnectResult<ConnectorConfig> {
        self.herder()?.connector_config(name).await
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>> {
        self.herder()?
            .put_connector_config(name, config, allow_replace, initial_state)
            .await
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> ConnectResult<ConnectorInfo> {
        self.herder()?.patch_connector_config(name, patch).await
    }

    async fn delete_connector(&self, name: &str) -> ConnectResult<()> {
        self.herder()?.delete_connector(name).await
    }

    async fn connector_status(&self, name: &str) -> ConnectResult<ConnectorStateInfo> {
        self.herder()?.connector_status(name).await
    }

    async fn task_status(&self, id: &ConnectorTaskId) -> ConnectResult<TaskState> {
        self.herder()?.task_status(id).await
    }

    async fn task_configs(&self, name: &str) -> ConnectResult<Vec<TaskInfo>> {
        self.herder()?.task_configs(name).await
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<Option<ConnectorStateInfo>> {
        self.herder()?
            .restart_connector(name, include_tasks, only_failed)
            .await
    }

    async fn restart_task(&self, id: &ConnectorTaskId) -> ConnectResult<()> {
        self.herder()?.restart_task(id).await
    }

    async fn set_target_state(&self, name: &str, state: TargetState) -> ConnectResult<()> {
        self.herder()?.set_target_state(name, state).await
    }

    async fn active_topics(&self, name: &str) -> ConnectResult<Vec<String>> {
        self.herder()?.active_topics(name).await
    }

    async fn reset_active_topics(&self, name: &str) -> ConnectResult<()> {
        self.herder()?.reset_active_topics(name).await
    }

    async fn offsets(&self, name: &str) -> ConnectResult<ConnectorOffsets> {
        self.herder()?.offsets(name).await
    }

    async fn alter_offsets(&self, name: &str, offsets: ConnectorOffsets) -> ConnectResult<Message> {
        self.herder()?.alter_offsets(name, offsets).await
    }

    async fn reset_offsets(&self, name: &str) -> ConnectResult<Message> {
        self.herder()?.reset_offsets(name).await
    }

    fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        match self.herder.get() {
            Some(h) => h.plugins(connectors_only),
            None => self.plugins.infos(connectors_only),
        }
    }

    fn plugin_config(&self, plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>> {
        self.herder()?.plugin_config(plugin)
    }

    async fn validate(&self, config: &ConnectorConfig) -> ConnectResult<ConfigInfos> {
        self.herder()?.validate(config).await
    }

    async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<ConnectorConfig>,
        signature: Option<InternalRequestSignature>,
        body: &[u8],
    ) -> ConnectResult<()> {
        self.herder()?
            .put_task_configs(name, configs, signature, body)
            .await
    }

    async fn metrics(&self) -> String {
        match self.herder.get() {
            Some(h) => h.metrics().await,
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn before_the_herder_starts_health_says_why_and_requests_get_503() {
        let deferred = DeferredHerder::new(Plugins::new(Vec::new()));
        deferred.set_waiting("no answer from broker:9092".into());
        assert_eq!(
            deferred.health().await,
            Err(Unhealthy::Starting(
                "Worker is still starting up: no answer from broker:9092".into()
            ))
        );
        let refused = deferred
            .connector_info("c")
            .await
            .expect_err("no herder yet");
        assert_eq!(refused.http_status(), 503);
        assert!(refused.to_string().contains("no answer from broker:9092"));
        assert!(deferred.connectors().await.is_empty());
    }
}
