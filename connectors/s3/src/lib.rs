//! The S3 sink, configured like Confluent's (`io.confluent.connect.s3.S3SinkConnector`):
//! records of Kafka partitions written as JSON Lines (optionally gzipped),
//! Parquet or raw bytes into objects named deterministically
//! (`<topics.dir>/<topic>/<encoded partition>/<topic>+<partition>+<start offset>.<ext>`),
//! spread over folders by the Default, Field or time-based partitioners,
//! rotated by record count, record time or wall clock. Offsets are committed
//! only once the objects holding their records are uploaded, and re-consumed
//! records rebuild the same objects, so the bucket holds every record exactly
//! once (but with the Wallclock extractor or scheduled rotation, which
//! depend on when the worker ran). Big objects leave as multipart uploads
//! while they are written, so memory is bounded per open object. With
//! `store.kafka.keys`/`store.kafka.headers`, each data object gets a
//! `.keys.`/`.headers.` object beside it, line for line, in the same batch.
//!
//! Depends only on `rampart-core`'s plugin API and the AWS SDK; never on the
//! runtime or Kafka clients.

mod config;
mod connector;
mod format;
mod parquet;
mod partition;
mod storage;
mod task;
#[cfg(test)]
mod tests;
mod writer;

use rampart_core::connector::{ConnectorPlugin, ConnectorType, Task};

pub use connector::S3SinkConnector;
pub use task::S3SinkTask;

/// `io.confluent.connect.s3.S3SinkConnector`
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "io.confluent.connect.s3.S3SinkConnector",
        aliases: &["S3SinkConnector"],
        kind: ConnectorType::Sink,
        version: env!("CARGO_PKG_VERSION"),
        config_def: config::def,
        new_connector: || Box::new(S3SinkConnector::default()),
        new_task: || Task::Sink(Box::<S3SinkTask>::default()),
    }
}
