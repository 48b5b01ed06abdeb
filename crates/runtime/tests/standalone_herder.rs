//! The standalone herder, worker and task runners as state machines,
//! without a broker: fake connectors whose behaviour comes from their
//! config drive create, pause, resume, stop, restart, reconfigure and
//! delete, and failures in each place a connector or task can fail.
//!
//! Kafka clients are still built (a source task's producer, a sink task's
//! consumer) but point at a port nothing listens on: librdkafka creates
//! them without a broker, and these fakes never hand them a record.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rampart_core::config::{ConfigDef, ConfigType, Importance};
use rampart_core::connector::{
    Config, Connector, ConnectorPlugin, ConnectorType, SinkTask, SinkTaskContext, SourceTask,
    SourceTaskContext, Task,
};
use rampart_core::herder::{
    ConnectorConfig, ConnectorStateInfo, ConnectorTaskId, Herder, State, TargetState,
};
use rampart_core::record::{SinkRecord, SourceRecord};
use rampart_core::{ConnectError, ConnectResult};
use rampart_runtime::herder::StandaloneHerder;
use rampart_runtime::plugins::Plugins;
use rampart_runtime::stores::{
    FileConfigBackingStore, FileOffsetBackingStore, MemoryStatusBackingStore,
};
use rampart_runtime::worker::Worker;
use rampart_runtime::worker_config::WorkerConfig;

/// What the fakes did, as `"<connector>: <event>"` lines.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// Task starts so far, for `fail.task.starts`.
static TASK_STARTS: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

fn event(config: &Config, what: impl std::fmt::Display) {
    let name = config.get("name").cloned().unwrap_or_default();
    EVENTS
        .lock()
        .expect("events")
        .push(format!("{name}: {what}"));
}

fn events(name: &str) -> Vec<String> {
    let prefix = format!("{name}: ");
    EVENTS
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| e.strip_prefix(&prefix).map(str::to_string))
        .collect()
}

fn setting<'c>(config: &'c Config, key: &str) -> Option<&'c str> {
    config.get(key).map(String::as_str)
}

/// A connector that fails its start when `fail.connector.start` is set,
/// and gives each task its number and the connector's `value`.
#[derive(Default)]
struct FakeConnector {
    config: Config,
}

impl Connector for FakeConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        event(config, "connector start");
        if setting(config, "fail.connector.start").is_some() {
            return Err(ConnectError::connect("the fake connector cannot start"));
        }
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok((0..max_tasks)
            .map(|i| {
                let mut c = self.config.clone();
                c.insert("task.number".into(), i.to_string());
                c
            })
            .collect())
    }

    fn stop(&mut self) {
        event(&self.config, "connector stop");
    }
}

/// A source task: fails its first `fail.task.starts` starts, fails its
/// poll when `fail.poll` is set, and otherwise waits for ever for data.
#[derive(Default)]
struct FakeSourceTask {
    config: Config,
}

fn task_label(config: &Config) -> String {
    format!(
        "task {} value={}",
        setting(config, "task.number").unwrap_or("?"),
        setting(config, "value").unwrap_or("")
    )
}

fn task_start(config: &Config) -> ConnectResult<()> {
    event(config, format!("{} start", task_label(config)));
    let failing: usize = setting(config, "fail.task.starts")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let key = format!(
        "{}/{}",
        setting(config, "name").unwrap_or(""),
        setting(config, "task.number").unwrap_or("")
    );
    let mut starts = TASK_STARTS.lock().expect("task starts");
    let n = starts.entry(key).or_default();
    *n += 1;
    if *n <= failing {
        return Err(ConnectError::connect(format!(
            "start {n} of the fake task fails"
        )));
    }
    Ok(())
}

#[async_trait]
impl SourceTask for FakeSourceTask {
    async fn start(&mut self, config: &Config, _context: SourceTaskContext) -> ConnectResult<()> {
        self.config = config.clone();
        task_start(config)
    }

    async fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if setting(&self.config, "fail.poll").is_some() {
            return Err(ConnectError::connect("the fake source lost its input"));
        }
        std::future::pending().await
    }

    async fn stop(&mut self) {
        event(&self.config, format!("{} stop", task_label(&self.config)));
    }
}

/// A sink task that starts like the source one; the consumer has no
/// broker, so `put` is only ever called with nothing.
#[derive(Default)]
struct FakeSinkTask {
    config: Config,
}

#[async_trait]
impl SinkTask for FakeSinkTask {
    async fn start(&mut self, config: &Config, _context: SinkTaskContext) -> ConnectResult<()> {
        self.config = config.clone();
        task_start(config)
    }

    async fn put(&mut self, records: &[SinkRecord]) -> ConnectResult<()> {
        if !records.is_empty() {
            event(&self.config, "put records");
        }
        Ok(())
    }

    async fn stop(&mut self) {
        event(&self.config, format!("{} stop", task_label(&self.config)));
    }
}

fn fake_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    for key in [
        "value",
        "fail.connector.start",
        "fail.task.starts",
        "fail.poll",
    ] {
        d.define(key, ConfigType::String, Importance::Low, "Fake behaviour.")
            .default("")
            .add();
    }
    d.define("topic", ConfigType::String, Importance::High, "Topic.")
        .default("fake")
        .add();
    d
}

fn plugins() -> Plugins {
    Plugins::new(vec![
        ConnectorPlugin {
            class: "test.FakeSourceConnector",
            aliases: &[],
            kind: ConnectorType::Source,
            version: "1",
            config_def: fake_def,
            new_connector: || Box::<FakeConnector>::default(),
            new_task: || Task::Source(Box::<FakeSourceTask>::default()),
        },
        ConnectorPlugin {
            class: "test.FakeSinkConnector",
            aliases: &[],
            kind: ConnectorType::Sink,
            version: "1",
            config_def: fake_def,
            new_connector: || Box::<FakeConnector>::default(),
            new_task: || Task::Sink(Box::<FakeSinkTask>::default()),
        },
    ])
}

fn herder() -> StandaloneHerder {
    let props: HashMap<String, String> = [
        // Nothing listens on port 1.
        ("bootstrap.servers", "127.0.0.1:1"),
        ("offset.flush.interval.ms", "100"),
        ("task.shutdown.graceful.timeout.ms", "2000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let config =
        Arc::new(WorkerConfig::from_props(props, std::iter::empty()).expect("worker config"));
    let worker = Arc::new(Worker::new(
        config,
        plugins(),
        Arc::new(FileOffsetBackingStore::open(None).expect("memory offsets")),
        Arc::new(MemoryStatusBackingStore::default()),
    ));
    StandaloneHerder::new(
        worker,
        Arc::new(FileConfigBackingStore::open(None).expect("memory configs")),
    )
}

fn source(name: &str, extra: &[(&str, &str)]) -> ConnectorConfig {
    let mut c: ConnectorConfig = [
        ("connector.class", "FakeSource"),
        ("name", name),
        ("tasks.max", "2"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    c.insert("name".into(), name.into());
    c
}

fn states(status: &ConnectorStateInfo) -> (State, Vec<State>) {
    (
        status.connector.state,
        status.tasks.iter().map(|t| t.state).collect(),
    )
}

/// Waits until the connector's status is `want` (connector, tasks), as a
/// REST client polling `/status` would; fails after ten seconds.
async fn until(h: &StandaloneHerder, name: &str, want: (State, &[State])) -> ConnectorStateInfo {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = h.connector_status(name).await.expect("status");
        let (c, t) = states(&status);
        if c == want.0 && t == want.1 {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name}: wanted {want:?}, still {:?}",
            (c, t)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

use State::{Failed, Paused, Running, Stopped};

#[tokio::test(flavor = "multi_thread")]
async fn create_pause_resume_stop_and_delete() {
    let h = herder();
    h.start().await;
    let created = h
        .put_connector_config("life", source("life", &[("value", "a")]), false, None)
        .await
        .expect("created");
    assert!(created.created);
    assert_eq!(created.info.tasks.len(), 2);
    until(&h, "life", (Running, &[Running, Running])).await;
    let again = h
        .put_connector_config("life", source("life", &[]), false, None)
        .await
        .expect_err("exists");
    assert!(matches!(again, ConnectError::AlreadyExists(_)), "{again:?}");

    h.set_target_state("life", TargetState::Paused)
        .await
        .unwrap();
    until(&h, "life", (Paused, &[Paused, Paused])).await;
    h.set_target_state("life", TargetState::Started)
        .await
        .unwrap();
    until(&h, "life", (Running, &[Running, Running])).await;

    // Stopped: the connector and its tasks go, and no task is left.
    h.set_target_state("life", TargetState::Stopped)
        .await
        .unwrap();
    until(&h, "life", (Stopped, &[])).await;
    assert!(h.task_configs("life").await.unwrap().is_empty());
    let seen = events("life");
    for stopped in [
        "connector stop",
        "task 0 value=a stop",
        "task 1 value=a stop",
    ] {
        assert!(seen.iter().any(|e| e == stopped), "{stopped} in {seen:?}");
    }
    // Resumed from stopped: new task configs, tasks started again.
    h.set_target_state("life", TargetState::Started)
        .await
        .unwrap();
    until(&h, "life", (Running, &[Running, Running])).await;
    assert_eq!(h.task_configs("life").await.unwrap().len(), 2);

    h.delete_connector("life").await.unwrap();
    assert!(matches!(
        h.connector_status("life").await,
        Err(ConnectError::NotFound(_))
    ));
    assert!(h.connectors().await.is_empty());
    let starts = |e: &String| e.ends_with(" start") && e.starts_with("task");
    let stops = |e: &String| e.ends_with(" stop") && e.starts_with("task");
    let seen = events("life");
    assert_eq!(
        seen.iter().filter(|e| starts(e)).count(),
        seen.iter().filter(|e| stops(e)).count(),
        "every task started was stopped: {seen:?}"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn initial_states_are_honoured() {
    let h = herder();
    h.start().await;
    h.put_connector_config(
        "paused",
        source("paused", &[]),
        false,
        Some(TargetState::Paused),
    )
    .await
    .unwrap();
    until(&h, "paused", (Paused, &[Paused, Paused])).await;
    h.put_connector_config(
        "stopped",
        source("stopped", &[]),
        false,
        Some(TargetState::Stopped),
    )
    .await
    .unwrap();
    until(&h, "stopped", (Stopped, &[])).await;
    assert!(
        !events("stopped").iter().any(|e| e.starts_with("task")),
        "a connector created stopped starts no task"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reconfigured_connector_restarts_its_tasks_with_the_new_config() {
    let h = herder();
    h.start().await;
    h.put_connector_config("reconf", source("reconf", &[("value", "old")]), false, None)
        .await
        .unwrap();
    until(&h, "reconf", (Running, &[Running, Running])).await;
    let replaced = h
        .put_connector_config(
            "reconf",
            source("reconf", &[("value", "new"), ("tasks.max", "3")]),
            true,
            None,
        )
        .await
        .unwrap();
    assert!(!replaced.created);
    until(&h, "reconf", (Running, &[Running, Running, Running])).await;
    let seen = events("reconf");
    for e in [
        "task 0 value=old stop",
        "task 1 value=old stop",
        "task 0 value=new start",
        "task 1 value=new start",
        "task 2 value=new start",
    ] {
        assert!(seen.iter().any(|s| s == e), "{e} in {seen:?}");
    }
    let before = seen.len();
    let patched = h
        .patch_connector_config(
            "reconf",
            [("tasks.max".to_string(), Some("1".to_string()))].into(),
        )
        .await
        .unwrap();
    assert_eq!(patched.tasks.len(), 1);
    until(&h, "reconf", (Running, &[Running])).await;
    let seen = events("reconf")[before..].to_vec();
    for e in ["task 1 value=new stop", "task 2 value=new stop"] {
        assert!(seen.iter().any(|s| s == e), "{e} in {seen:?}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connector_that_fails_to_start_is_failed_with_its_trace() {
    let h = herder();
    h.start().await;
    h.put_connector_config(
        "broken",
        source("broken", &[("fail.connector.start", "yes")]),
        false,
        None,
    )
    .await
    .unwrap();
    let status = until(&h, "broken", (Failed, &[])).await;
    let trace = status
        .connector
        .trace
        .expect("a failed connector has a trace");
    assert!(trace.contains("the fake connector cannot start"), "{trace}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_tasks_show_why_and_only_failed_ones_are_restarted() {
    let h = herder();
    h.start().await;
    // Task 0 and task 1 each fail their first start.
    h.put_connector_config(
        "flaky",
        source("flaky", &[("fail.task.starts", "1")]),
        false,
        None,
    )
    .await
    .unwrap();
    let status = until(&h, "flaky", (Running, &[Failed, Failed])).await;
    let trace = status.tasks[0].trace.clone().expect("trace");
    assert!(trace.contains("start 1 of the fake task fails"), "{trace}");

    h.restart_task(&ConnectorTaskId {
        connector: "flaky".into(),
        task: 0,
    })
    .await
    .unwrap();
    until(&h, "flaky", (Running, &[Running, Failed])).await;

    // includeTasks and onlyFailed: task 1 restarts, task 0 is left alone.
    let before = events("flaky").len();
    let plan = h
        .restart_connector("flaky", true, true)
        .await
        .unwrap()
        .expect("a status with what restarts");
    assert_eq!(states(&plan), (Running, vec![Running, State::Restarting]));
    until(&h, "flaky", (Running, &[Running, Running])).await;
    let after: Vec<String> = events("flaky")[before..].to_vec();
    assert!(
        after.iter().all(|e| !e.starts_with("task 0")),
        "the running task was left alone: {after:?}"
    );
    assert!(
        after
            .iter()
            .any(|e| e.starts_with("task 1") && e.ends_with("start")),
        "{after:?}"
    );

    // Unknown tasks and connectors.
    let missing = h
        .restart_task(&ConnectorTaskId {
            connector: "flaky".into(),
            task: 9,
        })
        .await
        .unwrap_err();
    assert!(matches!(missing, ConnectError::NotFound(_)), "{missing:?}");
    assert!(matches!(
        h.restart_connector("nope", true, false).await,
        Err(ConnectError::NotFound(_))
    ));
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_poll_fails_its_task_and_not_the_connector() {
    let h = herder();
    h.start().await;
    h.put_connector_config(
        "lost",
        source("lost", &[("fail.poll", "yes"), ("tasks.max", "1")]),
        false,
        None,
    )
    .await
    .unwrap();
    let status = until(&h, "lost", (Running, &[Failed])).await;
    let trace = status.tasks[0].trace.clone().expect("trace");
    assert!(trace.contains("the fake source lost its input"), "{trace}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sink_tasks_run_pause_and_stop_without_a_broker() {
    let h = herder();
    h.start().await;
    let mut config = source("sink", &[("topics", "t")]);
    config.insert("connector.class".into(), "FakeSink".into());
    h.put_connector_config("sink", config, false, None)
        .await
        .unwrap();
    until(&h, "sink", (Running, &[Running, Running])).await;
    h.set_target_state("sink", TargetState::Paused)
        .await
        .unwrap();
    until(&h, "sink", (Paused, &[Paused, Paused])).await;
    h.delete_connector("sink").await.unwrap();
    let stops: std::collections::BTreeSet<String> = events("sink")
        .into_iter()
        .filter(|e| e.ends_with("stop"))
        .collect();
    assert_eq!(
        stops,
        ["connector stop", "task 0 value= stop", "task 1 value= stop"]
            .map(String::from)
            .into(),
        "the connector and both tasks were stopped"
    );
    assert!(!events("sink").iter().any(|e| e == "put records"));
    h.stop().await;
}
