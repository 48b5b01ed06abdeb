//! `/connectors/{c}/tasks…`: task configs, task status and restart, and the
//! internal endpoint workers send task configs to the leader with.

use rampart_api::testing::{FAKE_SINK, WORKER_ID};
use rampart_core::herder::TargetState;
use serde_json::{json, Value};

use crate::support::{error, Api};

#[tokio::test]
async fn task_configs_and_the_deprecated_map() {
    let api = Api::new();
    api.sink("snk", 2, TargetState::Started);
    let task_config = json!({"connector.class": FAKE_SINK, "topics": "in", "tasks.max": "2", "name": "snk", "task.class": "org.rampart.testing.FakeSinkTask"});
    assert_eq!(
        api.call("GET", "/connectors/snk/tasks", None).await,
        (
            200,
            json!([
                {"id": {"connector": "snk", "task": 0}, "config": task_config},
                {"id": {"connector": "snk", "task": 1}, "config": task_config}
            ])
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/snk/tasks-config", None).await,
        (200, json!({"snk-0": task_config, "snk-1": task_config}))
    );
    for path in ["/connectors/x/tasks", "/connectors/x/tasks-config"] {
        assert_eq!(
            api.call("GET", path, None).await,
            (404, error(404, "Connector x not found")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn task_status_or_404() {
    let api = Api::new();
    api.source("src", TargetState::Paused);
    assert_eq!(
        api.call("GET", "/connectors/src/tasks/0/status", None)
            .await,
        (
            200,
            json!({"id": 0, "state": "PAUSED", "worker_id": WORKER_ID})
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/src/tasks/7/status", None)
            .await,
        (404, error(404, "No status found for task src-7"))
    );
    assert_eq!(
        api.call("GET", "/connectors/x/tasks/0/status", None).await,
        (404, error(404, "No status found for task x-0"))
    );
    // A task id that is not a number matches no resource, as in Jersey.
    for task in ["abc", "-1", "4294967296"] {
        assert_eq!(
            api.call("GET", &format!("/connectors/src/tasks/{task}/status"), None)
                .await,
            (404, error(404, "HTTP 404 Not Found")),
            "{task}"
        );
    }
}

#[tokio::test]
async fn task_restart_is_204_and_clears_the_failure() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    api.herder.fail_task("src", 0, "java.lang.Boom").unwrap();
    assert_eq!(
        api.call("POST", "/connectors/src/tasks/0/restart", None)
            .await,
        (204, Value::Null)
    );
    assert_eq!(
        api.call("GET", "/connectors/src/tasks/0/status", None)
            .await
            .1,
        json!({"id": 0, "state": "RUNNING", "worker_id": WORKER_ID})
    );
    assert_eq!(
        api.call("POST", "/connectors/src/tasks/7/restart", None)
            .await,
        (404, error(404, "Task src-7 not found"))
    );
    assert_eq!(
        api.call("POST", "/connectors/x/tasks/0/restart", None)
            .await,
        (404, error(404, "Connector x not found"))
    );
    assert_eq!(
        api.call("POST", "/connectors/src/tasks/x/restart", None)
            .await,
        (404, error(404, "HTTP 404 Not Found"))
    );
}

#[tokio::test]
async fn task_configs_from_a_worker_replace_the_tasks() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    let (code, body) = api
        .call(
            "POST",
            "/connectors/src/tasks",
            Some(json!([{"task.class": "A", "n": 1}, {"task.class": "A", "n": 2}])),
        )
        .await;
    assert_eq!((code, body), (204, Value::Null));
    let (_, tasks) = api.call("GET", "/connectors/src/tasks", None).await;
    assert_eq!(
        tasks,
        json!([
            {"id": {"connector": "src", "task": 0}, "config": {"task.class": "A", "n": "1"}},
            {"id": {"connector": "src", "task": 1}, "config": {"task.class": "A", "n": "2"}}
        ])
    );
    assert_eq!(
        api.call("POST", "/connectors/x/tasks", Some(json!([])))
            .await,
        (404, error(404, "Connector x not found"))
    );
}
