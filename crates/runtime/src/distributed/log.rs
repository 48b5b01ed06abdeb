//! What the internal topics' readers share.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rampart_core::{ConnectError, ConnectResult};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// A partition's low and high watermarks, asked again while the cluster
/// cannot answer yet: a topic created a moment ago has no partition
/// leaders for a little while (NotLeaderForPartition), and a worker that
/// starts then must wait, not fail.
pub(crate) fn watermarks(
    consumer: &BaseConsumer,
    topic: &str,
    partition: i32,
) -> Result<(i64, i64), KafkaError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match consumer.fetch_watermarks(topic, partition, Duration::from_secs(10)) {
            Ok(w) => return Ok(w),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(topic, partition, error = %e, "watermarks not available yet; retrying");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Positions reached by a [`Follower`]: per partition, the next offset.
type Positions = HashMap<i32, i64>;

/// A topic read from its start and then followed, record by record, on a
/// thread of its own (Java's `KafkaBasedLog` work thread): what other
/// workers write reaches `apply` within one poll interval, and
/// [`Follower::read_to_end`] waits until everything written before it
/// was called has been applied.
pub(crate) struct Follower {
    topic: String,
    purpose: &'static str,
    metadata: BaseConsumer,
    positions: tokio::sync::watch::Receiver<Positions>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// What a follower does with each record: partition, offset, key, value.
pub(crate) type Apply = Box<dyn FnMut(i32, i64, &[u8], Option<&[u8]>) + Send>;

impl Follower {
    /// Starts following every partition of `topic` from its beginning.
    pub(crate) fn start(
        config: &ClientConfig,
        topic: &str,
        purpose: &'static str,
        mut apply: Apply,
    ) -> ConnectResult<Self> {
        let fail = |what: &str, e: KafkaError| {
            ConnectError::retriable(format!("cannot read {purpose} topic {topic}: {what}: {e}"))
        };
        let client = |id: &str| -> ConnectResult<BaseConsumer> {
            config
                .clone()
                .set("group.id", format!("rampart-{purpose}-{id}"))
                .set("enable.auto.commit", "false")
                .set("enable.partition.eof", "false")
                .create()
                .map_err(|e| fail("consumer", e))
        };
        let metadata = client("metadata")?;
        let consumer = client("reader")?;
        let partitions =
            partitions_once_known(&metadata, topic).map_err(|e| fail("metadata", e))?;
        if partitions.is_empty() {
            // As Java's KafkaBasedLog: a topic whose partitions the broker
            // cannot name yet is an error, never a reader of nothing, which
            // would count itself caught up and leave the worker blind.
            return Err(ConnectError::retriable(format!(
                "Could not look up partition metadata for {purpose} topic {topic} in allotted period"
            )));
        }
        let mut tpl = TopicPartitionList::new();
        for p in &partitions {
            tpl.add_partition_offset(topic, *p, Offset::Beginning)
                .map_err(|e| fail("assign", e))?;
        }
        consumer.assign(&tpl).map_err(|e| fail("assign", e))?;
        let (tx, positions) = tokio::sync::watch::channel(Positions::new());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let name = topic.to_string();
        std::thread::Builder::new()
            .name(format!("{purpose}-log"))
            .spawn(move || {
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => apply(m.partition(), m.offset(), m.key().unwrap_or_default(), m.payload()),
                        Some(Err(e)) => {
                            tracing::debug!(topic = %name, error = %e, "internal topic read error; retrying")
                        }
                        None => {}
                    }
                    // The consumer's position, not the last record's offset:
                    // it also moves past transaction markers.
                    if let Ok(list) = consumer.position() {
                        let now: Positions = list
                            .elements()
                            .iter()
                            .filter_map(|e| match e.offset() {
                                Offset::Offset(o) => Some((e.partition(), o)),
                                _ => None,
                            })
                            .collect();
                        tx.send_if_modified(|p| {
                            let changed = *p != now;
                            if changed {
                                *p = now;
                            }
                            changed
                        });
                    }
                }
            })
            .map_err(|e| ConnectError::connect(format!("cannot start {purpose} reader: {e}")))?;
        Ok(Follower {
            topic: topic.to_string(),
            purpose,
            metadata,
            positions,
            stop,
        })
    }

    /// A receiver that changes whenever the follower moves on.
    pub(crate) fn positions(&self) -> tokio::sync::watch::Receiver<Positions> {
        self.positions.clone()
    }

    /// Waits until every record written before this call has been applied.
    pub(crate) async fn read_to_end(&self) -> ConnectResult<()> {
        let ends = tokio::task::block_in_place(|| self.ends())?;
        let mut positions = self.positions.clone();
        let caught_up = positions.wait_for(|p| {
            ends.iter()
                .all(|(part, end)| p.get(part).copied().unwrap_or(0) >= *end)
        });
        let waited = tokio::time::timeout(Duration::from_secs(60), caught_up)
            .await
            .map(|r| r.map(|_| ()));
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(ConnectError::connect(format!(
                "the {} topic {} reader stopped",
                self.purpose, self.topic
            ))),
            Err(_) => Err(ConnectError::retriable(format!(
                "timed out reading {} topic {} to its end",
                self.purpose, self.topic
            ))),
        }
    }

    fn ends(&self) -> ConnectResult<Vec<(i32, i64)>> {
        let fail = |what: &str, e: KafkaError| {
            ConnectError::retriable(format!(
                "cannot read {} topic {}: {what}: {e}",
                self.purpose, self.topic
            ))
        };
        let mut ends = Vec::new();
        for p in partitions(&self.metadata, &self.topic).map_err(|e| fail("metadata", e))? {
            let (_, high) =
                watermarks(&self.metadata, &self.topic, p).map_err(|e| fail("watermarks", e))?;
            ends.push((p, high));
        }
        Ok(ends)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The topic's partitions, asking again for up to 30 s while the broker
/// does not know them yet (a topic just created, under load).
fn partitions_once_known(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, KafkaError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut pause = Duration::from_millis(50);
    loop {
        let found = partitions(consumer, topic)?;
        if !found.is_empty() || std::time::Instant::now() >= deadline {
            return Ok(found);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, KafkaError> {
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    Ok(metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect())
}
