//! The connector's config keys: splunk/kafka-connect-splunk's (v2.2.1), with
//! its defaults and spelling (`splunk.hec.backoff.threshhold.seconds`), plus
//! one of Rampart's own (`splunk.hec.max.outstanding.bytes`) that bounds
//! memory where the Java connector only bounds an event count.

use std::collections::HashMap;
use std::time::Duration;

use rampart_core::config::{split_list, ConfigDef, ConfigType, Importance, Refused, Validator};
use rampart_core::connector::Config;
use rampart_core::{ConnectError, ConnectResult};

/// `splunk.hec.uri`
pub const URI: &str = "splunk.hec.uri";
/// `splunk.hec.token`
pub const TOKEN: &str = "splunk.hec.token";
/// `splunk.indexes`
pub const INDEXES: &str = "splunk.indexes";
/// `splunk.sources`
pub const SOURCES: &str = "splunk.sources";
/// `splunk.sourcetypes`
pub const SOURCETYPES: &str = "splunk.sourcetypes";
/// `splunk.hec.raw`
pub const RAW: &str = "splunk.hec.raw";
/// `splunk.hec.raw.line.breaker`
pub const LINE_BREAKER: &str = "splunk.hec.raw.line.breaker";
/// `splunk.hec.json.event.enrichment`
pub const ENRICHMENT: &str = "splunk.hec.json.event.enrichment";
/// `splunk.hec.json.event.formatted`
pub const EVENT_FORMATTED: &str = "splunk.hec.json.event.formatted";
/// `splunk.hec.track.data`
pub const TRACK_DATA: &str = "splunk.hec.track.data";
/// `splunk.hec.use.record.timestamp`
pub const USE_RECORD_TIMESTAMP: &str = "splunk.hec.use.record.timestamp";
/// `splunk.hec.auto.extract.timestamp`
pub const AUTO_EXTRACT_TIMESTAMP: &str = "splunk.hec.auto.extract.timestamp";
/// `splunk.hec.ack.enabled`
pub const ACK_ENABLED: &str = "splunk.hec.ack.enabled";
/// `splunk.hec.ack.poll.interval`
pub const ACK_POLL_INTERVAL: &str = "splunk.hec.ack.poll.interval";
/// `splunk.hec.ack.poll.threads`
pub const ACK_POLL_THREADS: &str = "splunk.hec.ack.poll.threads";
/// `splunk.hec.event.timeout`
pub const EVENT_TIMEOUT: &str = "splunk.hec.event.timeout";
/// `splunk.hec.max.batch.size`
pub const MAX_BATCH_SIZE: &str = "splunk.hec.max.batch.size";
/// `splunk.hec.max.outstanding.events`
pub const MAX_OUTSTANDING_EVENTS: &str = "splunk.hec.max.outstanding.events";
/// `splunk.hec.max.outstanding.bytes` (Rampart's own)
pub const MAX_OUTSTANDING_BYTES: &str = "splunk.hec.max.outstanding.bytes";
/// `splunk.hec.max.retries`
pub const MAX_RETRIES: &str = "splunk.hec.max.retries";
/// `splunk.hec.backoff.threshhold.seconds` (sic, as the Java connector)
pub const BACKOFF_THRESHOLD: &str = "splunk.hec.backoff.threshhold.seconds";
/// `splunk.hec.total.channels`
pub const TOTAL_CHANNELS: &str = "splunk.hec.total.channels";
/// `splunk.hec.max.http.connection.per.channel`
pub const CONNECTIONS_PER_CHANNEL: &str = "splunk.hec.max.http.connection.per.channel";
/// `splunk.hec.threads`
pub const THREADS: &str = "splunk.hec.threads";
/// `splunk.hec.socket.timeout`
pub const SOCKET_TIMEOUT: &str = "splunk.hec.socket.timeout";
/// `splunk.hec.http.keepalive`
pub const KEEPALIVE: &str = "splunk.hec.http.keepalive";
/// `splunk.hec.enable.compression`
pub const ENABLE_COMPRESSION: &str = "splunk.hec.enable.compression";
/// `splunk.hec.lb.poll.interval`
pub const LB_POLL_INTERVAL: &str = "splunk.hec.lb.poll.interval";
/// `splunk.hec.ssl.validate.certs`
pub const VALIDATE_CERTS: &str = "splunk.hec.ssl.validate.certs";
/// `splunk.hec.ssl.trust.store.path`
pub const TRUST_STORE_PATH: &str = "splunk.hec.ssl.trust.store.path";
/// `splunk.hec.ssl.trust.store.type`
pub const TRUST_STORE_TYPE: &str = "splunk.hec.ssl.trust.store.type";
/// `splunk.header.support`
pub const HEADER_SUPPORT: &str = "splunk.header.support";
/// `splunk.header.index`
pub const HEADER_INDEX: &str = "splunk.header.index";
/// `splunk.header.source`
pub const HEADER_SOURCE: &str = "splunk.header.source";
/// `splunk.header.sourcetype`
pub const HEADER_SOURCETYPE: &str = "splunk.header.sourcetype";
/// `splunk.header.host`
pub const HEADER_HOST: &str = "splunk.header.host";
/// `splunk.header.custom`
pub const HEADER_CUSTOM: &str = "splunk.header.custom";

/// Keys of the Java connector refused unless left at their default: the
/// events would otherwise reach Splunk other than the config asks.
const REFUSED: &[Refused] = &[
    Refused {
        key: "enable.timestamp.extraction",
        ty: ConfigType::Boolean,
        default: "false",
        why: "timestamp extraction is not supported; events carry the record's timestamp",
    },
    Refused {
        key: "splunk.hec.concurrent.queue.capacity",
        ty: ConfigType::Int,
        default: "100",
        why: "events in flight are bounded by splunk.hec.max.outstanding.events and splunk.hec.max.outstanding.bytes instead",
    },
    Refused {
        key: "kerberos.user.principal",
        ty: ConfigType::String,
        default: "",
        why: "Kerberos authentication is not supported; HEC tokens are",
    },
    Refused {
        key: "kerberos.keytab.path",
        ty: ConfigType::String,
        default: "",
        why: "Kerberos authentication is not supported; HEC tokens are",
    },
];

const CONNECTION: &str = "Connection";
const ACK: &str = "Acknowledgement";
const DATA: &str = "Data";
const HEADERS: &str = "Headers";

/// The connector's definition.
pub fn def() -> ConfigDef {
    let mut d = ConfigDef::new();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    d.define(URI, ConfigType::List, Importance::High, "Splunk HEC URIs, comma-separated (`https://idx1:8088,https://idx2:8088`). Requests are load-balanced over the channels of all URIs; an indexer that fails or answers busy is avoided until its backoff ends or its health check passes.")
        .validator(Validator::Custom { check: check_uris, describe: "non-empty list of http(s) URIs" })
        .group(CONNECTION, next())
        .add();
    d.define(TOKEN, ConfigType::Password, Importance::High, "HEC token, sent as `Authorization: Splunk <token>`. A disabled (code 1) or invalid (code 4) token fails the task.")
        .group(CONNECTION, next())
        .add();
    d.define(
        VALIDATE_CERTS,
        ConfigType::Boolean,
        Importance::Medium,
        "Whether to verify the HEC server's TLS certificate. Turn off only for tests.",
    )
    .default("true")
    .group(CONNECTION, next())
    .add();
    d.define(TRUST_STORE_PATH, ConfigType::String, Importance::Medium, "Trust store with the CA certificates of the HEC servers, added to the built-in web roots. Rampart reads PEM files only (set splunk.hec.ssl.trust.store.type=PEM); Java key stores are not supported.")
        .default("")
        .group(CONNECTION, next())
        .add();
    d.define(TRUST_STORE_TYPE, ConfigType::String, Importance::Low, "Trust store format. Only PEM is supported; the Java connector's default JKS is accepted only while no trust store path is set.")
        .default("JKS")
        .group(CONNECTION, next())
        .add();
    d.define(
        SOCKET_TIMEOUT,
        ConfigType::Int,
        Importance::Low,
        "Seconds to wait for a HEC response before the request counts as failed and is retried.",
    )
    .default("60")
    .validator(Validator::at_least(1.0))
    .group(CONNECTION, next())
    .add();
    d.define(
        KEEPALIVE,
        ConfigType::Boolean,
        Importance::Low,
        "Keep HTTP connections open between requests.",
    )
    .default("true")
    .group(CONNECTION, next())
    .add();
    // Importance low where the Java connector says MEDIUM: like socket
    // timeout and keepalive, it tunes the transport, not what arrives.
    d.define(ENABLE_COMPRESSION, ConfigType::Boolean, Importance::Low, "Valid settings are true or false. When set to true, HEC request bodies (events on `/services/collector/event` and `/services/collector/raw`) are compressed with gzip and sent with `Content-Encoding: gzip`; acknowledgement polls and health checks are not, as in the Java connector.")
        .default("false")
        .group(CONNECTION, next())
        .add();
    d.define(TOTAL_CHANNELS, ConfigType::Int, Importance::Medium, "Number of HEC channels (`X-Splunk-Request-Channel`) per task, spread over the URIs (at least one per URI).")
        .default("2")
        .validator(Validator::at_least(1.0))
        .group(CONNECTION, next())
        .add();
    d.define(
        CONNECTIONS_PER_CHANNEL,
        ConfigType::Int,
        Importance::Low,
        "Requests in flight per channel; a task has at most total.channels times this many.",
    )
    .default("2")
    .validator(Validator::at_least(1.0))
    .group(CONNECTION, next())
    .add();
    d.define(THREADS, ConfigType::Int, Importance::Low, "Accepted for compatibility. Rampart sends asynchronously; concurrency comes from splunk.hec.total.channels and splunk.hec.max.http.connection.per.channel.")
        .default("1")
        .validator(Validator::at_least(1.0))
        .group(CONNECTION, next())
        .add();
    d.define(LB_POLL_INTERVAL, ConfigType::Int, Importance::Low, "Seconds between health checks (`GET /services/collector/health`) of every URI. A URI that fails its check is avoided until a later check passes.")
        .default("120")
        .validator(Validator::at_least(1.0))
        .group(CONNECTION, next())
        .add();
    d.define(
        MAX_BATCH_SIZE,
        ConfigType::Int,
        Importance::Medium,
        "Maximum number of events per HEC request.",
    )
    .default("500")
    .validator(Validator::at_least(1.0))
    .group(CONNECTION, next())
    .add();
    d.define(MAX_RETRIES, ConfigType::Int, Importance::Medium, "Retries of a request that failed with a retryable error (busy, 5xx, network) before the task fails; -1 retries forever. Retries wait for an exponential backoff, never in a tight loop.")
        .default("-1")
        .validator(Validator::at_least(-1.0))
        .group(CONNECTION, next())
        .add();
    d.define(BACKOFF_THRESHOLD, ConfigType::Int, Importance::Low, "Longest backoff, in seconds, of a URI after a failed or busy (code 9, 503) request. The backoff starts at half a second and doubles per failure.")
        .default("60")
        .validator(Validator::at_least(1.0))
        .group(CONNECTION, next())
        .add();
    d.define(MAX_OUTSTANDING_EVENTS, ConfigType::Int, Importance::Medium, "Events sent or being sent but not yet acknowledged, at most. Beyond it put() is refused with a retriable error, so the worker pauses the partitions.")
        .default("1000000")
        .validator(Validator::at_least(1.0))
        .group(CONNECTION, next())
        .add();
    d.define(MAX_OUTSTANDING_BYTES, ConfigType::Long, Importance::Medium, "Rampart's own: bytes of request bodies and records held for sending, retrying or acknowledgement, at most (overshot by at most one put). Beyond it put() is refused with a retriable error, so the worker pauses the partitions and memory stays bounded during outages. With acknowledgement on, a task sends at most this much per acknowledgement round trip: raise it when Splunk acknowledges slowly.")
        .default("8388608")
        .validator(Validator::at_least(1024.0))
        .group(CONNECTION, next())
        .add();
    d.define(ACK_ENABLED, ConfigType::Boolean, Importance::High, "Use indexer acknowledgement: offsets are committed only once HEC acknowledges the events (`/services/collector/ack`). Off, they are committed once HEC answered 200.")
        .default("false")
        .group(ACK, next())
        .add();
    d.define(ACK_POLL_INTERVAL, ConfigType::Int, Importance::Medium, "Seconds between acknowledgement polls. Polls come sooner while the outstanding-event limit holds put() back.")
        .default("10")
        .validator(Validator::at_least(1.0))
        .group(ACK, next())
        .add();
    d.define(
        ACK_POLL_THREADS,
        ConfigType::Int,
        Importance::Low,
        "Acknowledgement polls (one per channel) run concurrently, at most.",
    )
    .default("2")
    .validator(Validator::at_least(1.0))
    .group(ACK, next())
    .add();
    d.define(EVENT_TIMEOUT, ConfigType::Int, Importance::Medium, "Seconds to wait for the acknowledgement of a request before sending it again (which may duplicate events).")
        .default("300")
        .validator(Validator::at_least(1.0))
        .group(ACK, next())
        .add();
    d.define(RAW, ConfigType::Boolean, Importance::Medium, "Send to `/services/collector/raw` (record values as lines, metadata as query parameters) instead of `/services/collector/event` (JSON events).")
        .default("false")
        .group(DATA, next())
        .add();
    d.define(LINE_BREAKER, ConfigType::String, Importance::Medium, "Appended after each record on the raw endpoint, so Splunk can split events (e.g. a newline).")
        .default("")
        .group(DATA, next())
        .add();
    d.define(INDEXES, ConfigType::String, Importance::High, "Splunk index per topic, comma-separated in the order of `topics`; a single value applies to every topic; empty uses the token's default index.")
        .default("")
        .group(DATA, next())
        .add();
    d.define(
        SOURCES,
        ConfigType::String,
        Importance::Medium,
        "Splunk source per topic, as splunk.indexes.",
    )
    .default("")
    .group(DATA, next())
    .add();
    d.define(
        SOURCETYPES,
        ConfigType::String,
        Importance::Medium,
        "Splunk sourcetype per topic, as splunk.indexes.",
    )
    .default("")
    .group(DATA, next())
    .add();
    d.define(ENRICHMENT, ConfigType::String, Importance::Low, "Indexed fields added to every event, `key=value` pairs separated by commas (event endpoint only).")
        .default("")
        .validator(Validator::Custom { check: check_enrichment, describe: "key=value pairs separated by commas" })
        .group(DATA, next())
        .add();
    d.define(TRACK_DATA, ConfigType::Boolean, Importance::Low, "Add kafka_offset, kafka_timestamp, kafka_topic, kafka_partition, kafka_record_key and kafka_connect_host as indexed fields (event endpoint only).")
        .default("false")
        .group(DATA, next())
        .add();
    d.define(EVENT_FORMATTED, ConfigType::Boolean, Importance::Low, "Record values are already HEC event objects (`{\"event\":...}`) and are sent as they are (event endpoint only).")
        .default("false")
        .group(DATA, next())
        .add();
    d.define(USE_RECORD_TIMESTAMP, ConfigType::Boolean, Importance::Medium, "Set each event's `time` to the Kafka record timestamp (event endpoint); otherwise Splunk uses the time of receipt.")
        .default("true")
        .group(DATA, next())
        .add();
    d.define(AUTO_EXTRACT_TIMESTAMP, ConfigType::Boolean, Importance::Low, "Ask Splunk to extract timestamps from the event text (`auto_extract_timestamp=true` on the event endpoint). Unset sends nothing.")
        .default_null()
        .group(DATA, next())
        .add();
    d.define(HEADER_SUPPORT, ConfigType::Boolean, Importance::Medium, "Take index, source, sourcetype and host from record headers (named by the splunk.header.* keys) when present; they win over the per-topic settings.")
        .default("false")
        .group(HEADERS, next())
        .add();
    for (key, what) in [
        (HEADER_INDEX, "index"),
        (HEADER_SOURCE, "source"),
        (HEADER_SOURCETYPE, "sourcetype"),
        (HEADER_HOST, "host"),
    ] {
        d.define(
            key,
            ConfigType::String,
            Importance::Low,
            &format!("Name of the record header holding the Splunk {what}."),
        )
        .default(key)
        .group(HEADERS, next())
        .add();
    }
    d.define(HEADER_CUSTOM, ConfigType::String, Importance::Low, "Record headers, comma-separated, added as indexed fields of the same name (event endpoint only).")
        .default("")
        .group(HEADERS, next())
        .add();
    Refused::define_all(&mut d, REFUSED, CONNECTION, &mut next);
    inert_keys(&mut d, &mut next);
    d
}

/// Keys of the Java connector that are accepted with a meaning Rampart
/// keeps, or that only matter with a setting Rampart refuses.
fn inert_keys(d: &mut ConfigDef, next: &mut impl FnMut() -> i32) {
    d.define(
        "splunk.flush.window",
        ConfigType::Int,
        Importance::Low,
        "The longest time, in seconds, events wait before they are sent. Rampart sends each batch as soon as it is assembled, so events never wait this long.",
    )
    .default("30")
    .group(DATA, next())
    .add();
    d.define(
        "splunk.validation.disable",
        ConfigType::Boolean,
        Importance::Low,
        "Whether to skip checking Splunk when the connector is validated. Rampart never posts Splunk's check event at validation, whatever this says: each task checks its URIs' health when it starts and while it runs, and a refused token fails the task with HEC's reason.",
    )
    .default("false")
    .group(CONNECTION, next())
    .add();
    d.define(
        "splunk.hec.ssl.trust.store.password",
        ConfigType::Password,
        Importance::Low,
        "The password of a JKS or PKCS12 trust store, which Rampart refuses; a PEM store has none.",
    )
    .default("")
    .group(CONNECTION, next())
    .add();
    for key in ["timestamp.regex", "timestamp.format", "timestamp.timezone"] {
        d.define(
            key,
            ConfigType::String,
            Importance::Low,
            "Used only with enable.timestamp.extraction, which Rampart refuses.",
        )
        .default("")
        .group(DATA, next())
        .add();
    }
}

fn check_uris(raw: &str) -> Result<(), String> {
    let uris = split_list(raw);
    if uris.is_empty() {
        return Err("At least one URI is required".to_string());
    }
    match uris
        .iter()
        .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
    {
        Some(u) => Err(format!("{u} is not an http:// or https:// URI")),
        None => Ok(()),
    }
}

fn check_enrichment(raw: &str) -> Result<(), String> {
    parse_enrichment(raw).map(|_| ())
}

fn parse_enrichment(raw: &str) -> Result<Vec<(String, String)>, String> {
    split_list(raw)
        .into_iter()
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(format!("{kv} is not a key=value pair")),
        })
        .collect()
}

/// Splunk metadata of one topic (or of every topic).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicMeta {
    /// Index, empty meaning the token's default.
    pub index: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// Sourcetype.
    pub sourcetype: Option<String>,
}

/// Header names read when `splunk.header.support` is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderNames {
    /// Index header.
    pub index: String,
    /// Source header.
    pub source: String,
    /// Sourcetype header.
    pub sourcetype: String,
    /// Host header.
    pub host: String,
    /// Headers copied into indexed fields.
    pub custom: Vec<String>,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct HecConfig {
    /// Base URIs, without a trailing slash.
    pub uris: Vec<String>,
    /// The token.
    pub token: String,
    /// Raw endpoint instead of event.
    pub raw: bool,
    /// Appended after each raw record.
    pub line_breaker: Vec<u8>,
    /// Per-topic metadata.
    pub topics: HashMap<String, TopicMeta>,
    /// Metadata of topics not listed (a single configured value, or none).
    pub default_meta: TopicMeta,
    /// Static indexed fields.
    pub enrichment: Vec<(String, String)>,
    /// Add the kafka_* fields.
    pub track_data: bool,
    /// Values are HEC envelopes already.
    pub event_formatted: bool,
    /// Use the record timestamp as `time`.
    pub use_record_timestamp: bool,
    /// `auto_extract_timestamp` query parameter.
    pub auto_extract_timestamp: Option<bool>,
    /// Header names, when header support is on.
    pub headers: Option<HeaderNames>,
    /// Indexer acknowledgement.
    pub ack: bool,
    /// Time between acknowledgement polls.
    pub ack_poll_interval: Duration,
    /// Concurrent acknowledgement polls.
    pub ack_poll_threads: usize,
    /// Resend after this long without an acknowledgement.
    pub event_timeout: Duration,
    /// Events per request.
    pub max_batch_size: usize,
    /// Outstanding events, at most.
    pub max_outstanding_events: usize,
    /// Outstanding bytes, at most.
    pub max_outstanding_bytes: usize,
    /// Retries per request, `None` for unbounded.
    pub max_retries: Option<u32>,
    /// Longest per-URI backoff.
    pub backoff_max: Duration,
    /// Channels.
    pub total_channels: usize,
    /// Requests in flight per channel.
    pub connections_per_channel: usize,
    /// Request timeout.
    pub socket_timeout: Duration,
    /// Keep connections open.
    pub keepalive: bool,
    /// Gzip event and raw request bodies.
    pub compression: bool,
    /// Health check interval.
    pub lb_poll_interval: Duration,
    /// Verify server certificates.
    pub validate_certs: bool,
    /// PEM bundle of extra trust anchors.
    pub trust_store: Option<String>,
}

fn bad(message: String) -> ConnectError {
    ConnectError::BadRequest(message)
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(n.max(1) as u64)
}

impl HecConfig {
    /// Parses and checks a connector or task config.
    pub fn parse(config: &Config) -> ConnectResult<Self> {
        let p = def().parse(config).map_err(|e| bad(e.join("\n")))?;
        Refused::check(REFUSED, config).map_err(bad)?;
        let int = |k: &str| p.long(k).unwrap_or(0);
        let string = |k: &str| p.string(k).unwrap_or_default().to_string();

        let topics = config
            .get("topics")
            .map(|t| split_list(t))
            .unwrap_or_default();
        let regex = config
            .get("topics.regex")
            .is_some_and(|r| !r.trim().is_empty());
        let indexes = split_list(&string(INDEXES));
        let sources = split_list(&string(SOURCES));
        let sourcetypes = split_list(&string(SOURCETYPES));
        let mut per_topic = HashMap::new();
        let mut default_meta = TopicMeta::default();
        let single = |v: &[String]| {
            (v.len() == 1)
                .then(|| v[0].clone())
                .filter(|s| !s.is_empty())
        };
        default_meta.index = single(&indexes);
        default_meta.source = single(&sources);
        default_meta.sourcetype = single(&sourcetypes);
        for (key, values) in [
            (INDEXES, &indexes),
            (SOURCES, &sources),
            (SOURCETYPES, &sourcetypes),
        ] {
            if values.len() > 1 && (regex || values.len() != topics.len()) {
                return Err(bad(format!(
                    "Invalid value {} for configuration {key}: it lists {} values but there are {} topics; give one value per topic in the order of topics, or a single value for all (per-topic values cannot be used with topics.regex)",
                    values.join(","),
                    values.len(),
                    if regex { "a regex of".to_string() } else { topics.len().to_string() },
                )));
            }
        }
        for (i, topic) in topics.iter().enumerate() {
            let at = |v: &[String]| {
                if v.len() > 1 {
                    v.get(i).cloned().filter(|s| !s.is_empty())
                } else {
                    single(v)
                }
            };
            per_topic.insert(
                topic.clone(),
                TopicMeta {
                    index: at(&indexes),
                    source: at(&sources),
                    sourcetype: at(&sourcetypes),
                },
            );
        }

        let trust_path = string(TRUST_STORE_PATH);
        let trust_store = if trust_path.is_empty() {
            None
        } else {
            if !string(TRUST_STORE_TYPE).eq_ignore_ascii_case("PEM") {
                return Err(bad(format!(
                    "Invalid value {} for configuration {TRUST_STORE_TYPE}: only PEM trust stores are supported; convert the key store to a PEM file and set {TRUST_STORE_TYPE}=PEM",
                    string(TRUST_STORE_TYPE)
                )));
            }
            let pem = std::fs::read_to_string(&trust_path).map_err(|e| {
                bad(format!(
                    "Invalid value {trust_path} for configuration {TRUST_STORE_PATH}: cannot read it: {e}"
                ))
            })?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(bad(format!(
                    "Invalid value {trust_path} for configuration {TRUST_STORE_PATH}: no PEM certificate in it"
                )));
            }
            Some(pem)
        };

        let headers = p.bool(HEADER_SUPPORT).then(|| HeaderNames {
            index: string(HEADER_INDEX),
            source: string(HEADER_SOURCE),
            sourcetype: string(HEADER_SOURCETYPE),
            host: string(HEADER_HOST),
            custom: split_list(&string(HEADER_CUSTOM)),
        });
        let max_retries = int(MAX_RETRIES);
        Ok(HecConfig {
            uris: p
                .list(URI)
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            token: string(TOKEN),
            raw: p.bool(RAW),
            // Untrimmed, unlike other strings: a newline is a useful breaker.
            line_breaker: config
                .get(LINE_BREAKER)
                .map(|b| b.as_bytes().to_vec())
                .unwrap_or_default(),
            topics: per_topic,
            default_meta,
            enrichment: parse_enrichment(&string(ENRICHMENT)).map_err(bad)?,
            track_data: p.bool(TRACK_DATA),
            event_formatted: p.bool(EVENT_FORMATTED),
            use_record_timestamp: p.bool(USE_RECORD_TIMESTAMP),
            auto_extract_timestamp: config
                .get(AUTO_EXTRACT_TIMESTAMP)
                .filter(|v| !v.trim().is_empty())
                .map(|_| p.bool(AUTO_EXTRACT_TIMESTAMP)),
            headers,
            ack: p.bool(ACK_ENABLED),
            ack_poll_interval: secs(int(ACK_POLL_INTERVAL)),
            ack_poll_threads: int(ACK_POLL_THREADS).max(1) as usize,
            event_timeout: secs(int(EVENT_TIMEOUT)),
            max_batch_size: int(MAX_BATCH_SIZE).max(1) as usize,
            max_outstanding_events: int(MAX_OUTSTANDING_EVENTS).max(1) as usize,
            max_outstanding_bytes: int(MAX_OUTSTANDING_BYTES).max(1024) as usize,
            max_retries: u32::try_from(max_retries).ok(),
            backoff_max: secs(int(BACKOFF_THRESHOLD)),
            total_channels: int(TOTAL_CHANNELS).max(1) as usize,
            connections_per_channel: int(CONNECTIONS_PER_CHANNEL).max(1) as usize,
            socket_timeout: secs(int(SOCKET_TIMEOUT)),
            keepalive: p.bool(KEEPALIVE),
            compression: p.bool(ENABLE_COMPRESSION),
            lb_poll_interval: secs(int(LB_POLL_INTERVAL)),
            validate_certs: p.bool(VALIDATE_CERTS),
            trust_store,
        })
    }

    /// The metadata configured for a topic.
    pub fn topic_meta(&self, topic: &str) -> &TopicMeta {
        self.topics.get(topic).unwrap_or(&self.default_meta)
    }
}
