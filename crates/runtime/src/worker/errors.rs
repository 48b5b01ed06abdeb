//! Error tolerance and the dead-letter queue (KIP-298): what happens to a
//! record whose conversion, transformation or delivery failed.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use async_trait::async_trait;
use rampart_core::config::ParsedConfig;
use rampart_core::connector::ErrantRecordReporter;
use rampart_core::herder::ConnectorTaskId;
use rampart_core::record::SinkRecord;
use rampart_core::{ConnectError, ConnectResult};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{error, info, warn};

use super::convert::Converters;
use super::metrics::TaskMetrics;

/// Kafka's first retry delay (`RetryWithToleranceOperator.RETRIES_DELAY_MIN_MS`).
const RETRY_DELAY_MIN: Duration = Duration::from_millis(300);

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
    retry_timeout: Option<Duration>,
    retry_delay_max: Duration,
    dlq_topic: Option<String>,
    dlq_replication: i32,
    context_headers: bool,
    dlq: Option<FutureProducer>,
    /// Counters.
    pub metrics: Arc<TaskMetrics>,
}

impl std::fmt::Debug for ErrorHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorHandler")
            .field("task", &self.task)
            .finish()
    }
}

/// Milliseconds since the epoch (error and start timestamps).
pub(super) fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A uniformly drawn duration below `max` (zero when `max` is), as Java's
/// `ThreadLocalRandom.nextLong(max)` in milliseconds.
fn random_below(max: Duration) -> Duration {
    let millis = max.as_millis() as u64;
    if millis == 0 {
        return Duration::ZERO;
    }
    let mut bytes = [0u8; 8];
    // Without randomness the wait is the cap itself: still bounded.
    if getrandom::fill(&mut bytes).is_err() {
        return max;
    }
    Duration::from_millis(u64::from_le_bytes(bytes) % millis)
}

fn lossy(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(
        || "null".to_string(),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}

impl ErrorHandler {
    /// Builds the handler from a parsed connector config. `dlq` is the
    /// producer for the dead-letter queue, when one is configured.
    pub fn new(
        task: ConnectorTaskId,
        config: &ParsedConfig,
        dlq: Option<FutureProducer>,
        metrics: Arc<TaskMetrics>,
    ) -> Self {
        let dlq_topic = config
            .string("errors.deadletterqueue.topic.name")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let retry_timeout = match config.long("errors.retry.timeout").unwrap_or(0) {
            -1 => None,
            ms => Some(Duration::from_millis(ms.max(0) as u64)),
        };
        ErrorHandler {
            task,
            tolerate_all: config.string("errors.tolerance") == Some("all"),
            log_enable: config.bool("errors.log.enable"),
            log_messages: config.bool("errors.log.include.messages"),
            retry_timeout,
            retry_delay_max: Duration::from_millis(
                config
                    .long("errors.retry.delay.max.ms")
                    .unwrap_or(60_000)
                    .max(0) as u64,
            ),
            dlq: if dlq_topic.is_some() { dlq } else { None },
            dlq_topic,
            dlq_replication: config
                .long("errors.deadletterqueue.topic.replication.factor")
                .unwrap_or(3) as i32,
            context_headers: config.bool("errors.deadletterqueue.context.headers.enable"),
            metrics,
        }
    }

    /// The dead-letter-queue topic, if any.
    pub fn dlq_topic(&self) -> Option<&str> {
        self.dlq_topic.as_deref()
    }

    /// Creates the dead-letter-queue topic if it does not exist, with
    /// `errors.deadletterqueue.topic.replication.factor` and one partition,
    /// as Kafka's `DeadLetterQueueReporter` does.
    pub async fn create_dlq_topic(
        &self,
        admin: &AdminClient<DefaultClientContext>,
    ) -> ConnectResult<()> {
        let Some(topic) = &self.dlq_topic else {
            return Ok(());
        };
        let replication = if self.dlq_replication < 1 {
            TopicReplication::Fixed(-1)
        } else {
            TopicReplication::Fixed(self.dlq_replication)
        };
        let new = NewTopic::new(topic, 1, replication);
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let fail = |e: String| {
            ConnectError::connect(format!(
                "Could not initialize dead letter queue with topic={topic}: {e}"
            ))
        };
        for r in admin
            .create_topics([&new], &opts)
            .await
            .map_err(|e| fail(e.to_string()))?
        {
            match r {
                Ok(_) => info!(topic = %topic, "created dead letter queue topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((_, code)) => return Err(fail(code.to_string())),
            }
        }
        Ok(())
    }

    /// Runs an operation, retrying retriable failures until
    /// `errors.retry.timeout` has passed since the first (`-1`: forever), as
    /// Java's `RetryWithToleranceOperator.execAndRetry`: a failure before the
    /// deadline waits (see [`Self::retry_delay`]) and tries again, one at or
    /// after it returns the error.
    pub async fn retry<T>(&self, mut op: impl FnMut() -> ConnectResult<T>) -> ConnectResult<T> {
        // The clock is read on the first failure only: this runs for the
        // key, value and every header of every record.
        let mut first_failure: Option<Instant> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match op() {
                Err(e) if e.is_retriable() => {
                    let now = Instant::now();
                    let started = *first_failure.get_or_insert(now);
                    let deadline = self.retry_timeout.map(|t| started + t);
                    if deadline.is_some_and(|d| now >= d) {
                        return Err(e);
                    }
                    let delay = self.retry_delay(attempt, now, deadline);
                    TaskMetrics::add(&self.metrics.retries, 1);
                    warn!(task = %self.task, error = %e, delay_ms = delay.as_millis() as u64, "retriable error; retrying");
                    tokio::time::sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    /// Java's `backoff`: 300 ms doubled with each attempt; past
    /// `errors.retry.delay.max.ms`, a random wait below it instead; never
    /// past the deadline.
    fn retry_delay(&self, attempt: u32, now: Instant, deadline: Option<Instant>) -> Duration {
        let doubled = 1u32
            .checked_shl(attempt - 1)
            .and_then(|factor| RETRY_DELAY_MIN.checked_mul(factor))
            .unwrap_or(Duration::MAX);
        let delay = if doubled > self.retry_delay_max {
            random_below(self.retry_delay_max)
        } else {
            doubled
        };
        match deadline {
            Some(d) => delay.min(d.saturating_duration_since(now)),
            None => delay,
        }
    }

    /// Handles a failed record: with `errors.tolerance=none` the error is
    /// returned and fails the task; with `all` the record is logged, sent to
    /// the dead-letter queue if configured, and skipped.
    pub async fn handle(
        &self,
        stage: Stage,
        class: &str,
        error: ConnectError,
        raw: Option<&RawRecord>,
    ) -> ConnectResult<()> {
        TaskMetrics::add(&self.metrics.record_errors, 1);
        TaskMetrics::add(&self.metrics.record_failures, 1);
        self.metrics
            .last_error_timestamp
            .store(epoch_ms(), std::sync::atomic::Ordering::Relaxed);
        if self.log_enable {
            TaskMetrics::add(&self.metrics.errors_logged, 1);
            match (raw, self.log_messages) {
                (Some(r), true) => error!(
                    task = %self.task, stage = stage.as_str(), class, %error,
                    topic = %r.topic, partition = r.partition, offset = r.offset,
                    key = %lossy(r.key.as_deref()), value = %lossy(r.value.as_deref()),
                    "error encountered in task"
                ),
                (Some(r), false) => error!(
                    task = %self.task, stage = stage.as_str(), class, %error,
                    topic = %r.topic, partition = r.partition, offset = r.offset,
                    "error encountered in task"
                ),
                (None, _) => {
                    error!(task = %self.task, stage = stage.as_str(), class, %error, "error encountered in task")
                }
            }
        }
        if !self.tolerate_all {
            return Err(ConnectError::connect(format!(
                "Tolerance exceeded in error handler: {} failed in {class}: {}",
                stage.as_str(),
                error.trace()
            )));
        }
        if let (Some(raw), Some(producer), Some(topic)) = (raw, &self.dlq, &self.dlq_topic) {
            self.send_to_dlq(producer, topic, stage, class, &error, raw)
                .await?;
        }
        TaskMetrics::add(&self.metrics.records_skipped, 1);
        Ok(())
    }

    async fn send_to_dlq(
        &self,
        producer: &FutureProducer,
        topic: &str,
        stage: Stage,
        class: &str,
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
            let context: [(&str, &str); 10] = [
                ("__connect.errors.topic", &raw.topic),
                ("__connect.errors.partition", &partition),
                ("__connect.errors.offset", &offset),
                ("__connect.errors.connector.name", &self.task.connector),
                ("__connect.errors.task.id", &task_id),
                ("__connect.errors.stage", stage.as_str()),
                ("__connect.errors.class.name", class),
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
        TaskMetrics::add(&self.metrics.dlq_produce_requests, 1);
        match producer.send(record, Duration::from_secs(30)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => {
                TaskMetrics::add(&self.metrics.dlq_produce_failures, 1);
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
    pub(crate) task_class: String,
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
            .handle(Stage::TaskPut, &self.task_class, error.clone(), Some(&raw))
            .await
    }
}

#[cfg(test)]
mod tests {
    //! KIP-298 without a broker: retries on a paused clock, tolerance, and
    //! a dead-letter queue whose broker cannot be reached.

    use std::collections::HashMap;
    use std::sync::atomic::Ordering;

    use rampart_core::connector::ConnectorType;
    use rampart_core::DataError;
    use rdkafka::ClientConfig;

    use super::*;
    use crate::connector_config::framework_def;

    fn handler(settings: &[(&str, &str)], dlq: Option<FutureProducer>) -> ErrorHandler {
        let mut props: HashMap<String, String> = [
            ("name", "c"),
            ("connector.class", "FileStreamSink"),
            ("topics", "t"),
        ]
        .iter()
        .chain(settings)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        props
            .entry("errors.deadletterqueue.topic.replication.factor".into())
            .or_insert_with(|| "1".into());
        let parsed = framework_def(ConnectorType::Sink)
            .parse(&props)
            .expect("valid settings");
        let id = ConnectorTaskId {
            connector: "c".into(),
            task: 0,
        };
        ErrorHandler::new(id, &parsed, dlq, Arc::default())
    }

    /// Fails retriably `failures` times, then succeeds; counts its calls.
    fn flaky(failures: usize, calls: &std::cell::Cell<usize>) -> ConnectResult<&'static str> {
        calls.set(calls.get() + 1);
        if calls.get() <= failures {
            Err(ConnectError::retriable("broker busy"))
        } else {
            Ok("done")
        }
    }

    fn count(c: &std::sync::atomic::AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    #[tokio::test(start_paused = true)]
    async fn retriable_failures_are_retried_with_doubling_delays_until_the_timeout() {
        // Forever: five failures then success, delays 300, 600, 1200, 2400
        // and 4800 ms on the paused clock.
        let h = handler(&[("errors.retry.timeout", "-1")], None);
        let calls = std::cell::Cell::new(0);
        let start = tokio::time::Instant::now();
        assert_eq!(h.retry(|| flaky(5, &calls)).await.unwrap(), "done");
        assert_eq!(calls.get(), 6);
        assert_eq!(count(&h.metrics.retries), 5);
        assert_eq!(start.elapsed(), Duration::from_millis(9300));

        // Past errors.retry.delay.max.ms a random wait below it: 300 ms,
        // then three waits under 500 ms each.
        let h = handler(
            &[
                ("errors.retry.timeout", "-1"),
                ("errors.retry.delay.max.ms", "500"),
            ],
            None,
        );
        let calls = std::cell::Cell::new(0);
        let start = tokio::time::Instant::now();
        h.retry(|| flaky(4, &calls)).await.unwrap();
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_millis(300 + 3 * 500),
            "{waited:?}"
        );

        // Java's budget for a 1 s timeout: tries at 0, 300 and 900 ms, the
        // last wait cut to the deadline, a fourth at 1000 ms, then the error.
        let h = handler(&[("errors.retry.timeout", "1000")], None);
        let calls = std::cell::Cell::new(0);
        let start = tokio::time::Instant::now();
        let e = h.retry(|| flaky(10, &calls)).await.unwrap_err();
        assert!(e.is_retriable(), "the last error comes back: {e:?}");
        assert_eq!(calls.get(), 4);
        assert_eq!(start.elapsed(), Duration::from_millis(1000));

        // A timeout shorter than the first wait still retries once, at it.
        let h = handler(&[("errors.retry.timeout", "100")], None);
        let calls = std::cell::Cell::new(0);
        assert!(h.retry(|| flaky(10, &calls)).await.is_err());
        assert_eq!(calls.get(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn by_default_and_for_other_errors_nothing_is_retried() {
        let h = handler(&[], None);
        let calls = std::cell::Cell::new(0);
        assert!(h.retry(|| flaky(1, &calls)).await.is_err());
        assert_eq!(calls.get(), 1, "errors.retry.timeout defaults to 0");

        let h = handler(&[("errors.retry.timeout", "-1")], None);
        let mut calls = 0;
        let e = h
            .retry(|| -> ConnectResult<()> {
                calls += 1;
                Err(ConnectError::Data(DataError::new("not JSON")))
            })
            .await
            .unwrap_err();
        assert_eq!(calls, 1, "a data error is not retried: {e}");
        assert_eq!(count(&h.metrics.retries), 0);
    }

    fn raw() -> RawRecord {
        RawRecord {
            topic: "t".into(),
            partition: 2,
            offset: 40,
            key: Some(b"k".to_vec()),
            value: Some(b"{bad".to_vec()),
            headers: vec![],
        }
    }

    #[tokio::test]
    async fn tolerance_none_fails_the_task_and_all_skips_the_record() {
        let error = || {
            ConnectError::Data(DataError::new(
                "Converting byte[] to Kafka Connect data failed",
            ))
        };
        let none = handler(&[], None);
        let e = none
            .handle(
                Stage::ValueConverter,
                "JsonConverter",
                error(),
                Some(&raw()),
            )
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Tolerance exceeded in error handler: VALUE_CONVERTER failed in JsonConverter: \
             org.apache.kafka.connect.errors.DataException: Converting byte[] to Kafka Connect data failed"
        );
        assert_eq!(count(&none.metrics.records_skipped), 0);
        assert_eq!(count(&none.metrics.record_failures), 1);

        let all = handler(
            &[("errors.tolerance", "all"), ("errors.log.enable", "true")],
            None,
        );
        for _ in 0..3 {
            all.handle(Stage::Transformation, "Cast", error(), Some(&raw()))
                .await
                .expect("tolerated");
        }
        assert_eq!(count(&all.metrics.records_skipped), 3);
        assert_eq!(count(&all.metrics.record_errors), 3);
        assert_eq!(count(&all.metrics.errors_logged), 3);
        assert_eq!(
            count(&all.metrics.dlq_produce_requests),
            0,
            "no DLQ configured"
        );
        assert!(count(&all.metrics.last_error_timestamp) > 0);
    }

    #[tokio::test]
    async fn a_dead_letter_queue_that_cannot_be_written_fails_the_task() {
        // Nothing listens on port 1: the record times out in librdkafka.
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .set("message.timeout.ms", "200")
            .set("log_level", "0")
            .create()
            .expect("a producer needs no broker to be created");
        let h = handler(
            &[
                ("errors.tolerance", "all"),
                ("errors.deadletterqueue.topic.name", "dlq"),
            ],
            Some(producer),
        );
        assert_eq!(h.dlq_topic(), Some("dlq"));
        let e = h
            .handle(
                Stage::ValueConverter,
                "JsonConverter",
                ConnectError::Data(DataError::new("bad")),
                Some(&raw()),
            )
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Could not produce message to dead letter queue. topic=dlq: "),
            "{e}"
        );
        assert_eq!(count(&h.metrics.dlq_produce_requests), 1);
        assert_eq!(count(&h.metrics.dlq_produce_failures), 1);
        assert_eq!(
            count(&h.metrics.records_skipped),
            0,
            "not skipped: not delivered anywhere"
        );
    }
}
