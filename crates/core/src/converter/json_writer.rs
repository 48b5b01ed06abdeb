//! Writes Connect data as JSON text directly, without building a
//! `serde_json::Value` tree first: the source hot path converts every record,
//! and the tree cost more than the parsing that produced the record.
//!
//! The output and the errors are those of [`super::json`]'s tree conversion,
//! byte for byte (a test holds the two together). Maps go through the tree,
//! because a map may repeat a key and the tree keeps the last value in the
//! first key's position; they are rare on hot paths.

use std::io::Write as _;

use base64::Engine as _;
use serde_json::Number;

use super::json::{convert_to_json, decimal_to_string, DecimalFormat, JsonConverterConfig};
use crate::data::{logical, Schema, Value};
use crate::DataError;

fn ser_error(e: impl std::fmt::Display) -> DataError {
    DataError::new(format!(
        "Converting Kafka Connect data to byte[] failed due to serialization error: {e}"
    ))
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), DataError> {
    serde_json::to_writer(&mut *out, s).map_err(ser_error)
}

fn write_number(out: &mut Vec<u8>, n: Option<Number>) -> Result<(), DataError> {
    match n {
        Some(n) => serde_json::to_writer(&mut *out, &n).map_err(ser_error),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{v}");
}

/// Appends `value` as JSON to `out`, checked against `schema` when given.
pub(super) fn write_json(
    config: &JsonConverterConfig,
    schema: Option<&Schema>,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), DataError> {
    if value.is_null() {
        return match schema {
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Some(s) => {
                if let (Some(d), true) = (&s.default, config.replace_null_with_default) {
                    write_json(config, Some(s), d, out)
                } else if s.optional || s.default.is_some() {
                    out.extend_from_slice(b"null");
                    Ok(())
                } else {
                    Err(DataError::new(
                        "Conversion error: null value for field that is required and has no default value",
                    ))
                }
            }
        };
    }
    if let Some(s) = schema {
        value.validate_shallow(s)?;
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => write_int(out, (*v).into()),
        Value::Int16(v) => write_int(out, (*v).into()),
        Value::Int32(v) => write_int(out, (*v).into()),
        Value::Int64(v) => write_int(out, *v),
        Value::Float32(v) => write_number(out, Number::from_f64(f64::from(*v)))?,
        Value::Float64(v) => write_number(out, Number::from_f64(*v))?,
        Value::String(s) => write_str(out, s)?,
        Value::Bytes(b) => {
            let decimal_scale = schema
                .filter(|s| s.name.as_deref() == Some(logical::DECIMAL))
                .map(|s| {
                    s.parameter(logical::DECIMAL_SCALE)
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0u32)
                });
            match (decimal_scale, config.decimal_format) {
                (Some(scale), DecimalFormat::Numeric) => {
                    let text = decimal_to_string(b, scale);
                    match serde_json::from_str::<Number>(&text) {
                        Ok(n) => write_number(out, Some(n))?,
                        Err(_) => write_str(out, &text)?,
                    }
                }
                _ => write_str(out, &base64::engine::general_purpose::STANDARD.encode(b))?,
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(config, item_schema, item, out)?;
            }
            out.push(b']');
        }
        Value::Map(_) => {
            let tree = convert_to_json(config, schema, value)?;
            serde_json::to_writer(&mut *out, &tree).map_err(ser_error)?;
        }
        Value::Struct(s) => {
            out.push(b'{');
            for (i, field) in s.schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &field.name)?;
                out.push(b':');
                let v = s.values.get(field.index).unwrap_or(&Value::Null);
                write_json(config, Some(&field.schema), v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}
