//! `GET /` and `GET /health`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_core::herder::{Unhealthy, WorkerStatus};

use crate::AppState;

pub(crate) async fn server_info(State(s): State<AppState>) -> Response {
    Json(s.herder.server_info().await).into_response()
}

pub(crate) async fn health(State(s): State<AppState>) -> Response {
    let check = tokio::time::timeout(std::time::Duration::from_secs(10), s.herder.health()).await;
    match check {
        Ok(Ok(())) => Json(WorkerStatus {
            status: "healthy".into(),
            message: "Worker has completed startup and is ready to handle requests.".into(),
        })
        .into_response(),
        Ok(Err(Unhealthy::Starting(detail))) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(WorkerStatus { status: "starting".into(), message: detail }),
        )
            .into_response(),
        Ok(Err(Unhealthy::Failing(detail))) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(WorkerStatus { status: "unhealthy".into(), message: detail }),
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(WorkerStatus {
                status: "unhealthy".into(),
                message: "Worker was unable to handle this request and may be unable to handle other requests.".into(),
            }),
        )
            .into_response(),
    }
}

pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        s.herder.metrics().await,
    )
        .into_response()
}
