//! The Splunk HTTP Event Collector sink, configured like
//! splunk/kafka-connect-splunk (`com.splunk.kafka.connect.SplunkSinkConnector`):
//! batched JSON events on `/services/collector/event` or lines on
//! `/services/collector/raw`, indexer acknowledgement with offsets committed
//! only once events are acknowledged, load balancing over several URIs with
//! health checks and backoff, and refused events sent to the dead-letter
//! queue. Memory is bounded by the outstanding-event and -byte limits.
//!
//! Depends only on `rampart-core`'s plugin API and `reqwest`; never on the
//! runtime or Kafka clients.

mod client;
mod config;
mod connector;
mod event;
mod hec;
mod task;
#[cfg(test)]
mod tests;
mod tracker;

use rampart_core::connector::{ConnectorPlugin, ConnectorType, Task};

pub use connector::SplunkSinkConnector;
pub use task::SplunkHecSinkTask;

/// The parsers of HEC's answers (bytes from the network), for the fuzz
/// targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::hec::{acked_ids, classify};
}

/// `com.splunk.kafka.connect.SplunkSinkConnector`
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "com.splunk.kafka.connect.SplunkSinkConnector",
        aliases: &[],
        kind: ConnectorType::Sink,
        version: env!("CARGO_PKG_VERSION"),
        config_def: config::def,
        new_connector: || Box::new(SplunkSinkConnector::default()),
        new_task: || Task::Sink(Box::<SplunkHecSinkTask>::default()),
    }
}
