//! The fake worker's plugins: one source and one sink connector with small
//! config definitions, validated the way the runtime validates (framework
//! keys first, then the connector's own, Kafka's messages), so `validate`
//! and create-time checks answer what a real worker would.

use std::collections::HashMap;

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator, Width};
use rampart_core::connector::ConnectorType;
use rampart_core::herder::{ConfigInfo, ConfigInfos, ConfigKeyInfo, ConnectorConfig, PluginInfo};
use rampart_core::{ConnectError, ConnectResult};

/// The class of the fake source connector.
pub const FAKE_SOURCE: &str = "org.rampart.testing.FakeSourceConnector";
/// The class of the fake sink connector.
pub const FAKE_SINK: &str = "org.rampart.testing.FakeSinkConnector";

const VERSION: &str = "1.0.0";
// The worker's Kafka version, which non-connector plugins report.
const KAFKA_VERSION: &str = "3.9.0";

#[derive(Debug)]
pub(crate) struct Plugin {
    pub(crate) class: &'static str,
    pub(crate) kind: ConnectorType,
}

// Sorted by class, the order Java lists `PluginDesc`s in.
static PLUGINS: [Plugin; 2] = [
    Plugin {
        class: FAKE_SINK,
        kind: ConnectorType::Sink,
    },
    Plugin {
        class: FAKE_SOURCE,
        kind: ConnectorType::Source,
    },
];

impl Plugin {
    fn simple_name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }

    /// The task class the connector's task configs name.
    pub(crate) fn task_class(&self) -> String {
        self.class.replace("Connector", "Task")
    }

    /// The framework's keys, then the connector's own (Java's enriched
    /// definition order, which `validate` answers in).
    fn validation_def(&self) -> ConfigDef {
        let mut def = framework_def(self.kind);
        def.merge(&own_def(self.kind));
        def
    }
}

/// The plugin a class name or alias designates: the class, its simple name,
/// or the simple name without `Connector`, as the runtime matches them.
pub(crate) fn find(name: &str) -> ConnectResult<&'static Plugin> {
    let name = name.trim();
    PLUGINS
        .iter()
        .find(|p| {
            name == p.class
                || name == p.simple_name()
                || p.simple_name().strip_suffix("Connector") == Some(name)
        })
        .ok_or_else(|| {
            let available: Vec<String> = PLUGINS
                .iter()
                .map(|p| {
                    let kind = p.kind.as_str();
                    format!(
                        "PluginDesc{{klass=class {c}, name='{c}', version='{VERSION}', encodedVersion={VERSION}, type={kind}, typeName='{kind}', location='classpath'}}",
                        c = p.class
                    )
                })
                .collect();
            // A ConnectException in Java, hence a 500 rather than a 400.
            ConnectError::connect(format!(
                "Failed to find any class that implements Connector and which name matches {name}, available connectors are: {}",
                available.join(", ")
            ))
        })
}

fn no_control_chars(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("String may not be empty".to_string());
    }
    if s.chars().any(char::is_control) {
        return Err("String may not contain control sequences".to_string());
    }
    Ok(())
}

// A subset of the runtime's framework keys, with the same types, defaults
// and validators, so messages such as "Value must be at least 1" match.
fn framework_def(kind: ConnectorType) -> ConfigDef {
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
    d.define(
        "connector.class",
        ConfigType::String,
        Importance::High,
        "Name or alias of the class for this connector.",
    )
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
    if kind == ConnectorType::Sink {
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
        d.define(
            "topics.regex",
            ConfigType::String,
            Importance::High,
            "Regular expression giving topics to consume.",
        )
        .default("")
        .group("Common", 5)
        .width(Width::Long)
        .display("Topics regex")
        .add();
    }
    d
}

fn own_def(kind: ConnectorType) -> ConfigDef {
    let mut d = ConfigDef::new();
    match kind {
        ConnectorType::Source => {
            d.define(
                "topic",
                ConfigType::String,
                Importance::High,
                "The topic to publish data to",
            )
            .add();
            d.define(
                "batch.size",
                ConfigType::Int,
                Importance::Low,
                "The maximum number of records the source task can read from the file each time it is polled",
            )
            .default("2000")
            .validator(Validator::at_least(1.0))
            .add();
        }
        ConnectorType::Sink => {
            d.define(
                "file",
                ConfigType::String,
                Importance::High,
                "Destination filename. If not specified, the standard output will be used",
            )
            .default_null()
            .add();
        }
    }
    d
}

/// `GET /connector-plugins`.
pub(crate) fn infos(connectors_only: bool) -> Vec<PluginInfo> {
    let mut out: Vec<PluginInfo> = PLUGINS
        .iter()
        .map(|p| PluginInfo {
            class: p.class.to_string(),
            kind: p.kind.as_str().to_string(),
            version: Some(VERSION.to_string()),
        })
        .collect();
    if !connectors_only {
        for (class, kind) in [
            ("org.apache.kafka.connect.json.JsonConverter", "converter"),
            (
                "org.apache.kafka.connect.storage.SimpleHeaderConverter",
                "header_converter",
            ),
            (
                "org.apache.kafka.connect.transforms.InsertField$Value",
                "transformation",
            ),
            (
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
                "predicate",
            ),
        ] {
            out.push(PluginInfo {
                class: class.to_string(),
                kind: kind.to_string(),
                version: Some(KAFKA_VERSION.to_string()),
            });
        }
    }
    out
}

/// `GET /connector-plugins/{p}/config`: the plugin's own keys first, then
/// the framework's, as the runtime lists them.
pub(crate) fn config_keys(plugin: &str) -> ConnectResult<Vec<ConfigKeyInfo>> {
    // Only connectors are known here; anything else is an unknown plugin.
    let p =
        find(plugin).map_err(|_| ConnectError::NotFound(format!("Unknown plugin {plugin}.")))?;
    let mut def = own_def(p.kind);
    def.merge(&framework_def(p.kind));
    Ok(def.keys().iter().map(ConfigKeyInfo::from).collect())
}

/// Java's `Map.toString()`, which Kafka's messages print configs with.
fn java_map(config: &ConnectorConfig) -> String {
    let body: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", body.join(", "))
}

fn add_error(infos: &mut [ConfigInfo], key: &str, message: &str) {
    if let Some(c) = infos.iter_mut().find(|c| c.value.name == key) {
        c.value.errors.push(message.to_string());
    }
}

/// `config/validate`, and the check before a config is stored: a config
/// without `connector.class` is a 400 and an unknown class a 500, as the
/// runtime's herders answer; otherwise every key with its errors.
pub(crate) fn validate(config: &ConnectorConfig) -> ConnectResult<ConfigInfos> {
    let Some(class) = config.get("connector.class") else {
        return Err(ConnectError::BadRequest(format!(
            "Connector config {} contains no connector type",
            java_map(config)
        )));
    };
    let plugin = find(class)?;
    let def = plugin.validation_def();
    let props: HashMap<String, String> =
        config.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut configs: Vec<ConfigInfo> = def
        .validate(&props)
        .into_iter()
        .filter_map(|value| {
            let key = def.key(&value.name)?;
            Some(ConfigInfo {
                definition: ConfigKeyInfo::from(key),
                value,
            })
        })
        .collect();
    if plugin.kind == ConnectorType::Sink {
        let set = |k: &str| props.get(k).is_some_and(|v| !v.trim().is_empty());
        let message = match (set("topics"), set("topics.regex")) {
            (false, false) => Some("Must configure one of topics or topics.regex"),
            (true, true) => {
                Some("topics and topics.regex are mutually exclusive options, but both are set.")
            }
            _ => None,
        };
        if let Some(m) = message {
            add_error(&mut configs, "topics", m);
            add_error(&mut configs, "topics.regex", m);
        }
    }
    Ok(ConfigInfos {
        name: class.trim().to_string(),
        error_count: configs.iter().map(|c| c.value.errors.len()).sum(),
        groups: def.groups(),
        configs,
    })
}

/// The 400 message of a create or update with an invalid config.
pub(crate) fn invalid_config_message(infos: &ConfigInfos) -> String {
    let mut msg = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        infos.error_count
    );
    for e in infos.configs.iter().flat_map(|c| &c.value.errors) {
        msg.push('\n');
        msg.push_str(e);
    }
    msg.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    msg
}
