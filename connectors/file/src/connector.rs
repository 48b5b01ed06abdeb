//! The two connectors: they validate their config and hand it to tasks.

use rampart_core::connector::{Config, Connector};
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
}
