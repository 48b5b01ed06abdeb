//! The Elasticsearch sink: writes Kafka records into Elasticsearch 7, 8
//! and 9 or OpenSearch 1–3 through the `_bulk` API, with the config keys
//! and defaults of Confluent's `ElasticsearchSinkConnector`. Items are
//! handled one by one: 429 and 5xx are retried with exponential backoff
//! and jitter, mapping failures follow `behavior.on.malformed.documents` or
//! go to the dead-letter queue, and offsets are committed only for records
//! Elasticsearch acknowledged, tracked by their original topic partition so
//! index-naming routers work.
//!
//! The client is `reqwest` with raw NDJSON, not the official `elasticsearch`
//! crate: that crate is only published as an alpha for 9.x, is heavy to
//! compile, and speaks to one product; a plain bulk POST gives per-item
//! retries, gzip, auth headers and OpenSearch compatibility under our
//! control.
//!
//! Depends only on `rampart-core`'s plugin API (no Kafka client).

mod bulk;
mod client;
mod config;
mod connector;
mod document;
mod index;
mod mapping;
mod task;
#[cfg(test)]
mod tests;

use rampart_core::connector::{ConnectorPlugin, ConnectorType, Task};

pub use connector::ElasticsearchSinkConnector;

/// The parsers of Elasticsearch's answers (bytes from the network), for the
/// fuzz targets in `fuzz/`; not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::bulk::{error_reason, head_all_ok, parse_response, OpKind};
}
pub use task::ElasticsearchSinkTask;

/// `io.confluent.connect.elasticsearch.ElasticsearchSinkConnector`
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        aliases: &[],
        kind: ConnectorType::Sink,
        version: env!("CARGO_PKG_VERSION"),
        config_def: config::def,
        new_connector: || Box::new(ElasticsearchSinkConnector::default()),
        new_task: || Task::Sink(Box::<ElasticsearchSinkTask>::default()),
    }
}
