//! RFC 6587 framing of syslog over TCP (and TLS, RFC 5425).
//!
//! A connection uses either octet counting (`MSG-LEN SP SYSLOG-MSG`, §3.4.1)
//! or non-transparent framing (messages ended by LF, §3.4.2, and optionally
//! NUL, which some senders use). As §3.4 suggests, the first byte of the
//! connection decides: a digit means octet counting, anything else (`<`)
//! non-transparent framing.
//!
//! The decoder holds no buffer: the caller keeps the bytes read so far,
//! calls [`FrameDecoder::decode`] (or [`FrameDecoder::decode_all`]) and
//! drops the consumed prefix. Frames split across reads are returned once
//! the rest arrives. Messages longer than the maximum are truncated or
//! rejected and reported, so the caller never buffers more than
//! `max_message_size` plus a length header.

use std::ops::Range;

/// The framing of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `123 <34>1 …`
    OctetCounting,
    /// `<34>1 …\n`
    NonTransparent,
}

/// What happens to a message longer than the maximum size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversize {
    /// Keep the first `max_message_size` bytes, drop the rest.
    Truncate,
    /// Drop the message.
    Reject,
}

/// Framing settings, one per listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramingConfig {
    /// Largest message accepted, in bytes, without the octet-count header or
    /// the delimiter.
    pub max_message_size: usize,
    /// What to do with longer messages.
    pub oversize: Oversize,
    /// Also end non-transparent frames at NUL.
    pub nul_delimiter: bool,
}

impl Default for FramingConfig {
    fn default() -> Self {
        FramingConfig {
            max_message_size: 64 * 1024,
            oversize: Oversize::Truncate,
            nul_delimiter: false,
        }
    }
}

/// One step of decoding: `consumed` bytes at the front of the buffer are
/// done with, and `frame` says what they were. Ranges index the buffer
/// passed to `decode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes to drop from the front of the buffer.
    pub consumed: usize,
    /// What the bytes held.
    pub frame: Frame,
}

/// What a decoding step found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message.
    Message(Range<usize>),
    /// The first `max_message_size` bytes of a longer message; the rest is
    /// skipped by later steps. Count it.
    Truncated(Range<usize>),
    /// A longer message was dropped (its bytes are skipped by this and
    /// later steps). Count it.
    Rejected,
    /// Bytes skipped: an empty line, or the rest of an oversized message.
    Skipped,
    /// At end of stream, a message cut short (an octet-counted frame with
    /// fewer bytes than announced, or a last line without LF).
    Incomplete(Range<usize>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Nothing,
    Bytes(u64),
    ToDelimiter,
}

/// The per-connection framing state.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    config: FramingConfig,
    framing: Option<Framing>,
    skip: Skip,
    fell_back: bool,
    /// Bytes at the front of the buffer already searched for a delimiter,
    /// so a line arriving in small reads is scanned once, not once per read.
    scanned: usize,
}

/// Octet counts longer than this are not a length (u64 holds 19 digits).
const MAX_COUNT_DIGITS: usize = 19;

impl FrameDecoder {
    /// A decoder for a new connection.
    pub fn new(config: FramingConfig) -> Self {
        FrameDecoder {
            config,
            framing: None,
            skip: Skip::Nothing,
            fell_back: false,
            scanned: 0,
        }
    }

    /// A decoder with the framing fixed instead of detected.
    pub fn with_framing(config: FramingConfig, framing: Framing) -> Self {
        FrameDecoder {
            framing: Some(framing),
            ..Self::new(config)
        }
    }

    /// The framing of the connection, once its first byte was seen.
    pub fn framing(&self) -> Option<Framing> {
        self.framing
    }

    /// Whether an octet-counted connection sent a malformed length and the
    /// decoder fell back to non-transparent framing.
    pub fn fell_back(&self) -> bool {
        self.fell_back
    }

    fn is_delimiter(&self, b: u8) -> bool {
        b == b'\n' || (b == 0 && self.config.nul_delimiter)
    }

    fn find_delimiter(&self, buf: &[u8]) -> Option<usize> {
        buf.iter().position(|&b| self.is_delimiter(b))
    }

    /// Decodes the next step from `buf`; `None` means more bytes are needed.
    ///
    /// Between calls the caller may only drop the consumed prefix and
    /// append what it reads: the decoder remembers how far it searched.
    pub fn decode(&mut self, buf: &[u8]) -> Option<Decoded> {
        if buf.is_empty() {
            return None;
        }
        match self.skip {
            Skip::Nothing => {}
            Skip::Bytes(n) => {
                let take = usize::try_from(n).unwrap_or(usize::MAX).min(buf.len());
                let left = n - take as u64;
                self.skip = if left == 0 {
                    Skip::Nothing
                } else {
                    Skip::Bytes(left)
                };
                return Some(Decoded {
                    consumed: take,
                    frame: Frame::Skipped,
                });
            }
            Skip::ToDelimiter => {
                let consumed = match self.find_delimiter(buf) {
                    Some(i) => {
                        self.skip = Skip::Nothing;
                        i + 1
                    }
                    None => buf.len(),
                };
                return Some(Decoded {
                    consumed,
                    frame: Frame::Skipped,
                });
            }
        }
        let framing = *self.framing.get_or_insert(match buf.first() {
            Some(b'1'..=b'9') => Framing::OctetCounting,
            _ => Framing::NonTransparent,
        });
        match framing {
            Framing::OctetCounting => {
                // Some senders end octet-counted frames with LF anyway.
                let junk = buf
                    .iter()
                    .take_while(|&&b| matches!(b, b'\n' | b'\r' | b' ' | 0))
                    .count();
                if junk > 0 {
                    return Some(Decoded {
                        consumed: junk,
                        frame: Frame::Skipped,
                    });
                }
                self.octet_or_fallback(buf)
            }
            Framing::NonTransparent => self.non_transparent(buf),
        }
    }

    fn octet_or_fallback(&mut self, buf: &[u8]) -> Option<Decoded> {
        match self.octet_counted(buf) {
            Ok(step) => step,
            Err(()) => {
                self.framing = Some(Framing::NonTransparent);
                self.fell_back = true;
                self.non_transparent(buf)
            }
        }
    }

    /// Like `decode`, at end of stream: whatever is left is returned as
    /// [`Frame::Incomplete`] (or skipped) instead of waiting for more.
    pub fn decode_eof(&mut self, buf: &[u8]) -> Option<Decoded> {
        if let Some(step) = self.decode(buf) {
            return Some(step);
        }
        if buf.is_empty() {
            return None;
        }
        self.scanned = 0;
        let start = match self.framing {
            Some(Framing::OctetCounting) => buf
                .iter()
                .position(|&b| b == b' ')
                .map_or(buf.len(), |i| i + 1),
            _ => 0,
        };
        let mut end = buf
            .len()
            .min(start.saturating_add(self.config.max_message_size));
        if buf.get(end.wrapping_sub(1)) == Some(&b'\r') && end > start {
            end -= 1;
        }
        Some(Decoded {
            consumed: buf.len(),
            frame: if end > start {
                Frame::Incomplete(start..end)
            } else {
                Frame::Skipped
            },
        })
    }

    /// Decodes every complete step in `buf`, calling `on_frame` with each
    /// frame and the message bytes (empty for rejected and skipped bytes).
    /// Returns the number of bytes consumed; the caller drops them.
    pub fn decode_all<'b>(
        &mut self,
        buf: &'b [u8],
        mut on_frame: impl FnMut(&Frame, &'b [u8]),
    ) -> usize {
        let mut pos = 0;
        while let Some(step) = self.decode(buf.get(pos..).unwrap_or_default()) {
            let base = buf.get(pos..).unwrap_or_default();
            let bytes = match &step.frame {
                Frame::Message(r) | Frame::Truncated(r) | Frame::Incomplete(r) => {
                    base.get(r.clone()).unwrap_or_default()
                }
                Frame::Rejected | Frame::Skipped => &[],
            };
            on_frame(&step.frame, bytes);
            if step.consumed == 0 {
                break;
            }
            pos += step.consumed;
        }
        pos
    }

    /// `Err` when the length header is malformed.
    fn octet_counted(&mut self, buf: &[u8]) -> Result<Option<Decoded>, ()> {
        let digits = buf
            .iter()
            .take(MAX_COUNT_DIGITS + 1)
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || digits > MAX_COUNT_DIGITS || buf.first() == Some(&b'0') {
            return Err(());
        }
        match buf.get(digits) {
            None => return Ok(None),
            Some(b' ') => {}
            Some(_) => return Err(()),
        }
        let len = buf[..digits]
            .iter()
            .try_fold(0u64, |acc, b| {
                acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            })
            .ok_or(())?;
        let header = digits + 1;
        let max = self.config.max_message_size;
        let fits = usize::try_from(len).ok().filter(|&l| l <= max);
        let Some(len) = fits else {
            return Ok(Some(match self.config.oversize {
                Oversize::Reject => {
                    self.skip = Skip::Bytes(len);
                    Decoded {
                        consumed: header,
                        frame: Frame::Rejected,
                    }
                }
                Oversize::Truncate => {
                    if buf.len() < header + max {
                        return Ok(None);
                    }
                    self.skip = Skip::Bytes(len - max as u64);
                    Decoded {
                        consumed: header + max,
                        frame: Frame::Truncated(header..header + max),
                    }
                }
            }));
        };
        if buf.len() < header + len {
            return Ok(None);
        }
        Ok(Some(Decoded {
            consumed: header + len,
            frame: Frame::Message(header..header + len),
        }))
    }

    fn non_transparent(&mut self, buf: &[u8]) -> Option<Decoded> {
        let max = self.config.max_message_size;
        let window = &buf[..buf.len().min(max.saturating_add(2))];
        let from = self.scanned.min(window.len());
        let found = self.find_delimiter(&window[from..]).map(|i| from + i);
        self.scanned = 0;
        if let Some(i) = found {
            let mut end = i;
            if end > 0 && buf.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            let frame = if end == 0 {
                Frame::Skipped
            } else if end > max {
                self.truncated_or_rejected(0..max)
            } else {
                Frame::Message(0..end)
            };
            return Some(Decoded {
                consumed: i + 1,
                frame,
            });
        }
        if buf.len() <= max.saturating_add(1) {
            self.scanned = window.len();
            return None;
        }
        // No delimiter within max + CR + LF bytes: the message is too long.
        self.skip = Skip::ToDelimiter;
        Some(Decoded {
            consumed: window.len(),
            frame: self.truncated_or_rejected(0..max),
        })
    }

    fn truncated_or_rejected(&self, range: Range<usize>) -> Frame {
        match self.config.oversize {
            Oversize::Truncate => Frame::Truncated(range),
            Oversize::Reject => Frame::Rejected,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(max: usize, oversize: Oversize) -> FramingConfig {
        FramingConfig {
            max_message_size: max,
            oversize,
            nul_delimiter: false,
        }
    }

    /// Feeds `chunks` one read at a time, like a socket would, and returns
    /// the frames as strings with their kind.
    fn run(decoder: &mut FrameDecoder, chunks: &[&[u8]]) -> Vec<String> {
        let mut buffer = Vec::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buffer.extend_from_slice(chunk);
            let consumed = decoder.decode_all(&buffer, |frame, bytes| {
                let s = String::from_utf8_lossy(bytes);
                out.push(match frame {
                    Frame::Message(_) => format!("msg:{s}"),
                    Frame::Truncated(_) => format!("truncated:{s}"),
                    Frame::Rejected => "rejected".to_string(),
                    Frame::Skipped => return,
                    Frame::Incomplete(_) => format!("incomplete:{s}"),
                });
            });
            buffer.drain(..consumed);
        }
        while let Some(step) = decoder.decode_eof(&buffer) {
            if let Frame::Incomplete(r) = &step.frame {
                out.push(format!(
                    "incomplete:{}",
                    String::from_utf8_lossy(&buffer[r.clone()])
                ));
            }
            buffer.drain(..step.consumed);
        }
        out
    }

    #[test]
    fn octet_counting_split_across_reads() {
        let mut d = FrameDecoder::new(FramingConfig::default());
        let out = run(
            &mut d,
            &[b"11 <34>1 hel", b"lo5", b" wor", b"ld6 <1>ab", b"c"],
        );
        assert_eq!(d.framing(), Some(Framing::OctetCounting));
        assert_eq!(out, ["msg:<34>1 hello", "msg:world", "msg:<1>abc"]);
    }

    #[test]
    fn octet_counting_header_split_across_reads() {
        let mut d = FrameDecoder::new(FramingConfig::default());
        let out = run(&mut d, &[b"1", b"0", b" 0123456789", b"3 abc"]);
        assert_eq!(out, ["msg:0123456789", "msg:abc"]);
    }

    #[test]
    fn lf_framing_with_crlf_and_blank_lines() {
        let mut d = FrameDecoder::new(FramingConfig::default());
        let out = run(&mut d, &[b"<34>a\r\n\n<35>b", b"c\n<36>tail"]);
        assert_eq!(d.framing(), Some(Framing::NonTransparent));
        assert_eq!(out, ["msg:<34>a", "msg:<35>bc", "incomplete:<36>tail"]);
    }

    #[test]
    fn nul_delimiter_is_an_option() {
        let mut d = FrameDecoder::new(FramingConfig {
            nul_delimiter: true,
            ..FramingConfig::default()
        });
        assert_eq!(run(&mut d, &[b"<1>a\0<2>b\n"]), ["msg:<1>a", "msg:<2>b"]);
        let mut d = FrameDecoder::new(FramingConfig::default());
        assert_eq!(run(&mut d, &[b"<1>a\0<2>b\n"]), ["msg:<1>a\0<2>b"]);
    }

    #[test]
    fn oversized_octet_counted_frames() {
        let mut d = FrameDecoder::new(config(4, Oversize::Truncate));
        assert_eq!(
            run(&mut d, &[b"6 abc", b"def2 gh"]),
            ["truncated:abcd", "msg:gh"]
        );
        let mut d = FrameDecoder::new(config(4, Oversize::Reject));
        assert_eq!(run(&mut d, &[b"6 abc", b"def2 gh"]), ["rejected", "msg:gh"]);
        // A length that overflows u64 is not skipped forever.
        let mut d = FrameDecoder::new(config(4, Oversize::Reject));
        assert_eq!(run(&mut d, &[b"99999999999999999999 x\n<1>y\n"]).len(), 2);
        assert!(d.fell_back());
    }

    #[test]
    fn oversized_lines() {
        let mut d = FrameDecoder::new(config(4, Oversize::Truncate));
        assert_eq!(
            run(&mut d, &[b"<1>abc", b"defgh", b"ij\n<2>x\n"]),
            ["truncated:<1>a", "msg:<2>x"]
        );
        let mut d = FrameDecoder::new(config(4, Oversize::Reject));
        assert_eq!(
            run(&mut d, &[b"<1>abcdefghij\n<2>x\n"]),
            ["rejected", "msg:<2>x"]
        );
        // Exactly max bytes plus CRLF fits.
        let mut d = FrameDecoder::new(config(4, Oversize::Reject));
        assert_eq!(run(&mut d, &[b"<1>a", b"\r", b"\n"]), ["msg:<1>a"]);
    }

    #[test]
    fn malformed_octet_count_falls_back_to_lines() {
        let mut d = FrameDecoder::new(FramingConfig::default());
        assert_eq!(
            run(&mut d, &[b"4 <1>ax <2>b\n"]),
            ["msg:<1>a", "msg:x <2>b"]
        );
        assert!(d.fell_back());
    }

    #[test]
    fn truncated_octet_frame_at_eof_is_incomplete() {
        let mut d = FrameDecoder::new(FramingConfig::default());
        assert_eq!(run(&mut d, &[b"10 <1>ab"]), ["incomplete:<1>ab"]);
    }

    #[test]
    fn long_line_in_one_byte_reads_is_scanned_once() {
        let mut d = FrameDecoder::new(config(100_000, Oversize::Reject));
        let line = vec![b'x'; 60_000];
        let mut buffer = Vec::new();
        for &b in &line {
            buffer.push(b);
            assert_eq!(d.decode(&buffer), None);
        }
        buffer.push(b'\n');
        let step = d.decode(&buffer).unwrap();
        assert_eq!(step.frame, Frame::Message(0..60_000));
    }

    #[test]
    fn lf_after_octet_counted_frames_is_ignored() {
        let mut d = FrameDecoder::new(FramingConfig::default());
        assert_eq!(run(&mut d, &[b"3 abc\n3 def\r\n"]), ["msg:abc", "msg:def"]);
        assert!(!d.fell_back());
    }
}
