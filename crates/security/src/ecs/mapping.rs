//! Mapping files: data that says how parsed fields become ECS (or OCSF)
//! fields. A file is one JSON object:
//!
//! ```json
//! {
//!   "name": "sshd",
//!   "when": [{"field": "appName", "prefix": ["sshd"]}],
//!   "copy": {"host": "host.name", "processId": "process.pid:long"},
//!   "set": {"event.module": "sshd"},
//!   "rules": [
//!     {"field": "message",
//!      "regex": "^Failed (?P<method>\\S+) for (?P<user>\\S+) from (?P<ip>\\S+)",
//!      "fields": {"user": "user.name", "ip": "source.ip:ip"},
//!      "set": {"event.action": "ssh_login", "event.outcome": "failure"}}
//!   ]
//! }
//! ```
//!
//! A target may also be a list of targets, to write one value to several
//! fields. A mapping applies when every `when` condition holds. `copy` moves input
//! fields to output paths, `set` writes constants, and the first rule whose
//! conditions and regex match adds its captures and constants. A target is
//! `path` or `path:type`, the type one of `string`, `long`, `ip` (dropped
//! unless it parses as an address), `timestamp` (epoch milliseconds to RFC
//! 3339), `lowercase`, `array` (wrapped in a one-element array), or
//! `syslog_severity`/`syslog_facility` (a code to its name).

use std::net::IpAddr;

use chrono::{DateTime, SecondsFormat};
use rampart_core::data::Value;
use regex::{Regex, RegexSet};
use serde::Deserialize;

use crate::fields;

/// Why a mapping file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Not JSON of the expected shape.
    #[error("{name}: {source}")]
    Json {
        /// The file or built-in name.
        name: String,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A regex that does not compile.
    #[error("{name}: invalid regex {pattern:?}: {reason}")]
    Regex {
        /// The file or built-in name.
        name: String,
        /// The pattern.
        pattern: String,
        /// The compiler's reason.
        reason: String,
    },
    /// A target type that does not exist.
    #[error("{name}: unknown type {ty:?} in target {target:?}")]
    Type {
        /// The file or built-in name.
        name: String,
        /// The target as written.
        target: String,
        /// The type as written.
        ty: String,
    },
    /// A capture that the rule's regex does not define.
    #[error("{name}: the regex {pattern:?} has no group {group:?}")]
    Group {
        /// The file or built-in name.
        name: String,
        /// The pattern.
        pattern: String,
        /// The group.
        group: String,
    },
    /// A condition without a test.
    #[error("{name}: a condition on {field:?} needs one of equals, prefix, regex or exists")]
    Condition {
        /// The file or built-in name.
        name: String,
        /// The field.
        field: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    name: String,
    #[serde(default)]
    when: Vec<RawCondition>,
    #[serde(default)]
    copy: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    set: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: String,
    #[serde(default)]
    equals: Vec<String>,
    #[serde(default)]
    prefix: Vec<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    exists: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    when: Vec<RawCondition>,
    field: String,
    regex: String,
    #[serde(default)]
    fields: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    set: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    String,
    Long,
    Ip,
    Timestamp,
    Lowercase,
    Array,
    SyslogSeverity,
    SyslogFacility,
}

#[derive(Debug, Clone)]
struct Target {
    path: String,
    ty: Type,
}

#[derive(Debug)]
enum Test {
    Equals(Vec<String>),
    Prefix(Vec<String>),
    Regex(Regex),
    Exists(bool),
}

#[derive(Debug)]
struct Condition {
    field: String,
    test: Test,
}

#[derive(Debug)]
struct Rule {
    when: Vec<Condition>,
    regex: Regex,
    captures: Vec<(usize, Target)>,
    set: Vec<(String, Value)>,
}

/// Rules over one input field, tried together: a `RegexSet` says in one
/// pass which may match, so a line costs one scan however many rules.
#[derive(Debug)]
struct RuleGroup {
    field: String,
    set: RegexSet,
    rules: Vec<Rule>,
}

/// One compiled mapping.
#[derive(Debug)]
pub struct Mapping {
    /// Its name.
    pub name: String,
    when: Vec<Condition>,
    copy: Vec<(String, Target)>,
    set: Vec<(String, Value)>,
    groups: Vec<RuleGroup>,
}

fn target(name: &str, spec: &str) -> Result<Target, MappingError> {
    let (path, ty) = match spec.rsplit_once(':') {
        Some((path, ty)) => (path, ty),
        None => (spec, "string"),
    };
    let ty = match ty {
        "string" => Type::String,
        "long" => Type::Long,
        "ip" => Type::Ip,
        "timestamp" => Type::Timestamp,
        "lowercase" => Type::Lowercase,
        "array" => Type::Array,
        "syslog_severity" => Type::SyslogSeverity,
        "syslog_facility" => Type::SyslogFacility,
        other => {
            return Err(MappingError::Type {
                name: name.to_string(),
                target: spec.to_string(),
                ty: other.to_string(),
            })
        }
    };
    Ok(Target {
        path: path.to_string(),
        ty,
    })
}

/// A target, or several (`["source.address", "source.ip:ip"]`).
fn targets(spec: &serde_json::Value) -> Vec<&str> {
    match spec {
        serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str()).collect(),
        other => vec![other.as_str().unwrap_or_default()],
    }
}

fn regex(name: &str, pattern: &str) -> Result<Regex, MappingError> {
    Regex::new(pattern).map_err(|e| MappingError::Regex {
        name: name.to_string(),
        pattern: pattern.to_string(),
        reason: e.to_string(),
    })
}

fn condition(name: &str, raw: RawCondition) -> Result<Condition, MappingError> {
    let test = if !raw.equals.is_empty() {
        Test::Equals(raw.equals)
    } else if !raw.prefix.is_empty() {
        Test::Prefix(raw.prefix)
    } else if let Some(r) = raw.regex {
        Test::Regex(regex(name, &r)?)
    } else if let Some(e) = raw.exists {
        Test::Exists(e)
    } else {
        return Err(MappingError::Condition {
            name: name.to_string(),
            field: raw.field,
        });
    };
    Ok(Condition {
        field: raw.field,
        test,
    })
}

fn constants(set: serde_json::Map<String, serde_json::Value>) -> Vec<(String, Value)> {
    set.into_iter()
        .map(|(k, v)| (k, crate::parse::from_json(v)))
        .collect()
}

impl Mapping {
    /// Compiles a mapping file's text; `origin` names it in errors.
    pub fn from_json(origin: &str, text: &str) -> Result<Mapping, MappingError> {
        let raw: RawMapping = serde_json::from_str(text).map_err(|source| MappingError::Json {
            name: origin.to_string(),
            source,
        })?;
        let name = raw.name;
        let when = raw
            .when
            .into_iter()
            .map(|c| condition(&name, c))
            .collect::<Result<_, _>>()?;
        let copy = raw
            .copy
            .into_iter()
            .flat_map(|(from, to)| {
                targets(&to)
                    .into_iter()
                    .map(|t| Ok((from.clone(), target(&name, t)?)))
                    .collect::<Vec<_>>()
            })
            .collect::<Result<_, MappingError>>()?;
        let mut groups: Vec<(String, Vec<String>, Vec<Rule>)> = Vec::new();
        for r in raw.rules {
            let re = regex(&name, &r.regex)?;
            let mut captures = Vec::new();
            for (group, to) in r.fields {
                let index = re
                    .capture_names()
                    .position(|n| n == Some(group.as_str()))
                    .ok_or_else(|| MappingError::Group {
                        name: name.clone(),
                        pattern: r.regex.clone(),
                        group: group.clone(),
                    })?;
                for to in targets(&to) {
                    captures.push((index, target(&name, to)?));
                }
            }
            let rule = Rule {
                when: r
                    .when
                    .into_iter()
                    .map(|c| condition(&name, c))
                    .collect::<Result<_, _>>()?,
                regex: re,
                captures,
                set: constants(r.set),
            };
            match groups.iter_mut().find(|g| g.0 == r.field) {
                Some(g) => {
                    g.1.push(r.regex);
                    g.2.push(rule);
                }
                None => groups.push((r.field, vec![r.regex], vec![rule])),
            }
        }
        let groups = groups
            .into_iter()
            .map(|(field, patterns, rules)| {
                let set = RegexSet::new(&patterns).map_err(|e| MappingError::Regex {
                    name: name.clone(),
                    pattern: patterns.join(" | "),
                    reason: e.to_string(),
                })?;
                Ok(RuleGroup { field, set, rules })
            })
            .collect::<Result<_, MappingError>>()?;
        Ok(Mapping {
            when,
            copy,
            set: constants(raw.set),
            groups,
            name,
        })
    }

    /// Whether the mapping applies to `input`.
    pub fn applies(&self, input: &Value) -> bool {
        holds(&self.when, input)
    }

    /// Writes what the mapping makes of `input` into `out`; returns whether
    /// a rule matched.
    pub fn apply(&self, input: &Value, out: &mut Value) -> bool {
        for (from, to) in &self.copy {
            if let Some(v) = fields::get(input, from) {
                write(out, to, v);
            }
        }
        for (path, v) in &self.set {
            fields::set(out, path, v.clone());
        }
        let mut matched = false;
        for group in &self.groups {
            let Some(text) = fields::get_text(input, &group.field) else {
                continue;
            };
            for i in group.set.matches(&text).iter() {
                let rule = &group.rules[i];
                if !holds(&rule.when, input) {
                    continue;
                }
                let Some(caps) = rule.regex.captures(&text) else {
                    continue;
                };
                for (index, to) in &rule.captures {
                    if let Some(m) = caps.get(*index) {
                        write(out, to, &Value::String(m.as_str().to_string()));
                    }
                }
                for (path, v) in &rule.set {
                    fields::set(out, path, v.clone());
                }
                matched = true;
                break;
            }
        }
        matched
    }
}

fn holds(conditions: &[Condition], input: &Value) -> bool {
    conditions.iter().all(|c| {
        let value = fields::get(input, &c.field).filter(|v| !v.is_null());
        match &c.test {
            Test::Exists(e) => value.is_some() == *e,
            test => {
                let Some(text) = value.and_then(fields::text) else {
                    return false;
                };
                match test {
                    Test::Equals(list) => list.iter().any(|x| *x == text),
                    Test::Prefix(list) => list.iter().any(|x| text.starts_with(x.as_str())),
                    Test::Regex(r) => r.is_match(&text),
                    Test::Exists(_) => true,
                }
            }
        }
    })
}

const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

fn convert(value: &Value, ty: Type) -> Option<Value> {
    let text = || fields::text(value);
    Some(match ty {
        Type::String => match value {
            Value::String(_) | Value::Map(_) | Value::Array(_) => value.clone(),
            other => Value::String(fields::text(other)?.into_owned()),
        },
        Type::Long => match value.as_i64() {
            Some(n) => Value::Int64(n),
            None => Value::Int64(text()?.trim().parse().ok()?),
        },
        Type::Ip => {
            let t = text()?;
            let t = t.trim();
            t.parse::<IpAddr>().ok()?;
            Value::String(t.to_string())
        }
        Type::Timestamp => match value {
            Value::String(s) => Value::String(s.clone()),
            other => {
                let ms = other.as_i64()?;
                Value::String(
                    DateTime::from_timestamp_millis(ms)?
                        .to_rfc3339_opts(SecondsFormat::Millis, true),
                )
            }
        },
        Type::Lowercase => Value::String(text()?.to_lowercase()),
        Type::Array => match value {
            Value::Array(_) => value.clone(),
            other => Value::Array(vec![other.clone()]),
        },
        Type::SyslogSeverity => {
            let code = value.as_i64().or_else(|| text()?.parse().ok())?;
            Value::String(SEVERITIES.get(usize::try_from(code).ok()?)?.to_string())
        }
        Type::SyslogFacility => {
            let code = value.as_i64().or_else(|| text()?.parse().ok())?;
            Value::String(
                rampart_connector_syslog::parse::facility_name(u8::try_from(code).ok()?)
                    .to_string(),
            )
        }
    })
}

fn write(out: &mut Value, to: &Target, value: &Value) {
    if value.is_null() {
        return;
    }
    if let Value::String(s) = value {
        if s.is_empty() {
            return;
        }
    }
    if let Some(v) = convert(value, to.ty) {
        fields::set(out, &to.path, v);
    }
}
