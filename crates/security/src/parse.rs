//! `io.rampart.transforms.Parse`: turns a raw line already on a topic (from
//! rsyslog's `omkafka`, Filebeat or another agent) into fields. Syslog
//! (RFC 3164/5424, with Cisco, CEF and LEEF payloads) goes through the
//! syslog source's own parser and comes out in its record shape, so
//! [`crate::ecs`] maps both alike; key=value and JSON become maps of their
//! own keys.
//!
//! A line that cannot be parsed fails the record with a data error, which
//! `errors.tolerance` and the dead-letter queue then handle as any
//! transform failure. Syslog parsing is lenient unless `syslog.strict`: a
//! line it only partly understands keeps the rest in `message` and says
//! why in `parseError`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use rampart_connector_syslog::parse::{
    self as syslog, Format as SyslogFormat, ParseOptions, Payload,
};
use rampart_connector_syslog::record::{self, Received};
use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, TransformCounter, Transformation};
use rampart_core::ConnectError;
use rampart_core::DataError;

use crate::fields;

const FORMATS: &[&str] = &["auto", "syslog", "cef", "leef", "kv", "json"];

/// The keys `Parse` takes.
pub fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "format",
        ConfigType::String,
        Importance::High,
        "What the text is: syslog (RFC 3164/5424, with Cisco, CEF and LEEF payloads), cef, leef, kv (key=value pairs), json (an object held in a string), or auto: JSON if it starts with '{', otherwise syslog.",
    )
    .default("auto")
    .validator(Validator::OneOfIgnoreCase(FORMATS))
    .add();
    def.define(
        "field",
        ConfigType::String,
        Importance::High,
        "The field holding the text (dotted paths reach nested fields). Empty: the record value itself, a string or bytes.",
    )
    .default("")
    .add();
    def.define(
        "target",
        ConfigType::String,
        Importance::Medium,
        "Where the parsed fields go. Empty: they become the value (or are merged into it when 'field' names a field of a map).",
    )
    .default("")
    .add();
    def.define(
        "syslog.strict",
        ConfigType::Boolean,
        Importance::Low,
        "Fail lines that break RFC 3164/5424 instead of parsing them best effort.",
    )
    .default("false")
    .add();
    def.define(
        "kv.separator",
        ConfigType::String,
        Importance::Low,
        "Between a key and its value, for kv.",
    )
    .default("=")
    .validator(Validator::NonEmpty)
    .add();
    def
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Auto,
    Syslog,
    Cef,
    Leef,
    Kv,
    Json,
}

/// Parses a text field into fields.
#[derive(Debug)]
pub struct Parse {
    format: Format,
    field: String,
    target: String,
    options: ParseOptions,
    kv_separator: String,
    failed: AtomicU64,
}

impl Parse {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let format = match config
            .string("format")
            .unwrap_or("auto")
            .to_ascii_lowercase()
            .as_str()
        {
            "syslog" => Format::Syslog,
            "cef" => Format::Cef,
            "leef" => Format::Leef,
            "kv" => Format::Kv,
            "json" => Format::Json,
            _ => Format::Auto,
        };
        let options = if config.bool("syslog.strict") {
            ParseOptions::strict()
        } else {
            ParseOptions::lenient()
        };
        Ok(Parse {
            format,
            field: config
                .string("field")
                .unwrap_or_default()
                .trim()
                .to_string(),
            target: config
                .string("target")
                .unwrap_or_default()
                .trim()
                .to_string(),
            options,
            kv_separator: config.string("kv.separator").unwrap_or("=").to_string(),
            failed: AtomicU64::new(0),
        })
    }

    fn parse_text(&self, text: &str, received: DateTime<Utc>) -> Result<Value, String> {
        let format = match self.format {
            Format::Auto if text.trim_start().starts_with('{') => Format::Json,
            Format::Auto => Format::Syslog,
            f => f,
        };
        match format {
            Format::Json => parse_json(text),
            Format::Kv => {
                let pairs = parse_kv(text, &self.kv_separator);
                if pairs.is_empty() {
                    return Err("no key=value pairs".to_string());
                }
                Ok(Value::Map(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), Value::String(v)))
                        .collect(),
                ))
            }
            Format::Syslog | Format::Cef | Format::Leef | Format::Auto => {
                let message = syslog::parse(text.as_bytes(), received, &self.options)
                    .map_err(|e| format!("not syslog: {e}"))?;
                let wanted = match format {
                    Format::Cef => Some("CEF"),
                    Format::Leef => Some("LEEF"),
                    _ => None,
                };
                if let Some(wanted) = wanted {
                    let found = match &message.payload {
                        Some(Payload::Cef(_)) => "CEF",
                        Some(Payload::Leef(_)) => "LEEF",
                        _ => "",
                    };
                    if found != wanted {
                        return Err(format!("no {wanted} header"));
                    }
                } else if message.format == SyslogFormat::Unknown && self.options.strict {
                    return Err("not syslog".to_string());
                }
                let received = Received {
                    at: received,
                    remote: None,
                };
                Ok(without_nulls(record::to_schemaless(&message, &received)))
            }
        }
    }
}

fn without_nulls(value: Value) -> Value {
    match value {
        Value::Map(entries) => {
            Value::Map(entries.into_iter().filter(|(_, v)| !v.is_null()).collect())
        }
        other => other,
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    if !json.is_object() {
        return Err("JSON is not an object".to_string());
    }
    Ok(from_json(json))
}

/// JSON to a schemaless value, as the JsonConverter reads it without schemas.
pub fn from_json(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Boolean(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s),
        serde_json::Value::Array(items) => Value::Array(items.into_iter().map(from_json).collect()),
        serde_json::Value::Object(map) => Value::Map(
            map.into_iter()
                .map(|(k, v)| (Value::String(k), from_json(v)))
                .collect(),
        ),
    }
}

/// `key=value` pairs separated by whitespace (or commas and semicolons
/// after a value), values optionally in double or single quotes with
/// backslash escapes. Text that is not a pair is skipped, as a firewall's
/// free-text prefix before its pairs.
pub fn parse_kv(text: &str, separator: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(separator) {
        // The key is the run of key characters just before the separator.
        let before = &rest[..at];
        let key_start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !is_key_char(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let key = &before[key_start..];
        let after = &rest[at + separator.len()..];
        let (value, consumed) = read_value(after);
        if !key.is_empty() {
            out.push((key.to_string(), value));
        }
        rest = &after[consumed..];
    }
    out
}

fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@' | '[' | ']')
}

/// A value and how many bytes of `text` it used.
fn read_value(text: &str) -> (String, usize) {
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '\''))) => {
            let mut value = String::new();
            let mut escaped = false;
            for (i, c) in chars {
                if escaped {
                    value.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    return (value, i + 1);
                } else {
                    value.push(c);
                }
            }
            // An unclosed quote takes the rest.
            (value, text.len())
        }
        _ => {
            let end = text
                .find(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .unwrap_or(text.len());
            (text[..end].to_string(), end)
        }
    }
}

fn received_at(record: &ConnectRecord) -> DateTime<Utc> {
    record
        .timestamp
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
}

impl Transformation for Parse {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let received = received_at(record);
        let text: Option<String> = if self.field.is_empty() {
            fields::text(&record.value).map(|t| t.into_owned())
        } else {
            fields::get_text(&record.value, &self.field).map(|t| t.into_owned())
        };
        let Some(text) = text else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let what = if self.field.is_empty() {
                "the record value".to_string()
            } else {
                format!("field {}", self.field)
            };
            return Err(ConnectError::Data(DataError::new(format!(
                "cannot parse: {what} is missing or not text"
            ))));
        };
        let parsed = self.parse_text(&text, received).map_err(|e| {
            self.failed.fetch_add(1, Ordering::Relaxed);
            ConnectError::Data(DataError::new(format!("cannot parse: {e}")))
        })?;
        let whole_value =
            self.field.is_empty() || !matches!(record.value, Value::Map(_) | Value::Struct(_));
        if whole_value && self.target.is_empty() {
            record.value = parsed;
            record.value_schema = None;
            return Ok(true);
        }
        if whole_value {
            record.value = Value::Map(Vec::new());
        }
        fields::schemaless(record);
        if self.target.is_empty() {
            if let Value::Map(entries) = parsed {
                for (k, v) in entries {
                    if let Some(k) = k.as_str() {
                        fields::set(&mut record.value, k, v);
                    }
                }
            }
        } else {
            fields::set(&mut record.value, &self.target, parsed);
        }
        Ok(true)
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![TransformCounter {
            name: "parse_failures_total",
            labels: Vec::new(),
            value: self.failed.load(Ordering::Relaxed),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_pairs_quoted_and_after_free_text() {
        let pairs = parse_kv(
            r#"[UFW BLOCK] IN=eth0 OUT= SRC=10.0.0.1 msg="a \"quoted\" text" user='x y',act=deny"#,
            "=",
        );
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("IN"), Some("eth0"));
        assert_eq!(get("OUT"), Some(""));
        assert_eq!(get("SRC"), Some("10.0.0.1"));
        assert_eq!(get("msg"), Some(r#"a "quoted" text"#));
        assert_eq!(get("user"), Some("x y"));
        assert_eq!(get("act"), Some("deny"));
    }

    #[test]
    fn kv_without_pairs_is_empty_and_unclosed_quotes_end_the_line() {
        assert!(parse_kv("no pairs here", "=").is_empty());
        assert_eq!(
            parse_kv("a=\"open", "="),
            vec![("a".to_string(), "open".to_string())]
        );
    }
}
