//! Writes Connect data as JSON text directly, without building a
//! `serde_json::Value` tree first: the source hot path converts every record,
//! and the tree cost more than the parsing that produced the record.
//!
//! The output and the errors are those of [`super::json`]'s tree conversion,
//! byte for byte (a test holds the two together). Maps go through the tree,
//! because a map may repeat a key and the tree keeps the last value in the
//! first key's position; they are rare on hot paths.

use base64::Engine as _;
use serde_json::Number;

use super::json::{convert_to_json, decimal_to_string, DecimalFormat, JsonConverterConfig};
use crate::data::{logical, Schema, Value};
use crate::DataError;

fn ser_error(e: impl std::fmt::Display) -> DataError {
    DataError::new(format!(
        "Converting Kafka Connect data to byte[] failed due to serialization error: {e}"
    ))
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), DataError> {
    write_escaped(out, s);
    Ok(())
}

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

// True when one of the 8 bytes may need escaping: below 0x20, '"' or '\\'.
// Borrows can only flag bytes above a byte that truly matches, so a false
// alarm costs a byte-wise look at one word, never a missed escape.
fn word_needs_escape(w: u64) -> bool {
    let control = w.wrapping_sub(LOW * 0x20) & !w;
    let quote = (w ^ (LOW * u64::from(b'"'))).wrapping_sub(LOW) & !(w ^ (LOW * u64::from(b'"')));
    let backslash =
        (w ^ (LOW * u64::from(b'\\'))).wrapping_sub(LOW) & !(w ^ (LOW * u64::from(b'\\')));
    (control | quote | backslash) & HIGH != 0
}

/// Appends `"name":`. Field names are almost always plain identifiers,
/// which skip the escaping loop: 26 of them per syslog record made the
/// names cost as much as the message text.
fn write_key(out: &mut Vec<u8>, name: &str) {
    if name.bytes().all(|b| !needs_escape(b)) {
        out.reserve(name.len() + 3);
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":");
    } else {
        write_escaped(out, name);
        out.push(b':');
    }
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Appends `s` as a JSON string, escaped exactly as `serde_json` does:
/// `\"`, `\\`, the short forms of \b \t \n \f \r, `\u00xx` for other
/// control characters, everything else (including non-ASCII) as is. Checks
/// eight bytes at a time: log lines rarely contain anything to escape, and
/// this is the converter's hottest loop.
pub(crate) fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            if !word_needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        for (j, &b) in bytes.iter().enumerate().take(end).skip(i) {
            if !needs_escape(b) {
                continue;
            }
            out.extend_from_slice(bytes.get(start..j).unwrap_or_default());
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\x08' => out.extend_from_slice(b"\\b"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\x0c' => out.extend_from_slice(b"\\f"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
            }
            start = j + 1;
        }
        i = end;
    }
    out.extend_from_slice(bytes.get(start..).unwrap_or_default());
    out.push(b'"');
}

fn write_number(out: &mut Vec<u8>, n: Option<Number>) -> Result<(), DataError> {
    match n {
        Some(n) => serde_json::to_writer(&mut *out, &n).map_err(ser_error),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

fn write_int(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `value` as JSON to `out`, checked against `schema` when given.
pub(super) fn write_json(
    config: &JsonConverterConfig,
    schema: Option<&Schema>,
    value: &Value,
    out: &mut Vec<u8>,
) -> Result<(), DataError> {
    if value.is_null() {
        return match schema {
            None => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Some(s) => {
                if let (Some(d), true) = (&s.default, config.replace_null_with_default) {
                    write_json(config, Some(s), d, out)
                } else if s.optional || s.default.is_some() {
                    out.extend_from_slice(b"null");
                    Ok(())
                } else {
                    Err(DataError::new(
                        "Conversion error: null value for field that is required and has no default value",
                    ))
                }
            }
        };
    }
    if let Some(s) = schema {
        value.validate_shallow(s)?;
    }
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int8(v) => write_int(out, (*v).into()),
        Value::Int16(v) => write_int(out, (*v).into()),
        Value::Int32(v) => write_int(out, (*v).into()),
        Value::Int64(v) => write_int(out, *v),
        Value::Float32(v) => write_number(out, Number::from_f64(f64::from(*v)))?,
        Value::Float64(v) => write_number(out, Number::from_f64(*v))?,
        Value::String(s) => write_str(out, s)?,
        Value::Bytes(b) => {
            let decimal_scale = schema
                .filter(|s| s.name.as_deref() == Some(logical::DECIMAL))
                .map(|s| {
                    s.parameter(logical::DECIMAL_SCALE)
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0u32)
                });
            match (decimal_scale, config.decimal_format) {
                (Some(scale), DecimalFormat::Numeric) => {
                    let text = decimal_to_string(b, scale);
                    match serde_json::from_str::<Number>(&text) {
                        Ok(n) => write_number(out, Some(n))?,
                        Err(_) => write_str(out, &text)?,
                    }
                }
                _ => write_str(out, &base64::engine::general_purpose::STANDARD.encode(b))?,
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(config, item_schema, item, out)?;
            }
            out.push(b']');
        }
        Value::Map(_) => {
            let tree = convert_to_json(config, schema, value)?;
            serde_json::to_writer(&mut *out, &tree).map_err(ser_error)?;
        }
        Value::Struct(s) => {
            out.push(b'{');
            for (i, field) in s.schema.fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(out, &field.name);
                let v = s.values.get(field.index).unwrap_or(&Value::Null);
                write_json(config, Some(&field.schema), v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::write_escaped;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_escaped(&mut out, s);
        String::from_utf8(out).expect("escaping keeps UTF-8")
    }

    #[test]
    fn escapes_every_character_as_serde_json_does() {
        for c in (0u32..0x250).filter_map(char::from_u32) {
            // At each position in and around an 8-byte word.
            for pad in 0..10 {
                let s = format!("{}{c}{}", "a".repeat(pad), "b".repeat(9 - pad));
                let want = serde_json::to_string(&s).expect("a string serialises");
                assert_eq!(escaped(&s), want, "{c:?} after {pad} bytes");
            }
        }
    }

    #[test]
    fn escapes_mixed_text_as_serde_json_does() {
        for s in [
            "",
            "plain ascii text longer than a word",
            "tab\there \"quoted\" back\\slash\r\n\u{0}\u{1f}\u{7f} ümlaut 日本語 🔒",
            "\"\"\"\"\"\"\"\"\"",
            "1234567\"",
        ] {
            let want = serde_json::to_string(s).expect("a string serialises");
            assert_eq!(escaped(s), want);
        }
    }
}
