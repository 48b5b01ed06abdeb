//! Error tolerance and the dead-letter queue (KIP-298): what happens to a
//! record whose conversion, transformation or delivery failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rampart_core::config::ParsedConfig;
use rampart_core::connector::ErrantRecordReporter;
use rampart_core::herder::ConnectorTaskId;
use rampart_core::record::SinkRecord;
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tracing::{error, warn};

use super::convert::Converters;

/// The stage at which an error happened (`Stage` in Kafka).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Key converter.
    KeyConverter,
    /// Value converter.
    ValueConverter,
    /// Header converter.
    HeaderConverter,
    /// A transform.
    Transformation,
    /// The sink task's `put`.
    TaskPut,
    /// The source task's `poll`.
    TaskPoll,
    /// Producing to Kafka.
    KafkaProduce,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::KeyConverter => "KEY_CONVERTER",
            Stage::ValueConverter => "VALUE_CONVERTER",
            Stage::HeaderConverter => "HEADER_CONVERTER",
            Stage::Transformation => "TRANSFORMATION",
            Stage::TaskPut => "TASK_PUT",
            Stage::TaskPoll => "TASK_POLL",
            Stage::KafkaProduce => "KAFKA_PRODUCE",
        }
    }
}

/// The `task-error-metrics` counters.
#[derive(Debug, Default)]
pub struct ErrorMetrics {
    /// total-record-errors
    pub record_errors: AtomicU64,
    /// total-record-failures
    pub record_failures: AtomicU64,
    /// total-records-skipped
    pub records_skipped: AtomicU64,
    /// total-errors-logged
    pub errors_logged: AtomicU64,
    /// deadletterqueue-produce-requests
    pub dlq_produce_requests: AtomicU64,
    /// deadletterqueue-produce-failures
    pub dlq_produce_failures: AtomicU64,
}

/// The raw bytes of a consumed record, kept for the dead-letter queue.
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    /// Topic consumed from.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes.
    pub value: Option<Vec<u8>>,
    /// Headers.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Applies a connector's `errors.*` settings.
pub struct ErrorHandler {
    task: ConnectorTaskId,
    tolerate_all: bool,
    log_enable: bool,
    log_messages: bool,
    dlq_topic: Option<String>,
    context_headers: bool,
    dlq: Option<FutureProducer>,
    /// Counters.
    pub metrics: Arc<ErrorMetrics>,
}

impl std::fmt::Debug for ErrorHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorHandler")
            .field("task", &self.task)
            .finish()
    }
}

impl ErrorHandler {
    /// Builds the handler from a parsed connector config. `dlq` is the
    /// producer for the dead-letter queue, when one is configured.
    pub fn new(task: ConnectorTaskId, config: &ParsedConfig, dlq: Option<FutureProducer>) -> Self {
        let dlq_topic = config
            .string("errors.deadletterqueue.topic.name")
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        ErrorHandler {
            task,
            tolerate_all: config.string("errors.tolerance") == Some("all"),
            log_enable: config.bool("errors.log.enable"),
            log_messages: config.bool("errors.log.include.messages"),
            dlq: if dlq_topic.is_some() { dlq } else { None },
            dlq_topic,
            context_headers: config.bool("errors.deadletterqueue.context.headers.enable"),
            metrics: Arc::default(),
        }
    }

    /// The dead-letter-queue topic, if any.
    pub fn dlq_topic(&self) -> Option<&str> {
        self.dlq_topic.as_deref()
    }

    /// Handles a failed record: with `errors.tolerance=none` the error is
    /// returned and fails the task; with `all` the record is logged, sent to
    /// the dead-letter queue if configured, and skipped.
    pub async fn handle(
        &self,
        stage: Stage,
        error: ConnectError,
        raw: Option<&RawRecord>,
    ) -> ConnectResult<()> {
        self.metrics.record_errors.fetch_add(1, Ordering::Relaxed);
        self.metrics.record_failures.fetch_add(1, Ordering::Relaxed);
        if self.log_enable || !self.tolerate_all {
            self.metrics.errors_logged.fetch_add(1, Ordering::Relaxed);
            match (raw, self.log_messages) {
                (Some(r), true) => {
                    error!(task = %self.task, stage = stage.as_str(), %error, topic = %r.topic, partition = r.partition, offset = r.offset, "error handling record")
                }
                (Some(r), false) => {
                    error!(task = %self.task, stage = stage.as_str(), %error, topic = %r.topic, partition = r.partition, offset = r.offset, "error handling record")
                }
                (None, _) => {
                    error!(task = %self.task, stage = stage.as_str(), %error, "error handling record")
                }
            }
        }
        if !self.tolerate_all {
            return Err(ConnectError::connect(format!(
                "Tolerance exceeded in error handler: {}",
                error.trace()
            )));
        }
        if let (Some(raw), Some(producer), Some(topic)) = (raw, &self.dlq, &self.dlq_topic) {
            self.send_to_dlq(producer, topic, stage, &error, raw)
                .await?;
        }
        self.metrics.records_skipped.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    async fn send_to_dlq(
        &self,
        producer: &FutureProducer,
        topic: &str,
        stage: Stage,
        error: &ConnectError,
        raw: &RawRecord,
    ) -> ConnectResult<()> {
        let mut headers = OwnedHeaders::new_with_capacity(raw.headers.len() + 10);
        for (k, v) in &raw.headers {
            headers = headers.insert(Header {
                key: k,
                value: v.as_deref(),
            });
        }
        if self.context_headers {
            let partition = raw.partition.to_string();
            let offset = raw.offset.to_string();
            let task_id = self.task.task.to_string();
            let message = error.to_string();
            let trace = error.trace();
            let context: [(&str, &str); 9] = [
                ("__connect.errors.topic", &raw.topic),
                ("__connect.errors.partition", &partition),
                ("__connect.errors.offset", &offset),
                ("__connect.errors.connector.name", &self.task.connector),
                ("__connect.errors.task.id", &task_id),
                ("__connect.errors.stage", stage.as_str()),
                ("__connect.errors.exception.class.name", error.java_class()),
                ("__connect.errors.exception.message", &message),
                ("__connect.errors.exception.stacktrace", &trace),
            ];
            for (k, v) in context {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).headers(headers);
        if let Some(k) = &raw.key {
            record = record.key(k.as_slice());
        }
        if let Some(v) = &raw.value {
            record = record.payload(v.as_slice());
        }
        self.metrics
            .dlq_produce_requests
            .fetch_add(1, Ordering::Relaxed);
        match producer.send(record, Duration::from_secs(30)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => {
                self.metrics
                    .dlq_produce_failures
                    .fetch_add(1, Ordering::Relaxed);
                warn!(task = %self.task, %e, "dead letter queue produce failed");
                Err(ConnectError::connect(format!(
                    "Could not produce message to dead letter queue. topic={topic}: {e}"
                )))
            }
        }
    }
}

/// The errant-record reporter handed to sink tasks (KIP-610): re-serialises
/// the record with the task's converters and applies the error handler.
pub struct TaskErrantRecordReporter {
    pub(crate) handler: Arc<ErrorHandler>,
    pub(crate) converters: Arc<Converters>,
}

#[async_trait]
impl ErrantRecordReporter for TaskErrantRecordReporter {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> ConnectResult<()> {
        let (topic, partition, offset) = match &record.kafka {
            Some(k) => (k.tp.topic.clone(), k.tp.partition, k.offset),
            None => (record.topic.clone(), record.partition.unwrap_or(-1), -1),
        };
        let raw = self
            .converters
            .serialize(record)
            .map(|(key, value, headers)| RawRecord {
                topic: topic.clone(),
                partition,
                offset,
                key,
                value,
                headers,
            })
            .unwrap_or(RawRecord {
                topic,
                partition,
                offset,
                ..Default::default()
            });
        self.handler
            .handle(Stage::TaskPut, error.clone(), Some(&raw))
            .await
    }
}
