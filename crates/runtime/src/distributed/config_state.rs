//! The cluster's connector configs, target states and task configs, as
//! replayed from the config topic (`KafkaConfigBackingStore`'s consumed
//! callback and `ClusterConfigState`). Pure: records in, state out.
//!
//! Task configs take effect only with their `commit-` record, and only if
//! every task id below the committed count was written; otherwise the
//! connector is inconsistent and gets no tasks until its next complete
//! commit, as in Java.

use std::collections::{BTreeMap, BTreeSet};

use rampart_core::herder::{ConnectorTaskId, TargetState};

use super::assignor::ConfigSnapshot;
use super::records::ConfigRecord;

type Properties = BTreeMap<String, String>;

/// What the config topic says, up to `offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterConfigState {
    /// The next offset to read: how far the state goes (-1: nothing read).
    pub offset: i64,
    /// Connector configs.
    pub connectors: BTreeMap<String, Properties>,
    /// Target states; a connector without one is started.
    pub target_states: BTreeMap<String, TargetState>,
    /// Committed task configs.
    pub task_configs: BTreeMap<ConnectorTaskId, Properties>,
    /// Committed task counts.
    pub task_counts: BTreeMap<String, u32>,
    /// Connectors whose last commit did not match their task records.
    pub inconsistent: BTreeSet<String>,
    /// The inter-worker session key and its algorithm, if one was written.
    pub session_key: Option<(Vec<u8>, String, i64)>,
    /// The latest restart request per connector: the offset it was read
    /// at, include tasks, only failed.
    pub restart_requests: BTreeMap<String, (i64, bool, bool)>,
    // Task configs read but not yet committed.
    deferred: BTreeMap<String, BTreeMap<u32, Properties>>,
}

impl ClusterConfigState {
    /// The empty state, before anything is read.
    pub fn new() -> Self {
        ClusterConfigState {
            offset: -1,
            ..Default::default()
        }
    }

    /// Applies the record read at `offset`.
    pub fn apply(&mut self, offset: i64, record: ConfigRecord) {
        self.offset = offset + 1;
        match record {
            ConfigRecord::Connector { name, config } => match config {
                Some(config) => {
                    self.connectors.insert(name, config);
                }
                None => {
                    self.connectors.remove(&name);
                    self.task_counts.remove(&name);
                    self.task_configs.retain(|id, _| id.connector != name);
                    self.deferred.remove(&name);
                    self.inconsistent.remove(&name);
                }
            },
            ConfigRecord::TargetState { name, state } => match state {
                Some(s) => {
                    self.target_states.insert(name, s);
                }
                None => {
                    self.target_states.remove(&name);
                }
            },
            ConfigRecord::Task { id, config } => {
                self.deferred
                    .entry(id.connector)
                    .or_default()
                    .insert(id.task, config);
            }
            ConfigRecord::Commit { connector, tasks } => {
                let deferred = self.deferred.remove(&connector).unwrap_or_default();
                let complete = (0..tasks).all(|t| deferred.contains_key(&t));
                if !complete {
                    tracing::error!(
                        connector = %connector,
                        tasks,
                        "task configs commit does not match the task records read; the connector has no tasks until its next complete commit"
                    );
                    self.inconsistent.insert(connector);
                    return;
                }
                self.task_configs.retain(|id, _| id.connector != connector);
                for (task, config) in deferred.into_iter().filter(|(t, _)| *t < tasks) {
                    self.task_configs.insert(
                        ConnectorTaskId {
                            connector: connector.clone(),
                            task,
                        },
                        config,
                    );
                }
                self.task_counts.insert(connector.clone(), tasks);
                self.inconsistent.remove(&connector);
            }
            ConfigRecord::SessionKey {
                key,
                algorithm,
                created_ms,
            } => self.session_key = Some((key, algorithm, created_ms)),
            // Exactly-once fencing and cluster log levels are not acted on.
            ConfigRecord::Restart {
                connector,
                include_tasks,
                only_failed,
            } => {
                self.restart_requests
                    .insert(connector, (offset, include_tasks, only_failed));
            }
            ConfigRecord::TaskCount { connector, .. } => tracing::debug!(
                connector = %connector,
                "ignoring a task count record: exactly-once source support is not implemented"
            ),
            ConfigRecord::LoggerLevel { namespace, .. } => tracing::info!(
                namespace = %namespace,
                "ignoring a cluster-wide log level: set levels per worker with /admin/loggers"
            ),
        }
    }

    /// A connector's target state (started unless one was written).
    pub fn target_state(&self, connector: &str) -> TargetState {
        self.target_states
            .get(connector)
            .copied()
            .unwrap_or(TargetState::Started)
    }

    /// The connectors and their task counts, for the assignor: an
    /// inconsistent connector has no tasks to assign.
    pub fn snapshot(&self) -> ConfigSnapshot {
        ConfigSnapshot {
            task_counts: self
                .connectors
                .keys()
                .map(|c| {
                    let n = if self.inconsistent.contains(c) {
                        0
                    } else {
                        self.task_counts.get(c).copied().unwrap_or(0)
                    };
                    (c.clone(), n)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn task(c: &str, t: u32) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: c.into(),
            task: t,
        }
    }

    /// Replays records as the config topic would hold them.
    fn replay(records: &[(&str, Option<&str>)]) -> ClusterConfigState {
        let mut state = ClusterConfigState::new();
        for (offset, (key, value)) in records.iter().enumerate() {
            if let Some(r) = ConfigRecord::parse(key, value.map(str::as_bytes)).unwrap() {
                state.apply(offset as i64, r);
            }
        }
        state
    }

    #[test]
    fn task_configs_apply_only_with_their_commit() {
        let s = replay(&[
            (
                "connector-fs",
                Some(r#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"2"}}"#),
            ),
            (
                "task-fs-0",
                Some(r#"{"properties":{"task.class":"T","file":"a"}}"#),
            ),
            (
                "task-fs-1",
                Some(r#"{"properties":{"task.class":"T","file":"b"}}"#),
            ),
        ]);
        assert_eq!(s.snapshot().task_counts["fs"], 0, "not committed yet");
        assert!(s.task_configs.is_empty());
        assert_eq!(s.offset, 3);

        let s = replay(&[
            (
                "connector-fs",
                Some(r#"{"properties":{"connector.class":"FileStreamSource"}}"#),
            ),
            ("task-fs-0", Some(r#"{"properties":{"file":"a"}}"#)),
            ("task-fs-1", Some(r#"{"properties":{"file":"b"}}"#)),
            ("commit-fs", Some(r#"{"tasks":2}"#)),
            (
                "target-state-fs",
                Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            ),
        ]);
        assert_eq!(s.snapshot().task_counts["fs"], 2);
        assert_eq!(s.task_configs[&task("fs", 1)], props(&[("file", "b")]));
        assert_eq!(s.target_state("fs"), TargetState::Stopped);
        assert_eq!(s.target_state("other"), TargetState::Started);
    }

    #[test]
    fn an_incomplete_commit_makes_the_connector_inconsistent_until_a_complete_one() {
        let mut s = replay(&[
            ("connector-fs", Some(r#"{"properties":{}}"#)),
            ("task-fs-0", Some(r#"{"properties":{"n":"0"}}"#)),
            ("commit-fs", Some(r#"{"tasks":2}"#)),
        ]);
        assert!(s.inconsistent.contains("fs"));
        assert_eq!(s.snapshot().task_counts["fs"], 0);
        for (key, value) in [
            ("task-fs-0", r#"{"properties":{"n":"0"}}"#),
            ("task-fs-1", r#"{"properties":{"n":"1"}}"#),
            ("commit-fs", r#"{"tasks":2}"#),
        ] {
            let r = ConfigRecord::parse(key, Some(value.as_bytes()))
                .unwrap()
                .unwrap();
            s.apply(10, r);
        }
        assert!(!s.inconsistent.contains("fs"));
        assert_eq!(s.snapshot().task_counts["fs"], 2);
    }

    #[test]
    fn fewer_tasks_replace_the_old_ones_and_a_tombstone_deletes_the_connector() {
        let mut s = replay(&[
            ("connector-fs", Some(r#"{"properties":{}}"#)),
            ("task-fs-0", Some(r#"{"properties":{}}"#)),
            ("task-fs-1", Some(r#"{"properties":{}}"#)),
            ("commit-fs", Some(r#"{"tasks":2}"#)),
            ("task-fs-0", Some(r#"{"properties":{"v":"2"}}"#)),
            ("commit-fs", Some(r#"{"tasks":1}"#)),
        ]);
        assert_eq!(s.task_configs.len(), 1);
        assert_eq!(s.task_configs[&task("fs", 0)], props(&[("v", "2")]));
        for (key, value) in [("connector-fs", None), ("target-state-fs", None)] {
            let r = ConfigRecord::parse(key, value).unwrap().unwrap();
            s.apply(20, r);
        }
        assert!(s.connectors.is_empty() && s.task_configs.is_empty() && s.task_counts.is_empty());
        assert_eq!(s.offset, 21);
    }
}
