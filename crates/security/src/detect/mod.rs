//! `io.rampart.transforms.SigmaDetect`: evaluates Sigma rules (SigmaHQ's
//! detection format) against every record, and tags the records that
//! match; `io.rampart.transforms.predicates.HasDetection` tells tagged
//! records apart, so `RegexRouter` or `Filter` can send them to an alerts
//! topic.
//!
//! Rules are evaluated by the `rsigma` engine: every value modifier of the
//! Sigma specification but `expand` (`contains`, `startswith`, `endswith`,
//! `all`, `re` with its flags, `cidr`, `windash`, `base64`, `base64offset`,
//! `wide`, `cased`, `exists`, `fieldref`, comparisons, timestamp parts),
//! conditions with `and`, `or`, `not`, `1 of`, `all of` and parentheses,
//! keyword lists, and correlation rules of type `event_count`,
//! `value_count`, `temporal` and `temporal_ordered`. The rules come from
//! every `.yml` / `.yaml` file under `rules.dir`; a file that cannot be
//! parsed, or that asks for something rampart would not do as written, is
//! refused when the transform is built, with the file and the reason
//! (`validate` shows the list). Refused: unknown modifiers, `expand`, the
//! deprecated `timeframe` / `| count()` aggregations, Sigma filter
//! documents, `value_sum` / `value_avg` / `value_percentile` /
//! `value_median` correlations, rsigma's `rsigma.*` engine attributes,
//! rules or correlations without an `id`, duplicate ids, and references to
//! rules that are not loaded. A rule's `logsource` is not used to select
//! records: every rule sees every record, and its fields decide.
//!
//! Field names: `field.mapping` names a properties file of
//! `SigmaName=record.path` lines, merged over built-in names for the
//! common Sigma fields (`CommandLine` is `process.command_line`, `SourceIp`
//! and `src_ip` are `source.ip`, …; see `mapping.rs`). Any other name is
//! read as written, so rules written against ECS need no mapping. A path
//! names a dotted key or nested maps, as the other transforms here read
//! them.
//!
//! Output: each match appends `{id, title, level, tags}` to the array at
//! `target.field` (default `rampart.detections`); a correlation's also
//! carries `correlation: {type, group, value, timespan}` (the group-by
//! values, the aggregate and the window in seconds). The record becomes
//! schemaless, as every security transform's output. ECS's `rule.*` fields
//! are left alone: they describe the rule of the source (a firewall rule),
//! not ours. Records without a match, and values that are not a map or a
//! struct, pass through untouched.
//!
//! Correlations: a record whose match makes a correlation's condition hold
//! (the 5th failed login from one `source.ip` within a minute) is tagged
//! with the correlation too, and so is every further one while it holds.
//! A rule that only correlations with `generate: false` (Sigma's default)
//! refer to still feeds them but does not tag records itself. Event time
//! is the record's `@timestamp` (RFC 3339 text, or epoch milliseconds),
//! else the record timestamp, else the clock. State is bounded: at most
//! `correlation.max.groups` windows (a correlation and its group-by
//! values; beyond, the stalest are evicted), each keeping at most the
//! events its condition needs (one more than the largest `event_count`
//! threshold; 1,000 for the other types, newest first), and a window's
//! events older than its time span are dropped. State lives in the
//! transform: one task's records are correlated together, and a restart
//! starts afresh.
//!
//! Counters: `detections_total{rule=<id>}`, matches per rule and
//! correlation, including rules that only feed correlations.

mod event;
mod mapping;
mod predicate;
mod rules;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, TransformCounter, Transformation};
use rampart_core::ConnectError;
use rsigma_eval::{CorrelationBody, CorrelationEngine, Engine, EvaluationResult};

use crate::fields;
use event::RecordEvent;
use mapping::FieldMapping;
use rules::LoadedRule;

pub use predicate::{has_detection_config_def, HasDetection};

/// The array matches are appended to, unless `target.field` says otherwise.
pub const DEFAULT_TARGET: &str = "rampart.detections";

/// The keys of `io.rampart.transforms.SigmaDetect`.
pub fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "rules.dir",
        ConfigType::String,
        Importance::High,
        "Directory of Sigma rules: every .yml and .yaml file under it, recursively. \
         A file that cannot be parsed or uses a feature Rampart does not support \
         fails the transform, with the reason.",
    )
    .validator(Validator::NonEmpty)
    .add();
    def.define(
        "field.mapping",
        ConfigType::String,
        Importance::Medium,
        "Properties file of SigmaName=record.path lines (a comma-separated list \
         matches any of the paths), over the built-in mapping of common Sigma \
         field names onto ECS. Names mapped nowhere are read as written.",
    )
    .default("")
    .add();
    def.define(
        "target.field",
        ConfigType::String,
        Importance::Medium,
        "Array field each match is appended to, as {id, title, level, tags}.",
    )
    .default(DEFAULT_TARGET)
    .validator(Validator::NonEmpty)
    .add();
    def.define(
        "correlation.max.groups",
        ConfigType::Int,
        Importance::Low,
        "Most correlation windows (a correlation and its group-by values) kept \
         at once; beyond, the stalest are evicted.",
    )
    .default("10000")
    .validator(Validator::at_least(1.0))
    .add();
    def
}

/// Tags records that match Sigma rules.
pub struct SigmaDetect {
    engine: Engine,
    /// Correlation state is the one thing a record mutates; the lock is
    /// taken only for records matching a rule a correlation refers to.
    correlation: Option<Mutex<CorrelationEngine>>,
    rules: Vec<LoadedRule>,
    by_id: HashMap<String, usize>,
    /// Matches per entry of `rules`.
    matches: Vec<AtomicU64>,
    target: String,
}

impl std::fmt::Debug for SigmaDetect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigmaDetect")
            .field("rules", &self.rules.len())
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl SigmaDetect {
    /// Loads and compiles the rules.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let mapping = match config.string("field.mapping").unwrap_or_default() {
            "" => FieldMapping::defaults(),
            file => FieldMapping::with_file(Path::new(file))
                .map_err(|e| PluginConfigError::new("field.mapping", e))?,
        };
        let max_groups = config
            .long("correlation.max.groups")
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(1);
        let dir = config.string("rules.dir").unwrap_or_default();
        let set = rules::load(Path::new(dir), &mapping, max_groups)
            .map_err(|problems| PluginConfigError::new("rules.dir", problems.join("; ")))?;
        Ok(SigmaDetect {
            engine: set.engine,
            correlation: set.correlation.map(Mutex::new),
            matches: set.rules.iter().map(|_| AtomicU64::new(0)).collect(),
            rules: set.rules,
            by_id: set.by_id,
            target: config
                .string("target.field")
                .unwrap_or(DEFAULT_TARGET)
                .to_string(),
        })
    }

    /// The tags of every rule and correlation `record` matches.
    fn detect(&self, record: &ConnectRecord) -> Vec<Value> {
        let event = RecordEvent(&record.value);
        let results = self.engine.evaluate(&event);
        if results.is_empty() {
            return Vec::new();
        }
        let mut tags = Vec::new();
        let mut correlated: Vec<EvaluationResult> = Vec::new();
        for result in results {
            let Some(rule) = self.count(&result) else {
                continue;
            };
            if rule.tagged {
                tags.push(rule.tag.clone());
            }
            if rule.feeds_correlation {
                correlated.push(result);
            }
        }
        if correlated.is_empty() {
            return tags;
        }
        let Some(correlation) = &self.correlation else {
            return tags;
        };
        let at = event_time(record);
        let fired = correlation
            .lock()
            // A panic inside rsigma may have left one window half-updated;
            // counting on from there beats failing every later record.
            .unwrap_or_else(PoisonError::into_inner)
            .process_with_detections(&event, correlated, at);
        // The detections come back too: only the correlations are new.
        for result in &fired {
            if let Some(body) = result.as_correlation() {
                if let Some(rule) = self.count(result) {
                    tags.push(correlation_tag(rule, body));
                }
            }
        }
        tags
    }

    /// Counts a match; its rule.
    fn count(&self, result: &EvaluationResult) -> Option<&LoadedRule> {
        // Every loaded rule has an id (rules without are refused).
        let i = *self.by_id.get(result.header.rule_id.as_deref()?)?;
        self.matches[i].fetch_add(1, Ordering::Relaxed);
        self.rules.get(i)
    }
}

impl Transformation for SigmaDetect {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if !matches!(record.value, Value::Map(_) | Value::Struct(_)) {
            return Ok(true);
        }
        let tags = self.detect(record);
        if !tags.is_empty() {
            fields::schemaless(record);
            for tag in tags {
                fields::push(&mut record.value, &self.target, tag);
            }
        }
        Ok(true)
    }

    fn counters(&self) -> Vec<TransformCounter> {
        self.rules
            .iter()
            .zip(&self.matches)
            .map(|(rule, n)| TransformCounter {
                name: "detections_total",
                labels: vec![("rule", rule.id.clone())],
                value: n.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// A correlation's tag, with what fired it.
fn correlation_tag(rule: &LoadedRule, body: &CorrelationBody) -> Value {
    let mut tag = rule.tag.clone();
    let group = body
        .group_key
        .iter()
        .map(|(field, value)| (Value::string(field), Value::string(value)))
        .collect();
    let value = body.aggregated_value;
    // Counts are whole numbers; Kafka consumers read them better as such.
    let value = if value.fract() == 0.0 && value.abs() < 9.0e15 {
        Value::Int64(value as i64)
    } else {
        Value::Float64(value)
    };
    let detail = fields::map([
        ("type", Value::string(body.correlation_type.as_str())),
        ("group", Value::Map(group)),
        ("value", value),
        (
            "timespan",
            Value::Int64(i64::try_from(body.timespan_secs).unwrap_or(i64::MAX)),
        ),
    ]);
    if let Value::Map(entries) = &mut tag {
        entries.push((Value::string("correlation"), detail));
    }
    tag
}

/// When the record's event happened, in seconds since the epoch.
fn event_time(record: &ConnectRecord) -> i64 {
    fields::get(&record.value, "@timestamp")
        .and_then(timestamp_secs)
        .or_else(|| record.timestamp.map(|ms| ms.div_euclid(1000)))
        .unwrap_or_else(|| chrono::Utc::now().timestamp())
}

/// `@timestamp` as ECS writes it (RFC 3339), as text without a zone (UTC),
/// or as a Connect `Timestamp` (epoch milliseconds).
fn timestamp_secs(value: &Value) -> Option<i64> {
    if let Some(ms) = value.as_i64() {
        return Some(ms.div_euclid(1000));
    }
    let text = fields::text(value)?;
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|t| t.and_utc().timestamp())
}
