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
        // Values as submitted (placeholders unresolved); defaults for absent
        // keys; null where the value failed its type parse, as in Java.
        if key.ty != ConfigType::Password && value.value.is_some() {
            if let Some(r) = raw.get(&value.name) {
                value.value = Some(r.clone());
            }
        }
        configs.push(ConfigInfo {
            definition: ConfigKeyInfo::from(key),
            value,
        });
    }
    // Java's enriched definition puts the transforms' keys after the
    // framework's and before the connector's own.
    let at = crate::connector_config::framework_def(plugin.kind)
        .keys()
        .len()
        .min(configs.len());
    let mut enriched = Vec::new();
    for (key, value) in transform_infos(plugins.transforms(), resolved, raw) {
        if let Some(g) = &key.group {
            if !groups.contains(g) {
                groups.push(g.clone());
            }
        }
        enriched.push(ConfigInfo {
            definition: ConfigKeyInfo::from(&key),
            value,
        });
    }
    configs.splice(at..at, enriched);
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
            validator_name: None,
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

/// One transform or predicate alias, as Java's `ConnectorConfig.enrich`
/// builds it into the definition: the `type` key, the class's own keys
/// embedded under the alias, and for transforms `negate` and `predicate`.
struct Alias {
    prefix: String,
    group: String,
    kind: &'static str,
    alias: String,
}

fn transform_infos(
    plugins: &rampart_core::transform::TransformPlugins,
    resolved: &HashMap<String, String>,
    raw: &ConnectorConfig,
) -> Vec<(ConfigKey, ConfigValue)> {
    let aliases = |list: &str, kind: &'static str, group: &str| -> Vec<Alias> {
        rampart_core::config::split_list(resolved.get(list).map(String::as_str).unwrap_or(""))
            .into_iter()
            .map(|alias| Alias {
                prefix: format!("{list}.{alias}."),
                group: format!("{group}: {alias}"),
                kind,
                alias,
            })
            .collect()
    };
    let mut all = aliases("transforms", "transformation", "Transforms");
    all.extend(aliases("predicates", "predicate", "Predicates"));

    // Errors from building the chain that the definitions cannot show (an
    // unknown predicate alias, a transform's own cross-key checks).
    let chain_errors = rampart_core::transform::validate_in(resolved, plugins);
    let mut out: Vec<(ConfigKey, ConfigValue)> = Vec::new();
    for a in &all {
        let type_name = format!("{}type", a.prefix);
        let mut classes: Vec<String> = if a.kind == "transformation" {
            plugins
                .transformation_classes()
                .into_iter()
                .map(|c| c.class.to_string())
                .collect()
        } else {
            plugins
                .predicate_classes()
                .into_iter()
                .map(|c| c.class.to_string())
                .collect()
        };
        classes.sort();
        let class = resolved.get(&type_name).map(|c| c.trim().to_string());
        let def = class.as_deref().and_then(|c| plugins.config_def(c));
        let type_key = ConfigKey {
            name: type_name.clone(),
            ty: ConfigType::Class,
            default: None,
            importance: Importance::High,
            documentation: format!("Class for the '{}' {}.", a.alias, a.kind),
            group: Some(a.group.clone()),
            order_in_group: 0,
            width: Width::Long,
            display_name: if a.kind == "transformation" {
                format!("Transformation type for {}", a.alias)
            } else {
                format!("Predicate type for {}", a.alias)
            },
            dependents: Vec::new(),
            validator: None,
            validator_name: None,
        };
        let type_error = match (&class, &def) {
            (None, _) => Some(format!(
                "Missing required configuration \"{type_name}\" which has no default value."
            )),
            (Some(c), None) => Some(format!(
                "Invalid value {c} for configuration {type_name}: Class {c} could not be found."
            )),
            _ => None,
        };
        out.push((
            type_key,
            ConfigValue {
                name: type_name.clone(),
                value: if type_error.is_none() {
                    raw.get(&type_name).cloned()
                } else {
                    None
                },
                recommended_values: classes,
                errors: type_error.into_iter().collect(),
                visible: true,
            },
        ));
        let Some(def) = def else { continue };
        let mut enriched = rampart_core::config::ConfigDef::new();
        enriched.embed(&a.prefix, &a.group, 1, &def);
        if a.kind == "transformation" {
            let mut own = rampart_core::config::ConfigDef::new();
            own.define(
                "negate",
                ConfigType::Boolean,
                Importance::Medium,
                "Whether the configured predicate should be negated.",
            )
            .default("false")
            .add();
            own.define(
                "predicate",
                ConfigType::String,
                Importance::Medium,
                "The alias of a predicate used to determine whether to apply this transformation.",
            )
            .default_null()
            .add();
            enriched.embed(&a.prefix, &a.group, 1 + def.keys().len() as i32, &own);
        }
        for mut value in enriched.validate(resolved) {
            let Some(key) = enriched.key(&value.name).cloned() else {
                continue;
            };
            if key.ty != ConfigType::Password && value.value.is_some() {
                if let Some(r) = raw.get(&value.name) {
                    value.value = Some(r.clone());
                }
            }
            out.push((key, value));
        }
    }
    for chain in chain_errors {
        if chain.name.ends_with(".type") {
            continue;
        }
        match out.iter_mut().find(|(k, _)| k.name == chain.name) {
            Some((_, v)) => {
                for e in chain.errors {
                    if !v.errors.contains(&e) && v.errors.is_empty() {
                        v.errors.push(e);
                    }
                }
            }
            None if !chain.errors.is_empty() => {
                let key = ConfigKey {
                    name: chain.name.clone(),
                    ty: ConfigType::String,
                    default: None,
                    importance: Importance::High,
                    documentation: String::new(),
                    group: None,
                    order_in_group: -1,
                    width: Width::None,
                    display_name: chain.name.clone(),
                    dependents: Vec::new(),
                    validator: None,
                    validator_name: None,
                };
                out.push((key, chain));
            }
            None => {}
        }
    }
    out
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
