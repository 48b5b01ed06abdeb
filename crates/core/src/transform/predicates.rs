//! The built-in predicates (KIP-585): `TopicNameMatches`, `HasHeaderKey`
//! and `RecordIsTombstone`.

use std::collections::HashMap;

use super::java_regex::{self, JavaRegex};
use super::{PluginConfigError, Predicate};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::record::ConnectRecord;

pub(crate) fn topic_name_matches_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "pattern",
        ConfigType::String,
        Importance::Medium,
        "A Java regular expression for matching against the name of a record's topic.",
    )
    .validator(Validator::Custom {
        check: |p| {
            if p.is_empty() {
                return Err("String may not be empty".to_string());
            }
            java_regex::validate(p)
        },
        describe: "non-empty string, valid regex",
    })
    .add();
    def
}

/// True for records whose whole topic name matches `pattern`.
#[derive(Debug)]
pub(crate) struct TopicNameMatches {
    pattern: JavaRegex,
}

impl TopicNameMatches {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = topic_name_matches_def().parse(props)?;
        let text = config.string("pattern").unwrap_or_default();
        let pattern = JavaRegex::compile(text).map_err(|e| {
            PluginConfigError::new(
                "pattern",
                format!("Invalid value {text} for configuration pattern: Invalid regex: {e}"),
            )
        })?;
        Ok(TopicNameMatches { pattern })
    }
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.pattern.matches(&record.topic)
    }
}

pub(crate) fn has_header_key_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "name",
        ConfigType::String,
        Importance::Medium,
        "The header name.",
    )
    .validator(Validator::NonEmpty)
    .add();
    def
}

/// True for records with at least one header named `name`.
#[derive(Debug)]
pub(crate) struct HasHeaderKey {
    name: String,
}

impl HasHeaderKey {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = has_header_key_def().parse(props)?;
        Ok(HasHeaderKey {
            name: config.string("name").unwrap_or_default().to_string(),
        })
    }
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.headers.iter().any(|h| h.key == self.name)
    }
}

pub(crate) fn record_is_tombstone_def() -> ConfigDef {
    ConfigDef::new()
}

/// True for records with a null value.
#[derive(Debug)]
pub(crate) struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &ConnectRecord) -> bool {
        record.value.is_null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Value;

    fn props(k: &str, v: &str) -> HashMap<String, String> {
        HashMap::from([(k.to_string(), v.to_string())])
    }

    #[test]
    fn topic_name_matches_whole_name() {
        let p = TopicNameMatches::new(&props("pattern", "my-prefix-.*")).unwrap();
        let mut r = ConnectRecord {
            topic: "my-prefix-foo".to_string(),
            ..Default::default()
        };
        assert!(p.test(&r));
        r.topic = "x-my-prefix-foo".to_string();
        assert!(!p.test(&r));
    }

    #[test]
    fn topic_name_matches_config_errors() {
        let e = TopicNameMatches::new(&props("pattern", "")).unwrap_err();
        assert_eq!(e.key, "pattern");
        assert_eq!(
            e.message,
            "Invalid value  for configuration pattern: String may not be empty"
        );
        let e = TopicNameMatches::new(&props("pattern", "(")).unwrap_err();
        assert!(e.message.contains("Invalid regex"), "{}", e.message);
        let e = TopicNameMatches::new(&HashMap::new()).unwrap_err();
        assert_eq!(
            e.message,
            "Missing required configuration \"pattern\" which has no default value."
        );
    }

    #[test]
    fn has_header_key_and_tombstone() {
        let p = HasHeaderKey::new(&props("name", "h")).unwrap();
        let mut r = ConnectRecord::default();
        assert!(!p.test(&r));
        assert!(RecordIsTombstone.test(&r));
        r.headers.add_string("h", "v");
        r.value = Value::string("x");
        assert!(p.test(&r));
        assert!(!RecordIsTombstone.test(&r));
    }
}
