//! Index mappings from Connect schemas, as Confluent's `Mapping` builds
//! them when `schema.ignore=false`: the first record with a struct schema
//! for an index without a mapping creates it. Pure; the requests are in
//! `client.rs`.

use rampart_core::data::{logical, Schema, SchemaType};
use serde_json::{json, Map, Value as Json};

/// The mapping of a value schema, `None` when it is not a struct (there is
/// nothing to map: Elasticsearch documents are objects).
pub fn mapping_for(schema: &Schema, compact_map_entries: bool) -> Option<Json> {
    if schema.kind != SchemaType::Struct {
        return None;
    }
    Some(field_mapping(schema, compact_map_entries))
}

fn field_mapping(schema: &Schema, compact: bool) -> Json {
    match schema.name.as_deref() {
        Some(logical::TIMESTAMP) | Some(logical::DATE) | Some(logical::TIME) => {
            return json!({"type": "date"})
        }
        Some(logical::DECIMAL) => return json!({"type": "double"}),
        _ => {}
    }
    match schema.kind {
        SchemaType::Int8 => json!({"type": "byte"}),
        SchemaType::Int16 => json!({"type": "short"}),
        SchemaType::Int32 => json!({"type": "integer"}),
        SchemaType::Int64 => json!({"type": "long"}),
        SchemaType::Float32 => json!({"type": "float"}),
        SchemaType::Float64 => json!({"type": "double"}),
        SchemaType::Boolean => json!({"type": "boolean"}),
        SchemaType::String => {
            json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
        }
        SchemaType::Bytes => json!({"type": "binary"}),
        // Arrays are implicit in Elasticsearch: map the element.
        SchemaType::Array => schema
            .value_schema
            .as_deref()
            .map_or(json!({"type": "object"}), |s| field_mapping(s, compact)),
        SchemaType::Map => {
            let string_keys = schema
                .key_schema
                .as_deref()
                .is_some_and(|k| k.kind == SchemaType::String);
            if compact && string_keys {
                json!({"type": "object"})
            } else {
                // Written as [{"key":…,"value":…}]: map the entry.
                let mut props = Map::new();
                if let Some(k) = schema.key_schema.as_deref() {
                    props.insert("key".into(), field_mapping(k, compact));
                }
                if let Some(v) = schema.value_schema.as_deref() {
                    props.insert("value".into(), field_mapping(v, compact));
                }
                json!({ "properties": props })
            }
        }
        SchemaType::Struct => {
            let props: Map<String, Json> = schema
                .fields
                .iter()
                .map(|f| (f.name.clone(), field_mapping(&f.schema, compact)))
                .collect();
            json!({ "properties": props })
        }
    }
}
