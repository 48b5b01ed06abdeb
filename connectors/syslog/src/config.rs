//! The connector's config keys: Confluent Syslog Source's where they
//! overlap (`syslog.port`, `syslog.listener`, `syslog.listen.address`,
//! `topic`, `syslog.queue.*`, `syslog.backoff.millis`), Rampart's own for
//! framing, limits, parsing and output.

use std::time::Duration;

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::connector::Config;
use rampart_core::{ConnectError, ConnectResult};

use crate::parse::framing::{FramingConfig, Oversize};
use crate::parse::ParseOptions;

/// `syslog.port`
pub const PORT: &str = "syslog.port";
/// `syslog.listener`
pub const LISTENER: &str = "syslog.listener";
/// `syslog.listen.address`
pub const LISTEN_ADDRESS: &str = "syslog.listen.address";
/// `topic`
pub const TOPIC: &str = "topic";
/// `syslog.queue.max.size`
pub const QUEUE_MAX_SIZE: &str = "syslog.queue.max.size";
/// `syslog.queue.batch.size`
pub const QUEUE_BATCH_SIZE: &str = "syslog.queue.batch.size";
/// `syslog.backoff.millis`
pub const BACKOFF_MS: &str = "syslog.backoff.millis";
/// `syslog.queue.max.bytes` (Rampart's own)
pub const QUEUE_MAX_BYTES: &str = "syslog.queue.max.bytes";
/// `syslog.max.message.bytes`
pub const MAX_MESSAGE_BYTES: &str = "syslog.max.message.bytes";
/// `syslog.oversize.behavior`
pub const OVERSIZE: &str = "syslog.oversize.behavior";
/// `syslog.tcp.nul.delimiter`
pub const NUL_DELIMITER: &str = "syslog.tcp.nul.delimiter";
/// `syslog.idle.timeout.ms`
pub const IDLE_TIMEOUT_MS: &str = "syslog.idle.timeout.ms";
/// `syslog.max.connections`
pub const MAX_CONNECTIONS: &str = "syslog.max.connections";
/// `syslog.parse.strict`
pub const STRICT: &str = "syslog.parse.strict";
/// `syslog.output.format`
pub const OUTPUT_FORMAT: &str = "syslog.output.format";
/// `syslog.record.key`
pub const RECORD_KEY: &str = "syslog.record.key";
/// `syslog.ssl.cert.chain.path`
pub const SSL_CERT: &str = "syslog.ssl.cert.chain.path";
/// `syslog.ssl.key.path`
pub const SSL_KEY: &str = "syslog.ssl.key.path";
/// `syslog.ssl.client.ca.path`
pub const SSL_CLIENT_CA: &str = "syslog.ssl.client.ca.path";

const GROUP: &str = "Syslog";

/// The connector's definition.
pub fn def() -> ConfigDef {
    let mut d = ConfigDef::new();
    let mut order = 0;
    let mut next = || {
        order += 1;
        order
    };
    d.define(
        PORT,
        ConfigType::Int,
        Importance::High,
        "Port to listen on. Several tasks share it (SO_REUSEPORT), so ingest scales across cores.",
    )
    .validator(Validator::between(1.0, 65535.0))
    .group(GROUP, next())
    .add();
    d.define(LISTENER, ConfigType::String, Importance::High, "Transport: UDP (RFC 5426), TCP (RFC 6587 octet-counting or newline framing, detected per connection), TCPSSL (TLS, RFC 5425) or RELP (rsyslog's acknowledged protocol: a message is answered once Kafka has it).")
        .default("UDP")
        .validator(Validator::OneOfIgnoreCase(&["UDP", "TCP", "TCPSSL", "RELP"]))
        .group(GROUP, next())
        .add();
    d.define(
        LISTEN_ADDRESS,
        ConfigType::String,
        Importance::High,
        "Address to bind. Use 127.0.0.1 to accept local senders only.",
    )
    .default("0.0.0.0")
    .group(GROUP, next())
    .add();
    d.define(
        TOPIC,
        ConfigType::String,
        Importance::High,
        "Topic to write messages to. Route by severity or host with transforms.",
    )
    .default("syslog")
    .validator(Validator::NonEmpty)
    .group(GROUP, next())
    .add();
    d.define(QUEUE_MAX_SIZE, ConfigType::Int, Importance::Medium, "Messages buffered per task between the socket and Kafka, kept as received (about their own size each) and parsed when the task polls. When full, TCP reads pause (the sender slows down) and UDP datagrams are dropped and counted.")
        .default("20000")
        .validator(Validator::at_least(1.0))
        .group(GROUP, next())
        .add();
    d.define(QUEUE_MAX_BYTES, ConfigType::Long, Importance::Medium, "Rampart's own: bytes of messages buffered per task, at most, beside syslog.queue.max.size, so that long messages cannot fill the buffer's message count with gigabytes. When full, as when syslog.queue.max.size is reached: TCP reads pause and UDP datagrams are dropped and counted. A single message larger than it still passes, alone.")
        .default("33554432")
        .validator(Validator::at_least(1024.0))
        .group(GROUP, next())
        .add();
    d.define(
        QUEUE_BATCH_SIZE,
        ConfigType::Int,
        Importance::Low,
        "Most messages returned by one poll. Small enough that a batch of parsed records stays in the CPU cache until it is converted and sent: 2,000 cost 15% more CPU per message than 500.",
    )
    .default("500")
    .validator(Validator::at_least(1.0))
    .group(GROUP, next())
    .add();
    d.define(
        BACKOFF_MS,
        ConfigType::Int,
        Importance::Low,
        "How long a poll waits for a message before returning an empty batch.",
    )
    .default("100")
    .validator(Validator::at_least(1.0))
    .group(GROUP, next())
    .add();
    d.define(
        MAX_MESSAGE_BYTES,
        ConfigType::Int,
        Importance::Medium,
        "Largest message accepted, in bytes.",
    )
    .default("65536")
    .validator(Validator::between(64.0, 16_777_216.0))
    .group(GROUP, next())
    .add();
    d.define(OVERSIZE, ConfigType::String, Importance::Low, "What happens to a longer TCP message: truncate (keep the first bytes) or reject (drop it). Both are counted and logged.")
        .default("truncate")
        .validator(Validator::OneOfIgnoreCase(&["truncate", "reject"]))
        .group(GROUP, next())
        .add();
    d.define(
        NUL_DELIMITER,
        ConfigType::Boolean,
        Importance::Low,
        "Also end newline-framed TCP messages at NUL bytes.",
    )
    .default("false")
    .group(GROUP, next())
    .add();
    d.define(
        IDLE_TIMEOUT_MS,
        ConfigType::Long,
        Importance::Low,
        "Close TCP connections that complete no message for this long: bytes of an unfinished message (a sender trickling one, the rest of an oversized one) do not count. 0 keeps them open.",
    )
    .default("0")
    .validator(Validator::at_least(0.0))
    .group(GROUP, next())
    .add();
    d.define(
        MAX_CONNECTIONS,
        ConfigType::Int,
        Importance::Low,
        "Most TCP connections per task; more wait to be accepted.",
    )
    .default("1000")
    .validator(Validator::at_least(1.0))
    .group(GROUP, next())
    .add();
    d.define(STRICT, ConfigType::Boolean, Importance::Low, "Reject messages that break RFC 5424/3164 instead of parsing them best effort. Rejected messages are counted and logged with the reason.")
        .default("false")
        .group(GROUP, next())
        .add();
    d.define(OUTPUT_FORMAT, ConfigType::String, Importance::Medium, "Value layout: confluent (the field names of Confluent's Syslog Source, as a Connect struct) or ecs (Elastic Common Schema names, schemaless).")
        .default("confluent")
        .validator(Validator::OneOfIgnoreCase(&["confluent", "ecs"]))
        .group(GROUP, next())
        .add();
    d.define(
        RECORD_KEY,
        ConfigType::String,
        Importance::Low,
        "Record key: the sender's address (remote), the message's hostname, or none.",
    )
    .default("none")
    .validator(Validator::OneOfIgnoreCase(&["remote", "hostname", "none"]))
    .group(GROUP, next())
    .add();
    d.define(
        SSL_CERT,
        ConfigType::String,
        Importance::Medium,
        "PEM certificate chain of the TCPSSL listener.",
    )
    .default_null()
    .group(GROUP, next())
    .add();
    d.define(
        SSL_KEY,
        ConfigType::String,
        Importance::Medium,
        "PEM private key of the TCPSSL listener.",
    )
    .default_null()
    .group(GROUP, next())
    .add();
    d.define(
        SSL_CLIENT_CA,
        ConfigType::String,
        Importance::Low,
        "PEM CA certificates; when set, TCPSSL senders must present a certificate they signed.",
    )
    .default_null()
    .group(GROUP, next())
    .add();
    d
}

/// The transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TCP with TLS
    TcpSsl,
    /// RELP over TCP
    Relp,
}

/// The value layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Confluent's field names, as a struct.
    Confluent,
    /// Elastic Common Schema, schemaless.
    Ecs,
}

/// The record key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKey {
    /// The sender's IP address.
    Remote,
    /// The message's HOSTNAME.
    Hostname,
    /// No key.
    None,
}

/// A validated config.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// Bind address.
    pub address: String,
    /// Port.
    pub port: u16,
    /// Transport.
    pub transport: Transport,
    /// Destination topic.
    pub topic: String,
    /// Buffer size, messages.
    pub queue_max: usize,
    /// Buffer size, bytes.
    pub queue_max_bytes: usize,
    /// Poll batch size.
    pub batch: usize,
    /// Poll wait.
    pub backoff: Duration,
    /// TCP framing.
    pub framing: FramingConfig,
    /// Idle timeout.
    pub idle_timeout: Option<Duration>,
    /// Connection limit.
    pub max_connections: usize,
    /// Parser settings.
    pub parse: ParseOptions,
    /// Value layout.
    pub format: OutputFormat,
    /// Record key.
    pub key: RecordKey,
    /// TLS certificate, key and optional client CA paths.
    pub tls: Option<(String, String, Option<String>)>,
    /// `errors.tolerance=all`: strict-mode rejects are skipped (counted and
    /// logged) instead of failing the task.
    pub tolerate_errors: bool,
}

impl SyslogConfig {
    /// Parses and checks a connector or task config.
    pub fn parse(config: &Config) -> ConnectResult<Self> {
        let p = def()
            .parse(config)
            .map_err(|e| ConnectError::BadRequest(e.join("\n")))?;
        let int = |k: &str| p.long(k).unwrap_or(0).max(0) as usize;
        let lower = |k: &str| p.string(k).unwrap_or_default().to_ascii_lowercase();
        let transport = match lower(LISTENER).as_str() {
            "tcp" => Transport::Tcp,
            "tcpssl" => Transport::TcpSsl,
            "relp" => Transport::Relp,
            _ => Transport::Udp,
        };
        let tls = match (transport, p.string(SSL_CERT), p.string(SSL_KEY)) {
            (Transport::TcpSsl, Some(c), Some(k)) => Some((
                c.to_string(),
                k.to_string(),
                p.string(SSL_CLIENT_CA).map(str::to_string),
            )),
            (Transport::TcpSsl, _, _) => {
                return Err(ConnectError::BadRequest(format!(
                    "{LISTENER}=TCPSSL needs {SSL_CERT} and {SSL_KEY}"
                )))
            }
            _ => None,
        };
        let idle = p.long(IDLE_TIMEOUT_MS).unwrap_or(0);
        Ok(SyslogConfig {
            address: p.string(LISTEN_ADDRESS).unwrap_or("0.0.0.0").to_string(),
            port: u16::try_from(int(PORT))
                .map_err(|_| ConnectError::BadRequest(format!("invalid {PORT}")))?,
            transport,
            topic: p.string(TOPIC).unwrap_or("syslog").to_string(),
            queue_max: int(QUEUE_MAX_SIZE).max(1),
            queue_max_bytes: int(QUEUE_MAX_BYTES).max(1),
            batch: int(QUEUE_BATCH_SIZE).max(1),
            backoff: Duration::from_millis(int(BACKOFF_MS).max(1) as u64),
            framing: FramingConfig {
                max_message_size: int(MAX_MESSAGE_BYTES),
                oversize: if lower(OVERSIZE) == "reject" {
                    Oversize::Reject
                } else {
                    Oversize::Truncate
                },
                nul_delimiter: p.bool(NUL_DELIMITER),
            },
            idle_timeout: (idle > 0).then(|| Duration::from_millis(idle as u64)),
            max_connections: int(MAX_CONNECTIONS).max(1),
            parse: ParseOptions {
                strict: p.bool(STRICT),
                ..ParseOptions::lenient()
            },
            format: if lower(OUTPUT_FORMAT) == "ecs" {
                OutputFormat::Ecs
            } else {
                OutputFormat::Confluent
            },
            key: match lower(RECORD_KEY).as_str() {
                "remote" => RecordKey::Remote,
                "hostname" => RecordKey::Hostname,
                _ => RecordKey::None,
            },
            tls,
            tolerate_errors: config
                .get("errors.tolerance")
                .is_some_and(|t| t.trim() == "all"),
        })
    }

    /// The listener's name, e.g. `udp://0.0.0.0:5514`, for headers and logs.
    pub fn listener_name(&self) -> String {
        let scheme = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::TcpSsl => "tls",
            Transport::Relp => "relp",
        };
        format!("{scheme}://{}:{}", self.address, self.port)
    }
}
