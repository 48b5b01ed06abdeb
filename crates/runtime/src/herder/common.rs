//! What the standalone and distributed herders do alike with one
//! connector, given the worker: resolving config providers, plugin
//! definitions and validation, restart plans, and the offsets endpoints.

use std::collections::HashMap;

use rampart_core::connector::ConnectorType;
use rampart_core::herder::{
    ConfigInfos, ConfigKeyInfo, ConnectorConfig, ConnectorOffsets, ConnectorStateInfo,
    ConnectorTaskId, Message, State, TargetState, TaskInfo,
};
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};

use super::offsets;
use super::validation::validate;
use crate::worker::Worker;

const ALTERED: &str = "The offsets for this connector have been altered successfully";
const RESET: &str = "The offsets for this connector have been reset successfully";
const FRAMEWORK_ALTERED: &str = "The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.";
const FRAMEWORK_RESET: &str = "The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.";

/// The config with `${provider:…}` placeholders resolved.
pub(crate) fn resolve(worker: &Worker, config: &ConnectorConfig) -> HashMap<String, String> {
    let map: HashMap<String, String> = config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    worker.config.providers.resolve_all(&map)
}

/// `source`, `sink` or `unknown`, as the REST entities show it.
pub(crate) fn kind_name(worker: &Worker, config: &ConnectorConfig) -> String {
    worker
        .plugins
        .connector_type(config.get("connector.class").map(String::as_str))
        .to_string()
}

fn kind(worker: &Worker, config: &ConnectorConfig) -> Option<ConnectorType> {
    config
        .get("connector.class")
        .and_then(|c| worker.plugins.connector(c).ok())
        .map(|p| p.kind)
}

/// `GET /connector-plugins/{p}/config`.
pub(crate) fn plugin_config(worker: &Worker, plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>> {
    if let Ok(p) = worker.plugins.connector(plugin) {
        // The plugin's own keys first, then the framework's.
        let mut def = (p.config_def)();
        def.merge(&crate::connector_config::framework_def(p.kind));
        return Ok(def.keys().iter().map(ConfigKeyInfo::from).collect());
    }
    if let Some(def) = worker.plugins.transforms().config_def(plugin) {
        return Ok(def.keys().iter().map(ConfigKeyInfo::from).collect());
    }
    Err(ConnectError::NotFound(format!("Unknown plugin {plugin}.")))
}

/// `PUT /connector-plugins/{p}/config/validate`, and create-time checks.
pub(crate) fn validate_config(
    worker: &Worker,
    config: &ConnectorConfig,
) -> ConnectResult<ConfigInfos> {
    let resolved = resolve(worker, config);
    validate(&worker.plugins, &worker.config, config, &resolved)
}

/// Task configs in REST shape.
pub(crate) fn task_infos(name: &str, tasks: Vec<ConnectorConfig>) -> Vec<TaskInfo> {
    tasks
        .into_iter()
        .enumerate()
        .map(|(i, config)| TaskInfo {
            id: ConnectorTaskId {
                connector: name.to_string(),
                task: i as u32,
            },
            config,
        })
        .collect()
}

/// What a restart with `includeTasks`/`onlyFailed` restarts: the status
/// answered (instances to restart shown RESTARTING), whether the
/// connector restarts, and which tasks do.
pub(crate) fn restart_plan(
    mut status: ConnectorStateInfo,
    include_tasks: bool,
    only_failed: bool,
) -> (ConnectorStateInfo, bool, Vec<u32>) {
    let restart_connector = !only_failed || status.connector.state == State::Failed;
    let restart_tasks: Vec<u32> = if include_tasks {
        status
            .tasks
            .iter()
            .filter(|t| !only_failed || t.state == State::Failed)
            .map(|t| t.id)
            .collect()
    } else {
        Vec::new()
    };
    if restart_connector {
        status.connector.state = State::Restarting;
    }
    for t in status
        .tasks
        .iter_mut()
        .filter(|t| restart_tasks.contains(&t.id))
    {
        t.state = State::Restarting;
    }
    (status, restart_connector, restart_tasks)
}

/// Offsets may change only while the connector is stopped.
pub(crate) fn require_stopped(name: &str, target: TargetState) -> ConnectResult<()> {
    if target != TargetState::Stopped {
        return Err(ConnectError::BadRequest(format!(
            "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
        )));
    }
    Ok(())
}

// Lets the connector check (and take part in) an offsets change.
fn connector_alter_offsets(
    worker: &Worker,
    config: &ConnectorConfig,
    offsets: &[(SourceMap, Option<SourceMap>)],
) -> ConnectResult<bool> {
    let class = config
        .get("connector.class")
        .map(String::as_str)
        .unwrap_or_default();
    let plugin = worker.plugins.connector(class)?;
    let connector = (plugin.new_connector)();
    connector.alter_offsets(&resolve(worker, config), offsets)
}

/// `GET /connectors/{c}/offsets`.
pub(crate) async fn connector_offsets(
    worker: &Worker,
    name: &str,
    config: &ConnectorConfig,
) -> ConnectResult<ConnectorOffsets> {
    match kind(worker, config) {
        Some(ConnectorType::Sink) => {
            offsets::sink_offsets(&worker.config, resolve(worker, config), name.to_string()).await
        }
        _ => Ok(offsets::source_offsets(
            worker.offsets.connector_offsets(name),
        )),
    }
}

/// `PATCH /connectors/{c}/offsets`, once the connector is known stopped.
pub(crate) async fn alter_offsets(
    worker: &Worker,
    name: &str,
    config: &ConnectorConfig,
    body: ConnectorOffsets,
) -> ConnectResult<Message> {
    let entries: Vec<_> = body
        .offsets
        .iter()
        .map(|o| (o.partition.clone(), o.offset.clone()))
        .collect();
    let handled = connector_alter_offsets(worker, config, &entries)?;
    match kind(worker, config) {
        Some(ConnectorType::Sink) => {
            let parsed = offsets::parse_sink_offsets(&body)?;
            offsets::alter_sink_offsets(
                &worker.config,
                resolve(worker, config),
                name.to_string(),
                parsed,
            )
            .await?;
        }
        _ => {
            if entries.iter().any(|(p, _)| p.is_empty()) {
                return Err(ConnectError::BadRequest(
                    "Source partitions may not be null or empty".to_string(),
                ));
            }
            worker.offsets.put(name, entries).await?;
        }
    }
    let message = if handled { ALTERED } else { FRAMEWORK_ALTERED };
    Ok(Message {
        message: message.to_string(),
    })
}

/// `DELETE /connectors/{c}/offsets`, once the connector is known stopped.
pub(crate) async fn reset_offsets(
    worker: &Worker,
    name: &str,
    config: &ConnectorConfig,
) -> ConnectResult<Message> {
    let current = connector_offsets(worker, name, config).await?;
    let resets: Vec<_> = current
        .offsets
        .into_iter()
        .map(|o| (o.partition, None))
        .collect();
    let handled = connector_alter_offsets(worker, config, &resets)?;
    match kind(worker, config) {
        Some(ConnectorType::Sink) => {
            offsets::reset_sink_offsets(&worker.config, resolve(worker, config), name.to_string())
                .await?
        }
        _ => worker.offsets.clear(name).await?,
    }
    let message = if handled { RESET } else { FRAMEWORK_RESET };
    Ok(Message {
        message: message.to_string(),
    })
}

/// The empty-body check of `PATCH /connectors/{c}/offsets`.
pub(crate) fn require_offsets(body: &ConnectorOffsets) -> ConnectResult<()> {
    if body.offsets.is_empty() {
        return Err(ConnectError::BadRequest(
            "Partitions / offsets need to be provided for an alter offsets request".to_string(),
        ));
    }
    Ok(())
}

/// `GET /connectors/{c}/topics`.
pub(crate) fn active_topics(worker: &Worker, name: &str) -> ConnectResult<Vec<String>> {
    if !worker.config.topic_tracking {
        return Err(ConnectError::Forbidden(
            "Topic tracking is disabled.".to_string(),
        ));
    }
    Ok(worker.topics.get(name))
}

/// `PUT /connectors/{c}/topics/reset`.
pub(crate) fn reset_active_topics(worker: &Worker, name: &str) -> ConnectResult<()> {
    if !worker.config.topic_tracking {
        return Err(ConnectError::Forbidden(
            "Topic tracking is disabled.".to_string(),
        ));
    }
    if !worker.config.topic_tracking_allow_reset {
        return Err(ConnectError::Forbidden(
            "Topic tracking reset is disabled.".to_string(),
        ));
    }
    worker.topics.reset(name);
    Ok(())
}

/// `PATCH /connectors/{c}/config`: `None` deletes a key.
pub(crate) fn patched(
    mut config: ConnectorConfig,
    patch: std::collections::BTreeMap<String, Option<String>>,
) -> ConnectorConfig {
    for (k, v) in patch {
        match v {
            Some(v) => {
                config.insert(k, v);
            }
            None => {
                config.remove(&k);
            }
        }
    }
    config
}

/// A config to create or replace a connector with: `name` filled in from
/// the URL when missing, then validated (400 with every error).
pub(crate) fn validated(
    worker: &Worker,
    name: &str,
    mut config: ConnectorConfig,
) -> ConnectResult<ConnectorConfig> {
    config
        .entry("name".to_string())
        .or_insert_with(|| name.to_string());
    let infos = validate_config(worker, &config)?;
    if infos.error_count > 0 {
        return Err(ConnectError::BadRequest(
            super::validation::invalid_config_message(&infos),
        ));
    }
    Ok(config)
}
