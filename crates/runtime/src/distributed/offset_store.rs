//! Source offsets in the offsets topic (`offset.storage.topic`), in Java
//! Connect's format (`KafkaOffsetBackingStore`): key
//! `["<connector>",{partition}]`, value the offset as JSON, a tombstone to
//! remove one. A partition is matched whatever order its fields were
//! written in, and rewritten under the exact key bytes it was read with, so
//! compaction keeps one record per partition across Java and Rampart.
//!
//! Records are produced with Java's murmur2 partitioner, so a key lands in
//! the partition a Java worker would write it to.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::Value;

use super::log::Follower;
use super::records::{canonical_offset_key, offset_key};
use crate::stores::OffsetBackingStore;

/// One stored offset.
#[derive(Debug, Clone)]
struct Entry {
    connector: String,
    partition: SourceMap,
    offset: SourceMap,
    // The key as it was written, reused for rewrites and tombstones.
    key: Vec<u8>,
}

/// The offsets topic as an [`OffsetBackingStore`].
pub struct KafkaOffsetBackingStore {
    topic: String,
    producer: FutureProducer,
    data: Arc<RwLock<HashMap<(String, String), Entry>>>,
    log: Follower,
}

impl KafkaOffsetBackingStore {
    /// Opens the store over `topic` with clients built from `base` (the
    /// worker's bootstrap and security settings), and reads the topic to
    /// its end.
    pub async fn open(base: &ClientConfig, topic: &str) -> ConnectResult<Self> {
        let mut producer = base.clone();
        // Java's DefaultPartitioner hashes keys with murmur2, and offsets
        // must not be lost or reordered.
        producer
            .set("partitioner", "murmur2_random")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", "30000");
        let producer: FutureProducer = producer
            .create()
            .map_err(|e| ConnectError::connect(format!("cannot create offsets producer: {e}")))?;
        let data: Arc<RwLock<HashMap<(String, String), Entry>>> = Arc::default();
        let replayed = data.clone();
        let apply = Box::new(move |_: i32, _: i64, key: &[u8], value: Option<&[u8]>| {
            if let Ok(mut data) = replayed.write() {
                apply(&mut data, key, value);
            }
        });
        let log = Follower::start(base, topic, "offsets", apply)?;
        let store = KafkaOffsetBackingStore {
            topic: topic.to_string(),
            producer,
            data,
            log,
        };
        store.read_to_end().await?;
        Ok(store)
    }

    /// Waits until what every worker wrote before this call has been
    /// read, as a Java worker does at start and after each rebalance.
    pub async fn read_to_end(&self) -> ConnectResult<()> {
        self.log.read_to_end().await
    }
}

fn apply(data: &mut HashMap<(String, String), Entry>, key: &[u8], value: Option<&[u8]>) {
    let Some((connector, canonical)) = canonical_offset_key(key) else {
        tracing::warn!(key = %String::from_utf8_lossy(key), "ignoring an offsets topic record with a key that is not [connector, partition]");
        return;
    };
    let id = (connector.clone(), canonical);
    let offset = value.and_then(|v| serde_json::from_slice::<Value>(v).ok());
    match offset {
        Some(Value::Object(offset)) => {
            let partition = serde_json::from_slice::<Value>(key)
                .ok()
                .and_then(|k| k.get(1).and_then(Value::as_object).cloned())
                .unwrap_or_default();
            data.insert(
                id,
                Entry {
                    connector,
                    partition,
                    offset,
                    key: key.to_vec(),
                },
            );
        }
        // A tombstone, or a value that is no offset: the partition has none.
        _ => {
            data.remove(&id);
        }
    }
}

#[async_trait]
impl OffsetBackingStore for KafkaOffsetBackingStore {
    fn get(&self, connector: &str, partition: &SourceMap) -> Option<SourceMap> {
        let key = offset_key(connector, partition);
        let id = canonical_offset_key(&key)?;
        self.data.read().ok()?.get(&id).map(|e| e.offset.clone())
    }

    fn connector_offsets(&self, connector: &str) -> Vec<(SourceMap, SourceMap)> {
        self.data
            .read()
            .map(|d| {
                d.values()
                    .filter(|e| e.connector == connector)
                    .map(|e| (e.partition.clone(), e.offset.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn put(
        &self,
        connector: &str,
        entries: Vec<(SourceMap, Option<SourceMap>)>,
    ) -> ConnectResult<()> {
        let mut writes = Vec::with_capacity(entries.len());
        for (partition, offset) in entries {
            let ours = offset_key(connector, &partition);
            let Some(id) = canonical_offset_key(&ours) else {
                continue;
            };
            // Rewrite under the bytes already in the topic, if any.
            let key = self
                .data
                .read()
                .ok()
                .and_then(|d| d.get(&id).map(|e| e.key.clone()))
                .unwrap_or(ours);
            let value = offset
                .as_ref()
                .map(|o| serde_json::to_vec(o).unwrap_or_default());
            writes.push((id, key, partition, offset, value));
        }
        let mut pending = Vec::with_capacity(writes.len());
        for (_, key, _, _, value) in &writes {
            let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&self.topic).key(key);
            if let Some(v) = value {
                record = record.payload(v);
            }
            pending.push(self.producer.send(record, Duration::from_secs(30)));
        }
        for delivery in futures::future::join_all(pending).await {
            delivery.map_err(|(e, _)| {
                ConnectError::retriable(format!("cannot write offsets to {}: {e}", self.topic))
            })?;
        }
        let mut data = self
            .data
            .write()
            .map_err(|_| ConnectError::connect("offset store lock poisoned"))?;
        for (id, key, partition, offset, _) in writes {
            match offset {
                Some(offset) => {
                    data.insert(
                        id,
                        Entry {
                            connector: connector.to_string(),
                            partition,
                            offset,
                            key,
                        },
                    );
                }
                None => {
                    data.remove(&id);
                }
            }
        }
        Ok(())
    }

    async fn clear(&self, connector: &str) -> ConnectResult<()> {
        let partitions: Vec<(SourceMap, Option<SourceMap>)> = self
            .connector_offsets(connector)
            .into_iter()
            .map(|(p, _)| (p, None))
            .collect();
        self.put(connector, partitions).await
    }
}
