//! The Elasticsearch sink end to end: records produced to the real broker,
//! the `rampart` binary, and two kinds of Elasticsearch:
//!
//! - osmem-server (third-party, OpenSearch-compatible, started by
//!   `scripts/osmem`, which `scripts/test` runs): index, then search back;
//!   SIGKILL and restart; real 400 `mapper_parsing_exception`s; upsert and
//!   deletes.
//! - a fault-injecting TEST SERVER in this process (axum), written from
//!   Elasticsearch's documented `_bulk` responses, for what osmem cannot do:
//!   per-item 429 `es_rejected_execution_exception`, whole-request 503s,
//!   slow answers, connections cut mid-response, and data streams.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use serde_json::{json, Value};

use crate::errors_dlq::read_topic;
use crate::support::{
    bootstrap, committed_sum, eventually, free_port, json as read_json, unique, wait_for,
    worker_properties, WorkerProcess,
};

const CLASS: &str = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector";

pub(crate) fn osmem_url() -> String {
    std::env::var("RAMPART_OSMEM_URL").unwrap_or_else(|_| "http://127.0.0.1:19201".to_string())
}

/// Fails with a clear message when osmem-server is not running.
pub(crate) async fn require_osmem() -> reqwest::Client {
    let client = reqwest::Client::new();
    let ok = client
        .get(osmem_url())
        .send()
        .await
        .is_ok_and(|r| r.status().is_success());
    assert!(
        ok,
        "osmem-server is not answering on {}: start it with `scripts/osmem start` (scripts/test does)",
        osmem_url()
    );
    client
}

/// Produces (key, value) pairs to partition 0; `None` is a null key or a
/// tombstone.
async fn produce(topic: &str, records: &[(Option<String>, Option<String>)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap())
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .expect("producer");
    let mut pending = Vec::with_capacity(records.len());
    for (key, value) in records {
        let mut rec: FutureRecord<'_, str, str> = FutureRecord::to(topic).partition(0);
        if let Some(k) = key {
            rec = rec.key(k.as_str());
        }
        if let Some(v) = value {
            rec = rec.payload(v.as_str());
        }
        pending.push(producer.send(rec, Duration::from_secs(30)));
    }
    for p in pending {
        p.await.expect("produced");
    }
}

fn event(i: usize) -> String {
    json!({"seq": i, "host": "fw01", "message": format!("Failed password for invalid user admin from 203.0.113.{} port 22 ssh2", i % 250)}).to_string()
}

fn connector_file(dir: &Path, name: &str, config: &[(&str, &str)]) -> PathBuf {
    let mut text = format!("name={name}\nconnector.class={CLASS}\ntasks.max=1\n");
    for (k, v) in config {
        text.push_str(&format!("{k}={v}\n"));
    }
    let path = dir.join(format!("{name}.properties"));
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

async fn count(client: &reqwest::Client, index: &str) -> Option<u64> {
    let resp = client
        .get(format!("{}/{index}/_count", osmem_url()))
        .send()
        .await
        .ok()?;
    let (_, body) = read_json(resp).await;
    body["count"].as_u64()
}

async fn search(client: &reqwest::Client, index: &str, query: Value) -> Value {
    let resp = client
        .post(format!("{}/{index}/_search", osmem_url()))
        .json(&query)
        .send()
        .await
        .expect("osmem answers");
    read_json(resp).await.1
}

async fn wait_committed(client: &reqwest::Client, url: &str, name: &str, want: i64) {
    eventually(
        &format!("{name} commits offset {want}"),
        // Generous: the fault test's retries back off exponentially, and CI
        // machines are shared.
        Duration::from_secs(120),
        || async move { (committed_sum(client, url, name).await == Some(want)).then_some(()) },
    )
    .await;
}

fn task_state(status: &Value) -> &str {
    status["tasks"][0]["state"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn indexes_into_osmem_and_survives_a_sigkill_without_loss_or_duplicates() {
    const TOTAL: usize = 9000;
    let client = require_osmem().await;
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("es-crash");
    // A router names the index, as daily indices do; offsets must still be
    // committed against the consumed topic.
    let index = format!("{}-2024.01.31", topic.to_lowercase());
    let records: Vec<_> = (0..TOTAL).map(|i| (None, Some(event(i)))).collect();
    produce(&topic, &records[..TOTAL / 3]).await;

    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let config = [
        ("topics", topic.as_str()),
        ("connection.url", &osmem_url()),
        ("key.ignore", "true"),
        ("schema.ignore", "true"),
        ("connection.compression", "true"),
        ("batch.size", "500"),
        ("transforms", "day"),
        (
            "transforms.day.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.day.regex", "(.*)"),
        ("transforms.day.replacement", "$1-2024.01.31"),
    ];
    let file = connector_file(dir.path(), "es-crash", &config);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, std::slice::from_ref(&file));
    worker.wait_healthy().await;
    let first = eventually(
        "some documents indexed",
        Duration::from_secs(60),
        || async { count(&client, &index).await.filter(|n| *n > 0) },
    )
    .await;
    produce(&topic, &records[TOTAL / 3..]).await;
    worker.kill9();
    let after_kill = count(&client, &index).await.unwrap_or(0);
    assert!(after_kill >= first);

    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    wait_committed(&client, &worker.url, "es-crash", TOTAL as i64).await;
    assert_eq!(
        count(&client, &index).await,
        Some(TOTAL as u64),
        "no missing and no extra documents"
    );

    // Every sequence number exactly once, searched back in two pages.
    let mut seen = HashSet::new();
    for (lo, hi) in [(0, TOTAL / 2), (TOTAL / 2, TOTAL)] {
        let body = search(
            &client,
            &index,
            json!({"size": 10000, "query": {"range": {"seq": {"gte": lo, "lt": hi}}}}),
        )
        .await;
        for hit in body["hits"]["hits"].as_array().expect("hits") {
            let seq = hit["_source"]["seq"].as_u64().expect("seq");
            assert_eq!(
                hit["_id"],
                format!("{index}+0+{seq}"),
                "id is topic+partition+offset"
            );
            assert!(seen.insert(seq), "duplicate document for seq {seq}");
        }
    }
    assert_eq!(seen.len(), TOTAL);
    let hits = search(
        &client,
        &index,
        json!({"query": {"match": {"message": "203.0.113.7"}}}),
    )
    .await;
    assert!(
        hits["hits"]["total"]["value"].as_u64().unwrap_or(0) > 0,
        "{hits}"
    );
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_documents_follow_the_configured_behaviour() {
    let client = require_osmem().await;
    let dir = tempfile::tempdir().unwrap();
    let base = unique("es-malformed");
    let behaviours = ["ignore", "warn", "fail", "dlq"];
    let mut files = Vec::new();
    for b in behaviours {
        let topic = format!("{base}-{b}");
        // The mapping makes `n` a long, so a word in it is a real 400
        // mapper_parsing_exception from osmem.
        let resp = client
            .put(format!("{}/{topic}", osmem_url()))
            .json(&json!({"mappings": {"properties": {"n": {"type": "long"}}}}))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.text().await.unwrap());
        produce(
            &topic,
            &[
                (Some("a".into()), Some(r#"{"n":1}"#.into())),
                (Some("b".into()), Some(r#"{"n":"not a number"}"#.into())),
                (Some("c".into()), Some(r#"{"n":3}"#.into())),
            ],
        )
        .await;
        let dlq = format!("{topic}-dlq");
        let mut config = vec![
            ("topics", topic.clone()),
            ("connection.url", osmem_url()),
            (
                "behavior.on.malformed.documents",
                if b == "dlq" {
                    "fail".into()
                } else {
                    b.to_string()
                },
            ),
        ];
        if b == "dlq" {
            config.extend([
                ("errors.tolerance", "all".to_string()),
                ("errors.deadletterqueue.topic.name", dlq),
                (
                    "errors.deadletterqueue.topic.replication.factor",
                    "1".into(),
                ),
                (
                    "errors.deadletterqueue.context.headers.enable",
                    "true".into(),
                ),
            ]);
        }
        let config: Vec<(&str, &str)> = config.iter().map(|(k, v)| (*k, v.as_str())).collect();
        files.push(connector_file(dir.path(), &format!("es-{b}"), &config));
    }
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
    worker.wait_healthy().await;
    let url = worker.url.clone();
    let http = reqwest::Client::new();

    for b in ["ignore", "warn", "dlq"] {
        let topic = format!("{base}-{b}");
        wait_committed(&http, &url, &format!("es-{b}"), 3).await;
        assert_eq!(
            count(&client, &topic).await,
            Some(2),
            "{b}: the good documents are indexed"
        );
        let s = wait_for(&http, &url, &format!("es-{b}"), |s| {
            !task_state(s).is_empty()
        })
        .await;
        assert_eq!(task_state(&s), "RUNNING", "{b}: {s}");
    }
    let failed = wait_for(&http, &url, "es-fail", |s| task_state(s) == "FAILED").await;
    let trace = failed["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(trace.contains("mapper_parsing_exception"), "{trace}");
    assert_ne!(
        committed_sum(&http, &url, "es-fail").await,
        Some(3),
        "the rejected record is not committed"
    );
    assert!(worker.log_text().contains("ignoring malformed document"));

    let dead = read_topic(&format!("{base}-dlq-dlq"), 1);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0, "b");
    assert_eq!(dead[0].1, r#"{"n":"not a number"}"#);
    let reason = &dead[0].2["__connect.errors.exception.message"];
    assert!(reason.contains("mapper_parsing_exception"), "{reason}");
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn upserts_merge_and_tombstones_delete() {
    let client = require_osmem().await;
    let dir = tempfile::tempdir().unwrap();
    let upsert = unique("es-upsert");
    let insert = unique("es-insert");
    let kv = |k: &str, v: Option<&str>| (Some(k.to_string()), v.map(str::to_string));
    produce(
        &upsert,
        &[
            kv("k1", Some(r#"{"a":1}"#)),
            kv("k2", Some(r#"{"a":2}"#)),
            kv("k1", Some(r#"{"b":5}"#)),
            kv("k2", None),
            kv("k3", Some(r#"{"a":3}"#)),
        ],
    )
    .await;
    produce(
        &insert,
        &[
            kv("k1", Some(r#"{"a":1}"#)),
            kv("k1", Some(r#"{"b":5}"#)),
            kv("k2", Some(r#"{"a":2}"#)),
            kv("k2", None),
            // A tombstone for a document that never existed: 404, done.
            kv("k9", None),
        ],
    )
    .await;
    let files = [
        connector_file(
            dir.path(),
            "es-upsert",
            &[
                ("topics", &upsert),
                ("connection.url", &osmem_url()),
                ("write.method", "upsert"),
                ("behavior.on.null.values", "delete"),
            ],
        ),
        connector_file(
            dir.path(),
            "es-insert",
            &[
                ("topics", &insert),
                ("connection.url", &osmem_url()),
                ("behavior.on.null.values", "delete"),
            ],
        ),
    ];
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
    worker.wait_healthy().await;
    let http = reqwest::Client::new();
    wait_committed(&http, &worker.url, "es-upsert", 5).await;
    wait_committed(&http, &worker.url, "es-insert", 5).await;

    let doc = |index: String, id: &'static str| {
        let client = client.clone();
        async move {
            let resp = client
                .get(format!("{}/{index}/_doc/{id}", osmem_url()))
                .send()
                .await
                .unwrap();
            read_json(resp).await.1
        }
    };
    let k1 = doc(upsert.to_lowercase(), "k1").await;
    assert_eq!(
        k1["_source"],
        json!({"a": 1, "b": 5}),
        "upsert merges: {k1}"
    );
    assert_eq!(doc(upsert.to_lowercase(), "k2").await["found"], false);
    assert_eq!(
        doc(upsert.to_lowercase(), "k3").await["_source"],
        json!({"a": 3})
    );
    let k1 = doc(insert.to_lowercase(), "k1").await;
    assert_eq!(k1["_source"], json!({"b": 5}), "insert replaces: {k1}");
    assert_eq!(doc(insert.to_lowercase(), "k2").await["found"], false);
    assert_eq!(count(&client, &insert.to_lowercase()).await, Some(1));
    worker.terminate();
}

#[tokio::test(flavor = "multi_thread")]
async fn schemas_create_the_index_mapping() {
    let client = require_osmem().await;
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("es-schema");
    let schema = json!({"type": "struct", "optional": false, "fields": [
        {"field": "n", "type": "int64", "optional": false},
        {"field": "when", "type": "int64", "optional": false, "name": "org.apache.kafka.connect.data.Timestamp", "version": 1},
        {"field": "host", "type": "string", "optional": true}
    ]});
    let records: Vec<_> = (0..3)
        .map(|i| {
            let v = json!({"schema": schema, "payload": {"n": i, "when": 1_706_695_200_000i64 + i, "host": "fw01"}});
            (Some(format!("k{i}")), Some(v.to_string()))
        })
        .collect();
    produce(&topic, &records).await;
    let file = connector_file(
        dir.path(),
        "es-schema",
        &[
            ("topics", &topic),
            ("connection.url", &osmem_url()),
            (
                "value.converter",
                "org.apache.kafka.connect.json.JsonConverter",
            ),
            ("value.converter.schemas.enable", "true"),
        ],
    );
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let http = reqwest::Client::new();
    wait_committed(&http, &worker.url, "es-schema", 3).await;
    let index = topic.to_lowercase();
    assert_eq!(count(&client, &index).await, Some(3));
    let resp = client
        .get(format!("{}/{index}/_mapping", osmem_url()))
        .send()
        .await
        .unwrap();
    let (_, mapping) = read_json(resp).await;
    let props = &mapping[&index]["mappings"]["properties"];
    assert_eq!(props["n"]["type"], "long", "{mapping}");
    assert_eq!(props["when"]["type"], "date", "{mapping}");
    assert_eq!(props["host"]["type"], "text", "{mapping}");
    worker.terminate();
}

/// Faults the test server injects, as probabilities per request or item.
#[derive(Clone, Copy, Default)]
struct Faults {
    /// Whole request answered 503.
    unavailable: f64,
    /// Answer after 200 ms.
    slow: f64,
    /// Items applied, then the connection is cut mid-response.
    reset: f64,
    /// An item answered 429 `es_rejected_execution_exception`.
    rejected: f64,
}

#[derive(Default)]
struct Counters {
    unavailable: u64,
    slow: u64,
    reset: u64,
    rejected: u64,
    conflicts: u64,
}

#[derive(Default)]
struct Store {
    /// (index, id) → (document, version).
    docs: HashMap<(String, String), (Value, i64)>,
    /// How many times each (index, id) was created.
    creates: HashMap<(String, String), u32>,
    counters: Counters,
    authorization: HashSet<String>,
    queries: HashSet<String>,
}

#[derive(Clone)]
struct TestServer {
    faults: Faults,
    store: Arc<Mutex<Store>>,
}

/// A TEST SERVER answering `GET /` and `POST /_bulk` as Elasticsearch 8
/// documents them, with injected faults. Data streams (`logs-*`,
/// `metrics-*`) take only `create` and need `@timestamp`.
async fn start_test_server(faults: Faults) -> (String, Arc<Mutex<Store>>) {
    let server = TestServer {
        faults,
        store: Arc::default(),
    };
    let store = server.store.clone();
    let app = Router::new()
        .route("/", get(banner))
        .route("/_bulk", post(bulk))
        .with_state(server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), store)
}

async fn banner() -> Json<Value> {
    Json(json!({
        "name": "test-server", "cluster_name": "test", "cluster_uuid": "test",
        "version": {"number": "8.15.0", "build_flavor": "default", "lucene_version": "9.11.1"},
        "tagline": "You Know, for Search"
    }))
}

fn item(op: &str, index: &str, id: &str, status: u16, error: Option<(&str, &str)>) -> Value {
    let mut body = json!({"_index": index, "_id": id, "status": status});
    match error {
        Some((kind, reason)) => {
            body["error"] = json!({"type": kind, "reason": reason, "index": index});
        }
        None => {
            body["result"] = json!(if status == 201 { "created" } else { "updated" });
            body["_version"] = json!(1);
        }
    }
    json!({ op: body })
}

async fn bulk(
    State(server): State<TestServer>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = server.faults;
    {
        let mut st = server.store.lock().unwrap();
        if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
            st.authorization.insert(a.to_string());
        }
        if let Some(q) = query {
            st.queries.insert(q);
        }
        if fastrand::f64() < f.unavailable {
            st.counters.unavailable += 1;
            let body = json!({"error": {"type": "unavailable_shards_exception", "reason": "test server: injected 503"}, "status": 503});
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
        }
    }
    if fastrand::f64() < f.slow {
        server.store.lock().unwrap().counters.slow += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let mut items = Vec::new();
    let mut errors = false;
    let mut st = server.store.lock().unwrap();
    while let Some(action) = lines.next() {
        let action: Value = serde_json::from_str(action).expect("action line is JSON");
        let (op, meta) = action.as_object().unwrap().iter().next().unwrap();
        let index = meta["_index"].as_str().unwrap().to_string();
        let id = meta["_id"].as_str().unwrap_or("auto").to_string();
        let source: Option<Value> = if op == "delete" {
            None
        } else {
            Some(serde_json::from_str(lines.next().expect("source line")).expect("source is JSON"))
        };
        if fastrand::f64() < f.rejected {
            st.counters.rejected += 1;
            errors = true;
            items.push(item(
                op,
                &index,
                &id,
                429,
                Some((
                    "es_rejected_execution_exception",
                    "rejected execution of coordinating operation [test server]",
                )),
            ));
            continue;
        }
        let key = (index.clone(), id.clone());
        let data_stream = index.starts_with("logs-") || index.starts_with("metrics-");
        let result = match op.as_str() {
            _ if data_stream && op != "create" => Err((
                400,
                "illegal_argument_exception",
                "only write ops with an op_type of create are allowed in data streams",
            )),
            _ if data_stream
                && source
                    .as_ref()
                    .is_some_and(|s| s.get("@timestamp").is_none()) =>
            {
                Err((
                    400,
                    "document_parsing_exception",
                    "data stream timestamp field [@timestamp] is missing",
                ))
            }
            "create" if st.docs.contains_key(&key) => Err((
                409,
                "version_conflict_engine_exception",
                "document already exists",
            )),
            "create" => {
                *st.creates.entry(key.clone()).or_default() += 1;
                st.docs.insert(key, (source.unwrap_or_default(), 1));
                Ok(201)
            }
            "index" => {
                let version = meta.get("version").and_then(Value::as_i64);
                match (version, st.docs.get(&key)) {
                    (Some(v), Some((_, cur))) if *cur >= v => Err((
                        409,
                        "version_conflict_engine_exception",
                        "version conflict, current version is higher or equal to the one provided",
                    )),
                    (_, existing) => {
                        let status = if existing.is_some() { 200 } else { 201 };
                        st.docs
                            .insert(key, (source.unwrap_or_default(), version.unwrap_or(1)));
                        Ok(status)
                    }
                }
            }
            "delete" => match st.docs.remove(&key) {
                Some(_) => Ok(200),
                None => Err((404, "", "")),
            },
            _ => Err((
                400,
                "illegal_argument_exception",
                "test server: unsupported op",
            )),
        };
        match result {
            Ok(status) => items.push(item(op, &index, &id, status, None)),
            Err((404, _, _)) => {
                errors = true;
                items.push(json!({ op.as_str(): {"_index": index, "_id": id, "status": 404, "result": "not_found"} }));
            }
            Err((status, kind, reason)) => {
                if status == 409 {
                    st.counters.conflicts += 1;
                }
                errors = true;
                items.push(item(op, &index, &id, status, Some((kind, reason))));
            }
        }
    }
    let body = serde_json::to_vec(&json!({"took": 1, "errors": errors, "items": items})).unwrap();
    if fastrand::f64() < f.reset {
        // The items were applied, but the client never learns it: the
        // connection is cut halfway through the response body.
        st.counters.reset += 1;
        let half = body[..body.len() / 2].to_vec();
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::other("test server: connection cut")),
        ];
        return Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("content-length", body.len().to_string())
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap();
    }
    ([("content-type", "application/json")], body).into_response()
}

#[tokio::test(flavor = "multi_thread")]
async fn test_server_429s_503s_slow_answers_and_cut_connections_lose_and_duplicate_nothing() {
    const TOTAL: usize = 3000;
    let faults = Faults {
        unavailable: 0.1,
        slow: 0.1,
        reset: 0.1,
        rejected: 0.2,
    };
    let (es, store) = start_test_server(faults).await;
    let dir = tempfile::tempdir().unwrap();
    let indexed = unique("es-faults");
    let streamed = unique("es-stream");
    let records: Vec<_> = (0..TOTAL).map(|i| (None, Some(event(i)))).collect();
    produce(&indexed, &records).await;
    produce(&streamed, &records).await;
    // A node that refuses connections comes first: requests fail over to
    // the live one.
    let urls = format!("http://127.0.0.1:{},{es}", free_port());
    let common = [
        ("connection.url", urls.as_str()),
        ("key.ignore", "true"),
        ("batch.size", "100"),
        ("max.retries", "100"),
        ("retry.backoff.ms", "5"),
    ];
    let mut a = common.to_vec();
    a.extend([
        ("topics", indexed.as_str()),
        ("connection.username", "elastic"),
        ("connection.password", "changeme"),
    ]);
    let mut b = common.to_vec();
    b.extend([
        ("topics", streamed.as_str()),
        ("data.stream.type", "logs"),
        ("data.stream.dataset", "fw"),
        ("pipeline", "geoip"),
        (
            "connection.api.key",
            "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
        ),
    ]);
    let files = [
        connector_file(dir.path(), "es-faults", &a),
        connector_file(dir.path(), "es-stream", &b),
    ];
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &files);
    worker.wait_healthy().await;
    let http = reqwest::Client::new();
    wait_committed(&http, &worker.url, "es-faults", TOTAL as i64).await;
    wait_committed(&http, &worker.url, "es-stream", TOTAL as i64).await;

    let index = indexed.to_lowercase();
    let stream = format!("logs-fw-{}", streamed.to_lowercase());
    check_store(&store.lock().unwrap(), &index, &stream, TOTAL);
    for name in ["es-faults", "es-stream"] {
        let s = wait_for(&http, &worker.url, name, |s| !task_state(s).is_empty()).await;
        assert_eq!(task_state(&s), "RUNNING", "{s}");
        // The 503s, resets and 429s were retried, and /metrics says so.
        let retries = crate::support::metric(
            &http,
            &worker.url,
            "rampart_connector_task_sink_request_retries_total",
            name,
        )
        .await;
        assert!(
            retries.is_some_and(|r| r > 0),
            "{name}: {retries:?} retries"
        );
    }
    worker.terminate();
}

// What the test server kept: every record once, faults really injected.
fn check_store(st: &Store, index: &str, stream: &str, total: usize) {
    let docs = |name: &str| -> Vec<&Value> {
        st.docs
            .iter()
            .filter(|((i, _), _)| i == name)
            .map(|(_, (d, _))| d)
            .collect()
    };
    for name in [index, stream] {
        let seqs: HashSet<u64> = docs(name)
            .iter()
            .filter_map(|d| d["seq"].as_u64())
            .collect();
        assert_eq!(seqs.len(), total, "{name}: every record indexed");
        assert_eq!(docs(name).len(), total, "{name}: no duplicates");
    }
    assert!(
        docs(stream).iter().all(|d| d["@timestamp"].is_i64()),
        "data stream documents have @timestamp"
    );
    let creates: Vec<u32> = st
        .creates
        .iter()
        .filter(|((i, _), _)| i == stream)
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(creates.len(), total);
    assert!(
        creates.iter().all(|n| *n == 1),
        "each data stream document created once"
    );
    let c = &st.counters;
    assert!(
        c.rejected > 0 && c.unavailable > 0 && c.slow > 0 && c.reset > 0,
        "faults injected: 429 {} 503 {} slow {} reset {}",
        c.rejected,
        c.unavailable,
        c.slow,
        c.reset
    );
    assert!(
        c.conflicts > 0,
        "resent creates after cut connections answer 409"
    );
    assert!(st.authorization.contains("Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="));
    assert!(st
        .authorization
        .contains("ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="));
    assert!(st.queries.contains("pipeline=geoip"));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_routed_index_names_fail_with_a_clear_error_and_validate_rejects_bad_datasets() {
    let (es, _store) = start_test_server(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("es-badname");
    produce(&topic, &[(None, Some(event(1)))]).await;
    let file = connector_file(
        dir.path(),
        "es-badname",
        &[
            ("topics", &topic),
            ("connection.url", &es),
            ("key.ignore", "true"),
            ("transforms", "r"),
            (
                "transforms.r.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.r.regex", "(.*)"),
            ("transforms.r.replacement", "logs#$1"),
        ],
    );
    let port = free_port();
    let props = worker_properties(dir.path(), port, &[]);
    let mut worker = WorkerProcess::start(dir.path(), &props, port, &[file]);
    worker.wait_healthy().await;
    let http = reqwest::Client::new();
    let failed = wait_for(&http, &worker.url, "es-badname", |s| {
        task_state(s) == "FAILED"
    })
    .await;
    let trace = failed["tasks"][0]["trace"].as_str().unwrap_or("");
    assert!(trace.contains("must not contain '#'"), "{trace}");

    let resp = http
        .put(format!(
            "{}/connector-plugins/ElasticsearchSinkConnector/config/validate",
            worker.url
        ))
        .json(&json!({
            "name": "v", "connector.class": CLASS, "topics": "t", "connection.url": es,
            "data.stream.type": "logs", "data.stream.dataset": "Fire-Wall"
        }))
        .send()
        .await
        .unwrap();
    let (status, body) = read_json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["error_count"], 1, "{body}");
    let dataset = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "data.stream.dataset")
        .unwrap();
    let error = dataset["value"]["errors"][0].as_str().unwrap_or("");
    assert!(error.contains("invalid data stream name part"), "{body}");
    worker.terminate();
}
