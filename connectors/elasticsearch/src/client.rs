//! The HTTP side: `_bulk` POSTs over reqwest, round-robin over the
//! configured nodes with failover, basic or API-key auth, gzip, PEM TLS.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use thiserror::Error;

use crate::bulk::{error_reason, head_all_ok};
use crate::config::{Auth, EsConfig};

/// How long a node that failed to answer is skipped.
const NODE_COOLDOWN: Duration = Duration::from_secs(2);

/// Cap on a `_bulk` answer of any batch: per-item results are 200-400
/// bytes, so 10,000 items fit several times over.
const MAX_BULK_RESPONSE_BYTES: usize = 64 << 20;
/// Bigger batches get this much per item, so `batch.size` up to its
/// 1,000,000 limit still fits: an item's result, with a long error reason
/// and its cause chain, stays well under it.
const MAX_BULK_RESPONSE_BYTES_PER_ITEM: usize = 4 << 10;
/// Every other answer (banner, mappings, error bodies): the mappings of an
/// alias over many indices are the largest legitimate ones.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// A failed request. Retry logic matches on [`EsError::is_retryable`].
#[derive(Debug, Clone, Error)]
pub enum EsError {
    /// No answer: connection refused or reset, timeout.
    #[error("cannot reach {url}: {message}")]
    Transport {
        /// The node.
        url: String,
        /// What happened.
        message: String,
    },
    /// An HTTP error status for the whole request.
    #[error("{url} answered {status}: {reason}")]
    Status {
        /// The node.
        url: String,
        /// The status code.
        status: u16,
        /// Elasticsearch's reason, or the start of the body.
        reason: String,
    },
    /// A 2xx answer whose body went over the cap: cut off, never parsed.
    #[error("{url} answered a body over {}; refusing to read more", size(*limit))]
    TooLarge {
        /// The node.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
    /// A configuration problem found when building the client.
    #[error("{0}")]
    Config(String),
}

impl EsError {
    /// Whether sending the same request again may succeed: transport
    /// failures, 429, 5xx and cut-off 2xx answers. Authentication and other
    /// 4xx errors are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            // Like an answer that does not parse: sent again up to
            // `max.retries`, its records uncommitted until then.
            EsError::Transport { .. } | EsError::TooLarge { .. } => true,
            EsError::Status { status, .. } => *status == 429 || *status >= 500,
            EsError::Config(_) => false,
        }
    }
}

/// What `GET /` says about the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// `elasticsearch` or `opensearch`.
    pub distribution: String,
    /// `version.number`.
    pub version: String,
}

impl ServerInfo {
    /// Parses the root banner; OpenSearch says so in `version.distribution`.
    pub fn from_banner(body: &[u8]) -> Option<ServerInfo> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        let version = v.get("version")?;
        Some(ServerInfo {
            distribution: version
                .get("distribution")
                .and_then(|d| d.as_str())
                .unwrap_or("elasticsearch")
                .to_string(),
            version: version.get("number")?.as_str()?.to_string(),
        })
    }

    /// The major version, 0 when unparsable.
    pub fn major(&self) -> u32 {
        self.version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0)
    }
}

struct Node {
    url: String,
    down_until: Mutex<Option<Instant>>,
}

/// A client for one task.
pub struct EsClient {
    http: reqwest::Client,
    nodes: Vec<Node>,
    next: AtomicUsize,
    compression: bool,
    bulk_path: String,
    pool: Arc<BodyPool>,
    max_bulk_response: usize,
    max_response: usize,
}

impl EsClient {
    /// Builds the client from the config (reads the PEM files).
    pub fn new(cfg: &EsConfig) -> Result<EsClient, EsError> {
        let mut headers = HeaderMap::new();
        match &cfg.auth {
            Some(Auth::ApiKey(key)) => {
                let mut v = HeaderValue::from_str(&format!("ApiKey {key}"))
                    .map_err(|_| EsError::Config("invalid API key".to_string()))?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
            Some(Auth::Basic { username, password }) => {
                use base64::Engine as _;
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{username}:{password}"));
                let mut v = HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| EsError::Config("invalid username or password".to_string()))?;
                v.set_sensitive(true);
                headers.insert(AUTHORIZATION, v);
            }
            None => {}
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(cfg.connect_timeout)
            .read_timeout(cfg.read_timeout)
            .pool_idle_timeout(cfg.idle_timeout)
            .use_rustls_tls();
        if let Some(path) = &cfg.ca_pem {
            let pem = std::fs::read(path).map_err(|e| {
                EsError::Config(format!("cannot read trust store {}: {e}", path.display()))
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| EsError::Config(format!("invalid PEM in {}: {e}", path.display())))?
            {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(path) = &cfg.identity_pem {
            let pem = std::fs::read(path).map_err(|e| {
                EsError::Config(format!("cannot read key store {}: {e}", path.display()))
            })?;
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                EsError::Config(format!(
                    "invalid PEM certificate chain and key in {}: {e}",
                    path.display()
                ))
            })?;
            builder = builder.identity(id);
        }
        let http = builder
            .build()
            .map_err(|e| EsError::Config(format!("cannot build HTTP client: {e}")))?;
        let bulk_path = match &cfg.pipeline {
            Some(p) => format!("/_bulk?pipeline={}", encode_query(p)),
            None => "/_bulk".to_string(),
        };
        Ok(EsClient {
            http,
            nodes: cfg
                .urls
                .iter()
                .map(|u| Node {
                    url: u.clone(),
                    down_until: Mutex::new(None),
                })
                .collect(),
            next: AtomicUsize::new(0),
            compression: cfg.compression,
            bulk_path,
            pool: BodyPool::new(cfg.max_in_flight + 1),
            max_bulk_response: MAX_BULK_RESPONSE_BYTES,
            max_response: MAX_RESPONSE_BYTES,
        })
    }

    /// Lowers the response caps, so tests need not stream megabytes.
    #[cfg(test)]
    pub(crate) fn with_max_response_bytes(mut self, bulk: usize, other: usize) -> EsClient {
        self.max_bulk_response = bulk;
        self.max_response = other;
        self
    }

    // Reads a body under the cap of answers other than a 2xx `_bulk` one.
    // An error status keeps its own classification (the status decides
    // retries), with the cut-off as its reason.
    async fn read_answer(
        &self,
        url: &str,
        mut resp: reqwest::Response,
    ) -> Result<(u16, Vec<u8>), EsError> {
        let status = resp.status().as_u16();
        match read_capped(&mut resp, self.max_response).await {
            Ok(body) => Ok((status, body)),
            Err(BodyError::TooLarge) if (200..300).contains(&status) => Err(EsError::TooLarge {
                url: url.to_string(),
                limit: self.max_response,
            }),
            Err(BodyError::TooLarge) => Err(cut_off(url, status, self.max_response)),
            Err(BodyError::Transport(e)) => Err(EsError::Transport {
                url: url.to_string(),
                message: error_chain(&e),
            }),
        }
    }

    // The next node in turn that is not cooling down; if all are, the next
    // in turn anyway (a dead cluster still gets retried).
    fn pick(&self) -> &Node {
        let n = self.nodes.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        for i in 0..n {
            let node = &self.nodes[(start + i) % n];
            let up = node
                .down_until
                .lock()
                .map(|d| d.is_none_or(|t| t <= now))
                .unwrap_or(true);
            if up {
                return node;
            }
        }
        &self.nodes[start % n]
    }

    fn mark_down(node: &Node) {
        if let Ok(mut d) = node.down_until.lock() {
            *d = Some(Instant::now() + NODE_COOLDOWN);
        }
    }

    /// `GET /` on the first node that answers.
    pub async fn info(&self) -> Result<ServerInfo, EsError> {
        let mut last = EsError::Config("no connection.url".to_string());
        for node in &self.nodes {
            match self.http.get(format!("{}/", node.url)).send().await {
                Ok(mut resp) => {
                    let status = resp.status().as_u16();
                    // A body that cannot be read is no banner.
                    let body = match read_capped(&mut resp, self.max_response).await {
                        Ok(body) => body,
                        Err(BodyError::TooLarge) => {
                            return Err(cut_off(&node.url, status, self.max_response))
                        }
                        Err(BodyError::Transport(_)) => Vec::new(),
                    };
                    if status >= 300 {
                        return Err(status_error(&node.url, status, &body));
                    }
                    return ServerInfo::from_banner(&body).ok_or_else(|| EsError::Status {
                        url: node.url.clone(),
                        status,
                        reason: "not an Elasticsearch or OpenSearch banner".to_string(),
                    });
                }
                Err(e) => {
                    last = EsError::Transport {
                        url: node.url.clone(),
                        message: error_chain(&e),
                    }
                }
            }
        }
        Err(last)
    }

    /// Creates an index with this mapping, or adds the mapping to an
    /// existing index that has none (Confluent's `createIndex` then
    /// `createMapping`). An index with a mapping is left alone.
    pub async fn ensure_mapping(
        &self,
        index: &str,
        mapping: &serde_json::Value,
    ) -> Result<(), EsError> {
        let node = self.pick();
        let url = format!("{}/{index}", node.url);
        let transport = |e: reqwest::Error| EsError::Transport {
            url: node.url.clone(),
            message: error_chain(&e),
        };
        let resp = self
            .http
            .put(&url)
            .json(&serde_json::json!({ "mappings": mapping }))
            .send()
            .await
            .map_err(transport)?;
        let (status, body) = self.read_answer(&node.url, resp).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        let exists = serde_json::from_slice::<serde_json::Value>(&body)
            .is_ok_and(|b| b["error"]["type"] == "resource_already_exists_exception");
        if !exists {
            return Err(status_error(&node.url, status, &body));
        }
        let resp = self
            .http
            .get(format!("{url}/_mapping"))
            .send()
            .await
            .map_err(transport)?;
        let (status, body) = self.read_answer(&node.url, resp).await?;
        if !(200..300).contains(&status) {
            return Err(status_error(&node.url, status, &body));
        }
        let current: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        // The answer is keyed by the concrete index (an alias resolves to it).
        let has_mapping = current.as_object().is_some_and(|m| {
            m.values().any(|i| {
                i["mappings"]["properties"]
                    .as_object()
                    .is_some_and(|p| !p.is_empty())
            })
        });
        if has_mapping {
            return Ok(());
        }
        let resp = self
            .http
            .put(format!("{url}/_mapping"))
            .json(mapping)
            .send()
            .await
            .map_err(transport)?;
        let (status, body) = self.read_answer(&node.url, resp).await?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(status_error(&node.url, status, &body))
        }
    }

    /// A buffer for a bulk body, reused across requests.
    pub fn body_buffer(&self, capacity: usize) -> Vec<u8> {
        self.pool.take(capacity)
    }

    /// POSTs an NDJSON body of `items` operations to `_bulk` and reads a
    /// 2xx answer: without keeping it when its head says `"errors":false`.
    pub async fn bulk(&self, body: Vec<u8>, items: usize) -> Result<BulkReply, EsError> {
        let (payload, gzip) = if self.compression {
            let mut gz = flate2::write::GzEncoder::new(
                self.pool.take(body.len() / 4),
                flate2::Compression::fast(),
            );
            match gz.write_all(&body).and_then(|()| gz.finish()) {
                Ok(c) => {
                    self.pool.put(body);
                    (self.pool.freeze(c), true)
                }
                Err(_) => (self.pool.freeze(body), false),
            }
        } else {
            (self.pool.freeze(body), false)
        };
        // A node that refuses the connection has not seen the request: the
        // next live node takes it at once, without using up a retry.
        let mut refused = 0;
        let (node, mut resp) = loop {
            let node = self.pick();
            let mut req = self
                .http
                .post(format!("{}{}", node.url, self.bulk_path))
                .header(CONTENT_TYPE, "application/x-ndjson");
            if gzip {
                req = req.header(CONTENT_ENCODING, "gzip");
            }
            match req.body(payload.clone()).send().await {
                Ok(resp) => break (node, resp),
                Err(e) => {
                    Self::mark_down(node);
                    refused += 1;
                    if !(e.is_connect() && refused < self.nodes.len()) {
                        return Err(EsError::Transport {
                            url: node.url.clone(),
                            message: error_chain(&e),
                        });
                    }
                }
            }
        };
        drop(payload);
        let transport = |e: reqwest::Error| {
            Self::mark_down(node);
            EsError::Transport {
                url: node.url.clone(),
                message: error_chain(&e),
            }
        };
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let error = match self.read_answer(&node.url, resp).await {
                Ok((_, body)) => status_error(&node.url, status, &body),
                Err(e) => e,
            };
            if status >= 500 || matches!(error, EsError::Transport { .. }) {
                Self::mark_down(node);
            }
            return Err(error);
        }
        let cap = self
            .max_bulk_response
            .max(items.saturating_mul(MAX_BULK_RESPONSE_BYTES_PER_ITEM));
        let mut kept = Vec::new();
        let mut read = 0usize;
        let mut all_ok = false;
        let mut decided = false;
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            read = read.saturating_add(chunk.len());
            if all_ok {
                if read > cap {
                    // The head already said every item succeeded: the rest
                    // is not needed, and dropping it closes the connection.
                    break;
                }
                // Read to the end, so the connection can be reused.
                continue;
            }
            if read > cap {
                return Err(EsError::TooLarge {
                    url: node.url.clone(),
                    limit: cap,
                });
            }
            kept.extend_from_slice(&chunk);
            if !decided {
                match head_all_ok(&kept) {
                    Some(true) => {
                        all_ok = true;
                        kept = Vec::new();
                    }
                    Some(false) => decided = true,
                    None => decided = kept.len() > 4096,
                }
            }
        }
        Ok(if all_ok {
            BulkReply::AllOk
        } else {
            BulkReply::Body(kept)
        })
    }
}

/// A 2xx answer to a bulk request.
#[derive(Debug)]
pub enum BulkReply {
    /// The head said `"errors":false`; the items were not kept.
    AllOk,
    /// The whole body, to classify item by item.
    Body(Vec<u8>),
}

/// Bulk bodies are megabytes: allocating each afresh costs page faults
/// (the allocator hands large blocks back to the OS), so they are reused.
/// Bounded: at most `keep` idle buffers.
pub struct BodyPool {
    idle: Mutex<Vec<Vec<u8>>>,
    keep: usize,
}

struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BodyPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.put(std::mem::take(&mut self.buf));
    }
}

impl BodyPool {
    fn new(keep: usize) -> Arc<BodyPool> {
        Arc::new(BodyPool {
            idle: Mutex::new(Vec::new()),
            keep,
        })
    }

    fn take(&self, capacity: usize) -> Vec<u8> {
        let mut buf = self
            .idle
            .lock()
            .ok()
            .and_then(|mut idle| idle.pop())
            .unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    fn put(&self, buf: Vec<u8>) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.keep {
                idle.push(buf);
            }
        }
    }

    // The buffer goes back to the pool once the HTTP client dropped it.
    fn freeze(self: &Arc<Self>, buf: Vec<u8>) -> bytes::Bytes {
        bytes::Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }
}

/// Why a response body was not read whole.
enum BodyError {
    /// The connection failed mid-body.
    Transport(reqwest::Error),
    /// More than the cap arrived (or was announced); the rest was not read.
    TooLarge,
}

// Reads a body of at most `max` bytes: a peer cannot make the task hold
// more than that, however much it sends.
async fn read_capped(resp: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > max {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

// An error status whose body went over the cap.
fn cut_off(url: &str, status: u16, limit: usize) -> EsError {
    EsError::Status {
        url: url.to_string(),
        status,
        reason: format!("body over {}; refusing to read more", size(limit)),
    }
}

// A cap for messages: "64 MiB", "4 KiB", else bytes.
fn size(n: usize) -> String {
    match n {
        _ if n >= 1 << 20 && n.is_multiple_of(1 << 20) => format!("{} MiB", n >> 20),
        _ if n >= 1 << 10 && n.is_multiple_of(1 << 10) => format!("{} KiB", n >> 10),
        _ => format!("{n} bytes"),
    }
}

fn status_error(url: &str, status: u16, body: &[u8]) -> EsError {
    let reason = error_reason(body).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
        text.trim().to_string()
    });
    EsError::Status {
        url: url.to_string(),
        status,
        reason,
    }
}

// reqwest's top-level message hides the cause (e.g. "connection refused").
fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
