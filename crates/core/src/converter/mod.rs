//! Converters between Connect data and the bytes stored in Kafka, by the
//! class names users already configure.

/// Makes a converter a header converter with the same rules, as Java's
/// `StringConverter`, `JsonConverter`, `ByteArrayConverter` and number
/// converters implement `HeaderConverter` with their own
/// `fromConnectData`/`toConnectData`.
macro_rules! header_converter_from_converter {
    ($ty:ty) => {
        impl $crate::converter::HeaderConverter for $ty {
            fn from_connect_header(
                &self,
                topic: &str,
                _key: &str,
                schema: Option<&$crate::data::SchemaRef>,
                value: &$crate::data::Value,
            ) -> Result<Option<Vec<u8>>, $crate::DataError> {
                $crate::converter::Converter::from_connect(self, topic, schema, value)
            }

            fn to_connect_header(
                &self,
                topic: &str,
                _key: &str,
                data: Option<&[u8]>,
            ) -> Result<$crate::data::SchemaAndValue, $crate::DataError> {
                $crate::converter::Converter::to_connect(self, topic, data)
            }
        }
    };
}

mod bytearray;
mod json;
mod json_writer;
mod number;
mod simple_header;
mod string;

use std::collections::HashMap;

pub use bytearray::ByteArrayConverter;
pub use json::{JsonConverter, JsonConverterConfig};
pub use number::{NumberConverter, NumberKind};
pub use simple_header::SimpleHeaderConverter;
pub use string::StringConverter;

use crate::data::{SchemaAndValue, SchemaRef, Value};
use crate::DataError;

/// Converts record keys or values (`org.apache.kafka.connect.storage.Converter`).
pub trait Converter: Send + Sync + std::fmt::Debug {
    /// Serialises Connect data for Kafka; `None` is a Kafka null.
    // Named after Kafka's `fromConnectData`, which users know.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;

    /// [`Self::from_connect`] into `out`, replacing its contents; false
    /// for a Kafka null. The producer copies the bytes, so the source hot
    /// path reuses one buffer instead of allocating one per record.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_into(
        &self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        match self.from_connect(topic, schema, value)? {
            Some(bytes) => {
                *out = bytes;
                Ok(true)
            }
            None => {
                out.clear();
                Ok(false)
            }
        }
    }

    /// Deserialises Kafka bytes into Connect data.
    fn to_connect(&self, topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue, DataError>;
}

/// Converts header values (`org.apache.kafka.connect.storage.HeaderConverter`).
pub trait HeaderConverter: Send + Sync + std::fmt::Debug {
    /// Serialises a header value.
    #[allow(clippy::wrong_self_convention)]
    fn from_connect_header(
        &self,
        topic: &str,
        key: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError>;

    /// Deserialises a header value.
    fn to_connect_header(
        &self,
        topic: &str,
        key: &str,
        data: Option<&[u8]>,
    ) -> Result<SchemaAndValue, DataError>;
}

/// Class names (and aliases) of the converters Rampart provides.
pub const CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.converters.BooleanConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
];

/// Class names of the header converters Rampart provides.
pub const HEADER_CONVERTER_CLASSES: &[&str] = &[
    "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    "org.apache.kafka.connect.json.JsonConverter",
    "org.apache.kafka.connect.storage.StringConverter",
    "org.apache.kafka.connect.converters.ByteArrayConverter",
    "org.apache.kafka.connect.converters.BooleanConverter",
    "org.apache.kafka.connect.converters.DoubleConverter",
    "org.apache.kafka.connect.converters.FloatConverter",
    "org.apache.kafka.connect.converters.IntegerConverter",
    "org.apache.kafka.connect.converters.LongConverter",
    "org.apache.kafka.connect.converters.ShortConverter",
];

/// The fixed-width converter a class name names, if any.
fn number_kind(canonical: &str) -> Option<NumberKind> {
    Some(match canonical {
        "ShortConverter" => NumberKind::Short,
        "IntegerConverter" => NumberKind::Integer,
        "LongConverter" => NumberKind::Long,
        "FloatConverter" => NumberKind::Float,
        "DoubleConverter" => NumberKind::Double,
        "BooleanConverter" => NumberKind::Boolean,
        _ => return None,
    })
}

fn canonical(class: &str) -> &str {
    let class = class.trim();
    class.rsplit('.').next().unwrap_or(class)
}

/// Builds a key or value converter from its class name and its prefixed
/// settings (e.g. `value.converter.schemas.enable` passed as `schemas.enable`).
pub fn converter_for(
    class: &str,
    settings: &HashMap<String, String>,
    is_key: bool,
) -> Result<Box<dyn Converter>, String> {
    match canonical(class) {
        "JsonConverter" => Ok(Box::new(JsonConverter::new(
            JsonConverterConfig::from_settings(settings)?,
            is_key,
        ))),
        "StringConverter" => Ok(Box::new(StringConverter)),
        "ByteArrayConverter" => Ok(Box::new(ByteArrayConverter)),
        other => match number_kind(other) {
            Some(kind) => Ok(Box::new(NumberConverter::new(kind))),
            None => Err(format!(
                "Class {} could not be found. Available converters: {}",
                class.trim(),
                CONVERTER_CLASSES.join(", ")
            )),
        },
    }
}

/// Builds a header converter from its class name and prefixed settings.
pub fn header_converter_for(
    class: &str,
    settings: &HashMap<String, String>,
) -> Result<Box<dyn HeaderConverter>, String> {
    match canonical(class) {
        "SimpleHeaderConverter" => Ok(Box::new(SimpleHeaderConverter)),
        "JsonConverter" => Ok(Box::new(JsonConverter::new(
            JsonConverterConfig::from_settings(settings)?,
            false,
        ))),
        "StringConverter" => Ok(Box::new(StringConverter)),
        "ByteArrayConverter" => Ok(Box::new(ByteArrayConverter)),
        other => match number_kind(other) {
            Some(kind) => Ok(Box::new(NumberConverter::new(kind))),
            None => Err(format!(
                "Class {} could not be found. Available header converters: {}",
                class.trim(),
                HEADER_CONVERTER_CLASSES.join(", ")
            )),
        },
    }
}
