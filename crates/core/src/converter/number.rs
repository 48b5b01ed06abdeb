//! Kafka's fixed-width converters (`org.apache.kafka.connect.converters`
//! `ShortConverter`, `IntegerConverter`, `LongConverter`, `FloatConverter`,
//! `DoubleConverter` and `BooleanConverter`): big-endian bytes, as Kafka's
//! own serializers write them, usable for keys, values and headers.

use super::Converter;
use crate::data::{Schema, SchemaAndValue, SchemaRef, SchemaType, Value};
use crate::DataError;

/// The Java type a converter handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// `ShortConverter`: 2 bytes.
    Short,
    /// `IntegerConverter`: 4 bytes.
    Integer,
    /// `LongConverter`: 8 bytes.
    Long,
    /// `FloatConverter`: 4 bytes, IEEE 754.
    Float,
    /// `DoubleConverter`: 8 bytes, IEEE 754.
    Double,
    /// `BooleanConverter`: 1 byte, 0 or 1.
    Boolean,
}

impl NumberKind {
    fn type_name(self) -> &'static str {
        match self {
            NumberKind::Short => "short",
            NumberKind::Integer => "integer",
            NumberKind::Long => "long",
            NumberKind::Float => "float",
            NumberKind::Double => "double",
            NumberKind::Boolean => "boolean",
        }
    }

    fn deserializer(self) -> &'static str {
        match self {
            NumberKind::Short => "ShortDeserializer",
            NumberKind::Integer => "IntegerDeserializer",
            NumberKind::Long => "LongDeserializer",
            NumberKind::Float => "FloatDeserializer",
            NumberKind::Double => "DoubleDeserializer",
            NumberKind::Boolean => "BooleanDeserializer",
        }
    }

    fn width(self) -> usize {
        match self {
            NumberKind::Boolean => 1,
            NumberKind::Short => 2,
            NumberKind::Integer | NumberKind::Float => 4,
            NumberKind::Long | NumberKind::Double => 8,
        }
    }

    fn schema_type(self) -> SchemaType {
        match self {
            NumberKind::Short => SchemaType::Int16,
            NumberKind::Integer => SchemaType::Int32,
            NumberKind::Long => SchemaType::Int64,
            NumberKind::Float => SchemaType::Float32,
            NumberKind::Double => SchemaType::Float64,
            NumberKind::Boolean => SchemaType::Boolean,
        }
    }
}

/// One of Kafka's fixed-width converters.
#[derive(Debug, Clone)]
pub struct NumberConverter {
    kind: NumberKind,
    schema: SchemaRef,
}

impl NumberConverter {
    /// The converter for `kind`.
    pub fn new(kind: NumberKind) -> Self {
        NumberConverter {
            kind,
            schema: Schema::new(kind.schema_type()).optional().build(),
        }
    }

    fn serialize(
        &self,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if self.kind == NumberKind::Boolean {
            if let Some(s) = schema.filter(|s| s.kind != SchemaType::Boolean) {
                return Err(DataError::new(format!(
                    "Invalid schema type for BooleanConverter: {}",
                    s.kind.upper_name()
                )));
            }
        }
        // Java casts the value to the converter's type: no widening.
        let bytes = match (self.kind, value) {
            (_, Value::Null) => return Ok(None),
            (NumberKind::Short, Value::Int16(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Integer, Value::Int32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Long, Value::Int64(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Float, Value::Float32(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Double, Value::Float64(v)) => v.to_be_bytes().to_vec(),
            (NumberKind::Boolean, Value::Boolean(v)) => vec![u8::from(*v)],
            (NumberKind::Boolean, other) => {
                return Err(DataError::new(format!(
                    "BooleanConverter is not compatible with objects of type class {}",
                    java_class(other)
                )))
            }
            (kind, other) => {
                return Err(DataError::new(format!(
                    "Failed to serialize to {} (was class {}): ",
                    kind.type_name(),
                    java_class(other)
                )))
            }
        };
        Ok(Some(bytes))
    }

    fn deserialize(&self, data: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(b) = data else {
            return Ok(SchemaAndValue {
                schema: Some(self.schema.clone()),
                value: Value::Null,
            });
        };
        let fail = |reason: String| {
            DataError::new(format!(
                "Failed to deserialize {}: {reason}",
                self.kind.type_name()
            ))
        };
        if b.len() != self.kind.width() {
            return Err(fail(format!(
                "Size of data received by {} is not {}",
                self.kind.deserializer(),
                self.kind.width()
            )));
        }
        let value = match self.kind {
            NumberKind::Short => Value::Int16(i16::from_be_bytes([b[0], b[1]])),
            NumberKind::Integer => Value::Int32(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            NumberKind::Float => Value::Float32(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            NumberKind::Long => Value::Int64(i64::from_be_bytes(eight(b))),
            NumberKind::Double => Value::Float64(f64::from_be_bytes(eight(b))),
            NumberKind::Boolean => match b[0] {
                0 => Value::Boolean(false),
                1 => Value::Boolean(true),
                other => {
                    return Err(fail(format!(
                        "Unexpected byte received by BooleanDeserializer: {}",
                        other as i8
                    )))
                }
            },
        };
        Ok(SchemaAndValue {
            schema: Some(self.schema.clone()),
            value,
        })
    }
}

fn eight(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    a
}

/// The Java class of a Connect value, for Java's cast error texts.
fn java_class(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "java.lang.Boolean",
        Value::Int8(_) => "java.lang.Byte",
        Value::Int16(_) => "java.lang.Short",
        Value::Int32(_) => "java.lang.Integer",
        Value::Int64(_) => "java.lang.Long",
        Value::Float32(_) => "java.lang.Float",
        Value::Float64(_) => "java.lang.Double",
        Value::String(_) => "java.lang.String",
        Value::Bytes(_) => "[B",
        Value::Array(_) => "java.util.ArrayList",
        Value::Map(_) => "java.util.HashMap",
        Value::Struct(_) => "org.apache.kafka.connect.data.Struct",
    }
}

impl Converter for NumberConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        self.serialize(schema, value)
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        self.deserialize(data)
    }
}

header_converter_from_converter!(NumberConverter);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn big_endian_round_trips_as_kafkas_serializers_write_them() {
        let cases = [
            (NumberKind::Short, Value::Int16(-2), vec![0xff, 0xfe]),
            (NumberKind::Integer, Value::Int32(258), vec![0, 0, 1, 2]),
            (
                NumberKind::Long,
                Value::Int64(1),
                vec![0, 0, 0, 0, 0, 0, 0, 1],
            ),
            (
                NumberKind::Float,
                Value::Float32(1.5),
                vec![0x3f, 0xc0, 0, 0],
            ),
            (
                NumberKind::Double,
                Value::Float64(-2.0),
                vec![0xc0, 0, 0, 0, 0, 0, 0, 0],
            ),
            (NumberKind::Boolean, Value::Boolean(true), vec![1]),
        ];
        for (kind, value, bytes) in cases {
            let c = NumberConverter::new(kind);
            assert_eq!(
                c.from_connect("t", None, &value).unwrap(),
                Some(bytes.clone())
            );
            let back = c.to_connect("t", Some(&bytes)).unwrap();
            assert_eq!(back.value, value);
            assert!(back.schema.unwrap().optional);
        }
    }

    #[test]
    fn nulls_pass_and_wrong_types_or_sizes_are_data_errors() {
        let c = NumberConverter::new(NumberKind::Long);
        assert_eq!(c.from_connect("t", None, &Value::Null).unwrap(), None);
        assert_eq!(c.to_connect("t", None).unwrap().value, Value::Null);
        let e = c.from_connect("t", None, &Value::Int32(1)).unwrap_err();
        assert_eq!(
            e.message(),
            "Failed to serialize to long (was class java.lang.Integer): "
        );
        let e = c.to_connect("t", Some(&[1, 2, 3])).unwrap_err();
        assert_eq!(
            e.message(),
            "Failed to deserialize long: Size of data received by LongDeserializer is not 8"
        );
        let b = NumberConverter::new(NumberKind::Boolean);
        assert!(b.to_connect("t", Some(&[2])).is_err());
        assert!(b
            .from_connect(
                "t",
                Some(&crate::data::schemas::string()),
                &Value::Boolean(true)
            )
            .is_err());
    }
}
