//! Request bodies as Kafka Connect's Jackson reads them: config maps are
//! `Map<String,String>` with scalar JSON values coerced to strings.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
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

/// Which part of a body is a connector config.
#[derive(Debug, Clone, Copy)]
pub enum ConfigAt {
    /// The whole body (`PUT …/config`, `PATCH …/config`, validate).
    Body,
    /// One field of it (`config` of `POST /connectors`).
    Field(&'static str),
}

/// An object's members in document order, a repeated key keeping its first
/// place and its last value, as serde_json's (and Jackson's) maps do; each
/// value still as written.
struct Members(IndexMap<String, Box<RawValue>>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = IndexMap::new();
                while let Some((key, value)) = map.next_entry::<String, Box<RawValue>>()? {
                    members.insert(key, value);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn members(text: &[u8]) -> Option<IndexMap<String, Box<RawValue>>> {
    serde_json::from_slice::<Members>(text).ok().map(|m| m.0)
}

/// Parses a JSON body holding a connector config. Jackson binds a number to
/// a `String` (a config value, a connector's name) by its text as written,
/// so `1.50` stays `"1.50"`, and `1e400` or a 30-digit integer is kept
/// rather than refused: those numbers are taken as text before serde_json
/// reads them as numbers.
pub fn parse_config(headers: &HeaderMap, body: &Bytes, at: ConfigAt) -> ApiResult<Json> {
    require_json(headers)?;
    // Not an object: the plain parse gives the error Java gives.
    let Some(fields) = members(body) else {
        return parse(headers, body);
    };
    match at {
        ConfigAt::Body => config_object(fields),
        ConfigAt::Field(field) => {
            let mut out = serde_json::Map::new();
            for (key, raw) in fields {
                let nested = (key == field)
                    .then(|| members(raw.get().as_bytes()))
                    .flatten();
                let value = match nested {
                    Some(config) => config_object(config)?,
                    None if key == "name" => as_written(&raw)?,
                    None => read(raw.get())?,
                };
                out.insert(key, value);
            }
            Ok(Json::Object(out))
        }
    }
}

/// A config object whose number values are their text as written.
fn config_object(fields: IndexMap<String, Box<RawValue>>) -> ApiResult<Json> {
    let mut out = serde_json::Map::new();
    for (key, raw) in fields {
        out.insert(key, as_written(&raw)?);
    }
    Ok(Json::Object(out))
}

/// A number as the string of its text; anything else as JSON.
fn as_written(raw: &RawValue) -> ApiResult<Json> {
    let text = raw.get();
    if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        Ok(Json::String(text.to_string()))
    } else {
        read(text)
    }
}

/// A fragment of a body that is already known to be well-formed JSON.
fn read(text: &str) -> ApiResult<Json> {
    serde_json::from_str(text).map_err(|e| {
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
