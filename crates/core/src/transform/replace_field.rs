//! `org.apache.kafka.connect.transforms.ReplaceField$Key` / `$Value`:
//! filters fields (`include` / `exclude`, and the deprecated `whitelist` /
//! `blacklist`) and renames them (`renames`).

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{
    copy_schema_basics, define_replace_null, fill_defaults, require_map, require_struct,
    SchemaCache, Side,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{Schema, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "field replacement";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "exclude",
        ConfigType::List,
        Importance::Medium,
        "Fields to exclude. This takes precedence over the fields to include.",
    )
    .default("")
    .add();
    def.define(
        "include",
        ConfigType::List,
        Importance::Medium,
        "Fields to include. If specified, only these fields will be used.",
    )
    .default("")
    .add();
    def.define(
        "renames",
        ConfigType::List,
        Importance::Medium,
        "Field rename mappings.",
    )
    .default("")
    .validator(Validator::Custom {
        check: |_| Ok(()),
        describe: "list of colon-delimited pairs, e.g. <code>foo:bar,abc:xyz</code>",
    })
    .add();
    define_replace_null(&mut def);
    def.define(
        "blacklist",
        ConfigType::List,
        Importance::Low,
        "Deprecated. Use exclude instead.",
    )
    .default_null()
    .add();
    def.define(
        "whitelist",
        ConfigType::List,
        Importance::Low,
        "Deprecated. Use include instead.",
    )
    .default_null()
    .add();
    def
}

/// Drops and renames fields.
#[derive(Debug)]
pub(crate) struct ReplaceField {
    side: Side,
    exclude: Vec<String>,
    include: Vec<String>,
    renames: Vec<(String, String)>,
    replace_null: bool,
    cache: SchemaCache,
}

impl ReplaceField {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        // ConfigUtils.translateDeprecatedConfigs: the new key wins when both are set.
        let mut props = props.clone();
        for (new, old) in [("exclude", "blacklist"), ("include", "whitelist")] {
            if !props.contains_key(new) {
                if let Some(v) = props.get(old).cloned() {
                    props.insert(new.to_string(), v);
                }
            }
        }
        let config = config_def().parse(&props)?;
        let mappings = config.list("renames");
        let mut renames = Vec::with_capacity(mappings.len());
        for mapping in &mappings {
            match mapping.split(':').collect::<Vec<_>>().as_slice() {
                [from, to] => renames.push((from.to_string(), to.to_string())),
                _ => {
                    return Err(PluginConfigError::new(
                        "renames",
                        format!(
                            "Invalid value [{}] for configuration renames: Invalid rename mapping: {mapping}",
                            mappings.join(", ")
                        ),
                    ))
                }
            }
        }
        Ok(ReplaceField {
            side,
            exclude: config.list("exclude"),
            include: config.list("include"),
            renames,
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }

    fn filter(&self, name: &str) -> bool {
        !self.exclude.iter().any(|f| f == name)
            && (self.include.is_empty() || self.include.iter().any(|f| f == name))
    }

    fn renamed<'a>(&'a self, name: &'a str) -> &'a str {
        self.renames
            .iter()
            .find(|(from, _)| from == name)
            .map_or(name, |(_, to)| to.as_str())
    }

    fn build_schema(&self, schema: &Schema) -> Result<Schema, DataError> {
        let mut builder = copy_schema_basics(schema, SchemaType::Struct);
        for field in &schema.fields {
            if self.filter(&field.name) {
                let name = self.renamed(&field.name);
                if builder.field_named(name).is_some() {
                    return Err(DataError::new(format!(
                        "Cannot create field because of field name duplication {name}"
                    )));
                }
                builder = builder.field(name, field.schema.clone());
            }
        }
        Ok(builder)
    }
}

impl Transformation for ReplaceField {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if self.side.value(record).is_null() {
            return Ok(true);
        }
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                // One pass: drop filtered fields, rename the rest in place.
                map.retain_mut(|(k, _)| {
                    let Value::String(name) = k else {
                        return true;
                    };
                    if !self.filter(name) {
                        return false;
                    }
                    if let Some((_, to)) = self.renames.iter().find(|(from, _)| from == name) {
                        name.clear();
                        name.push_str(to);
                    }
                    true
                });
                self.side.set(record, None, Value::Map(map));
            }
            Some(schema) => {
                let mut value = require_struct(value, PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, |s| self.build_schema(s))?;
                fill_defaults(&mut value, self.replace_null);
                let old = value.schema.clone();
                let mut fields = old.fields.iter();
                value
                    .values
                    .retain(|_| fields.next().is_some_and(|f| self.filter(&f.name)));
                let out = Struct {
                    schema: updated.clone(),
                    values: value.values,
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

    fn replace(pairs: &[(&str, &str)]) -> ReplaceField {
        let props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ReplaceField::new(Side::Value, &props).unwrap()
    }

    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (Value::string(k), v))
                .collect(),
        )
    }

    // Mirrors Kafka's ReplaceFieldTest.schemaless.
    #[test]
    fn schemaless() {
        let t = replace(&[("exclude", "dont"), ("renames", "abc:xyz,foo:bar")]);
        let r = ConnectRecord {
            value: map(vec![
                ("dont", Value::string("whatever")),
                ("abc", Value::Int64(42)),
                ("foo", Value::Boolean(true)),
                ("etc", Value::string("etc")),
            ]),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap().value;
        assert_eq!(
            out,
            map(vec![
                ("xyz", Value::Int64(42)),
                ("bar", Value::Boolean(true)),
                ("etc", Value::string("etc")),
            ])
        );
    }

    // Mirrors Kafka's ReplaceFieldTest.withSchema.
    #[test]
    fn with_schema_and_deprecated_whitelist() {
        let t = replace(&[("whitelist", "abc,foo,bar"), ("renames", "abc:xyz,foo:bar")]);
        let schema = Schema::new(SchemaType::Struct)
            .field("dont", schemas::string())
            .field("abc", schemas::int32())
            .field("foo", schemas::boolean())
            .field("etc", schemas::string())
            .build();
        let value = Struct {
            schema: schema.clone(),
            values: vec![
                Value::string("whatever"),
                Value::Int32(42),
                Value::Boolean(true),
                Value::string("etc"),
            ],
        };
        let r = ConnectRecord {
            value_schema: Some(schema),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["xyz", "bar"]);
        assert_eq!(out.value.get_field("xyz"), Some(&Value::Int32(42)));
        assert_eq!(out.value.get_field("bar"), Some(&Value::Boolean(true)));
    }

    #[test]
    fn bad_rename_mapping() {
        let e = ReplaceField::new(
            Side::Value,
            &HashMap::from([("renames".to_string(), "a:b:c".to_string())]),
        )
        .unwrap_err();
        assert_eq!(e.key, "renames");
        assert_eq!(
            e.message,
            "Invalid value [a:b:c] for configuration renames: Invalid rename mapping: a:b:c"
        );
    }

    #[test]
    fn tombstone_passes_through() {
        let t = replace(&[("exclude", "a")]);
        let r = ConnectRecord::default();
        assert_eq!(t.apply(r.clone()).unwrap().unwrap(), r);
    }
}
