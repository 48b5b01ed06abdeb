//! HTTP to HEC: one `reqwest` client per task, the URIs with their backoff
//! gates and health, and the channels spread over them.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rampart_core::ConnectError;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};

use crate::config::HecConfig;
use crate::event::RawMeta;
use crate::hec::{
    self, Accepted, HecError, ACK_PATH, CHANNEL_HEADER, EVENT_PATH, HEALTH_PATH, RAW_PATH,
};

/// First backoff after a failure; it doubles per failure up to
/// `splunk.hec.backoff.threshhold.seconds`.
const BACKOFF_START: Duration = Duration::from_millis(500);

/// Cap on a HEC answer: `{"text":..,"code":..,"ackId":..}` is under 200
/// bytes, so this leaves room for a proxy's error page.
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// Added per polled ack id, as `"18446744073709551615":false,` is 29 bytes:
/// a poll may ask for every outstanding batch at once.
const ACK_ANSWER_BYTES_PER_ID: usize = 32;

/// A request body as it goes on the wire: gzipped when
/// `splunk.hec.enable.compression` is on. Only [`HecClient::encode`] makes
/// one, so `post` cannot send a body whose encoding disagrees with its
/// `Content-Encoding` header.
#[derive(Debug, Clone)]
pub struct WireBody(Bytes);

// Level 6, as Java's `GZIPOutputStream` (Deflater.DEFAULT_COMPRESSION) in
// the Java connector's `EventBatch`.
fn gzip(body: &[u8]) -> Bytes {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::default(),
    );
    // Writing into a Vec cannot fail: gzip's only errors come from the
    // writer underneath.
    gz.write_all(body).expect("gzip into a Vec never fails");
    Bytes::from(gz.finish().expect("gzip into a Vec never fails"))
}

#[derive(Debug)]
struct Gate {
    until: Instant,
    failures: u32,
}

/// One HEC URI.
#[derive(Debug)]
pub struct Endpoint {
    /// Base URI.
    pub uri: String,
    event_url: String,
    raw_url: String,
    ack_url: String,
    health_url: String,
    gate: Mutex<Gate>,
}

impl Endpoint {
    fn new(uri: &str) -> Self {
        Endpoint {
            uri: uri.to_string(),
            event_url: format!("{uri}{EVENT_PATH}"),
            raw_url: format!("{uri}{RAW_PATH}"),
            ack_url: format!("{uri}{ACK_PATH}"),
            health_url: format!("{uri}{HEALTH_PATH}"),
            gate: Mutex::new(Gate {
                until: Instant::now(),
                failures: 0,
            }),
        }
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        // A poisoned gate only means a panic elsewhere; its data is plain.
        self.gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the URI may be used again.
    pub fn ready_at(&self) -> Instant {
        self.gate().until
    }

    /// A failure: the backoff grows once per gate period, so the requests
    /// that were already in flight when the URI went down don't multiply it.
    pub fn fail(&self, max: Duration) {
        let now = Instant::now();
        let mut g = self.gate();
        if now >= g.until {
            g.failures = g.failures.saturating_add(1);
            let exp = g.failures.saturating_sub(1).min(16);
            let delay = BACKOFF_START.saturating_mul(1 << exp).min(max);
            g.until = now + delay;
        }
    }

    /// A success: the next failure starts from the shortest backoff.
    pub fn succeed(&self) {
        self.gate().failures = 0;
    }

    /// A passed health check opens the gate at once.
    fn healthy(&self) {
        let mut g = self.gate();
        g.failures = 0;
        g.until = Instant::now();
    }
}

/// A HEC channel (`X-Splunk-Request-Channel`), bound to one URI; ack ids
/// are scoped to it.
#[derive(Debug)]
pub struct Channel {
    /// The channel's UUID.
    pub id: String,
    /// Index into the endpoints.
    pub endpoint: usize,
}

/// The task's HEC client.
pub struct HecClient {
    http: reqwest::Client,
    token: HeaderValue,
    /// The URIs.
    pub endpoints: Vec<Endpoint>,
    /// The channels, round-robin over the URIs.
    pub channels: Vec<Channel>,
    next: AtomicUsize,
    backoff_max: Duration,
    raw: bool,
    auto_extract_timestamp: Option<bool>,
    compression: bool,
    max_response: usize,
}

fn transport(uri: &str, e: reqwest::Error) -> HecError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        reason.push_str(": ");
        reason.push_str(&s.to_string());
        source = s.source();
    }
    HecError::Transport {
        uri: uri.to_string(),
        reason,
    }
}

// Reads an answer of at most `max` bytes: a peer cannot make the task hold
// more than that, however much it sends.
async fn read_capped(
    uri: &str,
    mut resp: reqwest::Response,
    max: usize,
) -> Result<(u16, Vec<u8>), HecError> {
    let status = resp.status().as_u16();
    let too_large = || HecError::TooLarge {
        uri: uri.to_string(),
        status,
        limit: max,
    };
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(uri, e))? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

impl HecClient {
    /// Builds the client: TLS settings, pool size, channels.
    pub fn new(config: &HecConfig) -> Result<Self, ConnectError> {
        let channels_total = config.total_channels.max(config.uris.len());
        let mut builder = reqwest::Client::builder()
            .timeout(config.socket_timeout)
            .connect_timeout(config.socket_timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(if config.keepalive {
                channels_total * config.connections_per_channel
            } else {
                0
            })
            .danger_accept_invalid_certs(!config.validate_certs);
        if let Some(pem) = &config.trust_store {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| {
                ConnectError::BadRequest(format!("cannot read the PEM trust store: {e}"))
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        let http = builder
            .build()
            .map_err(|e| ConnectError::connect(format!("cannot build the http client: {e}")))?;
        let mut token =
            HeaderValue::from_str(&format!("Splunk {}", config.token)).map_err(|_| {
                ConnectError::BadRequest(
                    "splunk.hec.token has characters not allowed in an http header".to_string(),
                )
            })?;
        token.set_sensitive(true);
        let endpoints: Vec<Endpoint> = config.uris.iter().map(|u| Endpoint::new(u)).collect();
        let channels = (0..channels_total)
            .map(|i| Channel {
                id: hec::new_channel_id(),
                endpoint: i % endpoints.len().max(1),
            })
            .collect();
        Ok(HecClient {
            http,
            token,
            endpoints,
            channels,
            next: AtomicUsize::new(0),
            backoff_max: config.backoff_max,
            raw: config.raw,
            auto_extract_timestamp: config.auto_extract_timestamp,
            compression: config.compression,
            max_response: MAX_RESPONSE_BYTES,
        })
    }

    /// Lowers the response cap, so tests need not stream megabytes.
    #[cfg(test)]
    pub(crate) fn with_max_response_bytes(mut self, max: usize) -> Self {
        self.max_response = max;
        self
    }

    /// The endpoint of a channel.
    pub fn endpoint(&self, channel: usize) -> &Endpoint {
        &self.endpoints[self.channels[channel].endpoint]
    }

    /// The next channel, round-robin, preferring URIs that are not backing
    /// off; when all are, the one ready first, and when it is ready.
    pub fn pick(&self) -> (usize, Instant) {
        let n = self.channels.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let mut best = (start % n, Instant::now() + Duration::from_secs(3600));
        for i in 0..n {
            let ch = (start + i) % n;
            let ready = self.endpoint(ch).ready_at();
            if ready <= now {
                return (ch, now);
            }
            if ready < best.1 {
                best = (ch, ready);
            }
        }
        best
    }

    /// Encodes an event or raw body for sending, once per send: the
    /// retries of a send reuse it instead of compressing it again.
    pub fn encode(&self, body: &Bytes) -> WireBody {
        if self.compression {
            WireBody(gzip(body))
        } else {
            WireBody(body.clone())
        }
    }

    /// Sends one request body on a channel.
    pub async fn post(
        &self,
        channel: usize,
        body: WireBody,
        raw: Option<&RawMeta>,
    ) -> Result<Accepted, HecError> {
        let ch = &self.channels[channel];
        let ep = &self.endpoints[ch.endpoint];
        let mut req = self
            .http
            .post(if self.raw { &ep.raw_url } else { &ep.event_url })
            .header(AUTHORIZATION, self.token.clone())
            .header(CHANNEL_HEADER, ch.id.as_str())
            .body(body.0);
        // The Java connector's Indexer sets this on event and raw posts
        // only; its ack polls go uncompressed, and so do ours.
        if self.compression {
            req = req.header(CONTENT_ENCODING, "gzip");
        }
        if self.raw {
            req = req
                .header(CONTENT_TYPE, "text/plain")
                .query(&[("channel", ch.id.as_str())]);
            if let Some(meta) = raw {
                req = req.query(&meta.query());
            }
        } else {
            req = req.header(CONTENT_TYPE, "application/json");
            if let Some(a) = self.auto_extract_timestamp {
                req = req.query(&[("auto_extract_timestamp", if a { "true" } else { "false" })]);
            }
        }
        let result = self.answer(&ep.uri, req).await;
        self.note(ch.endpoint, &result);
        result
    }

    async fn answer(&self, uri: &str, req: reqwest::RequestBuilder) -> Result<Accepted, HecError> {
        let resp = req.send().await.map_err(|e| transport(uri, e))?;
        let (status, body) = read_capped(uri, resp, self.max_response).await?;
        hec::classify(uri, status, &body)
    }

    fn note<T>(&self, endpoint: usize, result: &Result<T, HecError>) {
        match result {
            Ok(_) => self.endpoints[endpoint].succeed(),
            Err(e) if e.kind() == hec::ErrorKind::Retryable => {
                self.endpoints[endpoint].fail(self.backoff_max)
            }
            Err(_) => {}
        }
    }

    /// Asks which of these ack ids of a channel are indexed.
    pub async fn poll_acks(&self, channel: usize, ids: &[u64]) -> Result<Vec<u64>, HecError> {
        let ch = &self.channels[channel];
        let ep = &self.endpoints[ch.endpoint];
        let req = self
            .http
            .post(&ep.ack_url)
            .query(&[("channel", ch.id.as_str())])
            .header(AUTHORIZATION, self.token.clone())
            .header(CHANNEL_HEADER, ch.id.as_str())
            .header(CONTENT_TYPE, "application/json")
            .body(hec::ack_request(ids));
        let result = async {
            let resp = req.send().await.map_err(|e| transport(&ep.uri, e))?;
            let max = self
                .max_response
                .saturating_add(ids.len().saturating_mul(ACK_ANSWER_BYTES_PER_ID));
            let (status, body) = read_capped(&ep.uri, resp, max).await?;
            hec::classify(&ep.uri, status, &body)?;
            hec::acked_ids(&body).ok_or_else(|| HecError::Busy {
                uri: ep.uri.clone(),
                status,
                code: -1,
                text: "acknowledgement answer without acks".to_string(),
            })
        }
        .await;
        self.note(ch.endpoint, &result);
        result
    }

    /// Checks a URI's health (`GET /services/collector/health`, which needs
    /// no token) and opens or closes its gate.
    pub async fn check_health(&self, endpoint: usize) -> bool {
        let ep = &self.endpoints[endpoint];
        let ok = matches!(
            self.http.get(&ep.health_url).send().await,
            Ok(r) if r.status().is_success()
        );
        if ok {
            ep.healthy();
        } else {
            ep.fail(self.backoff_max);
        }
        ok
    }
}
