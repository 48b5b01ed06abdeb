//! Worker configuration: Java `.properties` with Kafka's key names, plus
//! Confluent-image style `CONNECT_*` environment overrides.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_core::config::{parse_properties_map, split_list, ConfigProviders};

use crate::metrics::{MetricConfig, Naming};
use tracing::{info, warn};

/// Keys the worker understands; anything else (except client prefixes) is
/// warned about once at startup.
const KNOWN_KEYS: &[&str] = &[
    "bootstrap.servers",
    "key.converter",
    "value.converter",
    "header.converter",
    "offset.storage.file.filename",
    "offset.flush.interval.ms",
    "offset.flush.timeout.ms",
    "listeners",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "rest.advertised.listener",
    "connector.client.config.override.policy",
    "task.shutdown.graceful.timeout.ms",
    "config.providers",
    "plugin.path",
    "plugin.discovery",
    "access.control.allow.origin",
    "access.control.allow.methods",
    "topic.creation.enable",
    "topic.tracking.enable",
    "topic.tracking.allow.reset",
    "client.id",
    "rest.basic.auth.credentials.file",
    "listeners.https.ssl.keystore.location",
    "ssl.key.location",
    "ssl.certificate.location",
    "listeners.https.ssl.key.location",
    "listeners.https.ssl.certificate.location",
    "metrics.enable",
    "metrics.num.samples",
    "metrics.sample.window.ms",
    "metrics.recording.level",
    "metrics.prometheus.naming",
];

const PASSTHROUGH_PREFIXES: &[&str] = &[
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "config.providers.",
    "security.",
    "ssl.",
    "sasl.",
    "listeners.https.",
];

/// Which client settings connectors may override (`connector.client.config.override.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverridePolicy {
    /// `All`: any `producer.override.*`, `consumer.override.*`, `admin.override.*`.
    All,
    /// `None`: no overrides.
    None,
}

/// A parsed worker config.
#[derive(Debug)]
pub struct WorkerConfig {
    /// All properties after environment overrides (placeholders unresolved).
    pub props: HashMap<String, String>,
    /// `bootstrap.servers`
    pub bootstrap_servers: String,
    /// `offset.storage.file.filename`
    pub offset_file: Option<PathBuf>,
    /// `offset.flush.interval.ms`
    pub offset_flush_interval: Duration,
    /// `task.shutdown.graceful.timeout.ms`
    pub task_shutdown_timeout: Duration,
    /// `listeners`
    pub listeners: Vec<String>,
    /// Worker id: advertised host and port.
    pub worker_id: String,
    /// `connector.client.config.override.policy`
    pub override_policy: OverridePolicy,
    /// `topic.tracking.enable`
    pub topic_tracking: bool,
    /// `topic.tracking.allow.reset`
    pub topic_tracking_allow_reset: bool,
    /// `topic.creation.enable`
    pub topic_creation: bool,
    /// Resolved config providers.
    pub providers: ConfigProviders,
    /// `metrics.sample.window.ms` and `metrics.num.samples`.
    pub metrics: MetricConfig,
    /// `metrics.prometheus.naming`: `confluent` or `strimzi`.
    pub metrics_naming: Naming,
}

fn bool_key(props: &HashMap<String, String>, key: &str, default: bool) -> Result<bool, String> {
    match props.get(key).map(|v| v.trim()) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!(
            "Invalid value {v} for configuration {key}: Expected value to be either true or false"
        )),
    }
}

fn ms_key(props: &HashMap<String, String>, key: &str, default: u64) -> Result<Duration, String> {
    match props.get(key) {
        None => Ok(Duration::from_millis(default)),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| {
                format!("Invalid value {v} for configuration {key}: Not a number of type LONG")
            }),
    }
}

// Kafka's `metrics.sample.window.ms` (at least 0) and `metrics.num.samples`
// (at least 1), which size every windowed rate and average.
fn metric_config(props: &HashMap<String, String>) -> Result<MetricConfig, String> {
    let window = ms_key(props, "metrics.sample.window.ms", 30_000)?;
    let samples = match props.get("metrics.num.samples") {
        None => 2,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => n,
            Ok(_) => {
                return Err(format!(
                "Invalid value {v} for configuration metrics.num.samples: Value must be at least 1"
            ))
            }
            Err(_) => {
                return Err(format!(
                "Invalid value {v} for configuration metrics.num.samples: Not a number of type INT"
            ))
            }
        },
    };
    Ok(MetricConfig {
        window_ms: window.as_millis() as u64,
        samples,
    })
}

/// Turns `CONNECT_BOOTSTRAP_SERVERS` into `bootstrap.servers`, with the
/// escapes of Confluent's images: `___` → `_`, `__` → `-`, `_` → `.`.
pub fn env_key_to_property(var: &str) -> Option<String> {
    let rest = var.strip_prefix("CONNECT_")?;
    if rest.is_empty() {
        return None;
    }
    let lower = rest.to_ascii_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut chars = lower.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        let mut run = 1;
        while chars.peek() == Some(&'_') {
            chars.next();
            run += 1;
        }
        // Runs of three are an escaped underscore, two a dash, one a dot.
        out.push_str(&"_".repeat(run / 3));
        match run % 3 {
            1 => out.push('.'),
            2 => out.push('-'),
            _ => {}
        }
    }
    Some(out)
}

impl WorkerConfig {
    /// Reads a worker properties file and applies `CONNECT_*` environment
    /// overrides.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read worker config {}: {e}", path.display()))?;
        let props = parse_properties_map(&text)
            .map_err(|e| format!("invalid worker config {}: {e}", path.display()))?;
        Self::from_props(props, std::env::vars())
    }

    /// Builds the config from properties and environment variables.
    pub fn from_props(
        mut props: HashMap<String, String>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, String> {
        for (var, value) in env {
            if let Some(key) = env_key_to_property(&var) {
                props.insert(key, value);
            }
        }
        for key in props.keys() {
            if key == "plugin.path" {
                info!(value = %props[key], "plugin.path is ignored: rampart's connectors are built in");
            } else if !KNOWN_KEYS.contains(&key.as_str())
                && !PASSTHROUGH_PREFIXES.iter().any(|p| key.starts_with(p))
            {
                warn!(key = %key, "unknown worker config key");
            }
        }
        let listeners = props
            .get("listeners")
            .map(|s| split_list(s))
            .unwrap_or_else(|| vec!["http://:8083".to_string()]);
        if listeners.is_empty() {
            return Err("listeners must contain at least one URL".to_string());
        }
        let (scheme_host, port) = parse_listener(&listeners[0])?;
        let host = props
            .get("rest.advertised.host.name")
            .cloned()
            .unwrap_or_else(|| {
                if scheme_host.1.is_empty() || scheme_host.1 == "0.0.0.0" {
                    "localhost".to_string()
                } else {
                    scheme_host.1.clone()
                }
            });
        let adv_port = match props.get("rest.advertised.port") {
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| format!("Invalid value {p} for configuration rest.advertised.port: Not a number of type INT"))?,
            None => port,
        };
        let override_policy = match props
            .get("connector.client.config.override.policy")
            .map(|s| s.trim())
            .unwrap_or("All")
        {
            "All" | "org.apache.kafka.connect.connector.policy.AllConnectorClientConfigOverridePolicy" => OverridePolicy::All,
            "None" | "org.apache.kafka.connect.connector.policy.NoneConnectorClientConfigOverridePolicy" => OverridePolicy::None,
            other => {
                return Err(format!(
                    "Invalid value {other} for configuration connector.client.config.override.policy: supported policies are All and None"
                ))
            }
        };
        let providers = ConfigProviders::from_worker_props(&props)?;
        // Secrets in worker settings (`sasl.jaas.config=${file:…}`) are
        // resolved once, as Java's WorkerConfig does.
        let props = providers.resolve_all(&props);
        let config = WorkerConfig {
            bootstrap_servers: props
                .get("bootstrap.servers")
                .cloned()
                .unwrap_or_else(|| "localhost:9092".to_string()),
            offset_file: props
                .get("offset.storage.file.filename")
                .filter(|s| !s.trim().is_empty())
                .map(PathBuf::from),
            offset_flush_interval: ms_key(&props, "offset.flush.interval.ms", 60_000)?,
            task_shutdown_timeout: ms_key(&props, "task.shutdown.graceful.timeout.ms", 5_000)?,
            worker_id: format!("{host}:{adv_port}"),
            override_policy,
            topic_tracking: bool_key(&props, "topic.tracking.enable", true)?,
            topic_tracking_allow_reset: bool_key(&props, "topic.tracking.allow.reset", true)?,
            topic_creation: bool_key(&props, "topic.creation.enable", true)?,
            metrics: metric_config(&props)?,
            metrics_naming: props
                .get("metrics.prometheus.naming")
                .map_or(Ok(Naming::default()), |v| v.parse())?,
            listeners,
            providers,
            props,
        };
        // Client security settings are checked once, here, so a worker
        // with settings librdkafka cannot honour never starts.
        for kind in ["producer", "consumer", "admin"] {
            crate::kafka::client_settings_check(&config, kind).map_err(|e| e.to_string())?;
        }
        Ok(config)
    }

    /// Worker properties under a prefix, with the prefix removed.
    pub fn with_prefix(&self, prefix: &str) -> HashMap<String, String> {
        rampart_core::config::originals_with_prefix(&self.props, prefix)
    }
}

/// Splits a listener URL into ((scheme, host), port), e.g. `http://:8083`.
pub fn parse_listener(url: &str) -> Result<((String, String), u16), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("Could not parse listener {url}: expected scheme://host:port"))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "Listener protocol must be either \"http\" or \"https\", but was \"{scheme}\" in {url}"
        ));
    }
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| format!("Could not parse listener {url}: missing port"))?;
    let port = port
        .trim_end_matches('/')
        .parse::<u16>()
        .map_err(|_| format!("Could not parse listener {url}: invalid port"))?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    Ok(((scheme, host), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_follow_confluent_escapes() {
        assert_eq!(
            env_key_to_property("CONNECT_BOOTSTRAP_SERVERS").as_deref(),
            Some("bootstrap.servers")
        );
        assert_eq!(
            env_key_to_property("CONNECT_VALUE_CONVERTER_SCHEMAS_ENABLE").as_deref(),
            Some("value.converter.schemas.enable")
        );
        assert_eq!(env_key_to_property("CONNECT_A__B").as_deref(), Some("a-b"));
        assert_eq!(env_key_to_property("CONNECT_A___B").as_deref(), Some("a_b"));
        assert_eq!(env_key_to_property("PATH"), None);
    }

    #[test]
    fn defaults_and_env_override() {
        let props: HashMap<String, String> = [("bootstrap.servers".to_string(), "a:1".to_string())]
            .into_iter()
            .collect();
        let env = vec![("CONNECT_BOOTSTRAP_SERVERS".to_string(), "b:2".to_string())];
        let cfg = WorkerConfig::from_props(props, env.into_iter()).unwrap();
        assert_eq!(cfg.bootstrap_servers, "b:2");
        assert_eq!(cfg.listeners, vec!["http://:8083"]);
        assert_eq!(cfg.worker_id, "localhost:8083");
        assert_eq!(cfg.offset_flush_interval, Duration::from_secs(60));
        assert_eq!(cfg.metrics, MetricConfig::default());
        assert_eq!(cfg.metrics_naming, Naming::Confluent);
    }

    #[test]
    fn bad_values_are_errors() {
        let props: HashMap<String, String> =
            [("offset.flush.interval.ms".to_string(), "soon".to_string())]
                .into_iter()
                .collect();
        assert!(WorkerConfig::from_props(props, std::iter::empty()).is_err());
        for (key, value) in [
            ("metrics.num.samples", "0"),
            ("metrics.sample.window.ms", "-1"),
            ("metrics.prometheus.naming", "jmx"),
        ] {
            let props = [(key.to_string(), value.to_string())].into_iter().collect();
            let err = WorkerConfig::from_props(props, std::iter::empty()).unwrap_err();
            assert!(err.contains(key), "{err}");
        }
        assert!(parse_listener("ftp://:1").is_err());
        assert_eq!(
            parse_listener("http://127.0.0.1:8083").unwrap(),
            (("http".into(), "127.0.0.1".into()), 8083)
        );
    }
}
