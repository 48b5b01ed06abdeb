#![allow(clippy::unwrap_used)]

use super::*;

fn text(bytes: Option<Vec<u8>>) -> String {
    String::from_utf8(bytes.unwrap()).unwrap()
}

#[test]
fn target_states_are_written_with_the_legacy_state_beside_state_v2() {
    let cases = [
        (
            TargetState::Started,
            r#"{"state":"STARTED","state.v2":"STARTED"}"#,
        ),
        (
            TargetState::Paused,
            r#"{"state":"PAUSED","state.v2":"PAUSED"}"#,
        ),
        (
            TargetState::Stopped,
            r#"{"state":"PAUSED","state.v2":"STOPPED"}"#,
        ),
    ];
    for (state, json) in cases {
        let r = ConfigRecord::TargetState {
            name: "fs".into(),
            state: Some(state),
        };
        assert_eq!(r.key(), "target-state-fs");
        assert_eq!(text(r.value()), json);
        assert_eq!(
            ConfigRecord::parse("target-state-fs", Some(json.as_bytes())).unwrap(),
            Some(r)
        );
    }
    // A record from before state.v2 existed.
    assert_eq!(
        ConfigRecord::parse("target-state-fs", Some(br#"{"state":"PAUSED"}"#)).unwrap(),
        Some(ConfigRecord::TargetState {
            name: "fs".into(),
            state: Some(TargetState::Paused)
        })
    );
}

#[test]
fn connector_task_and_commit_records() {
    let config: BTreeMap<String, String> = [
        ("connector.class", "FileStreamSource"),
        ("name", "my-conn"),
        ("tasks.max", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = ConfigRecord::Connector {
        name: "my-conn".into(),
        config: Some(config.clone()),
    };
    assert_eq!(c.key(), "connector-my-conn");
    assert_eq!(
        text(c.value()),
        r#"{"properties":{"connector.class":"FileStreamSource","name":"my-conn","tasks.max":"1"}}"#
    );
    // Java's maps come in any order.
    let java = br#"{"properties":{"tasks.max":"1","name":"my-conn","connector.class":"FileStreamSource"}}"#;
    assert_eq!(
        ConfigRecord::parse("connector-my-conn", Some(java)).unwrap(),
        Some(c)
    );
    assert_eq!(
        ConfigRecord::parse("connector-my-conn", None).unwrap(),
        Some(ConfigRecord::Connector {
            name: "my-conn".into(),
            config: None
        })
    );

    // A connector name with dashes: the task number is the last segment.
    let t = ConfigRecord::parse(
        "task-my-conn-12",
        Some(br#"{"properties":{"task.class":"x"}}"#),
    )
    .unwrap()
    .unwrap();
    assert_eq!(t.key(), "task-my-conn-12");
    assert!(
        matches!(t, ConfigRecord::Task { ref id, .. } if id.connector == "my-conn" && id.task == 12)
    );

    let commit = ConfigRecord::Commit {
        connector: "my-conn".into(),
        tasks: 3,
    };
    assert_eq!(text(commit.value()), r#"{"tasks":3}"#);
    assert_eq!(
        ConfigRecord::parse("commit-my-conn", Some(br#"{"tasks":3}"#)).unwrap(),
        Some(commit)
    );
}

#[test]
fn records_rampart_does_not_use_are_understood_and_unknown_keys_reported() {
    let key = ConfigRecord::parse(
        "session-key",
        Some(br#"{"key":"AAECAw==","algorithm":"HmacSHA256","creation-timestamp":1730000000000}"#),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        key,
        ConfigRecord::SessionKey {
            key: vec![0, 1, 2, 3],
            algorithm: "HmacSHA256".into(),
            created_ms: 1_730_000_000_000
        }
    );
    assert_eq!(
        text(key.value()),
        r#"{"key":"AAECAw==","algorithm":"HmacSHA256","creation-timestamp":1730000000000}"#
    );
    let restart = ConfigRecord::parse(
        "restart-connector-c",
        Some(br#"{"include-tasks":true,"only-failed":false}"#),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        text(restart.value()),
        r#"{"include-tasks":true,"only-failed":false}"#
    );
    let fence = ConfigRecord::parse("tasks-fencing-c", Some(br#"{"task-count":4}"#))
        .unwrap()
        .unwrap();
    assert_eq!(text(fence.value()), r#"{"task-count":4}"#);
    let level = ConfigRecord::parse("logger-cluster-org.apache", Some(br#"{"level":"DEBUG"}"#))
        .unwrap()
        .unwrap();
    assert_eq!(level.key(), "logger-cluster-org.apache");
    assert_eq!(
        ConfigRecord::parse("something-else", Some(b"{}")).unwrap(),
        None
    );
    assert!(ConfigRecord::parse("commit-c", Some(b"not json")).is_err());
    assert!(ConfigRecord::parse("commit-c", None).is_err());
    assert!(ConfigRecord::parse("task-c", Some(br#"{"properties":{}}"#)).is_err());
}

#[test]
fn status_values_are_javas() {
    let s = StatusRecord {
        state: State::Running,
        trace: None,
        worker_id: "10.0.0.1:8083".into(),
        generation: 5,
    };
    let json = r#"{"state":"RUNNING","trace":null,"worker_id":"10.0.0.1:8083","generation":5}"#;
    assert_eq!(String::from_utf8(s.value()).unwrap(), json);
    assert_eq!(StatusRecord::parse(json.as_bytes()), Some(s));
    assert_eq!(connector_status_key("c"), "status-connector-c");
    assert_eq!(
        task_status_key(&ConnectorTaskId {
            connector: "c".into(),
            task: 2
        }),
        "status-task-c-2"
    );
}

#[test]
fn offset_keys_match_whatever_order_java_wrote_the_partition_in() {
    let mut partition = Map::new();
    partition.insert("filename".into(), json!("/in"));
    partition.insert("a".into(), json!(1));
    let ours = offset_key("fs", &partition);
    assert_eq!(
        String::from_utf8(ours.clone()).unwrap(),
        r#"["fs",{"filename":"/in","a":1}]"#
    );
    let java = br#"["fs", {"a": 1, "filename": "/in"}]"#;
    assert_eq!(canonical_offset_key(&ours), canonical_offset_key(java));
    assert!(canonical_offset_key(b"{}").is_none());
    assert!(canonical_offset_key(br#"["only"]"#).is_none());
}
