//! The config topic on Apache Kafka: one worker writes connector configs,
//! target states and task configs in Java's records; another reads them
//! back into the same cluster state; the records are the bytes Java
//! writes.

use std::collections::BTreeMap;

use rampart_core::herder::TargetState;
use rampart_runtime::distributed::config_topic::ConfigTopic;
use rampart_runtime::distributed::internal_topics::{ensure, InternalTopic};
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::ClientConfig;

use crate::support::{bootstrap, unique};

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn raw_records(topic: &str) -> Vec<(String, Option<String>)> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    crate::differential_smt::read_topic(topic)
        .into_iter()
        .map(|(k, v, _)| {
            (
                k.as_deref().map(text).unwrap_or_default(),
                v.as_deref().map(text),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn configs_written_by_one_worker_are_read_by_another_in_javas_records() {
    let topic = unique("connect-configs");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .expect("admin");
    ensure(&admin, &InternalTopic::config(&topic, 1))
        .await
        .expect("config topic");
    let mut base = ClientConfig::new();
    base.set("bootstrap.servers", bootstrap());

    let leader = ConfigTopic::open(&base, &topic).await.expect("log");
    leader
        .put_connector_config(
            "fs",
            props(&[("connector.class", "FileStreamSource"), ("tasks.max", "2")]),
        )
        .await
        .expect("config");
    leader
        .put_task_configs(
            "fs",
            vec![
                props(&[("task.class", "T"), ("file", "a")]),
                props(&[("task.class", "T"), ("file", "b")]),
            ],
        )
        .await
        .expect("tasks");
    leader
        .put_target_state("fs", TargetState::Stopped)
        .await
        .expect("state");
    leader
        .put_connector_config("gone", props(&[("connector.class", "FileStreamSink")]))
        .await
        .expect("config");
    leader.remove_connector("gone").await.expect("delete");

    let follower = ConfigTopic::open(&base, &topic).await.expect("log");
    let state = follower.state();
    assert_eq!(state.connectors.keys().collect::<Vec<_>>(), ["fs"]);
    assert_eq!(state.snapshot().task_counts["fs"], 2);
    assert_eq!(state.target_state("fs"), TargetState::Stopped);
    assert_eq!(state.offset, 8);

    // A later write reaches the follower on its next read to the end.
    leader
        .put_target_state("fs", TargetState::Started)
        .await
        .expect("state");
    let state = follower.read_to_end().await.expect("read");
    assert_eq!(state.target_state("fs"), TargetState::Started);

    let records = tokio::task::spawn_blocking(move || raw_records(&topic))
        .await
        .expect("reader");
    let find = |key: &str| -> Vec<Option<&str>> {
        records
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref())
            .collect()
    };
    assert_eq!(find("commit-fs"), [Some(r#"{"tasks":2}"#)]);
    assert_eq!(
        find("target-state-fs"),
        [
            Some(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            Some(r#"{"state":"STARTED","state.v2":"STARTED"}"#)
        ]
    );
    assert_eq!(
        find("task-fs-1"),
        [Some(r#"{"properties":{"file":"b","task.class":"T"}}"#)]
    );
    assert_eq!(find("connector-gone")[1], None, "a delete is a tombstone");
    assert_eq!(find("target-state-gone"), [None]);
}
