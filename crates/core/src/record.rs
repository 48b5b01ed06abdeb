//! Connect records: what source tasks produce and sink tasks receive.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::data::{SchemaRef, Value};

/// A source partition or source offset: a connector-defined JSON object,
/// e.g. `{"filename": "/var/log/app.log"}` and `{"position": 1024}`.
pub type SourceMap = serde_json::Map<String, serde_json::Value>;

/// A Kafka topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition number.
    pub partition: i32,
}

impl TopicPartition {
    /// Builds a topic partition.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A record header.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Header key.
    pub key: String,
    /// Header schema, when known.
    pub schema: Option<SchemaRef>,
    /// Header value.
    pub value: Value,
}

/// An ordered list of headers; keys may repeat, as in Kafka.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    /// Appends a header.
    pub fn add(&mut self, key: impl Into<String>, schema: Option<SchemaRef>, value: Value) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }

    /// Appends a string header.
    pub fn add_string(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.add(
            key,
            Some(crate::data::schemas::string()),
            Value::String(value.into()),
        );
    }

    /// The last header with this key, as `Headers.lastWithName`.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }

    /// Removes every header with this key.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }

    /// Iterates the headers in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where a sink record was read from. It never changes, whatever transforms
/// do to `topic` and `partition`, so offsets are always committed against the
/// partition the consumer really read (KIP-793).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaPosition {
    /// The topic partition the record was consumed from.
    pub tp: TopicPartition,
    /// The record's offset in that partition.
    pub offset: i64,
}

/// How a record's timestamp was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampType {
    /// No timestamp.
    #[default]
    NoTimestampType,
    /// Set by the producer.
    CreateTime,
    /// Set by the broker.
    LogAppendTime,
}

/// A Connect record, shared by sources and sinks like Java's
/// `ConnectRecord<R>`: source records carry a source partition and offset,
/// sink records carry their Kafka position.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectRecord {
    /// Destination topic (source) or current topic (sink, after transforms).
    pub topic: String,
    /// Kafka partition, if chosen.
    pub partition: Option<i32>,
    /// Key schema.
    pub key_schema: Option<SchemaRef>,
    /// Key.
    pub key: Value,
    /// Value schema.
    pub value_schema: Option<SchemaRef>,
    /// Value.
    pub value: Value,
    /// Timestamp in milliseconds since the epoch.
    pub timestamp: Option<i64>,
    /// How the timestamp was set (sink records).
    pub timestamp_type: TimestampType,
    /// Headers.
    pub headers: Headers,
    /// Source partition (source records only).
    pub source_partition: Option<SourceMap>,
    /// Source offset (source records only).
    pub source_offset: Option<SourceMap>,
    /// Original Kafka position (sink records only).
    pub kafka: Option<KafkaPosition>,
}

/// A record produced by a source task.
pub type SourceRecord = ConnectRecord;
/// A record delivered to a sink task.
pub type SinkRecord = ConnectRecord;

impl ConnectRecord {
    /// A source record with a schemaless value.
    pub fn source(
        source_partition: SourceMap,
        source_offset: SourceMap,
        topic: impl Into<String>,
        value_schema: Option<SchemaRef>,
        value: Value,
    ) -> Self {
        ConnectRecord {
            topic: topic.into(),
            value_schema,
            value,
            source_partition: Some(source_partition),
            source_offset: Some(source_offset),
            ..Default::default()
        }
    }

    /// The Kafka offset of a sink record.
    pub fn kafka_offset(&self) -> Option<i64> {
        self.kafka.as_ref().map(|k| k.offset)
    }
}
