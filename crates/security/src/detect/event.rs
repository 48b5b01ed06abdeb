//! A record value seen as an rsigma [`Event`], borrowed: rsigma's own
//! `JsonEvent` would need every record converted to `serde_json` first,
//! which costs more than evaluating the rules. Field paths resolve as
//! [`crate::fields::get`] does (the whole dotted key first, then nested
//! maps or struct fields), and, as rsigma's `JsonEvent` does, a path that
//! crosses an array is followed into every element so that a rule matches
//! when any element does.

use std::borrow::Cow;

use rampart_core::data::Value;
use rsigma_eval::{Event, EventValue};

/// Nesting deeper than this is not followed: records are untrusted, and
/// the walk recurses. rsigma caps its JSON walk at the same depth.
const MAX_DEPTH: usize = 64;

/// A borrowed record value (a map or a struct) for rule evaluation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordEvent<'v>(pub(crate) &'v Value);

impl Event for RecordEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        let mut hits = Hits::None;
        collect(self.0, path, &mut hits, MAX_DEPTH);
        hits.into_value()
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        any_string(self.0, pred, MAX_DEPTH)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut out = Vec::new();
        visit_strings(self.0, &mut |s| out.push(Cow::Borrowed(s)), MAX_DEPTH);
        out
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        visit_strings(self.0, visit, MAX_DEPTH);
    }

    fn to_json(&self) -> serde_json::Value {
        event_value(self.0, MAX_DEPTH).to_json()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let mut keys = Vec::new();
        visit_keys(self.0, &mut |k| keys.push(Cow::Borrowed(k))).then_some(keys)
    }

    // rsigma's candidate index probes only the rule fields under the keys
    // named here, so a key left out would hide a match: every string key of
    // a map, every field of a struct.
    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        visit_keys(self.0, visit)
    }
}

fn visit_keys<'v, F: FnMut(&'v str) + ?Sized>(value: &'v Value, visit: &mut F) -> bool {
    match value {
        Value::Map(entries) => {
            for (k, _) in entries {
                if let Some(k) = k.as_str() {
                    visit(k);
                }
            }
            true
        }
        Value::Struct(s) => {
            for field in &s.schema.fields {
                visit(&field.name);
            }
            true
        }
        _ => false,
    }
}

/// What a path resolved to: most paths reach one value, and that case
/// allocates nothing.
enum Hits<'v> {
    None,
    One(EventValue<'v>),
    Many(Vec<EventValue<'v>>),
}

impl<'v> Hits<'v> {
    fn push(&mut self, v: EventValue<'v>) {
        *self = match std::mem::replace(self, Hits::None) {
            Hits::None => Hits::One(v),
            Hits::One(first) => Hits::Many(vec![first, v]),
            Hits::Many(mut all) => {
                all.push(v);
                Hits::Many(all)
            }
        };
    }

    fn into_value(self) -> Option<EventValue<'v>> {
        match self {
            Hits::None => None,
            Hits::One(v) => Some(v),
            Hits::Many(all) => Some(EventValue::Array(all)),
        }
    }
}

fn collect<'v>(value: &'v Value, path: &str, hits: &mut Hits<'v>, depth: usize) {
    if depth == 0 {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                collect(item, path, hits, depth - 1);
            }
        }
        Value::Map(_) | Value::Struct(_) => {
            if let Some(found) = lookup(value, path) {
                hits.push(event_value(found, depth - 1));
                return;
            }
            if let Some((head, tail)) = path.split_once('.') {
                if let Some(child) = lookup(value, head) {
                    collect(child, tail, hits, depth - 1);
                }
            }
        }
        _ => {}
    }
}

/// A key of a map or a field of a struct; `name[3]` (or `name[-1]`, from
/// the end) selects one element of an array, as rsigma's field paths do.
fn lookup<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    if let Some(v) = child(value, name) {
        return Some(v);
    }
    let (base, index) = name.strip_suffix(']')?.rsplit_once('[')?;
    let index: i64 = index.parse().ok()?;
    let Value::Array(items) = child(value, base)? else {
        return None;
    };
    let at = if index >= 0 {
        usize::try_from(index).ok()?
    } else {
        items
            .len()
            .checked_sub(usize::try_from(index.unsigned_abs()).ok()?)?
    };
    items.get(at)
}

/// A key of a map or a field of a struct. Keys are compared by length and
/// first byte before their bytes: most keys a rule asks for are absent, and
/// calling `memcmp` for every key of the right length cost 14% more
/// instructions per record (see `benches/detect.rs`, `--records`).
fn child<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    let first = name.as_bytes().first();
    let same = |k: &str| k.len() == name.len() && k.as_bytes().first() == first && k == name;
    match value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str().is_some_and(same))
            .map(|(_, v)| v),
        // Rare here (security transforms make records schemaless): kept out
        // of line so the map scan above stays small enough to inline.
        Value::Struct(_) => struct_field(value, name),
        _ => None,
    }
}

#[inline(never)]
fn struct_field<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    value.get_field(name)
}

/// The rsigma view of a value, borrowing its strings.
pub(crate) fn event_value(value: &Value, depth: usize) -> EventValue<'_> {
    match value {
        Value::Null => EventValue::Null,
        Value::Boolean(b) => EventValue::Bool(*b),
        Value::Int8(n) => EventValue::Int((*n).into()),
        Value::Int16(n) => EventValue::Int((*n).into()),
        Value::Int32(n) => EventValue::Int((*n).into()),
        Value::Int64(n) => EventValue::Int(*n),
        Value::Float32(n) => EventValue::Float((*n).into()),
        Value::Float64(n) => EventValue::Float(*n),
        Value::String(s) => EventValue::Str(Cow::Borrowed(s)),
        Value::Bytes(b) => EventValue::Str(String::from_utf8_lossy(b)),
        _ if depth == 0 => EventValue::Null,
        Value::Array(items) => {
            EventValue::Array(items.iter().map(|v| event_value(v, depth - 1)).collect())
        }
        Value::Map(entries) => EventValue::Map(
            entries
                .iter()
                .map(|(k, v)| {
                    let k = crate::fields::text(k).unwrap_or(Cow::Borrowed(""));
                    (k, event_value(v, depth - 1))
                })
                .collect(),
        ),
        Value::Struct(s) => EventValue::Map(
            s.schema
                .fields
                .iter()
                .zip(&s.values)
                .map(|(f, v)| (Cow::Borrowed(f.name.as_str()), event_value(v, depth - 1)))
                .collect(),
        ),
    }
}

fn any_string(value: &Value, pred: &dyn Fn(&str) -> bool, depth: usize) -> bool {
    if depth == 0 {
        return false;
    }
    match value {
        Value::String(s) => pred(s),
        Value::Array(items) => items.iter().any(|v| any_string(v, pred, depth - 1)),
        Value::Map(entries) => entries.iter().any(|(_, v)| any_string(v, pred, depth - 1)),
        Value::Struct(s) => s.values.iter().any(|v| any_string(v, pred, depth - 1)),
        _ => false,
    }
}

fn visit_strings<'v, F: FnMut(&'v str) + ?Sized>(value: &'v Value, visit: &mut F, depth: usize) {
    if depth == 0 {
        return;
    }
    match value {
        Value::String(s) => visit(s),
        Value::Array(items) => items
            .iter()
            .for_each(|v| visit_strings(v, visit, depth - 1)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| visit_strings(v, visit, depth - 1)),
        Value::Struct(s) => s
            .values
            .iter()
            .for_each(|v| visit_strings(v, visit, depth - 1)),
        _ => {}
    }
}
