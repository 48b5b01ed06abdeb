//! Unit tests: config, protocol, rendering and offset tracking are pure;
//! the task tests run against the HEC test receiver (`tests/receiver.rs`,
//! written from Splunk's documentation) in this process.

mod receiver;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rampart_core::connector::{ErrantRecordReporter, SinkOffsets, SinkTask, SinkTaskContext};
use rampart_core::data::Value;
use rampart_core::record::{Headers, KafkaPosition, SinkRecord, TopicPartition};
use rampart_core::{ConnectError, ConnectResult};
use serde_json::{json, Value as Json};

use self::receiver::{Behaviour, Receiver};
use crate::config::HecConfig;
use crate::event::Renderer;
use crate::hec::{self, ErrorKind, HecError};
use crate::tracker::{Hold, Tracker};
use crate::SplunkHecSinkTask;

const TOKEN: &str = "00000000-0000-0000-0000-000000000001";

fn config(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn base(uri: &str, extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut c = config(&[
        ("splunk.hec.uri", uri),
        ("splunk.hec.token", TOKEN),
        ("topics", "logs"),
    ]);
    c.extend(config(extra));
    c
}

fn record(topic: &str, partition: i32, offset: i64, value: &str) -> SinkRecord {
    SinkRecord {
        topic: topic.to_string(),
        partition: Some(partition),
        value: Value::string(value),
        timestamp: Some(1_700_000_000_123),
        kafka: Some(KafkaPosition {
            tp: TopicPartition::new(topic, partition),
            offset,
        }),
        ..Default::default()
    }
}

fn records(n: i64, prefix: &str) -> Vec<SinkRecord> {
    (0..n)
        .map(|i| record("logs", 0, i, &format!("{prefix}-{i}")))
        .collect()
}

#[test]
fn defaults_follow_the_java_connector() {
    let c = HecConfig::parse(&base("https://splunk:8088/", &[])).unwrap();
    assert_eq!(c.uris, vec!["https://splunk:8088"]);
    assert!(!c.raw && !c.ack && !c.track_data);
    assert!(c.use_record_timestamp && c.keepalive && c.validate_certs);
    assert_eq!(c.ack_poll_interval, Duration::from_secs(10));
    assert_eq!(c.ack_poll_threads, 2);
    assert_eq!(c.event_timeout, Duration::from_secs(300));
    assert_eq!(c.max_batch_size, 500);
    assert_eq!(c.max_retries, None);
    assert_eq!(c.backoff_max, Duration::from_secs(60));
    assert_eq!(c.total_channels, 2);
    assert_eq!(c.max_outstanding_events, 1_000_000);
    assert_eq!(c.lb_poll_interval, Duration::from_secs(120));
    assert_eq!(c.auto_extract_timestamp, None);
    assert!(c.headers.is_none());
}

#[test]
fn per_topic_metadata_is_positional_or_single() {
    let c = HecConfig::parse(&base(
        "http://a:8088,http://b:8088",
        &[
            ("topics", "fw,dns"),
            ("splunk.indexes", "net,dnsidx"),
            ("splunk.sourcetypes", "syslog"),
        ],
    ))
    .unwrap();
    assert_eq!(c.topic_meta("fw").index.as_deref(), Some("net"));
    assert_eq!(c.topic_meta("dns").index.as_deref(), Some("dnsidx"));
    assert_eq!(c.topic_meta("dns").sourcetype.as_deref(), Some("syslog"));
    assert_eq!(c.topic_meta("other").index, None);

    let e = HecConfig::parse(&base(
        "http://a:8088",
        &[("topics", "fw,dns,web"), ("splunk.indexes", "a,b")],
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("configuration splunk.indexes"),
        "{e}"
    );
}

#[test]
fn bad_configs_are_refused_with_the_key() {
    for (extra, key) in [
        (vec![("splunk.hec.uri", "splunk:8088")], "splunk.hec.uri"),
        (
            vec![("splunk.hec.json.event.enrichment", "novalue")],
            "splunk.hec.json.event.enrichment",
        ),
        (
            vec![("splunk.hec.ssl.trust.store.path", "/etc/hostname")],
            "splunk.hec.ssl.trust.store.type",
        ),
        (
            vec![
                ("splunk.hec.ssl.trust.store.path", "/etc/hostname"),
                ("splunk.hec.ssl.trust.store.type", "PEM"),
            ],
            "splunk.hec.ssl.trust.store.path",
        ),
    ] {
        let mut c = base("http://a:8088", &[]);
        c.extend(config(&extra));
        let e = HecConfig::parse(&c).unwrap_err().to_string();
        assert!(e.contains(key), "{key}: {e}");
    }
    let mut c = base("http://a:8088", &[]);
    c.remove("splunk.hec.token");
    assert!(HecConfig::parse(&c)
        .unwrap_err()
        .to_string()
        .contains("splunk.hec.token"));
}

#[test]
fn hec_codes_map_to_what_the_sender_does() {
    let kind = |status, body: Json| {
        hec::classify("u", status, body.to_string().as_bytes())
            .err()
            .map(|e| e.kind())
    };
    assert_eq!(kind(200, json!({"text": "Success", "code": 0})), None);
    assert_eq!(
        hec::classify("u", 200, br#"{"text":"Success","code":0,"ackId":7}"#)
            .unwrap()
            .ack_id,
        Some(7)
    );
    assert_eq!(
        kind(503, json!({"text": "Server is busy", "code": 9})),
        Some(ErrorKind::Retryable)
    );
    assert_eq!(kind(502, json!("bad gateway")), Some(ErrorKind::Retryable));
    assert_eq!(
        kind(400, json!({"text": "Invalid data format", "code": 6})),
        Some(ErrorKind::InvalidData)
    );
    assert_eq!(
        kind(400, json!({"text": "Incorrect index", "code": 7})),
        Some(ErrorKind::InvalidData)
    );
    assert_eq!(
        kind(403, json!({"text": "Invalid token", "code": 4})),
        Some(ErrorKind::Fatal)
    );
    assert_eq!(
        kind(403, json!({"text": "Token disabled", "code": 1})),
        Some(ErrorKind::Fatal)
    );
    assert_eq!(
        kind(400, json!({"text": "ACK is disabled", "code": 14})),
        Some(ErrorKind::Fatal)
    );
    let e = hec::classify(
        "u",
        400,
        br#"{"text":"Invalid data format","code":6,"invalid-event-number":3}"#,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        HecError::InvalidData {
            event_number: Some(3),
            code: 6,
            ..
        }
    ));
    assert!(
        hec::classify("u", 403, br#"{"text":"Invalid token","code":4}"#)
            .unwrap_err()
            .to_string()
            .contains("splunk.hec.token")
    );
    // Garbage never panics.
    assert!(hec::classify("u", 500, &[0xff, 0x00]).is_err());
}

#[test]
fn ack_answers_and_channel_ids() {
    let mut ids = hec::acked_ids(br#"{"acks":{"0":true,"1":false,"2":true}}"#).unwrap();
    ids.sort();
    assert_eq!(ids, vec![0, 2]);
    assert!(hec::acked_ids(b"{}").is_none());
    assert_eq!(hec::ack_request(&[1, 2]), br#"{"acks":[1,2]}"#);
    let id = hec::new_channel_id();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    assert_ne!(id, hec::new_channel_id());
}

#[test]
fn events_carry_time_metadata_and_fields() {
    let c = HecConfig::parse(&base(
        "http://a:8088",
        &[
            ("splunk.indexes", "main"),
            ("splunk.sources", "kafka"),
            ("splunk.sourcetypes", "syslog"),
            ("splunk.hec.json.event.enrichment", "env=prod,dc=eu"),
            ("splunk.hec.track.data", "true"),
            ("splunk.header.support", "true"),
            ("splunk.header.custom", "tenant"),
        ],
    ))
    .unwrap();
    let r = Renderer::new(Arc::new(c));
    let mut rec = record("logs", 2, 41, "hello \"world\"");
    rec.key = Value::string("k1");
    let mut headers = Headers::default();
    headers.add_string("splunk.header.index", "security");
    headers.add_string("splunk.header.host", "fw01");
    headers.add_string("tenant", "acme");
    rec.headers = headers;
    let mut out = Vec::new();
    assert!(r.event(&rec, &mut out).unwrap());
    let mut second = record("logs", 2, 42, "two");
    second.timestamp = None;
    assert!(r.event(&second, &mut out).unwrap());
    let events: Vec<Json> = serde_json::Deserializer::from_slice(&out)
        .into_iter::<Json>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events.len(), 2, "two objects back to back");
    let e = &events[0];
    assert_eq!(e["time"], json!(1_700_000_000.123));
    assert_eq!(e["event"], "hello \"world\"");
    assert_eq!(
        e["index"], "security",
        "the header wins over splunk.indexes"
    );
    assert_eq!(e["host"], "fw01");
    assert_eq!(e["source"], "kafka");
    assert_eq!(e["sourcetype"], "syslog");
    assert_eq!(e["fields"]["env"], "prod");
    assert_eq!(e["fields"]["dc"], "eu");
    assert_eq!(e["fields"]["tenant"], "acme");
    assert_eq!(e["fields"]["kafka_offset"], "41");
    assert_eq!(e["fields"]["kafka_partition"], "2");
    assert_eq!(e["fields"]["kafka_topic"], "logs");
    assert_eq!(e["fields"]["kafka_record_key"], "k1");
    assert_eq!(e["fields"]["kafka_timestamp"], "1700000000123");
    assert!(events[1].get("time").is_none());
    assert_eq!(events[1]["index"], "main");
}

#[test]
fn structured_values_become_json_events_and_tombstones_are_skipped() {
    let r = Renderer::new(Arc::new(
        HecConfig::parse(&base("http://a:8088", &[])).unwrap(),
    ));
    let mut rec = record("logs", 0, 0, "");
    rec.value = Value::Map(vec![
        (Value::string("user"), Value::string("root")),
        (Value::string("n"), Value::Int64(3)),
    ]);
    let mut out = Vec::new();
    assert!(r.event(&rec, &mut out).unwrap());
    let e: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(e["event"], json!({"user": "root", "n": 3}));
    rec.value = Value::Null;
    let len = out.len();
    assert!(!r.event(&rec, &mut out).unwrap());
    assert_eq!(out.len(), len);
}

#[test]
fn raw_records_get_the_line_breaker_and_query_metadata() {
    let c = HecConfig::parse(&base(
        "http://a:8088",
        &[
            ("splunk.hec.raw", "true"),
            ("splunk.hec.raw.line.breaker", "\n"),
            ("splunk.indexes", "main"),
        ],
    ))
    .unwrap();
    let r = Renderer::new(Arc::new(c));
    let mut out = Vec::new();
    r.raw(&record("logs", 0, 0, "a"), &mut out).unwrap();
    r.raw(&record("logs", 0, 1, "b"), &mut out).unwrap();
    assert_eq!(out, b"a\nb\n");
    assert_eq!(
        r.raw_meta(&record("logs", 0, 0, "a")).query(),
        vec![("index", "main")]
    );
}

#[test]
fn offsets_stop_at_the_first_outstanding_batch() {
    let tp = TopicPartition::new("logs", 0);
    let other = TopicPartition::new("logs", 1);
    let mut t = Tracker::default();
    let first = Hold {
        id: 1,
        starts: vec![(tp.clone(), 10)],
        events: 5,
        bytes: 100,
    };
    let second = Hold {
        id: 2,
        starts: vec![(tp.clone(), 15), (other.clone(), 3)],
        events: 5,
        bytes: 100,
    };
    t.hold(&first);
    t.hold(&second);
    let current: SinkOffsets = [(tp.clone(), 20), (other.clone(), 4)].into_iter().collect();
    // The second batch finishing first commits nothing past the first.
    t.done(&second, 100);
    let c = t.committable(&current);
    assert_eq!(c[&tp], 10);
    assert_eq!(c[&other], 4);
    t.done(&first, 100);
    assert_eq!(t.committable(&current)[&tp], 20);
    assert_eq!((t.events(), t.bytes()), (0, 0));
}

#[test]
fn an_old_batch_finishing_after_a_rebalance_does_not_release_the_new_one() {
    let tp = TopicPartition::new("logs", 0);
    let mut t = Tracker::default();
    let old = Hold {
        id: 1,
        starts: vec![(tp.clone(), 10)],
        events: 5,
        bytes: 0,
    };
    t.hold(&old);
    t.close(std::slice::from_ref(&tp));
    // The partition comes back and the same records are batched again.
    let new = Hold {
        id: 2,
        ..old.clone()
    };
    t.hold(&new);
    t.done(&old, 0);
    let current: SinkOffsets = [(tp.clone(), 15)].into_iter().collect();
    assert_eq!(t.committable(&current)[&tp], 10);
}

/// Records what the task reports, like the worker's dead-letter queue.
#[derive(Default)]
struct Reported(Mutex<Vec<(String, String)>>);

#[async_trait]
impl ErrantRecordReporter for Reported {
    async fn report(&self, record: &SinkRecord, error: &ConnectError) -> ConnectResult<()> {
        self.0
            .lock()
            .unwrap()
            .push((record.value.to_string(), error.to_string()));
        Ok(())
    }
}

async fn started(
    cfg: HashMap<String, String>,
    reporter: Option<Arc<dyn ErrantRecordReporter>>,
) -> SplunkHecSinkTask {
    let mut task = SplunkHecSinkTask::default();
    task.start(
        &cfg,
        SinkTaskContext {
            errant_record_reporter: reporter,
        },
    )
    .await
    .unwrap();
    task
}

async fn until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn committed(task: &mut SplunkHecSinkTask, next: i64) -> i64 {
    let current: SinkOffsets = [(TopicPartition::new("logs", 0), next)]
        .into_iter()
        .collect();
    task.pre_commit(&current).await.unwrap()[&TopicPartition::new("logs", 0)]
}

async fn wait_committed(task: &mut SplunkHecSinkTask, next: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while committed(task, next).await < next {
        assert!(Instant::now() < deadline, "offsets not committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acked_events_are_committed_only_after_their_ack() {
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            ack: true,
            ack_delay: Duration::from_millis(1500),
            ack_jitter: Duration::from_millis(300),
            ..Default::default()
        },
    )
    .await;
    let mut task = started(
        base(
            &rx.url,
            &[
                ("splunk.hec.ack.enabled", "true"),
                ("splunk.hec.ack.poll.interval", "1"),
                ("splunk.hec.max.batch.size", "7"),
            ],
        ),
        None,
    )
    .await;
    task.put(&records(50, "ev")).await.unwrap();
    until("50 events received", Duration::from_secs(10), || {
        (rx.event_count() == 50).then_some(())
    })
    .await;
    assert_eq!(
        committed(&mut task, 50).await,
        0,
        "nothing acknowledged yet"
    );
    wait_committed(&mut task, 50).await;
    let texts: Vec<String> = rx.received().iter().map(|r| r.text()).collect();
    let expected: Vec<String> = (0..50).map(|i| format!("ev-{i}")).collect();
    let mut sorted = texts.clone();
    sorted.sort();
    let mut exp_sorted = expected.clone();
    exp_sorted.sort();
    assert_eq!(sorted, exp_sorted);
    assert_eq!(
        rx.channels().len(),
        2,
        "splunk.hec.total.channels=2 are used"
    );
    task.stop().await;
}

#[tokio::test]
async fn lost_acks_are_resent_after_the_event_timeout() {
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            ack: true,
            lose_every: Some(2),
            ..Default::default()
        },
    )
    .await;
    let mut task = started(
        base(
            &rx.url,
            &[
                ("splunk.hec.ack.enabled", "true"),
                ("splunk.hec.ack.poll.interval", "1"),
                ("splunk.hec.event.timeout", "2"),
                ("splunk.hec.max.batch.size", "10"),
            ],
        ),
        None,
    )
    .await;
    task.put(&records(40, "ev")).await.unwrap();
    wait_committed(&mut task, 40).await;
    let mut texts: Vec<String> = rx.received().iter().map(|r| r.text()).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 40, "every event arrived despite lost acks");
    task.stop().await;
}

#[tokio::test]
async fn busy_hec_is_retried_with_backoff_not_in_a_loop() {
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            busy: true,
            ..Default::default()
        },
    )
    .await;
    let mut task = started(
        base(&rx.url, &[("splunk.hec.backoff.threshhold.seconds", "1")]),
        None,
    )
    .await;
    task.put(&records(20, "ev")).await.unwrap();
    let t0 = Instant::now();
    until("busy answers", Duration::from_secs(10), || {
        (rx.busy_answers() >= 2).then_some(())
    })
    .await;
    // Stay busy for 3 s: with a 0.5 s, 1 s, 1 s... backoff and 4 requests
    // in flight at most, a few dozen requests at most, not thousands.
    tokio::time::sleep_until((t0 + Duration::from_secs(3)).into()).await;
    let busy = rx.busy_answers();
    assert!(busy <= 40, "{busy} requests while busy: a retry storm");
    assert_eq!(committed(&mut task, 20).await, 0);
    rx.set(|b| b.busy = false);
    wait_committed(&mut task, 20).await;
    assert_eq!(rx.event_count(), 20);
    task.stop().await;
}

#[tokio::test]
async fn invalid_events_go_to_the_errant_record_reporter() {
    let mut behaviour = Behaviour::default();
    behaviour.indexes.insert("main".to_string());
    let rx = Receiver::start(TOKEN, behaviour).await;
    let reported = Arc::new(Reported::default());
    let mut task = started(
        base(&rx.url, &[("splunk.header.support", "true")]),
        Some(reported.clone()),
    )
    .await;
    let mut batch = records(10, "ev");
    let mut h = Headers::default();
    h.add_string("splunk.header.index", "nope");
    batch[4].headers = h;
    task.put(&batch).await.unwrap();
    wait_committed(&mut task, 10).await;
    let got = reported.0.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "ev-4");
    assert!(got[0].1.contains("code 7"), "{}", got[0].1);
    let mut texts: Vec<String> = rx.received().iter().map(|r| r.text()).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 9);
    assert!(!texts.contains(&"ev-4".to_string()));
    task.stop().await;
}

#[tokio::test]
async fn invalid_events_without_a_reporter_fail_the_task() {
    let mut behaviour = Behaviour::default();
    behaviour.indexes.insert("main".to_string());
    let rx = Receiver::start(TOKEN, behaviour).await;
    let mut task = started(base(&rx.url, &[("splunk.indexes", "other")]), None).await;
    task.put(&records(3, "ev")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let err = loop {
        match task.pre_commit(&SinkOffsets::new()).await {
            Err(e) => break e,
            Ok(_) => assert!(Instant::now() < deadline, "task did not fail"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("Incorrect index"), "{err}");
}

#[tokio::test]
async fn a_bad_or_disabled_token_fails_the_task_with_a_clear_message() {
    let rx = Receiver::start(TOKEN, Behaviour::default()).await;
    for (token, disabled, code) in [("wrong", false, "code 4"), (TOKEN, true, "code 1")] {
        rx.set(|b| b.disabled = disabled);
        let mut cfg = base(&rx.url, &[]);
        cfg.insert("splunk.hec.token".into(), token.into());
        let mut task = started(cfg, None).await;
        task.put(&records(1, "ev")).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            match task.put(&[]).await {
                Err(e) => break e,
                Ok(()) => assert!(Instant::now() < deadline, "task did not fail"),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let msg = err.to_string();
        assert!(
            msg.contains("rejected the token") && msg.contains(code),
            "{msg}"
        );
        task.stop().await;
    }
}

#[tokio::test]
async fn raw_endpoint_sends_lines_with_channel_and_metadata() {
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            ack: true,
            ..Default::default()
        },
    )
    .await;
    let mut task = started(
        base(
            &rx.url,
            &[
                ("splunk.hec.raw", "true"),
                ("splunk.hec.raw.line.breaker", "\n"),
                ("splunk.hec.ack.enabled", "true"),
                ("splunk.hec.ack.poll.interval", "1"),
                ("splunk.sourcetypes", "fw"),
                ("splunk.indexes", "main"),
            ],
        ),
        None,
    )
    .await;
    task.put(&records(30, "line")).await.unwrap();
    wait_committed(&mut task, 30).await;
    let got = rx.received();
    assert_eq!(got.len(), 30);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r.endpoint, "raw");
        assert_eq!(r.text(), format!("line-{i}"));
        assert_eq!(r.body["index"], "main");
        assert_eq!(r.body["sourcetype"], "fw");
        assert!(r.channel.is_some());
    }
    task.stop().await;
}

#[tokio::test]
async fn a_full_backlog_refuses_put_with_a_retriable_error() {
    let rx = Receiver::start(
        TOKEN,
        Behaviour {
            busy: true,
            ..Default::default()
        },
    )
    .await;
    let mut task = started(
        base(&rx.url, &[("splunk.hec.max.outstanding.events", "100")]),
        None,
    )
    .await;
    task.put(&records(100, "a")).await.unwrap();
    let err = task.put(&records(10, "b")).await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
    rx.set(|b| b.busy = false);
    // Once the backlog drains, the same records are taken.
    let deadline = Instant::now() + Duration::from_secs(20);
    while task.put(&records(10, "b")).await.is_err() {
        assert!(Instant::now() < deadline, "backlog never drained");
    }
    task.stop().await;
}

#[tokio::test]
async fn unreachable_uris_are_avoided_while_another_works() {
    let rx = Receiver::start(TOKEN, Behaviour::default()).await;
    let dead = format!("http://127.0.0.1:{}", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    let mut task = started(
        base(
            &format!("{dead},{}", rx.url),
            &[("splunk.hec.max.batch.size", "5")],
        ),
        None,
    )
    .await;
    for i in 0..10 {
        let batch: Vec<SinkRecord> = (0..5)
            .map(|j| record("logs", 0, i * 5 + j, &format!("ev-{}", i * 5 + j)))
            .collect();
        task.put(&batch).await.unwrap();
    }
    wait_committed(&mut task, 50).await;
    assert_eq!(rx.event_count(), 50);
    task.stop().await;
}

fn openssl(args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills the TLS test server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn tls_trusts_a_pem_store_and_can_skip_validation() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.crt"),
    ]);
    std::fs::write(
        p("server.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=hec",
        "-keyout",
        &p("server.key"),
        "-out",
        &p("server.csr"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.crt"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &p("server.ext"),
        "-out",
        &p("server.crt"),
    ]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `openssl s_server -www` answers any `GET /...` with 200: enough for
    // the health check, which is all this test sends.
    let _server = Child(
        std::process::Command::new("openssl")
            .args([
                "s_server",
                "-quiet",
                "-accept",
                &port.to_string(),
                "-cert",
                &p("server.crt"),
                "-key",
                &p("server.key"),
                "-www",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server starts"),
    );
    until("tls server listening", Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| ())
    })
    .await;
    let uri = format!("https://127.0.0.1:{port}");
    let healthy = |extra: &[(&str, &str)]| {
        let cfg = HecConfig::parse(&base(&uri, extra)).unwrap();
        async move {
            crate::client::HecClient::new(&cfg)
                .unwrap()
                .check_health(0)
                .await
        }
    };
    assert!(!healthy(&[]).await, "an unknown CA is refused");
    assert!(
        healthy(&[
            ("splunk.hec.ssl.trust.store.path", &p("ca.crt")),
            ("splunk.hec.ssl.trust.store.type", "PEM"),
        ])
        .await,
        "the PEM trust store is used"
    );
    assert!(healthy(&[("splunk.hec.ssl.validate.certs", "false")]).await);
}

#[tokio::test]
async fn a_passed_health_check_reopens_a_backing_off_uri() {
    let rx = Receiver::start(TOKEN, Behaviour::default()).await;
    let cfg = HecConfig::parse(&base(&rx.url, &[])).unwrap();
    let client = crate::client::HecClient::new(&cfg).unwrap();
    client.endpoints[0].fail(Duration::from_secs(60));
    assert!(client.endpoints[0].ready_at() > Instant::now());
    rx.set(|b| b.busy = true);
    assert!(!client.check_health(0).await, "busy HEC is unhealthy");
    assert!(client.endpoints[0].ready_at() > Instant::now());
    rx.set(|b| b.busy = false);
    assert!(client.check_health(0).await);
    assert!(client.endpoints[0].ready_at() <= Instant::now());
}

#[test]
fn formatted_events_are_sent_as_they_are() {
    let c = HecConfig::parse(&base(
        "http://a:8088",
        &[("splunk.hec.json.event.formatted", "true")],
    ))
    .unwrap();
    let r = Renderer::new(Arc::new(c));
    let mut out = Vec::new();
    let envelope = r#"{"event":"x","sourcetype":"custom","time":1.5}"#;
    assert!(r.event(&record("logs", 0, 0, envelope), &mut out).unwrap());
    assert_eq!(out, envelope.as_bytes());
    // A value that is not an envelope still becomes one.
    out.clear();
    assert!(r.event(&record("logs", 0, 1, "plain"), &mut out).unwrap());
    let e: Json = serde_json::from_slice(&out).unwrap();
    assert_eq!(e["event"], "plain");
}

#[test]
fn validate_reports_cross_key_errors_on_their_key() {
    use rampart_core::connector::Connector;
    let def = crate::config::def();
    let cfg = base(
        "http://a:8088",
        &[("topics", "a,b,c"), ("splunk.sourcetypes", "x,y")],
    );
    let values = crate::SplunkSinkConnector::default().validate(&def, &cfg);
    let st = values
        .iter()
        .find(|v| v.name == "splunk.sourcetypes")
        .unwrap();
    assert_eq!(st.errors.len(), 1, "{values:?}");
    let others: usize = values
        .iter()
        .filter(|v| v.name != "splunk.sourcetypes")
        .map(|v| v.errors.len())
        .sum();
    assert_eq!(others, 0);
}

#[test]
fn settings_rampart_cannot_honour_are_refused_on_their_key_unless_default() {
    use rampart_core::connector::Connector;
    let def = crate::config::def();
    for (key, value) in [
        ("enable.timestamp.extraction", "true"),
        ("kerberos.user.principal", "connect@EXAMPLE.COM"),
        ("kerberos.keytab.path", "/etc/connect.keytab"),
        ("splunk.hec.concurrent.queue.capacity", "200"),
    ] {
        let cfg = base("http://a:8088", &[(key, value)]);
        let values = crate::SplunkSinkConnector::default().validate(&def, &cfg);
        let v = values.iter().find(|v| v.name == key).unwrap();
        assert_eq!(v.errors.len(), 1, "{key}: {values:?}");
        assert!(
            v.errors[0].contains("not supported") || v.errors[0].contains("max.outstanding"),
            "{:?}",
            v.errors
        );
    }
    // Every other key of the Java connector has a definition saying what
    // it does here: none is taken and dropped.
    let java_keys = [
        ("splunk.flush.window", "5"),
        ("splunk.validation.disable", "true"),
        ("splunk.hec.ssl.trust.store.password", "changeit"),
        ("timestamp.regex", "(?<time>\\d+)"),
        ("timestamp.format", "epoch"),
        ("timestamp.timezone", "UTC"),
        ("splunk.hec.concurrent.queue.capacity", "100"),
    ];
    for (key, _) in java_keys {
        let k = def.key(key).unwrap_or_else(|| panic!("{key} is defined"));
        assert!(!k.documentation.is_empty(), "{key} says what it does");
    }
    let cfg = base("http://a:8088", &java_keys);
    let values = crate::SplunkSinkConnector::default().validate(&def, &cfg);
    assert!(values.iter().all(|v| v.errors.is_empty()), "{values:?}");
    let spelled_out = base(
        "http://a:8088",
        &[
            ("enable.timestamp.extraction", "false"),
            ("kerberos.user.principal", ""),
        ],
    );
    let values = crate::SplunkSinkConnector::default().validate(&def, &spelled_out);
    assert!(values.iter().all(|v| v.errors.is_empty()), "{values:?}");
}

// A HEC that answers events and ack polls with `status`, then `head`, `pad`
// bytes of `x` and `tail`, streamed, so a huge answer costs the test no
// memory.
async fn padded_hec(status: u16, head: &'static str, pad: usize, tail: &'static str) -> String {
    use axum::body::{Body, Bytes};
    use axum::http::StatusCode;
    use axum::response::Response;
    use axum::routing::post;

    let answer = move || async move {
        let chunk = Bytes::from(vec![b'x'; 16 << 10]);
        let pads = std::iter::repeat_n(chunk, pad / (16 << 10));
        let parts = std::iter::once(Bytes::from_static(head.as_bytes()))
            .chain(pads)
            .chain(std::iter::once(Bytes::from_static(tail.as_bytes())))
            .map(Ok::<_, std::convert::Infallible>);
        let mut resp = Response::new(Body::from_stream(futures::stream::iter(parts)));
        *resp.status_mut() = StatusCode::from_u16(status).unwrap();
        resp
    };
    let app = axum::Router::new()
        .route(hec::EVENT_PATH, post(answer))
        .route(hec::ACK_PATH, post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn capped_client(url: &str) -> crate::client::HecClient {
    let cfg = HecConfig::parse(&base(url, &[])).unwrap();
    crate::client::HecClient::new(&cfg)
        .unwrap()
        .with_max_response_bytes(8 << 10)
}

fn event() -> bytes::Bytes {
    bytes::Bytes::from_static(br#"{"event":"e"}"#)
}

#[tokio::test]
async fn event_answers_over_the_cap_fail_instead_of_being_read_whole() {
    // Read whole, this is an accepted request with ack id 7.
    let head = r#"{"text":"Success","code":0,"ackId":7,"pad":""#;
    let big = capped_client(&padded_hec(200, head, 1 << 20, r#""}"#).await);
    let e = big.post(0, big.encode(&event()), None).await.unwrap_err();
    assert!(
        matches!(e, HecError::TooLarge { status: 200, limit, .. } if limit == 8 << 10),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Retryable, "sent again, never lost");
    assert!(
        e.to_string()
            .contains("answered a body over 8 KiB; refusing to read more"),
        "{e}"
    );
    let small = capped_client(&padded_hec(200, head, 4 << 10, r#""}"#).await);
    assert_eq!(
        small
            .post(0, small.encode(&event()), None)
            .await
            .unwrap()
            .ack_id,
        Some(7)
    );
}

#[tokio::test]
async fn ack_answers_over_the_cap_fail_instead_of_being_read_whole() {
    // Read whole, this acknowledges id 7.
    let head = r#"{"acks":{"7":true},"pad":""#;
    let big = capped_client(&padded_hec(200, head, 1 << 20, r#""}"#).await);
    let e = big.poll_acks(0, &[7]).await.unwrap_err();
    assert!(matches!(e, HecError::TooLarge { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Retryable);
    let small = capped_client(&padded_hec(200, head, 4 << 10, r#""}"#).await);
    assert_eq!(small.poll_acks(0, &[7]).await.unwrap(), vec![7]);
    // A poll for many ids may get a bigger answer: 32 bytes more per id.
    let ids: Vec<u64> = (0..1024).collect();
    let fits = capped_client(&padded_hec(200, head, 32 << 10, r#""}"#).await);
    assert_eq!(fits.poll_acks(0, &ids).await.unwrap(), vec![7]);
    let e = fits.poll_acks(0, &[7]).await.unwrap_err();
    assert!(matches!(e, HecError::TooLarge { .. }), "{e:?}");
}

#[tokio::test]
async fn hec_error_statuses_over_the_cap_keep_their_classification() {
    // As for an answer without a HEC code: 4xx refused, 5xx retried.
    let refused = capped_client(&padded_hec(400, "", 1 << 20, "").await);
    let e = refused
        .post(0, refused.encode(&event()), None)
        .await
        .unwrap_err();
    assert!(matches!(e, HecError::TooLarge { status: 400, .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Fatal);
    let busy = capped_client(&padded_hec(503, "", 1 << 20, "").await);
    let e = busy.post(0, busy.encode(&event()), None).await.unwrap_err();
    assert!(matches!(e, HecError::TooLarge { status: 503, .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Retryable);
}

#[test]
fn enable_compression_is_a_defined_key_not_an_ignored_one() {
    let key = crate::config::ENABLE_COMPRESSION;
    let def = crate::config::def();
    let k = def
        .key(key)
        .expect("splunk.hec.enable.compression is defined");
    assert_eq!(k.ty, rampart_core::config::ConfigType::Boolean);
    assert_eq!(k.default.as_deref(), Some("false"));
    assert!(
        !HecConfig::parse(&base("http://a:8088", &[]))
            .unwrap()
            .compression
    );
    assert!(
        HecConfig::parse(&base("http://a:8088", &[(key, "true")]))
            .unwrap()
            .compression
    );
}

// One request as a HEC saw it on the wire, before any decoding.
#[derive(Debug, Clone)]
struct Wire {
    path: String,
    encoding: Option<String>,
    body: Vec<u8>,
}

// A HEC that keeps every event, raw and ack request as it arrived and
// acknowledges ack id 0.
async fn recording_hec() -> (String, Arc<Mutex<Vec<Wire>>>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Uri};
    use axum::routing::post;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    let answer = move |uri: Uri, headers: HeaderMap, body: Bytes| {
        let keep = keep.clone();
        async move {
            keep.lock().unwrap().push(Wire {
                path: uri.path().to_string(),
                encoding: headers
                    .get("content-encoding")
                    .map(|v| v.to_str().unwrap().to_string()),
                body: body.to_vec(),
            });
            if uri.path() == hec::ACK_PATH {
                axum::Json(json!({"acks": {"0": true}}))
            } else {
                axum::Json(json!({"text": "Success", "code": 0, "ackId": 0}))
            }
        }
    };
    let app = axum::Router::new()
        .route(hec::EVENT_PATH, post(answer.clone()))
        .route(hec::RAW_PATH, post(answer.clone()))
        .route(hec::ACK_PATH, post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("the body is gzip");
    out
}

#[tokio::test]
async fn enable_compression_gzips_event_and_raw_bodies_but_not_ack_polls() {
    let events = br#"{"event":"a","time":1}{"event":"b","time":2}"#;
    for raw in ["false", "true"] {
        let (url, seen) = recording_hec().await;
        let cfg = HecConfig::parse(&base(
            &url,
            &[
                ("splunk.hec.enable.compression", "true"),
                ("splunk.hec.raw", raw),
            ],
        ))
        .unwrap();
        let client = crate::client::HecClient::new(&cfg).unwrap();
        let body = bytes::Bytes::from_static(events);
        client.post(0, client.encode(&body), None).await.unwrap();
        assert_eq!(client.poll_acks(0, &[0]).await.unwrap(), vec![0]);

        let seen = seen.lock().unwrap().clone();
        let [sent, poll] = &seen[..] else {
            panic!("one post and one ack poll, got {seen:?}")
        };
        let path = if raw == "true" {
            hec::RAW_PATH
        } else {
            hec::EVENT_PATH
        };
        assert_eq!(sent.path, path);
        assert_eq!(sent.encoding.as_deref(), Some("gzip"), "raw={raw}");
        assert_ne!(sent.body, events, "raw={raw}: the body went uncompressed");
        assert_eq!(gunzip(&sent.body), events, "raw={raw}");
        // As the Java connector's HecAckPoller: ack polls stay plain JSON.
        assert_eq!(poll.path, hec::ACK_PATH);
        assert_eq!(poll.encoding, None);
        assert_eq!(poll.body, hec::ack_request(&[0]));
    }
}

#[tokio::test]
async fn without_compression_bodies_are_sent_plain() {
    let (url, seen) = recording_hec().await;
    let client =
        crate::client::HecClient::new(&HecConfig::parse(&base(&url, &[])).unwrap()).unwrap();
    client.post(0, client.encode(&event()), None).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].encoding, None);
    assert_eq!(seen[0].body, &event()[..]);
}

// End to end through the task and the shared receiver, which decodes gzip
// as Splunk does: acknowledged, committed and the same events as sent.
#[tokio::test]
async fn compressed_events_arrive_whole_and_are_acknowledged() {
    for (raw, compression) in [("false", "true"), ("true", "true"), ("false", "false")] {
        let rx = Receiver::start(
            TOKEN,
            Behaviour {
                ack: true,
                ..Default::default()
            },
        )
        .await;
        let mut task = started(
            base(
                &rx.url,
                &[
                    ("splunk.hec.enable.compression", compression),
                    ("splunk.hec.raw", raw),
                    ("splunk.hec.raw.line.breaker", "\n"),
                    ("splunk.hec.ack.enabled", "true"),
                    ("splunk.hec.ack.poll.interval", "1"),
                    ("splunk.hec.max.batch.size", "7"),
                ],
            ),
            None,
        )
        .await;
        task.put(&records(30, "gz")).await.unwrap();
        wait_committed(&mut task, 30).await;
        let mut texts: Vec<String> = rx.received().iter().map(|r| r.text()).collect();
        texts.sort();
        let mut expected: Vec<String> = (0..30).map(|i| format!("gz-{i}")).collect();
        expected.sort();
        let what = format!("raw={raw} compression={compression}");
        assert_eq!(texts, expected, "{what}");
        assert!(rx.requests() >= 5, "{what}: 30 events in batches of 7");
        let gzipped = if compression == "true" {
            rx.requests()
        } else {
            0
        };
        assert_eq!(rx.gzip_requests(), gzipped, "{what}");
        task.stop().await;
    }
}
