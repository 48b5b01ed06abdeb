//! The connector's config keys: Confluent's S3 sink (kafka-connect-storage-cloud
//! 10.x) with its defaults, parsed once into [`S3Config`]. Keys Rampart does
//! not implement either fail validation (when silently ignoring them would
//! change what lands in the bucket) or are listed in [`UNSUPPORTED`] and
//! logged.

use std::time::Duration;

use rampart_core::config::{ConfigDef, ConfigType, Importance, Refused, Validator};
use rampart_core::connector::Config;
use rampart_core::{ConnectError, ConnectResult};

use crate::partition::{Partitioner, PathFormat, TimeZone, TimestampExtractor};

/// `s3.bucket.name`
pub const BUCKET: &str = "s3.bucket.name";
/// `s3.region`
pub const REGION: &str = "s3.region";
/// `store.url`
pub const STORE_URL: &str = "store.url";
/// `s3.path.style.access.enabled`
pub const PATH_STYLE: &str = "s3.path.style.access.enabled";
/// `aws.access.key.id`
pub const ACCESS_KEY: &str = "aws.access.key.id";
/// `aws.secret.access.key`
pub const SECRET_KEY: &str = "aws.secret.access.key";
/// `storage.class`
pub const STORAGE_CLASS: &str = "storage.class";
/// `format.class`
pub const FORMAT_CLASS: &str = "format.class";
/// `flush.size`
pub const FLUSH_SIZE: &str = "flush.size";
/// `rotate.interval.ms`
pub const ROTATE_INTERVAL: &str = "rotate.interval.ms";
/// `rotate.schedule.interval.ms`
pub const ROTATE_SCHEDULE: &str = "rotate.schedule.interval.ms";
/// `topics.dir`
pub const TOPICS_DIR: &str = "topics.dir";
/// `directory.delim`
pub const DIRECTORY_DELIM: &str = "directory.delim";
/// `file.delim`
pub const FILE_DELIM: &str = "file.delim";
/// `filename.offset.zero.pad.width`
pub const ZERO_PAD: &str = "filename.offset.zero.pad.width";
/// `partitioner.class`
pub const PARTITIONER: &str = "partitioner.class";
/// `partition.field.name`
pub const PARTITION_FIELD: &str = "partition.field.name";
/// `path.format`
pub const PATH_FORMAT: &str = "path.format";
/// `partition.duration.ms`
pub const PARTITION_DURATION: &str = "partition.duration.ms";
/// `locale`
pub const LOCALE: &str = "locale";
/// `timezone`
pub const TIMEZONE: &str = "timezone";
/// `timestamp.extractor`
pub const TIMESTAMP_EXTRACTOR: &str = "timestamp.extractor";
/// `timestamp.field`
pub const TIMESTAMP_FIELD: &str = "timestamp.field";
/// `s3.part.size`
pub const PART_SIZE: &str = "s3.part.size";
/// `s3.compression.type`
pub const COMPRESSION: &str = "s3.compression.type";
/// `parquet.codec`
pub const PARQUET_CODEC: &str = "parquet.codec";
/// `format.bytearray.extension`
pub const BYTEARRAY_EXTENSION: &str = "format.bytearray.extension";
/// `format.bytearray.separator`
pub const BYTEARRAY_SEPARATOR: &str = "format.bytearray.separator";
/// `behavior.on.null.values`
pub const NULL_VALUES: &str = "behavior.on.null.values";
/// `store.kafka.keys`
pub const STORE_KEYS: &str = "store.kafka.keys";
/// `store.kafka.headers`
pub const STORE_HEADERS: &str = "store.kafka.headers";
/// `keys.format.class`
pub const KEYS_FORMAT: &str = "keys.format.class";
/// `headers.format.class`
pub const HEADERS_FORMAT: &str = "headers.format.class";
/// `s3.ssea.name`
pub const SSEA_NAME: &str = "s3.ssea.name";
/// `s3.sse.kms.key.id`
pub const SSE_KMS_KEY_ID: &str = "s3.sse.kms.key.id";
/// `s3.sse.customer.key`
pub const SSE_CUSTOMER_KEY: &str = "s3.sse.customer.key";
/// `s3.acl.canned`
pub const ACL_CANNED: &str = "s3.acl.canned";
/// `s3.buffer.max.bytes` (Rampart's own)
pub const BUFFER_MAX: &str = "s3.buffer.max.bytes";
/// `s3.retry.backoff.ms`
pub const RETRY_BACKOFF: &str = "s3.retry.backoff.ms";
/// `s3.part.retries`
pub const PART_RETRIES: &str = "s3.part.retries";

/// Keys of the Java connector that Rampart does not implement and that do not
/// change which records land in which object; a config that sets them gets a
/// warning.
pub const UNSUPPORTED: &[&str] = &[
    "schema.compatibility",
    "s3.send.digest",
    "s3.elastic.buffer.enable",
    "s3.elastic.buffer.init.capacity",
    "max.write.duration.ms",
    "partitioner.max.open.files",
    "avro.codec",
    "json.decimal.format",
    "report.null.values.to.dlq",
    "retry.backoff.ms",
    "shutdown.timeout.ms",
];

/// Keys of Confluent's sink that Rampart refuses unless they are left at
/// their default (the value here): objects would otherwise be written other
/// than the config asks (untagged, around a proxy the network requires).
const REFUSED: &[Refused] = &[
    Refused { key: "s3.object.tagging", ty: ConfigType::Boolean, default: "false", why: "object tagging is not supported" },
    Refused { key: "s3.proxy.url", ty: ConfigType::String, default: "", why: "proxies are not supported; store.url can name an S3 endpoint the worker reaches" },
    Refused { key: "s3.proxy.user", ty: ConfigType::String, default: "", why: "proxies are not supported" },
    Refused { key: "s3.proxy.password", ty: ConfigType::Password, default: "", why: "proxies are not supported" },
    Refused { key: "s3.wan.mode", ty: ConfigType::Boolean, default: "false", why: "S3 Transfer Acceleration is not supported" },
    Refused { key: "enable.conditional.writes", ty: ConfigType::Boolean, default: "false", why: "conditional writes are not supported; object names are deterministic, so a rewrite carries the same bytes" },
    Refused { key: "s3.credentials.provider.class", ty: ConfigType::Class, default: "com.amazonaws.auth.DefaultAWSCredentialsProviderChain", why: "other credentials providers are not supported: AWS's default chain is used, or aws.access.key.id and aws.secret.access.key" },
];

/// S3's canned ACLs, as Confluent's sink names them.
const CANNED_ACLS: &[&str] = &[
    "",
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "log-delivery-write",
    "bucket-owner-read",
    "bucket-owner-full-control",
    "aws-exec-read",
];

/// The S3 storage class, the only one there is.
pub const S3_STORAGE: &str = "io.confluent.connect.s3.storage.S3Storage";
const JSON_FORMAT: &str = "io.confluent.connect.s3.format.json.JsonFormat";
const PARQUET_FORMAT: &str = "io.confluent.connect.s3.format.parquet.ParquetFormat";
const BYTEARRAY_FORMAT: &str = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat";
const PARTITIONER_PREFIX: &str = "io.confluent.connect.storage.partitioner.";
const DEFAULT_PARTITIONER: &str = "io.confluent.connect.storage.partitioner.DefaultPartitioner";
/// S3's smallest part of a multipart upload (but the last).
pub const MIN_PART_SIZE: i64 = 5 * 1024 * 1024;

const CONNECTION: &str = "Connector";
const STORAGE: &str = "Storage";
const PARTITIONER_GROUP: &str = "Partitioner";

/// The connector's definition.
pub fn def() -> ConfigDef {
    let mut d = ConfigDef::new();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    let s = ConfigType::String;
    d.define(BUCKET, s, Importance::High, "The S3 bucket. It must exist; the task checks it when it starts and fails with a clear message if it is missing or not accessible.")
        .validator(Validator::NonEmpty)
        .group(STORAGE, next())
        .add();
    d.define(
        REGION,
        s,
        Importance::Medium,
        "The AWS region of the bucket.",
    )
    .default("us-west-2")
    .group(STORAGE, next())
    .add();
    d.define(STORE_URL, s, Importance::High, "A custom S3 endpoint, for S3-compatible stores (MinIO, Ceph, moto). Unset uses AWS's endpoint for the region.")
        .default_null()
        .group(STORAGE, next())
        .add();
    d.define(PATH_STYLE, ConfigType::Boolean, Importance::Low, "Address buckets by path (`https://host/bucket/key`) rather than by virtual host; S3-compatible stores usually need it.")
        .default("true")
        .group(STORAGE, next())
        .add();
    d.define(ACCESS_KEY, s, Importance::High, "The AWS access key id. Empty uses the default AWS credential chain (environment, profile, web identity, instance metadata).")
        .default("")
        .group(STORAGE, next())
        .add();
    d.define(
        SECRET_KEY,
        ConfigType::Password,
        Importance::High,
        "The AWS secret access key, used with aws.access.key.id.",
    )
    .default("")
    .group(STORAGE, next())
    .add();
    d.define(
        STORAGE_CLASS,
        ConfigType::Class,
        Importance::High,
        "The storage backend; only `io.confluent.connect.s3.storage.S3Storage` exists.",
    )
    .validator(Validator::OneOf(&[S3_STORAGE]))
    .group(STORAGE, next())
    .add();
    d.define(SSEA_NAME, s, Importance::Low, "Server-side encryption algorithm of the objects: empty (the bucket's default), `AES256` or `aws:kms`.")
        .default("")
        .validator(Validator::OneOf(&["", "AES256", "aws:kms"]))
        .group(STORAGE, next())
        .add();
    d.define(
        SSE_KMS_KEY_ID,
        s,
        Importance::Low,
        "The KMS key id used with s3.ssea.name=aws:kms; empty uses the account's default key.",
    )
    .default("")
    .group(STORAGE, next())
    .add();
    d.define(
        SSE_CUSTOMER_KEY,
        ConfigType::Password,
        Importance::Low,
        "The S3 Server Side Encryption Customer-Provided Key (SSE-C): a base64-encoded 256-bit AES key. Objects are written encrypted with it, and only a reader that has it can read them.",
    )
    .default("")
    .group(STORAGE, next())
    .add();
    d.define(
        ACL_CANNED,
        s,
        Importance::Low,
        "The canned ACL of the objects written (`bucket-owner-full-control`, `private`, …); empty sends none.",
    )
    .default("")
    .validator(Validator::OneOf(CANNED_ACLS))
    .group(STORAGE, next())
    .add();
    Refused::define_all(&mut d, REFUSED, STORAGE, &mut next);
    d.define(PART_SIZE, ConfigType::Int, Importance::High, "Bytes of an object buffered before they are sent as one part of a multipart upload (5 MiB at least). It bounds the memory of each open object: an object bigger than this is uploaded part by part while it is written.")
        .default("26214400")
        .validator(Validator::between(MIN_PART_SIZE as f64, i32::MAX as f64))
        .group(STORAGE, next())
        .add();
    d.define(BUFFER_MAX, ConfigType::Long, Importance::Medium, "Rampart's own: encoded bytes a task holds in open objects before those holding at least 5 MiB (S3's smallest part) send it early as a multipart part. A task then holds at most this plus just under 5 MiB per open object (plus, for Parquet, up to 16 MiB of rows per open object before they are encoded), whatever s3.part.size is.")
        .default("268435456")
        .validator(Validator::at_least(0.0))
        .group(STORAGE, next())
        .add();
    d.define(RETRY_BACKOFF, ConfigType::Long, Importance::Low, "First wait, in milliseconds, before retrying a request that failed with a retryable error (throttling, 5xx, network); it doubles per attempt up to 10 s.")
        .default("200")
        .validator(Validator::at_least(0.0))
        .group(STORAGE, next())
        .add();
    d.define(PART_RETRIES, ConfigType::Int, Importance::Medium, "Retries of a request that failed with a retryable error. When they are used up the object waits and is tried again, without committing its offsets, so a long outage holds the partitions back instead of failing the task.")
        .default("3")
        .validator(Validator::at_least(0.0))
        .group(STORAGE, next())
        .add();
    d.define(FORMAT_CLASS, ConfigType::Class, Importance::High, "The object format: `io.confluent.connect.s3.format.json.JsonFormat` (JSON Lines: one JSON value per line), `io.confluent.connect.s3.format.parquet.ParquetFormat` (columns from the Connect schema, or inferred from JSON objects: see the README) or `io.confluent.connect.s3.format.bytearray.ByteArrayFormat` (raw values and a separator). Avro is not supported.")
        .group(CONNECTION, next())
        .add();
    d.define(FLUSH_SIZE, ConfigType::Int, Importance::High, "Records per object: the objects of a Kafka partition are closed and uploaded when this many records were written since the last rotation.")
        .validator(Validator::at_least(1.0))
        .group(CONNECTION, next())
        .add();
    d.define(ROTATE_INTERVAL, ConfigType::Long, Importance::High, "Rotation by record time, in milliseconds: the objects of a Kafka partition are closed when a record's timestamp (from timestamp.extractor) is this far past the first record's, or when its encoded partition changes. Deterministic, so it keeps exactly-once; it needs new records to advance. -1 disables it.")
        .default("-1")
        .group(CONNECTION, next())
        .add();
    d.define(ROTATE_SCHEDULE, ConfigType::Long, Importance::Medium, "Rotation by wall clock, in milliseconds, aligned to the start of the day in `timezone`: open objects are closed at each tick even without new records. Object boundaries then depend on when the worker ran, so after a restart a re-consumed range may be cut differently and records may appear in two objects: it does not keep exactly-once. -1 disables it.")
        .default("-1")
        .group(CONNECTION, next())
        .add();
    d.define(COMPRESSION, s, Importance::Low, "Compression of JSON and ByteArray objects: `none` or `gzip` (which adds `.gz` to the object name).")
        .default("none")
        .validator(Validator::OneOf(&["none", "gzip"]))
        .group(CONNECTION, next())
        .add();
    d.define(
        PARQUET_CODEC,
        s,
        Importance::Low,
        "Compression of Parquet column chunks: `none`, `snappy`, `gzip` or `zstd`.",
    )
    .default("snappy")
    .validator(Validator::OneOf(&["none", "snappy", "gzip", "zstd"]))
    .group(CONNECTION, next())
    .add();
    d.define(
        BYTEARRAY_EXTENSION,
        s,
        Importance::Low,
        "Object name extension of the ByteArray format.",
    )
    .default(".bin")
    .group(CONNECTION, next())
    .add();
    d.define(
        BYTEARRAY_SEPARATOR,
        s,
        Importance::Low,
        "Written after each value by the ByteArray format; unset writes a newline.",
    )
    .default_null()
    .group(CONNECTION, next())
    .add();
    d.define(NULL_VALUES, s, Importance::Low, "What to do with a record whose value is null (a tombstone): `fail` the task (or send it to the dead-letter queue under errors.tolerance=all) or `ignore` it. Confluent's `write` needs store.kafka.keys and is not supported.")
        .default("fail")
        .validator(Validator::OneOfIgnoreCase(&["ignore", "fail"]))
        .group(CONNECTION, next())
        .add();
    d.define(
        STORE_KEYS,
        ConfigType::Boolean,
        Importance::Low,
        "Also write each record's key, in order, to `<topic>+<partition>+<start offset>.keys.<ext>` next to its data object, uploaded with it. A record with a null key is refused (the dead-letter queue or a failed task).",
    )
    .default("false")
    .group(CONNECTION, next())
    .add();
    d.define(KEYS_FORMAT, ConfigType::Class, Importance::Low, "Format of the keys objects: `io.confluent.connect.s3.format.json.JsonFormat` or `io.confluent.connect.s3.format.bytearray.ByteArrayFormat` (bytes or string keys). Unset uses format.class, or JsonFormat when that is ParquetFormat (Confluent defaults to Avro, which Rampart does not write). ParquetFormat is refused: a key the Parquet schema cannot hold would be found only after the value was written, leaving the objects out of step.")
        .default_null()
        .group(CONNECTION, next())
        .add();
    d.define(
        STORE_HEADERS,
        ConfigType::Boolean,
        Importance::Low,
        "Also write each record's headers, in order, to `<topic>+<partition>+<start offset>.headers.<ext>` next to its data object, uploaded with it: one JSON array of `{\"key\": ..., \"value\": ...}` objects per record, in header order. A record without headers is refused (the dead-letter queue or a failed task), as by Confluent.",
    )
    .default("false")
    .group(CONNECTION, next())
    .add();
    d.define(HEADERS_FORMAT, ConfigType::Class, Importance::Low, "Format of the headers objects: only `io.confluent.connect.s3.format.json.JsonFormat`, which is also what unset means (Confluent defaults to Avro, which Rampart does not write).")
        .default_null()
        .group(CONNECTION, next())
        .add();
    d.define(TOPICS_DIR, s, Importance::High, "Top-level folder of the objects: `<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>`.")
        .default("topics")
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(
        DIRECTORY_DELIM,
        s,
        Importance::Low,
        "Separator of the folders in object names.",
    )
    .default("/")
    .group(PARTITIONER_GROUP, next())
    .add();
    d.define(
        FILE_DELIM,
        s,
        Importance::Low,
        "Separator of topic, partition and start offset in object names.",
    )
    .default("+")
    .group(PARTITIONER_GROUP, next())
    .add();
    d.define(
        ZERO_PAD,
        ConfigType::Int,
        Importance::Low,
        "Digits of the start offset in object names, zero-padded.",
    )
    .default("10")
    .validator(Validator::at_least(0.0))
    .group(PARTITIONER_GROUP, next())
    .add();
    d.define(PARTITIONER, ConfigType::Class, Importance::High, "How records are spread over folders: `io.confluent.connect.storage.partitioner.DefaultPartitioner` (`partition=<n>`), `FieldPartitioner` (`<field>=<value>` of partition.field.name), `TimeBasedPartitioner` (path.format of the record time), `HourlyPartitioner` or `DailyPartitioner`.")
        .default(DEFAULT_PARTITIONER)
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(PARTITION_FIELD, ConfigType::List, Importance::Medium, "FieldPartitioner: the value fields (dots reach nested fields) whose values name the folder, `<field>=<value>` each.")
        .default("")
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(PATH_FORMAT, s, Importance::Medium, "TimeBasedPartitioner: a Joda-Time pattern of the folder, e.g. `'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH`. Letters y, Y, M (numeric), d, D, H, m, s and S and quoted text are supported.")
        .default("")
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(PARTITION_DURATION, ConfigType::Long, Importance::Medium, "TimeBasedPartitioner: the length of a time partition in milliseconds; record times are rounded down to it in `timezone`.")
        .default("-1")
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(LOCALE, s, Importance::Medium, "Time-based partitioners: the locale (required, as by Confluent; the supported pattern letters are all numeric, so it does not change names).")
        .default("")
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(TIMEZONE, s, Importance::Medium, "Time-based partitioners: the IANA time zone of the folders (`UTC`, `Europe/Paris`). Also aligns rotate.schedule.interval.ms.")
        .default("")
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(TIMESTAMP_EXTRACTOR, s, Importance::Medium, "Where record time comes from: `Wallclock` (the worker's clock; not deterministic, so not exactly-once), `Record` (the Kafka record timestamp) or `RecordField` (timestamp.field of the value: epoch milliseconds, a Connect Timestamp or an ISO-8601 string).")
        .default("Wallclock")
        .validator(Validator::OneOf(&["Wallclock", "Record", "RecordField"]))
        .group(PARTITIONER_GROUP, next())
        .add();
    d.define(TIMESTAMP_FIELD, s, Importance::Medium, "RecordField extractor: the value field holding the record time (dots reach nested fields).")
        .default("timestamp")
        .group(PARTITIONER_GROUP, next())
        .add();
    d
}

/// The object format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines, optionally gzipped.
    Json {
        /// Gzip the object.
        gzip: bool,
    },
    /// Raw value bytes followed by a separator.
    ByteArray {
        /// Gzip the object.
        gzip: bool,
        /// Name extension, with its dot.
        extension: String,
        /// Written after each value.
        separator: Vec<u8>,
    },
    /// Parquet with a column chunk codec.
    Parquet {
        /// The codec.
        codec: ParquetCodec,
    },
}

/// Parquet column compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParquetCodec {
    /// Uncompressed.
    None,
    /// Snappy.
    Snappy,
    /// Gzip.
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Format {
    /// The object name extension, with its dot, as Confluent names them.
    pub fn extension(&self) -> String {
        match self {
            Format::Json { gzip } => if *gzip { ".json.gz" } else { ".json" }.to_string(),
            Format::ByteArray {
                gzip, extension, ..
            } => {
                if *gzip {
                    format!("{extension}.gz")
                } else {
                    extension.clone()
                }
            }
            Format::Parquet { codec } => match codec {
                ParquetCodec::None => ".parquet",
                ParquetCodec::Snappy => ".snappy.parquet",
                ParquetCodec::Gzip => ".gz.parquet",
                ParquetCodec::Zstd => ".zstd.parquet",
            }
            .to_string(),
        }
    }
}

/// Server-side encryption of the objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3.
    Aes256,
    /// SSE-KMS, with a key id or the default key.
    Kms(Option<String>),
    /// SSE-C: the key (base64), sent with every write, and its MD5 (base64).
    Customer {
        /// The 256-bit key, base64-encoded.
        key: String,
        /// The key's MD5, base64-encoded, by which S3 checks it arrived whole.
        md5: String,
    },
}

/// Object naming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    /// `topics.dir`
    pub topics_dir: String,
    /// `directory.delim`
    pub directory_delim: String,
    /// `file.delim`
    pub file_delim: String,
    /// `filename.offset.zero.pad.width`
    pub zero_pad: usize,
    /// Extension with its dot.
    pub extension: String,
}

impl Naming {
    /// The object key of a file: `<topics.dir>/<topic>/<encoded>/<topic>+<partition>+<start>.<ext>`.
    /// The directory topic is the record's (after transforms); the file name
    /// is the original topic partition's, whose offsets it carries.
    pub fn key(
        &self,
        dir_topic: &str,
        encoded: &str,
        topic: &str,
        partition: i32,
        start: i64,
    ) -> String {
        let d = &self.directory_delim;
        let f = &self.file_delim;
        let width = self.zero_pad;
        format!(
            "{}{d}{dir_topic}{d}{encoded}{d}{topic}{f}{partition}{f}{start:0width$}{}",
            self.topics_dir, self.extension
        )
    }
}

impl Naming {
    /// The name of the keys or headers object of a data object: its name
    /// without the data extension, then `.keys` or `.headers` and the
    /// extension of its own format, as Confluent names them.
    pub fn side_key(&self, data_key: &str, view: &str, format: &Format) -> String {
        let stem = data_key.strip_suffix(&self.extension).unwrap_or(data_key);
        format!("{stem}.{view}{}", format.extension())
    }
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// The region.
    pub region: String,
    /// A custom endpoint.
    pub store_url: Option<String>,
    /// Path-style addressing.
    pub path_style: bool,
    /// Static credentials, or the default chain.
    pub credentials: Option<(String, String)>,
    /// Server-side encryption.
    pub encryption: Option<Encryption>,
    /// The canned ACL of every object, if any.
    pub acl: Option<String>,
    /// Multipart part size.
    pub part_size: usize,
    /// Encoded bytes held across open objects before parts leave early.
    pub buffer_max_bytes: usize,
    /// First retry backoff.
    pub retry_backoff: Duration,
    /// Retries per request.
    pub part_retries: u32,
    /// The object format.
    pub format: Format,
    /// Format of the keys objects, when store.kafka.keys is on: JSON or
    /// ByteArray, encoded line by line.
    pub keys: Option<Format>,
    /// Format of the headers objects (JSON), when store.kafka.headers is on.
    pub headers: Option<Format>,
    /// Records per object.
    pub flush_size: usize,
    /// Record-time rotation.
    pub rotate_interval_ms: Option<i64>,
    /// Wall-clock rotation.
    pub rotate_schedule_ms: Option<i64>,
    /// Ignore null values instead of failing.
    pub ignore_nulls: bool,
    /// Object naming.
    pub naming: Naming,
    /// The partitioner.
    pub partitioner: Partitioner,
    /// The record time used by the partitioner and record-time rotation.
    pub extractor: TimestampExtractor,
    /// Time zone of paths and of scheduled rotation.
    pub timezone: TimeZone,
}

fn bad(key: &str, value: &str, why: &str) -> ConnectError {
    ConnectError::BadRequest(format!(
        "Invalid value {value} for configuration {key}: {why}"
    ))
}

// S3 takes an SSE-C key only as 32 bytes, base64-encoded; anything else
// would fail every write, so it is refused when the connector is created.
fn customer_encryption(key: &str) -> ConnectResult<Encryption> {
    use base64::Engine as _;
    use md5::Digest as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let refused = || {
        bad(
            SSE_CUSTOMER_KEY,
            "[hidden]",
            "an SSE-C key is 256 bits (32 bytes), base64-encoded",
        )
    };
    let bytes = engine.decode(key.trim()).map_err(|_| refused())?;
    if bytes.len() != 32 {
        return Err(refused());
    }
    Ok(Encryption::Customer {
        key: engine.encode(&bytes),
        md5: engine.encode(md5::Md5::digest(&bytes)),
    })
}

impl S3Config {
    /// Parses and checks a connector or task config.
    pub fn parse(config: &Config) -> ConnectResult<Self> {
        let p = def()
            .parse(config)
            .map_err(|e| ConnectError::BadRequest(e.join("\n")))?;
        let int = |k: &str| p.long(k).unwrap_or(0);
        let string = |k: &str| p.string(k).unwrap_or_default().to_string();

        let gzip = string(COMPRESSION) == "gzip";
        let format_class = string(FORMAT_CLASS);
        let format = match simple(&format_class) {
            "JsonFormat" => Format::Json { gzip },
            "ByteArrayFormat" => Format::ByteArray {
                gzip,
                extension: string(BYTEARRAY_EXTENSION),
                separator: config
                    .get(BYTEARRAY_SEPARATOR)
                    .map(|s| s.as_bytes().to_vec())
                    .unwrap_or_else(|| b"\n".to_vec()),
            },
            "ParquetFormat" => {
                if gzip {
                    return Err(bad(
                        COMPRESSION,
                        "gzip",
                        "Parquet objects are compressed by parquet.codec, not s3.compression.type",
                    ));
                }
                Format::Parquet {
                    codec: match string(PARQUET_CODEC).as_str() {
                        "none" => ParquetCodec::None,
                        "gzip" => ParquetCodec::Gzip,
                        "zstd" => ParquetCodec::Zstd,
                        _ => ParquetCodec::Snappy,
                    },
                }
            }
            _ => {
                return Err(bad(
                    FORMAT_CLASS,
                    &format_class,
                    &format!(
                    "unsupported format; use {JSON_FORMAT}, {PARQUET_FORMAT} or {BYTEARRAY_FORMAT}"
                ),
                ))
            }
        };

        let explicit = |k: &str| {
            p.string(k)
                .filter(|c| !c.trim().is_empty())
                .map(str::to_string)
        };
        let keys = if p.bool(STORE_KEYS) {
            Some(match explicit(KEYS_FORMAT) {
                Some(class) => match simple(&class) {
                    "JsonFormat" => Format::Json { gzip },
                    "ByteArrayFormat" => Format::ByteArray {
                        gzip,
                        extension: string(BYTEARRAY_EXTENSION),
                        separator: config
                            .get(BYTEARRAY_SEPARATOR)
                            .map(|s| s.as_bytes().to_vec())
                            .unwrap_or_else(|| b"\n".to_vec()),
                    },
                    _ => {
                        return Err(bad(
                            KEYS_FORMAT,
                            &class,
                            &format!(
                                "unsupported keys format; use {JSON_FORMAT} or {BYTEARRAY_FORMAT}"
                            ),
                        ))
                    }
                },
                None => match &format {
                    Format::Parquet { .. } => Format::Json { gzip: false },
                    other => other.clone(),
                },
            })
        } else {
            None
        };
        let headers = if p.bool(STORE_HEADERS) {
            if let Some(class) = explicit(HEADERS_FORMAT) {
                if simple(&class) != "JsonFormat" {
                    return Err(bad(
                        HEADERS_FORMAT,
                        &class,
                        &format!("unsupported headers format; use {JSON_FORMAT}"),
                    ));
                }
            }
            Some(Format::Json { gzip })
        } else {
            None
        };

        let timezone_raw = string(TIMEZONE);
        let timezone = if timezone_raw.is_empty() {
            TimeZone::utc()
        } else {
            TimeZone::parse(&timezone_raw).map_err(|why| bad(TIMEZONE, &timezone_raw, &why))?
        };
        let extractor = match string(TIMESTAMP_EXTRACTOR).as_str() {
            "Record" => TimestampExtractor::Record,
            "RecordField" => {
                let field = string(TIMESTAMP_FIELD);
                if field.is_empty() {
                    return Err(bad(
                        TIMESTAMP_FIELD,
                        "",
                        "the RecordField extractor needs a field",
                    ));
                }
                TimestampExtractor::RecordField(field.split('.').map(str::to_string).collect())
            }
            _ => TimestampExtractor::Wallclock,
        };

        let partitioner_class = string(PARTITIONER);
        let time_based = |path: &str, duration: i64| -> ConnectResult<Partitioner> {
            if string(LOCALE).is_empty() {
                return Err(bad(LOCALE, "", "time-based partitioners need a locale"));
            }
            if timezone_raw.is_empty() {
                return Err(bad(TIMEZONE, "", "time-based partitioners need a timezone"));
            }
            if duration <= 0 {
                return Err(bad(
                    PARTITION_DURATION,
                    &duration.to_string(),
                    "time-based partitioners need a positive duration",
                ));
            }
            let format = PathFormat::parse(path).map_err(|why| bad(PATH_FORMAT, path, &why))?;
            Ok(Partitioner::Time {
                format,
                duration_ms: duration,
            })
        };
        let partitioner = match partitioner_class
            .strip_prefix(PARTITIONER_PREFIX)
            .unwrap_or(&partitioner_class)
        {
            "DefaultPartitioner" => Partitioner::Default,
            "FieldPartitioner" => {
                let fields = p.list(PARTITION_FIELD);
                if fields.is_empty() {
                    return Err(bad(PARTITION_FIELD, "", "FieldPartitioner needs at least one field"));
                }
                Partitioner::Field(
                    fields
                        .iter()
                        .map(|f| (f.clone(), f.split('.').map(str::to_string).collect()))
                        .collect(),
                )
            }
            "TimeBasedPartitioner" => {
                let path = string(PATH_FORMAT);
                if path.is_empty() {
                    return Err(bad(PATH_FORMAT, "", "TimeBasedPartitioner needs a path format"));
                }
                time_based(&path, int(PARTITION_DURATION))?
            }
            "HourlyPartitioner" => time_based("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3_600_000)?,
            "DailyPartitioner" => time_based("'year'=YYYY/'month'=MM/'day'=dd", 86_400_000)?,
            _ => {
                return Err(bad(
                    PARTITIONER,
                    &partitioner_class,
                    "unsupported partitioner; use DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner of io.confluent.connect.storage.partitioner",
                ))
            }
        };

        let access = string(ACCESS_KEY);
        let secret = string(SECRET_KEY);
        let credentials = match (access.is_empty(), secret.is_empty()) {
            (true, true) => None,
            (false, false) => Some((access, secret)),
            (true, false) => {
                return Err(bad(
                    ACCESS_KEY,
                    "",
                    "aws.secret.access.key is set without an access key id",
                ))
            }
            (false, true) => {
                return Err(bad(
                    SECRET_KEY,
                    "[hidden]",
                    "aws.access.key.id is set without a secret access key",
                ))
            }
        };
        Refused::check(REFUSED, config).map_err(ConnectError::BadRequest)?;
        let customer_key = string(SSE_CUSTOMER_KEY);
        let encryption = match (string(SSEA_NAME).as_str(), customer_key.as_str()) {
            ("", "") => None,
            ("AES256", "") => Some(Encryption::Aes256),
            ("aws:kms", "") => Some(Encryption::Kms(
                Some(string(SSE_KMS_KEY_ID)).filter(|k| !k.is_empty()),
            )),
            ("", key) => Some(customer_encryption(key)?),
            (algorithm, _) => {
                return Err(bad(
                    SSEA_NAME,
                    algorithm,
                    "an object has one kind of server-side encryption: set s3.ssea.name or s3.sse.customer.key, not both",
                ))
            }
        };
        let positive = |k: &str| Some(int(k)).filter(|v| *v > 0);
        Ok(S3Config {
            bucket: string(BUCKET),
            region: string(REGION),
            store_url: p
                .string(STORE_URL)
                .filter(|u| !u.is_empty())
                .map(str::to_string),
            path_style: p.bool(PATH_STYLE),
            credentials,
            encryption,
            acl: Some(string(ACL_CANNED)).filter(|a| !a.is_empty()),
            part_size: int(PART_SIZE).max(MIN_PART_SIZE) as usize,
            buffer_max_bytes: int(BUFFER_MAX).max(0) as usize,
            retry_backoff: Duration::from_millis(int(RETRY_BACKOFF).max(0) as u64),
            part_retries: int(PART_RETRIES).clamp(0, u32::MAX as i64) as u32,
            naming: Naming {
                topics_dir: string(TOPICS_DIR),
                directory_delim: string(DIRECTORY_DELIM),
                file_delim: string(FILE_DELIM),
                zero_pad: int(ZERO_PAD).clamp(0, 19) as usize,
                extension: format.extension(),
            },
            format,
            keys,
            headers,
            flush_size: int(FLUSH_SIZE).max(1) as usize,
            rotate_interval_ms: positive(ROTATE_INTERVAL),
            rotate_schedule_ms: positive(ROTATE_SCHEDULE),
            ignore_nulls: string(NULL_VALUES).eq_ignore_ascii_case("ignore"),
            partitioner,
            extractor,
            timezone,
        })
    }
}

fn simple(class: &str) -> &str {
    class.trim().rsplit('.').next().unwrap_or(class)
}
