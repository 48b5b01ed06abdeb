//! The config topic as a log: writes connector configs, target states and
//! task configs in Java's records, and reads the topic to its end into the
//! [`ClusterConfigState`] (`KafkaConfigBackingStore` over `KafkaBasedLog`).
//!
//! The topic has one partition, so reading to the high watermark sees
//! every write acknowledged before the read started, from any worker.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::herder::{ConnectorTaskId, TargetState};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use super::config_state::ClusterConfigState;
use super::log::Follower;
use super::records::ConfigRecord;

/// The config topic: a producer for writes and a follower that replays
/// every record into the cluster's config state.
pub struct ConfigTopic {
    topic: String,
    producer: FutureProducer,
    state: Arc<Mutex<ClusterConfigState>>,
    log: Follower,
}

impl ConfigTopic {
    /// Opens the log over `topic` (which must exist, see
    /// `internal_topics::ensure`) with clients built from `base`, and reads
    /// it to its end.
    pub async fn open(base: &ClientConfig, topic: &str) -> ConnectResult<Self> {
        let producer: FutureProducer = base
            .clone()
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|e| ConnectError::connect(format!("cannot create config producer: {e}")))?;
        let state = Arc::new(Mutex::new(ClusterConfigState::new()));
        let replayed = state.clone();
        let apply = Box::new(
            move |_: i32, offset: i64, key: &[u8], value: Option<&[u8]>| {
                let key = String::from_utf8_lossy(key).into_owned();
                let Ok(mut state) = replayed.lock() else {
                    return;
                };
                match ConfigRecord::parse(&key, value) {
                    Ok(Some(record)) => state.apply(offset, record),
                    Ok(None) => {
                        tracing::warn!(key = %key, "discarding config topic record with an unknown key");
                        state.offset = offset + 1;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "discarding an unreadable config topic record");
                        state.offset = offset + 1;
                    }
                }
            },
        );
        let log = Follower::start(base, topic, "config", apply)?;
        let config = ConfigTopic {
            topic: topic.to_string(),
            producer,
            state,
            log,
        };
        config.read_to_end().await?;
        Ok(config)
    }

    /// The state as last read.
    pub fn state(&self) -> ClusterConfigState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Looks at the state as last read without copying it.
    pub fn read<R>(&self, f: impl FnOnce(&ClusterConfigState) -> R) -> R {
        match self.state.lock() {
            Ok(s) => f(&s),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Changes whenever a record is read: the herder re-reads the state.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<HashMap<i32, i64>> {
        self.log.positions()
    }

    /// Reads every record written so far and applies it; returns the
    /// state. Java's workers do this before they assign or apply work.
    pub async fn read_to_end(&self) -> ConnectResult<ClusterConfigState> {
        self.log.read_to_end().await?;
        Ok(self.state())
    }

    async fn write(&self, records: &[ConfigRecord]) -> ConnectResult<()> {
        // In order, each acknowledged before the next is sent: a commit
        // must never overtake its task records.
        for r in records {
            let key = r.key();
            let value = r.value();
            let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).key(&key);
            if let Some(v) = &value {
                record = record.payload(v);
            }
            self.producer
                .send(record, Duration::from_secs(30))
                .await
                .map_err(|(e, _)| {
                    ConnectError::retriable(format!("cannot write {key} to {}: {e}", self.topic))
                })?;
        }
        Ok(())
    }

    /// Writes a connector's config.
    pub async fn put_connector_config(
        &self,
        name: &str,
        config: BTreeMap<String, String>,
    ) -> ConnectResult<()> {
        self.write(&[ConfigRecord::Connector {
            name: name.to_string(),
            config: Some(config),
        }])
        .await
    }

    /// Writes a connector's target state.
    pub async fn put_target_state(&self, name: &str, state: TargetState) -> ConnectResult<()> {
        self.write(&[ConfigRecord::TargetState {
            name: name.to_string(),
            state: Some(state),
        }])
        .await
    }

    /// Writes a connector's task configs, then the commit that makes them
    /// take effect.
    pub async fn put_task_configs(
        &self,
        name: &str,
        tasks: Vec<BTreeMap<String, String>>,
    ) -> ConnectResult<()> {
        let count = u32::try_from(tasks.len())
            .map_err(|_| ConnectError::BadRequest("too many tasks".into()))?;
        let mut records: Vec<ConfigRecord> = tasks
            .into_iter()
            .enumerate()
            .map(|(i, config)| ConfigRecord::Task {
                id: ConnectorTaskId {
                    connector: name.to_string(),
                    task: i as u32,
                },
                config,
            })
            .collect();
        records.push(ConfigRecord::Commit {
            connector: name.to_string(),
            tasks: count,
        });
        self.write(&records).await
    }

    /// Deletes a connector: tombstones for its config, then its target
    /// state, as Java writes them.
    pub async fn remove_connector(&self, name: &str) -> ConnectResult<()> {
        self.write(&[
            ConfigRecord::Connector {
                name: name.to_string(),
                config: None,
            },
            ConfigRecord::TargetState {
                name: name.to_string(),
                state: None,
            },
        ])
        .await
    }
}

impl ConfigTopic {
    /// Writes a new session key (the leader does, for request signing).
    pub async fn put_session_key(
        &self,
        key: Vec<u8>,
        algorithm: &str,
        created_ms: i64,
    ) -> ConnectResult<()> {
        self.write(&[ConfigRecord::SessionKey {
            key,
            algorithm: algorithm.to_string(),
            created_ms,
        }])
        .await
    }

    /// Records a restart request for the workers that own the instances.
    pub async fn put_restart_request(
        &self,
        connector: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> ConnectResult<()> {
        self.write(&[ConfigRecord::Restart {
            connector: connector.to_string(),
            include_tasks,
            only_failed,
        }])
        .await
    }
}
