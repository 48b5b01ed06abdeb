//! Helpers shared by the benchmarks (the tests' helpers are in
//! `tests/it/support.rs`, which the benchmarks include too).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use crate::support::{bootstrap, proc_status_kb, unique};

/// Reads every record of `topic` from the beginning with a fresh consumer:
/// the broker's own consume rate, in records/s and bytes/s, the baseline of
/// the sink benchmarks.
pub fn consume_rate(topic: &str, n: usize) -> (f64, f64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("group.id", unique("bench-baseline"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for p in md.topics()[0].partitions() {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let start = Instant::now();
    let (mut count, mut bytes) = (0, 0);
    while count < n {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            if let Some(p) = m.payload() {
                count += 1;
                bytes += p.len();
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "baseline consume stalled at {count}"
        );
    }
    let secs = start.elapsed().as_secs_f64();
    (count as f64 / secs, bytes as f64 / secs)
}

/// A process's peak resident memory (VmHWM), in MB.
pub fn peak_rss_mb(pid: u32) -> f64 {
    proc_status_kb(pid, "VmHWM:") as f64 / 1024.0
}
