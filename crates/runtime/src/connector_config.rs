//! The framework's connector config keys (`ConnectorConfig`,
//! `SourceConnectorConfig`, `SinkConnectorConfig`), merged into every
//! connector's definition for `validate` and `/connector-plugins/{p}/config`.
//!
//! Names, documentation, groups, orders, widths and display names are Java
//! Connect 3.9's exactly, as its REST API serves them: the REST
//! differential test compares the two.

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator, Width};
use rampart_core::connector::ConnectorType;

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

/// The framework keys for a connector of the given type, in Java's order.
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
    .group("Common", 1)
    .width(Width::Medium)
    .display("Connector name")
    .add();
    d.define("connector.class", ConfigType::String, Importance::High, "Name or alias of the class for this connector. Must be a subclass of org.apache.kafka.connect.connector.Connector. If the connector is org.apache.kafka.connect.file.FileStreamSinkConnector, you can either specify this full name,  or use \"FileStreamSink\" or \"FileStreamSinkConnector\" to make the configuration a bit shorter")
        .group("Common", 2)
        .width(Width::Long)
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
    .group("Common", 3)
    .width(Width::Short)
    .display("Tasks max")
    .add();
    d.define("tasks.max.enforce", ConfigType::Boolean, Importance::Low, "(Deprecated) Whether to enforce that the tasks.max property is respected by the connector. By default, connectors that generate too many tasks will fail, and existing sets of tasks that exceed the tasks.max property will also be failed. If this property is set to false, then connectors will be allowed to generate more than the maximum number of tasks, and existing sets of tasks that exceed the tasks.max property will be allowed to run. This property is deprecated and will be removed in an upcoming major release.")
        .default("true")
        .group("Common", 4)
        .width(Width::Short)
        .display("Enforce tasks max")
        .add();
    d.define("key.converter", ConfigType::Class, Importance::Low, "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the keys in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.")
        .default_null()
        .group("Common", 5)
        .width(Width::Short)
        .display("Key converter class")
        .add();
    d.define("value.converter", ConfigType::Class, Importance::Low, "Converter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro.")
        .default_null()
        .group("Common", 6)
        .width(Width::Short)
        .display("Value converter class")
        .add();
    d.define("header.converter", ConfigType::Class, Importance::Low, "HeaderConverter class used to convert between Kafka Connect format and the serialized form that is written to Kafka. This controls the format of the header values in messages written to or read from Kafka, and since this is independent of connectors it allows any connector to work with any serialization format. Examples of common formats include JSON and Avro. By default, the SimpleHeaderConverter is used to serialize header values to strings and deserialize them by inferring the schemas.")
        .default_null()
        .group("Common", 7)
        .width(Width::Short)
        .display("Header converter class")
        .add();
    d.define(
        "transforms",
        ConfigType::List,
        Importance::Low,
        "Aliases for the transformations to be applied to records.",
    )
    .default("")
    .group("Transforms", 8)
    .width(Width::Long)
    .display("Transforms")
    .add();
    d.define(
        "predicates",
        ConfigType::List,
        Importance::Low,
        "Aliases for the predicates used by transformations.",
    )
    .default("")
    .group("Predicates", 9)
    .width(Width::Long)
    .display("Predicates")
    .add();
    d.define("config.action.reload", ConfigType::String, Importance::Low, "The action that Connect should take on the connector when changes in external configuration providers result in a change in the connector's configuration properties. A value of 'none' indicates that Connect will do nothing. A value of 'restart' indicates that Connect should restart/reload the connector with the updated configuration properties.The restart may actually be scheduled in the future if the external configuration provider indicates that a configuration value will expire in the future.")
        .default("restart")
        .validator(Validator::OneOf(&["none", "restart"]))
        .group("Common", 10)
        .width(Width::Medium)
        .display("Reload Action")
        .add();
    d.define("errors.retry.timeout", ConfigType::Long, Importance::Medium, "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries.")
        .default("0")
        .group("Error Handling", 1)
        .width(Width::Medium)
        .display("Retry Timeout for Errors")
        .add();
    d.define("errors.retry.delay.max.ms", ConfigType::Long, Importance::Medium, "The maximum duration in milliseconds between consecutive retry attempts. Jitter will be added to the delay once this limit is reached to prevent thundering herd issues.")
        .default("60000")
        .group("Error Handling", 2)
        .width(Width::Medium)
        .display("Maximum Delay Between Retries for Errors")
        .add();
    d.define("errors.tolerance", ConfigType::String, Importance::Medium, "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records.")
        .default("none")
        .validator(Validator::OneOf(&["none", "all"]))
        .group("Error Handling", 3)
        .width(Width::Short)
        .display("Error Tolerance")
        .add();
    d.define("errors.log.enable", ConfigType::Boolean, Importance::Medium, "If true, write each error and the details of the failed operation and problematic record to the Connect application log. This is 'false' by default, so that only errors that are not tolerated are reported.")
        .default("false")
        .group("Error Handling", 4)
        .width(Width::Short)
        .display("Log Errors")
        .add();
    d.define("errors.log.include.messages", ConfigType::Boolean, Importance::Medium, "Whether to include in the log the Connect record that resulted in a failure. For sink records, the topic, partition, offset, and timestamp will be logged. For source records, the key and value (and their schemas), all headers, and the timestamp, Kafka topic, Kafka partition, source partition, and source offset will be logged. This is 'false' by default, which will prevent record keys, values, and headers from being written to log files.")
        .default("false")
        .group("Error Handling", 5)
        .width(Width::Short)
        .display("Log Error Details")
        .add();
    match kind {
        ConnectorType::Sink => sink_keys(&mut d),
        ConnectorType::Source => source_keys(&mut d),
    }
    d
}

fn sink_keys(d: &mut ConfigDef) {
    d.define(
        "topics",
        ConfigType::List,
        Importance::High,
        "List of topics to consume, separated by commas",
    )
    .default("")
    .group("Common", 4)
    .width(Width::Long)
    .display("Topics")
    .add();
    d.define("topics.regex", ConfigType::String, Importance::High, "Regular expression giving topics to consume. Under the hood, the regex is compiled to a <code>java.util.regex.Pattern</code>. Only one of topics or topics.regex should be specified.")
        .default("")
        .validator(Validator::Custom { check: valid_regex, describe: "valid regex" })
        .group("Common", 4)
        .width(Width::Long)
        .display("Topics regex")
        .add();
    d.define("errors.deadletterqueue.topic.name", ConfigType::String, Importance::Medium, "The name of the topic to be used as the dead letter queue (DLQ) for messages that result in an error when processed by this sink connector, or its transformations or converters. The topic name is blank by default, which means that no messages are to be recorded in the DLQ.")
        .default("")
        .group("Error Handling", 6)
        .width(Width::Medium)
        .display("Dead Letter Queue Topic Name")
        .add();
    d.define("errors.deadletterqueue.topic.replication.factor", ConfigType::Short, Importance::Medium, "Replication factor used to create the dead letter queue topic when it doesn't already exist.")
        .default("3")
        .group("Error Handling", 7)
        .width(Width::Medium)
        .display("Dead Letter Queue Topic Replication Factor")
        .add();
    d.define("errors.deadletterqueue.context.headers.enable", ConfigType::Boolean, Importance::Medium, "If true, add headers containing error context to the messages written to the dead letter queue. To avoid clashing with headers from the original record, all error context header keys, all error context header keys will start with <code>__connect.errors.</code>")
        .default("false")
        .group("Error Handling", 8)
        .width(Width::Medium)
        .display("Enable Error Context Headers")
        .add();
}

fn source_keys(d: &mut ConfigDef) {
    d.define(
        "topic.creation.groups",
        ConfigType::List,
        Importance::Low,
        "Groups of configurations for topics created by source connectors",
    )
    .default("")
    .group("Topic Creation", 1)
    .width(Width::Long)
    .display("Topic Creation Groups")
    .add();
    d.define("exactly.once.support", ConfigType::String, Importance::Medium, "Permitted values are requested, required. If set to \"required\", forces a preflight check for the connector to ensure that it can provide exactly-once semantics with the given configuration. Some connectors may be capable of providing exactly-once semantics but not signal to Connect that they support this; in that case, documentation for the connector should be consulted carefully before creating it, and the value for this property should be set to \"requested\". Additionally, if the value is set to \"required\" but the worker that performs preflight validation does not have exactly-once support enabled for source connectors, requests to create or validate the connector will fail.")
        .default("requested")
        .validator(Validator::OneOfIgnoreCase(&["REQUIRED", "REQUESTED"]))
        .group("Exactly Once Support", 2)
        .width(Width::Short)
        .display("Exactly once support")
        .add();
    d.define("transaction.boundary", ConfigType::String, Importance::Medium, "Permitted values are: poll, interval, connector. If set to 'poll', a new producer transaction will be started and committed for every batch of records that each task from this connector provides to Connect. If set to 'connector', relies on connector-defined transaction boundaries; note that not all connectors are capable of defining their own transaction boundaries, and in that case, attempts to instantiate a connector with this value will fail. Finally, if set to 'interval', commits transactions only after a user-defined time interval has passed.")
        .default("poll")
        .validator(Validator::OneOfIgnoreCase(&["INTERVAL", "POLL", "CONNECTOR"]))
        .group("Exactly Once Support", 3)
        .width(Width::Short)
        .display("Transaction Boundary")
        .add();
    d.define("transaction.boundary.interval.ms", ConfigType::Long, Importance::Low, "If 'transaction.boundary' is set to 'interval', determines the interval for producer transaction commits by connector tasks. If unset, defaults to the value of the worker-level 'offset.flush.interval.ms' property. It has no effect if a different transaction.boundary is specified.")
        .default_null()
        .group("Exactly Once Support", 4)
        .width(Width::Short)
        .display("Transaction boundary interval")
        .add();
    d.define("offsets.storage.topic", ConfigType::String, Importance::Low, "The name of a separate offsets topic to use for this connector. If empty or not specified, the worker’s global offsets topic name will be used. If specified, the offsets topic will be created if it does not already exist on the Kafka cluster targeted by this connector (which may be different from the one used for the worker's global offsets topic if the bootstrap.servers property of the connector's producer has been overridden from the worker's). Only applicable in distributed mode; in standalone mode, setting this property will have no effect.")
        .default_null()
        .group("offsets.topic", 1)
        .width(Width::Long)
        .display("Offsets topic")
        .add();
}
