//! The REST API in-process (axum's `oneshot`), over a real standalone
//! herder whose tasks talk to the real broker: status codes, bodies and
//! Kafka's message texts, endpoint by endpoint.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rampart_api::{AppState, Cors, LoggerAdmin, LoggerLevel, RestOptions};
use rampart_runtime::herder::StandaloneHerder;
use rampart_runtime::plugins::Plugins;
use rampart_runtime::stores::{
    FileConfigBackingStore, FileOffsetBackingStore, MemoryStatusBackingStore,
};
use rampart_runtime::worker::Worker;
use rampart_runtime::worker_config::WorkerConfig;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::{bootstrap, eventually, unique};

#[derive(Default)]
struct TestLoggers(Mutex<BTreeMap<String, LoggerLevel>>);

impl LoggerAdmin for TestLoggers {
    fn levels(&self) -> BTreeMap<String, LoggerLevel> {
        let mut l = self.0.lock().unwrap().clone();
        l.entry("root".into()).or_insert(LoggerLevel {
            level: "INFO".into(),
            last_modified: None,
        });
        l
    }
    fn level(&self, name: &str) -> Option<LoggerLevel> {
        self.levels().remove(name)
    }
    fn set_level(&self, name: &str, level: &str) -> Result<Vec<String>, String> {
        self.0.lock().unwrap().insert(
            name.into(),
            LoggerLevel {
                level: level.into(),
                last_modified: Some(1),
            },
        );
        Ok(vec![name.to_string()])
    }
}

struct Api {
    state: AppState,
    options: RestOptions,
    herder: Arc<StandaloneHerder>,
    dir: tempfile::TempDir,
}

impl Api {
    async fn new(extra: &[(&str, &str)]) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let mut props: std::collections::HashMap<String, String> = [
            ("bootstrap.servers".to_string(), bootstrap()),
            ("listeners".to_string(), "http://127.0.0.1:8083".to_string()),
            ("offset.flush.interval.ms".to_string(), "200".to_string()),
            (
                "consumer.session.timeout.ms".to_string(),
                "6000".to_string(),
            ),
            (
                "consumer.heartbeat.interval.ms".to_string(),
                "500".to_string(),
            ),
            (
                "key.converter".to_string(),
                "org.apache.kafka.connect.storage.StringConverter".to_string(),
            ),
            (
                "value.converter".to_string(),
                "org.apache.kafka.connect.storage.StringConverter".to_string(),
            ),
        ]
        .into_iter()
        .collect();
        for (k, v) in extra {
            props.insert(k.to_string(), v.to_string());
        }
        let config = Arc::new(WorkerConfig::from_props(props, std::iter::empty()).unwrap());
        let offsets =
            Arc::new(FileOffsetBackingStore::open(Some(dir.path().join("offsets"))).unwrap());
        let configs =
            Arc::new(FileConfigBackingStore::open(Some(dir.path().join("configs.json"))).unwrap());
        let plugins = Plugins::new(vec![
            rampart_connector_file::source_plugin(),
            rampart_connector_file::sink_plugin(),
        ]);
        let worker = Arc::new(Worker::new(
            config.clone(),
            plugins,
            offsets,
            Arc::new(MemoryStatusBackingStore::default()),
        ));
        let herder = Arc::new(StandaloneHerder::new(worker, configs));
        herder.start().await;
        // No broker here: stand in for the cluster id lookup.
        herder.set_cluster_id("in-process-test".to_string());
        let options = RestOptions {
            cors: Cors {
                allow_origin: config
                    .props
                    .get("access.control.allow.origin")
                    .cloned()
                    .unwrap_or_default(),
                allow_methods: String::new(),
            },
            basic_auth: None,
            forwarder: Default::default(),
        };
        Api {
            state: AppState {
                herder: herder.clone(),
                loggers: Arc::new(TestLoggers::default()),
            },
            options,
            herder,
            dir,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, body) = self
            .raw(
                method,
                path,
                body.map(|b| ("application/json", b.to_string())),
                &[],
            )
            .await;
        let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (status, value)
    }

    async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some((ct, b)) => req.header("content-type", ct).body(Body::from(b)).unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = rampart_api::service(self.state.clone(), &self.options)
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    async fn wait_state(&self, name: &str, connector: &str, tasks: &[&str]) -> Value {
        eventually(
            &format!("{name} {connector} {tasks:?}"),
            Duration::from_secs(30),
            || async {
                let (code, body) = self
                    .call("GET", &format!("/connectors/{name}/status"), None)
                    .await;
                let task_states: Vec<&str> = body["tasks"]
                    .as_array()?
                    .iter()
                    .filter_map(|t| t["state"].as_str())
                    .collect();
                (code == 200 && body["connector"]["state"] == connector && task_states == tasks)
                    .then_some(body)
            },
        )
        .await
    }
}

fn error(code: u16, message: &str) -> Value {
    json!({"error_code": code, "message": message})
}

#[tokio::test(flavor = "multi_thread")]
async fn server_info_health_and_framework_errors() {
    let api = Api::new(&[]).await;
    let (code, body) = api.call("GET", "/", None).await;
    assert_eq!(code, 200);
    assert_eq!(body["version"], "3.9.0");
    assert!(body.get("commit").is_some() && body.get("kafka_cluster_id").is_some());

    let (code, body) = api.call("GET", "/health", None).await;
    assert_eq!(
        (code.as_u16(), body),
        (
            200,
            json!({"status":"healthy","message":"Worker has completed startup and is ready to handle requests."})
        )
    );

    assert_eq!(
        api.call("GET", "/nope", None).await,
        (StatusCode::NOT_FOUND, error(404, "HTTP 404 Not Found"))
    );
    assert_eq!(
        api.call("DELETE", "/connectors", None).await,
        (
            StatusCode::METHOD_NOT_ALLOWED,
            error(405, "HTTP 405 Method Not Allowed")
        )
    );
    let (code, _, body) = api
        .raw(
            "POST",
            "/connectors",
            Some(("text/plain", "{}".into())),
            &[],
        )
        .await;
    assert_eq!(
        (code.as_u16(), serde_json::from_str::<Value>(&body).unwrap()),
        (415, error(415, "HTTP 415 Unsupported Media Type"))
    );
    let (code, _, body) = api
        .raw(
            "POST",
            "/connectors",
            Some(("application/json", "{\"name\": ".into())),
            &[],
        )
        .await;
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code, 500, "Jackson parse errors are 500 in Kafka Connect");
    assert_eq!(body["error_code"], 500);
    // Trailing slashes are the same resource.
    assert_eq!(
        api.call("GET", "/connectors/", None).await,
        (StatusCode::OK, json!([]))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connector_lifecycle_codes_bodies_and_messages() {
    let api = Api::new(&[]).await;
    let topic = unique("rest");
    let name = "src";
    let config = json!({"connector.class": "FileStreamSource", "file": api.file("in.txt"), "topic": topic, "tasks.max": 1, "batch.size": 100});
    std::fs::write(api.file("in.txt"), "a\nb\n").unwrap();

    let (code, headers, body) = api
        .raw(
            "POST",
            "/connectors",
            Some((
                "application/json",
                json!({"name": name, "config": config}).to_string(),
            )),
            &[],
        )
        .await;
    assert_eq!(code, 201);
    assert_eq!(headers["location"], "/connectors/src");
    let body: Value = serde_json::from_str(&body).unwrap();
    // Verbatim echo, scalars coerced to strings, name injected.
    assert_eq!(
        body["config"],
        json!({"connector.class": "FileStreamSource", "file": api.file("in.txt"), "topic": topic, "tasks.max": "1", "batch.size": "100", "name": "src"})
    );
    assert_eq!(body["tasks"], json!([{"connector": "src", "task": 0}]));
    assert_eq!(body["type"], "source");

    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": name, "config": config})),
        )
        .await;
    assert_eq!(
        (code.as_u16(), body),
        (409, error(409, "Connector src already exists"))
    );
    assert_eq!(
        api.call("GET", "/connectors/x", None).await,
        (StatusCode::NOT_FOUND, error(404, "Connector x not found"))
    );
    assert_eq!(api.call("GET", "/connectors/x/status", None).await.0, 404);

    let status = api.wait_state(name, "RUNNING", &["RUNNING"]).await;
    assert_eq!(status["type"], "source");
    assert_eq!(status["tasks"][0]["worker_id"], "127.0.0.1:8083");
    assert!(
        status["connector"].get("trace").is_none(),
        "trace only when non-empty"
    );

    let (code, body) = api
        .call("GET", "/connectors?expand=status&expand=info", None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(body["src"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(body["src"]["info"]["name"], "src");
    assert_eq!(api.call("GET", "/connectors", None).await.1, json!(["src"]));

    let (_, tasks) = api.call("GET", "/connectors/src/tasks", None).await;
    assert_eq!(tasks[0]["id"], json!({"connector": "src", "task": 0}));
    assert_eq!(
        tasks[0]["config"]["task.class"],
        "org.apache.kafka.connect.file.FileStreamSourceTask"
    );
    let (_, tc) = api.call("GET", "/connectors/src/tasks-config", None).await;
    assert_eq!(tc["src-0"]["topic"], topic);
    assert_eq!(
        api.call("GET", "/connectors/src/tasks/0/status", None)
            .await
            .1["state"],
        "RUNNING"
    );
    assert_eq!(
        api.call("GET", "/connectors/src/tasks/7/status", None)
            .await,
        (
            StatusCode::NOT_FOUND,
            error(404, "No status found for task src-7")
        )
    );

    // Offsets can be read while running, but only changed when stopped.
    let offsets = eventually(
        "source offsets committed",
        Duration::from_secs(20),
        || async {
            let (_, body) = api.call("GET", "/connectors/src/offsets", None).await;
            (body["offsets"][0]["offset"]["position"] == 4).then_some(body)
        },
    )
    .await;
    assert_eq!(
        offsets["offsets"][0]["partition"],
        json!({"filename": api.file("in.txt")})
    );
    let alter = json!({"offsets": [{"partition": {"filename": api.file("in.txt")}, "offset": {"position": 2}}]});
    // An empty or missing list is refused before the state is checked.
    for body in [json!({"offsets": []}), json!({}), json!({"offsets": null})] {
        let (code, msg) = api
            .call("PATCH", "/connectors/src/offsets", Some(body))
            .await;
        assert_eq!(
            (code.as_u16(), msg),
            (
                400,
                error(
                    400,
                    "Partitions / offsets need to be provided for an alter offsets request"
                )
            )
        );
    }
    let (code, body) = api
        .call("PATCH", "/connectors/src/offsets", Some(alter.clone()))
        .await;
    assert_eq!((code.as_u16(), body), (400, error(400, "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint")));

    // Topics the connector wrote to.
    let (code, body) = api.call("GET", "/connectors/src/topics", None).await;
    assert_eq!(
        (code.as_u16(), body),
        (200, json!({"src": {"topics": [topic]}}))
    );
    assert_eq!(
        api.call("PUT", "/connectors/src/topics/reset", None)
            .await
            .0,
        202
    );
    assert_eq!(
        api.call("GET", "/connectors/src/topics", None).await.1,
        json!({"src": {"topics": []}})
    );

    // Pause, resume, stop.
    assert_eq!(api.call("PUT", "/connectors/src/pause", None).await.0, 202);
    api.wait_state(name, "PAUSED", &["PAUSED"]).await;
    assert_eq!(api.call("PUT", "/connectors/src/resume", None).await.0, 202);
    api.wait_state(name, "RUNNING", &["RUNNING"]).await;
    assert_eq!(api.call("PUT", "/connectors/src/stop", None).await.0, 204);
    api.wait_state(name, "STOPPED", &[]).await;
    assert_eq!(
        api.call("GET", "/connectors/src", None).await.1["tasks"],
        json!([])
    );

    let (code, body) = api
        .call(
            "PATCH",
            "/connectors/src/offsets",
            Some(json!({"offsets": []})),
        )
        .await;
    assert_eq!(
        (code.as_u16(), body),
        (
            400,
            error(
                400,
                "Partitions / offsets need to be provided for an alter offsets request"
            )
        )
    );
    let (code, body) = api
        .call("PATCH", "/connectors/src/offsets", Some(alter))
        .await;
    assert_eq!(
        (code.as_u16(), body),
        (
            200,
            json!({"message": "The offsets for this connector have been altered successfully"})
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/src/offsets", None).await.1["offsets"][0]["offset"],
        json!({"position": 2})
    );
    let (code, body) = api.call("DELETE", "/connectors/src/offsets", None).await;
    assert_eq!(
        (code.as_u16(), body),
        (
            200,
            json!({"message": "The offsets for this connector have been reset successfully"})
        )
    );
    assert_eq!(
        api.call("GET", "/connectors/src/offsets", None).await.1,
        json!({"offsets": []})
    );

    // Resume from STOPPED starts tasks again.
    assert_eq!(api.call("PUT", "/connectors/src/resume", None).await.0, 202);
    api.wait_state(name, "RUNNING", &["RUNNING"]).await;

    // PUT config: 200 on update, PATCH with null deletes a key.
    let mut updated = config.clone();
    updated["batch.size"] = json!("5");
    let (code, body) = api
        .call("PUT", "/connectors/src/config", Some(updated))
        .await;
    assert_eq!(
        (code.as_u16(), body["config"]["batch.size"].clone()),
        (200, json!("5"))
    );
    let (code, body) = api
        .call(
            "PATCH",
            "/connectors/src/config",
            Some(json!({"batch.size": null})),
        )
        .await;
    assert_eq!(code, 200);
    assert!(body["config"].get("batch.size").is_none());
    let (code, body) = api
        .call(
            "PUT",
            "/connectors/src/config",
            Some(json!({"name": "other", "connector.class": "FileStreamSource", "topic": "t"})),
        )
        .await;
    assert_eq!((code.as_u16(), body), (400, error(400, "Connector name configuration (other) doesn't match connector name in the URL (src)")));
    assert_eq!(
        api.call("PATCH", "/connectors/none/config", Some(json!({})))
            .await
            .0,
        404
    );

    // Restarts.
    assert_eq!(
        api.call("POST", "/connectors/src/restart", None).await.0,
        204
    );
    let (code, body) = api
        .call(
            "POST",
            "/connectors/src/restart?includeTasks=True&onlyFailed=False",
            None,
        )
        .await;
    assert_eq!(code, 202);
    assert_eq!(body["connector"]["state"], "RESTARTING");
    assert_eq!(body["tasks"][0]["state"], "RESTARTING");
    api.wait_state(name, "RUNNING", &["RUNNING"]).await;
    assert_eq!(
        api.call("POST", "/connectors/src/tasks/0/restart", None)
            .await
            .0,
        204
    );
    assert_eq!(
        api.call("POST", "/connectors/nope/restart?includeTasks=true", None)
            .await,
        (StatusCode::NOT_FOUND, error(404, "Unknown connector: nope"))
    );

    // Delete.
    assert_eq!(api.call("DELETE", "/connectors/src", None).await.0, 204);
    assert_eq!(
        api.call("GET", "/connectors/src", None).await,
        (StatusCode::NOT_FOUND, error(404, "Connector src not found"))
    );
    assert_eq!(api.call("DELETE", "/connectors/src", None).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn put_creates_with_201_and_initial_state_is_honoured() {
    let api = Api::new(&[]).await;
    let cfg = json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": unique("put"), "file": api.file("out.txt")});
    let (code, headers, _) = api
        .raw(
            "PUT",
            "/connectors/snk/config",
            Some(("application/json", cfg.to_string())),
            &[],
        )
        .await;
    assert_eq!(
        (code.as_u16(), headers["location"].to_str().unwrap()),
        (201, "/connectors/snk")
    );
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "paused", "config": cfg, "initial_state": "paused"})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    api.wait_state("paused", "PAUSED", &["PAUSED"]).await;
    let (code, _) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "stopped", "config": cfg, "initial_state": "STOPPED"})),
        )
        .await;
    assert_eq!(code, 201);
    api.wait_state("stopped", "STOPPED", &[]).await;
    let (code, body) = api
        .call("DELETE", "/connectors/stopped/offsets", None)
        .await;
    assert_eq!(
        (code.as_u16(), body),
        (
            200,
            json!({"message": "The offsets for this connector have been reset successfully"})
        ),
        "a sink whose group never existed is already reset"
    );
    assert_eq!(
        api.call("PUT", "/connectors/stopped/pause", None).await.0,
        202
    );
    api.wait_state("stopped", "PAUSED", &[]).await;
    assert_eq!(
        api.call("PUT", "/connectors/stopped/resume", None).await.0,
        202
    );
    api.wait_state("stopped", "RUNNING", &["RUNNING"]).await;
    // Unknown expand values give a map; topics of an unknown connector are empty.
    let (_, expanded) = api.call("GET", "/connectors?expand=nothing", None).await;
    assert_eq!(expanded["snk"], json!({}));
    assert_eq!(
        api.call("GET", "/connectors/ghost/topics", None).await,
        (StatusCode::OK, json!({"ghost": {"topics": []}}))
    );
    api.herder.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_configs_are_400_with_kafkas_message() {
    let api = Api::new(&[]).await;
    let (code, body) = api.call("POST", "/connectors", Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "tasks.max": "0"}}))).await;
    assert_eq!(code, 400);
    assert_eq!(
        body["message"],
        "Connector configuration is invalid and contains the following 2 error(s):\nInvalid value 0 for configuration tasks.max: Value must be at least 1\nMissing required configuration \"topic\" which has no default value.\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`"
    );
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": {"tasks.max": "1"}})),
        )
        .await;
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("contains no connector type"),
        "{body}"
    );
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": {"connector.class": "com.example.Nope"}})),
        )
        .await;
    assert_eq!(code, 500);
    assert!(body["message"].as_str().unwrap().starts_with("Failed to find any class that implements Connector and which name matches com.example.Nope"), "{body}");
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSink"}})),
        )
        .await;
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Must configure one of topics or topics.regex"),
        "{body}"
    );
    let (code, body) = api.call("POST", "/connectors", Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "topic": "t", "key.converter": "com.example.Avro"}}))).await;
    assert_eq!(code, 400, "{body}");
    let bad_transform = json!({"connector.class": "FileStreamSource", "topic": "t", "transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter", "transforms.route.regex": "(?<=x)y", "transforms.route.replacement": "z"});
    let (code, body) = api
        .call(
            "POST",
            "/connectors",
            Some(json!({"name": "bad", "config": bad_transform})),
        )
        .await;
    assert_eq!(code, 400, "{body}");
    let mut named = bad_transform.clone();
    named["name"] = json!("bad");
    let (code, infos) = api
        .call(
            "PUT",
            "/connector-plugins/FileStreamSource/config/validate",
            Some(named),
        )
        .await;
    assert_eq!(
        (code.as_u16(), infos["error_count"].clone()),
        (200, json!(1))
    );
    let regex = infos["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "transforms.route.regex")
        .expect("error on the regex key");
    assert_eq!(
        regex["value"]["errors"].as_array().unwrap().len(),
        1,
        "{regex}"
    );
    let (code, body) = api.call("POST", "/connectors", Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "topic": "t", "transforms": "x", "transforms.x.type": "com.example.Nope"}}))).await;
    assert_eq!(code, 400, "{body}");
    let (code, body) = api.call("POST", "/connectors", Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "topic": null}}))).await;
    assert_eq!(
        (code.as_u16(), body),
        (
            400,
            error(
                400,
                "Null value can not be supplied as the configuration value."
            )
        )
    );
    let (code, _) = api.call("POST", "/connectors", Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "topic": ["t"]}}))).await;
    assert_eq!(
        code, 500,
        "objects and arrays as config values are Jackson errors"
    );
    assert_eq!(
        api.call("GET", "/connectors", None).await.1,
        json!([]),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plugins_config_definitions_and_validate() {
    let api = Api::new(&[]).await;
    let (_, plugins) = api.call("GET", "/connector-plugins/", None).await;
    let classes: Vec<&str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].as_str().unwrap())
        .collect();
    assert_eq!(
        classes,
        vec![
            "org.apache.kafka.connect.file.FileStreamSinkConnector",
            "org.apache.kafka.connect.file.FileStreamSourceConnector"
        ]
    );
    assert_eq!(plugins[0]["type"], "sink");
    let (_, all) = api
        .call("GET", "/connector-plugins?connectorsOnly=false", None)
        .await;
    let kinds: std::collections::BTreeSet<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("converter") && kinds.contains("header_converter"),
        "{kinds:?}"
    );

    let (code, defs) = api
        .call("GET", "/connector-plugins/FileStreamSource/config", None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(
        defs[0],
        json!({"name": "file", "type": "STRING", "required": false, "default_value": null, "importance": "HIGH", "documentation": "Source filename. If not specified, the standard input will be used", "group": null, "order": -1, "width": "NONE", "display_name": "file", "dependents": []})
    );
    assert_eq!(
        api.call("GET", "/connector-plugins/Nope/config", None)
            .await,
        (StatusCode::NOT_FOUND, error(404, "Unknown plugin Nope."))
    );

    let (code, infos) = api
        .call("PUT", "/connector-plugins/FileStreamSourceConnector/config/validate", Some(json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "tasks.max": "x"})))
        .await;
    assert_eq!(code, 200, "validate answers 200 even when invalid");
    assert_eq!(
        infos["name"],
        "org.apache.kafka.connect.file.FileStreamSourceConnector"
    );
    // name (required), tasks.max (not a number, then null to its validator,
    // as Java reports it) and topic (required).
    assert_eq!(infos["error_count"], 4);
    assert!(infos["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Common")));
    let tasks_max = infos["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["definition"]["name"] == "tasks.max")
        .unwrap();
    let batch = infos["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["definition"]["name"] == "batch.size")
        .unwrap();
    assert_eq!(
        batch["value"]["value"], "2000",
        "absent keys show their default, as Kafka's parseForValidate"
    );
    assert_eq!(
        tasks_max["value"]["errors"],
        json!([
            "Invalid value x for configuration tasks.max: Not a number of type INT",
            "Invalid value null for configuration tasks.max: Value must be non-null"
        ])
    );
    assert_eq!(
        tasks_max["value"]["value"],
        Value::Null,
        "a value that failed its parse is null"
    );
    let (code, body) = api
        .call(
            "PUT",
            "/connector-plugins/FileStreamSink/config/validate",
            Some(json!({"connector.class": "FileStreamSource"})),
        )
        .await;
    assert_eq!((code.as_u16(), body), (400, error(400, "Included connector type FileStreamSource does not match request type FileStreamSink")));
}

#[tokio::test(flavor = "multi_thread")]
async fn loggers_and_cors() {
    let api = Api::new(&[("access.control.allow.origin", "*")]).await;
    assert_eq!(
        api.call("GET", "/admin/loggers", None).await.1["root"]["level"],
        "INFO"
    );
    let (code, body) = api
        .call(
            "PUT",
            "/admin/loggers/rampart_runtime",
            Some(json!({"level": "debug"})),
        )
        .await;
    assert_eq!((code.as_u16(), body), (200, json!(["rampart_runtime"])));
    assert_eq!(
        api.call("GET", "/admin/loggers/rampart_runtime", None)
            .await
            .1["level"],
        "DEBUG"
    );
    assert_eq!(
        api.call("PUT", "/admin/loggers/x", Some(json!({"level": "LOUD"})))
            .await,
        (
            StatusCode::NOT_FOUND,
            error(404, "invalid log level 'LOUD'.")
        )
    );
    assert_eq!(
        api.call("PUT", "/admin/loggers/x", Some(json!({}))).await,
        (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "Desired 'level' parameter was not specified in request."
            )
        )
    );
    assert_eq!(
        api.call("GET", "/admin/loggers/unset", None).await,
        (StatusCode::NOT_FOUND, error(404, "Logger unset not found."))
    );
    assert_eq!(
        api.call(
            "PUT",
            "/admin/loggers/y?scope=cluster",
            Some(json!({"level": "WARN"}))
        )
        .await
        .0,
        204
    );
    let (_, headers, _) = api
        .raw(
            "GET",
            "/connectors",
            None,
            &[("origin", "http://ui.example")],
        )
        .await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(headers["access-control-allow-methods"], "GET,POST,HEAD");
}
