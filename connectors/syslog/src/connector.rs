//! `io.confluent.connect.syslog.SyslogSourceConnector`, without its
//! one-task limit: every task binds the same port with SO_REUSEPORT.

use rampart_core::connector::{Config, Connector};
use rampart_core::ConnectResult;

use crate::config::SyslogConfig;

/// The syslog source connector.
#[derive(Debug, Default)]
pub struct SyslogSourceConnector {
    config: Config,
}

impl Connector for SyslogSourceConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        SyslogConfig::parse(config)?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }
}
