//! `WorkerSinkTask`: consumes in the `connect-<name>` group, converts and
//! transforms records, hands them to the sink task, and commits consumer
//! offsets only up to what the task reports as flushed (at least once).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rampart_core::connector::{SinkOffsets, SinkTask, SinkTaskContext};
use rampart_core::herder::TargetState;
use rampart_core::record::{
    ConnectRecord, KafkaPosition, SinkRecord, TimestampType, TopicPartition,
};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, RebalanceProtocol, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::errors::{RawRecord, Stage};
use super::{TaskShared, TaskStatus};
use crate::kafka::errors::kafka_error;
use crate::metrics::ClientStats;

/// Records handed to `put` at most per call.
const MAX_BATCH: usize = 500;

/// Assignment changes seen by the consumer, replayed to the task as
/// `open`/`close` from the task's own loop.
#[derive(Debug)]
pub(crate) enum RebalanceEvent {
    Assigned(Vec<TopicPartition>),
    Revoked(Vec<TopicPartition>),
    /// The consumer can never connect with its settings.
    Failed(String),
}

/// Forwards rebalance callbacks (which run on librdkafka's thread) to the task loop.
pub(crate) struct SinkConsumerContext {
    // Unbounded is safe here: one event per rebalance, and the loop drains
    // them between batches.
    pub(crate) events: mpsc::UnboundedSender<RebalanceEvent>,
    pub(crate) probe: crate::kafka::TlsProbe,
    /// Whether the task is paused: partitions assigned meanwhile (a task
    /// starting paused, a rebalance of the group) are paused before any
    /// of their records is fetched, as Java's rebalance listener does.
    pub(crate) paused: AtomicBool,
    pub(crate) client: Arc<ClientStats>,
    /// Set once the task loop is gone: revocations are then carried out
    /// at once, as the consumer's close waits for them.
    pub(crate) closing: AtomicBool,
    /// A revocation awaits the task loop's commit and unassign.
    pub(crate) revoke_pending: AtomicBool,
}

impl ClientContext for SinkConsumerContext {
    fn stats_raw(&self, statistics: &[u8]) {
        crate::kafka::stats::observe(&self.client, statistics);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        match crate::kafka::fatal_client_error(&error, reason, &self.probe) {
            Some(message) => {
                tracing::error!(error = %message, "consumer cannot connect to kafka");
                let _ = self.events.send(RebalanceEvent::Failed(message));
            }
            None => warn!(%error, reason, "consumer error"),
        }
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<TopicPartition> {
    tpl.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

impl ConsumerContext for SinkConsumerContext {
    // Java's `onPartitionsRevoked` flushes the task and commits before the
    // partitions go: librdkafka's default unassigns at once, so offsets the
    // task had flushed but not yet committed would be consumed again by the
    // partitions' next owner. A revocation is therefore handed to the task
    // loop, which commits, closes the partitions in the task, and only then
    // unassigns (`SinkTaskRunner::release`). librdkafka waits for that call
    // before it rejoins the group. While closing, nobody runs that loop.
    fn rebalance(
        &self,
        consumer: &rdkafka::consumer::BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = is_cooperative(consumer);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let assigned = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = assigned {
                    warn!(error = %e, "cannot take the assigned partitions");
                    return;
                }
                // Only assigned partitions can be paused; no fetch runs
                // before this callback returns.
                if self.paused.load(Ordering::SeqCst) {
                    if let Err(e) = consumer.pause(tpl) {
                        warn!(error = %e, "cannot pause newly assigned partitions");
                    }
                }
                let _ = self.events.send(RebalanceEvent::Assigned(partitions(tpl)));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS
                if !self.closing.load(Ordering::SeqCst) =>
            {
                self.revoke_pending.store(true, Ordering::SeqCst);
                let _ = self.events.send(RebalanceEvent::Revoked(partitions(tpl)));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                give_up(consumer, tpl);
            }
            other => {
                warn!(error = ?other, "rebalance failed; giving up the assignment");
                give_up(consumer, tpl);
            }
        }
    }
}

fn is_cooperative<X: ConsumerContext>(consumer: &impl Consumer<X>) -> bool {
    matches!(
        consumer.rebalance_protocol(),
        RebalanceProtocol::Cooperative
    )
}

fn give_up<X: ConsumerContext>(consumer: &impl Consumer<X>, tpl: &TopicPartitionList) {
    let released = if is_cooperative(consumer) {
        consumer.incremental_unassign(tpl)
    } else {
        consumer.unassign()
    };
    if let Err(e) = released {
        warn!(error = %e, "cannot give up revoked partitions");
    }
}

impl Drop for SinkTaskRunner {
    // The consumer's close runs the revocation callback and waits for the
    // unassign; from here on nobody reads the events, so none may wait.
    fn drop(&mut self) {
        let context = self.consumer.context();
        context.closing.store(true, Ordering::SeqCst);
        if context.revoke_pending.swap(false, Ordering::SeqCst) {
            match self.consumer.assignment() {
                Ok(assignment) => give_up(&self.consumer, &assignment),
                Err(e) => warn!(task = %self.shared.id, error = %e, "cannot read assignment"),
            }
        }
    }
}

pub(crate) struct SinkTaskRunner {
    pub(crate) shared: TaskShared,
    pub(crate) task: Box<dyn SinkTask>,
    pub(crate) consumer: StreamConsumer<SinkConsumerContext>,
    pub(crate) events: mpsc::UnboundedReceiver<RebalanceEvent>,
    pub(crate) context: SinkTaskContext,
    pub(crate) subscription: Vec<String>,
    pub(crate) dlq_admin:
        Option<rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>>,
    /// Per partition, the offset last committed (or where consumption
    /// began): records consumed beyond it are `sink-record-active-count`.
    pub(crate) committed: HashMap<TopicPartition, i64>,
}

impl SinkTaskRunner {
    pub(crate) async fn run(mut self, mut control: watch::Receiver<TargetState>) {
        let mut current = SinkOffsets::new();
        let result = self.execute(&mut control, &mut current).await;
        if result.is_ok() {
            // A clean stop commits what the task has flushed; after a failure
            // the uncommitted records are simply consumed again.
            if let Err(e) = self.commit(&current, CommitMode::Sync).await {
                warn!(task = %self.shared.id, %e, "final offset commit failed");
            }
        }
        self.task.stop().await;
        match result {
            Ok(()) => info!(task = %self.shared.id, "sink task stopped"),
            Err(e) => self.shared.fail(&e),
        }
    }

    async fn execute(
        &mut self,
        control: &mut watch::Receiver<TargetState>,
        current: &mut SinkOffsets,
    ) -> ConnectResult<()> {
        if let Some(admin) = &self.dlq_admin {
            self.shared.errors.create_dlq_topic(admin).await?;
        }
        self.task
            .start(&self.shared.task_config, self.context.clone())
            .await?;
        if let Some(m) = self.task.metrics() {
            let _ = self.shared.metrics.connector.set(m);
        }
        let topics: Vec<&str> = self.subscription.iter().map(String::as_str).collect();
        self.consumer
            .subscribe(&topics)
            .map_err(|e| kafka_error(format_args!("cannot subscribe to {topics:?}"), &e))?;
        let mut flush = tokio::time::interval(self.shared.worker.offset_flush_interval);
        flush.tick().await;
        let mut paused = false;
        loop {
            while let Ok(event) = self.events.try_recv() {
                self.on_rebalance(event, current).await?;
            }
            let target = *control.borrow_and_update();
            match target {
                TargetState::Stopped => return Ok(()),
                TargetState::Paused if !paused => {
                    self.set_paused(true)?;
                    paused = true;
                    self.shared.set_status(TaskStatus::Paused);
                }
                TargetState::Started if paused => {
                    self.set_paused(false)?;
                    paused = false;
                }
                _ => {}
            }
            if !paused {
                self.shared.set_status(TaskStatus::Running);
            }
            let mut stream = self.consumer.stream().ready_chunks(MAX_BATCH);
            tokio::select! {
                biased;
                changed = control.changed() => if changed.is_err() { return Ok(()) },
                event = self.events.recv() => if let Some(e) = event {
                    drop(stream);
                    self.on_rebalance(e, current).await?;
                },
                _ = flush.tick() => {
                    drop(stream);
                    self.commit(current, CommitMode::Async).await?;
                }
                batch = stream.next() => {
                    let Some(batch) = batch else { return Ok(()) };
                    self.shared.metrics.record_read(batch.len());
                    let mut records = Vec::with_capacity(batch.len());
                    let mut positions = Vec::with_capacity(batch.len());
                    for msg in batch {
                        let msg = msg.map_err(|e| ConnectError::retriable(format!("consumer error: {e}")));
                        let msg = match msg {
                            Ok(m) => m,
                            Err(e) => { warn!(task = %self.shared.id, %e, "consume failed; librdkafka retries"); continue; }
                        };
                        let tp = TopicPartition::new(msg.topic(), msg.partition());
                        // Where consumption began counts as committed, as
                        // Java takes the positions at assignment.
                        if !self.committed.contains_key(&tp) {
                            self.committed.insert(tp.clone(), msg.offset());
                        }
                        positions.push((tp, msg.offset()));
                        if let Some(r) = self.to_sink_record(&msg).await? {
                            records.push(r);
                        }
                    }
                    drop(stream);
                    self.deliver(records, control).await?;
                    for (tp, offset) in positions {
                        self.shared.record_topic(&tp.topic);
                        current.insert(tp, offset + 1);
                    }
                    self.record_active(current);
                }
            }
        }
    }

    fn record_partition_count(&self) {
        let count = self.consumer.assignment().map_or(0, |a| a.count());
        self.shared.metrics.record_partition_count(count);
    }

    // Java's `computeSinkRecordLag`: over partitions both consumed and
    // committed, the records consumed past the commit.
    fn record_active(&self, current: &SinkOffsets) {
        let active: i64 = current
            .iter()
            .filter_map(|(tp, consumed)| {
                let committed = self.committed.get(tp)?;
                Some((consumed - committed).max(0))
            })
            .sum();
        self.shared.metrics.record_sink_active(active as u64);
    }

    fn set_paused(&self, pause: bool) -> ConnectResult<()> {
        self.consumer
            .context()
            .paused
            .store(pause, Ordering::SeqCst);
        let assignment = self
            .consumer
            .assignment()
            .map_err(|e| ConnectError::connect(format!("cannot read assignment: {e}")))?;
        let r = if pause {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        r.map_err(|e| ConnectError::connect(format!("cannot pause or resume partitions: {e}")))
    }

    async fn on_rebalance(
        &mut self,
        event: RebalanceEvent,
        current: &mut SinkOffsets,
    ) -> ConnectResult<()> {
        match event {
            RebalanceEvent::Assigned(tps) => {
                debug!(task = %self.shared.id, partitions = ?tps, "partitions assigned");
                self.record_partition_count();
                self.task.open(&tps).await
            }
            RebalanceEvent::Revoked(tps) => {
                debug!(task = %self.shared.id, partitions = ?tps, "partitions revoked");
                // Whatever happens below, the partitions must be given up,
                // or the group cannot rebalance.
                let committed = self.commit(current, CommitMode::Sync).await;
                let closed = match committed {
                    Ok(()) => self.task.close(&tps).await,
                    Err(e) => Err(e),
                };
                self.release(&tps);
                for tp in &tps {
                    current.remove(tp);
                    self.committed.remove(tp);
                }
                self.record_partition_count();
                closed
            }
            RebalanceEvent::Failed(message) => Err(ConnectError::connect(message)),
        }
    }

    /// Gives up partitions whose revocation was deferred to this loop.
    fn release(&self, tps: &[TopicPartition]) {
        let context = self.consumer.context();
        if !context.revoke_pending.swap(false, Ordering::SeqCst) {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for tp in tps {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        give_up(&self.consumer, &tpl);
    }

    // Hands a batch to the task, retrying a `RetriableException` with the
    // partitions paused, as Kafka does, until it succeeds or the task stops.
    async fn deliver(
        &mut self,
        records: Vec<SinkRecord>,
        control: &mut watch::Receiver<TargetState>,
    ) -> ConnectResult<()> {
        if records.is_empty() {
            // Java puts the empty batch and records it.
            self.shared.metrics.record_put(0, Duration::ZERO);
            return Ok(());
        }
        let mut backoff = Duration::from_millis(100);
        // Paused once for the whole retry, as Java's `pausedForRedelivery`,
        // and resumed (unless the task is paused) once `put` succeeds.
        let mut paused_for_retry = false;
        loop {
            let putting = Instant::now();
            match self.task.put(&records).await {
                Ok(()) => {
                    self.shared
                        .metrics
                        .record_put(records.len(), putting.elapsed());
                    if paused_for_retry {
                        self.set_paused(*control.borrow() == TargetState::Paused)?;
                    }
                    return Ok(());
                }
                Err(e) if e.is_retriable() => {
                    warn!(task = %self.shared.id, %e, "retriable error from put; pausing and retrying");
                    if !paused_for_retry {
                        self.set_paused(true)?;
                        paused_for_retry = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = control.changed() => {}
                    }
                    if *control.borrow() == TargetState::Stopped {
                        return Err(ConnectError::connect(format!(
                            "task stopped while retrying put: {e}"
                        )));
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn commit(&mut self, current: &SinkOffsets, mode: CommitMode) -> ConnectResult<()> {
        if current.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let to_commit = match self.task.pre_commit(current).await {
            Ok(offsets) => offsets,
            Err(e) => {
                self.shared
                    .metrics
                    .record_commit(false, started.elapsed(), true);
                return Err(e);
            }
        };
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in &to_commit {
            // Offsets for partitions no longer assigned are ignored (KAFKA-5567).
            if current.contains_key(tp) {
                tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                    .map_err(|e| ConnectError::connect(e.to_string()))?;
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        debug!(task = %self.shared.id, partitions = tpl.count(), "committing consumer offsets");
        self.shared.metrics.record_commit_attempt();
        for (tp, offset) in &to_commit {
            if current.contains_key(tp) {
                self.committed.insert(tp.clone(), *offset);
            }
        }
        self.record_active(current);
        // Java records a commit when the broker answers. librdkafka tells
        // the outcome of a manual commit only to an `offset_commit_cb`,
        // which rdkafka does not set: the commit is recorded when librdkafka
        // takes it, and a later broker error goes unseen here.
        let committed = self.consumer.commit(&tpl, mode);
        self.shared
            .metrics
            .record_commit(committed.is_ok(), started.elapsed(), true);
        if let Err(e) = committed {
            // A failed commit only means re-delivery after a restart.
            warn!(task = %self.shared.id, %e, "offset commit failed");
        }
        Ok(())
    }

    async fn to_sink_record(&self, msg: &BorrowedMessage<'_>) -> ConnectResult<Option<SinkRecord>> {
        let topic = msg.topic();
        let raw_headers: Vec<(String, Option<Vec<u8>>)> = msg
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let raw = || RawRecord {
            topic: topic.to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(<[u8]>::to_vec),
            value: msg.payload().map(<[u8]>::to_vec),
            headers: raw_headers.clone(),
        };
        let conv = &self.shared.converters;
        let errors = &self.shared.errors;
        let key = match errors
            .retry(|| Ok(conv.key.to_connect(topic, msg.key())?))
            .await
        {
            Ok(k) => k,
            Err(e) => {
                return self
                    .skip(Stage::KeyConverter, &conv.classes[0], e, &raw())
                    .await
            }
        };
        let value = match errors
            .retry(|| Ok(conv.value.to_connect(topic, msg.payload())?))
            .await
        {
            Ok(v) => v,
            Err(e) => {
                return self
                    .skip(Stage::ValueConverter, &conv.classes[1], e, &raw())
                    .await
            }
        };
        let headers = match errors
            .retry(|| Ok(conv.deserialize_headers(topic, &raw_headers)?))
            .await
        {
            Ok(h) => h,
            Err(e) => {
                return self
                    .skip(Stage::HeaderConverter, &conv.classes[2], e, &raw())
                    .await
            }
        };
        let (timestamp, timestamp_type) = match msg.timestamp() {
            Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        let record = ConnectRecord {
            topic: topic.to_string(),
            partition: Some(msg.partition()),
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp,
            timestamp_type,
            headers,
            source_partition: None,
            source_offset: None,
            kafka: Some(KafkaPosition {
                tp: TopicPartition::new(topic, msg.partition()),
                offset: msg.offset(),
            }),
        };
        match self.shared.transforms.apply_traced(record) {
            Ok(r) => Ok(r),
            Err(e) => {
                self.skip(Stage::Transformation, &e.class, e.error, &raw())
                    .await
            }
        }
    }

    async fn skip(
        &self,
        stage: Stage,
        class: &str,
        error: ConnectError,
        raw: &RawRecord,
    ) -> ConnectResult<Option<SinkRecord>> {
        self.shared
            .errors
            .handle(stage, class, error, Some(raw))
            .await?;
        Ok(None)
    }
}

/// Committed offsets of a sink connector's consumer group, for
/// `GET /connectors/{c}/offsets`.
pub(crate) fn committed_offsets<C: ConsumerContext>(
    consumer: &rdkafka::consumer::BaseConsumer<C>,
    topics: &[String],
    timeout: Duration,
) -> ConnectResult<HashMap<TopicPartition, i64>> {
    let mut tpl = TopicPartitionList::new();
    for topic in topics {
        let md = consumer.fetch_metadata(Some(topic), timeout).map_err(|e| {
            ConnectError::connect(format!("cannot fetch metadata for {topic}: {e}"))
        })?;
        for t in md.topics() {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
    }
    if tpl.count() == 0 {
        return Ok(HashMap::new());
    }
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .map_err(|e| kafka_error("cannot read committed offsets", &e))?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((TopicPartition::new(e.topic(), e.partition()), o)),
            _ => None,
        })
        .collect())
}
