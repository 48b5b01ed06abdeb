//! `WorkerSourceTask`: polls a source task, transforms and converts its
//! records, produces them with `acks=all`, and commits a source offset only
//! once the broker acknowledged every record before it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::connector::{SourceTask, SourceTaskContext};
use rampart_core::herder::TargetState;
use rampart_core::record::{SourceMap, SourceRecord};
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::errors::{RawRecord, Stage};
use super::metrics::TaskMetrics;
use super::topic_creation::TopicCreator;
use super::{TaskShared, TaskStatus};
use crate::stores::OffsetBackingStore;

/// Records produced but not yet acknowledged, at most. Reaching it blocks
/// `poll`, so a slow broker slows the source instead of growing memory.
const MAX_OUTSTANDING: usize = 10_000;

enum Ack {
    // A record sent to Kafka: its source position becomes committable once
    // the delivery future (and every earlier one) completes.
    Pending {
        delivery: DeliveryFuture,
        position: Option<(SourceMap, SourceMap)>,
        topic: String,
    },
    // A record dropped by a transform or skipped by error tolerance.
    Done {
        position: Option<(SourceMap, SourceMap)>,
    },
}

// Offsets acknowledged but not yet written to the offset store, keyed by the
// source partition's JSON text.
type Committable = Arc<Mutex<HashMap<String, (SourceMap, SourceMap)>>>;

pub(crate) struct SourceTaskRunner {
    pub(crate) shared: TaskShared,
    pub(crate) task: Box<dyn SourceTask>,
    pub(crate) producer: FutureProducer,
    pub(crate) offsets: Arc<dyn OffsetBackingStore>,
    pub(crate) context: SourceTaskContext,
    pub(crate) topics: TopicCreator,
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
        let committable: Committable = Arc::default();
        let (ack_tx, ack_rx) = mpsc::channel(MAX_OUTSTANDING);
        let (fail_tx, mut fail_rx) = oneshot::channel();
        let acker = tokio::spawn(acknowledge(
            ack_rx,
            committable.clone(),
            fail_tx,
            self.shared.clone(),
        ));
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
                        _ = flush.tick() => self.commit(&committable).await?,
                        failed = &mut fail_rx => break Err(failed.unwrap_or_else(|_| ConnectError::connect("acknowledger stopped"))),
                    }
                    continue;
                }
                TargetState::Started => self.shared.set_status(TaskStatus::Running),
            }
            tokio::select! {
                biased;
                changed = control.changed() => if changed.is_err() { break Ok(()) },
                failed = &mut fail_rx => break Err(failed.unwrap_or_else(|_| ConnectError::connect("acknowledger stopped"))),
                _ = flush.tick() => self.commit(&committable).await?,
                batch = self.task.poll() => {
                    // On failure, still commit what the broker acknowledged.
                    let batch = match batch {
                        Ok(b) => b,
                        Err(e) => break 'run Err(e),
                    };
                    TaskMetrics::add(&self.shared.metrics.records_in, batch.len() as u64);
                    for record in batch {
                        if let Err(e) = self.send(record, &ack_tx).await {
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
                        self.send(record, &ack_tx).await?;
                    }
                }
                Ok(Err(e)) => warn!(task = %self.shared.id, error = %e, "drain at shutdown failed"),
                Err(_) => warn!(task = %self.shared.id, "drain at shutdown timed out"),
            }
        }
        // Let in-flight records finish, within the graceful shutdown timeout,
        // then commit what was acknowledged.
        drop(ack_tx);
        let timeout = self.shared.worker.task_shutdown_timeout;
        if tokio::time::timeout(timeout, self.producer_flush())
            .await
            .is_err()
        {
            warn!(task = %self.shared.id, "graceful shutdown timed out; unacknowledged records will be re-sent after restart");
        }
        let _ = tokio::time::timeout(timeout, acker).await;
        self.commit(&committable).await?;
        outcome
    }

    async fn producer_flush(&self) {
        let producer = self.producer.clone();
        let timeout = self.shared.worker.task_shutdown_timeout;
        let _ = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
    }

    async fn commit(&mut self, committable: &Committable) -> ConnectResult<()> {
        self.shared.refresh_warning();
        let entries: Vec<(SourceMap, Option<SourceMap>)> = {
            let mut c = committable
                .lock()
                .map_err(|_| ConnectError::connect("offset tracker poisoned"))?;
            std::mem::take(&mut *c)
                .into_values()
                .map(|(p, o)| (p, Some(o)))
                .collect()
        };
        if entries.is_empty() {
            return Ok(());
        }
        debug!(task = %self.shared.id, partitions = entries.len(), "committing source offsets");
        self.offsets.put(&self.shared.id.connector, entries).await?;
        TaskMetrics::add(&self.shared.metrics.offset_commits, 1);
        self.task.commit().await
    }

    async fn send(
        &mut self,
        mut record: SourceRecord,
        ack_tx: &mpsc::Sender<Ack>,
    ) -> ConnectResult<()> {
        // The source position travels beside the record, not through the
        // transforms: it is the framework's, whatever they do to the record.
        let position = match (record.source_partition.take(), record.source_offset.take()) {
            (Some(p), Some(o)) => Some((p, o)),
            _ => None,
        };
        let (topic, partition) = (record.topic.clone(), record.partition.unwrap_or(-1));
        let raw = move || RawRecord {
            topic,
            partition,
            offset: -1,
            ..Default::default()
        };
        let transformed = match self.shared.transforms.apply_traced(record) {
            Ok(Some(r)) => r,
            Ok(None) => return send_ack(ack_tx, Ack::Done { position }).await,
            Err(e) => {
                self.shared
                    .errors
                    .handle(Stage::Transformation, &e.class, e.error, Some(&raw()))
                    .await?;
                return send_ack(ack_tx, Ack::Done { position }).await;
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
                    .handle(Stage::KeyConverter, &conv.classes[0], e, Some(&raw()))
                    .await?;
                return send_ack(ack_tx, Ack::Done { position }).await;
            }
        };
        let value = match self
            .shared
            .errors
            .retry(|| {
                Ok(conv.value.from_connect(
                    topic,
                    transformed.value_schema.as_ref(),
                    &transformed.value,
                )?)
            })
            .await
        {
            Ok(v) => v,
            Err(e) => {
                self.shared
                    .errors
                    .handle(Stage::ValueConverter, &conv.classes[1], e, Some(&raw()))
                    .await?;
                return send_ack(ack_tx, Ack::Done { position }).await;
            }
        };
        let headers = match self
            .shared
            .errors
            .retry(|| Ok(conv.serialize_headers(topic, &transformed.headers)?))
            .await
        {
            Ok(h) => h,
            Err(e) => {
                self.shared
                    .errors
                    .handle(Stage::HeaderConverter, &conv.classes[2], e, Some(&raw()))
                    .await?;
                return send_ack(ack_tx, Ack::Done { position }).await;
            }
        };
        self.topics.ensure(&transformed.topic).await?;
        let mut owned_headers = OwnedHeaders::new_with_capacity(headers.len());
        for (k, v) in &headers {
            owned_headers = owned_headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        let mut fr: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(&transformed.topic);
        if let Some(k) = &key {
            fr = fr.key(k.as_slice());
        }
        if let Some(v) = &value {
            fr = fr.payload(v.as_slice());
        }
        if !headers.is_empty() {
            fr = fr.headers(owned_headers);
        }
        if let Some(p) = transformed.partition {
            fr = fr.partition(p);
        }
        if let Some(ts) = transformed.timestamp {
            fr = fr.timestamp(ts);
        }
        let mut backoff = Duration::from_millis(1);
        let delivery = loop {
            match self.producer.send_result(fr) {
                Ok(d) => break d,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // librdkafka's queue is full: wait for deliveries to drain.
                    fr = back;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err((e, _)) => {
                    return Err(ConnectError::connect(format!(
                        "Unrecoverable exception trying to send: {e}"
                    )))
                }
            }
        };
        send_ack(
            ack_tx,
            Ack::Pending {
                delivery,
                position,
                topic: transformed.topic,
            },
        )
        .await
    }
}

async fn send_ack(tx: &mpsc::Sender<Ack>, ack: Ack) -> ConnectResult<()> {
    tx.send(ack)
        .await
        .map_err(|_| ConnectError::connect("acknowledger stopped"))
}

fn position_key(p: &SourceMap) -> String {
    serde_json::Value::Object(p.clone()).to_string()
}

// Awaits deliveries in send order, so when a record's future completes every
// earlier record is acknowledged too and its offset may be committed.
async fn acknowledge(
    mut rx: mpsc::Receiver<Ack>,
    committable: Committable,
    fail: oneshot::Sender<ConnectError>,
    shared: TaskShared,
) {
    // Most sources have few partitions: remember the last one's key rather
    // than serialising the partition map for every record.
    let mut last_key: Option<(SourceMap, String)> = None;
    while let Some(ack) = rx.recv().await {
        let position = match ack {
            Ack::Done { position } => position,
            Ack::Pending {
                delivery,
                position,
                topic,
            } => match delivery.await {
                Ok(Ok(_)) => {
                    TaskMetrics::add(&shared.metrics.records_out, 1);
                    shared.record_topic(&topic);
                    position
                }
                Ok(Err((e, _))) => {
                    let _ = fail.send(ConnectError::connect(format!(
                        "Unrecoverable exception from producer send callback: {e}"
                    )));
                    return;
                }
                Err(_) => {
                    let _ = fail.send(ConnectError::connect("producer was closed before delivery"));
                    return;
                }
            },
        };
        if let Some((p, o)) = position {
            let key = match &last_key {
                Some((lp, k)) if *lp == p => k.clone(),
                _ => {
                    let k = position_key(&p);
                    last_key = Some((p.clone(), k.clone()));
                    k
                }
            };
            if let Ok(mut c) = committable.lock() {
                c.insert(key, (p, o));
            }
        }
    }
}
