//! Sockets: UDP datagrams and TCP/TLS streams become framed messages on a
//! bounded channel. A full channel pauses TCP reads (the sender slows down)
//! and drops UDP datagrams, which are counted. The task parses them into
//! records as it polls: a queued message costs its bytes (~200), where a
//! parsed record costs ten times that, so the buffer's memory stays small.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_core::data::{schemas, Value};
use rampart_core::record::{ConnectRecord, Headers};
use rampart_core::{ConnectError, ConnectResult};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::config::{OutputFormat, RecordKey, SyslogConfig};
use crate::parse::framing::{Frame, FrameDecoder};
use crate::parse::{self, SyslogMessage};
use crate::record::{self, Received};

/// Counters of one task's listener.
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Messages accepted into the buffer.
    pub received: AtomicU64,
    /// UDP datagrams dropped because the buffer was full.
    pub udp_dropped: AtomicU64,
    /// TCP messages truncated to the maximum size.
    pub truncated: AtomicU64,
    /// TCP messages dropped for being too long.
    pub oversize_rejected: AtomicU64,
    /// Messages refused by strict parsing.
    pub parse_rejected: AtomicU64,
    /// TCP connections accepted.
    pub connections: AtomicU64,
}

impl rampart_core::connector::ConnectorMetrics for ListenerStats {
    fn values(&self) -> Vec<(&'static str, u64)> {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            ("syslog_received_total", get(&self.received)),
            ("syslog_udp_dropped_total", get(&self.udp_dropped)),
            ("syslog_truncated_total", get(&self.truncated)),
            (
                "syslog_oversize_rejected_total",
                get(&self.oversize_rejected),
            ),
            ("syslog_parse_rejected_total", get(&self.parse_rejected)),
            ("syslog_connections_total", get(&self.connections)),
        ]
    }

    // Data lost on the way in is a warning in the task's status.
    fn warning(&self) -> Option<String> {
        let dropped = self.udp_dropped.load(Ordering::Relaxed);
        let rejected = self.oversize_rejected.load(Ordering::Relaxed);
        let mut parts = Vec::new();
        if dropped > 0 {
            parts.push(format!("{dropped} UDP datagrams dropped because the buffer (syslog.queue.max.size) was full"));
        }
        if rejected > 0 {
            parts.push(format!(
                "{rejected} TCP messages over syslog.max.message.bytes dropped"
            ));
        }
        (!parts.is_empty())
            .then(|| format!("data lost since the task started: {}", parts.join("; ")))
    }
}

fn bump(c: &AtomicU64) -> u64 {
    c.fetch_add(1, Ordering::Relaxed) + 1
}

/// One framed message as received, waiting to be parsed.
pub(crate) struct Accepted {
    bytes: Vec<u8>,
    remote: SocketAddr,
    at: DateTime<Utc>,
}

/// Hands framed messages to the task.
#[derive(Clone)]
pub(crate) struct Ingest {
    pub(crate) tx: mpsc::Sender<Accepted>,
    pub(crate) config: Arc<SyslogConfig>,
    pub(crate) stats: Arc<ListenerStats>,
    pub(crate) listener: Arc<str>,
    /// Becomes true when the task drains: stop reading, finish what was read.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Ingest {
    fn accept(bytes: &[u8], remote: SocketAddr) -> Accepted {
        Accepted {
            bytes: bytes.to_vec(),
            remote,
            at: Utc::now(),
        }
    }
}

/// Turns accepted messages into records, in the task.
pub(crate) struct Recorder {
    pub(crate) config: Arc<SyslogConfig>,
    pub(crate) stats: Arc<ListenerStats>,
    pub(crate) listener: Arc<str>,
    /// A reject that must fail the task (strict parsing, `errors.tolerance=none`).
    pub(crate) fatal: Arc<std::sync::Mutex<Option<ConnectError>>>,
}

impl Recorder {
    /// Parses one message. `None` when strict parsing refused it.
    pub(crate) fn record(&self, accepted: &Accepted) -> Option<ConnectRecord> {
        let (bytes, remote) = (accepted.bytes.as_slice(), accepted.remote);
        let received = Received {
            at: accepted.at,
            remote: Some(remote),
        };
        let message = match parse::parse(bytes, received.at, &self.config.parse) {
            Ok(m) => m,
            Err(e) => {
                let n = bump(&self.stats.parse_rejected);
                if !self.config.tolerate_errors {
                    // Nothing is dropped silently: without tolerance the
                    // task fails with the reason, as a Kafka task would.
                    if let Ok(mut f) = self.fatal.lock() {
                        f.get_or_insert_with(|| {
                            ConnectError::Data(rampart_core::DataError::new(format!(
                                "message from {remote} rejected by strict parsing: {e}"
                            )))
                        });
                    }
                } else if n.is_power_of_two() {
                    warn!(listener = %self.listener, %remote, error = %e, rejected = n, "message rejected by strict parsing (errors.tolerance=all)");
                }
                return None;
            }
        };
        Some(self.to_record(&message, &received, remote))
    }

    fn to_record(
        &self,
        message: &SyslogMessage<'_>,
        received: &Received,
        remote: SocketAddr,
    ) -> ConnectRecord {
        let (value_schema, value) = match self.config.format {
            OutputFormat::Confluent => (
                Some(record::value_schema()),
                Value::Struct(record::to_struct(message, received)),
            ),
            OutputFormat::Ecs => (None, record::to_ecs(message, received)),
        };
        let key = match self.config.key {
            RecordKey::Remote => Value::String(remote.ip().to_string()),
            RecordKey::Hostname => message
                .hostname
                .as_deref()
                .map_or(Value::Null, |h| Value::String(h.to_string())),
            RecordKey::None => Value::Null,
        };
        let mut headers = Headers::default();
        headers.add_string("syslog.remote.address", remote.to_string());
        headers.add_string("syslog.listener", self.listener.to_string());
        ConnectRecord {
            topic: self.config.topic.clone(),
            key_schema: (!key.is_null()).then(schemas::optional_string),
            key,
            value_schema,
            value,
            timestamp: Some(received.at.timestamp_millis()),
            headers,
            ..Default::default()
        }
    }
}

/// Binds the task's socket; several tasks share the port (SO_REUSEPORT).
pub(crate) enum Bound {
    Udp(UdpSocket),
    Tcp(TcpListener),
}

pub(crate) fn bind(config: &SyslogConfig) -> ConnectResult<Bound> {
    let addr: SocketAddr = format!("{}:{}", config.address, config.port)
        .parse()
        .or_else(|_| format!("[{}]:{}", config.address, config.port).parse())
        .map_err(|_| {
            ConnectError::BadRequest(format!(
                "invalid listen address {}:{}",
                config.address, config.port
            ))
        })?;
    let fail = |e: std::io::Error| {
        ConnectError::connect(format!("cannot listen on {}: {e}", config.listener_name()))
    };
    match config.transport {
        crate::config::Transport::Udp => {
            use socket2::{Domain, Protocol, Socket, Type};
            let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
                .map_err(fail)?;
            socket.set_reuse_address(true).map_err(fail)?;
            socket.set_reuse_port(true).map_err(fail)?;
            // A large receive buffer absorbs bursts before anything is dropped.
            let _ = socket.set_recv_buffer_size(8 * 1024 * 1024);
            socket.set_nonblocking(true).map_err(fail)?;
            socket.bind(&addr.into()).map_err(fail)?;
            Ok(Bound::Udp(
                UdpSocket::from_std(socket.into()).map_err(fail)?,
            ))
        }
        _ => {
            let socket = if addr.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(fail)?;
            socket.set_reuseaddr(true).map_err(fail)?;
            socket.set_reuseport(true).map_err(fail)?;
            socket.bind(addr).map_err(fail)?;
            Ok(Bound::Tcp(socket.listen(1024).map_err(fail)?))
        }
    }
}

/// Receives datagrams until the channel closes. One datagram is one
/// message (RFC 5426); trailing newlines are trimmed by the parser.
pub(crate) async fn run_udp(socket: UdpSocket, mut ingest: Ingest) -> ConnectResult<()> {
    let mut buf = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            _ = ingest.shutdown.wait_for(|s| *s) => return Ok(()),
        };
        let (n, peer) = received.map_err(|e| {
            ConnectError::connect(format!("UDP receive failed on {}: {e}", ingest.listener))
        })?;
        let Some(bytes) = buf.get(..n) else { continue };
        if bytes.is_empty() {
            continue;
        }
        match ingest.tx.try_send(Ingest::accept(bytes, peer)) {
            Ok(()) => {
                bump(&ingest.stats.received);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = bump(&ingest.stats.udp_dropped);
                if dropped.is_power_of_two() {
                    warn!(listener = %ingest.listener, dropped, "buffer full: UDP datagrams dropped");
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Ok(()),
        }
    }
}

/// Accepts TCP (or TLS) connections until the channel closes.
pub(crate) async fn run_tcp(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut ingest: Ingest,
) -> ConnectResult<()> {
    let limit = Arc::new(Semaphore::new(ingest.config.max_connections));
    loop {
        // Wait for a free slot before accepting: over the limit, senders
        // queue in the kernel's backlog.
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ConnectError::connect("connection limiter closed"))?;
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = ingest.shutdown.wait_for(|s| *s) => return Ok(()),
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                warn!(listener = %ingest.listener, error = %e, "accept failed");
                continue;
            }
        };
        if ingest.tx.is_closed() {
            return Ok(());
        }
        bump(&ingest.stats.connections);
        let ingest = ingest.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => read_stream(s, peer, &ingest).await,
                    Err(e) => {
                        warn!(listener = %ingest.listener, %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => read_stream(stream, peer, &ingest).await,
            };
            if let Err(e) = result {
                debug!(listener = %ingest.listener, %peer, error = %e, "connection closed");
            }
        });
    }
}

/// Reads one connection: RFC 6587 frames, detected per connection.
async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    ingest: &Ingest,
) -> std::io::Result<()> {
    let mut decoder = FrameDecoder::new(ingest.config.framing.clone());
    let mut buf: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut shutdown = ingest.shutdown.clone();
    loop {
        let idle = ingest
            .config
            .idle_timeout
            .unwrap_or(std::time::Duration::MAX);
        let read = tokio::select! {
            r = tokio::time::timeout(idle, stream.read(&mut chunk)) => match r {
                Ok(r) => r?,
                Err(_) => {
                    debug!(listener = %ingest.listener, %peer, "closing idle connection");
                    0
                }
            },
            // Draining: frames already read were handed over; stop here.
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        };
        let eof = read == 0;
        buf.extend_from_slice(chunk.get(..read).unwrap_or_default());
        let mut records = Vec::new();
        let consumed = if eof {
            let mut pos = 0;
            while let Some(step) = decoder.decode_eof(buf.get(pos..).unwrap_or_default()) {
                let base = buf.get(pos..).unwrap_or_default();
                let bytes = match &step.frame {
                    Frame::Message(r) | Frame::Truncated(r) | Frame::Incomplete(r) => {
                        base.get(r.clone()).unwrap_or_default()
                    }
                    Frame::Rejected | Frame::Skipped => &[],
                };
                collect(ingest, &step.frame, bytes, peer, &mut records);
                if step.consumed == 0 {
                    break;
                }
                pos += step.consumed;
            }
            pos
        } else {
            decoder.decode_all(&buf, |frame, bytes| {
                collect(ingest, frame, bytes, peer, &mut records)
            })
        };
        buf.drain(..consumed.min(buf.len()));
        for record in records {
            // Awaiting a full buffer stops reading this socket: TCP flow
            // control then slows the sender instead of memory growing.
            if ingest.tx.send(record).await.is_err() {
                return Ok(());
            }
            bump(&ingest.stats.received);
        }
        if eof {
            return Ok(());
        }
    }
}

fn collect(
    ingest: &Ingest,
    frame: &Frame,
    bytes: &[u8],
    peer: SocketAddr,
    out: &mut Vec<Accepted>,
) {
    match frame {
        Frame::Truncated(_) => {
            let n = bump(&ingest.stats.truncated);
            if n.is_power_of_two() {
                warn!(listener = %ingest.listener, %peer, truncated = n, "message longer than syslog.max.message.bytes truncated");
            }
        }
        Frame::Rejected => {
            let n = bump(&ingest.stats.oversize_rejected);
            if n.is_power_of_two() {
                warn!(listener = %ingest.listener, %peer, rejected = n, "message longer than syslog.max.message.bytes dropped");
            }
            return;
        }
        Frame::Skipped => return,
        Frame::Message(_) | Frame::Incomplete(_) => {}
    }
    if bytes.is_empty() {
        return;
    }
    out.push(Ingest::accept(bytes, peer));
}
