//! `/connectors`: create, list, read, replace, patch, delete, status,
//! target states and restarts.

use rampart_api::testing::{FAKE_SINK, FAKE_SOURCE, WORKER_ID};
use rampart_core::herder::TargetState;
use serde_json::{json, Value};

use crate::support::{error, Api};

const INVALID_HINT: &str = "\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`";

fn source_config() -> Value {
    json!({"connector.class": "FakeSource", "topic": "t"})
}

#[tokio::test]
async fn create_is_201_with_location_and_the_config_as_strings() {
    let api = Api::new();
    let body = json!({"name": "src", "config": {"connector.class": "FakeSource", "topic": "t", "batch.size": 100, "tasks.max": 1, "flag": true}});
    let reply = api
        .raw(
            "POST",
            "/connectors",
            Some(("application/json", body.to_string())),
            &[],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.headers["location"], "/connectors/src");
    // Scalars coerced to strings, the name injected from the request.
    assert_eq!(
        reply.json(),
        json!({
            "name": "src",
            "config": {"connector.class": "FakeSource", "topic": "t", "batch.size": "100", "tasks.max": "1", "flag": "true", "name": "src"},
            "tasks": [{"connector": "src", "task": 0}],
            "type": "source"
        })
    );
    assert_eq!(
        api.call("GET", "/connectors", None).await,
        (200, json!(["src"]))
    );
}

/// Numbers as Jackson binds them into a `Map<String, String>`: their text
/// as written, whatever their range or form (checked against Java Connect
/// 3.9: `{"x": 1e400}` is stored as `"1e400"`).
const NUMBERS: &str =
    r#""huge": 1e400, "zeros": 1.50, "long": 123456789012345678901234567890, "neg": -0.0e-5"#;

fn numbers_as_written(config: &Value) {
    for (key, text) in [
        ("huge", "1e400"),
        ("zeros", "1.50"),
        ("long", "123456789012345678901234567890"),
        ("neg", "-0.0e-5"),
    ] {
        assert_eq!(config[key], text, "{key} in {config}");
    }
}

#[tokio::test]
async fn numbers_in_a_config_are_kept_as_written() {
    let api = Api::new();
    let json = |text: String| Some(("application/json", text));
    let created = api
        .raw(
            "POST",
            "/connectors",
            json(format!(
                r#"{{"name": "src", "config": {{"connector.class": "FakeSource", "topic": "t", {NUMBERS}}}}}"#
            )),
            &[],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    numbers_as_written(&created.json()["config"]);

    let replaced = api
        .raw(
            "PUT",
            "/connectors/src/config",
            json(format!(
                r#"{{"connector.class": "FakeSource", "topic": "t", {NUMBERS}, "extra": 7}}"#
            )),
            &[],
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    numbers_as_written(&replaced.json()["config"]);
    assert_eq!(replaced.json()["config"]["extra"], "7");

    let patched = api
        .raw(
            "PATCH",
            "/connectors/src/config",
            json(format!(r#"{{{NUMBERS}, "extra": null}}"#)),
            &[],
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    numbers_as_written(&patched.json()["config"]);
    assert!(patched.json()["config"].get("extra").is_none());

    let validated = api
        .raw(
            "PUT",
            "/connector-plugins/FakeSource/config/validate",
            json(format!(
                r#"{{"name": "src", "connector.class": "FakeSource", "topic": "t", {NUMBERS}}}"#
            )),
            &[],
        )
        .await;
    assert_eq!(validated.status, 200, "{}", validated.body);
    assert_eq!(validated.json()["error_count"], 0, "{}", validated.body);

    // A name given as a number is its text too, in the request and the config.
    let named = api
        .raw(
            "POST",
            "/connectors",
            json(
                r#"{"name": 1.50, "config": {"name": 1.50, "connector.class": "FakeSource", "topic": "t"}}"#
                    .into(),
            ),
            &[],
        )
        .await;
    assert_eq!(named.status, 201, "{}", named.body);
    assert_eq!(named.json()["name"], "1.50");

    // Members keep document order: the first bad value named is the first
    // written, and a repeated key keeps its last value.
    let bad = api
        .raw(
            "PUT",
            "/connectors/src/config",
            json(r#"{"zz": {}, "aa": [], "connector.class": "FakeSource", "topic": "t"}"#.into()),
            &[],
        )
        .await;
    assert_eq!(bad.status, 500, "{}", bad.body);
    let message = bad.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.ends_with(r#"for key "zz""#), "{message}");
    let repeated = api
        .raw(
            "PUT",
            "/connectors/src/config",
            json(r#"{"k": 1, "connector.class": "FakeSource", "topic": "t", "k": "last"}"#.into()),
            &[],
        )
        .await;
    assert_eq!(repeated.status, 200, "{}", repeated.body);
    assert_eq!(repeated.json()["config"]["k"], "last");
}

#[tokio::test]
async fn create_of_an_existing_name_is_409() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    assert_eq!(
        api.call(
            "POST",
            "/connectors",
            Some(json!({"name": "src", "config": source_config()}))
        )
        .await,
        (409, error(409, "Connector src already exists"))
    );
}

#[tokio::test]
async fn create_without_config_is_400() {
    let api = Api::new();
    for body in [json!({"name": "a"}), json!({"name": "a", "config": null})] {
        assert_eq!(
            api.call("POST", "/connectors", Some(body)).await,
            (400, error(400, "Connector config must be provided"))
        );
    }
    assert_eq!(api.call("GET", "/connectors", None).await.1, json!([]));
}

#[tokio::test]
async fn create_without_name_is_refused_by_validation() {
    let api = Api::new();
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"config": source_config()})),
        )
        .await;
    assert_eq!(
        (code, body),
        (
            400,
            error(
                400,
                &format!("Connector configuration is invalid and contains the following 1 error(s):\nInvalid value  for configuration name: String may not be empty{INVALID_HINT}")
            )
        )
    );
    assert_eq!(api.call("GET", "/connectors", None).await.1, json!([]));
}

#[tokio::test]
async fn create_trims_the_name() {
    let api = Api::new();
    let reply = api
        .raw(
            "POST",
            "/connectors",
            Some((
                "application/json",
                json!({"name": "  spaced ", "config": source_config()}).to_string(),
            )),
            &[],
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.headers["location"], "/connectors/spaced");
    assert_eq!(reply.json()["config"]["name"], "spaced");
    assert_eq!(
        api.call("GET", "/connectors", None).await.1,
        json!(["spaced"])
    );
}

#[tokio::test]
async fn create_refuses_a_config_name_other_than_the_request_name() {
    let api = Api::new();
    let mut config = source_config();
    config["name"] = json!("b");
    assert_eq!(
        api.call(
            "POST",
            "/connectors",
            Some(json!({"name": "a", "config": config}))
        )
        .await,
        (
            400,
            error(
                400,
                "Connector name configuration (b) doesn't match connector name in the URL (a)"
            )
        )
    );
}

#[tokio::test]
async fn create_refuses_null_config_values() {
    let api = Api::new();
    let mut config = source_config();
    config["batch.size"] = Value::Null;
    assert_eq!(
        api.call(
            "POST",
            "/connectors",
            Some(json!({"name": "a", "config": config}))
        )
        .await,
        (
            400,
            error(
                400,
                "Null value can not be supplied as the configuration value."
            )
        )
    );
}

#[tokio::test]
async fn create_without_connector_class_is_400() {
    let api = Api::new();
    assert_eq!(
        api.call(
            "POST",
            "/connectors",
            Some(json!({"name": "a", "config": {"topic": "t"}}))
        )
        .await,
        (
            400,
            error(
                400,
                "Connector config {name=a, topic=t} contains no connector type"
            )
        )
    );
}

#[tokio::test]
async fn create_with_invalid_values_lists_every_error() {
    let api = Api::new();
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(
                json!({"name": "a", "config": {"connector.class": FAKE_SOURCE, "tasks.max": "0"}}),
            ),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(
        body["message"],
        format!("Connector configuration is invalid and contains the following 2 error(s):\nInvalid value 0 for configuration tasks.max: Value must be at least 1\nMissing required configuration \"topic\" which has no default value.{INVALID_HINT}")
    );
    assert_eq!(api.call("GET", "/connectors", None).await.1, json!([]));
}

#[tokio::test]
async fn initial_state_is_honoured_in_any_case() {
    let api = Api::new();
    for (name, initial, connector, tasks) in [
        ("r", "running", "RUNNING", json!(["RUNNING"])),
        ("p", "Paused", "PAUSED", json!(["PAUSED"])),
        ("s", "STOPPED", "STOPPED", json!([])),
    ] {
        let (code, body) = api
            .call(
                "POST",
                "/connectors",
                Some(json!({"name": name, "config": source_config(), "initial_state": initial})),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        let (_, status) = api
            .call("GET", &format!("/connectors/{name}/status"), None)
            .await;
        let states: Vec<Value> = status["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["state"].clone())
            .collect();
        assert_eq!(
            (status["connector"]["state"].clone(), json!(states)),
            (json!(connector), tasks),
            "{name}"
        );
    }
    assert_eq!(api.herder.target_state("s"), Some(TargetState::Stopped));
}

#[tokio::test]
async fn list_names_and_expansions() {
    let api = Api::new();
    assert_eq!(api.call("GET", "/connectors", None).await, (200, json!([])));
    api.source("b", TargetState::Started);
    api.sink("a", 1, TargetState::Paused);
    assert_eq!(
        api.call("GET", "/connectors", None).await.1,
        json!(["a", "b"])
    );

    let (code, status) = api.call("GET", "/connectors?expand=status", None).await;
    assert_eq!(code, 200);
    assert_eq!(
        status["a"],
        json!({"status": {
            "name": "a",
            "connector": {"state": "PAUSED", "worker_id": WORKER_ID},
            "tasks": [{"id": 0, "state": "PAUSED", "worker_id": WORKER_ID}],
            "type": "sink"
        }})
    );
    let (_, info) = api.call("GET", "/connectors?expand=info", None).await;
    assert_eq!(info["b"]["info"]["type"], "source");
    assert!(info["b"].get("status").is_none(), "{info}");
    let (_, both) = api
        .call("GET", "/connectors?expand=status&expand=info", None)
        .await;
    assert_eq!(both["b"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(
        both["b"]["info"]["tasks"],
        json!([{"connector": "b", "task": 0}])
    );
    // Unknown expansions are ignored, but still give the map.
    assert_eq!(
        api.call("GET", "/connectors?expand=nothing", None).await.1,
        json!({"a": {}, "b": {}})
    );
}

#[tokio::test]
async fn get_info_and_config_or_404() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    assert_eq!(
        api.call("GET", "/connectors/src", None).await,
        (
            200,
            json!({
                "name": "src",
                "config": {"connector.class": FAKE_SOURCE, "topic": "t", "name": "src"},
                "tasks": [{"connector": "src", "task": 0}],
                "type": "source"
            })
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/src/config", None).await,
        (
            200,
            json!({"connector.class": FAKE_SOURCE, "topic": "t", "name": "src"})
        )
    );
    for path in ["/connectors/x", "/connectors/x/config"] {
        assert_eq!(
            api.call("GET", path, None).await,
            (404, error(404, "Connector x not found")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn put_config_creates_with_201_then_replaces_with_200() {
    let api = Api::new();
    let reply = api
        .raw(
            "PUT",
            "/connectors/src/config",
            Some(("application/json", source_config().to_string())),
            &[],
        )
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.headers["location"], "/connectors/src");
    assert_eq!(reply.json()["config"]["name"], "src");

    let replacement = json!({"connector.class": "FakeSource", "topic": "u", "batch.size": 5});
    let (code, body) = api
        .call("PUT", "/connectors/src/config", Some(replacement))
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        body["config"],
        json!({"connector.class": "FakeSource", "topic": "u", "batch.size": "5", "name": "src"}),
        "replaced, not merged"
    );
    let reply = api
        .raw(
            "PUT",
            "/connectors/src/config",
            Some(("application/json", source_config().to_string())),
            &[],
        )
        .await;
    assert!(
        reply.headers.get("location").is_none(),
        "no Location on update"
    );
}

#[tokio::test]
async fn put_config_keeps_the_target_state_and_refuses_invalid_configs() {
    let api = Api::new();
    api.source("src", TargetState::Paused);
    let (code, _) = api
        .call("PUT", "/connectors/src/config", Some(source_config()))
        .await;
    assert_eq!(code, 200);
    assert_eq!(api.herder.target_state("src"), Some(TargetState::Paused));

    let (code, body) = api
        .call(
            "PUT",
            "/connectors/src/config",
            Some(json!({"connector.class": "FakeSource", "topic": "t", "batch.size": "0"})),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        api.call("GET", "/connectors/src/config", None).await.1["batch.size"],
        Value::Null,
        "the stored config is unchanged"
    );
    assert_eq!(
        api.call(
            "PUT",
            "/connectors/src/config",
            Some(json!({"name": "other", "connector.class": "FakeSource", "topic": "t"}))
        )
        .await,
        (
            400,
            error(
                400,
                "Connector name configuration (other) doesn't match connector name in the URL (src)"
            )
        )
    );
}

#[tokio::test]
async fn patch_config_sets_and_deletes_keys() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    let (code, body) = api
        .call(
            "PATCH",
            "/connectors/src/config",
            Some(json!({"batch.size": 5})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        body["config"],
        json!({"connector.class": FAKE_SOURCE, "topic": "t", "name": "src", "batch.size": "5"})
    );
    let (code, body) = api
        .call(
            "PATCH",
            "/connectors/src/config",
            Some(json!({"batch.size": null})),
        )
        .await;
    assert_eq!(code, 200);
    assert!(body["config"].get("batch.size").is_none(), "{body}");

    // The patched config is validated as a whole.
    let (code, body) = api
        .call(
            "PATCH",
            "/connectors/src/config",
            Some(json!({"topic": null})),
        )
        .await;
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Missing required configuration \"topic\""),
        "{body}"
    );
    assert_eq!(
        api.call("PATCH", "/connectors/src/config", Some(json!({"name": "other"})))
            .await,
        (
            400,
            error(
                400,
                "Connector name configuration (other) doesn't match connector name in the URL (src)"
            )
        )
    );
    assert_eq!(
        api.call("PATCH", "/connectors/none/config", Some(json!({})))
            .await,
        (404, error(404, "Connector none not found"))
    );
}

#[tokio::test]
async fn delete_is_204_then_the_connector_is_gone() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    assert_eq!(
        api.call("DELETE", "/connectors/src", None).await,
        (204, Value::Null)
    );
    assert_eq!(
        api.call("GET", "/connectors/src", None).await,
        (404, error(404, "Connector src not found"))
    );
    assert_eq!(
        api.call("DELETE", "/connectors/src", None).await,
        (404, error(404, "Connector src not found"))
    );
    assert_eq!(api.call("GET", "/connectors", None).await.1, json!([]));
}

#[tokio::test]
async fn status_shape_and_trace_only_when_failed() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    assert_eq!(
        api.call("GET", "/connectors/src/status", None).await,
        (
            200,
            json!({
                "name": "src",
                "connector": {"state": "RUNNING", "worker_id": WORKER_ID},
                "tasks": [{"id": 0, "state": "RUNNING", "worker_id": WORKER_ID}],
                "type": "source"
            })
        )
    );
    api.herder
        .fail_task("src", 0, "java.lang.Boom: boom")
        .unwrap();
    assert_eq!(
        api.call("GET", "/connectors/src/status", None).await.1["tasks"][0],
        json!({"id": 0, "state": "FAILED", "worker_id": WORKER_ID, "trace": "java.lang.Boom: boom"})
    );
    assert_eq!(
        api.call("GET", "/connectors/x/status", None).await,
        (404, error(404, "No status found for connector x"))
    );
}

async fn states(api: &Api, name: &str) -> (Value, Vec<Value>) {
    let (code, status) = api
        .call("GET", &format!("/connectors/{name}/status"), None)
        .await;
    assert_eq!(code, 200, "{status}");
    let tasks = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].clone())
        .collect();
    (status["connector"]["state"].clone(), tasks)
}

#[tokio::test]
async fn pause_resume_and_stop() {
    let api = Api::new();
    api.sink("snk", 2, TargetState::Started);
    assert_eq!(
        api.call("PUT", "/connectors/snk/pause", None).await,
        (202, Value::Null)
    );
    assert_eq!(
        states(&api, "snk").await,
        (json!("PAUSED"), vec![json!("PAUSED"), json!("PAUSED")])
    );
    assert_eq!(
        api.call("PUT", "/connectors/snk/pause", None).await.0,
        202,
        "idempotent"
    );
    assert_eq!(
        api.call("PUT", "/connectors/snk/resume", None).await,
        (202, Value::Null)
    );
    assert_eq!(
        states(&api, "snk").await,
        (json!("RUNNING"), vec![json!("RUNNING"), json!("RUNNING")])
    );
    assert_eq!(
        api.call("PUT", "/connectors/snk/stop", None).await,
        (204, Value::Null)
    );
    assert_eq!(states(&api, "snk").await, (json!("STOPPED"), vec![]));
    assert_eq!(
        api.call("GET", "/connectors/snk", None).await.1["tasks"],
        json!([]),
        "a stopped connector has no tasks"
    );
    // Paused from STOPPED: the connector comes back, its tasks only on resume.
    assert_eq!(api.call("PUT", "/connectors/snk/pause", None).await.0, 202);
    assert_eq!(states(&api, "snk").await, (json!("PAUSED"), vec![]));
    assert_eq!(api.call("PUT", "/connectors/snk/resume", None).await.0, 202);
    assert_eq!(
        states(&api, "snk").await,
        (json!("RUNNING"), vec![json!("RUNNING"), json!("RUNNING")])
    );
    for action in ["pause", "resume", "stop"] {
        assert_eq!(
            api.call("PUT", &format!("/connectors/nope/{action}"), None)
                .await,
            (404, error(404, "Unknown connector nope")),
            "{action}"
        );
    }
}

#[tokio::test]
async fn restart_without_options_is_204_and_restarts_the_connector_only() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    api.herder.fail_connector("src", "java.lang.Boom").unwrap();
    api.herder.fail_task("src", 0, "java.lang.Boom").unwrap();
    assert_eq!(
        api.call("POST", "/connectors/src/restart", None).await,
        (204, Value::Null)
    );
    assert_eq!(
        states(&api, "src").await,
        (json!("RUNNING"), vec![json!("FAILED")])
    );
    assert_eq!(
        api.call("POST", "/connectors/nope/restart", None).await,
        (404, error(404, "Connector nope not found"))
    );
}

#[tokio::test]
async fn restart_with_tasks_is_202_showing_what_restarts() {
    let api = Api::new();
    api.sink("snk", 2, TargetState::Started);
    // Python clients send `True`: Java's Boolean.valueOf ignores case.
    let (code, body) = api
        .call("POST", "/connectors/snk/restart?includeTasks=True", None)
        .await;
    assert_eq!(code, 202);
    assert_eq!(body["connector"]["state"], "RESTARTING");
    assert_eq!(body["tasks"][0]["state"], "RESTARTING");
    assert_eq!(body["tasks"][1]["state"], "RESTARTING");
    assert_eq!(
        states(&api, "snk").await,
        (json!("RUNNING"), vec![json!("RUNNING"), json!("RUNNING")])
    );
    assert_eq!(
        api.call("POST", "/connectors/nope/restart?includeTasks=true", None)
            .await,
        (404, error(404, "Unknown connector: nope"))
    );
}

#[tokio::test]
async fn restart_only_failed_restarts_only_failed_instances() {
    let api = Api::new();
    api.sink("snk", 3, TargetState::Started);
    api.herder.fail_task("snk", 1, "java.lang.Boom").unwrap();
    let (code, body) = api
        .call(
            "POST",
            "/connectors/snk/restart?includeTasks=true&onlyFailed=true",
            None,
        )
        .await;
    assert_eq!(code, 202);
    assert_eq!(body["connector"]["state"], "RUNNING", "{body}");
    let shown: Vec<&Value> = body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["state"])
        .collect();
    assert_eq!(
        shown,
        [&json!("RUNNING"), &json!("RESTARTING"), &json!("RUNNING")]
    );
    assert_eq!(
        body["tasks"][1]["trace"], "java.lang.Boom",
        "the status before the restart"
    );
    let (_, status) = api.call("GET", "/connectors/snk/status", None).await;
    assert_eq!(
        status["tasks"][1],
        json!({"id": 1, "state": "RUNNING", "worker_id": WORKER_ID})
    );

    // onlyFailed alone restarts a failed connector, and no task.
    api.herder.fail_connector("snk", "java.lang.Boom").unwrap();
    api.herder.fail_task("snk", 0, "java.lang.Boom").unwrap();
    let (code, body) = api
        .call("POST", "/connectors/snk/restart?onlyFailed=true", None)
        .await;
    assert_eq!(code, 202);
    assert_eq!(body["connector"]["state"], "RESTARTING");
    assert_eq!(body["tasks"][0]["state"], "FAILED");
}

#[tokio::test]
async fn active_topics_and_their_reset() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    api.herder.record_topic("src", "t1").unwrap();
    api.herder.record_topic("src", "t2").unwrap();
    assert_eq!(
        api.call("GET", "/connectors/src/topics", None).await,
        (200, json!({"src": {"topics": ["t1", "t2"]}}))
    );
    assert_eq!(
        api.call("PUT", "/connectors/src/topics/reset", None).await,
        (202, Value::Null)
    );
    assert_eq!(
        api.call("GET", "/connectors/src/topics", None).await.1,
        json!({"src": {"topics": []}})
    );
    // A connector nobody created has used no topics: not a 404.
    assert_eq!(
        api.call("GET", "/connectors/ghost/topics", None).await,
        (200, json!({"ghost": {"topics": []}}))
    );
}

#[tokio::test]
async fn active_topics_are_403_when_tracking_is_disabled() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    api.herder.disable_topic_tracking();
    for (method, path) in [
        ("GET", "/connectors/src/topics"),
        ("PUT", "/connectors/src/topics/reset"),
    ] {
        assert_eq!(
            api.call(method, path, None).await,
            (403, error(403, "Topic tracking is disabled.")),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn sink_connectors_say_so() {
    let api = Api::new();
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "snk", "config": {"connector.class": FAKE_SINK, "topics": "in", "tasks.max": "2"}})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["type"], "sink");
    assert_eq!(
        body["tasks"],
        json!([{"connector": "snk", "task": 0}, {"connector": "snk", "task": 1}])
    );
}
