//! Partitioners: the folder a record goes to (its encoded partition), and
//! the record time used by time-based folders and rotation. Synchronous and
//! deterministic for everything but the Wallclock extractor.

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDateTime, Offset, TimeZone as _, Timelike, Utc};
use rampart_core::data::{Schema, Value};
use rampart_core::record::SinkRecord;
use rampart_core::DataError;

/// A time zone of path formatting: UTC or an IANA zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// UTC.
    pub fn utc() -> Self {
        TimeZone(chrono_tz::Tz::UTC)
    }

    /// An IANA name such as `Europe/Paris`, or `UTC`.
    pub fn parse(name: &str) -> Result<Self, String> {
        chrono_tz::Tz::from_str(name.trim())
            .map(TimeZone)
            .map_err(|_| "not a known IANA time zone".to_string())
    }

    /// The local wall time of an instant, in milliseconds since the local epoch.
    pub fn to_local_ms(self, utc_ms: i64) -> i64 {
        match DateTime::<Utc>::from_timestamp_millis(utc_ms) {
            Some(t) => {
                let offset = self.0.offset_from_utc_datetime(&t.naive_utc()).fix();
                utc_ms + i64::from(offset.local_minus_utc()) * 1000
            }
            None => utc_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Field(char, usize),
}

/// A Joda-Time pattern restricted to numeric fields, as in Confluent's
/// `path.format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathFormat(Vec<Token>);

impl PathFormat {
    /// Parses a pattern: letters repeat for width, `'text'` is literal, `''`
    /// is a quote, anything else is literal.
    pub fn parse(pattern: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => literal.push(c),
                        None => return Err("unterminated quoted text".to_string()),
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !"yYMdDHmsS".contains(c) {
                    return Err(format!(
                        "pattern letter {c} is not supported; use y, Y, M, d, D, H, m, s or S and quote literal text"
                    ));
                }
                let mut width = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    width += 1;
                }
                if c == 'M' && width > 2 {
                    return Err("month names (MMM) are not supported; use MM".to_string());
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(Token::Field(c, width));
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(PathFormat(tokens))
    }

    /// Formats a local wall time.
    pub fn format(&self, local: &NaiveDateTime) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        for token in &self.0 {
            match token {
                Token::Literal(s) => out.push_str(s),
                Token::Field(c, width) => {
                    let n: i64 = match c {
                        'y' | 'Y' if *width == 2 => i64::from(local.year().rem_euclid(100)),
                        'y' | 'Y' => i64::from(local.year()),
                        'M' => i64::from(local.month()),
                        'd' => i64::from(local.day()),
                        'D' => i64::from(local.ordinal()),
                        'H' => i64::from(local.hour()),
                        'm' => i64::from(local.minute()),
                        's' => i64::from(local.second()),
                        _ => i64::from(local.and_utc().timestamp_subsec_millis()),
                    };
                    // Writing to a String cannot fail.
                    let _ = write!(out, "{n:0width$}");
                }
            }
        }
        out
    }
}

/// Where record time comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimestampExtractor {
    /// The worker's clock when the record is written.
    Wallclock,
    /// The Kafka record timestamp.
    Record,
    /// A value field, by path.
    RecordField(Vec<String>),
}

impl TimestampExtractor {
    /// The record time in epoch milliseconds; `now` is the wall clock.
    pub fn extract(&self, record: &SinkRecord, now: i64) -> Result<i64, DataError> {
        match self {
            TimestampExtractor::Wallclock => Ok(now),
            TimestampExtractor::Record => record.timestamp.ok_or_else(|| {
                DataError::new(format!(
                    "record at {} has no timestamp, which timestamp.extractor=Record needs",
                    position(record)
                ))
            }),
            TimestampExtractor::RecordField(path) => {
                let (schema, value) = field(record, path)?;
                timestamp_of(schema, value).ok_or_else(|| {
                    DataError::new(format!(
                        "field {} of the record at {} is not a timestamp (epoch milliseconds, Timestamp or ISO-8601 string)",
                        path.join("."),
                        position(record)
                    ))
                })
            }
        }
    }
}

fn timestamp_of(_schema: Option<&Schema>, value: &Value) -> Option<i64> {
    match value {
        Value::Int64(n) => Some(*n),
        Value::Int32(n) => Some(i64::from(*n)),
        Value::Float64(f) if f.is_finite() => Some(*f as i64),
        Value::String(s) => DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| t.timestamp_millis())
            .or_else(|| {
                NaiveDateTime::from_str(s.trim())
                    .ok()
                    .map(|t| t.and_utc().timestamp_millis())
            }),
        _ => None,
    }
}

fn position(record: &SinkRecord) -> String {
    match &record.kafka {
        Some(k) => format!("{}@{}", k.tp, k.offset),
        None => format!("{}-{}", record.topic, record.partition.unwrap_or(-1)),
    }
}

/// A field of the record value by path, in a struct or a schemaless map.
fn field<'a>(
    record: &'a SinkRecord,
    path: &[String],
) -> Result<(Option<&'a Schema>, &'a Value), DataError> {
    let mut schema = record.value_schema.as_deref();
    let mut value = &record.value;
    for name in path {
        let next = match value {
            Value::Struct(s) => s
                .schema
                .fields
                .iter()
                .position(|f| &f.name == name)
                .and_then(|i| Some((Some(s.schema.fields[i].schema.as_ref()), s.values.get(i)?))),
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(k, Value::String(k) if k == name))
                .map(|(_, v)| (None, v)),
            _ => None,
        };
        match next {
            Some((s, v)) => {
                schema = s;
                value = v;
            }
            None => {
                return Err(DataError::new(format!(
                    "the value of the record at {} has no field {}",
                    position(record),
                    path.join(".")
                )))
            }
        }
    }
    Ok((schema, value))
}

/// The partitioner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioner {
    /// `partition=<kafka partition>`.
    Default,
    /// `<name>=<value>` per field, by configured name and path.
    Field(Vec<(String, Vec<String>)>),
    /// The record time rounded down to `duration_ms`, formatted.
    Time {
        /// The path pattern.
        format: PathFormat,
        /// Partition length.
        duration_ms: i64,
    },
}

impl Partitioner {
    /// Whether the encoded partition depends on record time.
    pub fn is_time_based(&self) -> bool {
        matches!(self, Partitioner::Time { .. })
    }

    /// The encoded partition of a record, `time` being its extracted time
    /// (used by time-based partitioners only).
    pub fn encode(
        &self,
        record: &SinkRecord,
        time: i64,
        tz: TimeZone,
        delim: &str,
    ) -> Result<String, DataError> {
        match self {
            Partitioner::Default => {
                let partition = record
                    .partition
                    .or_else(|| record.kafka.as_ref().map(|k| k.tp.partition))
                    .unwrap_or(0);
                Ok(format!("partition={partition}"))
            }
            Partitioner::Field(fields) => {
                let mut parts = Vec::with_capacity(fields.len());
                for (name, path) in fields {
                    let (_, value) = field(record, path)?;
                    let text = match value {
                        Value::String(s) => s.clone(),
                        Value::Boolean(b) => b.to_string(),
                        Value::Int8(n) => n.to_string(),
                        Value::Int16(n) => n.to_string(),
                        Value::Int32(n) => n.to_string(),
                        Value::Int64(n) => n.to_string(),
                        _ => {
                            return Err(DataError::new(format!(
                                "field {name} of the record at {} is not a string, integer or boolean, which FieldPartitioner needs",
                                position(record)
                            )))
                        }
                    };
                    parts.push(format!("{name}={text}"));
                }
                Ok(parts.join(delim))
            }
            Partitioner::Time {
                format,
                duration_ms,
            } => {
                let local = tz.to_local_ms(time);
                let floored = local - local.rem_euclid(*duration_ms);
                let at = DateTime::<Utc>::from_timestamp_millis(floored).ok_or_else(|| {
                    DataError::new(format!(
                        "time {time} of the record at {} is out of range",
                        position(record)
                    ))
                })?;
                Ok(format.format(&at.naive_utc()))
            }
        }
    }
}

/// The next wall-clock rotation after `now`, aligned to the start of the
/// day in `tz` as Confluent's scheduled rotation.
pub fn next_scheduled(now: i64, interval: i64, tz: TimeZone) -> i64 {
    let local = tz.to_local_ms(now);
    let offset = local - now;
    let next_local = local - local.rem_euclid(interval) + interval;
    next_local - offset
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::data::{Schema, SchemaType, Struct};
    use rampart_core::record::{KafkaPosition, TopicPartition};
    use std::sync::Arc;

    fn record(value: Value, ts: Option<i64>) -> SinkRecord {
        SinkRecord {
            topic: "logs".into(),
            partition: Some(3),
            value,
            timestamp: ts,
            kafka: Some(KafkaPosition {
                tp: TopicPartition::new("logs", 3),
                offset: 7,
            }),
            ..Default::default()
        }
    }

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::Map(
            pairs
                .iter()
                .map(|(k, v)| (Value::String(k.to_string()), v.clone()))
                .collect(),
        )
    }

    const HOUR: &str = "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH";

    #[test]
    fn default_partitioner_names_the_kafka_partition() {
        let r = record(Value::Null, None);
        let p = Partitioner::Default;
        assert_eq!(
            p.encode(&r, 0, TimeZone::utc(), "/").unwrap(),
            "partition=3"
        );
    }

    #[test]
    fn field_partitioner_reads_structs_and_maps_and_nested_fields() {
        let schema = Schema::new(SchemaType::Struct)
            .field("region", rampart_core::data::schemas::string())
            .field("code", rampart_core::data::schemas::int32())
            .build();
        let value = Value::Struct(Struct {
            schema: Arc::clone(&schema),
            values: vec![Value::String("eu".into()), Value::Int32(42)],
        });
        let p = Partitioner::Field(vec![
            ("region".into(), vec!["region".into()]),
            ("code".into(), vec!["code".into()]),
        ]);
        let mut r = record(value, None);
        r.value_schema = Some(schema);
        assert_eq!(
            p.encode(&r, 0, TimeZone::utc(), "/").unwrap(),
            "region=eu/code=42"
        );

        let nested = record(
            map(&[("host", map(&[("name", Value::String("a".into()))]))]),
            None,
        );
        let p = Partitioner::Field(vec![(
            "host.name".into(),
            vec!["host".into(), "name".into()],
        )]);
        assert_eq!(
            p.encode(&nested, 0, TimeZone::utc(), "/").unwrap(),
            "host.name=a"
        );
    }

    #[test]
    fn field_partitioner_rejects_missing_and_composite_fields() {
        let p = Partitioner::Field(vec![("x".into(), vec!["x".into()])]);
        let missing = record(map(&[("y", Value::Int32(1))]), None);
        let e = p.encode(&missing, 0, TimeZone::utc(), "/").unwrap_err();
        assert!(e.message().contains("no field x"), "{e}");
        let composite = record(map(&[("x", Value::Array(vec![]))]), None);
        assert!(p.encode(&composite, 0, TimeZone::utc(), "/").is_err());
        assert!(p
            .encode(
                &record(Value::String("s".into()), None),
                0,
                TimeZone::utc(),
                "/"
            )
            .is_err());
    }

    #[test]
    fn hourly_paths_cross_an_hour_boundary() {
        let p = Partitioner::Time {
            format: PathFormat::parse(HOUR).unwrap(),
            duration_ms: 3_600_000,
        };
        let r = record(Value::Null, None);
        // 2026-11-26T09:59:59.999Z and one millisecond later.
        let before = 1_795_687_199_999;
        assert_eq!(
            p.encode(&r, before, TimeZone::utc(), "/").unwrap(),
            "year=2026/month=11/day=26/hour=09"
        );
        assert_eq!(
            p.encode(&r, before + 1, TimeZone::utc(), "/").unwrap(),
            "year=2026/month=11/day=26/hour=10"
        );
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        assert_eq!(
            p.encode(&r, before + 1, paris, "/").unwrap(),
            "year=2026/month=11/day=26/hour=11"
        );
    }

    #[test]
    fn durations_round_down_in_local_time() {
        let p = Partitioner::Time {
            format: PathFormat::parse("YYYY-MM-dd'T'HH:mm").unwrap(),
            duration_ms: 15 * 60_000,
        };
        let r = record(Value::Null, None);
        // 2026-11-26T10:44:00Z
        assert_eq!(
            p.encode(&r, 1_795_689_840_000, TimeZone::utc(), "/")
                .unwrap(),
            "2026-11-26T10:30"
        );
        let kolkata = TimeZone::parse("Asia/Kolkata").unwrap();
        assert_eq!(
            p.encode(&r, 1_795_689_840_000, kolkata, "/").unwrap(),
            "2026-11-26T16:00"
        );
    }

    #[test]
    fn path_formats_reject_what_they_cannot_render() {
        assert!(PathFormat::parse("EEE").is_err());
        assert!(PathFormat::parse("MMM").is_err());
        assert!(PathFormat::parse("'open").is_err());
        let f = PathFormat::parse("'it''s'/yy/D").unwrap();
        let t = DateTime::<Utc>::from_timestamp_millis(1_795_687_200_000).unwrap();
        assert_eq!(f.format(&t.naive_utc()), "it's/26/330");
    }

    #[test]
    fn extractors_read_record_time_and_fields() {
        let r = record(
            map(&[
                ("ms", Value::Int64(1234)),
                ("iso", Value::String("2026-11-26T10:00:00Z".into())),
                ("bad", Value::Boolean(true)),
            ]),
            Some(99),
        );
        assert_eq!(TimestampExtractor::Wallclock.extract(&r, 5).unwrap(), 5);
        assert_eq!(TimestampExtractor::Record.extract(&r, 5).unwrap(), 99);
        let f = |name: &str| TimestampExtractor::RecordField(vec![name.to_string()]);
        assert_eq!(f("ms").extract(&r, 5).unwrap(), 1234);
        assert_eq!(f("iso").extract(&r, 5).unwrap(), 1_795_687_200_000);
        assert!(f("bad").extract(&r, 5).is_err());
        let untimed = record(Value::Null, None);
        assert!(TimestampExtractor::Record.extract(&untimed, 5).is_err());
    }

    #[test]
    fn scheduled_rotation_aligns_to_the_interval() {
        assert_eq!(next_scheduled(1_000, 600_000, TimeZone::utc()), 600_000);
        assert_eq!(next_scheduled(600_000, 600_000, TimeZone::utc()), 1_200_000);
        let kolkata = TimeZone::parse("Asia/Kolkata").unwrap();
        // +05:30: the local day starts at 18:30 UTC.
        assert_eq!(
            next_scheduled(0, 86_400_000, kolkata),
            86_400_000 - 19_800_000
        );
    }
}
