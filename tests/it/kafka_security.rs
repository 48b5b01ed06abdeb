//! Secured connections to Apache Kafka (`scripts/kafka`'s SSL and SASL_SSL
//! listeners), configured with Java Connect's keys: data must flow over
//! SCRAM, PLAIN and mutual TLS, and a wrong password, an unknown CA or a
//! broker certificate for another host must fail the task with the reason,
//! promptly, without the secret showing anywhere.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::{
    create_connector, eventually, free_port, health_saying, json, kafka_certs, kafka_listener,
    unique, wait_for, worker_properties, WorkerProcess,
};

const PASSWORD: &str = "alice-secret";

fn jaas(mechanism: &str, password: &str) -> String {
    if mechanism == "OAUTHBEARER" {
        // Kafka's unsecured JWTs: the broker's default validator accepts them.
        return r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";"#.to_string();
    }
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    format!(r#"{module} required username="alice" password="{password}";"#)
}

fn pem(name: &str) -> String {
    kafka_certs().join(name).display().to_string()
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

/// Runs FileStreamSource → topic → FileStreamSink on a worker whose every
/// client uses `security`, and checks every line arrives.
async fn pipeline(security: &[(&str, &str)], extra_files: &[(&str, &str)]) -> String {
    const LINES: usize = 500;
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in extra_files {
        std::fs::write(dir.path().join(name), text).expect("temp dir is writable");
    }
    let secrets = dir.path().join("secrets.properties");
    let security: Vec<(&str, String)> = security
        .iter()
        .map(|(k, v)| (*k, v.replace("$SECRETS", &secrets.display().to_string())))
        .collect();
    let port = free_port();
    let mut extra: Vec<(&str, &str)> = security.iter().map(|(k, v)| (*k, v.as_str())).collect();
    extra.push(("config.providers", "file"));
    extra.push((
        "config.providers.file.class",
        "org.apache.kafka.common.config.provider.FileConfigProvider",
    ));
    let props = worker_properties(dir.path(), port, &extra);
    let input = dir.path().join("input.log");
    let output = dir.path().join("output.log");
    let text: String = (0..LINES).map(|i| format!("secured line {i}\n")).collect();
    std::fs::write(&input, text).expect("temp dir is writable");
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let topic = unique("secured");
    create_connector(
        &client,
        &worker.url,
        "source",
        &json!({"connector.class": "FileStreamSource", "file": input, "topic": topic}),
    )
    .await;
    create_connector(
        &client,
        &worker.url,
        "sink",
        &json!({"connector.class": "FileStreamSink", "file": output, "topics": topic}),
    )
    .await;
    eventually(
        "every line in the sink file",
        Duration::from_secs(60),
        || async {
            let s = crate::support::status(&client, &worker.url, "sink").await;
            assert_ne!(s["tasks"][0]["state"], "FAILED", "{s}");
            let s = crate::support::status(&client, &worker.url, "source").await;
            assert_ne!(s["tasks"][0]["state"], "FAILED", "{s}");
            (count_lines(&output) >= LINES).then_some(())
        },
    )
    .await;
    let got = std::fs::read_to_string(&output).expect("sink wrote its file");
    for i in 0..LINES {
        assert!(
            got.contains(&format!("secured line {i}\n")),
            "line {i} missing"
        );
    }
    assert_eq!(worker.terminate().code(), Some(0));
    worker.log_text()
}

#[tokio::test(flavor = "multi_thread")]
async fn pipelines_run_over_sasl_ssl_with_scram_plain_and_oauthbearer() {
    for mechanism in ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN", "OAUTHBEARER"] {
        let secrets = format!("jaas={}\n", jaas(mechanism, PASSWORD).replace('\\', "\\\\"));
        let sasl = kafka_listener(2);
        let ca = pem("ca.pem");
        let log = pipeline(
            &[
                ("bootstrap.servers", &sasl),
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", mechanism),
                // The secret comes from a config provider, as in production.
                ("sasl.jaas.config", "${file:$SECRETS:jaas}"),
                ("ssl.truststore.type", "PEM"),
                ("ssl.truststore.location", &ca),
                ("ssl.endpoint.identification.algorithm", "https"),
            ],
            &[("secrets.properties", &secrets)],
        )
        .await;
        assert!(
            !log.contains(PASSWORD),
            "{mechanism}: the password is in the log"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipeline_runs_over_mutual_tls_with_a_pem_key_store() {
    let ssl = kafka_listener(1);
    let ca = pem("ca.pem");
    let keystore = pem("client-keystore.pem");
    pipeline(
        &[
            ("bootstrap.servers", &ssl),
            ("security.protocol", "SSL"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", &keystore),
        ],
        &[],
    )
    .await;
}

/// A worker on the plain listener runs connectors whose clients override
/// their security settings: each mistake must fail the task with the
/// specific reason in its trace.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_unknown_ca_and_hostname_mismatch_fail_tasks_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let input = dir.path().join("input.log");
    std::fs::write(&input, "one line\n").expect("temp dir is writable");
    let topic = unique("insecure");
    let ca = pem("ca.pem");
    let other_ca = pem("other-ca.pem");
    let wrong = "not-the-password";

    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "wrong-password-source",
            json!({
                "connector.class": "FileStreamSource", "file": input, "topic": topic,
                "producer.override.bootstrap.servers": kafka_listener(2),
                "producer.override.security.protocol": "SASL_SSL",
                "producer.override.sasl.mechanism": "SCRAM-SHA-512",
                "producer.override.sasl.jaas.config": jaas("SCRAM-SHA-512", wrong),
                "producer.override.ssl.truststore.type": "PEM",
                "producer.override.ssl.truststore.location": ca,
            }),
            "Authentication failed",
        ),
        (
            "wrong-password-sink",
            json!({
                "connector.class": "FileStreamSink", "file": dir.path().join("out"), "topics": topic,
                "consumer.override.bootstrap.servers": kafka_listener(2),
                "consumer.override.security.protocol": "SASL_SSL",
                "consumer.override.sasl.mechanism": "SCRAM-SHA-256",
                "consumer.override.sasl.jaas.config": jaas("SCRAM-SHA-256", wrong),
                "consumer.override.ssl.truststore.type": "PEM",
                "consumer.override.ssl.truststore.location": ca,
            }),
            "Authentication failed",
        ),
        (
            "unknown-ca",
            json!({
                "connector.class": "FileStreamSource", "file": input, "topic": topic,
                "producer.override.bootstrap.servers": kafka_listener(2),
                "producer.override.security.protocol": "SASL_SSL",
                "producer.override.sasl.mechanism": "PLAIN",
                "producer.override.sasl.jaas.config": jaas("PLAIN", PASSWORD),
                "producer.override.ssl.truststore.type": "PEM",
                "producer.override.ssl.truststore.location": other_ca,
            }),
            "is not trusted by ssl.truststore",
        ),
        (
            "hostname-mismatch",
            json!({
                "connector.class": "FileStreamSource", "file": input, "topic": topic,
                "producer.override.bootstrap.servers": kafka_listener(4),
                "producer.override.security.protocol": "SSL",
                "producer.override.ssl.truststore.type": "PEM",
                "producer.override.ssl.truststore.location": ca,
            }),
            "address mismatch: the broker's certificate (for wrong.example)",
        ),
    ];
    for (name, config, _) in &cases {
        create_connector(&client, &worker.url, name, config).await;
    }
    for (name, _, reason) in &cases {
        let s = wait_for(&client, &worker.url, name, |s| {
            s["tasks"][0]["state"] == "FAILED"
        })
        .await;
        let trace = s["tasks"][0]["trace"].as_str().unwrap_or_default();
        eprintln!("{name}: {trace}");
        assert!(trace.contains(reason), "{name}: {trace}");
        assert!(
            !trace.contains(wrong) && !trace.contains(PASSWORD),
            "{name}: {trace}"
        );
    }
    let log = worker.log_text();
    assert!(log.contains("SASL authentication failed"), "{log}");
    assert!(!log.contains(wrong) && !log.contains(PASSWORD));
    // REST shows the connector's config as submitted; status never the secret.
    let (_, status) = json(
        client
            .get(format!("{}/connectors?expand=status", worker.url))
            .send()
            .await
            .expect("worker answers"),
    )
    .await;
    assert!(!status.to_string().contains(wrong), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn jks_stores_and_gssapi_are_refused_by_validate_with_the_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let client = reqwest::Client::new();
    let config = json!({
        "name": "jks", "connector.class": "FileStreamSource", "file": "/dev/null", "topic": "t",
        "producer.override.security.protocol": "SSL",
        "producer.override.ssl.keystore.location": "/etc/kafka/keystore.jks",
        "producer.override.ssl.keystore.type": "JKS",
        "consumer.override.security.protocol": "SASL_SSL",
    });
    let (code, body) = json(
        client
            .put(format!(
                "{}/connector-plugins/FileStreamSource/config/validate",
                worker.url
            ))
            .json(&config)
            .send()
            .await
            .expect("worker answers"),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["error_count"], 2, "{body}");
    let errors = |key: &str| -> String {
        body["configs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["value"]["name"] == key)
            .flat_map(|c| c["value"]["errors"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect()
    };
    let jks = errors("producer.override.ssl.keystore.type");
    assert!(
        jks.contains("keytool") && jks.contains("ssl.keystore.type=PEM"),
        "{body}"
    );
    let gssapi = errors("consumer.override.security.protocol");
    assert!(gssapi.contains("GSSAPI"), "{body}");
    // Creating it is refused with the same reasons.
    let resp = client
        .put(format!("{}/connectors/jks/config", worker.url))
        .json(&config)
        .send()
        .await
        .expect("worker answers");
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap_or_default();
    assert!(text.contains("keytool"), "{text}");
    assert_eq!(worker.terminate().code(), Some(0));
}

/// A worker whose own credentials are wrong never reports healthy, and its
/// `/health` says why, as its log does.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_with_a_wrong_password_says_why_in_health() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let sasl = kafka_listener(2);
    let ca = pem("ca.pem");
    let wrong = jaas("SCRAM-SHA-256", "wrong-password");
    let props = worker_properties(
        dir.path(),
        port,
        &[
            ("bootstrap.servers", &sasl),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-256"),
            ("sasl.jaas.config", &wrong),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", &ca),
        ],
    );
    let worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    let client = reqwest::Client::new();
    let (code, health) = health_saying(&client, &worker.url, "SASL authentication failed").await;
    assert_eq!(code, 503, "{health}");
    assert!(!health.to_string().contains("wrong-password"), "{health}");
    assert!(!worker.log_text().contains("wrong-password"));
}
