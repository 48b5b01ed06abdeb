//! Kafka client settings for the worker's producers, consumers and admin
//! clients, built the way Kafka Connect's `Worker` builds them: worker
//! settings, then the `producer.`/`consumer.`/`admin.` ones, then the
//! connector's `*.override.*`, each layer winning over the one before, and
//! Java's key names translated into librdkafka's.

pub mod errors;
pub mod jaas;
pub mod security;
pub mod stats;
mod tls_probe;

use std::collections::{BTreeMap, HashMap};

use rdkafka::ClientConfig;
use tracing::debug;

use crate::worker_config::{OverridePolicy, WorkerConfig};

pub use security::SecurityError;
pub use tls_probe::TlsProbe;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Whether a client error reported by librdkafka means the client can never
/// connect with its settings (wrong credentials, an untrusted or misnamed
/// broker certificate), and so fails the task, as Java's
/// `SaslAuthenticationException` and `SslAuthenticationException` do.
/// librdkafka itself would retry such errors for ever.
pub fn fatal_client_error(error: &KafkaError, reason: &str, probe: &TlsProbe) -> Option<String> {
    let code = match error {
        KafkaError::Global(code) => *code,
        _ => return None,
    };
    match code {
        RDKafkaErrorCode::Authentication => Some(format!("SASL authentication failed: {reason}")),
        // A handshake that fails on the certificate fails the same way on
        // every retry; other TLS errors (a reset mid-handshake) are transient.
        RDKafkaErrorCode::SSL if reason.contains("certificate") => {
            Some(match probe.explain(reason) {
                Some(why) => format!("SSL handshake failed: {why} ({reason})"),
                None => format!("SSL handshake failed: {reason}"),
            })
        }
        _ => None,
    }
}

/// A client context that keeps the last error that means the client cannot
/// connect with its settings, so a caller can say why instead of only
/// "unreachable".
pub struct ReportingContext {
    fatal: std::sync::Mutex<Option<String>>,
    probe: TlsProbe,
}

impl ReportingContext {
    /// A context for a client built from `config`.
    pub fn new(config: &ClientConfig) -> Self {
        ReportingContext {
            fatal: std::sync::Mutex::default(),
            probe: TlsProbe::for_config(config),
        }
    }

    /// The last fatal error seen, if any.
    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }
}

impl rdkafka::ClientContext for ReportingContext {
    fn error(&self, error: KafkaError, reason: &str) {
        match fatal_client_error(&error, reason, &self.probe) {
            Some(message) => {
                tracing::error!(error = %message, "cannot connect to kafka");
                if let Ok(mut f) = self.fatal.lock() {
                    *f = Some(message);
                }
            }
            None => tracing::debug!(%error, reason, "kafka client error"),
        }
    }
}

// Lets the context serve a plain producer used only for metadata.
impl rdkafka::producer::ProducerContext for ReportingContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

/// Why a client's settings cannot be built. Never quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientConfigError {
    /// The connector overrides client settings its worker's policy forbids.
    #[error("The following configs are not allowed to be overridden by the connector.client.config.override.policy None: {0}")]
    OverrideNotAllowed(String),
    /// A security setting has no librdkafka equivalent, or is malformed.
    #[error(transparent)]
    Security(#[from] SecurityError),
}

impl From<ClientConfigError> for rampart_core::ConnectError {
    fn from(e: ClientConfigError) -> Self {
        rampart_core::ConnectError::BadRequest(e.to_string())
    }
}

// Java client keys that librdkafka does not know: passing them through
// would make client creation fail, and they have no effect in librdkafka.
const JAVA_ONLY_KEYS: &[&str] = &[
    "key.serializer",
    "value.serializer",
    "key.deserializer",
    "value.deserializer",
    "max.block.ms",
    "buffer.memory",
    "interceptor.classes",
    "metric.reporters",
    "metrics.num.samples",
    "metrics.sample.window.ms",
    "metrics.recording.level",
    "partitioner.class",
    "client.dns.lookup",
    "default.api.timeout.ms",
    "max.poll.records",
    "max.poll.interval.ms.ignored",
    "exclude.internal.topics",
];

fn apply(
    config: &mut ClientConfig,
    settings: BTreeMap<String, String>,
) -> Result<(), ClientConfigError> {
    for (k, v) in security::translate(&settings)? {
        config.set(k, v);
    }
    for (k, v) in settings {
        if security::is_security_key(&k) {
            continue;
        }
        if JAVA_ONLY_KEYS.contains(&k.as_str()) {
            debug!(key = %k, "ignoring java-only client setting");
            continue;
        }
        let key = match k.as_str() {
            // librdkafka spells these differently.
            "delivery.timeout.ms" => "message.timeout.ms",
            other => other,
        };
        config.set(key, v);
    }
    Ok(())
}

/// The client settings a worker and a connector give one kind of client
/// (`producer.`, `consumer.` or `admin.`), merged as Java merges them:
/// security settings at the worker's top level apply to every client.
fn layered(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
    kind: &str,
) -> Result<BTreeMap<String, String>, ClientConfigError> {
    let mut merged: BTreeMap<String, String> = worker
        .props
        .iter()
        .filter(|(k, _)| security::is_security_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    merged.extend(worker.with_prefix(&format!("{kind}.")));
    merged.extend(overrides(worker, connector, &format!("{kind}.override."))?);
    Ok(merged)
}

fn base(worker: &WorkerConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &worker.bootstrap_servers);
    c
}

fn overrides(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
    prefix: &str,
) -> Result<HashMap<String, String>, ClientConfigError> {
    let o = rampart_core::config::originals_with_prefix(connector, prefix);
    if !o.is_empty() && worker.override_policy == OverridePolicy::None {
        let mut keys: Vec<String> = o.keys().map(|k| format!("{prefix}{k}")).collect();
        keys.sort();
        return Err(ClientConfigError::OverrideNotAllowed(keys.join(", ")));
    }
    Ok(o)
}

/// Checks the worker's own settings for one kind of client.
pub(crate) fn client_settings_check(
    worker: &WorkerConfig,
    kind: &str,
) -> Result<(), ClientConfigError> {
    security::translate(&layered(worker, &HashMap::new(), kind)?)?;
    Ok(())
}

/// The errors a connector's client overrides would cause, merged with the
/// worker's settings, as `(connector key, message)` pairs for `validate`.
pub fn override_errors(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for kind in ["producer", "consumer", "admin"] {
        let prefix = format!("{kind}.override.");
        let mut keys: Vec<&String> = connector
            .keys()
            .filter(|k| k.starts_with(&prefix))
            .collect();
        keys.sort();
        let Some(first) = keys.first() else { continue };
        if worker.override_policy == OverridePolicy::None {
            for k in &keys {
                errors.push((
                    (*k).clone(),
                    format!(
                        "The 'None' policy does not allow '{}' to be overridden in the connector configuration.",
                        &k[prefix.len()..]
                    ),
                ));
            }
            continue;
        }
        let result = layered(worker, connector, kind)
            .and_then(|m| security::translate(&m).map_err(ClientConfigError::from));
        if let Err(e) = result {
            let key = match &e {
                ClientConfigError::Security(s) => s
                    .key()
                    .map(|k| format!("{prefix}{k}"))
                    .filter(|k| connector.contains_key(k)),
                ClientConfigError::OverrideNotAllowed(_) => None,
            };
            errors.push((key.unwrap_or_else(|| (*first).clone()), e.to_string()));
        }
    }
    errors
}

/// Producer settings for a source task: `acks=all`, ordered delivery and
/// unlimited delivery time, as Java Connect sets them.
pub fn producer_config(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
    client_id: &str,
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = base(worker);
    // As Java Connect: one request in flight keeps records in order, and
    // the idempotent producer (the Java client's default since Kafka 3.0)
    // drops retry duplicates. Five in flight bought no throughput here and
    // doubled librdkafka's broker-thread CPU, which polls its socket
    // without sleeping while the in-flight limit is reached.
    c.set("client.id", client_id)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("max.in.flight.requests.per.connection", "1")
        .set("message.timeout.ms", "0")
        .set("linger.ms", "5");
    let settings = layered(worker, connector, "producer")?;
    c.set("queue.buffering.max.kbytes", queue_kbytes(&settings));
    // An explicit queue.buffering.max.kbytes, set after, wins.
    apply(&mut c, settings)?;
    Ok(c)
}

/// Java's producer holds at most `buffer.memory` bytes of records (32 MB
/// by default) and blocks `send` beyond it; librdkafka's queue takes up to
/// 1 GB by default. Sized as Java's, a source that reads faster than the
/// broker takes (a burst of 64 KB syslog lines) waits at `QueueFull`
/// instead of holding a gigabyte.
fn queue_kbytes(settings: &BTreeMap<String, String>) -> String {
    const JAVA_BUFFER_MEMORY: u64 = 32 * 1024 * 1024;
    let bytes = settings
        .get("buffer.memory")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(JAVA_BUFFER_MEMORY);
    (bytes / 1024).clamp(1, 2_097_151).to_string()
}

/// The consumer group of a sink connector: `connect-<name>`, unless the
/// connector overrides `group.id` (as Kafka allows).
pub fn consumer_group(connector: &HashMap<String, String>, connector_name: &str) -> String {
    connector
        .get("consumer.override.group.id")
        .map(|g| g.trim().to_string())
        .filter(|g| !g.is_empty())
        .unwrap_or_else(|| format!("connect-{connector_name}"))
}

/// Consumer settings for a sink task: the `connect-<name>` group, manual
/// commits, earliest reset.
pub fn consumer_config(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
    connector_name: &str,
    client_id: &str,
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = base(worker);
    c.set("group.id", consumer_group(connector, connector_name))
        .set("client.id", client_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        // Sinks often start before their topics exist (a source creates them
        // later); librdkafka's 5-minute default would leave them idle that long.
        .set("topic.metadata.refresh.interval.ms", "10000")
        // librdkafka prefetches up to 64 MB per consumer and, once full,
        // waits a whole second before fetching again: a sink slower than the
        // broker then carries 64 MB of RSS and stalls in 1 s steps. 4 MB
        // with a 10 ms backoff keeps sinks fed at a fraction of the memory
        // (the Splunk HEC bench went from 159 to 96 MB peak, and twice as fast).
        .set("queued.max.messages.kbytes", "4096")
        .set("fetch.queue.backoff.ms", "10");
    apply(&mut c, layered(worker, connector, "consumer")?)?;
    Ok(c)
}

/// Admin client settings.
pub fn admin_config(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
    client_id: &str,
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = base(worker);
    c.set("client.id", client_id);
    apply(&mut c, layered(worker, connector, "admin")?)?;
    Ok(c)
}

/// The settings of the worker's own clients: the internal topics' readers
/// and writers, with the worker's top-level security settings, as Java's
/// `KafkaConfigBackingStore` and friends build them.
pub fn worker_config(
    worker: &WorkerConfig,
    client_id: &str,
) -> Result<ClientConfig, ClientConfigError> {
    let mut c = base(worker);
    c.set("client.id", client_id);
    let settings = worker
        .props
        .iter()
        .filter(|(k, _)| security::is_security_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    apply(&mut c, settings)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(extra: &[(&str, &str)]) -> WorkerConfig {
        let mut props: HashMap<String, String> = [
            ("bootstrap.servers", "127.0.0.1:9092"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("offset.storage.file.filename", "/tmp/offsets"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        props.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        WorkerConfig::from_props(props, std::iter::empty()).expect("a valid worker config")
    }

    #[test]
    fn the_producer_queue_is_sized_as_javas_buffer_memory() {
        let queue = |w: &WorkerConfig, c: &[(&str, &str)]| {
            let connector = c
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            producer_config(w, &connector, "p")
                .expect("producer settings")
                .get("queue.buffering.max.kbytes")
                .map(str::to_string)
        };
        assert_eq!(queue(&worker(&[]), &[]).as_deref(), Some("32768"));
        let w = worker(&[("producer.buffer.memory", "8388608")]);
        assert_eq!(queue(&w, &[]).as_deref(), Some("8192"));
        let o = [("producer.override.buffer.memory", "1048576")];
        assert_eq!(queue(&worker(&[]), &o).as_deref(), Some("1024"));
        let w = worker(&[("producer.queue.buffering.max.kbytes", "4096")]);
        assert_eq!(queue(&w, &[]).as_deref(), Some("4096"));
    }
}
