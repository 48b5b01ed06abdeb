//! The one explicit list of built-in transforms and predicates.

use std::collections::HashMap;

use super::{PluginConfigError, Predicate, Transformation};
use crate::config::ConfigDef;

/// A transform or predicate class as `/connector-plugins` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginClass {
    /// Fully qualified Java class name.
    pub class: &'static str,
}

/// Every transformation class Rampart accepts.
pub fn transformation_classes() -> Vec<PluginClass> {
    Vec::new()
}

/// Every predicate class Rampart accepts.
pub fn predicate_classes() -> Vec<PluginClass> {
    Vec::new()
}

pub(super) fn build_transformation(
    class: &str,
    _props: &HashMap<String, String>,
) -> Result<Box<dyn Transformation>, PluginConfigError> {
    Err(PluginConfigError::new(
        "type",
        format!("Invalid value {class} for configuration type: Class {class} could not be found."),
    ))
}

pub(super) fn build_predicate(
    class: &str,
    _props: &HashMap<String, String>,
) -> Result<Box<dyn Predicate>, PluginConfigError> {
    Err(PluginConfigError::new(
        "type",
        format!("Invalid value {class} for configuration type: Class {class} could not be found."),
    ))
}

pub(super) fn config_def(_class: &str) -> Option<ConfigDef> {
    None
}
