//! `/admin/loggers`: change log levels at runtime.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::body::{config_map, parse, query_values};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

const LEVELS: &[&str] = &[
    "ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF",
];

pub(crate) async fn list(State(s): State<AppState>) -> Response {
    let levels: serde_json::Map<String, serde_json::Value> = s
        .loggers
        .levels()
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    Json(levels).into_response()
}

pub(crate) async fn get(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let level = s
        .loggers
        .level(&name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Logger {name} not found.")))?;
    Ok(Json(level).into_response())
}

pub(crate) async fn set(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    // Kafka binds the body to Map<String,String>: a body of another shape
    // is Jackson's 500 there, and a missing level a 400.
    let body = config_map(&parse(&headers, &body)?)?;
    let level = body.get("level").cloned().flatten().ok_or_else(|| {
        ApiError::bad_request("Desired 'level' parameter was not specified in request.")
    })?;
    let upper = level.to_ascii_uppercase();
    if !LEVELS.contains(&upper.as_str()) {
        // Kafka answers 404 here (sic).
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("invalid log level '{level}'."),
        ));
    }
    let scope = query_values(q.as_deref(), "scope")
        .first()
        .map(|s| s.to_ascii_lowercase());
    if scope
        .as_deref()
        .is_some_and(|s| s != "worker" && s != "cluster")
    {
        tracing::warn!(scope = ?scope, "unknown logging scope; using worker scope");
    }
    let affected = s
        .loggers
        .set_level(&name, &upper)
        .map_err(ApiError::bad_request)?;
    if scope.as_deref() == Some("cluster") {
        // A standalone cluster is this worker alone.
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok(Json(affected).into_response())
}
