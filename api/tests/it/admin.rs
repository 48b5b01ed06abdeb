//! `/admin/loggers`: log levels at runtime.

use serde_json::{json, Value};

use crate::support::{error, Api};

#[tokio::test]
async fn loggers_list_get_and_set() {
    let api = Api::new();
    assert_eq!(
        api.call("GET", "/admin/loggers", None).await,
        (
            200,
            json!({"root": {"level": "INFO", "last_modified": null}})
        )
    );
    assert_eq!(
        api.call(
            "PUT",
            "/admin/loggers/org.x",
            Some(json!({"level": "debug"}))
        )
        .await,
        (200, json!(["org.x"]))
    );
    assert_eq!(
        api.call("GET", "/admin/loggers/org.x", None).await,
        (200, json!({"level": "DEBUG", "last_modified": 1}))
    );
    // A parent takes its descendants with it.
    assert_eq!(
        api.call("PUT", "/admin/loggers/org", Some(json!({"level": "WARN"})))
            .await,
        (200, json!(["org", "org.x"]))
    );
    assert_eq!(
        api.call("GET", "/admin/loggers/org.x", None).await.1["level"],
        "WARN"
    );
    assert_eq!(
        api.call("GET", "/admin/loggers/unset", None).await,
        (404, error(404, "Logger unset not found."))
    );
}

#[tokio::test]
async fn logger_level_errors() {
    let api = Api::new();
    // Kafka answers an unknown level with 404 (sic).
    assert_eq!(
        api.call("PUT", "/admin/loggers/x", Some(json!({"level": "LOUD"})))
            .await,
        (404, error(404, "invalid log level 'LOUD'."))
    );
    for body in [json!({}), json!({"level": null})] {
        assert_eq!(
            api.call("PUT", "/admin/loggers/x", Some(body.clone()))
                .await,
            (
                400,
                error(
                    400,
                    "Desired 'level' parameter was not specified in request."
                )
            ),
            "{body}"
        );
    }
    assert_eq!(
        api.call("GET", "/admin/loggers/x", None).await.0,
        404,
        "nothing was set"
    );
}

#[tokio::test]
async fn logger_scope_cluster_is_204_and_unknown_scopes_are_worker() {
    let api = Api::new();
    assert_eq!(
        api.call(
            "PUT",
            "/admin/loggers/a?scope=cluster",
            Some(json!({"level": "ERROR"}))
        )
        .await,
        (204, Value::Null)
    );
    assert_eq!(
        api.call("GET", "/admin/loggers/a", None).await.1["level"],
        "ERROR"
    );
    assert_eq!(
        api.call(
            "PUT",
            "/admin/loggers/b?scope=galaxy",
            Some(json!({"level": "ERROR"}))
        )
        .await,
        (200, json!(["b"]))
    );
}
