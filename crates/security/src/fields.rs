//! Field paths over record values: `source.ip` names either a top-level
//! key spelled with the dot (flattened ECS, as Filebeat ships it) or the
//! nested `{"source": {"ip": …}}`. Writes always nest, as ECS documents do.

use std::borrow::Cow;

use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;

/// The value at `path`, trying the whole path as one key first.
pub fn get<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    if let Some(v) = value.get_field(path) {
        return Some(v);
    }
    let mut current = value;
    let mut rest = path;
    loop {
        match rest.split_once('.') {
            None => return current.get_field(rest),
            Some((head, tail)) => {
                // A dotted key deeper down (`{"source": {"geo.country": …}}`).
                if let Some(v) = current.get_field(rest) {
                    return Some(v);
                }
                current = current.get_field(head)?;
                rest = tail;
            }
        }
    }
}

/// The value at `path` as text: strings as they are, numbers and booleans
/// formatted, bytes as UTF-8 where they are; `None` for maps, arrays and null.
pub fn get_text<'v>(value: &'v Value, path: &str) -> Option<Cow<'v, str>> {
    text(get(value, path)?)
}

/// A scalar as text.
pub fn text(value: &Value) -> Option<Cow<'_, str>> {
    Some(match value {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        Value::Bytes(b) => Cow::Borrowed(std::str::from_utf8(b).ok()?),
        Value::Boolean(b) => Cow::Owned(b.to_string()),
        Value::Int8(n) => Cow::Owned(n.to_string()),
        Value::Int16(n) => Cow::Owned(n.to_string()),
        Value::Int32(n) => Cow::Owned(n.to_string()),
        Value::Int64(n) => Cow::Owned(n.to_string()),
        Value::Float32(n) => Cow::Owned(n.to_string()),
        Value::Float64(n) => Cow::Owned(n.to_string()),
        _ => return None,
    })
}

fn key(name: &str) -> Value {
    Value::String(name.to_string())
}

fn entry<'m>(map: &'m mut Vec<(Value, Value)>, name: &str) -> &'m mut Value {
    let at = match map.iter().position(|(k, _)| k.as_str() == Some(name)) {
        Some(i) => i,
        None => {
            map.push((key(name), Value::Null));
            map.len() - 1
        }
    };
    &mut map[at].1
}

/// Sets `path` (nested on dots) in a map value, creating the maps on the
/// way and replacing any scalar in the way. A value that is not a map (a
/// struct, a string) is left as it is: call [`schemaless`] first.
pub fn set(value: &mut Value, path: &str, new: Value) {
    let Value::Map(map) = value else { return };
    match path.split_once('.') {
        None => *entry(map, path) = new,
        Some((head, tail)) => {
            let child = entry(map, head);
            if !matches!(child, Value::Map(_)) {
                *child = Value::Map(Vec::new());
            }
            set(child, tail, new);
        }
    }
}

/// Sets `path` only if nothing is there yet.
pub fn set_default(value: &mut Value, path: &str, new: Value) {
    if get(value, path).is_none_or(Value::is_null) {
        set(value, path, new);
    }
}

/// Removes `path` (the whole dotted key, or the nested field).
pub fn remove(value: &mut Value, path: &str) -> Option<Value> {
    let Value::Map(map) = value else { return None };
    if let Some(i) = map.iter().position(|(k, _)| k.as_str() == Some(path)) {
        return Some(map.remove(i).1);
    }
    let (head, tail) = path.split_once('.')?;
    let child = map
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some(head))
        .map(|(_, v)| v)?;
    remove(child, tail)
}

/// Appends to the array at `path`, creating it.
pub fn push(value: &mut Value, path: &str, item: Value) {
    match get_mut(value, path) {
        Some(Value::Array(items)) => items.push(item),
        _ => set(value, path, Value::Array(vec![item])),
    }
}

fn get_mut<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    let Value::Map(map) = value else { return None };
    if let Some(i) = map.iter().position(|(k, _)| k.as_str() == Some(path)) {
        return Some(&mut map[i].1);
    }
    let (head, tail) = path.split_once('.')?;
    let child = map
        .iter_mut()
        .find(|(k, _)| k.as_str() == Some(head))
        .map(|(_, v)| v)?;
    get_mut(child, tail)
}

/// Makes the record's value a schemaless map the transforms can add to: a
/// struct becomes a map of its fields (recursively), null becomes an empty
/// map. Strings and other scalars are left alone. Security transforms
/// write ECS fields a fixed schema cannot hold, so their output is
/// schemaless, as JSON with `schemas.enable=false` carries it.
pub fn schemaless(record: &mut ConnectRecord) {
    match &record.value {
        Value::Struct(_) => {
            record.value = unstruct(std::mem::take(&mut record.value));
            record.value_schema = None;
        }
        Value::Null => {
            record.value = Value::Map(Vec::new());
            record.value_schema = None;
        }
        Value::Map(_) => record.value_schema = None,
        _ => {}
    }
}

fn unstruct(value: Value) -> Value {
    match value {
        Value::Struct(s) => {
            let fields: Vec<(Value, Value)> = s
                .schema
                .fields
                .iter()
                .zip(s.values)
                .filter(|(_, v)| !v.is_null())
                .map(|(f, v)| (key(&f.name), unstruct(v)))
                .collect();
            Value::Map(fields)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(unstruct).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (unstruct(k), unstruct(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Builds a map value from pairs.
pub fn map<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (key(k), v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dotted_keys_and_nested_maps_alike() {
        let flat = map([("source.ip", Value::string("10.0.0.1"))]);
        let nested = map([("source", map([("ip", Value::string("10.0.0.1"))]))]);
        assert_eq!(get_text(&flat, "source.ip").as_deref(), Some("10.0.0.1"));
        assert_eq!(get_text(&nested, "source.ip").as_deref(), Some("10.0.0.1"));
        assert_eq!(get_text(&nested, "source.port"), None);
    }

    #[test]
    fn writes_nest_and_replace_scalars_in_the_way() {
        let mut v = map([("event", Value::string("x"))]);
        set(&mut v, "event.action", Value::string("login"));
        set(&mut v, "event.outcome", Value::string("failure"));
        assert_eq!(get_text(&v, "event.action").as_deref(), Some("login"));
        assert_eq!(get_text(&v, "event.outcome").as_deref(), Some("failure"));
        push(&mut v, "tags", Value::string("a"));
        push(&mut v, "tags", Value::string("b"));
        assert_eq!(
            get(&v, "tags"),
            Some(&Value::Array(vec![Value::string("a"), Value::string("b")]))
        );
        assert_eq!(remove(&mut v, "event.action"), Some(Value::string("login")));
        assert_eq!(get(&v, "event.action"), None);
    }
}
