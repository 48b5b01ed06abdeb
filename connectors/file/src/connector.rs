//! The two connectors: they validate their config and hand it to tasks.

use rampart_core::connector::{Config, Connector};
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};

use crate::config::{sink_def, source_def};

fn check(def: rampart_core::config::ConfigDef, config: &Config) -> ConnectResult<Config> {
    def.parse(config)
        .map_err(|errors| ConnectError::BadRequest(errors.join("\n")))?;
    Ok(config.clone())
}

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`: one task, as a
/// file has one reader.
#[derive(Debug, Default)]
pub struct FileStreamSourceConnector {
    config: Config,
}

impl Connector for FileStreamSourceConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        self.config = check(source_def(), config)?;
        Ok(())
    }

    fn task_configs(&self, _max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone()])
    }

    // As Kafka's FileStreamSourceConnector.alterOffsets: partitions name a
    // file, offsets are non-negative byte positions.
    fn alter_offsets(
        &self,
        _config: &Config,
        offsets: &[(SourceMap, Option<SourceMap>)],
    ) -> ConnectResult<bool> {
        for (partition, offset) in offsets {
            if !partition.get("filename").is_some_and(|f| f.is_string()) {
                return Err(ConnectError::BadRequest(
                    "The partition for FileStreamSourceConnector must contain the key 'filename' with a string value".to_string(),
                ));
            }
            if let Some(o) = offset {
                let position = o.get("position").and_then(|p| p.as_i64());
                if position.is_none_or(|p| p < 0) {
                    return Err(ConnectError::BadRequest(
                        "The offset for FileStreamSourceConnector must contain the key 'position' with a non-negative integer value".to_string(),
                    ));
                }
            }
        }
        Ok(true)
    }
}

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`.
#[derive(Debug, Default)]
pub struct FileStreamSinkConnector {
    config: Config,
}

impl Connector for FileStreamSinkConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        self.config = check(sink_def(), config)?;
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone(); max_tasks])
    }

    // The sink keeps no offsets of its own, so any change is handled.
    fn alter_offsets(
        &self,
        _config: &Config,
        _offsets: &[(SourceMap, Option<SourceMap>)],
    ) -> ConnectResult<bool> {
        Ok(true)
    }
}
