//! `org.apache.kafka.connect.transforms.HeaderFrom$Key` / `$Value`: moves or
//! copies fields of the key or value into headers.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{
    copy_schema_basics, define_replace_null, map_get, map_remove, non_empty, non_empty_list,
    require_map, require_struct, struct_get, SchemaCache, Side,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "fields",
        ConfigType::List,
        Importance::High,
        "Field names in the record whose values are to be copied or moved to headers.",
    )
    .validator(non_empty_list())
    .add();
    def.define(
        "headers",
        ConfigType::List,
        Importance::High,
        "Header names, in the same order as the field names listed in the fields configuration property.",
    )
    .validator(non_empty_list())
    .add();
    def.define(
        "operation",
        ConfigType::String,
        Importance::High,
        "Either <code>move</code> if the fields are to be moved to the headers (removed from the key/value), or <code>copy</code> if the fields are to be copied to the headers (retained in the key/value).",
    )
    .validator(Validator::OneOf(&["move", "copy"]))
    .add();
    define_replace_null(&mut def);
    def
}

/// Moves or copies fields into headers.
#[derive(Debug)]
pub(crate) struct HeaderFrom {
    side: Side,
    fields: Vec<String>,
    headers: Vec<String>,
    is_move: bool,
    purpose: &'static str,
    replace_null: bool,
    cache: SchemaCache,
}

impl HeaderFrom {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let fields = non_empty(&config, "fields")?;
        let headers = non_empty(&config, "headers")?;
        if fields.len() != headers.len() {
            return Err(PluginConfigError::new(
                "headers",
                "'fields' config must have the same number of elements as 'headers' config.",
            ));
        }
        let is_move = config.string("operation") == Some("move");
        Ok(HeaderFrom {
            side,
            fields,
            headers,
            is_move,
            purpose: if is_move {
                "header move"
            } else {
                "header copy"
            },
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }
}

impl Transformation for HeaderFrom {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let mut map = require_map(value, self.purpose)?;
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let v = if self.is_move {
                        map_remove(&mut map, field)
                    } else {
                        map_get(&map, field).cloned()
                    };
                    record
                        .headers
                        .add(header.clone(), None, v.unwrap_or_default());
                }
                self.side.set(record, None, Value::Map(map));
            }
            Some(schema) => {
                let value = require_struct(value, self.purpose)?;
                for (field, header) in self.fields.iter().zip(&self.headers) {
                    let f = schema.field_named(field).ok_or_else(|| {
                        DataError::new(format!("{field} is not a valid field name"))
                    })?;
                    let v = value
                        .schema
                        .field_named(field)
                        .map_or(Value::Null, |vf| struct_get(&value, vf, self.replace_null));
                    record
                        .headers
                        .add(header.clone(), Some(f.schema.clone()), v);
                }
                if self.is_move {
                    let updated = self.cache.get_or_build(&schema, |s| {
                        let mut b = copy_schema_basics(s, SchemaType::Struct);
                        for f in s.fields.iter().filter(|f| !self.fields.contains(&f.name)) {
                            b = b.field(f.name.clone(), f.schema.clone());
                        }
                        Ok::<_, DataError>(b)
                    })?;
                    let values = updated
                        .fields
                        .iter()
                        .map(|f| {
                            value
                                .schema
                                .field_named(&f.name)
                                .map_or(Value::Null, |vf| struct_get(&value, vf, self.replace_null))
                        })
                        .collect();
                    let out = Struct {
                        schema: updated.clone(),
                        values,
                    };
                    self.side.set(record, Some(updated), Value::Struct(out));
                } else {
                    self.side.set(record, Some(schema), Value::Struct(value));
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{schemas, Schema};

    fn header_from(op: &str) -> HeaderFrom {
        HeaderFrom::new(
            Side::Value,
            &HashMap::from([
                ("fields".to_string(), "a,b".to_string()),
                ("headers".to_string(), "ha,hb".to_string()),
                ("operation".to_string(), op.to_string()),
            ]),
        )
        .unwrap()
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
    fn schemaless_move_and_copy() {
        let value = map(vec![
            ("a", Value::Int64(1)),
            ("b", Value::string("x")),
            ("c", Value::Null),
        ]);
        let r = ConnectRecord {
            value: value.clone(),
            ..Default::default()
        };
        let out = header_from("move").apply(r.clone()).unwrap().unwrap();
        assert_eq!(out.value, map(vec![("c", Value::Null)]));
        assert_eq!(
            out.headers.last_with_name("ha").unwrap().value,
            Value::Int64(1)
        );
        assert_eq!(
            out.headers.last_with_name("hb").unwrap().value,
            Value::string("x")
        );
        let out = header_from("copy").apply(r).unwrap().unwrap();
        assert_eq!(out.value, value);
        assert_eq!(out.headers.len(), 2);
    }

    #[test]
    fn with_schema_move() {
        let schema = Schema::new(SchemaType::Struct)
            .field("a", schemas::int64())
            .field("b", schemas::string())
            .field("c", schemas::string())
            .build();
        let value = Struct {
            schema: schema.clone(),
            values: vec![Value::Int64(1), Value::string("x"), Value::string("y")],
        };
        let r = ConnectRecord {
            value_schema: Some(schema),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = header_from("move").apply(r).unwrap().unwrap();
        let s = out.value_schema.unwrap();
        assert_eq!(s.fields.len(), 1);
        assert_eq!(out.value.get_field("c"), Some(&Value::string("y")));
        let h = out.headers.last_with_name("ha").unwrap();
        assert_eq!(h.schema, Some(schemas::int64()));
    }

    #[test]
    fn config_errors() {
        let e = HeaderFrom::new(
            Side::Value,
            &HashMap::from([
                ("fields".to_string(), "a,b".to_string()),
                ("headers".to_string(), "ha".to_string()),
                ("operation".to_string(), "move".to_string()),
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "'fields' config must have the same number of elements as 'headers' config."
        );
        let e = HeaderFrom::new(
            Side::Value,
            &HashMap::from([
                ("fields".to_string(), "a".to_string()),
                ("headers".to_string(), "ha".to_string()),
                ("operation".to_string(), "cut".to_string()),
            ]),
        )
        .unwrap_err();
        assert_eq!(e.key, "operation");
        assert_eq!(
            e.message,
            "Invalid value cut for configuration operation: String must be one of: move, copy"
        );
    }
}
