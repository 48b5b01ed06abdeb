//! The three internal topics of distributed mode: created compacted when
//! missing, and refused with Java Connect's messages when an existing one
//! is not compacted, or the config topic has more than one partition
//! (`KafkaTopicBasedBackingStore`, `TopicAdmin`, `KafkaConfigBackingStore`).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::error::RDKafkaErrorCode;
use tracing::info;

/// One internal topic and the worker settings that name and shape it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopic {
    /// The topic.
    pub name: String,
    /// The worker setting that names it, for messages
    /// (`config.storage.topic`, …).
    pub setting: &'static str,
    /// What it holds, as Java's messages say it.
    pub purpose: &'static str,
    /// Partitions to create it with.
    pub partitions: i32,
    /// Replication factor to create it with; -1 for the broker's default.
    pub replication_factor: i32,
    /// Whether it must have exactly one partition (the config topic).
    pub single_partition: bool,
}

impl InternalTopic {
    /// The config topic (`config.storage.topic`), always one partition.
    pub fn config(name: &str, replication_factor: i32) -> Self {
        InternalTopic {
            name: name.to_string(),
            setting: "config.storage.topic",
            purpose: "connector configurations",
            partitions: 1,
            replication_factor,
            single_partition: true,
        }
    }

    /// The offsets topic (`offset.storage.topic`, 25 partitions by default).
    pub fn offsets(name: &str, partitions: i32, replication_factor: i32) -> Self {
        InternalTopic {
            name: name.to_string(),
            setting: "offset.storage.topic",
            purpose: "source connector offsets",
            partitions,
            replication_factor,
            single_partition: false,
        }
    }

    /// The status topic (`status.storage.topic`, 5 partitions by default).
    pub fn status(name: &str, partitions: i32, replication_factor: i32) -> Self {
        InternalTopic {
            name: name.to_string(),
            setting: "status.storage.topic",
            purpose: "connector and task statuses",
            partitions,
            replication_factor,
            single_partition: false,
        }
    }

    /// Java's refusal of a topic whose cleanup policy is not only `compact`.
    pub fn not_compacted_message(&self, found: &str) -> String {
        format!(
            "Topic '{t}' supplied via the '{s}' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of {p}, but found the topic currently has 'cleanup.policy={found}'. Continuing would likely result in eventually losing {p} and problems restarting this Connect cluster in the future. Change the '{s}' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact'.",
            t = self.name,
            s = self.setting,
            p = self.purpose,
        )
    }

    /// Java's refusal of a config topic with more than one partition.
    pub fn too_many_partitions_message(&self, partitions: usize) -> String {
        format!(
            "Topic '{}' supplied via the '{}' property is required to have a single partition in order to guarantee consistency of connector configurations, but found {} partitions.",
            self.name, self.setting, partitions
        )
    }
}

/// Why an internal topic cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InternalTopicError {
    /// It exists but does not meet Connect's requirements (Java's
    /// `ConfigException`); the worker must not start.
    #[error("{0}")]
    Unsuitable(String),
    /// The cluster could not be asked; retry.
    #[error("cannot check internal topic {topic}: {reason}")]
    Unavailable {
        /// The topic.
        topic: String,
        /// Why.
        reason: String,
    },
}

/// Creates the topic compacted if it is missing, and otherwise checks
/// that it is compacted (and, for the config topic, has one partition).
pub async fn ensure<C: ClientContext + 'static>(
    admin: &AdminClient<C>,
    topic: &InternalTopic,
) -> Result<(), InternalTopicError> {
    let unavailable = |reason: String| InternalTopicError::Unavailable {
        topic: topic.name.clone(),
        reason,
    };
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let new = NewTopic::new(
        &topic.name,
        topic.partitions.max(1),
        TopicReplication::Fixed(topic.replication_factor),
    )
    .set("cleanup.policy", "compact");
    let created = admin
        .create_topics([&new], &opts)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    let mut existed = false;
    for r in created {
        match r {
            Ok(t) => info!(topic = %t, purpose = topic.purpose, "created internal topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => existed = true,
            Err((t, code)) => return Err(unavailable(format!("creating {t}: {code}"))),
        }
    }
    if existed {
        let configs = admin
            .describe_configs([&ResourceSpecifier::Topic(&topic.name)], &opts)
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let policy = configs
            .into_iter()
            .next()
            .and_then(Result::ok)
            .and_then(|r| r.get("cleanup.policy").and_then(|e| e.value.clone()));
        // Java skips the check when the policy cannot be read (no
        // permission, or an old broker).
        if let Some(policy) = policy {
            let mut policies: Vec<&str> = policy.split(',').map(str::trim).collect();
            policies.sort();
            if policies != ["compact"] {
                return Err(InternalTopicError::Unsuitable(
                    topic.not_compacted_message(&policies.join(",")),
                ));
            }
        }
    }
    if topic.single_partition {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(&topic.name), Duration::from_secs(10))
            .map_err(|e| unavailable(e.to_string()))?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic.name)
            .map_or(0, |t| t.partitions().len());
        if partitions > 1 {
            return Err(InternalTopicError::Unsuitable(
                topic.too_many_partitions_message(partitions),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_javas() {
        let offsets = InternalTopic::offsets("connect-offsets", 25, 3);
        assert_eq!(
            offsets.not_compacted_message("delete"),
            "Topic 'connect-offsets' supplied via the 'offset.storage.topic' property is required to have 'cleanup.policy=compact' to guarantee consistency and durability of source connector offsets, but found the topic currently has 'cleanup.policy=delete'. Continuing would likely result in eventually losing source connector offsets and problems restarting this Connect cluster in the future. Change the 'offset.storage.topic' property in the Connect worker configurations to use a topic with 'cleanup.policy=compact'."
        );
        assert_eq!(
            InternalTopic::config("connect-configs", 3).too_many_partitions_message(3),
            "Topic 'connect-configs' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found 3 partitions."
        );
        assert_eq!(
            InternalTopic::status("s", 5, 3).purpose,
            "connector and task statuses"
        );
    }
}
