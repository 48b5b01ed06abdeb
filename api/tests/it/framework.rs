//! What every resource shares: server info, health, metrics, Jersey's
//! 404/405/415 bodies, trailing slashes, basic auth and CORS.

use rampart_api::{BasicAuth, Cors, RestOptions};
use rampart_core::herder::{TargetState, Unhealthy};
use serde_json::{json, Value};

use crate::support::{error, Api};

#[tokio::test]
async fn server_info() {
    let api = Api::new();
    assert_eq!(
        api.call("GET", "/", None).await,
        (
            200,
            json!({"version": "3.9.0", "commit": "fake", "kafka_cluster_id": "fake-cluster"})
        )
    );
}

#[tokio::test]
async fn health_codes_follow_the_herder() {
    let api = Api::new();
    assert_eq!(
        api.call("GET", "/health", None).await,
        (
            200,
            json!({"status": "healthy", "message": "Worker has completed startup and is ready to handle requests."})
        )
    );
    api.herder.set_health(Err(Unhealthy::Starting(
        "Worker is still starting up.".into(),
    )));
    assert_eq!(
        api.call("GET", "/health", None).await,
        (
            503,
            json!({"status": "starting", "message": "Worker is still starting up."})
        )
    );
    // KIP-1017: a worker that cannot do its work is 500 `unhealthy`.
    api.herder
        .set_health(Err(Unhealthy::Failing("no broker".into())));
    assert_eq!(
        api.call("GET", "/health", None).await,
        (500, json!({"status": "unhealthy", "message": "no broker"}))
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    let reply = api.raw("GET", "/metrics", None, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "text/plain; version=0.0.4");
    assert!(
        reply.body.contains(
            "kafka_connect_connect_worker_metrics_connector_count{connector=\"aggregate\"} 1"
        ),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn unknown_paths_are_404_with_kafkas_body() {
    let api = Api::new();
    for path in [
        "/nope",
        "/connectors/a/b/c/d",
        "/connectors/a/tasks/0",
        "/admin",
    ] {
        assert_eq!(
            api.call("GET", path, None).await,
            (404, error(404, "HTTP 404 Not Found")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_kafkas_body() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    for (method, path) in [
        ("DELETE", "/connectors"),
        ("POST", "/connectors/src"),
        ("GET", "/connectors/src/restart"),
        ("POST", "/connectors/src/pause"),
        ("GET", "/connectors/src/stop"),
        ("DELETE", "/connectors/src/config"),
        ("POST", "/connectors/src/offsets"),
        ("GET", "/connector-plugins/FakeSource/config/validate"),
        ("DELETE", "/admin/loggers/root"),
    ] {
        assert_eq!(
            api.call(method, path, None).await,
            (405, error(405, "HTTP 405 Method Not Allowed")),
            "{method} {path}"
        );
    }
    assert_eq!(
        api.call("GET", "/connectors/src", None).await.0,
        200,
        "nothing happened to the connector"
    );
}

#[tokio::test]
async fn bodies_must_be_declared_json() {
    let api = Api::new();
    let config = json!({"connector.class": "FakeSource", "topic": "t"});
    let create = json!({"name": "a", "config": config}).to_string();
    for (method, path, content_type, body) in [
        ("POST", "/connectors", Some("text/plain"), create.clone()),
        ("POST", "/connectors", None, create.clone()),
        (
            "PUT",
            "/connectors/a/config",
            Some("application/xml"),
            config.to_string(),
        ),
        ("PATCH", "/connectors/a/config", None, config.to_string()),
        (
            "PUT",
            "/connector-plugins/FakeSource/config/validate",
            Some("text/json"),
            config.to_string(),
        ),
        (
            "PUT",
            "/admin/loggers/x",
            None,
            json!({"level": "INFO"}).to_string(),
        ),
    ] {
        let reply = api
            .raw(method, path, Some((content_type.unwrap_or(""), body)), &[])
            .await;
        assert_eq!(
            (reply.status, reply.json()),
            (415, error(415, "HTTP 415 Unsupported Media Type")),
            "{method} {path} {content_type:?}"
        );
    }
    // Parameters and case do not matter.
    let reply = api
        .raw(
            "POST",
            "/connectors",
            Some(("Application/JSON; charset=utf-8", create)),
            &[],
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
}

#[tokio::test]
async fn trailing_slashes_name_the_same_resource() {
    let api = Api::new();
    api.source("src", TargetState::Started);
    assert_eq!(
        api.call("GET", "/connectors/", None).await,
        (200, json!(["src"]))
    );
    assert_eq!(
        api.call("GET", "/connectors/src/", None).await.1["name"],
        "src"
    );
    assert_eq!(
        api.call("GET", "/connectors/?expand=info", None).await.1["src"]["info"]["name"],
        "src",
        "the query survives"
    );
    assert_eq!(api.call("PUT", "/connectors/src/pause/", None).await.0, 202);
}

fn with_auth() -> Api {
    Api::with_options(RestOptions {
        basic_auth: Some(BasicAuth::parse("# users\nalice: secret\n").unwrap()),
        ..RestOptions::default()
    })
}

#[tokio::test]
async fn basic_auth_refuses_missing_or_wrong_credentials() {
    let api = with_auth();
    // alice:secret, alice:wrong, bob:secret, and not base64 at all.
    for header in [
        None,
        Some("Basic YWxpY2U6d3Jvbmc="),
        Some("Basic Ym9iOnNlY3JldA=="),
        Some("Basic !!!"),
        Some("Bearer YWxpY2U6c2VjcmV0"),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("authorization", h)).into_iter().collect();
        let reply = api.raw("GET", "/connectors", None, &headers).await;
        assert_eq!(
            (reply.status, reply.json()),
            (401, error(401, "User cannot access the resource.")),
            "{header:?}"
        );
        assert_eq!(reply.headers["www-authenticate"], "Basic realm=\"rampart\"");
    }
    let reply = api
        .raw(
            "GET",
            "/connectors",
            None,
            &[("authorization", "Basic YWxpY2U6c2VjcmV0")],
        )
        .await;
    assert_eq!((reply.status, reply.json()), (200, json!([])));
}

#[tokio::test]
async fn basic_auth_is_checked_before_the_route() {
    let api = with_auth();
    // An unknown path does not tell an anonymous client it is unknown.
    assert_eq!(api.call("GET", "/nope", None).await.0, 401);
    let create = json!({"name": "a", "config": {"connector.class": "FakeSource", "topic": "t"}});
    assert_eq!(api.call("POST", "/connectors", Some(create)).await.0, 401);
    assert_eq!(api.herder.target_state("a"), None, "nothing was created");
}

#[tokio::test]
async fn cors_headers_and_preflight() {
    let api = Api::with_options(RestOptions {
        cors: Cors {
            allow_origin: "http://ui.example".into(),
            allow_methods: "GET,PUT".into(),
        },
        ..RestOptions::default()
    });
    let reply = api
        .raw(
            "GET",
            "/connectors",
            None,
            &[("origin", "http://ui.example")],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers["access-control-allow-origin"],
        "http://ui.example"
    );
    assert_eq!(reply.headers["access-control-allow-methods"], "GET,PUT");
    let reply = api
        .raw(
            "OPTIONS",
            "/connectors/x/config",
            None,
            &[
                ("origin", "http://ui.example"),
                ("access-control-request-method", "PUT"),
            ],
        )
        .await;
    assert_eq!((reply.status, reply.json()), (200, Value::Null));
    assert_eq!(
        reply.headers["access-control-allow-headers"],
        "X-Requested-With,Content-Type,Accept,Origin,Authorization"
    );
    // Without CORS settings, no CORS headers.
    let plain = Api::new();
    let reply = plain
        .raw(
            "GET",
            "/connectors",
            None,
            &[("origin", "http://ui.example")],
        )
        .await;
    assert!(reply.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn options_lists_a_resources_methods_as_jersey_does() {
    let api = Api::new();
    let reply = api.raw("OPTIONS", "/connectors", None, &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["allow"], "GET,HEAD,POST,OPTIONS");
    assert_eq!(reply.headers["content-type"], "text/plain");
    assert_eq!(reply.body, "GET, HEAD, POST, OPTIONS");
    let reply = api
        .raw(
            "OPTIONS",
            "/connectors/src/config",
            None,
            &[("accept", "application/json")],
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert!(reply.body.is_empty());
    // A path no route serves is still a 404.
    assert_eq!(api.raw("OPTIONS", "/no/such", None, &[]).await.status, 404);
}
