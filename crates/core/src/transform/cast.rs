//! `org.apache.kafka.connect.transforms.Cast$Key` / `Cast$Value`.

use std::collections::HashMap;

use base64::Engine as _;

use super::date_format::JavaDateFormat;
use super::util::apply_via_in_place;
use super::util::{
    copy_schema_basics, define_replace_null, java_double, java_float, map_get, map_put,
    require_map, require_struct, struct_take, SchemaCache, Side,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{logical, Schema, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "cast types";
const INPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]";
const OUTPUT_TYPES: &str = "[INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "spec",
        ConfigType::List,
        Importance::High,
        "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
    )
    .validator(Validator::Custom {
        check: |_| Ok(()),
        describe: "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>",
    })
    .add();
    define_replace_null(&mut def);
    def
}

/// Casts fields, or the whole key or value, to another primitive type.
#[derive(Debug)]
pub(crate) struct Cast {
    side: Side,
    casts: Vec<(String, SchemaType)>,
    whole: Option<SchemaType>,
    replace_null: bool,
    cache: SchemaCache,
}

fn type_from_name(name: &str) -> Option<SchemaType> {
    Some(match name.trim().to_ascii_uppercase().as_str() {
        "INT8" => SchemaType::Int8,
        "INT16" => SchemaType::Int16,
        "INT32" => SchemaType::Int32,
        "INT64" => SchemaType::Int64,
        "FLOAT32" => SchemaType::Float32,
        "FLOAT64" => SchemaType::Float64,
        "BOOLEAN" => SchemaType::Boolean,
        "STRING" => SchemaType::String,
        "BYTES" => SchemaType::Bytes,
        "ARRAY" => SchemaType::Array,
        "MAP" => SchemaType::Map,
        "STRUCT" => SchemaType::Struct,
        _ => return None,
    })
}

fn valid_output(t: SchemaType) -> Result<SchemaType, String> {
    if matches!(
        t,
        SchemaType::Bytes | SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        Err(format!(
            "Cast transformation does not support casting to {}; supported types are {OUTPUT_TYPES}",
            t.upper_name()
        ))
    } else {
        Ok(t)
    }
}

type Spec = (Vec<(String, SchemaType)>, Option<SchemaType>);

fn parse_spec(mappings: &[String]) -> Result<Spec, String> {
    if mappings.is_empty() {
        return Err("Must specify at least one field to cast.".to_string());
    }
    let mut casts: Vec<(String, SchemaType)> = Vec::new();
    let mut whole = None;
    for mapping in mappings {
        let parts: Vec<&str> = mapping.split(':').collect();
        match parts.as_slice() {
            [t] => {
                let ty = type_from_name(t)
                    .ok_or_else(|| format!("Invalid type found in casting spec: {}", t.trim()))?;
                whole = Some(valid_output(ty)?);
            }
            [field, t] => {
                let ty = type_from_name(t)
                    .ok_or_else(|| format!("Invalid type found in casting spec: {}", t.trim()))?;
                let ty = valid_output(ty)?;
                let field = field.trim().to_string();
                casts.retain(|(f, _)| *f != field);
                casts.push((field, ty));
            }
            _ => {
                // Kafka reports this against ReplaceField's key name.
                return Err(format!(
                    "Invalid value [{}] for configuration renames: Invalid rename mapping: {mapping}",
                    mappings.join(", ")
                ));
            }
        }
    }
    if whole.is_some() && mappings.len() > 1 {
        return Err("Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec".to_string());
    }
    Ok((casts, whole))
}

impl Cast {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let (casts, whole) =
            parse_spec(&config.list("spec")).map_err(|m| PluginConfigError::new("spec", m))?;
        Ok(Cast {
            side,
            casts,
            whole,
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }

    fn cast_for(&self, field: &str) -> Option<SchemaType> {
        self.casts.iter().find(|(f, _)| f == field).map(|(_, t)| *t)
    }

    fn build_schema(&self, schema: &Schema) -> Result<Schema, DataError> {
        let mut builder;
        if let Some(target) = self.whole {
            builder = copy_schema_basics(schema, target);
        } else {
            builder = copy_schema_basics(schema, SchemaType::Struct);
            for field in &schema.fields {
                match self.cast_for(&field.name) {
                    Some(target) => {
                        let mut fs = Schema::new(target);
                        fs.optional = field.schema.optional;
                        if let Some(d) = &field.schema.default {
                            fs.default = Some(cast_value(Some(&field.schema), d.clone(), target)?);
                        }
                        builder = builder.field(field.name.clone(), fs.build());
                    }
                    None => builder = builder.field(field.name.clone(), field.schema.clone()),
                }
            }
        }
        builder.optional = schema.optional;
        if let Some(d) = &schema.default {
            builder.default = Some(cast_value(Some(schema), d.clone(), builder.kind)?);
        }
        Ok(builder)
    }
}

impl Transformation for Cast {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if self.side.value(record).is_null() {
            return Ok(true);
        }
        let (schema, value) = self.side.take(record);
        let (schema, value) = match schema {
            None => {
                if let Some(target) = self.whole {
                    (None, cast_value(None, value, target)?)
                } else {
                    let mut map = require_map(value, PURPOSE)?;
                    for (field, target) in &self.casts {
                        let v = map_get(&map, field).cloned().unwrap_or_default();
                        let cast = cast_value(None, v, *target)?;
                        map_put(&mut map, field, cast);
                    }
                    (None, Value::Map(map))
                }
            }
            Some(schema) => {
                let updated = self.cache.get_or_build(&schema, |s| self.build_schema(s))?;
                if let Some(target) = self.whole {
                    (Some(updated), cast_value(Some(&schema), value, target)?)
                } else {
                    let mut s = require_struct(value, PURPOSE)?;
                    let mut values = Vec::with_capacity(s.schema.fields.len());
                    let fields = s.schema.clone();
                    for field in &fields.fields {
                        let v = struct_take(&mut s, field, self.replace_null);
                        values.push(match self.cast_for(&field.name) {
                            Some(target) => cast_value(Some(&field.schema), v, target)?,
                            None => v,
                        });
                    }
                    let out = Struct {
                        schema: updated.clone(),
                        values,
                    };
                    (Some(updated), Value::Struct(out))
                }
            }
        };
        self.side.set(record, schema, value);
        Ok(true)
    }
}

/// A number as Java's boxed `Number` sees it.
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    fn int8(self) -> i8 {
        match self {
            Num::Int(v) => v as i8,
            Num::Float(v) => (v as i32) as i8,
        }
    }
    fn int16(self) -> i16 {
        match self {
            Num::Int(v) => v as i16,
            Num::Float(v) => (v as i32) as i16,
        }
    }
    fn int32(self) -> i32 {
        match self {
            Num::Int(v) => v as i32,
            Num::Float(v) => v as i32,
        }
    }
    fn int64(self) -> i64 {
        match self {
            Num::Int(v) => v,
            Num::Float(v) => v as i64,
        }
    }
    fn float64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

fn out_of_range(text: &str) -> DataError {
    DataError::new(format!(
        "Value ({text}) was out of range for requested data type"
    ))
}

/// `Cast.castValueToType`. Logical values arrive in their Connect internal
/// form (Timestamp as epoch millis, Date as days, Decimal as unscaled bytes)
/// and are read as Java would see them (`java.util.Date`, `BigDecimal`).
pub(crate) fn cast_value(
    schema: Option<&Schema>,
    value: Value,
    target: SchemaType,
) -> Result<Value, DataError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let inferred = match schema {
        Some(s) => s.kind,
        None => value.inferred_type().unwrap_or(SchemaType::Struct),
    };
    if matches!(
        inferred,
        SchemaType::Array | SchemaType::Map | SchemaType::Struct
    ) {
        return Err(DataError::new(format!(
            "Cast transformation does not support casting from {}; supported types are {INPUT_TYPES}",
            inferred.upper_name()
        )));
    }
    let logical_name = schema.and_then(|s| s.logical_name());
    match (logical_name, &value) {
        (Some(logical::DECIMAL), Value::Bytes(b)) => {
            let scale = schema
                .and_then(|s| s.parameter(logical::DECIMAL_SCALE))
                .and_then(|s| s.parse::<i32>().ok())
                .unwrap_or(0);
            let unscaled = decimal_unscaled(b)?;
            return if target == SchemaType::String {
                Ok(Value::String(big_decimal_string(unscaled, scale)))
            } else {
                // BigDecimal.longValue() truncates; floatValue/doubleValue round.
                let num = match target {
                    SchemaType::Float32 | SchemaType::Float64 => {
                        Num::Float(unscaled as f64 * 10f64.powi(scale.saturating_neg()))
                    }
                    _ if scale <= 0 => Num::Int(
                        10i128
                            .checked_pow(scale.unsigned_abs())
                            .and_then(|p| unscaled.checked_mul(p))
                            .map_or(0, |v| v as i64),
                    ),
                    _ => Num::Int(
                        10i128
                            .checked_pow(scale.unsigned_abs())
                            .map_or(0, |p| (unscaled / p) as i64),
                    ),
                };
                cast_number(num, target)
            };
        }
        (Some(name @ (logical::TIMESTAMP | logical::DATE | logical::TIME)), _)
            if target == SchemaType::String =>
        {
            let millis = match (name, &value) {
                (logical::DATE, Value::Int32(days)) => i64::from(*days) * 86_400_000,
                _ => value.as_i64().unwrap_or_default(),
            };
            return Ok(Value::String(date_string(millis)));
        }
        _ => {}
    }
    let num = match &value {
        Value::Int8(v) => Num::Int(i64::from(*v)),
        Value::Int16(v) => Num::Int(i64::from(*v)),
        Value::Int32(v) => Num::Int(i64::from(*v)),
        Value::Int64(v) => Num::Int(*v),
        Value::Float32(v) => Num::Float(f64::from(*v)),
        Value::Float64(v) => Num::Float(*v),
        Value::Boolean(b) => {
            return Ok(match target {
                SchemaType::String => Value::String(b.to_string()),
                SchemaType::Boolean => Value::Boolean(*b),
                _ => cast_number(Num::Int(i64::from(*b)), target)?,
            })
        }
        Value::String(s) => return cast_string(s, target),
        Value::Bytes(b) if target == SchemaType::String => {
            return Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(b),
            ))
        }
        other => {
            return Err(DataError::new(format!(
                "Unexpected type in Cast transformation: {}",
                other.type_label()
            )))
        }
    };
    if target == SchemaType::String {
        return Ok(Value::String(match value {
            Value::Float32(f) => java_float(f),
            Value::Float64(f) => java_double(f),
            other => other.to_string(),
        }));
    }
    if target == SchemaType::Float32 {
        if let Value::Float32(f) = value {
            return Ok(Value::Float32(f));
        }
    }
    cast_number(num, target)
}

fn cast_number(num: Num, target: SchemaType) -> Result<Value, DataError> {
    Ok(match target {
        SchemaType::Int8 => Value::Int8(num.int8()),
        SchemaType::Int16 => Value::Int16(num.int16()),
        SchemaType::Int32 => Value::Int32(num.int32()),
        SchemaType::Int64 => Value::Int64(num.int64()),
        SchemaType::Float32 => Value::Float32(match num {
            Num::Int(v) => v as f32,
            Num::Float(v) => v as f32,
        }),
        SchemaType::Float64 => Value::Float64(num.float64()),
        SchemaType::Boolean => Value::Boolean(num.int64() != 0),
        SchemaType::String => Value::String(match num {
            Num::Int(v) => v.to_string(),
            Num::Float(v) => java_double(v),
        }),
        other => {
            return Err(DataError::new(format!(
                "{} is not supported in the Cast transformation.",
                other.upper_name()
            )))
        }
    })
}

fn cast_string(s: &str, target: SchemaType) -> Result<Value, DataError> {
    let err = || out_of_range(s);
    Ok(match target {
        SchemaType::Int8 => Value::Int8(s.parse().map_err(|_| err())?),
        SchemaType::Int16 => Value::Int16(s.parse().map_err(|_| err())?),
        SchemaType::Int32 => Value::Int32(s.parse().map_err(|_| err())?),
        SchemaType::Int64 => Value::Int64(s.parse().map_err(|_| err())?),
        SchemaType::Float32 => Value::Float32(parse_java_float(s).ok_or_else(err)? as f32),
        SchemaType::Float64 => Value::Float64(parse_java_float(s).ok_or_else(err)?),
        SchemaType::Boolean => Value::Boolean(s.eq_ignore_ascii_case("true")),
        SchemaType::String => Value::String(s.to_string()),
        other => {
            return Err(DataError::new(format!(
                "{} is not supported in the Cast transformation.",
                other.upper_name()
            )))
        }
    })
}

/// `Double.parseDouble`: surrounding whitespace, `NaN`, `Infinity` and a
/// trailing `d`/`f` type suffix are accepted.
fn parse_java_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let t = t.strip_suffix(['d', 'D', 'f', 'F']).unwrap_or(t);
    match t {
        "NaN" => Some(f64::NAN),
        "Infinity" | "+Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if t
            .chars()
            .any(|c| c.is_ascii_alphabetic() && c != 'e' && c != 'E') =>
        {
            None
        }
        _ => t.parse().ok(),
    }
}

/// `Values.dateFormatFor(date).format(date)`.
fn date_string(millis: i64) -> String {
    let pattern = if millis < 86_400_000 {
        "HH:mm:ss.SSS'Z'"
    } else if millis % 86_400_000 == 0 {
        "yyyy-MM-dd"
    } else {
        "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    };
    JavaDateFormat::new(pattern)
        .map(|f| f.format(millis))
        .unwrap_or_default()
}

fn decimal_unscaled(bytes: &[u8]) -> Result<i128, DataError> {
    if bytes.is_empty() || bytes.len() > 16 {
        return Err(DataError::new(format!(
            "Invalid decimal: {} bytes",
            bytes.len()
        )));
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut buf = [fill; 16];
    buf[16 - bytes.len()..].copy_from_slice(bytes);
    Ok(i128::from_be_bytes(buf))
}

/// `BigDecimal.toString()`.
fn big_decimal_string(unscaled: i128, scale: i32) -> String {
    let negative = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let sign = if negative { "-" } else { "" };
    let adjusted = digits.len() as i64 - 1 - i64::from(scale);
    if scale >= 0 && adjusted >= -6 {
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let scale = scale as usize;
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{sign}{int}.{frac}")
        } else {
            format!("{sign}0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp = if adjusted >= 0 {
            format!("+{adjusted}")
        } else {
            adjusted.to_string()
        };
        format!("{sign}{mantissa}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cast(side: Side, spec: &str) -> Cast {
        Cast::new(side, &props(&[("spec", spec)])).unwrap()
    }

    #[test]
    fn config_errors_use_kafka_messages() {
        let e = Cast::new(Side::Value, &props(&[("spec", "foo:faketype")])).unwrap_err();
        assert_eq!(e.key, "spec");
        assert_eq!(e.message, "Invalid type found in casting spec: faketype");
        let e = Cast::new(Side::Value, &props(&[("spec", "foo:array")])).unwrap_err();
        assert!(e
            .message
            .starts_with("Cast transformation does not support casting to ARRAY"));
        let e = Cast::new(Side::Value, &props(&[("spec", "int8,foo:int16")])).unwrap_err();
        assert!(e
            .message
            .starts_with("Cast transformations that specify a type"));
        let e = Cast::new(Side::Value, &props(&[("spec", "")])).unwrap_err();
        assert_eq!(e.message, "Must specify at least one field to cast.");
        let e = Cast::new(Side::Value, &props(&[])).unwrap_err();
        assert_eq!(e.key, "spec");
    }

    #[test]
    fn whole_key_schemaless_and_with_schema() {
        let t = cast(Side::Key, "int8");
        let r = ConnectRecord {
            key: Value::Int32(42),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Value::Int8(42));
        let r = ConnectRecord {
            key_schema: Some(schemas::int32()),
            key: Value::Int32(300),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Value::Int8(44));
        assert_eq!(out.key_schema.unwrap().kind, SchemaType::Int8);
    }

    #[test]
    fn fields_with_schema() {
        let schema = Schema::new(SchemaType::Struct)
            .field("int8", Schema::new(SchemaType::Int8).build())
            .field("float", schemas::float64())
            .field("bool", schemas::boolean())
            .field("string", schemas::string())
            .field("bytes", schemas::bytes())
            .field("ts", Schema::timestamp().build())
            .field("other", schemas::string())
            .build();
        let value = Struct::new(schema.clone())
            .with("int8", Value::Int8(8))
            .unwrap()
            .with("float", Value::Float64(32.5))
            .unwrap()
            .with("bool", Value::Boolean(true))
            .unwrap()
            .with("string", Value::string("42"))
            .unwrap()
            .with("bytes", Value::Bytes(b"hi".to_vec()))
            .unwrap()
            .with("ts", Value::Int64(0))
            .unwrap()
            .with("other", Value::string("x"))
            .unwrap();
        let t = cast(
            Side::Value,
            "int8:int16,float:int32,bool:string,string:int64,bytes:string,ts:string",
        );
        let r = ConnectRecord {
            value_schema: Some(schema),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        let Value::Struct(s) = out.value else {
            panic!("struct expected")
        };
        assert_eq!(s.get("int8"), Some(&Value::Int16(8)));
        assert_eq!(s.get("float"), Some(&Value::Int32(32)));
        assert_eq!(s.get("bool"), Some(&Value::string("true")));
        assert_eq!(s.get("string"), Some(&Value::Int64(42)));
        assert_eq!(s.get("bytes"), Some(&Value::string("aGk=")));
        assert_eq!(s.get("ts"), Some(&Value::string("00:00:00.000Z")));
        assert_eq!(s.get("other"), Some(&Value::string("x")));
        assert_eq!(
            s.schema.field_named("int8").unwrap().schema.kind,
            SchemaType::Int16
        );
    }

    #[test]
    fn bad_string_is_out_of_range() {
        let t = cast(Side::Value, "int8");
        let r = ConnectRecord {
            value: Value::string("300"),
            ..Default::default()
        };
        let e = t.apply(r).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Value (300) was out of range for requested data type"
        );
    }

    #[test]
    fn map_input_is_rejected() {
        let t = cast(Side::Value, "string");
        let r = ConnectRecord {
            value: Value::Map(vec![]),
            ..Default::default()
        };
        assert!(t
            .apply(r)
            .unwrap_err()
            .to_string()
            .starts_with("Cast transformation does not support casting from MAP"));
    }

    #[test]
    fn decimal_fields() {
        let schema = Schema::new(SchemaType::Struct)
            .field("a", Schema::decimal(2).build())
            .field("b", Schema::decimal(2).build())
            .field("c", Schema::decimal(2).build())
            .build();
        // 12345 unscaled = 123.45
        let d = Value::Bytes(vec![0x30, 0x39]);
        let value = Struct {
            schema: schema.clone(),
            values: vec![d.clone(), d.clone(), d],
        };
        let r = ConnectRecord {
            value_schema: Some(schema),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = cast(Side::Value, "a:string,b:int32,c:float64")
            .apply(r)
            .unwrap()
            .unwrap();
        assert_eq!(out.value.get_field("a"), Some(&Value::string("123.45")));
        assert_eq!(out.value.get_field("b"), Some(&Value::Int32(123)));
        assert_eq!(out.value.get_field("c"), Some(&Value::Float64(123.45)));
    }

    #[test]
    fn hostile_decimal_scale_does_not_panic() {
        let mut s = Schema::decimal(0);
        s.parameters = vec![("scale".to_string(), "-2147483648".to_string())];
        let s = s.build();
        for target in ["int64", "float64", "string"] {
            let t = cast(Side::Value, target);
            let r = ConnectRecord {
                value_schema: Some(s.clone()),
                value: Value::Bytes(vec![1]),
                ..Default::default()
            };
            let _ = t.apply(r);
        }
    }

    #[test]
    fn decimal_strings() {
        assert_eq!(big_decimal_string(12345, 2), "123.45");
        assert_eq!(big_decimal_string(-5, 3), "-0.005");
        assert_eq!(big_decimal_string(1, -3), "1E+3");
        assert_eq!(big_decimal_string(1, 10), "1E-10");
    }
}
