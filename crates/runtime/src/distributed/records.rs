//! The records of distributed mode's three internal topics, in Java Kafka
//! Connect's formats (`KafkaConfigBackingStore`,
//! `KafkaStatusBackingStore`, `KafkaOffsetBackingStore`), so a cluster's
//! topics can pass between Java workers and Rampart workers.
//!
//! Values are what Java's JsonConverter writes with schemas disabled:
//! compact JSON, fields in schema order. Reading is lenient where Java is:
//! older config records lack `state.v2`, unknown keys are reported to the
//! caller rather than failing.

use std::collections::BTreeMap;

use base64::Engine;
use rampart_core::herder::{ConnectorTaskId, State, TargetState};
use serde_json::{json, Map, Value};

/// Why a record of a known kind cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The value is not the JSON the key's kind calls for.
    #[error("invalid value for config topic record {key}: {reason}")]
    Invalid {
        /// The record's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(key: &str, reason: impl Into<String>) -> RecordError {
    RecordError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// One record of the config topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRecord {
    /// `connector-<c>`: its config, or `None` once deleted (a tombstone).
    Connector {
        /// Connector name.
        name: String,
        /// Its properties.
        config: Option<BTreeMap<String, String>>,
    },
    /// `target-state-<c>`; `None` is a tombstone.
    TargetState {
        /// Connector name.
        name: String,
        /// The state to reach.
        state: Option<TargetState>,
    },
    /// `task-<c>-<n>`: a task's config, applied once its commit is read.
    Task {
        /// The task.
        id: ConnectorTaskId,
        /// Its properties.
        config: BTreeMap<String, String>,
    },
    /// `commit-<c>`: the connector's task configs 0..tasks are complete.
    Commit {
        /// Connector name.
        connector: String,
        /// How many tasks.
        tasks: u32,
    },
    /// `session-key`: the key that signs inter-worker requests.
    SessionKey {
        /// The raw key.
        key: Vec<u8>,
        /// `HmacSHA256` by default.
        algorithm: String,
        /// When the leader made it, in ms since the epoch.
        created_ms: i64,
    },
    /// `tasks-fencing-<c>` (exactly-once support).
    TaskCount {
        /// Connector name.
        connector: String,
        /// Tasks fenced.
        count: u32,
    },
    /// `restart-connector-<c>`: a restart the leader recorded.
    Restart {
        /// Connector name.
        connector: String,
        /// Restart the tasks too.
        include_tasks: bool,
        /// Only failed instances.
        only_failed: bool,
    },
    /// `logger-cluster-<namespace>`: a cluster-wide log level.
    LoggerLevel {
        /// The logger namespace.
        namespace: String,
        /// The level.
        level: String,
    },
}

fn properties(key: &str, value: &Value) -> Result<BTreeMap<String, String>, RecordError> {
    let props = value
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(key, "no properties object"))?;
    props
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            Value::Null => Err(invalid(key, format!("property {k} is null"))),
            other => Ok((k.clone(), other.to_string())),
        })
        .collect()
}

fn target_state_name(state: TargetState) -> &'static str {
    match state {
        TargetState::Started => "STARTED",
        TargetState::Paused => "PAUSED",
        TargetState::Stopped => "STOPPED",
    }
}

fn parse_target_state(s: &str) -> Option<TargetState> {
    match s {
        "STARTED" => Some(TargetState::Started),
        "PAUSED" => Some(TargetState::Paused),
        "STOPPED" => Some(TargetState::Stopped),
        _ => None,
    }
}

fn u32_field(key: &str, value: &Value, field: &str) -> Result<u32, RecordError> {
    value
        .get(field)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(key, format!("no {field} count")))
}

impl ConfigRecord {
    /// The record's key in the config topic.
    pub fn key(&self) -> String {
        match self {
            ConfigRecord::Connector { name, .. } => format!("connector-{name}"),
            ConfigRecord::TargetState { name, .. } => format!("target-state-{name}"),
            ConfigRecord::Task { id, .. } => format!("task-{}-{}", id.connector, id.task),
            ConfigRecord::Commit { connector, .. } => format!("commit-{connector}"),
            ConfigRecord::SessionKey { .. } => "session-key".to_string(),
            ConfigRecord::TaskCount { connector, .. } => format!("tasks-fencing-{connector}"),
            ConfigRecord::Restart { connector, .. } => format!("restart-connector-{connector}"),
            ConfigRecord::LoggerLevel { namespace, .. } => format!("logger-cluster-{namespace}"),
        }
    }

    /// The record's value as Java writes it; `None` for a tombstone.
    pub fn value(&self) -> Option<Vec<u8>> {
        let v = match self {
            ConfigRecord::Connector { config, .. } => json!({ "properties": config.as_ref()? }),
            ConfigRecord::TargetState { state, .. } => {
                let state = (*state)?;
                // Workers from before STOPPED existed read `state` only,
                // where a stopped connector is at least paused.
                let legacy = match state {
                    TargetState::Stopped => "PAUSED",
                    other => target_state_name(other),
                };
                json!({ "state": legacy, "state.v2": target_state_name(state) })
            }
            ConfigRecord::Task { config, .. } => json!({ "properties": config }),
            ConfigRecord::Commit { tasks, .. } => json!({ "tasks": tasks }),
            ConfigRecord::SessionKey {
                key,
                algorithm,
                created_ms,
            } => json!({
                "key": base64::engine::general_purpose::STANDARD.encode(key),
                "algorithm": algorithm,
                "creation-timestamp": created_ms,
            }),
            ConfigRecord::TaskCount { count, .. } => json!({ "task-count": count }),
            ConfigRecord::Restart {
                include_tasks,
                only_failed,
                ..
            } => json!({ "include-tasks": include_tasks, "only-failed": only_failed }),
            ConfigRecord::LoggerLevel { level, .. } => json!({ "level": level }),
        };
        serde_json::to_vec(&v).ok()
    }

    /// Reads a record. `Ok(None)` is a key of no kind Connect defines,
    /// which Java logs and skips.
    pub fn parse(key: &str, value: Option<&[u8]>) -> Result<Option<Self>, RecordError> {
        let json = match value {
            Some(bytes) => Some(
                serde_json::from_slice::<Value>(bytes)
                    .map_err(|e| invalid(key, format!("not JSON: {e}")))?,
            ),
            None => None,
        };
        let need = || {
            json.as_ref()
                .ok_or_else(|| invalid(key, "unexpected tombstone"))
        };
        let record = if let Some(name) = key.strip_prefix("connector-") {
            ConfigRecord::Connector {
                name: name.to_string(),
                config: json.as_ref().map(|v| properties(key, v)).transpose()?,
            }
        } else if let Some(name) = key.strip_prefix("target-state-") {
            let state = match &json {
                None => None,
                Some(v) => {
                    let s = v
                        .get("state.v2")
                        .and_then(Value::as_str)
                        .or_else(|| v.get("state").and_then(Value::as_str))
                        .ok_or_else(|| invalid(key, "no state"))?;
                    Some(
                        parse_target_state(s)
                            .ok_or_else(|| invalid(key, format!("unknown state {s}")))?,
                    )
                }
            };
            ConfigRecord::TargetState {
                name: name.to_string(),
                state,
            }
        } else if let Some(rest) = key.strip_prefix("task-") {
            // The task number is after the last '-': connector names may hold '-'.
            let (connector, n) = rest
                .rsplit_once('-')
                .ok_or_else(|| invalid(key, "no task number"))?;
            let task = n
                .parse()
                .map_err(|_| invalid(key, "task number is not a number"))?;
            ConfigRecord::Task {
                id: ConnectorTaskId {
                    connector: connector.to_string(),
                    task,
                },
                config: properties(key, need()?)?,
            }
        } else if let Some(connector) = key.strip_prefix("commit-") {
            ConfigRecord::Commit {
                connector: connector.to_string(),
                tasks: u32_field(key, need()?, "tasks")?,
            }
        } else if key == "session-key" {
            let v = need()?;
            let key_text = v
                .get("key")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(key, "no key"))?;
            ConfigRecord::SessionKey {
                key: base64::engine::general_purpose::STANDARD
                    .decode(key_text)
                    .map_err(|_| invalid(key, "key is not base64"))?,
                algorithm: v
                    .get("algorithm")
                    .and_then(Value::as_str)
                    .unwrap_or("HmacSHA256")
                    .to_string(),
                created_ms: v
                    .get("creation-timestamp")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| invalid(key, "no creation-timestamp"))?,
            }
        } else if let Some(connector) = key.strip_prefix("tasks-fencing-") {
            ConfigRecord::TaskCount {
                connector: connector.to_string(),
                count: u32_field(key, need()?, "task-count")?,
            }
        } else if let Some(connector) = key.strip_prefix("restart-connector-") {
            let v = need()?;
            ConfigRecord::Restart {
                connector: connector.to_string(),
                include_tasks: v
                    .get("include-tasks")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                only_failed: v
                    .get("only-failed")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
        } else if let Some(namespace) = key.strip_prefix("logger-cluster-") {
            ConfigRecord::LoggerLevel {
                namespace: namespace.to_string(),
                level: need()?
                    .get("level")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(key, "no level"))?
                    .to_string(),
            }
        } else {
            return Ok(None);
        };
        Ok(Some(record))
    }
}

/// A connector's or task's status in the status topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRecord {
    /// The state.
    pub state: State,
    /// The failure's trace, if failed.
    pub trace: Option<String>,
    /// The advertised `host:port` of the worker that runs it.
    pub worker_id: String,
    /// The group generation the worker wrote it in.
    pub generation: i32,
}

/// The status topic key of a connector.
pub fn connector_status_key(connector: &str) -> String {
    format!("status-connector-{connector}")
}

/// The status topic key of a task.
pub fn task_status_key(id: &ConnectorTaskId) -> String {
    format!("status-task-{}-{}", id.connector, id.task)
}

impl StatusRecord {
    /// The value Java writes.
    pub fn value(&self) -> Vec<u8> {
        let v = json!({
            "state": self.state,
            "trace": self.trace,
            "worker_id": self.worker_id,
            "generation": self.generation,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    /// Reads a status value.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        Some(StatusRecord {
            state: serde_json::from_value(v.get("state")?.clone()).ok()?,
            trace: v.get("trace").and_then(Value::as_str).map(str::to_string),
            worker_id: v.get("worker_id")?.as_str()?.to_string(),
            generation: i32::try_from(v.get("generation")?.as_i64()?).ok()?,
        })
    }
}

/// The offsets topic key of a source partition: `["<connector>",{partition}]`.
pub fn offset_key(connector: &str, partition: &Map<String, Value>) -> Vec<u8> {
    serde_json::to_vec(&json!([connector, partition])).unwrap_or_default()
}

/// The key in a form that ignores field order and spacing, for matching a
/// partition Java wrote (its maps are in HashMap order) with ours.
pub fn canonical_offset_key(bytes: &[u8]) -> Option<(String, String)> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    let arr = v.as_array()?;
    let [connector, partition] = arr.as_slice() else {
        return None;
    };
    Some((connector.as_str()?.to_string(), canonical(partition)))
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            let fields: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
