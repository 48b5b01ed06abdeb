//! `io.rampart.transforms.predicates.HasDetection`: whether `SigmaDetect`
//! tagged the record, optionally with a match of at least some level.

use std::collections::HashMap;

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, Predicate};

use super::DEFAULT_TARGET;
use crate::fields;

/// Sigma's levels, least severe first.
const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];

/// The keys of `io.rampart.transforms.predicates.HasDetection`.
pub fn has_detection_config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "field",
        ConfigType::String,
        Importance::Medium,
        "The array SigmaDetect appends matches to (its target.field).",
    )
    .default(DEFAULT_TARGET)
    .validator(Validator::NonEmpty)
    .add();
    def.define(
        "level",
        ConfigType::String,
        Importance::Medium,
        "Least level a match must have: informational, low, medium, high or \
         critical. Unset, any match counts.",
    )
    .default_null()
    .validator(Validator::OneOf(LEVELS))
    .add();
    def
}

/// True when the record holds a detection (of at least `level`).
#[derive(Debug)]
pub struct HasDetection {
    field: String,
    /// Index into [`LEVELS`].
    min_level: Option<usize>,
}

impl HasDetection {
    /// Reads the keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = has_detection_config_def().parse(props)?;
        Ok(HasDetection {
            field: config.string("field").unwrap_or(DEFAULT_TARGET).to_string(),
            min_level: config.string("level").and_then(rank),
        })
    }
}

fn rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
}

impl Predicate for HasDetection {
    fn test(&self, record: &ConnectRecord) -> bool {
        let Some(Value::Array(matches)) = fields::get(&record.value, &self.field) else {
            return false;
        };
        match self.min_level {
            None => !matches.is_empty(),
            // A match without a level is below every level.
            Some(min) => matches.iter().any(|m| {
                fields::get_text(m, "level")
                    .and_then(|l| rank(&l))
                    .is_some_and(|l| l >= min)
            }),
        }
    }
}
