//! The errant-record reporter (KIP-610) end to end: a sink that rejects
//! some records reports them, and they land on the dead-letter queue with
//! the TASK_PUT stage while the rest are delivered.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use rampart_core::config::ConfigDef;
use rampart_core::connector::{
    Config, Connector, ConnectorPlugin, ConnectorType, SinkTask, SinkTaskContext, Task,
};
use rampart_core::herder::Herder;
use rampart_core::record::SinkRecord;
use rampart_core::{ConnectError, ConnectResult, DataError};
use rampart_runtime::herder::StandaloneHerder;
use rampart_runtime::plugins::Plugins;
use rampart_runtime::stores::{
    FileConfigBackingStore, FileOffsetBackingStore, MemoryStatusBackingStore,
};
use rampart_runtime::worker::Worker;
use rampart_runtime::worker_config::WorkerConfig;

use crate::errors_dlq::{produce, read_topic};
use crate::support::{bootstrap, eventually, unique};

fn delivered() -> &'static Mutex<Vec<String>> {
    static D: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    D.get_or_init(Mutex::default)
}

#[derive(Default)]
struct ReportingSink(Config);

impl Connector for ReportingSink {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        self.0 = config.clone();
        Ok(())
    }
    fn task_configs(&self, _max: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.0.clone()])
    }
}

#[derive(Default)]
struct ReportingSinkTask(Option<SinkTaskContext>);

#[async_trait]
impl SinkTask for ReportingSinkTask {
    async fn start(&mut self, _config: &Config, context: SinkTaskContext) -> ConnectResult<()> {
        self.0 = Some(context);
        Ok(())
    }

    // Rejects values containing "bad", as a destination rejecting a
    // document would, and reports them instead of failing.
    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        let reporter = self
            .0
            .as_ref()
            .and_then(|c| c.errant_record_reporter.clone())
            .expect("a reporter is provided");
        for r in records {
            let text = r.value.to_string();
            if text.contains("bad") {
                reporter
                    .report(
                        r,
                        &ConnectError::Data(DataError::new(format!("destination rejected {text}"))),
                    )
                    .await?;
            } else {
                delivered().lock().unwrap().push(text);
            }
        }
        Ok(())
    }
}

fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.rampart.test.ReportingSinkConnector",
        aliases: &[],
        kind: ConnectorType::Sink,
        version: "test",
        config_def: ConfigDef::new,
        new_connector: || Box::new(ReportingSink::default()),
        new_task: || Task::Sink(Box::<ReportingSinkTask>::default()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn records_a_sink_rejects_go_to_the_dlq_through_the_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("reported");
    let dlq = format!("{topic}-dlq");
    produce(
        &topic,
        &[
            ("a", "good-1", None),
            ("b", "bad-2", None),
            ("c", "good-3", None),
        ],
    )
    .await;

    let props = [
        ("bootstrap.servers", bootstrap()),
        ("offset.flush.interval.ms", "200".to_string()),
        ("consumer.session.timeout.ms", "6000".to_string()),
        ("consumer.heartbeat.interval.ms", "500".to_string()),
        (
            "key.converter",
            "org.apache.kafka.connect.storage.StringConverter".to_string(),
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = Arc::new(WorkerConfig::from_props(props, std::iter::empty()).unwrap());
    let worker = Arc::new(Worker::new(
        config,
        Plugins::new(vec![plugin()]),
        Arc::new(FileOffsetBackingStore::open(None).unwrap()),
        Arc::new(MemoryStatusBackingStore::default()),
    ));
    let herder = StandaloneHerder::new(
        worker,
        Arc::new(FileConfigBackingStore::open(Some(dir.path().join("c.json"))).unwrap()),
    );
    herder.start().await;
    let cfg = [
        ("connector.class", "ReportingSink"),
        ("topics", topic.as_str()),
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", dlq.as_str()),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    herder
        .put_connector_config("reporting", cfg, false, None)
        .await
        .unwrap();

    eventually(
        "good records delivered",
        Duration::from_secs(60),
        || async { (delivered().lock().unwrap().len() >= 2).then_some(()) },
    )
    .await;
    assert_eq!(*delivered().lock().unwrap(), vec!["good-1", "good-3"]);
    let records = tokio::task::spawn_blocking(move || read_topic(&dlq, 1))
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    let (key, value, headers) = &records[0];
    assert_eq!((key.as_str(), value.as_str()), ("b", "bad-2"));
    assert_eq!(headers["__connect.errors.stage"], "TASK_PUT");
    assert_eq!(
        headers["__connect.errors.class.name"],
        "io.rampart.test.ReportingSinkTask"
    );
    assert_eq!(headers["__connect.errors.offset"], "1");
    assert_eq!(
        headers["__connect.errors.exception.message"],
        "destination rejected bad-2"
    );
    let metrics = herder.metrics().await;
    assert!(metrics.contains("kafka_connect_task_error_metrics_deadletterqueue_produce_requests{connector=\"reporting\",task=\"0\"} 1\n"), "{metrics}");
    herder.stop().await;
}
