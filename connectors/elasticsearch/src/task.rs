//! The sink task: `put` turns records into bulk lines in a bounded buffer, a
//! dispatcher cuts batches (`batch.size`, `bulk.size.bytes`, `linger.ms`)
//! and keeps up to `max.in.flight.requests` bulk requests going, and each
//! request retries its failed items. `pre_commit` hands back, per original
//! topic partition, only offsets below the first record Elasticsearch has
//! not acknowledged (or that was not reported to the dead-letter queue).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rampart_core::connector::{
    Config, ConnectorMetrics, ErrantRecordReporter, SinkOffsets, SinkRetries, SinkTask,
    SinkTaskContext,
};
use rampart_core::converter::JsonConverter;
use rampart_core::data::Value;
use rampart_core::record::{SinkRecord, TopicPartition};
use rampart_core::{ConnectError, ConnectResult, DataError};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

use crate::bulk::{parse_response, prepare, BulkOutcome, ItemOutcome, OpKind, Prepared};
use crate::client::{BulkReply, EsClient};
use crate::config::{EsConfig, MalformedBehavior};
use crate::index::index_for_topic;
use crate::mapping::mapping_for;

/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(24 * 3600);

/// One record on its way to Elasticsearch.
pub(crate) struct Item {
    /// The partition the record was consumed from (not its routed topic).
    tp: TopicPartition,
    offset: i64,
    op: OpKind,
    lines: Vec<u8>,
    /// Kept for the errant-record reporter, should Elasticsearch reject it.
    /// A schemaless map or array value, or a string written verbatim, is
    /// not kept: deep copies of every record cost more than the rest of the
    /// sink, and such a value is rebuilt from `lines` (`value`) when needed.
    record: SinkRecord,
    value: Option<Range<usize>>,
    string_value: bool,
}

impl Item {
    pub(crate) fn new(
        r: &SinkRecord,
        op: OpKind,
        lines: Vec<u8>,
        value: Option<Range<usize>>,
    ) -> Item {
        let (tp, offset) = match &r.kafka {
            Some(k) => (k.tp.clone(), k.offset),
            None => (
                TopicPartition::new(r.topic.clone(), r.partition.unwrap_or(0)),
                0,
            ),
        };
        // Strings written verbatim are rebuilt too: the copy in `lines` is
        // the same bytes.
        let rebuild = match (&value, &r.value) {
            (Some(_), Value::Map(_) | Value::Array(_)) => r.value_schema.is_none(),
            (Some(range), Value::String(s)) => lines.get(range.clone()) == Some(s.as_bytes()),
            _ => false,
        };
        let record = SinkRecord {
            topic: r.topic.clone(),
            partition: r.partition,
            key_schema: r.key_schema.clone(),
            key: r.key.clone(),
            value_schema: r.value_schema.clone(),
            value: if rebuild {
                Value::Null
            } else {
                r.value.clone()
            },
            timestamp: r.timestamp,
            timestamp_type: r.timestamp_type,
            headers: r.headers.clone(),
            source_partition: None,
            source_offset: None,
            kafka: r.kafka.clone(),
        };
        Item {
            tp,
            offset,
            op,
            lines,
            record,
            value: if rebuild { value } else { None },
            string_value: matches!(r.value, Value::String(_)),
        }
    }

    /// The record as `put` received it, for the errant-record reporter.
    pub(crate) fn errant_record(&self) -> SinkRecord {
        let mut record = self.record.clone();
        let Some(bytes) = self.value.clone().and_then(|r| self.lines.get(r)) else {
            return record;
        };
        if self.string_value {
            record.value = Value::String(String::from_utf8_lossy(bytes).into_owned());
        } else if let Ok(json) = serde_json::from_slice::<serde_json::Value>(bytes) {
            record.value = JsonConverter::from_json_schemaless(&json);
        }
        record
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Item>,
    queued_bytes: usize,
    oldest: Option<Instant>,
    /// Offsets put but not yet acknowledged, per original topic partition.
    pending: HashMap<TopicPartition, BTreeSet<i64>>,
    flush_waiters: usize,
    fatal: Option<ConnectError>,
}

/// Records buffered or in flight, and whether the task has failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Progress {
    unacked: usize,
    failed: bool,
}

struct Shared {
    cfg: EsConfig,
    client: EsClient,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
    tolerate_all: bool,
    retries: Arc<SinkRetries>,
    state: Mutex<State>,
    /// Indices whose mapping exists (`schema.ignore=false`).
    mapped: Mutex<HashSet<String>>,
    /// One permit per record that may still be buffered (`max.buffered.records`).
    space: Arc<Semaphore>,
    wake: Notify,
    progress: watch::Sender<Progress>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half
        // updated in a way that matters more than losing the task.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, e: ConnectError) {
        error!(error = %e, "elasticsearch sink task failed");
        let mut st = self.state();
        if st.fatal.is_none() {
            st.fatal = Some(e);
        }
        drop(st);
        self.progress.send_modify(|p| p.failed = true);
    }

    fn ack(&self, items: &[Item]) {
        if items.is_empty() {
            return;
        }
        let mut st = self.state();
        for it in items {
            if let Some(set) = st.pending.get_mut(&it.tp) {
                set.remove(&it.offset);
            }
        }
        drop(st);
        self.space.add_permits(items.len());
        self.progress
            .send_modify(|p| p.unacked = p.unacked.saturating_sub(items.len()));
    }

    fn fatal(&self) -> Option<ConnectError> {
        self.state().fatal.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes records to Elasticsearch or OpenSearch through the bulk API.
#[derive(Default)]
pub struct ElasticsearchSinkTask {
    shared: Option<Arc<Shared>>,
    dispatcher: Option<JoinHandle<()>>,
}

impl ElasticsearchSinkTask {
    fn shared(&self) -> ConnectResult<&Arc<Shared>> {
        self.shared
            .as_ref()
            .ok_or_else(|| ConnectError::connect("task not started"))
    }

    // Waits until everything put so far is acknowledged.
    async fn flush_all(&self) -> ConnectResult<()> {
        let shared = self.shared()?;
        shared.state().flush_waiters += 1;
        shared.wake.notify_one();
        let mut rx = shared.progress.subscribe();
        let waited = tokio::time::timeout(
            shared.cfg.flush_timeout,
            rx.wait_for(|p| p.unacked == 0 || p.failed),
        )
        .await;
        shared.state().flush_waiters -= 1;
        if let Some(e) = shared.fatal() {
            return Err(e);
        }
        match waited {
            Ok(_) => Ok(()),
            Err(_) => Err(ConnectError::connect(format!(
                "flush timeout expired with unflushed records: {}",
                shared.progress.borrow().unacked
            ))),
        }
    }

    // With `schema.ignore=false`, the first struct-schema record of an index
    // creates its mapping before any document goes there. Runs before `put`
    // takes anything, so a retriable failure redelivers the same batch.
    async fn ensure_mappings(shared: &Shared, records: &[SinkRecord]) -> ConnectResult<()> {
        let cfg = &shared.cfg;
        if cfg.data_stream.is_some() {
            return Ok(());
        }
        for r in records {
            let Some(schema) = r.value_schema.as_deref() else {
                continue;
            };
            if cfg.ignore_schema(&r.topic) {
                continue;
            }
            // Invalid names are reported per record by `prepare`.
            let Ok(index) = index_for_topic(&r.topic) else {
                continue;
            };
            if lock(&shared.mapped).contains(&index) {
                continue;
            }
            let Some(mapping) = mapping_for(schema, cfg.compact_map_entries) else {
                continue;
            };
            shared
                .client
                .ensure_mapping(&index, &mapping)
                .await
                .map_err(|e| {
                    let message = format!("cannot create the mapping of index {index}: {e}");
                    if e.is_retryable() {
                        ConnectError::retriable(message)
                    } else {
                        ConnectError::connect(message)
                    }
                })?;
            info!(%index, "created the index mapping from the record schema");
            lock(&shared.mapped).insert(index);
        }
        Ok(())
    }

    // A record that cannot become a document: dropped with a warning
    // (`drop.invalid.message`), else reported (the dead-letter queue, or a
    // task failure under errors.tolerance=none).
    async fn invalid(
        shared: &Shared,
        record: &SinkRecord,
        e: crate::bulk::RecordError,
    ) -> ConnectResult<()> {
        let error = ConnectError::Data(DataError::new(e.to_string()));
        if shared.cfg.drop_invalid_message {
            warn!(topic = %record.topic, offset = record.kafka_offset(), error = %e, "dropping invalid record");
            return Ok(());
        }
        match &shared.reporter {
            Some(r) => r.report(record, &error).await,
            None => Err(error),
        }
    }
}

#[async_trait]
impl SinkTask for ElasticsearchSinkTask {
    fn metrics(&self) -> Option<Arc<dyn ConnectorMetrics>> {
        let retries: Arc<dyn ConnectorMetrics> = self.shared.as_ref()?.retries.clone();
        Some(retries)
    }

    async fn start(&mut self, config: &Config, context: SinkTaskContext) -> ConnectResult<()> {
        let cfg = EsConfig::parse(config)?;
        let client = EsClient::new(&cfg).map_err(|e| ConnectError::connect(e.to_string()))?;
        match client.info().await {
            Ok(info) => {
                info!(distribution = %info.distribution, version = %info.version, "connected to elasticsearch");
                if info.distribution == "elasticsearch" && info.major() < 7 {
                    warn!(version = %info.version, "elasticsearch before 7 is not supported");
                }
            }
            Err(e) if !e.is_retryable() => {
                return Err(ConnectError::connect(format!(
                    "could not connect to elasticsearch: {e}"
                )))
            }
            Err(e) => {
                warn!(error = %e, "elasticsearch is not reachable yet; bulk requests will retry")
            }
        }
        let space = Arc::new(Semaphore::new(cfg.max_buffered));
        let shared = Arc::new(Shared {
            tolerate_all: config
                .get("errors.tolerance")
                .is_some_and(|t| t.trim() == "all"),
            cfg,
            client,
            reporter: context.errant_record_reporter,
            retries: Arc::default(),
            state: Mutex::new(State::default()),
            mapped: Mutex::default(),
            space,
            wake: Notify::new(),
            progress: watch::Sender::new(Progress::default()),
        });
        self.dispatcher = Some(tokio::spawn(dispatch(shared.clone())));
        self.shared = Some(shared);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        let shared = self.shared()?.clone();
        if let Some(e) = shared.fatal() {
            return Err(e);
        }
        let cfg = &shared.cfg;
        Self::ensure_mappings(&shared, records).await?;
        for (i, chunk) in records.chunks(cfg.max_buffered).enumerate() {
            // Space first, so a full buffer rejects the whole batch before
            // anything of it was taken: the worker pauses its partitions and
            // hands the same batch again, without duplicates.
            let acquired = tokio::time::timeout(
                cfg.flush_timeout,
                shared.space.clone().acquire_many_owned(chunk.len() as u32),
            )
            .await;
            match acquired {
                Ok(Ok(permit)) => permit.forget(),
                Ok(Err(_)) => return Err(ConnectError::connect("task is stopping")),
                Err(_) if i == 0 => {
                    return Err(ConnectError::retriable(format!(
                        "buffer full: {} records wait for elasticsearch after flush.timeout.ms",
                        cfg.max_buffered
                    )))
                }
                Err(_) => {
                    return Err(ConnectError::connect(
                        "flush timeout expired while waiting for buffer space",
                    ))
                }
            }
            let mut items = Vec::with_capacity(chunk.len());
            let mut bytes = 0;
            for r in chunk {
                match prepare(r, cfg) {
                    Ok(Prepared::Write { op, lines, value }) => {
                        bytes += lines.len();
                        items.push(Item::new(r, op, lines, value));
                    }
                    Ok(Prepared::Skip) => {}
                    Err(e) => Self::invalid(&shared, r, e).await?,
                }
            }
            shared.space.add_permits(chunk.len() - items.len());
            if items.is_empty() {
                continue;
            }
            // Counted before the dispatcher can see them: a request may be
            // acknowledged before this function resumes.
            shared.progress.send_modify(|p| p.unacked += items.len());
            let mut st = shared.state();
            for it in &items {
                st.pending
                    .entry(it.tp.clone())
                    .or_default()
                    .insert(it.offset);
            }
            st.queue.extend(items);
            st.queued_bytes += bytes;
            st.oldest.get_or_insert_with(Instant::now);
            drop(st);
            shared.wake.notify_one();
        }
        Ok(())
    }

    async fn flush(&mut self, _offsets: &SinkOffsets) -> ConnectResult<()> {
        self.flush_all().await
    }

    async fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        let shared = self.shared()?.clone();
        if shared.cfg.flush_synchronously {
            self.flush_all().await?;
        }
        if let Some(e) = shared.fatal() {
            return Err(e);
        }
        let st = shared.state();
        Ok(offsets
            .iter()
            .map(|(tp, next)| {
                let first_unacked = st.pending.get(tp).and_then(|s| s.first().copied());
                let safe = first_unacked.map_or(*next, |f| f.min(*next));
                (tp.clone(), safe)
            })
            .collect())
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> ConnectResult<()> {
        // Records of revoked partitions still in flight are written anyway;
        // their offsets are no longer ours to commit, and the next owner's
        // redelivery overwrites the same ids.
        if let Some(shared) = &self.shared {
            let mut st = shared.state();
            for tp in partitions {
                st.pending.remove(tp);
            }
        }
        Ok(())
    }

    async fn stop(&mut self) {
        if let Some(d) = self.dispatcher.take() {
            d.abort();
        }
        if let Some(shared) = self.shared.take() {
            shared.space.close();
        }
    }
}

// Cuts batches and starts bulk requests, at most `max.in.flight.requests`
// at a time; aborting it aborts the requests.
async fn dispatch(shared: Arc<Shared>) {
    let inflight = Arc::new(Semaphore::new(shared.cfg.max_in_flight));
    let mut requests = JoinSet::new();
    loop {
        // Waiting for a request slot before cutting lets batches fill up
        // while every slot is busy.
        let Ok(permit) = inflight.clone().acquire_owned().await else {
            return;
        };
        let batch = loop {
            while requests.try_join_next().is_some() {}
            let wait = {
                let mut st = shared.state();
                if st.queue.is_empty() {
                    None
                } else {
                    let elapsed = st.oldest.map_or(Duration::ZERO, |t| t.elapsed());
                    let full = st.queue.len() >= shared.cfg.batch_size
                        || shared
                            .cfg
                            .bulk_size_bytes
                            .is_some_and(|cap| st.queued_bytes >= cap);
                    if full || st.flush_waiters > 0 || elapsed >= shared.cfg.linger {
                        break cut(&mut st, &shared.cfg);
                    }
                    Some(shared.cfg.linger - elapsed)
                }
            };
            match wait {
                None => shared.wake.notified().await,
                Some(d) => {
                    tokio::select! {
                        _ = shared.wake.notified() => {}
                        _ = tokio::time::sleep(d) => {}
                    }
                }
            }
        };
        requests.spawn(send(shared.clone(), batch, permit));
    }
}

fn cut(st: &mut State, cfg: &EsConfig) -> Vec<Item> {
    let mut batch = Vec::with_capacity(cfg.batch_size.min(st.queue.len()));
    let mut bytes = 0;
    while batch.len() < cfg.batch_size {
        let Some(next) = st.queue.front() else { break };
        let len = next.lines.len();
        if !batch.is_empty() && cfg.bulk_size_bytes.is_some_and(|cap| bytes + len > cap) {
            break;
        }
        bytes += len;
        if let Some(it) = st.queue.pop_front() {
            batch.push(it);
        }
    }
    st.queued_bytes = st.queued_bytes.saturating_sub(bytes);
    st.oldest = (!st.queue.is_empty()).then(Instant::now);
    batch
}

/// Exponential backoff with jitter: between half and all of
/// `retry.backoff.ms * 2^(attempt-1)`, that capped at `max` (and 24 h).
pub fn backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let cap = max.min(MAX_BACKOFF);
    let exp = base
        .checked_mul(1u32 << attempt.saturating_sub(1).min(30))
        .unwrap_or(cap)
        .min(cap);
    let half = exp / 2;
    half + half.mul_f64(fastrand::f64())
}

// One bulk request and its retries. Acknowledged items release their
// offsets; items that exhaust `max.retries` fail the task and stay pending,
// so their offsets are never committed.
async fn send(shared: Arc<Shared>, mut items: Vec<Item>, _permit: OwnedSemaphorePermit) {
    let cfg = &shared.cfg;
    let mut attempt = 0u32;
    loop {
        let size: usize = items.iter().map(|i| i.lines.len()).sum();
        let mut body = shared.client.body_buffer(size);
        for it in &items {
            body.extend_from_slice(&it.lines);
        }
        let ops: Vec<OpKind> = items.iter().map(|i| i.op).collect();
        let last_error = match shared.client.bulk(body, ops.len()).await {
            Err(e) if !e.is_retryable() => {
                shared.fail(ConnectError::connect(format!("bulk request failed: {e}")));
                return;
            }
            Err(e) => e.to_string(),
            Ok(BulkReply::AllOk) => {
                shared.ack(&items);
                return;
            }
            Ok(BulkReply::Body(resp)) => match parse_response(&resp, &ops) {
                Err(e) => e.to_string(),
                Ok(BulkOutcome::AllOk) => {
                    shared.ack(&items);
                    return;
                }
                Ok(BulkOutcome::Items(outcomes)) => match settle(&shared, items, outcomes).await {
                    Ok((retry, reason)) if !retry.is_empty() => {
                        items = retry;
                        reason
                    }
                    Ok(_) => return,
                    Err(e) => {
                        shared.fail(e);
                        return;
                    }
                },
            },
        };
        attempt += 1;
        if attempt > cfg.max_retries {
            shared.fail(ConnectError::connect(format!(
                "failed to index {} records after {} retries: {last_error}",
                items.len(),
                cfg.max_retries
            )));
            return;
        }
        let wait = backoff(cfg.retry_backoff, cfg.retry_backoff_max, attempt);
        shared.retries.retried();
        warn!(records = items.len(), attempt, wait_ms = wait.as_millis() as u64, error = %last_error, "retrying bulk request");
        tokio::time::sleep(wait).await;
    }
}

// Applies per-item outcomes: acknowledges what is done (written, already
// there, or rejected and dealt with) and returns the items to retry.
async fn settle(
    shared: &Shared,
    items: Vec<Item>,
    outcomes: Vec<ItemOutcome>,
) -> ConnectResult<(Vec<Item>, String)> {
    let mut done = Vec::with_capacity(items.len());
    let mut retry = Vec::new();
    let mut reason = String::new();
    let mut conflicts = 0;
    for (item, outcome) in items.into_iter().zip(outcomes) {
        match outcome {
            ItemOutcome::Ok => done.push(item),
            ItemOutcome::Conflict => {
                conflicts += 1;
                done.push(item);
            }
            ItemOutcome::Retry(r) => {
                reason = r;
                retry.push(item);
            }
            ItemOutcome::Malformed(r) => {
                rejected(shared, &item, &r, true).await?;
                done.push(item);
            }
            ItemOutcome::Rejected(r) => {
                rejected(shared, &item, &r, false).await?;
                done.push(item);
            }
        }
    }
    if conflicts > 0 {
        debug!(
            conflicts,
            "version conflicts: these documents already exist at the same or a newer version"
        );
    }
    shared.ack(&done);
    Ok((retry, reason))
}

async fn rejected(
    shared: &Shared,
    item: &Item,
    reason: &str,
    malformed: bool,
) -> ConnectResult<()> {
    let tp = &item.tp;
    let error = ConnectError::connect(format!(
        "elasticsearch rejected the record from {tp}@{}: {reason}",
        item.offset
    ));
    let behaviour = if malformed {
        shared.cfg.malformed
    } else {
        MalformedBehavior::Fail
    };
    match behaviour {
        MalformedBehavior::Ignore | MalformedBehavior::Warn => {
            if behaviour == MalformedBehavior::Warn {
                warn!(partition = %tp, offset = item.offset, %reason, "ignoring malformed document");
            } else {
                debug!(partition = %tp, offset = item.offset, %reason, "ignoring malformed document");
            }
            // Under errors.tolerance=all the reporter only logs or sends to
            // the dead-letter queue, so ignored documents are kept there.
            match &shared.reporter {
                Some(r) if shared.tolerate_all => r.report(&item.errant_record(), &error).await,
                _ => Ok(()),
            }
        }
        MalformedBehavior::Fail => match &shared.reporter {
            Some(r) => r.report(&item.errant_record(), &error).await,
            None => Err(error),
        },
    }
}
