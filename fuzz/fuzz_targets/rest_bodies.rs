//! Sends arbitrary bytes as the JSON body of every REST endpoint that takes
//! one, or may be sent one, through the whole router (auth, forwarding and
//! trailing-slash layers included) against the in-memory `FakeHerder`.
//! The first byte picks the endpoint and the connector it names; the rest
//! is the body, declared `application/json`.
//!
//! A request body is the client's input: it must never make the worker
//! panic. The only 5xx allowed are those Kafka Connect itself answers with
//! 500, which clients written against it expect (see `kafka_answers_500`):
//! a body Jackson cannot parse or bind, and the herder failures Connect
//! reports as server errors. The differential test against Java Connect
//! (`tests/it/differential_rest.rs`) checks those answers request by
//! request.
//!
//! Run from this directory, with the dictionary of the API's JSON keys:
//! `cargo +nightly fuzz run rest_bodies -- -dict=rest_bodies.dict`

#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use rampart_api::testing::{app_state, FakeHerder, FAKE_SINK, FAKE_SOURCE};
use rampart_api::RestOptions;
use rampart_core::herder::TargetState;
use tower::ServiceExt;

// `{c}` is replaced by the connector the first byte picks.
const ENDPOINTS: &[(&str, &str)] = &[
    ("POST", "/connectors"),
    ("PUT", "/connectors/{c}/config"),
    ("PATCH", "/connectors/{c}/config"),
    ("PATCH", "/connectors/{c}/offsets"),
    ("POST", "/connectors/{c}/tasks"),
    ("PUT", "/connector-plugins/FakeSource/config/validate"),
    ("PUT", "/connector-plugins/FakeSink/config/validate"),
    ("PUT", "/admin/loggers/{c}"),
    // These take no body, but a client may send one.
    ("POST", "/connectors/{c}/restart?includeTasks=true"),
    ("POST", "/connectors/{c}/tasks/0/restart"),
    ("PUT", "/connectors/{c}/pause"),
    ("PUT", "/connectors/{c}/resume"),
    ("PUT", "/connectors/{c}/stop"),
    ("PUT", "/connectors/{c}/topics/reset"),
];

// A stopped source and sink (their offsets may change), a running source
// (they may not), and a connector that does not exist.
const CONNECTORS: [&str; 4] = ["src", "snk", "running", "ghost"];

fn herder() -> Arc<FakeHerder> {
    let herder = FakeHerder::new();
    let source = [("connector.class", FAKE_SOURCE), ("topic", "t")];
    let sink = [
        ("connector.class", FAKE_SINK),
        ("topics", "in"),
        ("tasks.max", "2"),
    ];
    for (name, config, target) in [
        ("src", &source[..], TargetState::Stopped),
        ("snk", &sink[..], TargetState::Stopped),
        ("running", &source[..], TargetState::Started),
    ] {
        herder
            .put_connector(name, config, target)
            .expect("the seed configs are valid");
    }
    Arc::new(herder)
}

// What Kafka Connect 3.9 answers with 500 by design, which clients see
// too: a body Jackson cannot parse ("Cannot deserialize request body: …",
// serde_json's text after the prefix) or bind to Connect's entities
// ("Cannot deserialize value of type …", "Cannot construct instance of …");
// an unknown `connector.class`, a ConnectException; and `config/validate`
// rethrowing what failed in the herder (the cause's class starts the
// message). Everything else 5xx is a bug.
fn kafka_answers_500(path: &str, message: &str) -> bool {
    message.starts_with("Cannot deserialize ")
        || message.starts_with("Cannot construct instance of ")
        || message.starts_with("Failed to find any class that implements Connector")
        || (path.ends_with("/config/validate") && message.starts_with("org.apache.kafka.connect."))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let pick = usize::from(pick);
    let (method, template) = ENDPOINTS[pick % ENDPOINTS.len()];
    let connector = CONNECTORS[pick / ENDPOINTS.len() % CONNECTORS.len()];
    let path = template.replace("{c}", connector);
    let request = Request::builder()
        .method(method)
        .uri(&path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_vec()))
        .expect("the method, path and header are valid");
    // A fresh herder per input, so every input replays alike.
    let service = rampart_api::service(app_state(herder()), &RestOptions::default());
    runtime().block_on(async {
        let response = service
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a buffered body can be read");
        if status.is_server_error() {
            let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(
                kafka_answers_500(&path, message),
                "{method} {path} with body {:?} answered {status}: {}",
                String::from_utf8_lossy(body),
                String::from_utf8_lossy(&bytes)
            );
        }
    });
});
