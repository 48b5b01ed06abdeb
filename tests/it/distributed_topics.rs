//! Distributed mode's internal topics on Apache Kafka: created compacted
//! when missing, refused with Java's messages when an existing one is not
//! compacted or the config topic has more than one partition.

use std::time::Duration;

use rampart_runtime::distributed::internal_topics::{ensure, InternalTopic, InternalTopicError};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

use crate::support::{bootstrap, unique};

fn admin() -> AdminClient<DefaultClientContext> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin client")
}

async fn create(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    policy: &str,
) {
    let topic =
        NewTopic::new(name, partitions, TopicReplication::Fixed(1)).set("cleanup.policy", policy);
    let r = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create topics");
    assert!(r[0].is_ok(), "{r:?}");
}

async fn policy(admin: &AdminClient<DefaultClientContext>, name: &str) -> Option<String> {
    let r = admin
        .describe_configs([&ResourceSpecifier::Topic(name)], &AdminOptions::new())
        .await
        .expect("describe configs");
    r.into_iter()
        .next()
        .and_then(Result::ok)
        .and_then(|c| c.get("cleanup.policy").and_then(|e| e.value.clone()))
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_internal_topics_are_created_compacted_and_unsuitable_ones_refused() {
    let admin = admin();
    // Missing: created compacted, with the partitions asked for.
    let offsets = InternalTopic::offsets(&unique("connect-offsets"), 3, 1);
    ensure(&admin, &offsets).await.expect("created");
    assert_eq!(
        policy(&admin, &offsets.name).await.as_deref(),
        Some("compact")
    );
    let md = admin
        .inner()
        .fetch_metadata(Some(&offsets.name), Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(md.topics()[0].partitions().len(), 3);
    // Present and suitable: accepted as it is.
    ensure(&admin, &offsets)
        .await
        .expect("an existing compacted topic is fine");

    // Not compacted: refused with Java's message.
    let status = InternalTopic::status(&unique("connect-status"), 5, 1);
    create(&admin, &status.name, 1, "delete").await;
    assert_eq!(
        ensure(&admin, &status).await,
        Err(InternalTopicError::Unsuitable(
            status.not_compacted_message("delete")
        ))
    );

    // A config topic with two partitions: refused.
    let config = InternalTopic::config(&unique("connect-configs"), 1);
    create(&admin, &config.name, 2, "compact").await;
    assert_eq!(
        ensure(&admin, &config).await,
        Err(InternalTopicError::Unsuitable(
            config.too_many_partitions_message(2)
        ))
    );
}
