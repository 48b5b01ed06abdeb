//! Golden tests: every `testdata/transforms/*.json` file holds a connector
//! config for a transform chain and records in, with the records (or
//! errors) expected out. `BLESS=1 cargo test -p rampart-core golden`
//! rewrites the expectations after a reviewed change.
//!
//! File shape:
//! ```json
//! {
//!   "description": "…",
//!   "config": { "transforms": "a", "transforms.a.type": "…", … },
//!   "config_errors": [ { "key": "…", "message": "…" } ],   // when the config is invalid
//!   "cases": [ { "name": "…", "input": RECORD, "expected": RECORD | null | { "error": "…" } } ]
//! }
//! ```
//! A RECORD is `{ "topic", "partition", "offset", "timestamp", "key",
//! "key_schema", "value", "value_schema", "headers": [ { "key", "value",
//! "schema" } ] }`; schemas use `JsonConverter`'s schema JSON, and a record
//! without `*_schema` is schemaless. `offset` makes it a sink record (its
//! original Kafka position), which transforms must never change.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Map, Value as Json};

use super::{TransformPlugins, TransformationChain};
use crate::converter::{Converter, JsonConverter, JsonConverterConfig};
use crate::data::{SchemaAndValue, SchemaRef, Value};
use crate::record::{ConnectRecord, Headers, KafkaPosition, TopicPartition};

#[cfg(test)]
fn testdata() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/transforms")
}

struct Codec {
    enveloped: JsonConverter,
    schemaless: JsonConverter,
}

impl Codec {
    fn new() -> Self {
        Codec {
            enveloped: JsonConverter::new(JsonConverterConfig::default(), false),
            schemaless: JsonConverter::schemaless(),
        }
    }

    fn read(&self, value: Option<&Json>, schema: Option<&Json>) -> Result<SchemaAndValue, String> {
        let value = value.cloned().unwrap_or(Json::Null);
        let bytes = match schema {
            Some(s) => serde_json::to_vec(&json!({ "schema": s, "payload": value })),
            None => serde_json::to_vec(&value),
        }
        .map_err(|e| e.to_string())?;
        let converter = if schema.is_some() {
            &self.enveloped
        } else {
            &self.schemaless
        };
        converter
            .to_connect("t", Some(&bytes))
            .map_err(|e| e.to_string())
    }

    /// Writes a value; returns (schema JSON, payload JSON).
    fn write(&self, schema: Option<&SchemaRef>, value: &Value) -> (Option<Json>, Json) {
        let parse = |bytes: Option<Vec<u8>>| -> Json {
            bytes
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Json::Null)
        };
        match schema {
            None => match self.schemaless.from_connect("t", None, value) {
                Ok(b) => (None, parse(b)),
                Err(e) => (None, json!({ "unserializable": e.to_string() })),
            },
            Some(s) => match self.enveloped.from_connect("t", Some(s), value) {
                Ok(b) => {
                    let mut env = parse(b);
                    let payload = env.get_mut("payload").map(Json::take).unwrap_or_default();
                    let schema = env.get_mut("schema").map(Json::take);
                    (schema, payload)
                }
                Err(e) => (
                    None,
                    json!({ "unserializable": e.to_string(), "debug": format!("{value:?}") }),
                ),
            },
        }
    }

    fn record_from_json(&self, j: &Json) -> Result<ConnectRecord, String> {
        let key = self.read(j.get("key"), j.get("key_schema"))?;
        let value = self.read(j.get("value"), j.get("value_schema"))?;
        let mut headers = Headers::default();
        for h in j
            .get("headers")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let name = h.get("key").and_then(Json::as_str).unwrap_or_default();
            let hv = self.read(h.get("value"), h.get("schema"))?;
            headers.add(name, hv.schema, hv.value);
        }
        let topic = j
            .get("topic")
            .and_then(Json::as_str)
            .unwrap_or("test")
            .to_string();
        let partition = j
            .get("partition")
            .and_then(Json::as_i64)
            .and_then(|p| i32::try_from(p).ok());
        let kafka = j
            .get("offset")
            .and_then(Json::as_i64)
            .map(|offset| KafkaPosition {
                tp: TopicPartition::new(topic.clone(), partition.unwrap_or(0)),
                offset,
            });
        Ok(ConnectRecord {
            topic,
            partition,
            key_schema: key.schema,
            key: key.value,
            value_schema: value.schema,
            value: value.value,
            timestamp: j.get("timestamp").and_then(Json::as_i64),
            headers,
            kafka,
            ..Default::default()
        })
    }

    fn record_to_json(&self, r: &ConnectRecord) -> Json {
        let mut m = Map::new();
        m.insert("topic".into(), json!(r.topic));
        if let Some(p) = r.partition {
            m.insert("partition".into(), json!(p));
        }
        if let Some(k) = &r.kafka {
            m.insert(
                "original".into(),
                json!({ "topic": k.tp.topic, "partition": k.tp.partition, "offset": k.offset }),
            );
        }
        if let Some(ts) = r.timestamp {
            m.insert("timestamp".into(), json!(ts));
        }
        let (ks, kv) = self.write(r.key_schema.as_ref(), &r.key);
        if let Some(ks) = ks {
            m.insert("key_schema".into(), ks);
        }
        m.insert("key".into(), kv);
        let (vs, vv) = self.write(r.value_schema.as_ref(), &r.value);
        if let Some(vs) = vs {
            m.insert("value_schema".into(), vs);
        }
        m.insert("value".into(), vv);
        if !r.headers.is_empty() {
            let headers: Vec<Json> = r
                .headers
                .iter()
                .map(|h| {
                    let (s, v) = self.write(h.schema.as_ref(), &h.value);
                    let mut hm = Map::new();
                    hm.insert("key".into(), json!(h.key));
                    hm.insert("value".into(), v);
                    if let Some(s) = s {
                        hm.insert("schema".into(), s);
                    }
                    Json::Object(hm)
                })
                .collect();
            m.insert("headers".into(), Json::Array(headers));
        }
        Json::Object(m)
    }
}

fn config_of(file: &Json) -> HashMap<String, String> {
    file.get("config")
        .and_then(Json::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one file; returns the file with actual results filled in, and the
/// mismatches found.
fn run_file(codec: &Codec, file: &Json, plugins: &TransformPlugins) -> (Json, Vec<String>) {
    let mut actual_file = file.clone();
    let mut failures = Vec::new();
    let config = config_of(file);
    let chain = match TransformationChain::from_config_in(&config, plugins) {
        Ok(c) => {
            if file.get("config_errors").is_some() {
                failures.push("expected config errors, got a valid chain".to_string());
            }
            c
        }
        Err(errors) => {
            let mut got: Vec<Json> = errors
                .iter()
                .map(|e| json!({ "key": e.key, "message": e.message }))
                .collect();
            got.sort_by_key(|e| e.to_string());
            let got = Json::Array(got);
            if file.get("config_errors") != Some(&got) {
                failures.push(format!("config errors differ: got {got}"));
            }
            actual_file["config_errors"] = got;
            return (actual_file, failures);
        }
    };
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
        let input = case.get("input").cloned().unwrap_or(Json::Null);
        let actual = match codec.record_from_json(&input) {
            Err(e) => json!({ "input_error": e }),
            Ok(record) => match chain.apply(record) {
                Ok(Some(out)) => codec.record_to_json(&out),
                Ok(None) => Json::Null,
                Err(e) => json!({ "error": e.to_string(), "class": e.java_class() }),
            },
        };
        if case.get("expected") != Some(&actual) {
            failures.push(format!(
                "{name}: expected {}\n      got {}",
                case.get("expected")
                    .map_or("<missing>".to_string(), Json::to_string),
                actual
            ));
        }
        actual_file["cases"][i]["expected"] = actual;
    }
    (actual_file, failures)
}

#[test]
fn golden() {
    run_dir(&testdata(), super::registry::builtin());
}

/// Runs every golden file in `dir` against the classes of `plugins`, with
/// the shared harness ([`crate::golden::check_dir`]): mismatches fail, and
/// `BLESS=1` rewrites the expectations. Other crates' transforms use it
/// through the `golden` feature.
pub fn run_dir(dir: &Path, plugins: &TransformPlugins) {
    let codec = Codec::new();
    crate::golden::check_dir(dir, |_, file| run_file(&codec, file, plugins));
}
