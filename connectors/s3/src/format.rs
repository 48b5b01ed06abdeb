//! Object formats: records in, object bytes out, synchronous. A writer hands
//! out its encoded bytes as they accumulate ([`RecordWriter::take`]), so a
//! big object can leave as multipart parts while it is written; the bytes
//! are the same however they are cut, which keeps objects deterministic.

use std::io::Write as _;

use flate2::write::GzEncoder;
use flate2::Compression;
use rampart_core::converter::{Converter as _, JsonConverter};
use rampart_core::data::{SchemaRef, Value};
use rampart_core::record::SinkRecord;
use rampart_core::DataError;

use crate::config::Format;

/// Writes the records of one object.
pub trait RecordWriter: Send + Sync {
    /// Appends a record.
    fn write(&mut self, record: &SinkRecord) -> Result<(), DataError>;

    /// Encoded bytes ready to leave (not yet taken).
    fn ready(&self) -> usize;

    /// Takes the encoded bytes ready so far.
    fn take(&mut self) -> Vec<u8>;

    /// Ends the object and returns its remaining bytes.
    fn finish(self: Box<Self>) -> Result<Vec<u8>, DataError>;
}

/// A writer for one new object in `format`.
pub fn writer(format: &Format) -> Box<dyn RecordWriter> {
    match format {
        Format::Json { gzip } => Box::new(LineWriter {
            out: Sink::new(*gzip),
            kind: LineKind::Json(JsonConverter::schemaless()),
            line: Vec::new(),
        }),
        Format::ByteArray {
            gzip, separator, ..
        } => Box::new(LineWriter {
            out: Sink::new(*gzip),
            kind: LineKind::Bytes(separator.clone()),
            line: Vec::new(),
        }),
        Format::Parquet { codec } => Box::new(crate::parquet::ParquetWriter::new(*codec)),
    }
}

/// Uncompressed bytes a gzipped object holds before it gets a compressor of
/// its own. A deflate stream keeps about 0.4 MB of state, which for a
/// thousand small open objects would dwarf their data; small objects are
/// compressed in one go when they close instead. Same bytes either way.
pub const GZIP_LAZY_BYTES: usize = 1024 * 1024;

/// Plain or gzipped output bytes.
enum Sink {
    Plain(Vec<u8>),
    // Not yet compressing: the raw bytes so far.
    GzipPending(Vec<u8>),
    // flate2 writes no modification time (zero) into the gzip header, so
    // the same records always give the same bytes.
    Gzip(GzEncoder<Vec<u8>>),
}

fn gzip_error(e: std::io::Error) -> DataError {
    DataError::new(format!("gzip failed: {e}"))
}

impl Sink {
    fn new(gzip: bool) -> Self {
        if gzip {
            Sink::GzipPending(Vec::new())
        } else {
            Sink::Plain(Vec::new())
        }
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), DataError> {
        match self {
            Sink::Plain(v) => {
                v.extend_from_slice(bytes);
                Ok(())
            }
            Sink::GzipPending(raw) => {
                raw.extend_from_slice(bytes);
                if raw.len() >= GZIP_LAZY_BYTES {
                    let mut g = GzEncoder::new(Vec::new(), Compression::default());
                    g.write_all(raw).map_err(gzip_error)?;
                    *self = Sink::Gzip(g);
                }
                Ok(())
            }
            Sink::Gzip(g) => g.write_all(bytes).map_err(gzip_error),
        }
    }

    fn ready(&self) -> usize {
        match self {
            Sink::Plain(v) => v.len(),
            Sink::GzipPending(_) => 0,
            Sink::Gzip(g) => g.get_ref().len(),
        }
    }

    fn take(&mut self) -> Vec<u8> {
        match self {
            Sink::Plain(v) => std::mem::take(v),
            Sink::GzipPending(_) => Vec::new(),
            Sink::Gzip(g) => std::mem::take(g.get_mut()),
        }
    }

    fn finish(self) -> Result<Vec<u8>, DataError> {
        match self {
            Sink::Plain(v) => Ok(v),
            Sink::GzipPending(raw) => {
                let mut g =
                    GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::default());
                g.write_all(&raw).map_err(gzip_error)?;
                g.finish().map_err(gzip_error)
            }
            Sink::Gzip(g) => g.finish().map_err(gzip_error),
        }
    }
}

enum LineKind {
    Json(JsonConverter),
    Bytes(Vec<u8>),
}

/// JSON Lines (each value as the schemaless JsonConverter writes it, then a
/// newline) or ByteArray (raw bytes, then the separator).
pub struct LineWriter {
    out: Sink,
    kind: LineKind,
    // Reused for each line.
    line: Vec<u8>,
}

// Keys of a map checked for duplicates before writing it directly; longer
// maps go through the converter.
const DIRECT_MAP_KEYS: usize = 64;

/// Writes a schemaless value (what JsonConverter with schemas.enable=false
/// gives sinks: maps with string keys, arrays, scalars) as JSON, exactly as
/// the converter would, without building a serde_json tree first: the
/// converter's map path builds one, and it was half the sink's cost.
/// Returns false for anything else (bytes, structs, float32, non-finite
/// numbers, repeated keys), leaving `out` for the caller to reset.
fn write_schemaless(value: &Value, out: &mut Vec<u8>) -> bool {
    use std::io::Write as _;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // Writing into a Vec cannot fail.
        Value::Int8(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Int16(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Int32(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Int64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float64(f) if f.is_finite() => {
            if serde_json::to_writer(&mut *out, f).is_err() {
                return false;
            }
        }
        Value::String(s) => {
            if serde_json::to_writer(&mut *out, s).is_err() {
                return false;
            }
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if !write_schemaless(item, out) {
                    return false;
                }
            }
            out.push(b']');
        }
        Value::Map(entries) if entries.len() <= DIRECT_MAP_KEYS => {
            // The converter keeps a repeated key once: leave those to it.
            for (i, (k, _)) in entries.iter().enumerate() {
                let Value::String(k) = k else { return false };
                if entries[..i]
                    .iter()
                    .any(|(other, _)| matches!(other, Value::String(o) if o == k))
                {
                    return false;
                }
            }
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let Value::String(k) = k else { return false };
                if serde_json::to_writer(&mut *out, k).is_err() {
                    return false;
                }
                out.push(b':');
                if !write_schemaless(v, out) {
                    return false;
                }
            }
            out.push(b'}');
        }
        _ => return false,
    }
    true
}

impl LineWriter {
    /// A writer of the keys or headers objects: JSON Lines or ByteArray
    /// (Parquet is refused by the config).
    pub fn side(format: &Format) -> Option<LineWriter> {
        let kind = match format {
            Format::Json { gzip } => (
                Sink::new(*gzip),
                LineKind::Json(JsonConverter::schemaless()),
            ),
            Format::ByteArray {
                gzip, separator, ..
            } => (Sink::new(*gzip), LineKind::Bytes(separator.clone())),
            Format::Parquet { .. } => return None,
        };
        Some(LineWriter {
            out: kind.0,
            kind: kind.1,
            line: Vec::new(),
        })
    }

    /// Encodes one value as the next line, kept until [`LineWriter::append`]:
    /// a value that cannot be encoded is refused before anything is written.
    pub fn encode(
        &mut self,
        topic: &str,
        schema: Option<&SchemaRef>,
        value: &Value,
    ) -> Result<(), DataError> {
        self.line.clear();
        match &self.kind {
            LineKind::Json(converter) => {
                if schema.is_some() || !write_schemaless(value, &mut self.line) {
                    self.line.clear();
                    let bytes = converter
                        .from_connect(topic, schema, value)?
                        .unwrap_or_else(|| b"null".to_vec());
                    self.line.extend_from_slice(&bytes);
                }
                self.line.push(b'\n');
            }
            LineKind::Bytes(separator) => {
                let bytes: &[u8] = match value {
                    Value::Bytes(b) => b,
                    Value::String(s) => s.as_bytes(),
                    _ => {
                        return Err(DataError::new(
                            "ByteArrayFormat needs bytes or string values; use value.converter=org.apache.kafka.connect.converters.ByteArrayConverter",
                        ))
                    }
                };
                self.line.extend_from_slice(bytes);
                self.line.extend_from_slice(separator);
            }
        }
        Ok(())
    }

    /// Writes the line [`LineWriter::encode`] prepared.
    pub fn append(&mut self) -> Result<(), DataError> {
        self.out.write(&self.line)
    }

    /// The line [`LineWriter::encode`] prepared.
    pub fn line(&self) -> &[u8] {
        &self.line
    }

    /// Writes a line another writer of the same format prepared.
    pub fn append_line(&mut self, line: &[u8]) -> Result<(), DataError> {
        self.out.write(line)
    }
}

impl RecordWriter for LineWriter {
    fn write(&mut self, record: &SinkRecord) -> Result<(), DataError> {
        self.encode(&record.topic, record.value_schema.as_ref(), &record.value)?;
        self.append()
    }

    fn ready(&self) -> usize {
        self.out.ready()
    }

    fn take(&mut self) -> Vec<u8> {
        self.out.take()
    }

    fn finish(self: Box<Self>) -> Result<Vec<u8>, DataError> {
        self.out.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn record(value: Value) -> SinkRecord {
        SinkRecord {
            topic: "t".into(),
            value,
            ..Default::default()
        }
    }

    fn map(k: &str, v: Value) -> Value {
        Value::Map(vec![(Value::String(k.into()), v)])
    }

    #[test]
    fn json_lines_hold_one_value_per_line() {
        let mut w = writer(&Format::Json { gzip: false });
        w.write(&record(map("a", Value::Int64(1)))).unwrap();
        w.write(&record(Value::String("x".into()))).unwrap();
        assert_eq!(w.finish().unwrap(), b"{\"a\":1}\n\"x\"\n");
    }

    #[test]
    fn gzip_output_is_the_same_however_it_is_taken() {
        let write = |take_every: usize| {
            let mut w = writer(&Format::Json { gzip: true });
            let mut out = Vec::new();
            for i in 0..5000 {
                w.write(&record(map("n", Value::Int64(i)))).unwrap();
                if take_every > 0 && i % take_every as i64 == 0 {
                    out.extend(w.take());
                }
            }
            out.extend(w.finish().unwrap());
            out
        };
        let whole = write(0);
        assert_eq!(whole, write(7));
        // Small objects are compressed only when they close: the same bytes.
        let mut small = writer(&Format::Json { gzip: true });
        small.write(&record(map("n", Value::Int64(1)))).unwrap();
        assert_eq!(small.ready(), 0);
        let mut eager = GzEncoder::new(Vec::new(), Compression::default());
        eager.write_all(b"{\"n\":1}\n").unwrap();
        assert_eq!(small.finish().unwrap(), eager.finish().unwrap());
        let mut text = String::new();
        flate2::read::GzDecoder::new(&whole[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text.lines().count(), 5000);
        assert_eq!(text.lines().nth(42), Some("{\"n\":42}"));
    }

    #[test]
    fn schemaless_lines_are_what_the_converter_writes() {
        let json = serde_json::json!({
            "s": "quote \" backslash \\ newline \n tab \t unicode é \u{1}",
            "n": -42, "big": 9_007_199_254_740_993_i64, "f": 2.5, "whole": 1.0, "tiny": 1e-300,
            "t": true, "nil": null, "arr": [1, "two", [3.25], {"x": null}],
            "nested": {"a": {"b": {"c": []}}, "empty": {}},
        });
        let values = [
            JsonConverter::from_json_schemaless(&json),
            Value::Float64(f64::NAN),
            Value::Float32(0.1),
            Value::Bytes(b"raw".to_vec()),
            Value::Map(vec![
                (Value::String("k".into()), Value::Int32(1)),
                (Value::String("k".into()), Value::Int32(2)),
            ]),
            Value::Map(vec![(Value::Int32(1), Value::Int32(2))]),
            Value::Int16(7),
        ];
        for value in values {
            let mut w = writer(&Format::Json { gzip: false });
            w.write(&record(value.clone())).unwrap();
            let expected = JsonConverter::schemaless()
                .from_connect("t", None, &value)
                .unwrap()
                .unwrap();
            assert_eq!(
                String::from_utf8(w.finish().unwrap()).unwrap(),
                format!("{}\n", String::from_utf8(expected).unwrap()),
                "{value:?}"
            );
        }
    }

    #[test]
    fn byte_array_writes_raw_values_and_separators() {
        let mut w = writer(&Format::ByteArray {
            gzip: false,
            extension: ".bin".into(),
            separator: b"|".to_vec(),
        });
        w.write(&record(Value::Bytes(b"ab".to_vec()))).unwrap();
        w.write(&record(Value::String("c".into()))).unwrap();
        assert!(w.write(&record(Value::Int32(1))).is_err());
        assert_eq!(w.finish().unwrap(), b"ab|c|");
    }
}
