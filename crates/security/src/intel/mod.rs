//! `io.rampart.transforms.ThreatIntel`: threat-intelligence enrichment.
//! IP addresses (exact and CIDR), domains (exact and parent), URLs and
//! file hashes in chosen fields are looked up in indicator sets, and each
//! hit is appended to the ECS `threat.enrichments` array.
//!
//! Sets load from files, HTTP(S) URLs and compacted Kafka topics
//! ([`source`]), in plain, abuse.ch CSV, MISP or STIX 2.1 form
//! ([`formats`]), into hash maps keyed by binary indicators ([`set`]).
//! Tasks with the same settings share one copy, reloaded in the background
//! and swapped in whole, so a record takes no lock and a miss costs a
//! hash lookup per field.

mod clock;
mod formats;
mod http;
mod kafka;
mod set;
mod source;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::Guard;
use rampart_core::config::{split_list, ConfigDef, ConfigType, Importance, Validator};
use rampart_core::data::Value;
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{PluginConfigError, TransformCounter, Transformation};
use rampart_core::ConnectError;

pub use clock::{format_time, parse_time, system_clock, Clock, Now};
pub use formats::{parse as parse_feed, sniff, Format, FormatError};
pub use set::{
    normalize_domain, normalize_url, parse_ip, Hit, Indicator, IndicatorSet, Kind, MetaInput,
    SetBuilder, SkipReason, Skipped,
};
pub use source::SourceError;

use crate::fields;
use set::{GROUP_DOMAIN, GROUP_HASH, GROUP_IP, GROUP_URL};
use source::{Location, Source, SourceSpec};

const DEFAULT_IP_FIELDS: &str = "source.ip,destination.ip,client.ip,server.ip";
const DEFAULT_DOMAIN_FIELDS: &str = "url.domain,dns.question.name,destination.domain,source.domain";
const DEFAULT_URL_FIELDS: &str = "url.full,url.original";
const DEFAULT_HASH_FIELDS: &str =
    "file.hash.md5,file.hash.sha1,file.hash.sha256,process.hash.sha256";
/// 256 MiB: a million-line abuse.ch export is about 70 MB.
const DEFAULT_MAX_BYTES: &str = "268435456";

fn check_sources(raw: &str) -> Result<(), String> {
    let sources = split_list(raw);
    if sources.is_empty() {
        return Err("at least one source is required".to_string());
    }
    sources
        .iter()
        .try_for_each(|s| Location::parse(s).map(|_| ()))
}

/// The transform's keys.
pub fn config_def() -> ConfigDef {
    let mut def = ConfigDef::new();
    def.define(
        "sources",
        ConfigType::List,
        Importance::High,
        "Where indicators come from, comma-separated: file:<path>, http:// or https:// URLs \
         (reloaded when they change), and kafka:<topic> (a compacted topic: key = indicator, \
         value = JSON metadata or empty, tombstone = delete). Request headers for URLs are set \
         with http.header.<Name> keys.",
    )
    .validator(Validator::Custom {
        check: check_sources,
        describe: "file:<path>, http(s)://<url> or kafka:<topic>, comma-separated",
    })
    .add();
    def.define(
        "format",
        ConfigType::String,
        Importance::Medium,
        "The feed format of every source: plain (one indicator per line), feodo, urlhaus and \
         threatfox (abuse.ch CSV exports), misp (feed event JSON), stix (2.1 bundle), or auto \
         to tell each source's format from its content.",
    )
    .default("auto")
    .validator(Validator::OneOfIgnoreCase(Format::NAMES))
    .add();
    for (key, default, what) in [
        ("fields.ip", DEFAULT_IP_FIELDS, "IP addresses"),
        ("fields.domain", DEFAULT_DOMAIN_FIELDS, "domain names"),
        ("fields.url", DEFAULT_URL_FIELDS, "URLs"),
        (
            "fields.hash",
            DEFAULT_HASH_FIELDS,
            "MD5, SHA-1 or SHA-256 file hashes",
        ),
    ] {
        def.define(
            key,
            ConfigType::List,
            Importance::Medium,
            &format!(
                "Fields holding {what}, as dotted paths (nested or flattened keys); an array \
                 field is checked item by item. Empty to check none."
            ),
        )
        .default(default)
        .add();
    }
    def.define(
        "reload.interval.ms",
        ConfigType::Long,
        Importance::Medium,
        "How often file and URL sources are checked for changes (file modification time and \
         size; HTTP ETag and Last-Modified). A failed reload keeps the previous set.",
    )
    .default("60000")
    .validator(Validator::at_least(10.0))
    .add();
    def.define(
        "indicator.ttl.ms",
        ConfigType::Long,
        Importance::Medium,
        "Indicators expire this long after the feed last (or first) saw them, or, for feeds \
         that give no time, after this worker first loaded them. 0 for no expiry beyond the \
         feed's own (STIX valid_until, Kafka valid_until).",
    )
    .default("0")
    .validator(Validator::at_least(0.0))
    .add();
    def.define(
        "max.bytes",
        ConfigType::Long,
        Importance::Low,
        "The largest feed file or HTTP response body read, in bytes.",
    )
    .default(DEFAULT_MAX_BYTES)
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "http.timeout.ms",
        ConfigType::Long,
        Importance::Low,
        "The timeout of one HTTP fetch, body included.",
    )
    .default("30000")
    .validator(Validator::at_least(1.0))
    .add();
    def.define(
        "kafka.bootstrap.servers",
        ConfigType::String,
        Importance::Medium,
        "The brokers of kafka: sources. Other kafka.* keys are passed to the consumer as \
         librdkafka properties (security.protocol, sasl.mechanism, sasl.username, \
         sasl.password, ssl.ca.location, …).",
    )
    .default_null()
    .add();
    def.define(
        "kafka.sasl.password",
        ConfigType::Password,
        Importance::Low,
        "The SASL password of kafka: sources.",
    )
    .default_null()
    .add();
    def.define(
        "tag",
        ConfigType::String,
        Importance::Low,
        "Added to the record's tags when an indicator matched; empty for none.",
    )
    .default("threat-intel-match")
    .add();
    def
}

/// The threat-intelligence enrichment transform.
pub struct ThreatIntel {
    sources: Vec<Arc<Source>>,
    fields: Fields,
    tag: Option<String>,
    clock: Clock,
    hits: [AtomicU64; 7],
}

impl std::fmt::Debug for ThreatIntel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreatIntel")
            .field("sources", &self.sources)
            .field("fields", &self.fields)
            .finish()
    }
}

fn invalid(key: &str, value: &str, reason: impl std::fmt::Display) -> PluginConfigError {
    PluginConfigError::new(
        key,
        format!("Invalid value {value} for configuration {key}: {reason}"),
    )
}

impl ThreatIntel {
    /// Builds the transform, loading every file and URL source (or sharing
    /// the copy another task loaded) before it returns.
    pub fn new(props: &HashMap<String, String>) -> Result<Self, PluginConfigError> {
        Self::build(props, system_clock(), true)
    }

    /// As [`ThreatIntel::new`] with a given clock, and sources of its own
    /// (not shared, since the clock decides what expired).
    pub fn with_clock(
        props: &HashMap<String, String>,
        clock: Clock,
    ) -> Result<Self, PluginConfigError> {
        Self::build(props, clock, false)
    }

    fn build(
        props: &HashMap<String, String>,
        clock: Clock,
        shared: bool,
    ) -> Result<Self, PluginConfigError> {
        let config = config_def().parse(props)?;
        let long = |key: &str| config.long(key).unwrap_or_default();
        let format_name = config.string("format").unwrap_or("auto");
        let format = Format::from_name(format_name)
            .ok_or_else(|| invalid("format", format_name, "unknown format"))?;
        let raw_sources = config
            .originals()
            .get("sources")
            .cloned()
            .unwrap_or_default();
        let mut locations: Vec<Location> = Vec::new();
        for entry in config.list("sources") {
            let location =
                Location::parse(&entry).map_err(|e| invalid("sources", &raw_sources, e))?;
            // The same feed twice would enrich every hit twice.
            if !locations.contains(&location) {
                locations.push(location);
            }
        }
        let kafka: BTreeMap<String, String> =
            config.originals_with_prefix("kafka.").into_iter().collect();
        if locations.iter().any(|l| matches!(l, Location::Kafka(_)))
            && !kafka.contains_key("bootstrap.servers")
        {
            return Err(PluginConfigError::new(
                "kafka.bootstrap.servers",
                "Missing required configuration \"kafka.bootstrap.servers\" which has no default value.",
            ));
        }
        let mut http_headers = BTreeMap::new();
        for (name, value) in config.originals_with_prefix("http.header.") {
            let key = format!("http.header.{name}");
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid(&key, &value, "not a valid http header name"))?;
            reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| invalid(&key, "[hidden]", "not a valid http header value"))?;
            http_headers.insert(name, value);
        }
        let mut sources = Vec::with_capacity(locations.len());
        for location in locations {
            // Only the settings a source uses are in its spec, so tasks
            // that differ elsewhere still share it.
            let spec = SourceSpec {
                http_headers: match location {
                    Location::Http(_) => http_headers.clone(),
                    _ => BTreeMap::new(),
                },
                kafka: match location {
                    Location::Kafka(_) => kafka.clone(),
                    _ => BTreeMap::new(),
                },
                location,
                format,
                reload_interval: Duration::from_millis(long("reload.interval.ms").max(10) as u64),
                ttl_ms: long("indicator.ttl.ms").max(0),
                max_bytes: long("max.bytes").max(1) as u64,
                http_timeout: Duration::from_millis(long("http.timeout.ms").max(1) as u64),
            };
            let source = source::open(&spec, clock.clone(), shared)
                .map_err(|e| PluginConfigError::new("sources", e.to_string()))?;
            sources.push(source);
        }
        Ok(ThreatIntel {
            sources,
            fields: Fields::new([
                (config.list("fields.ip"), GROUP_IP),
                (config.list("fields.domain"), GROUP_DOMAIN),
                (config.list("fields.url"), GROUP_URL),
                (config.list("fields.hash"), GROUP_HASH),
            ]),
            tag: config
                .string("tag")
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            clock,
            hits: Default::default(),
        })
    }

    /// The indicators loaded now, over all sources (a Kafka source fills
    /// in after the build: poll this to wait for it).
    pub fn indicators(&self) -> usize {
        self.sources.iter().map(|s| s.load().len()).sum()
    }

    fn count(&self, kind: Kind) {
        let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.hits[i].fetch_add(1, Ordering::Relaxed);
    }
}

/// The current sets of a transform's sources, loaded once per record. Up
/// to four without allocating.
struct Sets {
    few: [Option<Guard<Arc<IndicatorSet>>>; 4],
    many: Vec<Guard<Arc<IndicatorSet>>>,
}

impl Sets {
    fn load(sources: &[Arc<Source>]) -> Self {
        if sources.len() <= 4 {
            Sets {
                few: std::array::from_fn(|i| sources.get(i).map(|s| s.load())),
                many: Vec::new(),
            }
        } else {
            Sets {
                few: Default::default(),
                many: sources.iter().map(|s| s.load()).collect(),
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = &IndicatorSet> {
        self.few
            .iter()
            .flatten()
            .chain(self.many.iter())
            .map(|g| &***g)
    }

    fn groups(&self) -> u8 {
        self.iter().fold(0, |g, s| g | s.groups())
    }
}

/// [`fields::get`]'s answer (the whole dotted key first at each level,
/// then the nested field), found with one scan of each map on the way
/// instead of three: a record is read at up to fourteen paths, most of
/// them absent, and the repeated scans cost more than the lookups.
fn field<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    let mut rest = path;
    loop {
        let split = rest.split_once('.');
        match current {
            Value::Map(entries) => {
                let head = split.map(|(h, _)| h);
                let mut down = None;
                for (k, v) in entries {
                    let Some(k) = k.as_str() else { continue };
                    if same(k.as_bytes(), rest.as_bytes()) {
                        return Some(v);
                    }
                    if down.is_none() && head.is_some_and(|h| same(k.as_bytes(), h.as_bytes())) {
                        down = Some(v);
                    }
                }
                current = down?;
            }
            other => {
                if let Some(v) = other.get_field(rest) {
                    return Some(v);
                }
                current = other.get_field(split?.0)?;
            }
        }
        rest = split?.1;
    }
}

/// One configured field path.
#[derive(Debug)]
struct FieldPath {
    path: String,
    /// The path after its first segment, if it has several.
    tail: Option<String>,
    /// Which lookup its values go to (`GROUP_IP`…).
    group: u8,
}

/// Byte equality without a call to `memcmp`: keys and path segments are a
/// few bytes long, shorter than the call.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// By byte length: the paths (index, whether the whole path) a top-level
/// key of that length may hold.
type ByLen = Vec<Vec<(usize, bool)>>;

/// Paths resolved per record in one scan of the top-level map (as many as
/// [`Fields::MAX`]): each key is compared only with the paths whose whole
/// text or first segment has its length, among the groups the loaded sets
/// have indicators for, so the fourteen default paths cost about one
/// comparison per key instead of one per key and path.
#[derive(Debug)]
struct Fields {
    paths: Vec<FieldPath>,
    /// One table per mask of groups (`GROUP_*` bits).
    by_len: Vec<ByLen>,
    /// Per mask of groups: the paths of those groups, in config order.
    active: Vec<Vec<usize>>,
}

impl Fields {
    const MAX: usize = 32;

    fn new(groups: [(Vec<String>, u8); 4]) -> Self {
        let paths: Vec<FieldPath> = groups
            .into_iter()
            .flat_map(|(paths, group)| {
                paths.into_iter().map(move |path| FieldPath {
                    tail: path.split_once('.').map(|(_, t)| t.to_string()),
                    path,
                    group,
                })
            })
            .collect();
        let all = GROUP_IP | GROUP_DOMAIN | GROUP_URL | GROUP_HASH;
        let by_len = (0..=all)
            .map(|mask| {
                let mut by_len: ByLen = Vec::new();
                for (i, p) in paths.iter().enumerate() {
                    if p.group & mask == 0 {
                        continue;
                    }
                    let head = p.tail.as_ref().map(|t| p.path.len() - t.len() - 1);
                    for (len, whole) in [(Some(p.path.len()), true), (head, false)] {
                        let Some(len) = len else { continue };
                        if by_len.len() <= len {
                            by_len.resize_with(len + 1, Vec::new);
                        }
                        by_len[len].push((i, whole));
                    }
                }
                by_len
            })
            .collect();
        let active = (0..=all)
            .map(|mask| {
                (0..paths.len())
                    .filter(|&i| paths[i].group & mask != 0)
                    .collect()
            })
            .collect();
        Fields {
            paths,
            by_len,
            active,
        }
    }

    /// Calls `f` with each path of `groups` that `value` has, in config
    /// order, and its value: what [`field`] finds, in one scan.
    fn each<'v>(&self, value: &'v Value, groups: u8, mut f: impl FnMut(&FieldPath, &'v Value)) {
        let Value::Map(entries) = value else {
            return self.each_slowly(value, groups, f);
        };
        let (Some(by_len), Some(active)) = (
            self.by_len.get(usize::from(groups)),
            self.active.get(usize::from(groups)),
        ) else {
            return self.each_slowly(value, groups, f);
        };
        if self.paths.len() > Self::MAX {
            return self.each_slowly(value, groups, f);
        }
        let mut whole: [Option<&'v Value>; Self::MAX] = [None; Self::MAX];
        let mut head: [Option<&'v Value>; Self::MAX] = [None; Self::MAX];
        for (k, v) in entries {
            let Some(k) = k.as_str() else { continue };
            let Some(candidates) = by_len.get(k.len()) else {
                continue;
            };
            for &(i, is_whole) in candidates {
                let slot = if is_whole {
                    &mut whole[i]
                } else {
                    &mut head[i]
                };
                if slot.is_none() {
                    let path = self.paths[i].path.as_bytes();
                    if same(&path[..k.len()], k.as_bytes()) {
                        *slot = Some(v);
                    }
                }
            }
        }
        for &i in active {
            let p = &self.paths[i];
            let found = match (whole[i], head[i], &p.tail) {
                (Some(v), _, _) => Some(v),
                (None, Some(h), Some(tail)) => field(h, tail),
                _ => None,
            };
            if let Some(v) = found {
                f(p, v);
            }
        }
    }

    fn each_slowly<'v>(
        &self,
        value: &'v Value,
        groups: u8,
        mut f: impl FnMut(&FieldPath, &'v Value),
    ) {
        for p in &self.paths {
            if groups & p.group != 0 {
                if let Some(v) = field(value, &p.path) {
                    f(p, v);
                }
            }
        }
    }
}

/// The texts of a field: its value, or each item of an array.
fn texts(value: &Value) -> impl Iterator<Item = Cow<'_, str>> {
    let (one, many) = match value {
        Value::Array(items) => (None, items.as_slice()),
        other => (Some(other), &[][..]),
    };
    one.into_iter().chain(many).filter_map(fields::text)
}

/// STIX 2.1 Appendix A's None/Low/Med/High scale, in ECS' words.
fn confidence_label(c: u8) -> &'static str {
    match c {
        0 => "None",
        1..=29 => "Low",
        30..=69 => "Medium",
        _ => "High",
    }
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// `matched.occurred`: the record's time of matching, formatted once
/// however many indicators it matched.
fn stamp<'a>(cache: &'a mut Option<String>, now: &mut Now<'_>) -> &'a str {
    cache.get_or_insert_with(|| format_time(now.get()).unwrap_or_default())
}

/// One `threat.enrichments` item (ECS 8.x): what matched, in
/// `indicator.*`, and where, in `matched.*`. For a network match
/// `indicator.ip` is the event's address and `indicator.name` the listed
/// network; for a parent-domain match `indicator.url.domain` is the listed
/// parent.
fn enrichment(
    hit: &Hit<'_>,
    atomic: &str,
    ip: Option<IpAddr>,
    field: &str,
    occurred: &str,
) -> Value {
    let kind = hit.indicator.kind();
    // Hits are rare but each builds some twenty strings: format the
    // indicator once and reuse it where the same text goes twice.
    let name = hit.indicator.to_string();
    let mut indicator = vec![("type", s(kind.ecs_type()))];
    let file = |algo: &str| fields::map([("hash", fields::map([(algo, s(name.as_str()))]))]);
    match &hit.indicator {
        Indicator::Ip(_) => indicator.push(("ip", s(name.as_str()))),
        Indicator::Net(net, _) => {
            indicator.push(("ip", s(ip.unwrap_or(*net).to_string())));
        }
        Indicator::Domain(_) => {
            indicator.push(("url", fields::map([("domain", s(name.as_str()))])))
        }
        Indicator::Url(_) => indicator.push(("url", fields::map([("full", s(name.as_str()))]))),
        Indicator::Md5(_) => indicator.push(("file", file("md5"))),
        Indicator::Sha1(_) => indicator.push(("file", file("sha1"))),
        Indicator::Sha256(_) => indicator.push(("file", file("sha256"))),
    }
    if let Some(port) = hit.port() {
        indicator.push(("port", Value::Int64(port.into())));
    }
    if let Some(p) = hit.provider() {
        indicator.push(("provider", s(p)));
    }
    if let Some(d) = hit.description() {
        indicator.push(("description", s(d)));
    }
    if let Some(t) = hit.first_seen().and_then(format_time) {
        indicator.push(("first_seen", s(t)));
    }
    if let Some(c) = hit.confidence() {
        indicator.push(("confidence", s(confidence_label(c))));
    }
    if let Some(r) = hit.reference() {
        indicator.push(("reference", s(r)));
    }
    let mut matched = vec![
        ("atomic", s(atomic)),
        ("field", s(field)),
        ("type", s("indicator_match_rule")),
    ];
    if !occurred.is_empty() {
        matched.push(("occurred", s(occurred)));
    }
    let obj =
        |pairs: Vec<(&str, Value)>| Value::Map(pairs.into_iter().map(|(k, v)| (s(k), v)).collect());
    let mut indicator = obj(indicator);
    // `name` last, as before, without formatting it again.
    if let Value::Map(entries) = &mut indicator {
        let at = entries.len().min(2);
        entries.insert(at, (s("name"), s(name)));
    }
    fields::map([("indicator", indicator), ("matched", obj(matched))])
}

impl Transformation for ThreatIntel {
    fn apply(&self, mut record: ConnectRecord) -> Result<Option<ConnectRecord>, ConnectError> {
        Ok(self.apply_in_place(&mut record)?.then_some(record))
    }

    fn apply_in_place(&self, record: &mut ConnectRecord) -> Result<bool, ConnectError> {
        if !matches!(record.value, Value::Map(_) | Value::Struct(_)) {
            return Ok(true);
        }
        let sets = Sets::load(&self.sources);
        let groups = sets.groups();
        if groups == 0 {
            return Ok(true);
        }
        let mut now = Now::new(&*self.clock);
        let mut occurred: Option<String> = None;
        let mut found: Vec<(Value, Kind)> = Vec::new();
        self.fields.each(&record.value, groups, |path, v| {
            for text in texts(v) {
                let name = path.path.as_str();
                match path.group {
                    GROUP_IP => {
                        let Some(ip) = parse_ip(&text) else { continue };
                        for set in sets.iter() {
                            if let Some(hit) = set.lookup_ip(ip, &mut now) {
                                let e = enrichment(
                                    &hit,
                                    &text,
                                    Some(ip),
                                    name,
                                    stamp(&mut occurred, &mut now),
                                );
                                found.push((e, hit.indicator.kind()));
                            }
                        }
                    }
                    GROUP_DOMAIN => {
                        let Some(domain) = normalize_domain(&text) else {
                            continue;
                        };
                        for set in sets.iter() {
                            if let Some(hit) = set.lookup_domain(&domain, &mut now) {
                                let e = enrichment(
                                    &hit,
                                    &text,
                                    None,
                                    name,
                                    stamp(&mut occurred, &mut now),
                                );
                                found.push((e, Kind::Domain));
                            }
                        }
                    }
                    GROUP_URL => {
                        let Some(url) = normalize_url(&text) else {
                            continue;
                        };
                        for set in sets.iter() {
                            if let Some(hit) = set.lookup_url(&url, &mut now) {
                                let e = enrichment(
                                    &hit,
                                    &text,
                                    None,
                                    name,
                                    stamp(&mut occurred, &mut now),
                                );
                                found.push((e, Kind::Url));
                            }
                        }
                    }
                    _ => {
                        let Some(hash) = Indicator::parse_hash(&text) else {
                            continue;
                        };
                        for set in sets.iter() {
                            if let Some(hit) = set.lookup_hash(&hash, &mut now) {
                                let e = enrichment(
                                    &hit,
                                    &text,
                                    None,
                                    name,
                                    stamp(&mut occurred, &mut now),
                                );
                                found.push((e, hit.indicator.kind()));
                            }
                        }
                    }
                }
            }
        });
        drop(sets);
        if found.is_empty() {
            return Ok(true);
        }
        fields::schemaless(record);
        for (e, kind) in found {
            self.count(kind);
            fields::push(&mut record.value, "threat.enrichments", e);
        }
        if let Some(tag) = &self.tag {
            let tagged = matches!(fields::get(&record.value, "tags"),
                Some(Value::Array(tags)) if tags.iter().any(|t| t.as_str() == Some(tag)));
            if !tagged {
                fields::push(&mut record.value, "tags", s(tag.as_str()));
            }
        }
        Ok(true)
    }

    fn counters(&self) -> Vec<TransformCounter> {
        let mut out: Vec<TransformCounter> = Kind::ALL
            .iter()
            .zip(&self.hits)
            .map(|(kind, n)| TransformCounter {
                name: "indicator_hits_total",
                labels: vec![("type", kind.label().to_string())],
                value: n.load(Ordering::Relaxed),
            })
            .collect();
        // Shared sources count for every transform using them.
        for reason in SkipReason::ALL {
            out.push(TransformCounter {
                name: "indicators_skipped_total",
                labels: vec![("reason", reason.label().to_string())],
                value: self
                    .sources
                    .iter()
                    .map(|s| s.stats.skipped[reason as usize].load(Ordering::Relaxed))
                    .sum(),
            });
        }
        for (outcome, pick) in [("loaded", 0usize), ("unchanged", 1), ("failed", 2)] {
            out.push(TransformCounter {
                name: "indicator_loads_total",
                labels: vec![("outcome", outcome.to_string())],
                value: self
                    .sources
                    .iter()
                    .map(|s| {
                        [&s.stats.loaded, &s.stats.unchanged, &s.stats.failed][pick]
                            .load(Ordering::Relaxed)
                    })
                    .sum(),
            });
        }
        out
    }
}
