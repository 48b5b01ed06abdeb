use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use rampart_core::connector::{
    OffsetStorageReader, SinkTask, SinkTaskContext, SourceTask, SourceTaskContext,
};
use rampart_core::data::Value;
use rampart_core::record::{SinkRecord, SourceMap};
use serde_json::Value as Json;

use super::*;

struct Offsets(Option<u64>);

impl OffsetStorageReader for Offsets {
    fn offset(&self, _partition: &SourceMap) -> Option<SourceMap> {
        self.0.map(|p| {
            let mut m = SourceMap::new();
            m.insert("position".into(), Json::from(p));
            m
        })
    }
}

fn config(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn source_emits_lines_with_positions_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "first\nsecond\r\nthird-partial").unwrap();
    let cfg = config(&[
        ("file", path.to_str().unwrap()),
        ("topic", "t"),
        ("batch.size", "10"),
    ]);
    let mut task = FileStreamSourceTask::default();
    task.start(
        &cfg,
        SourceTaskContext {
            offsets: Arc::new(Offsets(None)),
        },
    )
    .await
    .unwrap();
    let batch = task.poll().await.unwrap();
    let lines: Vec<_> = batch.iter().map(|r| r.value.clone()).collect();
    assert_eq!(lines, vec![Value::string("first"), Value::string("second")]);
    assert_eq!(
        batch[1].source_offset.as_ref().unwrap()["position"],
        Json::from(14)
    );
    assert_eq!(batch[0].topic, "t");

    // The partial line is returned once it is completed.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"\n")
        .unwrap();
    let batch = task.poll().await.unwrap();
    assert_eq!(batch[0].value, Value::string("third-partial"));

    // A new task resumes after the committed position.
    let mut resumed = FileStreamSourceTask::default();
    resumed
        .start(
            &cfg,
            SourceTaskContext {
                offsets: Arc::new(Offsets(Some(6))),
            },
        )
        .await
        .unwrap();
    let batch = resumed.poll().await.unwrap();
    assert_eq!(batch[0].value, Value::string("second"));
}

/// Kafka's task counts its position in UTF-16 code units (34 for this
/// file of 37 bytes, as the differential run against Java Connect read
/// from Java's committed offset), and stamps records with the read time.
#[tokio::test]
async fn non_ascii_positions_are_javas_character_counts_and_resume_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "alice\nbob smith\n\ncharlie,42\nzoë ✓\n").unwrap();
    let cfg = config(&[("file", path.to_str().unwrap()), ("topic", "t")]);
    let mut task = FileStreamSourceTask::default();
    let context = |p| SourceTaskContext {
        offsets: Arc::new(Offsets(p)),
    };
    task.start(&cfg, context(None)).await.unwrap();
    let batch = task.poll().await.unwrap();
    let last = batch.last().unwrap();
    assert_eq!(
        last.source_offset.as_ref().unwrap()["position"],
        Json::from(34)
    );
    assert!(last.timestamp.is_some_and(|t| t > 1_700_000_000_000));

    // After "charlie,42" (28 units, 28 bytes) and after a line holding
    // 4-byte characters (two units each).
    let mut resumed = FileStreamSourceTask::default();
    resumed.start(&cfg, context(Some(28))).await.unwrap();
    assert_eq!(
        resumed.poll().await.unwrap()[0].value,
        Value::string("zoë ✓")
    );

    std::fs::write(&path, "𝄞x\nnext\n").unwrap();
    let mut task = FileStreamSourceTask::default();
    task.start(&cfg, context(None)).await.unwrap();
    let batch = task.poll().await.unwrap();
    assert_eq!(
        batch[0].source_offset.as_ref().unwrap()["position"],
        Json::from(4)
    );
    let mut resumed = FileStreamSourceTask::default();
    resumed.start(&cfg, context(Some(4))).await.unwrap();
    assert_eq!(
        resumed.poll().await.unwrap()[0].value,
        Value::string("next")
    );
}

#[tokio::test]
async fn source_respects_batch_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.txt");
    std::fs::write(&path, "a\nb\nc\n").unwrap();
    let cfg = config(&[
        ("file", path.to_str().unwrap()),
        ("topic", "t"),
        ("batch.size", "2"),
    ]);
    let mut task = FileStreamSourceTask::default();
    task.start(
        &cfg,
        SourceTaskContext {
            offsets: Arc::new(Offsets(None)),
        },
    )
    .await
    .unwrap();
    assert_eq!(task.poll().await.unwrap().len(), 2);
    assert_eq!(task.poll().await.unwrap().len(), 1);
}

#[tokio::test]
async fn sink_writes_values_as_lines_on_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let cfg = config(&[("file", path.to_str().unwrap())]);
    let mut task = FileStreamSinkTask::default();
    task.start(
        &cfg,
        SinkTaskContext {
            errant_record_reporter: None,
        },
    )
    .await
    .unwrap();
    let records = vec![
        SinkRecord {
            value: Value::string("x"),
            ..Default::default()
        },
        SinkRecord {
            value: Value::Int64(42),
            ..Default::default()
        },
    ];
    task.put(&records).await.unwrap();
    task.flush(&Default::default()).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\n42\n");
}

#[test]
fn plugins_accept_java_names_and_aliases() {
    let p = source_plugin();
    assert!(p.matches("org.apache.kafka.connect.file.FileStreamSourceConnector"));
    assert!(p.matches("FileStreamSourceConnector"));
    assert!(p.matches("FileStreamSource"));
    assert!(!p.matches("FileStreamSink"));
}
