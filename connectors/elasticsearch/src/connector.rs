//! `io.confluent.connect.elasticsearch.ElasticsearchSinkConnector`: checks
//! the config, including the index or data stream each listed topic maps
//! to, and gives every task the same config.

use rampart_core::config::{split_list, ConfigDef, ConfigValue};
use rampart_core::connector::{Config, Connector};
use rampart_core::record::SourceMap;
use rampart_core::{ConnectError, ConnectResult};

use crate::config::{cross_checks, EsConfig, CONNECTION_URL, DATA_STREAM_NAMESPACE};
use crate::index::{data_stream_name, index_for_topic, NameError};

/// The Elasticsearch sink connector.
#[derive(Debug, Default)]
pub struct ElasticsearchSinkConnector {
    config: Config,
}

// The index or data stream names of the topics listed in `topics` (topics
// matched by `topics.regex`, or renamed by routers, are checked per record).
fn check_topics(cfg: &EsConfig, config: &Config) -> Result<(), NameError> {
    let topics = config
        .get("topics")
        .map(|t| split_list(t))
        .unwrap_or_default();
    for topic in topics.iter().filter(|t| !t.is_empty()) {
        match &cfg.data_stream {
            Some(ds) => data_stream_name(ds.kind, &ds.dataset, &ds.namespace, topic).map(drop)?,
            None => index_for_topic(topic).map(drop)?,
        }
    }
    Ok(())
}

impl Connector for ElasticsearchSinkConnector {
    fn start(&mut self, config: &Config) -> ConnectResult<()> {
        let cfg = EsConfig::parse(config)?;
        check_topics(&cfg, config).map_err(|e| ConnectError::BadRequest(e.to_string()))?;
        self.config = config.clone();
        Ok(())
    }

    fn task_configs(&self, max_tasks: usize) -> ConnectResult<Vec<Config>> {
        Ok(vec![self.config.clone(); max_tasks.max(1)])
    }

    fn validate(&self, def: &ConfigDef, config: &Config) -> Vec<ConfigValue> {
        let mut values = def.validate(config);
        let mut add = |key: &str, error: String| {
            if let Some(v) = values.iter_mut().find(|v| v.name == key) {
                v.errors.push(error);
            }
        };
        // The connector's own keys; `def` also holds the framework's.
        if let Ok(parsed) = crate::config::def().parse(config) {
            for (key, error) in cross_checks(&parsed) {
                add(key, error);
            }
        }
        if let Ok(cfg) = EsConfig::parse(config) {
            if let Err(e) = check_topics(&cfg, config) {
                let key = if cfg.data_stream.is_some() {
                    DATA_STREAM_NAMESPACE
                } else {
                    CONNECTION_URL
                };
                add(key, e.to_string());
            }
        }
        values
    }

    // The sink keeps no offsets of its own: they are consumer offsets.
    fn alter_offsets(
        &self,
        _config: &Config,
        _offsets: &[(SourceMap, Option<SourceMap>)],
    ) -> ConnectResult<bool> {
        Ok(true)
    }
}
