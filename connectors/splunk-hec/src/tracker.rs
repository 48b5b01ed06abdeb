//! Which offsets are safe to commit, and how much is held in memory.
//!
//! Each batch registers, per original topic partition, the offset of its
//! first record. A partition's offsets are committed up to the smallest
//! first offset of a batch still outstanding: every record before it was
//! delivered (acknowledged, when acks are on), sent to the dead-letter
//! queue, or had no value to send. With no batch outstanding, everything
//! the worker handed to `put` is done.

use std::collections::{BTreeSet, HashMap};

use rampart_core::connector::SinkOffsets;
use rampart_core::record::TopicPartition;

/// What one batch holds back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hold {
    /// The batch's id, unique in the task: after a rebalance the same
    /// records come again, and an old batch finishing must not release the
    /// new one that starts at the same offset.
    pub id: u64,
    /// First offset of the batch per original topic partition.
    pub starts: Vec<(TopicPartition, i64)>,
    /// Events in the batch.
    pub events: usize,
    /// Bytes held for it (body and records).
    pub bytes: usize,
}

/// Outstanding batches of one task.
#[derive(Debug, Default)]
pub struct Tracker {
    outstanding: HashMap<TopicPartition, BTreeSet<(i64, u64)>>,
    events: usize,
    bytes: usize,
}

impl Tracker {
    /// Registers a batch about to be sent.
    pub fn hold(&mut self, hold: &Hold) {
        for (tp, start) in &hold.starts {
            self.outstanding
                .entry(tp.clone())
                .or_default()
                .insert((*start, hold.id));
        }
        self.events += hold.events;
        self.bytes += hold.bytes;
    }

    /// Gives back part of a batch's bytes (its records, once HEC took them).
    pub fn release_bytes(&mut self, bytes: usize) {
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    /// A batch is done: delivered, reported, or skipped. `bytes` is what it
    /// still holds.
    pub fn done(&mut self, hold: &Hold, bytes: usize) {
        for (tp, start) in &hold.starts {
            if let Some(set) = self.outstanding.get_mut(tp) {
                set.remove(&(*start, hold.id));
                if set.is_empty() {
                    self.outstanding.remove(tp);
                }
            }
        }
        self.events = self.events.saturating_sub(hold.events);
        self.release_bytes(bytes);
    }

    /// Forgets partitions taken away from the task.
    pub fn close(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            self.outstanding.remove(tp);
        }
    }

    /// Events outstanding.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The offsets safe to commit, given the worker's current offsets
    /// (next offset to consume per partition).
    pub fn committable(&self, current: &SinkOffsets) -> SinkOffsets {
        current
            .iter()
            .map(|(tp, next)| {
                let safe = self
                    .outstanding
                    .get(tp)
                    .and_then(|s| s.first())
                    .map_or(*next, |(first, _)| (*first).min(*next));
                (tp.clone(), safe)
            })
            .collect()
    }
}
