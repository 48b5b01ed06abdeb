//! The connector: it validates the config (including the cross-key rules
//! the definition cannot express) and hands it to every task.

use rampart_core::config::{ConfigDef, ConfigValue};
use rampart_core::connector::{Config, Connector};
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};
use tracing::warn;

use crate::config::{S3Config, UNSUPPORTED};

/// `io.confluent.connect.s3.S3SinkConnector`.
#[derive(Debug, Default)]
pub struct S3SinkConnector {
    config: Config,
}

impl Connector for S3SinkConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        S3Config::parse(config)?;
        for key in UNSUPPORTED.iter().filter(|k| config.contains_key(**k)) {
            warn!(
                key,
                "s3 connector setting not supported by rampart; it is ignored"
            );
        }
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }

    fn validate(&self, def: &ConfigDef, config: &Config) -> Vec<ConfigValue> {
        def.validate_with(config, || match S3Config::parse(config) {
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
