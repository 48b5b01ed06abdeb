//! `org.apache.kafka.connect.transforms.Flatten$Key` / `$Value`: nested
//! structs (or maps, schemaless) become top-level fields named by joining
//! the path with `delimiter`. Arrays are left as they are.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{copy_schema_basics, define_replace_null, struct_take, SchemaCache, Side};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::data::{Schema, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "flattening";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "delimiter",
        ConfigType::String,
        Importance::Medium,
        "Delimiter to insert between field names from the input record when generating field names for the output record",
    )
    .default(".")
    .add();
    define_replace_null(&mut def);
    def
}

/// Flattens nested data.
#[derive(Debug)]
pub(crate) struct Flatten {
    side: Side,
    delimiter: String,
    replace_null: bool,
    cache: SchemaCache,
}

impl Flatten {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let delimiter = config.string("delimiter").unwrap_or(".").to_string();
        Ok(Flatten {
            side,
            delimiter,
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }

    fn name(&self, prefix: &str, name: &str) -> String {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}{}{name}", self.delimiter)
        }
    }

    fn flatten_map(
        &self,
        entries: Vec<(Value, Value)>,
        prefix: &str,
        out: &mut Vec<(Value, Value)>,
    ) -> Result<(), DataError> {
        for (k, v) in entries {
            let key = match &k {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let name = self.name(prefix, &key);
            match v {
                Value::Map(inner) => self.flatten_map(inner, &name, out)?,
                Value::Struct(_) => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support class org.apache.kafka.connect.data.Struct for record without schemas (for field {name})."
                    )))
                }
                other => out.push((Value::String(name), other)),
            }
        }
        Ok(())
    }

    fn build_schema(
        &self,
        schema: &Schema,
        prefix: &str,
        out: &mut Schema,
        optional: bool,
        parent_default: Option<&Struct>,
    ) -> Result<(), DataError> {
        for field in &schema.fields {
            let name = self.name(prefix, &field.name);
            let field_optional = optional || field.schema.optional;
            let default = field
                .schema
                .default
                .clone()
                .or_else(|| parent_default.and_then(|d| d.values.get(field.index).cloned()));
            match field.schema.kind {
                SchemaType::Struct => {
                    let default_struct = match &default {
                        Some(Value::Struct(s)) => Some(s),
                        _ => None,
                    };
                    self.build_schema(&field.schema, &name, out, field_optional, default_struct)?;
                }
                SchemaType::Map => {
                    return Err(DataError::new(format!(
                        "Flatten transformation does not support MAP for record with schemas (for field {name})."
                    )))
                }
                kind => {
                    let mut fs = copy_schema_basics(&field.schema, kind);
                    fs.optional = field_optional;
                    fs.default = default.filter(|d| !d.is_null());
                    *out = std::mem::replace(out, Schema::new(SchemaType::Struct))
                        .field(name, fs.build());
                }
            }
        }
        Ok(())
    }

    fn flatten_struct(&self, mut value: Struct, out: &mut Vec<Value>) {
        let schema = value.schema.clone();
        for field in &schema.fields {
            match field.schema.kind {
                SchemaType::Struct => match struct_take(&mut value, field, true) {
                    Value::Struct(inner) => self.flatten_struct(inner, out),
                    _ => push_nulls(&field.schema, out),
                },
                _ => out.push(struct_take(&mut value, field, self.replace_null)),
            }
        }
    }
}

fn push_nulls(schema: &Schema, out: &mut Vec<Value>) {
    for field in &schema.fields {
        if field.schema.kind == SchemaType::Struct {
            push_nulls(&field.schema, out);
        } else {
            out.push(Value::Null);
        }
    }
}

impl Transformation for Flatten {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if self.side.value(record).is_null() {
            return Ok(true);
        }
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let entries = super::util::require_map(value, PURPOSE)?;
                let mut out = Vec::with_capacity(entries.len());
                self.flatten_map(entries, "", &mut out)?;
                self.side.set(record, None, Value::Map(out));
            }
            Some(schema) => {
                let value = super::util::require_struct(value, PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, |s| {
                    let mut b = copy_schema_basics(s, SchemaType::Struct);
                    let default = match &s.default {
                        Some(Value::Struct(d)) => Some(d),
                        _ => None,
                    };
                    self.build_schema(s, "", &mut b, s.optional, default)?;
                    Ok::<_, DataError>(b)
                })?;
                let mut values = Vec::with_capacity(updated.fields.len());
                self.flatten_struct(value, &mut values);
                let out = Struct {
                    schema: updated.clone(),
                    values,
                };
                self.side.set(record, Some(updated), Value::Struct(out));
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    fn flatten(delimiter: Option<&str>) -> Flatten {
        let mut props = HashMap::new();
        if let Some(d) = delimiter {
            props.insert("delimiter".to_string(), d.to_string());
        }
        Flatten::new(Side::Value, &props).unwrap()
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
    fn schemaless_nested_maps() {
        let value = map(vec![
            (
                "A",
                map(vec![
                    ("B", map(vec![("int32", Value::Int32(8))])),
                    ("s", Value::string("x")),
                ]),
            ),
            ("arr", Value::Array(vec![Value::Int64(1)])),
        ]);
        let r = ConnectRecord {
            value,
            ..Default::default()
        };
        let out = flatten(Some("#")).apply(r).unwrap().unwrap().value;
        assert_eq!(
            out,
            map(vec![
                ("A#B#int32", Value::Int32(8)),
                ("A#s", Value::string("x")),
                ("arr", Value::Array(vec![Value::Int64(1)])),
            ])
        );
    }

    #[test]
    fn nested_struct_with_optional_parent() {
        let inner = Schema::new(SchemaType::Struct)
            .field("int", schemas::int32())
            .optional()
            .build();
        let outer = Schema::new(SchemaType::Struct)
            .field("inner", inner.clone())
            .field("s", schemas::string())
            .build();
        let value = Struct {
            schema: outer.clone(),
            values: vec![Value::Null, Value::string("x")],
        };
        let r = ConnectRecord {
            value_schema: Some(outer),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = flatten(None).apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        let f = s.field_named("inner.int").unwrap();
        assert!(
            f.schema.optional,
            "fields of an optional struct become optional"
        );
        assert_eq!(out.value.get_field("inner.int"), Some(&Value::Null));
        assert_eq!(out.value.get_field("s"), Some(&Value::string("x")));
    }

    #[test]
    fn map_with_schema_is_unsupported() {
        let outer = Schema::new(SchemaType::Struct)
            .field(
                "m",
                Schema::map(schemas::string(), schemas::string()).build(),
            )
            .build();
        let r = ConnectRecord {
            value_schema: Some(outer.clone()),
            value: Value::Struct(Struct::new(outer)),
            ..Default::default()
        };
        assert_eq!(
            flatten(None).apply(r).unwrap_err().to_string(),
            "Flatten transformation does not support MAP for record with schemas (for field m)."
        );
    }
}
