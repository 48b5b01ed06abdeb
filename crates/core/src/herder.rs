//! The herder interface the REST API talks to, and the REST entities with
//! Kafka Connect's exact JSON field names (§1.4 of the reference).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigType, ConfigValue, Importance, Width};
use crate::ConnectResult;

/// A connector config as stored and echoed: verbatim strings.
pub type ConnectorConfig = BTreeMap<String, String>;

/// `GET /`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerInfo {
    /// Kafka Connect version emulated.
    pub version: String,
    /// Build commit.
    pub commit: String,
    /// The Kafka cluster id, when known.
    pub kafka_cluster_id: Option<String>,
}

/// `GET /health`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkerStatus {
    /// `healthy`, `starting` or `unhealthy`.
    pub status: String,
    /// Human-readable detail.
    pub message: String,
}

/// Why a worker does not answer `GET /health` with 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unhealthy {
    /// Still starting (503, `starting`).
    Starting(String),
    /// Started, but cannot do its work now, e.g. the Kafka cluster is
    /// unreachable (500, `unhealthy`).
    Failing(String),
}

/// A task id: connector name and task number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    /// Connector name.
    pub connector: String,
    /// Task number.
    pub task: u32,
}

impl std::fmt::Display for ConnectorTaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.connector, self.task)
    }
}

/// `ConnectorInfo`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorInfo {
    /// Connector name.
    pub name: String,
    /// The config, verbatim.
    pub config: ConnectorConfig,
    /// Its tasks.
    pub tasks: Vec<ConnectorTaskId>,
    /// `source`, `sink` or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Runtime state of a connector or task (`AbstractStatus.State`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Not yet assigned to a worker.
    Unassigned,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Failed; see the trace.
    Failed,
    /// Being restarted.
    Restarting,
    /// Stopped (connectors only).
    Stopped,
}

impl State {
    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
        }
    }
}

/// The target state a user asked for, persisted with the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    /// Running (shown as RUNNING).
    Started,
    /// Paused: tasks kept, no data moved.
    Paused,
    /// Stopped: tasks shut down and removed.
    Stopped,
}

impl TargetState {
    /// Parses `initial_state` (RUNNING|PAUSED|STOPPED, case-insensitive).
    pub fn from_initial_state(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "RUNNING" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

/// The status of a connector instance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorState {
    /// State.
    pub state: State,
    /// Worker running it.
    pub worker_id: String,
    /// Error trace, present only when non-empty.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// `TaskState`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskState {
    /// Task number.
    pub id: u32,
    /// State.
    pub state: State,
    /// Worker running it.
    pub worker_id: String,
    /// Error trace, present only when non-empty.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// `ConnectorStateInfo`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorStateInfo {
    /// Connector name.
    pub name: String,
    /// Connector status.
    pub connector: ConnectorState,
    /// Task statuses.
    pub tasks: Vec<TaskState>,
    /// `source`, `sink` or `unknown`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `TaskInfo`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TaskInfo {
    /// Task id.
    pub id: ConnectorTaskId,
    /// Task config.
    pub config: ConnectorConfig,
}

/// `PluginInfo`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PluginInfo {
    /// Class name.
    pub class: String,
    /// source, sink, converter, header_converter, transformation, predicate.
    #[serde(rename = "type")]
    pub kind: String,
    /// Version, omitted when undefined.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `ConfigKeyInfo`: one key's definition as `/connector-plugins/{p}/config`
/// and `validate` show it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigKeyInfo {
    /// Key name.
    pub name: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: ConfigType,
    /// Whether it has no default.
    pub required: bool,
    /// Default value as a string; null for required or null defaults.
    pub default_value: Option<String>,
    /// Importance.
    pub importance: Importance,
    /// Documentation.
    pub documentation: String,
    /// Group.
    pub group: Option<String>,
    /// Order in group.
    pub order: i32,
    /// Width.
    pub width: Width,
    /// Display name.
    pub display_name: String,
    /// Dependents.
    pub dependents: Vec<String>,
}

impl From<&crate::config::ConfigKey> for ConfigKeyInfo {
    fn from(k: &crate::config::ConfigKey) -> Self {
        let default_value = match k.default.as_deref() {
            None | Some(crate::config::NO_DEFAULT_VALUE) => None,
            Some(d) => Some(d.to_string()),
        };
        ConfigKeyInfo {
            name: k.name.clone(),
            ty: k.ty,
            required: k.required(),
            default_value,
            importance: k.importance,
            documentation: k.documentation.clone(),
            group: k.group.clone(),
            order: k.order_in_group,
            width: k.width,
            display_name: k.display_name.clone(),
            dependents: k.dependents.clone(),
        }
    }
}

/// One entry of `ConfigInfos.configs`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigInfo {
    /// The key's definition.
    pub definition: ConfigKeyInfo,
    /// The submitted value and its errors.
    pub value: ConfigValue,
}

/// `ConfigInfos`: the result of `config/validate`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigInfos {
    /// The connector class.
    pub name: String,
    /// Number of keys with errors.
    pub error_count: usize,
    /// Groups, in order.
    pub groups: Vec<String>,
    /// Every key.
    pub configs: Vec<ConfigInfo>,
}

/// One partition's offset in `ConnectorOffsets`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConnectorOffset {
    /// The partition (source partition map, or `kafka_topic`/`kafka_partition`).
    pub partition: serde_json::Map<String, serde_json::Value>,
    /// The offset; null in PATCH resets the partition.
    pub offset: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `ConnectorOffsets`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ConnectorOffsets {
    /// Offsets.
    pub offsets: Vec<ConnectorOffset>,
}

/// `Message`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    /// The message.
    pub message: String,
}

/// Whether a PUT created the connector or updated it.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    /// True when newly created (201), false when updated (200).
    pub created: bool,
    /// The result.
    pub info: T,
}

/// The signature headers of an internal request between workers
/// (`X-Connect-Request-Signature-Algorithm`, `X-Connect-Authorization`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalRequestSignature {
    /// The algorithm, e.g. `HmacSHA256`.
    pub algorithm: String,
    /// The signature, base64.
    pub signature: String,
}

/// The herder: owns connectors and tasks on behalf of the REST API. A
/// standalone herder and a distributed one implement the same interface.
#[async_trait]
pub trait Herder: Send + Sync {
    /// `GET /`
    async fn server_info(&self) -> ServerInfo;
    /// `GET /health`: `Ok` when ready, otherwise the reason.
    async fn health(&self) -> Result<(), Unhealthy>;
    /// Names of all connectors.
    async fn connectors(&self) -> Vec<String>;
    /// `GET /connectors/{c}`
    async fn connector_info(&self, name: &str) -> ConnectResult<ConnectorInfo>;
    /// `GET /connectors/{c}/config`
    async fn connector_config(&self, name: &str) -> ConnectResult<ConnectorConfig>;
    /// Creates or replaces a connector. `allow_replace=false` fails with 409
    /// if it exists (POST); `true` updates (PUT).
    async fn put_connector_config(
        &self,
        name: &str,
        config: ConnectorConfig,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> ConnectResult<Created<ConnectorInfo>>;
    /// `PATCH /connectors/{c}/config`: `None` values delete keys.
    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> ConnectResult<ConnectorInfo>;
    /// `DELETE /connectors/{c}`
    async fn delete_connector(&self, name: &str) -> ConnectResult<()>;
    /// `GET /connectors/{c}/status`
    async fn connector_status(&self, name: &str) -> ConnectResult<ConnectorStateInfo>;
    /// `GET /connectors/{c}/tasks/{t}/status`
    async fn task_status(&self, id: &ConnectorTaskId) -> ConnectResult<TaskState>;
    /// `GET /connectors/{c}/tasks`
    async fn task_configs(&self, name: &str) -> ConnectResult<Vec<TaskInfo>>;
    /// `POST /connectors/{c}/restart`: `None` for the legacy 204 path,
    /// otherwise the status with instances to restart shown as RESTARTING.
    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<Option<ConnectorStateInfo>>;
    /// `POST /connectors/{c}/tasks/{t}/restart`
    async fn restart_task(&self, id: &ConnectorTaskId) -> ConnectResult<()>;
    /// `PUT /connectors/{c}/pause|resume|stop`
    async fn set_target_state(&self, name: &str, state: TargetState) -> ConnectResult<()>;
    /// `GET /connectors/{c}/topics`
    async fn active_topics(&self, name: &str) -> ConnectResult<Vec<String>>;
    /// `PUT /connectors/{c}/topics/reset`
    async fn reset_active_topics(&self, name: &str) -> ConnectResult<()>;
    /// `GET /connectors/{c}/offsets`
    async fn offsets(&self, name: &str) -> ConnectResult<ConnectorOffsets>;
    /// `PATCH /connectors/{c}/offsets`
    async fn alter_offsets(&self, name: &str, offsets: ConnectorOffsets) -> ConnectResult<Message>;
    /// `DELETE /connectors/{c}/offsets`
    async fn reset_offsets(&self, name: &str) -> ConnectResult<Message>;
    /// `GET /connector-plugins`
    fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo>;
    /// `GET /connector-plugins/{p}/config`
    fn plugin_config(&self, plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>>;
    /// `PUT /connector-plugins/{p}/config/validate` (and create-time checks).
    async fn validate(&self, config: &ConnectorConfig) -> ConnectResult<ConfigInfos>;
    /// `POST /connectors/{c}/tasks`: task configs a worker running the
    /// connector sends to the leader, signed over `body`.
    async fn put_task_configs(
        &self,
        _name: &str,
        _configs: Vec<ConnectorConfig>,
        _signature: Option<InternalRequestSignature>,
        _body: &[u8],
    ) -> ConnectResult<()> {
        Err(crate::ConnectError::connect(
            "Kafka Connect in standalone mode does not support externally setting task configurations.",
        ))
    }
    /// `GET /metrics`: worker and task metrics in Prometheus text format,
    /// under Kafka Connect's metric names. Not part of Kafka's REST API.
    async fn metrics(&self) -> String;
}
