//! Topic auto-creation for source connectors (KIP-158): topics a source
//! writes to are created with `topic.creation.default.*` settings.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rampart_core::{ConnectError, ConnectResult};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use tracing::info;

/// Creates topics on first use, when the connector asks for it.
pub(crate) struct TopicCreator {
    admin: Option<AdminClient<DefaultClientContext>>,
    partitions: i32,
    replication: i32,
    topic_configs: HashMap<String, String>,
    known: HashSet<String>,
}

impl TopicCreator {
    /// A creator that never creates topics.
    pub(crate) fn disabled() -> Self {
        TopicCreator {
            admin: None,
            partitions: 0,
            replication: 0,
            topic_configs: HashMap::new(),
            known: HashSet::new(),
        }
    }

    /// Reads `topic.creation.default.*` from the connector config; creation
    /// is on when both partitions and replication factor are set.
    pub(crate) fn new(
        enabled: bool,
        connector: &HashMap<String, String>,
        admin: impl FnOnce() -> Result<AdminClient<DefaultClientContext>, String>,
    ) -> ConnectResult<Self> {
        let mut settings =
            rampart_core::config::originals_with_prefix(connector, "topic.creation.default.");
        let (Some(rf), Some(parts)) = (
            settings.remove("replication.factor"),
            settings.remove("partitions"),
        ) else {
            return Ok(Self::disabled());
        };
        if !enabled {
            return Ok(Self::disabled());
        }
        let parse = |k: &str, v: &str| {
            v.trim().parse::<i32>().map_err(|_| {
                ConnectError::BadRequest(format!("Invalid value {v} for configuration topic.creation.default.{k}: Not a number of type INT"))
            })
        };
        Ok(TopicCreator {
            partitions: parse("partitions", &parts)?,
            replication: parse("replication.factor", &rf)?,
            topic_configs: settings
                .into_iter()
                .filter(|(k, _)| !k.contains("include") && !k.contains("exclude"))
                .collect(),
            admin: Some(admin().map_err(ConnectError::connect)?),
            known: HashSet::new(),
        })
    }

    /// Makes sure `topic` exists before the first record is sent to it.
    pub(crate) async fn ensure(&mut self, topic: &str) -> ConnectResult<()> {
        let Some(admin) = &self.admin else {
            return Ok(());
        };
        if self.known.contains(topic) {
            return Ok(());
        }
        // -1 means the broker's default, as in Kafka.
        let replication = TopicReplication::Fixed(self.replication.max(1));
        let mut new = NewTopic::new(
            topic,
            if self.partitions < 1 {
                1
            } else {
                self.partitions
            },
            replication,
        );
        for (k, v) in &self.topic_configs {
            new = new.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
        let results = admin
            .create_topics([&new], &opts)
            .await
            .map_err(|e| ConnectError::retriable(format!("topic creation failed: {e}")))?;
        for r in results {
            match r {
                Ok(t) => info!(topic = %t, partitions = self.partitions, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((t, code)) => {
                    return Err(ConnectError::connect(format!(
                        "Failed to create topic {t}: {code}"
                    )))
                }
            }
        }
        self.known.insert(topic.to_string());
        Ok(())
    }
}
