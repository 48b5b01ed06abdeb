//! `org.apache.kafka.connect.converters.ByteArrayConverter`.

use super::Converter;
use crate::data::{schemas, SchemaAndValue, SchemaRef, SchemaType, Value};
use crate::DataError;

/// Passes bytes through unchanged.
#[derive(Debug, Default, Clone, Copy)]
pub struct ByteArrayConverter;

impl Converter for ByteArrayConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if let Some(s) = schema {
            if s.kind != SchemaType::Bytes {
                return Err(DataError::new(format!(
                    "Invalid schema type for ByteArrayConverter: {}",
                    s.kind.upper_name()
                )));
            }
        }
        match value {
            Value::Null => Ok(None),
            Value::Bytes(b) => Ok(Some(b.clone())),
            other => Err(DataError::new(format!(
                "ByteArrayConverter is not compatible with objects of type {}",
                other.type_label()
            ))),
        }
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        Ok(SchemaAndValue {
            schema: Some(schemas::optional_bytes()),
            value: data.map_or(Value::Null, |b| Value::Bytes(b.to_vec())),
        })
    }
}

// Java's ByteArrayConverter is a header converter too, with the same rules.
header_converter_from_converter!(ByteArrayConverter);
