//! De-noising: what keeps a SIEM's licence bill down without losing what
//! matters. `Dedupe` keeps the first of identical events in a window,
//! `Sample` keeps one in N, `RateLimit` caps events per key and window,
//! and `Drop` removes records by field value, regex or CIDR block. Every
//! record they drop is counted by reason (`rampart_transform_records_dropped_total`).
//!
//! Windows run on event time (the record's timestamp), so a replayed topic
//! de-noises as it did live. Per-key state is bounded by `max.keys`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, Predicate, TransformCounter, Transformation};
use rampart_core::ConnectError;

use crate::fields;
use crate::keyed::{key_of, time_of, KeyedState};
use crate::matcher::{self, FieldMatcher};

fn define_keys(def: &mut ConfigDef, required: bool, doc: &str) {
    let key = def.define("fields", ConfigType::List, Importance::High, doc);
    if required {
        key.validator(Validator::NonEmpty).add();
    } else {
        key.default("").add();
    }
    def.define(
        "max.keys",
        ConfigType::Int,
        Importance::Medium,
        "How many keys to keep state for; beyond it the least recently seen key is forgotten.",
    )
    .default("100000")
    .validator(Validator::at_least(1.0))
    .add();
}

fn define_window(def: &mut ConfigDef, default: &str) {
    def.define(
        "window.ms",
        ConfigType::Long,
        Importance::High,
        "The window, in milliseconds of event time (the record timestamp).",
    )
    .default(default)
    .validator(Validator::at_least(1.0))
    .add();
}

fn define_count_field(def: &mut ConfigDef, default: &str, doc: &str) {
    def.define("count.field", ConfigType::String, Importance::Low, doc)
        .default(default)
        .add();
}

fn dropped(reason: &str, n: &AtomicU64) -> TransformCounter {
    TransformCounter {
        name: "records_dropped_total",
        labels: vec![("reason", reason.to_string())],
        value: n.load(Ordering::Relaxed),
    }
}

fn evicted(state_evicted: u64) -> TransformCounter {
    TransformCounter {
        name: "keys_evicted_total",
        labels: Vec::new(),
        value: state_evicted,
    }
}

/// Writes a count into a map value, leaving other values alone.
fn annotate(record: &mut ConnectRecord, field: &str, count: u64) {
    if field.is_empty() || count == 0 {
        return;
    }
    fields::schemaless(record);
    fields::set(&mut record.value, field, Value::Int64(count as i64));
}

/// Applies a windowed verdict: `Some(n)` keeps the record, writing the `n`
/// dropped in the window before; `None` drops it and counts the drop.
fn settle(
    record: &mut ConnectRecord,
    verdict: Option<u64>,
    count_field: &str,
    dropped: &AtomicU64,
) -> bool {
    match verdict {
        Some(previous) => {
            annotate(record, count_field, previous);
            true
        }
        None => {
            dropped.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

fn int(config: &rampart_core::config::ParsedConfig, name: &str) -> i64 {
    config.long(name).unwrap_or(1)
}

// ---------------------------------------------------------------- Dedupe

/// The keys `Dedupe` takes.
pub fn dedupe_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    define_keys(
        &mut def,
        true,
        "Fields whose values together make two events the same (e.g. host.name,message).",
    );
    define_window(&mut def, "60000");
    define_count_field(
        &mut def,
        "event.repeat_count",
        "Where the first event kept after a window gets the number of duplicates dropped in that window. Empty: not written.",
    );
    def
}

#[derive(Debug)]
struct DedupeEntry {
    window_start: i64,
    suppressed: u64,
    fresh: bool,
}

/// Keeps the first of identical events within a window.
#[derive(Debug)]
pub struct Dedupe {
    fields: Vec<String>,
    window: i64,
    count_field: String,
    state: KeyedState<DedupeEntry>,
    dropped: AtomicU64,
}

impl Dedupe {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = dedupe_def().parse(props)?;
        Ok(Dedupe {
            fields: config.list("fields"),
            window: int(&config, "window.ms"),
            count_field: config.string("count.field").unwrap_or_default().to_string(),
            state: KeyedState::new(int(&config, "max.keys") as usize),
            dropped: AtomicU64::new(0),
        })
    }
}

impl Transformation for Dedupe {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let Some(key) = key_of(&record.value, &self.fields) else {
            return Ok(true);
        };
        let now = time_of(record);
        let window = self.window;
        // Some(n): keep, reporting n duplicates of the window before; None: drop.
        let verdict = self.state.with(
            &key,
            || DedupeEntry {
                window_start: now,
                suppressed: 0,
                fresh: true,
            },
            |e| {
                if e.fresh {
                    e.fresh = false;
                    Some(0)
                } else if now.saturating_sub(e.window_start) >= window || now < e.window_start {
                    // A new window: this event is kept and carries the count
                    // of the duplicates dropped in the one before.
                    let previous = e.suppressed;
                    e.window_start = now;
                    e.suppressed = 0;
                    Some(previous)
                } else {
                    e.suppressed += 1;
                    None
                }
            },
        );
        Ok(settle(record, verdict, &self.count_field, &self.dropped))
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![
            dropped("duplicate", &self.dropped),
            evicted(self.state.evicted()),
        ]
    }
}

// ---------------------------------------------------------------- Sample

/// The keys `Sample` takes.
pub fn sample_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "rate",
        ConfigType::Int,
        Importance::High,
        "Keep one record in this many (per key when 'fields' is set).",
    )
    .validator(Validator::at_least(1.0))
    .add();
    define_keys(
        &mut def,
        false,
        "Fields to sample per key (e.g. event.action), so rare kinds keep their share. Empty: one count for all records.",
    );
    define_count_field(
        &mut def,
        "event.sample_rate",
        "Where kept records get the rate, so counts can be scaled back up in the SIEM. Empty: not written.",
    );
    def
}

/// Keeps one record in N.
#[derive(Debug)]
pub struct Sample {
    rate: u64,
    fields: Vec<String>,
    count_field: String,
    global: AtomicU64,
    state: KeyedState<u64>,
    dropped: AtomicU64,
}

impl Sample {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = sample_def().parse(props)?;
        Ok(Sample {
            rate: int(&config, "rate").max(1) as u64,
            fields: config.list("fields"),
            count_field: config.string("count.field").unwrap_or_default().to_string(),
            global: AtomicU64::new(0),
            state: KeyedState::new(int(&config, "max.keys") as usize),
            dropped: AtomicU64::new(0),
        })
    }
}

impl Transformation for Sample {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let seen = match (self.fields.is_empty(), key_of(&record.value, &self.fields)) {
            (false, Some(key)) => self.state.with(
                &key,
                || 0,
                |n| {
                    *n += 1;
                    *n - 1
                },
            ),
            _ => self.global.fetch_add(1, Ordering::Relaxed),
        };
        if seen % self.rate == 0 {
            annotate(record, &self.count_field, self.rate);
            Ok(true)
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            Ok(false)
        }
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![
            dropped("sampled", &self.dropped),
            evicted(self.state.evicted()),
        ]
    }
}

// ---------------------------------------------------------------- RateLimit

/// The keys `RateLimit` takes.
pub fn rate_limit_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "limit",
        ConfigType::Long,
        Importance::High,
        "How many records each key may pass per window; the rest are dropped.",
    )
    .validator(Validator::at_least(1.0))
    .add();
    define_window(&mut def, "1000");
    define_keys(
        &mut def,
        false,
        "Fields whose values make the key (e.g. source.ip). Empty: one limit for all records.",
    );
    define_count_field(
        &mut def,
        "event.rate_limited_count",
        "Where the first record passed after a window gets the number dropped in that window. Empty: not written.",
    );
    def
}

#[derive(Debug)]
struct Bucket {
    window_start: i64,
    passed: u64,
    dropped: u64,
}

/// Caps records per key and window.
#[derive(Debug)]
pub struct RateLimit {
    limit: u64,
    window: i64,
    fields: Vec<String>,
    count_field: String,
    state: KeyedState<Bucket>,
    dropped: AtomicU64,
}

impl RateLimit {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = rate_limit_def().parse(props)?;
        Ok(RateLimit {
            limit: int(&config, "limit").max(1) as u64,
            window: int(&config, "window.ms"),
            fields: config.list("fields"),
            count_field: config.string("count.field").unwrap_or_default().to_string(),
            state: KeyedState::new(int(&config, "max.keys") as usize),
            dropped: AtomicU64::new(0),
        })
    }
}

impl Transformation for RateLimit {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let key = key_of(&record.value, &self.fields).unwrap_or_default();
        let now = time_of(record);
        let (limit, window) = (self.limit, self.window);
        let verdict = self.state.with(
            &key,
            || Bucket {
                window_start: now,
                passed: 0,
                dropped: 0,
            },
            |b| {
                let mut previous = 0;
                if now.saturating_sub(b.window_start) >= window || now < b.window_start {
                    previous = b.dropped;
                    *b = Bucket {
                        window_start: now,
                        passed: 0,
                        dropped: 0,
                    };
                }
                if b.passed < limit {
                    b.passed += 1;
                    Some(previous)
                } else {
                    b.dropped += 1;
                    None
                }
            },
        );
        Ok(settle(record, verdict, &self.count_field, &self.dropped))
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![
            dropped("rate_limited", &self.dropped),
            evicted(self.state.evicted()),
        ]
    }
}

// ---------------------------------------------------------------- Drop

/// The keys `Drop` takes.
pub fn drop_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    matcher::define(&mut def);
    def.define(
        "negate",
        ConfigType::Boolean,
        Importance::Medium,
        "Drop the records that do NOT match instead (keep only matches).",
    )
    .default("false")
    .add();
    def.define(
        "reason",
        ConfigType::String,
        Importance::Low,
        "The reason the drops are counted under in /metrics.",
    )
    .default("filtered")
    .validator(Validator::NonEmpty)
    .add();
    def
}

/// Drops records whose field matches.
#[derive(Debug)]
pub struct DropRecords {
    matcher: FieldMatcher,
    negate: bool,
    reason: String,
    dropped: AtomicU64,
}

impl DropRecords {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = drop_def().parse(props)?;
        let reason = config.string("reason").unwrap_or("filtered").to_string();
        Ok(DropRecords {
            matcher: FieldMatcher::from_config(&config)?,
            negate: config.bool("negate"),
            reason,
            dropped: AtomicU64::new(0),
        })
    }
}

impl Transformation for DropRecords {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if self.matcher.matches(&record.value) != self.negate {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(false);
        }
        Ok(true)
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![dropped(&self.reason, &self.dropped)]
    }
}

// ---------------------------------------------------------------- FieldMatches

/// The keys `FieldMatches` takes.
pub fn field_matches_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    matcher::define(&mut def);
    def
}

/// `io.rampart.transforms.predicates.FieldMatches`: a field's value is one
/// of some values, matches a regex, or lies in a CIDR block; so any
/// transform (Filter, RegexRouter, RateLimit) can apply to some records.
#[derive(Debug)]
pub struct FieldMatches(FieldMatcher);

impl FieldMatches {
    /// Builds the predicate from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = field_matches_def().parse(props)?;
        Ok(FieldMatches(FieldMatcher::from_config(&config)?))
    }
}

impl Predicate for FieldMatches {
    fn test(&self, record: &ConnectRecord) -> bool {
        self.0.matches(&record.value)
    }
}
