//! `WorkerSourceTask`: polls a source task, transforms and converts its
//! records, produces them with `acks=all`, and commits a source offset only
//! once the broker acknowledged every record before it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_core::connector::{SourceTask, SourceTaskContext};
use rampart_core::herder::TargetState;
use rampart_core::record::SourceRecord;
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use tokio::sync::{oneshot, watch};
use tracing::{debug, error, info, warn};

use super::errors::{RawRecord, Stage};
use super::submitted::{Committable, Position, SourceProducerContext, SubmittedRecords};
use super::topic_creation::TopicCreator;
use super::{TaskShared, TaskStatus};
use crate::stores::OffsetBackingStore;

/// Records produced but not yet acknowledged, at most. Reaching it blocks
/// `poll`, so a slow broker slows the source instead of growing memory.
const MAX_OUTSTANDING: usize = 10_000;
/// The longest wait for room in librdkafka's queue.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(100);

/// The producer of a source task, acknowledging into its submitted records.
pub(crate) type SourceProducer = ThreadedProducer<SourceProducerContext>;

pub(crate) struct SourceTaskRunner {
    pub(crate) shared: TaskShared,
    pub(crate) task: Box<dyn SourceTask>,
    pub(crate) producer: Arc<SourceProducer>,
    pub(crate) submitted: Arc<SubmittedRecords>,
    /// The first delivery failure, from the producer's callback.
    pub(crate) failed: Option<oneshot::Receiver<ConnectError>>,
    pub(crate) offsets: Arc<dyn OffsetBackingStore>,
    /// Offsets whose write to the store failed, written again next flush.
    pub(crate) unwritten: Committable,
    pub(crate) context: SourceTaskContext,
    pub(crate) topics: TopicCreator,
    /// The converted value of the record being sent, reused: librdkafka
    /// copies it.
    pub(crate) value_buf: Vec<u8>,
}

impl SourceTaskRunner {
    pub(crate) async fn run(mut self, mut control: watch::Receiver<TargetState>) {
        let result = self.execute(&mut control).await;
        self.task.stop().await;
        match result {
            Ok(()) => info!(task = %self.shared.id, "source task stopped"),
            Err(e) => self.shared.fail(&e),
        }
    }

    async fn execute(&mut self, control: &mut watch::Receiver<TargetState>) -> ConnectResult<()> {
        self.task
            .start(&self.shared.task_config, self.context.clone())
            .await?;
        if let Some(m) = self.task.metrics() {
            let _ = self.shared.metrics.connector.set(m);
        }
        if let Some(c) = self.task.committer() {
            self.submitted.set_committer(c);
        }
        let mut fail_rx = self
            .failed
            .take()
            .ok_or_else(|| ConnectError::connect("source task runner started twice"))?;
        let mut flush = tokio::time::interval(self.shared.worker.offset_flush_interval);
        flush.tick().await;
        let outcome = 'run: loop {
            let target = *control.borrow_and_update();
            match target {
                TargetState::Stopped => break Ok(()),
                TargetState::Paused => {
                    self.shared.set_status(TaskStatus::Paused);
                    tokio::select! {
                        changed = control.changed() => if changed.is_err() { break Ok(()) },
                        _ = flush.tick() => self.commit().await?,
                        failed = &mut fail_rx => break Err(failed.unwrap_or_else(|_| ConnectError::connect("producer stopped"))),
                    }
                    continue;
                }
                TargetState::Started => self.shared.set_status(TaskStatus::Running),
            }
            let polling = Instant::now();
            tokio::select! {
                biased;
                changed = control.changed() => if changed.is_err() { break Ok(()) },
                failed = &mut fail_rx => break Err(failed.unwrap_or_else(|_| ConnectError::connect("producer stopped"))),
                _ = flush.tick() => self.commit().await?,
                batch = self.task.poll() => {
                    // On failure, still commit what the broker acknowledged.
                    let batch = match batch {
                        Ok(b) => b,
                        Err(e) => break 'run Err(e),
                    };
                    self.shared.metrics.record_poll(batch.len(), polling.elapsed(), self.submitted.outstanding());
                    for record in batch {
                        if let Err(e) = self.send(record).await {
                            break 'run Err(e);
                        }
                    }
                }
            }
        };
        // On a clean stop, records the task accepted but did not return yet
        // (a listener's buffer) are sent too, within the graceful timeout.
        if outcome.is_ok() {
            let timeout = self.shared.worker.task_shutdown_timeout;
            match tokio::time::timeout(timeout, self.task.drain()).await {
                Ok(Ok(records)) => {
                    if !records.is_empty() {
                        info!(task = %self.shared.id, records = records.len(), "sending records drained at shutdown");
                    }
                    for record in records {
                        self.send(record).await?;
                    }
                }
                Ok(Err(e)) => warn!(task = %self.shared.id, error = %e, "drain at shutdown failed"),
                Err(_) => warn!(task = %self.shared.id, "drain at shutdown timed out"),
            }
        }
        // Let in-flight records finish, within the graceful shutdown timeout,
        // then commit what was acknowledged.
        let timeout = self.shared.worker.task_shutdown_timeout;
        if tokio::time::timeout(timeout, self.producer_flush())
            .await
            .is_err()
        {
            warn!(task = %self.shared.id, "graceful shutdown timed out; unacknowledged records will be re-sent after restart");
        }
        let outstanding = self.submitted.outstanding();
        if outstanding > 0 {
            warn!(task = %self.shared.id, outstanding, "records not acknowledged at shutdown will be re-sent after restart");
        }
        self.commit().await?;
        outcome
    }

    async fn producer_flush(&self) {
        let producer = self.producer.clone();
        let timeout = self.shared.worker.task_shutdown_timeout;
        let _ = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
    }

    async fn commit(&mut self) -> ConnectResult<()> {
        self.shared.refresh_warning();
        let metrics = &self.shared.metrics;
        metrics.record_in_flight(self.submitted.outstanding());
        let started = Instant::now();
        // Offsets a failed write left behind go again, unless the records
        // acknowledged since moved their partitions on.
        let mut committable = std::mem::take(&mut self.unwritten);
        committable.extend(self.submitted.take_committable());
        // As Java's `commitOffsets`, a flush with nothing to write is a
        // successful commit too.
        if committable.is_empty() {
            metrics.record_commit(true, started.elapsed(), false);
            return Ok(());
        }
        let entries: Vec<_> = committable
            .values()
            .map(|(p, o)| (p.clone(), Some(o.clone())))
            .collect();
        debug!(task = %self.shared.id, partitions = entries.len(), "committing source offsets");
        let written = self.offsets.put(&self.shared.id.connector, entries).await;
        metrics.record_commit(written.is_ok(), started.elapsed(), false);
        match written {
            Ok(()) => self.task.commit().await,
            // As Java's `OffsetStorageWriter.cancelFlush`: the task goes on
            // and the next flush writes these offsets again. A full disk
            // under the offsets file must not stop a syslog listener.
            Err(e) => {
                error!(task = %self.shared.id, error = %e, partitions = committable.len(), "failed to flush offsets to storage; retrying at the next flush");
                self.unwritten = committable;
                Ok(())
            }
        }
    }

    async fn send(&mut self, mut record: SourceRecord) -> ConnectResult<()> {
        if self.submitted.outstanding() >= MAX_OUTSTANDING {
            self.submitted.wait_for_room(MAX_OUTSTANDING).await;
        }
        // The source position travels beside the record, not through the
        // transforms: it is the framework's, whatever they do to the record.
        let position: Position = match (record.source_partition.take(), record.source_offset.take())
        {
            (Some(p), Some(o)) => Some((p, o)),
            _ => None,
        };
        // Errors name the record by its topic before transforms. Cloned only
        // when transforms may change it: a copy per record showed up at
        // syslog rates.
        let original = (!self.shared.transforms.is_empty()).then(|| record.topic.clone());
        let partition = record.partition.unwrap_or(-1);
        let raw = |topic: &str| RawRecord {
            topic: original.as_deref().unwrap_or(topic).to_string(),
            partition,
            offset: -1,
            ..Default::default()
        };
        let transformed = match self.shared.transforms.apply_traced(record) {
            Ok(Some(r)) => r,
            Ok(None) => return self.skip(position),
            Err(e) => {
                self.shared
                    .errors
                    .handle(Stage::Transformation, &e.class, e.error, Some(&raw("")))
                    .await?;
                return self.skip(position);
            }
        };
        let conv = &self.shared.converters;
        let topic = transformed.topic.as_str();
        let key = match self
            .shared
            .errors
            .retry(|| {
                Ok(conv.key.from_connect(
                    topic,
                    transformed.key_schema.as_ref(),
                    &transformed.key,
                )?)
            })
            .await
        {
            Ok(k) => k,
            Err(e) => {
                self.shared
                    .errors
                    .handle(Stage::KeyConverter, &conv.classes[0], e, Some(&raw(topic)))
                    .await?;
                return self.skip(position);
            }
        };
        let value_buf = &mut self.value_buf;
        let has_value = match self
            .shared
            .errors
            .retry(|| {
                Ok(conv.value.from_connect_into(
                    topic,
                    transformed.value_schema.as_ref(),
                    &transformed.value,
                    value_buf,
                )?)
            })
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.shared
                    .errors
                    .handle(
                        Stage::ValueConverter,
                        &conv.classes[1],
                        e,
                        Some(&raw(topic)),
                    )
                    .await?;
                return self.skip(position);
            }
        };
        let mut headers = OwnedHeaders::new_with_capacity(transformed.headers.len());
        for h in transformed.headers.iter() {
            let value = match self
                .shared
                .errors
                .retry(|| {
                    Ok(conv.header.from_connect_header(
                        topic,
                        &h.key,
                        h.schema.as_ref(),
                        &h.value,
                    )?)
                })
                .await
            {
                Ok(v) => v,
                Err(e) => {
                    self.shared
                        .errors
                        .handle(
                            Stage::HeaderConverter,
                            &conv.classes[2],
                            e,
                            Some(&raw(topic)),
                        )
                        .await?;
                    return self.skip(position);
                }
            };
            headers = headers.insert(Header {
                key: &h.key,
                value: value.as_deref(),
            });
        }
        self.topics.ensure(&transformed.topic).await?;
        let seq = self.submitted.submit(position);
        let mut br: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(&transformed.topic, seq as usize);
        if let Some(k) = &key {
            br = br.key(k.as_slice());
        }
        if has_value {
            br = br.payload(self.value_buf.as_slice());
        }
        if !transformed.headers.is_empty() {
            br = br.headers(headers);
        }
        if let Some(p) = transformed.partition {
            br = br.partition(p);
        }
        if let Some(ts) = transformed.timestamp {
            br = br.timestamp(ts);
        }
        let mut backoff = Duration::from_millis(1);
        loop {
            match self.producer.send(br) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // librdkafka's queue is full: wait for deliveries to drain.
                    br = back;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(QUEUE_FULL_BACKOFF);
                }
                // Only librdkafka's own checks fail a send at once (an
                // unknown topic or partition, a record too large): the task
                // fails and says why, where Java's send would block on
                // metadata and retry without end.
                Err((e, _)) => {
                    return Err(ConnectError::connect(format!(
                        "Unrecoverable exception trying to send: {e}"
                    )))
                }
            }
        }
    }

    fn skip(&self, position: Position) -> ConnectResult<()> {
        self.submitted.skip(position);
        Ok(())
    }
}
