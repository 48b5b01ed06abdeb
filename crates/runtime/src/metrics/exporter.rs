//! The Prometheus JMX exporter's rule engine (`JmxCollector`), enough of it
//! to apply a configuration's rules to Connect's MBeans exactly as the
//! exporter would: the same match string, the same regex wrapping, the same
//! `$n` substitution, name sanitising and lowercasing.

use std::sync::OnceLock;

use regex::{Captures, Regex};

use super::exposition::{Exposition, Kind};
use super::{MBean, Value};

/// One entry of a configuration's `rules:`.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) pattern: &'static str,
    pub(crate) name: &'static str,
    pub(crate) labels: &'static [(&'static str, &'static str)],
    /// `value:`, a fixed value (info-style series).
    pub(crate) value: Option<f64>,
    pub(crate) kind: Kind,
    /// `valueFactor:`.
    pub(crate) factor: f64,
}

impl Rule {
    pub(crate) const fn new(pattern: &'static str, name: &'static str) -> Self {
        Rule {
            pattern,
            name,
            labels: &[],
            value: None,
            kind: Kind::Untyped,
            factor: 1.0,
        }
    }

    pub(crate) const fn labels(mut self, labels: &'static [(&'static str, &'static str)]) -> Self {
        self.labels = labels;
        self
    }

    pub(crate) const fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    pub(crate) const fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    pub(crate) const fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }
}

/// A configuration: its rules and its lowercasing switches.
pub(crate) struct Config {
    pub(crate) rules: &'static [Rule],
    pub(crate) lowercase_names: bool,
    pub(crate) lowercase_label_names: bool,
    pub(crate) compiled: &'static OnceLock<Vec<Regex>>,
}

/// Which series a rule match yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Emit {
    /// What exporter 1.x serves (Confluent's stack runs 1.1.0, Strimzi's
    /// 1.6.0), plus, where 1.x cut a `_total` off a name, the name as
    /// exporter 0.x served it: dashboards still query both.
    Current,
    /// Only the 0.x names ending in `_total`, kept beside another scheme.
    LegacyTotals,
}

/// Exporter 1.x (client_java 1.x's `sanitizeMetricName`) strips these
/// suffixes, repeatedly; counters get `_total` back when written.
const RESERVED_SUFFIXES: &[&str] = &["_total", "_created", "_bucket", "_info"];

fn strip_reserved(name: &str) -> &str {
    let mut name = name;
    loop {
        match RESERVED_SUFFIXES
            .iter()
            .find(|s| name.len() > s.len() && name.ends_with(*s))
        {
            Some(s) => name = &name[..name.len() - s.len()],
            None => return name,
        }
    }
}

impl Config {
    fn regexes(&self) -> &[Regex] {
        self.compiled.get_or_init(|| {
            self.rules
                .iter()
                .map(|r| {
                    // The exporter wraps every pattern so it may match
                    // anywhere in the string.
                    Regex::new(&format!("^.*(?:{}).*$", r.pattern))
                        .unwrap_or_else(|e| panic!("exporter rule {:?} is invalid: {e}", r.pattern))
                })
                .collect()
        })
    }

    /// Applies the first matching rule to one attribute, as the exporter
    /// does: a match with a non-numeric value and no fixed `value` ends
    /// there, exporting nothing.
    pub(crate) fn apply(
        &self,
        bean: &MBean,
        attribute: &str,
        value: &Value,
        emit: Emit,
        out: &mut Exposition,
    ) {
        let subject = match_string(bean, attribute, value);
        for (rule, regex) in self.rules.iter().zip(self.regexes()) {
            let Some(caps) = regex.captures(&subject) else {
                continue;
            };
            let number = match (rule.value, value) {
                (Some(v), _) => v,
                (None, Value::Number(n)) => *n,
                (None, Value::Text(_)) => return,
            };
            let mut name = safe_name(&expand(&caps, rule.name));
            if self.lowercase_names {
                name = name.to_lowercase();
            }
            let labels: Vec<(String, String)> = rule
                .labels
                .iter()
                .map(|(k, v)| {
                    let mut k = safe_name(&expand(&caps, k));
                    if self.lowercase_label_names {
                        k = k.to_lowercase();
                    }
                    (k, expand(&caps, v))
                })
                .collect();
            let labels: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let number = number * rule.factor;
            let stripped = strip_reserved(&name);
            let current = match rule.kind {
                Kind::Counter => format!("{stripped}_total"),
                Kind::Gauge | Kind::Untyped => stripped.to_string(),
            };
            let legacy = (current != name && name.ends_with("_total")).then_some(&name);
            match emit {
                Emit::Current => {
                    out.sample(&current, rule.kind, &labels, number);
                    if let Some(legacy) = legacy {
                        out.sample(legacy, Kind::Counter, &labels, number);
                    }
                }
                Emit::LegacyTotals => {
                    if name.ends_with("_total") {
                        out.sample(&name, Kind::Counter, &labels, number);
                    }
                }
            }
            return;
        }
    }
}

/// `domain<type=t, k=v><>attribute: value`, the string rules match.
fn match_string(bean: &MBean, attribute: &str, value: &Value) -> String {
    let mut s = format!("{}<type={}", bean.domain, bean.kind);
    for (k, v) in &bean.tags {
        s.push_str(", ");
        s.push_str(k);
        s.push('=');
        s.push_str(&jmx_sanitize(v));
    }
    s.push_str("><>");
    s.push_str(attribute);
    s.push_str(": ");
    match value {
        Value::Number(n) => s.push_str(&java_double(*n)),
        Value::Text(t) => s.push_str(t),
    }
    s
}

/// Kafka's `Sanitizer.jmxSanitize`: a tag value with characters outside
/// `[\w-%. \t]` is quoted as `ObjectName.quote` does, and the exporter
/// keeps the quotes in the label value.
fn jmx_sanitize(value: &str) -> std::borrow::Cow<'_, str> {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '%' | '.' | ' ' | '\t'));
    if plain {
        return value.into();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' | '*' | '?' | '\\' => {
                quoted.push('\\');
                quoted.push(c);
            }
            '\n' => quoted.push_str("\\n"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted.into()
}

/// `Double.toString` for the values Connect's metrics take.
fn java_double(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_string()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if n.fract() == 0.0 && n.abs() < 1e7 {
        format!("{n:.1}")
    } else {
        format!("{n}")
    }
}

/// Java's `Matcher.replaceAll` template: `$n` is the longest run of digits
/// naming an existing group, unlike the regex crate's `$name` syntax.
fn expand(caps: &Captures<'_>, template: &str) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_digit() {
            let mut group = usize::from(bytes[i + 1] - b'0');
            let mut j = i + 2;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                let next = group * 10 + usize::from(bytes[j] - b'0');
                if next >= caps.len() {
                    break;
                }
                group = next;
                j += 1;
            }
            out.push_str(caps.get(group).map_or("", |m| m.as_str()));
            i = j;
        } else {
            let c = template[i..].chars().next().unwrap_or('$');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// What the exporter does to a name or label name: every character outside
/// `[a-zA-Z0-9:_]` becomes `_`, runs of `_` collapse, and a leading digit
/// gets a `_` before it.
fn safe_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    let mut last_underscore = false;
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        out.push('_');
        last_underscore = true;
    }
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || c == ':' {
            c
        } else {
            '_'
        };
        if c == '_' {
            if last_underscore {
                continue;
            }
            last_underscore = true;
        } else {
            last_underscore = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_1x_strips_reserved_suffixes_repeatedly() {
        assert_eq!(strip_reserved("a_read_total"), "a_read");
        assert_eq!(
            strip_reserved("kafka_connect_app_info"),
            "kafka_connect_app"
        );
        assert_eq!(strip_reserved("a_info_total"), "a");
        assert_eq!(strip_reserved("_total"), "_total");
    }

    #[test]
    fn tag_values_with_colons_are_quoted_as_kafka_quotes_them() {
        assert_eq!(jmx_sanitize("my-connector.v2"), "my-connector.v2");
        assert_eq!(jmx_sanitize("connect-w1:8083"), "\"connect-w1:8083\"");
        assert_eq!(jmx_sanitize("a\"b"), "\"a\\\"b\"");
    }

    #[test]
    fn dollar_groups_take_the_longest_existing_number() {
        let re = Regex::new("(a)(b)").unwrap();
        let caps = re.captures("ab").unwrap();
        assert_eq!(expand(&caps, "x_$1_task_$2$10"), "x_a_task_ba0");
    }

    #[test]
    fn the_match_string_is_the_exporters() {
        let bean = MBean::connect(
            "sink-task-metrics",
            vec![("connector", "c".into()), ("task", "0".into())],
        );
        assert_eq!(
            match_string(&bean, "sink-record-read-total", &Value::Number(12.0)),
            "kafka.connect<type=sink-task-metrics, connector=c, task=0><>sink-record-read-total: 12.0"
        );
    }
}
