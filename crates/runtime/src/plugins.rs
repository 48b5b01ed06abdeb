//! The plugin registry: connectors given by the binary's explicit list, plus
//! the built-in converters, transforms and predicates.

use rampart_core::config::ConfigDef;
use rampart_core::connector::{ConnectorPlugin, ConnectorType};
use rampart_core::converter::{CONVERTER_CLASSES, HEADER_CONVERTER_CLASSES};
use rampart_core::herder::PluginInfo;
use rampart_core::transform::TransformPlugins;
use rampart_core::ConnectError;

use crate::connector_config::framework_def;

/// Kafka version whose worker semantics and REST API Rampart follows.
pub const KAFKA_VERSION: &str = "3.9.0";

/// The plugins this worker can run.
#[derive(Debug, Clone)]
pub struct Plugins {
    connectors: Vec<ConnectorPlugin>,
    transforms: std::sync::Arc<TransformPlugins>,
}

impl Plugins {
    /// A registry of the given connector plugins, with Kafka's built-in
    /// transforms and predicates.
    pub fn new(connectors: Vec<ConnectorPlugin>) -> Self {
        Plugins {
            connectors,
            transforms: std::sync::Arc::new(TransformPlugins::builtin()),
        }
    }

    /// Replaces the transform and predicate classes (the built-in ones plus
    /// the binary's).
    pub fn with_transforms(mut self, transforms: TransformPlugins) -> Self {
        self.transforms = std::sync::Arc::new(transforms);
        self
    }

    /// The transform and predicate classes.
    pub fn transforms(&self) -> &TransformPlugins {
        &self.transforms
    }

    /// Finds a connector plugin by class name or alias.
    pub fn connector(&self, name: &str) -> Result<&ConnectorPlugin, ConnectError> {
        self.connectors.iter().find(|p| p.matches(name)).ok_or_else(|| {
            // Java lists them in PluginDesc order: by class name.
            let mut sorted: Vec<&ConnectorPlugin> = self.connectors.iter().collect();
            sorted.sort_by_key(|p| p.class);
            let available: Vec<String> = sorted
                .into_iter()
                .map(|p| {
                    format!(
                        "PluginDesc{{klass=class {}, name='{}', version='{}', encodedVersion={}, type={}, typeName='{}', location='classpath'}}",
                        p.class, p.class, p.version, p.version, p.kind.as_str(), p.kind.as_str()
                    )
                })
                .collect();
            ConnectError::connect(format!(
                "Failed to find any class that implements Connector and which name matches {}, available connectors are: {}",
                name.trim(),
                available.join(", ")
            ))
        })
    }

    /// The full definition of a connector: its own keys after the framework's.
    pub fn connector_def(&self, plugin: &ConnectorPlugin) -> ConfigDef {
        let mut def = framework_def(plugin.kind);
        def.merge(&(plugin.config_def)());
        def
    }

    /// `GET /connector-plugins` entries.
    pub fn infos(&self, connectors_only: bool) -> Vec<PluginInfo> {
        let mut out: Vec<PluginInfo> = self
            .connectors
            .iter()
            .map(|p| PluginInfo {
                class: p.class.to_string(),
                kind: p.kind.as_str().to_string(),
                version: Some(p.version.to_string()),
            })
            .collect();
        out.sort_by(|a, b| a.class.cmp(&b.class));
        if connectors_only {
            return out;
        }
        let version = Some(KAFKA_VERSION.to_string());
        let push = |out: &mut Vec<PluginInfo>, class: &str, kind: &str| {
            out.push(PluginInfo {
                class: class.to_string(),
                kind: kind.to_string(),
                version: version.clone(),
            })
        };
        for c in CONVERTER_CLASSES {
            push(&mut out, c, "converter");
        }
        for c in HEADER_CONVERTER_CLASSES {
            push(&mut out, c, "header_converter");
        }
        for t in self.transforms.transformation_classes() {
            push(&mut out, t.class, "transformation");
        }
        for p in self.transforms.predicate_classes() {
            push(&mut out, p.class, "predicate");
        }
        out
    }

    /// The type of a connector class, or `unknown`.
    pub fn connector_type(&self, class: Option<&str>) -> &'static str {
        class
            .and_then(|c| self.connector(c).ok())
            .map_or("unknown", |p| p.kind.as_str())
    }

    /// Whether a class is a known sink connector.
    pub fn is_sink(&self, class: &str) -> bool {
        self.connector(class)
            .is_ok_and(|p| p.kind == ConnectorType::Sink)
    }
}

/// Markdown reference of every connector's config keys, and of Rampart's
/// own transforms and predicates, generated from the config definitions
/// (the README embeds it; a test keeps it in sync).
pub fn config_reference(plugins: &Plugins) -> String {
    let mut out = String::new();
    let mut connectors: Vec<&ConnectorPlugin> = plugins.connectors.iter().collect();
    connectors.sort_by_key(|p| p.class);
    for p in connectors {
        out.push_str(&format!(
            "### `{}` ({}; also `{}`)\n\n",
            p.class,
            p.kind.as_str(),
            p.simple_name()
                .strip_suffix("Connector")
                .unwrap_or(p.simple_name())
        ));
        let mut def = (p.config_def)();
        def.merge(&framework_def(p.kind));
        key_table(&def, &mut out);
    }
    let own = |c: &str| c.starts_with("io.rampart.");
    let transforms = plugins.transforms.transformation_classes();
    let predicates = plugins.transforms.predicate_classes();
    for (classes, kind) in [(transforms, "transformation"), (predicates, "predicate")] {
        for c in classes.into_iter().filter(|c| own(c.class)) {
            let Some(def) = plugins.transforms.config_def(c.class) else {
                continue;
            };
            out.push_str(&format!("### `{}` ({kind})\n\n", c.class));
            key_table(&def, &mut out);
        }
    }
    out
}

fn key_table(def: &ConfigDef, out: &mut String) {
    out.push_str("| key | type | default | valid values | importance | description |\n|---|---|---|---|---|---|\n");
    for k in def.keys() {
        let default = match k.default.as_deref() {
            None => "*(required)*".to_string(),
            Some(rampart_core::config::NO_DEFAULT_VALUE) => "null".to_string(),
            Some("") => "`\"\"`".to_string(),
            Some(d) => format!("`{d}`"),
        };
        let valid = k
            .validator
            .as_ref()
            .map(|v| v.describe())
            .unwrap_or_default();
        let doc = k.documentation.replace('|', "\\|").replace('\n', " ");
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            k.name,
            format!("{:?}", k.ty).to_lowercase(),
            default,
            valid.replace('|', "\\|"),
            format!("{:?}", k.importance).to_lowercase(),
            doc
        ));
    }
    out.push('\n');
}
