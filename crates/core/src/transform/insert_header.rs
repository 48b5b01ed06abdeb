//! `org.apache.kafka.connect.transforms.InsertHeader`.

use std::collections::HashMap;

use super::date_format::JavaDateFormat;
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

/// `Values.parseString` for scalar literals: `true`/`false`, numbers (the
/// narrowest integer type that holds them exactly, else FLOAT64), ISO-8601
/// dates, times and timestamps as Connect logical types, and anything else
/// as the original string. Array and map literals (`[1,2]`, `{a=1}`) stay
/// strings.
pub(crate) fn parse_literal(literal: &str) -> (Option<SchemaRef>, Value) {
    let typed = |schema: Schema, v| (Some(schema.build()), v);
    let string = || {
        typed(
            Schema::new(SchemaType::String),
            Value::String(literal.to_string()),
        )
    };
    let t = literal.trim();
    match t {
        "" => return string(),
        "true" => return typed(Schema::new(SchemaType::Boolean), Value::Boolean(true)),
        "false" => return typed(Schema::new(SchemaType::Boolean), Value::Boolean(false)),
        _ => {}
    }
    let first = t.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || first == '+' || first == '-' {
        if let Some(number) = parse_big_decimal(t) {
            return match number {
                Number::Int(n) => {
                    if let Ok(v) = i8::try_from(n) {
                        typed(Schema::new(SchemaType::Int8), Value::Int8(v))
                    } else if let Ok(v) = i16::try_from(n) {
                        typed(Schema::new(SchemaType::Int16), Value::Int16(v))
                    } else if let Ok(v) = i32::try_from(n) {
                        typed(Schema::new(SchemaType::Int32), Value::Int32(v))
                    } else {
                        typed(Schema::new(SchemaType::Int64), Value::Int64(n))
                    }
                }
                Number::Float(d) if d.is_finite() => {
                    typed(Schema::new(SchemaType::Float64), Value::Float64(d))
                }
                Number::Float(_) => string(),
            };
        }
    }
    if first.is_ascii_digit() {
        let parsed = |pattern: &str| JavaDateFormat::new(pattern).ok()?.parse(t);
        match t.chars().count() {
            10 => {
                if let Some(ms) = parsed("yyyy-MM-dd") {
                    let days = ms.div_euclid(86_400_000);
                    if let Ok(days) = i32::try_from(days) {
                        return typed(Schema::date(), Value::Int32(days));
                    }
                }
            }
            13 => {
                if let Some(ms) = parsed("HH:mm:ss.SSS'Z'") {
                    if let Ok(ms) = i32::try_from(ms) {
                        return typed(Schema::time(), Value::Int32(ms));
                    }
                }
            }
            24 => {
                if let Some(ms) = parsed("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'") {
                    return typed(Schema::timestamp(), Value::Int64(ms));
                }
            }
            _ => {}
        }
    }
    string()
}

enum Number {
    Int(i64),
    Float(f64),
}

/// `new BigDecimal(text)`: `[+-]digits[.digits][e[+-]digits]`. Integral
/// values that fit a long (`longValueExact`) are integers, e.g. `1.0` or
/// `1e3`; the rest are doubles.
fn parse_big_decimal(t: &str) -> Option<Number> {
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let unsigned = mantissa.strip_prefix(['+', '-']).unwrap_or(mantissa);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let negative = mantissa.starts_with('-');
    // Digits that survive the exponent shift must all be zero after the point.
    let digits = format!("{int}{frac}");
    let point = i64::try_from(int.len()).ok()? + i64::from(exp);
    let integral = digits
        .bytes()
        .enumerate()
        .all(|(i, b)| (i as i64) < point || b == b'0');
    if integral && point <= 19 {
        let whole: String = if point <= 0 {
            "0".to_string()
        } else if point as usize <= digits.len() {
            digits[..point as usize].to_string()
        } else {
            format!("{digits}{}", "0".repeat(point as usize - digits.len()))
        };
        let whole = whole.trim_start_matches('0');
        let magnitude: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        let signed = if negative { -magnitude } else { magnitude };
        if let Ok(n) = i64::try_from(signed) {
            return Some(Number::Int(n));
        }
    }
    t.parse::<f64>().ok().map(Number::Float)
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
    }

    #[test]
    fn literals_are_typed_like_values_parse_string() {
        assert_eq!(parse_literal("1.5").1, Value::Float64(1.5));
        assert_eq!(parse_literal("1.0").1, Value::Int8(1));
        assert_eq!(parse_literal("1e3").1, Value::Int16(1000));
        assert_eq!(parse_literal("-40000").1, Value::Int32(-40000));
        assert_eq!(parse_literal("9999999999").1, Value::Int64(9_999_999_999));
        assert_eq!(
            parse_literal("99999999999999999999").1,
            Value::Float64(1e20)
        );
        assert_eq!(parse_literal("true").1, Value::Boolean(true));
        assert_eq!(parse_literal("1970-01-02").1, Value::Int32(1));
        assert_eq!(parse_literal("00:00:01.000Z").1, Value::Int32(1000));
        assert_eq!(
            parse_literal("1970-01-01T00:00:01.000Z").1,
            Value::Int64(1000)
        );
        assert_eq!(parse_literal("12-ab").1, Value::string("12-ab"));
        assert_eq!(parse_literal("").1, Value::string(""));
        assert_eq!(parse_literal("+").1, Value::string("+"));
        assert_eq!(
            parse_literal("1e99999999999").1,
            Value::string("1e99999999999")
        );
    }

    #[test]
    fn both_keys_are_required() {
        let e = InsertHeader::new(&HashMap::from([("header".to_string(), "h".to_string())]))
            .unwrap_err();
        assert_eq!(e.key, "value.literal");
    }
}
