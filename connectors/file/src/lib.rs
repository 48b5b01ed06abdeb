//! FileStreamSource and FileStreamSink, behaving like Kafka's: the source
//! reads lines of a file (its offset is the byte position, so it resumes
//! after a restart), the sink writes each record's value as a line.
//!
//! Depends only on `rampart-core`'s plugin API.

mod config;
mod connector;
mod task;
#[cfg(test)]
mod tests;

use rampart_core::connector::{ConnectorPlugin, ConnectorType, Task};

pub use connector::{FileStreamSinkConnector, FileStreamSourceConnector};
pub use task::{FileStreamSinkTask, FileStreamSourceTask};

/// `org.apache.kafka.connect.file.FileStreamSourceConnector`
pub fn source_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "org.apache.kafka.connect.file.FileStreamSourceConnector",
        aliases: &[],
        kind: ConnectorType::Source,
        version: env!("CARGO_PKG_VERSION"),
        config_def: config::source_def,
        new_connector: || Box::new(FileStreamSourceConnector::default()),
        new_task: || Task::Source(Box::<FileStreamSourceTask>::default()),
    }
}

/// `org.apache.kafka.connect.file.FileStreamSinkConnector`
pub fn sink_plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: "org.apache.kafka.connect.file.FileStreamSinkConnector",
        aliases: &[],
        kind: ConnectorType::Sink,
        version: env!("CARGO_PKG_VERSION"),
        config_def: config::sink_def,
        new_connector: || Box::new(FileStreamSinkConnector::default()),
        new_task: || Task::Sink(Box::<FileStreamSinkTask>::default()),
    }
}
