//! A task's key, value and header converters, chosen from the connector
//! config or else the worker config (connector settings win, as in Kafka).

use std::collections::HashMap;

use rampart_core::converter::{converter_for, header_converter_for, Converter, HeaderConverter};
use rampart_core::data::Value;
use rampart_core::record::{ConnectRecord, Headers};
use rampart_core::{ConnectError, DataError};

use crate::worker_config::WorkerConfig;

/// Serialised headers: key and optional value bytes, in order.
pub type RawHeaders = Vec<(String, Option<Vec<u8>>)>;

/// Serialised key, value and headers of a record.
pub type Serialized = (Option<Vec<u8>>, Option<Vec<u8>>, RawHeaders);

/// The converters of one task.
#[derive(Debug)]
pub struct Converters {
    /// Class names of the key, value and header converters, for error context.
    pub classes: [String; 3],
    /// Key converter.
    pub key: Box<dyn Converter>,
    /// Value converter.
    pub value: Box<dyn Converter>,
    /// Header converter.
    pub header: Box<dyn HeaderConverter>,
}

fn pick(
    worker: &WorkerConfig,
    connector: &HashMap<String, String>,
    key: &str,
    default: &str,
) -> (String, HashMap<String, String>) {
    let prefix = format!("{key}.");
    match connector.get(key).filter(|c| !c.trim().is_empty()) {
        Some(class) => (
            class.clone(),
            rampart_core::config::originals_with_prefix(connector, &prefix),
        ),
        None => (
            worker
                .props
                .get(key)
                .cloned()
                .unwrap_or_else(|| default.to_string()),
            worker.with_prefix(&prefix),
        ),
    }
}

impl Converters {
    /// Builds the converters for a connector.
    pub fn for_connector(
        worker: &WorkerConfig,
        connector: &HashMap<String, String>,
    ) -> Result<Self, ConnectError> {
        const JSON: &str = "org.apache.kafka.connect.json.JsonConverter";
        let (kc, ks) = pick(worker, connector, "key.converter", JSON);
        let (vc, vs) = pick(worker, connector, "value.converter", JSON);
        let (hc, hs) = pick(
            worker,
            connector,
            "header.converter",
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
        );
        Ok(Converters {
            classes: [
                kc.trim().to_string(),
                vc.trim().to_string(),
                hc.trim().to_string(),
            ],
            key: converter_for(&kc, &ks, true).map_err(ConnectError::connect)?,
            value: converter_for(&vc, &vs, false).map_err(ConnectError::connect)?,
            header: header_converter_for(&hc, &hs).map_err(ConnectError::connect)?,
        })
    }

    /// Serialises a record's key, value and headers.
    pub fn serialize(&self, record: &ConnectRecord) -> Result<Serialized, DataError> {
        let key = self
            .key
            .from_connect(&record.topic, record.key_schema.as_ref(), &record.key)?;
        let value =
            self.value
                .from_connect(&record.topic, record.value_schema.as_ref(), &record.value)?;
        let headers = self.serialize_headers(&record.topic, &record.headers)?;
        Ok((key, value, headers))
    }

    /// Serialises headers.
    pub fn serialize_headers(
        &self,
        topic: &str,
        headers: &Headers,
    ) -> Result<RawHeaders, DataError> {
        headers
            .iter()
            .map(|h| {
                Ok((
                    h.key.clone(),
                    self.header
                        .from_connect_header(topic, &h.key, h.schema.as_ref(), &h.value)?,
                ))
            })
            .collect()
    }

    /// Deserialises headers.
    pub fn deserialize_headers(
        &self,
        topic: &str,
        raw: &[(String, Option<Vec<u8>>)],
    ) -> Result<Headers, DataError> {
        let mut headers = Headers::default();
        for (k, v) in raw {
            let sv = self.header.to_connect_header(topic, k, v.as_deref())?;
            headers.add(
                k.clone(),
                sv.schema,
                if v.is_none() { Value::Null } else { sv.value },
            );
        }
        Ok(headers)
    }
}
