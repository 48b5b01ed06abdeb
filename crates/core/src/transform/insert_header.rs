//! `org.apache.kafka.connect.transforms.InsertHeader`.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{Schema, SchemaRef, SchemaType, Value};
use crate::record::ConnectRecord;
use crate::ConnectError;

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "header",
        ConfigType::String,
        Importance::High,
        "The name of the header.",
    )
    .validator(non_null())
    .add();
    def.define(
        "value.literal",
        ConfigType::String,
        Importance::High,
        "The literal value that is to be set as the header value on all records.",
    )
    .validator(non_null())
    .add();
    def
}

fn non_null() -> Validator {
    Validator::Custom {
        check: |_| Ok(()),
        describe: "non-null string",
    }
}

/// Adds a header with a literal value to every record.
#[derive(Debug)]
pub(crate) struct InsertHeader {
    header: String,
    schema: Option<SchemaRef>,
    value: Value,
}

impl InsertHeader {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let header = config.string("header").unwrap_or_default().to_string();
        let literal = config.string("value.literal").unwrap_or_default();
        let (schema, value) = parse_literal(literal);
        Ok(InsertHeader {
            header,
            schema,
            value,
        })
    }
}

/// `Values.parseString` for the scalar cases: booleans, integers (as the
/// narrowest type that holds them) and floating point numbers get their
/// inferred schema; anything else stays a string.
pub(crate) fn parse_literal(literal: &str) -> (Option<SchemaRef>, Value) {
    let t = literal.trim();
    let typed = |kind, v| (Some(Schema::new(kind).build()), v);
    if t.eq_ignore_ascii_case("true") {
        return typed(SchemaType::Boolean, Value::Boolean(true));
    }
    if t.eq_ignore_ascii_case("false") {
        return typed(SchemaType::Boolean, Value::Boolean(false));
    }
    if t.is_empty() {
        return typed(SchemaType::String, Value::String(literal.to_string()));
    }
    if let Ok(n) = t.parse::<i64>() {
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
    let numeric = t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'));
    if numeric {
        if let Ok(d) = t.parse::<f64>() {
            // Like Values.parseString: FLOAT32 whenever the number is finite
            // as a float, even if that loses precision.
            let f = d as f32;
            return if f.is_finite() {
                typed(SchemaType::Float32, Value::Float32(f))
            } else {
                typed(SchemaType::Float64, Value::Float64(d))
            };
        }
    }
    typed(SchemaType::String, Value::String(literal.to_string()))
}

impl Transformation for InsertHeader {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        record
            .headers
            .add(self.header.clone(), self.schema.clone(), self.value.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_typed_header() {
        let t = InsertHeader::new(&HashMap::from([
            ("header".to_string(), "h".to_string()),
            ("value.literal".to_string(), "42".to_string()),
        ]))
        .unwrap();
        let out = t.apply(ConnectRecord::default()).unwrap().unwrap();
        let h = out.headers.last_with_name("h").unwrap();
        assert_eq!(h.value, Value::Int8(42));
        assert_eq!(parse_literal("hello world").1, Value::string("hello world"));
        assert_eq!(parse_literal("1.5").1, Value::Float32(1.5));
    }

    #[test]
    fn both_keys_are_required() {
        let e = InsertHeader::new(&HashMap::from([("header".to_string(), "h".to_string())]))
            .unwrap_err();
        assert_eq!(e.key, "value.literal");
    }
}
