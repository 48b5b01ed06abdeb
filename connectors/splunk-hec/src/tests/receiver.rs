//! A Splunk HTTP Event Collector receiver for tests. It is a test server,
//! not Splunk: no Splunk can run here, so it was written from Splunk's HEC
//! documentation ("HTTP Event Collector REST API endpoints", "Format events
//! for HTTP Event Collector", "About HTTP Event Collector Indexer
//! Acknowledgment", "Troubleshoot HTTP Event Collector" for the codes):
//!
//! - `Authorization: Splunk <token>`: missing 401 code 2, malformed 401
//!   code 3, wrong 403 code 4, disabled 403 code 1;
//! - `POST /services/collector/event`: JSON objects back to back; a body
//!   that does not parse is 400 code 6 and an object without `event` 400
//!   code 12, both with `invalid-event-number`; an unknown index is 400
//!   code 7. The receiver takes all events of a request or none;
//! - `POST /services/collector/raw?channel=..&index=..`: the body split at
//!   newlines; a missing channel is 400 code 10;
//! - channels (`X-Splunk-Request-Channel` or `?channel=`), and with
//!   acknowledgement on an `ackId` per request, per channel from 0;
//! - `POST /services/collector/ack?channel=..` with `{"acks":[..]}` →
//!   `{"acks":{"0":true,..}}`, 400 code 14 when acknowledgement is off;
//! - busy: 503 code 9; `GET /services/collector/health` 200 code 17;
//! - `Content-Encoding: gzip` event and raw bodies are decompressed first
//!   (HEC takes gzip, as splunk/kafka-connect-splunk's
//!   `splunk.hec.enable.compression` relies on); a body that is not gzip is
//!   400 code 6. Other bodies are read as they are.
//!
//! Acks can be delayed, lost (the request's events are dropped, as by an
//! indexer crash, and the ack never turns true) or answered out of order.
//! Everything accepted is kept so tests can assert exactly what arrived.
//! Shared by the crate's tests, `tests/it/splunk_hec.rs` and the benchmark.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value as Json};

/// How the receiver behaves; change it while it runs.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Indexer acknowledgement is on for the token.
    pub ack: bool,
    /// Acks turn true this long after the request.
    pub ack_delay: Duration,
    /// Extra random delay per ack, up to this, so acks complete out of order.
    pub ack_jitter: Duration,
    /// Every n-th acknowledged request is lost (events dropped, ack never true).
    pub lose_every: Option<u64>,
    /// Answer 503 code 9 to event and raw requests.
    pub busy: bool,
    /// The token is disabled (403 code 1).
    pub disabled: bool,
    /// Indexes that exist; empty means any.
    pub indexes: HashSet<String>,
    /// Only count events (for the benchmark), keep nothing.
    pub count_only: bool,
}

/// One event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// `event` or `raw`.
    pub endpoint: &'static str,
    /// The channel it came on.
    pub channel: Option<String>,
    /// The whole event object (event endpoint) or `{"raw": line, ..query}`.
    pub body: Json,
}

impl Received {
    /// The event text: `event` as a string, or the raw line.
    pub fn text(&self) -> String {
        match self.endpoint {
            "raw" => self.body["raw"].as_str().unwrap_or_default().to_string(),
            _ => match &self.body["event"] {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            },
        }
    }
}

struct AckState {
    ready: Instant,
    lost: bool,
}

#[derive(Default)]
struct Inner {
    behaviour: Behaviour,
    received: Vec<Received>,
    event_count: u64,
    byte_count: u64,
    requests: u64,
    gzip_requests: u64,
    busy_answers: u64,
    acked_requests: u64,
    channels: HashMap<String, (u64, HashMap<u64, AckState>)>,
    seen_channels: HashSet<String>,
}

#[derive(Clone)]
struct Shared {
    token: String,
    inner: Arc<Mutex<Inner>>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("receiver state lock")
    }
}

fn answer(status: u16, text: &str, code: i64) -> Response {
    (
        StatusCode::from_u16(status).expect("valid status"),
        axum::Json(json!({"text": text, "code": code})),
    )
        .into_response()
}

fn invalid(text: &str, code: i64, n: usize) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"text": text, "code": code, "invalid-event-number": n})),
    )
        .into_response()
}

fn auth(shared: &Shared, headers: &HeaderMap, disabled: bool) -> Option<Response> {
    let Some(value) = headers.get("authorization") else {
        return Some(answer(401, "Token is required", 2));
    };
    let Some(token) = value.to_str().ok().and_then(|v| v.strip_prefix("Splunk ")) else {
        return Some(answer(401, "Invalid authorization", 3));
    };
    if token != shared.token {
        return Some(answer(403, "Invalid token", 4));
    }
    if disabled {
        return Some(answer(403, "Token disabled", 1));
    }
    None
}

/// Largest body decompressed: far above what tests send, and a bound on
/// what a gzip bomb can cost the test process. The receiver's own limit,
/// not Splunk's, so a body past it gets the same answer as bad gzip.
const MAX_DECODED: u64 = 64 << 20;

// The body as sent before compression; `None` for a gzip body that does not
// decode, which is answered 400 code 6.
fn decode(shared: &Shared, headers: &HeaderMap, body: Bytes) -> Option<Bytes> {
    let gzip = headers
        .get("content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return Some(body);
    }
    shared.lock().gzip_requests += 1;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .take(MAX_DECODED + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() as u64 <= MAX_DECODED).then(|| Bytes::from(out))
}

fn channel(headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    query.get("channel").cloned().or_else(|| {
        headers
            .get("x-splunk-request-channel")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })
}

// Registers a request under its channel; returns the ack id, and whether
// the request is lost.
fn acknowledge(inner: &mut Inner, channel: &str) -> (u64, bool) {
    let b = inner.behaviour.clone();
    inner.acked_requests += 1;
    let lost = b
        .lose_every
        .is_some_and(|n| inner.acked_requests.is_multiple_of(n));
    let jitter = if b.ack_jitter.is_zero() {
        Duration::ZERO
    } else {
        // A cheap scramble of the request number: deterministic, unordered.
        let x = inner.acked_requests.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
        Duration::from_millis(x % (b.ack_jitter.as_millis() as u64 + 1))
    };
    let (next, acks) = inner.channels.entry(channel.to_string()).or_default();
    let id = *next;
    *next += 1;
    acks.insert(
        id,
        AckState {
            ready: Instant::now() + b.ack_delay + jitter,
            lost,
        },
    );
    (id, lost)
}

fn accepted(ack: Option<u64>) -> Response {
    match ack {
        Some(id) => axum::Json(json!({"text": "Success", "code": 0, "ackId": id})).into_response(),
        None => axum::Json(json!({"text": "Success", "code": 0})).into_response(),
    }
}

async fn event(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b = shared.lock().behaviour.clone();
    if let Some(r) = auth(&shared, &headers, b.disabled) {
        return r;
    }
    shared.lock().requests += 1;
    if b.busy {
        shared.lock().busy_answers += 1;
        return answer(503, "Server is busy", 9);
    }
    let Some(body) = decode(&shared, &headers, body) else {
        return answer(400, "Invalid data format", 6);
    };
    let ch = channel(&headers, &query);
    if b.ack && ch.is_none() {
        return answer(400, "Data channel is missing", 10);
    }
    if b.count_only {
        let n = serde_json::Deserializer::from_slice(&body)
            .into_iter::<serde::de::IgnoredAny>()
            .take_while(Result::is_ok)
            .count();
        let mut inner = shared.lock();
        inner.event_count += n as u64;
        inner.byte_count += body.len() as u64;
        let ack = ch.filter(|_| b.ack).map(|c| acknowledge(&mut inner, &c).0);
        return accepted(ack);
    }
    let mut events = Vec::new();
    for (i, item) in serde_json::Deserializer::from_slice(&body)
        .into_iter::<Json>()
        .enumerate()
    {
        let Ok(obj) = item else {
            return invalid("Invalid data format", 6, i);
        };
        match obj.get("event") {
            None => return invalid("Event field is required", 12, i),
            Some(Json::String(s)) if s.is_empty() => {
                return invalid("Event field cannot be blank", 13, i)
            }
            Some(Json::Null) => return invalid("Event field cannot be blank", 13, i),
            _ => {}
        }
        if let Some(index) = obj.get("index").and_then(Json::as_str) {
            if !b.indexes.is_empty() && !b.indexes.contains(index) {
                return invalid("Incorrect index", 7, i);
            }
        }
        events.push(obj);
    }
    if events.is_empty() {
        return answer(400, "No data", 5);
    }
    let mut inner = shared.lock();
    let (ack, lost) = match ch.clone().filter(|_| b.ack) {
        Some(c) => {
            let (id, lost) = acknowledge(&mut inner, &c);
            (Some(id), lost)
        }
        None => (None, false),
    };
    if let Some(c) = &ch {
        inner.seen_channels.insert(c.clone());
    }
    if !lost {
        inner.event_count += events.len() as u64;
        inner.byte_count += body.len() as u64;
        inner
            .received
            .extend(events.into_iter().map(|body| Received {
                endpoint: "event",
                channel: ch.clone(),
                body,
            }));
    }
    accepted(ack)
}

async fn raw(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b = shared.lock().behaviour.clone();
    if let Some(r) = auth(&shared, &headers, b.disabled) {
        return r;
    }
    shared.lock().requests += 1;
    if b.busy {
        shared.lock().busy_answers += 1;
        return answer(503, "Server is busy", 9);
    }
    let Some(body) = decode(&shared, &headers, body) else {
        return answer(400, "Invalid data format", 6);
    };
    let Some(ch) = channel(&headers, &query) else {
        return answer(400, "Data channel is missing", 10);
    };
    if let Some(index) = query.get("index") {
        if !b.indexes.is_empty() && !b.indexes.contains(index) {
            return answer(400, "Incorrect index", 7);
        }
    }
    if body.is_empty() {
        return answer(400, "No data", 5);
    }
    let mut inner = shared.lock();
    let (ack, lost) = if b.ack {
        let (id, lost) = acknowledge(&mut inner, &ch);
        (Some(id), lost)
    } else {
        (None, false)
    };
    inner.seen_channels.insert(ch.clone());
    if !lost {
        let lines = body.split(|c| *c == b'\n').filter(|l| !l.is_empty());
        inner.byte_count += body.len() as u64;
        if b.count_only {
            inner.event_count += lines.count() as u64;
        } else {
            let mut meta = serde_json::Map::new();
            for k in ["index", "source", "sourcetype", "host"] {
                if let Some(v) = query.get(k) {
                    meta.insert(k.to_string(), Json::String(v.clone()));
                }
            }
            for line in lines {
                let mut body = meta.clone();
                body.insert(
                    "raw".to_string(),
                    Json::String(String::from_utf8_lossy(line).into_owned()),
                );
                inner.event_count += 1;
                inner.received.push(Received {
                    endpoint: "raw",
                    channel: Some(ch.clone()),
                    body: Json::Object(body),
                });
            }
        }
    }
    accepted(ack)
}

async fn ack(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let b = shared.lock().behaviour.clone();
    if let Some(r) = auth(&shared, &headers, b.disabled) {
        return r;
    }
    if !b.ack {
        return answer(400, "ACK is disabled", 14);
    }
    let Some(ch) = channel(&headers, &query) else {
        return answer(400, "Data channel is missing", 10);
    };
    let Ok(req) = serde_json::from_slice::<Json>(&body) else {
        return answer(400, "Invalid data format", 6);
    };
    let ids: Vec<u64> = req["acks"]
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_u64).collect())
        .unwrap_or_default();
    let mut inner = shared.lock();
    let now = Instant::now();
    let mut out = serde_json::Map::new();
    if let Some((_, acks)) = inner.channels.get_mut(&ch) {
        for id in ids {
            let done = acks.get(&id).is_some_and(|a| !a.lost && a.ready <= now);
            if done {
                // Splunk reports an ack as true once, then forgets it.
                acks.remove(&id);
            }
            out.insert(id.to_string(), Json::Bool(done));
        }
    } else {
        for id in ids {
            out.insert(id.to_string(), Json::Bool(false));
        }
    }
    axum::Json(json!({ "acks": out })).into_response()
}

async fn health(State(shared): State<Shared>) -> Response {
    if shared.lock().behaviour.busy {
        return answer(503, "Server is busy", 9);
    }
    answer(200, "HEC is healthy", 17)
}

/// A running receiver.
pub struct Receiver {
    /// Base URL, e.g. `http://127.0.0.1:8088`.
    pub url: String,
    port: u16,
    shared: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// Starts a receiver for a token on a free loopback port.
    pub async fn start(token: &str, behaviour: Behaviour) -> Receiver {
        let shared = Shared {
            token: token.to_string(),
            inner: Arc::new(Mutex::new(Inner {
                behaviour,
                ..Default::default()
            })),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("bound").port();
        let mut r = Receiver {
            url: format!("http://127.0.0.1:{port}"),
            port,
            shared,
            stop: None,
            server: None,
        };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/services/collector/event", post(event))
            .route("/services/collector/event/1.0", post(event))
            .route("/services/collector/raw", post(raw))
            .route("/services/collector/raw/1.0", post(raw))
            .route("/services/collector/ack", post(ack).get(ack))
            .route("/services/collector/health", get(health))
            .with_state(self.shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        }));
    }

    /// Stops listening and closes its connections: senders get refused
    /// connections until `restart`.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            // Graceful shutdown waits for open requests; don't wait forever.
            if tokio::time::timeout(Duration::from_secs(5), h)
                .await
                .is_err()
            {
                panic!("receiver did not stop in 5 s");
            }
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("rebind the receiver port");
        self.serve(listener);
    }

    /// Changes the behaviour.
    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        f(&mut self.shared.lock().behaviour);
    }

    /// Every event kept so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// Events accepted (kept or counted).
    pub fn event_count(&self) -> u64 {
        self.shared.lock().event_count
    }

    /// Body bytes accepted, after decompression.
    pub fn byte_count(&self) -> u64 {
        self.shared.lock().byte_count
    }

    /// Authenticated event and raw requests.
    pub fn requests(&self) -> u64 {
        self.shared.lock().requests
    }

    /// Event and raw requests with `Content-Encoding: gzip` (counted
    /// whether or not they were accepted).
    pub fn gzip_requests(&self) -> u64 {
        self.shared.lock().gzip_requests
    }

    /// Requests answered busy.
    pub fn busy_answers(&self) -> u64 {
        self.shared.lock().busy_answers
    }

    /// Channels seen on data requests.
    pub fn channels(&self) -> HashSet<String> {
        self.shared.lock().seen_channels.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(h) = self.server.take() {
            h.abort();
        }
    }
}
