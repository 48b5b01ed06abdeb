//! Records to HEC payloads, synchronous: JSON events for
//! `/services/collector/event` (several objects back to back in one body)
//! and bytes plus query metadata for `/services/collector/raw`.

use std::borrow::Cow;
use std::sync::Arc;

use rampart_core::converter::JsonConverter;
use rampart_core::data::Value;
use rampart_core::record::SinkRecord;
use rampart_core::DataError;
use serde::Serialize;
use serde_json::Value as Json;

use crate::config::HecConfig;

/// Metadata of a raw request, sent as query parameters; raw records are
/// batched per distinct value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RawMeta {
    /// `index`
    pub index: Option<String>,
    /// `source`
    pub source: Option<String>,
    /// `sourcetype`
    pub sourcetype: Option<String>,
    /// `host`
    pub host: Option<String>,
}

impl RawMeta {
    /// The query parameters, channel excluded.
    pub fn query(&self) -> Vec<(&'static str, &str)> {
        [
            ("index", &self.index),
            ("source", &self.source),
            ("sourcetype", &self.sourcetype),
            ("host", &self.host),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum EventBody<'a> {
    Text(Cow<'a, str>),
    Json(Json),
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sourcetype: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<Cow<'a, str>>,
    event: EventBody<'a>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    fields: serde_json::Map<String, Json>,
}

/// Renders records with one task's settings.
pub struct Renderer {
    config: Arc<HecConfig>,
    json: JsonConverter,
    host: String,
}

fn text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        Value::Bytes(b) => String::from_utf8_lossy(b),
        other => Cow::Owned(other.to_string()),
    }
}

impl Renderer {
    /// A renderer for a task's config.
    pub fn new(config: Arc<HecConfig>) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        Renderer {
            config,
            json: JsonConverter::schemaless(),
            host,
        }
    }

    fn header<'r>(
        &self,
        r: &'r SinkRecord,
        name: impl Fn(&crate::config::HeaderNames) -> &str,
    ) -> Option<Cow<'r, str>> {
        let names = self.config.headers.as_ref()?;
        r.headers
            .last_with_name(name(names))
            .filter(|h| !h.value.is_null())
            .map(|h| text(&h.value))
    }

    fn value_json(&self, r: &SinkRecord) -> Result<Json, DataError> {
        self.json.to_json(r.value_schema.as_ref(), &r.value)
    }

    /// Appends the record as one JSON event; `false` when the record has no
    /// value (a tombstone HEC would refuse as blank) and nothing was written.
    pub fn event(&self, r: &SinkRecord, out: &mut Vec<u8>) -> Result<bool, DataError> {
        if r.value.is_null() {
            return Ok(false);
        }
        if self.config.event_formatted {
            match &r.value {
                Value::String(s) if s.trim_start().starts_with('{') => {
                    out.extend_from_slice(s.trim().as_bytes());
                    return Ok(true);
                }
                Value::Map(_) | Value::Struct(_) => {
                    let json = self.value_json(r)?;
                    serde_json::to_writer(&mut *out, &json)
                        .map_err(|e| DataError::new(e.to_string()))?;
                    return Ok(true);
                }
                _ => {}
            }
        }
        let cfg = &self.config;
        let meta = cfg.topic_meta(&r.topic);
        let pick = |header: Option<Cow<'_, str>>, configured: &Option<String>| -> Option<String> {
            header.map(Cow::into_owned).or_else(|| configured.clone())
        };
        let event = match &r.value {
            Value::String(s) => EventBody::Text(Cow::Borrowed(s)),
            Value::Bytes(b) => EventBody::Text(String::from_utf8_lossy(b)),
            _ => EventBody::Json(self.value_json(r)?),
        };
        let mut fields = serde_json::Map::new();
        for (k, v) in &cfg.enrichment {
            fields.insert(k.clone(), Json::String(v.clone()));
        }
        if let Some(names) = &cfg.headers {
            for name in &names.custom {
                if let Some(h) = r
                    .headers
                    .last_with_name(name)
                    .filter(|h| !h.value.is_null())
                {
                    fields.insert(name.clone(), Json::String(text(&h.value).into_owned()));
                }
            }
        }
        if cfg.track_data {
            let mut put = |k: &str, v: String| {
                fields.insert(k.to_string(), Json::String(v));
            };
            if let Some(o) = r.kafka_offset() {
                put("kafka_offset", o.to_string());
            }
            if let Some(t) = r.timestamp {
                put("kafka_timestamp", t.to_string());
            }
            put("kafka_topic", r.topic.clone());
            if let Some(p) = r.partition {
                put("kafka_partition", p.to_string());
            }
            if !r.key.is_null() {
                put("kafka_record_key", text(&r.key).into_owned());
            }
            put("kafka_connect_host", self.host.clone());
        }
        let envelope = Envelope {
            time: r
                .timestamp
                .filter(|_| cfg.use_record_timestamp)
                .map(|ms| ms as f64 / 1000.0),
            host: self.header(r, |n| &n.host),
            index: pick(self.header(r, |n| &n.index), &meta.index).map(Cow::Owned),
            source: pick(self.header(r, |n| &n.source), &meta.source).map(Cow::Owned),
            sourcetype: pick(self.header(r, |n| &n.sourcetype), &meta.sourcetype).map(Cow::Owned),
            event,
            fields,
        };
        serde_json::to_writer(&mut *out, &envelope).map_err(|e| DataError::new(e.to_string()))?;
        Ok(true)
    }

    /// The query metadata of a raw record.
    pub fn raw_meta(&self, r: &SinkRecord) -> RawMeta {
        let meta = self.config.topic_meta(&r.topic);
        let own = |h: Option<Cow<'_, str>>| h.map(Cow::into_owned);
        RawMeta {
            index: own(self.header(r, |n| &n.index)).or_else(|| meta.index.clone()),
            source: own(self.header(r, |n| &n.source)).or_else(|| meta.source.clone()),
            sourcetype: own(self.header(r, |n| &n.sourcetype)).or_else(|| meta.sourcetype.clone()),
            host: own(self.header(r, |n| &n.host)),
        }
    }

    /// Appends the record's value and the line breaker; `false` for a
    /// record without value.
    pub fn raw(&self, r: &SinkRecord, out: &mut Vec<u8>) -> Result<bool, DataError> {
        match &r.value {
            Value::Null => return Ok(false),
            Value::String(s) => out.extend_from_slice(s.as_bytes()),
            Value::Bytes(b) => out.extend_from_slice(b),
            _ => {
                let json = self.value_json(r)?;
                serde_json::to_writer(&mut *out, &json)
                    .map_err(|e| DataError::new(e.to_string()))?;
            }
        }
        out.extend_from_slice(&self.config.line_breaker);
        Ok(true)
    }
}
