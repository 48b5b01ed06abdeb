//! Helpers shared by the built-in transforms: the record side a `$Key` or
//! `$Value` variant operates on, Kafka's `Requirements` checks,
//! `SchemaUtil.copySchemaBasics`, a small cache of updated schemas, and
//! Java's `toString` of numbers.

use std::sync::{Arc, Mutex};

use super::PluginConfigError;
use crate::config::{ConfigDef, ConfigType, Importance, ParsedConfig, Validator};
use crate::data::{Field, Schema, SchemaRef, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::DataError;

/// Implements `Transformation::apply` on top of `apply_in_place`, which is
/// where the built-in transforms do their work without moving the record.
macro_rules! apply_via_in_place {
    () => {
        fn apply(
            &self,
            mut record: crate::record::ConnectRecord,
        ) -> Result<Option<crate::record::ConnectRecord>, crate::ConnectError> {
            Ok(self.apply_in_place(&mut record)?.then_some(record))
        }
    };
}
pub(crate) use apply_via_in_place;

/// Which part of the record a `$Key` / `$Value` variant transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Key,
    Value,
}

impl Side {
    pub(crate) fn value(self, record: &ConnectRecord) -> &Value {
        match self {
            Side::Key => &record.key,
            Side::Value => &record.value,
        }
    }

    /// Moves the schema and value out of the record, leaving null behind.
    pub(crate) fn take(self, record: &mut ConnectRecord) -> (Option<SchemaRef>, Value) {
        match self {
            Side::Key => (record.key_schema.take(), std::mem::take(&mut record.key)),
            Side::Value => (
                record.value_schema.take(),
                std::mem::take(&mut record.value),
            ),
        }
    }

    pub(crate) fn set(self, record: &mut ConnectRecord, schema: Option<SchemaRef>, value: Value) {
        match self {
            Side::Key => {
                record.key_schema = schema;
                record.key = value;
            }
            Side::Value => {
                record.value_schema = schema;
                record.value = value;
            }
        }
    }
}

/// `value.getClass().getName()` as Kafka's `Requirements.nullSafeClassName`.
pub(crate) fn class_name(value: &Value) -> &'static str {
    let label = value.type_label();
    label.strip_prefix("class ").unwrap_or(label)
}

/// `Requirements.requireMap`.
pub(crate) fn require_map(value: Value, purpose: &str) -> Result<Vec<(Value, Value)>, DataError> {
    match value {
        Value::Map(entries) => Ok(entries),
        other => Err(DataError::new(format!(
            "Only Map objects supported in absence of schema for [{purpose}], found: {}",
            class_name(&other)
        ))),
    }
}

/// `Requirements.requireStruct`.
pub(crate) fn require_struct(value: Value, purpose: &str) -> Result<Struct, DataError> {
    match value {
        Value::Struct(s) => Ok(s),
        other => Err(struct_error(&other, purpose)),
    }
}

pub(crate) fn struct_error(value: &Value, purpose: &str) -> DataError {
    DataError::new(format!(
        "Only Struct objects supported for [{purpose}], found: {}",
        class_name(value)
    ))
}

/// `Requirements.requireStructOrNull`.
pub(crate) fn require_struct_or_null(
    value: Value,
    purpose: &str,
) -> Result<Option<Struct>, DataError> {
    match value {
        Value::Null => Ok(None),
        other => require_struct(other, purpose).map(Some),
    }
}

/// `Requirements.requireSinkRecord`: sink records carry their Kafka position.
pub(crate) fn require_sink_offset(record: &ConnectRecord, purpose: &str) -> Result<i64, DataError> {
    record.kafka_offset().ok_or_else(|| {
        DataError::new(format!(
            "Only SinkRecord supported for [{purpose}], found: org.apache.kafka.connect.source.SourceRecord"
        ))
    })
}

/// A string-keyed map entry, as `map.get(name)`.
pub(crate) fn map_get<'a>(entries: &'a [(Value, Value)], name: &str) -> Option<&'a Value> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

/// `map.put(name, value)`: replaces in place, or appends.
pub(crate) fn map_put(entries: &mut Vec<(Value, Value)>, name: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
        Some(entry) => entry.1 = value,
        None => entries.push((Value::String(name.to_string()), value)),
    }
}

/// `map.remove(name)`.
pub(crate) fn map_remove(entries: &mut Vec<(Value, Value)>, name: &str) -> Option<Value> {
    let pos = entries.iter().position(|(k, _)| k.as_str() == Some(name))?;
    Some(entries.remove(pos).1)
}

/// `Struct.get(field)` (`replace_null` true: a null field reads as its
/// schema default) or `Struct.getWithoutDefault` (false).
pub(crate) fn struct_get(s: &Struct, field: &Field, replace_null: bool) -> Value {
    match s.values.get(field.index) {
        Some(Value::Null) | None => null_or_default(&field.schema, replace_null),
        Some(v) => v.clone(),
    }
}

/// Prepares a struct to be reused in place for an updated schema: one value
/// per field, and (with `replace_null`) null fields replaced by their
/// defaults, which is what copying it field by field with `Struct.get`
/// does in Kafka.
pub(crate) fn fill_defaults(s: &mut Struct, replace_null: bool) {
    let schema = s.schema.clone();
    s.values.resize(schema.fields.len(), Value::Null);
    if !replace_null {
        return;
    }
    for (slot, field) in s.values.iter_mut().zip(&schema.fields) {
        if slot.is_null() {
            if let Some(d) = &field.schema.default {
                *slot = d.clone();
            }
        }
    }
}

/// Like [`struct_get`] but moves the value out of the struct.
pub(crate) fn struct_take(s: &mut Struct, field: &Field, replace_null: bool) -> Value {
    match s.values.get_mut(field.index) {
        Some(Value::Null) | None => null_or_default(&field.schema, replace_null),
        Some(v) => std::mem::take(v),
    }
}

fn null_or_default(schema: &Schema, replace_null: bool) -> Value {
    match (&schema.default, replace_null) {
        (Some(d), true) => d.clone(),
        _ => Value::Null,
    }
}

/// `SchemaUtil.copySchemaBasics(source, builder)`: name, version, doc and
/// parameters, but not optionality or the default.
pub(crate) fn copy_schema_basics(source: &Schema, kind: SchemaType) -> Schema {
    let mut s = Schema::new(kind);
    s.name = source.name.clone();
    s.version = source.version;
    s.doc = source.doc.clone();
    s.parameters = source.parameters.clone();
    if kind == SchemaType::Array && source.kind == SchemaType::Array {
        s.value_schema = source.value_schema.clone();
    }
    s
}

/// Appends a field, failing like `SchemaBuilder.field` on a duplicate name.
pub(crate) fn add_field(
    schema: &mut Schema,
    name: &str,
    field_schema: SchemaRef,
) -> Result<(), DataError> {
    if schema.field_named(name).is_some() {
        return Err(DataError::new(format!(
            "Cannot create field because of field name duplication {name}"
        )));
    }
    let index = schema.fields.len();
    schema.fields.push(Field {
        name: name.to_string(),
        index,
        schema: field_schema,
    });
    Ok(())
}

/// `ConnectSchema.toString()`.
pub(crate) fn schema_label(schema: &Schema) -> String {
    match &schema.name {
        Some(n) => format!("Schema{{{n}:{}}}", schema.kind.upper_name()),
        None => format!("Schema{{{}}}", schema.kind.upper_name()),
    }
}

/// The LRU cache of updated schemas that Kafka's transforms keep (16
/// entries). Converters hand out the same `Arc` for the same schema, so a
/// pointer comparison usually hits before the deep comparison is needed.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    entries: Mutex<Vec<(SchemaRef, SchemaRef)>>,
}

const SCHEMA_CACHE_SIZE: usize = 16;

impl SchemaCache {
    pub(crate) fn get_or_build<E>(
        &self,
        schema: &SchemaRef,
        build: impl FnOnce(&Schema) -> Result<Schema, E>,
    ) -> Result<SchemaRef, E> {
        if let Ok(entries) = self.entries.lock() {
            if let Some((_, v)) = entries.iter().find(|(k, _)| Arc::ptr_eq(k, schema)) {
                return Ok(v.clone());
            }
            if let Some((_, v)) = entries.iter().find(|(k, _)| **k == **schema) {
                return Ok(v.clone());
            }
        }
        let updated = Arc::new(build(schema)?);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= SCHEMA_CACHE_SIZE {
                entries.remove(0);
            }
            entries.push((schema.clone(), updated.clone()));
        }
        Ok(updated)
    }
}

/// Defines `replace.null.with.default` (KIP-1040) with Kafka's doc.
pub(crate) fn define_replace_null(def: &mut ConfigDef) {
    def.define(
        "replace.null.with.default",
        ConfigType::Boolean,
        Importance::Medium,
        "Whether to replace fields that have a default value and that are null to the default value. When set to true, the default value is used, otherwise null is used.",
    )
    .default("true")
    .add();
}

/// Kafka's `NonEmptyListValidator`, as documentation; the check is
/// [`non_empty`], which can print the list the way Kafka does (`[]`).
pub(crate) fn non_empty_list() -> Validator {
    Validator::Custom {
        check: |_| Ok(()),
        describe: "non-empty list",
    }
}

/// A LIST key that must not be empty, failing like `NonEmptyListValidator`.
pub(crate) fn non_empty(
    config: &ParsedConfig,
    key: &str,
) -> Result<Vec<String>, PluginConfigError> {
    let list = config.list(key);
    if list.is_empty() {
        return Err(PluginConfigError::new(
            key,
            format!("Invalid value [] for configuration {key}: Empty list"),
        ));
    }
    Ok(list)
}

/// Java's `Double.toString`.
pub(crate) fn java_double(v: f64) -> String {
    java_fp(
        v.is_nan(),
        v.is_infinite(),
        v < 0.0,
        v.abs(),
        format!("{v}"),
        format!("{v:e}"),
    )
}

/// Java's `Float.toString`.
pub(crate) fn java_float(v: f32) -> String {
    java_fp(
        v.is_nan(),
        v.is_infinite(),
        v < 0.0,
        f64::from(v.abs()),
        format!("{v}"),
        format!("{v:e}"),
    )
}

fn java_fp(nan: bool, inf: bool, neg: bool, abs: f64, plain: String, sci: String) -> String {
    if nan {
        return "NaN".to_string();
    }
    if inf {
        return if neg { "-Infinity" } else { "Infinity" }.to_string();
    }
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        if plain.contains('.') {
            plain
        } else {
            plain + ".0"
        }
    } else {
        let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
        if mantissa.contains('.') {
            format!("{mantissa}E{exp}")
        } else {
            format!("{mantissa}.0E{exp}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_number_strings() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(1.5e-5), "1.5E-5");
        assert_eq!(java_double(-0.25), "-0.25");
        assert_eq!(java_float(1.1), "1.1");
        assert_eq!(java_float(12345678.0), "1.2345678E7");
    }
}
