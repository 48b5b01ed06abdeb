//! The connector: it validates the config (including the cross-key rules
//! the definition cannot express) and hands it to every task.

use rampart_core::config::{ConfigDef, ConfigValue};
use rampart_core::connector::{Config, Connector};
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};

use crate::config::HecConfig;

/// `com.splunk.kafka.connect.SplunkSinkConnector`.
#[derive(Debug, Default)]
pub struct SplunkSinkConnector {
    config: Config,
}

impl Connector for SplunkSinkConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        HecConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }

    fn validate(&self, def: &ConfigDef, config: &Config) -> Vec<ConfigValue> {
        def.validate_with(config, || match HecConfig::parse(config) {
            Err(ConnectError::BadRequest(message)) => Some(message),
            _ => None,
        })
    }

    // Offsets are the consumer group's; any change is handled by the framework.
    fn alter_offsets(
        &self,
        _config: &Config,
        _offsets: &[(SourceMap, Option<SourceMap>)],
    ) -> ConnectResult<bool> {
        Ok(true)
    }
}
