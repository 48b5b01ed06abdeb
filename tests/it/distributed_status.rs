//! The status topic on Apache Kafka: statuses one worker writes are read
//! by another in Java's format, and a worker of an older generation cannot
//! overwrite the status a newer owner wrote (Java's putSafe).

use std::time::Duration;

use rampart_core::herder::{ConnectorState, ConnectorTaskId, State, TaskState};
use rampart_runtime::distributed::internal_topics::{ensure, InternalTopic};
use rampart_runtime::distributed::status_store::KafkaStatusBackingStore;
use rampart_runtime::stores::StatusBackingStore;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

use crate::support::{bootstrap, eventually, unique};

#[tokio::test(flavor = "multi_thread")]
async fn statuses_are_shared_in_javas_format_and_guarded_by_generation() {
    let topic = unique("connect-status");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin");
    ensure(&admin, &InternalTopic::status(&topic, 5, 1))
        .await
        .expect("status topic");
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", bootstrap());

    let w1 = KafkaStatusBackingStore::open(&base, &topic)
        .await
        .expect("store");
    w1.set_generation(5);
    w1.put_connector(
        "fs",
        ConnectorState {
            state: State::Running,
            worker_id: "10.0.0.1:8083".into(),
            trace: None,
        },
    );
    let task = ConnectorTaskId {
        connector: "fs".into(),
        task: 0,
    };
    w1.put_task(
        &task,
        TaskState {
            id: 0,
            state: State::Failed,
            worker_id: "10.0.0.1:8083".into(),
            trace: Some("org.apache.kafka.connect.errors.ConnectException: boom".into()),
        },
    );

    // Another worker sees them once they are in the topic.
    let w2 = KafkaStatusBackingStore::open(&base, &topic)
        .await
        .expect("store");
    let seen = eventually(
        "the statuses in the topic",
        Duration::from_secs(20),
        || async {
            w2.read_to_end().await.ok()?;
            w2.task(&task).filter(|_| w2.connector("fs").is_some())
        },
    )
    .await;
    assert_eq!(seen.state, State::Failed);
    assert!(seen.trace.as_deref().is_some_and(|t| t.ends_with("boom")));
    assert_eq!(
        w2.connector("fs").map(|c| c.worker_id),
        Some("10.0.0.1:8083".into())
    );
    assert_eq!(w2.tasks("fs").len(), 1);

    // A worker still in an older generation cannot overwrite it.
    w2.set_generation(4);
    w2.put_connector(
        "fs",
        ConnectorState {
            state: State::Unassigned,
            worker_id: "10.0.0.2:8083".into(),
            trace: None,
        },
    );
    assert_eq!(w2.connector("fs").map(|c| c.state), Some(State::Running));
    // A newer generation can.
    w2.set_generation(6);
    w2.put_connector(
        "fs",
        ConnectorState {
            state: State::Paused,
            worker_id: "10.0.0.2:8083".into(),
            trace: None,
        },
    );
    let w3 = KafkaStatusBackingStore::open(&base, &topic)
        .await
        .expect("store");
    let latest = eventually("the newer status", Duration::from_secs(20), || async {
        w3.read_to_end().await.ok()?;
        w3.connector("fs").filter(|c| c.state == State::Paused)
    })
    .await;
    assert_eq!(latest.worker_id, "10.0.0.2:8083");

    // Deleting writes tombstones.
    w3.remove_connector("fs");
    let w4 = KafkaStatusBackingStore::open(&base, &topic)
        .await
        .expect("store");
    eventually("the tombstones", Duration::from_secs(20), || async {
        w4.read_to_end().await.ok()?;
        (w4.connector("fs").is_none() && w4.tasks("fs").is_empty()).then_some(())
    })
    .await;
}
