//! librdkafka's statistics, turned into Java's client network metrics.

use rdkafka::ClientConfig;

use crate::metrics::{ClientStats, MetricConfig};

/// Feeds one statistics document into `stats`.
pub(crate) fn observe(stats: &ClientStats, statistics: &[u8]) {
    if let Err(error) = stats.observe_librdkafka(statistics) {
        tracing::debug!(%error, "unreadable librdkafka statistics");
    }
}

/// Turns librdkafka's statistics on for a client whose context reads them:
/// a few documents per sample window, so rates move as Java's do. A
/// `statistics.interval.ms` the user set wins.
pub fn enable(config: &mut ClientConfig, metrics: MetricConfig) {
    if config.get("statistics.interval.ms").is_none() {
        let interval = (metrics.window_ms / 6).clamp(1_000, 5_000);
        config.set("statistics.interval.ms", interval.to_string());
    }
}
