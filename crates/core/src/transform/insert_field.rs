//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: adds
//! the topic, partition, offset, timestamp and/or a static value as fields.

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{
    add_field, copy_schema_basics, define_replace_null, fill_defaults, map_put, require_map,
    require_sink_offset, require_struct, SchemaCache, Side,
};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::data::{schemas, Schema, SchemaRef, SchemaType, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "field insertion";
const SUFFIX_DOC: &str = "Suffix with <code>!</code> to make this a required field, or <code>?</code> to keep it optional (the default).";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    for (key, doc) in [
        ("topic.field", "Field name for Kafka topic. "),
        ("partition.field", "Field name for Kafka partition. "),
        (
            "offset.field",
            "Field name for Kafka offset - only applicable to sink connectors.<br/>",
        ),
        ("timestamp.field", "Field name for record timestamp. "),
        ("static.field", "Field name for static data field. "),
    ] {
        def.define(
            key,
            ConfigType::String,
            Importance::Medium,
            &format!("{doc}{SUFFIX_DOC}"),
        )
        .default_null()
        .add();
    }
    def.define(
        "static.value",
        ConfigType::String,
        Importance::Medium,
        "Static field value, if field name configured.",
    )
    .default_null()
    .add();
    define_replace_null(&mut def);
    def
}

/// `InsertField.InsertionSpec`: a field name with `!` (required) or `?`
/// (optional, the default) suffix.
#[derive(Debug, Clone)]
struct Spec {
    name: String,
    optional: bool,
}

impl Spec {
    fn parse(spec: Option<&str>) -> Option<Spec> {
        let spec = spec?;
        Some(if let Some(name) = spec.strip_suffix('?') {
            Spec {
                name: name.to_string(),
                optional: true,
            }
        } else if let Some(name) = spec.strip_suffix('!') {
            Spec {
                name: name.to_string(),
                optional: false,
            }
        } else {
            Spec {
                name: spec.to_string(),
                optional: true,
            }
        })
    }
}

/// Inserts record metadata into the key or value.
#[derive(Debug)]
pub(crate) struct InsertField {
    side: Side,
    topic: Option<Spec>,
    partition: Option<Spec>,
    offset: Option<Spec>,
    timestamp: Option<Spec>,
    static_field: Option<Spec>,
    static_value: Option<String>,
    replace_null: bool,
    cache: SchemaCache,
}

impl InsertField {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        Ok(InsertField {
            side,
            topic: Spec::parse(config.string("topic.field")),
            partition: Spec::parse(config.string("partition.field")),
            offset: Spec::parse(config.string("offset.field")),
            timestamp: Spec::parse(config.string("timestamp.field")),
            static_field: Spec::parse(config.string("static.field")),
            static_value: config.string("static.value").map(str::to_string),
            replace_null: config.bool("replace.null.with.default"),
            cache: SchemaCache::default(),
        })
    }

    fn build_schema(&self, schema: &Schema) -> Result<Schema, DataError> {
        let mut builder = copy_schema_basics(schema, SchemaType::Struct);
        builder.fields = schema.fields.clone();
        let pick = |spec: &Spec, optional: SchemaRef, required: SchemaRef| {
            if spec.optional {
                optional
            } else {
                required
            }
        };
        if let Some(s) = &self.topic {
            add_field(
                &mut builder,
                &s.name,
                pick(s, schemas::optional_string(), schemas::string()),
            )?;
        }
        if let Some(s) = &self.partition {
            add_field(
                &mut builder,
                &s.name,
                pick(s, schemas::optional_int32(), schemas::int32()),
            )?;
        }
        if let Some(s) = &self.offset {
            add_field(
                &mut builder,
                &s.name,
                pick(s, schemas::optional_int64(), schemas::int64()),
            )?;
        }
        if let Some(s) = &self.timestamp {
            let ts = if s.optional {
                Schema::timestamp().optional()
            } else {
                Schema::timestamp()
            };
            add_field(&mut builder, &s.name, ts.build())?;
        }
        if let Some(s) = &self.static_field {
            add_field(
                &mut builder,
                &s.name,
                pick(s, schemas::optional_string(), schemas::string()),
            )?;
        }
        Ok(builder)
    }
}

impl Transformation for InsertField {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        // Tombstones pass through untouched (KAFKA-8523).
        if self.side.value(record).is_null() {
            return Ok(true);
        }
        let offset = match &self.offset {
            Some(_) => Some(require_sink_offset(record, PURPOSE)?),
            None => None,
        };
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let mut map = require_map(value, PURPOSE)?;
                let added = [
                    self.topic.is_some(),
                    self.partition.is_some(),
                    self.offset.is_some(),
                    self.timestamp.is_some(),
                    self.static_field.is_some(),
                ];
                map.reserve_exact(added.iter().filter(|a| **a).count());
                if let Some(s) = &self.topic {
                    map_put(&mut map, &s.name, Value::String(record.topic.clone()));
                }
                if let (Some(s), Some(p)) = (&self.partition, record.partition) {
                    map_put(&mut map, &s.name, Value::Int32(p));
                }
                if let (Some(s), Some(o)) = (&self.offset, offset) {
                    map_put(&mut map, &s.name, Value::Int64(o));
                }
                if let (Some(s), Some(ts)) = (&self.timestamp, record.timestamp) {
                    map_put(&mut map, &s.name, Value::Int64(ts));
                }
                if let (Some(s), Some(v)) = (&self.static_field, &self.static_value) {
                    map_put(&mut map, &s.name, Value::String(v.clone()));
                }
                self.side.set(record, None, Value::Map(map));
            }
            Some(schema) => {
                let mut value = require_struct(value, PURPOSE)?;
                let updated = self.cache.get_or_build(&schema, |s| self.build_schema(s))?;
                fill_defaults(&mut value, self.replace_null);
                let mut values = std::mem::take(&mut value.values);
                values.reserve_exact(updated.fields.len().saturating_sub(values.len()));
                if self.topic.is_some() {
                    values.push(Value::String(record.topic.clone()));
                }
                if self.partition.is_some() {
                    values.push(record.partition.map_or(Value::Null, Value::Int32));
                }
                if self.offset.is_some() {
                    values.push(offset.map_or(Value::Null, Value::Int64));
                }
                if self.timestamp.is_some() {
                    values.push(record.timestamp.map_or(Value::Null, Value::Int64));
                }
                if self.static_field.is_some() {
                    values.push(
                        self.static_value
                            .as_ref()
                            .map_or(Value::Null, |v| Value::String(v.clone())),
                    );
                }
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
    use crate::data::logical;
    use crate::record::{KafkaPosition, TopicPartition};

    fn insert(side: Side) -> InsertField {
        InsertField::new(
            side,
            &HashMap::from([
                ("topic.field".to_string(), "topic_field!".to_string()),
                ("partition.field".to_string(), "partition_field".to_string()),
                (
                    "timestamp.field".to_string(),
                    "timestamp_field?".to_string(),
                ),
                ("static.field".to_string(), "instance_id".to_string()),
                ("static.value".to_string(), "my-instance-id".to_string()),
            ]),
        )
        .unwrap()
    }

    // Mirrors Kafka's InsertFieldTest.copySchemaAndInsertConfiguredFields.
    #[test]
    fn with_schema() {
        let schema = Schema::new(SchemaType::Struct)
            .named("name")
            .versioned(1)
            .field("magic", schemas::int64())
            .build();
        let value = Struct::new(schema.clone())
            .with("magic", Value::Int64(42))
            .unwrap();
        let r = ConnectRecord {
            topic: "test".to_string(),
            partition: Some(0),
            value_schema: Some(schema),
            value: Value::Struct(value),
            ..Default::default()
        };
        let out = insert(Side::Value).apply(r).unwrap().unwrap();
        let s = out.value_schema.clone().unwrap();
        assert_eq!(s.name.as_deref(), Some("name"));
        assert_eq!(s.version, Some(1));
        assert!(!s.field_named("topic_field").unwrap().schema.optional);
        assert!(s.field_named("partition_field").unwrap().schema.optional);
        let ts = &s.field_named("timestamp_field").unwrap().schema;
        assert_eq!(ts.name.as_deref(), Some(logical::TIMESTAMP));
        let Value::Struct(v) = out.value else {
            panic!()
        };
        assert_eq!(v.get("magic"), Some(&Value::Int64(42)));
        assert_eq!(v.get("topic_field"), Some(&Value::string("test")));
        assert_eq!(v.get("partition_field"), Some(&Value::Int32(0)));
        assert_eq!(v.get("timestamp_field"), Some(&Value::Null));
        assert_eq!(v.get("instance_id"), Some(&Value::string("my-instance-id")));
    }

    #[test]
    fn schemaless_and_tombstone() {
        let t = insert(Side::Value);
        let r = ConnectRecord {
            topic: "test".to_string(),
            partition: Some(0),
            timestamp: Some(7),
            value: Value::Map(vec![(Value::string("magic"), Value::Int64(42))]),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.value.get_field("magic"), Some(&Value::Int64(42)));
        assert_eq!(
            out.value.get_field("topic_field"),
            Some(&Value::string("test"))
        );
        assert_eq!(
            out.value.get_field("partition_field"),
            Some(&Value::Int32(0))
        );
        assert_eq!(
            out.value.get_field("timestamp_field"),
            Some(&Value::Int64(7))
        );
        let tomb = ConnectRecord::default();
        assert_eq!(t.apply(tomb.clone()).unwrap().unwrap(), tomb);
    }

    #[test]
    fn offset_needs_a_sink_record() {
        let t = InsertField::new(
            Side::Value,
            &HashMap::from([("offset.field".to_string(), "off".to_string())]),
        )
        .unwrap();
        let mut r = ConnectRecord {
            value: Value::Map(vec![]),
            ..Default::default()
        };
        let e = t.apply(r.clone()).unwrap_err();
        assert_eq!(e.to_string(), "Only SinkRecord supported for [field insertion], found: org.apache.kafka.connect.source.SourceRecord");
        r.kafka = Some(KafkaPosition {
            tp: TopicPartition::new("t", 0),
            offset: 99,
        });
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.value.get_field("off"), Some(&Value::Int64(99)));
    }

    #[test]
    fn non_map_schemaless_value_fails() {
        let r = ConnectRecord {
            value: Value::string("x"),
            ..Default::default()
        };
        let e = insert(Side::Value).apply(r).unwrap_err();
        assert_eq!(e.to_string(), "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String");
    }
}
