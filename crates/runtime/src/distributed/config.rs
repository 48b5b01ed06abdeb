//! Distributed mode's worker settings, with Java's keys, defaults and
//! messages (`DistributedConfig`), parsed once into typed values.

use std::collections::HashMap;
use std::time::Duration;

/// Which `connect` protocols a worker offers (`connect.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectProtocol {
    /// `eager`: the `default` protocol only (V0, stop-the-world).
    Eager,
    /// `compatible`: incremental cooperative (V1), or eager.
    Compatible,
    /// `sessioned`: V2 with signed inter-worker requests, or the others.
    Sessioned,
}

impl ConnectProtocol {
    /// The protocol names and versions to offer, most preferred first.
    pub fn offered(self) -> &'static [(&'static str, i16)] {
        match self {
            ConnectProtocol::Eager => &[("default", 0)],
            ConnectProtocol::Compatible => &[("compatible", 1), ("default", 0)],
            ConnectProtocol::Sessioned => &[("sessioned", 2), ("compatible", 1), ("default", 0)],
        }
    }
}

/// An internal topic's name, partitions and replication factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSettings {
    /// The topic.
    pub name: String,
    /// Partitions to create it with (-1: the broker's default).
    pub partitions: i32,
    /// Replication factor to create it with (-1: the broker's default).
    pub replication_factor: i32,
}

/// Distributed mode's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedConfig {
    /// `group.id`.
    pub group_id: String,
    /// `config.storage.*`.
    pub config_topic: TopicSettings,
    /// `offset.storage.*`.
    pub offset_topic: TopicSettings,
    /// `status.storage.*`.
    pub status_topic: TopicSettings,
    /// `connect.protocol`.
    pub protocol: ConnectProtocol,
    /// `scheduled.rebalance.max.delay.ms`.
    pub scheduled_rebalance_max_delay: Duration,
    /// `session.timeout.ms`.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval: Duration,
    /// `rebalance.timeout.ms`.
    pub rebalance_timeout: Duration,
    /// `worker.sync.timeout.ms`.
    pub worker_sync_timeout: Duration,
    /// `inter.worker.key.ttl.ms`.
    pub inter_worker_key_ttl: Duration,
    /// `inter.worker.signature.algorithm`.
    pub inter_worker_signature_algorithm: String,
    /// `inter.worker.verification.algorithms`.
    pub inter_worker_verification_algorithms: Vec<String>,
}

fn missing(key: &str) -> String {
    format!("Missing required configuration \"{key}\" which has no default value.")
}

fn invalid(key: &str, value: &str, reason: &str) -> String {
    format!("Invalid value {value} for configuration {key}: {reason}")
}

struct Props<'a>(&'a HashMap<String, String>);

impl Props<'_> {
    fn required(&self, key: &str) -> Result<String, String> {
        self.0
            .get(key)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| missing(key))
    }

    fn int(&self, key: &str, default: i64) -> Result<i64, String> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse()
                .map_err(|_| invalid(key, v, "Not a number of type INT")),
        }
    }

    fn millis(&self, key: &str, default: i64) -> Result<Duration, String> {
        let v = self.int(key, default)?;
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| invalid(key, &v.to_string(), "Value must be at least 0"))
    }

    fn topic(
        &self,
        prefix: &str,
        partitions_default: Option<i64>,
    ) -> Result<TopicSettings, String> {
        let name = self.required(&format!("{prefix}.topic"))?;
        let rf_key = format!("{prefix}.replication.factor");
        let rf = self.int(&rf_key, 3)?;
        if rf == 0 || rf < -1 || rf > i64::from(i16::MAX) {
            return Err(invalid(
                &rf_key,
                &rf.to_string(),
                "Replication factor must be positive and not larger than the number of brokers in the Kafka cluster, or -1 to use the broker's default",
            ));
        }
        let partitions = match partitions_default {
            None => 1,
            Some(default) => {
                let key = format!("{prefix}.partitions");
                let p = self.int(&key, default)?;
                if p == 0 || p < -1 || p > i64::from(i32::MAX) {
                    return Err(invalid(
                        &key,
                        &p.to_string(),
                        "Number of partitions must be positive, or -1 to use the broker's default",
                    ));
                }
                p
            }
        };
        Ok(TopicSettings {
            name,
            partitions: partitions as i32,
            replication_factor: rf as i32,
        })
    }
}

impl DistributedConfig {
    /// Parses the worker properties (after `CONNECT_*` variables and
    /// config providers are applied).
    pub fn from_props(props: &HashMap<String, String>) -> Result<Self, String> {
        let p = Props(props);
        let protocol = match props
            .get("connect.protocol")
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
            .unwrap_or("sessioned")
        {
            "eager" => ConnectProtocol::Eager,
            "compatible" => ConnectProtocol::Compatible,
            "sessioned" => ConnectProtocol::Sessioned,
            _ => {
                let v = props
                    .get("connect.protocol")
                    .map(String::as_str)
                    .unwrap_or("");
                return Err(invalid(
                    "connect.protocol",
                    v,
                    "String must be one of: eager, compatible, sessioned",
                ));
            }
        };
        let session_timeout = p.millis("session.timeout.ms", 10_000)?;
        let heartbeat_interval = p.millis("heartbeat.interval.ms", 3_000)?;
        if heartbeat_interval >= session_timeout {
            return Err(invalid(
                "heartbeat.interval.ms",
                &heartbeat_interval.as_millis().to_string(),
                "must be lower than session.timeout.ms",
            ));
        }
        let verification: Vec<String> = props
            .get("inter.worker.verification.algorithms")
            .map(|s| rampart_core::config::split_list(s))
            .unwrap_or_else(|| vec!["HmacSHA256".to_string()]);
        let signature = props
            .get("inter.worker.signature.algorithm")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "HmacSHA256".to_string());
        // An algorithm Rampart cannot compute is refused at start, not
        // discovered on the first signed request.
        if signature != "HmacSHA256" {
            return Err(invalid(
                "inter.worker.signature.algorithm",
                &signature,
                "Rampart signs inter-worker requests with HmacSHA256 only",
            ));
        }
        if !verification.contains(&signature) {
            return Err(invalid(
                "inter.worker.verification.algorithms",
                &verification.join(","),
                &format!("Signature algorithm '{signature}' must be present in the list of verification algorithms"),
            ));
        }
        Ok(DistributedConfig {
            group_id: p.required("group.id")?,
            config_topic: p.topic("config.storage", None)?,
            offset_topic: p.topic("offset.storage", Some(25))?,
            status_topic: p.topic("status.storage", Some(5))?,
            protocol,
            scheduled_rebalance_max_delay: p.millis("scheduled.rebalance.max.delay.ms", 300_000)?,
            session_timeout,
            heartbeat_interval,
            rebalance_timeout: p.millis("rebalance.timeout.ms", 60_000)?,
            worker_sync_timeout: p.millis("worker.sync.timeout.ms", 3_000)?,
            inter_worker_key_ttl: p.millis("inter.worker.key.ttl.ms", 3_600_000)?,
            inter_worker_signature_algorithm: signature,
            inter_worker_verification_algorithms: verification,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const REQUIRED: &[(&str, &str)] = &[
        ("group.id", "connect-cluster"),
        ("config.storage.topic", "connect-configs"),
        ("offset.storage.topic", "connect-offsets"),
        ("status.storage.topic", "connect-status"),
    ];

    #[test]
    fn javas_defaults() {
        let c = DistributedConfig::from_props(&props(REQUIRED)).unwrap();
        assert_eq!(c.protocol, ConnectProtocol::Sessioned);
        assert_eq!(c.offset_topic.partitions, 25);
        assert_eq!(c.status_topic.partitions, 5);
        assert_eq!(c.config_topic.partitions, 1);
        assert_eq!(c.config_topic.replication_factor, 3);
        assert_eq!(c.session_timeout, Duration::from_secs(10));
        assert_eq!(c.heartbeat_interval, Duration::from_secs(3));
        assert_eq!(c.rebalance_timeout, Duration::from_secs(60));
        assert_eq!(c.scheduled_rebalance_max_delay, Duration::from_secs(300));
        assert_eq!(c.worker_sync_timeout, Duration::from_secs(3));
        assert_eq!(c.inter_worker_signature_algorithm, "HmacSHA256");
        assert_eq!(
            ConnectProtocol::Compatible.offered(),
            &[("compatible", 1), ("default", 0)]
        );
    }

    #[test]
    fn every_required_key_is_named_when_missing() {
        for (key, _) in REQUIRED {
            let mut p = props(REQUIRED);
            p.remove(*key);
            assert_eq!(
                DistributedConfig::from_props(&p).unwrap_err(),
                format!("Missing required configuration \"{key}\" which has no default value.")
            );
        }
    }

    #[test]
    fn bad_values_get_javas_messages() {
        let cases = [
            (
                "connect.protocol",
                "chatty",
                "String must be one of: eager, compatible, sessioned",
            ),
            (
                "offset.storage.partitions",
                "0",
                "Number of partitions must be positive",
            ),
            (
                "status.storage.replication.factor",
                "-2",
                "Replication factor must be positive",
            ),
            ("session.timeout.ms", "soon", "Not a number of type INT"),
            (
                "inter.worker.signature.algorithm",
                "HmacSHA512",
                "HmacSHA256 only",
            ),
        ];
        for (key, value, reason) in cases {
            let mut p = props(REQUIRED);
            p.insert(key.into(), value.into());
            let err = DistributedConfig::from_props(&p).unwrap_err();
            assert!(
                err.starts_with(&format!("Invalid value {value} for configuration {key}: ")),
                "{err}"
            );
            assert!(err.contains(reason), "{err}");
        }
        let mut p = props(REQUIRED);
        p.insert("offset.storage.replication.factor".into(), "-1".into());
        p.insert("connect.protocol".into(), "EAGER".into());
        let c = DistributedConfig::from_props(&p).unwrap();
        assert_eq!(c.offset_topic.replication_factor, -1);
        assert_eq!(c.protocol, ConnectProtocol::Eager);
    }
}
