//! Golden tests: every `testdata/parse/*.json` file holds syslog lines and
//! what the parser makes of them, leniently and strictly.
//! `BLESS=1 cargo test -p rampart-connector-syslog golden` rewrites the
//! expectations after a reviewed change.
//!
//! File shape:
//! ```json
//! {
//!   "description": "…",
//!   "received": "2026-11-26T12:00:00Z",          // the time received, for RFC 3164 years
//!   "options": { "timezone": "+00:00", "payloads": true },
//!   "cases": [ { "name": "…", "input": "<34>1 …" | "input_hex": "3c33…",
//!                "options": { … },                // overrides the file's
//!                "lenient": PARSED, "strict": PARSED | "same" | { "rejected": "reason" } } ]
//! }
//! ```
//! PARSED lists the message's fields, leaving out absent ones.
//!
//! A file with `"records": { "remote": "192.0.2.1:514" }` also maps each
//! leniently parsed message to records: `confluent` is the Struct's payload
//! as `JsonConverter` writes it (the schema is in the file's `value_schema`,
//! and the schemaless map must serialise the same), `ecs` the ECS map.

use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{json, Map, Value as Json};

use rampart_core::converter::{Converter, JsonConverter, JsonConverterConfig};
use rampart_core::data::Value;

use crate::parse::{parse, ParseOptions, Payload, SyslogMessage};
use crate::record::{to_ecs, to_schemaless, to_struct, value_schema, Received};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/parse")
}

fn options_from(base: &ParseOptions, j: Option<&Json>) -> ParseOptions {
    let mut o = *base;
    let Some(j) = j else { return o };
    if let Some(tz) = j.get("timezone").and_then(Json::as_str) {
        o.timezone = format!("2000-01-01T00:00:00{tz}")
            .parse::<DateTime<FixedOffset>>()
            .map(|t| *t.offset())
            .unwrap_or_else(|e| panic!("bad timezone {tz}: {e}"));
    }
    if let Some(p) = j.get("payloads").and_then(Json::as_bool) {
        o.payloads = p;
    }
    o
}

fn pairs(p: &[(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)]) -> Json {
    Json::Array(p.iter().map(|(k, v)| json!([k, v])).collect())
}

fn payload_json(p: &Payload<'_>) -> Json {
    match p {
        Payload::Cef(c) => json!({
            "cef": {
                "version": c.version,
                "device_vendor": c.device_vendor,
                "device_product": c.device_product,
                "device_version": c.device_version,
                "device_event_class_id": c.device_event_class_id,
                "name": c.name,
                "severity": c.severity,
                "extensions": pairs(&c.extensions),
            }
        }),
        Payload::Leef(l) => json!({
            "leef": {
                "version": l.version,
                "vendor": l.vendor,
                "product": l.product,
                "product_version": l.product_version,
                "event_id": l.event_id,
                "delimiter": l.delimiter.to_string(),
                "attributes": pairs(&l.attributes),
            }
        }),
        Payload::Cisco(c) => {
            let mut m = Map::new();
            if let Some(s) = c.sequence {
                m.insert("sequence".into(), json!(s));
            }
            if let Some(t) = &c.timestamp {
                m.insert("timestamp".into(), json!(t));
            }
            m.insert("facility".into(), json!(c.facility));
            m.insert("severity".into(), json!(c.severity));
            m.insert("mnemonic".into(), json!(c.mnemonic));
            m.insert("message".into(), json!(c.message));
            json!({ "cisco": m })
        }
    }
}

fn message_json(m: &SyslogMessage<'_>) -> Json {
    let mut o = Map::new();
    o.insert("format".into(), json!(m.format.name()));
    if let Some(p) = m.pri {
        o.insert(
            "pri".into(),
            json!({ "facility": p.facility, "severity": p.severity }),
        );
    }
    if let Some(v) = m.version {
        o.insert("version".into(), json!(v));
    }
    if let Some(t) = &m.timestamp {
        o.insert("timestamp".into(), json!(t.to_rfc3339()));
    }
    for (k, v) in [
        ("hostname", &m.hostname),
        ("app_name", &m.app_name),
        ("proc_id", &m.proc_id),
        ("msg_id", &m.msg_id),
    ] {
        if let Some(v) = v {
            o.insert(k.into(), json!(v));
        }
    }
    if !m.structured_data.is_empty() {
        let sd: Vec<Json> = m
            .structured_data
            .iter()
            .map(|e| json!({ "id": e.id, "params": pairs(&e.params) }))
            .collect();
        o.insert("structured_data".into(), Json::Array(sd));
    }
    o.insert("msg".into(), json!(m.msg));
    if let Some(p) = &m.payload {
        o.insert("payload".into(), payload_json(p));
    }
    if let Some(e) = &m.error {
        o.insert("error".into(), json!(e.to_string()));
    }
    Json::Object(o)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("valid hex"))
        .collect()
}

/// The Struct as `JsonConverter` with `schemas.enable=true` writes it:
/// (schema, payload).
fn enveloped(value: &Value) -> (Json, Json) {
    let converter = JsonConverter::new(JsonConverterConfig::default(), false);
    let bytes = converter
        .from_connect("syslog", Some(&value_schema()), value)
        .expect("the struct matches its schema")
        .expect("a struct is not null");
    let mut envelope: Json = serde_json::from_slice(&bytes).expect("the converter writes JSON");
    (envelope["schema"].take(), envelope["payload"].take())
}

fn run_file(file: &Json) -> (Json, Vec<String>) {
    let mut actual_file = file.clone();
    let mut failures = Vec::new();
    let received: DateTime<Utc> = file
        .get("received")
        .and_then(Json::as_str)
        .unwrap_or("2026-11-26T12:00:00Z")
        .parse()
        .expect("received is RFC 3339");
    let base = options_from(&ParseOptions::default(), file.get("options"));
    let cases = file
        .get("cases")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, case) in cases.iter().enumerate() {
        let name = case
            .get("name")
            .and_then(Json::as_str)
            .map_or_else(|| format!("case {i}"), str::to_string);
        let input: Vec<u8> = match (case.get("input"), case.get("input_hex")) {
            (Some(Json::String(s)), _) => s.as_bytes().to_vec(),
            (_, Some(Json::String(h))) => hex(h),
            _ => panic!("{name}: no input"),
        };
        let lenient = options_from(&base, case.get("options"));
        let strict = ParseOptions {
            strict: true,
            ..lenient
        };
        let parsed = parse(&input, received, &lenient);
        let lenient_out = match &parsed {
            Ok(m) => message_json(m),
            Err(e) => json!({ "lenient_mode_failed": e.to_string() }),
        };
        let mut outputs = Vec::new();
        if let (Some(records), Ok(m)) = (file.get("records"), &parsed) {
            let context = Received {
                at: received,
                remote: records
                    .get("remote")
                    .and_then(Json::as_str)
                    .and_then(|r| r.parse().ok()),
            };
            let (schema, payload) = enveloped(&Value::Struct(to_struct(m, &context)));
            let schemaless = JsonConverter::schemaless()
                .to_json(None, &to_schemaless(m, &context))
                .unwrap_or_else(|e| json!({ "unserializable": e.to_string() }));
            if schemaless != payload {
                failures.push(format!("{name}: schemaless map differs from the struct"));
            }
            actual_file["value_schema"] = schema;
            let ecs = JsonConverter::schemaless()
                .to_json(None, &to_ecs(m, &context))
                .unwrap_or_else(|e| json!({ "unserializable": e.to_string() }));
            outputs.push(("confluent", payload));
            outputs.push(("ecs", ecs));
        }
        let strict_out = match parse(&input, received, &strict) {
            Ok(m) => {
                let j = message_json(&m);
                if j == lenient_out {
                    json!("same")
                } else {
                    j
                }
            }
            Err(e) => json!({ "rejected": e.to_string() }),
        };
        let parsed_outputs = [("lenient", lenient_out), ("strict", strict_out)];
        for (key, actual) in parsed_outputs.into_iter().chain(outputs) {
            if case.get(key) != Some(&actual) {
                failures.push(format!(
                    "{name} ({key}): expected {}\n      got {actual}",
                    case.get(key)
                        .map_or("<missing>".to_string(), Json::to_string),
                ));
            }
            actual_file["cases"][i][key] = actual;
        }
    }
    (actual_file, failures)
}

#[test]
fn golden() {
    rampart_core::golden::check_dir(&testdata(), |_, file| run_file(file));
}
