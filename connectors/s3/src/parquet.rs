//! Parquet objects. The columns come from the records: from the Connect
//! schema when the value has one (a struct), else inferred from schemaless
//! JSON objects. Rows are buffered in columns until a row group is full
//! ([`ROW_GROUP_BYTES`] of data or [`ROW_GROUP_ROWS`] rows), then encoded.
//!
//! Schema strategy: a Parquet file has one schema, so it is fixed when the
//! first row group is written, from every record buffered by then (for most
//! objects, all of them). Until then a column's type widens as values come:
//! int32 to int64 to double; any other conflict (a string and a number, a
//! boolean and a number) falls back to a string column holding each value's
//! text. Nested structs, arrays and maps are strings of JSON text. Connect
//! Timestamp and Date become Parquet TIMESTAMP(MILLIS, UTC) and DATE. Once
//! the schema is fixed, a record with a field the file has no column for, or
//! a value the column cannot hold, is refused (the dead-letter queue or a
//! failed task, per errors.tolerance), never silently changed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array, Int32Array,
    Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema as ArrowSchema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rampart_core::converter::JsonConverter;
use rampart_core::data::{logical, Schema, SchemaType, Value};
use rampart_core::record::SinkRecord;
use rampart_core::DataError;

use crate::config::ParquetCodec;
use crate::format::RecordWriter;

/// Data buffered before a row group is encoded (estimated, in bytes).
pub const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;
/// Rows buffered before a row group is encoded.
pub const ROW_GROUP_ROWS: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool,
    Int32,
    Int64,
    Float32,
    Float64,
    Utf8,
    Binary,
    TimestampMs,
    Date32,
}

impl Kind {
    /// The narrowest kind holding both.
    fn merge(self, other: Kind) -> Kind {
        use Kind::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, k) | (k, Null) => k,
            (Int32, Int64) | (Int64, Int32) => Int64,
            (Int32 | Int64 | Float32 | Float64, Float32 | Float64)
            | (Float32 | Float64, Int32 | Int64) => Float64,
            _ => Utf8,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Kind::Null | Kind::Utf8 => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Int32 => DataType::Int32,
            Kind::Int64 => DataType::Int64,
            Kind::Float32 => DataType::Float32,
            Kind::Float64 => DataType::Float64,
            Kind::Binary => DataType::Binary,
            Kind::TimestampMs => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            Kind::Date32 => DataType::Date32,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    fn size(&self) -> usize {
        match self {
            Cell::Text(s) => s.len() + 24,
            Cell::Bytes(b) => b.len() + 24,
            _ => 16,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Cell::Null => None,
            Cell::Bool(b) => Some(b.to_string()),
            Cell::Int(n) => Some(n.to_string()),
            Cell::Float(f) => Some(f.to_string()),
            Cell::Text(s) => Some(s.clone()),
            Cell::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }
}

fn json_text(schema: Option<&Schema>, value: &Value) -> Result<String, DataError> {
    let converter = JsonConverter::schemaless();
    let schema = schema.map(|s| Arc::new(s.clone()));
    Ok(converter.to_json(schema.as_ref(), value)?.to_string())
}

/// A value as a cell and its kind, from its Connect schema when it has one.
fn cell(schema: Option<&Schema>, value: &Value) -> Result<(Kind, Cell), DataError> {
    let logical_name = schema.and_then(|s| s.logical_name());
    Ok(match value {
        Value::Null => (Kind::Null, Cell::Null),
        Value::Boolean(b) => (Kind::Bool, Cell::Bool(*b)),
        Value::Int8(n) => (Kind::Int32, Cell::Int(i64::from(*n))),
        Value::Int16(n) => (Kind::Int32, Cell::Int(i64::from(*n))),
        Value::Int32(n) if logical_name == Some(logical::DATE) => {
            (Kind::Date32, Cell::Int(i64::from(*n)))
        }
        Value::Int32(n) => (Kind::Int32, Cell::Int(i64::from(*n))),
        Value::Int64(n) if logical_name == Some(logical::TIMESTAMP) => {
            (Kind::TimestampMs, Cell::Int(*n))
        }
        Value::Int64(n) => (Kind::Int64, Cell::Int(*n)),
        Value::Float32(f) => (Kind::Float32, Cell::Float(f64::from(*f))),
        Value::Float64(f) => (Kind::Float64, Cell::Float(*f)),
        Value::String(s) => (Kind::Utf8, Cell::Text(s.clone())),
        Value::Bytes(_) if logical_name == Some(logical::DECIMAL) => (
            Kind::Utf8,
            Cell::Text(json_text(schema, value)?.trim_matches('"').to_string()),
        ),
        Value::Bytes(b) => (Kind::Binary, Cell::Bytes(b.clone())),
        Value::Array(_) | Value::Map(_) | Value::Struct(_) => {
            (Kind::Utf8, Cell::Text(json_text(schema, value)?))
        }
    })
}

/// A record's fields as (name, kind, cell), in field order.
fn row(record: &SinkRecord) -> Result<Vec<(String, Kind, Cell)>, DataError> {
    match &record.value {
        Value::Struct(s) => s
            .schema
            .fields
            .iter()
            .zip(&s.values)
            .map(|(f, v)| {
                let (mut kind, c) = cell(Some(&f.schema), v)?;
                // A typed null still tells the column's type.
                if kind == Kind::Null {
                    kind = schema_kind(&f.schema);
                }
                Ok((f.name.clone(), kind, c))
            })
            .collect(),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                let Value::String(name) = k else {
                    return Err(DataError::new(
                        "ParquetFormat needs string keys in schemaless values",
                    ));
                };
                let (kind, c) = cell(None, v)?;
                Ok((name.clone(), kind, c))
            })
            .collect(),
        _ => Err(DataError::new(
            "ParquetFormat needs struct values or JSON objects; use a converter that gives them (e.g. JsonConverter)",
        )),
    }
}

fn schema_kind(schema: &Schema) -> Kind {
    match (schema.kind, schema.logical_name()) {
        (SchemaType::Boolean, _) => Kind::Bool,
        (SchemaType::Int32, Some(logical::DATE)) => Kind::Date32,
        (SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32, _) => Kind::Int32,
        (SchemaType::Int64, Some(logical::TIMESTAMP)) => Kind::TimestampMs,
        (SchemaType::Int64, _) => Kind::Int64,
        (SchemaType::Float32, _) => Kind::Float32,
        (SchemaType::Float64, _) => Kind::Float64,
        (SchemaType::Bytes, Some(logical::DECIMAL)) => Kind::Utf8,
        (SchemaType::Bytes, _) => Kind::Binary,
        _ => Kind::Utf8,
    }
}

struct Column {
    name: String,
    kind: Kind,
    cells: Vec<Cell>,
}

/// Builds one Parquet object.
pub struct ParquetWriter {
    codec: ParquetCodec,
    columns: Vec<Column>,
    index: HashMap<String, usize>,
    rows: usize,
    bytes: usize,
    // Set once the first row group is written: the schema is then fixed.
    // In a mutex only because tasks must be Sync and ArrowWriter is not;
    // it is only ever reached through `&mut self`.
    writer: Option<Mutex<ArrowWriter<Vec<u8>>>>,
}

impl ParquetWriter {
    /// An empty object.
    pub fn new(codec: ParquetCodec) -> Self {
        ParquetWriter {
            codec,
            columns: Vec::new(),
            index: HashMap::new(),
            rows: 0,
            bytes: 0,
            writer: None,
        }
    }

    fn schema(&self) -> Arc<ArrowSchema> {
        Arc::new(ArrowSchema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.kind.data_type(), true))
                .collect::<Vec<_>>(),
        ))
    }

    fn batch(&mut self, schema: Arc<ArrowSchema>) -> Result<RecordBatch, DataError> {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| {
                let cells = std::mem::take(&mut c.cells);
                let int = |cell: &Cell| match cell {
                    Cell::Int(n) => Some(*n),
                    _ => None,
                };
                let float = |cell: &Cell| match cell {
                    Cell::Float(f) => Some(*f),
                    Cell::Int(n) => Some(*n as f64),
                    _ => None,
                };
                let array: ArrayRef = match c.kind {
                    Kind::Bool => Arc::new(BooleanArray::from(
                        cells
                            .iter()
                            .map(|x| match x {
                                Cell::Bool(b) => Some(*b),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )),
                    Kind::Int32 => Arc::new(Int32Array::from(
                        cells
                            .iter()
                            .map(|x| int(x).map(|n| n as i32))
                            .collect::<Vec<_>>(),
                    )),
                    Kind::Date32 => Arc::new(Date32Array::from(
                        cells
                            .iter()
                            .map(|x| int(x).map(|n| n as i32))
                            .collect::<Vec<_>>(),
                    )),
                    Kind::Int64 => {
                        Arc::new(Int64Array::from(cells.iter().map(int).collect::<Vec<_>>()))
                    }
                    Kind::TimestampMs => Arc::new(
                        TimestampMillisecondArray::from(cells.iter().map(int).collect::<Vec<_>>())
                            .with_timezone("UTC"),
                    ),
                    Kind::Float32 => Arc::new(Float32Array::from(
                        cells
                            .iter()
                            .map(|x| float(x).map(|f| f as f32))
                            .collect::<Vec<_>>(),
                    )),
                    Kind::Float64 => Arc::new(Float64Array::from(
                        cells.iter().map(float).collect::<Vec<_>>(),
                    )),
                    Kind::Binary => Arc::new(BinaryArray::from(
                        cells
                            .iter()
                            .map(|x| match x {
                                Cell::Bytes(b) => Some(b.as_slice()),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )),
                    Kind::Null | Kind::Utf8 => Arc::new(StringArray::from(
                        cells.iter().map(Cell::text).collect::<Vec<_>>(),
                    )),
                };
                array
            })
            .collect();
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(schema, arrays)
            .map_err(|e| DataError::new(format!("parquet row group failed: {e}")))
    }

    fn flush_row_group(&mut self) -> Result<(), DataError> {
        if self.rows == 0 {
            return Ok(());
        }
        let schema = self.schema();
        if self.writer.is_none() {
            let props = WriterProperties::builder()
                .set_compression(match self.codec {
                    ParquetCodec::None => Compression::UNCOMPRESSED,
                    ParquetCodec::Snappy => Compression::SNAPPY,
                    ParquetCodec::Gzip => Compression::GZIP(GzipLevel::default()),
                    ParquetCodec::Zstd => Compression::ZSTD(ZstdLevel::default()),
                })
                .set_max_row_group_size(ROW_GROUP_ROWS)
                .build();
            self.writer = Some(Mutex::new(
                ArrowWriter::try_new(Vec::new(), Arc::clone(&schema), Some(props))
                    .map_err(|e| DataError::new(format!("parquet writer failed: {e}")))?,
            ));
        }
        let batch = self.batch(schema)?;
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| DataError::new("parquet writer missing"))?
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        writer
            .write(&batch)
            .and_then(|_| writer.flush())
            .map_err(|e| DataError::new(format!("parquet row group failed: {e}")))
    }
}

impl RecordWriter for ParquetWriter {
    fn write(&mut self, record: &SinkRecord) -> Result<(), DataError> {
        let fields = row(record)?;
        if self.writer.is_some() {
            // The schema is fixed: check everything before changing anything.
            for (name, kind, _) in &fields {
                match self.index.get(name) {
                    Some(i) if self.columns[*i].kind.merge(*kind) == self.columns[*i].kind => {}
                    Some(i) if self.columns[*i].kind == Kind::Utf8 => {}
                    Some(i) => {
                        return Err(DataError::new(format!(
                            "field {name} is {kind:?} but the Parquet object's column is {:?}, fixed by its first row group",
                            self.columns[*i].kind
                        )))
                    }
                    None => {
                        return Err(DataError::new(format!(
                            "field {name} is not in the Parquet object's schema, fixed by its first row group"
                        )))
                    }
                }
            }
        }
        for (name, kind, c) in fields {
            let i = match self.index.get(&name) {
                Some(i) => *i,
                None => {
                    self.columns.push(Column {
                        name: name.clone(),
                        kind: Kind::Null,
                        cells: vec![Cell::Null; self.rows],
                    });
                    self.index.insert(name, self.columns.len() - 1);
                    self.columns.len() - 1
                }
            };
            let column = &mut self.columns[i];
            if self.writer.is_none() {
                column.kind = column.kind.merge(kind);
            }
            self.bytes += c.size();
            if column.cells.len() > self.rows {
                // A key repeated in a map: the last value wins.
                if let Some(last) = column.cells.last_mut() {
                    *last = c;
                }
            } else {
                column.cells.push(c);
            }
        }
        self.rows += 1;
        for column in &mut self.columns {
            if column.cells.len() < self.rows {
                column.cells.push(Cell::Null);
            }
        }
        if self.bytes >= ROW_GROUP_BYTES || self.rows >= ROW_GROUP_ROWS {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn ready(&self) -> usize {
        self.writer.as_ref().map_or(0, |w| {
            w.lock().unwrap_or_else(|e| e.into_inner()).inner().len()
        })
    }

    fn take(&mut self) -> Vec<u8> {
        self.writer
            .as_mut()
            .map(|w| std::mem::take(w.get_mut().unwrap_or_else(|e| e.into_inner()).inner_mut()))
            .unwrap_or_default()
    }

    fn finish(mut self: Box<Self>) -> Result<Vec<u8>, DataError> {
        self.flush_row_group()?;
        match self.writer.take() {
            Some(w) => w
                .into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .into_inner()
                .map_err(|e| DataError::new(format!("parquet footer failed: {e}"))),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;
    use bytes::Bytes;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use rampart_core::data::{schemas, Struct};

    use super::*;

    fn map(pairs: Vec<(&str, Value)>) -> SinkRecord {
        SinkRecord {
            value: Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| (Value::String(k.into()), v))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    fn read(bytes: Vec<u8>) -> RecordBatch {
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1, "one batch expected in tests");
        batches[0].clone()
    }

    #[test]
    fn schemaless_json_widens_and_falls_back_to_strings() {
        let mut w: Box<dyn RecordWriter> = Box::new(ParquetWriter::new(ParquetCodec::Zstd));
        w.write(&map(vec![
            ("n", Value::Int64(1)),
            ("x", Value::Int64(1)),
            ("s", Value::String("a".into())),
        ]))
        .unwrap();
        w.write(&map(vec![
            ("n", Value::Float64(2.5)),
            ("x", Value::String("b".into())),
            ("late", Value::Boolean(true)),
        ]))
        .unwrap();
        let batch = read(w.finish().unwrap());
        let schema = batch.schema();
        assert_eq!(
            schema.field_with_name("n").unwrap().data_type(),
            &DataType::Float64
        );
        assert_eq!(
            schema.field_with_name("x").unwrap().data_type(),
            &DataType::Utf8
        );
        assert_eq!(
            schema.field_with_name("late").unwrap().data_type(),
            &DataType::Boolean
        );
        let n = batch
            .column_by_name("n")
            .unwrap()
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!((n.value(0), n.value(1)), (1.0, 2.5));
        let x = batch
            .column_by_name("x")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!((x.value(0), x.value(1)), ("1", "b"));
        let late = batch.column_by_name("late").unwrap();
        assert!(late.is_null(0));
        assert_eq!(batch.num_rows(), 2);
    }

    #[test]
    fn connect_schemas_give_typed_columns_and_timestamps() {
        let schema = Schema::new(SchemaType::Struct)
            .field("at", Schema::timestamp().build())
            .field("code", schemas::int32())
            .field("tags", Schema::array(schemas::string()).build())
            .build();
        let value = Value::Struct(Struct {
            schema: Arc::clone(&schema),
            values: vec![
                Value::Int64(1_795_687_200_000),
                Value::Int32(7),
                Value::Array(vec![Value::String("a".into())]),
            ],
        });
        let record = SinkRecord {
            value_schema: Some(schema),
            value,
            ..Default::default()
        };
        let mut w: Box<dyn RecordWriter> = Box::new(ParquetWriter::new(ParquetCodec::Snappy));
        w.write(&record).unwrap();
        let batch = read(w.finish().unwrap());
        let at = batch.column_by_name("at").unwrap();
        assert_eq!(
            at.data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        let at = at
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        assert_eq!(at.value(0), 1_795_687_200_000);
        let tags = batch
            .column_by_name("tags")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(tags.value(0), "[\"a\"]");
        assert_eq!(
            batch.column_by_name("code").unwrap().data_type(),
            &DataType::Int32
        );
    }

    #[test]
    fn after_the_first_row_group_misfits_are_refused() {
        let mut w = ParquetWriter::new(ParquetCodec::None);
        let big = "x".repeat(1000);
        let mut n = 0;
        while w.writer.is_none() {
            w.write(&map(vec![
                ("n", Value::Int64(n)),
                ("s", Value::String(big.clone())),
            ]))
            .unwrap();
            n += 1;
        }
        assert!(w.ready() > 0);
        let e = w.write(&map(vec![("other", Value::Int64(1))])).unwrap_err();
        assert!(
            e.message().contains("not in the Parquet object's schema"),
            "{e}"
        );
        let e = w
            .write(&map(vec![("n", Value::String("s".into()))]))
            .unwrap_err();
        assert!(e.message().contains("fixed by its first row group"), "{e}");
        // A refused record changed nothing; the object still reads back whole.
        w.write(&map(vec![
            ("n", Value::Int64(n)),
            ("s", Value::String("last".into())),
        ]))
        .unwrap();
        let mut bytes = w.take();
        bytes.extend(Box::new(w).finish().unwrap());
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows as i64, n + 1);
    }

    #[test]
    fn non_object_values_are_refused() {
        let mut w = ParquetWriter::new(ParquetCodec::None);
        let r = SinkRecord {
            value: Value::String("plain".into()),
            ..Default::default()
        };
        assert!(w.write(&r).is_err());
    }
}
