//! Maps a parsed message to a Connect value.
//!
//! The default shape is Confluent Syslog Source's value schema (reference
//! §3.6: `type`, `date`, `facility`, `level`, `host`, `appName`, …, the CEF
//! fields), so Elasticsearch index templates and Splunk sourcetypes written
//! for it keep working; it comes as a Struct with [`value_schema`] or as a
//! schemaless map with the same names. Rampart adds `receivedDate`,
//! `parseError`, the LEEF header (in the CEF fields, `type` = `LEEF`) and the
//! Cisco fields. [`to_ecs`] maps to Elastic Common Schema names instead.

use std::net::SocketAddr;
use std::sync::OnceLock;

use chrono::{DateTime, FixedOffset, Utc};
use rampart_core::data::{schemas, Schema, SchemaRef, SchemaType, Struct, Value};

use crate::parse::{facility_name, severity_name, Format, Payload, SyslogMessage};

/// Where and when a message was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// The arrival time.
    pub at: DateTime<Utc>,
    /// The sender's address.
    pub remote: Option<SocketAddr>,
}

/// The Connect schema name of the value.
pub const SCHEMA_NAME: &str = "io.rampart.connect.syslog.Message";

/// Field names, in schema order.
mod field {
    pub const TYPE: &str = "type";
    pub const DATE: &str = "date";
    pub const FACILITY: &str = "facility";
    pub const LEVEL: &str = "level";
    pub const HOST: &str = "host";
    pub const APP_NAME: &str = "appName";
    pub const PROCESS_ID: &str = "processId";
    pub const MESSAGE_ID: &str = "messageId";
    pub const STRUCTURED_DATA: &str = "structuredData";
    pub const MESSAGE: &str = "message";
    pub const RAW_MESSAGE: &str = "rawMessage";
    pub const REMOTE_ADDRESS: &str = "remoteAddress";
    pub const TAG: &str = "tag";
    pub const VERSION: &str = "version";
    pub const DEVICE_VENDOR: &str = "deviceVendor";
    pub const DEVICE_PRODUCT: &str = "deviceProduct";
    pub const DEVICE_VERSION: &str = "deviceVersion";
    pub const DEVICE_EVENT_CLASS_ID: &str = "deviceEventClassId";
    pub const NAME: &str = "name";
    pub const SEVERITY: &str = "severity";
    pub const EXTENSION: &str = "extension";
    pub const CISCO_FACILITY: &str = "ciscoFacility";
    pub const CISCO_SEVERITY: &str = "ciscoSeverity";
    pub const CISCO_MNEMONIC: &str = "ciscoMnemonic";
    pub const RECEIVED_DATE: &str = "receivedDate";
    pub const PARSE_ERROR: &str = "parseError";
}

fn string_map(optional: bool) -> SchemaRef {
    let s = Schema::map(schemas::string(), schemas::string());
    if optional {
        s.optional().build()
    } else {
        s.build()
    }
}

/// How many fields [`value_schema`] has.
const FIELDS: usize = 26;

/// The value schema: Confluent's fields plus Rampart's.
pub fn value_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let ts = Schema::timestamp().optional().build();
            let s = schemas::optional_string;
            let i = schemas::optional_int32;
            Schema::new(SchemaType::Struct)
                .named(SCHEMA_NAME)
                .field(field::TYPE, schemas::string())
                .field(field::DATE, ts.clone())
                .field(field::FACILITY, i())
                .field(field::LEVEL, i())
                .field(field::HOST, s())
                .field(field::APP_NAME, s())
                .field(field::PROCESS_ID, s())
                .field(field::MESSAGE_ID, s())
                .field(
                    field::STRUCTURED_DATA,
                    Schema::map(schemas::string(), string_map(false))
                        .optional()
                        .build(),
                )
                .field(field::MESSAGE, s())
                .field(field::RAW_MESSAGE, s())
                .field(field::REMOTE_ADDRESS, s())
                .field(field::TAG, s())
                .field(field::VERSION, i())
                .field(field::DEVICE_VENDOR, s())
                .field(field::DEVICE_PRODUCT, s())
                .field(field::DEVICE_VERSION, s())
                .field(field::DEVICE_EVENT_CLASS_ID, s())
                .field(field::NAME, s())
                .field(field::SEVERITY, s())
                .field(field::EXTENSION, string_map(true))
                .field(field::CISCO_FACILITY, s())
                .field(field::CISCO_SEVERITY, i())
                .field(field::CISCO_MNEMONIC, s())
                .field(field::RECEIVED_DATE, Schema::timestamp().build())
                .field(field::PARSE_ERROR, s())
                .build()
        })
        .clone()
}

fn millis(t: &DateTime<FixedOffset>) -> Value {
    Value::Int64(t.timestamp_millis())
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::string)
}

fn pairs_to_map<'p, K: AsRef<str> + 'p, V: AsRef<str> + 'p>(
    pairs: impl IntoIterator<Item = &'p (K, V)>,
) -> Value {
    Value::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::string(k.as_ref()), Value::string(v.as_ref())))
            .collect(),
    )
}

/// The record `type`: Confluent's `RFC5424`, `RFC3164`, `CEF`, plus `LEEF`.
pub fn record_type(message: &SyslogMessage<'_>) -> &'static str {
    match &message.payload {
        Some(Payload::Cef(_)) => "CEF",
        Some(Payload::Leef(_)) => "LEEF",
        _ => message.format.name(),
    }
}

/// STRUCTURED-DATA as `{SD-ID: {name: value}}`; a repeated SD-ID or
/// parameter name keeps its last value (`rawMessage` keeps them all).
fn structured_data(message: &SyslogMessage<'_>) -> Value {
    if message.structured_data.is_empty() {
        return Value::Null;
    }
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(message.structured_data.len());
    for element in &message.structured_data {
        let id = Value::string(element.id.as_ref());
        let mut params: Vec<(Value, Value)> = Vec::with_capacity(element.params.len());
        for (k, v) in &element.params {
            let k = Value::string(k.as_ref());
            let v = Value::string(v.as_ref());
            match params.iter_mut().find(|(pk, _)| *pk == k) {
                Some(slot) => slot.1 = v,
                None => params.push((k, v)),
            }
        }
        match out.iter_mut().find(|(ok, _)| *ok == id) {
            Some((_, Value::Map(existing))) => {
                for (k, v) in params {
                    match existing.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(slot) => slot.1 = v,
                        None => existing.push((k, v)),
                    }
                }
            }
            _ => out.push((id, Value::Map(params))),
        }
    }
    Value::Map(out)
}

// An IPv4 address written by hand: `Display` goes through the formatter
// machinery, which showed up per record at line rate.
fn ip_text(ip: std::net::IpAddr) -> Value {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut s = String::with_capacity(15);
            for (i, octet) in v4.octets().iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                s.push_str(itoa::Buffer::new().format(*octet));
            }
            Value::String(s)
        }
        v6 => Value::String(v6.to_string()),
    }
}

/// The field values in [`value_schema`] order.
fn values(message: &SyslogMessage<'_>, received: &Received) -> Vec<Value> {
    let pri = message.pri;
    let tag = match message.format {
        Format::Rfc3164 => opt_str(message.app_name.as_deref()),
        _ => Value::Null,
    };
    // Sized for every field up front: growing it mid-way copied the lot.
    let mut v = Vec::with_capacity(FIELDS);
    v.extend([
        Value::string(record_type(message)),
        message.timestamp.as_ref().map_or(Value::Null, millis),
        pri.map_or(Value::Null, |p| Value::Int32(p.facility.into())),
        pri.map_or(Value::Null, |p| Value::Int32(p.severity.into())),
        opt_str(message.hostname.as_deref()),
        opt_str(message.app_name.as_deref()),
        opt_str(message.proc_id.as_deref()),
        opt_str(message.msg_id.as_deref()),
        structured_data(message),
        Value::string(message.msg.as_ref()),
        Value::string(message.raw_text()),
        received.remote.map_or(Value::Null, |a| ip_text(a.ip())),
        tag,
        message
            .version
            .and_then(|v| i32::try_from(v).ok())
            .map_or(Value::Null, Value::Int32),
    ]);
    // deviceVendor … extension, then the Cisco fields.
    let mut device = [
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ];
    let mut cisco = [Value::Null, Value::Null, Value::Null];
    match &message.payload {
        Some(Payload::Cef(c)) => {
            device = [
                Value::string(c.device_vendor.as_ref()),
                Value::string(c.device_product.as_ref()),
                Value::string(c.device_version.as_ref()),
                Value::string(c.device_event_class_id.as_ref()),
                Value::string(c.name.as_ref()),
                Value::string(c.severity.as_ref()),
                pairs_to_map(&c.extensions),
            ];
        }
        Some(Payload::Leef(l)) => {
            device = [
                Value::string(l.vendor.as_ref()),
                Value::string(l.product.as_ref()),
                Value::string(l.product_version.as_ref()),
                Value::string(l.event_id.as_ref()),
                Value::Null,
                Value::Null,
                pairs_to_map(&l.attributes),
            ];
        }
        Some(Payload::Cisco(c)) => {
            cisco = [
                Value::string(c.facility.as_ref()),
                Value::Int32(c.severity.into()),
                Value::string(c.mnemonic.as_ref()),
            ];
        }
        None => {}
    }
    v.extend(device);
    v.extend(cisco);
    v.push(Value::Int64(received.at.timestamp_millis()));
    v.push(
        message
            .error
            .as_ref()
            .map_or(Value::Null, |e| Value::string(e.to_string())),
    );
    v
}

/// The message as a Struct of [`value_schema`].
pub fn to_struct(message: &SyslogMessage<'_>, received: &Received) -> Struct {
    let schema = value_schema();
    let values = values(message, received);
    debug_assert_eq!(values.len(), schema.fields.len());
    Struct { schema, values }
}

/// The message as a schemaless map with [`value_schema`]'s field names (null
/// fields included, as Confluent's JSON output has them).
pub fn to_schemaless(message: &SyslogMessage<'_>, received: &Received) -> Value {
    let schema = value_schema();
    Value::Map(
        schema
            .fields
            .iter()
            .zip(values(message, received))
            .map(|(f, v)| (Value::string(f.name.as_str()), v))
            .collect(),
    )
}

/// Builds nested maps, leaving out null values and empty objects.
#[derive(Default)]
struct Object(Vec<(Value, Value)>);

impl Object {
    fn put(&mut self, key: &str, value: Value) -> &mut Self {
        let empty = match &value {
            Value::Null => true,
            Value::Map(m) => m.is_empty(),
            _ => false,
        };
        if !empty {
            self.0.push((Value::string(key), value));
        }
        self
    }

    fn put_str(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        self.put(key, opt_str(value))
    }

    fn build(self) -> Value {
        Value::Map(self.0)
    }
}

fn object(f: impl FnOnce(&mut Object)) -> Value {
    let mut o = Object::default();
    f(&mut o);
    o.build()
}

/// The message with Elastic Common Schema names, as nested schemaless maps:
/// `@timestamp`, `event.created`/`event.original`, `host.name`,
/// `log.syslog.{priority, facility.code, severity.code, appname, procid,
/// msgid, version, structured_data}`, `process.name`/`process.pid`,
/// `message`, `source.ip`/`source.port`, `error.message`, and Elastic's
/// `cef.*` names for CEF (and the same shape under `leef.*` and `cisco.*`).
/// Timestamps are epoch milliseconds.
pub fn to_ecs(message: &SyslogMessage<'_>, received: &Received) -> Value {
    let received_ms = Value::Int64(received.at.timestamp_millis());
    let pri = message.pri;
    let syslog = object(|o| {
        o.put(
            "priority",
            pri.map_or(Value::Null, |p| Value::Int32(p.value().into())),
        )
        .put(
            "facility",
            pri.map_or(Value::Null, |p| {
                object(|f| {
                    f.put("code", Value::Int32(p.facility.into()))
                        .put("name", Value::string(facility_name(p.facility)));
                })
            }),
        )
        .put(
            "severity",
            pri.map_or(Value::Null, |p| {
                object(|f| {
                    f.put("code", Value::Int32(p.severity.into()))
                        .put("name", Value::string(severity_name(p.severity)));
                })
            }),
        )
        .put_str("hostname", message.hostname.as_deref())
        .put_str("appname", message.app_name.as_deref())
        .put_str("procid", message.proc_id.as_deref())
        .put_str("msgid", message.msg_id.as_deref())
        .put(
            "version",
            message
                .version
                .map_or(Value::Null, |v| Value::string(v.to_string())),
        )
        .put("structured_data", structured_data(message));
    });
    let mut root = Object::default();
    root.put(
        "@timestamp",
        message
            .timestamp
            .as_ref()
            .map_or_else(|| received_ms.clone(), millis),
    )
    .put(
        "event",
        object(|e| {
            e.put("created", received_ms.clone())
                .put("original", Value::string(message.raw_text()));
            match &message.payload {
                Some(Payload::Cef(c)) => {
                    e.put("code", Value::string(c.device_event_class_id.as_ref()));
                }
                Some(Payload::Leef(l)) => {
                    e.put("code", Value::string(l.event_id.as_ref()));
                }
                Some(Payload::Cisco(c)) => {
                    e.put("code", Value::string(c.mnemonic.as_ref()));
                }
                None => {}
            }
        }),
    )
    .put(
        "host",
        object(|h| {
            h.put_str("name", message.hostname.as_deref());
        }),
    )
    .put(
        "log",
        object(|l| {
            l.put("syslog", syslog);
        }),
    )
    .put(
        "process",
        object(|p| {
            p.put_str("name", message.app_name.as_deref()).put(
                "pid",
                message
                    .proc_id
                    .as_deref()
                    .and_then(|s| s.parse::<i64>().ok())
                    .map_or(Value::Null, Value::Int64),
            );
        }),
    )
    .put("message", Value::string(message.msg.as_ref()))
    .put(
        "source",
        received.remote.map_or(Value::Null, |a| {
            object(|s| {
                s.put("ip", Value::string(a.ip().to_string()))
                    .put("port", Value::Int32(a.port().into()));
            })
        }),
    );
    match &message.payload {
        Some(Payload::Cef(c)) => {
            root.put(
                "observer",
                object(|o| {
                    o.put("vendor", Value::string(c.device_vendor.as_ref()))
                        .put("product", Value::string(c.device_product.as_ref()))
                        .put("version", Value::string(c.device_version.as_ref()));
                }),
            )
            .put(
                "cef",
                object(|o| {
                    o.put("version", Value::string(c.version.to_string()))
                        .put(
                            "device",
                            object(|d| {
                                d.put("vendor", Value::string(c.device_vendor.as_ref()))
                                    .put("product", Value::string(c.device_product.as_ref()))
                                    .put("version", Value::string(c.device_version.as_ref()))
                                    .put(
                                        "event_class_id",
                                        Value::string(c.device_event_class_id.as_ref()),
                                    );
                            }),
                        )
                        .put("name", Value::string(c.name.as_ref()))
                        .put("severity", Value::string(c.severity.as_ref()))
                        .put("extensions", pairs_to_map(&c.extensions));
                }),
            );
        }
        Some(Payload::Leef(l)) => {
            root.put(
                "observer",
                object(|o| {
                    o.put("vendor", Value::string(l.vendor.as_ref()))
                        .put("product", Value::string(l.product.as_ref()))
                        .put("version", Value::string(l.product_version.as_ref()));
                }),
            )
            .put(
                "leef",
                object(|o| {
                    o.put("version", Value::string(l.version.as_ref()))
                        .put("event_id", Value::string(l.event_id.as_ref()))
                        .put("attributes", pairs_to_map(&l.attributes));
                }),
            );
        }
        Some(Payload::Cisco(c)) => {
            root.put(
                "cisco",
                object(|o| {
                    o.put("facility", Value::string(c.facility.as_ref()))
                        .put("severity", Value::Int32(c.severity.into()))
                        .put("mnemonic", Value::string(c.mnemonic.as_ref()));
                }),
            );
        }
        None => {}
    }
    root.put(
        "error",
        message.error.as_ref().map_or(Value::Null, |e| {
            object(|o| {
                o.put("message", Value::string(e.to_string()));
            })
        }),
    );
    root.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse, ParseOptions};
    use chrono::TimeZone;

    fn received() -> Received {
        Received {
            at: Utc.with_ymd_and_hms(2003, 10, 12, 0, 0, 0).unwrap(),
            remote: Some("192.168.208.1:51514".parse().unwrap()),
        }
    }

    #[test]
    fn confluent_example_record() {
        let raw = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - Your refrigerator is running";
        let m = parse(raw, received().at, &ParseOptions::strict()).unwrap();
        let s = to_struct(&m, &received());
        s.validate().unwrap();
        assert_eq!(s.get("type"), Some(&Value::string("RFC5424")));
        assert_eq!(s.get("date"), Some(&Value::Int64(1_065_910_455_003)));
        assert_eq!(s.get("facility"), Some(&Value::Int32(4)));
        assert_eq!(s.get("level"), Some(&Value::Int32(2)));
        assert_eq!(s.get("host"), Some(&Value::string("mymachine.example.com")));
        assert_eq!(s.get("appName"), Some(&Value::string("su")));
        assert_eq!(s.get("processId"), Some(&Value::Null));
        assert_eq!(s.get("messageId"), Some(&Value::string("ID47")));
        assert_eq!(
            s.get("message"),
            Some(&Value::string("Your refrigerator is running"))
        );
        assert_eq!(
            s.get("remoteAddress"),
            Some(&Value::string("192.168.208.1"))
        );
        assert_eq!(s.get("version"), Some(&Value::Int32(1)));
        assert_eq!(s.get("structuredData"), Some(&Value::Null));

        let map = to_schemaless(&m, &received());
        assert_eq!(
            map.get_field("date"),
            Some(&Value::Int64(1_065_910_455_003))
        );
        assert_eq!(
            map.get_field("rawMessage").and_then(Value::as_str),
            std::str::from_utf8(raw).ok()
        );
    }

    #[test]
    fn cef_and_sd_records_validate() {
        let lines: [&[u8]; 3] = [
            br#"<13>1 - h a - - [x@1 a="1" a="2"][x@1 b="3"][y@1] m"#,
            b"<134>Feb 12 10:20:30 fw CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.1 msg=a b",
            b"\xff\xfe garbage",
        ];
        for line in lines {
            let m = parse(line, received().at, &ParseOptions::lenient()).unwrap();
            to_struct(&m, &received()).validate().unwrap();
        }
        let m = parse(lines[0], received().at, &ParseOptions::lenient()).unwrap();
        let sd = to_schemaless(&m, &received());
        let sd = sd.get_field("structuredData").unwrap();
        assert_eq!(
            sd.get_field("x@1").unwrap().get_field("a"),
            Some(&Value::string("2"))
        );
        assert_eq!(
            sd.get_field("x@1").unwrap().get_field("b"),
            Some(&Value::string("3"))
        );
    }

    #[test]
    fn ecs_names() {
        let raw = b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 - Your refrigerator is running";
        let m = parse(raw, received().at, &ParseOptions::strict()).unwrap();
        let ecs = to_ecs(&m, &received());
        let syslog = ecs.get_field("log").unwrap().get_field("syslog").unwrap();
        assert_eq!(syslog.get_field("priority"), Some(&Value::Int32(34)));
        assert_eq!(
            syslog.get_field("facility").unwrap().get_field("code"),
            Some(&Value::Int32(4))
        );
        assert_eq!(
            syslog.get_field("severity").unwrap().get_field("name"),
            Some(&Value::string("crit"))
        );
        assert_eq!(syslog.get_field("appname"), Some(&Value::string("su")));
        assert_eq!(
            ecs.get_field("@timestamp"),
            Some(&Value::Int64(1_065_910_455_003))
        );
        assert_eq!(
            ecs.get_field("host").unwrap().get_field("name"),
            Some(&Value::string("mymachine.example.com"))
        );
        assert_eq!(
            ecs.get_field("source").unwrap().get_field("ip"),
            Some(&Value::string("192.168.208.1"))
        );
        assert_eq!(
            ecs.get_field("process").unwrap().get_field("pid"),
            Some(&Value::Int64(77))
        );
        assert_eq!(ecs.get_field("error"), None);
    }
}

#[cfg(test)]
mod field_count_tests {
    use super::*;

    #[test]
    fn fields_matches_the_schema() {
        assert_eq!(FIELDS, value_schema().fields.len());
    }

    #[test]
    fn ip_text_matches_display() {
        for ip in [
            "0.0.0.0",
            "10.1.22.255",
            "192.168.208.1",
            "::1",
            "fe80::1:2",
        ] {
            let ip: std::net::IpAddr = ip.parse().expect("test address");
            assert_eq!(ip_text(ip), Value::String(ip.to_string()));
        }
    }
}
