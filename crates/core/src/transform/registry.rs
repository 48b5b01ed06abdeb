//! The one explicit list of built-in transforms and predicates.
//!
//! Classes are looked up by their Java name, e.g.
//! `org.apache.kafka.connect.transforms.Cast$Value`, or by the simple name
//! after the package (`Cast$Value`, `RegexRouter`, `TopicNameMatches`), as
//! Kafka's plugin aliases allow.

use std::collections::HashMap;

use super::util::Side;
use super::{
    cast, drop_headers, extract_field, filter, flatten, header_from, hoist_field, insert_field,
    insert_header, mask_field, predicates, regex_router, replace_field, set_schema_metadata,
    timestamp_converter, timestamp_router, value_to_key,
};
use super::{PluginConfigError, Predicate, Transformation};
use crate::config::ConfigDef;

/// A transform or predicate class as `/connector-plugins` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginClass {
    /// Fully qualified Java class name.
    pub class: &'static str,
}

/// The keys after an alias prefix.
pub type Props = HashMap<String, String>;
/// Builds a transform from its keys.
pub type BuildTransform = fn(&Props) -> Result<Box<dyn Transformation>, PluginConfigError>;
/// Builds a predicate from its keys.
pub type BuildPredicate = fn(&Props) -> Result<Box<dyn Predicate>, PluginConfigError>;

/// A transform class: its Java-style name, how to build it from its
/// `transforms.<alias>.*` keys, and its config definition.
#[derive(Clone, Copy)]
pub struct TransformPlugin {
    /// Fully qualified class name.
    pub class: &'static str,
    /// Builds an instance from the keys after `transforms.<alias>.`.
    pub build: BuildTransform,
    /// The keys it takes, for `/connector-plugins/{p}/config` and `validate`.
    pub def: fn() -> ConfigDef,
}

/// A predicate class, as [`TransformPlugin`].
#[derive(Clone, Copy)]
pub struct PredicatePlugin {
    /// Fully qualified class name.
    pub class: &'static str,
    /// Builds an instance from the keys after `predicates.<alias>.`.
    pub build: BuildPredicate,
    /// The keys it takes.
    pub def: fn() -> ConfigDef,
}

impl std::fmt::Debug for TransformPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.class)
    }
}

impl std::fmt::Debug for PredicatePlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.class)
    }
}

/// The transform and predicate classes a worker accepts: Kafka's built-in
/// ones, plus those the binary adds (Rampart's security transforms), so the
/// core knows nothing of crates that depend on it.
#[derive(Debug, Clone)]
pub struct TransformPlugins {
    transforms: Vec<TransformPlugin>,
    predicates: Vec<PredicatePlugin>,
}

impl Default for TransformPlugins {
    fn default() -> Self {
        Self::builtin()
    }
}

impl TransformPlugins {
    /// Kafka's built-in transforms and predicates.
    pub fn builtin() -> Self {
        TransformPlugins {
            transforms: transforms(),
            predicates: predicate_list().to_vec(),
        }
    }

    /// Adds classes; a class already listed keeps its first entry.
    pub fn with(
        mut self,
        transforms: Vec<TransformPlugin>,
        predicates: Vec<PredicatePlugin>,
    ) -> Self {
        self.transforms.extend(transforms);
        self.predicates.extend(predicates);
        self
    }

    /// Every transformation class.
    pub fn transformation_classes(&self) -> Vec<PluginClass> {
        self.transforms
            .iter()
            .map(|e| PluginClass { class: e.class })
            .collect()
    }

    /// Every predicate class.
    pub fn predicate_classes(&self) -> Vec<PluginClass> {
        self.predicates
            .iter()
            .map(|e| PluginClass { class: e.class })
            .collect()
    }

    pub(super) fn build_transformation(
        &self,
        class: &str,
        props: &Props,
    ) -> Result<Box<dyn Transformation>, PluginConfigError> {
        match self.transforms.iter().find(|e| names(e.class, class)) {
            Some(e) => (e.build)(props),
            None => Err(not_found(class)),
        }
    }

    pub(super) fn build_predicate(
        &self,
        class: &str,
        props: &Props,
    ) -> Result<Box<dyn Predicate>, PluginConfigError> {
        match self.predicates.iter().find(|e| names(e.class, class)) {
            Some(e) => (e.build)(props),
            None => Err(not_found(class)),
        }
    }

    /// The config definition of a transform or predicate class.
    pub fn config_def(&self, class: &str) -> Option<ConfigDef> {
        if let Some(e) = self.transforms.iter().find(|e| names(e.class, class)) {
            return Some((e.def)());
        }
        self.predicates
            .iter()
            .find(|e| names(e.class, class))
            .map(|e| (e.def)())
    }
}

/// The built-in registry, built once.
pub(super) fn builtin() -> &'static TransformPlugins {
    static BUILTIN: std::sync::OnceLock<TransformPlugins> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(TransformPlugins::builtin)
}

fn boxed<T: Transformation + 'static>(
    t: Result<T, PluginConfigError>,
) -> Result<Box<dyn Transformation>, PluginConfigError> {
    t.map(|t| Box::new(t) as Box<dyn Transformation>)
}

fn boxed_predicate<T: Predicate + 'static>(
    p: Result<T, PluginConfigError>,
) -> Result<Box<dyn Predicate>, PluginConfigError> {
    p.map(|p| Box::new(p) as Box<dyn Predicate>)
}

/// One line per class; `$Key`/`$Value` variants are separate classes, as in Kafka.
macro_rules! keyed {
    ($name:literal, $module:ident, $ty:ident) => {
        [
            TransformPlugin {
                class: concat!("org.apache.kafka.connect.transforms.", $name, "$Key"),
                build: |p| boxed($module::$ty::new(Side::Key, p)),
                def: $module::config_def,
            },
            TransformPlugin {
                class: concat!("org.apache.kafka.connect.transforms.", $name, "$Value"),
                build: |p| boxed($module::$ty::new(Side::Value, p)),
                def: $module::config_def,
            },
        ]
    };
}

fn transforms() -> Vec<TransformPlugin> {
    let mut list = Vec::with_capacity(32);
    list.extend(keyed!("Cast", cast, Cast));
    list.push(TransformPlugin {
        class: "org.apache.kafka.connect.transforms.DropHeaders",
        build: |p| boxed(drop_headers::DropHeaders::new(p)),
        def: drop_headers::config_def,
    });
    list.extend(keyed!("ExtractField", extract_field, ExtractField));
    list.push(TransformPlugin {
        class: "org.apache.kafka.connect.transforms.Filter",
        build: |_| boxed(Ok(filter::Filter)),
        def: filter::config_def,
    });
    list.extend(keyed!("Flatten", flatten, Flatten));
    list.extend(keyed!("HeaderFrom", header_from, HeaderFrom));
    list.extend(keyed!("HoistField", hoist_field, HoistField));
    list.extend(keyed!("InsertField", insert_field, InsertField));
    list.push(TransformPlugin {
        class: "org.apache.kafka.connect.transforms.InsertHeader",
        build: |p| boxed(insert_header::InsertHeader::new(p)),
        def: insert_header::config_def,
    });
    list.extend(keyed!("MaskField", mask_field, MaskField));
    list.push(TransformPlugin {
        class: "org.apache.kafka.connect.transforms.RegexRouter",
        build: |p| boxed(regex_router::RegexRouter::new(p)),
        def: regex_router::config_def,
    });
    list.extend(keyed!("ReplaceField", replace_field, ReplaceField));
    list.extend(keyed!(
        "SetSchemaMetadata",
        set_schema_metadata,
        SetSchemaMetadata
    ));
    list.extend(keyed!(
        "TimestampConverter",
        timestamp_converter,
        TimestampConverter
    ));
    list.push(TransformPlugin {
        class: "org.apache.kafka.connect.transforms.TimestampRouter",
        build: |p| boxed(timestamp_router::TimestampRouter::new(p)),
        def: timestamp_router::config_def,
    });
    list.push(TransformPlugin {
        class: "org.apache.kafka.connect.transforms.ValueToKey",
        build: |p| boxed(value_to_key::ValueToKey::new(p)),
        def: value_to_key::config_def,
    });
    list
}

fn predicate_list() -> [PredicatePlugin; 3] {
    [
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            build: |p| boxed_predicate(predicates::HasHeaderKey::new(p)),
            def: predicates::has_header_key_def,
        },
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            build: |_| boxed_predicate(Ok(predicates::RecordIsTombstone)),
            def: predicates::record_is_tombstone_def,
        },
        PredicatePlugin {
            class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            build: |p| boxed_predicate(predicates::TopicNameMatches::new(p)),
            def: predicates::topic_name_matches_def,
        },
    ]
}

/// Whether `requested` names `class`, by its full name or its simple name.
fn names(class: &str, requested: &str) -> bool {
    let requested = requested.trim();
    class == requested || class.rsplit('.').next() == Some(requested)
}

fn not_found(class: &str) -> PluginConfigError {
    let class = class.trim();
    PluginConfigError::new(
        "type",
        format!("Invalid value {class} for configuration type: Class {class} could not be found."),
    )
}

/// Every built-in transformation class.
pub fn transformation_classes() -> Vec<PluginClass> {
    builtin().transformation_classes()
}

/// Every built-in predicate class.
pub fn predicate_classes() -> Vec<PluginClass> {
    builtin().predicate_classes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_class_like_kafka() {
        let classes = transformation_classes();
        // 10 keyed transforms x 2 + 6 unkeyed.
        assert_eq!(classes.len(), 26);
        assert!(classes
            .iter()
            .any(|c| c.class == "org.apache.kafka.connect.transforms.Cast$Key"));
        assert_eq!(predicate_classes().len(), 3);
        for c in classes {
            assert!(builtin().config_def(c.class).is_some(), "{}", c.class);
        }
    }

    /// Odd and mismatched records must give errors, never panics.
    #[test]
    fn no_transform_panics_on_odd_records() {
        use crate::data::{schemas, Schema, SchemaType, Struct, Value};
        use crate::record::ConnectRecord;

        let props: Props = [
            ("spec", "a:int8,b:string"),
            ("headers", "h"),
            ("field", "a"),
            ("fields", "a,b"),
            ("operation", "move"),
            ("header", "h"),
            ("value.literal", "x"),
            ("regex", "(.*)"),
            ("replacement", "$1"),
            ("renames", "a:z"),
            ("schema.name", "n"),
            ("target.type", "string"),
            ("format", "yyyy"),
            ("topic.field", "t"),
            ("offset.field", "o"),
            ("timestamp.field", "ts"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let nested = Schema::new(SchemaType::Struct)
            .field("a", schemas::int32())
            .build();
        let schema = Schema::new(SchemaType::Struct)
            .field("a", nested.clone())
            .field("b", schemas::bytes())
            .build();
        let values: Vec<(Option<crate::data::SchemaRef>, Value)> = vec![
            (None, Value::Null),
            (Some(schema.clone()), Value::Null),
            (Some(schema.clone()), Value::string("not a struct")),
            (None, Value::Map(vec![(Value::Int32(1), Value::Null)])),
            (
                None,
                Value::Map(vec![(Value::string("a"), Value::Bytes(vec![1]))]),
            ),
            (None, Value::Array(vec![Value::Null])),
            (Some(schemas::int32()), Value::Int32(1)),
            (Some(schemas::bytes()), Value::Bytes(vec![0xff])),
            (Some(nested.clone()), Value::Struct(Struct::new(nested))),
        ];
        for entry in transforms() {
            let Ok(t) = (entry.build)(&props) else {
                continue;
            };
            for (schema, value) in &values {
                let record = ConnectRecord {
                    key_schema: schema.clone(),
                    key: value.clone(),
                    value_schema: schema.clone(),
                    value: value.clone(),
                    ..Default::default()
                };
                let _ = t.apply(record);
            }
        }
    }

    #[test]
    fn validate_reports_errors_on_connector_keys() {
        let config: Props = [
            ("transforms", "route,cast"),
            ("transforms.route.type", "RegexRouter"),
            ("transforms.route.regex", "(a)\\1"),
            ("transforms.route.replacement", "x"),
            (
                "transforms.cast.type",
                "org.apache.kafka.connect.transforms.Cast$Value",
            ),
            ("transforms.cast.spec", "int8"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let values = super::super::validate(&config);
        let regex = values
            .iter()
            .find(|v| v.name == "transforms.route.regex")
            .unwrap();
        assert!(
            regex.errors[0].contains("backreference"),
            "{:?}",
            regex.errors
        );
        let cast = values
            .iter()
            .find(|v| v.name == "transforms.cast.type")
            .unwrap();
        assert!(cast.errors.is_empty());
        let def = super::super::plugin_config_def("Cast$Value").unwrap();
        let names: Vec<&str> = def.keys().iter().map(|k| k.name.as_str()).collect();
        assert_eq!(names, ["spec", "replace.null.with.default"]);
    }

    #[test]
    fn simple_names_resolve() {
        let props = HashMap::from([
            ("regex".to_string(), "(.*)".to_string()),
            ("replacement".to_string(), "x-$1".to_string()),
        ]);
        assert!(builtin()
            .build_transformation("RegexRouter", &props)
            .is_ok());
        assert!(builtin()
            .build_transformation("Cast$Value", &HashMap::new())
            .is_err());
        let e = builtin()
            .build_transformation("com.example.Nope", &props)
            .unwrap_err();
        assert_eq!(e.key, "type");
        assert!(builtin()
            .build_predicate("RecordIsTombstone", &props)
            .is_ok());
    }
}
