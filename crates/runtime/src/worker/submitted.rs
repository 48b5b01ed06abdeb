//! `SubmittedRecords`: the records a source task handed to the producer, in
//! order, so a source offset becomes committable only once the broker
//! acknowledged its record and every record before it (Kafka Connect's
//! `SubmittedRecords`).
//!
//! The producer's delivery callback acknowledges a record by its sequence
//! number, carried as librdkafka's per-message opaque. Nothing is allocated
//! and no task is woken per record: a future and a channel message per
//! record cost more than parsing and converting a syslog line did.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rampart_core::connector::RecordCommitter;
use rampart_core::record::SourceMap;
use rampart_core::ConnectError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::ClientContext;
use tokio::sync::{oneshot, Notify};

use super::metrics::TaskMetrics;
use super::TaskShared;

/// A record's source partition and offset, when the task gave them.
pub(crate) type Position = Option<(SourceMap, SourceMap)>;

/// Offsets acknowledged but not yet written to the offset store, keyed by
/// the source partition's JSON text.
pub(crate) type Committable = HashMap<String, (SourceMap, SourceMap)>;

struct Slot {
    acked: bool,
    position: Position,
}

#[derive(Default)]
struct Window {
    /// Sequence number of `slots[0]`.
    base: u64,
    slots: VecDeque<Slot>,
    committable: Committable,
    /// The last source partition made committable, and its key: most
    /// sources have few partitions, so the map is rarely serialised.
    last_key: Option<(SourceMap, String)>,
    /// The task waits for room: the next acknowledgement wakes it.
    waiting: bool,
}

impl Window {
    // Moves the acknowledged prefix into `committable`; returns how many
    // records it held.
    fn advance(&mut self) -> usize {
        let mut done = 0;
        while self.slots.front().is_some_and(|s| s.acked) {
            let Some(slot) = self.slots.pop_front() else {
                break;
            };
            self.base += 1;
            done += 1;
            let Some((partition, offset)) = slot.position else {
                continue;
            };
            let key = match &self.last_key {
                Some((p, k)) if *p == partition => k.clone(),
                _ => {
                    let k = serde_json::Value::Object(partition.clone()).to_string();
                    self.last_key = Some((partition.clone(), k.clone()));
                    k
                }
            };
            self.committable.insert(key, (partition, offset));
        }
        done
    }
}

/// The in-order window of one source task's submitted records.
pub(crate) struct SubmittedRecords {
    window: Mutex<Window>,
    room: Notify,
    failure: Mutex<Option<oneshot::Sender<ConnectError>>>,
    /// The task's per-record acknowledgement, set once it has started.
    committer: OnceLock<Arc<dyn RecordCommitter>>,
}

impl SubmittedRecords {
    /// A new window, and the receiver of its first delivery failure.
    pub(crate) fn new() -> (Arc<Self>, oneshot::Receiver<ConnectError>) {
        let (tx, rx) = oneshot::channel();
        let submitted = SubmittedRecords {
            window: Mutex::default(),
            room: Notify::new(),
            failure: Mutex::new(Some(tx)),
            committer: OnceLock::new(),
        };
        (Arc::new(submitted), rx)
    }

    fn lock(&self) -> MutexGuard<'_, Window> {
        // A panic while holding the lock leaves plain counters behind, and
        // the window stays consistent: keep going rather than cascade.
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a record sent to the producer; returns its sequence number, the
    /// delivery opaque that acknowledges it.
    pub(crate) fn submit(&self, position: Position) -> u64 {
        let mut w = self.lock();
        w.slots.push_back(Slot {
            acked: false,
            position,
        });
        w.base + w.slots.len() as u64 - 1
    }

    /// Adds a record that will not reach Kafka (dropped by a transform or
    /// skipped by error tolerance): its offset commits in turn.
    pub(crate) fn skip(&self, position: Position) {
        let mut w = self.lock();
        w.slots.push_back(Slot {
            acked: true,
            position,
        });
        let done = w.advance();
        drop(w);
        self.committed(done);
    }

    /// Where the task hears which records are done with.
    pub(crate) fn set_committer(&self, committer: Arc<dyn RecordCommitter>) {
        let _ = self.committer.set(committer);
    }

    fn committed(&self, done: usize) {
        if done > 0 {
            if let Some(c) = self.committer.get() {
                c.committed(done);
            }
        }
    }

    /// Marks a record delivered.
    pub(crate) fn acknowledge(&self, seq: u64) {
        let mut w = self.lock();
        let Some(slot) = seq
            .checked_sub(w.base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| w.slots.get_mut(i))
        else {
            return;
        };
        slot.acked = true;
        if seq == w.base {
            let done = w.advance();
            let waiting = std::mem::take(&mut w.waiting);
            drop(w);
            if waiting {
                self.room.notify_one();
            }
            self.committed(done);
        }
    }

    /// Fails the task with the first delivery error.
    pub(crate) fn fail(&self, error: ConnectError) {
        if let Some(tx) = self.failure.lock().ok().and_then(|mut f| f.take()) {
            let _ = tx.send(error);
        }
    }

    /// Records submitted but not yet acknowledged in order.
    pub(crate) fn outstanding(&self) -> usize {
        self.lock().slots.len()
    }

    /// Waits until fewer than `max` records are outstanding.
    pub(crate) async fn wait_for_room(&self, max: usize) {
        loop {
            // Created before the check, so an acknowledgement between the
            // check and the await leaves a permit instead of being missed.
            let room = self.room.notified();
            {
                let mut w = self.lock();
                if w.slots.len() < max {
                    return;
                }
                w.waiting = true;
            }
            room.await;
        }
    }

    /// Takes the offsets that became committable.
    pub(crate) fn take_committable(&self) -> Committable {
        std::mem::take(&mut self.lock().committable)
    }
}

/// The source producer's context: delivery reports acknowledge records in
/// the task's [`SubmittedRecords`].
pub(crate) struct SourceProducerContext {
    pub(crate) submitted: Arc<SubmittedRecords>,
    pub(crate) shared: TaskShared,
    // The topic last recorded as active, so the shared set is touched only
    // when it changes.
    last_topic: Mutex<String>,
    probe: crate::kafka::TlsProbe,
    client: Arc<crate::metrics::ClientStats>,
}

impl SourceProducerContext {
    pub(crate) fn new(
        submitted: Arc<SubmittedRecords>,
        shared: TaskShared,
        probe: crate::kafka::TlsProbe,
        client: Arc<crate::metrics::ClientStats>,
    ) -> Self {
        SourceProducerContext {
            submitted,
            shared,
            last_topic: Mutex::default(),
            probe,
            client,
        }
    }
}

impl ClientContext for SourceProducerContext {
    fn stats_raw(&self, statistics: &[u8]) {
        crate::kafka::stats::observe(&self.client, statistics);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        match crate::kafka::fatal_client_error(&error, reason, &self.probe) {
            Some(message) => {
                tracing::error!(task = %self.shared.id, error = %message, "producer cannot connect to kafka");
                self.submitted.fail(ConnectError::connect(message));
            }
            None => tracing::warn!(task = %self.shared.id, %error, reason, "producer error"),
        }
    }
}

impl ProducerContext for SourceProducerContext {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        use rdkafka::Message;
        match result {
            Ok(message) => {
                self.submitted.acknowledge(seq as u64);
                TaskMetrics::add(&self.shared.metrics.records_out, 1);
                if let Ok(mut last) = self.last_topic.lock() {
                    if *last != message.topic() {
                        self.shared.record_topic(message.topic());
                        message.topic().clone_into(&mut last);
                    }
                }
            }
            Err((e, _)) => self.submitted.fail(ConnectError::connect(format!(
                "Unrecoverable exception from producer send callback: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position(partition: &str, offset: i64) -> Position {
        let p = serde_json::json!({ "file": partition });
        let o = serde_json::json!({ "position": offset });
        match (p, o) {
            (serde_json::Value::Object(p), serde_json::Value::Object(o)) => Some((p, o)),
            _ => None,
        }
    }

    fn offset_of(c: &Committable, partition: &str) -> Option<i64> {
        c.values()
            .find(|(p, _)| p.get("file").and_then(|f| f.as_str()) == Some(partition))
            .and_then(|(_, o)| o.get("position").and_then(|v| v.as_i64()))
    }

    #[test]
    fn an_offset_commits_only_once_every_earlier_record_is_acknowledged() {
        let (s, _rx) = SubmittedRecords::new();
        let a = s.submit(position("a", 1));
        let b = s.submit(position("a", 2));
        let c = s.submit(position("a", 3));
        s.acknowledge(c);
        s.acknowledge(b);
        assert!(
            s.take_committable().is_empty(),
            "record 1 is still in flight"
        );
        assert_eq!(s.outstanding(), 3);
        s.acknowledge(a);
        assert_eq!(offset_of(&s.take_committable(), "a"), Some(3));
        assert_eq!(s.outstanding(), 0);
    }

    #[test]
    fn skipped_records_commit_in_turn_and_each_partition_keeps_its_last_offset() {
        let (s, _rx) = SubmittedRecords::new();
        let a = s.submit(position("a", 1));
        s.skip(position("b", 7));
        let c = s.submit(position("a", 2));
        s.skip(position("b", 8));
        s.acknowledge(a);
        let first = s.take_committable();
        assert_eq!(offset_of(&first, "a"), Some(1));
        assert_eq!(offset_of(&first, "b"), Some(7));
        s.acknowledge(c);
        let second = s.take_committable();
        assert_eq!(offset_of(&second, "a"), Some(2));
        assert_eq!(offset_of(&second, "b"), Some(8));
    }

    #[test]
    fn unknown_and_repeated_acknowledgements_are_ignored() {
        let (s, _rx) = SubmittedRecords::new();
        let a = s.submit(position("a", 1));
        s.acknowledge(a + 5);
        s.acknowledge(a);
        s.acknowledge(a);
        assert_eq!(offset_of(&s.take_committable(), "a"), Some(1));
        let b = s.submit(None);
        assert_eq!(
            b,
            a + 1,
            "sequence numbers continue after the window empties"
        );
    }

    #[derive(Default)]
    struct Counted(std::sync::atomic::AtomicUsize);

    impl RecordCommitter for Counted {
        fn committed(&self, records: usize) {
            self.0
                .fetch_add(records, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn the_task_hears_of_records_in_order_once_each_earlier_one_is_done() {
        let (s, _rx) = SubmittedRecords::new();
        let counted = Arc::new(Counted::default());
        s.set_committer(counted.clone());
        let done = || counted.0.load(std::sync::atomic::Ordering::SeqCst);
        let a = s.submit(None);
        s.skip(None);
        let c = s.submit(None);
        s.acknowledge(c);
        assert_eq!(done(), 0, "the first record is still in flight");
        s.acknowledge(a);
        assert_eq!(done(), 3, "acknowledged, skipped and acknowledged");
        s.skip(None);
        assert_eq!(done(), 4, "a skip with nothing in flight is done at once");
    }

    #[tokio::test]
    async fn a_full_window_waits_for_the_acknowledgement_that_frees_it() {
        let (s, _rx) = SubmittedRecords::new();
        let first = s.submit(None);
        s.submit(None);
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait_for_room(2).await }
        });
        // The waiter cannot finish until the first record is acknowledged.
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        s.acknowledge(first);
        tokio::time::timeout(std::time::Duration::from_secs(10), waiter)
            .await
            .expect("acknowledgement wakes the waiting task")
            .expect("waiter");
        assert_eq!(s.outstanding(), 1);
    }

    #[tokio::test]
    async fn the_first_failure_reaches_the_task() {
        let (s, rx) = SubmittedRecords::new();
        s.fail(ConnectError::connect("first"));
        s.fail(ConnectError::connect("second"));
        let e = rx.await.expect("failure delivered");
        assert!(e.to_string().contains("first"), "{e}");
    }
}
