//! The `connect` group protocol's bytes against Java Kafka Connect's own
//! serializers: `testdata/differential/ProtocolOracle.java`, compiled and
//! run against the connect-runtime jars `scripts/connect` installs, prints
//! the metadata and assignments Java writes (V0, V1, V2), and Rampart must
//! write the same bytes and read Java's back to the same values.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use rampart_core::herder::ConnectorTaskId;
use rampart_runtime::distributed::assignor::ConnectorsAndTasks;
use rampart_runtime::distributed::protocol::{Assignment, WorkerState, CONFIG_MISMATCH, NO_ERROR};

fn java_outputs() -> BTreeMap<String, Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let classpath = format!("{}/.tools/connect/lib/*", root.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new("javac")
        .arg("-cp")
        .arg(&classpath)
        .arg("-d")
        .arg(dir.path())
        .arg(root.join("testdata/differential/ProtocolOracle.java"))
        .output()
        .expect("javac runs (scripts/test installs Java and the Connect jars)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("java")
        .arg("-cp")
        .arg(format!("{classpath}:{}", dir.path().display()))
        .arg("ProtocolOracle")
        .output()
        .expect("java runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, hex)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            (name.to_string(), bytes)
        })
        .collect()
}

fn task(c: &str, t: u32) -> ConnectorTaskId {
    ConnectorTaskId {
        connector: c.into(),
        task: t,
    }
}

#[test]
fn connect_protocol_bytes_match_javas() {
    let java = java_outputs();
    let url = "http://10.0.0.1:8083/";
    for version in [1i16, 2] {
        let mut assigned = ConnectorsAndTasks::default();
        assigned
            .connectors
            .extend(["file-source".to_string(), "b".to_string()]);
        assigned.tasks.extend([
            task("file-source", 0),
            task("other", 2),
            task("file-source", 1),
        ]);
        let mut revoked = ConnectorsAndTasks::default();
        revoked.connectors.insert("gone".into());
        revoked.tasks.insert(task("gone", 1));
        let assignment = Assignment {
            version,
            error: NO_ERROR,
            leader: "connect-1-abc".into(),
            leader_url: url.into(),
            config_offset: 7,
            assigned,
            revoked,
            delay_ms: 40,
        };
        let key = format!("assignment-v{version}");
        assert_eq!(assignment.encode(), java[&key], "{key}");
        assert_eq!(Assignment::decode(&java[&key]).unwrap(), assignment);

        let state = WorkerState {
            url: url.into(),
            config_offset: 7,
            allocation: Some(assignment),
        };
        let key = format!("metadata-v{version}");
        assert_eq!(state.encode(version), java[&key], "{key}");
        assert_eq!(WorkerState::decode(&java[&key]).unwrap(), state);

        let first = WorkerState {
            url: url.into(),
            config_offset: -1,
            allocation: None,
        };
        let key = format!("metadata-first-v{version}");
        assert_eq!(first.encode(version), java[&key], "{key}");
    }

    let mut assigned = ConnectorsAndTasks::default();
    assigned.connectors.insert("a".into());
    assigned.tasks.insert(task("b", 3));
    let v0 = Assignment {
        version: 0,
        error: CONFIG_MISMATCH,
        leader: "l".into(),
        leader_url: url.into(),
        config_offset: 3,
        assigned,
        revoked: ConnectorsAndTasks::default(),
        delay_ms: 0,
    };
    assert_eq!(v0.encode(), java["assignment-v0"]);
    assert_eq!(Assignment::decode(&java["assignment-v0"]).unwrap(), v0);
    let state = WorkerState {
        url: url.into(),
        config_offset: 3,
        allocation: None,
    };
    assert_eq!(state.encode(0), java["metadata-v0"]);
}
