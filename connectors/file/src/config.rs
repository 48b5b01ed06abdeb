//! Config definitions of FileStreamSource and FileStreamSink, with Kafka's
//! keys, defaults and documentation.

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};

/// `file`
pub const FILE: &str = "file";
/// `topic`
pub const TOPIC: &str = "topic";
/// `batch.size`
pub const BATCH_SIZE: &str = "batch.size";

/// FileStreamSourceConnector's definition.
pub fn source_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define(
        FILE,
        ConfigType::String,
        Importance::High,
        "Source filename. If not specified, the standard input will be used",
    )
    .default_null()
    .add();
    d.define(
        TOPIC,
        ConfigType::String,
        Importance::High,
        "The topic to publish data to",
    )
    .validator(Validator::NonEmpty)
    .add();
    d.define(BATCH_SIZE, ConfigType::Int, Importance::Low, "The maximum number of records the source task can read from the file each time it is polled")
        .default("2000")
        .validator(Validator::at_least(1.0))
        .add();
    d
}

/// FileStreamSinkConnector's definition.
pub fn sink_def() -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define(
        FILE,
        ConfigType::String,
        Importance::High,
        "Destination filename. If not specified, the standard output will be used",
    )
    .default_null()
    .add();
    d
}
