//! Config definitions, mirroring Kafka's `ConfigDef`: one definition serves
//! parsing, `validate`, and `/connector-plugins/{p}/config`.

use std::collections::HashMap;

use serde::Serialize;

/// The type of a config key (`ConfigDef.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConfigType {
    /// true/false
    Boolean,
    /// free text
    String,
    /// 32-bit integer
    Int,
    /// 16-bit integer
    Short,
    /// 64-bit integer
    Long,
    /// floating point
    Double,
    /// comma-separated list
    List,
    /// a class name (converter, transform, ...)
    Class,
    /// a secret, shown as `[hidden]`
    Password,
}

/// How important a key is (`ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Importance {
    /// high
    High,
    /// medium
    Medium,
    /// low
    Low,
}

/// Display width hint (`ConfigDef.Width`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Width {
    /// none
    None,
    /// short
    Short,
    /// medium
    Medium,
    /// long
    Long,
}

/// A value check run after the type parse, like Kafka's `ConfigDef.Validator`.
#[derive(Debug, Clone)]
pub enum Validator {
    /// Numeric range; either end may be open.
    Range {
        /// Inclusive lower bound.
        min: Option<f64>,
        /// Inclusive upper bound.
        max: Option<f64>,
    },
    /// One of these strings, case-sensitive (`ValidString`).
    OneOf(&'static [&'static str]),
    /// One of these strings, ignoring case (`CaseInsensitiveValidString`).
    OneOfIgnoreCase(&'static [&'static str]),
    /// A non-empty string (`NonEmptyString`).
    NonEmpty,
    /// A custom check returning the reason on failure.
    Custom {
        /// The check.
        check: fn(&str) -> Result<(), String>,
        /// What `toString()` of the validator prints in docs.
        describe: &'static str,
    },
}

impl Validator {
    /// At least `min`.
    pub fn at_least(min: f64) -> Self {
        Validator::Range {
            min: Some(min),
            max: None,
        }
    }

    /// Between `min` and `max`, inclusive.
    pub fn between(min: f64, max: f64) -> Self {
        Validator::Range {
            min: Some(min),
            max: Some(max),
        }
    }

    fn check(&self, value: &Parsed) -> Result<(), String> {
        match self {
            Validator::Range { min, max } => {
                let Some(n) = value.as_f64() else {
                    return Ok(());
                };
                if let Some(min) = min {
                    if n < *min {
                        return Err(format!("Value must be at least {}", fmt_num(*min)));
                    }
                }
                if let Some(max) = max {
                    if n > *max {
                        return Err(format!("Value must be no more than {}", fmt_num(*max)));
                    }
                }
                Ok(())
            }
            Validator::OneOf(allowed) => match value {
                Parsed::Str(s) if !allowed.contains(&s.as_str()) => {
                    Err(format!("String must be one of: {}", allowed.join(", ")))
                }
                _ => Ok(()),
            },
            Validator::OneOfIgnoreCase(allowed) => match value {
                Parsed::Str(s) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(s)) => {
                    Err(format!(
                        "String must be one of (case insensitive): {}",
                        allowed.join(", ")
                    ))
                }
                _ => Ok(()),
            },
            Validator::NonEmpty => match value {
                Parsed::Str(s) if s.is_empty() => Err("String may not be empty".to_string()),
                _ => Ok(()),
            },
            Validator::Custom { check, .. } => match value {
                Parsed::Str(s) => check(s),
                Parsed::List(items) => check(&items.join(",")),
                _ => Ok(()),
            },
        }
    }

    /// Java's message when a value failed its type parse and the
    /// validator then sees null (`Range` is the one that says so).
    fn null_message(&self) -> Option<&'static str> {
        match self {
            Validator::Range { .. } => Some("Value must be non-null"),
            _ => None,
        }
    }

    /// A description of the valid values, for generated documentation.
    pub fn describe(&self) -> String {
        match self {
            Validator::Range { min, max } => match (min, max) {
                (Some(a), Some(b)) => format!("[{},...,{}]", fmt_num(*a), fmt_num(*b)),
                (Some(a), None) => format!("[{},...]", fmt_num(*a)),
                (None, Some(b)) => format!("[...,{}]", fmt_num(*b)),
                (None, None) => String::new(),
            },
            Validator::OneOf(v) => format!("[{}]", v.join(", ")),
            Validator::OneOfIgnoreCase(v) => format!("(case insensitive) [{}]", v.join(", ")),
            Validator::NonEmpty => "non-empty string".to_string(),
            Validator::Custom { describe, .. } => describe.to_string(),
        }
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One config key's definition (`ConfigDef.ConfigKey`).
#[derive(Debug, Clone)]
pub struct ConfigKey {
    /// Key name.
    pub name: String,
    /// Type.
    pub ty: ConfigType,
    /// Default value as its string form; `None` means required.
    pub default: Option<String>,
    /// Importance.
    pub importance: Importance,
    /// Documentation.
    pub documentation: String,
    /// Group shown by UIs.
    pub group: Option<String>,
    /// Order within the group (`-1` when unset, like Kafka).
    pub order_in_group: i32,
    /// Width hint.
    pub width: Width,
    /// Display name.
    pub display_name: String,
    /// Keys whose visibility depends on this one.
    pub dependents: Vec<String>,
    /// Value check.
    pub validator: Option<Validator>,
    /// The name validator messages use, where it is not `name`: Java's
    /// embedded definitions (a transform's keys under `transforms.x.`)
    /// report validator failures under the key's own, unprefixed name.
    pub validator_name: Option<String>,
}

impl ConfigKey {
    /// Whether the key has no default and must be set.
    pub fn required(&self) -> bool {
        self.default.is_none()
    }
}

/// A parsed, typed config value.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// BOOLEAN
    Bool(bool),
    /// INT, SHORT, LONG
    Int(i64),
    /// DOUBLE
    Double(f64),
    /// STRING, CLASS, PASSWORD
    Str(String),
    /// LIST
    List(Vec<String>),
    /// A key whose default is Java `null`.
    Null,
}

impl Parsed {
    fn as_f64(&self) -> Option<f64> {
        match self {
            Parsed::Int(n) => Some(*n as f64),
            Parsed::Double(d) => Some(*d),
            _ => None,
        }
    }
}

/// The sentinel default meaning Java `null`: the key is optional and unset.
pub const NO_DEFAULT_VALUE: &str = "\u{0}null";

/// A set of config keys.
#[derive(Debug, Clone, Default)]
pub struct ConfigDef {
    keys: Vec<ConfigKey>,
}

/// Builder for one key; finish with [`KeyBuilder::add`].
#[must_use]
pub struct KeyBuilder<'a> {
    def: &'a mut ConfigDef,
    key: ConfigKey,
}

impl KeyBuilder<'_> {
    /// Sets the default (string form). Without one, the key is required.
    pub fn default(mut self, value: impl Into<String>) -> Self {
        self.key.default = Some(value.into());
        self
    }

    /// Makes the key optional with a Java `null` default.
    pub fn default_null(mut self) -> Self {
        self.key.default = Some(NO_DEFAULT_VALUE.to_string());
        self
    }

    /// Sets the validator.
    pub fn validator(mut self, v: Validator) -> Self {
        self.key.validator = Some(v);
        self
    }

    /// Places the key in a group, at the given order.
    pub fn group(mut self, group: &str, order: i32) -> Self {
        self.key.group = Some(group.to_string());
        self.key.order_in_group = order;
        self
    }

    /// Sets the width hint.
    pub fn width(mut self, width: Width) -> Self {
        self.key.width = width;
        self
    }

    /// Sets the display name.
    pub fn display(mut self, name: &str) -> Self {
        self.key.display_name = name.to_string();
        self
    }

    /// Adds the key to the definition.
    pub fn add(self) {
        self.def.keys.push(self.key);
    }
}

impl ConfigDef {
    /// An empty definition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts defining a key.
    pub fn define(
        &mut self,
        name: &str,
        ty: ConfigType,
        importance: Importance,
        documentation: &str,
    ) -> KeyBuilder<'_> {
        KeyBuilder {
            key: ConfigKey {
                name: name.to_string(),
                ty,
                default: None,
                importance,
                documentation: documentation.to_string(),
                group: None,
                order_in_group: -1,
                width: Width::None,
                display_name: name.to_string(),
                dependents: Vec::new(),
                validator: None,
                validator_name: None,
            },
            def: self,
        }
    }

    /// Appends another definition's keys under a prefix, in a group, with
    /// orders from `first_order` on: Java's `ConfigDef.embed`, which builds
    /// a transform's keys into a connector's definition.
    pub fn embed(&mut self, prefix: &str, group: &str, first_order: i32, other: &ConfigDef) {
        for (i, key) in other.keys.iter().enumerate() {
            let mut k = key.clone();
            k.validator_name = Some(key.name.clone());
            k.name = format!("{prefix}{}", key.name);
            k.group = Some(group.to_string());
            k.order_in_group = first_order + i as i32;
            self.keys.push(k);
        }
    }

    /// Appends a key built elsewhere.
    pub fn push(&mut self, key: ConfigKey) {
        self.keys.push(key);
    }

    /// Appends every key of another definition.
    pub fn merge(&mut self, other: &ConfigDef) {
        for key in &other.keys {
            if self.key(&key.name).is_none() {
                self.keys.push(key.clone());
            }
        }
    }

    /// The keys, in definition order.
    pub fn keys(&self) -> &[ConfigKey] {
        &self.keys
    }

    /// Looks a key up.
    pub fn key(&self, name: &str) -> Option<&ConfigKey> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The groups, in order of first appearance.
    pub fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Vec::new();
        for k in &self.keys {
            if let Some(g) = &k.group {
                if !groups.contains(g) {
                    groups.push(g.clone());
                }
            }
        }
        groups
    }

    /// Validates every key, like `ConfigDef.validate`: one result per key,
    /// each with the errors Kafka would report for it.
    pub fn validate(&self, props: &HashMap<String, String>) -> Vec<ConfigValue> {
        self.keys
            .iter()
            .map(|key| {
                let raw = props.get(&key.name);
                // Like Kafka's parseForValidate, an absent key shows its default.
                let shown = raw.cloned().or_else(|| match key.default.as_deref() {
                    None | Some(NO_DEFAULT_VALUE) => None,
                    Some(d) => Some(d.to_string()),
                });
                let mut value = ConfigValue {
                    name: key.name.clone(),
                    value: shown,
                    // Java fills these from a key's Recommender, which none
                    // of Connect's framework or plugin keys have.
                    recommended_values: Vec::new(),
                    errors: Vec::new(),
                    visible: true,
                };
                match parse_key(key, raw.map(String::as_str)) {
                    Ok(_) => {}
                    Err(KeyError::Type(e)) => {
                        // As in Java, a value that failed its type parse is
                        // null, and the validator then runs on null.
                        value.errors.push(e);
                        value.value = None;
                        if let Some(m) = key.validator.as_ref().and_then(Validator::null_message) {
                            value.errors.push(format!(
                                "Invalid value null for configuration {}: {m}",
                                key.validator_name.as_deref().unwrap_or(&key.name)
                            ));
                        }
                    }
                    Err(KeyError::Missing(e) | KeyError::Invalid(e)) => value.errors.push(e),
                }
                if key.ty == ConfigType::Password && value.value.is_some() {
                    value.value = Some("[hidden]".to_string());
                }
                value
            })
            .collect()
    }

    /// Validates every key, then, when each passes on its own, the
    /// connector's check of the keys together. Its error names the key it is
    /// about as `configuration <key>:` and is reported on that key, so
    /// `PUT /connector-plugins/{p}/config/validate` shows it where a UI looks.
    pub fn validate_with(
        &self,
        props: &HashMap<String, String>,
        cross_check: impl FnOnce() -> Option<String>,
    ) -> Vec<ConfigValue> {
        let mut values = self.validate(props);
        if values.iter().all(|v| v.errors.is_empty()) {
            if let Some(message) = cross_check() {
                // The longest matching name: `a.b` must not take `a.b.c`'s error.
                let target = values
                    .iter_mut()
                    .filter(|v| message.contains(&format!("configuration {}:", v.name)))
                    .max_by_key(|v| v.name.len());
                if let Some(v) = target {
                    v.errors.push(message);
                }
            }
        }
        values
    }

    /// Parses and checks every key; fails with one message per bad key.
    pub fn parse(&self, props: &HashMap<String, String>) -> Result<ParsedConfig, Vec<String>> {
        let mut values = HashMap::with_capacity(self.keys.len());
        let mut errors = Vec::new();
        for key in &self.keys {
            match parse_key(key, props.get(&key.name).map(String::as_str)) {
                Ok(v) => {
                    values.insert(key.name.clone(), v);
                }
                Err(e) => errors.push(e.message()),
            }
        }
        if errors.is_empty() {
            Ok(ParsedConfig {
                values,
                originals: props.clone(),
            })
        } else {
            Err(errors)
        }
    }
}

/// Why a key's value was refused.
enum KeyError {
    Missing(String),
    Type(String),
    Invalid(String),
}

impl KeyError {
    fn message(self) -> String {
        match self {
            KeyError::Missing(m) | KeyError::Type(m) | KeyError::Invalid(m) => m,
        }
    }
}

fn parse_key(key: &ConfigKey, raw: Option<&str>) -> Result<Parsed, KeyError> {
    let raw = match (raw, key.default.as_deref()) {
        (Some(v), _) => v,
        (None, Some(NO_DEFAULT_VALUE)) => return Ok(Parsed::Null),
        (None, Some(d)) => d,
        (None, None) => {
            return Err(KeyError::Missing(format!(
                "Missing required configuration \"{}\" which has no default value.",
                key.name
            )))
        }
    };
    let parsed = parse_typed(key.ty, raw).map_err(|reason| {
        KeyError::Type(format!(
            "Invalid value {} for configuration {}: {}",
            raw, key.name, reason
        ))
    })?;
    if let Some(v) = &key.validator {
        v.check(&parsed).map_err(|reason| {
            let shown = if key.ty == ConfigType::Password {
                "[hidden]"
            } else {
                raw
            };
            KeyError::Invalid(format!(
                "Invalid value {} for configuration {}: {}",
                shown,
                key.validator_name.as_deref().unwrap_or(&key.name),
                reason
            ))
        })?;
    }
    Ok(parsed)
}

fn parse_typed(ty: ConfigType, raw: &str) -> Result<Parsed, String> {
    let trimmed = raw.trim();
    match ty {
        ConfigType::Boolean => {
            if trimmed.eq_ignore_ascii_case("true") {
                Ok(Parsed::Bool(true))
            } else if trimmed.eq_ignore_ascii_case("false") {
                Ok(Parsed::Bool(false))
            } else {
                Err("Expected value to be either true or false".to_string())
            }
        }
        ConfigType::Int => trimmed
            .parse::<i32>()
            .map(|n| Parsed::Int(n.into()))
            .map_err(|_| "Not a number of type INT".to_string()),
        ConfigType::Short => trimmed
            .parse::<i16>()
            .map(|n| Parsed::Int(n.into()))
            .map_err(|_| "Not a number of type SHORT".to_string()),
        ConfigType::Long => trimmed
            .parse::<i64>()
            .map(Parsed::Int)
            .map_err(|_| "Not a number of type LONG".to_string()),
        ConfigType::Double => trimmed
            .parse::<f64>()
            .map(Parsed::Double)
            .map_err(|_| "Not a number of type DOUBLE".to_string()),
        ConfigType::List => Ok(Parsed::List(split_list(trimmed))),
        ConfigType::String | ConfigType::Password => Ok(Parsed::Str(trimmed.to_string())),
        ConfigType::Class => Ok(Parsed::Str(trimmed.to_string())),
    }
}

/// Splits a comma-separated list the way Kafka does: trimmed items, and the
/// empty string is the empty list.
pub fn split_list(raw: &str) -> Vec<String> {
    if raw.trim().is_empty() {
        return Vec::new();
    }
    raw.split(',').map(|s| s.trim().to_string()).collect()
}

/// The result of validating one key (`ConfigValue`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigValue {
    /// Key name.
    pub name: String,
    /// The submitted value (`[hidden]` for passwords).
    pub value: Option<String>,
    /// Suggested values.
    pub recommended_values: Vec<String>,
    /// Errors found.
    pub errors: Vec<String>,
    /// Whether UIs should show the key.
    pub visible: bool,
}

/// A config parsed against a definition: typed getters that cannot fail for
/// defined keys, plus the original strings.
#[derive(Debug, Clone, Default)]
pub struct ParsedConfig {
    values: HashMap<String, Parsed>,
    originals: HashMap<String, String>,
}

impl ParsedConfig {
    fn get(&self, name: &str) -> &Parsed {
        self.values.get(name).unwrap_or(&Parsed::Null)
    }

    /// A STRING, CLASS or PASSWORD value; `None` when unset with a null default.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Parsed::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An INT, SHORT or LONG value.
    pub fn long(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Parsed::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// A DOUBLE value.
    pub fn double(&self, name: &str) -> Option<f64> {
        match self.get(name) {
            Parsed::Double(n) => Some(*n),
            Parsed::Int(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// A BOOLEAN value (false when unset).
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Parsed::Bool(true))
    }

    /// A LIST value (empty when unset).
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Parsed::List(items) => items.clone(),
            Parsed::Str(s) => split_list(s),
            _ => Vec::new(),
        }
    }

    /// The raw strings the config was parsed from.
    pub fn originals(&self) -> &HashMap<String, String> {
        &self.originals
    }

    /// Every original key starting with `prefix`, with the prefix removed,
    /// like `AbstractConfig.originalsWithPrefix`.
    pub fn originals_with_prefix(&self, prefix: &str) -> HashMap<String, String> {
        originals_with_prefix(&self.originals, prefix)
    }
}

/// Every key starting with `prefix`, with the prefix removed.
pub fn originals_with_prefix(
    props: &HashMap<String, String>,
    prefix: &str,
) -> HashMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|s| (s.to_string(), v.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> ConfigDef {
        let mut d = ConfigDef::new();
        d.define("tasks.max", ConfigType::Int, Importance::High, "tasks")
            .default("1")
            .validator(Validator::at_least(1.0))
            .add();
        d.define("flush.size", ConfigType::Int, Importance::High, "size")
            .add();
        d.define(
            "errors.tolerance",
            ConfigType::String,
            Importance::Medium,
            "t",
        )
        .default("none")
        .validator(Validator::OneOf(&["none", "all"]))
        .add();
        d.define("secret", ConfigType::Password, Importance::High, "s")
            .default_null()
            .add();
        d
    }

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_required_key_uses_kafka_message() {
        let errors = def().parse(&props(&[])).unwrap_err();
        assert_eq!(
            errors,
            vec!["Missing required configuration \"flush.size\" which has no default value."]
        );
    }

    #[test]
    fn range_and_type_errors_use_kafka_messages() {
        let errors = def()
            .parse(&props(&[("tasks.max", "0"), ("flush.size", "x")]))
            .unwrap_err();
        assert_eq!(
            errors,
            vec![
                "Invalid value 0 for configuration tasks.max: Value must be at least 1",
                "Invalid value x for configuration flush.size: Not a number of type INT",
            ]
        );
    }

    #[test]
    fn valid_string_lists_choices() {
        let errors = def()
            .parse(&props(&[("flush.size", "3"), ("errors.tolerance", "some")]))
            .unwrap_err();
        assert_eq!(
            errors,
            vec!["Invalid value some for configuration errors.tolerance: String must be one of: none, all"]
        );
    }

    #[test]
    fn validate_hides_passwords_and_parse_types_values() {
        let d = def();
        let values = d.validate(&props(&[("secret", "hunter2"), ("flush.size", "10")]));
        let secret = values.iter().find(|v| v.name == "secret").unwrap();
        assert_eq!(secret.value.as_deref(), Some("[hidden]"));
        let parsed = d.parse(&props(&[("flush.size", "10")])).unwrap();
        assert_eq!(parsed.long("flush.size"), Some(10));
        assert_eq!(parsed.long("tasks.max"), Some(1));
        assert_eq!(parsed.string("secret"), None);
    }

    #[test]
    fn cross_key_errors_land_on_the_key_they_name() {
        let d = def();
        let errors_of = |values: &[ConfigValue], name: &str| {
            values
                .iter()
                .find(|v| v.name == name)
                .unwrap()
                .errors
                .clone()
        };
        let ok = props(&[("flush.size", "10")]);
        let message = "Invalid value 10 for configuration flush.size: exceeds tasks.max";
        let values = d.validate_with(&ok, || Some(message.to_string()));
        assert_eq!(errors_of(&values, "flush.size"), vec![message]);
        assert!(errors_of(&values, "tasks.max").is_empty());
        // Per-key errors come first: the cross check does not run on them.
        let bad = props(&[("flush.size", "x")]);
        let values = d.validate_with(&bad, || panic!("cross check ran on a bad key"));
        assert_eq!(errors_of(&values, "flush.size").len(), 1);
    }
}

/// A key of the Java connector Rampart replaces that Rampart cannot honour:
/// defined with Java's default, so configs that leave it there (or spell
/// the default out) pass, and refused with a reason otherwise. Accepting it
/// and ignoring it would run the connector other than its config says.
#[derive(Debug, Clone, Copy)]
pub struct Refused {
    /// The key.
    pub key: &'static str,
    /// Its type in the Java connector.
    pub ty: ConfigType,
    /// The Java connector's default, the only value accepted.
    pub default: &'static str,
    /// Why any other value is refused.
    pub why: &'static str,
}

impl Refused {
    /// Defines each key in `group`, numbered by `order`.
    pub fn define_all(
        def: &mut ConfigDef,
        refused: &[Refused],
        group: &str,
        mut order: impl FnMut() -> i32,
    ) {
        for r in refused {
            let doc = format!("Refused unless left at its default: {}.", r.why);
            def.define(r.key, r.ty, Importance::Low, &doc)
                .default(r.default)
                .group(group, order())
                .add();
        }
    }

    /// The first key of `refused` set to another value than its default,
    /// as Kafka's `Invalid value … for configuration …` message (a password
    /// is not echoed).
    pub fn check(refused: &[Refused], props: &HashMap<String, String>) -> Result<(), String> {
        for r in refused {
            let Some(value) = props.get(r.key) else {
                continue;
            };
            if !value.trim().eq_ignore_ascii_case(r.default) {
                let shown = if r.ty == ConfigType::Password {
                    "[hidden]"
                } else {
                    value.as_str()
                };
                return Err(format!(
                    "Invalid value {shown} for configuration {}: {}",
                    r.key, r.why
                ));
            }
        }
        Ok(())
    }
}
