//! `org.apache.kafka.connect.transforms.ValueToKey`: the key becomes a
//! struct (or map) of some fields of the value.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{
    define_replace_null, map_get, non_empty, non_empty_list, require_map, require_struct,
    struct_get, SchemaCache,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::data::{Schema, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "copying fields from value to key";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "fields",
        ConfigType::List,
        Importance::High,
        "Field names on the record value to extract as the record key.",
    )
    .validator(non_empty_list())
    .add();
    define_replace_null(&mut def);
    def
}

/// Builds the key from value fields.
#[derive(Debug)]
pub(crate) struct ValueToKey {
    fields: Vec<String>,
    replace_null: bool,
    cache: SchemaCache,
}

impl ValueToKey {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        Ok(ValueToKey {
            fields: non_empty(&config, "fields")?,
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }
}

impl Transformation for ValueToKey {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let value = std::mem::take(&mut record.value);
        match record.value_schema.clone() {
            None => {
                let map = require_map(value, PURPOSE)?;
                let mut key = Vec::with_capacity(self.fields.len());
                for field in &self.fields {
                    let v = map_get(&map, field).cloned().unwrap_or_default();
                    super::util::map_put(&mut key, field, v);
                }
                record.key_schema = None;
                record.key = Value::Map(key);
                record.value = Value::Map(map);
            }
            Some(schema) => {
                let value = require_struct(value, PURPOSE)?;
                let key_schema = self.cache.get_or_build(&schema, |s| {
                    let mut b = Schema::new(SchemaType::Struct);
                    for field in &self.fields {
                        let f = s.field_named(field).ok_or_else(|| {
                            DataError::new(format!("Field does not exist: {field}"))
                        })?;
                        b = b.field(field.clone(), f.schema.clone());
                    }
                    Ok::<_, DataError>(b)
                })?;
                let mut values = Vec::with_capacity(self.fields.len());
                for field in &self.fields {
                    let v = match value.schema.field_named(field) {
                        Some(f) => struct_get(&value, f, self.replace_null),
                        None => {
                            return Err(
                                DataError::new(format!("Field does not exist: {field}")).into()
                            )
                        }
                    };
                    values.push(v);
                }
                record.key_schema = Some(key_schema.clone());
                record.key = Value::Struct(Struct {
                    schema: key_schema,
                    values,
                });
                record.value = Value::Struct(value);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    fn v2k() -> ValueToKey {
        ValueToKey::new(&HashMap::from([("fields".to_string(), "a,b".to_string())])).unwrap()
    }

    #[test]
    fn schemaless() {
        let value = Value::Map(vec![
            (Value::string("a"), Value::Int32(1)),
            (Value::string("b"), Value::Int32(2)),
            (Value::string("c"), Value::Int32(3)),
        ]);
        let r = ConnectRecord {
            value: value.clone(),
            ..Default::default()
        };
        let out = v2k().apply(r).unwrap().unwrap();
        assert_eq!(
            out.key,
            Value::Map(vec![
                (Value::string("a"), Value::Int32(1)),
                (Value::string("b"), Value::Int32(2)),
            ])
        );
        assert_eq!(out.value, value);
    }

    #[test]
    fn with_schema_and_missing_field() {
        let schema = Schema::new(SchemaType::Struct)
            .field("a", schemas::int32())
            .field("b", schemas::int32())
            .field("c", schemas::int32())
            .build();
        let value = Struct {
            schema: schema.clone(),
            values: vec![Value::Int32(1), Value::Int32(2), Value::Int32(3)],
        };
        let r = ConnectRecord {
            value_schema: Some(schema.clone()),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = v2k().apply(r).unwrap().unwrap();
        assert_eq!(out.key.get_field("b"), Some(&Value::Int32(2)));
        let t = ValueToKey::new(&HashMap::from([(
            "fields".to_string(),
            "not_exist".to_string(),
        )]))
        .unwrap();
        let r = ConnectRecord {
            value_schema: Some(schema.clone()),
            value: Value::Struct(Struct::new(schema)),
            ..Default::default()
        };
        assert_eq!(
            t.apply(r).unwrap_err().to_string(),
            "Field does not exist: not_exist"
        );
    }
}
