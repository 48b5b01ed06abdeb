//! `org.apache.kafka.connect.transforms.RegexRouter`: if the regex matches
//! the whole topic (`Matcher.matches()`), the topic becomes
//! `Matcher.replaceFirst(replacement)`.

use std::collections::HashMap;

use super::java_regex::{self, JavaRegex, Replacement};
use super::util::apply_via_in_place;
use super::{PluginConfigError, Transformation};
use crate::config::{ConfigDef, ConfigType, Importance, Validator};
use crate::record::ConnectRecord;
use crate::ConnectError;

pub(crate) fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "regex",
        ConfigType::String,
        Importance::High,
        "Regular expression to use for matching.",
    )
    .validator(Validator::Custom {
        check: java_regex::validate,
        describe: "valid regex",
    })
    .add();
    def.define(
        "replacement",
        ConfigType::String,
        Importance::High,
        "Replacement string.",
    )
    .add();
    def
}

/// Renames topics by regex.
#[derive(Debug)]
pub(crate) struct RegexRouter {
    regex: JavaRegex,
    replacement: Replacement,
}

impl RegexRouter {
    pub(crate) fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let pattern = config.string("regex").unwrap_or_default();
        let regex = JavaRegex::compile(pattern).map_err(|e| {
            PluginConfigError::new(
                "regex",
                format!("Invalid value {pattern} for configuration regex: Invalid regex: {e}"),
            )
        })?;
        let replacement_text = config.string("replacement").unwrap_or_default();
        let replacement = Replacement::parse(replacement_text, &regex).map_err(|e| {
            PluginConfigError::new(
                "replacement",
                format!("Invalid value {replacement_text} for configuration replacement: {e}"),
            )
        })?;
        Ok(RegexRouter { regex, replacement })
    }
}

impl Transformation for RegexRouter {
    apply_via_in_place!();

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if let Some(topic) = self
            .replacement
            .replace_if_matches(&self.regex, &record.topic)
        {
            record.topic = topic;
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(regex: &str, replacement: &str) -> Result<RegexRouter, PluginConfigError> {
        RegexRouter::new(&HashMap::from([
            ("regex".to_string(), regex.to_string()),
            ("replacement".to_string(), replacement.to_string()),
        ]))
    }

    fn apply(r: &RegexRouter, topic: &str) -> String {
        let record = ConnectRecord {
            topic: topic.to_string(),
            ..Default::default()
        };
        r.apply(record).unwrap().unwrap().topic
    }

    // Cases from Kafka's RegexRouterTest.
    #[test]
    fn kafka_cases() {
        assert_eq!(
            apply(&router("(.*)", "prefix-$1").unwrap(), "orig"),
            "prefix-orig"
        );
        assert_eq!(
            apply(&router("(.*)", "$1-suffix").unwrap(), "orig"),
            "orig-suffix"
        );
        assert_eq!(
            apply(&router("(.*)", "prefix-$1-suffix").unwrap(), "orig"),
            "prefix-orig-suffix"
        );
        assert_eq!(
            apply(&router("(.*)", "prefix-$1-suffix").unwrap(), "orig"),
            "prefix-orig-suffix"
        );
        assert_eq!(apply(&router("(.*)", "static").unwrap(), "orig"), "static");
        assert_eq!(
            apply(
                &router(r"(.*)-(\d\d\d\d\d\d\d\d)", "$1").unwrap(),
                "index-20160117"
            ),
            "index"
        );
        assert_eq!(apply(&router("(.*)", "$1").unwrap(), "orig"), "orig");
    }

    #[test]
    fn non_matching_topic_is_unchanged() {
        assert_eq!(apply(&router("foo", "bar").unwrap(), "foobar"), "foobar");
        assert_eq!(apply(&router("foo.*", "bar").unwrap(), "foobar"), "bar");
    }

    #[test]
    fn unsupported_regex_is_a_config_error() {
        let e = router("(?=x)", "y").unwrap_err();
        assert_eq!(e.key, "regex");
        assert!(e.message.contains("look-around"), "{}", e.message);
        let e = router("(a)", "$2").unwrap_err();
        assert_eq!(e.key, "replacement");
    }
}
