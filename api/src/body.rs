//! Request bodies as Kafka Connect's Jackson reads them: config maps are
//! `Map<String,String>` with scalar JSON values coerced to strings.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value as Json;

use crate::error::{ApiError, ApiResult};

/// Rejects bodies that are not declared `application/json` (Jersey's 415).
pub fn require_json(headers: &HeaderMap) -> ApiResult<()> {
    let ok = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "HTTP 415 Unsupported Media Type",
        ))
    }
}

/// Parses a JSON body (Jackson parse errors are a 500 in Kafka Connect).
pub fn parse(headers: &HeaderMap, body: &Bytes) -> ApiResult<Json> {
    require_json(headers)?;
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Cannot deserialize request body: {e}"),
        )
    })
}

/// How Jackson names a JSON token in its "Cannot deserialize" messages.
fn jackson_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "Null value",
        Json::Bool(_) => "Boolean value",
        Json::Number(n) if n.is_f64() => "Floating-point value",
        Json::Number(_) => "Integer value",
        Json::String(_) => "String value",
        Json::Array(_) => "Array value",
        Json::Object(_) => "Object value",
    }
}

/// The 500 Kafka Connect answers when Jackson cannot bind a body: a
/// malformed body is a server error there, and clients written against it
/// see the same status here.
pub fn cannot_deserialize(java_type: &str, v: &Json) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "Cannot deserialize value of type `{java_type}` from {}",
            jackson_kind(v)
        ),
    )
}

/// The Java type a config map body binds to.
pub const STRING_MAP: &str = "java.util.LinkedHashMap<java.lang.String,java.lang.String>";

/// The body as a JSON object, or Jackson's 500 for binding it to `java_type`.
pub fn object<'v>(v: &'v Json, java_type: &str) -> ApiResult<&'v serde_json::Map<String, Json>> {
    v.as_object()
        .ok_or_else(|| cannot_deserialize(java_type, v))
}

/// A scalar JSON value as the string Jackson coerces it to.
pub fn scalar(key: &str, v: &Json) -> ApiResult<Option<String>> {
    Ok(match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Number(n) => Some(n.to_string()),
        Json::Array(_) | Json::Object(_) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "Cannot deserialize value of type `java.lang.String` from {} for key \"{key}\"",
                    jackson_kind(v)
                ),
            ))
        }
    })
}

/// A config map; JSON nulls are kept as `None` (PATCH deletes them).
pub fn config_map(v: &Json) -> ApiResult<BTreeMap<String, Option<String>>> {
    object(v, STRING_MAP)?
        .iter()
        .map(|(k, v)| Ok((k.clone(), scalar(k, v)?)))
        .collect()
}

/// A config map for create or replace: JSON nulls are refused, as Kafka
/// refuses them.
pub fn config(v: &Json) -> ApiResult<BTreeMap<String, String>> {
    config_map(v)?
        .into_iter()
        .map(|(k, v)| {
            v.map(|v| (k, v)).ok_or_else(|| {
                ApiError::bad_request("Null value can not be supplied as the configuration value.")
            })
        })
        .collect()
}

/// Java's `Boolean.valueOf`: true only for "true", ignoring case.
pub fn java_bool(v: Option<&str>) -> bool {
    v.is_some_and(|s| s.eq_ignore_ascii_case("true"))
}

/// All values of a repeatable query parameter (`expand=status&expand=info`).
pub fn query_values<'a>(query: Option<&'a str>, name: &str) -> Vec<&'a str> {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
        .collect()
}
