//! `org.apache.kafka.connect.transforms.SetSchemaMetadata$Key` / `$Value`:
//! sets the schema name and/or version.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{define_replace_null, struct_take, SchemaCache, Side};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::data::{Schema, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "schema.name",
        ConfigType::String,
        Importance::High,
        "Schema name to set.",
    )
    .default_null()
    .add();
    def.define(
        "schema.version",
        ConfigType::Int,
        Importance::High,
        "Schema version to set.",
    )
    .default_null()
    .add();
    define_replace_null(&mut def);
    def
}

/// Renames or re-versions schemas.
#[derive(Debug)]
pub(crate) struct SetSchemaMetadata {
    side: Side,
    name: Option<String>,
    version: Option<i32>,
    replace_null: bool,
    cache: SchemaCache,
}

impl SetSchemaMetadata {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let name = config.string("schema.name").map(str::to_string);
        let version = config
            .long("schema.version")
            .and_then(|v| i32::try_from(v).ok());
        if name.is_none() && version.is_none() {
            return Err(PluginConfigError::new(
                "schema.name",
                "Neither schema name nor version configured",
            ));
        }
        Ok(SetSchemaMetadata {
            side,
            name,
            version,
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }
}

impl Transformation for SetSchemaMetadata {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let (schema, value) = self.side.take(record);
        let Some(schema) = schema else {
            return Err(DataError::new("Schema required for [updating schema metadata]").into());
        };
        let updated = self.cache.get_or_build(&schema, |s| {
            let mut u: Schema = s.clone();
            if let Some(n) = &self.name {
                u.name = Some(n.clone());
            }
            if let Some(v) = self.version {
                u.version = Some(v);
            }
            Ok::<_, DataError>(u)
        })?;
        let value = match value {
            Value::Struct(mut s) => {
                let old = s.schema.clone();
                for field in &old.fields {
                    let v = struct_take(&mut s, field, self.replace_null);
                    if let Some(slot) = s.values.get_mut(field.index) {
                        *slot = v;
                    }
                }
                s.schema = updated.clone();
                Value::Struct(s)
            }
            other => other,
        };
        self.side.set(record, Some(updated), value);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{schemas, SchemaType, Struct};

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sets_name_and_version_and_updates_struct() {
        let t = SetSchemaMetadata::new(
            Side::Value,
            &props(&[("schema.name", "foo"), ("schema.version", "42")]),
        )
        .unwrap();
        let schema = Schema::new(SchemaType::Struct)
            .field("a", schemas::string())
            .build();
        let r = ConnectRecord {
            value_schema: Some(schema.clone()),
            value: Value::Struct(Struct::new(schema).with("a", Value::string("x")).unwrap()),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        assert_eq!(s.name.as_deref(), Some("foo"));
        assert_eq!(s.version, Some(42));
        let Value::Struct(v) = out.value else {
            panic!()
        };
        assert_eq!(v.schema, s);
    }

    #[test]
    fn needs_config_and_schema() {
        let e = SetSchemaMetadata::new(Side::Value, &props(&[])).unwrap_err();
        assert_eq!(e.message, "Neither schema name nor version configured");
        let t = SetSchemaMetadata::new(Side::Value, &props(&[("schema.name", "x")])).unwrap();
        let e = t.apply(ConnectRecord::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Schema required for [updating schema metadata]"
        );
    }
}
