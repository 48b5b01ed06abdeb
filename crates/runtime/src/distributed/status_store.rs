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
use std::time::{Duration, Instant};

use dashmap::DashMap;
use rampart_core::herder::{ConnectorState, ConnectorTaskId, TaskState};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::records::{connector_status_key, task_status_key, StatusRecord};
use crate::stores::StatusBackingStore;

/// The status topic as a [`StatusBackingStore`].
pub struct KafkaStatusBackingStore {
    topic: String,
    producer: FutureProducer,
    consumer_config: ClientConfig,
    generation: AtomicI32,
    statuses: DashMap<String, StatusRecord>,
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
        let store = KafkaStatusBackingStore {
            topic: topic.to_string(),
            producer,
            consumer_config: base.clone(),
            generation: AtomicI32::new(-1),
            statuses: DashMap::new(),
        };
        store.read_to_end().await?;
        Ok(store)
    }

    /// The group generation this worker's writes carry.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// Reads what every worker wrote, up to the topic's current end.
    pub async fn read_to_end(&self) -> ConnectResult<()> {
        let config = self.consumer_config.clone();
        let topic = self.topic.clone();
        let records = tokio::task::spawn_blocking(move || read_all(&config, &topic))
            .await
            .map_err(|e| ConnectError::connect(format!("status reader panicked: {e}")))??;
        for (key, value) in records {
            match value.as_deref().and_then(StatusRecord::parse) {
                Some(status) => {
                    self.statuses.insert(key, status);
                }
                None => {
                    self.statuses.remove(&key);
                }
            }
        }
        Ok(())
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

fn read_all(config: &ClientConfig, topic: &str) -> ConnectResult<Vec<(String, Option<Vec<u8>>)>> {
    let fail = |what: &str, e: rdkafka::error::KafkaError| {
        ConnectError::retriable(format!("cannot read status topic {topic}: {what}: {e}"))
    };
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", "rampart-status-reader")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| fail("consumer", e))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| fail("metadata", e))?;
    let mut ends = std::collections::HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics().iter().filter(|t| t.name() == topic) {
        for p in t.partitions() {
            let (low, high) = super::log::watermarks(&consumer, topic, p.id())
                .map_err(|e| fail("watermarks", e))?;
            if high > low {
                ends.insert(p.id(), high);
                tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                    .map_err(|e| fail("assign", e))?;
            }
        }
    }
    let mut out = Vec::new();
    if ends.is_empty() {
        return Ok(out);
    }
    consumer.assign(&tpl).map_err(|e| fail("assign", e))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ends.is_empty() {
        if Instant::now() > deadline {
            return Err(ConnectError::retriable(format!(
                "timed out reading status topic {topic} to its end"
            )));
        }
        // A transient error (a leader moving) is retried until the deadline.
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push((
                String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                m.payload().map(<[u8]>::to_vec),
            ));
            if ends
                .get(&m.partition())
                .is_some_and(|end| m.offset() + 1 >= *end)
            {
                ends.remove(&m.partition());
            }
        }
    }
    Ok(out)
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
