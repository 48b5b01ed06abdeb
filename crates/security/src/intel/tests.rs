//! Tests of the threat intel transform: golden files per format, exact
//! counts per fixture, lookups, reload, expiry, the HTTP and Kafka sources.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_core::converter::{Converter, JsonConverter};
use rampart_core::data::{Schema, SchemaType, Struct, Value};
use rampart_core::record::ConnectRecord;
use rampart_core::transform::Transformation;
use serde_json::{json, Map, Value as Json};

use super::kafka::{apply, record_change, Change, RecordMeta};
use super::*;

/// 2024-06-01T12:00:00Z: the golden files' "now".
const GOLDEN_NOW: i64 = 1_717_243_200_000;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/intel")
}

fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A clock the test moves.
fn manual_clock(start: i64) -> (Clock, Arc<AtomicI64>) {
    let at = Arc::new(AtomicI64::new(start));
    let read = at.clone();
    (Arc::new(move || read.load(Ordering::SeqCst)), at)
}

/// Polls `cond` until it holds or `limit` passes.
fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn json_to_value(j: &Json) -> Value {
    let bytes = serde_json::to_vec(j).unwrap();
    JsonConverter::schemaless()
        .to_connect("t", Some(&bytes))
        .unwrap()
        .value
}

fn value_to_json(v: &Value) -> Json {
    match JsonConverter::schemaless().from_connect("t", None, v) {
        Ok(Some(bytes)) => serde_json::from_slice(&bytes).unwrap(),
        Ok(None) => Json::Null,
        Err(e) => json!({ "unserializable": e.to_string() }),
    }
}

fn record(value: Json) -> ConnectRecord {
    ConnectRecord {
        topic: "ecs".to_string(),
        value: json_to_value(&value),
        ..Default::default()
    }
}

fn enrich(t: &ThreatIntel, value: Json) -> Json {
    let out = t.apply(record(value)).unwrap().unwrap();
    value_to_json(&out.value)
}

fn matched_indicators(t: &ThreatIntel, value: Json) -> Vec<String> {
    let out = enrich(t, value);
    out.pointer("/threat/enrichments")
        .and_then(Json::as_array)
        .map(|items| {
            items
                .iter()
                .map(|e| {
                    e["indicator"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn hits_ip(t: &ThreatIntel, ip: &str) -> bool {
    !matched_indicators(t, json!({ "source": { "ip": ip } })).is_empty()
}

fn counter(t: &ThreatIntel, name: &str, label: &str) -> u64 {
    t.counters()
        .iter()
        .find(|c| c.name == name && c.labels.iter().any(|(_, v)| v == label))
        .map_or(0, |c| c.value)
}

/// The golden files' counters: the non-zero ones, as `name{label=value}`.
fn counters_json(t: &ThreatIntel) -> Json {
    let mut m = Map::new();
    for c in t.counters() {
        if c.value == 0 || c.name == "indicator_loads_total" {
            continue;
        }
        let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        m.insert(
            format!("{}{{{}}}", c.name, labels.join(",")),
            json!(c.value),
        );
    }
    Json::Object(m)
}

// ---------------------------------------------------------------------
// Golden files

/// `testdata/intel/golden/*.json`: a transform config (`file:` sources
/// relative to `testdata/intel`), record values in and expected out, the
/// counters after the cases, or the config error expected. The clock reads
/// `now` (default 2024-06-01T12:00:00Z). `BLESS=1 cargo test -p
/// rampart-security --lib intel::tests::golden` rewrites the expectations
/// after a reviewed change.
#[test]
fn golden() {
    let base = testdata();
    let shown_base = base.display().to_string();
    let mut files = 0;
    rampart_core::golden::check_dir(&base.join("golden"), |_, file| {
        files += 1;
        let mut actual = file.clone();
        let mut failures = Vec::new();
        let mut config: HashMap<String, String> = file["config"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_string),
                )
            })
            .collect();
        if let Some(sources) = config.get_mut("sources") {
            *sources = sources
                .split(',')
                .map(|s| match s.trim().strip_prefix("file:") {
                    Some(rel) => format!("file:{}", base.join(rel).display()),
                    None => s.trim().to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
        }
        let now = file["now"]
            .as_str()
            .and_then(parse_time)
            .unwrap_or(GOLDEN_NOW);
        let (clock, _) = manual_clock(now);
        match ThreatIntel::with_clock(&config, clock) {
            Err(e) => {
                let got = json!({
                    "key": e.key,
                    "message": e.message.replace(&shown_base, "<testdata>"),
                });
                if file.get("config_error") != Some(&got) {
                    failures.push(format!("config error: got {got}"));
                }
                actual["config_error"] = got;
            }
            Ok(t) => {
                if file.get("config_error").is_some() {
                    failures.push("expected a config error".to_string());
                }
                let cases = file["cases"].as_array().cloned().unwrap_or_default();
                for (i, case) in cases.iter().enumerate() {
                    let got = enrich(&t, case["input"].clone());
                    if case.get("expected") != Some(&got) {
                        failures.push(format!(
                            "{}: expected {}\n      got {got}",
                            case["name"], case["expected"]
                        ));
                    }
                    actual["cases"][i]["expected"] = got;
                }
                let got = counters_json(&t);
                if file.get("counters") != Some(&got) {
                    failures.push(format!("counters: got {got}"));
                }
                actual["counters"] = got;
            }
        }
        (actual, failures)
    });
    assert!(files >= 6, "golden files missing");
}

// ---------------------------------------------------------------------
// Formats: exact counts per fixture

fn load_fixture(name: &str, format: Format) -> (IndicatorSet, Skipped, Format) {
    let body = std::fs::read(testdata().join("feeds").join(name)).unwrap();
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    let read = parse_feed(format, &body, name, &mut b).unwrap();
    let (set, skipped) = b.finish();
    (set, skipped, read)
}

fn sorted(set: &IndicatorSet) -> Vec<String> {
    let mut all: Vec<String> = set.indicators().iter().map(ToString::to_string).collect();
    all.sort();
    all
}

#[test]
fn plain_list_counts() {
    let (set, skipped, format) = load_fixture("plain.txt", Format::Auto);
    assert_eq!(format, Format::Plain);
    assert_eq!(
        sorted(&set),
        [
            "192.0.2.10",
            "198.51.100.7",
            "2001:db8:bad::1",
            "2001:db8:dead::/48",
            "203.0.113.0/24",
            "203.0.113.128/25",
            "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
            "3395856ce81f2b7382dee72602f798b642f14140",
            "44d88612fea8a8f36de82e1278abb02f",
            "ads.tracker.example",
            "evil.example",
            "http://phish.example/login?x=1",
            "https://shop.example/cart",
            "malware-drop.example",
        ]
    );
    assert_eq!(skipped.get(SkipReason::Malformed), 2);
    assert_eq!(skipped.total(), 2);
}

#[test]
fn feodo_counts() {
    let (set, skipped, format) = load_fixture("feodo.csv", Format::Auto);
    assert_eq!(format, Format::Feodo);
    assert_eq!(
        sorted(&set),
        [
            "192.0.2.77",
            "198.51.100.23",
            "2001:db8:c2::17",
            "203.0.113.45"
        ]
    );
    assert_eq!(skipped.get(SkipReason::Malformed), 1);
    assert_eq!(skipped.total(), 1);
    let hit = set
        .lookup_ip("203.0.113.45".parse().unwrap(), &mut Now::fixed(GOLDEN_NOW))
        .unwrap();
    assert_eq!(hit.description(), Some("Pikabot"));
    assert_eq!(hit.port(), Some(8080));
    assert_eq!(hit.provider(), Some("abuse.ch Feodo Tracker"));
    assert_eq!(hit.first_seen(), parse_time("2024-01-15 10:03:26"));
}

#[test]
fn urlhaus_counts() {
    let (set, skipped, format) = load_fixture("urlhaus.csv", Format::Auto);
    assert_eq!(format, Format::Urlhaus);
    assert_eq!(
        sorted(&set),
        [
            "http://198.51.100.88/i.php?id=1,2&q=\"x\"",
            "http://198.51.100.99:47291/Mozi.m",
            "http://update.evil-cdn.example/a.exe",
            "https://cdn.bad-files.example/invoice.zip",
        ]
    );
    assert_eq!(skipped.get(SkipReason::Malformed), 1);
    assert_eq!(skipped.total(), 1);
}

#[test]
fn threatfox_counts() {
    let (set, skipped, format) = load_fixture("threatfox.csv", Format::Auto);
    assert_eq!(format, Format::Threatfox);
    assert_eq!(
        sorted(&set),
        [
            "198.51.100.61",
            "d41d8cd98f00b204e9800998ecf8427e",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "http://203.0.113.200/bins/x86",
            "login-verify.example",
        ]
    );
    assert_eq!(skipped.get(SkipReason::UnsupportedType), 1);
    assert_eq!(skipped.get(SkipReason::Malformed), 1);
    assert_eq!(skipped.total(), 2);
    let hit = set
        .lookup_ip(
            "198.51.100.61".parse().unwrap(),
            &mut Now::fixed(GOLDEN_NOW),
        )
        .unwrap();
    assert_eq!(hit.port(), Some(443));
    assert_eq!(hit.confidence(), Some(100));
    assert_eq!(
        hit.reference(),
        Some("https://threatfox.abuse.ch/ioc/1290001/")
    );
}

#[test]
fn misp_counts() {
    let (set, skipped, format) = load_fixture("misp.json", Format::Auto);
    assert_eq!(format, Format::Misp);
    assert_eq!(
        sorted(&set),
        [
            "0cc175b9c0f1b6a831c399e269772661",
            "192.0.2.150",
            "198.51.100.150",
            "203.0.113.9",
            "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8",
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            "drop.emotet.example",
            "emotet-c2.example",
            "http://emotet-c2.example/wp-content/x/",
        ]
    );
    assert_eq!(skipped.get(SkipReason::UnsupportedType), 1);
    assert_eq!(skipped.get(SkipReason::NotForDetection), 2);
    assert_eq!(skipped.get(SkipReason::Malformed), 1);
    assert_eq!(skipped.total(), 4);
    let hit = set
        .lookup_ip("203.0.113.9".parse().unwrap(), &mut Now::fixed(GOLDEN_NOW))
        .unwrap();
    assert_eq!(hit.port(), Some(8443));
    assert_eq!(hit.provider(), Some("CIRCL"));
    assert_eq!(
        hit.description(),
        Some("OSINT - Emotet epoch 5 distribution infrastructure")
    );
}

#[test]
fn stix_counts() {
    let (set, skipped, format) = load_fixture("stix.json", Format::Auto);
    assert_eq!(format, Format::Stix);
    assert_eq!(
        sorted(&set),
        [
            "198.51.100.201",
            "2001:db8:5::5",
            "203.0.113.64/26",
            "account-verify.example",
            "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
            "http://files.example/loader.bin",
            "secure-login.example",
        ]
    );
    assert_eq!(skipped.get(SkipReason::UnsupportedPattern), 2);
    assert_eq!(skipped.get(SkipReason::Expired), 1);
    assert_eq!(skipped.get(SkipReason::Revoked), 1);
    assert_eq!(skipped.total(), 4);
    let hit = set
        .lookup_ip(
            "198.51.100.201".parse().unwrap(),
            &mut Now::fixed(GOLDEN_NOW),
        )
        .unwrap();
    assert_eq!(hit.provider(), Some("Example CERT"));
    assert_eq!(hit.confidence(), Some(85));
    assert_eq!(
        hit.reference(),
        Some("https://cert.example/advisories/2024-17")
    );
    // valid_until is the expiry: matches before, not after.
    let domain = set
        .lookup_domain("secure-login.example", &mut Now::fixed(GOLDEN_NOW))
        .unwrap();
    assert_eq!(domain.expires(), parse_time("2099-01-01T00:00:00Z"));
    let after = parse_time("2099-01-01T00:00:01Z").unwrap();
    assert!(set
        .lookup_domain("secure-login.example", &mut Now::fixed(after))
        .is_none());
}

#[test]
fn explicit_formats_read_without_their_headers() {
    // An export cut to its rows still reads in the documented column order.
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    let rows =
        "\"2024-01-15 10:03:26\",\"203.0.113.45\",\"8080\",\"online\",\"2024-05-30\",\"Pikabot\"\n";
    parse_feed(Format::Feodo, rows.as_bytes(), "x", &mut b).unwrap();
    let (set, _) = b.finish();
    assert_eq!(sorted(&set), ["203.0.113.45"]);
}

#[test]
fn a_headerless_row_that_mentions_column_names_is_data() {
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    let rows = "\"1\",\"2024-06-01 08:05:11\",\"http://x.example/url?id=1\",\"online\",\"None\",\"malware_download\",\"\",\"https://urlhaus.abuse.ch/url/1/\",\"r\"\n";
    parse_feed(Format::Urlhaus, rows.as_bytes(), "x", &mut b).unwrap();
    let (set, _) = b.finish();
    assert_eq!(sorted(&set), ["http://x.example/url?id=1"]);
}

#[test]
fn a_document_of_no_indicators_fails_the_load() {
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    let html = b"<html>\n<body>502 Bad Gateway</body>\n</html>\n";
    let e = parse_feed(Format::Auto, html, "x", &mut b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "none of 3 entries is an indicator: not a plain feed"
    );
    let e = parse_feed(Format::Stix, b"{\"type\": \"bundle\"", "x", &mut b).unwrap_err();
    assert!(e.to_string().starts_with("not valid json"), "{e}");
    let e = parse_feed(Format::Misp, b"{\"objects\": []}", "x", &mut b).unwrap_err();
    assert_eq!(e.to_string(), "not a misp document: no \"Event\"");
    // Only comments: an empty feed is a feed.
    parse_feed(Format::Auto, b"# nothing today\n", "x", &mut b).unwrap();
}

/// A cheap deterministic fuzz: truncations and byte flips of every fixture,
/// read as every format, must never panic.
#[test]
fn mangled_feeds_never_panic() {
    let formats = [
        Format::Auto,
        Format::Plain,
        Format::Feodo,
        Format::Urlhaus,
        Format::Threatfox,
        Format::Misp,
        Format::Stix,
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for entry in std::fs::read_dir(testdata().join("feeds")).unwrap() {
        let original = std::fs::read(entry.unwrap().path()).unwrap();
        for round in 0..60 {
            let mut body = original.clone();
            if round % 2 == 0 {
                body.truncate((next() as usize) % (body.len() + 1));
            }
            for _ in 0..(round % 7) {
                let at = (next() as usize) % body.len().max(1);
                if let Some(b) = body.get_mut(at) {
                    *b = next() as u8;
                }
            }
            for format in formats {
                let mut b = SetBuilder::new(1000, GOLDEN_NOW, None);
                let _ = parse_feed(format, &body, "fuzz", &mut b);
            }
        }
    }
    for pattern in [
        "[",
        "']",
        "[a:b = '",
        "[file:hashes.'",
        "[x:y = 'z' OR",
        "(((",
        "]]]",
    ] {
        let doc = json!({"type": "bundle", "objects": [{"type": "indicator", "pattern": pattern}]});
        let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
        parse_feed(Format::Stix, doc.to_string().as_bytes(), "x", &mut b).unwrap();
        assert_eq!(b.skipped().total(), 1, "{pattern}");
    }
}

// ---------------------------------------------------------------------
// Lookups

fn set_of(lines: &str) -> IndicatorSet {
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    parse_feed(Format::Plain, lines.as_bytes(), "test", &mut b).unwrap();
    b.finish().0
}

fn ip_match(set: &IndicatorSet, ip: &str) -> Option<String> {
    let ip: IpAddr = parse_ip(ip).unwrap();
    set.lookup_ip(ip, &mut Now::fixed(GOLDEN_NOW))
        .map(|h| h.indicator.to_string())
}

#[test]
fn ip_lookups_exact_then_longest_prefix() {
    let set = set_of(
        "198.51.100.7\n10.0.0.0/8\n10.1.0.0/16\n10.1.2.0/24\n10.1.2.3/32\n0.0.0.0/0\n\
         2001:db8::/32\n2001:db8:1::/48\n2001:db8:1::1\n",
    );
    assert_eq!(
        ip_match(&set, "198.51.100.7").as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(ip_match(&set, "10.1.2.3").as_deref(), Some("10.1.2.3"));
    assert_eq!(ip_match(&set, "10.1.2.4").as_deref(), Some("10.1.2.0/24"));
    assert_eq!(ip_match(&set, "10.1.3.4").as_deref(), Some("10.1.0.0/16"));
    assert_eq!(ip_match(&set, "10.200.3.4").as_deref(), Some("10.0.0.0/8"));
    assert_eq!(ip_match(&set, "11.0.0.1").as_deref(), Some("0.0.0.0/0"));
    assert_eq!(
        ip_match(&set, "2001:db8:1::1").as_deref(),
        Some("2001:db8:1::1")
    );
    assert_eq!(
        ip_match(&set, "2001:db8:1::2").as_deref(),
        Some("2001:db8:1::/48")
    );
    assert_eq!(
        ip_match(&set, "[2001:db8:2::2]").as_deref(),
        Some("2001:db8::/32")
    );
    assert_eq!(ip_match(&set, "2001:db9::1"), None);
    // IPv4-mapped IPv6 is the IPv4 address.
    assert_eq!(
        ip_match(&set, "::ffff:198.51.100.7").as_deref(),
        Some("198.51.100.7")
    );
    assert_eq!(ip_match(&set, "fe80::1%eth0"), None);
}

#[test]
fn ipv4_parsing_agrees_with_std() {
    for text in [
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3",
        "1.2.3.4.",
        "1.2.3.4.5",
        "1..3.4",
        ".1.2.3",
        "1.2.3.04",
        "1.2.3.0",
        "10.0.0.255",
        "1.2.3.-4",
        "1.2.3.4 ",
        "a.b.c.d",
        "1.2.3.4444",
        "999.999.999.999",
        "",
    ] {
        let ours = parse_ip(text).and_then(|ip| match ip {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(_) => None,
        });
        assert_eq!(
            ours,
            text.trim().parse::<std::net::Ipv4Addr>().ok(),
            "{text:?}"
        );
    }
}

#[test]
fn host_bits_of_a_listed_network_are_ignored() {
    let set = set_of("10.1.2.3/16\n");
    assert_eq!(sorted(&set), ["10.1.0.0/16"]);
    assert_eq!(ip_match(&set, "10.1.200.1").as_deref(), Some("10.1.0.0/16"));
}

#[test]
fn domains_match_themselves_and_subdomains() {
    let set = set_of("evil.example\ncom\nbad.co.example\n");
    let look = |d: &str| {
        let d = normalize_domain(d)?;
        set.lookup_domain(&d, &mut Now::fixed(GOLDEN_NOW))
            .map(|h| h.indicator.to_string())
    };
    assert_eq!(look("evil.example").as_deref(), Some("evil.example"));
    assert_eq!(look("a.b.EVIL.example.").as_deref(), Some("evil.example"));
    assert_eq!(look("notevil.example"), None);
    assert_eq!(look("evil.example.net"), None);
    assert_eq!(look("x.bad.co.example").as_deref(), Some("bad.co.example"));
    assert_eq!(look("co.example"), None);
    // A single label is not a domain in a plain list…
    assert_eq!(set.len(), 2);
    // …and a listed single label never matches as a parent.
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    b.insert(
        Indicator::parse_domain("com").unwrap(),
        &MetaInput::default(),
    );
    let (set, _) = b.finish();
    let mut now = Now::fixed(GOLDEN_NOW);
    assert!(set.lookup_domain("com", &mut now).is_some());
    assert!(set.lookup_domain("example.com", &mut now).is_none());
}

#[test]
fn urls_are_normalised() {
    for (raw, norm) in [
        (
            "HTTP://Evil.Example/a/B?x=Y#frag",
            "http://evil.example/a/B?x=Y",
        ),
        ("http://evil.example", "http://evil.example/"),
        ("http://evil.example?q", "http://evil.example/?q"),
        ("http://evil.example:80/x", "http://evil.example/x"),
        ("https://evil.example:443/x", "https://evil.example/x"),
        ("https://evil.example:8443/x", "https://evil.example:8443/x"),
        (
            "http://User:Pw@EVIL.example./",
            "http://User:Pw@evil.example/",
        ),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://[2001:db8::1]/x", "http://[2001:db8::1]/x"),
    ] {
        assert_eq!(normalize_url(raw).as_deref(), Some(norm), "{raw}");
    }
    for bad in [
        "evil.example/x",
        "://x",
        "1http://x",
        "http://",
        "http://a b/",
    ] {
        assert_eq!(normalize_url(bad), None, "{bad}");
    }
    let set = set_of("http://evil.example/dl?id=1\n");
    let mut now = Now::fixed(GOLDEN_NOW);
    let u = normalize_url("HTTP://EVIL.EXAMPLE:80/dl?id=1#x").unwrap();
    assert!(set.lookup_url(&u, &mut now).is_some());
    let u = normalize_url("http://evil.example/dl?id=2").unwrap();
    assert!(set.lookup_url(&u, &mut now).is_none());
}

#[test]
fn hashes_match_in_any_case() {
    let set = set_of("44D88612FEA8A8F36DE82E1278ABB02F\n");
    let mut now = Now::fixed(GOLDEN_NOW);
    for h in [
        "44d88612fea8a8f36de82e1278abb02f",
        "44D88612fea8a8f36de82e1278abb02F",
    ] {
        let h = Indicator::parse_hash(h).unwrap();
        assert!(set.lookup_hash(&h, &mut now).is_some());
    }
    assert_eq!(
        Indicator::parse_hash("44d88612fea8a8f36de82e1278abb02"),
        None
    );
    assert_eq!(Indicator::parse_hash("zz"), None);
    let h = Indicator::parse_hash("ffd88612fea8a8f36de82e1278abb02f").unwrap();
    assert!(set.lookup_hash(&h, &mut now).is_none());
}

#[test]
fn indicator_kinds_are_detected() {
    let kind = |t: &str| Indicator::parse(t).map(|i| i.kind());
    assert_eq!(kind("198.51.100.7"), Some(Kind::Ipv4));
    assert_eq!(kind("198.51.100.0/24"), Some(Kind::Ipv4));
    assert_eq!(kind("2001:db8::1"), Some(Kind::Ipv6));
    assert_eq!(kind("evil.example"), Some(Kind::Domain));
    assert_eq!(kind("evil[.]example"), Some(Kind::Domain));
    assert_eq!(kind("hxxps://evil[.]example/x"), Some(Kind::Url));
    assert_eq!(kind("d41d8cd98f00b204e9800998ecf8427e"), Some(Kind::Md5));
    assert_eq!(
        kind("da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        Some(Kind::Sha1)
    );
    assert_eq!(
        kind("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        Some(Kind::Sha256)
    );
    for bad in [
        "",
        "word",
        "1.2.3.4.5",
        "198.51.100.7/33",
        "a..b",
        "-",
        "évil",
    ] {
        assert_eq!(Indicator::parse(bad), None, "{bad}");
    }
}

#[test]
fn expired_indicators_do_not_match() {
    let mut b = SetBuilder::new(0, 1_000, None);
    let ip = Indicator::parse("198.51.100.7").unwrap();
    let meta = MetaInput {
        valid_until: Some(2_000),
        ..MetaInput::default()
    };
    assert!(b.insert(ip.clone(), &meta));
    // Already past its valid_until when loaded: skipped and counted.
    let old = MetaInput {
        valid_until: Some(500),
        ..MetaInput::default()
    };
    assert!(!b.insert(Indicator::parse("198.51.100.8").unwrap(), &old));
    let (set, skipped) = b.finish();
    assert_eq!(skipped.get(SkipReason::Expired), 1);
    assert!(set.lookup(&ip, &mut Now::fixed(1_999)).is_some());
    assert!(set.lookup(&ip, &mut Now::fixed(2_000)).is_none());
}

#[test]
fn an_expired_network_falls_back_to_a_shorter_one() {
    let mut b = SetBuilder::new(0, 0, None);
    let short = MetaInput::default();
    let long = MetaInput {
        valid_until: Some(100),
        ..MetaInput::default()
    };
    b.insert(Indicator::parse("10.0.0.0/8").unwrap(), &short);
    b.insert(Indicator::parse("10.1.0.0/16").unwrap(), &long);
    let (set, _) = b.finish();
    let ip = parse_ip("10.1.2.3").unwrap();
    let at = |t| {
        set.lookup_ip(ip, &mut Now::fixed(t))
            .map(|h| h.indicator.to_string())
    };
    assert_eq!(at(50).as_deref(), Some("10.1.0.0/16"));
    assert_eq!(at(150).as_deref(), Some("10.0.0.0/8"));
}

#[test]
fn metadata_is_shared_between_indicators() {
    // A million-line plain list has one meta; this is what keeps a set small.
    let lines: String = (0..1000)
        .map(|i| format!("10.0.{}.{}\n", i / 256, i % 256))
        .collect();
    let set = set_of(&lines);
    assert_eq!(set.len(), 1000);
    assert_eq!(format!("{set:?}").matches("Meta {").count(), 1);
}

// ---------------------------------------------------------------------
// The transform

fn feed_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

fn intel_for(path: &Path, extra: &[(&str, &str)]) -> ThreatIntel {
    let mut p = props(&[("sources", &format!("file:{}", path.display()))]);
    p.extend(props(extra));
    ThreatIntel::with_clock(&p, system_clock()).unwrap()
}

#[test]
fn struct_values_become_maps_with_the_enrichment() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "l.txt", "198.51.100.7\n");
    let t = intel_for(&path, &[]);
    let source = Schema::new(SchemaType::Struct)
        .field("ip", Schema::new(SchemaType::String).optional().build())
        .build();
    let schema = Schema::new(SchemaType::Struct)
        .field("source", source.clone())
        .field(
            "message",
            Schema::new(SchemaType::String).optional().build(),
        )
        .build();
    let value = Struct::new(schema.clone())
        .with(
            "source",
            Value::Struct(
                Struct::new(source)
                    .with("ip", Value::string("198.51.100.7"))
                    .unwrap(),
            ),
        )
        .unwrap();
    let r = ConnectRecord {
        value_schema: Some(schema.clone()),
        value: Value::Struct(value.clone()),
        ..Default::default()
    };
    let out = t.apply(r).unwrap().unwrap();
    assert!(out.value_schema.is_none());
    let j = value_to_json(&out.value);
    assert_eq!(j["source"]["ip"], "198.51.100.7");
    assert_eq!(
        j["threat"]["enrichments"][0]["indicator"]["ip"],
        "198.51.100.7"
    );
    // A miss leaves the struct and its schema alone.
    let miss = Struct::new(schema.clone());
    let r = ConnectRecord {
        value_schema: Some(schema),
        value: Value::Struct(miss.clone()),
        ..Default::default()
    };
    let out = t.apply(r).unwrap().unwrap();
    assert!(out.value_schema.is_some());
    assert_eq!(out.value, Value::Struct(miss));
}

#[test]
fn non_map_values_pass_through() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "l.txt", "198.51.100.7\n");
    let t = intel_for(&path, &[]);
    for v in [Value::string("198.51.100.7"), Value::Null, Value::Int64(1)] {
        let r = ConnectRecord {
            value: v.clone(),
            ..Default::default()
        };
        assert_eq!(t.apply(r).unwrap().unwrap().value, v);
    }
}

#[test]
fn array_fields_and_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "l.txt", "198.51.100.7\n");
    let t = intel_for(&path, &[("fields.ip", "related.ip"), ("tag", "ioc")]);
    let out = enrich(
        &t,
        json!({"related": {"ip": ["10.0.0.1", "198.51.100.7"]}, "tags": ["ioc"], "source": {"ip": "198.51.100.7"}}),
    );
    let e = out["threat"]["enrichments"].as_array().unwrap();
    assert_eq!(e.len(), 1, "{out}");
    assert_eq!(e[0]["matched"]["field"], "related.ip");
    assert_eq!(e[0]["matched"]["atomic"], "198.51.100.7");
    assert_eq!(out["tags"], json!(["ioc"]));
    let t = intel_for(&path, &[("tag", "")]);
    let out = enrich(&t, json!({"source": {"ip": "198.51.100.7"}}));
    assert!(out.get("tags").is_none(), "{out}");
    assert_eq!(counter(&t, "indicator_hits_total", "ipv4"), 1);
    assert_eq!(counter(&t, "indicator_hits_total", "ipv6"), 0);
}

#[test]
fn field_paths_read_as_fields_get_reads_them() {
    let value = json_to_value(&json!({
        "source.ip": "1.1.1.1",
        "source": {"ip": "2.2.2.2", "geo.country": "NL", "geo": {"country": "BE"}},
        "destination": {"ip.addr": "3.3.3.3", "ip": {"addr": "4.4.4.4"}},
        "url": "not a map",
        "a": {"b": {"c": {"d": "deep"}}},
        "n": 42
    }));
    let paths = [
        "source.ip",
        "source.geo.country",
        "destination.ip.addr",
        "destination.ip",
        "url.domain",
        "a.b.c.d",
        "a.b.c",
        "a.x",
        "n",
        "n.x",
        "missing",
        "missing.x",
        "",
        ".",
        "a..b",
        "source.",
    ];
    for path in paths {
        assert_eq!(
            field(&value, path),
            crate::fields::get(&value, path),
            "{path}"
        );
    }
    // The one-pass resolver finds the same, in config order, for the
    // groups asked only.
    let fields = Fields::new([
        (paths.iter().map(|p| p.to_string()).collect(), GROUP_IP),
        (vec!["n".to_string()], GROUP_HASH),
        (Vec::new(), GROUP_URL),
        (Vec::new(), GROUP_DOMAIN),
    ]);
    let mut got = Vec::new();
    fields.each(&value, GROUP_IP, |p, v| got.push((p.path.clone(), v)));
    let want: Vec<(String, &Value)> = paths
        .iter()
        .filter_map(|p| Some((p.to_string(), crate::fields::get(&value, p)?)))
        .collect();
    assert_eq!(got, want);
    let schema = Schema::new(SchemaType::Struct)
        .field("ip", Schema::new(SchemaType::String).optional().build())
        .build();
    let outer = Schema::new(SchemaType::Struct)
        .field("source", schema.clone())
        .build();
    let s = Struct::new(outer)
        .with(
            "source",
            Value::Struct(
                Struct::new(schema)
                    .with("ip", Value::string("5.5.5.5"))
                    .unwrap(),
            ),
        )
        .unwrap();
    let v = Value::Struct(s);
    for path in ["source.ip", "source", "source.port", "x.y"] {
        assert_eq!(field(&v, path), crate::fields::get(&v, path), "{path}");
    }
}

#[test]
fn config_errors_name_their_key() {
    let build = |pairs: &[(&str, &str)]| ThreatIntel::new(&props(pairs)).unwrap_err();
    let e = build(&[]);
    assert_eq!(e.key, "sources");
    let e = build(&[("sources", "ftp://x.example/list")]);
    assert_eq!(e.key, "sources");
    assert!(
        e.message
            .contains("unsupported source ftp://x.example/list"),
        "{}",
        e.message
    );
    let e = build(&[("sources", "file:/nonexistent/rampart/list.txt")]);
    assert_eq!(e.key, "sources");
    assert!(
        e.message
            .starts_with("cannot read /nonexistent/rampart/list.txt"),
        "{}",
        e.message
    );
    let e = build(&[("sources", "file:/x"), ("format", "csv")]);
    assert_eq!(e.key, "format");
    let e = build(&[("sources", "kafka:intel")]);
    assert_eq!(e.key, "kafka.bootstrap.servers");
    let e = build(&[("sources", "kafka:bad topic!")]);
    assert_eq!(e.key, "sources");
    let e = build(&[
        ("sources", "https://x.example/"),
        ("http.header.Bad Name", "v"),
    ]);
    assert_eq!(e.key, "http.header.Bad Name");
    let e = build(&[("sources", "file:/x"), ("reload.interval.ms", "0")]);
    assert_eq!(e.key, "reload.interval.ms");
}

#[test]
fn the_plugin_is_registered() {
    let plugin = crate::transforms()
        .into_iter()
        .find(|p| p.class == "io.rampart.transforms.ThreatIntel")
        .unwrap();
    assert!((plugin.def)().key("sources").is_some());
    let e = (plugin.build)(&props(&[("sources", "file:/nonexistent/x")])).unwrap_err();
    assert_eq!(e.key, "sources");
}

// ---------------------------------------------------------------------
// Reload, expiry, sharing

#[test]
fn file_changes_are_reloaded_and_a_broken_file_keeps_the_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "l.txt", "198.51.100.1\n");
    let t = intel_for(&path, &[("reload.interval.ms", "20")]);
    assert!(hits_ip(&t, "198.51.100.1"));
    assert!(!hits_ip(&t, "198.51.100.2"));
    feed_file(dir.path(), "l.txt", "# changed\n198.51.100.2\n");
    wait_until(Duration::from_secs(10), "the new indicator", || {
        hits_ip(&t, "198.51.100.2")
    });
    assert!(!hits_ip(&t, "198.51.100.1"));
    assert_eq!(counter(&t, "indicator_loads_total", "loaded"), 2);
    wait_until(Duration::from_secs(10), "an unchanged check", || {
        counter(&t, "indicator_loads_total", "unchanged") >= 1
    });

    // Not a feed any more, then gone: the last good set stays.
    feed_file(dir.path(), "l.txt", "<html><body>oops</body></html>\n");
    wait_until(Duration::from_secs(10), "a failed reload", || {
        counter(&t, "indicator_loads_total", "failed") >= 1
    });
    std::fs::remove_file(&path).unwrap();
    let failed = counter(&t, "indicator_loads_total", "failed");
    wait_until(Duration::from_secs(10), "another failed reload", || {
        counter(&t, "indicator_loads_total", "failed") > failed
    });
    assert!(hits_ip(&t, "198.51.100.2"));
}

/// A writer that truncates before it writes leaves the file empty for a
/// moment; the set must not be emptied by a reload that catches it.
#[test]
fn a_file_caught_empty_keeps_the_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "l.txt", "198.51.100.1\n");
    let t = intel_for(&path, &[("reload.interval.ms", "20")]);
    assert!(hits_ip(&t, "198.51.100.1"));
    feed_file(dir.path(), "l.txt", "");
    wait_until(Duration::from_secs(10), "the empty file refused", || {
        counter(&t, "indicator_loads_total", "failed") >= 1
    });
    assert!(hits_ip(&t, "198.51.100.1"));
    assert_eq!(counter(&t, "indicator_loads_total", "loaded"), 1);
}

#[test]
fn ttl_counts_from_load_and_survives_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "l.txt", "198.51.100.1\n");
    let t0 = 1_000_000;
    let (clock, at) = manual_clock(t0);
    let p = props(&[
        ("sources", &format!("file:{}", path.display())),
        ("indicator.ttl.ms", "1000"),
        ("reload.interval.ms", "20"),
    ]);
    let t = ThreatIntel::with_clock(&p, clock).unwrap();
    at.store(t0 + 600, Ordering::SeqCst);
    assert!(hits_ip(&t, "198.51.100.1"));
    // A reload 600 ms in must not restart the first indicator's TTL.
    feed_file(dir.path(), "l.txt", "198.51.100.1\n198.51.100.2\n");
    wait_until(Duration::from_secs(10), "the reload", || {
        hits_ip(&t, "198.51.100.2")
    });
    at.store(t0 + 1_200, Ordering::SeqCst);
    assert!(!hits_ip(&t, "198.51.100.1"));
    assert!(hits_ip(&t, "198.51.100.2"));
    at.store(t0 + 1_600, Ordering::SeqCst);
    assert!(!hits_ip(&t, "198.51.100.2"));
}

#[test]
fn ttl_counts_from_the_feeds_last_seen() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(
        dir.path(),
        "f.csv",
        "# \"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\
         \"2024-01-01 00:00:00\",\"198.51.100.1\",\"443\",\"online\",\"2024-06-01\",\"QakBot\"\n\
         \"2024-01-01 00:00:00\",\"198.51.100.2\",\"443\",\"offline\",\"2024-03-01\",\"QakBot\"\n",
    );
    let (clock, at) = manual_clock(GOLDEN_NOW);
    let p = props(&[
        ("sources", &format!("file:{}", path.display())),
        ("indicator.ttl.ms", &(86_400_000 * 7).to_string()),
    ]);
    let t = ThreatIntel::with_clock(&p, clock).unwrap();
    // Last seen in March: already past a week's TTL when loaded.
    assert!(!hits_ip(&t, "198.51.100.2"));
    assert_eq!(counter(&t, "indicators_skipped_total", "expired"), 1);
    assert!(hits_ip(&t, "198.51.100.1"));
    at.store(
        parse_time("2024-06-08T00:00:01Z").unwrap(),
        Ordering::SeqCst,
    );
    assert!(!hits_ip(&t, "198.51.100.1"));
}

#[test]
fn tasks_with_the_same_config_share_one_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = feed_file(dir.path(), "shared.txt", "198.51.100.1\n");
    let p = props(&[("sources", &format!("file:{}", path.display()))]);
    let tasks: Vec<ThreatIntel> = (0..3).map(|_| ThreatIntel::new(&p).unwrap()).collect();
    assert!(Arc::ptr_eq(&tasks[0].sources[0], &tasks[1].sources[0]));
    assert!(Arc::ptr_eq(&tasks[0].sources[0], &tasks[2].sources[0]));
    assert_eq!(counter(&tasks[2], "indicator_loads_total", "loaded"), 1);
    // Different fields, same source.
    let mut other = p.clone();
    other.insert("fields.ip".to_string(), "client.ip".to_string());
    let t4 = ThreatIntel::new(&other).unwrap();
    assert!(Arc::ptr_eq(&tasks[0].sources[0], &t4.sources[0]));
    // A different TTL is a different set.
    other.insert("indicator.ttl.ms".to_string(), "5000".to_string());
    let t5 = ThreatIntel::new(&other).unwrap();
    assert!(!Arc::ptr_eq(&tasks[0].sources[0], &t5.sources[0]));

    let alive = tasks[0].sources[0].reloader_alive();
    drop(tasks);
    assert!(alive.load(Ordering::Acquire), "t4 still uses it");
    drop(t4);
    // The reload thread sleeps a minute between checks; dropping the last
    // user wakes it.
    wait_until(Duration::from_secs(5), "the reload thread to exit", || {
        !alive.load(Ordering::Acquire)
    });
    let again = ThreatIntel::new(&p).unwrap();
    assert_eq!(counter(&again, "indicator_loads_total", "loaded"), 1);
    assert!(hits_ip(&again, "198.51.100.1"));
}

// ---------------------------------------------------------------------
// HTTP

#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    etag: Option<&'static str>,
}

/// A one-request-per-connection HTTP/1.1 server on loopback, answering
/// with the current [`Reply`] (304 when `If-None-Match` equals its ETag)
/// and logging each answer's status. It stops when dropped, or after a
/// minute and a bounded number of requests, whichever comes first.
struct TestServer {
    addr: SocketAddr,
    reply: Arc<Mutex<Reply>>,
    answered: Arc<Mutex<Vec<u16>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let reply = Arc::new(Mutex::new(reply));
        let answered = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, a, s) = (reply.clone(), answered.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut served = 0;
            while !s.load(Ordering::Acquire) && Instant::now() < deadline && served < 5_000 {
                match listener.accept() {
                    Ok((conn, _)) => {
                        served += 1;
                        let reply = r.lock().unwrap().clone();
                        if let Some(status) = serve(conn, &reply) {
                            a.lock().unwrap().push(status);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        TestServer {
            addr,
            reply,
            answered,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn set(&self, reply: Reply) {
        *self.reply.lock().unwrap() = reply;
    }

    fn count(&self, status: u16) -> usize {
        self.answered
            .lock()
            .unwrap()
            .iter()
            .filter(|s| **s == status)
            .count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, reply: &Reply) -> Option<u16> {
    conn.set_nonblocking(false).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let if_none_match = head
        .lines()
        .find_map(|l| l.strip_prefix("if-none-match:"))
        .map(str::trim);
    let (status, body) = match reply.etag {
        Some(etag) if reply.status == 200 && if_none_match == Some(&etag.to_ascii_lowercase()) => {
            (304, "")
        }
        _ => (reply.status, reply.body.as_str()),
    };
    let etag = reply
        .etag
        .filter(|_| status != 500)
        .map(|e| format!("ETag: {e}\r\n"))
        .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n{etag}Connection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(response.as_bytes()).ok()?;
    Some(status)
}

#[test]
fn http_sources_reload_conditionally_and_keep_the_set_on_failure() {
    let server = TestServer::start(Reply {
        status: 200,
        body: "198.51.100.1\n".to_string(),
        etag: Some("\"v1\""),
    });
    let p = props(&[
        ("sources", &server.url("/feed.txt?key=secret")),
        ("reload.interval.ms", "20"),
        ("http.header.Auth-Key", "k"),
    ]);
    let t = ThreatIntel::with_clock(&p, system_clock()).unwrap();
    assert!(hits_ip(&t, "198.51.100.1"));
    // Unchanged: the ETag comes back and the server says 304.
    wait_until(Duration::from_secs(10), "a 304", || server.count(304) >= 2);
    assert!(counter(&t, "indicator_loads_total", "unchanged") >= 1);
    assert_eq!(counter(&t, "indicator_loads_total", "loaded"), 1);
    assert!(hits_ip(&t, "198.51.100.1"));
    // A failing server: the previous set stays.
    server.set(Reply {
        status: 500,
        body: "oops".to_string(),
        etag: None,
    });
    wait_until(Duration::from_secs(10), "a failed reload", || {
        counter(&t, "indicator_loads_total", "failed") >= 2
    });
    assert!(hits_ip(&t, "198.51.100.1"));
    // A new version replaces it.
    server.set(Reply {
        status: 200,
        body: "198.51.100.2\n".to_string(),
        etag: Some("\"v2\""),
    });
    wait_until(Duration::from_secs(10), "the new version", || {
        hits_ip(&t, "198.51.100.2")
    });
    assert!(!hits_ip(&t, "198.51.100.1"));
    // The source's name in logs and provider fields has no query.
    let out = enrich(&t, json!({"source": {"ip": "198.51.100.2"}}));
    let provider = out["threat"]["enrichments"][0]["indicator"]["provider"]
        .as_str()
        .unwrap();
    assert_eq!(provider, server.url("/feed.txt"));
}

#[test]
fn http_sources_that_fail_at_first_fail_the_build() {
    let server = TestServer::start(Reply {
        status: 404,
        body: "not found".to_string(),
        etag: None,
    });
    let p = props(&[("sources", &server.url("/missing"))]);
    let e = ThreatIntel::with_clock(&p, system_clock()).unwrap_err();
    assert_eq!(e.key, "sources");
    assert!(
        e.message.ends_with("answered http status 404"),
        "{}",
        e.message
    );

    server.set(Reply {
        status: 200,
        body: "198.51.100.1\n".repeat(100),
        etag: None,
    });
    let p = props(&[("sources", &server.url("/big")), ("max.bytes", "100")]);
    let e = ThreatIntel::with_clock(&p, system_clock()).unwrap_err();
    assert!(
        e.message.contains("is larger than max.bytes (100 bytes)"),
        "{}",
        e.message
    );

    // Nothing listens on a port just released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = props(&[
        ("sources", &format!("http://127.0.0.1:{port}/x")),
        ("http.timeout.ms", "2000"),
    ]);
    let e = ThreatIntel::with_clock(&p, system_clock()).unwrap_err();
    assert!(
        e.message.starts_with("cannot fetch http://127.0.0.1:"),
        "{}",
        e.message
    );
}

// ---------------------------------------------------------------------
// Kafka

#[test]
fn kafka_records_become_changes() {
    let upsert = |key: &str, value: &str| {
        record_change(Some(key.as_bytes()), Some(value.as_bytes()), Some(5_000))
    };
    assert_eq!(
        upsert("198.51.100.7", ""),
        Change::Upsert(
            Indicator::parse("198.51.100.7").unwrap(),
            RecordMeta {
                last_seen: Some(5_000),
                ..RecordMeta::default()
            }
        )
    );
    let Change::Upsert(i, m) = upsert(
        "Evil.Example",
        r#"{"provider": "soc", "description": "phishing", "reference": "https://wiki.example/ioc/1",
            "first_seen": "2024-05-01T00:00:00Z", "last_seen": 1717243200000,
            "valid_until": "2024-07-01T00:00:00Z", "confidence": "High", "port": 443, "extra": [1]}"#,
    ) else {
        panic!("not an upsert")
    };
    assert_eq!(i.to_string(), "evil.example");
    assert_eq!(m.provider.as_deref(), Some("soc"));
    assert_eq!(m.first_seen, parse_time("2024-05-01T00:00:00Z"));
    assert_eq!(m.last_seen, Some(1_717_243_200_000));
    assert_eq!(m.valid_until, parse_time("2024-07-01T00:00:00Z"));
    assert_eq!(m.confidence, Some(85));
    assert_eq!(m.port, Some(443));
    // `type` overrides detection, and must fit the key.
    assert!(matches!(
        upsert("10.0.0.0/8", r#"{"type": "cidr"}"#),
        Change::Upsert(..)
    ));
    assert_eq!(
        upsert("d41d8cd98f00b204e9800998ecf8427e", r#"{"type": "sha256"}"#),
        Change::Skip(SkipReason::Malformed)
    );
    assert_eq!(
        upsert("a@b.example", r#"{"type": "email-addr"}"#),
        Change::Skip(SkipReason::UnsupportedType)
    );
    assert_eq!(
        upsert("198.51.100.7", "{not json"),
        Change::Skip(SkipReason::Malformed)
    );
    assert_eq!(
        upsert("not an indicator", ""),
        Change::Skip(SkipReason::Malformed)
    );
    assert_eq!(
        record_change(None, Some(b""), None),
        Change::Skip(SkipReason::Malformed)
    );
    assert_eq!(
        record_change(Some(&[0xff, 0xfe]), Some(b""), None),
        Change::Skip(SkipReason::Malformed)
    );
    // A tombstone deletes.
    assert_eq!(
        record_change(Some(b"198.51.100.7"), None, None),
        Change::Delete(Indicator::parse("198.51.100.7").unwrap())
    );
}

#[test]
fn kafka_changes_update_the_set() {
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    let rec = |k: &str, v: Option<&str>| {
        record_change(Some(k.as_bytes()), v.map(str::as_bytes), Some(GOLDEN_NOW))
    };
    apply(&mut b, rec("198.51.100.7", Some("")), "intel");
    apply(
        &mut b,
        rec("evil.example", Some(r#"{"description": "v1"}"#)),
        "intel",
    );
    apply(
        &mut b,
        rec("evil.example", Some(r#"{"description": "v2"}"#)),
        "intel",
    );
    apply(&mut b, rec("bogus", Some("")), "intel");
    let set = b.snapshot();
    let mut now = Now::fixed(GOLDEN_NOW);
    let hit = set.lookup_domain("x.evil.example", &mut now).unwrap();
    assert_eq!(hit.description(), Some("v2"));
    assert_eq!(hit.provider(), Some("intel"));
    assert!(set
        .lookup_ip(parse_ip("198.51.100.7").unwrap(), &mut now)
        .is_some());
    assert_eq!(b.skipped().get(SkipReason::Malformed), 1);

    apply(&mut b, rec("198.51.100.7", None), "intel");
    // An update that is already past its validity ends the indicator.
    apply(
        &mut b,
        rec(
            "evil.example",
            Some(r#"{"valid_until": "2020-01-01T00:00:00Z"}"#),
        ),
        "intel",
    );
    let set = b.snapshot();
    assert!(set.is_empty());
    assert_eq!(b.skipped().get(SkipReason::Expired), 1);
}

#[test]
fn kafka_metadata_of_replaced_indicators_is_collected() {
    let mut b = SetBuilder::new(0, GOLDEN_NOW, None);
    for i in 0..5_000 {
        let v = format!(r#"{{"description": "revision {i}"}}"#);
        apply(
            &mut b,
            record_change(Some(b"evil.example"), Some(v.as_bytes()), Some(GOLDEN_NOW)),
            "t",
        );
    }
    let set = b.snapshot();
    assert_eq!(set.len(), 1);
    let debug = format!("{set:?}");
    assert_eq!(debug.matches("Meta {").count(), 1, "metas not compacted");
    assert!(debug.contains("revision 4999"));
    assert!(!debug.contains("revision 4998\""));
    let hit = set
        .lookup_domain("evil.example", &mut Now::fixed(GOLDEN_NOW))
        .unwrap();
    assert_eq!(hit.description(), Some("revision 4999"));
}

#[test]
fn kafka_sources_start_empty_and_refuse_bad_client_configs() {
    let e = ThreatIntel::new(&props(&[
        ("sources", "kafka:intel"),
        ("kafka.bootstrap.servers", "127.0.0.1:9"),
        ("kafka.no.such.property", "x"),
    ]))
    .unwrap_err();
    assert_eq!(e.key, "sources");
    assert!(e.message.contains("no.such.property"), "{}", e.message);

    // Nothing listens there: the build still succeeds, with no indicators,
    // and the follower thread ends with the transform.
    let t = ThreatIntel::new(&props(&[
        ("sources", "kafka:intel-unreachable"),
        ("kafka.bootstrap.servers", "127.0.0.1:9"),
        ("kafka.socket.connection.setup.timeout.ms", "1000"),
    ]))
    .unwrap();
    assert_eq!(t.indicators(), 0);
    assert!(!hits_ip(&t, "198.51.100.7"));
    let alive = t.sources[0].reloader_alive();
    drop(t);
    wait_until(Duration::from_secs(20), "the kafka thread to exit", || {
        !alive.load(Ordering::Acquire)
    });
}
