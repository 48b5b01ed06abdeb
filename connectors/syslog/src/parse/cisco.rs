//! Cisco ASA, FTD, IOS and NX-OS messages:
//! `[seq: ][*|.]timestamp: %FACILITY-SEVERITY-MNEMONIC: text`, e.g.
//! `%ASA-6-302013: Built outbound TCP connection …` or
//! `25: *Mar  1 18:46:11.123: %LINEPROTO-5-UPDOWN: Line protocol …`.

use std::borrow::Cow;

use super::{own, ParseError};

/// The fields of a Cisco message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cisco<'a> {
    /// IOS `service sequence-numbers` counter.
    pub sequence: Option<u64>,
    /// The device's own timestamp text (IOS `*Mar  1 18:46:11.123`), without
    /// the `*`/`.` clock-sync marker.
    pub timestamp: Option<Cow<'a, str>>,
    /// `ASA`, `LINEPROTO`, `SW_MATM`, or with a subfacility `PKT_INFRA-LINK`.
    pub facility: Cow<'a, str>,
    /// 0..=7, the syslog severity scale.
    pub severity: u8,
    /// `302013`, `UPDOWN`.
    pub mnemonic: Cow<'a, str>,
    /// The text after `%…:`.
    pub message: Cow<'a, str>,
}

impl Cisco<'_> {
    /// Copies the borrowed fields.
    pub fn into_owned(self) -> Cisco<'static> {
        Cisco {
            sequence: self.sequence,
            timestamp: self.timestamp.map(own),
            facility: own(self.facility),
            severity: self.severity,
            mnemonic: own(self.mnemonic),
            message: own(self.message),
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Parses a Cisco message (what follows the syslog header).
pub fn parse(s: &str) -> Result<Cisco<'_>, ParseError> {
    let err = ParseError::InvalidCisco;
    let mut s = s.strip_prefix(": ").unwrap_or(s);
    let mut sequence = None;
    let seq_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if seq_len > 0 && s[seq_len..].starts_with(": ") {
        sequence = s[..seq_len].parse().ok();
        s = &s[seq_len + 2..];
    }
    let mut timestamp = None;
    if !s.starts_with('%') {
        // The device timestamp ends at the ": %" before the mnemonic.
        let window = &s[..floor_char_boundary(s, 64)];
        let end = window
            .find(": %")
            .ok_or(err("expected '%FACILITY-SEVERITY-MNEMONIC:'"))?;
        let ts = s[..end].trim_start_matches(['*', '.']);
        timestamp = Some(Cow::Borrowed(ts));
        s = &s[end + 2..];
    }
    let s = s.strip_prefix('%').ok_or(err("expected '%'"))?;
    let colon = s.find(':').ok_or(err("expected ':' after mnemonic"))?;
    let code = &s[..colon];
    let (rest, mnemonic) = code.rsplit_once('-').ok_or(err("expected '-'"))?;
    let (facility, severity) = rest.rsplit_once('-').ok_or(err("expected '-'"))?;
    let severity = match severity.as_bytes() {
        [d @ b'0'..=b'7'] => d - b'0',
        _ => return Err(err("severity is not 0 to 7")),
    };
    let valid = |part: &str| !part.is_empty() && part.bytes().all(is_name_byte);
    if !valid(mnemonic) || !facility.split('-').all(valid) {
        return Err(err("invalid facility or mnemonic"));
    }
    let message = &s[colon + 1..];
    let message = message.strip_prefix(' ').unwrap_or(message);
    Ok(Cisco {
        sequence,
        timestamp,
        facility: Cow::Borrowed(facility),
        severity,
        mnemonic: Cow::Borrowed(mnemonic),
        message: Cow::Borrowed(message),
    })
}

/// The largest char boundary at or below `max`.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asa() {
        let c = parse("%ASA-6-302013: Built outbound TCP connection 7 for outside:10.0.0.1/443")
            .unwrap();
        assert_eq!(c.facility, "ASA");
        assert_eq!(c.severity, 6);
        assert_eq!(c.mnemonic, "302013");
        assert_eq!(
            c.message,
            "Built outbound TCP connection 7 for outside:10.0.0.1/443"
        );
    }

    #[test]
    fn ios_with_sequence_and_timestamp() {
        let c = parse("25: *Mar  1 18:46:11.123: %LINEPROTO-5-UPDOWN: Line protocol on Interface Vlan1, changed state to up").unwrap();
        assert_eq!(c.sequence, Some(25));
        assert_eq!(c.timestamp.as_deref(), Some("Mar  1 18:46:11.123"));
        assert_eq!(c.facility, "LINEPROTO");
        assert_eq!(c.severity, 5);
        assert_eq!(c.mnemonic, "UPDOWN");
    }

    #[test]
    fn subfacility() {
        let c = parse("%PKT_INFRA-LINK-3-UPDOWN: Interface down").unwrap();
        assert_eq!(c.facility, "PKT_INFRA-LINK");
        assert_eq!(c.mnemonic, "UPDOWN");
    }

    #[test]
    fn rejects_non_cisco() {
        assert!(parse("100% done: yes").is_err());
        assert!(parse("%ASA-9-1: bad severity").is_err());
        assert!(parse("%ASA-6-: empty").is_err());
        assert!(parse("é%").is_err());
    }
}
