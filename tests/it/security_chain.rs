//! The security transforms end to end, on real logs: the loghub sshd and
//! Linux syslog samples (`testdata/loghub`, brute-force attempts
//! included) are produced raw to the real broker, and two Elasticsearch
//! sink connectors index them into osmem-server:
//!
//! - `plain`: Parse and Normalize only, the volume a SIEM would ingest
//!   without de-noising;
//! - `chain`: Parse → Normalize → Dedupe (events other than logins) →
//!   ThreatIntel (a list holding some of the attacking IPs) → SigmaDetect
//!   (the rules in `crates/security/testdata/sigma`), with detections routed
//!   by `HasDetection` + RegexRouter to an alerts index.
//!
//! What the chain reports (hits, detections) is checked against counts the
//! test makes itself from the raw lines, with its own regexes: no
//! transform code is reused to compute an expectation. The figures are
//! printed for the closing note.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use regex::Regex;
use serde_json::{json, Value};

use crate::support::{
    bootstrap, committed_sum, create_connector, create_topic, eventually, free_port,
    json as read_json, unique, worker_properties, WorkerProcess,
};

const ES: &str = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector";

/// Indicators: three of the IPs that attack the sshd sample, one of the
/// Linux sample's (seen as pam_unix `rhost=`), and a /24 around another.
const INDICATORS: &[&str] = &[
    "187.141.143.180",
    "112.95.230.3",
    "150.183.249.110",
    "5.188.10.0/24",
];

fn osmem_url() -> String {
    std::env::var("RAMPART_OSMEM_URL").unwrap_or_else(|_| "http://127.0.0.1:19201".to_string())
}

fn loghub() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/loghub")
}

fn sigma_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/security/testdata/sigma/rules")
}

fn lines() -> Vec<String> {
    let mut out = Vec::new();
    for file in ["OpenSSH_2k.log", "Linux_2k.log"] {
        let text = std::fs::read_to_string(loghub().join(file)).expect("loghub sample is readable");
        out.extend(text.lines().map(|l| l.trim_end().to_string()));
    }
    out
}

/// Produces the lines in order to partition 0, 1 ms apart in record time
/// (the de-noising windows run on it).
async fn produce(topic: &str, lines: &[String], t0: i64) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .create()
        .expect("producer");
    let mut pending = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let rec: FutureRecord<'_, str, str> = FutureRecord::to(topic)
            .partition(0)
            .timestamp(t0 + i as i64)
            .payload(line.as_str());
        pending.push(producer.send(rec, Duration::from_secs(30)));
    }
    for p in pending {
        p.await.expect("produced");
    }
}

/// Every document of an index.
async fn documents(client: &reqwest::Client, index: &str) -> Vec<Value> {
    let resp = client
        .post(format!("{}/{index}/_search", osmem_url()))
        .json(&json!({"size": 10000, "query": {"match_all": {}}}))
        .send()
        .await
        .expect("osmem answers");
    let (_, body) = read_json(resp).await;
    body["hits"]["hits"]
        .as_array()
        .map(|hits| hits.iter().map(|h| h["_source"].clone()).collect())
        .unwrap_or_default()
}

async fn count(client: &reqwest::Client, index: &str) -> u64 {
    let Ok(resp) = client
        .get(format!("{}/{index}/_count", osmem_url()))
        .send()
        .await
    else {
        return 0;
    };
    read_json(resp).await.1["count"].as_u64().unwrap_or(0)
}

async fn metrics_text(client: &reqwest::Client, url: &str) -> String {
    crate::support::metrics_text(client, url)
        .await
        .expect("the worker serves /metrics")
}

/// The value of the first sample whose line starts with `name{` and holds
/// every label given.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix('{')?;
        let (lbls, value) = rest.split_once("} ")?;
        labels
            .iter()
            .all(|(k, v)| lbls.contains(&format!("{k}=\"{v}\"")))
            .then(|| value.trim().parse::<f64>().ok())
            .flatten()
            .map(|v| v as u64)
    })
}

/// What the raw lines say, counted with the test's own regexes.
struct Expected {
    /// Lines where an indicator IP appears as the peer (after `from` or
    /// `by`, in brackets, or as `rhost=`).
    intel_lines: Vec<usize>,
    failed_password: usize,
    unknown_user: usize,
    brute_force: usize,
}

fn in_indicators(ip: &str) -> bool {
    INDICATORS.contains(&ip) || ip.starts_with("5.188.10.")
}

fn expected(lines: &[String]) -> Expected {
    // An address, not the start of a host name (`rhost=68.1.2.3.nw.example`).
    let peer = Regex::new(r"(?: from | by |\[|rhost=)(\d+\.\d+\.\d+\.\d+)(?:[^\d.\w-]|$)").unwrap();
    let intel_lines = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            peer.captures_iter(l)
                .any(|c| in_indicators(c.get(1).unwrap().as_str()))
        })
        .map(|(i, _)| i)
        .collect();
    // sshd's "Failed password" lines; the rule reads them case-blind.
    let failed =
        Regex::new(r"^(\w+ +\d+ [\d:]+) \S+ sshd\[\d+\]: Failed password for .* from (\S+) port")
            .unwrap();
    let mut by_ip: HashMap<&str, Vec<i64>> = HashMap::new();
    for l in lines {
        if let Some(c) = failed.captures(l) {
            by_ip
                .entry(c.get(2).unwrap().as_str())
                .or_default()
                .push(seconds(&c[1]));
        }
    }
    // The brute-force correlation: a failure is tagged when it is at least
    // the 5th from its source within the minute ending at it.
    let brute_force = by_ip
        .values()
        .map(|times| {
            (0..times.len())
                .filter(|&i| times[..=i].iter().filter(|t| times[i] - **t < 60).count() >= 5)
                .count()
        })
        .sum();
    Expected {
        intel_lines,
        failed_password: by_ip.values().map(Vec::len).sum(),
        unknown_user: lines
            .iter()
            .filter(|l| {
                l.contains(" sshd[")
                    && (l.contains("]: Invalid user ") || l.contains(" for invalid user "))
            })
            .count(),
        brute_force,
    }
}

/// Seconds since the start of the year of a syslog date (`Dec 10 06:55:46`).
fn seconds(date: &str) -> i64 {
    let t = chrono::NaiveDateTime::parse_from_str(&format!("2015 {date}"), "%Y %b %e %H:%M:%S")
        .expect("loghub dates parse");
    t.and_utc().timestamp()
}

fn es_config(topic: &str, extra: &[(&str, String)]) -> Value {
    let mut config = serde_json::Map::new();
    for (k, v) in [
        ("connector.class", ES.to_string()),
        ("tasks.max", "1".to_string()),
        ("topics", topic.to_string()),
        ("connection.url", osmem_url()),
        ("key.ignore", "true".to_string()),
        ("schema.ignore", "true".to_string()),
        ("batch.size", "500".to_string()),
        (
            "value.converter",
            "org.apache.kafka.connect.storage.StringConverter".to_string(),
        ),
    ] {
        config.insert(k.to_string(), Value::String(v));
    }
    for (k, v) in extra {
        config.insert(k.to_string(), Value::String(v.clone()));
    }
    Value::Object(config)
}

#[tokio::test(flavor = "multi_thread")]
async fn loghub_through_parse_ecs_dedupe_intel_and_sigma_matches_an_independent_count() {
    let client = reqwest::Client::new();
    assert!(
        client.get(osmem_url()).send().await.is_ok(),
        "osmem-server is not answering on {}: start it with `scripts/osmem start` (scripts/test does)",
        osmem_url()
    );
    let dir = tempfile::tempdir().unwrap();
    let lines = lines();
    let want = expected(&lines);
    let raw_bytes: usize = lines.iter().map(String::len).sum();

    let topic = unique("raw-syslog").to_lowercase();
    create_topic(&topic, 1).await;
    let t0 = chrono::Utc::now().timestamp_millis() - 60_000;
    produce(&topic, &lines, t0).await;

    let indicators = dir.path().join("attackers.txt");
    std::fs::write(
        &indicators,
        format!("# attacking hosts\n{}\n", INDICATORS.join("\n")),
    )
    .unwrap();

    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[]);
    worker.wait_healthy().await;
    let url = worker.url.clone();

    // The classes are listed with their definitions, as Kafka's are.
    let (_, plugins) = read_json(
        client
            .get(format!("{url}/connector-plugins?connectorsOnly=false"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let listed: HashMap<&str, &str> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["class"].as_str().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    for class in [
        "io.rampart.transforms.Parse",
        "io.rampart.transforms.Normalize",
        "io.rampart.transforms.Dedupe",
        "io.rampart.transforms.Sample",
        "io.rampart.transforms.RateLimit",
        "io.rampart.transforms.Drop",
        "io.rampart.transforms.RateAnomaly",
        "io.rampart.transforms.ThreatIntel",
        "io.rampart.transforms.SigmaDetect",
    ] {
        assert_eq!(listed.get(class), Some(&"transformation"), "{class}");
    }
    for class in [
        "io.rampart.transforms.predicates.FieldMatches",
        "io.rampart.transforms.predicates.HasDetection",
    ] {
        assert_eq!(listed.get(class), Some(&"predicate"), "{class}");
    }
    let (code, def) = read_json(
        client
            .get(format!(
                "{url}/connector-plugins/io.rampart.transforms.Dedupe/config"
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(code, 200);
    assert!(
        def.as_array()
            .unwrap()
            .iter()
            .any(|k| k["name"] == "window.ms"),
        "{def}"
    );

    let plain_index = format!("{topic}-plain");
    let chain_index = format!("{topic}-chain");
    let alerts_index = format!("{topic}-alerts");
    let route = |to: &str| {
        vec![
            (
                "transforms.index.type",
                "org.apache.kafka.connect.transforms.RegexRouter".to_string(),
            ),
            ("transforms.index.regex", ".*".to_string()),
            ("transforms.index.replacement", to.to_string()),
        ]
    };
    let mut plain = vec![
        ("transforms", "parse,ecs,index".to_string()),
        (
            "transforms.parse.type",
            "io.rampart.transforms.Parse".to_string(),
        ),
        (
            "transforms.ecs.type",
            "io.rampart.transforms.Normalize".to_string(),
        ),
    ];
    plain.extend(route(&plain_index));
    let mut chain = vec![
        (
            "transforms",
            "parse,ecs,quiet,intel,sigma,index,alerts".to_string(),
        ),
        (
            "transforms.parse.type",
            "io.rampart.transforms.Parse".to_string(),
        ),
        (
            "transforms.ecs.type",
            "io.rampart.transforms.Normalize".to_string(),
        ),
        // Logins are what detections count: only the rest is de-noised.
        (
            "transforms.quiet.type",
            "io.rampart.transforms.Dedupe".to_string(),
        ),
        (
            "transforms.quiet.fields",
            "host.name,process.name,message".to_string(),
        ),
        ("transforms.quiet.window.ms", "600000".to_string()),
        ("transforms.quiet.predicate", "login".to_string()),
        ("transforms.quiet.negate", "true".to_string()),
        (
            "transforms.intel.type",
            "io.rampart.transforms.ThreatIntel".to_string(),
        ),
        (
            "transforms.intel.sources",
            format!("file:{}", indicators.display()),
        ),
        (
            "transforms.sigma.type",
            "io.rampart.transforms.SigmaDetect".to_string(),
        ),
        (
            "transforms.sigma.rules.dir",
            sigma_rules().display().to_string(),
        ),
        (
            "transforms.alerts.type",
            "org.apache.kafka.connect.transforms.RegexRouter".to_string(),
        ),
        ("transforms.alerts.regex", ".*".to_string()),
        ("transforms.alerts.replacement", alerts_index.clone()),
        ("transforms.alerts.predicate", "detected".to_string()),
        ("predicates", "login,detected".to_string()),
        (
            "predicates.login.type",
            "io.rampart.transforms.predicates.FieldMatches".to_string(),
        ),
        ("predicates.login.field", "event.category".to_string()),
        ("predicates.login.equals", "authentication".to_string()),
        (
            "predicates.detected.type",
            "io.rampart.transforms.predicates.HasDetection".to_string(),
        ),
    ];
    chain.extend(route(&chain_index));
    create_connector(&client, &url, "plain", &es_config(&topic, &plain)).await;
    create_connector(&client, &url, "chain", &es_config(&topic, &chain)).await;
    let total = lines.len() as i64;
    for name in ["plain", "chain"] {
        let client = &client;
        let url = &url;
        eventually(
            &format!("{name} commits all {} records", lines.len()),
            Duration::from_secs(120),
            || async move { (committed_sum(client, url, name).await == Some(total)).then_some(()) },
        )
        .await;
    }

    let metrics = metrics_text(&client, &url).await;
    let dropped = sample(
        &metrics,
        "rampart_transform_records_dropped_total",
        &[
            ("connector", "chain"),
            ("transform", "quiet"),
            ("reason", "duplicate"),
        ],
    )
    .expect("the dedupe's drops are served");
    let kept = lines.len() as u64 - dropped;
    // Every record is indexed or counted as dropped: wait for the index.
    let (plain_n, chain_n) = eventually("documents searchable", Duration::from_secs(60), || {
        let client = &client;
        let (p, c, a) = (&plain_index, &chain_index, &alerts_index);
        async move {
            let (pn, cn, an) = (
                count(client, p).await,
                count(client, c).await,
                count(client, a).await,
            );
            (pn == 4000 && cn + an == kept).then_some((pn, cn + an))
        }
    })
    .await;

    let plain_docs = documents(&client, &plain_index).await;
    let mut chain_docs = documents(&client, &chain_index).await;
    let alerts = documents(&client, &alerts_index).await;
    chain_docs.extend(alerts.iter().cloned());
    let bytes = |docs: &[Value]| docs.iter().map(|d| d.to_string().len()).sum::<usize>();

    // Enrichment: the lines naming an indicator as the peer, minus those
    // the dedupe dropped (it only drops exact repeats of non-login events:
    // count the distinct ones among the indicator lines that are not logins).
    let login =
        Regex::new(r"]: (Failed \S+ for |Accepted |Invalid user |.*authentication failures?;)")
            .unwrap();
    let header = Regex::new(r"^\w+ +\d+ [\d:]+ (\S+) ([^\[:]+)(?:\[\d+\])?: (.*)$").unwrap();
    let mut seen = HashSet::new();
    let wanted: Vec<&str> = want
        .intel_lines
        .iter()
        .map(|i| lines[*i].as_str())
        .filter(|l| {
            if login.is_match(l) {
                return true;
            }
            let c = header
                .captures(l)
                .expect("loghub lines have a syslog header");
            seen.insert((c[1].to_string(), c[2].to_string(), c[3].to_string()))
        })
        .collect();
    let enriched: Vec<&str> = chain_docs
        .iter()
        .filter(|d| {
            d["threat"]["enrichments"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        })
        .filter_map(|d| d["event"]["original"].as_str())
        .collect();
    let hits = enriched.len();
    let missed: Vec<&&str> = wanted.iter().filter(|l| !enriched.contains(l)).collect();
    let extra: Vec<&&str> = enriched.iter().filter(|l| !wanted.contains(l)).collect();
    assert_eq!(
        hits,
        wanted.len(),
        "documents enriched from the indicator list; not enriched: {missed:?}; unexpected: {extra:?}"
    );

    // Detections, by rule title.
    let mut detections: BTreeMap<String, usize> = BTreeMap::new();
    for d in &alerts {
        for det in d["rampart"]["detections"].as_array().into_iter().flatten() {
            *detections
                .entry(det["title"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
    }
    let has_detection = |d: &Value| {
        d["rampart"]["detections"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    };
    assert!(
        alerts.iter().all(has_detection),
        "only detections are routed"
    );
    let unrouted = documents(&client, &chain_index).await;
    assert!(
        !unrouted.iter().any(has_detection),
        "every detection is routed"
    );
    let by = |needle: &str| {
        detections
            .iter()
            .filter(|(t, _)| t.to_lowercase().contains(needle))
            .map(|(_, n)| *n)
            .sum::<usize>()
    };
    assert_eq!(
        by("failed password"),
        want.failed_password,
        "{detections:?}"
    );
    assert_eq!(by("unknown user"), want.unknown_user, "{detections:?}");
    assert_eq!(by("brute force"), want.brute_force, "{detections:?}");

    println!(
        "security chain over loghub: {} raw lines, {raw_bytes} bytes; without de-noising {plain_n} documents, {} bytes; with it {chain_n} documents ({} in alerts), {} bytes; {dropped} duplicates dropped; {hits} enriched; detections {detections:?}",
        lines.len(),
        bytes(&plain_docs),
        alerts.len(),
        bytes(&chain_docs),
    );
    worker.terminate();
}
