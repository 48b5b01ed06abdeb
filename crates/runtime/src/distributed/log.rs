//! What the internal topics' readers share.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rampart_core::{ConnectError, ConnectResult};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

/// A record's key (empty when null) and value (`None`: a tombstone).
pub(crate) type RawRecord = (Vec<u8>, Option<Vec<u8>>);

/// Every record of every partition of `topic`, from the start to the end
/// it had when the read began: what the other workers wrote
/// (`KafkaBasedLog.readToEnd`). `purpose` names the topic in errors.
pub(crate) fn read_to_end(
    config: &ClientConfig,
    topic: &str,
    purpose: &str,
) -> ConnectResult<Vec<RawRecord>> {
    let fail = |what: &str, e: KafkaError| {
        ConnectError::retriable(format!("cannot read {purpose} topic {topic}: {what}: {e}"))
    };
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", format!("rampart-{purpose}-reader"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .map_err(|e| fail("consumer", e))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .map_err(|e| fail("metadata", e))?;
    let mut ends = HashMap::new();
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics().iter().filter(|t| t.name() == topic) {
        for p in t.partitions() {
            let (low, high) =
                watermarks(&consumer, topic, p.id()).map_err(|e| fail("watermarks", e))?;
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
                "timed out reading {purpose} topic {topic} to its end"
            )));
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                out.push((
                    m.key().unwrap_or_default().to_vec(),
                    m.payload().map(<[u8]>::to_vec),
                ));
                if ends
                    .get(&m.partition())
                    .is_some_and(|end| m.offset() + 1 >= *end)
                {
                    ends.remove(&m.partition());
                }
            }
            // Transient (a leader moving): the deadline bounds the wait.
            Some(Err(e)) => tracing::debug!(error = %e, "internal topic read error; retrying"),
            None => {}
        }
    }
    Ok(out)
}

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
