//! `config/validate`: the framework keys, the connector's own keys, the
//! transform and predicate keys, and cross-key rules, with Kafka's messages.

use std::collections::{BTreeMap, HashMap};

use rampart_core::config::{ConfigKey, ConfigType, ConfigValue, Importance, Width};
use rampart_core::connector::ConnectorType;
use rampart_core::converter::{converter_for, header_converter_for};
use rampart_core::herder::{ConfigInfo, ConfigInfos, ConfigKeyInfo, ConnectorConfig};
use rampart_core::{ConnectError, ConnectResult};

use crate::plugins::Plugins;
use crate::worker_config::WorkerConfig;

/// Java's `Map.toString()` of a config, for Kafka's messages.
pub(crate) fn java_map(config: &ConnectorConfig) -> String {
    let body: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", body.join(", "))
}

fn add_error(values: &mut [ConfigValue], key: &str, message: &str) {
    if let Some(v) = values.iter_mut().find(|v| v.name == key) {
        if !v.errors.iter().any(|e| e == message) {
            v.errors.push(message.to_string());
        }
    }
}

/// Validates a connector config. `resolved` has config-provider placeholders
/// replaced; the response shows the values as submitted.
pub(crate) fn validate(
    plugins: &Plugins,
    worker: &WorkerConfig,
    raw: &ConnectorConfig,
    resolved: &HashMap<String, String>,
) -> ConnectResult<ConfigInfos> {
    let Some(class) = raw.get("connector.class") else {
        return Err(ConnectError::BadRequest(format!(
            "Connector config {} contains no connector type",
            java_map(raw)
        )));
    };
    let plugin = *plugins.connector(class)?;
    let def = plugins.connector_def(&plugin);
    let connector = (plugin.new_connector)();
    let mut values = connector.validate(&def, resolved);

    if plugin.kind == ConnectorType::Sink {
        let topics = resolved.get("topics").is_some_and(|t| !t.trim().is_empty());
        let regex = resolved
            .get("topics.regex")
            .is_some_and(|t| !t.trim().is_empty());
        let msg = match (topics, regex) {
            (false, false) => Some("Must configure one of topics or topics.regex"),
            (true, true) => {
                Some("topics and topics.regex are mutually exclusive options, but both are set.")
            }
            _ => None,
        };
        if let Some(m) = msg {
            add_error(&mut values, "topics", m);
            add_error(&mut values, "topics.regex", m);
        }
        if let Some(dlq) = resolved
            .get("errors.deadletterqueue.topic.name")
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
        {
            let listed = rampart_core::config::split_list(
                resolved.get("topics").map(String::as_str).unwrap_or(""),
            );
            if listed.iter().any(|t| t == dlq) {
                let m = format!(
                    "The DLQ topic '{dlq}' may not be included in the list of topics ('topics={}') consumed by the connector",
                    listed.join(",")
                );
                add_error(&mut values, "errors.deadletterqueue.topic.name", &m);
            }
        }
    }
    for key in ["key.converter", "value.converter"] {
        if let Some(c) = resolved.get(key).filter(|c| !c.trim().is_empty()) {
            let settings =
                rampart_core::config::originals_with_prefix(resolved, &format!("{key}."));
            if let Err(e) = converter_for(c, &settings, key == "key.converter") {
                add_error(
                    &mut values,
                    key,
                    &format!("Invalid value {c} for configuration {key}: {e}"),
                );
            }
        }
    }
    if let Some(c) = resolved
        .get("header.converter")
        .filter(|c| !c.trim().is_empty())
    {
        let settings = rampart_core::config::originals_with_prefix(resolved, "header.converter.");
        if let Err(e) = header_converter_for(c, &settings) {
            add_error(
                &mut values,
                "header.converter",
                &format!("Invalid value {c} for configuration header.converter: {e}"),
            );
        }
    }

    let mut groups = def.groups();
    let mut configs: Vec<ConfigInfo> = Vec::with_capacity(values.len());
    for mut value in values {
        let Some(key) = def.key(&value.name) else {
            continue;
        };
        // Values as submitted (placeholders unresolved); defaults for absent keys.
        if key.ty != ConfigType::Password {
            if let Some(r) = raw.get(&value.name) {
                value.value = Some(r.clone());
            }
        }
        configs.push(ConfigInfo {
            definition: ConfigKeyInfo::from(key),
            value,
        });
    }
    for value in rampart_core::transform::validate(resolved) {
        let (group, doc) = transform_key_doc(&value.name);
        if !groups.contains(&group) {
            groups.push(group.clone());
        }
        let key = ConfigKey {
            name: value.name.clone(),
            ty: if value.name.ends_with(".type") {
                ConfigType::Class
            } else {
                ConfigType::String
            },
            default: None,
            importance: Importance::High,
            documentation: doc,
            group: Some(group),
            order_in_group: -1,
            width: Width::Long,
            display_name: value.name.clone(),
            dependents: Vec::new(),
            validator: None,
        };
        let mut value = value;
        value.value = raw.get(&value.name).cloned();
        configs.push(ConfigInfo {
            definition: ConfigKeyInfo::from(&key),
            value,
        });
    }
    // Client overrides (`producer.override.sasl.jaas.config`, …) must make
    // clients librdkafka can build, merged with the worker's settings.
    for (name, error) in crate::kafka::override_errors(worker, resolved) {
        let group = "Client overrides".to_string();
        if !groups.contains(&group) {
            groups.push(group.clone());
        }
        let key = ConfigKey {
            name: name.clone(),
            ty: ConfigType::String,
            default: None,
            importance: Importance::Low,
            documentation: "A client setting the connector overrides.".to_string(),
            group: Some(group),
            order_in_group: -1,
            width: Width::Long,
            display_name: name.clone(),
            dependents: Vec::new(),
            validator: None,
        };
        // Client overrides often hold secrets: show what was submitted
        // (placeholders stay unresolved) only when it is not a password.
        let value = ConfigValue {
            value: raw.get(&name).map(|v| {
                if is_secret(&name) {
                    "[hidden]".to_string()
                } else {
                    v.clone()
                }
            }),
            name,
            recommended_values: Vec::new(),
            errors: vec![error],
            visible: true,
        };
        configs.push(ConfigInfo {
            definition: ConfigKeyInfo::from(&key),
            value,
        });
    }
    let error_count = configs.iter().map(|c| c.value.errors.len()).sum();
    Ok(ConfigInfos {
        name: class.trim().to_string(),
        error_count,
        groups,
        configs,
    })
}

fn is_secret(key: &str) -> bool {
    key.ends_with("password") || key.ends_with("jaas.config") || key.ends_with("keystore.key")
}

fn transform_key_doc(key: &str) -> (String, String) {
    let mut parts = key.splitn(3, '.');
    let kind = parts.next().unwrap_or_default();
    let alias = parts.next().unwrap_or_default();
    if kind == "predicates" {
        (
            format!("Predicates: {alias}"),
            format!("Class for the '{alias}' predicate."),
        )
    } else {
        (
            format!("Transforms: {alias}"),
            format!("Class for the '{alias}' transformation."),
        )
    }
}

/// The 400 message Kafka returns when a create or update is invalid.
pub(crate) fn invalid_config_message(infos: &ConfigInfos) -> String {
    let mut msg = format!(
        "Connector configuration is invalid and contains the following {} error(s):",
        infos.error_count
    );
    for c in &infos.configs {
        for e in &c.value.errors {
            msg.push('\n');
            msg.push_str(e);
        }
    }
    msg.push_str("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`");
    msg
}

/// Puts placeholders back into task configs, so secrets resolved for the
/// connector are not stored or shown (Kafka's `reverseTransform`).
pub(crate) fn reverse_transform(
    raw: &ConnectorConfig,
    resolved: &HashMap<String, String>,
    task: HashMap<String, String>,
) -> BTreeMap<String, String> {
    task.into_iter()
        .map(|(k, v)| {
            let original = raw
                .get(&k)
                .filter(|r| r.contains("${") && resolved.get(&k) == Some(&v));
            (k, original.cloned().unwrap_or(v))
        })
        .collect()
}
