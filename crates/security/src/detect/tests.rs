//! Golden tests (`testdata/sigma/golden/*.json`, in `rampart-core`'s
//! harness format: `BLESS=1 cargo test -p rampart-security --lib detect`
//! rewrites them), rule-loading tests over `testdata/sigma-refused/`, and
//! unit tests of the record adapter, the predicate and correlation time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rampart_core::data::{schemas, Schema, SchemaType, Struct, Value};
use rampart_core::record::ConnectRecord;
use rampart_core::transform::{golden, Predicate, TransformPlugins, Transformation};
use rsigma_eval::{Event, EventValue};

use super::event::RecordEvent;
use super::*;
use crate::fields::map;

fn testdata(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(dir)
}

fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn detector() -> SigmaDetect {
    let dir = testdata("sigma/rules");
    SigmaDetect::new(&props(&[("rules.dir", dir.to_str().unwrap())])).unwrap()
}

fn record(value: Value) -> ConnectRecord {
    ConnectRecord {
        topic: "ecs".to_string(),
        value,
        ..Default::default()
    }
}

fn s(text: &str) -> Value {
    Value::string(text)
}

/// The ids tagged on `record`.
fn ids(record: &ConnectRecord) -> Vec<String> {
    match fields::get(&record.value, DEFAULT_TARGET) {
        Some(Value::Array(tags)) => tags
            .iter()
            .filter_map(|t| fields::get_text(t, "id").map(|id| id.into_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

const FAILED_PASSWORD: &str = "77d122b7-9a63-4dbb-8a88-184ab2e6401d";
const BRUTE_FORCE: &str = "ccdb0d02-f03b-4c4e-9bda-a41f80bbcc87";
const SUDO_TO_ROOT: &str = "4d6cc5bf-6b37-4d35-a92a-8114675cd8ce";

fn failed_password(ip: &str, at: &str) -> Value {
    map([
        ("@timestamp", s(at)),
        (
            "message",
            s(&format!("Failed password for root from {ip} port 22 ssh2")),
        ),
        ("process", map([("name", s("sshd"))])),
        (
            "event",
            map([
                ("action", s("ssh_login")),
                ("outcome", s("failure")),
                ("category", Value::Array(vec![s("authentication")])),
            ]),
        ),
        ("user", map([("name", s("root"))])),
        ("source", map([("ip", s(ip)), ("port", Value::Int64(22))])),
    ])
}

#[test]
fn golden() {
    let plugins = TransformPlugins::builtin().with(crate::transforms(), crate::predicates());
    golden::run_dir(&testdata("sigma/golden"), &plugins);
}

// ---------------------------------------------------------------------------
// Loading rules
// ---------------------------------------------------------------------------

/// Every file of `testdata/sigma-refused/`, and why it is refused.
const REFUSED: &[(&str, &str)] = &[
    ("bad_cidr.yml", "rule \"Impossible Network\": invalid CIDR"),
    (
        "bad_regex.yml",
        "rule \"Unclosed Regex Group\": invalid regex pattern",
    ),
    ("bad_yaml.yml", "YAML parse error"),
    ("empty.yml", "document is not a YAML mapping"),
    (
        "engine_attribute.yml",
        "rsigma.include_event is an rsigma engine setting rampart does not honour",
    ),
    (
        "expand_modifier.yml",
        "the expand modifier is not supported",
    ),
    ("filter.yml", "Sigma filter documents are not supported"),
    (
        "legacy_aggregation.yml",
        "the deprecated aggregation syntax (condition: … | count() …) is not supported",
    ),
    ("missing_id.yml", "rule \"Rule Without An Id\": has no id"),
    (
        "threshold_too_high.yml",
        "a threshold of 50000 is above the 10000 events a window keeps per group",
    ),
    (
        "timeframe.yml",
        "timeframe (5m) belongs to the deprecated aggregation syntax",
    ),
    (
        "undefined_selection.yml",
        "unknown detection identifier: filter",
    ),
    ("unknown_level.yml", "invalid level: 'severe'"),
    ("unknown_modifier.yml", "unknown modifier 'containz'"),
    (
        "unknown_rule_reference.yml",
        "refers to rule no_such_rule, which is not loaded",
    ),
    (
        "value_sum_correlation.yml",
        "correlation \"Exfiltration Volume\": type value_sum is not supported",
    ),
];

fn build(dir: &Path) -> Result<SigmaDetect, PluginConfigError> {
    SigmaDetect::new(&props(&[("rules.dir", dir.to_str().unwrap())]))
}

#[test]
fn each_refused_rule_is_refused_alone_with_its_file_and_reason() {
    let refused = testdata("sigma-refused");
    let mut files: Vec<String> = std::fs::read_dir(&refused)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let expected: Vec<&str> = REFUSED.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, expected, "every refused rule file has a reason here");

    for (file, reason) in REFUSED {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(refused.join(file), dir.path().join(file)).unwrap();
        let error = build(dir.path()).expect_err(file);
        assert_eq!(error.key, "rules.dir");
        assert!(
            error.message.starts_with(&format!("{file}: ")),
            "{file}: {}",
            error.message
        );
        assert!(
            error.message.contains(reason),
            "{file}: expected {reason:?} in {:?}",
            error.message
        );
    }
}

#[test]
fn a_directory_with_refused_rules_reports_every_file() {
    let error = build(&testdata("sigma-refused")).unwrap_err();
    for (file, _) in REFUSED {
        assert!(
            error.message.contains(&format!("{file}: ")),
            "{file} missing from {:?}",
            error.message
        );
    }
}

#[test]
fn one_refused_file_fails_the_whole_rule_set() {
    let dir = tempfile::tempdir().unwrap();
    let good = testdata("sigma/rules/linux/sshd/sshd_failed_password.yml");
    std::fs::copy(good, dir.path().join("good.yml")).unwrap();
    std::fs::copy(
        testdata("sigma-refused/unknown_modifier.yml"),
        dir.path().join("bad.yml"),
    )
    .unwrap();
    let error = build(dir.path()).unwrap_err();
    assert_eq!(error.message, "bad.yml: unknown modifier 'containz'");
}

#[test]
fn empty_and_missing_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "not a rule").unwrap();
    let error = build(dir.path()).unwrap_err();
    assert_eq!(error.key, "rules.dir");
    assert!(
        error.message.starts_with("no .yml or .yaml rule files in "),
        "{}",
        error.message
    );

    let error = build(&dir.path().join("nope")).unwrap_err();
    assert!(
        error.message.starts_with("cannot read directory "),
        "{}",
        error.message
    );

    let error = SigmaDetect::new(&HashMap::new()).unwrap_err();
    assert_eq!(error.key, "rules.dir");
}

#[test]
fn duplicate_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rule = testdata("sigma/rules/linux/sudo/sudo_to_root.yml");
    std::fs::copy(&rule, dir.path().join("a.yml")).unwrap();
    std::fs::copy(&rule, dir.path().join("b.yml")).unwrap();
    let error = build(dir.path()).unwrap_err();
    assert_eq!(
        error.message,
        format!("b.yml: id {SUDO_TO_ROOT} is already the id of a rule in a.yml")
    );
}

#[test]
fn hidden_directories_are_skipped() {
    // A Kubernetes ConfigMap keeps a second copy of each file under `..data`.
    let dir = tempfile::tempdir().unwrap();
    let rule = testdata("sigma/rules/linux/sudo/sudo_to_root.yml");
    std::fs::create_dir(dir.path().join("..data")).unwrap();
    std::fs::copy(&rule, dir.path().join("..data/sudo.yml")).unwrap();
    std::fs::copy(&rule, dir.path().join("sudo.yml")).unwrap();
    assert_eq!(build(dir.path()).unwrap().rules.len(), 1);
}

#[test]
fn the_test_rules_load_recursively() {
    let detect = detector();
    let mut loaded: Vec<&str> = detect.rules.iter().map(|r| r.id.as_str()).collect();
    loaded.sort_unstable();
    assert_eq!(loaded.len(), 8, "{loaded:?}");
    assert!(loaded.contains(&BRUTE_FORCE));
    assert!(detect.correlation.is_some());
}

#[test]
fn the_field_mapping_file_adds_names() {
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("r.yml"),
        "title: Netcat\nid: 0c8b0e5e-0a43-4a43-9a3b-9b7c1a2d3e4f\nlogsource: {product: linux}\n\
         detection:\n  selection:\n    exe|endswith: /nc\n  condition: selection\nlevel: low\n",
    )
    .unwrap();
    let mapping = rules.path().join("mapping.properties");
    std::fs::write(
        &mapping,
        "# ours\nexe = process.executable, process.parent.executable\n",
    )
    .unwrap();
    let detect = SigmaDetect::new(&props(&[
        ("rules.dir", rules.path().to_str().unwrap()),
        ("field.mapping", mapping.to_str().unwrap()),
    ]))
    .unwrap();
    let mut by_parent = record(map([(
        "process",
        map([("parent", map([("executable", s("/usr/bin/nc"))]))]),
    )]));
    detect.apply_in_place(&mut by_parent).unwrap();
    assert_eq!(ids(&by_parent), ["0c8b0e5e-0a43-4a43-9a3b-9b7c1a2d3e4f"]);
    // The name as written no longer reads anything.
    let mut unmapped = record(map([("exe", s("/usr/bin/nc"))]));
    detect.apply_in_place(&mut unmapped).unwrap();
    assert!(ids(&unmapped).is_empty());

    std::fs::write(&mapping, "exe=\n").unwrap();
    let error = SigmaDetect::new(&props(&[
        ("rules.dir", rules.path().to_str().unwrap()),
        ("field.mapping", mapping.to_str().unwrap()),
    ]))
    .unwrap_err();
    assert_eq!(error.key, "field.mapping");
    assert!(
        error.message.contains("\"exe\" maps to no field"),
        "{}",
        error.message
    );
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

#[test]
fn values_that_are_not_maps_pass_through() {
    let detect = detector();
    for value in [s("Failed password for root"), Value::Null, Value::Int64(1)] {
        let mut r = record(value.clone());
        assert!(detect.apply_in_place(&mut r).unwrap());
        assert_eq!(r.value, value);
    }
}

#[test]
fn a_struct_value_is_evaluated_and_becomes_schemaless_when_tagged() {
    let process_schema = Schema::new(SchemaType::Struct)
        .field("name", schemas::string())
        .field("command_line", schemas::string())
        .build();
    let schema = Schema::new(SchemaType::Struct)
        .field("message", schemas::string())
        .field("process", process_schema.clone())
        .build();
    let process = Struct::new(process_schema)
        .with("name", s("sudo"))
        .unwrap()
        .with("command_line", s("/bin/cat /etc/shadow"))
        .unwrap();
    let value = Struct::new(schema.clone())
        .with(
            "message",
            s("alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/cat /etc/shadow"),
        )
        .unwrap()
        .with("process", Value::Struct(process))
        .unwrap();
    let mut r = record(Value::Struct(value));
    r.value_schema = Some(schema);
    detector().apply_in_place(&mut r).unwrap();
    assert_eq!(ids(&r), [SUDO_TO_ROOT]);
    assert!(r.value_schema.is_none());
    assert_eq!(
        fields::get_text(&r.value, "process.name").as_deref(),
        Some("sudo")
    );
}

#[test]
fn brute_force_fires_on_the_fifth_failure_within_a_minute_per_source() {
    let detect = detector();
    let mut fired = Vec::new();
    let attempts = [
        ("203.0.113.7", "2026-12-10T07:00:00Z"),
        ("203.0.113.7", "2026-12-10T07:00:10Z"),
        ("198.51.100.1", "2026-12-10T07:00:15Z"),
        ("203.0.113.7", "2026-12-10T07:00:20Z"),
        ("203.0.113.7", "2026-12-10T07:00:30Z"),
        // The fifth from 203.0.113.7, 40 s after the first.
        ("203.0.113.7", "2026-12-10T07:00:40Z"),
        ("198.51.100.1", "2026-12-10T07:00:45Z"),
        // Still five within the minute (07:00:10 to 07:01:05).
        ("203.0.113.7", "2026-12-10T07:01:05Z"),
        // 07:00:10 to 07:00:40 have left the window: three remain.
        ("203.0.113.7", "2026-12-10T07:01:45Z"),
    ];
    for (ip, at) in attempts {
        let mut r = record(failed_password(ip, at));
        detect.apply_in_place(&mut r).unwrap();
        let ids = ids(&r);
        assert!(ids.contains(&FAILED_PASSWORD.to_string()), "{ids:?}");
        fired.push(ids.contains(&BRUTE_FORCE.to_string()));
    }
    assert_eq!(
        fired,
        [false, false, false, false, false, true, false, true, false]
    );
    let counters = detect.counters();
    let count = |id: &str| {
        counters
            .iter()
            .find(|c| c.labels == [("rule", id.to_string())])
            .map(|c| c.value)
    };
    assert_eq!(count(FAILED_PASSWORD), Some(9));
    assert_eq!(count(BRUTE_FORCE), Some(2));
    assert_eq!(count(SUDO_TO_ROOT), Some(0));
    assert!(counters.iter().all(|c| c.name == "detections_total"));
}

#[test]
fn a_rule_only_a_generate_false_correlation_uses_feeds_it_untagged() {
    let dir = tempfile::tempdir().unwrap();
    let rule = std::fs::read_to_string(testdata("sigma/rules/linux/sshd/sshd_failed_password.yml"))
        .unwrap();
    let correlation =
        std::fs::read_to_string(testdata("sigma/rules/linux/sshd/sshd_brute_force.yml"))
            .unwrap()
            .replace("generate: true", "generate: false");
    std::fs::write(
        dir.path().join("rules.yml"),
        format!("{rule}---\n{correlation}"),
    )
    .unwrap();
    let detect = build(dir.path()).unwrap();
    let tagged: Vec<Vec<String>> = (0..5)
        .map(|i| {
            let mut r = record(failed_password(
                "203.0.113.7",
                &format!("2026-12-10T07:00:0{i}Z"),
            ));
            detect.apply_in_place(&mut r).unwrap();
            ids(&r)
        })
        .collect();
    assert_eq!(
        tagged[..4],
        [vec![], vec![], vec![], vec![]] as [Vec<String>; 4]
    );
    assert_eq!(tagged[4], [BRUTE_FORCE]);
}

#[test]
fn event_time_is_the_timestamp_field_then_the_record_timestamp() {
    let mut r = record(map([("@timestamp", s("2026-12-10T07:00:30.250+01:00"))]));
    r.timestamp = Some(1_000_000);
    assert_eq!(event_time(&r), 1_796_882_430);
    r.value = map([("@timestamp", s("2026-12-10 06:00:30"))]);
    assert_eq!(event_time(&r), 1_796_882_430);
    r.value = map([("@timestamp", Value::Int64(1_796_882_430_999))]);
    assert_eq!(event_time(&r), 1_796_882_430);
    r.value = map([("@timestamp", s("yesterday"))]);
    assert_eq!(event_time(&r), 1_000);
}

// ---------------------------------------------------------------------------
// The record adapter
// ---------------------------------------------------------------------------

fn text(v: Option<EventValue<'_>>) -> Option<String> {
    v.and_then(|v| v.as_str().map(|s| s.into_owned()))
}

#[test]
fn fields_resolve_as_dotted_keys_nested_maps_and_across_arrays() {
    let value = map([
        ("source.ip", s("10.0.0.1")),
        (
            "process",
            map([("name", s("sshd")), ("pid", Value::Int32(42))]),
        ),
        (
            "event",
            map([(
                "category",
                Value::Array(vec![s("authentication"), s("network")]),
            )]),
        ),
        (
            "dns",
            map([(
                "answers",
                Value::Array(vec![
                    map([("data", s("192.0.2.1"))]),
                    map([("data", s("192.0.2.2"))]),
                ]),
            )]),
        ),
    ]);
    let event = RecordEvent(&value);
    assert_eq!(
        text(event.get_field("source.ip")).as_deref(),
        Some("10.0.0.1")
    );
    assert_eq!(
        text(event.get_field("process.name")).as_deref(),
        Some("sshd")
    );
    assert_eq!(event.get_field("process.pid"), Some(EventValue::Int(42)));
    assert_eq!(event.get_field("process.ppid"), None);
    assert_eq!(event.get_field("user.name"), None);
    assert_eq!(
        event.get_field("event.category"),
        Some(EventValue::Array(vec![
            EventValue::Str("authentication".into()),
            EventValue::Str("network".into()),
        ]))
    );
    // Crossing an array: any element's value.
    assert_eq!(
        event.get_field("dns.answers.data"),
        Some(EventValue::Array(vec![
            EventValue::Str("192.0.2.1".into()),
            EventValue::Str("192.0.2.2".into()),
        ]))
    );
    assert_eq!(
        text(event.get_field("dns.answers[-1].data")).as_deref(),
        Some("192.0.2.2")
    );
    assert_eq!(
        text(event.get_field("event.category[0]")).as_deref(),
        Some("authentication")
    );
    assert_eq!(event.get_field("event.category[2]"), None);

    let mut keys = event.top_level_keys().unwrap();
    keys.sort();
    assert_eq!(keys, ["dns", "event", "process", "source.ip"]);
    let mut strings: Vec<String> = event
        .all_string_values()
        .into_iter()
        .map(|s| s.into_owned())
        .collect();
    strings.sort();
    assert_eq!(
        strings,
        [
            "10.0.0.1",
            "192.0.2.1",
            "192.0.2.2",
            "authentication",
            "network",
            "sshd"
        ]
    );
    assert!(event.any_string_value(&|s| s == "sshd"));
    assert_eq!(
        event.to_json()["process"],
        serde_json::json!({"name": "sshd", "pid": 42})
    );
}

#[test]
fn deep_nesting_is_not_followed_past_the_limit() {
    let mut value = s("bottom");
    for _ in 0..10_000 {
        value = map([("a", value)]);
    }
    {
        let event = RecordEvent(&value);
        assert!(!event.any_string_value(&|s| s == "bottom"));
        assert!(event.all_string_values().is_empty());
        // Still a value (nulled below the limit), not a stack overflow.
        assert!(event.get_field("a").is_some());
    }
    // Dropping 10,000 levels recursively is the value's business, not this
    // test's: take it apart level by level.
    let mut current = value;
    while let Value::Map(mut entries) = current {
        current = entries.pop().map(|(_, v)| v).unwrap_or(Value::Null);
    }
}

// ---------------------------------------------------------------------------
// HasDetection
// ---------------------------------------------------------------------------

#[test]
fn has_detection_checks_the_array_and_the_least_level() {
    let tagged = |levels: &[&str]| {
        let tags = levels
            .iter()
            .map(|l| map([("id", s("x")), ("level", s(l))]))
            .collect();
        let mut r = record(map([("message", s("m"))]));
        fields::set(&mut r.value, DEFAULT_TARGET, Value::Array(tags));
        r
    };
    let any = HasDetection::new(&HashMap::new()).unwrap();
    let high = HasDetection::new(&props(&[("level", "high")])).unwrap();
    assert!(any.test(&tagged(&["low"])));
    assert!(!any.test(&tagged(&[])));
    assert!(!any.test(&record(map([("message", s("m"))]))));
    assert!(!any.test(&record(s("text"))));
    assert!(!high.test(&tagged(&["low", "medium"])));
    assert!(high.test(&tagged(&["low", "critical"])));
    assert!(high.test(&tagged(&["high"])));

    let other = HasDetection::new(&props(&[("field", "alerts")])).unwrap();
    assert!(!other.test(&tagged(&["low"])));

    let error = HasDetection::new(&props(&[("level", "severe")])).unwrap_err();
    assert_eq!(error.key, "level");
}
