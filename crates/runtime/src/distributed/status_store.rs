//! Connector and task statuses in the status topic
//! (`status.storage.topic`), in Java Connect's format
//! (`KafkaStatusBackingStore`): what every worker reports about what it
//! runs, readable by all of them.
//!
//! Writes are guarded as Java's `putSafe` guards them: a status is written
//! only if nothing is known of the connector or task, or the known status
//! came from the same worker, or this worker's generation is at least as
//! new. A worker that lost its work in a rebalance cannot then overwrite
//! the status its new owner wrote.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use rampart_core::herder::{ConnectorState, ConnectorTaskId, TaskState};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;

use super::log::Follower;
use super::records::{connector_status_key, task_status_key, StatusRecord};
use crate::stores::StatusBackingStore;

/// The status topic as a [`StatusBackingStore`].
pub struct KafkaStatusBackingStore {
    topic: String,
    producer: FutureProducer,
    generation: AtomicI32,
    statuses: Arc<DashMap<String, StatusRecord>>,
    log: Follower,
}

impl KafkaStatusBackingStore {
    /// Opens the store over `topic` with clients built from `base`, and
    /// reads the topic to its end.
    pub async fn open(base: &ClientConfig, topic: &str) -> ConnectResult<Self> {
        let producer: FutureProducer = base
            .clone()
            .set("partitioner", "murmur2_random")
            .set("acks", "all")
            .set("message.timeout.ms", "30000")
            .create()
            .map_err(|e| ConnectError::connect(format!("cannot create status producer: {e}")))?;
        let statuses: Arc<DashMap<String, StatusRecord>> = Arc::default();
        let replayed = statuses.clone();
        let apply = Box::new(move |_: i32, _: i64, key: &[u8], value: Option<&[u8]>| {
            let key = String::from_utf8_lossy(key).into_owned();
            match value.and_then(StatusRecord::parse) {
                Some(status) => {
                    replayed.insert(key, status);
                }
                None => {
                    replayed.remove(&key);
                }
            }
        });
        let log = Follower::start(base, topic, "status", apply)?;
        let store = KafkaStatusBackingStore {
            topic: topic.to_string(),
            producer,
            generation: AtomicI32::new(-1),
            statuses,
            log,
        };
        store.read_to_end().await?;
        Ok(store)
    }

    /// The group generation this worker's writes carry.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// Waits until what every worker wrote before this call has been read.
    pub async fn read_to_end(&self) -> ConnectResult<()> {
        self.log.read_to_end().await
    }

    fn put_safe(&self, key: String, status: StatusRecord) {
        let allowed = match self.statuses.get(&key) {
            None => true,
            Some(known) => {
                known.worker_id == status.worker_id || status.generation >= known.generation
            }
        };
        if !allowed {
            tracing::debug!(key = %key, "not overwriting a status written by a newer generation");
            return;
        }
        self.write(&key, Some(status.value()));
        self.statuses.insert(key, status);
    }

    fn write(&self, key: &str, value: Option<Vec<u8>>) {
        let mut record: FutureRecord<'_, str, [u8]> = FutureRecord::to(&self.topic).key(key);
        if let Some(v) = &value {
            record = record.payload(v);
        }
        // librdkafka retries until message.timeout.ms; a status lost after
        // that is rewritten at the task's next state change.
        match self.producer.send_result(record) {
            Ok(delivery) => {
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    let key = key.to_string();
                    handle.spawn(async move {
                        if let Ok(Err((e, _))) = delivery.await {
                            tracing::warn!(key = %key, error = %e, "status write failed");
                        }
                    });
                }
            }
            Err((e, _)) => tracing::warn!(key = %key, error = %e, "status write not queued"),
        }
    }

    fn record(
        &self,
        state: rampart_core::herder::State,
        worker_id: &str,
        trace: Option<String>,
    ) -> StatusRecord {
        StatusRecord {
            state,
            trace,
            worker_id: worker_id.to_string(),
            generation: self.generation.load(Ordering::SeqCst),
        }
    }
}

impl StatusBackingStore for KafkaStatusBackingStore {
    fn put_connector(&self, name: &str, state: ConnectorState) {
        let record = self.record(state.state, &state.worker_id, state.trace);
        self.put_safe(connector_status_key(name), record);
    }

    fn put_task(&self, id: &ConnectorTaskId, state: TaskState) {
        let record = self.record(state.state, &state.worker_id, state.trace);
        self.put_safe(task_status_key(id), record);
    }

    fn connector(&self, name: &str) -> Option<ConnectorState> {
        self.statuses
            .get(&connector_status_key(name))
            .map(|s| ConnectorState {
                state: s.state,
                worker_id: s.worker_id.clone(),
                trace: s.trace.clone(),
            })
    }

    fn task(&self, id: &ConnectorTaskId) -> Option<TaskState> {
        self.statuses.get(&task_status_key(id)).map(|s| TaskState {
            id: id.task,
            state: s.state,
            worker_id: s.worker_id.clone(),
            trace: s.trace.clone(),
        })
    }

    fn tasks(&self, name: &str) -> Vec<TaskState> {
        let prefix = format!("status-task-{name}-");
        let mut out: Vec<TaskState> = self
            .statuses
            .iter()
            .filter_map(|e| {
                let task: u32 = e.key().strip_prefix(&prefix)?.parse().ok()?;
                Some(TaskState {
                    id: task,
                    state: e.value().state,
                    worker_id: e.value().worker_id.clone(),
                    trace: e.value().trace.clone(),
                })
            })
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    fn remove_connector(&self, name: &str) {
        // DESTROYED is written as tombstones, the connector's and its tasks'.
        let prefix = format!("status-task-{name}-");
        let keys: Vec<String> = self
            .statuses
            .iter()
            .map(|e| e.key().clone())
            .filter(|k| {
                k.strip_prefix(&prefix)
                    .is_some_and(|n| n.parse::<u32>().is_ok())
            })
            .chain(std::iter::once(connector_status_key(name)))
            .collect();
        for key in keys {
            self.write(&key, None);
            self.statuses.remove(&key);
        }
    }

    fn remove_task(&self, id: &ConnectorTaskId) {
        let key = task_status_key(id);
        self.write(&key, None);
        self.statuses.remove(&key);
    }
}
