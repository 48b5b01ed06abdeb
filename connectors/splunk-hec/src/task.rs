//! The sink task. `put` renders records into batches and hands each sealed
//! batch to its own delivery task; deliveries retry behind the URIs'
//! backoff gates, wait for indexer acknowledgement, and report refused
//! events to the dead-letter queue. `pre_commit` returns only offsets whose
//! every earlier record is done (see `tracker`). Memory is bounded by the
//! outstanding limits: over them `put` refuses the records with a retriable
//! error, so the worker pauses the partitions and offers them again later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use rampart_core::connector::{
    Config, ConnectorMetrics, ErrantRecordReporter, SinkOffsets, SinkRetries, SinkTask,
    SinkTaskContext,
};
use rampart_core::data::Value;
use rampart_core::record::{SinkRecord, TopicPartition};
use rampart_core::{ConnectError, ConnectResult};
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, error, info, warn};

use crate::client::HecClient;
use crate::config::HecConfig;
use crate::event::{RawMeta, Renderer};
use crate::hec::{ErrorKind, HecError};
use crate::tracker::{Hold, Tracker};

/// How long `put` waits for room under the outstanding limits before it
/// refuses the records (the worker then pauses and backs off).
const SPACE_WAIT: Duration = Duration::from_secs(1);
/// Shortest time between two acknowledgement polls brought forward by
/// memory pressure.
const PRESSURE_POLL_SPACING: Duration = Duration::from_millis(50);

/// Why a delivery failed for good; the task fails with it.
#[derive(Debug, thiserror::Error)]
enum DeliveryError {
    #[error(transparent)]
    Hec(#[from] HecError),
    #[error("splunk hec refused an event and the task has no errant record reporter: {0}")]
    NoReporter(HecError),
    #[error("cannot report an event splunk hec refused: {0}")]
    Report(ConnectError),
    #[error("splunk.hec.ack.enabled=true but splunk hec at {0} answered without an ackId; enable indexer acknowledgement on the token or set splunk.hec.ack.enabled=false")]
    NoAckId(String),
    #[error("the acknowledgement poller stopped")]
    PollerStopped,
}

struct Pending {
    sent: Instant,
    done: oneshot::Sender<bool>,
}

/// Ack ids waiting for their acknowledgement, per channel.
#[derive(Default)]
struct Acks {
    pending: Mutex<HashMap<usize, HashMap<u64, Pending>>>,
    pressure: Notify,
}

impl Acks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, HashMap<u64, Pending>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn register(&self, channel: usize, id: u64) -> oneshot::Receiver<bool> {
        let (tx, rx) = oneshot::channel();
        self.lock().entry(channel).or_default().insert(
            id,
            Pending {
                sent: Instant::now(),
                done: tx,
            },
        );
        rx
    }
}

struct Shared {
    config: Arc<HecConfig>,
    client: HecClient,
    tracker: Mutex<Tracker>,
    space: Notify,
    acks: Acks,
    fatal: Mutex<Option<String>>,
    requests: Semaphore,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
    retries: Arc<SinkRetries>,
}

struct Posted {
    channel: usize,
    ack_id: Option<u64>,
}

/// A sealed batch.
struct Batch {
    body: Vec<u8>,
    // Where each event starts in `body`, so a refused batch can be split.
    event_starts: Vec<usize>,
    records: Vec<SinkRecord>,
    record_bytes: usize,
    meta: Option<RawMeta>,
    hold: Hold,
}

#[derive(Default)]
struct Builder {
    body: Vec<u8>,
    event_starts: Vec<usize>,
    records: Vec<SinkRecord>,
    record_bytes: usize,
    starts: Vec<(TopicPartition, i64)>,
}

fn value_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::Null => 0,
        _ => 256,
    }
}

/// A rough size of a record held for the dead-letter queue: the struct
/// (about 350 bytes), its topic twice (current and original), key, value
/// and headers.
fn record_size(r: &SinkRecord) -> usize {
    384 + 2 * r.topic.len() + value_size(&r.key) + value_size(&r.value) + r.headers.len() * 96
}

impl Builder {
    fn add(&mut self, r: &SinkRecord, start: usize) {
        self.event_starts.push(start);
        self.record_bytes += record_size(r);
        self.records.push(r.clone());
        if let Some(k) = &r.kafka {
            if !self.starts.iter().any(|(tp, _)| *tp == k.tp) {
                self.starts.push((k.tp.clone(), k.offset));
            }
        }
    }

    fn seal(self, id: u64, meta: Option<RawMeta>) -> Batch {
        let events = self.records.len();
        let bytes = self.body.capacity() + self.record_bytes;
        Batch {
            hold: Hold {
                id,
                starts: self.starts,
                events,
                bytes,
            },
            body: self.body,
            event_starts: self.event_starts,
            records: self.records,
            record_bytes: self.record_bytes,
            meta,
        }
    }
}

impl Shared {
    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, e: &DeliveryError) {
        let mut f = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        if f.is_none() {
            error!(error = %e, "splunk hec delivery failed; the task will fail");
            *f = Some(e.to_string());
        } else {
            // Every batch in flight hits the same cause; one error log is enough.
            debug!(error = %e, "splunk hec delivery failed");
        }
    }

    fn fatal(&self) -> ConnectResult<()> {
        match &*self.fatal.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(m) => Err(ConnectError::connect(m.clone())),
            None => Ok(()),
        }
    }

    // Sends a body until HEC accepts it, retrying retryable errors behind
    // the URIs' gates: a retry never goes out before the backoff of the URI
    // it picks, so a down indexer gets a few requests per backoff period,
    // not a storm.
    async fn post(&self, body: &Bytes, meta: Option<&RawMeta>) -> Result<Posted, HecError> {
        let body = self.client.encode(body);
        let mut retries = 0u32;
        loop {
            let (channel, ready) = self.client.pick();
            if ready > Instant::now() {
                tokio::time::sleep_until(ready.into()).await;
                continue;
            }
            let Ok(_permit) = self.requests.acquire().await else {
                return Err(HecError::Transport {
                    uri: self.client.endpoint(channel).uri.clone(),
                    reason: "the task is stopping".to_string(),
                });
            };
            // The gate may have closed while this request queued for a permit.
            if self.client.endpoint(channel).ready_at() > Instant::now() {
                continue;
            }
            match self.client.post(channel, body.clone(), meta).await {
                Ok(a) => {
                    return Ok(Posted {
                        channel,
                        ack_id: a.ack_id,
                    })
                }
                Err(e) if e.kind() == ErrorKind::Retryable => {
                    retries += 1;
                    self.retries.retried();
                    if self.config.max_retries.is_some_and(|max| retries > max) {
                        return Err(HecError::RetriesExhausted {
                            retries: retries - 1,
                            last: Box::new(e),
                        });
                    }
                    if retries == 1 || retries.is_multiple_of(10) {
                        warn!(error = %e, retries, "splunk hec request failed; retrying after backoff");
                    } else {
                        debug!(error = %e, retries, "splunk hec request failed; retrying after backoff");
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    // Waits for the acknowledgement of a posted body, sending it again each
    // time `splunk.hec.event.timeout` passes without one.
    async fn settle(
        &self,
        mut posted: Posted,
        body: &Bytes,
        meta: Option<&RawMeta>,
    ) -> Result<(), DeliveryError> {
        if !self.config.ack {
            return Ok(());
        }
        loop {
            let Some(id) = posted.ack_id else {
                return Err(DeliveryError::NoAckId(
                    self.client.endpoint(posted.channel).uri.clone(),
                ));
            };
            let acked = self.acks.register(posted.channel, id);
            match acked.await {
                Ok(true) => return Ok(()),
                Ok(false) => {
                    warn!(
                        channel = %self.client.channels[posted.channel].id, ack_id = id,
                        timeout_s = self.config.event_timeout.as_secs(),
                        "no acknowledgement within splunk.hec.event.timeout; sending the events again"
                    );
                    posted = self.post(body, meta).await?;
                }
                Err(_) => return Err(DeliveryError::PollerStopped),
            }
        }
    }

    async fn report(&self, record: &SinkRecord, e: HecError) -> Result<(), DeliveryError> {
        let Some(reporter) = &self.reporter else {
            return Err(DeliveryError::NoReporter(e));
        };
        warn!(error = %e, topic = %record.topic, offset = ?record.kafka_offset(), "splunk hec refused an event; reporting it");
        reporter
            .report(record, &ConnectError::connect(e.to_string()))
            .await
            .map_err(DeliveryError::Report)
    }

    // A refused batch: send its events one by one, report the refused ones.
    // (Splunk may have indexed the events before the refused one, so those
    // can arrive twice: at least once, never lost.)
    async fn split(&self, batch: Batch, first: HecError) -> Result<(), DeliveryError> {
        let n = batch.records.len();
        if n == 1 {
            return self.report(&batch.records[0], first).await;
        }
        warn!(error = %first, events = n, "splunk hec refused a batch; sending its events one by one");
        let body = Bytes::from(batch.body);
        let mut posted = Vec::new();
        for (i, record) in batch.records.iter().enumerate() {
            let end = batch.event_starts.get(i + 1).copied().unwrap_or(body.len());
            let one = body.slice(batch.event_starts[i]..end);
            match self.post(&one, batch.meta.as_ref()).await {
                Ok(p) => posted.push((p, one)),
                Err(e) if e.kind() == ErrorKind::InvalidData => self.report(record, e).await?,
                Err(e) => return Err(e.into()),
            }
        }
        let meta = batch.meta.as_ref();
        let settled = futures::future::join_all(
            posted
                .into_iter()
                .map(|(p, one)| async move { self.settle(p, &one, meta).await }),
        )
        .await;
        settled.into_iter().collect()
    }

    async fn deliver(self: Arc<Self>, mut batch: Batch) {
        let hold = std::mem::take(&mut batch.hold);
        let mut held = hold.bytes;
        let body = Bytes::from(std::mem::take(&mut batch.body));
        let meta = batch.meta.clone();
        let result = match self.post(&body, meta.as_ref()).await {
            Ok(posted) => {
                // HEC took every event: the records are no longer needed
                // for the dead-letter queue, only the body for resends.
                held -= batch.record_bytes;
                self.tracker().release_bytes(batch.record_bytes);
                drop(batch);
                self.space.notify_waiters();
                self.settle(posted, &body, meta.as_ref()).await
            }
            Err(e) if e.kind() == ErrorKind::InvalidData => {
                batch.body = body.to_vec();
                self.split(batch, e).await
            }
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(()) => {
                self.tracker().done(&hold, held);
                self.space.notify_waiters();
            }
            // The batch stays outstanding, so its offsets are never committed.
            Err(e) => self.fail(&e),
        }
    }

    async fn poll_acks(self: Arc<Self>) {
        let interval = self.config.ack_poll_interval;
        let mut last = Instant::now();
        loop {
            let pressure = tokio::select! {
                _ = tokio::time::sleep_until((last + interval).into()) => false,
                _ = self.acks.pressure.notified() => true,
            };
            if pressure {
                tokio::time::sleep_until((last + PRESSURE_POLL_SPACING).into()).await;
            }
            last = Instant::now();
            let work: Vec<(usize, Vec<u64>)> = self
                .acks
                .lock()
                .iter()
                .filter(|(ch, ids)| {
                    !ids.is_empty()
                        // Early polls skip URIs that are backing off.
                        && (!pressure || self.client.endpoint(**ch).ready_at() <= last)
                })
                .map(|(ch, ids)| (*ch, ids.keys().copied().collect()))
                .collect();
            let this = &self;
            let answers: Vec<_> = futures::stream::iter(work)
                .map(|(ch, ids)| async move { (ch, this.client.poll_acks(ch, &ids).await) })
                .buffer_unordered(self.config.ack_poll_threads)
                .collect()
                .await;
            let mut pending = self.acks.lock();
            for (ch, answer) in answers {
                match answer {
                    Ok(acked) => {
                        if let Some(ids) = pending.get_mut(&ch) {
                            for id in acked {
                                if let Some(p) = ids.remove(&id) {
                                    let _ = p.done.send(true);
                                }
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Fatal => {
                        drop(pending);
                        self.fail(&DeliveryError::Hec(e));
                        return;
                    }
                    Err(e) => warn!(error = %e, "acknowledgement poll failed; polling again later"),
                }
            }
            let now = Instant::now();
            for ids in pending.values_mut() {
                let expired: Vec<u64> = ids
                    .iter()
                    .filter(|(_, p)| now.duration_since(p.sent) >= self.config.event_timeout)
                    .map(|(id, _)| *id)
                    .collect();
                for id in expired {
                    if let Some(p) = ids.remove(&id) {
                        let _ = p.done.send(false);
                    }
                }
            }
        }
    }

    async fn check_health(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.config.lb_poll_interval).await;
            for i in 0..self.client.endpoints.len() {
                if !self.client.check_health(i).await {
                    warn!(uri = %self.client.endpoints[i].uri, "splunk hec health check failed; avoiding the uri until it passes");
                }
            }
        }
    }
}

struct Running {
    shared: Arc<Shared>,
    renderer: Renderer,
    event: Builder,
    raw: HashMap<RawMeta, Builder>,
    deliveries: JoinSet<()>,
    background: Vec<JoinHandle<()>>,
    next_batch: u64,
}

impl Running {
    fn reap(&mut self) {
        while let Some(done) = self.deliveries.try_join_next() {
            if let Err(e) = done {
                if e.is_panic() {
                    self.shared
                        .fail(&DeliveryError::Report(ConnectError::connect(format!(
                            "a delivery task panicked: {e}"
                        ))));
                }
            }
        }
    }

    fn has_space(&self, n: usize) -> bool {
        let t = self.shared.tracker();
        let cfg = &self.shared.config;
        (t.events() == 0 || t.events() + n <= cfg.max_outstanding_events)
            && t.bytes() < cfg.max_outstanding_bytes
    }

    async fn wait_for_space(&self, n: usize) -> ConnectResult<()> {
        let deadline = tokio::time::Instant::now() + SPACE_WAIT;
        loop {
            let notified = self.shared.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.has_space(n) {
                return Ok(());
            }
            self.shared.fatal()?;
            self.shared.acks.pressure.notify_one();
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let t = self.shared.tracker();
                    return Err(ConnectError::retriable(format!(
                        "splunk hec backlog is full ({} events, {} bytes outstanding); waiting for deliveries",
                        t.events(),
                        t.bytes()
                    )));
                }
            }
        }
    }

    fn send(&mut self, builder: Builder, meta: Option<RawMeta>) {
        if builder.records.is_empty() {
            return;
        }
        self.next_batch += 1;
        let batch = builder.seal(self.next_batch, meta);
        self.shared.tracker().hold(&batch.hold);
        self.deliveries.spawn(self.shared.clone().deliver(batch));
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        self.reap();
        self.shared.fatal()?;
        if records.is_empty() {
            return Ok(());
        }
        self.wait_for_space(records.len()).await?;
        let max = self.shared.config.max_batch_size;
        let raw = self.shared.config.raw;
        for r in records {
            let meta = raw.then(|| self.renderer.raw_meta(r));
            let builder = match &meta {
                Some(m) => self.raw.entry(m.clone()).or_default(),
                None => &mut self.event,
            };
            let before = builder.body.len();
            let rendered = if raw {
                self.renderer.raw(r, &mut builder.body)
            } else {
                self.renderer.event(r, &mut builder.body)
            };
            match rendered {
                Ok(true) => builder.add(r, before),
                Ok(false) => {
                    debug!(topic = %r.topic, offset = ?r.kafka_offset(), "record without value; nothing to send");
                }
                Err(e) => {
                    builder.body.truncate(before);
                    self.report_now(r, e.into()).await?;
                }
            }
            let full = match &meta {
                Some(m) => self.raw.get(m).is_some_and(|b| b.records.len() >= max),
                None => self.event.records.len() >= max,
            };
            if full {
                let b = match &meta {
                    Some(m) => self.raw.remove(m).unwrap_or_default(),
                    None => std::mem::take(&mut self.event),
                };
                self.send(b, meta);
            }
        }
        // Batches never linger: what a put leaves is sent at once, so the
        // worker's own batching (up to 500 records a put) sets their size.
        let event = std::mem::take(&mut self.event);
        self.send(event, None);
        let raws: Vec<_> = self.raw.drain().collect();
        for (meta, b) in raws {
            self.send(b, Some(meta));
        }
        Ok(())
    }

    async fn report_now(&self, r: &SinkRecord, e: ConnectError) -> ConnectResult<()> {
        match &self.shared.reporter {
            Some(reporter) => reporter.report(r, &e).await,
            None => Err(e),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for h in &self.background {
            h.abort();
        }
        self.deliveries.abort_all();
    }
}

/// Sends records to Splunk HEC.
#[derive(Default)]
pub struct SplunkHecSinkTask {
    running: Option<Running>,
}

impl SplunkHecSinkTask {
    fn running(&mut self) -> ConnectResult<&mut Running> {
        self.running
            .as_mut()
            .ok_or_else(|| ConnectError::connect("task not started"))
    }
}

#[async_trait]
impl SinkTask for SplunkHecSinkTask {
    fn metrics(&self) -> Option<Arc<dyn ConnectorMetrics>> {
        let retries: Arc<dyn ConnectorMetrics> = self.running.as_ref()?.shared.retries.clone();
        Some(retries)
    }

    async fn start(&mut self, config: &Config, context: SinkTaskContext) -> ConnectResult<()> {
        let config = Arc::new(HecConfig::parse(config)?);
        let client = HecClient::new(&config)?;
        let permits = client.channels.len() * config.connections_per_channel;
        info!(
            uris = ?config.uris, channels = client.channels.len(), raw = config.raw, ack = config.ack,
            "splunk hec sink task starting"
        );
        let shared = Arc::new(Shared {
            config: config.clone(),
            client,
            tracker: Mutex::new(Tracker::default()),
            space: Notify::new(),
            acks: Acks::default(),
            fatal: Mutex::new(None),
            requests: Semaphore::new(permits),
            reporter: context.errant_record_reporter,
            retries: Arc::default(),
        });
        let mut background = vec![tokio::spawn(shared.clone().check_health())];
        if config.ack {
            background.push(tokio::spawn(shared.clone().poll_acks()));
        }
        self.running = Some(Running {
            renderer: Renderer::new(config),
            shared,
            event: Builder::default(),
            raw: HashMap::new(),
            deliveries: JoinSet::new(),
            background,
            next_batch: 0,
        });
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        self.running()?.put(records).await
    }

    async fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        let running = self.running()?;
        running.reap();
        running.shared.fatal()?;
        Ok(running.shared.tracker().committable(offsets))
    }

    async fn close(&mut self, partitions: &[TopicPartition]) -> ConnectResult<()> {
        if let Some(r) = self.running.as_mut() {
            r.shared.tracker().close(partitions);
        }
        Ok(())
    }

    async fn stop(&mut self) {
        self.running = None;
    }
}
