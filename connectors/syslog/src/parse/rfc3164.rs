//! RFC 3164 / BSD syslog: `[<PRI>]TIMESTAMP SP HOSTNAME SP TAG[PID]: MSG`,
//! where TIMESTAMP is `Mmm dd hh:mm:ss` (no year, no zone) or, from rsyslog
//! and syslog-ng, an RFC 3339 timestamp.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeDelta, TimeZone, Utc};

use super::{
    attach_payload, cisco, text, Format, ParseError, ParseOptions, Payload, Pri, SyslogMessage,
};

/// Parses an RFC 3164 message received at `received`.
pub fn parse<'a>(
    input: &'a [u8],
    received: DateTime<Utc>,
    options: &ParseOptions,
) -> Result<SyslogMessage<'a>, ParseError> {
    let input = super::trim_terminators(input);
    if input.is_empty() {
        return if options.strict {
            Err(ParseError::Empty)
        } else {
            Ok(SyslogMessage::unparsed(input, ParseError::Empty))
        };
    }
    match super::parse_pri(input) {
        Ok(Some((pri, rest))) => parse_after_pri(input, rest, Some(pri), received, options),
        Ok(None) => parse_after_pri(input, input, None, received, options),
        Err(e) if options.strict => Err(e),
        Err(e) => {
            let mut m = parse_after_pri(input, input, None, received, options)?;
            m.error = Some(e);
            Ok(m)
        }
    }
}

/// A BSD timestamp as written: no year unless the sender added one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BsdTime {
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    /// Present in Cisco's `Mmm dd yyyy hh:mm:ss`.
    pub year: Option<i32>,
    /// 0..=23.
    pub hour: u32,
    /// 0..=59.
    pub minute: u32,
    /// 0..=60.
    pub second: u32,
    /// Fraction of the second (Cisco's `.123`).
    pub nanos: u32,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn two_digits(s: &[u8], at: usize) -> Option<u32> {
    match (s.get(at), s.get(at + 1)) {
        (Some(a), Some(b)) if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// Parses `Mmm dd hh:mm:ss[.fff]`, `Mmm dd yyyy hh:mm:ss[.fff]` (Cisco) or
/// `yyyy Mmm dd hh:mm:ss[.fff]` (NX-OS) at the start of `s` (the day may be space-padded, `Oct  1`, or zero-padded);
/// returns the time and the number of bytes read.
pub fn parse_bsd_time(s: &[u8]) -> Option<(BsdTime, usize)> {
    // NX-OS writes the year first: `2026 Nov 26 11:00:00`.
    if s.get(4) == Some(&b' ') && s.get(..4)?.iter().all(u8::is_ascii_digit) {
        let year = s[..4]
            .iter()
            .fold(0i32, |a, b| a * 10 + i32::from(b - b'0'));
        let (mut t, len) = parse_bsd_time_after_year(s.get(5..)?)?;
        if t.year.is_some() {
            return None;
        }
        t.year = Some(year);
        return Some((t, len + 5));
    }
    parse_bsd_time_after_year(s)
}

fn parse_bsd_time_after_year(s: &[u8]) -> Option<(BsdTime, usize)> {
    let month_name = s.get(..3)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))?;
    let mut i = 3;
    if s.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    if s.get(i) == Some(&b' ') {
        i += 1;
    }
    let day_len = s[i.min(s.len())..]
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let day = match day_len {
        1 => u32::from(s.get(i)? - b'0'),
        2 => two_digits(s, i)?,
        _ => return None,
    };
    i += day_len;
    if s.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let mut year = None;
    if s.get(i + 4) == Some(&b' ') && s.get(i..i + 4)?.iter().all(u8::is_ascii_digit) {
        year = Some(
            s[i..i + 4]
                .iter()
                .fold(0i32, |a, b| a * 10 + i32::from(b - b'0')),
        );
        i += 5;
    }
    let hour = two_digits(s, i)?;
    let minute = two_digits(s, i + 3)?;
    let second = two_digits(s, i + 6)?;
    if s.get(i + 2) != Some(&b':') || s.get(i + 5) != Some(&b':') {
        return None;
    }
    i += 8;
    let mut nanos = 0;
    if s.get(i) == Some(&b'.') {
        let n = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for k in 0..9 {
            let d = if k < n {
                s.get(i + 1 + k).map_or(0, |b| b - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + u32::from(d);
        }
        i += 1 + n;
    }
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let month = u32::try_from(month).ok()? + 1;
    Some((
        BsdTime {
            month,
            day,
            year,
            hour,
            minute,
            second,
            nanos,
        },
        i,
    ))
}

impl BsdTime {
    /// The instant, in `timezone`. Without a year, picks the latest year
    /// that does not put the time more than a day after `received` (clocks
    /// and time zones of senders drift): a message from Dec 31 received on
    /// Jan 1 belongs to the previous year, one from Jan 1 00:00:09 received
    /// on Dec 31 23:59:50 to the next, and Feb 29 to the last leap year.
    pub fn resolve(
        &self,
        received: DateTime<Utc>,
        timezone: FixedOffset,
    ) -> Option<DateTime<FixedOffset>> {
        // Leap seconds are folded into the next second's start.
        let (second, nanos) = if self.second == 60 {
            (59, 999_999_999)
        } else {
            (self.second, self.nanos)
        };
        let at = |year: i32| {
            NaiveDate::from_ymd_opt(year, self.month, self.day)?
                .and_hms_nano_opt(self.hour, self.minute, second, nanos)
                .and_then(|n| timezone.from_local_datetime(&n).single())
        };
        if let Some(year) = self.year {
            return at(year);
        }
        let year = received.with_timezone(&timezone).year();
        let latest = received + TimeDelta::days(1);
        (year - 4..=year + 1)
            .rev()
            .filter_map(at)
            .find(|t| t.with_timezone(&Utc) <= latest)
    }
}

/// Parses the part after PRI; `raw` is the whole (trimmed) input and
/// `rest` a suffix of it.
pub(crate) fn parse_after_pri<'a>(
    raw: &'a [u8],
    rest: &'a [u8],
    pri: Option<Pri>,
    received: DateTime<Utc>,
    options: &ParseOptions,
) -> Result<SyslogMessage<'a>, ParseError> {
    let mut m = SyslogMessage {
        format: Format::Rfc3164,
        pri,
        version: None,
        timestamp: None,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        structured_data: Vec::new(),
        msg: Cow::Borrowed(""),
        payload: None,
        raw,
        error: None,
    };

    let mut content = rest;
    let mut had_timestamp = false;
    if rest.first().is_some_and(u8::is_ascii_digit) && rest.get(4) == Some(&b'-') {
        // rsyslog's RFC3339 "high precision" template.
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        match super::rfc5424::parse_timestamp(&rest[..end], false, Some(options.timezone)) {
            Ok(t) => {
                m.timestamp = Some(t);
                had_timestamp = true;
                content = &rest[end..];
            }
            Err(e) if options.strict => return Err(e),
            Err(e) => {
                // Still a timestamp position: keep parsing what follows.
                m.note(e);
                had_timestamp = true;
                content = &rest[end..];
            }
        }
    } else if let Some((bsd, len)) = parse_bsd_time(rest) {
        had_timestamp = true;
        content = &rest[len..];
        match bsd.resolve(received, options.timezone) {
            Some(t) => m.timestamp = Some(t),
            None if options.strict => return Err(ParseError::InvalidTimestamp("no such date")),
            None => m.note(ParseError::InvalidTimestamp("no such date")),
        }
    }

    if had_timestamp {
        match content {
            // Cisco IOS without a hostname: `Nov 26 11:00:00: %LINK-3-UPDOWN: …`.
            [b':', b' ', after @ ..] if !options.strict => content = after,
            [b' ', after @ ..] => content = after,
            [] => {}
            _ if options.strict => {
                return Err(ParseError::InvalidTimestamp("expected SP after timestamp"))
            }
            _ => m.note(ParseError::InvalidTimestamp("expected SP after timestamp")),
        }
        if let Some((host, after)) = hostname(content) {
            m.hostname = Some(text(host));
            content = after;
        } else if options.strict {
            return Err(ParseError::Missing("HOSTNAME"));
        }
    } else if options.strict {
        return Err(ParseError::Missing("TIMESTAMP"));
    }

    // Cisco ASA puts " : " between the hostname and the message.
    if let Some(after) = content.strip_prefix(b": ") {
        content = after;
    }

    if options.payloads {
        if let Some(cisco) = cisco_payload(content) {
            if m.timestamp.is_none() {
                if let Some((bsd, _)) = cisco
                    .timestamp
                    .as_deref()
                    .and_then(|t| parse_bsd_time(t.as_bytes()))
                {
                    m.timestamp = bsd.resolve(received, options.timezone);
                }
                had_timestamp |= m.timestamp.is_some();
            }
            m.payload = Some(Payload::Cisco(cisco));
            m.msg = text(content);
            if !had_timestamp && pri.is_none() {
                m.format = Format::Bare;
            }
            return Ok(m);
        }
    }

    if !had_timestamp {
        if pri.is_none() {
            m.format = Format::Unknown;
        }
        m.note(ParseError::Missing("TIMESTAMP"));
    }

    let starts_payload = content.starts_with(b"CEF:") || content.starts_with(b"LEEF:");
    if let Some((tag, pid, msg)) = tag(content).filter(|_| !starts_payload) {
        m.app_name = Some(text(tag));
        m.proc_id = pid.map(text);
        content = msg;
    }
    m.msg = text(content);
    attach_payload(&mut m, options)?;
    Ok(m)
}

fn cisco_payload(content: &[u8]) -> Option<cisco::Cisco<'_>> {
    // Cisco messages are ASCII; a quick check avoids UTF-8 validation of
    // every message that is not one.
    if !content.iter().take(64).any(|&b| b == b'%') {
        return None;
    }
    let s = std::str::from_utf8(content).ok()?;
    cisco::parse(s).ok()
}

/// The HOSTNAME token, unless the token is already the TAG (`su:`,
/// `sshd[42]:`), a Cisco mnemonic or a CEF/LEEF payload, or the only word.
fn hostname(content: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = content.iter().position(|&b| b == b' ')?;
    let host = &content[..end];
    let looks_like_tag = host.is_empty()
        || host.ends_with(b":")
        || host.contains(&b'[')
        || host.starts_with(b"%")
        || host.starts_with(b"CEF:")
        || host.starts_with(b"LEEF:");
    if looks_like_tag {
        return None;
    }
    Some((host, &content[end + 1..]))
}

/// `TAG[PID]: MSG` or `TAG: MSG`; `None` when the first word does not end
/// with `:` (then the whole content is MSG).
#[allow(clippy::type_complexity)]
fn tag(content: &[u8]) -> Option<(&[u8], Option<&[u8]>, &[u8])> {
    let end = content
        .iter()
        .position(|&b| matches!(b, b'[' | b':' | b' '))?;
    if end == 0 {
        return None;
    }
    let tag = &content[..end];
    let (pid, after) = match content.get(end) {
        Some(b'[') => {
            let rest = &content[end + 1..];
            let close = rest.iter().position(|&b| b == b']' || b == b' ')?;
            if rest.get(close) != Some(&b']') {
                return None;
            }
            (Some(&rest[..close]), &rest[close + 1..])
        }
        _ => (None, &content[end..]),
    };
    let msg = match after {
        [b':', b' ', msg @ ..] => msg,
        [b':', msg @ ..] => msg,
        // `tag[pid] msg` without the colon still names the process.
        [b' ', msg @ ..] if pid.is_some() => msg,
        [] if pid.is_some() => &[],
        _ => return None,
    };
    Some((tag, pid, msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn year_is_inferred_across_new_year() {
        let m = parse(
            b"<34>Dec 31 23:59:58 host app: bye",
            at(2027, 1, 1, 0, 0, 3),
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2026-12-31T23:59:58+00:00"
        );
        let m = parse(
            b"<34>Jan  1 00:00:01 host app: early clock",
            at(2026, 12, 31, 23, 59, 50),
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2027-01-01T00:00:01+00:00"
        );
        let m = parse(
            b"<34>Jun 14 15:16:01 host app: mid-year",
            at(2026, 11, 26, 12, 0, 0),
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2026-06-14T15:16:01+00:00"
        );
    }

    #[test]
    fn feb_29_picks_a_leap_year() {
        let m = parse(
            b"Feb 29 10:00:00 h t: x",
            at(2029, 1, 10, 0, 0, 0),
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2028-02-29T10:00:00+00:00"
        );
    }

    #[test]
    fn space_padded_day_and_tag_with_pid() {
        let m = parse(
            b"<13>Oct  1 02:03:04 host sshd[42]: Accepted",
            at(2026, 10, 2, 0, 0, 0),
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2026-10-01T02:03:04+00:00"
        );
        assert_eq!(m.hostname.as_deref(), Some("host"));
        assert_eq!(m.app_name.as_deref(), Some("sshd"));
        assert_eq!(m.proc_id.as_deref(), Some("42"));
        assert_eq!(m.msg, "Accepted");
    }

    #[test]
    fn timezone_option_applies_to_bsd_timestamps() {
        let options = ParseOptions {
            timezone: FixedOffset::east_opt(2 * 3600).unwrap(),
            ..ParseOptions::strict()
        };
        let m = parse(
            b"Oct 11 22:14:15 h t: x",
            at(2026, 10, 12, 0, 0, 0),
            &options,
        )
        .unwrap();
        assert_eq!(
            m.timestamp.unwrap().to_rfc3339(),
            "2026-10-11T22:14:15+02:00"
        );
    }

    #[test]
    fn message_without_tag_keeps_all_words() {
        let m = parse(
            b"<13>Oct 11 22:14:15 host just some words",
            at(2026, 10, 12, 0, 0, 0),
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(m.app_name, None);
        assert_eq!(m.msg, "just some words");
    }

    #[test]
    fn strict_rejects_missing_timestamp() {
        let r = parse(
            b"<13>hello world",
            at(2026, 1, 1, 0, 0, 0),
            &ParseOptions::strict(),
        );
        assert_eq!(r, Err(ParseError::Missing("TIMESTAMP")));
        let m = parse(
            b"<13>hello world",
            at(2026, 1, 1, 0, 0, 0),
            &ParseOptions::lenient(),
        )
        .unwrap();
        assert_eq!(m.msg, "hello world");
        assert_eq!(m.pri.map(Pri::value), Some(13));
        assert_eq!(m.error, Some(ParseError::Missing("TIMESTAMP")));
    }
}
