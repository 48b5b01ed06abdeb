//! The sink task: records go to their partition's writer, closed objects are
//! uploaded concurrently, and `pre_commit` returns per Kafka partition the
//! first offset not yet in an uploaded object, so offsets are committed only
//! after the upload completes.
//!
//! Memory: an open object holds at most `s3.part.size` encoded bytes (then a
//! part leaves), plus up to [`PART_QUEUE`] parts queued for its multipart
//! upload; closed objects wait in at most [`MAX_UPLOADS`] uploads, and `put`
//! waits for one to finish beyond that. Across open objects, once their
//! encoded bytes pass `s3.buffer.max.bytes`, every object holding at least
//! S3's minimum part (5 MiB) sends it early, so a task holds at most that
//! limit plus just under 5 MiB per open object.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rampart_core::connector::{Config, ConnectorMetrics, SinkOffsets, SinkTask, SinkTaskContext};
use rampart_core::record::{SinkRecord, TopicPartition};
use rampart_core::{ConnectError, ConnectResult, DataError};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::config::{S3Config, MIN_PART_SIZE};
use crate::storage::{ErrorKind, PartMessage, StorageError, Store};
use crate::writer::{Closed, Output, PartitionWriter};

/// Uploads (whole objects or multipart uploads) in flight per task.
pub const MAX_UPLOADS: usize = 16;
/// Parts queued per multipart upload before `put` waits.
pub const PART_QUEUE: usize = 1;
// How long `put` waits for an upload slot before handing the batch back as
// retriable (the worker then pauses the partitions and retries).
const SLOT_WAIT: Duration = Duration::from_secs(30);

type UploadResult = (TopicPartition, u64, String, Result<(), StorageError>);

struct Pending {
    start: i64,
    remaining: usize,
}

struct Running {
    config: Arc<S3Config>,
    store: Store,
    context: SinkTaskContext,
    writers: HashMap<TopicPartition, PartitionWriter>,
    // Closed batches per partition whose objects are not all uploaded yet.
    pending: HashMap<TopicPartition, BTreeMap<u64, Pending>>,
    uploads: JoinSet<UploadResult>,
    parts: HashMap<String, mpsc::Sender<PartMessage>>,
    next_batch: u64,
    failure: Option<String>,
}

/// `io.confluent.connect.s3.S3SinkConnector`'s task.
#[derive(Default)]
pub struct S3SinkTask {
    running: Option<Running>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl Running {
    fn check(&self) -> ConnectResult<()> {
        match &self.failure {
            Some(f) => Err(ConnectError::connect(f.clone())),
            None => Ok(()),
        }
    }

    fn finished(&mut self, (tp, batch, key, result): UploadResult) {
        match result {
            Ok(()) => {
                debug!(%tp, key, "object uploaded");
                if let Some(batches) = self.pending.get_mut(&tp) {
                    if let Some(p) = batches.get_mut(&batch) {
                        p.remaining = p.remaining.saturating_sub(1);
                        if p.remaining == 0 {
                            batches.remove(&batch);
                        }
                    }
                }
            }
            Err(e) => {
                warn!(%tp, key, error = %e, "s3 upload failed");
                self.failure.get_or_insert(e.message);
            }
        }
    }

    fn reap(&mut self) {
        while let Some(done) = self.uploads.try_join_next() {
            match done {
                Ok(r) => self.finished(r),
                Err(e) if e.is_cancelled() => {}
                Err(e) => {
                    self.failure
                        .get_or_insert(format!("s3 upload task failed: {e}"));
                }
            }
        }
    }

    async fn wait_one(&mut self) {
        if let Some(done) = self.uploads.join_next().await {
            match done {
                Ok(r) => self.finished(r),
                Err(e) if e.is_cancelled() => {}
                Err(e) => {
                    self.failure
                        .get_or_insert(format!("s3 upload task failed: {e}"));
                }
            }
        }
    }

    async fn dispatch(&mut self, tp: &TopicPartition, out: Vec<Output>, closed: Vec<Closed>) {
        for c in closed {
            self.pending.entry(tp.clone()).or_default().insert(
                c.batch,
                Pending {
                    start: c.start,
                    remaining: c.objects,
                },
            );
        }
        for o in out {
            match o {
                Output::Object { batch, key, body } => {
                    let store = self.store.clone();
                    let tp = tp.clone();
                    self.uploads.spawn(async move {
                        let r = store.put(&key, bytes::Bytes::from(body)).await;
                        (tp, batch, key, r)
                    });
                }
                Output::Part { batch, key, body } => {
                    let sender = match self.parts.get(&key) {
                        Some(s) => s.clone(),
                        None => {
                            let (tx, rx) = mpsc::channel(PART_QUEUE);
                            let store = self.store.clone();
                            let (tp, k) = (tp.clone(), key.clone());
                            self.uploads.spawn(async move {
                                let r = store.multipart(&k, rx).await;
                                (tp, batch, k, r)
                            });
                            self.parts.insert(key.clone(), tx.clone());
                            tx
                        }
                    };
                    // Waits while the upload is behind: bounded memory.
                    let _ = sender.send(PartMessage::Part(body)).await;
                }
                Output::Last { key, body, .. } => {
                    if let Some(sender) = self.parts.remove(&key) {
                        let _ = sender.send(PartMessage::Last(body)).await;
                    }
                }
            }
        }
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        self.reap();
        self.check()?;
        // Wait for an upload slot before taking anything, so a batch handed
        // back as retriable was not partly written.
        let deadline = tokio::time::Instant::now() + SLOT_WAIT;
        while self.uploads.len() >= MAX_UPLOADS {
            if tokio::time::timeout_at(deadline, self.wait_one())
                .await
                .is_err()
            {
                return Err(ConnectError::retriable(format!(
                    "{} s3 uploads still in flight; waiting for them",
                    self.uploads.len()
                )));
            }
            self.check()?;
        }
        let now = now_ms();
        for record in records {
            let Some(position) = &record.kafka else {
                return Err(ConnectError::connect(
                    "sink record without its kafka position; the s3 sink needs it to name objects",
                ));
            };
            let result = if record.value.is_null() {
                if self.config.ignore_nulls {
                    continue;
                }
                Err(DataError::new(format!(
                    "null valued record at {}@{} is not writeable with behavior.on.null.values=fail",
                    position.tp, position.offset
                )))
            } else {
                let (mut out, mut closed) = (Vec::new(), Vec::new());
                let writer = self.writers.entry(position.tp.clone()).or_insert_with(|| {
                    let w = PartitionWriter::new(
                        position.tp.clone(),
                        Arc::clone(&self.config),
                        self.next_batch,
                    );
                    self.next_batch += 1 << 32;
                    w
                });
                let r = writer.write(record, position.offset, now, &mut out, &mut closed);
                self.dispatch(&position.tp, out, closed).await;
                r
            };
            if let Err(e) = result {
                let error = ConnectError::from(e);
                match &self.context.errant_record_reporter {
                    Some(reporter) => reporter.report(record, &error).await?,
                    None => return Err(error),
                }
            }
        }
        self.spill().await;
        Ok(())
    }

    // Sends parts early while open objects hold more than the task's budget.
    async fn spill(&mut self) {
        let total: usize = self.writers.values().map(PartitionWriter::ready).sum();
        if total <= self.config.buffer_max_bytes {
            return;
        }
        let mut excess = total - self.config.buffer_max_bytes;
        let tps: Vec<TopicPartition> = self.writers.keys().cloned().collect();
        for tp in tps {
            if excess == 0 {
                break;
            }
            let mut out = Vec::new();
            if let Some(w) = self.writers.get_mut(&tp) {
                excess = excess.saturating_sub(w.spill(MIN_PART_SIZE as usize, &mut out));
            }
            self.dispatch(&tp, out, Vec::new()).await;
        }
    }

    async fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        self.reap();
        self.check()?;
        let now = now_ms();
        let tps: Vec<TopicPartition> = self.writers.keys().cloned().collect();
        for tp in tps {
            let (mut out, mut closed) = (Vec::new(), Vec::new());
            if let Some(w) = self.writers.get_mut(&tp) {
                w.tick(now, &mut out, &mut closed)?;
            }
            self.dispatch(&tp, out, closed).await;
        }
        let mut commit = SinkOffsets::new();
        for (tp, offset) in offsets {
            let open = self.writers.get(tp).and_then(|w| w.open_start());
            let pending = self
                .pending
                .get(tp)
                .and_then(|b| b.values().map(|p| p.start).min());
            let safe = match (open, pending) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).unwrap_or(*offset),
            };
            commit.insert(tp.clone(), safe.min(*offset));
        }
        Ok(commit)
    }

    fn forget(&mut self, partitions: &[TopicPartition]) {
        for tp in partitions {
            // Open objects are dropped unwritten: the next owner of the
            // partition re-consumes them from the committed offset.
            self.writers.remove(tp);
            self.pending.remove(tp);
        }
        let prefix_of = |key: &str| {
            partitions.iter().any(|tp| {
                key.rsplit(self.config.naming.directory_delim.as_str())
                    .next()
                    .is_some_and(|name| {
                        name.starts_with(&format!(
                            "{}{}{}{}",
                            tp.topic,
                            self.config.naming.file_delim,
                            tp.partition,
                            self.config.naming.file_delim
                        ))
                    })
            })
        };
        // Dropping a part feed aborts its multipart upload.
        self.parts.retain(|key, _| !prefix_of(key));
    }
}

#[async_trait]
impl SinkTask for S3SinkTask {
    fn metrics(&self) -> Option<Arc<dyn ConnectorMetrics>> {
        let retries: Arc<dyn ConnectorMetrics> = self.running.as_ref()?.store.retries();
        Some(retries)
    }

    async fn start(&mut self, config: &Config, context: SinkTaskContext) -> ConnectResult<()> {
        let config = Arc::new(S3Config::parse(config)?);
        let store = Store::connect(&config).await;
        match store.check().await {
            Ok(()) => {}
            // Uploads retry without end, so a store that is only away for
            // now is no reason to fail, as for Elasticsearch.
            Err(e) if e.kind == ErrorKind::Retryable => {
                warn!(error = %e, "s3 is not reachable yet; uploads will retry");
            }
            Err(e) => return Err(e.into()),
        }
        self.running = Some(Running {
            config,
            store,
            context,
            writers: HashMap::new(),
            pending: HashMap::new(),
            uploads: JoinSet::new(),
            parts: HashMap::new(),
            next_batch: 0,
            failure: None,
        });
        Ok(())
    }

    async fn open(&mut self, partitions: &[TopicPartition]) -> ConnectResult<()> {
        if let Some(r) = &mut self.running {
            r.forget(partitions);
        }
        Ok(())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> ConnectResult<()> {
        if let Some(r) = &mut self.running {
            r.forget(partitions);
        }
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        match &mut self.running {
            Some(r) => r.put(records).await,
            None => Err(ConnectError::connect("s3 sink task is not started")),
        }
    }

    async fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        match &mut self.running {
            Some(r) => r.pre_commit(offsets).await,
            None => Ok(SinkOffsets::new()),
        }
    }

    async fn stop(&mut self) {
        if let Some(mut r) = self.running.take() {
            r.parts.clear();
            r.uploads.shutdown().await;
        }
    }
}
