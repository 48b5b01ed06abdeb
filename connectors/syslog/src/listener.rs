//! Sockets: UDP datagrams and TCP/TLS streams become framed messages in a
//! buffer bounded in messages (`syslog.queue.max.size`). A full buffer
//! pauses TCP reads (the sender slows down) and drops UDP datagrams, which
//! are counted. The task parses them into records as it polls: a queued
//! message costs its bytes (~200), where a parsed record costs ten times
//! that, so the buffer's memory stays small.
//!
//! The messages of one TCP read travel together, in one allocation and one
//! channel send: per message, those cost more than parsing did.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_core::backoff::AcceptBackoff;
use rampart_core::data::{schemas, Value};
use rampart_core::record::{ConnectRecord, Headers};
use rampart_core::{ConnectError, ConnectResult};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::sync::{mpsc, watch, Semaphore, TryAcquireError};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

use crate::config::{OutputFormat, RecordKey, SyslogConfig, Transport};
use crate::parse::framing::{Frame, FrameDecoder};
use crate::parse::{self, SyslogMessage};
use crate::record::{self, Received};
use crate::relp::{self, RelpAcks, RelpBatch};

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

pub(crate) fn bump(c: &AtomicU64) -> u64 {
    c.fetch_add(1, Ordering::Relaxed) + 1
}

/// Framed messages from one read of one socket, waiting to be parsed.
pub(crate) struct Accepted {
    /// The messages, back to back.
    bytes: Vec<u8>,
    /// Where each message ends in `bytes`.
    ends: Vec<usize>,
    remote: SocketAddr,
    at: DateTime<Utc>,
    /// Buffer slots and bytes held until the task takes the messages.
    permits: Held,
    /// For RELP: whom to answer for each message.
    pub(crate) relp: Option<RelpBatch>,
}

impl Accepted {
    pub(crate) fn new(remote: SocketAddr) -> Self {
        Accepted {
            bytes: Vec::new(),
            ends: Vec::new(),
            remote,
            at: Utc::now(),
            permits: Held::default(),
            relp: None,
        }
    }

    pub(crate) fn push(&mut self, message: &[u8]) {
        self.bytes.extend_from_slice(message);
        self.ends.push(self.bytes.len());
    }

    /// How many messages it holds.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    fn messages(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(from, to)| self.bytes.get(from..to).unwrap_or_default())
    }
}

/// What a batch holds of the buffer's room.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Held {
    messages: u32,
    bytes: u32,
}

/// The buffer's room: one permit per message and one per byte, so long
/// messages cannot fill `syslog.queue.max.size` slots with gigabytes. Both
/// are always taken in the same order, messages first, so two senders can
/// never each hold what the other waits for.
#[derive(Clone)]
pub(crate) struct Room {
    messages: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    max_messages: usize,
    max_bytes: usize,
}

impl Room {
    fn new(max_messages: usize, max_bytes: usize) -> Self {
        let max_messages = max_messages.clamp(1, Semaphore::MAX_PERMITS);
        // acquire_many takes a u32.
        let max_bytes = max_bytes.clamp(1, u32::MAX as usize);
        Room {
            messages: Arc::new(Semaphore::new(max_messages)),
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_messages,
            max_bytes,
        }
    }

    /// What a batch of `messages` and `bytes` must hold: all of it, or the
    /// whole buffer for a batch larger than it.
    fn wanted(&self, messages: usize, bytes: usize) -> Held {
        let clamp = |n: usize, max: usize| u32::try_from(n.clamp(1, max)).unwrap_or(u32::MAX);
        Held {
            messages: clamp(messages, self.max_messages),
            bytes: clamp(bytes, self.max_bytes),
        }
    }

    /// Waits for room; `None` once the buffer is gone.
    async fn acquire(&self, messages: usize, bytes: usize) -> Option<Held> {
        let want = self.wanted(messages, bytes);
        self.messages
            .acquire_many(want.messages)
            .await
            .ok()?
            .forget();
        match self.bytes.acquire_many(want.bytes).await {
            Ok(p) => p.forget(),
            Err(_) => return None,
        }
        Some(want)
    }

    /// Room now, or why not.
    fn try_acquire(&self, messages: usize, bytes: usize) -> Result<Held, TryAcquireError> {
        let want = self.wanted(messages, bytes);
        self.messages.try_acquire_many(want.messages)?.forget();
        match self.bytes.try_acquire_many(want.bytes) {
            Ok(p) => p.forget(),
            Err(e) => {
                self.messages.add_permits(want.messages as usize);
                return Err(e);
            }
        }
        Ok(want)
    }

    fn release(&self, held: Held) {
        self.messages.add_permits(held.messages as usize);
        self.bytes.add_permits(held.bytes as usize);
    }
}

/// The buffer between the sockets and the task: a channel of batches,
/// bounded by [`Room`].
pub(crate) struct Buffer {
    rx: mpsc::UnboundedReceiver<Accepted>,
    room: Room,
}

impl Buffer {
    /// The buffer and the sending side the listener gets through `Ingest`.
    pub(crate) fn new(
        max_messages: usize,
        max_bytes: usize,
    ) -> (Self, mpsc::UnboundedSender<Accepted>, Room) {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = Room::new(max_messages, max_bytes);
        (
            Buffer {
                rx,
                room: room.clone(),
            },
            tx,
            room,
        )
    }

    /// The next batch; `None` once every reader has stopped. Cancel-safe.
    pub(crate) async fn recv(&mut self) -> Option<Accepted> {
        let batch = self.rx.recv().await?;
        self.room.release(batch.permits);
        Some(batch)
    }

    /// A batch if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Option<Accepted> {
        let batch = self.rx.try_recv().ok()?;
        self.room.release(batch.permits);
        Some(batch)
    }
}

/// Hands framed messages to the task.
#[derive(Clone)]
pub(crate) struct Ingest {
    pub(crate) tx: mpsc::UnboundedSender<Accepted>,
    /// The room the buffer still has.
    pub(crate) room: Room,
    pub(crate) config: Arc<SyslogConfig>,
    pub(crate) stats: Arc<ListenerStats>,
    pub(crate) listener: Arc<str>,
    /// Becomes true when the task drains: stop reading, finish what was read.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Ingest {
    /// Queues a batch, waiting for room (TCP: the sender is slowed by flow
    /// control meanwhile). `false` once the task has gone.
    pub(crate) async fn send(&self, mut batch: Accepted) -> bool {
        // A batch larger than the whole buffer waits for all of it.
        let Some(held) = self.room.acquire(batch.len(), batch.bytes.len()).await else {
            return false;
        };
        batch.permits = held;
        let n = batch.len() as u64;
        if self.tx.send(batch).is_err() {
            return false;
        }
        self.stats.received.fetch_add(n, Ordering::Relaxed);
        true
    }
}

/// Turns accepted messages into records, in the task.
pub(crate) struct Recorder {
    pub(crate) config: Arc<SyslogConfig>,
    pub(crate) stats: Arc<ListenerStats>,
    pub(crate) listener: Arc<str>,
    /// A reject that must fail the task (strict parsing, `errors.tolerance=none`).
    pub(crate) fatal: Arc<std::sync::Mutex<Option<ConnectError>>>,
    /// RELP: the frames to answer as records are done with.
    pub(crate) relp: Option<Arc<RelpAcks>>,
}

impl Recorder {
    /// Parses a batch's messages into `out`; messages refused by strict
    /// parsing are counted (and fail the task without error tolerance).
    pub(crate) fn record(&self, accepted: &Accepted, out: &mut Vec<ConnectRecord>) {
        let remote = accepted.remote;
        let received = Received {
            at: accepted.at,
            remote: Some(remote),
        };
        // Formatted once per batch, not per message.
        let remote_header = remote.to_string();
        let relp = accepted.relp.as_ref().zip(self.relp.as_ref());
        for (i, bytes) in accepted.messages().enumerate() {
            let txnr = relp.and_then(|(b, _)| b.txnrs.get(i).copied());
            let message = match parse::parse(bytes, received.at, &self.config.parse) {
                Ok(m) => m,
                Err(e) => {
                    self.reject(remote, &e);
                    // Refused and counted (or failing the task): the sender
                    // hears so, and does not resend it.
                    if let (Some((b, _)), Some(t)) = (relp, txnr) {
                        let _ = b.session.send(relp::Reply::Answer(
                            t,
                            format!("500 rejected by strict parsing: {e}"),
                        ));
                    }
                    continue;
                }
            };
            out.push(self.to_record(&message, &received, &remote_header));
            if let (Some((b, acks)), Some(t)) = (relp, txnr) {
                acks.returned(&b.session, t);
            }
        }
    }

    fn reject(&self, remote: SocketAddr, e: &parse::ParseError) {
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
    }

    fn to_record(
        &self,
        message: &SyslogMessage<'_>,
        received: &Received,
        remote_header: &str,
    ) -> ConnectRecord {
        let remote = received.remote.unwrap_or(([0, 0, 0, 0], 0).into());
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
        // The sender's address and port: the value has the address alone.
        // One header, not more: each costs librdkafka three allocations per
        // record, and a second header (the listener, the same on every
        // record of a task) cost 4% of the pipeline's CPU.
        let mut headers = Headers::default();
        headers.add_string(REMOTE_ADDRESS_HEADER, remote_header.to_string());
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

/// The header naming the sender's address and port.
pub const REMOTE_ADDRESS_HEADER: &str = "syslog.remote.address";

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
        let held = match ingest.room.try_acquire(1, bytes.len()) {
            Ok(held) => held,
            Err(TryAcquireError::NoPermits) => {
                let dropped = bump(&ingest.stats.udp_dropped);
                if dropped.is_power_of_two() {
                    warn!(listener = %ingest.listener, dropped, "buffer full: UDP datagrams dropped");
                }
                continue;
            }
            Err(TryAcquireError::Closed) => return Ok(()),
        };
        let mut batch = Accepted::new(peer);
        batch.push(bytes);
        batch.permits = held;
        if ingest.tx.send(batch).is_err() {
            return Ok(());
        }
        bump(&ingest.stats.received);
    }
}

/// A sender that has not finished its TLS handshake by then is dropped, so
/// a silent connection cannot hold one of `syslog.max.connections`.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts TCP (or TLS) connections until the channel closes.
pub(crate) async fn run_tcp(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    ingest: Ingest,
) -> ConnectResult<()> {
    run_tcp_with(listener, tls, ingest, TLS_HANDSHAKE_TIMEOUT).await
}

async fn run_tcp_with(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut ingest: Ingest,
    handshake: Duration,
) -> ConnectResult<()> {
    let limit = Arc::new(Semaphore::new(ingest.config.max_connections));
    let mut backoff = AcceptBackoff::default();
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
            Ok(a) => {
                backoff.accepted();
                a
            }
            Err(e) => {
                let delay = backoff.failed();
                warn!(listener = %ingest.listener, error = %e, retry_in = ?delay, "accept failed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = ingest.shutdown.wait_for(|s| *s) => return Ok(()),
                }
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
                Some(acceptor) => {
                    match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => read_stream(s, peer, &ingest).await,
                        Ok(Err(e)) => {
                            warn!(listener = %ingest.listener, %peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            warn!(listener = %ingest.listener, %peer, "TLS handshake not finished in time; closing");
                            return;
                        }
                    }
                }
                None if ingest.config.transport == Transport::Relp => {
                    relp::serve(stream, peer, &ingest).await
                }
                None => read_stream(stream, peer, &ingest).await,
            };
            if let Err(e) = result {
                debug!(listener = %ingest.listener, %peer, error = %e, "connection closed");
            }
        });
    }
}

/// Bytes read from a TCP connection at a time.
const READ_SIZE: usize = 16 * 1024;

// Appends up to `READ_SIZE` bytes; cancel-safe like `read`.
pub(crate) async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    buf.reserve(READ_SIZE);
    let mut limited = (&mut *stream).take(READ_SIZE as u64);
    limited.read_buf(buf).await
}

/// `syslog.idle.timeout.ms` of one connection: by when it must complete
/// its next message. Bytes that complete none (part of a line, the skipped
/// rest of an oversized one) do not move the deadline, or a sender
/// trickling a byte at a time, or streaming a line that never ends, would
/// hold one of `syslog.max.connections` for ever.
pub(crate) struct IdleClock {
    limit: Option<Duration>,
    /// `None`: no timeout (or one too far away to represent).
    deadline: Option<Instant>,
}

impl IdleClock {
    pub(crate) fn start(limit: Option<Duration>) -> Self {
        let mut clock = IdleClock {
            limit,
            deadline: None,
        };
        clock.restart();
        clock
    }

    /// A message was completed (and handed over): the whole time again.
    /// Time spent waiting for room in the buffer is the worker's, not the
    /// sender's, so callers restart after that wait.
    pub(crate) fn restart(&mut self) {
        self.deadline = self.limit.and_then(|l| Instant::now().checked_add(l));
    }

    /// Moves the deadline by a time the worker spent not reading.
    pub(crate) fn extend(&mut self, by: Duration) {
        self.deadline = self.deadline.and_then(|d| d.checked_add(by));
    }

    pub(crate) fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Reads like [`read_more`] until the deadline; after it, `Ok(0)` as at
    /// end of stream. Bytes already waiting get one read first, but a
    /// sender that always has more cannot keep a connection past it.
    pub(crate) async fn read<S: AsyncRead + Unpin>(
        &self,
        stream: &mut S,
        buf: &mut Vec<u8>,
    ) -> std::io::Result<usize> {
        match self.deadline {
            None => read_more(stream, buf).await,
            Some(_) if self.expired() => Ok(0),
            Some(d) => tokio::time::timeout_at(d, read_more(stream, buf))
                .await
                .unwrap_or(Ok(0)),
        }
    }
}

/// Reads one connection: RFC 6587 frames, detected per connection.
async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    ingest: &Ingest,
) -> std::io::Result<()> {
    let mut decoder = FrameDecoder::new(ingest.config.framing.clone());
    let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
    let mut shutdown = ingest.shutdown.clone();
    let mut clock = IdleClock::start(ingest.config.idle_timeout);
    loop {
        let read = tokio::select! {
            // Straight into the frame buffer, after any partial frame.
            r = clock.read(&mut stream, &mut buf) => r?,
            // Draining: frames already read were handed over; stop here.
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        };
        if read == 0 && clock.expired() {
            debug!(listener = %ingest.listener, %peer, "closing a connection that completed no message in syslog.idle.timeout.ms");
        }
        let eof = read == 0;
        let mut completed = false;
        let mut batch = Accepted::new(peer);
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
                completed |= collect(ingest, &step.frame, bytes, peer, &mut batch);
                if step.consumed == 0 {
                    break;
                }
                pos += step.consumed;
            }
            pos
        } else {
            decoder.decode_all(&buf, |frame, bytes| {
                completed |= collect(ingest, frame, bytes, peer, &mut batch);
            })
        };
        buf.drain(..consumed.min(buf.len()));
        // Awaiting a full buffer stops reading this socket: TCP flow
        // control then slows the sender instead of memory growing.
        if batch.len() > 0 && !ingest.send(batch).await {
            return Ok(());
        }
        if eof {
            return Ok(());
        }
        if completed {
            clock.restart();
        }
    }
}

/// Adds a frame's message to `out`, counting oversized ones; whether the
/// frame completed a message (kept, truncated or dropped), not just
/// skipped bytes.
fn collect(
    ingest: &Ingest,
    frame: &Frame,
    bytes: &[u8],
    peer: SocketAddr,
    out: &mut Accepted,
) -> bool {
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
            return true;
        }
        Frame::Skipped => return false,
        Frame::Message(_) | Frame::Incomplete(_) => {}
    }
    if !bytes.is_empty() {
        out.push(bytes);
    }
    true
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes `bytes` one every 100 ms until the peer closes.
    pub(crate) async fn trickle<'a, W: tokio::io::AsyncWrite + Unpin>(
        to: &mut W,
        bytes: impl Iterator<Item = &'a u8>,
    ) {
        for b in bytes {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if tokio::io::AsyncWriteExt::write_all(to, &[*b])
                .await
                .is_err()
            {
                return;
            }
        }
    }

    #[tokio::test]
    async fn the_buffer_is_bounded_in_bytes_as_well_as_messages() {
        let room = Room::new(1000, 1024);
        let first = room.try_acquire(1, 600).expect("room for 600 bytes");
        assert!(matches!(
            room.try_acquire(1, 600),
            Err(TryAcquireError::NoPermits)
        ));
        // The message slot the failed try took is given back.
        assert_eq!(room.messages.available_permits(), 999);
        room.release(first);
        let second = room.try_acquire(1, 600).expect("room once released");
        room.release(second);
        // A message larger than the whole buffer passes, alone.
        let big = room.acquire(1, 5000).await.expect("the buffer is open");
        assert_eq!(big.bytes, 1024);
        assert!(room.try_acquire(1, 1).is_err());
        room.release(big);
        assert_eq!(room.bytes.available_permits(), 1024);
    }

    /// A TCP listener's ingest with `extra` settings, and its buffer.
    fn tcp_ingest(extra: &[(&str, &str)]) -> (Ingest, Buffer, watch::Sender<bool>) {
        let config: rampart_core::connector::Config = [
            ("topic", "syslog"),
            ("syslog.listener", "TCP"),
            ("syslog.port", "5514"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = Arc::new(SyslogConfig::parse(&config).expect("valid config"));
        let (buffer, tx, room) = Buffer::new(config.queue_max, config.queue_max_bytes);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let ingest = Ingest {
            tx,
            room,
            config,
            stats: Arc::default(),
            listener: "tcp://127.0.0.1:5514".into(),
            shutdown: shutdown_rx,
        };
        (ingest, buffer, shutdown)
    }

    fn messages(buffer: &mut Buffer) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(batch) = buffer.try_recv() {
            out.extend(batch.messages().map(<[u8]>::to_vec));
        }
        out
    }

    // The clock is paused: it jumps whenever every task waits, so the
    // sender's pauses and the idle timeout cost no real time.
    #[tokio::test(start_paused = true)]
    async fn slowloris_a_sender_trickling_a_line_is_closed_at_the_idle_timeout() {
        let (ingest, mut buffer, _shutdown) = tcp_ingest(&[("syslog.idle.timeout.ms", "1000")]);
        let (mut client, server) = tokio::io::duplex(4096);
        let peer: SocketAddr = "192.0.2.9:40000".parse().expect("address");
        let reader = tokio::spawn(async move { read_stream(server, peer, &ingest).await });
        // A line, then a byte every 100 ms: never idle for a second, but
        // never a second line either.
        tokio::io::AsyncWriteExt::write_all(&mut client, b"<13>whole\n")
            .await
            .expect("sent");
        let started = tokio::time::Instant::now();
        let trickle = trickle(&mut client, b"<13>never ends ".iter().cycle());
        let closed = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(trickle, reader).1
        })
        .await
        .expect("the trickling sender was closed");
        closed.expect("reader ran").expect("closed without error");
        let held = started.elapsed();
        assert!(
            held >= Duration::from_millis(900) && held < Duration::from_millis(1500),
            "held for {held:?}"
        );
        // Closed like at end of stream: the unfinished line is kept.
        let got = messages(&mut buffer);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], b"<13>whole");
        assert!(got[1].starts_with(b"<13>never"), "{got:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_that_never_ends_is_truncated_once_and_closed_at_the_idle_timeout() {
        let (ingest, mut buffer, _shutdown) = tcp_ingest(&[
            ("syslog.idle.timeout.ms", "1000"),
            ("syslog.max.message.bytes", "1024"),
        ]);
        let stats = ingest.stats.clone();
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let peer: SocketAddr = "192.0.2.9:40000".parse().expect("address");
        let reader = tokio::spawn(async move { read_stream(server, peer, &ingest).await });
        // 16 KiB every millisecond, with no LF: always more to read.
        let stream = async {
            let chunk = [b'x'; 16 * 1024];
            let mut sent = 0usize;
            loop {
                if tokio::io::AsyncWriteExt::write_all(&mut client, &chunk)
                    .await
                    .is_err()
                {
                    return sent;
                }
                sent += chunk.len();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        let (sent, closed) = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(stream, reader)
        })
        .await
        .expect("the endless line's sender was closed");
        closed.expect("reader ran").expect("closed without error");
        assert!(sent > 10 * 1024 * 1024, "only {sent} bytes were sent");
        let got = messages(&mut buffer);
        assert_eq!(got, vec![vec![b'x'; 1024]], "its first 1024 bytes, once");
        assert_eq!(stats.truncated.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sender_completing_messages_slowly_is_not_idle() {
        let (ingest, mut buffer, _shutdown) = tcp_ingest(&[("syslog.idle.timeout.ms", "1000")]);
        let (mut client, server) = tokio::io::duplex(4096);
        let peer: SocketAddr = "192.0.2.9:40000".parse().expect("address");
        let reader = tokio::spawn(async move { read_stream(server, peer, &ingest).await });
        // Each line takes 800 ms, in two halves: 10 s in all.
        for i in 0..12 {
            for half in [format!("<13>line {i}"), "\n".to_string()] {
                tokio::time::sleep(Duration::from_millis(400)).await;
                tokio::io::AsyncWriteExt::write_all(&mut client, half.as_bytes())
                    .await
                    .expect("still open");
            }
        }
        drop(client);
        reader
            .await
            .expect("reader ran")
            .expect("closed without error");
        assert_eq!(messages(&mut buffer).len(), 12);
    }

    #[test]
    fn records_carry_the_sender_address_and_port_in_a_header() {
        let config: rampart_core::connector::Config = [
            ("topic", "syslog"),
            ("syslog.listener", "TCP"),
            ("syslog.port", "5514"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = Arc::new(SyslogConfig::parse(&config).expect("valid config"));
        let recorder = Recorder {
            config,
            stats: Arc::default(),
            listener: "tcp://0.0.0.0:5514".into(),
            fatal: Arc::default(),
            relp: None,
        };
        let mut batch = Accepted::new("192.0.2.7:40123".parse().expect("address"));
        batch.push(b"<38>Dec 10 06:55:46 LabSZ sshd[24200]: Accepted password");
        batch.push(b"<13>Dec 10 06:55:47 LabSZ su: session opened");
        let mut out = Vec::new();
        recorder.record(&batch, &mut out);
        assert_eq!(out.len(), 2);
        for record in &out {
            assert_eq!(record.topic, "syslog");
            let headers: Vec<_> = record.headers.iter().collect();
            assert_eq!(headers.len(), 1, "{headers:?}");
            assert_eq!(headers[0].key, REMOTE_ADDRESS_HEADER);
            assert_eq!(
                headers[0].value,
                Value::String("192.0.2.7:40123".into()),
                "address and port of the sender"
            );
        }
    }

    #[tokio::test]
    async fn a_silent_tls_peer_is_dropped_and_frees_its_connection_slot() {
        let data = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
        let pair = format!("{data}/localhost.pem");
        let config: rampart_core::connector::Config = [
            ("topic", "syslog"),
            ("syslog.listener", "TCPSSL"),
            ("syslog.port", "6514"),
            ("syslog.max.connections", "1"),
            ("syslog.ssl.cert.chain.path", pair.as_str()),
            ("syslog.ssl.key.path", pair.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = Arc::new(SyslogConfig::parse(&config).expect("valid config"));
        let (mut buffer, tx, room) = Buffer::new(config.queue_max, config.queue_max_bytes);
        let (_shutdown, shutdown_rx) = watch::channel(false);
        let ingest = Ingest {
            tx,
            room,
            config,
            stats: Arc::default(),
            listener: "tls://127.0.0.1".into(),
            shutdown: shutdown_rx,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let acceptor = crate::tls::acceptor(&pair, &pair, None).expect("test pair loads");
        tokio::spawn(run_tcp_with(
            listener,
            Some(acceptor),
            ingest,
            Duration::from_millis(300),
        ));

        let mut silent = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        // The only slot is the silent peer's until its handshake times out.
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        let ca = std::fs::read(format!("{data}/ca.pem")).expect("test CA");
        for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(ca.as_slice())) {
            roots.add(cert.expect("certificate")).expect("trusted");
        }
        let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
        let sender = async {
            let tcp = tokio::net::TcpStream::connect(address)
                .await
                .expect("connect");
            let name =
                tokio_rustls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
            let mut tls = tokio_rustls::TlsConnector::from(Arc::new(client))
                .connect(name, tcp)
                .await
                .expect("handshake");
            tokio::io::AsyncWriteExt::write_all(&mut tls, b"<13>1 - fw01 app - - - over tls\n")
                .await
                .expect("sent");
            tokio::io::AsyncWriteExt::flush(&mut tls)
                .await
                .expect("sent");
            tls
        };
        let (_tls, batch) = tokio::time::timeout(Duration::from_secs(20), async {
            let tls = sender.await;
            (tls, buffer.recv().await)
        })
        .await
        .expect("the second sender was served once the silent one was dropped");
        let batch = batch.expect("a batch");
        assert_eq!(
            batch.messages().collect::<Vec<_>>(),
            vec![b"<13>1 - fw01 app - - - over tls".as_slice()]
        );
        let mut rest = Vec::new();
        let read = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::io::AsyncReadExt::read_to_end(&mut silent, &mut rest),
        )
        .await
        .expect("the silent peer was closed");
        assert!(read.is_ok() && rest.is_empty(), "{read:?} {rest:?}");
    }
}
