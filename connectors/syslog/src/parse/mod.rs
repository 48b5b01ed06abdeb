//! Syslog message parsing: RFC 5424, RFC 3164 (BSD) and the real-world
//! variants (rsyslog's ISO 8601 timestamps, Cisco ASA/IOS, CEF and LEEF
//! payloads), plus RFC 6587 TCP framing.
//!
//! Parsing is synchronous and borrows from the input: string fields are
//! `Cow<'a, str>`, borrowed unless the bytes are not UTF-8 (replaced
//! lossily) or a value had escapes to undo. No input, however hostile, makes
//! the parsers panic.
//!
//! [`parse`] is lenient by default: it always returns a message, and what it
//! could not understand stays in `msg` with the first problem in
//! [`SyslogMessage::error`]. With [`ParseOptions::strict`] it rejects
//! non-conformant input with a [`ParseError`] instead.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, Offset, Utc};

pub mod cef;
pub mod cisco;
pub mod framing;
pub mod leef;
pub mod rfc3164;
pub mod rfc5424;

#[cfg(test)]
mod tests;

/// Why a message was rejected (strict mode) or only partly understood
/// (lenient mode, in [`SyslogMessage::error`]).
///
/// Parse errors are never retryable: the same bytes fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input was empty (or only line terminators).
    #[error("empty message")]
    Empty,
    /// `<` was not followed by 1 to 3 digits and `>`.
    #[error("invalid PRI: {0}")]
    InvalidPri(&'static str),
    /// The PRI value is above 191 (facility 23, severity 7).
    #[error("PRI value {0} is out of range 0..=191")]
    PriOutOfRange(u32),
    /// RFC 5424 VERSION other than 1.
    #[error("unsupported syslog version {0}")]
    UnsupportedVersion(u32),
    /// A timestamp that does not follow the expected grammar.
    #[error("invalid timestamp: {0}")]
    InvalidTimestamp(&'static str),
    /// A required header field is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A header field breaks the RFC's grammar (characters or length).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The RFC's name of the field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// STRUCTURED-DATA that does not follow RFC 5424 §6.3.
    #[error("invalid structured data at byte {at}: {reason}")]
    InvalidStructuredData {
        /// Offset into the input.
        at: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Text that must be UTF-8 is not.
    #[error("invalid UTF-8 in {0}")]
    InvalidUtf8(&'static str),
    /// A CEF header with fewer than 7 fields or a bad version.
    #[error("invalid CEF: {0}")]
    InvalidCef(&'static str),
    /// A LEEF header with fewer than 5 fields or a bad version.
    #[error("invalid LEEF: {0}")]
    InvalidLeef(&'static str),
    /// Not a Cisco `%FACILITY-SEVERITY-MNEMONIC:` message.
    #[error("invalid Cisco message: {0}")]
    InvalidCisco(&'static str),
}

impl ParseError {
    /// Always false: parsing the same bytes again fails the same way.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// How [`parse`] treats non-conformant input.
///
/// Strict mode rejects: an invalid PRI; RFC 5424 messages with a VERSION
/// other than 1, a timestamp outside RFC 5424 §6.2.3 (more than 6 fraction
/// digits, no offset, leap second), header fields that are too long or not
/// printable US-ASCII, malformed STRUCTURED-DATA, or MSG after a BOM that is
/// not UTF-8; RFC 3164 messages without a timestamp or hostname; CEF and
/// LEEF payloads with short headers; CEF and LEEF sent bare that are not
/// UTF-8. RFC 3164 lines without PRI (as syslogd writes them to files) are
/// accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// Reject input that breaks the RFCs instead of parsing it best effort.
    pub strict: bool,
    /// The offset of RFC 3164 timestamps, which carry none.
    pub timezone: FixedOffset,
    /// Recognise Cisco, CEF and LEEF payloads inside the syslog message.
    pub payloads: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            strict: false,
            timezone: utc_offset(),
            payloads: true,
        }
    }
}

impl ParseOptions {
    /// Lenient parsing with the defaults.
    pub fn lenient() -> Self {
        Self::default()
    }

    /// Strict parsing with the defaults.
    pub fn strict() -> Self {
        ParseOptions {
            strict: true,
            ..Self::default()
        }
    }
}

/// The zero offset.
pub(crate) fn utc_offset() -> FixedOffset {
    Utc.fix()
}

/// The envelope a message arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 5424.
    Rfc5424,
    /// RFC 3164 / BSD, including rsyslog's ISO 8601 variant.
    Rfc3164,
    /// A CEF or LEEF payload without a syslog header.
    Bare,
    /// Nothing recognisable: the whole input is in `msg`.
    Unknown,
}

impl Format {
    /// The name used in records (Confluent's `type` values for the RFCs).
    pub fn name(self) -> &'static str {
        match self {
            Format::Rfc5424 => "RFC5424",
            Format::Rfc3164 => "RFC3164",
            Format::Bare => "BARE",
            Format::Unknown => "UNKNOWN",
        }
    }
}

/// PRI: facility and severity (RFC 5424 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pri {
    /// 0..=23.
    pub facility: u8,
    /// 0..=7.
    pub severity: u8,
}

impl Pri {
    /// Splits a PRI value; `None` above 191.
    pub fn from_value(value: u32) -> Option<Pri> {
        if value > 191 {
            return None;
        }
        let value = u8::try_from(value).ok()?;
        Some(Pri {
            facility: value / 8,
            severity: value % 8,
        })
    }

    /// The PRI value, `facility * 8 + severity`.
    pub fn value(self) -> u8 {
        self.facility * 8 + self.severity
    }
}

/// The RFC 5424 §6.2.1 facility keyword (`kern`, `user`, … `local7`).
pub fn facility_name(facility: u8) -> &'static str {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    NAMES
        .get(usize::from(facility))
        .copied()
        .unwrap_or("unknown")
}

/// The severity keyword (`emerg` … `debug`), as ECS's `log.syslog.severity.name`.
pub fn severity_name(severity: u8) -> &'static str {
    const NAMES: [&str; 8] = [
        "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    NAMES
        .get(usize::from(severity))
        .copied()
        .unwrap_or("unknown")
}

/// One STRUCTURED-DATA element: `[id name="value" …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdElement<'a> {
    /// The SD-ID, e.g. `exampleSDID@32473`.
    pub id: Cow<'a, str>,
    /// Parameters in order; names may repeat (RFC 5424 §6.3.3).
    pub params: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A payload recognised inside the syslog message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<'a> {
    /// ArcSight Common Event Format.
    Cef(cef::Cef<'a>),
    /// IBM QRadar Log Event Extended Format.
    Leef(leef::Leef<'a>),
    /// Cisco ASA/IOS/NX-OS `%FACILITY-SEVERITY-MNEMONIC:` message.
    Cisco(cisco::Cisco<'a>),
}

impl Payload<'_> {
    /// Copies the borrowed fields, for payloads found in lossily decoded text.
    pub fn into_owned(self) -> Payload<'static> {
        match self {
            Payload::Cef(p) => Payload::Cef(p.into_owned()),
            Payload::Leef(p) => Payload::Leef(p.into_owned()),
            Payload::Cisco(p) => Payload::Cisco(p.into_owned()),
        }
    }
}

/// A parsed syslog message, borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogMessage<'a> {
    /// The envelope.
    pub format: Format,
    /// Facility and severity, when the message had a PRI.
    pub pri: Option<Pri>,
    /// RFC 5424 VERSION.
    pub version: Option<u32>,
    /// The message's own timestamp; RFC 3164 years are inferred from the
    /// time received.
    pub timestamp: Option<DateTime<FixedOffset>>,
    /// HOSTNAME.
    pub hostname: Option<Cow<'a, str>>,
    /// RFC 5424 APP-NAME, or the RFC 3164 TAG.
    pub app_name: Option<Cow<'a, str>>,
    /// RFC 5424 PROCID, or the pid in an RFC 3164 `tag[pid]:`.
    pub proc_id: Option<Cow<'a, str>>,
    /// RFC 5424 MSGID.
    pub msg_id: Option<Cow<'a, str>>,
    /// RFC 5424 STRUCTURED-DATA elements, in order.
    pub structured_data: Vec<SdElement<'a>>,
    /// MSG, without the BOM; for unparseable input the whole input.
    pub msg: Cow<'a, str>,
    /// A CEF, LEEF or Cisco payload found in `msg`.
    pub payload: Option<Payload<'a>>,
    /// The input, without trailing line terminators.
    pub raw: &'a [u8],
    /// In lenient mode, the first problem met; `None` if the message conforms.
    pub error: Option<ParseError>,
}

impl<'a> SyslogMessage<'a> {
    /// A message holding nothing but the raw input.
    pub fn unparsed(raw: &'a [u8], error: ParseError) -> Self {
        SyslogMessage {
            format: Format::Unknown,
            pri: None,
            version: None,
            timestamp: None,
            hostname: None,
            app_name: None,
            proc_id: None,
            msg_id: None,
            structured_data: Vec::new(),
            msg: text(raw),
            payload: None,
            raw,
            error: Some(error),
        }
    }

    /// The raw input as text (lossy for non-UTF-8 bytes).
    pub fn raw_text(&self) -> Cow<'a, str> {
        text(self.raw)
    }

    /// Records the first problem met in lenient mode.
    pub(crate) fn note(&mut self, error: ParseError) {
        if self.error.is_none() {
            self.error = Some(error);
        }
    }
}

/// Bytes as text, borrowed when they are UTF-8.
pub(crate) fn text(bytes: &[u8]) -> Cow<'_, str> {
    // `from_utf8` validates whole words at a time; the lossy decoder walks
    // chunk by chunk and cost a tenth of the parse. Most lines are valid.
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// Strips the line terminators senders append (LF, CRLF, NUL).
pub(crate) fn trim_terminators(mut input: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | 0] = input {
        input = rest;
    }
    input
}

/// Parses `<PRI>` at the start of `input`; returns the PRI and the rest.
/// `Ok(None)` when the input does not start with `<`.
pub(crate) fn parse_pri(input: &[u8]) -> Result<Option<(Pri, &[u8])>, ParseError> {
    let Some(rest) = input.strip_prefix(b"<") else {
        return Ok(None);
    };
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(ParseError::InvalidPri("expected digits after '<'"));
    }
    if digits > 3 {
        return Err(ParseError::InvalidPri("more than 3 digits"));
    }
    if rest.get(digits) != Some(&b'>') {
        return Err(ParseError::InvalidPri("expected '>'"));
    }
    let value = rest[..digits]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    // RFC 5424 §6.2.1: no leading zeros, except for PRI 0 itself.
    if digits > 1 && rest[0] == b'0' {
        return Err(ParseError::InvalidPri("leading zero"));
    }
    let pri = Pri::from_value(value).ok_or(ParseError::PriOutOfRange(value))?;
    Ok(Some((pri, &rest[digits + 1..])))
}

/// Parses one syslog message (one UDP datagram or one TCP frame).
///
/// `received` is when the message arrived: RFC 3164 timestamps have no year,
/// and the year is the one that puts the timestamp closest to it (so a
/// message from Dec 31 received on Jan 1 belongs to the previous year).
///
/// In lenient mode this always returns `Ok`.
pub fn parse<'a>(
    input: &'a [u8],
    received: DateTime<Utc>,
    options: &ParseOptions,
) -> Result<SyslogMessage<'a>, ParseError> {
    let input = trim_terminators(input);
    if input.is_empty() {
        return fail(input, ParseError::Empty, options);
    }
    let (pri, after_pri) = match parse_pri(input) {
        Ok(Some((pri, rest))) => (Some(pri), rest),
        Ok(None) => (None, input),
        Err(e) if options.strict => return Err(e),
        Err(e) => {
            // Keep going as if there were no PRI: the text may still hold a
            // BSD timestamp or a payload.
            let mut msg = rfc3164::parse_after_pri(input, input, None, received, options)?;
            msg.error = Some(e);
            return Ok(msg);
        }
    };
    if pri.is_some() && rfc5424::looks_like_version(after_pri) {
        return rfc5424::parse_after_pri(input, after_pri, pri, options);
    }
    if pri.is_none() && (input.starts_with(b"CEF:") || input.starts_with(b"LEEF:")) {
        let mut msg = SyslogMessage::unparsed(input, ParseError::Empty);
        msg.format = Format::Bare;
        msg.error = None;
        if options.strict && matches!(msg.msg, Cow::Owned(_)) {
            return Err(ParseError::InvalidUtf8("payload"));
        }
        attach_payload(&mut msg, options)?;
        return Ok(msg);
    }
    rfc3164::parse_after_pri(input, after_pri, pri, received, options)
}

/// Recognises a CEF, LEEF or Cisco payload at the start of `s`.
pub(crate) fn detect_payload(s: &str) -> Option<Result<Payload<'_>, ParseError>> {
    if s.starts_with("CEF:") {
        return Some(cef::parse(s).map(Payload::Cef));
    }
    if s.starts_with("LEEF:") {
        return Some(leef::parse(s).map(Payload::Leef));
    }
    // `%` often starts ordinary text (`%% It's time…` in RFC 5424's own
    // examples), so a failed Cisco match is no error.
    if s.starts_with('%') {
        return cisco::parse(s).ok().map(|c| Ok(Payload::Cisco(c)));
    }
    None
}

/// Attaches a CEF, LEEF or Cisco payload found in `msg` to the message; a
/// CEF or LEEF payload that starts right but does not parse is an error in
/// strict mode.
pub(crate) fn attach_payload<'a>(
    message: &mut SyslogMessage<'a>,
    options: &ParseOptions,
) -> Result<(), ParseError> {
    if !options.payloads || message.payload.is_some() {
        return Ok(());
    }
    let found = match &message.msg {
        Cow::Borrowed(s) => {
            let s: &'a str = s;
            detect_payload(s)
        }
        // Lossy text cannot be borrowed for the message's lifetime; parse
        // it and copy the fields.
        Cow::Owned(s) => detect_payload(s).map(|r| r.map(Payload::into_owned)),
    };
    match found {
        None => Ok(()),
        Some(Ok(p)) => {
            message.payload = Some(p);
            Ok(())
        }
        Some(Err(e)) if options.strict => Err(e),
        Some(Err(e)) => {
            message.note(e);
            Ok(())
        }
    }
}

fn fail<'a>(
    input: &'a [u8],
    error: ParseError,
    options: &ParseOptions,
) -> Result<SyslogMessage<'a>, ParseError> {
    if options.strict {
        Err(error)
    } else {
        Ok(SyslogMessage::unparsed(input, error))
    }
}

/// Undoes backslash escapes of the listed characters, borrowing when there
/// are none. Other backslashes are kept, as RFC 5424 §6.3.3 requires.
pub(crate) fn unescape<'a>(s: &'a str, escapable: &[u8]) -> Cow<'a, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next.is_ascii() && escapable.contains(&(next as u8)) {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Copies borrowed fields so a value no longer borrows the input.
pub(crate) fn own(s: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(s.into_owned())
}
