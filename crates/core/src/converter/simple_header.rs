//! `org.apache.kafka.connect.storage.SimpleHeaderConverter`: header values as
//! strings, with types inferred when reading, as Kafka's `Values.parseString`.

use std::sync::Arc;

use super::HeaderConverter;
use crate::data::{schemas, Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use crate::DataError;

/// The worker's default header converter.
#[derive(Debug, Default, Clone, Copy)]
pub struct SimpleHeaderConverter;

impl HeaderConverter for SimpleHeaderConverter {
    fn from_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(other.to_string().into_bytes()),
        })
    }

    fn to_connect_header(
        &self,
        _topic: &str,
        _key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = data else {
            return Ok(SchemaAndValue::null());
        };
        let text = String::from_utf8_lossy(bytes);
        Ok(infer(&text))
    }
}

fn typed(kind: SchemaType, value: Value) -> SchemaAndValue {
    SchemaAndValue {
        schema: Some(Arc::new(Schema::new(kind))),
        value,
    }
}

fn infer(text: &str) -> SchemaAndValue {
    let t = text.trim();
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return typed(
            SchemaType::Boolean,
            Value::Boolean(t.eq_ignore_ascii_case("true")),
        );
    }
    if !t.is_empty() && t == text {
        if let Ok(n) = t.parse::<i64>() {
            // Narrowest integer type, as Values.parseString does.
            return if let Ok(v) = i8::try_from(n) {
                typed(SchemaType::Int8, Value::Int8(v))
            } else if let Ok(v) = i16::try_from(n) {
                typed(SchemaType::Int16, Value::Int16(v))
            } else if let Ok(v) = i32::try_from(n) {
                typed(SchemaType::Int32, Value::Int32(v))
            } else {
                typed(SchemaType::Int64, Value::Int64(n))
            };
        }
        if t.contains('.') || t.contains('e') || t.contains('E') {
            if let Ok(f) = t.parse::<f64>() {
                if f.is_finite() {
                    return typed(SchemaType::Float64, Value::Float64(f));
                }
            }
        }
    }
    SchemaAndValue {
        schema: Some(schemas::string()),
        value: Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_like_values_parse_string() {
        let c = SimpleHeaderConverter;
        let read = |s: &str| c.to_connect_header("t", "k", Some(s.as_bytes())).unwrap();
        assert_eq!(read("42").value, Value::Int8(42));
        assert_eq!(read("40000").value, Value::Int32(40000));
        assert_eq!(read("true").value, Value::Boolean(true));
        assert_eq!(read("1.5").value, Value::Float64(1.5));
        assert_eq!(read("host-1").value, Value::string("host-1"));
        assert_eq!(
            c.from_connect_header("t", "k", None, &Value::Int32(7))
                .unwrap()
                .as_deref(),
            Some(&b"7"[..])
        );
    }
}
