//! RELP, rsyslog's Reliable Event Logging Protocol, as a listener: each
//! `syslog` frame is answered `200 OK` only once its record is in Kafka
//! (`acks=all`), dropped by a transform, or skipped under error tolerance.
//! A sender (rsyslog's `omrelp`) keeps and resends what was not answered,
//! so a crash of the worker loses nothing it acknowledged.
//!
//! Frames are `TXNR SP COMMAND SP DATALEN [SP DATA] LF`; answers are
//! `TXNR rsp DATALEN CODE [SP TEXT] [LF DATA] LF`, in the sender's order.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_core::connector::RecordCommitter;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::listener::{bump, Accepted, IdleClock, Ingest};
use crate::parse::framing::Oversize;

/// Longest frame header accepted: 9-digit TXNR, a 32-letter command and a
/// 9-digit DATALEN, with their spaces.
const MAX_HEADER: usize = 9 + 1 + 32 + 1 + 9 + 1;

/// Frames of one connection read but not yet answered on the wire. A peer
/// that sends without reading answers is not read from past this, so what
/// waits for it (answers, their order) stays bounded. rsyslog's `omrelp`
/// keeps at most its window (128 by default) unanswered.
const MAX_OWED: usize = 1024;

/// How long a peer may leave answers unread, or a full window unanswered,
/// before its connection is closed.
const STALLED_PEER: Duration = Duration::from_secs(60);

/// The count of frames owed an answer, shared by a connection's reader
/// (which adds) and writer (which pays).
#[derive(Default)]
pub(crate) struct Owed {
    frames: AtomicUsize,
    paid: Notify,
}

impl Owed {
    fn add(&self, frames: usize) {
        self.frames.fetch_add(frames, Ordering::SeqCst);
    }

    fn pay(&self, frames: usize) {
        self.frames.fetch_sub(frames, Ordering::SeqCst);
        self.paid.notify_waiters();
    }

    /// Waits until fewer than `max` frames are owed; `false` when no answer
    /// was written for `stall`.
    async fn room(&self, max: usize, stall: Duration) -> bool {
        loop {
            // Created before the check, so a payment in between wakes it.
            let paid = self.paid.notified();
            if self.frames.load(Ordering::SeqCst) < max {
                return true;
            }
            if tokio::time::timeout(stall, paid).await.is_err() {
                return false;
            }
        }
    }
}

/// What the writer of one connection is told.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A `syslog` frame waits for its record to be done with.
    Expect(u64),
    /// The answer to a frame, written once every earlier one is.
    Answer(u64, String),
}

/// One decoded frame.
#[derive(Debug, PartialEq)]
pub struct RelpFrame<'a> {
    /// The transaction number the answer carries.
    pub txnr: u64,
    /// `open`, `syslog`, `close`, …
    pub command: &'a [u8],
    /// At most `max_message_size` bytes of the data.
    pub data: &'a [u8],
    /// The data was longer than `max_message_size`.
    pub oversize: bool,
}

/// Decodes frames from a connection's bytes, holding state across reads
/// only to skip the tail of an oversized frame.
pub struct RelpDecoder {
    max: usize,
    oversize: Oversize,
    /// Data bytes of an oversized frame still to discard, then its LF.
    skip: Option<usize>,
}

impl RelpDecoder {
    /// A decoder keeping at most `max` data bytes of a frame.
    pub fn new(max: usize, oversize: Oversize) -> Self {
        RelpDecoder {
            max,
            oversize,
            skip: None,
        }
    }

    /// Calls `on_frame` for every complete frame in `buf`; returns how many
    /// bytes were used. An error means the stream is not RELP.
    pub fn decode(
        &mut self,
        buf: &[u8],
        mut on_frame: impl FnMut(RelpFrame<'_>),
    ) -> Result<usize, String> {
        let mut pos = 0;
        loop {
            let rest = buf.get(pos..).unwrap_or_default();
            if let Some(left) = self.skip {
                let n = left.min(rest.len());
                pos += n;
                if n < left {
                    self.skip = Some(left - n);
                    return Ok(pos);
                }
                match buf.get(pos) {
                    None => {
                        self.skip = Some(0);
                        return Ok(pos);
                    }
                    Some(b'\n') => {
                        pos += 1;
                        self.skip = None;
                        continue;
                    }
                    Some(_) => return Err("frame does not end with LF".into()),
                }
            }
            let Some((header, data_start)) = header(rest)? else {
                return Ok(pos);
            };
            if header.len == 0 {
                match rest.get(data_start) {
                    None => return Ok(pos),
                    Some(b'\n') => {}
                    Some(_) => return Err("frame does not end with LF".into()),
                }
                on_frame(RelpFrame {
                    txnr: header.txnr,
                    command: header.command,
                    data: &[],
                    oversize: false,
                });
                pos += data_start + 1;
                continue;
            }
            if header.len > self.max {
                // Keep what fits (truncate) or nothing (reject); discard the
                // rest as it arrives rather than buffering it.
                let keep = match self.oversize {
                    Oversize::Truncate => self.max,
                    Oversize::Reject => 0,
                };
                let Some(data) = rest.get(data_start..data_start + keep) else {
                    return Ok(pos);
                };
                on_frame(RelpFrame {
                    txnr: header.txnr,
                    command: header.command,
                    data,
                    oversize: true,
                });
                pos += data_start + keep;
                self.skip = Some(header.len - keep);
                continue;
            }
            let end = data_start + header.len;
            let (Some(data), Some(trailer)) = (rest.get(data_start..end), rest.get(end)) else {
                return Ok(pos);
            };
            if *trailer != b'\n' {
                return Err("frame does not end with LF".into());
            }
            on_frame(RelpFrame {
                txnr: header.txnr,
                command: header.command,
                data,
                oversize: false,
            });
            pos += end + 1;
        }
    }
}

struct Header<'a> {
    txnr: u64,
    command: &'a [u8],
    len: usize,
}

// The header at the start of `rest`, and where its data starts; `None`
// while incomplete. Its three fields end at a space, the last one at a
// space (data follows) or at the frame's LF (no data).
fn header(rest: &[u8]) -> Result<Option<(Header<'_>, usize)>, String> {
    let window = rest.get(..rest.len().min(MAX_HEADER)).unwrap_or_default();
    let mut ends = window
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b' ' || **b == b'\n');
    let (Some((txnr_end, &b1)), Some((command_end, &b2)), Some((len_end, &b3))) =
        (ends.next(), ends.next(), ends.next())
    else {
        if window.contains(&b'\n') {
            return Err("frame header ends early".into());
        }
        if window.len() >= MAX_HEADER {
            return Err("frame header too long".into());
        }
        return Ok(None);
    };
    if b1 != b' ' || b2 != b' ' {
        return Err("frame header ends early".into());
    }
    let txnr_text = window.get(..txnr_end).unwrap_or_default();
    let txnr = digits(txnr_text)
        .filter(|_| txnr_text.len() <= 9)
        .ok_or("TXNR is not a number")?;
    let command = window.get(txnr_end + 1..command_end).unwrap_or_default();
    if command.is_empty() || command.len() > 32 || !command.iter().all(u8::is_ascii_alphabetic) {
        return Err("command is not 1 to 32 letters".into());
    }
    let len_text = window.get(command_end + 1..len_end).unwrap_or_default();
    let len = digits(len_text)
        .filter(|_| len_text.len() <= 9)
        .ok_or("DATALEN is not a number")?;
    let len = usize::try_from(len).map_err(|_| "DATALEN too large")?;
    // After a space comes the data (or, for an empty frame, the LF some
    // senders put after a space); otherwise the frame's LF itself.
    let data_start = if b3 == b' ' { len_end + 1 } else { len_end };
    Ok(Some((Header { txnr, command, len }, data_start)))
}

fn digits(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// An answer frame.
pub(crate) fn encode_answer(txnr: u64, data: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(txnr).as_bytes());
    out.extend_from_slice(b" rsp ");
    out.extend_from_slice(itoa::Buffer::new().format(data.len()).as_bytes());
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data.as_bytes());
    }
    out.push(b'\n');
}

/// The records a RELP task returned, in order, each with the connection
/// and frame to answer once it is done with.
#[derive(Default)]
pub(crate) struct RelpAcks {
    pending: Mutex<VecDeque<(mpsc::UnboundedSender<Reply>, u64)>>,
}

impl RelpAcks {
    /// A record was returned to the framework.
    pub(crate) fn returned(&self, session: &mpsc::UnboundedSender<Reply>, txnr: u64) {
        if let Ok(mut p) = self.pending.lock() {
            p.push_back((session.clone(), txnr));
        }
    }
}

impl RecordCommitter for RelpAcks {
    fn committed(&self, records: usize) {
        let done: Vec<_> = match self.pending.lock() {
            Ok(mut p) => {
                let n = records.min(p.len());
                p.drain(..n).collect()
            }
            Err(_) => return,
        };
        for (session, txnr) in done {
            // A closed connection has nobody left to tell.
            let _ = session.send(Reply::Answer(txnr, "200 OK".into()));
        }
    }
}

/// The RELP frames of one read: where their messages go, and whom to answer.
pub(crate) struct RelpBatch {
    pub(crate) session: mpsc::UnboundedSender<Reply>,
    /// One TXNR per message of the batch, in order.
    pub(crate) txnrs: Vec<u64>,
}

/// Serves one RELP connection until the sender closes it.
pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Send + 'static>(
    stream: S,
    peer: SocketAddr,
    ingest: &Ingest,
) -> std::io::Result<()> {
    serve_bounded(stream, peer, ingest, MAX_OWED, STALLED_PEER).await
}

async fn serve_bounded<S: AsyncRead + AsyncWrite + Send + 'static>(
    stream: S,
    peer: SocketAddr,
    ingest: &Ingest,
    max_owed: usize,
    stall: Duration,
) -> std::io::Result<()> {
    let (mut reader, writer) = tokio::io::split(stream);
    let (session, replies) = mpsc::unbounded_channel();
    let owed = Arc::new(Owed::default());
    let answers = tokio::spawn(write_answers(writer, replies, owed.clone(), stall));
    let framing = &ingest.config.framing;
    let mut decoder = RelpDecoder::new(framing.max_message_size, framing.oversize);
    let mut buf: Vec<u8> = Vec::new();
    let mut shutdown = ingest.shutdown.clone();
    let mut closed = false;
    // A peer trickling a frame that never completes is closed like an
    // idle one (`syslog.idle.timeout.ms`).
    let mut clock = IdleClock::start(ingest.config.idle_timeout);
    while !closed {
        let waiting = Instant::now();
        let room = tokio::select! {
            room = owed.room(max_owed, stall) => room,
            _ = shutdown.wait_for(|s| *s) => break,
        };
        if !room {
            warn!(listener = %ingest.listener, %peer, "RELP peer left a full window unanswered; closing the connection");
            break;
        }
        // Waiting for answers to be written is bounded by `stall` instead.
        clock.extend(waiting.elapsed());
        let read = tokio::select! {
            r = clock.read(&mut reader, &mut buf) => r?,
            // Draining: what was read is handed over and will be answered.
            _ = shutdown.wait_for(|s| *s) => break,
        };
        if read == 0 {
            if clock.expired() {
                debug!(listener = %ingest.listener, %peer, "closing a RELP connection that completed no frame in syslog.idle.timeout.ms");
            }
            break;
        }
        let mut batch = Accepted::new(peer);
        let mut txnrs = Vec::new();
        let mut frames = 0;
        let decoded = decoder.decode(&buf, |frame| {
            frames += 1;
            let reply = match frame.command {
                b"syslog" if frame.oversize && frame.data.is_empty() => {
                    let n = bump(&ingest.stats.oversize_rejected);
                    if n.is_power_of_two() {
                        warn!(listener = %ingest.listener, %peer, rejected = n, "RELP message longer than syslog.max.message.bytes refused");
                    }
                    Reply::Answer(
                        frame.txnr,
                        "500 message longer than syslog.max.message.bytes".into(),
                    )
                }
                b"syslog" => {
                    if frame.oversize {
                        bump(&ingest.stats.truncated);
                    }
                    if frame.data.is_empty() {
                        Reply::Answer(frame.txnr, "200 OK".into())
                    } else {
                        batch.push(frame.data);
                        txnrs.push(frame.txnr);
                        Reply::Expect(frame.txnr)
                    }
                }
                b"open" => Reply::Answer(
                    frame.txnr,
                    "200 OK\nrelp_version=0\nrelp_software=rampart\ncommands=syslog".into(),
                ),
                b"close" => {
                    closed = true;
                    Reply::Answer(frame.txnr, String::new())
                }
                other => Reply::Answer(
                    frame.txnr,
                    format!(
                        "500 command not supported: {}",
                        String::from_utf8_lossy(other)
                    ),
                ),
            };
            let _ = session.send(reply);
        });
        owed.add(frames);
        let consumed = match decoded {
            Ok(n) => n,
            Err(e) => {
                warn!(listener = %ingest.listener, %peer, error = %e, "not a RELP stream; closing the connection");
                closed = true;
                buf.len()
            }
        };
        buf.drain(..consumed.min(buf.len()));
        if batch.len() > 0 {
            batch.relp = Some(RelpBatch {
                session: session.clone(),
                txnrs,
            });
            if !ingest.send(batch).await {
                break;
            }
        }
        if frames > 0 {
            clock.restart();
        }
    }
    // The writer ends once every answer owed on this connection is written.
    drop(session);
    match answers.await {
        Ok(r) => r,
        Err(e) => {
            debug!(%peer, error = %e, "RELP writer stopped");
            Ok(())
        }
    }
}

/// The answers of one connection, in the order of the frames they answer.
#[derive(Default)]
struct AnswerOrder {
    /// From the oldest frame not yet written; `None` while it waits.
    slots: VecDeque<Option<(u64, String)>>,
    /// The sequence number of `slots[0]`.
    first: u64,
    /// Where each awaited TXNR waits, oldest first (a peer may reuse one).
    awaited: HashMap<u64, VecDeque<u64>>,
}

impl AnswerOrder {
    fn push(&mut self, reply: Reply) {
        match reply {
            Reply::Expect(txnr) => {
                let seq = self.first + self.slots.len() as u64;
                self.awaited.entry(txnr).or_default().push_back(seq);
                self.slots.push_back(None);
            }
            Reply::Answer(txnr, text) => {
                let waiting = match self.awaited.get_mut(&txnr) {
                    Some(q) => {
                        let seq = q.pop_front();
                        if q.is_empty() {
                            self.awaited.remove(&txnr);
                        }
                        seq
                    }
                    None => None,
                };
                match waiting
                    .and_then(|seq| self.slots.get_mut(usize::try_from(seq - self.first).ok()?))
                {
                    Some(slot) => *slot = Some((txnr, text)),
                    None => self.slots.push_back(Some((txnr, text))),
                }
            }
        }
    }

    /// Encodes the answers now due into `out`: their count, and whether
    /// one of them closes the connection.
    fn drain_due(&mut self, out: &mut Vec<u8>) -> (usize, bool) {
        let (mut written, mut close) = (0, false);
        while let Some(Some(_)) = self.slots.front() {
            if let Some(Some((txnr, text))) = self.slots.pop_front() {
                self.first += 1;
                written += 1;
                close |= text.is_empty();
                encode_answer(txnr, &text, out);
            }
        }
        (written, close)
    }
}

// Writes answers in the order of the frames they answer; a `close` answer
// (empty) ends the connection, as does a peer that reads nothing for
// `stall`.
async fn write_answers<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut replies: mpsc::UnboundedReceiver<Reply>,
    owed: Arc<Owed>,
    stall: Duration,
) -> std::io::Result<()> {
    let mut order = AnswerOrder::default();
    let mut out = Vec::new();
    while let Some(first) = replies.recv().await {
        order.push(first);
        while let Ok(reply) = replies.try_recv() {
            order.push(reply);
        }
        let (written, close) = order.drain_due(&mut out);
        if !out.is_empty() {
            match tokio::time::timeout(stall, writer.write_all(&out)).await {
                Ok(r) => r?,
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the RELP peer reads no answers",
                    ))
                }
            }
            out.clear();
        }
        owed.pay(written);
        if close {
            return writer.shutdown().await;
        }
    }
    writer.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(
        decoder: &mut RelpDecoder,
        input: &[u8],
    ) -> (Vec<(u64, String, String, bool)>, usize) {
        let mut out = Vec::new();
        let used = decoder
            .decode(input, |f| {
                out.push((
                    f.txnr,
                    String::from_utf8_lossy(f.command).into_owned(),
                    String::from_utf8_lossy(f.data).into_owned(),
                    f.oversize,
                ))
            })
            .expect("valid RELP");
        (out, used)
    }

    #[test]
    fn decodes_a_librelp_session() {
        let input = b"1 open 86 relp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n2 syslog 26 <13>Jan  1 00:00:00 h t: m\n3 close 0\n";
        let mut d = RelpDecoder::new(1024, Oversize::Truncate);
        let (f, used) = frames(&mut d, input);
        assert_eq!(used, input.len());
        assert_eq!(f.len(), 3);
        assert_eq!((f[0].0, f[0].1.as_str()), (1, "open"));
        assert!(f[0].2.contains("commands=syslog"));
        assert_eq!(
            f[1],
            (
                2,
                "syslog".into(),
                "<13>Jan  1 00:00:00 h t: m".into(),
                false
            )
        );
        assert_eq!(f[2], (3, "close".into(), String::new(), false));
    }

    #[test]
    fn waits_for_the_rest_of_a_split_frame_at_every_byte() {
        let input: &[u8] = b"7 syslog 5 hello\n8 syslog 3 abc\n";
        for cut in 0..input.len() {
            let mut d = RelpDecoder::new(1024, Oversize::Truncate);
            let (mut got, used) = frames(&mut d, &input[..cut]);
            let mut rest = input[used..cut].to_vec();
            rest.extend_from_slice(&input[cut..]);
            let (more, used2) = frames(&mut d, &rest);
            assert_eq!(used2, rest.len(), "cut at {cut}");
            got.extend(more);
            let texts: Vec<_> = got.iter().map(|f| (f.0, f.2.as_str())).collect();
            assert_eq!(texts, [(7, "hello"), (8, "abc")], "cut at {cut}");
        }
    }

    #[test]
    fn oversized_data_is_truncated_or_refused_without_buffering_it() {
        let input = b"1 syslog 10 0123456789\n2 syslog 2 ok\n";
        let mut d = RelpDecoder::new(4, Oversize::Truncate);
        let (f, _) = frames(&mut d, input);
        assert_eq!(f[0], (1, "syslog".into(), "0123".into(), true));
        assert_eq!(f[1], (2, "syslog".into(), "ok".into(), false));
        let mut d = RelpDecoder::new(4, Oversize::Reject);
        // The tail arrives in a later read: it is skipped, not kept.
        let (f, used) = frames(&mut d, &input[..15]);
        assert_eq!(f, [(1, "syslog".into(), String::new(), true)]);
        assert_eq!(used, 15);
        let (f, _) = frames(&mut d, &input[15..]);
        assert_eq!(f, [(2, "syslog".into(), "ok".into(), false)]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b"x syslog 1 a\n"[..],
            b"1 sys!og 1 a\n",
            b"1 syslog 3 abcX",
            b"1 syslog z a\n",
            b"1\n",
            b"1234567890123 syslog 1 a\n",
            &[b'9'; 200],
        ] {
            let mut d = RelpDecoder::new(1024, Oversize::Truncate);
            assert!(d.decode(bad, |_| {}).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_overrun() {
        // A fixed pseudo-random walk over RELP-like bytes; the fuzz target
        // (fuzz/fuzz_targets/syslog_parse.rs) does the same unbounded.
        let alphabet = b"0123456789 \nsyslogopenclse\x00\xff";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut input = Vec::new();
            for _ in 0..(seed % 64) {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                input.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            let oversize = if seed & 1 == 0 {
                Oversize::Truncate
            } else {
                Oversize::Reject
            };
            let mut d = RelpDecoder::new(1 + (seed % 8) as usize, oversize);
            if let Ok(used) = d.decode(&input, |f| assert!(f.data.len() <= 8)) {
                assert!(used <= input.len());
            }
        }
    }

    #[test]
    fn answers_follow_the_order_of_the_frames() {
        let mut out = Vec::new();
        encode_answer(2, "200 OK", &mut out);
        encode_answer(3, "", &mut out);
        assert_eq!(out, b"2 rsp 6 200 OK\n3 rsp 0\n");
    }

    #[tokio::test]
    async fn the_writer_holds_an_answer_until_earlier_frames_are_answered() {
        let (client, server) = tokio::io::duplex(1024);
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_answers(server, rx, Arc::default(), STALLED_PEER));
        let acks = RelpAcks::default();
        for txnr in [2, 3] {
            tx.send(Reply::Expect(txnr)).expect("writer runs");
            acks.returned(&tx, txnr);
        }
        // A refused frame after them is answered only after both.
        tx.send(Reply::Answer(4, "500 no".into()))
            .expect("writer runs");
        tx.send(Reply::Answer(5, String::new()))
            .expect("writer runs");
        acks.committed(1);
        acks.committed(1);
        drop(tx);
        drop(acks);
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut { client }, &mut text)
            .await
            .expect("answers");
        assert_eq!(
            text,
            "2 rsp 6 200 OK\n3 rsp 6 200 OK\n4 rsp 6 500 no\n5 rsp 0\n"
        );
        writer.await.expect("writer").expect("written");
    }

    fn relp_ingest(
        extra: &[(&str, &str)],
    ) -> (
        Ingest,
        crate::listener::Buffer,
        tokio::sync::watch::Sender<bool>,
    ) {
        let config: rampart_core::connector::Config = [
            ("topic", "syslog"),
            ("syslog.listener", "RELP"),
            ("syslog.port", "2514"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let config = Arc::new(crate::config::SyslogConfig::parse(&config).expect("valid config"));
        let (buffer, tx, room) =
            crate::listener::Buffer::new(config.queue_max, config.queue_max_bytes);
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let ingest = Ingest {
            tx,
            room,
            config,
            stats: Arc::default(),
            listener: "relp://127.0.0.1:2514".into(),
            shutdown: shutdown_rx,
        };
        (ingest, buffer, shutdown)
    }

    // The clock is paused: once every task waits, time jumps to the next
    // timer, so a write that times out is one that could never finish.
    #[tokio::test(start_paused = true)]
    async fn a_peer_that_reads_no_answers_is_read_no_further_and_then_closed() {
        const MAX_OWED: usize = 64;
        let (ingest, _buffer, _shutdown) = relp_ingest(&[]);
        let (mut client, server) = tokio::io::duplex(4096);
        let peer: SocketAddr = "192.0.2.9:40000".parse().expect("address");
        let stall = Duration::from_secs(60);
        let served =
            tokio::spawn(
                async move { serve_bounded(server, peer, &ingest, MAX_OWED, stall).await },
            );
        let mut sent = 0usize;
        for txnr in 1..=100_000u64 {
            let frame = format!("{txnr} bogus 0\n");
            let write = tokio::time::timeout(
                Duration::from_secs(1),
                tokio::io::AsyncWriteExt::write_all(&mut client, frame.as_bytes()),
            );
            if write.await.is_err() {
                break;
            }
            sent += 1;
        }
        // Answers fill the 4 KiB the client never reads, the owed frames
        // reach the bound, and reading stops: a few thousand frames at most
        // (the bound, what one read decodes, and the pipe's own 4 KiB).
        assert!(
            sent < 2_000,
            "{sent} frames were taken from a peer that reads nothing"
        );
        // With nothing read for `stall`, the connection is closed.
        let closed = tokio::time::timeout(stall * 3, served).await;
        let result = closed.expect("connection closed").expect("serve ran");
        assert_eq!(
            result.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::TimedOut),
            "closed for stalling"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn slowloris_a_peer_trickling_a_frame_is_closed_at_the_idle_timeout() {
        let (ingest, mut buffer, _shutdown) = relp_ingest(&[("syslog.idle.timeout.ms", "1000")]);
        let (client, server) = tokio::io::duplex(4096);
        let peer: SocketAddr = "192.0.2.9:40000".parse().expect("address");
        let served = tokio::spawn(async move { serve(server, peer, &ingest).await });
        let (mut answers, mut client) = tokio::io::split(client);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"1 open 0\n")
            .await
            .expect("sent");
        let started = tokio::time::Instant::now();
        // A frame announcing 60,000 bytes, sent a byte every 100 ms.
        let trickle = crate::listener::tests::trickle(
            &mut client,
            b"2 syslog 60000 ".iter().chain(std::iter::repeat(&b'x')),
        );
        let closed = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::join!(trickle, served).1
        })
        .await
        .expect("the trickling peer was closed");
        closed.expect("serve ran").expect("closed without error");
        let held = started.elapsed();
        assert!(
            held >= Duration::from_millis(900) && held < Duration::from_millis(1500),
            "held for {held:?}"
        );
        // The unfinished frame is neither queued nor answered: the peer
        // resends it, as RELP intends.
        assert!(buffer.try_recv().is_none());
        let mut answered = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut answers, &mut answered)
            .await
            .expect("closed");
        let answered = String::from_utf8_lossy(&answered);
        assert!(answered.starts_with("1 rsp "), "{answered}");
        assert!(!answered.contains("\n2 rsp"), "{answered}");
    }

    #[test]
    fn answers_are_placed_by_txnr_even_when_one_is_reused() {
        let mut order = AnswerOrder::default();
        for txnr in [7, 8, 7] {
            order.push(Reply::Expect(txnr));
        }
        order.push(Reply::Answer(8, "200 OK".into()));
        let mut out = Vec::new();
        assert_eq!(
            order.drain_due(&mut out),
            (0, false),
            "7 is not answered yet"
        );
        order.push(Reply::Answer(7, "200 OK".into()));
        assert_eq!(order.drain_due(&mut out), (2, false));
        order.push(Reply::Answer(9, String::new()));
        order.push(Reply::Answer(7, "200 OK".into()));
        assert_eq!(order.drain_due(&mut out), (2, true));
        assert_eq!(
            String::from_utf8(out).expect("text"),
            "7 rsp 6 200 OK\n8 rsp 6 200 OK\n7 rsp 6 200 OK\n9 rsp 0\n"
        );
        assert!(order.awaited.is_empty() && order.slots.is_empty());
    }
}
