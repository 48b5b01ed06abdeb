//! `org.apache.kafka.connect.transforms.TimestampConverter$Key` / `$Value`:
//! converts between Unix epoch numbers, formatted strings and the Connect
//! `Timestamp`, `Date` and `Time` logical types, in UTC.
//!
//! Every conversion goes through epoch milliseconds (Java's
//! `java.util.Date`). Without a schema, Java would hold a `java.util.Date`
//! for Date/Time/Timestamp targets; Rampart has no such value, so it uses
//! the logical types' Connect representation instead (`Timestamp` as int64
//! millis, `Date` as int32 days, `Time` as int32 millis of the day).

use std::collections::HashMap;

use super::date_format::JavaDateFormat;
use super::util::apply_via_in_place;
use super::util::{
    copy_schema_basics, define_replace_null, fill_defaults, require_map, require_struct_or_null,
    schema_label, SchemaCache, Side,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{logical, schemas, Schema, SchemaRef, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "converting timestamp formats";
const MILLIS_PER_DAY: i64 = 86_400_000;

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "field",
        ConfigType::String,
        Importance::High,
        "The field containing the timestamp, or empty if the entire value is a timestamp",
    )
    .default("")
    .add();
    def.define(
        "target.type",
        ConfigType::String,
        Importance::High,
        "The desired timestamp representation: string, unix, Date, Time, or Timestamp",
    )
    .validator(Validator::OneOf(&[
        "string",
        "unix",
        "Date",
        "Time",
        "Timestamp",
    ]))
    .add();
    def.define(
        "format",
        ConfigType::String,
        Importance::Medium,
        "A SimpleDateFormat-compatible format for the timestamp. Used to generate the output when type=string or used to parse the input if the input is a string.",
    )
    .default("")
    .add();
    def.define(
        "unix.precision",
        ConfigType::String,
        Importance::Low,
        "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. Used to generate the output when type=unix or used to parse the input if the input is a Long.Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components.",
    )
    .default("milliseconds")
    .validator(Validator::OneOf(&["nanoseconds", "microseconds", "milliseconds", "seconds"]))
    .add();
    define_replace_null(&mut def);
    def
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Unix,
    Date,
    Time,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    Seconds,
    Millis,
    Micros,
    Nanos,
}

/// Converts timestamp representations.
#[derive(Debug)]
pub(crate) struct TimestampConverter {
    side: Side,
    field: String,
    target: Kind,
    format: Option<JavaDateFormat>,
    precision: Precision,
    replace_null: bool,
    target_schema: SchemaRef,
    target_schema_optional: SchemaRef,
    cache: SchemaCache,
}

impl TimestampConverter {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let target = match config.string("target.type").unwrap_or_default() {
            "string" => Kind::String,
            "unix" => Kind::Unix,
            "Date" => Kind::Date,
            "Time" => Kind::Time,
            _ => Kind::Timestamp,
        };
        let pattern = config.string("format").unwrap_or_default();
        if target == Kind::String && pattern.trim().is_empty() {
            return Err(PluginConfigError::new(
                "format",
                "TimestampConverter requires format option to be specified when using string timestamps",
            ));
        }
        let format = if pattern.trim().is_empty() {
            None
        } else {
            Some(JavaDateFormat::new(pattern).map_err(|_| {
                PluginConfigError::new(
                    "format",
                    format!("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: {pattern}"),
                )
            })?)
        };
        let precision = match config.string("unix.precision").unwrap_or_default() {
            "seconds" => Precision::Seconds,
            "microseconds" => Precision::Micros,
            "nanoseconds" => Precision::Nanos,
            _ => Precision::Millis,
        };
        Ok(TimestampConverter {
            side,
            field: config.string("field").unwrap_or_default().to_string(),
            target,
            format,
            precision,
            replace_null: config.bool("replace.null.with.default"),
            target_schema: type_schema(target, false),
            target_schema_optional: type_schema(target, true),
            cache: SchemaCache::default(),
        })
    }

    fn schema_for(&self, optional: bool) -> SchemaRef {
        if optional {
            self.target_schema_optional.clone()
        } else {
            self.target_schema.clone()
        }
    }

    /// `TimestampTranslator.toRaw`: the value as epoch milliseconds.
    fn to_raw(&self, kind: Kind, value: &Value) -> Result<i64, DataError> {
        match (kind, value) {
            (Kind::String, Value::String(s)) => {
                let Some(format) = &self.format else {
                    return Err(DataError::new(
                        "TimestampConverter requires format option to be specified when using string timestamps",
                    ));
                };
                format.parse(s).ok_or_else(|| {
                    DataError::new(format!(
                        "Could not parse timestamp: value ({s}) does not match pattern ({})",
                        format.pattern()
                    ))
                })
            }
            (Kind::String, other) => Err(DataError::new(format!(
                "Expected string timestamp to be a String, but found {}",
                other.type_label()
            ))),
            (Kind::Unix, Value::Int64(v)) => Ok(match self.precision {
                Precision::Seconds => v.saturating_mul(1000),
                Precision::Millis => *v,
                Precision::Micros => v / 1000,
                Precision::Nanos => v / 1_000_000,
            }),
            (Kind::Unix, other) => Err(DataError::new(format!(
                "Expected Unix timestamp to be a Long, but found {}",
                other.type_label()
            ))),
            (Kind::Date, Value::Int32(days)) => Ok(i64::from(*days) * MILLIS_PER_DAY),
            (Kind::Time, Value::Int32(ms)) => Ok(i64::from(*ms)),
            (Kind::Timestamp, Value::Int64(ms)) => Ok(*ms),
            (kind, other) => Err(DataError::new(format!(
                "Expected {} to be a java.util.Date, but found {}",
                match kind {
                    Kind::Date => "Date",
                    Kind::Time => "Time",
                    _ => "Timestamp",
                },
                other.type_label()
            ))),
        }
    }

    /// `TimestampTranslator.toType`.
    fn to_type(&self, millis: i64) -> Value {
        match self.target {
            Kind::String => Value::String(
                self.format
                    .as_ref()
                    .map(|f| f.format(millis))
                    .unwrap_or_default(),
            ),
            Kind::Unix => Value::Int64(match self.precision {
                Precision::Seconds => millis / 1000,
                Precision::Millis => millis,
                Precision::Micros => millis.saturating_mul(1000),
                Precision::Nanos => millis.saturating_mul(1_000_000),
            }),
            Kind::Date => Value::Int32(millis.div_euclid(MILLIS_PER_DAY) as i32),
            Kind::Time => Value::Int32(millis.rem_euclid(MILLIS_PER_DAY) as i32),
            Kind::Timestamp => Value::Int64(millis),
        }
    }

    fn convert(&self, value: Value, kind: Option<Kind>) -> Result<Value, ConnectError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let kind = match kind {
            Some(k) => k,
            None => match &value {
                Value::Int64(_) => Kind::Unix,
                Value::String(_) => Kind::String,
                other => {
                    return Err(DataError::new(format!(
                        "TimestampConverter does not support {} objects as timestamps",
                        other.type_label()
                    ))
                    .into())
                }
            },
        };
        // Already in the target form (a common case in chains): nothing to do.
        if kind == self.target && kind != Kind::String && kind != Kind::Unix {
            return Ok(value);
        }
        let raw = self.to_raw(kind, &value)?;
        Ok(self.to_type(raw))
    }

    fn build_schema(&self, schema: &Schema) -> Schema {
        let mut b = copy_schema_basics(schema, SchemaType::Struct);
        for field in &schema.fields {
            let fs = if field.name == self.field {
                self.schema_for(field.schema.optional)
            } else {
                field.schema.clone()
            };
            b = b.field(field.name.clone(), fs);
        }
        b.optional = schema.optional;
        b
    }
}

fn type_schema(kind: Kind, optional: bool) -> SchemaRef {
    let s = match kind {
        Kind::String => {
            return if optional {
                schemas::optional_string()
            } else {
                schemas::string()
            }
        }
        Kind::Unix => {
            return if optional {
                schemas::optional_int64()
            } else {
                schemas::int64()
            }
        }
        Kind::Date => Schema::date(),
        Kind::Time => Schema::time(),
        Kind::Timestamp => Schema::timestamp(),
    };
    if optional {
        s.optional().build()
    } else {
        s.build()
    }
}

/// `timestampTypeFromSchema`.
fn kind_from_schema(schema: &Schema) -> Result<Kind, ConnectError> {
    match (schema.name.as_deref(), schema.kind) {
        (Some(logical::TIMESTAMP), _) => Ok(Kind::Timestamp),
        (Some(logical::DATE), _) => Ok(Kind::Date),
        (Some(logical::TIME), _) => Ok(Kind::Time),
        (_, SchemaType::String) => Ok(Kind::String),
        (_, SchemaType::Int64) => Ok(Kind::Unix),
        _ => Err(ConnectError::connect(format!(
            "Schema {} does not correspond to a known timestamp type format",
            schema_label(schema)
        ))),
    }
}

impl Transformation for TimestampConverter {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let value = if value.is_null() || self.field.is_empty() {
                    self.convert(value, None)?
                } else {
                    let mut map = require_map(value, PURPOSE)?;
                    match map
                        .iter_mut()
                        .find(|(k, _)| k.as_str() == Some(self.field.as_str()))
                    {
                        Some((_, v)) => *v = self.convert(std::mem::take(v), None)?,
                        None => map.push((Value::String(self.field.clone()), Value::Null)),
                    }
                    Value::Map(map)
                };
                self.side.set(record, None, value);
            }
            Some(schema) if self.field.is_empty() => {
                let kind = kind_from_schema(&schema)?;
                let converted = self.convert(value, Some(kind))?;
                self.side
                    .set(record, Some(self.schema_for(schema.optional)), converted);
            }
            Some(schema) => {
                let value = require_struct_or_null(value, PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, |s| {
                    let mut b = self.build_schema(s);
                    if let Some(Value::Struct(d)) = &s.default {
                        if let Ok(Some(v)) = self.convert_struct(Some(d.clone()), None) {
                            b.default = Some(Value::Struct(v));
                        }
                    }
                    Ok::<_, ConnectError>(b)
                })?;
                let converted = self.convert_struct(value, Some(updated.clone()))?;
                self.side.set(
                    record,
                    Some(updated),
                    converted.map_or(Value::Null, Value::Struct),
                );
            }
        }
        Ok(true)
    }
}

impl TimestampConverter {
    fn convert_struct(
        &self,
        value: Option<Struct>,
        updated: Option<SchemaRef>,
    ) -> Result<Option<Struct>, ConnectError> {
        let Some(mut value) = value else {
            return Ok(None);
        };
        let schema = value.schema.clone();
        let updated = match updated {
            Some(u) => u,
            None => self.build_schema(&schema).into(),
        };
        fill_defaults(&mut value, self.replace_null);
        if let Some(field) = schema.field_named(&self.field) {
            if let Some(slot) = value.values.get_mut(field.index) {
                let v = std::mem::take(slot);
                *slot = self.convert(v, Some(kind_from_schema(&field.schema)?))?;
            }
        }
        value.schema = updated;
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE_PLUS_TIME_UNIX: i64 = 86_400_000 + 3_600_000 + 60_000 + 1000 + 1; // 1970-01-02T01:01:01.001
    const STRING_DATE_FMT: &str = "yyyy MM dd HH mm ss SSS z";
    const DATE_PLUS_TIME_STRING: &str = "1970 01 02 01 01 01 001 UTC";

    fn conv(target: &str, extra: &[(&str, &str)]) -> TimestampConverter {
        let mut props = HashMap::from([("target.type".to_string(), target.to_string())]);
        for (k, v) in extra {
            props.insert(k.to_string(), v.to_string());
        }
        TimestampConverter::new(Side::Value, &props).unwrap()
    }

    fn apply(t: &TimestampConverter, schema: Option<SchemaRef>, value: Value) -> ConnectRecord {
        let r = ConnectRecord {
            value_schema: schema,
            value,
            ..Default::default()
        };
        t.apply(r).unwrap().unwrap()
    }

    #[test]
    fn config_errors() {
        let e = TimestampConverter::new(
            Side::Value,
            &HashMap::from([("target.type".to_string(), "string".to_string())]),
        )
        .unwrap_err();
        assert_eq!(e.message, "TimestampConverter requires format option to be specified when using string timestamps");
        let e = TimestampConverter::new(
            Side::Value,
            &HashMap::from([("target.type".to_string(), "invalid".to_string())]),
        )
        .unwrap_err();
        assert_eq!(e.key, "target.type");
        let e = TimestampConverter::new(
            Side::Value,
            &HashMap::from([
                ("target.type".to_string(), "unix".to_string()),
                ("format".to_string(), "bad-format-bb".to_string()),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.key, "format");
    }

    #[test]
    fn schemaless_conversions() {
        let t = conv("string", &[("format", STRING_DATE_FMT)]);
        let out = apply(&t, None, Value::Int64(DATE_PLUS_TIME_UNIX));
        assert_eq!(out.value, Value::string(DATE_PLUS_TIME_STRING));
        let t = conv("unix", &[("format", STRING_DATE_FMT)]);
        let out = apply(&t, None, Value::string(DATE_PLUS_TIME_STRING));
        assert_eq!(out.value, Value::Int64(DATE_PLUS_TIME_UNIX));
        // The precision applies to unix input too.
        let t = conv("Timestamp", &[("unix.precision", "seconds")]);
        assert_eq!(
            apply(&t, None, Value::Int64(90061)).value,
            Value::Int64(90_061_000)
        );
        let ts = Some(Schema::timestamp().build());
        let t = conv("unix", &[("unix.precision", "seconds")]);
        let out = apply(&t, ts.clone(), Value::Int64(DATE_PLUS_TIME_UNIX));
        assert_eq!(out.value, Value::Int64(90061));
        let t = conv("unix", &[("unix.precision", "microseconds")]);
        assert_eq!(
            apply(&t, ts, Value::Int64(DATE_PLUS_TIME_UNIX)).value,
            Value::Int64(DATE_PLUS_TIME_UNIX * 1000)
        );
        let t = conv("Date", &[]);
        assert_eq!(
            apply(&t, None, Value::Int64(DATE_PLUS_TIME_UNIX)).value,
            Value::Int32(1)
        );
        let t = conv("Time", &[]);
        assert_eq!(
            apply(&t, None, Value::Int64(DATE_PLUS_TIME_UNIX)).value,
            Value::Int32(3_661_001)
        );
    }

    #[test]
    fn with_schema_field() {
        let schema = Schema::new(SchemaType::Struct)
            .field("ts", Schema::timestamp().build())
            .field("other", schemas::string())
            .build();
        let value = Struct {
            schema: schema.clone(),
            values: vec![Value::Int64(DATE_PLUS_TIME_UNIX), Value::string("x")],
        };
        let t = conv("string", &[("field", "ts"), ("format", STRING_DATE_FMT)]);
        let out = apply(&t, Some(schema), Value::Struct(value));
        assert_eq!(
            out.value.get_field("ts"),
            Some(&Value::string(DATE_PLUS_TIME_STRING))
        );
        let s = out.value_schema.unwrap();
        assert_eq!(s.field_named("ts").unwrap().schema, schemas::string());
    }

    #[test]
    fn whole_value_with_schema() {
        let t = conv("Timestamp", &[("format", STRING_DATE_FMT)]);
        let out = apply(
            &t,
            Some(schemas::string()),
            Value::string(DATE_PLUS_TIME_STRING),
        );
        assert_eq!(out.value, Value::Int64(DATE_PLUS_TIME_UNIX));
        assert_eq!(
            out.value_schema.unwrap().name.as_deref(),
            Some(logical::TIMESTAMP)
        );
        let t = conv("unix", &[]);
        let r = ConnectRecord {
            value_schema: Some(schemas::int32()),
            value: Value::Int32(1),
            ..Default::default()
        };
        assert_eq!(
            t.apply(r).unwrap_err().to_string(),
            "Schema Schema{INT32} does not correspond to a known timestamp type format"
        );
    }

    #[test]
    fn unparseable_string() {
        let t = conv("unix", &[("format", "yyyy-MM-dd")]);
        let r = ConnectRecord {
            value: Value::string("nope"),
            ..Default::default()
        };
        assert_eq!(
            t.apply(r).unwrap_err().to_string(),
            "Could not parse timestamp: value (nope) does not match pattern (yyyy-MM-dd)"
        );
    }
}
