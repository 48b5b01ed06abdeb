//! `/connector-plugins`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::body::{config, parse_config, query_values, ConfigAt};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub(crate) async fn list(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    // `connectorsOnly` defaults to true; only an explicit false lists the rest.
    let connectors_only = !query_values(q.as_deref(), "connectorsOnly")
        .first()
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    Json(s.herder.plugins(connectors_only)).into_response()
}

pub(crate) async fn config_def(
    State(s): State<AppState>,
    Path(plugin): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.plugin_config(&plugin)?).into_response())
}

fn normalise(class: &str) -> &str {
    let simple = class.rsplit('.').next().unwrap_or(class);
    simple.strip_suffix("Connector").unwrap_or(simple)
}

pub(crate) async fn validate(
    State(s): State<AppState>,
    Path(plugin): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_config(&headers, &body, ConfigAt::Body)?;
    let cfg = config(&body)?;
    if let Some(c) = cfg.get("connector.class") {
        if normalise(c) != normalise(&plugin) {
            return Err(ApiError::bad_request(format!(
                "Included connector type {c} does not match request type {plugin}"
            )));
        }
    }
    // Java validates through a callback and rethrows what failed wrapped in
    // a ConnectException: a 500 whose message starts with the cause's class
    // (a config without connector.class, an unknown plugin).
    match s.herder.validate(&cfg).await {
        Ok(infos) => Ok(Json(infos).into_response()),
        Err(e) => Err(ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            e.trace(),
        )),
    }
}
