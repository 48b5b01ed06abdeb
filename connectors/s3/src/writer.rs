//! The objects of one Kafka partition: which object each record goes to,
//! when objects rotate, and which offset is safe to commit. Synchronous and,
//! but for the Wallclock extractor and scheduled rotation, a pure function of
//! the records: re-consuming from a committed offset rebuilds the same
//! objects with the same names and bytes, which is what makes re-uploads
//! after a crash harmless (exactly-once objects).
//!
//! As in Confluent's `TopicPartitionWriter`, every open object of a
//! partition is closed together on rotation, so a committed offset is always
//! the start of a batch and a restart resumes on a batch boundary.

use std::collections::BTreeMap;
use std::sync::Arc;

use rampart_core::data::{SchemaRef, Value};
use rampart_core::record::{SinkRecord, TopicPartition};
use rampart_core::DataError;

use crate::config::{Format, S3Config};
use crate::format::{self, LineWriter, RecordWriter};
use crate::partition::next_scheduled;

/// What leaves a writer for the bucket.
pub enum Output {
    /// A whole object: one PUT.
    Object {
        /// The batch it belongs to.
        batch: u64,
        /// The object key.
        key: String,
        /// The bytes.
        body: Vec<u8>,
    },
    /// The next part of a multipart object (at least the part size).
    Part {
        /// The batch it belongs to.
        batch: u64,
        /// The object key.
        key: String,
        /// The bytes.
        body: Vec<u8>,
    },
    /// The last part of a multipart object, possibly empty: complete it.
    Last {
        /// The object key.
        key: String,
        /// The bytes.
        body: Vec<u8>,
    },
}

/// A closed batch: its objects are (being) uploaded, and its offsets become
/// committable once all of them are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// Batch number, increasing per partition.
    pub batch: u64,
    /// Offset of its first record.
    pub start: i64,
    /// Objects in it.
    pub objects: usize,
}

struct OpenObject {
    key: String,
    writer: Box<dyn RecordWriter>,
    // Whether parts of it already left (it is then a multipart upload).
    multipart: bool,
    // Its keys and headers objects, in the order of `PartitionWriter::views`.
    sides: Vec<SideObject>,
}

struct SideObject {
    key: String,
    writer: LineWriter,
    multipart: bool,
}

/// What a keys or headers object holds of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Keys,
    Headers,
}

impl View {
    fn name(self) -> &'static str {
        match self {
            View::Keys => "keys",
            View::Headers => "headers",
        }
    }

    /// The record's key or headers, or why the record cannot be written:
    /// as Confluent's `KeyValueHeaderRecordWriterProvider`, a null key or
    /// no headers fail the record before anything of it is written, so the
    /// three objects stay in step.
    fn value<'a>(
        self,
        record: &'a SinkRecord,
        offset: i64,
    ) -> Result<(Option<&'a SchemaRef>, std::borrow::Cow<'a, Value>), DataError> {
        let at = || {
            format!(
                "{}-{}@{offset}",
                record.topic,
                record.partition.unwrap_or(-1)
            )
        };
        match self {
            View::Keys if record.key.is_null() => Err(DataError::new(format!(
                "key cannot be null for sink record {} with store.kafka.keys=true",
                at()
            ))),
            View::Keys => Ok((
                record.key_schema.as_ref(),
                std::borrow::Cow::Borrowed(&record.key),
            )),
            View::Headers if record.headers.is_empty() => Err(DataError::new(format!(
                "headers cannot be null or empty for sink record {} with store.kafka.headers=true",
                at()
            ))),
            View::Headers => Ok((
                None,
                std::borrow::Cow::Owned(Value::Array(
                    record
                        .headers
                        .iter()
                        .map(|h| {
                            Value::Map(vec![
                                (Value::String("key".into()), Value::String(h.key.clone())),
                                (Value::String("value".into()), h.value.clone()),
                            ])
                        })
                        .collect(),
                )),
            )),
        }
    }
}

/// The open objects and rotation state of one Kafka partition.
pub struct PartitionWriter {
    tp: TopicPartition,
    config: Arc<S3Config>,
    // Keyed by (directory topic, encoded partition): a BTreeMap so objects
    // close in a stable order.
    open: BTreeMap<(String, String), OpenObject>,
    batch: u64,
    start: Option<i64>,
    count: usize,
    base_time: i64,
    current: Option<(String, String)>,
    next_rotation: Option<i64>,
    // Encoders of the keys and headers lines: a record's lines are encoded
    // here before any of its objects is written.
    views: Vec<(View, Format, LineWriter)>,
}

impl PartitionWriter {
    /// A writer with nothing open; `first_batch` numbers its first batch.
    pub fn new(tp: TopicPartition, config: Arc<S3Config>, first_batch: u64) -> Self {
        PartitionWriter {
            tp,
            open: BTreeMap::new(),
            batch: first_batch,
            start: None,
            count: 0,
            base_time: 0,
            current: None,
            next_rotation: None,
            views: [(View::Keys, &config.keys), (View::Headers, &config.headers)]
                .into_iter()
                .filter_map(|(view, format)| {
                    let format = format.clone()?;
                    let encoder = LineWriter::side(&format)?;
                    Some((view, format, encoder))
                })
                .collect(),
            config,
        }
    }

    /// Offset of the first record not yet in a closed batch.
    pub fn open_start(&self) -> Option<i64> {
        self.start
    }

    /// Encoded bytes held by the open objects, not yet sent.
    pub fn ready(&self) -> usize {
        self.open
            .values()
            .map(|o| o.writer.ready() + o.sides.iter().map(|s| s.writer.ready()).sum::<usize>())
            .sum()
    }

    /// Sends as a part every open object holding at least `min` ready
    /// bytes, ahead of `s3.part.size`; returns the bytes sent. Part
    /// boundaries do not change an object's bytes, so this keeps objects
    /// deterministic.
    pub fn spill(&mut self, min: usize, out: &mut Vec<Output>) -> usize {
        let mut sent = 0;
        for object in self.open.values_mut() {
            if object.writer.ready() >= min {
                object.multipart = true;
                let body = object.writer.take();
                sent += body.len();
                out.push(Output::Part {
                    batch: self.batch,
                    key: object.key.clone(),
                    body,
                });
            }
            for side in &mut object.sides {
                if side.writer.ready() >= min {
                    side.multipart = true;
                    let body = side.writer.take();
                    sent += body.len();
                    out.push(Output::Part {
                        batch: self.batch,
                        key: side.key.clone(),
                        body,
                    });
                }
            }
        }
        sent
    }

    /// Writes a record, sending closed batches to `closed` and object bytes
    /// to `out`. A record that cannot be written is refused before any
    /// state changes, so it can go to the dead-letter queue.
    pub fn write(
        &mut self,
        record: &SinkRecord,
        offset: i64,
        now: i64,
        out: &mut Vec<Output>,
        closed: &mut Vec<Closed>,
    ) -> Result<(), DataError> {
        let c = &self.config;
        let time = if c.partitioner.is_time_based() || c.rotate_interval_ms.is_some() {
            c.extractor.extract(record, now)?
        } else {
            now
        };
        let encoded = c
            .partitioner
            .encode(record, time, c.timezone, &c.naming.directory_delim)?;
        let key = (record.topic.clone(), encoded);
        for (view, _, encoder) in &mut self.views {
            let (schema, value) = view.value(record, offset)?;
            encoder.encode(&record.topic, schema, &value)?;
        }
        if self.count > 0 {
            let by_time = c.rotate_interval_ms.is_some_and(|interval| {
                time - self.base_time >= interval || self.current.as_ref() != Some(&key)
            });
            let by_schedule = self.next_rotation.is_some_and(|at| now >= at);
            if by_time || by_schedule {
                self.rotate(out, closed)?;
            }
        }
        if self.count == 0 {
            self.start = Some(offset);
            self.base_time = time;
            self.next_rotation = self
                .config
                .rotate_schedule_ms
                .map(|interval| next_scheduled(now, interval, self.config.timezone));
        }
        let object = match self.open.entry(key.clone()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let naming = &self.config.naming;
                let data_key =
                    naming.key(&key.0, &key.1, &self.tp.topic, self.tp.partition, offset);
                let sides = self
                    .views
                    .iter()
                    .filter_map(|(view, format, _)| {
                        Some(SideObject {
                            key: naming.side_key(&data_key, view.name(), format),
                            writer: LineWriter::side(format)?,
                            multipart: false,
                        })
                    })
                    .collect();
                e.insert(OpenObject {
                    key: data_key,
                    writer: format::writer(&self.config.format),
                    multipart: false,
                    sides,
                })
            }
        };
        object.writer.write(record)?;
        if object.writer.ready() >= self.config.part_size {
            object.multipart = true;
            out.push(Output::Part {
                batch: self.batch,
                key: object.key.clone(),
                body: object.writer.take(),
            });
        }
        // The value is in: its key and headers lines, encoded above, follow.
        for (side, (_, _, encoder)) in object.sides.iter_mut().zip(&self.views) {
            side.writer.append_line(encoder.line())?;
            if side.writer.ready() >= self.config.part_size {
                side.multipart = true;
                out.push(Output::Part {
                    batch: self.batch,
                    key: side.key.clone(),
                    body: side.writer.take(),
                });
            }
        }
        self.current = Some(key);
        self.count += 1;
        if self.count >= self.config.flush_size {
            self.rotate(out, closed)?;
        }
        Ok(())
    }

    /// Closes the open objects when the wall-clock rotation is due.
    pub fn tick(
        &mut self,
        now: i64,
        out: &mut Vec<Output>,
        closed: &mut Vec<Closed>,
    ) -> Result<(), DataError> {
        if self.count > 0 && self.next_rotation.is_some_and(|at| now >= at) {
            self.rotate(out, closed)?;
        }
        Ok(())
    }

    fn rotate(&mut self, out: &mut Vec<Output>, closed: &mut Vec<Closed>) -> Result<(), DataError> {
        let objects = self.open.values().map(|o| 1 + o.sides.len()).sum();
        let batch = self.batch;
        let emit = |key: String, body: Vec<u8>, multipart: bool| {
            if multipart {
                Output::Last { key, body }
            } else {
                Output::Object { batch, key, body }
            }
        };
        for (_, object) in std::mem::take(&mut self.open) {
            let body = object.writer.finish()?;
            out.push(emit(object.key, body, object.multipart));
            for side in object.sides {
                let body = Box::new(side.writer).finish()?;
                out.push(emit(side.key, body, side.multipart));
            }
        }
        if let Some(start) = self.start.take() {
            closed.push(Closed {
                batch: self.batch,
                start,
                objects,
            });
        }
        self.batch += 1;
        self.count = 0;
        self.current = None;
        self.next_rotation = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::connector::Config;
    use rampart_core::data::Value;
    use rampart_core::record::KafkaPosition;

    fn config(extra: &[(&str, &str)]) -> Arc<S3Config> {
        let mut c: Config = [
            ("s3.bucket.name", "bucket"),
            ("storage.class", "io.confluent.connect.s3.storage.S3Storage"),
            (
                "format.class",
                "io.confluent.connect.s3.format.json.JsonFormat",
            ),
            ("flush.size", "3"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in extra {
            c.insert(k.to_string(), v.to_string());
        }
        Arc::new(S3Config::parse(&c).unwrap())
    }

    fn record(offset: i64, ts: i64, region: &str) -> SinkRecord {
        SinkRecord {
            topic: "logs".into(),
            partition: Some(0),
            value: Value::Map(vec![
                (Value::String("n".into()), Value::Int64(offset)),
                (Value::String("region".into()), Value::String(region.into())),
            ]),
            timestamp: Some(ts),
            kafka: Some(KafkaPosition {
                tp: TopicPartition::new("logs", 0),
                offset,
            }),
            ..Default::default()
        }
    }

    struct Run {
        objects: Vec<(String, String)>,
        closed: Vec<Closed>,
        open_start: Option<i64>,
    }

    fn run(config: Arc<S3Config>, records: &[SinkRecord], now: i64) -> Run {
        let mut w = PartitionWriter::new(TopicPartition::new("logs", 0), config, 0);
        let (mut out, mut closed) = (Vec::new(), Vec::new());
        for r in records {
            let offset = r.kafka_offset().unwrap();
            w.write(r, offset, now, &mut out, &mut closed).unwrap();
        }
        let objects = out
            .into_iter()
            .map(|o| match o {
                Output::Object { key, body, .. } => (key, String::from_utf8(body).unwrap()),
                _ => panic!("no multipart expected"),
            })
            .collect();
        Run {
            objects,
            closed,
            open_start: w.open_start(),
        }
    }

    #[test]
    fn flush_size_rotates_with_deterministic_names() {
        let records: Vec<_> = (0..7).map(|i| record(i, 0, "eu")).collect();
        let r = run(config(&[]), &records, 0);
        let keys: Vec<_> = r.objects.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "topics/logs/partition=0/logs+0+0000000000.json",
                "topics/logs/partition=0/logs+0+0000000003.json",
            ]
        );
        assert_eq!(r.objects[1].1, "{\"n\":3,\"region\":\"eu\"}\n{\"n\":4,\"region\":\"eu\"}\n{\"n\":5,\"region\":\"eu\"}\n");
        assert_eq!(r.closed.iter().map(|c| c.start).collect::<Vec<_>>(), [0, 3]);
        assert_eq!(r.open_start, Some(6));
    }

    #[test]
    fn a_restart_from_the_committed_offset_rebuilds_the_same_objects() {
        let c = config(&[
            (
                "partitioner.class",
                "io.confluent.connect.storage.partitioner.FieldPartitioner",
            ),
            ("partition.field.name", "region"),
            ("flush.size", "4"),
        ]);
        let records: Vec<_> = (0..12)
            .map(|i| record(i, 0, if i % 3 == 0 { "us" } else { "eu" }))
            .collect();
        let first = run(Arc::clone(&c), &records, 0);
        // Crash after the first batch was committed at offset 4: re-run from there.
        let again = run(c, &records[4..], 99);
        assert_eq!(first.objects[2..], again.objects[..]);
        assert_eq!(
            first.objects[0].0,
            "topics/logs/region=eu/logs+0+0000000001.json"
        );
        assert_eq!(
            first.objects[1].0,
            "topics/logs/region=us/logs+0+0000000000.json"
        );
    }

    #[test]
    fn record_time_rotation_closes_on_interval_and_on_partition_change() {
        let c = config(&[
            ("flush.size", "100"),
            ("rotate.interval.ms", "1000"),
            ("timestamp.extractor", "Record"),
        ]);
        let ts = [0, 400, 999, 1000, 1500, 2100];
        let records: Vec<_> = ts
            .iter()
            .enumerate()
            .map(|(i, t)| record(i as i64, *t, "eu"))
            .collect();
        let r = run(c, &records, 0);
        assert_eq!(r.closed.iter().map(|c| c.start).collect::<Vec<_>>(), [0, 3]);
        assert_eq!(r.open_start, Some(5));

        let hourly = config(&[
            ("flush.size", "100"),
            ("rotate.interval.ms", "7200000"),
            ("timestamp.extractor", "Record"),
            (
                "partitioner.class",
                "io.confluent.connect.storage.partitioner.HourlyPartitioner",
            ),
            ("locale", "en-US"),
            ("timezone", "UTC"),
        ]);
        let hour = 1_795_687_200_000;
        let records = [
            record(0, hour - 1, "eu"),
            record(1, hour, "eu"),
            record(2, hour + 5, "eu"),
        ];
        let r = run(hourly, &records, 0);
        assert_eq!(r.objects.len(), 1);
        assert_eq!(
            r.objects[0].0,
            "topics/logs/year=2026/month=11/day=26/hour=09/logs+0+0000000000.json"
        );
        assert_eq!(r.open_start, Some(1));
    }

    #[test]
    fn scheduled_rotation_closes_on_the_wall_clock() {
        let c = config(&[
            ("flush.size", "100"),
            ("rotate.schedule.interval.ms", "1000"),
        ]);
        let mut w = PartitionWriter::new(TopicPartition::new("logs", 0), c, 0);
        let (mut out, mut closed) = (Vec::new(), Vec::new());
        w.write(&record(0, 0, "eu"), 0, 10_500, &mut out, &mut closed)
            .unwrap();
        w.tick(10_999, &mut out, &mut closed).unwrap();
        assert!(closed.is_empty());
        w.tick(11_000, &mut out, &mut closed).unwrap();
        assert_eq!(
            closed,
            [Closed {
                batch: 0,
                start: 0,
                objects: 1
            }]
        );
        assert_eq!(w.open_start(), None);
    }

    #[test]
    fn big_objects_leave_in_parts_with_the_same_bytes() {
        let c = config(&[("flush.size", "100000"), ("s3.part.size", "5242880")]);
        let mut w = PartitionWriter::new(TopicPartition::new("logs", 0), c, 0);
        let (mut out, mut closed) = (Vec::new(), Vec::new());
        let mut expected = Vec::new();
        for i in 0..100_000 {
            let r = record(
                i,
                0,
                "some region name to make the line longer than fifty bytes",
            );
            expected.extend(
                JsonConverter::schemaless()
                    .from_connect("logs", None, &r.value)
                    .unwrap()
                    .unwrap(),
            );
            expected.push(b'\n');
            w.write(&r, i, 0, &mut out, &mut closed).unwrap();
        }
        let mut body = Vec::new();
        let mut parts = 0;
        for o in out {
            match o {
                Output::Part { body: b, .. } => {
                    assert!(b.len() >= 5 * 1024 * 1024);
                    parts += 1;
                    body.extend(b);
                }
                Output::Last { body: b, .. } => body.extend(b),
                Output::Object { .. } => panic!("a big object is multipart"),
            }
        }
        assert!(parts >= 1);
        assert_eq!(body, expected);
    }

    use rampart_core::converter::{Converter as _, JsonConverter};

    #[test]
    fn spilling_sends_only_objects_holding_a_minimum_part() {
        let c = config(&[
            ("flush.size", "1000000"),
            (
                "partitioner.class",
                "io.confluent.connect.storage.partitioner.FieldPartitioner",
            ),
            ("partition.field.name", "region"),
        ]);
        let mut w = PartitionWriter::new(TopicPartition::new("logs", 0), c, 0);
        let (mut out, mut closed) = (Vec::new(), Vec::new());
        for i in 0..1000 {
            let region = if i < 10 { "small" } else { "big" };
            w.write(&record(i, 0, region), i, 0, &mut out, &mut closed)
                .unwrap();
        }
        let ready = w.ready();
        assert!(out.is_empty());
        assert_eq!(w.spill(1_000_000, &mut out), 0);
        let sent = w.spill(1000, &mut out);
        assert!(
            sent > 1000 && sent < ready,
            "only the big object leaves: {sent} of {ready}"
        );
        assert!(matches!(&out[..], [Output::Part { key, .. }] if key.contains("region=big")));
    }

    fn keyed(offset: i64, key: Value, headers: &[(&str, Value)]) -> SinkRecord {
        let mut r = record(offset, 0, "eu");
        r.key = key;
        for (k, v) in headers {
            r.headers.add(*k, None, v.clone());
        }
        r
    }

    #[test]
    fn keys_and_headers_objects_follow_their_data_objects_through_rotation() {
        let c = config(&[
            ("store.kafka.keys", "true"),
            ("store.kafka.headers", "true"),
        ]);
        let records: Vec<_> = (0..7)
            .map(|i| {
                keyed(
                    i,
                    Value::String(format!("k{i}")),
                    &[
                        ("trace", Value::String(format!("t{i}"))),
                        ("n", Value::Int32(i as i32)),
                    ],
                )
            })
            .collect();
        let r = run(c, &records, 0);
        let names: Vec<_> = r.objects.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "topics/logs/partition=0/logs+0+0000000000.json",
                "topics/logs/partition=0/logs+0+0000000000.keys.json",
                "topics/logs/partition=0/logs+0+0000000000.headers.json",
                "topics/logs/partition=0/logs+0+0000000003.json",
                "topics/logs/partition=0/logs+0+0000000003.keys.json",
                "topics/logs/partition=0/logs+0+0000000003.headers.json",
            ]
        );
        assert_eq!(r.objects[4].1, "\"k3\"\n\"k4\"\n\"k5\"\n");
        assert_eq!(
            r.objects[5].1.lines().next(),
            Some(r#"[{"key":"trace","value":"t3"},{"key":"n","value":3}]"#)
        );
        assert_eq!(r.objects[5].1.lines().count(), 3);
        assert_eq!(
            r.closed,
            [
                Closed {
                    batch: 0,
                    start: 0,
                    objects: 3
                },
                Closed {
                    batch: 1,
                    start: 3,
                    objects: 3
                },
            ]
        );
        assert_eq!(r.open_start, Some(6));
    }

    #[test]
    fn byte_array_keys_and_gzip_name_their_objects_by_their_own_format() {
        let c = config(&[
            ("store.kafka.keys", "true"),
            (
                "keys.format.class",
                "io.confluent.connect.s3.format.bytearray.ByteArrayFormat",
            ),
            ("flush.size", "2"),
        ]);
        let records = [
            keyed(0, Value::Bytes(b"a".to_vec()), &[]),
            keyed(1, Value::String("b".into()), &[]),
        ];
        let r = run(c, &records, 0);
        assert_eq!(
            r.objects[1].0,
            "topics/logs/partition=0/logs+0+0000000000.keys.bin"
        );
        assert_eq!(r.objects[1].1, "a\nb\n");
        let gz = config(&[
            ("store.kafka.keys", "true"),
            ("s3.compression.type", "gzip"),
        ]);
        assert_eq!(
            gz.naming.side_key(
                "t/p/t+0+0000000000.json.gz",
                "keys",
                gz.keys.as_ref().unwrap()
            ),
            "t/p/t+0+0000000000.keys.json.gz"
        );
    }

    #[test]
    fn a_null_key_or_no_headers_fail_the_record_and_change_nothing() {
        let c = config(&[
            ("store.kafka.keys", "true"),
            ("store.kafka.headers", "true"),
            ("flush.size", "2"),
        ]);
        let mut w = PartitionWriter::new(TopicPartition::new("logs", 0), c, 0);
        let (mut out, mut closed) = (Vec::new(), Vec::new());
        let h = [("h", Value::String("v".into()))];
        w.write(
            &keyed(0, Value::String("k0".into()), &h),
            0,
            0,
            &mut out,
            &mut closed,
        )
        .unwrap();
        let e = w
            .write(&keyed(1, Value::Null, &h), 1, 0, &mut out, &mut closed)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("key cannot be null for sink record logs-0@1"),
            "{e}"
        );
        let e = w
            .write(
                &keyed(2, Value::String("k2".into()), &[]),
                2,
                0,
                &mut out,
                &mut closed,
            )
            .unwrap_err();
        assert!(
            e.to_string().contains("headers cannot be null or empty"),
            "{e}"
        );
        assert!(out.is_empty() && closed.is_empty());
        w.write(
            &keyed(3, Value::String("k3".into()), &h),
            3,
            0,
            &mut out,
            &mut closed,
        )
        .unwrap();
        let bodies: Vec<_> = out
            .into_iter()
            .map(|o| match o {
                Output::Object { body, .. } => String::from_utf8(body).unwrap(),
                _ => panic!("no multipart expected"),
            })
            .collect();
        assert_eq!(bodies[0].lines().count(), 2);
        assert_eq!(bodies[1], "\"k0\"\n\"k3\"\n");
        assert_eq!(bodies[2].lines().count(), 2);
    }

    #[test]
    fn a_bad_record_changes_nothing() {
        let c = config(&[
            (
                "partitioner.class",
                "io.confluent.connect.storage.partitioner.FieldPartitioner",
            ),
            ("partition.field.name", "missing"),
        ]);
        let mut w = PartitionWriter::new(TopicPartition::new("logs", 0), c, 0);
        let (mut out, mut closed) = (Vec::new(), Vec::new());
        assert!(w
            .write(&record(0, 0, "eu"), 0, 0, &mut out, &mut closed)
            .is_err());
        assert_eq!(w.open_start(), None);
        assert!(out.is_empty());
    }
}
