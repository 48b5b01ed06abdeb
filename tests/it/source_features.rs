//! Source-side worker features against the broker: topic creation per
//! `topic.creation.default.*` (KIP-158) and config-provider placeholders
//! that are resolved for tasks but never shown over REST.

use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;
use serde_json::json;

use crate::support::{
    bootstrap, create_connector, eventually, free_port, json, unique, worker_properties,
    WorkerProcess,
};

fn partitions(topic: &str) -> Option<usize> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .create()
        .ok()?;
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .ok()?;
    let t = md.topics().first()?;
    (t.error().is_none() && !t.partitions().is_empty()).then(|| t.partitions().len())
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_are_created_per_config_and_secrets_stay_placeholders() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secrets = dir.path().join("secrets.properties");
    let input = dir.path().join("in.txt");
    std::fs::write(&secrets, format!("input.file={}\n", input.display()))
        .expect("temp dir is writable");
    std::fs::write(&input, "one\ntwo\n").expect("temp dir is writable");
    let port = free_port();
    let props = worker_properties(
        dir.path(),
        port,
        &[
            ("config.providers", "file"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
        ],
    );
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("created");
    let placeholder = format!("${{file:{}:input.file}}", secrets.display());
    let config = json!({
        "connector.class": "FileStreamSource",
        "topic": topic,
        "file": placeholder,
        "topic.creation.default.partitions": "2",
        "topic.creation.default.replication.factor": "1",
    });
    create_connector(&client, &worker.url, "secret-src", &config).await;

    // The task read the resolved file: its offset names the real path.
    let url = worker.url.clone();
    let client_ref = &client;
    let offsets = eventually("source offsets", Duration::from_secs(30), || {
        let url = url.clone();
        async move {
            let (_, body) = json(
                client_ref
                    .get(format!("{url}/connectors/secret-src/offsets"))
                    .send()
                    .await
                    .ok()?,
            )
            .await;
            (body["offsets"][0]["offset"]["position"] == 8).then_some(body)
        }
    })
    .await;
    assert_eq!(offsets["offsets"][0]["partition"]["filename"], json!(input));

    // REST shows the placeholder, in the config and in task configs.
    let (_, echoed) = json(
        client
            .get(format!("{}/connectors/secret-src/config", worker.url))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(echoed["file"], json!(placeholder));
    let (_, tasks) = json(
        client
            .get(format!("{}/connectors/secret-src/tasks", worker.url))
            .send()
            .await
            .expect("answers"),
    )
    .await;
    assert_eq!(tasks[0]["config"]["file"], json!(placeholder));

    // The topic was created with 2 partitions (the broker's own
    // auto-creation would have made 4).
    let t = topic.clone();
    let n = eventually("topic metadata", Duration::from_secs(30), || {
        let t = t.clone();
        async move {
            tokio::task::spawn_blocking(move || partitions(&t))
                .await
                .ok()
                .flatten()
        }
    })
    .await;
    assert_eq!(n, 2);
    assert_eq!(worker.terminate().code(), Some(0));
}
