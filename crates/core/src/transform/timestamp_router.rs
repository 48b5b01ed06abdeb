//! `org.apache.kafka.connect.transforms.TimestampRouter`: the topic becomes
//! `topic.format` with `${topic}` and `${timestamp}` (the record timestamp
//! formatted in UTC with `timestamp.format`) substituted.

use std::collections::HashMap;

use super::date_format::JavaDateFormat;
use super::util::apply_via_in_place;
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance};
use crate::record::ConnectRecord;
use crate::{ConnectError, DataError};

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "topic.format",
        ConfigType::String,
        Importance::High,
        "Format string which can contain <code>${topic}</code> and <code>${timestamp}</code> as placeholders for the topic and timestamp, respectively.",
    )
    .default("${topic}-${timestamp}")
    .add();
    def.define(
        "timestamp.format",
        ConfigType::String,
        Importance::High,
        "Format string for the timestamp that is compatible with <code>java.text.SimpleDateFormat</code>.",
    )
    .default("yyyyMMdd")
    .add();
    def
}

/// Routes records to time-bucketed topics.
#[derive(Debug)]
pub(crate) struct TimestampRouter {
    topic_format: String,
    format: JavaDateFormat,
}

impl TimestampRouter {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let pattern = config.string("timestamp.format").unwrap_or_default();
        let format = JavaDateFormat::new(pattern).map_err(|e| {
            PluginConfigError::new(
                "timestamp.format",
                format!("Invalid value {pattern} for configuration timestamp.format: {e}"),
            )
        })?;
        Ok(TimestampRouter {
            topic_format: config
                .string("topic.format")
                .unwrap_or_default()
                .to_string(),
            format,
        })
    }
}

impl Transformation for TimestampRouter {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let Some(ts) = record.timestamp else {
            return Err(DataError::new(format!(
                "Timestamp missing on record: ConnectRecord{{topic='{}', kafkaPartition={}, key={}, value={}, timestamp=null}}",
                record.topic,
                record.partition.map_or("null".to_string(), |p| p.to_string()),
                record.key,
                record.value
            ))
            .into());
        };
        // Same order as Kafka: ${topic} first, then ${timestamp} in the result.
        let with_topic = self.topic_format.replace("${topic}", &record.topic);
        record.topic = with_topic.replace("${timestamp}", &self.format.format(ts));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_topic_dash_day() {
        let t = TimestampRouter::new(&HashMap::new()).unwrap();
        let r = ConnectRecord {
            topic: "test".to_string(),
            timestamp: Some(1_483_425_001_864),
            ..Default::default()
        };
        assert_eq!(t.apply(r).unwrap().unwrap().topic, "test-20170103");
    }

    #[test]
    fn missing_timestamp_is_a_data_error() {
        let t = TimestampRouter::new(&HashMap::new()).unwrap();
        let e = t.apply(ConnectRecord::default()).unwrap_err();
        assert!(matches!(e, ConnectError::Data(_)));
    }
}
