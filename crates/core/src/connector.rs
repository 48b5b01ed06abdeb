//! The plugin API connectors implement, in Kafka Connect's terms
//! (`Connector`, `SourceTask`, `SinkTask`). Kafka client code stays in the
//! runtime; connectors only see records, offsets and contexts.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::config::{ConfigDef, ConfigValue};
use crate::record::{SinkRecord, SourceMap, SourceRecord, TopicPartition};
use crate::{ConnectError, ConnectResult};

/// A string-to-string config, as connectors receive it.
pub type Config = HashMap<String, String>;

/// Whether a connector reads into Kafka or writes out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    /// Imports data into Kafka.
    Source,
    /// Exports data from Kafka.
    Sink,
}

impl ConnectorType {
    /// `source` or `sink`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
        }
    }
}

/// A connector instance (`org.apache.kafka.connect.connector.Connector`):
/// it validates its config and splits the work into task configs.
pub trait Connector: Send + Sync {
    /// Starts the connector with its (provider-resolved) config.
    fn start(&mut self, config: &Config) -> ConnectResult<()>;

    /// Splits the work into at most `max_tasks` task configs.
    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>>;

    /// Stops the connector.
    fn stop(&mut self) {}

    /// Checks an offsets change made over REST while the connector is
    /// stopped (KIP-875): `None` offsets are resets. Returns whether the
    /// connector itself handled the change (Kafka then reports a plain
    /// "altered successfully"); the default leaves offsets to the framework.
    fn alter_offsets(
        &self,
        _config: &Config,
        _offsets: &[(SourceMap, Option<SourceMap>)],
    ) -> ConnectResult<bool> {
        Ok(false)
    }

    /// Extra checks beyond the config definition (cross-key rules). The
    /// default runs the definition's own checks.
    fn validate(&self, def: &ConfigDef, config: &Config) -> Vec<ConfigValue> {
        def.validate(config)
    }
}

/// Counters a task keeps of its own (e.g. a listener's dropped datagrams),
/// exported beside the framework's metrics.
pub trait ConnectorMetrics: Send + Sync {
    /// Counter names (snake case, ending in `_total`) and values.
    fn values(&self) -> Vec<(&'static str, u64)>;

    /// A warning about data the task could not keep (e.g. datagrams dropped
    /// under overload), shown as the `trace` of its RUNNING or PAUSED status.
    fn warning(&self) -> Option<String> {
        None
    }
}

/// How many requests a sink sent again after a retryable failure (an
/// unreachable node, a 429 or 503, a throttled upload): what Java's
/// metrics do not show and an outage makes climb. Exported as
/// `rampart_connector_task_sink_request_retries_total`.
#[derive(Debug, Default)]
pub struct SinkRetries(std::sync::atomic::AtomicU64);

impl SinkRetries {
    /// One more request is retried.
    pub fn retried(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl ConnectorMetrics for SinkRetries {
    fn values(&self) -> Vec<(&'static str, u64)> {
        vec![(
            "sink_request_retries_total",
            self.0.load(std::sync::atomic::Ordering::Relaxed),
        )]
    }
}

/// Reads committed source offsets (`OffsetStorageReader`).
pub trait OffsetStorageReader: Send + Sync {
    /// The last committed offset of a source partition.
    fn offset(&self, partition: &SourceMap) -> Option<SourceMap>;
}

/// What a source task can ask of the framework.
#[derive(Clone)]
pub struct SourceTaskContext {
    /// Committed offsets of this connector.
    pub offsets: Arc<dyn OffsetStorageReader>,
}

/// A source task (`org.apache.kafka.connect.source.SourceTask`).
///
/// `poll` is awaited inside a `select!` with the framework's stop and pause
/// signals, so it must be cancel-safe: a cancelled poll must not have
/// consumed input that it did not return.
#[async_trait]
pub trait SourceTask: Send + Sync {
    /// Starts the task with its task config.
    async fn start(&mut self, config: &Config, context: SourceTaskContext) -> ConnectResult<()>;

    /// Returns the next batch; an empty batch means no data right now.
    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>>;

    /// Called after offsets were committed, for sources that acknowledge
    /// upstream (the framework has already persisted the offsets).
    async fn commit(&mut self) -> ConnectResult<()> {
        Ok(())
    }

    /// The task's own counters, read whenever metrics are scraped.
    fn metrics(&self) -> Option<Arc<dyn ConnectorMetrics>> {
        None
    }

    /// Told when records are safely handled, for sources that acknowledge
    /// each record upstream (RELP). Asked once, after `start`.
    fn committer(&self) -> Option<Arc<dyn RecordCommitter>> {
        None
    }

    /// On a graceful stop, before `stop`: stop taking input and return
    /// everything already accepted, so it reaches Kafka. Sources that cannot
    /// re-read their input (network listeners) need this; the default has
    /// nothing to hand over.
    async fn drain(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        Ok(Vec::new())
    }

    /// Stops the task and releases its resources.
    async fn stop(&mut self) {}
}

/// Kafka's `SourceTask.commitRecord`, counted rather than per record: the
/// framework reports, in the order `poll` and `drain` returned them, how
/// many more records are done with: acknowledged by Kafka (`acks=all`),
/// dropped by a transform, or skipped under `errors.tolerance=all`. Called
/// from the producer's delivery thread; keep it short.
pub trait RecordCommitter: Send + Sync {
    /// The next `records` records, in order, are done with.
    fn committed(&self, records: usize);
}

/// Offsets of a sink task, per original topic partition: the next offset to
/// consume (last processed + 1), as Kafka's `currentOffsets`.
pub type SinkOffsets = HashMap<TopicPartition, i64>;

/// Reports records the destination rejected so the framework can send them
/// to the dead-letter queue or fail the task (KIP-610).
#[async_trait]
pub trait ErrantRecordReporter: Send + Sync {
    /// Reports one record and the reason it failed.
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> ConnectResult<()>;
}

/// What a sink task can ask of the framework.
#[derive(Clone)]
pub struct SinkTaskContext {
    /// The errant-record reporter, when `errors.tolerance=all` or a DLQ is set.
    pub errant_record_reporter: Option<Arc<dyn ErrantRecordReporter>>,
}

/// A sink task (`org.apache.kafka.connect.sink.SinkTask`).
#[async_trait]
pub trait SinkTask: Send + Sync {
    /// Starts the task with its task config.
    async fn start(&mut self, config: &Config, context: SinkTaskContext) -> ConnectResult<()>;

    /// Partitions newly assigned to this task.
    async fn open(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }

    /// Partitions taken away from this task; buffered data for them must be
    /// flushed or discarded.
    async fn close(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }

    /// Delivers records; the task may buffer them until `flush`.
    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()>;

    /// The task's own counters, read whenever metrics are scraped. Asked
    /// once, after `start`.
    fn metrics(&self) -> Option<Arc<dyn ConnectorMetrics>> {
        None
    }

    /// Makes everything `put` so far durable.
    async fn flush(&mut self, _offsets: &SinkOffsets) -> ConnectResult<()> {
        Ok(())
    }

    /// Returns the offsets safe to commit; the default flushes everything
    /// and returns `offsets` unchanged.
    async fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        self.flush(offsets).await?;
        Ok(offsets.clone())
    }

    /// Stops the task.
    async fn stop(&mut self) {}
}

/// A new task of either kind.
pub enum Task {
    /// A source task.
    Source(Box<dyn SourceTask>),
    /// A sink task.
    Sink(Box<dyn SinkTask>),
}

/// A connector plugin: its class, aliases, config definition and factories.
/// Plugins are listed in one registry in the binary.
#[derive(Clone, Copy)]
pub struct ConnectorPlugin {
    /// The Java class name users put in `connector.class`.
    pub class: &'static str,
    /// Extra names accepted besides the class's simple name and the simple
    /// name without `Connector` (which are always accepted).
    pub aliases: &'static [&'static str],
    /// Source or sink.
    pub kind: ConnectorType,
    /// Version reported by `/connector-plugins`.
    pub version: &'static str,
    /// The connector's own config definition.
    pub config_def: fn() -> ConfigDef,
    /// Creates a connector instance.
    pub new_connector: fn() -> Box<dyn Connector>,
    /// Creates a task instance.
    pub new_task: fn() -> Task,
}

impl std::fmt::Debug for ConnectorPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorPlugin")
            .field("class", &self.class)
            .field("kind", &self.kind)
            .finish()
    }
}

impl ConnectorPlugin {
    /// The simple class name, e.g. `FileStreamSourceConnector`.
    pub fn simple_name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }

    /// Whether `name` designates this plugin: the class name, the simple
    /// name, the simple name without the `Connector` suffix, or an alias.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.trim();
        let simple = self.simple_name();
        name == self.class
            || name == simple
            || simple.strip_suffix("Connector") == Some(name)
            || self.aliases.contains(&name)
    }
}
