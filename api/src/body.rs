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

/// A scalar JSON value as the string Jackson coerces it to.
fn scalar(key: &str, v: &Json) -> ApiResult<Option<String>> {
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
                    if v.is_array() {
                        "Array value"
                    } else {
                        "Object value"
                    }
                ),
            ))
        }
    })
}

/// A config map; JSON nulls are kept as `None` (PATCH deletes them).
pub fn config_map(v: &Json) -> ApiResult<BTreeMap<String, Option<String>>> {
    let obj = v.as_object().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot deserialize value of type `java.util.Map` from non-object value",
        )
    })?;
    obj.iter()
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
