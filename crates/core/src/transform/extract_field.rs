//! `org.apache.kafka.connect.transforms.ExtractField$Key` / `$Value`, with
//! KIP-821 nested paths (`field.syntax.version=V2`).

use std::collections::HashMap;

use super::util::apply_via_in_place;
use super::util::{class_name, define_replace_null, struct_get, Side};
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::data::{Field, Schema, Struct, Value};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

const PURPOSE: &str = "field extraction";
const NESTED: &str = "nested field access";

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "field",
        ConfigType::String,
        Importance::Medium,
        "Field name to extract.",
    )
    .add();
    def.define(
        "field.syntax.version",
        ConfigType::String,
        Importance::High,
        "Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. If set to `V2`, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"`foo.bar`.baz\".",
    )
    .default("V1")
    .validator(Validator::OneOfIgnoreCase(&["V1", "V2"]))
    .add();
    define_replace_null(&mut def);
    def
}

/// Splits a V2 path (`SingleFieldPath.buildFieldPathV2`): steps separated by
/// dots, a step wrapped in backticks may contain dots, and a backslash
/// escapes a backtick that would otherwise close the step.
pub(crate) fn parse_path_v2(path: &str) -> Result<Vec<String>, String> {
    let p: Vec<char> = path.chars().collect();
    let incomplete = |at: usize| {
        format!(
            "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
        )
    };
    let mut steps = Vec::new();
    let mut idx = 0;
    while idx < p.len() {
        if p[idx] != '`' {
            let start = idx;
            match p[idx..].iter().position(|c| *c == '.') {
                Some(off) => {
                    steps.push(p[start..idx + off].iter().collect());
                    idx += off + 1;
                }
                None => {
                    steps.push(p[start..].iter().collect());
                    idx = p.len();
                }
            }
        } else {
            let backtick_at = idx;
            idx += 1;
            let mut field = String::new();
            let mut start = idx;
            loop {
                let Some(off) = p[idx..].iter().position(|c| *c == '`') else {
                    return Err(incomplete(backtick_at));
                };
                idx += off;
                let escaped = idx > 0 && p[idx - 1] == '\\';
                if idx >= p.len() - 1 {
                    if escaped {
                        return Err(incomplete(backtick_at));
                    }
                    field.extend(&p[start..idx]);
                    steps.push(field);
                    idx += 1;
                    break;
                }
                if p[idx + 1] != '.' {
                    idx += 1;
                    continue;
                }
                if escaped {
                    field.extend(&p[start..idx - 1]);
                    field.push('`');
                    idx += 1;
                    start = idx;
                    continue;
                }
                field.extend(&p[start..idx]);
                steps.push(field);
                idx += 2;
                break;
            }
        }
    }
    if path.ends_with('.') {
        steps.push(String::new());
    }
    Ok(steps)
}

/// Extracts one (possibly nested) field.
#[derive(Debug)]
pub(crate) struct ExtractField {
    side: Side,
    original: String,
    steps: Vec<String>,
    replace_null: bool,
}

impl ExtractField {
    pub(crate) fn new(
        side: Side,
        props: &HashMap<String, String>,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let original = config.string("field").unwrap_or_default().to_string();
        let v2 = config
            .string("field.syntax.version")
            .is_some_and(|v| v.eq_ignore_ascii_case("V2"));
        let steps = if v2 {
            parse_path_v2(&original).map_err(|m| PluginConfigError::new("field", m))?
        } else {
            vec![original.clone()]
        };
        Ok(ExtractField {
            side,
            original,
            steps,
            replace_null: config.bool("replace.null.with.default"),
        })
    }

    fn field_from<'a>(&self, schema: &'a Schema) -> Option<&'a Field> {
        let (last, init) = self.steps.split_last()?;
        let mut current = schema;
        for step in init {
            current = &current.field_named(step)?.schema;
        }
        current.field_named(last)
    }

    fn value_from_struct(&self, s: Struct) -> Result<Value, DataError> {
        let Some((last, init)) = self.steps.split_last() else {
            return Ok(Value::Null);
        };
        let mut current = s;
        for step in init {
            let Some(field) = current.schema.field_named(step) else {
                return Ok(Value::Null);
            };
            match struct_get(&current, field, true) {
                Value::Struct(next) => current = next,
                Value::Null => return Ok(Value::Null),
                other => {
                    return Err(DataError::new(format!(
                        "Only Struct objects supported for [{NESTED}], found: {}",
                        class_name(&other)
                    )))
                }
            }
        }
        let schema = current.schema.clone();
        Ok(match schema.field_named(last) {
            Some(field) => super::util::struct_take(&mut current, field, self.replace_null),
            None => Value::Null,
        })
    }

    fn value_from_map(&self, entries: Vec<(Value, Value)>) -> Result<Value, DataError> {
        let mut current = entries;
        let Some((last, init)) = self.steps.split_last() else {
            return Ok(Value::Null);
        };
        for step in init {
            match take_entry(&mut current, step) {
                Value::Map(next) => current = next,
                Value::Null => return Ok(Value::Null),
                other => {
                    return Err(DataError::new(format!(
                        "Only Map objects supported in absence of schema for [{NESTED}], found: {}",
                        class_name(&other)
                    )))
                }
            }
        }
        Ok(take_entry(&mut current, last))
    }
}

fn take_entry(entries: &mut [(Value, Value)], name: &str) -> Value {
    entries
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| std::mem::take(v))
        .unwrap_or_default()
}

impl Transformation for ExtractField {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let (schema, value) = self.side.take(record);
        match schema {
            None => {
                let extracted = match value {
                    Value::Null => Value::Null,
                    Value::Map(entries) => self.value_from_map(entries)?,
                    other => {
                        return Err(DataError::new(format!(
                            "Only Map objects supported in absence of schema for [{PURPOSE}], found: {}",
                            class_name(&other)
                        ))
                        .into())
                    }
                };
                self.side.set(record, None, extracted);
            }
            Some(schema) => {
                let Some(field) = self.field_from(&schema) else {
                    return Err(DataError::new(format!("Unknown field: {}", self.original)).into());
                };
                let field_schema = field.schema.clone();
                let extracted = match value {
                    Value::Null => Value::Null,
                    Value::Struct(s) => self.value_from_struct(s)?,
                    other => return Err(super::util::struct_error(&other, PURPOSE).into()),
                };
                self.side.set(record, Some(field_schema), extracted);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{schemas, SchemaType};

    fn extract(side: Side, field: &str, v2: bool) -> ExtractField {
        let mut props = HashMap::from([("field".to_string(), field.to_string())]);
        if v2 {
            props.insert("field.syntax.version".to_string(), "v2".to_string());
        }
        ExtractField::new(side, &props).unwrap()
    }

    #[test]
    fn path_v2_parsing() {
        assert_eq!(parse_path_v2("a.b").unwrap(), ["a", "b"]);
        assert_eq!(parse_path_v2("`a.b`.c").unwrap(), ["a.b", "c"]);
        assert_eq!(parse_path_v2("a.`b.c`").unwrap(), ["a", "b.c"]);
        assert_eq!(parse_path_v2("a.").unwrap(), ["a", ""]);
        assert_eq!(parse_path_v2(r"`a\`.b`.c").unwrap(), ["a`.b", "c"]);
        assert_eq!(parse_path_v2("`a`b`.c").unwrap(), ["a`b", "c"]);
        assert!(parse_path_v2("`a.b").is_err());
    }

    #[test]
    fn random_paths_do_not_panic() {
        let alphabet: Vec<char> = "`.\\aé".chars().collect();
        let mut seed: u64 = 0x1234_5678_9abc_def1;
        for _ in 0..5000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 9) as usize;
            let path: String = (0..len)
                .map(|i| alphabet[((seed >> (i * 3)) % alphabet.len() as u64) as usize])
                .collect();
            let _ = parse_path_v2(&path);
        }
    }

    #[test]
    fn schemaless_key() {
        let t = extract(Side::Key, "magic", false);
        let r = ConnectRecord {
            key: Value::Map(vec![(Value::string("magic"), Value::Int64(42))]),
            ..Default::default()
        };
        assert_eq!(t.apply(r).unwrap().unwrap().key, Value::Int64(42));
        let r = ConnectRecord::default();
        assert_eq!(t.apply(r).unwrap().unwrap().key, Value::Null);
    }

    #[test]
    fn nested_with_schema() {
        let inner = Schema::new(SchemaType::Struct)
            .field("magic", schemas::int32())
            .build();
        let outer = Schema::new(SchemaType::Struct)
            .field("inner", inner.clone())
            .build();
        let value = Struct {
            schema: outer.clone(),
            values: vec![Value::Struct(Struct {
                schema: inner,
                values: vec![Value::Int32(42)],
            })],
        };
        let t = extract(Side::Key, "inner.magic", true);
        let r = ConnectRecord {
            key_schema: Some(outer.clone()),
            key: Value::Struct(value),
            ..Default::default()
        };
        let out = t.apply(r).unwrap().unwrap();
        assert_eq!(out.key, Value::Int32(42));
        assert_eq!(out.key_schema, Some(schemas::int32()));
        let t = extract(Side::Key, "inner.nonexistent", true);
        let r = ConnectRecord {
            key_schema: Some(outer),
            key: Value::Null,
            ..Default::default()
        };
        assert_eq!(
            t.apply(r).unwrap_err().to_string(),
            "Unknown field: inner.nonexistent"
        );
    }

    #[test]
    fn nested_schemaless() {
        let t = extract(Side::Value, "a.b", true);
        let r = ConnectRecord {
            value: Value::Map(vec![(
                Value::string("a"),
                Value::Map(vec![(Value::string("b"), Value::string("x"))]),
            )]),
            ..Default::default()
        };
        assert_eq!(t.apply(r).unwrap().unwrap().value, Value::string("x"));
    }
}
