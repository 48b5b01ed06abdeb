//! `/connectors` and everything under it.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_core::herder::{
    ConnectorOffsets, ConnectorTaskId, InternalRequestSignature, TargetState,
};
use serde_json::{json, Map, Value};

use crate::body::{
    cannot_deserialize, config, config_map, java_bool, object, parse, parse_config, query_values,
    scalar, ConfigAt,
};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

fn name_mismatch(config_name: &str, url_name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "Connector name configuration ({config_name}) doesn't match connector name in the URL ({url_name})"
    ))
}

pub(crate) async fn list(State(s): State<AppState>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let expand = query_values(q.as_deref(), "expand");
    let (status, info) = (expand.contains(&"status"), expand.contains(&"info"));
    let names = s.herder.connectors().await;
    if expand.is_empty() {
        return Ok(Json(names).into_response());
    }
    let mut out = Map::new();
    for name in names {
        let mut entry = Map::new();
        // Connectors deleted mid-request are silently omitted, as in Kafka.
        if status {
            match s.herder.connector_status(&name).await {
                Ok(st) => entry.insert("status".into(), json!(st)),
                Err(_) => continue,
            };
        }
        if info {
            match s.herder.connector_info(&name).await {
                Ok(i) => entry.insert("info".into(), json!(i)),
                Err(_) => continue,
            };
        }
        out.insert(name, Value::Object(entry));
    }
    Ok(Json(Value::Object(out)).into_response())
}

pub(crate) async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_config(&headers, &body, ConfigAt::Field("config"))?;
    // A missing name is an empty one, which validation then refuses with
    // Java's message ("Invalid value  for configuration name: …").
    let body = object(
        &body,
        "org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest",
    )?;
    let name = match body.get("name") {
        Some(n) => scalar("name", n)?.map(|n| n.trim().to_string()),
        None => None,
    }
    .unwrap_or_default();
    let mut cfg = match body.get("config") {
        Some(c) if !c.is_null() => config(c)?,
        _ => return Err(ApiError::bad_request("Connector config must be provided")),
    };
    match cfg.get("name") {
        Some(n) if n != &name => return Err(name_mismatch(n, &name)),
        Some(_) => {}
        None => {
            cfg.insert("name".into(), name.clone());
        }
    }
    let initial_state = match body.get("initial_state").and_then(Value::as_str) {
        None => None,
        // Java fails to deserialise the request: a 500 with Jackson's text.
        Some(st) => Some(TargetState::from_initial_state(st).ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "Cannot construct instance of `org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest$InitialState`, problem: No enum constant org.apache.kafka.connect.runtime.rest.entities.CreateConnectorRequest.InitialState.{st}"
                ),
            )
        })?),
    };
    let created = s
        .herder
        .put_connector_config(&name, cfg, false, initial_state)
        .await?;
    let location = format!("/connectors/{name}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(created.info),
    )
        .into_response())
}

pub(crate) async fn get(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.connector_info(&name).await?).into_response())
}

pub(crate) async fn delete(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.herder.delete_connector(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn get_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.connector_config(&name).await?).into_response())
}

pub(crate) async fn put_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_config(&headers, &body, ConfigAt::Body)?;
    let mut cfg = config(&body)?;
    match cfg.get("name") {
        Some(n) if n != &name => return Err(name_mismatch(n, &name)),
        Some(_) => {}
        None => {
            cfg.insert("name".into(), name.clone());
        }
    }
    let created = s
        .herder
        .put_connector_config(&name, cfg, true, None)
        .await?;
    if created.created {
        let location = format!("/connectors/{name}");
        Ok((
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(created.info),
        )
            .into_response())
    } else {
        Ok(Json(created.info).into_response())
    }
}

pub(crate) async fn patch_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_config(&headers, &body, ConfigAt::Body)?;
    let patch: BTreeMap<String, Option<String>> = config_map(&body)?;
    if let Some(Some(n)) = patch.get("name") {
        if n != &name {
            return Err(name_mismatch(n, &name));
        }
    }
    Ok(Json(s.herder.patch_connector_config(&name, patch).await?).into_response())
}

pub(crate) async fn status(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.connector_status(&name).await?).into_response())
}

pub(crate) async fn restart(
    State(s): State<AppState>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let include_tasks = java_bool(query_values(q.as_deref(), "includeTasks").first().copied());
    let only_failed = java_bool(query_values(q.as_deref(), "onlyFailed").first().copied());
    match s
        .herder
        .restart_connector(&name, include_tasks, only_failed)
        .await?
    {
        None => Ok(StatusCode::NO_CONTENT.into_response()),
        Some(status) => Ok((StatusCode::ACCEPTED, Json(status)).into_response()),
    }
}

async fn target(s: &AppState, name: &str, state: TargetState) -> ApiResult<()> {
    Ok(s.herder.set_target_state(name, state).await?)
}

pub(crate) async fn pause(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    target(&s, &name, TargetState::Paused).await?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn resume(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    target(&s, &name, TargetState::Started).await?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn stop(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    target(&s, &name, TargetState::Stopped).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn tasks(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.task_configs(&name).await?).into_response())
}

pub(crate) async fn put_task_configs(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let configs = match parse(&headers, &body)? {
        Value::Array(items) => items.iter().map(config).collect::<ApiResult<Vec<_>>>()?,
        other => {
            return Err(cannot_deserialize(
                "java.util.ArrayList<java.util.Map<java.lang.String,java.lang.String>>",
                &other,
            ))
        }
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let signature = match (
        header("x-connect-request-signature-algorithm"),
        header("x-connect-authorization"),
    ) {
        (Some(algorithm), Some(signature)) => Some(InternalRequestSignature {
            algorithm,
            signature,
        }),
        _ => None,
    };
    s.herder
        .put_task_configs(&name, configs, signature, &body)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) async fn tasks_config(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    tracing::warn!("the GET /connectors/{{connector}}/tasks-config endpoint is deprecated and will be removed in the next major release");
    let tasks = s.herder.task_configs(&name).await?;
    let map: Map<String, Value> = tasks
        .into_iter()
        .map(|t| (t.id.to_string(), json!(t.config)))
        .collect();
    Ok(Json(Value::Object(map)).into_response())
}

fn task_id(name: String, task: &str) -> ApiResult<ConnectorTaskId> {
    let task = task
        .parse::<u32>()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found"))?;
    Ok(ConnectorTaskId {
        connector: name,
        task,
    })
}

pub(crate) async fn task_status(
    State(s): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = task_id(name, &task)?;
    Ok(Json(s.herder.task_status(&id).await?).into_response())
}

pub(crate) async fn restart_task(
    State(s): State<AppState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = task_id(name, &task)?;
    s.herder.restart_task(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) async fn topics(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    let topics = s.herder.active_topics(&name).await?;
    Ok(Json(json!({ name: {"topics": topics} })).into_response())
}

pub(crate) async fn reset_topics(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    s.herder.reset_active_topics(&name).await?;
    Ok(StatusCode::ACCEPTED)
}

pub(crate) async fn offsets(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.offsets(&name).await?).into_response())
}

pub(crate) async fn alter_offsets(
    State(s): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse(&headers, &body)?;
    if body.get("offsets").is_none_or(Value::is_null) {
        return Err(ApiError::bad_request(
            "Partitions / offsets need to be provided for an alter offsets request",
        ));
    }
    let offsets: ConnectorOffsets = serde_json::from_value(body).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot deserialize request body: {e}"),
        )
    })?;
    Ok(Json(s.herder.alter_offsets(&name, offsets).await?).into_response())
}

pub(crate) async fn reset_offsets(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(s.herder.reset_offsets(&name).await?).into_response())
}
