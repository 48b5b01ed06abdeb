//! The config topic as a log: writes connector configs, target states and
//! task configs in Java's records, and reads the topic to its end into the
//! [`ClusterConfigState`] (`KafkaConfigBackingStore` over `KafkaBasedLog`).
//!
//! The topic has one partition, so reading to the high watermark sees
//! every write acknowledged before the read started, from any worker.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rampart_core::herder::{ConnectorTaskId, TargetState};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::config_state::ClusterConfigState;
use super::records::ConfigRecord;

/// The config topic: a producer for writes and a consumer that replays.
pub struct ConfigTopic {
    topic: String,
    producer: FutureProducer,
    consumer: Mutex<BaseConsumer>,
    state: Mutex<ClusterConfigState>,
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
        let consumer: BaseConsumer = base
            .clone()
            .set("group.id", "rampart-config-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .create()
            .map_err(|e| ConnectError::connect(format!("cannot create config consumer: {e}")))?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, 0, Offset::Beginning)
            .and_then(|_| consumer.assign(&tpl))
            .map_err(|e| ConnectError::connect(format!("cannot read config topic {topic}: {e}")))?;
        let log = ConfigTopic {
            topic: topic.to_string(),
            producer,
            consumer: Mutex::new(consumer),
            state: Mutex::new(ClusterConfigState::new()),
        };
        log.read_to_end().await?;
        Ok(log)
    }

    /// The state as last read.
    pub fn state(&self) -> ClusterConfigState {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Reads every record written so far and applies it; returns the
    /// state. Java's workers do this before they assign or apply work.
    pub async fn read_to_end(&self) -> ConnectResult<ClusterConfigState> {
        tokio::task::block_in_place(|| self.read_to_end_blocking())
    }

    fn read_to_end_blocking(&self) -> ConnectResult<ClusterConfigState> {
        let fail = |what: &str, e: rdkafka::error::KafkaError| {
            ConnectError::retriable(format!(
                "cannot read config topic {}: {what}: {e}",
                self.topic
            ))
        };
        let consumer = self
            .consumer
            .lock()
            .map_err(|_| ConnectError::connect("config reader lock poisoned"))?;
        let (_, end) =
            super::log::watermarks(&consumer, &self.topic, 0).map_err(|e| fail("watermarks", e))?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| ConnectError::connect("config state lock poisoned"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while state.offset.max(0) < end {
            if Instant::now() > deadline {
                return Err(ConnectError::retriable(format!(
                    "timed out reading config topic {} to offset {end}",
                    self.topic
                )));
            }
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                    match ConfigRecord::parse(&key, m.payload()) {
                        Ok(Some(record)) => state.apply(m.offset(), record),
                        Ok(None) => {
                            tracing::warn!(key = %key, "discarding config topic record with an unknown key");
                            state.offset = m.offset() + 1;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "discarding an unreadable config topic record");
                            state.offset = m.offset() + 1;
                        }
                    }
                }
                // Transient (a leader moving): the deadline bounds the wait.
                Some(Err(e)) => tracing::debug!(error = %e, "internal topic read error; retrying"),
                None => {}
            }
        }
        Ok(state.clone())
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
