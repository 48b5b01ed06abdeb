//! The connector's config keys: Confluent's Elasticsearch sink keys with
//! their defaults (`ElasticsearchSinkConnectorConfig`), plus Rampart's own
//! `connection.api.key` and `pipeline`. TLS reads PEM files through
//! Confluent's `elastic.https.ssl.*` location keys.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use rampart_core::config::{ConfigDef, ConfigType, Importance, ParsedConfig, Validator};
use rampart_core::connector::Config;
use rampart_core::{ConnectError, ConnectResult};

use crate::index::{validate_data_stream_part, DataStreamType};

/// `connection.url`
pub const CONNECTION_URL: &str = "connection.url";
/// `connection.username`
pub const USERNAME: &str = "connection.username";
/// `connection.password`
pub const PASSWORD: &str = "connection.password";
/// `connection.api.key`
pub const API_KEY: &str = "connection.api.key";
/// `batch.size`
pub const BATCH_SIZE: &str = "batch.size";
/// `bulk.size.bytes`
pub const BULK_SIZE_BYTES: &str = "bulk.size.bytes";
/// `max.in.flight.requests`
pub const MAX_IN_FLIGHT: &str = "max.in.flight.requests";
/// `max.buffered.records`
pub const MAX_BUFFERED: &str = "max.buffered.records";
/// `linger.ms`
pub const LINGER_MS: &str = "linger.ms";
/// `flush.timeout.ms`
pub const FLUSH_TIMEOUT_MS: &str = "flush.timeout.ms";
/// `flush.synchronously`
pub const FLUSH_SYNCHRONOUSLY: &str = "flush.synchronously";
/// `max.retries`
pub const MAX_RETRIES: &str = "max.retries";
/// `retry.backoff.ms`
pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";
/// `retry.backoff.max.ms` (Rampart's own)
pub const RETRY_BACKOFF_MAX_MS: &str = "retry.backoff.max.ms";
/// `connection.compression`
pub const COMPRESSION: &str = "connection.compression";
/// `max.connection.idle.time.ms`
pub const MAX_IDLE_MS: &str = "max.connection.idle.time.ms";
/// `connection.timeout.ms`
pub const CONNECTION_TIMEOUT_MS: &str = "connection.timeout.ms";
/// `read.timeout.ms`
pub const READ_TIMEOUT_MS: &str = "read.timeout.ms";
/// `key.ignore`
pub const KEY_IGNORE: &str = "key.ignore";
/// `topic.key.ignore`
pub const TOPIC_KEY_IGNORE: &str = "topic.key.ignore";
/// `schema.ignore`
pub const SCHEMA_IGNORE: &str = "schema.ignore";
/// `topic.schema.ignore`
pub const TOPIC_SCHEMA_IGNORE: &str = "topic.schema.ignore";
/// `compact.map.entries`
pub const COMPACT_MAP_ENTRIES: &str = "compact.map.entries";
/// `drop.invalid.message`
pub const DROP_INVALID_MESSAGE: &str = "drop.invalid.message";
/// `behavior.on.null.values`
pub const BEHAVIOR_ON_NULL_VALUES: &str = "behavior.on.null.values";
/// `behavior.on.malformed.documents`
pub const BEHAVIOR_ON_MALFORMED: &str = "behavior.on.malformed.documents";
/// `write.method`
pub const WRITE_METHOD: &str = "write.method";
/// `data.stream.type`
pub const DATA_STREAM_TYPE: &str = "data.stream.type";
/// `data.stream.dataset`
pub const DATA_STREAM_DATASET: &str = "data.stream.dataset";
/// `data.stream.namespace`
pub const DATA_STREAM_NAMESPACE: &str = "data.stream.namespace";
/// `data.stream.timestamp.field`
pub const DATA_STREAM_TIMESTAMP_FIELD: &str = "data.stream.timestamp.field";
/// `elastic.security.protocol`
pub const SECURITY_PROTOCOL: &str = "elastic.security.protocol";
/// `elastic.https.ssl.truststore.location`
pub const TRUSTSTORE_LOCATION: &str = "elastic.https.ssl.truststore.location";
/// `elastic.https.ssl.truststore.type`
pub const TRUSTSTORE_TYPE: &str = "elastic.https.ssl.truststore.type";
/// `elastic.https.ssl.keystore.location`
pub const KEYSTORE_LOCATION: &str = "elastic.https.ssl.keystore.location";
/// `elastic.https.ssl.keystore.type`
pub const KEYSTORE_TYPE: &str = "elastic.https.ssl.keystore.type";
/// `pipeline`
pub const PIPELINE: &str = "pipeline";

const CONNECTOR: &str = "Connector";
const DATA_CONVERSION: &str = "Data Conversion";
const DATA_STREAM: &str = "Data Stream";
const SECURITY: &str = "Security";

/// The connector's definition.
pub fn def() -> ConfigDef {
    let mut d = ConfigDef::new();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    d.define(CONNECTION_URL, ConfigType::List, Importance::High, "The comma-separated list of one or more Elasticsearch or OpenSearch URLs, such as ``http://eshost1:9200,http://eshost2:9200``. Bulk requests go to them in turn; a node that fails is skipped until it answers again. Any ``https:`` URL enables TLS.")
        .validator(Validator::Custom { check: check_urls, describe: "list of http or https URLs" })
        .group(CONNECTOR, next())
        .add();
    d.define(USERNAME, ConfigType::String, Importance::Medium, "The username used to authenticate with Elasticsearch. Basic authentication is used only when both username and password are set.")
        .default_null()
        .group(CONNECTOR, next())
        .add();
    d.define(
        PASSWORD,
        ConfigType::Password,
        Importance::Medium,
        "The password used to authenticate with Elasticsearch.",
    )
    .default_null()
    .group(CONNECTOR, next())
    .add();
    d.define(API_KEY, ConfigType::Password, Importance::Medium, "An Elasticsearch API key, in the encoded form the create-API-key call returns, sent as ``Authorization: ApiKey <key>``. Takes the place of username and password.")
        .default_null()
        .group(CONNECTOR, next())
        .add();
    d.define(
        BATCH_SIZE,
        ConfigType::Int,
        Importance::Low,
        "The number of records to process as a batch when writing to Elasticsearch.",
    )
    .default("2000")
    .validator(Validator::between(1.0, 1_000_000.0))
    .group(CONNECTOR, next())
    .add();
    d.define(BULK_SIZE_BYTES, ConfigType::Long, Importance::Low, "The maximum size (in bytes) to be processed as a batch when writing records to Elasticsearch. Setting to '-1' will allow batch size to be controlled only by batch.size.")
        .default("5242880")
        .validator(Validator::at_least(-1.0))
        .group(CONNECTOR, next())
        .add();
    d.define(MAX_IN_FLIGHT, ConfigType::Int, Importance::Medium, "The maximum number of indexing requests that can be in-flight to Elasticsearch before blocking further requests.")
        .default("5")
        .validator(Validator::between(1.0, 1000.0))
        .group(CONNECTOR, next())
        .add();
    d.define(MAX_BUFFERED, ConfigType::Int, Importance::Low, "The maximum number of records each task will buffer before blocking acceptance of more records. This bounds the task's memory; when full, the worker pauses consumption.")
        .default("20000")
        .validator(Validator::at_least(1.0))
        .group(CONNECTOR, next())
        .add();
    d.define(LINGER_MS, ConfigType::Long, Importance::Low, "Linger time in milliseconds for batching. Records that arrive in between request transmissions are batched into a single bulk indexing request, based on the batch.size configuration.")
        .default("1")
        .validator(Validator::between(0.0, 604_800_000.0))
        .group(CONNECTOR, next())
        .add();
    d.define(FLUSH_TIMEOUT_MS, ConfigType::Long, Importance::Low, "The timeout in milliseconds to use for periodic flushing, and when waiting for buffer space to be made available by completed requests as records are added. If this timeout is exceeded while waiting for buffer space, the worker pauses the partitions and retries (the task does not fail); a flush that exceeds it fails the task.")
        .default("180000")
        .validator(Validator::at_least(1000.0))
        .group(CONNECTOR, next())
        .add();
    d.define(FLUSH_SYNCHRONOUSLY, ConfigType::Boolean, Importance::Low, "True if flushes should wait for background processing to finish. Not needed for topic-mutating transforms here: offsets are tracked by the record's original topic partition.")
        .default("false")
        .group(CONNECTOR, next())
        .add();
    d.define(MAX_RETRIES, ConfigType::Int, Importance::Low, "The maximum number of retries that are allowed for failed indexing requests (whole requests, and items answered 429 or 5xx). If the retry attempts are exhausted the task will fail.")
        .default("5")
        .validator(Validator::at_least(0.0))
        .group(CONNECTOR, next())
        .add();
    d.define(RETRY_BACKOFF_MS, ConfigType::Long, Importance::Low, "How long to wait in milliseconds before attempting the first retry of a failed indexing request. Each later retry waits twice as long, with random jitter, up to 24 hours.")
        .default("100")
        .validator(Validator::at_least(0.0))
        .group(CONNECTOR, next())
        .add();
    d.define(RETRY_BACKOFF_MAX_MS, ConfigType::Long, Importance::Low, "Rampart's own: the longest wait, in milliseconds, between retries of a failed indexing request. The default, 24 hours, is Confluent's fixed cap; lower it so that indexing resumes soon after a long outage ends (with a high max.retries, a doubling wait can otherwise reach minutes or hours).")
        .default("86400000")
        .validator(Validator::at_least(1.0))
        .group(CONNECTOR, next())
        .add();
    d.define(
        COMPRESSION,
        ConfigType::Boolean,
        Importance::Low,
        "Whether to use GZip compression on the HTTP connection to Elasticsearch.",
    )
    .default("false")
    .group(CONNECTOR, next())
    .add();
    d.define(MAX_IDLE_MS, ConfigType::Int, Importance::Low, "How long to wait in milliseconds before dropping an idle connection to prevent a read timeout.")
        .default("60000")
        .validator(Validator::at_least(-1.0))
        .group(CONNECTOR, next())
        .add();
    d.define(CONNECTION_TIMEOUT_MS, ConfigType::Int, Importance::Low, "How long to wait in milliseconds when establishing a connection to the Elasticsearch server.")
        .default("1000")
        .validator(Validator::at_least(0.0))
        .group(CONNECTOR, next())
        .add();
    d.define(READ_TIMEOUT_MS, ConfigType::Int, Importance::Low, "How long to wait in milliseconds for the Elasticsearch server to send a response. A timed-out request is retried.")
        .default("3000")
        .validator(Validator::at_least(0.0))
        .group(CONNECTOR, next())
        .add();
    d.define(PIPELINE, ConfigType::String, Importance::Low, "The ingest pipeline every bulk request goes through (the ``pipeline`` parameter of the bulk API). Empty uses the index's default pipeline.")
        .default_null()
        .group(CONNECTOR, next())
        .add();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    d.define(KEY_IGNORE, ConfigType::Boolean, Importance::High, "Whether to ignore the record key for the purpose of forming the Elasticsearch document ID. When this is set to ``true``, document IDs are generated as the record's ``topic+partition+offset``, so a redelivered record overwrites its document instead of duplicating it.")
        .default("false")
        .group(DATA_CONVERSION, next())
        .add();
    d.define(
        TOPIC_KEY_IGNORE,
        ConfigType::List,
        Importance::Low,
        "List of topics for which ``key.ignore`` should be ``true``.",
    )
    .default("")
    .group(DATA_CONVERSION, next())
    .add();
    d.define(SCHEMA_IGNORE, ConfigType::Boolean, Importance::Low, "Whether to ignore schemas during indexing. When this is set to ``true``, the record schema is ignored for creating mappings and Elasticsearch infers them (dynamic mapping); Decimal values are then written as the Connect JSON converter writes them.")
        .default("false")
        .group(DATA_CONVERSION, next())
        .add();
    d.define(
        TOPIC_SCHEMA_IGNORE,
        ConfigType::List,
        Importance::Low,
        "List of topics for which ``schema.ignore`` should be ``true``.",
    )
    .default("")
    .group(DATA_CONVERSION, next())
    .add();
    d.define(COMPACT_MAP_ENTRIES, ConfigType::Boolean, Importance::Low, "Defines how map entries with string keys within record values should be written to JSON. When this is set to ``true``, these entries are written compactly as ``\"entryKey\": \"entryValue\"``. Otherwise, map entries with string keys are written as a nested document ``{\"key\": \"entryKey\", \"value\": \"entryValue\"}``.")
        .default("true")
        .group(DATA_CONVERSION, next())
        .add();
    d.define(DROP_INVALID_MESSAGE, ConfigType::Boolean, Importance::Low, "Whether to drop a record (with a warning) when it cannot be converted to a document or has an invalid index name. Otherwise it goes to the dead-letter queue when one is configured, or fails the task.")
        .default("false")
        .group(DATA_CONVERSION, next())
        .add();
    d.define(BEHAVIOR_ON_NULL_VALUES, ConfigType::String, Importance::Low, "How to handle records with a non-null key and a null value (i.e. Kafka tombstone records). Valid options are 'ignore', 'delete', and 'fail'.")
        .default("fail")
        .validator(Validator::OneOfIgnoreCase(&["ignore", "delete", "fail"]))
        .group(DATA_CONVERSION, next())
        .add();
    d.define(BEHAVIOR_ON_MALFORMED, ConfigType::String, Importance::Low, "How to handle records that Elasticsearch rejects due to some malformation of the document itself, such as an index mapping conflict or a field name containing illegal characters. Valid options are 'ignore', 'warn', and 'fail'. Rejected records also go to the dead-letter queue when one is configured, with Elasticsearch's reason.")
        .default("fail")
        .validator(Validator::OneOfIgnoreCase(&["ignore", "warn", "fail"]))
        .group(DATA_CONVERSION, next())
        .add();
    d.define(WRITE_METHOD, ConfigType::String, Importance::Low, "Method used for writing data to Elasticsearch, and one of INSERT or UPSERT. The default method is INSERT in which the connector constructs a document from the record value and inserts that document into Elasticsearch, completely replacing any existing document with the same ID; this matches previous behavior. The UPSERT method will create a new document if one with the specified ID does not yet exist, or will update an existing document with the same ID by adding or replacing only those fields present in the record value. The UPSERT method may require additional time and resources of Elasticsearch, so consider increasing the read.timeout.ms and decreasing the batch.size configuration properties.")
        .default("insert")
        .validator(Validator::OneOfIgnoreCase(&["insert", "upsert"]))
        .group(DATA_CONVERSION, next())
        .add();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    d.define(DATA_STREAM_TYPE, ConfigType::String, Importance::Low, "Generic type describing the data to be written to data stream. The default is NONE which indicates the connector will write to regular indices instead. If set, this configuration will be used alongside data.stream.dataset and data.stream.namespace to construct the data stream name in the form of {data.stream.type}-{data.stream.dataset}-{data.stream.namespace}.")
        .default("none")
        .validator(Validator::OneOfIgnoreCase(&["logs", "metrics", "none"]))
        .group(DATA_STREAM, next())
        .add();
    d.define(DATA_STREAM_DATASET, ConfigType::String, Importance::Low, "Generic name describing data ingested and its structure to be written to a data stream. Can be any arbitrary string that is no longer than 100 characters, is in all lowercase, and does not contain spaces or any of these special characters ``/\\*\"<>|,#:-``.")
        .default("")
        .group(DATA_STREAM, next())
        .add();
    d.define(DATA_STREAM_NAMESPACE, ConfigType::String, Importance::Low, "Generic name describing user-configurable arbitrary grouping to be written to a data stream. Can be any arbitrary string that is no longer than 100 characters, is in all lowercase, and does not contain spaces or any of these special characters ``/\\*\"<>|,#:-``. ``${topic}`` is replaced by the record's topic.")
        .default("${topic}")
        .group(DATA_STREAM, next())
        .add();
    d.define(DATA_STREAM_TIMESTAMP_FIELD, ConfigType::List, Importance::Low, "The Kafka record field to use as the timestamp for the ``@timestamp`` field in documents sent to a data stream. The first field present in the value is used; when none is set or present, the Kafka record's timestamp is used.")
        .default("")
        .group(DATA_STREAM, next())
        .add();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    d.define(SECURITY_PROTOCOL, ConfigType::String, Importance::Medium, "The security protocol to use when connecting to Elasticsearch. Values can be PLAINTEXT or SSL. TLS follows the URL scheme: SSL requires every URL to be https, and an https URL uses TLS under either value.")
        .default("PLAINTEXT")
        .validator(Validator::OneOfIgnoreCase(&["PLAINTEXT", "SSL"]))
        .group(SECURITY, next())
        .add();
    d.define(TRUSTSTORE_LOCATION, ConfigType::String, Importance::Medium, "A PEM file of CA certificates trusted for the Elasticsearch server's certificate, besides the system's roots.")
        .default_null()
        .group(SECURITY, next())
        .add();
    d.define(
        TRUSTSTORE_TYPE,
        ConfigType::String,
        Importance::Low,
        "The format of the trust store file. Only PEM is supported.",
    )
    .default("PEM")
    .validator(Validator::OneOfIgnoreCase(&["PEM"]))
    .group(SECURITY, next())
    .add();
    d.define(KEYSTORE_LOCATION, ConfigType::String, Importance::Medium, "A PEM file holding the client certificate chain and its unencrypted private key, for mutual TLS.")
        .default_null()
        .group(SECURITY, next())
        .add();
    d.define(
        KEYSTORE_TYPE,
        ConfigType::String,
        Importance::Low,
        "The format of the key store file. Only PEM is supported.",
    )
    .default("PEM")
    .validator(Validator::OneOfIgnoreCase(&["PEM"]))
    .group(SECURITY, next())
    .add();
    d
}

fn check_urls(joined: &str) -> Result<(), String> {
    let urls = rampart_core::config::split_list(joined);
    if urls.iter().all(|u| u.is_empty()) {
        return Err("at least one URL is required".to_string());
    }
    for u in urls.iter().filter(|u| !u.is_empty()) {
        let ok = u
            .strip_prefix("http://")
            .or_else(|| u.strip_prefix("https://"))
            .is_some_and(|rest| !rest.is_empty());
        if !ok {
            return Err(format!("'{u}' is not an http or https URL"));
        }
    }
    Ok(())
}

/// `behavior.on.null.values`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullBehavior {
    /// Skip tombstones.
    Ignore,
    /// Delete the document with the record's id.
    Delete,
    /// Fail the task.
    Fail,
}

/// `behavior.on.malformed.documents`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MalformedBehavior {
    /// Skip the record, logging at debug level.
    Ignore,
    /// Skip the record, logging a warning.
    Warn,
    /// Fail the task.
    Fail,
}

/// `write.method`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMethod {
    /// `index` (or `create` into a data stream): replace the document.
    Insert,
    /// `update` with `doc_as_upsert`: merge fields into the document.
    Upsert,
}

/// How requests authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// HTTP basic authentication.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Authorization: ApiKey <encoded>`.
    ApiKey(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { username, .. } => write!(f, "Basic({username}, [hidden])"),
            Auth::ApiKey(_) => write!(f, "ApiKey([hidden])"),
        }
    }
}

/// Data-stream naming: `{type}-{dataset}-{namespace}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStream {
    /// logs or metrics.
    pub kind: DataStreamType,
    /// The dataset.
    pub dataset: String,
    /// The namespace; `${topic}` is replaced per record.
    pub namespace: String,
    /// Fields copied to `@timestamp`, first present wins.
    pub timestamp_fields: Vec<String>,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct EsConfig {
    /// Base URLs, without a trailing slash.
    pub urls: Vec<String>,
    /// Authentication.
    pub auth: Option<Auth>,
    /// Records per bulk request.
    pub batch_size: usize,
    /// Bytes per bulk request, when capped.
    pub bulk_size_bytes: Option<usize>,
    /// Concurrent bulk requests.
    pub max_in_flight: usize,
    /// Records buffered or in flight, at most.
    pub max_buffered: usize,
    /// Wait to fill a batch.
    pub linger: Duration,
    /// Flush and buffer-space wait.
    pub flush_timeout: Duration,
    /// Whether `pre_commit` waits for everything to be written.
    pub flush_synchronously: bool,
    /// Retries per request or item.
    pub max_retries: u32,
    /// First retry's backoff.
    pub retry_backoff: Duration,
    /// The longest wait between retries.
    pub retry_backoff_max: Duration,
    /// Gzip request bodies.
    pub compression: bool,
    /// Idle connection lifetime.
    pub idle_timeout: Option<Duration>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read timeout.
    pub read_timeout: Duration,
    /// `key.ignore`
    pub key_ignore: bool,
    /// `topic.key.ignore`
    pub topic_key_ignore: HashSet<String>,
    /// `schema.ignore`
    pub schema_ignore: bool,
    /// `topic.schema.ignore`
    pub topic_schema_ignore: HashSet<String>,
    /// `compact.map.entries`
    pub compact_map_entries: bool,
    /// `drop.invalid.message`
    pub drop_invalid_message: bool,
    /// `behavior.on.null.values`
    pub null_values: NullBehavior,
    /// `behavior.on.malformed.documents`
    pub malformed: MalformedBehavior,
    /// `write.method`
    pub write_method: WriteMethod,
    /// Data stream naming, when writing to data streams.
    pub data_stream: Option<DataStream>,
    /// PEM CA certificates to trust.
    pub ca_pem: Option<PathBuf>,
    /// PEM client certificate chain and key.
    pub identity_pem: Option<PathBuf>,
    /// Ingest pipeline.
    pub pipeline: Option<String>,
}

impl EsConfig {
    /// Parses and checks a connector or task config.
    pub fn parse(config: &Config) -> ConnectResult<Self> {
        let p = def()
            .parse(config)
            .map_err(|e| ConnectError::BadRequest(e.join("\n")))?;
        let errors = cross_checks(&p);
        if !errors.is_empty() {
            let text: Vec<String> = errors
                .into_iter()
                .map(|(k, e)| format!("Invalid value for configuration {k}: {e}"))
                .collect();
            return Err(ConnectError::BadRequest(text.join("\n")));
        }
        Ok(Self::from_parsed(&p))
    }

    fn from_parsed(p: &ParsedConfig) -> Self {
        let long = |k: &str| p.long(k).unwrap_or(0);
        let ms = |k: &str| Duration::from_millis(long(k).max(0) as u64);
        let lower = |k: &str| p.string(k).unwrap_or_default().to_ascii_lowercase();
        let nonempty = |k: &str| {
            p.string(k)
                .filter(|s| !s.trim().is_empty())
                .map(str::to_string)
        };
        let auth = match (nonempty(API_KEY), nonempty(USERNAME), nonempty(PASSWORD)) {
            (Some(key), _, _) => Some(Auth::ApiKey(key)),
            (None, Some(username), Some(password)) => Some(Auth::Basic { username, password }),
            _ => None,
        };
        let data_stream = DataStreamType::parse(&lower(DATA_STREAM_TYPE)).map(|kind| DataStream {
            kind,
            dataset: p
                .string(DATA_STREAM_DATASET)
                .unwrap_or_default()
                .to_string(),
            namespace: p
                .string(DATA_STREAM_NAMESPACE)
                .unwrap_or("${topic}")
                .to_string(),
            timestamp_fields: p
                .list(DATA_STREAM_TIMESTAMP_FIELD)
                .into_iter()
                .filter(|f| !f.is_empty())
                .collect(),
        });
        let bulk = long(BULK_SIZE_BYTES);
        let idle = long(MAX_IDLE_MS);
        EsConfig {
            urls: p
                .list(CONNECTION_URL)
                .into_iter()
                .filter(|u| !u.is_empty())
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            auth,
            batch_size: long(BATCH_SIZE).max(1) as usize,
            bulk_size_bytes: (bulk >= 0).then_some(bulk as usize),
            max_in_flight: long(MAX_IN_FLIGHT).max(1) as usize,
            max_buffered: long(MAX_BUFFERED).max(1) as usize,
            linger: ms(LINGER_MS),
            flush_timeout: ms(FLUSH_TIMEOUT_MS),
            flush_synchronously: p.bool(FLUSH_SYNCHRONOUSLY),
            max_retries: long(MAX_RETRIES).clamp(0, u32::MAX as i64) as u32,
            retry_backoff: ms(RETRY_BACKOFF_MS),
            retry_backoff_max: ms(RETRY_BACKOFF_MAX_MS),
            compression: p.bool(COMPRESSION),
            idle_timeout: (idle >= 0).then(|| Duration::from_millis(idle as u64)),
            connect_timeout: ms(CONNECTION_TIMEOUT_MS),
            read_timeout: ms(READ_TIMEOUT_MS),
            key_ignore: p.bool(KEY_IGNORE),
            topic_key_ignore: p.list(TOPIC_KEY_IGNORE).into_iter().collect(),
            schema_ignore: p.bool(SCHEMA_IGNORE),
            topic_schema_ignore: p.list(TOPIC_SCHEMA_IGNORE).into_iter().collect(),
            compact_map_entries: p.bool(COMPACT_MAP_ENTRIES),
            drop_invalid_message: p.bool(DROP_INVALID_MESSAGE),
            null_values: match lower(BEHAVIOR_ON_NULL_VALUES).as_str() {
                "ignore" => NullBehavior::Ignore,
                "delete" => NullBehavior::Delete,
                _ => NullBehavior::Fail,
            },
            malformed: match lower(BEHAVIOR_ON_MALFORMED).as_str() {
                "ignore" => MalformedBehavior::Ignore,
                "warn" => MalformedBehavior::Warn,
                _ => MalformedBehavior::Fail,
            },
            write_method: if lower(WRITE_METHOD) == "upsert" {
                WriteMethod::Upsert
            } else {
                WriteMethod::Insert
            },
            data_stream,
            ca_pem: nonempty(TRUSTSTORE_LOCATION).map(PathBuf::from),
            identity_pem: nonempty(KEYSTORE_LOCATION).map(PathBuf::from),
            pipeline: nonempty(PIPELINE),
        }
    }

    /// Whether the record key is ignored for this topic.
    pub fn ignore_key(&self, topic: &str) -> bool {
        self.key_ignore || self.topic_key_ignore.contains(topic)
    }

    /// Whether the value schema is ignored for this topic.
    pub fn ignore_schema(&self, topic: &str) -> bool {
        self.schema_ignore || self.topic_schema_ignore.contains(topic)
    }
}

/// Rules spanning several keys, as (key, reason) pairs; also run by
/// `validate` so the REST API shows them against the right key.
pub fn cross_checks(p: &ParsedConfig) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let lower = |k: &str| p.string(k).unwrap_or_default().to_ascii_lowercase();
    if DataStreamType::parse(&lower(DATA_STREAM_TYPE)).is_some() {
        let dataset = p.string(DATA_STREAM_DATASET).unwrap_or_default();
        if dataset.is_empty() {
            errors.push((
                DATA_STREAM_DATASET,
                format!("must be set when {DATA_STREAM_TYPE} is not none"),
            ));
        } else if let Err(e) = validate_data_stream_part(dataset) {
            errors.push((DATA_STREAM_DATASET, e.to_string()));
        }
        let namespace = p.string(DATA_STREAM_NAMESPACE).unwrap_or_default();
        if namespace.is_empty() {
            errors.push((DATA_STREAM_NAMESPACE, "must not be empty".to_string()));
        } else if !namespace.contains("${topic}") {
            if let Err(e) = validate_data_stream_part(namespace) {
                errors.push((DATA_STREAM_NAMESPACE, e.to_string()));
            }
        }
        if lower(WRITE_METHOD) == "upsert" {
            errors.push((
                WRITE_METHOD,
                "upsert cannot be used with data streams, which are append-only".to_string(),
            ));
        }
    }
    if lower(SECURITY_PROTOCOL) == "ssl"
        && p.list(CONNECTION_URL)
            .iter()
            .any(|u| u.starts_with("http://"))
    {
        errors.push((
            CONNECTION_URL,
            format!("{SECURITY_PROTOCOL}=SSL needs https:// URLs"),
        ));
    }
    let api_key = p.string(API_KEY).is_some_and(|s| !s.is_empty());
    let user = p.string(USERNAME).is_some_and(|s| !s.is_empty());
    if api_key && user {
        errors.push((
            API_KEY,
            format!("set either {API_KEY} or {USERNAME}/{PASSWORD}, not both"),
        ));
    }
    if user != p.string(PASSWORD).is_some_and(|s| !s.is_empty()) {
        errors.push((
            USERNAME,
            format!("{USERNAME} and {PASSWORD} must be set together"),
        ));
    }
    errors
}
