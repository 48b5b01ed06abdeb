//! `/connector-plugins`: the list, config definitions and `validate`.

use rampart_api::testing::{FAKE_SINK, FAKE_SOURCE};
use serde_json::{json, Value};

use crate::support::{error, Api};

fn config_named<'a>(infos: &'a Value, name: &str) -> &'a Value {
    infos["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["definition"]["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {infos}"))
}

fn key_names(keys: &Value) -> Vec<&str> {
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn plugins_list_connectors_unless_asked_for_all() {
    let api = Api::new();
    let connectors = json!([
        {"class": FAKE_SINK, "type": "sink", "version": "1.0.0"},
        {"class": FAKE_SOURCE, "type": "source", "version": "1.0.0"}
    ]);
    for path in [
        "/connector-plugins",
        "/connector-plugins/",
        "/connector-plugins?connectorsOnly=true",
        "/connector-plugins?connectorsOnly=nonsense",
    ] {
        assert_eq!(
            api.call("GET", path, None).await,
            (200, connectors.clone()),
            "{path}"
        );
    }
    for path in [
        "/connector-plugins?connectorsOnly=false",
        "/connector-plugins?connectorsOnly=FALSE",
    ] {
        let (_, all) = api.call("GET", path, None).await;
        let kinds: Vec<&str> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "sink",
                "source",
                "converter",
                "header_converter",
                "transformation",
                "predicate"
            ],
            "{path}"
        );
    }
}

#[tokio::test]
async fn plugin_config_by_class_or_alias() {
    let api = Api::new();
    let (code, keys) = api
        .call(
            "GET",
            &format!("/connector-plugins/{FAKE_SOURCE}/config"),
            None,
        )
        .await;
    assert_eq!(code, 200);
    // The plugin's own keys, then the framework's.
    assert_eq!(
        key_names(&keys),
        [
            "topic",
            "batch.size",
            "name",
            "connector.class",
            "tasks.max"
        ]
    );
    assert_eq!(
        keys[1],
        json!({"name": "batch.size", "type": "INT", "required": false, "default_value": "2000", "importance": "LOW", "documentation": "The maximum number of records the source task can read from the file each time it is polled", "group": null, "order": -1, "width": "NONE", "display_name": "batch.size", "dependents": []})
    );
    assert_eq!(keys[0]["required"], true);
    assert_eq!(keys[4]["group"], "Common");
    for alias in ["FakeSourceConnector", "FakeSource"] {
        assert_eq!(
            api.call("GET", &format!("/connector-plugins/{alias}/config"), None)
                .await,
            (200, keys.clone()),
            "{alias}"
        );
    }
    // A Java null default is optional and shows no default.
    let (_, sink) = api
        .call("GET", "/connector-plugins/FakeSink/config", None)
        .await;
    assert_eq!(
        (
            sink[0]["name"].clone(),
            sink[0]["required"].clone(),
            sink[0]["default_value"].clone()
        ),
        (json!("file"), json!(false), Value::Null)
    );
    assert_eq!(
        api.call("GET", "/connector-plugins/Nope/config", None)
            .await,
        (404, error(404, "Unknown plugin Nope."))
    );
}

#[tokio::test]
async fn validate_answers_200_with_every_error() {
    let api = Api::new();
    let (code, infos) = api
        .call(
            "PUT",
            "/connector-plugins/FakeSourceConnector/config/validate",
            Some(json!({"connector.class": FAKE_SOURCE, "tasks.max": "x"})),
        )
        .await;
    assert_eq!(code, 200, "validate answers 200 even when invalid");
    assert_eq!(infos["name"], FAKE_SOURCE);
    assert_eq!(infos["groups"], json!(["Common"]));
    // name (required), tasks.max (not a number, then null to its
    // validator, as Java reports it) and topic (required).
    assert_eq!(infos["error_count"], 4);
    assert_eq!(
        config_named(&infos, "tasks.max")["value"],
        json!({
            "name": "tasks.max",
            "value": null,
            "recommended_values": [],
            "errors": [
                "Invalid value x for configuration tasks.max: Not a number of type INT",
                "Invalid value null for configuration tasks.max: Value must be non-null"
            ],
            "visible": true
        })
    );
    assert_eq!(
        config_named(&infos, "topic")["value"]["errors"],
        json!(["Missing required configuration \"topic\" which has no default value."])
    );
    assert_eq!(
        config_named(&infos, "batch.size")["value"]["value"],
        "2000",
        "absent keys show their default"
    );
}

#[tokio::test]
async fn validate_of_a_valid_config_has_no_errors() {
    let api = Api::new();
    let (code, infos) = api
        .call(
            "PUT",
            "/connector-plugins/FakeSink/config/validate",
            Some(json!({"connector.class": "FakeSink", "name": "s", "topics": "a,b", "tasks.max": 3})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(infos["error_count"], 0, "{infos}");
    assert_eq!(infos["name"], "FakeSink", "the class as given");
    let names: Vec<&str> = infos["configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["definition"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "name",
            "connector.class",
            "tasks.max",
            "topics",
            "topics.regex",
            "file"
        ],
        "framework keys first"
    );
    assert_eq!(config_named(&infos, "tasks.max")["value"]["value"], "3");
}

#[tokio::test]
async fn validate_reports_cross_key_errors_on_both_keys() {
    let api = Api::new();
    let (code, infos) = api
        .call(
            "PUT",
            "/connector-plugins/FakeSink/config/validate",
            Some(json!({"connector.class": FAKE_SINK, "name": "s"})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(infos["error_count"], 2);
    for key in ["topics", "topics.regex"] {
        assert_eq!(
            config_named(&infos, key)["value"]["errors"],
            json!(["Must configure one of topics or topics.regex"]),
            "{key}"
        );
    }
}

#[tokio::test]
async fn validate_refuses_a_class_other_than_the_path_plugin() {
    let api = Api::new();
    assert_eq!(
        api.call(
            "PUT",
            "/connector-plugins/FakeSink/config/validate",
            Some(json!({"connector.class": "FakeSource"}))
        )
        .await,
        (
            400,
            error(
                400,
                "Included connector type FakeSource does not match request type FakeSink"
            )
        )
    );
}
