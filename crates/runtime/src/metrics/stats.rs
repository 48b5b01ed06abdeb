//! Kafka's sampled statistics (`org.apache.kafka.common.metrics.stats`):
//! values land in `metrics.num.samples` windows of
//! `metrics.sample.window.ms`, and a rate, average, maximum or frequency is
//! read over the windows still alive, so a Rampart rate reads as Java
//! Connect's does over the same events.

/// `MetricConfig`: the window length and how many windows are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricConfig {
    /// `metrics.sample.window.ms`.
    pub window_ms: u64,
    /// `metrics.num.samples`.
    pub samples: usize,
}

impl Default for MetricConfig {
    fn default() -> Self {
        MetricConfig {
            window_ms: 30_000,
            samples: 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    events: u64,
    start_ms: u64,
    last_event_ms: u64,
}

/// How a sample folds in a value and how samples combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `WindowedSum`, which `Rate` measures by default.
    Sum,
    /// `Avg`.
    Avg,
    /// `Max`.
    Max,
    /// `Frequencies` over the two values 0.0 and 1.0 (`forBooleanValues`):
    /// the sample's value counts the 1.0s, its events count both.
    Boolean,
}

impl Kind {
    fn initial(self) -> f64 {
        match self {
            Kind::Max => f64::NEG_INFINITY,
            Kind::Sum | Kind::Avg | Kind::Boolean => 0.0,
        }
    }
}

/// `SampledStat`: a ring of samples, each covering one window.
#[derive(Debug, Clone)]
pub struct SampledStat {
    kind: Kind,
    samples: Vec<Sample>,
    current: usize,
}

impl SampledStat {
    fn new(kind: Kind) -> Self {
        SampledStat {
            kind,
            samples: Vec::new(),
            current: 0,
        }
    }

    /// A windowed sum (what `Rate` divides by the elapsed time).
    pub fn sum() -> Self {
        Self::new(Kind::Sum)
    }

    /// `Avg`: NaN when no value falls in the live windows, as in Java.
    pub fn avg() -> Self {
        Self::new(Kind::Avg)
    }

    /// `Max`: NaN when no value falls in the live windows, as in Java.
    pub fn max() -> Self {
        Self::new(Kind::Max)
    }

    /// `Frequencies.forBooleanValues`: records `true` or `false`.
    pub fn boolean() -> Self {
        Self::new(Kind::Boolean)
    }

    fn fresh(&self, now: u64) -> Sample {
        Sample {
            value: self.kind.initial(),
            events: 0,
            start_ms: now,
            last_event_ms: now,
        }
    }

    /// Records a value at `now` (milliseconds on any monotonic clock).
    pub fn record(&mut self, config: MetricConfig, value: f64, now: u64) {
        if self.samples.is_empty() {
            self.samples.push(self.fresh(now));
            self.current = 0;
        }
        let complete = now.saturating_sub(self.samples[self.current].start_ms) >= config.window_ms;
        if complete {
            self.advance(config, now);
        }
        let kind = self.kind;
        let sample = &mut self.samples[self.current];
        match kind {
            Kind::Sum | Kind::Avg => sample.value += value,
            Kind::Max => sample.value = sample.value.max(value),
            Kind::Boolean => {
                if value >= 0.5 {
                    sample.value += 1.0;
                }
            }
        }
        sample.events += 1;
        sample.last_event_ms = now;
    }

    // One slot more than `samples` (Kafka 3.8+, KAFKA-16264's fix of rate
    // spikes): the oldest window may overlap the monitored span.
    fn advance(&mut self, config: MetricConfig, now: u64) {
        let slots = config.samples.max(1) + 1;
        self.current = (self.current + 1) % slots;
        let fresh = self.fresh(now);
        if self.current >= self.samples.len() {
            self.samples.push(fresh);
        } else {
            self.samples[self.current] = fresh;
        }
    }

    /// Resets samples whose last event is older than all windows together,
    /// as `purgeObsoleteSamples` does before every measurement.
    fn purge(&mut self, config: MetricConfig, now: u64) {
        let expire_age = config.samples as u64 * config.window_ms;
        for i in 0..self.samples.len() {
            if now.saturating_sub(self.samples[i].last_event_ms) >= expire_age {
                self.samples[i] = self.fresh(now);
            }
        }
    }

    /// The combined value over the live windows.
    pub fn measure(&mut self, config: MetricConfig, now: u64) -> f64 {
        self.purge(config, now);
        let events: u64 = self.samples.iter().map(|s| s.events).sum();
        match self.kind {
            Kind::Sum => self.samples.iter().fold(0.0, |a, s| a + s.value),
            Kind::Avg if events == 0 => f64::NAN,
            Kind::Avg => self.samples.iter().fold(0.0, |a, s| a + s.value) / events as f64,
            Kind::Max if events == 0 => f64::NAN,
            Kind::Max => self
                .samples
                .iter()
                .map(|s| s.value)
                .fold(f64::NEG_INFINITY, f64::max),
            Kind::Boolean => self.frequency(true, events),
        }
    }

    /// For a boolean stat, the share of `true` (or `false`) values in the
    /// live windows, 0.0 to 1.0; 0.0 when there are none.
    pub fn share(&mut self, of: bool, config: MetricConfig, now: u64) -> f64 {
        self.purge(config, now);
        let events: u64 = self.samples.iter().map(|s| s.events).sum();
        self.frequency(of, events)
    }

    fn frequency(&self, of: bool, events: u64) -> f64 {
        if events == 0 {
            return 0.0;
        }
        let trues = self.samples.iter().fold(0.0, |a, s| a + s.value);
        let hits = if of { trues } else { events as f64 - trues };
        hits / events as f64
    }

    // Like Java's `oldest`, a read of an empty stat starts a sample.
    fn oldest_start(&mut self, now: u64) -> u64 {
        if self.samples.is_empty() {
            self.samples.push(self.fresh(now));
        }
        self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now)
    }
}

/// `Rate` in seconds over a windowed sum: the sum divided by the time the
/// live windows span, counted as at least `samples - 1` full windows so a
/// fresh sensor does not report a burst as a huge rate.
#[derive(Debug, Clone)]
pub struct Rate {
    sum: SampledStat,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            sum: SampledStat::sum(),
        }
    }
}

impl Rate {
    /// Records a value (a count of records, bytes…).
    pub fn record(&mut self, config: MetricConfig, value: f64, now: u64) {
        self.sum.record(config, value, now);
    }

    /// Per second, over the live windows.
    pub fn measure(&mut self, config: MetricConfig, now: u64) -> f64 {
        let value = self.sum.measure(config, now);
        value / (self.window_size(config, now) as f64 / 1000.0)
    }

    fn window_size(&mut self, config: MetricConfig, now: u64) -> u64 {
        self.sum.purge(config, now);
        let mut elapsed = now.saturating_sub(self.sum.oldest_start(now));
        let full = elapsed / config.window_ms.max(1);
        let min_full = config.samples.saturating_sub(1) as u64;
        if full < min_full {
            elapsed += (min_full - full) * config.window_ms;
        }
        elapsed.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: MetricConfig = MetricConfig {
        window_ms: 30_000,
        samples: 2,
    };

    // The figures below are Kafka 3.9's, from a transliteration checked
    // against its `RateTest` and `SampledStatTest`.
    #[test]
    fn a_rate_pads_a_young_window_and_forgets_an_old_one() {
        let mut rate = Rate::default();
        rate.record(CONFIG, 10.0, 0);
        assert!((rate.measure(CONFIG, 5_000) - 10.0 / 35.0).abs() < 1e-12);
        assert!((rate.measure(CONFIG, 45_000) - 10.0 / 45.0).abs() < 1e-12);
        assert_eq!(rate.measure(CONFIG, 60_000), 0.0);
    }

    #[test]
    fn reading_an_empty_rate_starts_its_window_as_in_java() {
        let mut rate = Rate::default();
        // Positive zero: Rust sums floats from -0.0, which reads "-0".
        assert!(rate.measure(CONFIG, 0).to_bits() == 0.0f64.to_bits());
        rate.record(CONFIG, 10.0, 29_000);
        assert!((rate.measure(CONFIG, 29_000) - 10.0 / 59.0).abs() < 1e-12);
        let mut unread = Rate::default();
        unread.record(CONFIG, 10.0, 29_000);
        assert!((unread.measure(CONFIG, 29_000) - 10.0 / 30.0).abs() < 1e-12);
    }

    #[test]
    fn a_steady_rate_reads_close_to_its_true_value() {
        let mut rate = Rate::default();
        for t in 0..=200u64 {
            rate.record(CONFIG, 1.0, t * 1_000);
        }
        assert!((rate.measure(CONFIG, 200_000) - 81.0 / 80.0).abs() < 1e-12);
    }

    #[test]
    fn avg_and_max_are_nan_without_values_as_in_java() {
        let mut avg = SampledStat::avg();
        let mut max = SampledStat::max();
        assert!(avg.measure(CONFIG, 0).is_nan());
        assert!(max.measure(CONFIG, 0).is_nan());
        for v in [2.0, 4.0, 9.0] {
            avg.record(CONFIG, v, 100);
            max.record(CONFIG, v, 100);
        }
        assert_eq!(avg.measure(CONFIG, 200), 5.0);
        assert_eq!(max.measure(CONFIG, 200), 9.0);
        // Purged 60 s after the last event.
        assert_eq!(max.measure(CONFIG, 60_099), 9.0);
        assert!(max.measure(CONFIG, 60_100).is_nan());
    }

    #[test]
    fn boolean_frequencies_are_shares_between_zero_and_one() {
        let mut results = SampledStat::boolean();
        assert_eq!(results.share(true, CONFIG, 0), 0.0);
        assert_eq!(results.share(false, CONFIG, 0), 0.0);
        for ok in [true, true, true, false] {
            results.record(CONFIG, if ok { 1.0 } else { 0.0 }, 10);
        }
        assert_eq!(results.share(true, CONFIG, 20), 0.75);
        assert_eq!(results.share(false, CONFIG, 20), 0.25);
    }

    #[test]
    fn the_ring_keeps_one_slot_more_than_samples() {
        let mut sum = SampledStat::sum();
        sum.record(CONFIG, 1.0, 0);
        sum.record(CONFIG, 2.0, 30_000);
        sum.record(CONFIG, 4.0, 60_000);
        // Three slots: none reused yet; the first expires 60 s after its
        // last event.
        assert_eq!(sum.measure(CONFIG, 59_999), 7.0);
        assert_eq!(sum.measure(CONFIG, 60_000), 6.0);
        sum.record(CONFIG, 8.0, 90_000);
        // The fourth window reuses the first slot, and the second (last
        // event at 30 s) has expired.
        assert_eq!(sum.measure(CONFIG, 90_000), 12.0);
    }
}
