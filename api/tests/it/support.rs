//! The API under test over a fresh fake herder, and request helpers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request};
use http_body_util::BodyExt;
use rampart_api::testing::{app_state, FakeHerder, FAKE_SINK, FAKE_SOURCE};
use rampart_api::{AppState, RestOptions};
use rampart_core::herder::TargetState;
use serde_json::{json, Value};
use tower::ServiceExt;

/// An answer: status, headers and the body as text.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

pub struct Api {
    pub herder: Arc<FakeHerder>,
    state: AppState,
    options: RestOptions,
}

impl Api {
    pub fn new() -> Api {
        Api::with_options(RestOptions::default())
    }

    pub fn with_options(options: RestOptions) -> Api {
        let herder = Arc::new(FakeHerder::new());
        Api {
            state: app_state(herder.clone()),
            herder,
            options,
        }
    }

    /// A running source connector `name` with one task.
    pub fn source(&self, name: &str, target: TargetState) {
        self.herder
            .put_connector(
                name,
                &[("connector.class", FAKE_SOURCE), ("topic", "t")],
                target,
            )
            .unwrap();
    }

    /// A sink connector `name` with `tasks` tasks.
    pub fn sink(&self, name: &str, tasks: u32, target: TargetState) {
        self.herder
            .put_connector(
                name,
                &[
                    ("connector.class", FAKE_SINK),
                    ("topics", "in"),
                    ("tasks.max", &tasks.to_string()),
                ],
                target,
            )
            .unwrap();
    }

    /// A request with an optional JSON body; the answer's body as JSON
    /// (null when empty, a string when not JSON).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let reply = self
            .raw(
                method,
                path,
                body.map(|b| ("application/json", b.to_string())),
                &[],
            )
            .await;
        (reply.status, reply.json())
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            // An empty content type sends the body without the header.
            Some(("", b)) => req.body(Body::from(b)).unwrap(),
            Some((content_type, b)) => req
                .header("content-type", content_type)
                .body(Body::from(b))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        let resp = rampart_api::service(self.state.clone(), &self.options)
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

impl Reply {
    pub fn json(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&self.body).unwrap_or_else(|_| Value::String(self.body.clone()))
    }
}

/// Kafka Connect's error body.
pub fn error(code: u16, message: &str) -> Value {
    json!({"error_code": code, "message": message})
}
