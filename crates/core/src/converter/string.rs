//! `org.apache.kafka.connect.storage.StringConverter`.

use super::Converter;
use crate::data::{schemas, SchemaAndValue, SchemaRef, Value};
use crate::DataError;

/// Writes `toString()` of any value as UTF-8; reads bytes as an optional string.
#[derive(Debug, Default, Clone, Copy)]
pub struct StringConverter;

impl Converter for StringConverter {
    fn from_connect(
        &self,
        _topic: &str,
        _schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s.as_bytes().to_vec()),
            other => Some(other.to_string().into_bytes()),
        })
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        Ok(match data {
            None => SchemaAndValue {
                schema: Some(schemas::optional_string()),
                value: Value::Null,
            },
            Some(bytes) => SchemaAndValue {
                schema: Some(schemas::optional_string()),
                value: Value::String(String::from_utf8_lossy(bytes).into_owned()),
            },
        })
    }
}

header_converter_from_converter!(StringConverter);
