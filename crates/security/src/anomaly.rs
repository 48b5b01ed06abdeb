//! `io.rampart.transforms.RateAnomaly`: flags a key whose event rate jumps
//! above its own moving baseline, so a brute-force burst (failed logins per
//! `source.ip` per minute) can be routed to an alerts topic as it happens,
//! before any ML stage sees it.
//!
//! Each key counts events in fixed buckets of event time. When a bucket
//! closes, the key's baseline moves towards its count (an exponentially
//! weighted moving average over `baseline.buckets`; empty buckets in
//! between count as zeros). A record is tagged while its bucket's running
//! count exceeds both `min.count` and `threshold` times the baseline. Use a
//! predicate (`FieldMatches` on `event.outcome=failure`, say) to count only
//! the events that matter. State per key is a few words, bounded by
//! `max.keys`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_core::config::{ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, TransformCounter, Transformation};
use rampart_core::ConnectError;

use crate::fields;
use crate::keyed::{key_of, time_of, KeyedState};

/// The keys `RateAnomaly` takes.
pub fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "fields",
        ConfigType::List,
        Importance::High,
        "Fields whose values make the key whose rate is tracked (e.g. source.ip).",
    )
    .validator(Validator::NonEmpty)
    .add();
    def.define(
        "bucket.ms",
        ConfigType::Long,
        Importance::High,
        "The bucket the rate is counted in, in milliseconds of event time.",
    )
    .default("60000")
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "baseline.buckets",
        ConfigType::Int,
        Importance::Medium,
        "How many buckets the moving baseline spans (the EWMA's alpha is 2/(n+1)).",
    )
    .default("10")
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "threshold",
        ConfigType::Double,
        Importance::High,
        "How many times the baseline a bucket's count must exceed.",
    )
    .default("3.0")
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "min.count",
        ConfigType::Long,
        Importance::High,
        "The least count in a bucket that can be anomalous, whatever the baseline (a new key's baseline is 0).",
    )
    .default("10")
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "max.keys",
        ConfigType::Int,
        Importance::Medium,
        "How many keys to track; beyond it the least recently seen key is forgotten.",
    )
    .default("100000")
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "target.field",
        ConfigType::String,
        Importance::Medium,
        "Where flagged records get {key, count, baseline, bucket_ms}.",
    )
    .default("rampart.anomaly")
    .validator(Validator::NonEmpty)
    .add();
    def
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    bucket: i64,
    count: u64,
    baseline: f64,
}

/// Tags records whose key's rate exceeds its baseline.
#[derive(Debug)]
pub struct RateAnomaly {
    fields: Vec<String>,
    bucket_ms: i64,
    alpha: f64,
    threshold: f64,
    min_count: u64,
    target: String,
    state: KeyedState<Rate>,
    flagged: AtomicU64,
}

impl RateAnomaly {
    /// Builds the transform from its keys.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let span = config.long("baseline.buckets").unwrap_or(10).max(1) as f64;
        Ok(RateAnomaly {
            fields: config.list("fields"),
            bucket_ms: config.long("bucket.ms").unwrap_or(60_000).max(1),
            alpha: 2.0 / (span + 1.0),
            threshold: config.double("threshold").unwrap_or(3.0),
            min_count: config.long("min.count").unwrap_or(10).max(1) as u64,
            target: config
                .string("target.field")
                .unwrap_or("rampart.anomaly")
                .to_string(),
            state: KeyedState::new(config.long("max.keys").unwrap_or(100_000) as usize),
            flagged: AtomicU64::new(0),
        })
    }

    /// Counts one event of `key` at `time`; returns (count, baseline) when
    /// the bucket is anomalous.
    fn observe(&self, key: &str, time: i64) -> Option<(u64, f64)> {
        let bucket = time.div_euclid(self.bucket_ms);
        let alpha = self.alpha;
        let rate = self.state.with(
            key,
            || Rate {
                bucket,
                count: 0,
                baseline: 0.0,
            },
            |r| {
                if bucket > r.bucket {
                    // Close the bucket, then decay over the empty ones.
                    let mut baseline = alpha * r.count as f64 + (1.0 - alpha) * r.baseline;
                    let empty = (bucket - r.bucket - 1).min(10_000) as i32;
                    baseline *= (1.0 - alpha).powi(empty);
                    *r = Rate {
                        bucket,
                        count: 0,
                        baseline,
                    };
                }
                // Late events count in the current bucket: the rate is of
                // arrivals per key, and a late one still arrived.
                r.count += 1;
                *r
            },
        );
        let limit = (self.threshold * rate.baseline).max(self.min_count as f64 - 1.0);
        (rate.count as f64 > limit && rate.count >= self.min_count)
            .then_some((rate.count, rate.baseline))
    }
}

impl Transformation for RateAnomaly {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        let Some(key) = key_of(&record.value, &self.fields) else {
            return Ok(true);
        };
        if let Some((count, baseline)) = self.observe(&key, time_of(record)) {
            self.flagged.fetch_add(1, Ordering::Relaxed);
            fields::schemaless(record);
            fields::set(
                &mut record.value,
                &self.target,
                fields::map([
                    ("key", Value::String(key.replace('\u{1f}', ","))),
                    ("count", Value::Int64(count as i64)),
                    (
                        "baseline",
                        Value::Float64((baseline * 100.0).round() / 100.0),
                    ),
                    ("bucket_ms", Value::Int64(self.bucket_ms)),
                ]),
            );
        }
        Ok(true)
    }

    fn counters(&self) -> Vec<TransformCounter> {
        vec![
            TransformCounter {
                name: "anomalies_total",
                labels: Vec::new(),
                value: self.flagged.load(Ordering::Relaxed),
            },
            TransformCounter {
                name: "keys_evicted_total",
                labels: Vec::new(),
                value: self.state.evicted(),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(props: &[(&str, &str)]) -> RateAnomaly {
        let mut p: HashMap<String, String> = props
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p.entry("fields".into())
            .or_insert_with(|| "source.ip".into());
        RateAnomaly::new(&p).unwrap()
    }

    #[test]
    fn a_burst_over_a_quiet_baseline_is_flagged_from_min_count_on() {
        let a = anomaly(&[("min.count", "5"), ("bucket.ms", "60000")]);
        // 2 events a minute for 20 minutes: a baseline near 2.
        for minute in 0..20 {
            for _ in 0..2 {
                assert_eq!(a.observe("k", minute * 60_000), None);
            }
        }
        // The baseline is 1.96 (the EWMA has not quite reached 2), so with
        // 30 in one minute the 6th is the first over 3 x 1.96.
        let flagged: Vec<u64> = (0..30)
            .filter_map(|_| a.observe("k", 20 * 60_000).map(|(c, _)| c))
            .collect();
        assert_eq!(flagged.first(), Some(&6));
        assert_eq!(flagged.len(), 25);
    }

    #[test]
    fn a_steady_high_rate_becomes_the_baseline() {
        let a = anomaly(&[("min.count", "5"), ("baseline.buckets", "3")]);
        let mut flagged_late = 0;
        for minute in 0..30 {
            for _ in 0..50 {
                if a.observe("k", minute * 60_000).is_some() && minute > 10 {
                    flagged_late += 1;
                }
            }
        }
        assert_eq!(
            flagged_late, 0,
            "50/min for half an hour is normal for this key"
        );
    }

    #[test]
    fn idle_time_decays_the_baseline() {
        let a = anomaly(&[("min.count", "5"), ("baseline.buckets", "1")]);
        for _ in 0..100 {
            a.observe("k", 0);
        }
        // alpha = 1: baseline 100 after the first minute, 0 after an empty one.
        assert!(a.observe("k", 60_000).is_none());
        for _ in 0..3 {
            a.observe("k", 180_000);
        }
        let (count, baseline) = (0..10).find_map(|_| a.observe("k", 180_000)).unwrap();
        assert_eq!(count, 5);
        assert_eq!(baseline, 0.0);
    }
}
