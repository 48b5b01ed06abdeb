//! Connect values: the Rust counterpart of the Java objects a Connect record
//! carries (`Struct`, `Map`, `List`, boxed primitives, `byte[]`).

use super::{Schema, SchemaRef, SchemaType};
use crate::DataError;

/// A Connect value, with or without a schema.
///
/// Schemaless records (e.g. `JsonConverter` with `schemas.enable=false`) use
/// `Map` with string keys, `Array`, `Int64`, `Float64`, `String` and so on,
/// exactly as Java Connect would hand a `HashMap` or `ArrayList` to a
/// transform.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// null
    #[default]
    Null,
    /// boolean
    Boolean(bool),
    /// int8
    Int8(i8),
    /// int16
    Int16(i16),
    /// int32 (also Date and Time)
    Int32(i32),
    /// int64 (also Timestamp)
    Int64(i64),
    /// float32
    Float32(f32),
    /// float64
    Float64(f64),
    /// string
    String(String),
    /// bytes (also Decimal)
    Bytes(Vec<u8>),
    /// array
    Array(Vec<Value>),
    /// map, in insertion order
    Map(Vec<(Value, Value)>),
    /// struct
    Struct(Struct),
}

/// A struct value: the values of a struct schema's fields, by index.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// The struct's schema.
    pub schema: SchemaRef,
    /// One value per field of `schema`, in field order.
    pub values: Vec<Value>,
}

impl Struct {
    /// A struct with every field null.
    pub fn new(schema: SchemaRef) -> Self {
        let values = vec![Value::Null; schema.fields.len()];
        Struct { schema, values }
    }

    /// Sets a field by name.
    pub fn put(&mut self, field: &str, value: Value) -> Result<&mut Self, DataError> {
        let index = self
            .schema
            .field_named(field)
            .ok_or_else(|| DataError::new(format!("{field} is not a valid field name")))?
            .index;
        self.values[index] = value;
        Ok(self)
    }

    /// Sets a field by name, builder style.
    pub fn with(mut self, field: &str, value: Value) -> Result<Self, DataError> {
        self.put(field, value)?;
        Ok(self)
    }

    /// Reads a field by name.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.schema
            .field_named(field)
            .and_then(|f| self.values.get(f.index))
    }

    /// Checks every field against its schema, like `Struct.validate()`.
    pub fn validate(&self) -> Result<(), DataError> {
        for field in &self.schema.fields {
            let value = self.values.get(field.index).unwrap_or(&Value::Null);
            value.validate(&field.schema).map_err(|e| {
                DataError::new(format!("Invalid value for field \"{}\": {}", field.name, e))
            })?;
        }
        Ok(())
    }
}

impl Value {
    /// Builds a string value.
    pub fn string(s: impl Into<String>) -> Self {
        Value::String(s.into())
    }

    /// Whether the value is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as i64 for any integer variant.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int8(v) => Some(v.into()),
            Value::Int16(v) => Some(v.into()),
            Value::Int32(v) => Some(v.into()),
            Value::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as f64 for any numeric variant.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float32(v) => Some(v.into()),
            Value::Float64(v) => Some(v),
            _ => self.as_i64().map(|v| v as f64),
        }
    }

    /// Looks up a field of a struct or a string-keyed map.
    pub fn get_field(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(s) => s.get(name),
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The schema type a schemaless value maps to, as `ConnectSchema.schemaType`
    /// infers it; `None` for null.
    pub fn inferred_type(&self) -> Option<SchemaType> {
        Some(match self {
            Value::Null => return None,
            Value::Boolean(_) => SchemaType::Boolean,
            Value::Int8(_) => SchemaType::Int8,
            Value::Int16(_) => SchemaType::Int16,
            Value::Int32(_) => SchemaType::Int32,
            Value::Int64(_) => SchemaType::Int64,
            Value::Float32(_) => SchemaType::Float32,
            Value::Float64(_) => SchemaType::Float64,
            Value::String(_) => SchemaType::String,
            Value::Bytes(_) => SchemaType::Bytes,
            Value::Array(_) => SchemaType::Array,
            Value::Map(_) => SchemaType::Map,
            Value::Struct(_) => SchemaType::Struct,
        })
    }

    /// Checks the value against a schema, like `ConnectSchema.validateValue`.
    pub fn validate(&self, schema: &Schema) -> Result<(), DataError> {
        if self.is_null() {
            if schema.optional || schema.default.is_some() {
                return Ok(());
            }
            return Err(DataError::new(
                "Invalid value: null used for required field".to_string(),
            ));
        }
        let ok = match (schema.kind, self) {
            (SchemaType::Array, Value::Array(items)) => {
                if let Some(item_schema) = &schema.value_schema {
                    for item in items {
                        item.validate(item_schema)?;
                    }
                }
                true
            }
            (SchemaType::Map, Value::Map(entries)) => {
                for (k, v) in entries {
                    if let Some(ks) = &schema.key_schema {
                        k.validate(ks)?;
                    }
                    if let Some(vs) = &schema.value_schema {
                        v.validate(vs)?;
                    }
                }
                true
            }
            (SchemaType::Struct, Value::Struct(s)) => {
                if s.schema.as_ref() != schema {
                    return Err(DataError::new("Struct schemas do not match.".to_string()));
                }
                s.validate()?;
                true
            }
            (kind, v) => v.inferred_type() == Some(kind),
        };
        if ok {
            Ok(())
        } else {
            Err(DataError::new(format!(
                "Invalid Java object for schema with type {}: {}",
                schema.kind.upper_name(),
                self.type_label()
            )))
        }
    }

    /// A short label of the value's runtime type, for error messages.
    pub fn type_label(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Boolean(_) => "class java.lang.Boolean",
            Value::Int8(_) => "class java.lang.Byte",
            Value::Int16(_) => "class java.lang.Short",
            Value::Int32(_) => "class java.lang.Integer",
            Value::Int64(_) => "class java.lang.Long",
            Value::Float32(_) => "class java.lang.Float",
            Value::Float64(_) => "class java.lang.Double",
            Value::String(_) => "class java.lang.String",
            Value::Bytes(_) => "class [B",
            Value::Array(_) => "class java.util.ArrayList",
            Value::Map(_) => "class java.util.HashMap",
            Value::Struct(_) => "class org.apache.kafka.connect.data.Struct",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int64(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int32(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}

impl std::fmt::Display for Value {
    /// Renders like Java's `toString()` on the equivalent object, which is
    /// what `FileStreamSinkTask` and `StringConverter` write.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::Int8(v) => write!(f, "{v}"),
            Value::Int16(v) => write!(f, "{v}"),
            Value::Int32(v) => write!(f, "{v}"),
            Value::Int64(v) => write!(f, "{v}"),
            Value::Float32(v) => write_java_float(f, f64::from(*v)),
            Value::Float64(v) => write_java_float(f, *v),
            Value::String(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "{}", String::from_utf8_lossy(b)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(entries) => {
                f.write_str("{")?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Struct(s) => {
                f.write_str("Struct{")?;
                let mut first = true;
                for field in &s.schema.fields {
                    let v = s.values.get(field.index).unwrap_or(&Value::Null);
                    if v.is_null() {
                        continue;
                    }
                    if !first {
                        f.write_str(",")?;
                    }
                    first = false;
                    write!(f, "{}={}", field.name, v)?;
                }
                f.write_str("}")
            }
        }
    }
}

fn write_java_float(f: &mut std::fmt::Formatter<'_>, v: f64) -> std::fmt::Result {
    // Java prints whole doubles with a trailing ".0".
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e7 {
        write!(f, "{v:.1}")
    } else {
        write!(f, "{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    #[test]
    fn display_of_a_short_struct_does_not_panic() {
        let schema = Schema::new(SchemaType::Struct)
            .field("a", schemas::string())
            .field("b", schemas::string())
            .build();
        let s = Struct {
            schema,
            values: vec![Value::string("x")],
        };
        assert_eq!(Value::Struct(s).to_string(), "Struct{a=x}");
    }
}
