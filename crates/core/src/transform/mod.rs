//! Single Message Transforms and predicates (KIP-66, KIP-585): the
//! `transforms=…` / `predicates=…` grammar of connector configs, and the
//! chain applied to every record.

// Tests unwrap freely; outside tests record data must never panic.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod cast;
mod date_format;
mod drop_headers;
mod extract_field;
mod filter;
mod flatten;
#[cfg(any(test, feature = "golden"))]
pub mod golden;
mod header_from;
mod hoist_field;
mod insert_field;
mod insert_header;
mod java_regex;
mod mask_field;
mod predicates;
mod regex_router;
mod registry;
mod replace_field;
mod set_schema_metadata;
mod timestamp_converter;
mod timestamp_router;
mod util;
mod value_to_key;

use std::collections::HashMap;

pub use registry::{
    predicate_classes, transformation_classes, BuildPredicate, BuildTransform, PluginClass,
    PredicatePlugin, Props, TransformPlugin, TransformPlugins,
};

use crate::config::{split_list, ConfigDef, ConfigValue};
use crate::record::ConnectRecord;
use crate::ConnectError;

/// A transform (`org.apache.kafka.connect.transforms.Transformation`).
/// Returning `Ok(None)` drops the record, as a Java transform returning null.
pub trait Transformation: Send + Sync + std::fmt::Debug {
    /// Transforms one record.
    fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError>;

    /// Transforms one record in place; `Ok(false)` drops it. The chain calls
    /// this: a record is a few hundred bytes, and moving it in and out of
    /// every transform costs more than most transforms' work. The default
    /// goes through [`Transformation::apply`]; the built-in transforms
    /// implement this and derive `apply` from it.
    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        match self.apply(std::mem::take(record))? {
            Some(r) => {
                *record = r;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Counters the transform keeps (records dropped, by reason; indicator
    /// hits; detections), read whenever metrics are scraped.
    fn counters(&self) -> Vec<TransformCounter> {
        Vec::new()
    }
}

/// One counter of a transform, served at `/metrics` as
/// `rampart_transform_<name>` with the connector, task and transform alias
/// as labels, plus its own.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformCounter {
    /// Snake case, ending in `_total`.
    pub name: &'static str,
    /// Labels beyond connector, task and transform (e.g. `reason`).
    pub labels: Vec<(&'static str, String)>,
    /// The count so far.
    pub value: u64,
}

/// A predicate (`org.apache.kafka.connect.transforms.predicates.Predicate`).
pub trait Predicate: Send + Sync + std::fmt::Debug {
    /// Whether the record matches.
    fn test(&self, record: &ConnectRecord) -> bool;
}

#[derive(Debug)]
struct Stage {
    alias: String,
    class: String,
    transform: Box<dyn Transformation>,
    predicate: Option<(Box<dyn Predicate>, bool)>,
}

/// The transforms of one connector, in order, each with its optional
/// predicate and `negate` flag.
#[derive(Debug, Default)]
pub struct TransformationChain {
    stages: Vec<Stage>,
}

/// A config error on one key of a connector's transform settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformConfigError {
    /// The connector config key at fault, e.g. `transforms.route.regex`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for TransformConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

fn sub_config(config: &HashMap<String, String>, prefix: &str) -> HashMap<String, String> {
    config
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}

fn err(key: String, message: impl Into<String>) -> TransformConfigError {
    TransformConfigError {
        key,
        message: message.into(),
    }
}

impl TransformationChain {
    /// Builds the chain from a connector config. Every problem is reported
    /// against the key that causes it, so `validate` can show it there.
    pub fn from_config(
        config: &HashMap<String, String>,
    ) -> Result<Self, Vec<TransformConfigError>> {
        Self::from_config_in(config, registry::builtin())
    }

    /// As [`from_config`](Self::from_config), with the classes of `plugins`.
    pub fn from_config_in(
        config: &HashMap<String, String>,
        plugins: &TransformPlugins,
    ) -> Result<Self, Vec<TransformConfigError>> {
        let mut errors = Vec::new();
        let mut predicates: HashMap<String, Box<dyn Predicate>> = HashMap::new();
        let predicate_aliases = config
            .get("predicates")
            .map(|s| split_list(s))
            .unwrap_or_default();
        for alias in &predicate_aliases {
            let type_key = format!("predicates.{alias}.type");
            let Some(class) = config.get(&type_key) else {
                errors.push(err(
                    type_key.clone(),
                    format!(
                        "Missing required configuration \"{type_key}\" which has no default value."
                    ),
                ));
                continue;
            };
            let props = sub_config(config, &format!("predicates.{alias}."));
            match plugins.build_predicate(class, &props) {
                Ok(p) => {
                    predicates.insert(alias.clone(), p);
                }
                Err(e) => errors.push(err(e.key_in(&format!("predicates.{alias}.")), e.message)),
            }
        }
        let mut stages = Vec::new();
        let aliases = config
            .get("transforms")
            .map(|s| split_list(s))
            .unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for alias in aliases {
            if !seen.insert(alias.clone()) {
                errors.push(err(
                    "transforms".to_string(),
                    format!("Duplicate alias provided: {alias}"),
                ));
                continue;
            }
            let prefix = format!("transforms.{alias}.");
            let type_key = format!("{prefix}type");
            let Some(class) = config.get(&type_key) else {
                errors.push(err(
                    type_key.clone(),
                    format!(
                        "Missing required configuration \"{type_key}\" which has no default value."
                    ),
                ));
                continue;
            };
            let props = sub_config(config, &prefix);
            let predicate = match props.get("predicate").filter(|p| !p.trim().is_empty()) {
                None => None,
                Some(name) => {
                    let negate = match props.get("negate").map(|n| n.trim()) {
                        None => false,
                        Some(n) if n.eq_ignore_ascii_case("true") => true,
                        Some(n) if n.eq_ignore_ascii_case("false") => false,
                        Some(n) => {
                            errors.push(err(
                                format!("{prefix}negate"),
                                format!("Invalid value {n} for configuration {prefix}negate: Expected value to be either true or false"),
                            ));
                            continue;
                        }
                    };
                    match predicates.remove(name.trim()) {
                        Some(p) => Some((p, negate)),
                        None => {
                            // Kafka allows one predicate to guard several transforms.
                            if predicate_aliases.iter().any(|a| a == name.trim()) {
                                let class = config
                                    .get(&format!("predicates.{}.type", name.trim()))
                                    .cloned()
                                    .unwrap_or_default();
                                let pprops =
                                    sub_config(config, &format!("predicates.{}.", name.trim()));
                                plugins
                                    .build_predicate(&class, &pprops)
                                    .ok()
                                    .map(|p| (p, negate))
                            } else {
                                errors.push(err(
                                    format!("{prefix}predicate"),
                                    format!(
                                        "Invalid value {name} for configuration {prefix}predicate: The predicate alias must be listed in predicates"
                                    ),
                                ));
                                continue;
                            }
                        }
                    }
                }
            };
            match plugins.build_transformation(class, &props) {
                Ok(transform) => stages.push(Stage {
                    alias,
                    class: class.trim().to_string(),
                    transform,
                    predicate,
                }),
                Err(e) => errors.push(err(e.key_in(&prefix), e.message)),
            }
        }
        if errors.is_empty() {
            Ok(TransformationChain { stages })
        } else {
            Err(errors)
        }
    }

    /// Whether there are no transforms.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Every transform's counters, with its alias.
    pub fn counters(&self) -> Vec<(&str, TransformCounter)> {
        self.stages
            .iter()
            .flat_map(|s| {
                s.transform
                    .counters()
                    .into_iter()
                    .map(move |c| (s.alias.as_str(), c))
            })
            .collect()
    }

    /// The transform aliases, in order.
    pub fn aliases(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().map(|s| s.alias.as_str())
    }

    /// Applies every transform in order; `Ok(None)` means a transform
    /// dropped the record.
    pub fn apply(&self, record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        self.apply_traced(record).map_err(|e| e.error)
    }

    /// Like [`apply`](Self::apply), but a failure names the transform class
    /// that failed, for the dead-letter queue's context headers.
    pub fn apply_traced(
        &self,
        mut record: ConnectRecord,
    ) -> Result<Option<ConnectRecord>, TransformError> {
        for stage in &self.stages {
            if let Some((predicate, negate)) = &stage.predicate {
                if predicate.test(&record) == *negate {
                    continue;
                }
            }
            match stage.transform.apply_in_place(&mut record) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(error) => {
                    return Err(TransformError {
                        class: stage.class.clone(),
                        error,
                    })
                }
            }
        }
        Ok(Some(record))
    }
}

/// A transform failed on a record.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformError {
    /// The class of the transform that failed.
    pub class: String,
    /// The failure.
    pub error: ConnectError,
}

/// An error building one transform or predicate: the key (relative to the
/// alias prefix, e.g. `regex`) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginConfigError {
    /// The key relative to `transforms.<alias>.` (or `type` for a bad class).
    pub key: String,
    /// The message, in Kafka's words where Kafka has them.
    pub message: String,
}

impl PluginConfigError {
    /// Builds an error.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        PluginConfigError {
            key: key.into(),
            message: message.into(),
        }
    }

    fn key_in(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.key)
    }
}

impl From<Vec<String>> for PluginConfigError {
    /// Wraps `ConfigDef::parse` errors; the key is recovered from Kafka's
    /// message shape (`… for configuration <key>: …` or `"<key>"`).
    fn from(errors: Vec<String>) -> Self {
        let message = errors.join("; ");
        let key = errors
            .first()
            .and_then(|e| {
                e.split_once(" for configuration ")
                    .and_then(|(_, rest)| rest.split(':').next())
                    .map(str::to_string)
                    .or_else(|| e.split('"').nth(1).map(str::to_string))
            })
            .unwrap_or_else(|| "type".to_string());
        PluginConfigError { key, message }
    }
}

/// Validation results for the transform and predicate keys of a connector
/// config, for `config/validate`: one entry per `transforms.<a>.type` and
/// `predicates.<p>.type` plus one per key that has an error.
pub fn validate(config: &HashMap<String, String>) -> Vec<ConfigValue> {
    validate_in(config, registry::builtin())
}

/// As [`validate`], with the classes of `plugins`.
pub fn validate_in(
    config: &HashMap<String, String>,
    plugins: &TransformPlugins,
) -> Vec<ConfigValue> {
    let mut values: Vec<ConfigValue> = Vec::new();
    let errors = TransformationChain::from_config_in(config, plugins)
        .err()
        .unwrap_or_default();
    let mut push = |key: String| {
        if values.iter().any(|v| v.name == key) {
            return;
        }
        let errs: Vec<String> = errors
            .iter()
            .filter(|e| e.key == key)
            .map(|e| e.message.clone())
            .collect();
        values.push(ConfigValue {
            value: config.get(&key).cloned(),
            name: key,
            recommended_values: Vec::new(),
            errors: errs,
            visible: true,
        });
    };
    for alias in config
        .get("transforms")
        .map(|s| split_list(s))
        .unwrap_or_default()
    {
        push(format!("transforms.{alias}.type"));
    }
    for alias in config
        .get("predicates")
        .map(|s| split_list(s))
        .unwrap_or_default()
    {
        push(format!("predicates.{alias}.type"));
    }
    for e in &errors {
        push(e.key.clone());
    }
    values
}

/// The config definition of a transform or predicate class, for
/// `/connector-plugins/{p}/config`.
pub fn plugin_config_def(class: &str) -> Option<ConfigDef> {
    registry::builtin().config_def(class)
}

#[cfg(test)]
mod chain_tests {
    use std::collections::HashMap;

    use super::TransformationChain;

    #[test]
    fn invalid_negate_is_reported_on_its_key() {
        let config: HashMap<String, String> = [
            ("transforms", "drop"),
            (
                "transforms.drop.type",
                "org.apache.kafka.connect.transforms.Filter",
            ),
            ("transforms.drop.predicate", "tomb"),
            ("transforms.drop.negate", "maybe"),
            ("predicates", "tomb"),
            (
                "predicates.tomb.type",
                "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let errors = TransformationChain::from_config(&config).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].key, "transforms.drop.negate");
        assert_eq!(
            errors[0].message,
            "Invalid value maybe for configuration transforms.drop.negate: Expected value to be either true or false"
        );
    }
}
