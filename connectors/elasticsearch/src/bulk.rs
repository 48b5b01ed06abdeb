//! The `_bulk` API: building NDJSON lines from records and classifying the
//! per-item results. Pure functions; the HTTP side is in `client.rs`.
//!
//! The bulk request and response shapes are the same in Elasticsearch 7, 8
//! and 9 and OpenSearch 1–3 (no `_type`, `version_type=external`,
//! `update` with `doc_as_upsert`, `create` into data streams).

use std::io::Write as _;

use rampart_core::data::Value;
use rampart_core::record::SinkRecord;
use serde::de::IgnoredAny;
use serde::Deserialize;
use thiserror::Error;

use crate::config::{EsConfig, NullBehavior, WriteMethod};
use crate::document::{key_to_id, write_document, write_str, DocumentError, DocumentOptions};
use crate::index::{data_stream_name, index_for_topic, offset_id, NameError};

/// Elasticsearch error types that mean the document itself is malformed
/// (Confluent's list, plus `document_parsing_exception` of 8.x and
/// `strict_dynamic_mapping_exception`).
const MALFORMED_TYPES: &[&str] = &[
    "mapper_parse_exception",
    "mapper_parsing_exception",
    "document_parsing_exception",
    "strict_dynamic_mapping_exception",
    "illegal_argument_exception",
    "action_request_validation_exception",
];

/// The bulk operation of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// Replace (or create) the document.
    Index,
    /// Create only: the data-stream write.
    Create,
    /// Merge into the document (`doc_as_upsert`).
    Update,
    /// Delete the document.
    Delete,
}

impl OpKind {
    fn as_str(self) -> &'static str {
        match self {
            OpKind::Index => "index",
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
        }
    }
}

/// Why a record cannot be written: never retryable, the record is bad.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The value cannot become a document.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// The index or data stream name breaks Elasticsearch's rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A tombstone under `behavior.on.null.values=fail`.
    #[error("record with a null value at {topic}-{partition}@{offset}: set behavior.on.null.values to ignore or delete")]
    NullValue {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
}

/// A record's bulk lines, or the reason it needs none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prepared {
    /// The action line and, except for deletes, the source line.
    Write {
        /// The operation.
        op: OpKind,
        /// NDJSON lines, each ending in `\n`.
        lines: Vec<u8>,
        /// Where in `lines` the record's value is, written unchanged (not
        /// for deletes, nor data streams, which add `@timestamp`).
        value: Option<std::ops::Range<usize>>,
    },
    /// Nothing to write (an ignored tombstone).
    Skip,
}

/// Builds a record's bulk lines under the config's rules. The target is the
/// record's topic (after transforms), so routers name the index.
pub fn prepare(record: &SinkRecord, cfg: &EsConfig) -> Result<Prepared, RecordError> {
    let topic = record.topic.as_str();
    let partition = record
        .partition
        .or(record.kafka.as_ref().map(|k| k.tp.partition))
        .unwrap_or(0);
    let offset = record.kafka_offset().unwrap_or(0);
    let index = match &cfg.data_stream {
        Some(ds) => data_stream_name(ds.kind, &ds.dataset, &ds.namespace, topic)?,
        None => index_for_topic(topic)?,
    };
    let ignore_key = cfg.ignore_key(topic);
    // Room for the action line and the value, so most lines are allocated
    // once and hold no spare capacity while buffered.
    let hint = match &record.value {
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 384,
    };
    let mut lines = Vec::with_capacity(hint + index.len() + topic.len() + 96);
    if record.value.is_null() {
        return match cfg.null_values {
            NullBehavior::Ignore => Ok(Prepared::Skip),
            NullBehavior::Fail => Err(RecordError::NullValue {
                topic: topic.to_string(),
                partition,
                offset,
            }),
            // A delete needs the key's id; with the key ignored there is no
            // document to delete, as in Confluent's connector.
            NullBehavior::Delete if ignore_key || record.key.is_null() => Ok(Prepared::Skip),
            NullBehavior::Delete => {
                let id = key_to_id(&record.key)?;
                // Upserted documents carry internal versions, which an
                // external version cannot be compared with.
                let version = (cfg.data_stream.is_none()
                    && cfg.write_method == WriteMethod::Insert)
                    .then_some(offset);
                write_action(&mut lines, OpKind::Delete, &index, Some(&id), version, None);
                Ok(Prepared::Write {
                    op: OpKind::Delete,
                    lines,
                    value: None,
                })
            }
        };
    }
    let id = if ignore_key {
        offset_id(topic, partition, offset)
    } else {
        key_to_id(&record.key)?
    };
    let opts = DocumentOptions {
        use_schema: !cfg.ignore_schema(topic),
        compact_map_entries: cfg.compact_map_entries,
    };
    let op = match (&cfg.data_stream, cfg.write_method) {
        (Some(_), _) => OpKind::Create,
        (None, WriteMethod::Upsert) => OpKind::Update,
        (None, WriteMethod::Insert) => OpKind::Index,
    };
    // External versioning makes replays of keyed records idempotent and
    // stops an older record overwriting a newer one (Confluent does the
    // same); offset ids and creates are idempotent by themselves.
    let version = (op == OpKind::Index && !ignore_key).then_some(offset);
    let retry_on_conflict = (op == OpKind::Update).then_some(cfg.max_in_flight.min(5) as u32);
    write_action(
        &mut lines,
        op,
        &index,
        Some(&id),
        version,
        retry_on_conflict,
    );
    if op == OpKind::Update {
        lines.extend_from_slice(b"{\"doc\":");
    }
    let doc_start = lines.len();
    write_document(
        &mut lines,
        record.value_schema.as_deref(),
        &record.value,
        opts,
    )?;
    let value = match &cfg.data_stream {
        Some(ds) => {
            add_timestamp(&mut lines, doc_start, record, &ds.timestamp_fields);
            None
        }
        None => Some(doc_start..lines.len()),
    };
    if op == OpKind::Update {
        lines.extend_from_slice(b",\"doc_as_upsert\":true}");
    }
    lines.push(b'\n');
    Ok(Prepared::Write { op, lines, value })
}

/// Writes one action line.
pub fn write_action(
    out: &mut Vec<u8>,
    op: OpKind,
    index: &str,
    id: Option<&str>,
    external_version: Option<i64>,
    retry_on_conflict: Option<u32>,
) {
    out.extend_from_slice(b"{\"");
    out.extend_from_slice(op.as_str().as_bytes());
    out.extend_from_slice(b"\":{\"_index\":");
    write_str(out, index);
    if let Some(id) = id {
        out.extend_from_slice(b",\"_id\":");
        write_str(out, id);
    }
    // Writing into a Vec cannot fail.
    if let Some(v) = external_version {
        let _ = write!(out, ",\"version\":{v},\"version_type\":\"external\"");
    }
    if let Some(r) = retry_on_conflict {
        let _ = write!(out, ",\"retry_on_conflict\":{r}");
    }
    out.extend_from_slice(b"}}\n");
}

// Data streams need `@timestamp`: the first configured field present in the
// value, else the Kafka timestamp. A document that has its own
// `@timestamp` and no configured field keeps it.
fn add_timestamp(lines: &mut Vec<u8>, doc_start: usize, record: &SinkRecord, fields: &[String]) {
    let doc = &lines[doc_start..];
    let mut stamp: Option<Vec<u8>> = None;
    for f in fields {
        if let Some(v) = field_json(&record.value, doc, f) {
            stamp = Some(v);
            break;
        }
    }
    if stamp.is_none() {
        if has_field(&record.value, doc, "@timestamp") {
            return;
        }
        stamp = Some(
            record
                .timestamp
                .unwrap_or_else(now_millis)
                .to_string()
                .into_bytes(),
        );
    }
    let Some(stamp) = stamp else { return };
    // The document starts with `{`; insert right after it.
    let empty = doc.len() >= 2 && doc[1] == b'}';
    let mut insert = Vec::with_capacity(stamp.len() + 16);
    insert.extend_from_slice(b"\"@timestamp\":");
    insert.extend_from_slice(&stamp);
    if !empty {
        insert.push(b',');
    }
    let at = doc_start + 1;
    lines.splice(at..at, insert);
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn has_field(value: &Value, doc: &[u8], name: &str) -> bool {
    match value {
        Value::Map(_) | Value::Struct(_) => value.get_field(name).is_some(),
        _ => serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(doc)
            .is_ok_and(|m| m.contains_key(name)),
    }
}

fn field_json(value: &Value, doc: &[u8], name: &str) -> Option<Vec<u8>> {
    match value {
        Value::Map(_) | Value::Struct(_) => {
            let v = value.get_field(name)?;
            if v.is_null() {
                return None;
            }
            let mut out = Vec::new();
            write_document_field(&mut out, v);
            Some(out)
        }
        _ => {
            let m: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(doc).ok()?;
            let v = m.get(name).filter(|v| !v.is_null())?;
            serde_json::to_vec(v).ok()
        }
    }
}

fn write_document_field(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str(out, s),
        Value::Int64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Int32(n) => {
            let _ = write!(out, "{n}");
        }
        other => write_str(out, &format!("{other}")),
    }
}

/// What Elasticsearch did with one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Written (200, 201) or already gone (404 on delete).
    Ok,
    /// 409 on an idempotent write: the same or a newer version is there.
    Conflict,
    /// 429 or 5xx: send again later.
    Retry(String),
    /// 400 for the document itself (mapping or parsing).
    Malformed(String),
    /// Any other refusal (e.g. an invalid or closed index).
    Rejected(String),
}

/// The result of a whole bulk request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOutcome {
    /// `"errors": false`: every item was written.
    AllOk,
    /// One outcome per item, in request order.
    Items(Vec<ItemOutcome>),
}

/// A bulk response that cannot be matched to its request.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResponseError {
    /// Not the documented JSON shape.
    #[error("cannot parse bulk response: {0}")]
    Parse(String),
    /// Fewer or more items than sent.
    #[error("bulk response has {got} items for {sent} sent")]
    Count {
        /// Items in the response.
        got: usize,
        /// Items sent.
        sent: usize,
    },
}

#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    #[allow(dead_code)]
    items: IgnoredAny,
}

#[derive(Deserialize)]
struct Body {
    items: Vec<std::collections::HashMap<String, ItemBody>>,
}

#[derive(Deserialize)]
struct ItemBody {
    status: u16,
    #[serde(default)]
    error: Option<ErrorBody>,
}

/// An Elasticsearch error object.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    caused_by: Option<Box<ErrorBody>>,
}

impl ErrorBody {
    /// `type: reason (caused by type: reason)`.
    pub fn describe(&self) -> String {
        let mut s = match &self.reason {
            Some(r) => format!("{}: {r}", self.kind),
            None => self.kind.clone(),
        };
        if let Some(c) = &self.caused_by {
            s.push_str(&format!(" (caused by {})", c.describe()));
        }
        s
    }
}

/// Classifies the items of a bulk response against the operations sent.
pub fn parse_response(body: &[u8], ops: &[OpKind]) -> Result<BulkOutcome, ResponseError> {
    // Elasticsearch and OpenSearch write `took` and `errors` before the
    // items: seeing `"errors":false` there spares scanning thousands of
    // items, the bulk of the sink's response cost.
    if head_all_ok(body) == Some(true) {
        return Ok(BulkOutcome::AllOk);
    }
    let head: Head =
        serde_json::from_slice(body).map_err(|e| ResponseError::Parse(e.to_string()))?;
    if !head.errors {
        return Ok(BulkOutcome::AllOk);
    }
    let body: Body =
        serde_json::from_slice(body).map_err(|e| ResponseError::Parse(e.to_string()))?;
    if body.items.len() != ops.len() {
        return Err(ResponseError::Count {
            got: body.items.len(),
            sent: ops.len(),
        });
    }
    let mut out = Vec::with_capacity(ops.len());
    for (item, op) in body.items.into_iter().zip(ops) {
        let Some(item) = item.into_values().next() else {
            return Err(ResponseError::Parse("empty bulk item".to_string()));
        };
        out.push(classify(&item, *op));
    }
    Ok(BulkOutcome::Items(out))
}

/// Whether the head of a bulk response (what precedes `"items"`) says
/// `"errors":false`; `None` until `"items"` is in `prefix`.
pub fn head_all_ok(prefix: &[u8]) -> Option<bool> {
    let items = find(prefix, b"\"items\"")?;
    let head = &prefix[..items];
    let Some(at) = find(head, b"\"errors\"") else {
        return Some(false);
    };
    // Whitespace around the colon is allowed, as a pretty-printing proxy writes.
    let value = head[at + 8..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || **b == b':');
    Some(value.take(5).copied().eq(b"false".iter().copied()))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn classify(item: &ItemBody, op: OpKind) -> ItemOutcome {
    let reason = || {
        item.error
            .as_ref()
            .map_or_else(|| format!("status {}", item.status), ErrorBody::describe)
    };
    let kind = item.error.as_ref().map_or("", |e| e.kind.as_str());
    match item.status {
        200..=299 => ItemOutcome::Ok,
        404 if op == OpKind::Delete => ItemOutcome::Ok,
        // An update conflicts with a concurrent update, not with itself.
        409 if op == OpKind::Update => ItemOutcome::Retry(reason()),
        409 => ItemOutcome::Conflict,
        429 => ItemOutcome::Retry(reason()),
        500..=599 => ItemOutcome::Retry(reason()),
        400 if MALFORMED_TYPES.contains(&kind) => ItemOutcome::Malformed(reason()),
        _ => ItemOutcome::Rejected(reason()),
    }
}

/// The reason in an error response body, when it has Elasticsearch's shape.
pub fn error_reason(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Wrapper {
        error: ErrorBody,
    }
    serde_json::from_slice::<Wrapper>(body)
        .ok()
        .map(|w| w.error.describe())
}
