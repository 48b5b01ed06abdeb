//! The framework's connector config keys (`ConnectorConfig`,
//! `SourceConnectorConfig`, `SinkConnectorConfig`), merged into every
//! connector's definition for `validate` and `/connector-plugins/{p}/config`.

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::connector::ConnectorType;

const COMMON: &str = "Common";
const TRANSFORMS: &str = "Transforms";
const PREDICATES: &str = "Predicates";
const ERRORS: &str = "Error Handling";

fn no_control_chars(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("String may not be empty".to_string());
    }
    if s.chars().any(char::is_control) {
        return Err("String may not contain control sequences".to_string());
    }
    Ok(())
}

fn valid_regex(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    regex::Regex::new(s)
        .map(|_| ())
        .map_err(|e| format!("Invalid regex: {e}"))
}

/// The framework keys for a connector of the given type.
pub fn framework_def(kind: ConnectorType) -> ConfigDef {
    let mut d = ConfigDef::new();
    d.define(
        "name",
        ConfigType::String,
        Importance::High,
        "Globally unique name to use for this connector.",
    )
    .validator(Validator::Custom {
        check: no_control_chars,
        describe: "non-empty string without ISO control characters",
    })
    .group(COMMON, 1)
    .display("Connector name")
    .add();
    d.define("connector.class", ConfigType::String, Importance::High, "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector. If the connector is org.apache.kafka.connect.file.FileStreamSinkConnector, you can either specify this full name,  or use \"FileStreamSink\" or \"FileStreamSinkConnector\" to make the configuration a bit shorter")
        .group(COMMON, 2)
        .display("Connector class")
        .add();
    d.define(
        "tasks.max",
        ConfigType::Int,
        Importance::High,
        "Maximum number of tasks to use for this connector.",
    )
    .default("1")
    .validator(Validator::at_least(1.0))
    .group(COMMON, 3)
    .display("Tasks max")
    .add();
    d.define("tasks.max.enforce", ConfigType::Boolean, Importance::Low, "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector.")
        .default("true")
        .group(COMMON, 4)
        .display("Enforce tasks max")
        .add();
    if kind == ConnectorType::Sink {
        d.define(
            "topics",
            ConfigType::List,
            Importance::High,
            "List of topics to consume, separated by commas",
        )
        .default("")
        .group(COMMON, 4)
        .display("Topics")
        .add();
        d.define("topics.regex", ConfigType::String, Importance::High, "Regular expression giving topics to consume. Only one of topics or topics.regex should be specified.")
            .default("")
            .validator(Validator::Custom { check: valid_regex, describe: "valid regex" })
            .group(COMMON, 4)
            .display("Topics regex")
            .add();
    }
    for (i, (key, doc)) in [
        ("key.converter", "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the keys in messages written to or read from Kafka."),
        ("value.converter", "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the values in messages written to or read from Kafka."),
        ("header.converter", "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the header values in messages written to or read from Kafka."),
    ]
    .into_iter()
    .enumerate()
    {
        d.define(key, ConfigType::Class, Importance::Low, doc)
            .default_null()
            .group(COMMON, 5 + i as i32)
            .add();
    }
    d.define("config.action.reload", ConfigType::String, Importance::Low, "The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties.")
        .default("restart")
        .validator(Validator::OneOf(&["none", "restart"]))
        .group(COMMON, 8)
        .add();
    d.define(
        "transforms",
        ConfigType::List,
        Importance::Low,
        "Aliases for the transformations to be applied to records.",
    )
    .default("")
    .group(TRANSFORMS, 0)
    .add();
    d.define(
        "predicates",
        ConfigType::List,
        Importance::Low,
        "Aliases for the predicates used by transformations.",
    )
    .default("")
    .group(PREDICATES, 0)
    .add();
    d.define("errors.retry.timeout", ConfigType::Long, Importance::Medium, "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
        .default("0")
        .group(ERRORS, 1)
        .add();
    d.define("errors.retry.delay.max.ms", ConfigType::Long, Importance::Medium, "The maximum duration in milliseconds between consecutive retry attempts. Jitter will be added to the delay once this limit is reached to prevent thundering herd issues.")
        .default("60000")
        .group(ERRORS, 2)
        .add();
    d.define("errors.tolerance", ConfigType::String, Importance::Medium, "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
        .default("none")
        .validator(Validator::OneOf(&["none", "all"]))
        .group(ERRORS, 3)
        .add();
    d.define("errors.log.enable", ConfigType::Boolean, Importance::Medium, "If true, write each error and the details of the failed operation and problematic record to the Connect application log.")
        .default("false")
        .group(ERRORS, 4)
        .add();
    d.define(
        "errors.log.include.messages",
        ConfigType::Boolean,
        Importance::Medium,
        "Whether to include in the log the Connect record that resulted in a failure.",
    )
    .default("false")
    .group(ERRORS, 5)
    .add();
    match kind {
        ConnectorType::Sink => {
            d.define("errors.deadletterqueue.topic.name", ConfigType::String, Importance::Medium, "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ.")
                .default("")
                .group(ERRORS, 6)
                .add();
            d.define("errors.deadletterqueue.topic.replication.factor", ConfigType::Short, Importance::Medium, "Replication factor used to create the dead letter queue topic when it doesn't already exist.")
                .default("3")
                .group(ERRORS, 7)
                .add();
            d.define("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, Importance::Medium, "If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys, all error context header keys will start with __connect.errors.")
                .default("false")
                .group(ERRORS, 8)
                .add();
        }
        ConnectorType::Source => {
            d.define(
                "topic.creation.groups",
                ConfigType::List,
                Importance::Low,
                "Groups of configurations for topics created by source connectors",
            )
            .default("")
            .group("Topic Creation", 1)
            .add();
            d.define("exactly.once.support", ConfigType::String, Importance::Medium, "Permitted values are requested, required. Exactly-once source support needs distributed mode; standalone accepts 'requested' only.")
                .default("requested")
                .validator(Validator::OneOfIgnoreCase(&["REQUIRED", "REQUESTED"]))
                .group("Exactly Once Support", 1)
                .add();
            d.define(
                "transaction.boundary",
                ConfigType::String,
                Importance::Medium,
                "Permitted values are: poll, interval, connector.",
            )
            .default("poll")
            .validator(Validator::OneOfIgnoreCase(&[
                "INTERVAL",
                "POLL",
                "CONNECTOR",
            ]))
            .group("Exactly Once Support", 2)
            .add();
            d.define(
                "offsets.storage.topic",
                ConfigType::String,
                Importance::Low,
                "The name of a separate offsets topic to use for this connector.",
            )
            .default_null()
            .group("offsets.topic", 1)
            .add();
        }
    }
    d
}
