//! RFC 5424: `<PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
//! MSGID SP STRUCTURED-DATA [SP MSG]`.

use std::borrow::Cow;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};

use super::{
    attach_payload, text, unescape, Format, ParseError, ParseOptions, Pri, SdElement, SyslogMessage,
};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Whether the bytes after PRI start with an RFC 5424 VERSION and SP
/// (`NONZERO-DIGIT 0*2DIGIT`); RFC 3164 has a month name or an ISO date there.
pub(crate) fn looks_like_version(after_pri: &[u8]) -> bool {
    let digits = after_pri
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (1..=3).contains(&digits)
        && after_pri.first() != Some(&b'0')
        && after_pri.get(digits) == Some(&b' ')
}

/// Parses an RFC 5424 message. Lenient mode keeps every field it could read
/// and puts the unparsed remainder in `msg`.
pub fn parse<'a>(input: &'a [u8], options: &ParseOptions) -> Result<SyslogMessage<'a>, ParseError> {
    let input = super::trim_terminators(input);
    if input.is_empty() {
        return if options.strict {
            Err(ParseError::Empty)
        } else {
            Ok(SyslogMessage::unparsed(input, ParseError::Empty))
        };
    }
    match super::parse_pri(input) {
        Ok(Some((pri, rest))) => parse_after_pri(input, rest, Some(pri), options),
        Ok(None) if options.strict => Err(ParseError::Missing("PRI")),
        Err(e) if options.strict => Err(e),
        Ok(None) => parse_after_pri(input, input, None, options),
        Err(e) => {
            let mut m = SyslogMessage::unparsed(input, e);
            m.format = Format::Rfc5424;
            Ok(m)
        }
    }
}

/// Parses the part after PRI; `raw` is the whole (trimmed) input and
/// `rest` a suffix of it.
pub(crate) fn parse_after_pri<'a>(
    raw: &'a [u8],
    rest: &'a [u8],
    pri: Option<Pri>,
    options: &ParseOptions,
) -> Result<SyslogMessage<'a>, ParseError> {
    let mut m = SyslogMessage {
        format: Format::Rfc5424,
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
    match parse_fields(&mut m, raw, rest, options) {
        Ok(()) => {}
        Err(Stop { error, remaining }) => {
            if options.strict {
                return Err(error);
            }
            m.note(error);
            m.msg = text(remaining);
        }
    }
    attach_payload(&mut m, options)?;
    Ok(m)
}

/// A fatal problem and the input left unparsed when it was found.
struct Stop<'a> {
    error: ParseError,
    remaining: &'a [u8],
}

/// Splits at the first SP: the token, and the rest after the SP (`None`
/// when the token ends the input).
fn token(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], s.get(i + 1..)),
        None => (s, None),
    }
}

/// Records a problem that lenient mode can step over.
fn soft<'a>(
    m: &mut SyslogMessage<'a>,
    error: ParseError,
    options: &ParseOptions,
    remaining: &'a [u8],
) -> Result<(), Stop<'a>> {
    if options.strict {
        return Err(Stop { error, remaining });
    }
    m.note(error);
    Ok(())
}

fn next_token<'a>(
    s: Option<&'a [u8]>,
    field: &'static str,
) -> Result<(&'a [u8], Option<&'a [u8]>), Stop<'a>> {
    match s {
        Some(s) if !s.is_empty() => Ok(token(s)),
        _ => Err(Stop {
            error: ParseError::Missing(field),
            remaining: &[],
        }),
    }
}

/// A header field: NILVALUE or 1*max PRINTUSASCII (RFC 5424 §6.2).
fn header_field<'a>(
    m: &mut SyslogMessage<'a>,
    value: &'a [u8],
    field: &'static str,
    max: usize,
    options: &ParseOptions,
) -> Result<Option<Cow<'a, str>>, Stop<'a>> {
    if value == b"-" {
        return Ok(None);
    }
    if value.len() > max {
        soft(
            m,
            ParseError::InvalidField {
                field,
                reason: "too long",
            },
            options,
            value,
        )?;
    }
    if !value.iter().all(|b| (33..=126).contains(b)) {
        soft(
            m,
            ParseError::InvalidField {
                field,
                reason: "not printable US-ASCII",
            },
            options,
            value,
        )?;
    }
    Ok(Some(text(value)))
}

fn parse_fields<'a>(
    m: &mut SyslogMessage<'a>,
    raw: &'a [u8],
    rest: &'a [u8],
    options: &ParseOptions,
) -> Result<(), Stop<'a>> {
    let (version, after) = token(rest);
    if !(1..=3).contains(&version.len()) || !version.iter().all(u8::is_ascii_digit) {
        return Err(Stop {
            error: ParseError::InvalidField {
                field: "VERSION",
                reason: "expected 1 to 3 digits",
            },
            remaining: rest,
        });
    }
    let v = version
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    m.version = Some(v);
    if v != 1 {
        soft(m, ParseError::UnsupportedVersion(v), options, rest)?;
    }

    let (ts, after) = next_token(after, "TIMESTAMP")?;
    if ts != b"-" {
        match parse_timestamp(ts, options.strict, None) {
            Ok(t) => m.timestamp = Some(t),
            Err(e) => soft(m, e, options, ts)?,
        }
    }

    let (host, after) = next_token(after, "HOSTNAME")?;
    m.hostname = header_field(m, host, "HOSTNAME", 255, options)?;
    let (app, after) = next_token(after, "APP-NAME")?;
    m.app_name = header_field(m, app, "APP-NAME", 48, options)?;
    let (procid, after) = next_token(after, "PROCID")?;
    m.proc_id = header_field(m, procid, "PROCID", 128, options)?;
    let (msgid, after) = next_token(after, "MSGID")?;
    m.msg_id = header_field(m, msgid, "MSGID", 32, options)?;

    let Some(sd) = after.filter(|s| !s.is_empty()) else {
        if options.strict {
            return Err(Stop {
                error: ParseError::Missing("STRUCTURED-DATA"),
                remaining: &[],
            });
        }
        return Ok(());
    };
    let after_sd = match sd.first() {
        Some(b'-') => &sd[1..],
        Some(b'[') => parse_structured_data(m, raw, sd, options)?,
        _ => {
            // Many senders omit STRUCTURED-DATA altogether.
            soft(
                m,
                ParseError::InvalidStructuredData {
                    at: offset(raw, sd),
                    reason: "expected '-' or '['",
                },
                options,
                sd,
            )?;
            return set_msg(m, sd, options);
        }
    };
    match after_sd.split_first() {
        None => Ok(()),
        Some((b' ', msg)) => set_msg(m, msg, options),
        Some(_) => {
            soft(
                m,
                ParseError::InvalidStructuredData {
                    at: offset(raw, after_sd),
                    reason: "expected SP after structured data",
                },
                options,
                after_sd,
            )?;
            set_msg(m, after_sd, options)
        }
    }
}

/// Byte offset of `suffix` in `raw`.
fn offset(raw: &[u8], suffix: &[u8]) -> usize {
    raw.len().saturating_sub(suffix.len())
}

/// MSG: UTF-8 after a BOM, otherwise any encoding (RFC 5424 §6.4).
fn set_msg<'a>(
    m: &mut SyslogMessage<'a>,
    msg: &'a [u8],
    options: &ParseOptions,
) -> Result<(), Stop<'a>> {
    if let Some(utf8) = msg.strip_prefix(BOM) {
        match std::str::from_utf8(utf8) {
            Ok(s) => m.msg = Cow::Borrowed(s),
            Err(_) => {
                soft(m, ParseError::InvalidUtf8("MSG"), options, msg)?;
                m.msg = text(utf8);
            }
        }
    } else {
        m.msg = text(msg);
    }
    Ok(())
}

fn is_sd_name_byte(b: u8) -> bool {
    (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"')
}

/// Parses `1*SD-ELEMENT` starting at `[`; returns what follows.
fn parse_structured_data<'a>(
    m: &mut SyslogMessage<'a>,
    raw: &'a [u8],
    mut s: &'a [u8],
    options: &ParseOptions,
) -> Result<&'a [u8], Stop<'a>> {
    while s.first() == Some(&b'[') {
        let start = s;
        let stop = |at: &[u8], reason| Stop {
            error: ParseError::InvalidStructuredData {
                at: offset(raw, at),
                reason,
            },
            remaining: start,
        };
        s = &s[1..];
        let id_len = s.iter().take_while(|&&b| is_sd_name_byte(b)).count();
        if id_len == 0 {
            return Err(stop(s, "empty SD-ID"));
        }
        if id_len > 32 {
            soft(
                m,
                ParseError::InvalidStructuredData {
                    at: offset(raw, s),
                    reason: "SD-ID longer than 32",
                },
                options,
                start,
            )?;
        }
        let id = text(&s[..id_len]);
        s = &s[id_len..];
        let mut params = Vec::new();
        loop {
            match s.first() {
                Some(b']') => {
                    s = &s[1..];
                    break;
                }
                Some(b' ') => s = &s[1..],
                Some(_) => return Err(stop(s, "expected SP or ']'")),
                None => return Err(stop(s, "unterminated element")),
            }
            let name_len = s.iter().take_while(|&&b| is_sd_name_byte(b)).count();
            if name_len == 0 {
                return Err(stop(s, "empty PARAM-NAME"));
            }
            let name = text(&s[..name_len]);
            s = &s[name_len..];
            if !s.starts_with(b"=\"") {
                return Err(stop(s, "expected '=\"'"));
            }
            s = &s[2..];
            let Some(end) = value_end(s) else {
                return Err(stop(s, "unterminated PARAM-VALUE"));
            };
            let value_bytes = &s[..end];
            s = &s[end + 1..];
            let value = match std::str::from_utf8(value_bytes) {
                Ok(v) => unescape(v, b"\"\\]"),
                Err(_) => {
                    soft(m, ParseError::InvalidUtf8("PARAM-VALUE"), options, start)?;
                    Cow::Owned(unescape(&text(value_bytes), b"\"\\]").into_owned())
                }
            };
            params.push((name, value));
        }
        m.structured_data.push(SdElement { id, params });
    }
    Ok(s)
}

/// Index of the closing `"` of a PARAM-VALUE, skipping escaped characters.
fn value_end(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn digits(s: &[u8], start: usize, len: usize) -> Option<u32> {
    let d = s.get(start..start + len)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(d.iter().fold(0, |acc, b| acc * 10 + u32::from(b - b'0')))
}

/// Parses an RFC 3339 timestamp as RFC 5424 §6.2.3 restricts it
/// (`2003-10-11T22:14:15.003Z`, `…+02:00`). Lenient mode also accepts a
/// lowercase `t`/`z`, up to 9 fraction digits, `+0200`, and a missing offset
/// when `default_offset` is given (rsyslog's local timestamps).
pub(crate) fn parse_timestamp(
    s: &[u8],
    strict: bool,
    default_offset: Option<FixedOffset>,
) -> Result<DateTime<FixedOffset>, ParseError> {
    let bad = ParseError::InvalidTimestamp;
    let year = digits(s, 0, 4).ok_or(bad("expected YYYY"))?;
    let month = digits(s, 5, 2).ok_or(bad("expected MM"))?;
    let day = digits(s, 8, 2).ok_or(bad("expected DD"))?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return Err(bad("expected '-' in date"));
    }
    match s.get(10) {
        Some(b'T') => {}
        Some(b't') if !strict => {}
        _ => return Err(bad("expected 'T'")),
    }
    let hour = digits(s, 11, 2).ok_or(bad("expected hh"))?;
    let minute = digits(s, 14, 2).ok_or(bad("expected mm"))?;
    let second = digits(s, 17, 2).ok_or(bad("expected ss"))?;
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return Err(bad("expected ':' in time"));
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let n = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || (strict && n > 6) {
            return Err(bad("expected 1 to 6 fraction digits"));
        }
        // Digits beyond nanoseconds are dropped.
        for k in 0..9 {
            let d = if k < n {
                s.get(i + k).map_or(0, |b| b - b'0')
            } else {
                0
            };
            nanos = nanos * 10 + u32::from(d);
        }
        i += n;
    }
    let offset = match s.get(i) {
        Some(b'Z') => {
            i += 1;
            FixedOffset::east_opt(0)
        }
        Some(b'z') if !strict => {
            i += 1;
            FixedOffset::east_opt(0)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(s, i + 1, 2).ok_or(bad("expected offset hours"))?;
            let om = match s.get(i + 3) {
                Some(b':') => {
                    let om = digits(s, i + 4, 2).ok_or(bad("expected offset minutes"))?;
                    i += 6;
                    om
                }
                _ if !strict => {
                    let om = digits(s, i + 3, 2).ok_or(bad("expected offset minutes"))?;
                    i += 5;
                    om
                }
                _ => return Err(bad("expected ':' in offset")),
            };
            if oh > 23 || om > 59 {
                return Err(bad("offset out of range"));
            }
            let secs = i32::try_from(oh * 3600 + om * 60).map_err(|_| bad("offset"))?;
            FixedOffset::east_opt(if sign == b'-' { -secs } else { secs })
        }
        None => match default_offset {
            Some(o) if !strict => Some(o),
            _ => return Err(bad("missing offset")),
        },
        Some(_) => return Err(bad("expected 'Z' or offset")),
    }
    .ok_or(bad("offset out of range"))?;
    if i != s.len() {
        return Err(bad("trailing characters"));
    }
    if second > 59 {
        // RFC 5424 §6.2.3: leap seconds MUST NOT be used.
        return Err(bad("second out of range"));
    }
    let naive = NaiveDate::from_ymd_opt(i32::try_from(year).map_err(|_| bad("year"))?, month, day)
        .ok_or(bad("no such date"))?
        .and_hms_nano_opt(hour, minute, second, nanos)
        .ok_or(bad("no such time"))?;
    offset
        .from_local_datetime(&naive)
        .single()
        .ok_or(bad("no such local time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Result<String, ParseError> {
        parse_timestamp(s.as_bytes(), true, None).map(|t| t.to_rfc3339())
    }

    #[test]
    fn rfc_timestamp_examples() {
        assert_eq!(
            ts("1985-04-12T23:20:50.52Z").unwrap(),
            "1985-04-12T23:20:50.520+00:00"
        );
        assert_eq!(
            ts("1985-04-12T19:20:50.52-04:00").unwrap(),
            "1985-04-12T19:20:50.520-04:00"
        );
        assert_eq!(
            ts("2003-10-11T22:14:15.003Z").unwrap(),
            "2003-10-11T22:14:15.003+00:00"
        );
        assert_eq!(
            ts("2003-08-24T05:14:15.000003-07:00").unwrap(),
            "2003-08-24T05:14:15.000003-07:00"
        );
        // RFC 5424 §6.2.3.2: invalid examples.
        assert!(ts("2003-08-24T05:14:15.000000003-07:00").is_err());
        assert!(ts("1990-12-31T23:59:60Z").is_err());
        assert!(ts("2003-10-11 22:14:15Z").is_err());
        assert!(ts("2003-02-30T22:14:15Z").is_err());
        assert!(ts("2003-10-11T22:14:15").is_err());
    }

    #[test]
    fn lenient_timestamps() {
        let t = parse_timestamp(b"2003-08-24T05:14:15.000000003-0700", false, None).unwrap();
        assert_eq!(t.to_rfc3339(), "2003-08-24T05:14:15.000000003-07:00");
        let t =
            parse_timestamp(b"2003-08-24T05:14:15", false, FixedOffset::east_opt(3600)).unwrap();
        assert_eq!(t.to_rfc3339(), "2003-08-24T05:14:15+01:00");
    }

    #[test]
    fn rfc_example_with_structured_data() {
        let line = br#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] BOMAn application event log entry..."#;
        let m = parse(line, &ParseOptions::strict()).unwrap();
        assert_eq!(
            m.pri,
            Some(Pri {
                facility: 20,
                severity: 5
            })
        );
        assert_eq!(m.app_name.as_deref(), Some("evntslog"));
        assert_eq!(m.proc_id, None);
        assert_eq!(m.msg_id.as_deref(), Some("ID47"));
        assert_eq!(m.structured_data.len(), 1);
        assert_eq!(m.structured_data[0].params[2].1, "1011");
        assert_eq!(m.msg, "BOMAn application event log entry...");
    }

    #[test]
    fn fields_borrow_from_the_input() {
        let line = br#"<13>1 - host app 42 id [x@1 plain="v" esc="a\"b"] msg"#;
        let m = parse(line, &ParseOptions::strict()).unwrap();
        assert!(matches!(m.hostname, Some(Cow::Borrowed("host"))));
        assert!(matches!(m.proc_id, Some(Cow::Borrowed("42"))));
        assert!(matches!(m.msg, Cow::Borrowed("msg")));
        let params = &m.structured_data[0].params;
        assert!(matches!(params[0].1, Cow::Borrowed("v")));
        // Only a value with escapes to undo is copied.
        assert!(matches!(&params[1].1, Cow::Owned(v) if v == "a\"b"));
    }

    #[test]
    fn escaped_param_values_are_unescaped() {
        let line = br#"<13>1 - - - - - [id@1 a="q\"b\\c\]d\x"]"#;
        let m = parse(line, &ParseOptions::strict()).unwrap();
        assert_eq!(m.structured_data[0].params[0].1, r#"q"b\c]d\x"#);
        assert_eq!(m.msg, "");
    }

    #[test]
    fn bom_is_stripped_and_invalid_utf8_after_it_is_strict_error() {
        let m = parse(
            b"<13>1 - - - - - - \xEF\xBB\xBFhello",
            &ParseOptions::strict(),
        )
        .unwrap();
        assert_eq!(m.msg, "hello");
        assert_eq!(
            parse(
                b"<13>1 - - - - - - \xEF\xBB\xBF\xff",
                &ParseOptions::strict()
            ),
            Err(ParseError::InvalidUtf8("MSG"))
        );
        let m = parse(
            b"<13>1 - - - - - - \xEF\xBB\xBF\xff",
            &ParseOptions::lenient(),
        )
        .unwrap();
        assert_eq!(m.msg, "\u{FFFD}");
        assert_eq!(m.error, Some(ParseError::InvalidUtf8("MSG")));
    }

    #[test]
    fn truncated_structured_data_keeps_the_rest_in_msg() {
        let line = br#"<13>1 - host app - - [a@1 x="1"][b@1 y="2"#;
        let m = parse(line, &ParseOptions::lenient()).unwrap();
        assert_eq!(m.structured_data.len(), 1);
        assert_eq!(m.msg, r#"[b@1 y="2"#);
        assert!(matches!(
            m.error,
            Some(ParseError::InvalidStructuredData {
                reason: "unterminated PARAM-VALUE",
                ..
            })
        ));
        assert!(parse(line, &ParseOptions::strict()).is_err());
    }
}
