//! The Kafka source: a compacted topic holding one record per indicator,
//! so a cluster of workers shares one list that analysts or a feed
//! importer write to.
//!
//! Record shape: the key is the indicator as text (`203.0.113.7`,
//! `10.0.0.0/8`, `evil.example`, `http://evil.example/x`, a hex hash), its
//! kind detected as in plain lists. The value is JSON metadata, or empty:
//!
//! ```json
//! {"type": "ipv4-addr", "provider": "soc", "description": "Emotet C2",
//!  "reference": "https://…", "first_seen": "2024-01-15T10:03:06Z",
//!  "last_seen": 1705313006000, "valid_until": "2024-03-01T00:00:00Z",
//!  "confidence": 80, "port": 443}
//! ```
//!
//! every key optional (`type` only overrides the detection; times are
//! RFC 3339 or epoch milliseconds; `confidence` is 0-100 or STIX's
//! None/Low/Med/High). A null value (a tombstone) deletes the indicator.
//! `indicator.ttl.ms` counts from `last_seen`, else the record's timestamp.
//!
//! Every partition is assigned and read from the beginning on every start,
//! with no consumer group membership and no offset commits: each worker
//! needs the whole topic, and compaction keeps it small.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use serde::Deserialize;
use serde_json::Value as Json;

use super::clock::{parse_time, Clock};
use super::set::{Indicator, Kind, MetaInput, SetBuilder, SkipReason, Skipped};
use super::source::{Source, SourceError, SourceSpec};

/// How long one poll waits; also how long a dropped source's thread may
/// take to notice.
const POLL: Duration = Duration::from_millis(200);
/// Records applied between checks of the clock and the owner.
const BATCH: usize = 10_000;
/// Changes are published (a copy of the set swapped in) at most this
/// often while records keep coming, so a topic read from the start is not
/// copied once per record.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// When records stop coming, changes are published after this long.
const PUBLISH_IDLE: Duration = Duration::from_millis(100);

/// A consumer for `topic` with the source's `kafka.*` properties
/// (librdkafka names: `bootstrap.servers`, `security.protocol`,
/// `sasl.mechanism`, `sasl.username`, `ssl.ca.location`, …). An unknown
/// property is refused here, so the transform build fails with it.
pub(crate) fn consumer(
    topic: &str,
    props: &BTreeMap<String, String>,
) -> Result<BaseConsumer, SourceError> {
    let mut config = ClientConfig::new();
    // librdkafka wants a group id even for a consumer that only assigns;
    // no group is joined and nothing is committed under it.
    config.set("group.id", format!("rampart-threat-intel-{topic}"));
    for (k, v) in props {
        config.set(k, v);
    }
    // Each worker reads the whole topic: committed offsets would make a
    // restarted worker skip indicators it no longer has.
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false");
    config.create().map_err(|e| SourceError::Kafka {
        topic: topic.to_string(),
        error: e.to_string(),
    })
}

/// What one record does to the set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// Add or replace.
    Upsert(Indicator, RecordMeta),
    /// A tombstone.
    Delete(Indicator),
    /// Not an indicator.
    Skip(SkipReason),
}

/// The metadata of one record, owned.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RecordMeta {
    pub(crate) provider: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) reference: Option<String>,
    pub(crate) first_seen: Option<i64>,
    pub(crate) last_seen: Option<i64>,
    pub(crate) valid_until: Option<i64>,
    pub(crate) confidence: Option<u8>,
    pub(crate) port: Option<u16>,
}

impl RecordMeta {
    fn input<'a>(&'a self, topic: &'a str) -> MetaInput<'a> {
        MetaInput {
            provider: self.provider.as_deref().unwrap_or(topic),
            description: self.description.as_deref(),
            reference: self.reference.as_deref(),
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            valid_until: self.valid_until,
            confidence: self.confidence,
            port: self.port,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ValueJson {
    #[serde(rename = "type")]
    kind: Option<String>,
    provider: Option<String>,
    description: Option<String>,
    reference: Option<String>,
    first_seen: Option<Json>,
    last_seen: Option<Json>,
    valid_until: Option<Json>,
    confidence: Option<Json>,
    port: Option<u16>,
}

fn time(v: Option<&Json>) -> Option<i64> {
    match v? {
        Json::String(s) => parse_time(s),
        Json::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// STIX 2.1 Appendix A's None/Low/Med/High scale, as numbers.
fn confidence(v: Option<&Json>) -> Option<u8> {
    match v? {
        Json::Number(n) => n.as_u64().map(|c| c.min(100) as u8),
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "none" => Some(0),
            "low" => Some(15),
            "med" | "medium" => Some(50),
            "high" => Some(85),
            other => other.parse::<u8>().ok().map(|c| c.min(100)),
        },
        _ => None,
    }
}

fn typed(kind: &str, key: &str) -> Result<Indicator, SkipReason> {
    let bad = SkipReason::Malformed;
    let hash = |k: Option<Kind>| {
        Indicator::parse_hash(key)
            .filter(|h| k.is_none_or(|k| h.kind() == k))
            .ok_or(bad)
    };
    match kind.to_ascii_lowercase().as_str() {
        "ip" | "ipv4" | "ipv6" | "ipv4-addr" | "ipv6-addr" | "cidr" => {
            Indicator::parse_ip_or_net(key).ok_or(bad)
        }
        "domain" | "domain-name" | "hostname" => Indicator::parse_domain(key).ok_or(bad),
        "url" => Indicator::parse_url(key).ok_or(bad),
        "hash" | "file" => hash(None),
        "md5" => hash(Some(Kind::Md5)),
        "sha1" | "sha-1" => hash(Some(Kind::Sha1)),
        "sha256" | "sha-256" => hash(Some(Kind::Sha256)),
        _ => Err(SkipReason::UnsupportedType),
    }
}

/// What a record of the topic does: key, value (`None` for a tombstone)
/// and the record's timestamp (ms).
pub(crate) fn record_change(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    timestamp: Option<i64>,
) -> Change {
    let Some(key) = key
        .and_then(|k| std::str::from_utf8(k).ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        return Change::Skip(SkipReason::Malformed);
    };
    let Some(value) = value else {
        return match Indicator::parse(key) {
            Some(i) => Change::Delete(i),
            None => Change::Skip(SkipReason::Malformed),
        };
    };
    let json: ValueJson = if value.iter().all(u8::is_ascii_whitespace) {
        ValueJson::default()
    } else {
        match serde_json::from_slice(value) {
            Ok(j) => j,
            Err(_) => return Change::Skip(SkipReason::Malformed),
        }
    };
    let indicator = match &json.kind {
        Some(kind) => typed(kind, key),
        None => Indicator::parse(key).ok_or(SkipReason::Malformed),
    };
    let indicator = match indicator {
        Ok(i) => i,
        Err(reason) => return Change::Skip(reason),
    };
    let meta = RecordMeta {
        first_seen: time(json.first_seen.as_ref()),
        last_seen: time(json.last_seen.as_ref()).or(timestamp),
        valid_until: time(json.valid_until.as_ref()),
        confidence: confidence(json.confidence.as_ref()),
        port: json.port.filter(|p| *p != 0),
        provider: json.provider,
        description: json.description,
        reference: json.reference,
    };
    Change::Upsert(indicator, meta)
}

/// Applies one change to the topic's working set.
pub(crate) fn apply(builder: &mut SetBuilder, change: Change, topic: &str) {
    match change {
        Change::Upsert(indicator, meta) => {
            let key = indicator.clone();
            // An update that arrives already expired ends the indicator.
            if !builder.insert(indicator, &meta.input(topic)) {
                builder.remove(&key);
            }
        }
        Change::Delete(indicator) => builder.remove(&indicator),
        Change::Skip(reason) => builder.skip(reason),
    }
}

fn partitions(consumer: &BaseConsumer, topic: &str) -> Result<Vec<i32>, String> {
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    let mut found: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    found.sort_unstable();
    Ok(found)
}

/// Assigns every partition: those already read keep their position, new
/// ones start at the beginning.
fn assign(consumer: &BaseConsumer, topic: &str, all: &[i32]) -> Result<(), String> {
    let positions = consumer.position().ok();
    let mut list = TopicPartitionList::new();
    for &p in all {
        let offset = positions
            .as_ref()
            .and_then(|l| l.find_partition(topic, p))
            .map(|e| e.offset())
            .filter(|o| matches!(o, Offset::Offset(_)))
            .unwrap_or(Offset::Beginning);
        list.add_partition_offset(topic, p, offset)
            .map_err(|e| e.to_string())?;
    }
    consumer.assign(&list).map_err(|e| e.to_string())
}

/// Follows the topic until the source is dropped.
pub(crate) fn follow(
    weak: Weak<Source>,
    consumer: BaseConsumer,
    topic: &str,
    spec: &SourceSpec,
    clock: Clock,
) {
    let mut builder = SetBuilder::new(spec.ttl_ms, clock(), None);
    let mut assigned: Vec<i32> = Vec::new();
    let mut next_metadata = Instant::now();
    let mut last_publish = Instant::now();
    let mut last_purge = Instant::now();
    let mut published_skips = Skipped::default();
    let mut dirty = false;
    let mut warned = false;
    let mut first_publish = true;
    loop {
        if weak.strong_count() == 0 {
            return;
        }
        if Instant::now() >= next_metadata {
            match partitions(&consumer, topic) {
                Ok(found) if !found.is_empty() => {
                    if found != assigned {
                        match assign(&consumer, topic, &found) {
                            Ok(()) => assigned = found,
                            Err(error) => {
                                tracing::warn!(topic, %error, "cannot assign threat intel topic partitions")
                            }
                        }
                    }
                    warned = false;
                    next_metadata = Instant::now() + spec.reload_interval;
                }
                result => {
                    if !warned {
                        let error = result.err().unwrap_or_else(|| "no partitions".to_string());
                        tracing::warn!(topic, %error, "threat intel topic not readable yet; retrying");
                        warned = true;
                    }
                    next_metadata = Instant::now() + Duration::from_secs(2);
                }
            }
        }
        if assigned.is_empty() {
            // Woken early when the source is dropped.
            std::thread::park_timeout(POLL);
            continue;
        }
        let mut idle = false;
        for i in 0..BATCH {
            match consumer.poll(if i == 0 { POLL } else { Duration::ZERO }) {
                Some(Ok(m)) => {
                    let change = record_change(m.key(), m.payload(), m.timestamp().to_millis());
                    apply(&mut builder, change, topic);
                    dirty = true;
                }
                Some(Err(error)) => {
                    tracing::debug!(topic, %error, "threat intel topic read error; retrying");
                    break;
                }
                None => {
                    idle = true;
                    break;
                }
            }
        }
        let since = last_publish.elapsed();
        let publish = dirty && (since >= PUBLISH_EVERY || (idle && since >= PUBLISH_IDLE));
        // Expired indicators stop matching at lookup; a republish also
        // frees them.
        let purge = last_purge.elapsed() >= spec.reload_interval;
        if !(publish || purge) {
            continue;
        }
        let Some(source) = weak.upgrade() else {
            return;
        };
        builder.set_now(clock());
        let set = builder.snapshot();
        let skipped = builder.skipped();
        if first_publish && idle {
            tracing::info!(
                topic,
                indicators = set.len(),
                skipped = skipped.total(),
                "threat intel topic read"
            );
            first_publish = false;
        }
        source.publish(set, skipped.since(published_skips));
        source.stats.loaded.fetch_add(1, Ordering::Relaxed);
        published_skips = skipped;
        dirty = false;
        last_publish = Instant::now();
        last_purge = Instant::now();
    }
}
