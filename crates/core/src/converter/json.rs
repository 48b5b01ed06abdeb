//! `org.apache.kafka.connect.json.JsonConverter`, with and without the
//! `{"schema":…,"payload":…}` envelope, including the logical types.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{Map as JsonMap, Number, Value as Json};

use super::json_writer::write_json;
use super::Converter;
use crate::data::{logical, Schema, SchemaAndValue, SchemaRef, SchemaType, Struct, Value};
use crate::DataError;

const ENVELOPE_ERROR: &str = "JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration.";

/// How Decimal values are written (`decimal.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalFormat {
    /// Base64 of the unscaled big-endian bytes (Kafka's default).
    Base64,
    /// A JSON number.
    Numeric,
}

/// A schema and its serialised JSON; holding the schema keeps its address,
/// the cache key, from being reused.
type WrittenSchema = (SchemaRef, Arc<[u8]>);

/// JsonConverter settings.
#[derive(Debug, Clone)]
pub struct JsonConverterConfig {
    /// `schemas.enable` (default true).
    pub schemas_enable: bool,
    /// `schemas.cache.size` (default 1000).
    pub schemas_cache_size: usize,
    /// `decimal.format` (default BASE64).
    pub decimal_format: DecimalFormat,
    /// `replace.null.with.default` (default true).
    pub replace_null_with_default: bool,
}

impl Default for JsonConverterConfig {
    fn default() -> Self {
        JsonConverterConfig {
            schemas_enable: true,
            schemas_cache_size: 1000,
            decimal_format: DecimalFormat::Base64,
            replace_null_with_default: true,
        }
    }
}

fn parse_bool(
    settings: &HashMap<String, String>,
    key: &str,
    default: bool,
) -> Result<bool, String> {
    match settings.get(key).map(|s| s.trim()) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(format!(
            "Invalid value {v} for configuration {key}: Expected value to be either true or false"
        )),
    }
}

impl JsonConverterConfig {
    /// Reads the converter's settings (already stripped of their prefix).
    pub fn from_settings(settings: &HashMap<String, String>) -> Result<Self, String> {
        let decimal_format = match settings.get("decimal.format").map(|s| s.trim().to_ascii_uppercase()) {
            None => DecimalFormat::Base64,
            Some(f) if f == "BASE64" => DecimalFormat::Base64,
            Some(f) if f == "NUMERIC" => DecimalFormat::Numeric,
            Some(f) => {
                return Err(format!(
                    "Invalid value {f} for configuration decimal.format: String must be one of (case insensitive): BASE64, NUMERIC"
                ))
            }
        };
        let schemas_cache_size = match settings.get("schemas.cache.size") {
            None => 1000,
            Some(v) => v.trim().parse().map_err(|_| {
                format!("Invalid value {v} for configuration schemas.cache.size: Not a number of type INT")
            })?,
        };
        Ok(JsonConverterConfig {
            schemas_enable: parse_bool(settings, "schemas.enable", true)?,
            schemas_cache_size,
            decimal_format,
            replace_null_with_default: parse_bool(settings, "replace.null.with.default", true)?,
        })
    }
}

/// The JSON converter.
#[derive(Debug)]
pub struct JsonConverter {
    config: JsonConverterConfig,
    // Parsing a schema per record dominates the cost of enveloped JSON; the
    // same schema text repeats, so cache the parsed form (`schemas.cache.size`).
    cache: Mutex<HashMap<String, SchemaRef>>,
    // Envelope schema JSON by schema address (see `schema_json`).
    written: Mutex<HashMap<usize, WrittenSchema>>,
    // The last record's size: sizing the output buffer from it saves the
    // reallocations (and copies) of growing from a fixed guess.
    last_size: std::sync::atomic::AtomicUsize,
}

impl JsonConverter {
    // Appends the JSON text, with the schema envelope when enabled.
    fn write(
        &self,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<(), DataError> {
        if self.config.schemas_enable {
            out.extend_from_slice(b"{\"schema\":");
            match schema {
                Some(s) => out.extend_from_slice(&self.schema_json(s)),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"payload\":");
            write_json(&self.config, schema.map(|s| s.as_ref()), value, out)?;
            out.push(b'}');
        } else {
            write_json(&self.config, schema.map(|s| s.as_ref()), value, out)?;
        }
        Ok(())
    }

    /// Builds a converter; `is_key` only matters for Kafka parity of errors.
    pub fn new(config: JsonConverterConfig, _is_key: bool) -> Self {
        JsonConverter {
            config,
            cache: Mutex::new(HashMap::new()),
            written: Mutex::new(HashMap::new()),
            last_size: std::sync::atomic::AtomicUsize::new(256),
        }
    }

    /// A schemaless converter (`schemas.enable=false`).
    pub fn schemaless() -> Self {
        Self::new(
            JsonConverterConfig {
                schemas_enable: false,
                ..Default::default()
            },
            false,
        )
    }

    /// Converts Connect data to a JSON tree (the payload, without envelope).
    pub fn to_json(&self, schema: Option<&SchemaRef>, value: &Value) -> Result<Json, DataError> {
        convert_to_json(&self.config, schema.map(|s| s.as_ref()), value)
    }

    /// Converts a JSON tree to Connect data, schemaless.
    pub fn from_json_schemaless(json: &Json) -> Value {
        schemaless_from_json(json)
    }

    /// The envelope's `schema` JSON, serialised once per schema instance:
    /// records of one source share their schema `Arc`, and rendering a wide
    /// schema per record costs more than the payload.
    fn schema_json(&self, schema: &SchemaRef) -> Arc<[u8]> {
        let key = Arc::as_ptr(schema) as usize;
        if let Ok(cache) = self.written.lock() {
            // The cache holds the Arc, so the address is not reused while
            // the entry lives.
            if let Some((_, bytes)) = cache.get(&key) {
                return bytes.clone();
            }
        }
        let bytes: Arc<[u8]> = schema_to_json(&self.config, schema)
            .to_string()
            .into_bytes()
            .into();
        if let Ok(mut cache) = self.written.lock() {
            if cache.len() >= self.config.schemas_cache_size {
                cache.clear();
            }
            cache.insert(key, (schema.clone(), bytes.clone()));
        }
        bytes
    }

    fn cached_schema(&self, json: &Json) -> Result<Option<SchemaRef>, DataError> {
        if json.is_null() {
            return Ok(None);
        }
        let key = json.to_string();
        if let Ok(cache) = self.cache.lock() {
            if let Some(s) = cache.get(&key) {
                return Ok(Some(s.clone()));
            }
        }
        let schema = schema_from_json(json)?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= self.config.schemas_cache_size {
                cache.clear();
            }
            cache.insert(key, schema.clone());
        }
        Ok(Some(schema))
    }
}

impl Converter for JsonConverter {
    fn from_connect(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Option<Vec<u8>>, DataError> {
        if schema.is_none() && value.is_null() {
            return Ok(None);
        }
        let hint = self.last_size.load(std::sync::atomic::Ordering::Relaxed);
        let mut out = Vec::with_capacity(hint.clamp(64, 64 * 1024) + hint / 8);
        self.write(schema, value, &mut out)?;
        // Written only when the size moved a lot, so tasks sharing the
        // converter do not contend on the cache line per record.
        if out.len() > hint || out.len() < hint / 2 {
            self.last_size
                .store(out.len(), std::sync::atomic::Ordering::Relaxed);
        }
        Ok(Some(out))
    }

    fn from_connect_into(
        &self,
        _topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
        out: &mut Vec<u8>,
    ) -> Result<bool, DataError> {
        out.clear();
        if schema.is_none() && value.is_null() {
            return Ok(false);
        }
        self.write(schema, value, out)?;
        Ok(true)
    }

    fn to_connect(&self, _topic: &str, data: Option<&[u8]>) -> Result<SchemaAndValue, DataError> {
        let Some(bytes) = data else {
            return Ok(SchemaAndValue::null());
        };
        let json: Json = serde_json::from_slice(bytes).map_err(|e| {
            DataError::new(format!(
                "Converting byte[] to Kafka Connect data failed due to serialization error: {e}"
            ))
        })?;
        if !self.config.schemas_enable {
            return Ok(SchemaAndValue::schemaless(schemaless_from_json(&json)));
        }
        let Json::Object(mut env) = json else {
            return Err(DataError::new(ENVELOPE_ERROR));
        };
        if env.len() != 2 || !env.contains_key("schema") || !env.contains_key("payload") {
            return Err(DataError::new(ENVELOPE_ERROR));
        }
        let payload = env.remove("payload").unwrap_or(Json::Null);
        let schema_json = env.remove("schema").unwrap_or(Json::Null);
        let schema = self.cached_schema(&schema_json)?;
        let value = match &schema {
            None => schemaless_from_json(&payload),
            Some(s) => convert_from_json(&self.config, s, &payload)?,
        };
        Ok(SchemaAndValue { schema, value })
    }
}

header_converter_from_converter!(JsonConverter);

/// Serialises a schema to JsonConverter's schema JSON, field order as Kafka's.
pub fn schema_to_json(config: &JsonConverterConfig, schema: &Schema) -> Json {
    let mut obj = JsonMap::new();
    obj.insert("type".into(), Json::String(schema.kind.json_name().into()));
    match schema.kind {
        SchemaType::Array => {
            if let Some(items) = &schema.value_schema {
                obj.insert("items".into(), schema_to_json(config, items));
            }
        }
        SchemaType::Map => {
            if let Some(k) = &schema.key_schema {
                obj.insert("keys".into(), schema_to_json(config, k));
            }
            if let Some(v) = &schema.value_schema {
                obj.insert("values".into(), schema_to_json(config, v));
            }
        }
        SchemaType::Struct => {
            let fields = schema
                .fields
                .iter()
                .map(|f| {
                    let mut fj = schema_to_json(config, &f.schema);
                    if let Json::Object(m) = &mut fj {
                        m.insert("field".into(), Json::String(f.name.clone()));
                    }
                    fj
                })
                .collect();
            obj.insert("fields".into(), Json::Array(fields));
        }
        _ => {}
    }
    obj.insert("optional".into(), Json::Bool(schema.optional));
    if let Some(n) = &schema.name {
        obj.insert("name".into(), Json::String(n.clone()));
    }
    if let Some(v) = schema.version {
        obj.insert("version".into(), Json::from(v));
    }
    if let Some(d) = &schema.doc {
        obj.insert("doc".into(), Json::String(d.clone()));
    }
    if !schema.parameters.is_empty() {
        let params = schema
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        obj.insert("parameters".into(), Json::Object(params));
    }
    if let Some(d) = &schema.default {
        if let Ok(j) = convert_to_json(config, Some(schema), d) {
            obj.insert("default".into(), j);
        }
    }
    Json::Object(obj)
}

/// Parses JsonConverter's schema JSON.
pub fn schema_from_json(json: &Json) -> Result<SchemaRef, DataError> {
    let obj = json
        .as_object()
        .ok_or_else(|| DataError::new("Schema must be an object"))?;
    let type_name = obj
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| DataError::new("Schema must contain 'type' field"))?;
    let kind = SchemaType::from_json_name(type_name)
        .ok_or_else(|| DataError::new(format!("Unknown schema type: {type_name}")))?;
    let mut schema = Schema::new(kind);
    match kind {
        SchemaType::Array => {
            let items = obj
                .get("items")
                .ok_or_else(|| DataError::new("Array schema did not specify the element type"))?;
            schema.value_schema = Some(schema_from_json(items)?);
        }
        SchemaType::Map => {
            let keys = obj
                .get("keys")
                .ok_or_else(|| DataError::new("Map schema did not specify the key type"))?;
            let values = obj
                .get("values")
                .ok_or_else(|| DataError::new("Map schema did not specify the value type"))?;
            schema.key_schema = Some(schema_from_json(keys)?);
            schema.value_schema = Some(schema_from_json(values)?);
        }
        SchemaType::Struct => {
            let fields = obj.get("fields").and_then(Json::as_array).ok_or_else(|| {
                DataError::new("Struct schema's \"fields\" argument is not an array.")
            })?;
            for f in fields {
                let name = f.get("field").and_then(Json::as_str).ok_or_else(|| {
                    DataError::new("Struct schema's field name not specified properly")
                })?;
                let fs = schema_from_json(f)?;
                schema = schema.field(name, fs);
            }
        }
        _ => {}
    }
    if let Some(opt) = obj.get("optional") {
        schema.optional = opt
            .as_bool()
            .ok_or_else(|| DataError::new("Optional field must be a boolean"))?;
    }
    schema.name = obj.get("name").and_then(Json::as_str).map(str::to_string);
    schema.version = obj
        .get("version")
        .and_then(Json::as_i64)
        .and_then(|v| i32::try_from(v).ok());
    schema.doc = obj.get("doc").and_then(Json::as_str).map(str::to_string);
    if let Some(params) = obj.get("parameters").and_then(Json::as_object) {
        for (k, v) in params {
            let v = v
                .as_str()
                .ok_or_else(|| DataError::new("Schema parameters must have string values."))?;
            schema.parameters.push((k.clone(), v.to_string()));
        }
    }
    if let Some(d) = obj.get("default") {
        if !d.is_null() {
            let config = JsonConverterConfig::default();
            schema.default = Some(convert_from_json(&config, &Arc::new(schema.clone()), d)?);
        }
    }
    Ok(Arc::new(schema))
}

fn schemaless_from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float64(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(schemaless_from_json).collect()),
        Json::Object(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (Value::String(k.clone()), schemaless_from_json(v)))
                .collect(),
        ),
    }
}

fn mismatch(expected: &str, json: &Json) -> DataError {
    DataError::new(format!(
        "Invalid type for {expected}: {}",
        match json {
            Json::Null => "NULL",
            Json::Bool(_) => "BOOLEAN",
            Json::Number(_) => "NUMBER",
            Json::String(_) => "STRING",
            Json::Array(_) => "ARRAY",
            Json::Object(_) => "OBJECT",
        }
    ))
}

fn convert_from_json(
    config: &JsonConverterConfig,
    schema: &SchemaRef,
    json: &Json,
) -> Result<Value, DataError> {
    if json.is_null() {
        if let Some(d) = &schema.default {
            if config.replace_null_with_default {
                return Ok(d.clone());
            }
        }
        if schema.optional || schema.default.is_some() {
            return Ok(Value::Null);
        }
        return Err(DataError::new(
            "Invalid null value for required ".to_string() + schema.kind.upper_name() + " field",
        ));
    }
    let int = |json: &Json| {
        json.as_i64()
            .ok_or_else(|| mismatch(schema.kind.upper_name(), json))
    };
    Ok(match schema.kind {
        SchemaType::Boolean => {
            Value::Boolean(json.as_bool().ok_or_else(|| mismatch("BOOLEAN", json))?)
        }
        SchemaType::Int8 => Value::Int8(int(json)? as i8),
        SchemaType::Int16 => Value::Int16(int(json)? as i16),
        SchemaType::Int32 => Value::Int32(int(json)? as i32),
        SchemaType::Int64 => Value::Int64(int(json)?),
        SchemaType::Float32 => {
            Value::Float32(json.as_f64().ok_or_else(|| mismatch("FLOAT32", json))? as f32)
        }
        SchemaType::Float64 => {
            Value::Float64(json.as_f64().ok_or_else(|| mismatch("FLOAT64", json))?)
        }
        SchemaType::String => Value::String(
            json.as_str()
                .ok_or_else(|| mismatch("STRING", json))?
                .to_string(),
        ),
        SchemaType::Bytes => {
            if schema.name.as_deref() == Some(logical::DECIMAL) {
                if let Json::Number(n) = json {
                    let scale: u32 = schema
                        .parameter(logical::DECIMAL_SCALE)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    return Ok(Value::Bytes(decimal_bytes_from_number(n, scale)?));
                }
            }
            let text = json.as_str().ok_or_else(|| mismatch("BYTES", json))?;
            Value::Bytes(
                base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| DataError::new(format!("Invalid bytes field: {e}")))?,
            )
        }
        SchemaType::Array => {
            let items = json.as_array().ok_or_else(|| mismatch("ARRAY", json))?;
            let item_schema = schema
                .value_schema
                .as_ref()
                .ok_or_else(|| DataError::new("Array schema did not specify the element type"))?;
            Value::Array(
                items
                    .iter()
                    .map(|i| convert_from_json(config, item_schema, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        SchemaType::Map => {
            let (Some(ks), Some(vs)) = (&schema.key_schema, &schema.value_schema) else {
                return Err(DataError::new(
                    "Map schema did not specify the key and value types",
                ));
            };
            match json {
                // String-keyed maps are objects; others are arrays of [key, value].
                Json::Object(m) if ks.kind == SchemaType::String => Value::Map(
                    m.iter()
                        .map(|(k, v)| {
                            Ok((Value::String(k.clone()), convert_from_json(config, vs, v)?))
                        })
                        .collect::<Result<_, DataError>>()?,
                ),
                Json::Array(pairs) => Value::Map(
                    pairs
                        .iter()
                        .map(|p| match p.as_array().map(Vec::as_slice) {
                            Some([k, v]) => Ok((
                                convert_from_json(config, ks, k)?,
                                convert_from_json(config, vs, v)?,
                            )),
                            _ => Err(DataError::new(
                                "Found invalid map entry instead of array tuple",
                            )),
                        })
                        .collect::<Result<_, DataError>>()?,
                ),
                other => return Err(mismatch("MAP", other)),
            }
        }
        SchemaType::Struct => {
            let obj = json.as_object().ok_or_else(|| mismatch("STRUCT", json))?;
            let mut s = Struct::new(schema.clone());
            for field in &schema.fields {
                let v = obj.get(&field.name).unwrap_or(&Json::Null);
                s.values[field.index] = convert_from_json(config, &field.schema, v)?;
            }
            Value::Struct(s)
        }
    })
}

fn decimal_bytes_from_number(n: &Number, scale: u32) -> Result<Vec<u8>, DataError> {
    let text = n.to_string();
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let mut frac = frac_part.to_string();
    while (frac.len() as u32) < scale {
        frac.push('0');
    }
    frac.truncate(scale as usize);
    let unscaled: i128 = format!("{int_part}{frac}")
        .parse()
        .map_err(|_| DataError::new(format!("Invalid decimal value: {text}")))?;
    Ok(i128_to_min_bytes(unscaled))
}

fn i128_to_min_bytes(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    // Drop redundant sign bytes, like BigInteger.toByteArray.
    while start < 15 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

pub(super) fn decimal_to_string(bytes: &[u8], scale: u32) -> String {
    let mut buf = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        [0xffu8; 16]
    } else {
        [0u8; 16]
    };
    let n = bytes.len().min(16);
    buf[16 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    let v = i128::from_be_bytes(buf);
    if scale == 0 {
        return v.to_string();
    }
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (i, f) = padded.split_at(padded.len() - scale);
    format!("{}{i}.{f}", if neg { "-" } else { "" })
}

pub(super) fn convert_to_json(
    config: &JsonConverterConfig,
    schema: Option<&Schema>,
    value: &Value,
) -> Result<Json, DataError> {
    if value.is_null() {
        return match schema {
            None => Ok(Json::Null),
            Some(s) => {
                if let (Some(d), true) = (&s.default, config.replace_null_with_default) {
                    convert_to_json(config, Some(s), d)
                } else if s.optional || s.default.is_some() {
                    Ok(Json::Null)
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
    Ok(match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Int8(v) => Json::from(*v),
        Value::Int16(v) => Json::from(*v),
        Value::Int32(v) => Json::from(*v),
        Value::Int64(v) => Json::from(*v),
        Value::Float32(v) => Number::from_f64(f64::from(*v)).map_or(Json::Null, Json::Number),
        Value::Float64(v) => Number::from_f64(*v).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
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
                    serde_json::from_str::<Number>(&text)
                        .map(Json::Number)
                        .unwrap_or(Json::String(text))
                }
                _ => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
            }
        }
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.value_schema.as_deref());
            Json::Array(
                items
                    .iter()
                    .map(|i| convert_to_json(config, item_schema, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        Value::Map(entries) => {
            let ks = schema.and_then(|s| s.key_schema.as_deref());
            let vs = schema.and_then(|s| s.value_schema.as_deref());
            let string_keys = match ks {
                Some(k) => k.kind == SchemaType::String,
                None => entries.iter().all(|(k, _)| matches!(k, Value::String(_))),
            };
            if string_keys {
                let mut m = JsonMap::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    m.insert(key, convert_to_json(config, vs, v)?);
                }
                Json::Object(m)
            } else {
                Json::Array(
                    entries
                        .iter()
                        .map(|(k, v)| {
                            Ok(Json::Array(vec![
                                convert_to_json(config, ks, k)?,
                                convert_to_json(config, vs, v)?,
                            ]))
                        })
                        .collect::<Result<_, DataError>>()?,
                )
            }
        }
        Value::Struct(s) => {
            let mut m = JsonMap::with_capacity(s.values.len());
            for field in &s.schema.fields {
                let v = s.values.get(field.index).unwrap_or(&Value::Null);
                m.insert(
                    field.name.clone(),
                    convert_to_json(config, Some(&field.schema), v)?,
                );
            }
            Json::Object(m)
        }
    })
}

impl Value {
    /// Checks only the top-level type against a schema (containers are
    /// checked as they are converted).
    pub(super) fn validate_shallow(&self, schema: &Schema) -> Result<(), DataError> {
        if self.inferred_type() == Some(schema.kind) {
            Ok(())
        } else {
            Err(DataError::new(format!(
                "Invalid Java object for schema with type {}: {}",
                schema.kind.upper_name(),
                self.type_label()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::schemas;

    fn enveloped() -> JsonConverter {
        JsonConverter::new(JsonConverterConfig::default(), false)
    }

    #[test]
    fn schemaless_round_trip_keeps_types_and_order() {
        let c = JsonConverter::schemaless();
        let input = br#"{"b":1,"a":[true,1.5,"x",null],"m":{"k":-3}}"#;
        let sv = c.to_connect("t", Some(input)).unwrap();
        assert!(sv.schema.is_none());
        assert_eq!(sv.value.get_field("b"), Some(&Value::Int64(1)));
        let out = c.from_connect("t", None, &sv.value).unwrap().unwrap();
        assert_eq!(out, input.to_vec());
    }

    #[test]
    fn converting_into_a_reused_buffer_writes_what_from_connect_returns() {
        let schema = Schema::new(SchemaType::Struct)
            .field("host", schemas::string())
            .field("odd \"name\"", schemas::optional_string())
            .build();
        let value = Value::Struct(
            Struct::new(schema.clone())
                .with("host", "fw1".into())
                .unwrap(),
        );
        let mut buf = b"left over from the previous record".to_vec();
        for c in [enveloped(), JsonConverter::schemaless()] {
            let want = c.from_connect("t", Some(&schema), &value).unwrap();
            assert!(c
                .from_connect_into("t", Some(&schema), &value, &mut buf)
                .unwrap());
            assert_eq!(Some(&buf), want.as_ref());
            assert!(!c
                .from_connect_into("t", None, &Value::Null, &mut buf)
                .unwrap());
            assert!(buf.is_empty(), "a Kafka null leaves nothing behind");
        }
        let json: Json = serde_json::from_slice(
            &JsonConverter::schemaless()
                .from_connect("t", Some(&schema), &value)
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"host": "fw1", "odd \"name\"": null})
        );
    }

    #[test]
    fn envelope_round_trip_with_struct_and_logical_types() {
        let schema = Schema::new(SchemaType::Struct)
            .named("event")
            .field("host", schemas::string())
            .field("ts", Schema::timestamp().build())
            .field("amount", Schema::decimal(2).build())
            .field("note", schemas::optional_string())
            .build();
        let value = Value::Struct(
            Struct::new(schema.clone())
                .with("host", "fw1".into())
                .unwrap()
                .with("ts", Value::Int64(1_700_000_000_000))
                .unwrap()
                .with("amount", Value::Bytes(vec![0x30, 0x39]))
                .unwrap(),
        );
        let c = enveloped();
        let bytes = c.from_connect("t", Some(&schema), &value).unwrap().unwrap();
        let json: Json = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            json["schema"]["fields"][0],
            serde_json::json!({"type":"string","optional":false,"field":"host"})
        );
        assert_eq!(
            json["schema"]["fields"][1]["name"],
            "org.apache.kafka.connect.data.Timestamp"
        );
        assert_eq!(json["payload"]["amount"], "MDk=");
        assert_eq!(json["payload"]["note"], Json::Null);
        let back = c.to_connect("t", Some(&bytes)).unwrap();
        assert_eq!(back.value, value);
        assert_eq!(back.schema.as_deref(), Some(schema.as_ref()));
    }

    #[test]
    fn numeric_decimal_format_writes_numbers() {
        let cfg = JsonConverterConfig {
            decimal_format: DecimalFormat::Numeric,
            schemas_enable: false,
            ..Default::default()
        };
        let c = JsonConverter::new(cfg, false);
        let schema = Schema::decimal(2).build();
        let out = c
            .from_connect("t", Some(&schema), &Value::Bytes(vec![0xcf, 0xc7]))
            .unwrap()
            .unwrap();
        assert_eq!(out, b"-123.45".to_vec());
    }

    #[test]
    fn plain_json_with_schemas_enabled_gives_kafkas_hint() {
        let err = enveloped()
            .to_connect("t", Some(br#"{"a":1}"#))
            .unwrap_err();
        assert_eq!(err.message(), ENVELOPE_ERROR);
    }

    #[test]
    fn malformed_json_is_a_data_error() {
        let err = enveloped().to_connect("t", Some(b"{not json")).unwrap_err();
        assert!(err.message().starts_with(
            "Converting byte[] to Kafka Connect data failed due to serialization error"
        ));
    }

    #[test]
    fn required_null_is_rejected_and_optional_null_passes() {
        let c = enveloped();
        assert!(c
            .from_connect("t", Some(&schemas::string()), &Value::Null)
            .is_err());
        assert!(c
            .from_connect("t", Some(&schemas::optional_string()), &Value::Null)
            .is_ok());
    }

    // The tree conversion the direct writer replaced, kept as the oracle.
    fn via_tree(
        c: &JsonConverter,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<Vec<u8>, String> {
        let payload = c
            .to_json(schema, value)
            .map_err(|e| e.message().to_string())?;
        let json = if c.config.schemas_enable {
            let mut env = JsonMap::new();
            env.insert(
                "schema".to_string(),
                schema.map_or(Json::Null, |s| schema_to_json(&c.config, s)),
            );
            env.insert("payload".to_string(), payload);
            Json::Object(env)
        } else {
            payload
        };
        Ok(serde_json::to_vec(&json).unwrap())
    }

    #[test]
    fn direct_writer_matches_the_tree_conversion() {
        let inner = Schema::new(SchemaType::Struct)
            .field("n", schemas::optional_int32())
            .build();
        let mut with_default = Schema::new(SchemaType::Int32).optional();
        with_default.default = Some(Value::Int32(7));
        let with_default = with_default.build();
        let schema = Schema::new(SchemaType::Struct)
            .named("all")
            .field("s", schemas::string())
            .field("quoted", schemas::string())
            .field("b", schemas::boolean())
            .field("i8", Schema::new(SchemaType::Int8).build())
            .field("i64", schemas::int64())
            .field("f32", Schema::new(SchemaType::Float32).build())
            .field("nan", schemas::float64())
            .field("bytes", schemas::bytes())
            .field("dec", Schema::decimal(3).build())
            .field("arr", Schema::array(schemas::string()).build())
            .field(
                "map",
                Schema::map(schemas::string(), schemas::int32()).build(),
            )
            .field(
                "imap",
                Schema::map(schemas::int32(), schemas::string()).build(),
            )
            .field("inner", inner.clone())
            .field("dflt", with_default)
            .field("none", schemas::optional_string())
            .build();
        let value = Value::Struct(Struct {
            schema: schema.clone(),
            values: vec![
                "plain".into(),
                "tab\t \"quote\" \u{1} é \\".into(),
                Value::Boolean(true),
                Value::Int8(-8),
                Value::Int64(i64::MIN),
                Value::Float32(1.1),
                Value::Float64(f64::NAN),
                Value::Bytes(vec![0, 255, 7]),
                Value::Bytes(vec![0xcf, 0xc7]),
                Value::Array(vec!["a".into(), "b".into()]),
                Value::Map(vec![
                    ("k".into(), Value::Int32(1)),
                    ("j".into(), Value::Int32(2)),
                    ("k".into(), Value::Int32(3)),
                ]),
                Value::Map(vec![(Value::Int32(1), "one".into())]),
                Value::Struct(Struct {
                    schema: inner,
                    values: vec![Value::Int32(5)],
                }),
                Value::Null,
                Value::Null,
            ],
        });
        let schemaless = Value::Map(vec![
            (
                "x".into(),
                Value::Array(vec![Value::Null, Value::Float64(2.5)]),
            ),
            ("y".into(), value.clone()),
        ]);
        for decimal_format in [DecimalFormat::Base64, DecimalFormat::Numeric] {
            for schemas_enable in [true, false] {
                let c = JsonConverter::new(
                    JsonConverterConfig {
                        schemas_enable,
                        decimal_format,
                        ..Default::default()
                    },
                    false,
                );
                for (s, v) in [
                    (Some(&schema), &value),
                    (None, &value),
                    (None, &schemaless),
                    (Some(&schemas::optional_string()), &Value::Null),
                ] {
                    let direct = c.from_connect("t", s, v).unwrap().unwrap_or_default();
                    assert_eq!(
                        String::from_utf8(direct).unwrap(),
                        String::from_utf8(via_tree(&c, s, v).unwrap()).unwrap()
                    );
                }
                let err = c
                    .from_connect("t", Some(&schema), &Value::Int32(1))
                    .unwrap_err();
                assert_eq!(
                    Err(err.message().to_string()),
                    via_tree(&c, Some(&schema), &Value::Int32(1))
                );
            }
        }
    }
}
