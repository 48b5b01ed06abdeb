//! `org.apache.kafka.connect.transforms.MaskField$Key` / `$Value`: replaces
//! fields with the "null value" of their type (0, false, "", empty
//! containers) or with a configured replacement.

use std::collections::{HashMap, HashSet};

use super::util::apply_via_in_place;
use super::util::{
    define_replace_null, fill_defaults, map_put, non_empty, non_empty_list, require_map,
    require_struct, Side,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{logical, Schema, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "mask fields";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "fields",
        ConfigType::List,
        Importance::High,
        "Names of fields to mask.",
    )
    .validator(non_empty_list())
    .add();
    def.define(
        "replacement",
        ConfigType::String,
        Importance::Low,
        "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).",
    )
    .default_null()
    .validator(Validator::NonEmpty)
    .add();
    define_replace_null(&mut def);
    def
}

/// Masks fields.
#[derive(Debug)]
pub(crate) struct MaskField {
    side: Side,
    fields: Vec<String>,
    replacement: Option<String>,
    replace_null: bool,
}

impl MaskField {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let mut fields = non_empty(&config, "fields")?;
        let mut seen = HashSet::new();
        fields.retain(|f| seen.insert(f.clone()));
        Ok(MaskField {
            side,
            fields,
            replacement: config.string("replacement").map(str::to_string),
            replace_null: config.bool("replace.null.with.default"),
        })
    }

    fn masked(&self, value: Value, schema: Option<&Schema>) -> Result<Value, DataError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        match &self.replacement {
            None => mask_with_null_value(value, schema),
            Some(r) => mask_with_replacement(&value, schema, r),
        }
    }
}

fn java_class(value: &Value, schema: Option<&Schema>) -> &'static str {
    match schema.and_then(Schema::logical_name) {
        Some(logical::DECIMAL) => "class java.math.BigDecimal",
        Some(_) => "class java.util.Date",
        None => value.type_label(),
    }
}

fn mask_with_null_value(value: Value, schema: Option<&Schema>) -> Result<Value, DataError> {
    if schema.and_then(Schema::logical_name) == Some(logical::DECIMAL) {
        // BigDecimal.ZERO, whatever the scale: the unscaled value 0.
        return Ok(Value::Bytes(vec![0]));
    }
    Ok(match value {
        Value::Boolean(_) => Value::Boolean(false),
        Value::Int8(_) => Value::Int8(0),
        Value::Int16(_) => Value::Int16(0),
        Value::Int32(_) => Value::Int32(0),
        Value::Int64(_) => Value::Int64(0),
        Value::Float32(_) => Value::Float32(0.0),
        Value::Float64(_) => Value::Float64(0.0),
        Value::String(_) => Value::String(String::new()),
        Value::Array(_) => Value::Array(Vec::new()),
        Value::Map(_) => Value::Map(Vec::new()),
        other => {
            return Err(DataError::new(format!(
                "Cannot mask value of type: {}",
                java_class(&other, schema)
            )))
        }
    })
}

fn mask_with_replacement(
    value: &Value,
    schema: Option<&Schema>,
    replacement: &str,
) -> Result<Value, DataError> {
    let cannot = || {
        DataError::new(format!(
            "Cannot mask value of type {} with custom replacement.",
            java_class(value, schema)
        ))
    };
    match schema.and_then(Schema::logical_name) {
        Some(logical::DECIMAL) => {
            let scale = schema
                .and_then(|s| s.parameter(logical::DECIMAL_SCALE))
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0);
            return decimal_bytes(replacement, scale).ok_or_else(|| {
                DataError::new(format!(
                    "Unable to convert {replacement} (class java.lang.String) to number"
                ))
            });
        }
        Some(_) => return Err(cannot()),
        None => {}
    }
    let not_number = || {
        DataError::new(format!(
            "Unable to convert {replacement} (class java.lang.String) to number"
        ))
    };
    // Values.convertToXxx parses the string as a number of any width and
    // narrows it like Number.xxxValue().
    let number = || -> Result<f64, DataError> {
        replacement.trim().parse::<f64>().map_err(|_| not_number())
    };
    let integer = || -> Result<i64, DataError> {
        let t = replacement.trim();
        t.parse::<i64>().or_else(|_| number().map(|f| f as i64))
    };
    Ok(match value {
        Value::Int8(_) => Value::Int8(integer()? as i8),
        Value::Int16(_) => Value::Int16(integer()? as i16),
        Value::Int32(_) => Value::Int32(integer()? as i32),
        Value::Int64(_) => Value::Int64(integer()?),
        Value::Float32(_) => Value::Float32(number()? as f32),
        Value::Float64(_) => Value::Float64(number()?),
        Value::String(_) => Value::String(replacement.to_string()),
        _ => return Err(cannot()),
    })
}

/// `new BigDecimal(text)` stored with the field's scale: the unscaled value
/// as minimal big-endian two's complement bytes. `None` when the text is
/// not a decimal or has more fraction digits than the scale.
fn decimal_bytes(text: &str, scale: u32) -> Option<Value> {
    // An i128 holds 38 digits; a larger scale could never fit anyway.
    if scale > 38 {
        return None;
    }
    let t = text.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if frac.len() > scale as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = format!("{int}{frac}{}", "0".repeat(scale as usize - frac.len()));
    let unscaled: i128 = digits.parse().ok()?;
    let bytes = unscaled.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    Some(Value::Bytes(bytes[start..].to_vec()))
}

impl Transformation for MaskField {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let (schema, value) = self.side.take(record);
        let value = match &schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                for field in &self.fields {
                    match map.iter_mut().find(|(k, _)| k.as_str() == Some(field)) {
                        Some((_, v)) => *v = self.masked(std::mem::take(v), None)?,
                        None => map_put(&mut map, field, Value::Null),
                    }
                }
                Value::Map(map)
            }
            Some(_) => {
                let mut s = require_struct(value, PURPOSE)?;
                fill_defaults(&mut s, self.replace_null);
                let struct_schema = s.schema.clone();
                for name in &self.fields {
                    let Some(field) = struct_schema.field_named(name) else {
                        continue;
                    };
                    if let Some(slot) = s.values.get_mut(field.index) {
                        *slot = self.masked(std::mem::take(slot), Some(&field.schema))?;
                    }
                }
                Value::Struct(s)
            }
        };
        self.side.set(record, schema, value);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{schemas, SchemaType, Struct};

    fn mask(fields: &str, replacement: Option<&str>) -> MaskField {
        let mut props = HashMap::from([("fields".to_string(), fields.to_string())]);
        if let Some(r) = replacement {
            props.insert("replacement".to_string(), r.to_string());
        }
        MaskField::new(Side::Value, &props).unwrap()
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::string(k), v))
                .collect(),
        )
    }

    #[test]
    fn schemaless_null_values() {
        let value = map(vec![
            ("magic", Value::Int64(42)),
            ("bool", Value::Boolean(true)),
            ("int", Value::Int32(42)),
            ("double", Value::Float64(4.2)),
            ("string", Value::string("55.121.20.20")),
            ("array", Value::Array(vec![Value::Int64(1)])),
            ("map", map(vec![("k", Value::string("v"))])),
            ("keep", Value::string("x")),
        ]);
        let t = mask("magic,bool,int,double,string,array,map,missing", None);
        let r = ConnectRecord {
            value,
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap().value;
        assert_eq!(out.get_field("magic"), Some(&Value::Int64(0)));
        assert_eq!(out.get_field("bool"), Some(&Value::Boolean(false)));
        assert_eq!(out.get_field("int"), Some(&Value::Int32(0)));
        assert_eq!(out.get_field("double"), Some(&Value::Float64(0.0)));
        assert_eq!(out.get_field("string"), Some(&Value::string("")));
        assert_eq!(out.get_field("array"), Some(&Value::Array(vec![])));
        assert_eq!(out.get_field("map"), Some(&Value::Map(vec![])));
        assert_eq!(out.get_field("keep"), Some(&Value::string("x")));
        assert_eq!(out.get_field("missing"), Some(&Value::Null));
    }

    #[test]
    fn replacement_with_schema() {
        let schema = Schema::new(SchemaType::Struct)
            .field("int", schemas::int32())
            .field("str", schemas::string())
            .field("bool", schemas::boolean())
            .build();
        let value = Struct::new(schema.clone())
            .with("int", Value::Int32(42))
            .unwrap()
            .with("str", Value::string("secret"))
            .unwrap()
            .with("bool", Value::Boolean(true))
            .unwrap();
        let r = ConnectRecord {
            value_schema: Some(schema.clone()),
            value: Value::Struct(value.clone()),
            ..Default::default()
        };
        let out = mask("int,str", Some("123")).apply(r).unwrap().unwrap();
        assert_eq!(out.value.get_field("int"), Some(&Value::Int32(123)));
        assert_eq!(out.value.get_field("str"), Some(&Value::string("123")));
        let r = ConnectRecord {
            value_schema: Some(schema),
            value: Value::Struct(value),
            ..Default::default()
        };
        let e = mask("bool", Some("x")).apply(r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot mask value of type class java.lang.Boolean with custom replacement."
        );
    }

    #[test]
    fn decimal_replacement_uses_the_field_scale() {
        let d = Schema::decimal(2);
        assert_eq!(
            mask_with_replacement(&Value::Bytes(vec![1]), Some(&d), "1.5").unwrap(),
            // 150 unscaled; 0x96 alone would read as negative.
            Value::Bytes(vec![0x00, 0x96])
        );
        assert!(mask_with_replacement(&Value::Bytes(vec![1]), Some(&d), "1.555").is_err());
        assert_eq!(
            mask_with_null_value(Value::Bytes(vec![7]), Some(&d)).unwrap(),
            Value::Bytes(vec![0])
        );
    }

    #[test]
    fn bad_numeric_replacement() {
        let r = ConnectRecord {
            value: map(vec![("n", Value::Int64(1))]),
            ..Default::default()
        };
        let e = mask("n", Some("abc")).apply(r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unable to convert abc (class java.lang.String) to number"
        );
    }
}
