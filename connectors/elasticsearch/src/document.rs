//! Records to JSON documents, written straight into the bulk body (no
//! intermediate JSON tree: this is the sink's hot path).
//!
//! The shape follows Confluent's `DataConverter` over Kafka's
//! `JsonConverter`: structs and string-keyed maps become objects, other maps
//! become arrays of `{"key":…,"value":…}` entries, bytes are base64. With a
//! schema (and `schema.ignore=false`) Decimals become numbers and
//! `compact.map.entries=false` writes string-keyed maps as entries too.
//! A string value holding a JSON object (e.g. from `StringConverter`) is
//! indexed as that object, which Confluent's connector cannot do.

use base64::Engine as _;
use rampart_core::data::{logical, Schema, Value};
use serde::de::IgnoredAny;
use thiserror::Error;

/// A record that cannot become a document: never retryable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocumentError {
    /// Elasticsearch documents are JSON objects.
    #[error("record value of type {0} cannot be indexed: a document must be a JSON object")]
    NotAnObject(&'static str),
    /// The key used as document id is not a primitive.
    #[error(
        "record key of type {0} cannot be used as document id: it must be a string or a number"
    )]
    BadKey(&'static str),
    /// The key used as document id is null.
    #[error("record key is null but is used as document id (set key.ignore=true to use topic+partition+offset)")]
    NullKey,
}

/// How values are written.
#[derive(Debug, Clone, Copy)]
pub struct DocumentOptions {
    /// Use the value schema (Decimals as numbers, map layout).
    pub use_schema: bool,
    /// `compact.map.entries`
    pub compact_map_entries: bool,
}

/// Writes the record value as one line of JSON.
pub fn write_document(
    out: &mut Vec<u8>,
    schema: Option<&Schema>,
    value: &Value,
    opts: DocumentOptions,
) -> Result<(), DocumentError> {
    match value {
        Value::Struct(_) | Value::Map(_) => {
            let schema = if opts.use_schema { schema } else { None };
            write_value(out, schema, value, opts);
            Ok(())
        }
        Value::String(s) => write_json_object_text(out, s),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => write_json_object_text(out, s),
            Err(_) => Err(DocumentError::NotAnObject("bytes")),
        },
        other => Err(DocumentError::NotAnObject(other.type_label())),
    }
}

fn write_json_object_text(out: &mut Vec<u8>, text: &str) -> Result<(), DocumentError> {
    let trimmed = text.trim();
    if !trimmed.starts_with('{') {
        return Err(DocumentError::NotAnObject("string"));
    }
    // Validate without building a tree; a newline inside the object (between
    // tokens: JSON strings cannot hold raw newlines) would break NDJSON
    // framing, so such text is re-serialised compactly.
    if trimmed.contains(['\n', '\r']) {
        let v: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|_| DocumentError::NotAnObject("string"))?;
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &v);
    } else {
        serde_json::from_str::<IgnoredAny>(trimmed)
            .map_err(|_| DocumentError::NotAnObject("string"))?;
        out.extend_from_slice(trimmed.as_bytes());
    }
    Ok(())
}

/// The document id from a key: strings as they are, numbers in decimal.
pub fn key_to_id(key: &Value) -> Result<String, DocumentError> {
    match key {
        Value::Null => Err(DocumentError::NullKey),
        Value::String(s) => Ok(s.clone()),
        Value::Int8(n) => Ok(n.to_string()),
        Value::Int16(n) => Ok(n.to_string()),
        Value::Int32(n) => Ok(n.to_string()),
        Value::Int64(n) => Ok(n.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        other => Err(DocumentError::BadKey(other.type_label())),
    }
}

/// Writes a JSON string with JSON escaping.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn write_f64(out: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        let _ = serde_json::to_writer(&mut *out, &f);
    } else {
        out.extend_from_slice(b"null");
    }
}

fn write_int(out: &mut Vec<u8>, n: i64) {
    use std::io::Write as _;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{n}");
}

fn write_value(out: &mut Vec<u8>, schema: Option<&Schema>, value: &Value, opts: DocumentOptions) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(n) => write_int(out, i64::from(*n)),
        Value::Int16(n) => write_int(out, i64::from(*n)),
        Value::Int32(n) => write_int(out, i64::from(*n)),
        Value::Int64(n) => write_int(out, *n),
        Value::Float32(f) => write_f64(out, f64::from(*f)),
        Value::Float64(f) => write_f64(out, *f),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            let decimal_scale = schema
                .filter(|s| s.name.as_deref() == Some(logical::DECIMAL))
                .map(|s| {
                    s.parameter(logical::DECIMAL_SCALE)
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0)
                });
            match decimal_scale.and_then(|scale| decimal_to_f64(b, scale)) {
                Some(f) => write_f64(out, f),
                None => {
                    out.push(b'"');
                    out.extend_from_slice(
                        base64::engine::general_purpose::STANDARD
                            .encode(b)
                            .as_bytes(),
                    );
                    out.push(b'"');
                }
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item_schema, v, opts);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            let (ks, vs) = schema.map_or((None, None), |s| {
                (s.key_schema.as_deref(), s.value_schema.as_deref())
            });
            let string_keys = entries.iter().all(|(k, _)| matches!(k, Value::String(_)));
            // With a schema, `compact.map.entries=false` asks for entries.
            let compact = string_keys && (schema.is_none() || opts.compact_map_entries);
            if compact {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    if let Value::String(k) = k {
                        write_str(out, k);
                    }
                    out.push(b':');
                    write_value(out, vs, v, opts);
                }
                out.push(b'}');
            } else {
                out.push(b'[');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"{\"key\":");
                    write_value(out, ks, k, opts);
                    out.extend_from_slice(b",\"value\":");
                    write_value(out, vs, v, opts);
                    out.push(b'}');
                }
                out.push(b']');
            }
        }
        Value::Struct(st) => {
            let use_schema = schema.is_some();
            out.push(b'{');
            for (i, (field, v)) in st.schema.fields.iter().zip(&st.values).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &field.name);
                out.push(b':');
                write_value(out, use_schema.then_some(&*field.schema), v, opts);
            }
            out.push(b'}');
        }
    }
}

// A Decimal's unscaled value is big-endian two's complement.
fn decimal_to_f64(bytes: &[u8], scale: i32) -> Option<f64> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    let negative = bytes[0] & 0x80 != 0;
    let mut n: i128 = if negative { -1 } else { 0 };
    for b in bytes {
        n = (n << 8) | i128::from(*b);
    }
    Some(n as f64 / 10f64.powi(scale))
}
