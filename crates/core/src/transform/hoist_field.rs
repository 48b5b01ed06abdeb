//! `org.apache.kafka.connect.transforms.HoistField$Key` / `$Value`: wraps
//! the key or value in a struct (or map) with a single field.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{SchemaCache, Side};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::data::{Schema, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "field",
        ConfigType::String,
        Importance::Medium,
        "Field name for the single field that will be created in the resulting Struct or Map.",
    )
    .add();
    def
}

/// Wraps data in a single-field struct or map.
#[derive(Debug)]
pub(crate) struct HoistField {
    side: Side,
    field: String,
    cache: SchemaCache,
}

impl HoistField {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        Ok(HoistField {
            side,
            field: config.string("field").unwrap_or_default().to_string(),
            cache: SchemaCache::default(),
        })
    }
}

impl Transformation for HoistField {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let map = Value::Map(vec![(Value::String(self.field.clone()), value)]);
                self.side.set(record, None, map);
            }
            Some(schema) => {
                // Struct.put validates the value against the field schema.
                if value.is_null() && !schema.optional && schema.default.is_none() {
                    return Err(DataError::new(format!(
                        "Invalid value: null used for required field: \"{}\", schema type: {}",
                        self.field,
                        schema.kind.upper_name()
                    ))
                    .into());
                }
                let updated = self.cache.get_or_build(&schema, |_| {
                    Ok::<_, ConnectError>(
                        Schema::new(SchemaType::Struct).field(self.field.clone(), schema.clone()),
                    )
                })?;
                let out = Struct {
                    schema: updated.clone(),
                    values: vec![value],
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

    fn hoist() -> HoistField {
        HoistField::new(
            Side::Key,
            &HashMap::from([("field".to_string(), "magic".to_string())]),
        )
        .unwrap()
    }

    #[test]
    fn schemaless() {
        let r = ConnectRecord {
            key: Value::Int32(42),
            ..Default::default()
        };
        let out = hoist().apply(r).unwrap().unwrap();
        assert_eq!(
            out.key,
            Value::Map(vec![(Value::string("magic"), Value::Int32(42))])
        );
    }

    #[test]
    fn null_for_a_required_schema_fails_like_struct_put() {
        let r = ConnectRecord {
            key_schema: Some(schemas::int32()),
            key: Value::Null,
            ..Default::default()
        };
        assert_eq!(
            hoist().apply(r).unwrap_err().to_string(),
            "Invalid value: null used for required field: \"magic\", schema type: INT32"
        );
    }

    #[test]
    fn with_schema() {
        let r = ConnectRecord {
            key_schema: Some(schemas::int32()),
            key: Value::Int32(42),
            ..Default::default()
        };
        let out = hoist().apply(r).unwrap().unwrap();
        let s = out.key_schema.unwrap();
        assert_eq!(s.field_named("magic").unwrap().schema, schemas::int32());
        assert_eq!(out.key.get_field("magic"), Some(&Value::Int32(42)));
    }
}
